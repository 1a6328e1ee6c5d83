//! DifyStorage: the S3 bucket for Dify's files and plugin packages, and the bucket the load
//! balancer writes its access logs to.

use cfn_core::refs::KmsKeyArn;
use cfn_core::{Handle, RemovalPolicy, Scope, Value, fns, pseudo};
use cfn_resources::s3::{self, BucketHandle, bucket};
use serde_json::{Value as JsonValue, json};

/// The file bucket (shared by api, worker and the plugin daemon: each tenant's private key that
/// decrypts provider credentials lives there) and, when enabled, the access-log bucket.
#[derive(Debug, Clone)]
pub struct DifyStorage {
    /// Dify's files and plugin packages.
    pub bucket: BucketHandle,
    /// Load balancer access logs.
    pub access_logs: Option<BucketHandle>,
    /// The customer key the file bucket is encrypted with (SSE-KMS), after
    /// [`Self::encrypt_with`]; task roles get to use it with their bucket access.
    pub kms_key: Option<Value<KmsKeyArn>>,
}

/// Inputs of [`DifyStorage`].
#[derive(Debug, Clone, PartialEq)]
pub struct DifyStorageProps {
    /// Create the access-log bucket, for the load balancer's and the file bucket's access
    /// logs. Default `true`.
    pub access_logs: bool,
    /// The region the stack deploys to, when known at synthesis: in regions opened before
    /// August 2022, ALB log delivery writes as a regional Elastic Load Balancing account
    /// ([`elb_log_principal`]). Default `None`: the log-delivery service principal, which
    /// newer regions use.
    pub region: Option<String>,
    /// A customer key to encrypt the file bucket with (SSE-KMS, see
    /// [`DifyStorage::encrypt_with`]). Default `None`: SSE-S3.
    pub kms_key: Option<Value<KmsKeyArn>>,
}

impl Default for DifyStorageProps {
    fn default() -> Self {
        DifyStorageProps {
            access_logs: true,
            region: None,
            kms_key: None,
        }
    }
}

impl DifyStorage {
    /// Creates the buckets. Both are retained when the stack is deleted or they are replaced:
    /// losing them loses every tenant's uploaded files and keys.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: DifyStorageProps) -> DifyStorage {
        let mut s = scope.child(id);
        let access_logs = props.access_logs.then(|| {
            access_log_bucket(&mut s, props.region.as_deref().and_then(elb_log_principal))
        });
        let files = files_bucket(&mut s, access_logs.as_ref());
        let mut storage = DifyStorage {
            bucket: files,
            access_logs,
            kms_key: None,
        };
        if let Some(key) = &props.kms_key {
            storage.encrypt_with(&mut s, key);
        }
        storage
    }

    /// Encrypts the file bucket with a customer key (SSE-KMS with a bucket key): a grant or a
    /// key policy then decides who reads Dify's files, not S3 permissions alone. The
    /// access-log bucket stays on SSE-S3, the only encryption ALB log delivery supports.
    pub fn encrypt_with(&mut self, scope: &mut Scope<'_>, key: &Value<KmsKeyArn>) {
        if let Some(props) = scope
            .stack()
            .resource(&self.bucket)
            .props_mut::<s3::Bucket>()
        {
            props.bucket_encryption = Some(
                bucket::BucketEncryption::builder()
                    .server_side_encryption_configuration(vec![
                        bucket::ServerSideEncryptionRule::new()
                            .bucket_key_enabled(true)
                            .server_side_encryption_by_default(
                                bucket::ServerSideEncryptionByDefault::builder()
                                    .sse_algorithm("aws:kms")
                                    .build()
                                    .kms_master_key_id(key.clone()),
                            ),
                    ])
                    .build()
                    .into(),
            );
        }
        self.kms_key = Some(key.clone());
    }

    /// The statement that lets a task role use the bucket's key, if it has one.
    pub fn key_statement(&self) -> Option<JsonValue> {
        self.kms_key.as_ref().map(|k| {
            json!({
                "Sid": "DifyFilesKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": k,
                "Condition": {"StringEquals": {"kms:ViaService": fns::sub("s3.${AWS::Region}.amazonaws.com")}}
            })
        })
    }

    /// The IAM statement a task role needs to read and write the file bucket, and nothing else.
    pub fn read_write_statement(&self) -> JsonValue {
        json!({
            "Sid": "DifyFiles",
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:ListBucket",
                "s3:GetBucketLocation"
            ],
            "Resource": [self.bucket.arn(), objects(&self.bucket)]
        })
    }
}

