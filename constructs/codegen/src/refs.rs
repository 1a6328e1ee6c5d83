//! Which string properties identify a known kind of resource, from the `format` annotations
//! cfn-lint adds to the registry schemas (`"format": "AWS::EC2::Subnet.Id"`).
//!
//! A property so annotated becomes a `Value<cfn_core::refs::SubnetId>` rather than a
//! `Value<String>`; a handle attribute so annotated returns that type, and so does `Ref` when
//! the type's only primary identifier is. Formats outside this table stay plain strings.

use serde_json::Value as Json;

/// The `cfn_core::refs` kind of one `format` value.
pub fn kind_of_format(format: &str) -> Option<&'static str> {
    Some(match format {
        "AWS::EC2::VPC.Id" => "VpcId",
        "AWS::EC2::Subnet.Id" => "SubnetId",
        "AWS::EC2::SecurityGroup.Id" => "SecurityGroupId",
        "AWS::IAM::Role.Arn" => "RoleArn",
        "AWS::KMS::Key.Arn" => "KmsKeyArn",
        "AWS::KMS::Key.Id" => "KmsKeyId",
        "AWS::S3::Bucket.Name" => "BucketName",
        "AWS::Logs::LogGroup.Name" => "LogGroupName",
        "AWS::SNS::Topic.Arn" => "TopicArn",
        "AWS::Lambda::Function.Arn" => "FunctionArn",
        "AWS::ACM::Certificate.Arn" => "CertificateArn",
        _ => return None,
    })
}

/// The kind of a string node: its own `format`, or an `anyOf` whose formats all name a KMS key
/// (id, ARN or alias), which is what `KmsKeyId`-style properties accept.
pub fn kind_of(node: &Json) -> Option<&'static str> {
    if let Some(f) = node.get("format").and_then(Json::as_str) {
        return kind_of_format(f);
    }
    let formats: Vec<&str> = node
        .get("anyOf")?
        .as_array()?
        .iter()
        .map(|a| a.get("format").and_then(Json::as_str))
        .collect::<Option<_>>()?;
    let key = |f: &&str| {
        matches!(
            *f,
            "AWS::KMS::Key.Arn" | "AWS::KMS::Key.Id" | "AWS::KMS::Alias.AliasName"
        )
    };
    (formats.iter().all(key) && formats.iter().any(|f| f.starts_with("AWS::KMS::Key.")))
        .then_some("KmsKey")
}

/// The kind of a string property the schema does not annotate, from a small curated table:
/// properties whose name says what they hold everywhere in the registry (`VpcId`, `SubnetIds`,
/// `SecurityGroupIds`, `…RoleArn`), and a few exact `(type, pointer)` pairs for names that are
/// ambiguous elsewhere (a Lambda function's `Role` is an ARN; an instance profile's `Roles`
/// are names).
pub fn kind_by_name(type_name: &str, pointer: &str, name: &str) -> Option<&'static str> {
    const EXACT: &[(&str, &str, &str)] = &[
        ("AWS::Lambda::Function", "/properties/Role", "RoleArn"),
        (
            "AWS::StepFunctions::StateMachine",
            "/properties/RoleArn",
            "RoleArn",
        ),
        ("AWS::Events::Rule", "/properties/RoleArn", "RoleArn"),
    ];
    if let Some((_, _, k)) = EXACT
        .iter()
        .find(|(t, p, _)| *t == type_name && *p == pointer)
    {
        return Some(k);
    }
    Some(match name {
        "VpcId" => "VpcId",
        "SubnetId" | "SubnetIds" => "SubnetId",
        "SecurityGroupId" | "SecurityGroupIds" | "VpcSecurityGroupIds" => "SecurityGroupId",
        n if n.ends_with("RoleArn") || n.ends_with("RoleARN") => "RoleArn",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_name_kinds() {
        assert_eq!(
            kind_of(&json!({"type": "string", "format": "AWS::EC2::VPC.Id"})),
            Some("VpcId")
        );
        assert_eq!(
            kind_of(&json!({"format": "AWS::EC2::SecurityGroup.Name"})),
            None
        );
        assert_eq!(kind_of(&json!({"type": "string"})), None);
    }

    #[test]
    fn names_that_say_what_they_hold() {
        assert_eq!(
            kind_by_name(
                "AWS::X::Y",
                "/properties/VpcConfig/SubnetIds/items",
                "SubnetIds"
            ),
            Some("SubnetId")
        );
        assert_eq!(
            kind_by_name("AWS::Lambda::Function", "/properties/Role", "Role"),
            Some("RoleArn")
        );
        assert_eq!(
            kind_by_name("AWS::IAM::InstanceProfile", "/properties/Roles", "Roles"),
            None
        );
        assert_eq!(
            kind_by_name(
                "AWS::X::Y",
                "/properties/ExecutionRoleArn",
                "ExecutionRoleArn"
            ),
            Some("RoleArn")
        );
    }

    #[test]
    fn a_key_id_arn_or_alias_is_a_key_reference() {
        let node = json!({"anyOf": [
            {"format": "AWS::KMS::Key.Arn"}, {"format": "AWS::KMS::Key.Id"},
            {"format": "AWS::KMS::Alias.AliasName"}]});
        assert_eq!(kind_of(&node), Some("KmsKey"));
        let sg = json!({"anyOf": [
            {"format": "AWS::EC2::SecurityGroup.Id"}, {"format": "AWS::EC2::SecurityGroup.Name"}]});
        assert_eq!(kind_of(&sg), None);
    }
}
