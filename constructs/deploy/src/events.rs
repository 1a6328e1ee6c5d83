//! Following a stack operation: a stream of its events, then its outcome.
//!
//! A [`StackOperation`] is pulled like a stream ([`StackOperation::next_event`] yields each new
//! event of *this* operation, oldest first, and `None` once the stack has settled), then turned
//! into the typed outcome with [`StackOperation::finish`]: `Ok` only when the stack reached the
//! operation's `*_COMPLETE` status, otherwise a [`StackFailure`] naming the failed resources,
//! root cause first.
//!
//! "This operation's events" are the events that carry the operation's `ClientRequestToken`.
//! Events without a token (moto emits none) are taken when they are newer than the newest
//! event seen before the operation started (the *horizon*).

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use indexmap::IndexMap;

use crate::aws::Aws;
use crate::error::DeployError;
// Re-exported where they were first defined: an operation's failure, as following it finds.
pub use crate::error::{FailedResource, StackFailure};
use crate::stack::{self, is_success, is_terminal};

/// How often a stack or change set is polled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollConfig {
    /// The wait between two polls (the first poll is immediate). At most 2 s by default.
    pub interval: Duration,
    /// The longest wait after throttling has stretched the interval.
    pub max_interval: Duration,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(16),
        }
    }
}

impl PollConfig {
    /// Polls every `ms` milliseconds (tests).
    pub fn every_ms(ms: u64) -> Self {
        PollConfig {
            interval: Duration::from_millis(ms),
            max_interval: Duration::from_millis(ms * 8),
        }
    }
}

/// One stack event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackEvent {
    /// Unique per event.
    pub event_id: String,
    /// The stack's ID.
    pub stack_id: String,
    /// The stack's name.
    pub stack_name: String,
    /// The resource's logical ID (the stack name for stack-level events).
    pub logical_id: String,
    /// The physical ID, once known.
    pub physical_id: Option<String>,
    /// The resource type (`AWS::CloudFormation::Stack` for stack-level events).
    pub resource_type: String,
    /// `CREATE_IN_PROGRESS`, `UPDATE_FAILED`, …
    pub status: String,
    /// Why, when CloudFormation says.
    pub reason: Option<String>,
    /// When, ISO 8601.
    pub timestamp: Option<String>,
    /// The token of the request that caused it.
    pub client_request_token: Option<String>,
}

impl StackEvent {
    /// True for events about the stack itself rather than one of its resources.
    pub fn is_stack_event(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack" && self.logical_id == self.stack_name
    }

    /// True for a resource-level `*_FAILED` event.
    pub fn is_resource_failure(&self) -> bool {
        !self.is_stack_event() && self.status.ends_with("_FAILED")
    }

    /// The time of day, `HH:MM:SS`, when the timestamp has one.
    pub fn time_of_day(&self) -> &str {
        self.timestamp
            .as_deref()
            .and_then(|t| t.get(11..19))
            .unwrap_or("--:--:--")
    }

    fn from_sdk(e: &aws_sdk_cloudformation::types::StackEvent) -> Self {
        StackEvent {
            event_id: e.event_id().unwrap_or_default().to_owned(),
            stack_id: e.stack_id().unwrap_or_default().to_owned(),
            stack_name: e.stack_name().unwrap_or_default().to_owned(),
            logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
            physical_id: e
                .physical_resource_id()
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
            resource_type: e.resource_type().unwrap_or_default().to_owned(),
            status: e
                .resource_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: e
                .resource_status_reason()
                .filter(|r| !r.is_empty())
                .map(str::to_owned),
            timestamp: e
                .timestamp()
                .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
            client_request_token: e
                .client_request_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        }
    }
}

/// What a successful operation ended with.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The stack's ID.
    pub stack_id: String,
    /// The final status (`CREATE_COMPLETE`, `UPDATE_COMPLETE`, `DELETE_COMPLETE`).
    pub status: String,
    /// Every event of the operation, oldest first.
    pub events: Vec<StackEvent>,
    /// Outputs after the operation.
    pub outputs: IndexMap<String, String>,
    /// How long it was followed.
    pub elapsed: Duration,
}

