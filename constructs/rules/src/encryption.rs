//! Encryption at rest: databases, caches, buckets, file systems, logs, secrets and keys.

use cfn_core::Json;
use cfn_core::rules::{Finding, ResourceView, Rule, RuleContext};

use crate::util::{
    At, Tri, elb_attribute, flag, in_cluster, is_alb, items, meta, ref_target, str_is,
};

/// `enc-rds-storage`: Aurora and RDS clusters, and DB instances outside a cluster, set
/// `StorageEncrypted: true`.
///
/// A resource restored from a snapshot or created as a replica inherits its source's
/// encryption and is skipped; so is a DB instance in a cluster (the cluster decides). A value
/// only deploy time knows is not a finding.
#[derive(Clone, Copy, Debug, Default)]
pub struct EncRdsStorage;

impl Rule for EncRdsStorage {
    meta!(
        "enc-rds-storage",
        Error,
        "database storage, snapshots and backups are unencrypted unless StorageEncrypted is set",
        "set StorageEncrypted: true (with KmsKeyId for a customer key); an existing database must be restored from an encrypted snapshot copy",
        ["CKV_AWS_16", "CKV_AWS_96"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::RDS::DBCluster") {
            if ["SnapshotIdentifier", "SourceDBClusterIdentifier"]
                .iter()
                .any(|p| r.get(p).is_some())
            {
                continue;
            }
            if flag(ctx, r.get("StorageEncrypted"), false) == Tri::No {
                out.push(r.finding(
                    self,
                    Some("StorageEncrypted"),
                    "the cluster's storage is not encrypted",
                ));
            }
        }
        for r in ctx.resources_of_type("AWS::RDS::DBInstance") {
            if in_cluster(&r)
                || [
                    "DBSnapshotIdentifier",
                    "SourceDBInstanceIdentifier",
                    "SourceDBClusterIdentifier",
                ]
                .iter()
                .any(|p| r.get(p).is_some())
            {
                continue;
            }
            if flag(ctx, r.get("StorageEncrypted"), false) == Tri::No {
                out.push(r.finding(
                    self,
                    Some("StorageEncrypted"),
                    "the instance's storage is not encrypted",
                ));
            }
        }
    }
}

/// `enc-elasticache-at-rest`: replication groups set `AtRestEncryptionEnabled: true`.
#[derive(Clone, Copy, Debug, Default)]
pub struct EncElasticacheAtRest;

impl Rule for EncElasticacheAtRest {
    meta!(
        "enc-elasticache-at-rest",
        Error,
        "cache data on disk (swap, snapshots) is unencrypted unless AtRestEncryptionEnabled is set",
        "set AtRestEncryptionEnabled: true (with KmsKeyId for a customer key); it forces a replacement of an existing group",
        ["CKV_AWS_29"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::ElastiCache::ReplicationGroup") {
            if flag(ctx, r.get("AtRestEncryptionEnabled"), false) == Tri::No {
                out.push(r.finding(
                    self,
                    Some("AtRestEncryptionEnabled"),
                    "the replication group is not encrypted at rest",
                ));
            }
        }
    }
}

/// The `SSEAlgorithm` of each default encryption rule of a bucket, with its position.
fn sse_algorithms<'a>(r: &ResourceView<'a>) -> impl Iterator<Item = (At, &'a Json)> {
    items(r.get("BucketEncryption.ServerSideEncryptionConfiguration")).filter_map(|(at, rule)| {
        rule.get("ServerSideEncryptionByDefault")
            .and_then(|d| d.get("SSEAlgorithm"))
            .map(|a| (at, a))
    })
}

/// `enc-s3-bucket`: buckets declare default encryption (`BucketEncryption` with an
/// `SSEAlgorithm`).
///
/// S3 encrypts new objects with SSE-S3 anyway since 2023; the rule asks that the template say
/// which encryption a bucket uses, so a reviewer (and checkov) need not know the default.
#[derive(Clone, Copy, Debug, Default)]
pub struct EncS3Bucket;

impl Rule for EncS3Bucket {
    meta!(
        "enc-s3-bucket",
        Error,
        "a bucket should state its default encryption",
        "set BucketEncryption.ServerSideEncryptionConfiguration with SSEAlgorithm AES256 or aws:kms",
        ["CKV_AWS_19"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::S3::Bucket") {
            if sse_algorithms(&r).next().is_none() {
                out.push(r.finding(
                    self,
                    Some("BucketEncryption"),
                    "the bucket declares no default encryption",
                ));
            }
        }
    }
}

/// Whether a bucket receives an application load balancer's access logs (the load balancer's
/// `access_logs.s3.bucket` refers to it or names it).
fn alb_log_bucket(ctx: &RuleContext<'_>, bucket: &ResourceView<'_>) -> bool {
    let name = bucket.get("BucketName").and_then(|n| ctx.resolve_str(n));
    ctx.resources_of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")
        .filter(|lb| is_alb(ctx, lb))
        .filter_map(|lb| elb_attribute(&lb, "LoadBalancerAttributes", "access_logs.s3.bucket"))
        .any(|v| {
            ref_target(v) == Some(bucket.logical_id) || name.is_some() && ctx.resolve_str(v) == name
        })
}

