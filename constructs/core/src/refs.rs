//! Typed references: string values known to identify one kind of resource.
//!
//! CloudFormation passes a VPC id, a subnet id and a role ARN as plain strings, so a
//! `Value<String>` field accepts any of them and a swapped argument is only caught by
//! CloudFormation, at deploy time. The registry schemas (as cfn-lint annotates them) say what
//! many string properties refer to, with a `format` such as `AWS::EC2::Subnet.Id`; `cfn-codegen`
//! types those properties, and the handle methods that produce such values, with the kinds of
//! this module. A [`Value<SubnetId>`] then only accepts a subnet handle's id, a literal id
//! (`"subnet-0abc"`), or a value the caller explicitly [`assume`](Value::assume)s is one:
//!
//! ```compile_fail
//! use cfn_core::Value;
//! use cfn_core::refs::{SubnetId, VpcId};
//!
//! fn subnet_field(_: Value<SubnetId>) {}
//! let vpc: Value<VpcId> = "vpc-0abc".into();
//! subnet_field(vpc); // a VPC id is not a subnet id
//! ```
//!
//! Every kind widens to `Value<String>` (`.into()`) for places that take any string, such as
//! `Fn::Sub` variables, outputs and tags; the key kinds also widen to [`KmsKey`], which is what
//! properties that accept a key id, a key ARN or an alias take.
//!
//! ```
//! use cfn_core::Value;
//! use cfn_core::refs::{KmsKey, KmsKeyArn, SubnetId};
//!
//! let subnet: Value<SubnetId> = "subnet-0abc".into();
//! let text: Value<String> = subnet.into();
//! assert_eq!(text, Value::Literal("subnet-0abc".to_owned()));
//! let key: Value<KmsKey> = Value::<KmsKeyArn>::from("arn:aws:kms:eu-west-1:1:key/k").into();
//! assert_eq!(serde_json::to_value(&key).unwrap(), "arn:aws:kms:eu-west-1:1:key/k");
//! ```

use serde::Serialize;

use crate::value::Value;

/// A kind of typed reference: a string newtype whose [`Value`] only comes from a handle of the
/// matching resource, a literal, or an explicit [`Value::assume`].
pub trait RefKind: Sized {
    /// What the string identifies, for documentation and messages (`"a subnet id"`).
    const WHAT: &'static str;
    /// Wraps a literal string.
    fn from_string(s: String) -> Self;
    /// The literal string.
    fn into_string(self) -> String;
}

impl Value<String> {
    /// Claims that this string identifies a `K` (an imported value, a parameter, an id built
    /// with `Fn::Sub`): the one place where an untyped string becomes a typed reference.
    pub fn assume<K: RefKind>(self) -> Value<K> {
        match self {
            Value::Literal(s) => Value::Literal(K::from_string(s)),
            Value::Intrinsic(i) => Value::Intrinsic(i),
        }
    }
}

impl<K: RefKind> Value<K> {
    /// The same value as an untyped string.
    pub fn untyped(self) -> Value<String> {
        match self {
            Value::Literal(k) => Value::Literal(k.into_string()),
            Value::Intrinsic(i) => Value::Intrinsic(i),
        }
    }
}