/// Where the plugin daemon keeps its data in the shared bucket (`PLUGIN_STORAGE_OSS_BUCKET`):
/// the key prefixes of dify-plugin-daemon's storage layer at 0.5.5: `plugin/`
/// (`PLUGIN_INSTALLED_PATH`), `plugin_packages/`, `assets/` and `persistence/<tenant>/…`
/// (docs/research-dify-daemon.md quotes the code).
pub const PLUGIN_DAEMON_PREFIXES: [&str; 4] =
    ["plugin_packages/", "assets/", "persistence/", "plugin/"];

impl DifyStorage {
    /// The IAM statements the plugin daemon needs: its own prefixes only. Its environment is
    /// inherited by every plugin it runs, so it must not reach Dify's files, above all each
    /// tenant's `privkeys/<tenant>/private.pem`, which decrypts provider credentials.
    pub fn plugin_daemon_statement(&self) -> JsonValue {
        let prefixed: Vec<Value<String>> = PLUGIN_DAEMON_PREFIXES
            .iter()
            .map(|p| fns::join("", [self.bucket.arn(), format!("/{p}*").into()]))
            .collect();
        json!({
            "Sid": "PluginDaemonPrefixes",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": prefixed
        })
    }

    /// The daemon lists its `plugin/` prefix every 30 s to find installed plugins, and only
    /// its own prefixes may be listed.
    pub fn plugin_daemon_list_statement(&self) -> JsonValue {
        let prefixes: Vec<String> = PLUGIN_DAEMON_PREFIXES
            .iter()
            .map(|p| format!("{p}*"))
            .collect();
        json!({
            "Sid": "PluginDaemonListsItsPrefixes",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": self.bucket.arn(),
            "Condition": {"StringLike": {"s3:prefix": prefixes}}
        })
    }
}