/// Where an operation stands, for a progress bar.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Resources whose last event is `*_COMPLETE` (or failed).
    pub done: usize,
    /// Resources the operation touches, when known (0 = unknown).
    pub total: usize,
    /// Logical IDs of resources whose last event is `*_IN_PROGRESS`.
    pub in_progress: Vec<String>,
}

/// Reasons CloudFormation gives to resources it stopped because another one failed.
const NOISE: &[&str] = &["Resource creation cancelled", "Resource update cancelled"];

/// The failed resources among `events` (oldest first): root cause first, cancellations and
/// repeats left out, each with its construct path from `path_of`.
pub fn failed_resources(
    events: &[StackEvent],
    path_of: &dyn Fn(&str) -> Option<String>,
) -> Vec<FailedResource> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for e in events.iter().filter(|e| e.is_resource_failure()) {
        let reason = e.reason.clone().unwrap_or_default();
        if NOISE.iter().any(|n| reason.contains(n)) {
            continue;
        }
        if !seen.insert((e.logical_id.clone(), e.status.clone(), reason.clone())) {
            continue;
        }
        out.push(FailedResource {
            logical_id: e.logical_id.clone(),
            resource_type: e.resource_type.clone(),
            path: path_of(&e.logical_id),
            status: e.status.clone(),
            reason,
        });
    }
    out
}

/// Which operation of which stack [`StackOperation`] follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationTarget {
    /// The stack's ID (its ARN), which stays valid after a deletion.
    pub stack_id: String,
    /// The stack's name, for messages.
    pub stack_name: String,
    /// The `ClientRequestToken` the operation was started with: its events carry it.
    pub token: Option<String>,
    /// The newest event before the operation started: tokenless events after it are taken
    /// (CloudFormation leaves the token off some), older ones are not.
    pub horizon: Option<String>,
}

/// A running stack operation, followed through its events.
#[derive(Debug)]
pub struct StackOperation {
    aws: Aws,
    stack_id: String,
    stack_name: String,
    token: Option<String>,
    horizon: Option<String>,
    poll: PollConfig,
    interval: Duration,
    seen: HashSet<String>,
    pending: VecDeque<StackEvent>,
    history: Vec<StackEvent>,
    resources: IndexMap<String, String>,
    total: usize,
    final_status: Option<String>,
    final_outputs: IndexMap<String, String>,
    polls: u32,
    quiet_polls: u32,
    started: Instant,
    expect_success: &'static [&'static str],
}

/// The newest event ID of a stack, to mark where a new operation's events begin.
pub async fn horizon(aws: &Aws, stack: &str) -> Result<Option<String>, DeployError> {
    let out = aws
        .call("cloudformation", "DescribeStackEvents", || {
            aws.cfn.describe_stack_events().stack_name(stack).send()
        })
        .await?;
    Ok(out
        .stack_events()
        .first()
        .and_then(|e| e.event_id())
        .map(str::to_owned))
}

/// The latest operation of a stack, as far as its events tell.
#[derive(Clone, Debug, Default)]
pub struct LatestOperation {
    /// Its events so far, oldest first (starting with the stack-level `*_IN_PROGRESS` event
    /// that began it).
    pub events: Vec<StackEvent>,
    /// Its `ClientRequestToken`, when it had one.
    pub token: Option<String>,
    /// The newest event before it, to follow it as a [`StackOperation`].
    pub before: Option<String>,
}

const OP_STARTS: &[&str] = &[
    "CREATE_IN_PROGRESS",
    "UPDATE_IN_PROGRESS",
    "DELETE_IN_PROGRESS",
    "IMPORT_IN_PROGRESS",
];

