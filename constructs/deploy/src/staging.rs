//! The S3 staging bucket for templates over CloudFormation's 51,200-byte inline limit.
//!
//! One bucket per account and region, `cfn-deploy-staging-<account>-<region>`, created on first
//! need and configured like any bucket should be: SSE-S3 encryption by default, every public
//! access block on, a policy denying requests without TLS, and a lifecycle rule expiring staged
//! templates (below [`PREFIX`]) after [`EXPIRE_AFTER_DAYS`] days. File assets live in the same
//! bucket under `assets/` ([`crate::assets`]) and never expire: a deployed function's code must
//! stay fetchable for its updates and rollbacks. Uploads name the expected bucket owner, so a
//! bucket of the same name in another account is never written to.
//!
//! Against a plain-HTTP endpoint (a local emulator such as moto) the TLS-only policy is left
//! out: it would deny the very upload that follows (moto evaluates bucket policies).

use std::hash::{Hash, Hasher};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};

use crate::aws::Aws;
use crate::error::DeployError;

/// Staged templates expire after this many days.
pub const EXPIRE_AFTER_DAYS: i32 = 30;

/// The key prefix staged templates live under: the only prefix the lifecycle rule expires.
pub const PREFIX: &str = "templates/";

/// The staging bucket's name for an account and region (the rule lives in
/// [`cfn_core::asset::staging_bucket_name`], which templates referring to assets share).
pub fn bucket_name(account: &str, region: &str) -> String {
    cfn_core::asset::staging_bucket_name(account, region)
}

/// The URL CloudFormation reads a staged template from.
pub fn template_url(bucket: &str, region: &str, key: &str) -> String {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://{bucket}.s3.{region}.{domain}/{key}")
}

/// The key a template is staged under: content-addressed, below the stack's name.
pub fn template_key(stack: &str, body: &str) -> String {
    let mut h = std::hash::DefaultHasher::new();
    body.hash(&mut h);
    format!("{PREFIX}{stack}/{:016x}-{}.json", h.finish(), body.len())
}

/// The bucket policy: no request without TLS.
pub fn tls_only_policy(bucket: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    })
    .to_string()
}

fn build_error(e: impl std::fmt::Display) -> DeployError {
    DeployError::Unexpected {
        stack: String::new(),
        message: format!("building an S3 request: {e}"),
    }
}

/// A template staged in S3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staged {
    /// The URL handed to CloudFormation.
    pub url: String,
    /// The staging bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// Whether the bucket was created by this call.
    pub created: bool,
    /// Whether the bucket was given the TLS-only policy (false only for a plain-HTTP endpoint).
    pub tls_only: bool,
}

/// Makes sure the staging bucket exists and is configured; returns its name and whether it
/// was created now.
pub async fn ensure_bucket(
    aws: &Aws,
    account: &str,
    region: &str,
) -> Result<(String, bool), DeployError> {
    let bucket = bucket_name(account, region);
    let wrap = |e: DeployError| DeployError::Staging {
        bucket: bucket.clone(),
        source: Box::new(e),
    };
    let head = aws
        .call("s3", "HeadBucket", || {
            aws.s3
                .head_bucket()
                .bucket(&bucket)
                .expected_bucket_owner(account)
                .send()
        })
        .await;
    match head {
        Ok(_) => return Ok((bucket, false)),
        Err(e) if e.status == Some(404) || e.code() == Some("NotFound") => {}
        Err(e) => return Err(wrap(e.into())),
    }
    create_and_configure(aws, &bucket, region)
        .await
        .map_err(wrap)?;
    Ok((bucket, true))
}

async fn create_and_configure(aws: &Aws, bucket: &str, region: &str) -> Result<(), DeployError> {
    let created = aws
        .call("s3", "CreateBucket", || {
            let mut b = aws.s3.create_bucket().bucket(bucket);
            if region != "us-east-1" {
                b = b.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(region))
                        .build(),
                );
            }
            b.send()
        })
        .await;
    match created {
        Ok(_) => {}
        // A concurrent deploy created it a moment ago.
        Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => {}
        Err(e) => return Err(e.into()),
    }
    let encryption = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256)
                        .build()
                        .map_err(build_error)?,
                )
                .bucket_key_enabled(true)
                .build(),
        )
        .build()
        .map_err(build_error)?;
    aws.call("s3", "PutBucketEncryption", || {
        aws.s3
            .put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(encryption.clone())
            .send()
    })
    .await?;
    aws.call("s3", "PutPublicAccessBlock", || {
        aws.s3
            .put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
    })
    .await?;
    if !aws.is_plain_http() {
        let policy = tls_only_policy(bucket);
        aws.call("s3", "PutBucketPolicy", || {
            aws.s3
                .put_bucket_policy()
                .bucket(bucket)
                .policy(&policy)
                .send()
        })
        .await?;
    }
    let lifecycle = BucketLifecycleConfiguration::builder()
        .rules(
            LifecycleRule::builder()
                .id("expire-staged-templates")
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix(PREFIX).build())
                .expiration(
                    LifecycleExpiration::builder()
                        .days(EXPIRE_AFTER_DAYS)
                        .build(),
                )
                .abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(1)
                        .build(),
                )
                .build()
                .map_err(build_error)?,
        )
        .build()
        .map_err(build_error)?;
    aws.call("s3", "PutBucketLifecycleConfiguration", || {
        aws.s3
            .put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(lifecycle.clone())
            .send()
    })
    .await?;
    Ok(())
}

/// Stages a template (creating the bucket on first need).
pub async fn stage(
    aws: &Aws,
    account: &str,
    region: &str,
    stack: &str,
    body: &str,
) -> Result<Staged, DeployError> {
    let (bucket, created) = ensure_bucket(aws, account, region).await?;
    let key = template_key(stack, body);
    let put = aws
        .call("s3", "PutObject", || {
            aws.s3
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .expected_bucket_owner(account)
                .content_type("application/json")
                .body(ByteStream::from(body.as_bytes().to_vec()))
                .send()
        })
        .await;
    if let Err(e) = put {
        return Err(DeployError::Staging {
            bucket,
            source: Box::new(e.into()),
        });
    }
    Ok(Staged {
        url: template_url(&bucket, region, &key),
        tls_only: !aws.is_plain_http(),
        bucket,
        key,
        created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_urls_and_keys() {
        assert_eq!(
            bucket_name("123456789012", "eu-west-1"),
            "cfn-deploy-staging-123456789012-eu-west-1"
        );
        assert!(bucket_name("123456789012", "ap-southeast-2").len() <= 63);
        assert_eq!(
            template_url("b", "eu-west-1", "templates/S/x.json"),
            "https://b.s3.eu-west-1.amazonaws.com/templates/S/x.json"
        );
        assert!(template_url("b", "cn-north-1", "k").ends_with(".amazonaws.com.cn/k"));
        let k1 = template_key("S", "{}");
        assert!(k1.starts_with("templates/S/") && k1.ends_with("-2.json"));
        assert_eq!(k1, template_key("S", "{}"));
        assert_ne!(k1, template_key("S", "{ }"));
    }

    #[test]
    fn policy_denies_plain_http() {
        let p: serde_json::Value =
            serde_json::from_str(&tls_only_policy("b")).expect("policy is JSON");
        assert_eq!(p["Statement"][0]["Effect"], "Deny");
        assert_eq!(
            p["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"],
            "false"
        );
    }
}
