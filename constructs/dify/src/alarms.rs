//! Where Dify's alarms notify.

/// Alarm notifications.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlarmSettings {
    /// An existing SNS topic to notify.
    pub topic_arn: Option<String>,
    /// An e-mail address to subscribe to a topic the stack creates.
    pub email: Option<String>,
}