/// Reads back the events of the stack's latest operation.
pub async fn latest_operation(aws: &Aws, stack: &str) -> Result<LatestOperation, DeployError> {
    let mut latest = LatestOperation::default();
    let mut next: Option<String> = None;
    let mut found = false;
    'pages: for _ in 0..20 {
        let token = next.clone();
        let out = aws
            .call("cloudformation", "DescribeStackEvents", || {
                aws.cfn
                    .describe_stack_events()
                    .stack_name(stack)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        for raw in out.stack_events() {
            let e = StackEvent::from_sdk(raw);
            if found {
                latest.before = Some(e.event_id);
                break 'pages;
            }
            let start = e.is_stack_event() && OP_STARTS.contains(&e.status.as_str());
            latest.events.push(e);
            if start {
                found = true;
            }
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_owned()),
            _ => break,
        }
    }
    latest.events.reverse();
    latest.token = latest
        .events
        .first()
        .and_then(|e| e.client_request_token.clone());
    Ok(latest)
}

/// One event of a running operation, with the operation's progress once it is counted.
#[derive(Clone, Debug)]
pub struct Progressed {
    /// The event.
    pub event: StackEvent,
    /// The construct path of the event's resource, when the template says.
    pub path: Option<String>,
    /// Resources done, in total, and in progress after it.
    pub progress: Progress,
}

/// The events of a running operation, in the order CloudFormation recorded them; it ends when
/// the operation's future (see [`StackOperation::into_parts`]) has resolved. A
/// [`futures_util::Stream`], and [`EventStream::next`] without the trait.
#[derive(Debug)]
pub struct EventStream(tokio::sync::mpsc::UnboundedReceiver<Progressed>);

impl EventStream {
    /// The next event, or `None` once the operation has settled and every event was taken.
    pub async fn next(&mut self) -> Option<Progressed> {
        self.0.recv().await
    }
}

impl futures_util::Stream for EventStream {
    type Item = Progressed;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Progressed>> {
        self.0.poll_recv(cx)
    }
}

impl StackOperation {
    /// Follows the operation `target` names.
    pub fn new(aws: Aws, target: OperationTarget, poll: PollConfig) -> Self {
        let OperationTarget {
            stack_id,
            stack_name,
            token,
            horizon,
        } = target;
        let interval = poll.interval;
        StackOperation {
            aws,
            stack_id,
            stack_name,
            token,
            horizon,
            poll,
            interval,
            seen: HashSet::new(),
            pending: VecDeque::new(),
            history: Vec::new(),
            resources: IndexMap::new(),
            total: 0,
            final_status: None,
            final_outputs: IndexMap::new(),
            polls: 0,
            quiet_polls: 0,
            started: Instant::now(),
            expect_success: &[],
        }
    }

    /// Sets how many resources the operation touches (for progress).
    pub fn with_total(mut self, total: usize) -> Self {
        self.total = total;
        self
    }

