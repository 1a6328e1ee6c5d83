//! `FileAsset`: the construct.

use std::path::PathBuf;

use cfn_core::asset::{ASSET_KEY_PREFIX, Asset, staging_bucket};
use cfn_core::refs::BucketName;
use cfn_core::{NodeId, Scope, Severity, Value};
use cfn_resources::lambda::function::Code;

use crate::error::AssetError;
use crate::package::package;

/// Inputs of [`FileAsset`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileAssetProps {
    /// The file or directory to package. A relative path is read from the current directory
    /// at synth time; `concat!(env!("CARGO_MANIFEST_DIR"), "/…")` names a file of the crate
    /// wherever it is run from. No default.
    pub path: PathBuf,
}

impl FileAssetProps {
    /// Props for the file or directory at `path`.
    pub fn new(path: impl Into<PathBuf>) -> FileAssetProps {
        FileAssetProps { path: path.into() }
    }
}

/// A local file or directory, packaged as a zip when the construct is built, registered on
/// the stack (`synth` writes it beside the template as `asset.<sha256>.zip`; `deploy` uploads
/// it to the staging bucket as `assets/<sha256>.zip` before changing the stack), and
/// referred to by the template through [`Self::bucket`] and [`Self::key`].
///
/// ```
/// use cfn_assets::{FileAsset, FileAssetProps};
/// use cfn_core::Stack;
/// use cfn_resources::lambda::Function;
///
/// let dir = std::env::temp_dir().join(format!("cfn-assets-fa-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("index.py"), "def handler(e, c): return 1\n").unwrap();
///
/// let mut stack = Stack::new("Demo");
/// let mut root = stack.root();
/// let code = FileAsset::new(&mut root, "Code", FileAssetProps::new(&dir));
/// root.add("Fn", Function::builder()
///     .code(code.lambda_code())
///     .role("arn:aws:iam::123456789012:role/fn")
///     .build()
///     .runtime("python3.12")
///     .handler("index.handler"));
/// let out = stack.synth().unwrap();
/// assert_eq!(out.assets.len(), 1);
/// let s3_key = &out.template["Resources"]["Fn"]["Properties"]["Code"]["S3Key"];
/// assert_eq!(*s3_key, format!("assets/{}.zip", out.assets[0].hash()));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct FileAsset {
    node: NodeId,
    asset: Option<Asset>,
}

impl FileAsset {
    /// Packages `props.path` and registers it under `scope/id`.
    ///
    /// A path that cannot be packaged (missing, unreadable, an empty directory, a symbolic
    /// link inside the directory) is recorded as an error at this construct's path, with the
    /// [`AssetError`]'s code and message, and fails synthesis with everything else found; the
    /// asset's key is then a placeholder that no template ever carries. Use
    /// [`Self::try_new`] to handle the error instead.
    pub fn new(scope: &mut Scope<'_>, id: &str, props: FileAssetProps) -> FileAsset {
        let mut child = scope.child(id);
        match package(&props.path) {
            Ok(asset) => {
                child.stack().add_asset(asset.clone());
                FileAsset {
                    node: child.node_id(),
                    asset: Some(asset),
                }
            }
            Err(e) => {
                child.report(Severity::Error, e.code(), e.to_string());
                FileAsset {
                    node: child.node_id(),
                    asset: None,
                }
            }
        }
    }

    /// As [`Self::new`], but a path that cannot be packaged is returned as the error, and
    /// nothing is added to the tree.
    pub fn try_new(
        scope: &mut Scope<'_>,
        id: &str,
        props: FileAssetProps,
    ) -> Result<FileAsset, AssetError> {
        let asset = package(&props.path)?;
        let mut child = scope.child(id);
        child.stack().add_asset(asset.clone());
        Ok(FileAsset {
            node: child.node_id(),
            asset: Some(asset),
        })
    }

    /// The construct's node.
    pub fn node_id(&self) -> NodeId {
        self.node
    }

    /// The packaged asset: its hash, bytes and source. `None` only when [`Self::new`]
    /// recorded an error.
    pub fn asset(&self) -> Option<&Asset> {
        self.asset.as_ref()
    }

    /// The SHA-256 of the zip (empty when [`Self::new`] recorded an error).
    pub fn hash(&self) -> &str {
        self.asset.as_ref().map_or("", Asset::hash)
    }

    /// The bucket the asset is published to: the staging bucket of the stack's account and
    /// region, `{"Fn::Sub": "cfn-deploy-staging-${AWS::AccountId}-${AWS::Region}"}`. Widen it
    /// with `.into()` where any string goes.
    pub fn bucket(&self) -> Value<BucketName> {
        staging_bucket()
    }

    /// The object key, `assets/<sha256>.zip`: a literal, known at synth time.
    pub fn key(&self) -> Value<String> {
        Value::Literal(match &self.asset {
            Some(a) => a.key(),
            None => format!("{ASSET_KEY_PREFIX}unpackaged.zip"),
        })
    }

    /// The code of an `AWS::Lambda::Function` from this asset (`S3Bucket`, `S3Key`). The key
    /// changes with the content, which is what makes CloudFormation update the function's
    /// code.
    pub fn lambda_code(&self) -> Code {
        Code::new().s3_bucket(self.bucket()).s3_key(self.key())
    }
}
