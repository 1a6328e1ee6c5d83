//! The mapping of the seed's Terraform module (Dify on ECS Fargate, Aurora PostgreSQL,
//! ElastiCache, S3; `docs/adopt.md`) onto our stack, for `cfn_adopt::plan`.
//!
//! Stateful resources (the Aurora cluster and instances, the cache, the bucket, the log
//! groups, the KMS key that encrypts the database) are imported, with the subnet groups they
//! name (a create-only property). The rest is created new and runs side by side until the
//! cut-over: our security groups, roles, services and load balancer differ by design.

use cfn_adopt::{Mapping, Outcome, Target};
use serde_json::json;

/// Aurora instances mapped: `aws_rds_cluster_instance.dify[0]` is the writer, `[n]` reader n.
const MAX_INSTANCES: usize = 16;

/// The mappings for the seed's module, in match order. A project appends its own (or puts
/// them first to override one).
pub fn seed_mappings() -> Vec<Mapping> {
    let mut m = vec![kms_key(), cluster()];
    m.extend((0..MAX_INSTANCES).map(instance));
    m.extend([
        db_subnet_group(),
        cache(),
        cache_subnet_group(),
        bucket(),
        log_group(
            "aws_cloudwatch_log_group.dify",
            "App/Api/Logs",
            "services.api.log_group_name",
        ),
        log_group(
            "aws_cloudwatch_log_group.redis_logs",
            "Cache/SlowLog",
            "cache.slow_log_group_name",
        ),
    ]);
    m.extend(not_imported());
    m
}

fn path(ty: &str, p: &str) -> Target {
    Target::path(ty, p)
}

fn kms_key() -> Mapping {
    Mapping::import(
        "aws_kms_key",
        "aws_kms_key.rds*",
        path("AWS::KMS::Key", "DataKey/Key"),
    )
    .identifier("KeyId", "key_id")
    .attribute("Arn", "arn")
    .attribute("KeyId", "key_id")
    .compare("Description", "description", None)
    .compare("EnableKeyRotation", "enable_key_rotation", None)
}

fn cluster() -> Mapping {
    Mapping::import(
        "aws_rds_cluster",
        "aws_rds_cluster.dify",
        path("AWS::RDS::DBCluster", "Database/Cluster"),
    )
    .identifier("DBClusterIdentifier", "cluster_identifier")
    .attribute("Endpoint.Address", "endpoint")
    .attribute("Endpoint.Port", "port")
    .attribute("ReadEndpoint.Address", "reader_endpoint")
    .attribute("DBClusterArn", "arn")
    .compare("EngineMode", "engine_mode", None)
    .compare(
        "EngineVersion",
        "engine_version",
        Some("database.engine_version"),
    )
    .compare("DatabaseName", "database_name", None)
    .compare("MasterUsername", "master_username", None)
    .compare("DBSubnetGroupName", "db_subnet_group_name", None)
    .compare(
        "DBClusterParameterGroupName",
        "db_cluster_parameter_group_name",
        None,
    )
    .compare("VpcSecurityGroupIds", "vpc_security_group_ids", None)
    .compare("KmsKeyId", "kms_key_id", None)
    .compare("StorageEncrypted", "storage_encrypted", None)
    .compare("Port", "port", None)
    .compare(
        "BackupRetentionPeriod",
        "backup_retention_period",
        Some("database.backup_retention_days"),
    )
    .compare(
        "PreferredBackupWindow",
        "preferred_backup_window",
        Some("database.backup_window"),
    )
    .compare_ignoring_case(
        "PreferredMaintenanceWindow",
        "preferred_maintenance_window",
        Some("database.maintenance_window"),
    )
    .compare(
        "DeletionProtection",
        "deletion_protection",
        Some("database.deletion_protection"),
    )
    .compare("CopyTagsToSnapshot", "copy_tags_to_snapshot", None)
    .compare(
        "EnableCloudwatchLogsExports",
        "enabled_cloudwatch_logs_exports",
        None,
    )
    .compare(
        "EnableIAMDatabaseAuthentication",
        "iam_database_authentication_enabled",
        None,
    )
}

