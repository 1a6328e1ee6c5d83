//! Which resource types CloudFormation can import, and which ones hold data.

/// Resource types whose `IMPORT` CloudFormation supports, among those a Dify-on-ECS Terraform
/// module holds. From the user guide's "Resource type support" table
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import-supported-resources.html>),
/// which lists every type with import, drift detection and IaC-generator support. The vendored
/// registry schemas cannot tell: cfn-lint's copies carry handlers for types the table leaves
/// out (`AWS::Route53::RecordSet`, whose import is still an open request:
/// <https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/560>).
pub const IMPORTABLE_TYPES: &[&str] = &[
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::ECS::Cluster",
    "AWS::ECS::ClusterCapacityProviderAssociations",
    "AWS::ECS::Service",
    "AWS::ECS::TaskDefinition",
    "AWS::ElastiCache::ParameterGroup",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::SubnetGroup",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Role",
    "AWS::KMS::Alias",
    "AWS::KMS::Key",
    "AWS::Lambda::Function",
    "AWS::Logs::LogGroup",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBClusterParameterGroup",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBParameterGroup",
    "AWS::RDS::DBSubnetGroup",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::SecretsManager::Secret",
    "AWS::SSM::Parameter",
];

/// Whether CloudFormation can import a resource of this type.
pub fn supports_import(resource_type: &str) -> bool {
    IMPORTABLE_TYPES.contains(&resource_type)
}

pub use cfn_core::stateful::{STATEFUL_TYPES, is_stateful};
