//! A CloudFormation simulator: a local HTTP server speaking CloudFormation's (and STS's) query
//! protocol — form-encoded POSTs in, XML with the real response shapes out — driven by the
//! real AWS SDK client, for the lifecycles moto cannot play: per-resource events arriving over
//! time, failures and rollbacks, stacks stuck or busy, throttling, 500s, dropped connections,
//! CloudFormation's empty-change-set answers, and Ctrl-C at a chosen moment.
//!
//! "Over time" means over polls, not wall-clock: each `DescribeStackEvents` call reveals the
//! next batch of a scripted operation, so a scenario runs in milliseconds and never races.
//!
//! Beside the lifecycles it keeps what CloudFormation checks: templates inline up to 51,200
//! bytes or by `TemplateURL` from its own small S3 ([`s3`], served on the same port) up to
//! 1,000,000 bytes; exports and imports across stacks ([`exports`]); and every stack's state,
//! scripts and change sets apart, so several clients can operate on several stacks at once.
//! Resource import (IMPORT change sets of resources seeded as existing outside any stack, with
//! CloudFormation's rules) is in [`import`].

mod exports;
mod import;
mod s3;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The account the simulator's credentials belong to.
pub const ACCOUNT: &str = "111122223333";
/// The simulator's region.
pub const REGION: &str = "eu-west-1";
/// CloudFormation's status reason for a change set without changes, verbatim.
pub const EMPTY_REASON: &str = "The submitted information didn't contain changes. Submit different information to create a change set.";

/// One scripted event: a resource (or the stack, see [`stack_event`]) reaching a status.
#[derive(Clone, Debug)]
pub struct EventSpec {
    logical: Option<String>,
    resource_type: String,
    status: String,
    reason: Option<String>,
}

/// A resource event.
pub fn event(logical: &str, resource_type: &str, status: &str) -> EventSpec {
    EventSpec {
        logical: Some(logical.to_owned()),
        resource_type: resource_type.to_owned(),
        status: status.to_owned(),
        reason: None,
    }
}

/// A stack-level event (its logical ID is the stack's name).
pub fn stack_event(status: &str) -> EventSpec {
    EventSpec {
        logical: None,
        resource_type: "AWS::CloudFormation::Stack".to_owned(),
        status: status.to_owned(),
        reason: None,
    }
}

impl EventSpec {
    /// Gives the event a status reason.
    pub fn reason(mut self, r: &str) -> Self {
        self.reason = Some(r.to_owned());
        self
    }
}

/// What the next matching request gets instead of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 400, `Throttling`, "Rate exceeded".
    Throttle,
    /// HTTP 500, `InternalFailure`.
    Internal,
    /// The connection is closed without a response.
    Drop,
    /// The action is applied, then the connection is closed: the response is lost on the way
    /// back (what `ClientToken`/`ClientRequestToken` exist for).
    LostResponse,
}

/// A stack to start a scenario with.
#[derive(Clone, Debug)]
pub struct StackSeed {
    /// Name.
    pub name: String,
    /// Status.
    pub status: String,
    /// Template body (JSON or anything).
    pub template: Option<String>,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// Parameters.
    pub parameters: Vec<(String, String)>,
    /// Termination protection.
    pub protection: bool,
    /// Events already there, oldest first.
    pub events: Vec<EventSpec>,
    /// Batches still to come (an operation in progress), one per poll.
    pub pending: Vec<Vec<EventSpec>>,
    /// The token the events of the operation in progress carry.
    pub token: Option<String>,
    /// No event carries a token (an operation started without a ClientRequestToken).
    pub untokened: bool,
}

impl StackSeed {
    /// A stack in `status` with no template.
    pub fn new(name: &str, status: &str) -> Self {
        StackSeed {
            name: name.to_owned(),
            status: status.to_owned(),
            template: None,
            tags: Vec::new(),
            parameters: Vec::new(),
            protection: false,
            events: Vec::new(),
            pending: Vec::new(),
            token: None,
            untokened: false,
        }
    }
    /// Sets the deployed template.
    pub fn template(mut self, t: &str) -> Self {
        self.template = Some(t.to_owned());
        self
    }
    /// Sets the stack tags.
    pub fn tags(mut self, tags: &[(&str, &str)]) -> Self {
        self.tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self
    }
    /// Turns termination protection on.
    pub fn protected(mut self) -> Self {
        self.protection = true;
        self
    }
    /// Events already emitted.
    pub fn events(mut self, e: Vec<EventSpec>) -> Self {
        self.events = e;
        self
    }
    /// No event carries a ClientRequestToken, the seeded ones included (a stack created by an
    /// API call without one): the seeded events may be the running operation's first.
    pub fn untokened(mut self) -> Self {
        self.untokened = true;
        self
    }
    /// An operation in progress: batches revealed one per poll, events carrying `token`.
    pub fn in_progress(mut self, token: &str, batches: Vec<Vec<EventSpec>>) -> Self {
        self.token = Some(token.to_owned());
        self.pending = batches;
        self
    }
}

#[derive(Clone, Debug)]
struct Ev {
    id: String,
    logical: String,
    resource_type: String,
    status: String,
    reason: Option<String>,
    token: Option<String>,
    ts: u64,
}

#[derive(Debug)]
struct SimStack {
    id: String,
    name: String,
    status: String,
    reason: Option<String>,
    template: Option<String>,
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    protection: bool,
    events: Vec<Ev>,
    pending: VecDeque<Vec<Ev>>,
    /// The template the running operation installs when it completes.
    next_template: Option<String>,
    next_params: Vec<(String, String)>,
    next_tags: Vec<(String, String)>,
    deleted: bool,
    /// The clock when an update last started (`LastUpdatedTime`); `None` before any.
    updated: Option<u64>,
    /// The stack policy body, once one is set.
    policy: Option<String>,
    /// Polls reveal nothing while held ([`Sim::hold`]).
    held: bool,
    /// Physical IDs of imported resources, by logical ID (others are `<logical>-physical`).
    physical: HashMap<String, String>,
    /// What the running IMPORT operation brings in.
    importing: Vec<import::ToImport>,
}

#[derive(Debug, Clone)]
struct Change {
    action: &'static str,
    logical: String,
    resource_type: String,
    replacement: Option<String>,
}

#[derive(Debug)]
struct SimChangeSet {
    id: String,
    name: String,
    stack_id: String,
    kind: String,
    template: String,
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    changes: Vec<Change>,
    status: String,
    reason: Option<String>,
    pending_polls: u32,
    executed: bool,
    /// The `ClientRequestToken` it was executed with.
    exec_token: Option<String>,
    /// The `ClientToken` it was created with.
    token: Option<String>,
    /// For an IMPORT change set: its `ResourcesToImport`.
    imports: Vec<import::ToImport>,
}

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Request {
    /// The action (`DescribeStacks`).
    pub action: String,
    /// Every form parameter.
    pub params: HashMap<String, String>,
}

type Hook = Box<dyn FnMut() + Send>;

/// A drifted resource: logical ID, type, status, and differences (path, expected, actual,
/// kind).
type Drift = (
    String,
    String,
    String,
    Vec<(String, String, String, String)>,
);

#[derive(Default)]
struct State {
    stacks: Vec<SimStack>,
    change_sets: Vec<SimChangeSet>,
    requests: Vec<Request>,
    faults: Vec<(String, Fault, u32)>,
    hooks: Vec<(String, usize, Option<Hook>)>,
    scripts: VecDeque<Vec<Vec<EventSpec>>>,
    replacements: HashMap<String, String>,
    /// Drifted resources drift detection reports: logical ID, type, status, differences
    /// (path, expected, actual, kind).
    drifts: Vec<Drift>,
    /// Polls of DescribeStackDriftDetectionStatus that answer DETECTION_IN_PROGRESS first.
    drift_pending_polls: u32,
    next_change_set: Option<NextChangeSet>,
    change_set_pending_polls: u32,
    clock: u64,
    ids: u64,
    /// Scripts for the next operations on one stack (by name), before the shared ones.
    stack_scripts: HashMap<String, VecDeque<Vec<Vec<EventSpec>>>>,
    /// The S3 buckets, by name.
    buckets: std::collections::BTreeMap<String, s3::Bucket>,
    /// Exports per page of ListExports, imports per page of ListImports (AWS: 100).
    export_page: usize,
    /// Stack names held before they exist ([`Sim::hold`]).
    holds: std::collections::BTreeSet<String>,
    /// The last page of DescribeChangeSet and DescribeStackEvents carries an empty
    /// `<NextToken></NextToken>`.
    empty_next_tokens: bool,
    /// Physical resources of the account that can be imported ([`Sim::existing_resource`]).
    existing: Vec<import::Existing>,
}