fn instance(n: usize) -> Mapping {
    let at = if n == 0 {
        "Database/Writer".to_owned()
    } else {
        format!("Database/Reader{n}")
    };
    Mapping::import(
        "aws_rds_cluster_instance",
        &format!("aws_rds_cluster_instance.dify[{n}]"),
        path("AWS::RDS::DBInstance", &at),
    )
    .identifier("DBInstanceIdentifier", "identifier")
    .attribute("Endpoint.Address", "endpoint")
    .compare("DBClusterIdentifier", "cluster_identifier", None)
    .compare("Engine", "engine", None)
    .compare(
        "DBInstanceClass",
        "instance_class",
        Some("database.provisioned.instance_class"),
    )
    .compare(
        "MonitoringInterval",
        "monitoring_interval",
        Some("database.monitoring_interval_seconds"),
    )
    .compare("MonitoringRoleArn", "monitoring_role_arn", None)
    .compare(
        "EnablePerformanceInsights",
        "performance_insights_enabled",
        Some("database.performance_insights"),
    )
    .compare_fixed_by(
        "PerformanceInsightsKMSKeyId",
        "performance_insights_kms_key_id",
        "database.performance_insights_customer_managed_key",
        json!(false),
    )
    .compare(
        "PerformanceInsightsRetentionPeriod",
        "performance_insights_retention_period",
        None,
    )
    .compare(
        "AutoMinorVersionUpgrade",
        "auto_minor_version_upgrade",
        None,
    )
    .compare("PromotionTier", "promotion_tier", None)
    .compare("PubliclyAccessible", "publicly_accessible", None)
}

fn db_subnet_group() -> Mapping {
    Mapping::import(
        "aws_db_subnet_group",
        "aws_db_subnet_group.dify",
        path("AWS::RDS::DBSubnetGroup", "Database/Subnets"),
    )
    .identifier("DBSubnetGroupName", "name")
    .compare("DBSubnetGroupDescription", "description", None)
    .compare("SubnetIds", "subnet_ids", None)
}

fn cache() -> Mapping {
    let log = "LogDeliveryConfigurations/0";
    Mapping::import(
        "aws_elasticache_replication_group",
        "aws_elasticache_replication_group.dify",
        path(
            "AWS::ElastiCache::ReplicationGroup",
            "Cache/ReplicationGroup",
        ),
    )
    .identifier("ReplicationGroupId", "replication_group_id")
    .attribute("PrimaryEndPoint.Address", "primary_endpoint_address")
    .attribute("PrimaryEndPoint.Port", "port")
    .attribute("ReaderEndPoint.Address", "reader_endpoint_address")
    .compare("Engine", "engine", Some("cache.engine"))
    .compare(
        "EngineVersion",
        "engine_version",
        Some("cache.engine_version"),
    )
    .compare("CacheNodeType", "node_type", Some("cache.node_type"))
    .compare(
        "NumCacheClusters",
        "num_cache_clusters",
        Some("cache.nodes"),
    )
    .compare("Port", "port", None)
    .compare(
        "AtRestEncryptionEnabled",
        "at_rest_encryption_enabled",
        None,
    )
    .compare_fixed_by(
        "KmsKeyId",
        "kms_key_id",
        "cache.customer_managed_key",
        json!(false),
    )
    .compare(
        "TransitEncryptionEnabled",
        "transit_encryption_enabled",
        None,
    )
    .compare("TransitEncryptionMode", "transit_encryption_mode", None)
    .compare("CacheSubnetGroupName", "subnet_group_name", None)
    .compare("CacheParameterGroupName", "parameter_group_name", None)
    .compare("SecurityGroupIds", "security_group_ids", None)
    .compare(
        "AutomaticFailoverEnabled",
        "automatic_failover_enabled",
        None,
    )
    .compare("MultiAZEnabled", "multi_az_enabled", None)
    .compare(
        "SnapshotRetentionLimit",
        "snapshot_retention_limit",
        Some("cache.snapshot_retention_days"),
    )
    .compare(
        "SnapshotWindow",
        "snapshot_window",
        Some("cache.snapshot_window"),
    )
    .compare_ignoring_case(
        "PreferredMaintenanceWindow",
        "maintenance_window",
        Some("cache.maintenance_window"),
    )
    .compare("ReplicationGroupDescription", "description", None)
    .compare(
        "AutoMinorVersionUpgrade",
        "auto_minor_version_upgrade",
        None,
    )
    .compare(
        &format!("{log}/DestinationDetails/CloudWatchLogsDetails/LogGroup"),
        "log_delivery_configuration.0.destination",
        None,
    )
    .compare(
        &format!("{log}/LogFormat"),
        "log_delivery_configuration.0.log_format",
        None,
    )
    .compare(
        &format!("{log}/LogType"),
        "log_delivery_configuration.0.log_type",
        None,
    )
}