    /// Names the statuses that count as success (default: any `*_COMPLETE` that is not a
    /// rollback). A delete passes `["DELETE_COMPLETE"]`.
    pub fn expecting(mut self, statuses: &'static [&'static str]) -> Self {
        self.expect_success = statuses;
        self
    }

    /// The stack's ID.
    pub fn stack_id(&self) -> &str {
        &self.stack_id
    }

    /// The operation's token.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The events yielded so far, oldest first.
    pub fn history(&self) -> &[StackEvent] {
        &self.history
    }

    /// How long it has been followed.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Where the operation stands.
    pub fn progress(&self) -> Progress {
        let done = self
            .resources
            .values()
            .filter(|s| s.ends_with("_COMPLETE") || s.ends_with("_FAILED"))
            .count();
        Progress {
            done,
            total: self.total.max(self.resources.len()),
            in_progress: self
                .resources
                .iter()
                .filter(|(_, s)| s.ends_with("_IN_PROGRESS"))
                .map(|(id, _)| id.clone())
                .collect(),
        }
    }

    /// The next event of this operation, or `None` once the stack has settled.
    pub async fn next_event(&mut self) -> Result<Option<StackEvent>, DeployError> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                if !e.is_stack_event() {
                    self.resources
                        .insert(e.logical_id.clone(), e.status.clone());
                }
                self.history.push(e.clone());
                return Ok(Some(e));
            }
            if self.final_status.is_some() {
                return Ok(None);
            }
            if self.polls > 0 {
                tokio::time::sleep(self.interval).await;
            }
            self.poll_once().await?;
        }
    }

    async fn poll_once(&mut self) -> Result<(), DeployError> {
        self.polls += 1;
        let throttled_before = self.aws.log().throttled();
        let fresh = self.fetch_new_events().await?;
        if self.aws.log().throttled() > throttled_before {
            self.interval = (self.interval * 2).min(self.poll.max_interval);
        } else if !fresh.is_empty() {
            self.interval = self.poll.interval;
        }
        let settled_event = fresh.iter().any(|e| {
            e.is_stack_event() && is_terminal(&e.status) && e.status != "REVIEW_IN_PROGRESS"
        });
        if fresh.is_empty() {
            self.quiet_polls += 1;
        } else {
            self.quiet_polls = 0;
        }
        self.pending.extend(fresh);
        // Confirm with DescribeStacks: after a terminal stack event, or every few quiet polls
        // once the operation has shown itself (a stack event can be missed). A terminal status
        // is only believed once an event of this operation was seen: before that, it is the
        // previous operation's.
        let seen_ours = !self.history.is_empty() || !self.pending.is_empty();
        let check = settled_event || (self.quiet_polls >= 3 && seen_ours) || self.quiet_polls >= 30;
        if check {
            self.quiet_polls = 0;
            match stack::describe(&self.aws, &self.stack_id).await? {
                Some(s) if is_terminal(&s.status) && s.status != "REVIEW_IN_PROGRESS" => {
                    if !seen_ours {
                        return Err(DeployError::Unexpected {
                            stack: self.stack_name.clone(),
                            message: format!(
                                "no event of this operation appeared after {} polls and the stack is {}; check it with `watch`",
                                self.polls, s.status
                            ),
                        });
                    }
                    self.final_status = Some(s.status);
                    self.final_outputs = s.outputs;
                }
                Some(_) => {}
                None => {
                    // Gone even by ID: only a finished delete does that.
                    self.final_status = Some("DELETE_COMPLETE".to_owned());
                }
            }
        }
        Ok(())
    }

    /// False for events older than this operation (paging stops there): the horizon, or an
    /// event of another request.
    fn belongs(&self, e: &StackEvent) -> bool {
        if Some(&e.event_id) == self.horizon.as_ref() {
            return false;
        }
        match (&e.client_request_token, &self.token) {
            (Some(t), Some(ours)) => t == ours,
            _ => true,
        }
    }

    async fn fetch_new_events(&mut self) -> Result<Vec<StackEvent>, DeployError> {
        let mut fresh = Vec::new();
        let mut next: Option<String> = None;
        'pages: for _ in 0..20 {
            let token = next.clone();
            let out = self
                .aws
                .call("cloudformation", "DescribeStackEvents", || {
                    self.aws
                        .cfn
                        .describe_stack_events()
                        .stack_name(&self.stack_id)
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
            for raw in out.stack_events() {
                let e = StackEvent::from_sdk(raw);
                if self.seen.contains(&e.event_id) {
                    break 'pages;
                }
                if !self.belongs(&e) {
                    break 'pages;
                }
                let starts_op = e.is_stack_event() && OP_STARTS.contains(&e.status.as_str());
                self.seen.insert(e.event_id.clone());
                fresh.push(e);
                if starts_op && self.token.is_none() && self.horizon.is_none() {
                    break 'pages;
                }
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => break,
            }
        }
        fresh.reverse();
        Ok(fresh)
    }

    /// Splits the operation into a future that follows it to its end (resolving to the
    /// outcome, resources named by their construct paths from `paths`) and the stream of its
    /// events. Poll both: the stream only fills while the future runs. Dropping the future
    /// stops following; CloudFormation carries on.
    pub fn into_parts(
        mut self,
        paths: IndexMap<String, String>,
    ) -> (
        impl std::future::Future<Output = Result<Outcome, DeployError>> + Send + 'static,
        EventStream,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let run = async move {
            while let Some(event) = self.next_event().await? {
                // A receiver dropped by its caller only means nobody is watching.
                let _ = tx.send(Progressed {
                    path: paths.get(&event.logical_id).cloned(),
                    event,
                    progress: self.progress(),
                });
            }
            drop(tx);
            self.outcome(&|id| paths.get(id).cloned())
        };
        (run, EventStream(rx))
    }

    /// Drains the remaining events and returns the outcome: `Ok` only when the stack reached
    /// a success status.
    pub async fn finish(
        mut self,
        path_of: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Outcome, DeployError> {
        while self.next_event().await?.is_some() {}
        self.outcome(path_of)
    }

    /// The outcome once [`StackOperation::next_event`] has returned `None`.
    pub fn outcome(self, path_of: &dyn Fn(&str) -> Option<String>) -> Result<Outcome, DeployError> {
        let status = self
            .final_status
            .clone()
            .ok_or_else(|| DeployError::Unexpected {
                stack: self.stack_name.clone(),
                message: "the operation was not followed to its end".to_owned(),
            })?;
        let ok = if self.expect_success.is_empty() {
            is_success(&status) && status != "DELETE_COMPLETE"
        } else {
            self.expect_success.contains(&status.as_str())
        };
        if ok {
            return Ok(Outcome {
                stack_id: self.stack_id,
                status,
                events: self.history,
                outputs: self.final_outputs,
                elapsed: self.started.elapsed(),
            });
        }
        let reason = self
            .history
            .iter()
            .rev()
            .filter(|e| e.is_stack_event())
            .find_map(|e| e.reason.clone());
        Err(StackFailure {
            stack: self.stack_name,
            status,
            reason,
            failed: failed_resources(&self.history, path_of),
        }
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_polling_backs_off_to_eight_intervals() {
        let p = PollConfig::every_ms(5);
        assert_eq!(p.interval, Duration::from_millis(5));
        assert_eq!(p.max_interval, Duration::from_millis(40));
    }

    fn ev(id: &str, logical: &str, status: &str, reason: Option<&str>) -> StackEvent {
        StackEvent {
            event_id: id.into(),
            stack_id: "arn".into(),
            stack_name: "Demo".into(),
            logical_id: logical.into(),
            physical_id: None,
            resource_type: if logical == "Demo" {
                "AWS::CloudFormation::Stack".into()
            } else {
                "AWS::S3::Bucket".into()
            },
            status: status.into(),
            reason: reason.map(str::to_owned),
            timestamp: Some("2026-11-26T10:11:12Z".into()),
            client_request_token: None,
        }
    }

    #[test]
    fn failed_resources_put_the_root_cause_first_and_drop_noise() {
        let events = vec![
            ev("1", "Demo", "UPDATE_IN_PROGRESS", None),
            ev(
                "2",
                "Db",
                "UPDATE_FAILED",
                Some("Property X cannot be updated"),
            ),
            ev(
                "3",
                "Cache",
                "UPDATE_FAILED",
                Some("Resource update cancelled"),
            ),
            ev(
                "4",
                "Demo",
                "UPDATE_ROLLBACK_IN_PROGRESS",
                Some("The following resource(s) failed to update: [Db]."),
            ),
            ev(
                "5",
                "Db",
                "UPDATE_FAILED",
                Some("Property X cannot be updated"),
            ),
            ev("6", "Queue", "UPDATE_FAILED", Some("later failure")),
        ];
        let f = failed_resources(&events, &|id| Some(format!("Demo/{id}")));
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].logical_id, "Db");
        assert_eq!(f[0].path.as_deref(), Some("Demo/Db"));
        assert_eq!(f[1].logical_id, "Queue");
        assert_eq!(events[0].time_of_day(), "10:11:12");
    }
}