macro_rules! kinds {
    ($($(#[$doc:meta])* $name:ident => $what:literal, from $cfn:literal;)*) => {$(
        $(#[$doc])*
        #[doc = concat!("\n\nProperties with the registry format `", $cfn, "` take it.")]
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl RefKind for $name {
            const WHAT: &'static str = $what;
            fn from_string(s: String) -> Self {
                $name(s)
            }
            fn into_string(self) -> String {
                self.0
            }
        }
        impl From<$name> for Value<$name> {
            fn from(k: $name) -> Self {
                Value::Literal(k)
            }
        }
        impl From<&str> for Value<$name> {
            fn from(s: &str) -> Self {
                Value::Literal($name(s.to_owned()))
            }
        }
        impl From<String> for Value<$name> {
            fn from(s: String) -> Self {
                Value::Literal($name(s))
            }
        }
        impl From<&String> for Value<$name> {
            fn from(s: &String) -> Self {
                Value::Literal($name(s.clone()))
            }
        }
        impl From<&Value<$name>> for Value<$name> {
            fn from(v: &Value<$name>) -> Self {
                v.clone()
            }
        }
        impl From<Value<$name>> for Value<String> {
            fn from(v: Value<$name>) -> Self {
                v.untyped()
            }
        }
        impl From<&Value<$name>> for Value<String> {
            fn from(v: &Value<$name>) -> Self {
                v.clone().untyped()
            }
        }
    )*};
}

kinds! {
    /// The id of a VPC (`vpc-…`).
    VpcId => "a VPC id", from "AWS::EC2::VPC.Id";
    /// The id of a subnet (`subnet-…`).
    SubnetId => "a subnet id", from "AWS::EC2::Subnet.Id";
    /// The id of a security group (`sg-…`), not its name.
    SecurityGroupId => "a security group id", from "AWS::EC2::SecurityGroup.Id";
    /// The ARN of an IAM role.
    RoleArn => "an IAM role ARN", from "AWS::IAM::Role.Arn";
    /// The ARN of a KMS key.
    KmsKeyArn => "a KMS key ARN", from "AWS::KMS::Key.Arn";
    /// The id of a KMS key (its UUID).
    KmsKeyId => "a KMS key id", from "AWS::KMS::Key.Id";
    /// A KMS key given by id, ARN or alias, as most `KmsKeyId` properties accept.
    KmsKey => "a KMS key id, key ARN or alias", from "AWS::KMS::Key.Arn | AWS::KMS::Key.Id | AWS::KMS::Alias.AliasName";
    /// The name of an S3 bucket.
    BucketName => "an S3 bucket name", from "AWS::S3::Bucket.Name";
    /// The name of a CloudWatch Logs log group.
    LogGroupName => "a log group name", from "AWS::Logs::LogGroup.Name";
    /// The ARN of an SNS topic.
    TopicArn => "an SNS topic ARN", from "AWS::SNS::Topic.Arn";
    /// The ARN of a Lambda function.
    FunctionArn => "a Lambda function ARN", from "AWS::Lambda::Function.Arn";
    /// The ARN of an ACM certificate.
    CertificateArn => "an ACM certificate ARN", from "AWS::ACM::Certificate.Arn";
}

/// A key's ARN or id is a key reference wherever a property accepts id, ARN or alias.
macro_rules! widen_to_key {
    ($($from:ident),*) => {$(
        impl From<Value<$from>> for Value<KmsKey> {
            fn from(v: Value<$from>) -> Self {
                v.untyped().assume()
            }
        }
        impl From<&Value<$from>> for Value<KmsKey> {
            fn from(v: &Value<$from>) -> Self {
                v.clone().untyped().assume()
            }
        }
    )*};
}
widen_to_key!(KmsKeyArn, KmsKeyId);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fns;

    #[test]
    fn an_intrinsic_keeps_its_json_through_assume_and_untyped() {
        let v: Value<String> = fns::sub("subnet-${AWS::Region}");
        let typed: Value<SubnetId> = v.clone().assume();
        assert_eq!(typed.to_json(), v.to_json());
        assert_eq!(typed.untyped(), v);
    }

    #[test]
    fn literals_serialize_as_plain_strings() {
        let v: Value<VpcId> = "vpc-1".into();
        assert_eq!(v.to_json(), "vpc-1");
    }

    #[test]
    fn a_key_arn_widens_to_a_key_reference() {
        let arn: Value<KmsKeyArn> = "arn:aws:kms:eu-west-1:1:key/k".into();
        let key: Value<KmsKey> = arn.into();
        assert_eq!(key.to_json(), "arn:aws:kms:eu-west-1:1:key/k");
        assert_eq!(KmsKey::WHAT, "a KMS key id, key ARN or alias");
    }
}