/// The access-log bucket: SSE-S3 (ALB log delivery supports nothing else), 90-day expiry,
/// writable by ALB log delivery as `principal` (default: the log-delivery service) and by S3
/// server access logging.
fn access_log_bucket(s: &mut Scope<'_>, principal: Option<JsonValue>) -> BucketHandle {
    let logs = s.add(
        "AccessLogs",
        hardened_bucket().lifecycle_configuration(
            bucket::LifecycleConfiguration::builder()
                .rules(vec![
                    bucket::Rule::builder()
                        .status("Enabled")
                        .build()
                        .id("expire-access-logs")
                        .expiration_in_days(90)
                        .noncurrent_version_expiration(
                            bucket::NoncurrentVersionExpiration::builder()
                                .noncurrent_days(7)
                                .build(),
                        )
                        .abort_incomplete_multipart_upload(
                            bucket::AbortIncompleteMultipartUpload::builder()
                                .days_after_initiation(7)
                                .build(),
                        ),
                ])
                .build(),
        ),
    );
    let principal = principal
        .unwrap_or_else(|| json!({"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}));
    let under = |prefix: &str| {
        fns::join(
            "",
            [
                logs.arn(),
                format!("/{prefix}/AWSLogs/").into(),
                pseudo::account_id(),
                "/*".into(),
            ],
        )
    };
    let alb = json!({
        "Sid": "LoadBalancerLogDelivery",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:PutObject",
        "Resource": under("alb")
    });
    let s3_logs = json!({
        "Sid": "S3ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": fns::join("", [logs.arn(), "/s3/*".into()]),
        "Condition": {"StringEquals": {"aws:SourceAccount": pseudo::account_id()}}
    });
    tls_only_policy(s, "AccessLogsPolicy", &logs, vec![alb, s3_logs]);
    s.stack()
        .resource(&logs)
        .removal_policy(RemovalPolicy::Retain);
    // Recorded in the bucket's metadata, with checkov's skip of CKV_AWS_18.
    if let Some(node) = s.stack_ref().resource_node(logs.logical_id()) {
        s.stack().scope(node).suppress(
            "ops-s3-access-logs",
            "This is the access-log bucket; logging it to itself would log its own log writes forever.",
        );
    }
    logs
}

/// The file bucket, logging to `access_logs` when there is one.
fn files_bucket(s: &mut Scope<'_>, access_logs: Option<&BucketHandle>) -> BucketHandle {
    let mut files = hardened_bucket().lifecycle_configuration(
        bucket::LifecycleConfiguration::builder()
            .rules(vec![
                // Live objects stay instantly readable (Intelligent-Tiering, never Glacier):
                // Dify reads old uploads and plugin packages at any time.
                bucket::Rule::builder()
                    .status("Enabled")
                    .build()
                    .id("tiering-and-cleanup")
                    .transitions(vec![
                        bucket::Transition::builder()
                            .storage_class("INTELLIGENT_TIERING")
                            .build()
                            .transition_in_days(30),
                    ])
                    .noncurrent_version_expiration(
                        bucket::NoncurrentVersionExpiration::builder()
                            .noncurrent_days(30)
                            .build(),
                    )
                    .abort_incomplete_multipart_upload(
                        bucket::AbortIncompleteMultipartUpload::builder()
                            .days_after_initiation(7)
                            .build(),
                    ),
            ])
            .build(),
    );
    if let Some(logs) = access_logs {
        files = files.logging_configuration(
            bucket::LoggingConfiguration::new()
                .destination_bucket_name(logs.reference())
                .log_file_prefix("s3/files/"),
        );
    }
    let files = s.add("Files", files);
    tls_only_policy(s, "FilesPolicy", &files, Vec::new());
    s.stack()
        .resource(&files)
        .removal_policy(RemovalPolicy::Retain);
    files
}

/// The principal ALB log delivery writes as, for the access-log bucket's policy: the regional
/// Elastic Load Balancing account in regions opened before August 2022, `None` for newer
/// regions (which use the log-delivery service principal, [`DifyStorageProps::region`]'s
/// default).
pub fn elb_log_principal(region: &str) -> Option<JsonValue> {
    let account = match region {
        "us-east-1" => "127311923021",
        "us-east-2" => "033677994240",
        "us-west-1" => "027434742980",
        "us-west-2" => "797873946194",
        "af-south-1" => "098369216593",
        "ap-east-1" => "754344448648",
        "ap-southeast-3" => "589379963580",
        "ap-south-1" => "718504428378",
        "ap-northeast-3" => "383597477331",
        "ap-northeast-2" => "600734575887",
        "ap-southeast-1" => "114774131450",
        "ap-southeast-2" => "783225319266",
        "ap-northeast-1" => "582318560864",
        "ca-central-1" => "985666609251",
        "eu-central-1" => "054676820928",
        "eu-west-1" => "156460612806",
        "eu-west-2" => "652711504416",
        "eu-south-1" => "635631232127",
        "eu-west-3" => "009996457667",
        "eu-north-1" => "897822967062",
        "me-south-1" => "076674570225",
        "sa-east-1" => "507241528517",
        _ => return None,
    };
    Some(json!({ "AWS": format!("arn:aws:iam::{account}:root") }))
}

fn objects(b: &BucketHandle) -> Value<String> {
    fns::join("", [b.arn(), "/*".into()])
}

/// Encryption, versioning, public access blocked, ACLs disabled.
fn hardened_bucket() -> s3::Bucket {
    s3::Bucket::new()
        .bucket_encryption(
            bucket::BucketEncryption::builder()
                .server_side_encryption_configuration(vec![
                    bucket::ServerSideEncryptionRule::new()
                        .bucket_key_enabled(true)
                        .server_side_encryption_by_default(
                            bucket::ServerSideEncryptionByDefault::builder()
                                .sse_algorithm("AES256")
                                .build(),
                        ),
                ])
                .build(),
        )
        .versioning_configuration(
            bucket::VersioningConfiguration::builder()
                .status("Enabled")
                .build(),
        )
        .public_access_block_configuration(
            bucket::PublicAccessBlockConfiguration::new()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true),
        )
        .ownership_controls(
            bucket::OwnershipControls::builder()
                .rules(vec![
                    bucket::OwnershipControlsRule::new().object_ownership("BucketOwnerEnforced"),
                ])
                .build(),
        )
}

/// A bucket policy denying any request not made over TLS, plus `extra` statements.
fn tls_only_policy(scope: &mut Scope<'_>, id: &str, b: &BucketHandle, extra: Vec<JsonValue>) {
    let mut statements = vec![json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [b.arn(), objects(b)],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    })];
    statements.extend(extra);
    scope.add(
        id,
        s3::BucketPolicy::builder()
            .bucket(b.reference())
            .policy_document(json!({"Version": "2012-10-17", "Statement": statements}))
            .build(),
    );
}