fn cache_subnet_group() -> Mapping {
    Mapping::import(
        "aws_elasticache_subnet_group",
        "aws_elasticache_subnet_group.dify",
        path("AWS::ElastiCache::SubnetGroup", "Cache/Subnets"),
    )
    .identifier("CacheSubnetGroupName", "name")
    .compare("Description", "description", None)
    .compare("SubnetIds", "subnet_ids", None)
}

fn bucket() -> Mapping {
    let sse =
        "server_side_encryption_configuration.0.rule.0.apply_server_side_encryption_by_default.0";
    Mapping::import(
        "aws_s3_bucket",
        "aws_s3_bucket.dify_storage",
        path("AWS::S3::Bucket", "Storage/Files"),
    )
    .identifier("BucketName", "bucket")
    .attribute("Arn", "arn")
    .attribute("DomainName", "bucket_domain_name")
    .attribute("RegionalDomainName", "bucket_regional_domain_name")
    .compare("BucketName", "bucket", None)
    .compare(
        "BucketEncryption/ServerSideEncryptionConfiguration/0/ServerSideEncryptionByDefault/SSEAlgorithm",
        &format!("{sse}.sse_algorithm"),
        None,
    )
}

fn log_group(address: &str, at: &str, name_key: &str) -> Mapping {
    Mapping::import(
        "aws_cloudwatch_log_group",
        address,
        path("AWS::Logs::LogGroup", at),
    )
    .identifier("LogGroupName", "name")
    .attribute("Arn", "arn")
    .compare("LogGroupName", "name", Some(name_key))
    .compare(
        "RetentionInDays",
        "retention_in_days",
        Some("log_retention_days"),
    )
    .compare("KmsKeyId", "kms_key_id", None)
}

fn created(ty: &str, address: &str, counterpart: Option<(&str, &str)>, reason: &str) -> Mapping {
    Mapping::not_imported(
        ty,
        address,
        Outcome::CreatedNew {
            counterpart: counterpart.map(|(t, p)| path(t, p)),
        },
        reason,
    )
}

fn kept(ty: &str, reason: &str) -> Mapping {
    Mapping::not_imported(ty, "*", Outcome::LeftToTerraform, reason)
}

fn merged(ty: &str, reason: &str) -> Mapping {
    Mapping::not_imported(
        ty,
        "*",
        Outcome::MergedInto {
            target: path("AWS::S3::Bucket", "Storage/Files"),
        },
        reason,
    )
}

const SG: &str = "our security groups are closed and per service, and GroupDescription is create-only (Terraform's default is \"Managed by Terraform\"): ours are created new; the follow-up deploy attaches them, and the old group is retired with the old service";
const SIDE_BY_SIDE: &str = "runs side by side with ours until the DNS cut-over (docs/adopt.md), then is destroyed with Terraform";
const SECRETS: &str = "the seed keeps plaintext-era secrets in SSM; our stack issues its own in Secrets Manager (re-issue: docs/adopt.md); the parameter stays with Terraform until the old service is retired";

