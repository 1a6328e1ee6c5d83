//! File assets on their way out: the manifest `synth` writes beside the template, and the
//! upload `deploy` does before it changes the stack.
//!
//! A stack's assets ([`cfn_core::asset`], built by `cfn_assets::FileAsset`) go to the staging
//! bucket of the account and region ([`staging`]), under `assets/<sha256>.zip`: the key is
//! the content, so an object already there is the same asset and is not uploaded again, and
//! two stacks (or two environments) sharing a handler share one object. The bucket's lifecycle
//! rule expires staged templates only (`templates/`): objects under `assets/` are kept, since
//! a deployed function's code must stay fetchable for its updates and rollbacks.

use aws_sdk_s3::primitives::ByteStream;
use cfn_core::asset::{ASSET_KEY_PREFIX, Asset, STAGING_BUCKET_PREFIX};

use crate::aws::Aws;
use crate::error::DeployError;
use crate::staging;

/// The end of an asset manifest's file name: `<stack>.assets.json`.
pub const MANIFEST_SUFFIX: &str = ".assets.json";

/// The manifest's file name for a stack.
pub fn manifest_file_name(stack: &str) -> String {
    format!("{stack}{MANIFEST_SUFFIX}")
}

/// The manifest `synth` writes beside a stack's template: for each asset, its hash, the zip's
/// file name beside it, where `deploy` publishes it (bucket pattern and key), where it came
/// from and its size. Pretty JSON with a trailing newline, byte-identical run to run.
///
/// ```
/// use cfn_core::asset::{Asset, Packaging};
///
/// let a = Asset::from_zip(b"zip".to_vec(), Packaging::File, "src/handler.py");
/// let text = cfn_deploy::assets::manifest("Demo", &[a.clone()]);
/// let m: serde_json::Value = serde_json::from_str(&text).unwrap();
/// assert_eq!(m["assets"][0]["file"], a.file_name());
/// assert_eq!(m["assets"][0]["key"], a.key());
/// assert_eq!(cfn_deploy::assets::manifest_files(&text), [a.file_name()]);
/// ```
pub fn manifest(stack: &str, assets: &[Asset]) -> String {
    let bucket = format!("{STAGING_BUCKET_PREFIX}${{AWS::AccountId}}-${{AWS::Region}}");
    let list: Vec<serde_json::Value> = assets
        .iter()
        .map(|a| {
            serde_json::json!({
                "hash": a.hash(),
                "file": a.file_name(),
                "bucket": bucket,
                "key": a.key(),
                "packaging": a.packaging().to_string(),
                "source": a.source(),
                "bytes": a.size(),
            })
        })
        .collect();
    let doc = serde_json::json!({"version": 1, "stack": stack, "assets": list});
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// The zip files a manifest lists; names that are not `asset.<64 hex digits>.zip` are left
/// out, so an edited manifest cannot make `synth` remove any other file.
pub fn manifest_files(text: &str) -> Vec<String> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    doc["assets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["file"].as_str())
        .filter(|f| is_asset_file_name(f))
        .map(str::to_owned)
        .collect()
}

/// Whether `name` is an asset zip's file name: `asset.<64 hex digits>.zip`.
pub fn is_asset_file_name(name: &str) -> bool {
    name.strip_prefix("asset.")
        .and_then(|n| n.strip_suffix(".zip"))
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What [`publish`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Published {
    /// The staging bucket (empty when there was nothing to publish).
    pub bucket: String,
    /// Whether the bucket was created by this call.
    pub bucket_created: bool,
    /// Assets uploaded now.
    pub uploaded: usize,
    /// Their bytes.
    pub uploaded_bytes: u64,
    /// Assets already in the bucket, not uploaded again.
    pub skipped: usize,
    /// Their bytes.
    pub skipped_bytes: u64,
}

/// Uploads each asset to the staging bucket (created on first need) under
/// `assets/<sha256>.zip`, unless an object of that key and size is already there. Every call
/// goes through [`Aws::call`] (throttling, 5xx and dropped connections retried) and names
/// the expected bucket owner. Without assets, nothing is called.
pub async fn publish(
    aws: &Aws,
    account: &str,
    region: &str,
    assets: &[Asset],
) -> Result<Published, DeployError> {
    let mut done = Published::default();
    if assets.is_empty() {
        return Ok(done);
    }
    let (bucket, created) = staging::ensure_bucket(aws, account, region).await?;
    done.bucket_created = created;
    for asset in assets {
        let key = asset.key();
        let wrap = |e: DeployError| DeployError::Asset {
            source_path: asset.source().to_owned(),
            bucket: bucket.clone(),
            key: key.clone(),
            source: Box::new(e),
        };
        let size = asset.size() as u64;
        if existing_size(aws, &bucket, &key, account)
            .await
            .map_err(wrap)?
            == Some(size)
        {
            done.skipped += 1;
            done.skipped_bytes += size;
            continue;
        }
        aws.call("s3", "PutObject", || {
            aws.s3
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .expected_bucket_owner(account)
                .content_type("application/zip")
                .body(ByteStream::from(asset.bytes().to_vec()))
                .send()
        })
        .await
        .map_err(|e| wrap(e.into()))?;
        done.uploaded += 1;
        done.uploaded_bytes += size;
    }
    done.bucket = bucket;
    Ok(done)
}

/// The size of the object at `key`, or `None` when there is none.
async fn existing_size(
    aws: &Aws,
    bucket: &str,
    key: &str,
    account: &str,
) -> Result<Option<u64>, DeployError> {
    debug_assert!(key.starts_with(ASSET_KEY_PREFIX));
    let head = aws
        .call("s3", "HeadObject", || {
            aws.s3
                .head_object()
                .bucket(bucket)
                .key(key)
                .expected_bucket_owner(account)
                .send()
        })
        .await;
    match head {
        Ok(h) => Ok(Some(
            h.content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
        )),
        Err(e) if e.status == Some(404) || e.code() == Some("NotFound") => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// One line for people: `Assets: 1 uploaded (12 KB), 0 already there`.
pub fn summary(p: &Published) -> String {
    let mut line = format!(
        "Assets: {} uploaded ({}), {} already there",
        p.uploaded,
        crate::render::size(p.uploaded_bytes),
        p.skipped
    );
    if p.bucket_created {
        line.push_str(&format!(" (created the staging bucket {})", p.bucket));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use cfn_core::asset::Packaging;

    #[test]
    fn the_manifest_lists_each_asset_and_nothing_else_passes_for_a_zip() {
        let a = Asset::from_zip(b"a".to_vec(), Packaging::Directory, "lambda/");
        let text = manifest("Demo", std::slice::from_ref(&a));
        let m: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            m["assets"][0],
            serde_json::json!({
                "hash": a.hash(),
                "file": a.file_name(),
                "bucket": "cfn-deploy-staging-${AWS::AccountId}-${AWS::Region}",
                "key": a.key(),
                "packaging": "directory",
                "source": "lambda/",
                "bytes": 1,
            })
        );
        assert_eq!(manifest_file_name("Demo"), "Demo.assets.json");
        assert!(text.ends_with("}\n"));
        let forged =
            r#"{"assets": [{"file": "../Demo.template.json"}, {"file": "asset.abc.zip"}]}"#;
        assert!(manifest_files(forged).is_empty());
        assert!(manifest_files("not json").is_empty());
        assert!(is_asset_file_name(&a.file_name()));
    }

    #[test]
    fn the_summary_says_what_was_uploaded_and_what_was_there() {
        let p = Published {
            bucket: "b".into(),
            bucket_created: false,
            uploaded: 1,
            uploaded_bytes: 12_300,
            skipped: 0,
            skipped_bytes: 0,
        };
        assert_eq!(summary(&p), "Assets: 1 uploaded (12 KB), 0 already there");
    }

    #[test]
    fn assets_are_not_under_the_expiring_prefix() {
        assert!(!ASSET_KEY_PREFIX.starts_with(staging::PREFIX));
        assert!(!staging::PREFIX.starts_with(ASSET_KEY_PREFIX));
    }
}