#[derive(Clone, Debug)]
enum NextChangeSet {
    Failed(String),
    SyncNoUpdates,
}

/// A running simulator. Dropping it stops nothing (the thread ends with the test process).
#[derive(Clone)]
pub struct Sim {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Sim {
    /// Starts a simulator on 127.0.0.1, on an ephemeral port.
    pub fn start() -> Sim {
        let state = Arc::new(Mutex::new(State {
            change_set_pending_polls: 1,
            export_page: PAGE,
            ..State::default()
        }));
        let (tx, rx) = std::sync::mpsc::channel();
        let st = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("simulator runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                loop {
                    let Ok((sock, _)) = listener.accept().await else {
                        continue;
                    };
                    let st = st.clone();
                    tokio::spawn(async move { serve(sock, st).await });
                }
            });
        });
        let addr = rx.recv().expect("simulator address");
        Sim { addr, state }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn st(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a stack.
    pub fn seed(&self, seed: StackSeed) {
        let mut st = self.st();
        let id = format!(
            "arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{}/{:08x}",
            seed.name,
            st.ids + 1
        );
        st.ids += 1;
        let mut stack = SimStack {
            id,
            name: seed.name.clone(),
            status: seed.status.clone(),
            reason: None,
            template: seed.template.clone(),
            params: seed.parameters.clone(),
            tags: seed.tags.clone(),
            protection: seed.protection,
            events: Vec::new(),
            pending: VecDeque::new(),
            next_template: seed.template.clone(),
            next_params: seed.parameters.clone(),
            next_tags: seed.tags.clone(),
            deleted: false,
            updated: None,
            policy: None,
            held: false,
            physical: HashMap::new(),
            importing: Vec::new(),
        };
        let old: Vec<Ev> = seed
            .events
            .iter()
            .map(|e| {
                // Seeded events are an earlier operation's, unless the operation in progress
                // runs without a token: then they may be its own first events.
                let earlier = (!seed.untokened).then_some("earlier-op");
                st.make_event(&stack.name, e, earlier)
            })
            .collect();
        stack.events = old;
        let token = seed.token.clone().filter(|_| !seed.untokened);
        let pending: Vec<Vec<Ev>> = seed
            .pending
            .iter()
            .map(|b| {
                b.iter()
                    .map(|e| st.make_event(&stack.name, e, token.as_deref()))
                    .collect()
            })
            .collect();
        stack.pending = pending.into();
        st.stacks.push(stack);
    }

    /// The next operation (execute or delete) plays these batches, one per poll, instead of
    /// the default all-goes-well script.
    pub fn script(&self, batches: Vec<Vec<EventSpec>>) {
        self.st().scripts.push_back(batches);
    }

    /// The next operation (execute or delete) on stack `name` plays these batches: a script
    /// for one stack, so operations on several stacks at once each play their own.
    pub fn script_for(&self, name: &str, batches: Vec<Vec<EventSpec>>) {
        self.st()
            .stack_scripts
            .entry(name.to_owned())
            .or_default()
            .push_back(batches);
    }

    /// Puts an object into the simulator's S3 (creating the bucket), as another tool would.
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        self.st()
            .buckets
            .entry(bucket.to_owned())
            .or_default()
            .objects
            .insert(key.to_owned(), body.to_vec());
    }

    /// An object in the simulator's S3.
    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.st()
            .buckets
            .get(bucket)
            .and_then(|b| b.objects.get(key).cloned())
    }

    /// The buckets of the simulator's S3, by name.
    pub fn buckets(&self) -> Vec<String> {
        self.st().buckets.keys().cloned().collect()
    }

    /// The configurations set on a bucket (`encryption`, `lifecycle`, `policy`,
    /// `publicAccessBlock`), sorted, with the bodies sent.
    pub fn bucket_config(&self, bucket: &str) -> Vec<(String, String)> {
        self.st()
            .buckets
            .get(bucket)
            .map(|b| {
                b.config
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The exports, as (name, value, exporting stack's name).
    pub fn exports(&self) -> Vec<(String, String, String)> {
        let st = self.st();
        st.exports()
            .into_iter()
            .map(|e| {
                let stack = st
                    .stacks
                    .iter()
                    .find(|s| s.id == e.stack_id)
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                (e.name, e.value, stack)
            })
            .collect()
    }

    /// Exports per page of ListExports and imports per page of ListImports (AWS pages 100).
    pub fn export_page_size(&self, n: usize) {
        self.st().export_page = n.max(1);
    }

    /// The next `count` requests for `action` (`"*"` for any) fail with `fault`.
    pub fn fault(&self, action: &str, fault: Fault, count: u32) {
        self.st().faults.push((action.to_owned(), fault, count));
    }

    /// Sets a stack's status, as another tool acting on it would.
    pub fn set_status(&self, name: &str, status: &str) {
        if let Some(s) = self.st().stack_mut(name) {
            s.status = status.to_owned();
        }
    }

    /// Records an update of the stack by someone else: its `LastUpdatedTime` moves on.
    pub fn touch(&self, name: &str) {
        let mut st = self.st();
        st.clock += 1;
        let now = st.clock;
        if let Some(s) = st.stack_mut(name) {
            s.updated = Some(now);
        }
    }

    /// Drift detection reports this resource as drifted (`MODIFIED` or `DELETED`), with
    /// these differences: (path, expected, actual, `NOT_EQUAL`/`ADD`/`REMOVE`).
    pub fn drift(&self, logical: &str, ty: &str, status: &str, diffs: &[(&str, &str, &str, &str)]) {
        let diffs = diffs
            .iter()
            .map(|(p, e, a, k)| ((*p).into(), (*e).into(), (*a).into(), (*k).into()))
            .collect();
        let mut st = self.st();
        st.drifts
            .push((logical.into(), ty.into(), status.into(), diffs));
        st.drift_pending_polls = 1;
    }

    /// The stack's policy body, as last set.
    pub fn policy(&self, name: &str) -> Option<String> {
        self.st()
            .stacks
            .iter()
            .rev()
            .find(|s| s.name == name && !s.deleted)
            .and_then(|s| s.policy.clone())
    }

    /// Holds the stack's operations: polls reveal none of their events until [`Sim::release`]
    /// (a stack that does not exist yet is held once it is created).
    pub fn hold(&self, name: &str) {
        self.st().holds.insert(name.to_owned());
        if let Some(s) = self.st().stack_mut(name) {
            s.held = true;
        }
    }

    /// Lets a held stack's operation go on.
    pub fn release(&self, name: &str) {
        let mut st = self.st();
        st.holds.remove(name);
        for s in st.stacks.iter_mut().filter(|s| s.name == name) {
            s.held = false;
        }
    }

    /// A live stack's deployed template.
    pub fn template(&self, name: &str) -> Option<String> {
        self.st().stack_mut(name).and_then(|s| s.template.clone())
    }

    /// The last page of DescribeChangeSet and DescribeStackEvents carries an empty
    /// `NextToken` element, which a client must read as "no more pages".
    pub fn empty_next_tokens(&self) {
        self.st().empty_next_tokens = true;
    }

    /// Drops every pending fault.
    pub fn clear_faults(&self) {
        self.st().faults.clear();
    }

    /// Runs `f` when `action` is requested for the `nth` time (1-based), before answering.
    pub fn on_call(&self, action: &str, nth: usize, f: impl FnMut() + Send + 'static) {
        self.st()
            .hooks
            .push((action.to_owned(), nth, Some(Box::new(f))));
    }

    /// Modifications of `logical` report this `Replacement` (`True`, `Conditional`).
    pub fn replacement(&self, logical: &str, replacement: &str) {
        self.st()
            .replacements
            .insert(logical.to_owned(), replacement.to_owned());
    }

    /// The next change set comes out FAILED with `reason`.
    pub fn next_change_set_fails(&self, reason: &str) {
        self.st().next_change_set = Some(NextChangeSet::Failed(reason.to_owned()));
    }

    /// The next CreateChangeSet is answered at once with "No updates are to be performed."
    pub fn next_change_set_no_updates(&self) {
        self.st().next_change_set = Some(NextChangeSet::SyncNoUpdates);
    }

    /// Every action requested, in order (faulted ones included).
    pub fn actions(&self) -> Vec<String> {
        self.st()
            .requests
            .iter()
            .map(|r| r.action.clone())
            .collect()
    }

    /// The requests for one action.
    pub fn requests(&self, action: &str) -> Vec<Request> {
        self.st()
            .requests
            .iter()
            .filter(|r| r.action == action)
            .cloned()
            .collect()
    }

    /// A stack's current status (`None` when it never existed; `DELETE_COMPLETE` once deleted).
    pub fn status(&self, name: &str) -> Option<String> {
        self.st()
            .stacks
            .iter()
            .rev()
            .find(|s| s.name == name)
            .map(|s| s.status.clone())
    }

    /// Whether a stack has termination protection.
    pub fn protection(&self, name: &str) -> bool {
        self.st()
            .stacks
            .iter()
            .rev()
            .find(|s| s.name == name && !s.deleted)
            .is_some_and(|s| s.protection)
    }

    /// The change sets that exist (not deleted), as (name, status, executed).
    pub fn change_sets(&self) -> Vec<(String, String, bool)> {
        self.st()
            .change_sets
            .iter()
            .map(|c| (c.name.clone(), c.status.clone(), c.executed))
            .collect()
    }

    /// Whether a stack of that name exists and is not deleted.
    pub fn exists(&self, name: &str) -> bool {
        self.st()
            .stacks
            .iter()
            .any(|s| s.name == name && !s.deleted)
    }
}

impl State {
    /// An operation's script as events of `stack`, one batch per poll.
    fn make_batches(
        &mut self,
        stack: &str,
        script: &[Vec<EventSpec>],
        token: Option<&str>,
    ) -> Vec<Vec<Ev>> {
        script
            .iter()
            .map(|b| b.iter().map(|e| self.make_event(stack, e, token)).collect())
            .collect()
    }

    fn make_event(&mut self, stack: &str, e: &EventSpec, token: Option<&str>) -> Ev {
        self.ids += 1;
        self.clock += 1;
        Ev {
            id: format!("ev-{:06}", self.ids),
            logical: e.logical.clone().unwrap_or_else(|| stack.to_owned()),
            resource_type: e.resource_type.clone(),
            status: e.status.clone(),
            reason: e.reason.clone(),
            token: token.map(str::to_owned),
            ts: self.clock,
        }
    }

    fn stack_mut(&mut self, name_or_id: &str) -> Option<&mut SimStack> {
        // By ID: deleted stacks too. By name: live stacks only.
        if name_or_id.starts_with("arn:") {
            self.stacks.iter_mut().find(|s| s.id == name_or_id)
        } else {
            self.stacks
                .iter_mut()
                .rev()
                .find(|s| s.name == name_or_id && !s.deleted)
        }
    }

    /// Reveals the next batch of the stack's running operation.
    fn reveal(&mut self, name_or_id: &str) {
        let Some(s) = self.stack_mut(name_or_id) else {
            return;
        };
        if s.held {
            return;
        }
        let Some(batch) = s.pending.pop_front() else {
            return;
        };
        let id = s.id.clone();
        let mut reached = Vec::new();
        for e in batch {
            if e.logical == s.name && e.resource_type == "AWS::CloudFormation::Stack" {
                s.status = e.status.clone();
                if e.reason.is_some() {
                    s.reason = e.reason.clone();
                }
                match e.status.as_str() {
                    "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" => {
                        s.template = s.next_template.clone();
                        s.params = s.next_params.clone();
                        s.tags = s.next_tags.clone();
                    }
                    "DELETE_COMPLETE" => s.deleted = true,
                    _ => {}
                }
                reached.push(e.status.clone());
            }
            s.events.push(e);
        }
        for status in reached {
            self.settle_imports(&id, &status);
        }
    }
}

/// One HTTP request as the simulator reads it.
struct HttpRequest {
    method: String,
    /// Path and query.
    target: String,
    /// Headers, names lowercased.
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// One HTTP answer.
struct Reply {
    status: u16,
    content_type: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// An answer to HEAD: the length is announced, the body not sent.
    head: bool,
}

impl Reply {
    fn new(status: u16, content_type: &'static str, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type,
            headers: Vec::new(),
            body,
            head: false,
        }
    }

    fn xml((status, xml): (u16, String)) -> Reply {
        Reply::new(status, "text/xml", xml.into_bytes())
    }
}

async fn serve(mut sock: TcpStream, state: Arc<Mutex<State>>) {
    let mut buf = Vec::new();
    loop {
        let Some(req) = read_request(&mut sock, &mut buf).await else {
            return;
        };
        // CloudFormation and STS: form-encoded POSTs to `/`; anything else is S3.
        let reply = if req.method == "POST" && req.target == "/" {
            handle(&state, &String::from_utf8_lossy(&req.body)).map(Reply::xml)
        } else {
            handle_s3(&state, &req)
        };
        let Some(reply) = reply else {
            // Fault::Drop: hang up without a word.
            return;
        };
        let reason = match reply.status {
            200 => "OK",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            409 => "Conflict",
            503 => "Service Unavailable",
            _ => "Internal Server Error",
        };
        let mut resp = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nx-amzn-RequestId: sim-request\r\nx-amz-request-id: sim-request\r\n",
            reply.status,
            reply.content_type,
            reply.body.len()
        );
        for (k, v) in &reply.headers {
            resp.push_str(&format!("{k}: {v}\r\n"));
        }
        resp.push_str("\r\n");
        let mut bytes = resp.into_bytes();
        if !reply.head {
            bytes.extend_from_slice(&reply.body);
        }
        if sock.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

/// Reads one request out of `sock` (what is left of `buf` first).
async fn read_request(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Option<HttpRequest> {
    loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..pos]).into_owned();
            let mut lines = head.lines();
            let mut first = lines.next().unwrap_or("").split_whitespace();
            let method = first.next().unwrap_or("").to_owned();
            let target = first.next().unwrap_or("/").to_owned();
            let headers: HashMap<String, String> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let head_len = pos + 4;
            while buf.len() < head_len + len {
                let mut chunk = [0u8; 65536];
                let n = sock.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[head_len..head_len + len].to_vec();
            buf.drain(..head_len + len);
            return Some(HttpRequest {
                method,
                target,
                headers,
                body,
            });
        }
        let mut chunk = [0u8; 65536];
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Percent-decoding of a URL path (`+` stays `+`).
fn percent_decode(s: &str) -> String {
    decode(&s.replace('+', "%2B"))
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// `Prefix.member.N[.Suffix]` values, in order.
fn members(p: &HashMap<String, String>, prefix: &str, suffix: &str) -> Vec<String> {
    (1..)
        .map_while(|i| {
            let key = if suffix.is_empty() {
                format!("{prefix}.member.{i}")
            } else {
                format!("{prefix}.member.{i}.{suffix}")
            };
            p.get(&key).cloned()
        })
        .collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn ts(t: u64) -> String {
    format!("2026-11-26T10:{:02}:{:02}.000Z", (t / 60) % 60, t % 60)
}

/// Resources per page of ListStackResources (and the most DescribeStackResources returns);
/// events per page of DescribeStackEvents.
const PAGE: usize = 100;

const CFN_NS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

fn ok(action: &str, ns: &str, result: &str) -> Option<(u16, String)> {
    Some((
        200,
        format!(
            "<{action}Response xmlns=\"{ns}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>sim-request</RequestId></ResponseMetadata></{action}Response>"
        ),
    ))
}

fn error(status: u16, code: &str, message: &str) -> Option<(u16, String)> {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    Some((
        status,
        format!(
            "<ErrorResponse xmlns=\"{CFN_NS}\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>sim-request</RequestId></ErrorResponse>",
            esc(message)
        ),
    ))
}

fn missing(name: &str) -> Option<(u16, String)> {
    error(
        400,
        "ValidationError",
        &format!("Stack with id {name} does not exist"),
    )
}

/// Records the request, runs its hooks and takes the fault it is to meet, if any.
fn arrive(state: &Arc<Mutex<State>>, action: &str, p: &HashMap<String, String>) -> Option<Fault> {
    let mut hooks_to_run: Vec<Hook> = Vec::new();
    let fault = {
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        st.requests.push(Request {
            action: action.to_owned(),
            params: p.clone(),
        });
        let n = st.requests.iter().filter(|r| r.action == action).count();
        for (a, nth, hook) in st.hooks.iter_mut() {
            if *a == action
                && *nth == n
                && let Some(h) = hook.take()
            {
                hooks_to_run.push(h);
            }
        }
        let mut fault = None;
        for (a, f, count) in st.faults.iter_mut() {
            if *count > 0 && (a == "*" || *a == action) {
                *count -= 1;
                fault = Some(*f);
                break;
            }
        }
        fault
    };
    for mut h in hooks_to_run {
        h();
    }
    fault
}

fn handle(state: &Arc<Mutex<State>>, body: &str) -> Option<(u16, String)> {
    let p = parse_form(body);
    let action = p.get("Action").cloned().unwrap_or_default();
    match arrive(state, &action, &p) {
        Some(Fault::Throttle) => return error(400, "Throttling", "Rate exceeded"),
        Some(Fault::Internal) => {
            return error(
                500,
                "InternalFailure",
                "We encountered an internal error. Please try again.",
            );
        }
        Some(Fault::Drop) => return None,
        Some(Fault::LostResponse) => {
            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
            let _ = answer(&mut st, &action, &p);
            return None;
        }
        None => {}
    }
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    answer(&mut st, &action, &p)
}

/// An S3 request: recorded under its operation's name (`PutObject`), with `Bucket` and `Key`
/// as its parameters, faults and hooks applying as to any other.
fn handle_s3(state: &Arc<Mutex<State>>, req: &HttpRequest) -> Option<Reply> {
    let op = s3::operation(req);
    let mut p = HashMap::from([("Bucket".to_owned(), op.bucket.clone())]);
    if let Some(k) = &op.key {
        p.insert("Key".to_owned(), k.clone());
    }
    match arrive(state, op.action, &p) {
        Some(Fault::LostResponse) => {
            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
            let _ = s3::answer(&mut st, req, &op);
            None
        }
        Some(f) => s3::fault_reply(f),
        None => {
            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
            Some(s3::answer(&mut st, req, &op))
        }
    }
}

fn stack_xml(s: &SimStack) -> String {
    let mut x = format!(
        "<member><StackId>{}</StackId><StackName>{}</StackName><CreationTime>{}</CreationTime><StackStatus>{}</StackStatus>",
        esc(&s.id),
        esc(&s.name),
        ts(0),
        s.status
    );
    if let Some(t) = s.updated {
        x.push_str(&format!("<LastUpdatedTime>{}</LastUpdatedTime>", ts(t)));
    }
    if let Some(r) = &s.reason {
        x.push_str(&format!(
            "<StackStatusReason>{}</StackStatusReason>",
            esc(r)
        ));
    }
    x.push_str(&format!(
        "<EnableTerminationProtection>{}</EnableTerminationProtection>",
        s.protection
    ));
    x.push_str("<Parameters>");
    for (k, v) in &s.params {
        x.push_str(&format!(
            "<member><ParameterKey>{}</ParameterKey><ParameterValue>{}</ParameterValue></member>",
            esc(k),
            esc(v)
        ));
    }
    x.push_str("</Parameters><Tags>");
    for (k, v) in &s.tags {
        x.push_str(&format!(
            "<member><Key>{}</Key><Value>{}</Value></member>",
            esc(k),
            esc(v)
        ));
    }
    x.push_str("</Tags><Outputs>");
    if s.status.ends_with("_COMPLETE") && s.template.is_some() && !s.deleted {
        x.push_str(
            "<member><OutputKey>Simulated</OutputKey><OutputValue>yes</OutputValue></member>",
        );
        for o in exports::outputs_of(s.template.as_deref(), s) {
            x.push_str(&format!(
                "<member><OutputKey>{}</OutputKey><OutputValue>{}</OutputValue>",
                esc(&o.key),
                esc(&o.value)
            ));
            if let Some(d) = &o.description {
                x.push_str(&format!("<Description>{}</Description>", esc(d)));
            }
            if let Some(n) = &o.export {
                x.push_str(&format!("<ExportName>{}</ExportName>", esc(n)));
            }
            x.push_str("</member>");
        }
    }
    x.push_str("</Outputs></member>");
    x
}

fn event_xml(s: &SimStack, e: &Ev) -> String {
    let mut x = format!(
        "<member><StackId>{}</StackId><EventId>{}</EventId><StackName>{}</StackName><LogicalResourceId>{}</LogicalResourceId><PhysicalResourceId>{}</PhysicalResourceId><ResourceType>{}</ResourceType><Timestamp>{}</Timestamp><ResourceStatus>{}</ResourceStatus>",
        esc(&s.id),
        e.id,
        esc(&s.name),
        esc(&e.logical),
        if e.resource_type == "AWS::CloudFormation::Stack" {
            esc(&s.id)
        } else {
            esc(&physical_id(s, &e.logical))
        },
        esc(&e.resource_type),
        ts(e.ts),
        e.status
    );
    if let Some(r) = &e.reason {
        x.push_str(&format!(
            "<ResourceStatusReason>{}</ResourceStatusReason>",
            esc(r)
        ));
    }
    if let Some(t) = &e.token {
        x.push_str(&format!(
            "<ClientRequestToken>{}</ClientRequestToken>",
            esc(t)
        ));
    }
    x.push_str("</member>");
    x
}

/// A resource's physical ID: its identifier when imported, else `<logical>-physical`.
fn physical_id(s: &SimStack, logical: &str) -> String {
    s.physical
        .get(logical)
        .cloned()
        .unwrap_or_else(|| format!("{logical}-physical"))
}

/// A top-level section of a JSON template (`Null` when absent or not JSON).
fn section_of(template: Option<&str>, section: &str) -> Json {
    template
        .and_then(|t| serde_json::from_str::<Json>(t).ok())
        .and_then(|t| t.get(section).cloned())
        .unwrap_or(Json::Null)
}

fn resources_of(template: Option<&str>) -> serde_json::Map<String, Json> {
    template
        .and_then(|t| serde_json::from_str::<Json>(t).ok())
        .and_then(|t| t.get("Resources").and_then(Json::as_object).cloned())
        .unwrap_or_default()
}

fn default_script(kind: &str, changes: &[Change]) -> Vec<Vec<EventSpec>> {
    let verb = |c: &Change| match (kind, c.action) {
        ("DELETE", _) | (_, "Remove") => "DELETE",
        (_, "Add") => "CREATE",
        (_, "Import") => "IMPORT",
        _ => "UPDATE",
    };
    let stack_verb = kind;
    let mut first =
        vec![stack_event(&format!("{stack_verb}_IN_PROGRESS")).reason("User Initiated")];
    let mut second = Vec::new();
    for c in changes {
        first.push(event(
            &c.logical,
            &c.resource_type,
            &format!("{}_IN_PROGRESS", verb(c)),
        ));
        second.push(event(
            &c.logical,
            &c.resource_type,
            &format!("{}_COMPLETE", verb(c)),
        ));
    }
    vec![
        first,
        second,
        vec![stack_event(&format!("{stack_verb}_COMPLETE"))],
    ]
}

/// CloudFormation's limit on `TemplateBody`, in bytes.
pub const TEMPLATE_BODY_LIMIT: usize = 51_200;
/// CloudFormation's limit on a template read from `TemplateURL`, in bytes.
pub const TEMPLATE_URL_LIMIT: usize = 1_000_000;
/// CloudFormation's answer to a `TemplateURL` whose object cannot be read (missing bucket or
/// key: S3 answers AccessDenied to a reader who may not list the bucket).
pub const S3_ACCESS_DENIED: &str = "S3 error: Access Denied\nFor more information check http://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html";

/// The bucket and key a `TemplateURL` names: virtual-hosted
/// (`https://b.s3.eu-west-1.amazonaws.com/k`, `https://b.s3.amazonaws.com/k`) or path-style
/// (`https://s3.eu-west-1.amazonaws.com/b/k`); `None` for anything not S3.
fn s3_location(url: &str) -> Option<(String, String)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    let host = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let path = path.split('?').next().unwrap_or("");
    let path_style = host == "s3" || host.starts_with("s3.") || host.starts_with("s3-");
    let (bucket, key) = if path_style {
        let (b, k) = path.split_once('/')?;
        (b.to_owned(), k.to_owned())
    } else {
        let i = host.find(".s3").or_else(|| host.find(".s3-"))?;
        (host[..i].to_owned(), path.to_owned())
    };
    (!bucket.is_empty() && !key.is_empty()).then(|| (bucket, percent_decode(&key)))
}

/// The changes from `old` to `new`, resource by resource.
fn changes_between(
    old: Option<&str>,
    new: &str,
    replacements: &HashMap<String, String>,
) -> Vec<Change> {
    let old = resources_of(old);
    let new = resources_of(Some(new));
    let ty = |r: &Json| {
        r.get("Type")
            .and_then(Json::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    let mut changes = Vec::new();
    for (id, r) in &new {
        match old.get(id) {
            None => changes.push(Change {
                action: "Add",
                logical: id.clone(),
                resource_type: ty(r),
                replacement: None,
            }),
            Some(o) if o != r => changes.push(Change {
                action: "Modify",
                logical: id.clone(),
                resource_type: ty(r),
                replacement: Some(
                    replacements
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| "False".into()),
                ),
            }),
            Some(_) => {}
        }
    }
    for (id, r) in &old {
        if !new.contains_key(id) {
            changes.push(Change {
                action: "Remove",
                logical: id.clone(),
                resource_type: ty(r),
                replacement: None,
            });
        }
    }
    changes
}

/// The `Parameters.member.N` of a request.
fn params_of(p: &HashMap<String, String>) -> Vec<(String, String)> {
    members(p, "Parameters", "ParameterKey")
        .into_iter()
        .zip(
            members(p, "Parameters", "ParameterValue")
                .into_iter()
                .chain(std::iter::repeat(String::new())),
        )
        .collect()
}

/// The `Tags.member.N` of a request.
fn tags_of(p: &HashMap<String, String>) -> Vec<(String, String)> {
    members(p, "Tags", "Key")
        .into_iter()
        .zip(members(p, "Tags", "Value"))
        .collect()
}

impl State {
    /// The template a request gives, inline or by URL, or CloudFormation's refusal of it.
    fn template_of(&self, p: &HashMap<String, String>) -> Result<String, Option<(u16, String)>> {
        match (p.get("TemplateBody"), p.get("TemplateURL")) {
            (Some(_), Some(_)) => Err(error(
                400,
                "ValidationError",
                "Specify exactly one of TemplateBody and TemplateURL.",
            )),
            (None, None) => Err(error(
                400,
                "ValidationError",
                "Either Template URL or Template Body must be specified.",
            )),
            (Some(body), None) if body.len() > TEMPLATE_BODY_LIMIT => Err(error(
                400,
                "ValidationError",
                &format!(
                    "1 validation error detected: Value '{body}' at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to {TEMPLATE_BODY_LIMIT}"
                ),
            )),
            (Some(body), None) => Ok(body.clone()),
            (None, Some(url)) => {
                let Some((bucket, key)) = s3_location(url) else {
                    return Err(error(
                        400,
                        "ValidationError",
                        "TemplateURL must be a supported URL.",
                    ));
                };
                let Some(object) = self.buckets.get(&bucket).and_then(|b| b.objects.get(&key))
                else {
                    return Err(error(400, "ValidationError", S3_ACCESS_DENIED));
                };
                if object.len() > TEMPLATE_URL_LIMIT {
                    return Err(error(
                        400,
                        "ValidationError",
                        &format!("Template may not exceed {TEMPLATE_URL_LIMIT} bytes in size."),
                    ));
                }
                Ok(String::from_utf8_lossy(object).into_owned())
            }
        }
    }

    /// Adds a stack in `status`; returns its ID.
    fn new_stack(&mut self, name: &str, status: &str) -> String {
        self.ids += 1;
        let id = format!(
            "arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/{:08x}",
            self.ids
        );
        self.stacks.push(SimStack {
            id: id.clone(),
            name: name.to_owned(),
            status: status.to_owned(),
            reason: None,
            template: None,
            params: Vec::new(),
            tags: Vec::new(),
            protection: false,
            events: Vec::new(),
            pending: VecDeque::new(),
            next_template: None,
            next_params: Vec::new(),
            next_tags: Vec::new(),
            deleted: false,
            updated: None,
            policy: None,
            held: self.holds.contains(name),
            physical: HashMap::new(),
            importing: Vec::new(),
        });
        id
    }

    /// Whether `stack` (a name or an ID; empty: any) is the stack with this ID.
    fn stack_named(&self, id: &str, stack: &str) -> bool {
        stack.is_empty()
            || stack == id
            || self
                .stacks
                .iter()
                .any(|s| s.id == id && s.name == stack && !s.deleted)
    }

    /// A change set by ARN, or by name on the stack `stack` names.
    fn change_set(&self, name_or_id: &str, stack: &str) -> Option<usize> {
        self.change_sets.iter().position(|c| {
            c.id == name_or_id || (c.name == name_or_id && self.stack_named(&c.stack_id, stack))
        })
    }

    /// The script the next operation on `stack` plays: its own, else the shared one.
    fn next_script(&mut self, stack: &str) -> Option<Vec<Vec<EventSpec>>> {
        self.stack_scripts
            .get_mut(stack)
            .and_then(VecDeque::pop_front)
            .or_else(|| self.scripts.pop_front())
    }

    /// Starts an operation installing `template` on the stack: its events are revealed one
    /// batch per poll. An export conflict makes it fail and roll back, as CloudFormation does
    /// once the resources are done; otherwise it plays the stack's script, or the default one.
    #[allow(clippy::too_many_arguments)]
    fn start_operation(
        &mut self,
        stack_id: &str,
        kind: &str,
        template: String,
        params: Vec<(String, String)>,
        tags: Vec<(String, String)>,
        changes: &[Change],
        token: Option<&str>,
    ) {
        let name = self
            .stack_mut(stack_id)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let conflict = self
            .missing_import(stack_id, &template)
            .map(|i| format!("No export named {i} found. Rollback requested by user."))
            .or_else(|| self.export_conflict(stack_id, Some(&template)));
        let script = match conflict {
            Some(why) => failed_script(kind, changes, &why),
            None => self
                .next_script(&name)
                .unwrap_or_else(|| default_script(kind, changes)),
        };
        let batches = self.make_batches(&name, &script, token);
        self.clock += 1;
        let now = self.clock;
        if let Some(s) = self.stack_mut(stack_id) {
            if kind != "CREATE" {
                s.updated = Some(now);
            }
            // The stack is busy from the moment the operation is accepted.
            s.status = format!("{kind}_IN_PROGRESS");
            s.pending = batches.into();
            s.next_template = Some(template);
            s.next_params = params;
            s.next_tags = tags;
        }
    }
}

/// An operation whose resources go through and whose stack then fails on `why` (the status
/// reason, verbatim) and rolls back.
fn failed_script(kind: &str, changes: &[Change], why: &str) -> Vec<Vec<EventSpec>> {
    let mut script = default_script(kind, changes);
    script.pop();
    let (rolling, rolled) = match kind {
        "CREATE" => ("ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"),
        "IMPORT" => ("IMPORT_ROLLBACK_IN_PROGRESS", "IMPORT_ROLLBACK_COMPLETE"),
        _ => ("UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE"),
    };
    script.push(vec![stack_event(rolling).reason(why)]);
    script.push(vec![stack_event(rolled)]);
    script
}

fn answer(st: &mut State, action: &str, p: &HashMap<String, String>) -> Option<(u16, String)> {
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    match action {
        "GetCallerIdentity" => Some((
            200,
            format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::{ACCOUNT}:user/sim</Arn><UserId>AIDASIM</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>sim-request</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
            ),
        )),
        "DescribeStacks" => {
            let name = get("StackName");
            match st.stack_mut(&name) {
                Some(s) => {
                    let x = stack_xml(s);
                    ok("DescribeStacks", CFN_NS, &format!("<Stacks>{x}</Stacks>"))
                }
                None => missing(&name),
            }
        }
        "GetTemplate" => {
            let name = get("StackName");
            match st.stack_mut(&name) {
                Some(s) => ok(
                    "GetTemplate",
                    CFN_NS,
                    &format!(
                        "<TemplateBody>{}</TemplateBody><StagesAvailable><member>Original</member><member>Processed</member></StagesAvailable>",
                        esc(s.template.as_deref().unwrap_or("{}"))
                    ),
                ),
                None => missing(&name),
            }
        }
        "DescribeStackResources" | "ListStackResources" => {
            let name = get("StackName");
            let list = action == "ListStackResources";
            let start: usize = p
                .get("NextToken")
                .and_then(|t| t.strip_prefix("page-"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            match st.stack_mut(&name) {
                Some(s) => {
                    let all = resources_of(s.template.as_deref());
                    // DescribeStackResources returns the first 100 and no more, as AWS does;
                    // ListStackResources pages them, 100 to a page.
                    let page: Vec<_> = all.iter().skip(start).take(PAGE).collect();
                    let (open, close) = if list {
                        ("<StackResourceSummaries>", "</StackResourceSummaries>")
                    } else {
                        ("<StackResources>", "</StackResources>")
                    };
                    let mut x = String::from(open);
                    for (id, r) in page {
                        let ty = esc(r.get("Type").and_then(Json::as_str).unwrap_or("?"));
                        if list {
                            x.push_str(&format!(
                                "<member><LogicalResourceId>{}</LogicalResourceId><PhysicalResourceId>{}</PhysicalResourceId><ResourceType>{ty}</ResourceType><LastUpdatedTimestamp>{}</LastUpdatedTimestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus></member>",
                                esc(id),
                                esc(&physical_id(s, id)),
                                ts(0)
                            ));
                        } else {
                            x.push_str(&format!(
                                "<member><StackName>{}</StackName><StackId>{}</StackId><LogicalResourceId>{}</LogicalResourceId><PhysicalResourceId>{}</PhysicalResourceId><ResourceType>{ty}</ResourceType><Timestamp>{}</Timestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus></member>",
                                esc(&s.name),
                                esc(&s.id),
                                esc(id),
                                esc(&physical_id(s, id)),
                                ts(0)
                            ));
                        }
                    }
                    x.push_str(close);
                    if list && start + PAGE < all.len() {
                        x.push_str(&format!("<NextToken>page-{}</NextToken>", start + PAGE));
                    }
                    ok(
                        if list {
                            "ListStackResources"
                        } else {
                            "DescribeStackResources"
                        },
                        CFN_NS,
                        &x,
                    )
                }
                None => missing(&name),
            }
        }
        "ContinueUpdateRollback" => {
            let name = get("StackName");
            let token = p.get("ClientRequestToken").cloned();
            let stack_name = match st.stack_mut(&name) {
                Some(s) if s.status == "UPDATE_ROLLBACK_FAILED" => s.name.clone(),
                Some(s) => {
                    let msg = format!(
                        "Stack {} is in {} state and can not continue an update rollback.",
                        s.name, s.status
                    );
                    return error(400, "ValidationError", &msg);
                }
                None => return missing(&name),
            };
            let script = st.next_script(&stack_name).unwrap_or_else(|| {
                vec![
                    vec![
                        stack_event("UPDATE_ROLLBACK_IN_PROGRESS")
                            .reason("Continue rollback requested"),
                    ],
                    vec![stack_event("UPDATE_ROLLBACK_COMPLETE")],
                ]
            });
            let batches = st.make_batches(&stack_name, &script, token.as_deref());
            if let Some(s) = st.stack_mut(&name) {
                s.pending = batches.into();
            }
            ok("ContinueUpdateRollback", CFN_NS, "")
        }
        "SetStackPolicy" => {
            let name = get("StackName");
            let body = p.get("StackPolicyBody").cloned();
            match st.stack_mut(&name) {
                Some(s) => {
                    s.policy = body;
                    ok("SetStackPolicy", CFN_NS, "")
                }
                None => missing(&name),
            }
        }
        "DetectStackDrift" => {
            let name = get("StackName");
            if st.stack_mut(&name).is_none() {
                return missing(&name);
            }
            ok(
                "DetectStackDrift",
                CFN_NS,
                "<StackDriftDetectionId>drift-1</StackDriftDetectionId>",
            )
        }
        "DescribeStackDriftDetectionStatus" => {
            if st.drift_pending_polls > 0 {
                st.drift_pending_polls -= 1;
                return ok(
                    "DescribeStackDriftDetectionStatus",
                    CFN_NS,
                    "<StackDriftDetectionId>drift-1</StackDriftDetectionId><DetectionStatus>DETECTION_IN_PROGRESS</DetectionStatus>",
                );
            }
            let status = if st.drifts.is_empty() {
                "IN_SYNC"
            } else {
                "DRIFTED"
            };
            ok(
                "DescribeStackDriftDetectionStatus",
                CFN_NS,
                &format!(
                    "<StackDriftDetectionId>drift-1</StackDriftDetectionId><DetectionStatus>DETECTION_COMPLETE</DetectionStatus><StackDriftStatus>{status}</StackDriftStatus><DriftedStackResourceCount>{}</DriftedStackResourceCount><Timestamp>{}</Timestamp>",
                    st.drifts.len(),
                    ts(0)
                ),
            )
        }
        "DescribeStackResourceDrifts" => {
            let name = get("StackName");
            let mut x = String::from("<StackResourceDrifts>");
            for (logical, ty, status, diffs) in &st.drifts {
                x.push_str(&format!(
                    "<member><StackId>{}</StackId><LogicalResourceId>{}</LogicalResourceId><ResourceType>{}</ResourceType><StackResourceDriftStatus>{}</StackResourceDriftStatus><Timestamp>{}</Timestamp><PropertyDifferences>",
                    esc(&name), esc(logical), esc(ty), esc(status), ts(0)
                ));
                for (path, expected, actual, kind) in diffs {
                    x.push_str(&format!(
                        "<member><PropertyPath>{}</PropertyPath><ExpectedValue>{}</ExpectedValue><ActualValue>{}</ActualValue><DifferenceType>{}</DifferenceType></member>",
                        esc(path), esc(expected), esc(actual), esc(kind)
                    ));
                }
                x.push_str("</PropertyDifferences></member>");
            }
            x.push_str("</StackResourceDrifts>");
            ok("DescribeStackResourceDrifts", CFN_NS, &x)
        }
        "DescribeStackEvents" => {
            let name = get("StackName");
            // Newest first, 100 to a page as AWS pages them; a poll (the first page) is what
            // lets the running operation move on.
            let start: usize = p
                .get("NextToken")
                .and_then(|t| t.strip_prefix("ev-"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if !p.contains_key("NextToken") {
                st.reveal(&name);
            }
            let empty_tokens = st.empty_next_tokens;
            match st.stack_mut(&name) {
                Some(s) => {
                    let mut x = String::from("<StackEvents>");
                    for e in s.events.iter().rev().skip(start).take(PAGE) {
                        x.push_str(&event_xml(s, e));
                    }
                    x.push_str("</StackEvents>");
                    if start + PAGE < s.events.len() {
                        x.push_str(&format!("<NextToken>ev-{}</NextToken>", start + PAGE));
                    } else if empty_tokens {
                        x.push_str("<NextToken></NextToken>");
                    }
                    ok("DescribeStackEvents", CFN_NS, &x)
                }
                None => missing(&name),
            }
        }
        "CreateChangeSet" => {
            let name = get("StackName");
            let kind = get("ChangeSetType");
            let cs_name = get("ChangeSetName");
            let token = p.get("ClientToken").cloned();
            // The same ClientToken again (a retry whose first answer was lost): the change set
            // it made, not a second one; the same name on the same stack without it: refused,
            // as CloudFormation does. Change set names are per stack.
            if let Some(c) = st
                .change_sets
                .iter()
                .find(|c| c.name == cs_name && st.stack_named(&c.stack_id, &name))
            {
                if token.is_some() && c.token == token {
                    let body = format!(
                        "<Id>{}</Id><StackId>{}</StackId>",
                        esc(&c.id),
                        esc(&c.stack_id)
                    );
                    return ok("CreateChangeSet", CFN_NS, &body);
                }
                return error(
                    400,
                    "AlreadyExistsException",
                    &format!("ChangeSet {cs_name} already exists"),
                );
            }
            if let Some(NextChangeSet::SyncNoUpdates) = st.next_change_set {
                st.next_change_set = None;
                return error(400, "ValidationError", "No updates are to be performed.");
            }
            let body = match st.template_of(p) {
                Ok(b) => b,
                Err(refused) => return refused,
            };
            if kind == "IMPORT" {
                return import::create_change_set(st, p, &name, cs_name, token, body);
            }
            let exists = st.stack_mut(&name).is_some();
            if kind == "UPDATE" && !exists {
                return missing(&name);
            }
            if kind == "CREATE" && !exists {
                st.new_stack(&name, "REVIEW_IN_PROGRESS");
                let e = st.make_event(
                    &name,
                    &stack_event("REVIEW_IN_PROGRESS").reason("User Initiated"),
                    None,
                );
                if let Some(s) = st.stack_mut(&name) {
                    s.events.push(e);
                }
            }
            let replacements = st.replacements.clone();
            let Some(s) = st.stack_mut(&name) else {
                return missing(&name);
            };
            if kind == "CREATE" && s.status != "REVIEW_IN_PROGRESS" {
                return error(
                    400,
                    "ValidationError",
                    &format!(
                        "Stack [{name}] already exists and cannot be created again with the changeSet [{cs_name}]."
                    ),
                );
            }
            let stack_id = s.id.clone();
            let old = (kind == "UPDATE").then(|| s.template.clone()).flatten();
            let changes = changes_between(old.as_deref(), &body, &replacements);
            // Outputs changed and nothing else: a change set without resource changes, to
            // execute all the same.
            let outputs_change =
                section_of(old.as_deref(), "Outputs") != section_of(Some(&body), "Outputs");
            let (params, tags) = (params_of(p), tags_of(p));
            let missing_import = st.missing_import(&stack_id, &body);
            let (status, reason) = match st.next_change_set.take() {
                Some(NextChangeSet::Failed(r)) => ("FAILED".to_owned(), Some(r)),
                // Imports are resolved when the change set is computed.
                _ if missing_import.is_some() => (
                    "FAILED".to_owned(),
                    missing_import.map(|i| format!("No export named {i} found.")),
                ),
                _ if changes.is_empty() && !outputs_change && kind == "UPDATE" => {
                    ("FAILED".to_owned(), Some(EMPTY_REASON.to_owned()))
                }
                _ => ("CREATE_COMPLETE".to_owned(), None),
            };
            st.ids += 1;
            let id = format!(
                "arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/{cs_name}/{:08x}",
                st.ids
            );
            let pending_polls = st.change_set_pending_polls;
            st.change_sets.push(SimChangeSet {
                id: id.clone(),
                name: cs_name,
                stack_id: stack_id.clone(),
                kind,
                template: body,
                params,
                tags,
                changes,
                status,
                reason,
                pending_polls,
                executed: false,
                exec_token: None,
                token,
                imports: Vec::new(),
            });
            ok(
                "CreateChangeSet",
                CFN_NS,
                &format!("<Id>{}</Id><StackId>{}</StackId>", esc(&id), esc(&stack_id)),
            )
        }
        "CreateStack" | "UpdateStack" => {
            let name = get("StackName");
            let token = p.get("ClientRequestToken").cloned();
            let body = match st.template_of(p) {
                Ok(b) => b,
                Err(refused) => return refused,
            };
            let create = action == "CreateStack";
            let (params, tags) = (params_of(p), tags_of(p));
            let replacements = st.replacements.clone();
            let (stack_id, changes) = if create {
                if st.stack_mut(&name).is_some() {
                    return error(
                        400,
                        "AlreadyExistsException",
                        &format!("Stack [{name}] already exists"),
                    );
                }
                let id = st.new_stack(&name, "CREATE_IN_PROGRESS");
                (id, changes_between(None, &body, &replacements))
            } else {
                let Some(s) = st.stack_mut(&name) else {
                    return missing(&name);
                };
                if s.status.ends_with("_IN_PROGRESS") || s.status.ends_with("_FAILED") {
                    let msg = format!(
                        "Stack:{} is in {} state and can not be updated.",
                        s.id, s.status
                    );
                    return error(400, "ValidationError", &msg);
                }
                let changes = changes_between(s.template.as_deref(), &body, &replacements);
                let same_outputs = section_of(s.template.as_deref(), "Outputs")
                    == section_of(Some(&body), "Outputs");
                if changes.is_empty() && same_outputs && s.params == params && s.tags == tags {
                    return error(400, "ValidationError", "No updates are to be performed.");
                }
                (s.id.clone(), changes)
            };
            let kind = if create { "CREATE" } else { "UPDATE" };
            st.start_operation(
                &stack_id,
                kind,
                body,
                params,
                tags,
                &changes,
                token.as_deref(),
            );
            ok(
                action,
                CFN_NS,
                &format!("<StackId>{}</StackId>", esc(&stack_id)),
            )
        }
        "ValidateTemplate" => {
            let body = match st.template_of(p) {
                Ok(b) => b,
                Err(refused) => return refused,
            };
            let t: Json = match serde_json::from_str(&body) {
                Ok(t) => t,
                // YAML, or anything else: the simulator reads JSON only, and takes the rest.
                Err(_) if !body.trim_start().starts_with('{') => Json::Null,
                Err(_) => {
                    return error(
                        400,
                        "ValidationError",
                        "Template format error: JSON not well-formed.",
                    );
                }
            };
            let mut x = String::from("<Parameters>");
            if let Some(ps) = t.get("Parameters").and_then(Json::as_object) {
                for (k, v) in ps {
                    x.push_str(&format!(
                        "<member><ParameterKey>{}</ParameterKey><NoEcho>{}</NoEcho>",
                        esc(k),
                        v.get("NoEcho").and_then(Json::as_bool).unwrap_or(false)
                    ));
                    if let Some(d) = v.get("Default") {
                        let d = d
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| d.to_string());
                        x.push_str(&format!("<DefaultValue>{}</DefaultValue>", esc(&d)));
                    }
                    x.push_str("</member>");
                }
            }
            x.push_str("</Parameters>");
            let iam: Vec<String> = resources_of(Some(&body))
                .values()
                .filter_map(|r| r.get("Type").and_then(Json::as_str))
                .filter(|t| t.starts_with("AWS::IAM::"))
                .map(str::to_owned)
                .collect();
            if !iam.is_empty() {
                x.push_str(&format!(
                    "<Capabilities><member>CAPABILITY_IAM</member></Capabilities><CapabilitiesReason>The following resource(s) require capabilities: [{}]</CapabilitiesReason>",
                    esc(&iam.join(", "))
                ));
            }
            ok("ValidateTemplate", CFN_NS, &x)
        }
        "ListExports" => {
            let start: usize = p
                .get("NextToken")
                .and_then(|t| t.strip_prefix("exports-"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let all = st.exports();
            let mut x = String::from("<Exports>");
            for e in all.iter().skip(start).take(st.export_page) {
                x.push_str(&format!(
                    "<member><ExportingStackId>{}</ExportingStackId><Name>{}</Name><Value>{}</Value></member>",
                    esc(&e.stack_id),
                    esc(&e.name),
                    esc(&e.value)
                ));
            }
            x.push_str("</Exports>");
            if start + st.export_page < all.len() {
                x.push_str(&format!(
                    "<NextToken>exports-{}</NextToken>",
                    start + st.export_page
                ));
            }
            ok("ListExports", CFN_NS, &x)
        }
        "ListImports" => {
            let export = get("ExportName");
            let start: usize = p
                .get("NextToken")
                .and_then(|t| t.strip_prefix("imports-"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let users = st.importers(&export);
            if users.is_empty() {
                return error(
                    400,
                    "ValidationError",
                    &format!("Export '{export}' is not imported by any stack."),
                );
            }
            let mut x = String::from("<Imports>");
            for u in users.iter().skip(start).take(st.export_page) {
                x.push_str(&format!("<member>{}</member>", esc(u)));
            }
            x.push_str("</Imports>");
            if start + st.export_page < users.len() {
                x.push_str(&format!(
                    "<NextToken>imports-{}</NextToken>",
                    start + st.export_page
                ));
            }
            ok("ListImports", CFN_NS, &x)
        }
        "DescribeChangeSet" => {
            let n = get("ChangeSetName");
            let stack = get("StackName");
            let Some(i) = st.change_set(&n, &stack) else {
                return error(
                    404,
                    "ChangeSetNotFound",
                    &format!("ChangeSet [{n}] does not exist"),
                );
            };
            let empty_tokens = st.empty_next_tokens;
            let cs = &mut st.change_sets[i];
            let status = if cs.pending_polls > 0 {
                cs.pending_polls -= 1;
                "CREATE_PENDING".to_owned()
            } else {
                cs.status.clone()
            };
            let mut x = format!(
                "<ChangeSetName>{}</ChangeSetName><ChangeSetId>{}</ChangeSetId><StackId>{}</StackId><Status>{status}</Status><ExecutionStatus>{}</ExecutionStatus><Changes>",
                esc(&cs.name),
                esc(&cs.id),
                esc(&cs.stack_id),
                if status == "CREATE_COMPLETE" {
                    "AVAILABLE"
                } else {
                    "UNAVAILABLE"
                }
            );
            if status == "CREATE_COMPLETE" {
                for c in &cs.changes {
                    x.push_str(&format!(
                        "<member><Type>Resource</Type><ResourceChange><Action>{}</Action><LogicalResourceId>{}</LogicalResourceId><ResourceType>{}</ResourceType>{}<Scope>{}</Scope><Details/></ResourceChange></member>",
                        c.action,
                        esc(&c.logical),
                        esc(&c.resource_type),
                        c.replacement.as_ref().map(|r| format!("<Replacement>{r}</Replacement>")).unwrap_or_default(),
                        if c.action == "Modify" { "<member>Properties</member>" } else { "" }
                    ));
                }
            }
            x.push_str("</Changes>");
            if empty_tokens {
                x.push_str("<NextToken></NextToken>");
            }
            if status == "FAILED"
                && let Some(r) = &cs.reason
            {
                x.push_str(&format!("<StatusReason>{}</StatusReason>", esc(r)));
            }
            ok("DescribeChangeSet", CFN_NS, &x)
        }
        "DeleteChangeSet" => {
            let n = get("ChangeSetName");
            let stack = get("StackName");
            let Some(i) = st.change_set(&n, &stack) else {
                return error(
                    404,
                    "ChangeSetNotFound",
                    &format!("ChangeSet [{n}] does not exist"),
                );
            };
            st.change_sets.remove(i);
            ok("DeleteChangeSet", CFN_NS, "")
        }
        "ExecuteChangeSet" => {
            let n = get("ChangeSetName");
            let stack = get("StackName");
            let token = p.get("ClientRequestToken").cloned();
            let Some(i) = st.change_set(&n, &stack) else {
                return error(
                    404,
                    "ChangeSetNotFound",
                    &format!("ChangeSet [{n}] does not exist"),
                );
            };
            if st.change_sets[i].executed {
                // Idempotent with the same token, like CloudFormation; without it, a change set
                // runs once. AWS words this case by the execution status ("cannot be executed
                // in its current execution status of [OBSOLETE]", aws/amazon-chime-sdk-js#1089),
                // the not-yet-computed case by the status (saksdirect/nova#10).
                if token.is_some() && token == st.change_sets[i].exec_token {
                    return ok("ExecuteChangeSet", CFN_NS, "");
                }
                let sid = st.change_sets[i].stack_id.clone();
                let running = st
                    .stacks
                    .iter()
                    .any(|s| s.id == sid && !s.deleted && s.status.ends_with("_IN_PROGRESS"));
                let status = if running {
                    "EXECUTE_IN_PROGRESS"
                } else {
                    "EXECUTE_COMPLETE"
                };
                return error(
                    400,
                    "InvalidChangeSetStatus",
                    &format!(
                        "ChangeSet [{n}] cannot be executed in its current execution status of [{status}]"
                    ),
                );
            }
            {
                // A FAILED change set, or one still being computed, cannot be executed.
                let c = &st.change_sets[i];
                let status = if c.pending_polls > 0 {
                    "CREATE_PENDING"
                } else {
                    c.status.as_str()
                };
                if status != "CREATE_COMPLETE" {
                    return error(
                        400,
                        "InvalidChangeSetStatus",
                        &format!(
                            "ChangeSet [{n}] cannot be executed in its current status of [{status}]"
                        ),
                    );
                }
            }
            let sid = st.change_sets[i].stack_id.clone();
            if let Some(busy) = st
                .stacks
                .iter()
                .find(|s| s.id == sid && !s.deleted)
                .map(|s| s.status.clone())
                .filter(|s| s.ends_with("_IN_PROGRESS") && s != "REVIEW_IN_PROGRESS")
            {
                // CloudFormation refuses to start an operation on a busy stack, with the
                // InvalidChangeSetStatus code (API_ExecuteChangeSet: "the stack status might
                // be UPDATE_IN_PROGRESS") and the wording of every busy-stack refusal
                // ("Stack:<stack id> is in UPDATE_IN_PROGRESS state and can not be updated.").
                return error(
                    400,
                    "InvalidChangeSetStatus",
                    &format!("Stack:{sid} is in {busy} state and can not be updated."),
                );
            }
            st.change_sets[i].executed = true;
            st.change_sets[i].exec_token = token.clone();
            let (stack_id, kind, template, params, tags, changes, imports) = {
                let c = &st.change_sets[i];
                (
                    c.stack_id.clone(),
                    c.kind.clone(),
                    c.template.clone(),
                    c.params.clone(),
                    c.tags.clone(),
                    c.changes.clone(),
                    c.imports.clone(),
                )
            };
            st.start_operation(
                &stack_id,
                &kind,
                template,
                params,
                tags,
                &changes,
                token.as_deref(),
            );
            if kind == "IMPORT" {
                st.begin_import(&stack_id, imports);
            }
            // Executing a change set removes the stack's other change sets.
            st.change_sets
                .retain(|c| c.stack_id != stack_id || c.executed);
            ok("ExecuteChangeSet", CFN_NS, "")
        }
        "DeleteStack" => {
            let name = get("StackName");
            let token = p.get("ClientRequestToken").cloned();
            let Some(s) = st.stack_mut(&name) else {
                // Deleting a stack that does not exist succeeds.
                return Some((
                    200,
                    format!(
                        "<DeleteStackResponse xmlns=\"{CFN_NS}\"><ResponseMetadata><RequestId>sim-request</RequestId></ResponseMetadata></DeleteStackResponse>"
                    ),
                ));
            };
            if s.protection {
                return error(
                    400,
                    "ValidationError",
                    &format!(
                        "Stack [{name}] cannot be deleted while TerminationProtection is enabled"
                    ),
                );
            }
            let stack_name = s.name.clone();
            let stack_id = s.id.clone();
            let before = s.status.clone();
            let changes: Vec<Change> = resources_of(s.template.as_deref())
                .iter()
                .map(|(id, r)| Change {
                    action: "Remove",
                    logical: id.clone(),
                    resource_type: r
                        .get("Type")
                        .and_then(Json::as_str)
                        .unwrap_or("?")
                        .to_owned(),
                    replacement: None,
                })
                .collect();
            let review = before == "REVIEW_IN_PROGRESS";
            // An export another stack imports keeps the stack: nothing is deleted, and the
            // stack is back in its status with the reason.
            let script = match st.export_conflict(&stack_id, None) {
                Some(why) => vec![vec![stack_event(&before).reason(&why)]],
                None => st
                    .next_script(&stack_name)
                    .unwrap_or_else(|| default_script("DELETE", &changes)),
            };
            let batches = st.make_batches(&stack_name, &script, token.as_deref());
            if let Some(s) = st.stack_mut(&name) {
                if review {
                    s.deleted = true;
                    s.status = "DELETE_COMPLETE".into();
                } else {
                    s.pending = batches.into();
                }
            }
            Some((
                200,
                format!(
                    "<DeleteStackResponse xmlns=\"{CFN_NS}\"><ResponseMetadata><RequestId>sim-request</RequestId></ResponseMetadata></DeleteStackResponse>"
                ),
            ))
        }
        "UpdateTerminationProtection" => {
            let name = get("StackName");
            let on = get("EnableTerminationProtection") == "true";
            match st.stack_mut(&name) {
                Some(s) => {
                    s.protection = on;
                    let id = s.id.clone();
                    ok(
                        "UpdateTerminationProtection",
                        CFN_NS,
                        &format!("<StackId>{}</StackId>", esc(&id)),
                    )
                }
                None => missing(&name),
            }
        }
        other => error(
            400,
            "InvalidAction",
            &format!("the simulator does not do {other}"),
        ),
    }
}
