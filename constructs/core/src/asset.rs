//! File assets: local files a template refers to (a Lambda function's code), packaged as a
//! zip and published to the deploy engine's staging bucket before the stack is deployed.
//!
//! This module is the model only, no IO: an [`Asset`] is a packaged zip held in memory, its
//! content hash and where it came from. Reading and zipping files is `cfn-assets`' job
//! (`FileAsset`); writing the zip beside the template is `synth`'s, and uploading it is
//! `deploy`'s (`cfn_deploy::assets::publish`). Both sides agree on the names through the
//! functions here:
//!
//! * the bucket is the staging bucket of the account and region the stack is deployed to,
//!   [`staging_bucket_name`], which a template spells as an `Fn::Sub` ([`staging_bucket`]);
//! * the key is `assets/<sha256 of the zip>.zip` ([`Asset::key`]), so identical content is one
//!   object, uploaded once, and changed content is a new key, which is what makes
//!   CloudFormation update the function's code;
//! * beside the template, the zip is `asset.<sha256>.zip` ([`Asset::file_name`]).
//!
//! ```
//! use cfn_core::asset::{Asset, Packaging};
//! use cfn_core::{Stack, Output};
//!
//! let asset = Asset::from_zip(b"PK\x05\x06 (a zip)".to_vec(), Packaging::File, "src/handler.py");
//! assert_eq!(asset.key(), format!("assets/{}.zip", asset.hash()));
//! let mut stack = Stack::new("Demo");
//! stack.add_asset(asset.clone());
//! stack.add_asset(asset.clone()); // the same content again: one asset
//! stack.add_output("Key", Output::new(asset.key_value()));
//! let out = stack.synth().expect("valid");
//! assert_eq!(out.assets.len(), 1);
//! assert_eq!(out.template["Outputs"]["Key"]["Value"], asset.key());
//! ```

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::refs::BucketName;
use crate::value::{Value, fns};

/// What every staging bucket's name starts with; the account and region follow
/// (`cfn-deploy-staging-123456789012-eu-west-1`).
pub const STAGING_BUCKET_PREFIX: &str = "cfn-deploy-staging-";

/// The key prefix assets are published under in the staging bucket. Objects below it never
/// expire: a deployed function's code must stay fetchable for updates and rollbacks.
pub const ASSET_KEY_PREFIX: &str = "assets/";

/// The staging bucket's name for an account and region: what the deploy engine creates and
/// uploads to.
///
/// ```
/// assert_eq!(
///     cfn_core::asset::staging_bucket_name("123456789012", "eu-west-1"),
///     "cfn-deploy-staging-123456789012-eu-west-1"
/// );
/// ```
pub fn staging_bucket_name(account: &str, region: &str) -> String {
    format!("{STAGING_BUCKET_PREFIX}{account}-{region}")
}

/// The staging bucket as a template value: [`staging_bucket_name`] of the stack's own account
/// and region, as `{"Fn::Sub": "cfn-deploy-staging-${AWS::AccountId}-${AWS::Region}"}`.
pub fn staging_bucket() -> Value<BucketName> {
    fns::sub(format!(
        "{STAGING_BUCKET_PREFIX}${{AWS::AccountId}}-${{AWS::Region}}"
    ))
    .assume()
}

/// How an asset's source was packaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Packaging {
    /// One file, zipped under its own name.
    File,
    /// A directory, every file below it zipped under its path relative to the directory.
    Directory,
}

impl fmt::Display for Packaging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Packaging::File => "file",
            Packaging::Directory => "directory",
        })
    }
}

/// A packaged asset: the zip's bytes, their SHA-256 and where they came from.
///
/// Cheap to clone (the bytes are shared). Two assets with the same bytes have the same hash,
/// key and file name wherever they came from.
#[derive(Clone, PartialEq, Eq)]
pub struct Asset {
    hash: String,
    bytes: Arc<[u8]>,
    packaging: Packaging,
    source: String,
}

impl fmt::Debug for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Asset")
            .field("hash", &self.hash)
            .field("size", &self.bytes.len())
            .field("packaging", &self.packaging)
            .field("source", &self.source)
            .finish()
    }
}

impl Asset {
    /// An asset from a finished zip. `source` is where it came from, for messages and the
    /// synth manifest (a path as the user gave it).
    pub fn from_zip(
        bytes: impl Into<Arc<[u8]>>,
        packaging: Packaging,
        source: impl Into<String>,
    ) -> Asset {
        let bytes = bytes.into();
        let digest = Sha256::digest(&bytes);
        let mut hash = String::with_capacity(64);
        for b in digest.iter() {
            hash.push_str(&format!("{b:02x}"));
        }
        Asset {
            hash,
            bytes,
            packaging,
            source: source.into(),
        }
    }

    /// The SHA-256 of the zip, 64 lowercase hex digits.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The zip.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The zip, shared.
    pub fn shared_bytes(&self) -> Arc<[u8]> {
        Arc::clone(&self.bytes)
    }

    /// The zip's size in bytes.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// How the source was packaged.
    pub fn packaging(&self) -> Packaging {
        self.packaging
    }

    /// Where the asset came from (the path as given).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The file name beside the template: `asset.<hash>.zip`.
    pub fn file_name(&self) -> String {
        format!("asset.{}.zip", self.hash)
    }

    /// The object key in the staging bucket: `assets/<hash>.zip`.
    pub fn key(&self) -> String {
        format!("{ASSET_KEY_PREFIX}{}.zip", self.hash)
    }

    /// The object key as a template value (a literal: it is known at synth time).
    pub fn key_value(&self) -> Value<String> {
        Value::Literal(self.key())
    }

    /// The bucket as a template value: the staging bucket of the stack's account and region.
    pub fn bucket_value(&self) -> Value<BucketName> {
        staging_bucket()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_the_sha256_of_the_bytes_and_names_the_key_and_file() {
        let a = Asset::from_zip(b"abc".to_vec(), Packaging::File, "x");
        assert_eq!(
            a.hash(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(a.key(), format!("assets/{}.zip", a.hash()));
        assert_eq!(a.file_name(), format!("asset.{}.zip", a.hash()));
        assert_eq!(a.size(), 3);
        let b = Asset::from_zip(b"abd".to_vec(), Packaging::File, "x");
        assert_ne!(a.hash(), b.hash());
        assert!(
            !format!("{a:?}").contains("[97"),
            "Debug leaves the bytes out"
        );
    }

    #[test]
    fn the_bucket_is_the_staging_bucket_of_the_stacks_account_and_region() {
        let json = serde_json::to_value(staging_bucket()).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"Fn::Sub": "cfn-deploy-staging-${AWS::AccountId}-${AWS::Region}"})
        );
        assert_eq!(
            staging_bucket_name("1", "eu-west-1"),
            "cfn-deploy-staging-1-eu-west-1"
        );
    }
}