/// `enc-s3-kms` (production): buckets encrypt with SSE-KMS by default (`SSEAlgorithm`
/// `aws:kms` or `aws:kms:dsse`), except a bucket an application load balancer writes its
/// access logs to: ALB log delivery supports SSE-S3 only.
///
/// `enc-s3-bucket` asks every bucket, in every profile, to state an encryption; this rule, for
/// production, asks for a KMS key, whose policy is a second access control over the data and
/// whose use CloudTrail records. An algorithm only deploy time knows is not a finding.
#[derive(Clone, Copy, Debug, Default)]
pub struct EncS3Kms;

impl Rule for EncS3Kms {
    meta!(
        "enc-s3-kms",
        Error,
        "production data should be encrypted with a KMS key, whose policy controls and logs who may decrypt it",
        "set BucketEncryption.ServerSideEncryptionConfiguration SSEAlgorithm aws:kms with KMSMasterKeyID (a customer key) and BucketKeyEnabled: true",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for b in ctx.resources_of_type("AWS::S3::Bucket") {
            if alb_log_bucket(ctx, &b) {
                continue;
            }
            let algorithms: Vec<(At, Option<String>)> = sse_algorithms(&b)
                .map(|(at, a)| (at, ctx.resolve_str(a)))
                .collect();
            let kms_or_unknown = |a: &Option<String>| {
                a.as_deref().is_none_or(|a| {
                    ["aws:kms", "aws:kms:dsse"].contains(&a.to_ascii_lowercase().as_str())
                })
            };
            match algorithms.first() {
                None => out.push(b.finding(
                    self,
                    Some("BucketEncryption"),
                    "the bucket declares no default encryption: S3 uses SSE-S3, not a KMS key",
                )),
                Some(_) if algorithms.iter().any(|(_, a)| kms_or_unknown(a)) => {}
                Some((at, a)) => {
                    let prop = format!(
                        "BucketEncryption.ServerSideEncryptionConfiguration{at}.ServerSideEncryptionByDefault.SSEAlgorithm"
                    );
                    let message = format!(
                        "the bucket encrypts with {}, not a KMS key",
                        a.as_deref().unwrap_or("?")
                    );
                    out.push(b.finding(self, Some(&prop), message));
                }
            }
        }
    }
}

/// `enc-efs`: EFS file systems set `Encrypted: true`.
#[derive(Clone, Copy, Debug, Default)]
pub struct EncEfs;

impl Rule for EncEfs {
    meta!(
        "enc-efs",
        Error,
        "EFS file systems are unencrypted unless Encrypted is set",
        "set Encrypted: true (with KmsKeyId for a customer key); it forces a new file system",
        ["CKV_AWS_42"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::EFS::FileSystem") {
            if flag(ctx, r.get("Encrypted"), false) == Tri::No {
                out.push(r.finding(self, Some("Encrypted"), "the file system is not encrypted"));
            }
        }
    }
}

/// `enc-log-group-kms` (production): log groups are encrypted with a customer KMS key
/// (`KmsKeyId`).
///
/// CloudWatch Logs always encrypts; a customer key adds an access control of its own (who may
/// decrypt) and an audit trail, which production logs (request bodies, user data) warrant.
#[derive(Clone, Copy, Debug, Default)]
pub struct EncLogGroupKms;

impl Rule for EncLogGroupKms {
    meta!(
        "enc-log-group-kms",
        Error,
        "production logs should be encrypted with a customer KMS key",
        "set KmsKeyId to a customer key whose policy lets logs.<region>.amazonaws.com use it",
        ["CKV_AWS_158"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::Logs::LogGroup") {
            if r.get("KmsKeyId").is_none() {
                out.push(r.finding(
                    self,
                    Some("KmsKeyId"),
                    "the log group uses the service key, not a customer key",
                ));
            }
        }
    }
}

/// `enc-secret-kms` (production): Secrets Manager secrets are encrypted with a customer KMS
/// key (`KmsKeyId`, not `alias/aws/secretsmanager`).
#[derive(Clone, Copy, Debug, Default)]
pub struct EncSecretKms;

impl Rule for EncSecretKms {
    meta!(
        "enc-secret-kms",
        Error,
        "production secrets should be encrypted with a customer KMS key",
        "set KmsKeyId to a customer key, and allow kms:Decrypt via secretsmanager to the roles that read the secret",
        ["CKV_AWS_149"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::SecretsManager::Secret") {
            match r.get("KmsKeyId") {
                None => out.push(r.finding(
                    self,
                    Some("KmsKeyId"),
                    "the secret uses the AWS managed key",
                )),
                Some(k) if str_is(ctx, Some(k), "alias/aws/secretsmanager") => out.push(r.finding(
                    self,
                    Some("KmsKeyId"),
                    "the secret names the AWS managed key",
                )),
                Some(_) => {}
            }
        }
    }
}

/// `enc-kms-rotation`: symmetric customer KMS keys rotate (`EnableKeyRotation: true`).
///
/// Asymmetric and HMAC keys cannot rotate and are skipped.
#[derive(Clone, Copy, Debug, Default)]
pub struct EncKmsRotation;

impl Rule for EncKmsRotation {
    meta!(
        "enc-kms-rotation",
        Error,
        "a symmetric key that never rotates keeps every ciphertext under one key material forever",
        "set EnableKeyRotation: true",
        ["CKV_AWS_7"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::KMS::Key") {
            let symmetric = r
                .get("KeySpec")
                .is_none_or(|s: &Json| str_is(ctx, Some(s), "SYMMETRIC_DEFAULT"));
            if symmetric && flag(ctx, r.get("EnableKeyRotation"), false) == Tri::No {
                out.push(r.finding(self, Some("EnableKeyRotation"), "the key does not rotate"));
            }
        }
    }
}