fn not_imported() -> Vec<Mapping> {
    vec![
        created(
            "aws_security_group",
            "aws_security_group.rds",
            Some(("AWS::EC2::SecurityGroup", "Database/SecurityGroup")),
            SG,
        ),
        created(
            "aws_security_group",
            "aws_security_group.elasticache",
            Some(("AWS::EC2::SecurityGroup", "Cache/SecurityGroup")),
            SG,
        ),
        created(
            "aws_security_group",
            "aws_security_group.alb",
            Some(("AWS::EC2::SecurityGroup", "Ingress/SecurityGroup")),
            SG,
        ),
        created("aws_security_group", "aws_security_group.ecs", None, SG),
        created(
            "aws_rds_cluster_parameter_group",
            "*",
            Some((
                "AWS::RDS::DBClusterParameterGroup",
                "Database/ClusterParameters",
            )),
            "Family and Description are create-only, and ours drops log_statement=all (it logs every statement's parameters, secrets included); the follow-up deploy moves the cluster to ours (static parameters apply at its next reboot)",
        ),
        created(
            "aws_elasticache_parameter_group",
            "*",
            Some(("AWS::ElastiCache::ParameterGroup", "Cache/Parameters")),
            "CacheParameterGroupFamily is create-only; the follow-up deploy moves the cache to ours",
        ),
        created(
            "aws_iam_role",
            "aws_iam_role.rds_enhanced_monitoring",
            Some(("AWS::IAM::Role", "Database/MonitoringRole")),
            "a role of our own; the instances switch to it in the follow-up deploy (no interruption)",
        ),
        created(
            "aws_kms_alias",
            "*",
            Some(("AWS::KMS::Alias", "DataKey/Alias")),
            "our alias has its own name; the old alias keeps naming the (imported) key until Terraform deletes it",
        ),
        created("aws_ssm_parameter", "*", None, SECRETS),
        kept(
            "random_password",
            "a Terraform-only value: nothing in AWS to import",
        ),
        created(
            "aws_iam_role",
            "*",
            None,
            "our task and execution roles are per service",
        ),
        kept(
            "aws_iam_policy",
            "attached to the old service's roles; retired with it",
        ),
        kept(
            "aws_iam_role_policy_attachment",
            "attached to roles Terraform keeps; retired with them",
        ),
        created(
            "aws_ecs_cluster",
            "*",
            Some(("AWS::ECS::Cluster", "App/Cluster")),
            SIDE_BY_SIDE,
        ),
        kept("aws_ecs_cluster_capacity_providers", SIDE_BY_SIDE),
        created(
            "aws_ecs_task_definition",
            "*",
            None,
            "one task definition per Dify component in ours; the old one serves until the cut-over",
        ),
        kept("aws_ecs_service", SIDE_BY_SIDE),
        kept("aws_appautoscaling_target", SIDE_BY_SIDE),
        kept("aws_appautoscaling_policy", SIDE_BY_SIDE),
        created(
            "aws_lb",
            "*",
            Some((
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Ingress/LoadBalancer",
            )),
            SIDE_BY_SIDE,
        ),
        created("aws_lb_target_group", "*", None, SIDE_BY_SIDE),
        created("aws_lb_listener", "*", None, SIDE_BY_SIDE),
        created("aws_lb_listener_rule", "*", None, SIDE_BY_SIDE),
        created(
            "aws_route53_record",
            "*",
            Some(("AWS::Route53::RecordSet", "Ingress/DnsRecord")),
            "AWS::Route53::RecordSet does not support resource import; the DNS name moves at the cut-over: delete the old record with Terraform and deploy ours in the same window, or keep the names apart and switch (docs/adopt.md)",
        ),
        merged(
            "aws_s3_bucket_versioning",
            "VersioningConfiguration of the bucket in CloudFormation: leaves Terraform with the bucket",
        ),
        merged(
            "aws_s3_bucket_server_side_encryption_configuration",
            "BucketEncryption of the bucket in CloudFormation: leaves Terraform with the bucket",
        ),
        merged(
            "aws_s3_bucket_lifecycle_configuration",
            "LifecycleConfiguration of the bucket in CloudFormation: leaves Terraform with the bucket",
        ),
    ]
}
