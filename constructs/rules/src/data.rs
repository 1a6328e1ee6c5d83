//! Data protection: deletion protection, removal policies on stateful resources, backups,
//! versioning.

use cfn_core::rules::{Finding, Rule, RuleContext};

use crate::util::{Tri, flag, in_cluster, meta, number, str_is};

/// `data-deletion-protection` (production): Aurora/RDS clusters and DB instances outside a
/// cluster set `DeletionProtection: true`.
///
/// A value only deploy time knows is not a finding.
#[derive(Clone, Copy, Debug, Default)]
pub struct DataDeletionProtection;

impl Rule for DataDeletionProtection {
    meta!(
        "data-deletion-protection",
        Error,
        "without deletion protection one API call or stack deletion drops the production database",
        "set DeletionProtection: true (turn it off deliberately, in a reviewed change, before a planned deletion)",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::RDS::DBCluster").chain(
            ctx.resources_of_type("AWS::RDS::DBInstance")
                .filter(|r| !in_cluster(r)),
        ) {
            if flag(ctx, r.get("DeletionProtection"), false) == Tri::No {
                out.push(r.finding(
                    self,
                    Some("DeletionProtection"),
                    "deletion protection is off",
                ));
            }
        }
    }
}

/// Stateful types, and whether CloudFormation can snapshot them on removal.
const STATEFUL: [(&str, bool); 7] = [
    ("AWS::RDS::DBCluster", true),
    ("AWS::RDS::DBInstance", true),
    ("AWS::ElastiCache::ReplicationGroup", true),
    ("AWS::S3::Bucket", false),
    ("AWS::EFS::FileSystem", false),
    ("AWS::KMS::Key", false),
    ("AWS::DynamoDB::Table", false),
];

/// `data-removal-policy` (production): stateful resources — Aurora/RDS clusters, DB instances
/// outside a cluster, ElastiCache replication groups, S3 buckets, EFS file systems, KMS keys,
/// DynamoDB tables — set both `DeletionPolicy` and `UpdateReplacePolicy` to `Snapshot` (where
/// the type supports it) or `Retain`/`RetainExceptOnCreate`.
///
/// Both must be explicit: CloudFormation's defaults differ by type and attribute (a DB cluster
/// snapshots on deletion by default but is deleted outright on replacement).
#[derive(Clone, Copy, Debug, Default)]
pub struct DataRemovalPolicy;

impl Rule for DataRemovalPolicy {
    meta!(
        "data-removal-policy",
        Error,
        "a stack deletion or a replacing update deletes a stateful resource's data unless its removal policies keep it",
        "set DeletionPolicy and UpdateReplacePolicy to Snapshot (databases, caches) or Retain (buckets, file systems, keys, tables)",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for (ty, snapshots) in &STATEFUL {
            for r in ctx.resources_of_type(ty) {
                if r.type_name == "AWS::RDS::DBInstance" && in_cluster(&r) {
                    continue;
                }
                for attr in ["DeletionPolicy", "UpdateReplacePolicy"] {
                    let v = r.attribute(attr).and_then(|v| v.as_str());
                    let ok = match v {
                        Some("Retain" | "RetainExceptOnCreate") => true,
                        Some("Snapshot") => *snapshots,
                        _ => false,
                    };
                    if !ok {
                        let expected = if *snapshots {
                            "Snapshot or Retain"
                        } else {
                            "Retain"
                        };
                        let message = match v {
                            Some(v) => format!("{attr} is {v}, not {expected}"),
                            None => format!(
                                "{attr} is not set (the type's default applies), not {expected}"
                            ),
                        };
                        out.push(r.finding(self, Some(attr), message));
                    }
                }
            }
        }
    }
}

/// The minimum automated backup retention in production, in days.
pub const MIN_BACKUP_DAYS: f64 = 7.0;

/// `data-db-backup-retention` (production): Aurora/RDS clusters and DB instances outside a
/// cluster keep automated backups at least 7 days (`BackupRetentionPeriod`, default 1).
#[derive(Clone, Copy, Debug, Default)]
pub struct DataDbBackupRetention;

impl Rule for DataDbBackupRetention {
    meta!(
        "data-db-backup-retention",
        Error,
        "a day of backups cannot undo a mistake found after the weekend",
        "set BackupRetentionPeriod to 7 or more (14 to 35 for production)",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::RDS::DBCluster").chain(
            ctx.resources_of_type("AWS::RDS::DBInstance")
                .filter(|r| !in_cluster(r)),
        ) {
            let days = match r.get("BackupRetentionPeriod") {
                None => Some(1.0),
                Some(v) => number(ctx, v),
            };
            if let Some(d) = days.filter(|d| *d < MIN_BACKUP_DAYS) {
                out.push(r.finding(
                    self,
                    Some("BackupRetentionPeriod"),
                    format!("backups are kept {d} day(s), fewer than {MIN_BACKUP_DAYS}"),
                ));
            }
        }
    }
}

/// `data-cache-snapshots` (production): ElastiCache replication groups keep automatic
/// snapshots (`SnapshotRetentionLimit` above 0; the default 0 keeps none).
#[derive(Clone, Copy, Debug, Default)]
pub struct DataCacheSnapshots;

impl Rule for DataCacheSnapshots {
    meta!(
        "data-cache-snapshots",
        Error,
        "without snapshots a cache that holds state (queues, sessions) cannot be restored",
        "set SnapshotRetentionLimit to 1 or more (and SnapshotWindow outside peak hours)",
        []
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for r in ctx.resources_of_type("AWS::ElastiCache::ReplicationGroup") {
            let n = match r.get("SnapshotRetentionLimit") {
                None => Some(0.0),
                Some(v) => number(ctx, v),
            };
            if n.is_some_and(|n| n <= 0.0) {
                out.push(r.finding(
                    self,
                    Some("SnapshotRetentionLimit"),
                    "no automatic snapshots are kept",
                ));
            }
        }
    }
}

/// `data-s3-versioning`: buckets keep object versions (`VersioningConfiguration.Status:
/// Enabled`).
#[derive(Clone, Copy, Debug, Default)]
pub struct DataS3Versioning;

impl Rule for DataS3Versioning {
    meta!(
        "data-s3-versioning",
        Error,
        "without versioning an overwrite or delete (a bug, ransomware) loses the object for good",
        "set VersioningConfiguration.Status: Enabled, with a lifecycle rule expiring noncurrent versions",
        ["CKV_AWS_21"]
    );
    fn check(&self, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
        for b in ctx.resources_of_type("AWS::S3::Bucket") {
            let status = b.get("VersioningConfiguration.Status");
            let known = status.and_then(|s| ctx.resolve_str(s)).is_some() || status.is_none();
            if known && !str_is(ctx, status, "Enabled") {
                out.push(b.finding(
                    self,
                    Some("VersioningConfiguration.Status"),
                    "versioning is not enabled",
                ));
            }
        }
    }
}
