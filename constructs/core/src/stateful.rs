//! Which resource types hold what a replacement would lose. One list for every layer that
//! guards against replacing them: the deploy engine's refusal of stateful replacements, the
//! stack policy of protected environments, and the adoption plan's refusals.

/// Resource types whose replacement loses data or identity: databases, caches, buckets,
/// secrets, KMS keys, log groups, file systems and search domains.
pub const STATEFUL_TYPES: &[&str] = &[
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::DocDB::DBCluster",
    "AWS::Neptune::DBCluster",
    "AWS::ElastiCache::CacheCluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::ServerlessCache",
    "AWS::MemoryDB::Cluster",
    "AWS::S3::Bucket",
    "AWS::SecretsManager::Secret",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::EFS::FileSystem",
    "AWS::OpenSearchService::Domain",
    "AWS::Elasticsearch::Domain",
    "AWS::Cognito::UserPool",
];

/// True for a stateful type.
pub fn is_stateful(resource_type: &str) -> bool {
    STATEFUL_TYPES.contains(&resource_type)
}
