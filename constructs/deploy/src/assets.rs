//! File assets on their way out: the manifest `synth` writes beside the template.
//!
//! A stack's assets ([`cfn_core::asset`], built by `cfn_assets::FileAsset`) go to the staging
//! bucket of the account and region ([`staging`]), under `assets/<sha256>.zip`: the key is
//! the content, so an object already there is the same asset and is not uploaded again, and
//! two stacks (or two environments) sharing a handler share one object. The bucket's lifecycle
//! rule expires staged templates only (`templates/`): objects under `assets/` are kept, since
//! a deployed function's code must stay fetchable for its updates and rollbacks.

use cfn_core::asset::{Asset, STAGING_BUCKET_PREFIX};

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
}
