//! `DataKey`: the customer managed KMS key production data is encrypted with (Aurora,
//! ElastiCache, secrets, Performance Insights, the file bucket and `/dify/*` log groups).

use cfn_core::{RemovalPolicy, Scope, fns};
use cfn_resources::kms::{self, AliasHandle, KeyHandle};
use serde_json::json;

/// Inputs of [`DataKey`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKeyProps {
    /// The key's description. Default `Dify data key`.
    pub description: String,
    /// An alias (`alias/<name>`) operators find the key by. Default `None`: no alias.
    pub alias: Option<String>,
}

impl Default for DataKeyProps {
    fn default() -> Self {
        DataKeyProps {
            description: "Dify data key".into(),
            alias: None,
        }
    }
}

/// The key and its alias.
#[derive(Debug, Clone)]
pub struct DataKey {
    /// The key.
    pub key: KeyHandle,
    /// Its alias, when the props name one.
    pub alias: Option<AliasHandle>,
}

impl DataKey {
    /// Creates the key (`Key`): rotated yearly, retained when the stack goes (whatever it
    /// encrypted stays readable), 30 days of pending deletion, administered by the account,
    /// and usable by CloudWatch Logs for `/dify/*` log groups only; and its alias (`Alias`).
    pub fn new(scope: &mut Scope<'_>, id: &str, props: DataKeyProps) -> DataKey {
        let mut s = scope.child(id);
        let key = s.add(
            "Key",
            kms::Key::new()
                .description(props.description)
                .enable_key_rotation(true)
                .pending_window_in_days(30)
                .key_policy(json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": "AccountAdministers",
                        "Effect": "Allow",
                        "Principal": {"AWS": fns::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                        "Action": "kms:*",
                        "Resource": "*"
                    }, {
                        "Sid": "CloudWatchLogsEncrypts",
                        "Effect": "Allow",
                        "Principal": {"Service": fns::sub("logs.${AWS::Region}.amazonaws.com")},
                        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                        "Resource": "*",
                        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": fns::sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/dify/*")}}
                    }]
                })),
        );
        s.stack()
            .resource(&key)
            .removal_policy(RemovalPolicy::Retain);
        let alias = props.alias.map(|name| {
            s.add(
                "Alias",
                kms::Alias::builder()
                    .alias_name(name)
                    .target_key_id(key.reference())
                    .build(),
            )
        });
        DataKey { key, alias }
    }
}
