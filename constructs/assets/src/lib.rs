//! File assets: a local file or directory that a template refers to (a Lambda function's
//! code), packaged as a deterministic, content-hashed zip.
//!
//! This crate does the file IO that `cfn-core` does not: [`FileAsset`] reads and zips its path
//! when the construct is built ([`package()`]: sorted entries, fixed timestamps and permissions,
//! so the same content always gives the same bytes and hash) and registers the result on the
//! stack as a [`cfn_core::asset::Asset`]. From there, `synth` writes it beside the template
//! (`cfn-out/asset.<sha256>.zip`, listed in `<stack>.assets.json`) and `deploy` uploads it to
//! the staging bucket (`cfn-deploy-staging-<account>-<region>`, key `assets/<sha256>.zip`)
//! before the stack is changed, once per content: an object already there is not uploaded
//! again.
//!
//! ```
//! use cfn_assets::{FileAsset, FileAssetProps};
//! use cfn_core::{Output, Stack};
//!
//! let file = std::env::temp_dir().join(format!("cfn-assets-lib-doc-{}.py", std::process::id()));
//! std::fs::write(&file, "def handler(e, c): return 1\n").unwrap();
//! let mut stack = Stack::new("Demo");
//! let asset = FileAsset::new(&mut stack.root(), "Handler", FileAssetProps::new(&file));
//! stack.add_output("Key", Output::new(asset.key()));
//! let out = stack.synth().unwrap();
//! assert_eq!(out.assets[0].hash(), asset.hash());
//! # std::fs::remove_file(&file).unwrap();
//! ```

pub mod error;
pub mod file_asset;
pub mod package;

pub use error::AssetError;
pub use file_asset::{FileAsset, FileAssetProps};
pub use package::package;
