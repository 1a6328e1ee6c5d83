//! A tiny in-process S3 on the simulator's port: the calls the deploy engine's staging makes
//! (`HeadBucket`, `CreateBucket`, the four `PutBucket*` configuration calls, `PutObject`) and
//! the reads a test makes (`GetObject`, `HeadObject`), in S3's REST protocol, path-style
//! (`/bucket/key`) — what the SDK's S3 client sends to a custom endpoint with
//! `force_path_style`, as the engine sets it. Virtual-hosted requests are not served.
//!
//! `TemplateURL`s handed to CloudFormation resolve against these buckets
//! ([`super::State::template_of`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{ACCOUNT, Fault, HttpRequest, Reply, State, percent_decode};

/// A bucket: its configuration calls and its objects.
#[derive(Debug, Default)]
pub(super) struct Bucket {
    /// The configurations set on it (`encryption`, `publicAccessBlock`, `policy`,
    /// `lifecycle`), with their bodies.
    pub config: BTreeMap<String, String>,
    /// Objects by key.
    pub objects: HashMap<String, Vec<u8>>,
}

/// The configuration subresources a `PUT /bucket?<sub>` sets.
const CONFIGS: &[(&str, &str)] = &[
    ("encryption", "PutBucketEncryption"),
    ("publicAccessBlock", "PutPublicAccessBlock"),
    ("policy", "PutBucketPolicy"),
    ("lifecycle", "PutBucketLifecycleConfiguration"),
];

/// What an S3 request asks for: the operation (as the API reference names it), the bucket,
/// the key, and the configuration subresource.
pub(super) struct S3Op {
    pub action: &'static str,
    pub bucket: String,
    pub key: Option<String>,
    pub sub: Option<&'static str>,
}

/// Reads the operation from the method, the path and the query.
pub(super) fn operation(req: &HttpRequest) -> S3Op {
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    let path = path.trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) if !k.is_empty() => (percent_decode(b), Some(percent_decode(k))),
        Some((b, _)) => (percent_decode(b), None),
        None => (percent_decode(path), None),
    };
    let subs: BTreeSet<&str> = query
        .split('&')
        .map(|kv| kv.split_once('=').map(|(k, _)| k).unwrap_or(kv))
        .collect();
    let sub = CONFIGS
        .iter()
        .find(|(s, _)| subs.contains(s))
        .map(|(s, _)| *s);
    let action = match (req.method.as_str(), key.is_some(), sub) {
        ("HEAD", false, _) => "HeadBucket",
        ("PUT", false, None) => "CreateBucket",
        ("PUT", false, Some(s)) => CONFIGS
            .iter()
            .find(|(c, _)| *c == s)
            .map(|(_, a)| *a)
            .unwrap_or("PutBucketConfiguration"),
        ("PUT", true, _) => "PutObject",
        ("GET", true, _) => "GetObject",
        ("HEAD", true, _) => "HeadObject",
        _ => "UnsupportedS3Operation",
    };
    S3Op {
        action,
        bucket,
        key,
        sub,
    }
}

/// An S3 error document.
fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::new(
        status,
        "application/xml",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{}</Message><RequestId>sim-request</RequestId></Error>",
            super::esc(message)
        )
        .into_bytes(),
    )
}

/// The reply for a fault.
pub(super) fn fault_reply(f: Fault) -> Option<Reply> {
    match f {
        Fault::Throttle => Some(error(503, "SlowDown", "Please reduce your request rate.")),
        Fault::Internal => Some(error(
            500,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )),
        Fault::Drop | Fault::LostResponse => None,
    }
}

fn no_such_bucket(bucket: &str) -> Reply {
    error(
        404,
        "NoSuchBucket",
        &format!("The specified bucket does not exist: {bucket}"),
    )
}

/// Answers one S3 request.
pub(super) fn answer(st: &mut State, req: &HttpRequest, op: &S3Op) -> Reply {
    // Uploads and heads name the expected owner; another account's bucket is refused.
    if let Some(owner) = req.headers.get("x-amz-expected-bucket-owner")
        && owner != ACCOUNT
    {
        return error(403, "AccessDenied", "Access Denied");
    }
    let head = req.method == "HEAD";
    let reply = match op.action {
        "HeadBucket" => match st.buckets.contains_key(&op.bucket) {
            true => Reply::new(200, "application/xml", Vec::new()),
            // HEAD answers carry no body: the SDK sees the 404 alone ("NotFound").
            false => Reply::new(404, "application/xml", Vec::new()),
        },
        "CreateBucket" => {
            if st.buckets.contains_key(&op.bucket) {
                error(
                    409,
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you already own it.",
                )
            } else {
                st.buckets.insert(op.bucket.clone(), Bucket::default());
                let mut r = Reply::new(200, "application/xml", Vec::new());
                r.headers
                    .push(("Location".into(), format!("/{}", op.bucket)));
                r
            }
        }
        "PutObject" => match st.buckets.get_mut(&op.bucket) {
            Some(b) => {
                let body = if req
                    .headers
                    .get("content-encoding")
                    .is_some_and(|e| e.contains("aws-chunked"))
                {
                    decode_aws_chunked(&req.body)
                } else {
                    req.body.clone()
                };
                let key = op.key.clone().unwrap_or_default();
                b.objects.insert(key, body);
                let mut r = Reply::new(200, "application/xml", Vec::new());
                r.headers.push(("ETag".into(), "\"sim-etag\"".into()));
                r
            }
            None => no_such_bucket(&op.bucket),
        },
        "GetObject" | "HeadObject" => match st.buckets.get(&op.bucket) {
            Some(b) => match op.key.as_ref().and_then(|k| b.objects.get(k)) {
                Some(o) => Reply::new(200, "application/octet-stream", o.clone()),
                None if head => Reply::new(404, "application/xml", Vec::new()),
                None => error(404, "NoSuchKey", "The specified key does not exist."),
            },
            None if head => Reply::new(404, "application/xml", Vec::new()),
            None => no_such_bucket(&op.bucket),
        },
        a if a.starts_with("PutBucket") || a == "PutPublicAccessBlock" => {
            match st.buckets.get_mut(&op.bucket) {
                Some(b) => {
                    let sub = op.sub.unwrap_or("?").to_owned();
                    b.config
                        .insert(sub, String::from_utf8_lossy(&req.body).into_owned());
                    Reply::new(200, "application/xml", Vec::new())
                }
                None => no_such_bucket(&op.bucket),
            }
        }
        other => error(
            501,
            "NotImplemented",
            &format!("the simulator's S3 does not do {other}"),
        ),
    };
    Reply { head, ..reply }
}

/// Decodes an `aws-chunked` body: `<hex size>[;chunk-signature=…]\r\n<data>\r\n`… up to the
/// zero-size chunk (trailers after it are ignored).
fn decode_aws_chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let line = String::from_utf8_lossy(&rest[..eol]);
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_hex, 16) else {
            return out;
        };
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        let end = (start + size).min(rest.len());
        out.extend_from_slice(&rest[start..end]);
        rest = rest.get(end + 2..).unwrap_or(&[]);
    }
}
