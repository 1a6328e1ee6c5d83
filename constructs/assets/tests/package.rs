//! Packaging a file or directory: the same content gives the same zip whatever the order of
//! creation, the modification times or the run; different content a different hash; and each
//! path that cannot be packaged a typed error naming it.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use cfn_assets::{AssetError, FileAsset, FileAssetProps, package};
use cfn_core::Stack;
use cfn_core::asset::Packaging;
use serde_json::json;

/// A fresh, empty directory of this test process.
fn scratch(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "cfn-assets-test-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// An entry's name, unix mode, modification time (year, month, day, hour, minute) and content.
type Entry = (String, u32, (u16, u8, u8, u8, u8), String);

/// Every entry, in the zip's order.
fn entries(bytes: &[u8]) -> Vec<Entry> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let t = f.last_modified().unwrap_or_default();
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            (
                f.name().to_owned(),
                f.unix_mode().unwrap_or(0) & 0o7777,
                (t.year(), t.month(), t.day(), t.hour(), t.minute()),
                text,
            )
        })
        .collect()
}

#[test]
fn a_directory_zips_sorted_with_fixed_times_and_modes_whatever_the_creation_order() {
    let a = scratch("order-a");
    write(&a, "z.py", "z");
    write(&a, "m/b.py", "b");
    write(&a, "a.py", "a");
    write(&a, "m/a/deep.txt", "deep");
    let b = scratch("order-b");
    write(&b, "m/a/deep.txt", "deep");
    write(&b, "a.py", "a");
    write(&b, "m/b.py", "b");
    write(&b, "z.py", "z");

    let pa = package(&a).unwrap();
    let pb = package(&b).unwrap();
    assert_eq!(pa.bytes(), pb.bytes(), "same content, same zip");
    assert_eq!(pa.hash(), pb.hash());
    assert_eq!(pa.packaging(), Packaging::Directory);
    assert_eq!(pa.source(), a.display().to_string());
    let got = entries(pa.bytes());
    let epoch = (1980, 1, 1, 0, 0);
    assert_eq!(
        got,
        [
            ("a.py".to_owned(), 0o644, epoch, "a".to_owned()),
            ("m/a/deep.txt".to_owned(), 0o644, epoch, "deep".to_owned()),
            ("m/b.py".to_owned(), 0o644, epoch, "b".to_owned()),
            ("z.py".to_owned(), 0o644, epoch, "z".to_owned()),
        ]
    );
}

#[test]
fn modification_times_and_repeated_runs_do_not_change_the_zip() {
    let dir = scratch("mtime");
    write(&dir, "index.py", "def handler(e, c):\n    return 1\n");
    write(&dir, "lib/util.py", "X = 1\n");
    let first = package(&dir).unwrap();
    for (i, rel) in ["index.py", "lib/util.py"].iter().enumerate() {
        let f = fs::File::options().write(true).open(dir.join(rel)).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000 + i as u64))
            .unwrap();
    }
    let again = package(&dir).unwrap();
    assert_eq!(first.bytes(), again.bytes());
    assert_eq!(first.hash(), again.hash());
    assert_eq!(first.hash().len(), 64);
    assert!(first.hash().chars().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn the_hash_changes_with_content_names_and_the_execute_bit() {
    let dir = scratch("content");
    write(&dir, "index.py", "v1");
    let v1 = package(&dir).unwrap();
    write(&dir, "index.py", "v2");
    let v2 = package(&dir).unwrap();
    assert_ne!(v1.hash(), v2.hash(), "content");
    fs::rename(dir.join("index.py"), dir.join("main.py")).unwrap();
    let renamed = package(&dir).unwrap();
    assert_ne!(v2.hash(), renamed.hash(), "name");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.join("main.py"), fs::Permissions::from_mode(0o700)).unwrap();
        let exec = package(&dir).unwrap();
        assert_ne!(renamed.hash(), exec.hash(), "execute bit");
        assert_eq!(entries(exec.bytes())[0].1, 0o755);
        // Other permission bits do not matter: only "executable or not" is stored.
        fs::set_permissions(dir.join("main.py"), fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(package(&dir).unwrap().hash(), renamed.hash());
    }
}

#[test]
fn a_single_file_is_one_entry_under_its_own_name() {
    let dir = scratch("file");
    write(&dir, "handler.py", "def handler(e, c): pass\n");
    let a = package(&dir.join("handler.py")).unwrap();
    assert_eq!(a.packaging(), Packaging::File);
    let got = entries(a.bytes());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "handler.py");
    assert_eq!(got[0].3, "def handler(e, c): pass\n");
    // The same file elsewhere, under the same name: the same asset.
    let other = scratch("file-elsewhere");
    write(&other, "handler.py", "def handler(e, c): pass\n");
    assert_eq!(package(&other.join("handler.py")).unwrap().hash(), a.hash());
}

#[test]
fn paths_that_cannot_be_packaged_are_typed_errors_naming_the_path() {
    let dir = scratch("errors");
    let missing = dir.join("nope");
    let e = package(&missing).unwrap_err();
    assert!(
        matches!(&e, AssetError::Missing { path } if *path == missing),
        "{e:?}"
    );
    assert_eq!(e.code(), "asset-missing");
    assert!(e.to_string().contains("no such file or directory"), "{e}");

    let empty = dir.join("empty");
    fs::create_dir_all(empty.join("only/subdirectories")).unwrap();
    let e = package(&empty).unwrap_err();
    assert!(
        matches!(&e, AssetError::EmptyDirectory { path } if *path == empty),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "asset {}: the directory has no files to package",
            empty.display()
        )
    );

    #[cfg(unix)]
    {
        let linked = dir.join("linked");
        write(&linked, "index.py", "x");
        std::os::unix::fs::symlink(dir.join("elsewhere.py"), linked.join("link.py")).unwrap();
        let e = package(&linked).unwrap_err();
        assert!(
            matches!(&e, AssetError::Symlink { path } if *path == linked.join("link.py")),
            "{e:?}"
        );
        assert!(e.to_string().contains("symbolic link"), "{e}");

        // The path itself may be a link: it is what the caller named.
        let target = dir.join("target");
        write(&target, "index.py", "x");
        std::os::unix::fs::symlink(&target, dir.join("via-link")).unwrap();
        assert_eq!(
            package(&dir.join("via-link")).unwrap().hash(),
            package(&target).unwrap().hash()
        );

        let special = dir.join("special");
        write(&special, "index.py", "x");
        let _socket = std::os::unix::net::UnixListener::bind(special.join("control.sock")).unwrap();
        let e = package(&special).unwrap_err();
        assert!(matches!(&e, AssetError::NotAFile { .. }), "{e:?}");
        assert_eq!(e.code(), "asset-not-a-file");
    }
}

#[test]
fn the_construct_registers_the_asset_and_the_function_code_refers_to_it() {
    let dir = scratch("construct");
    write(&dir, "index.py", "def handler(e, c): return 1\n");
    let mut stack = Stack::new("Demo");
    let mut root = stack.root();
    let one = FileAsset::new(&mut root, "Code", FileAssetProps::new(&dir));
    // The same content again, under another id: one asset.
    let two = FileAsset::new(&mut root, "Again", FileAssetProps::new(&dir));
    assert_eq!(one.hash(), two.hash());
    root.add_raw(
        "Fn",
        "AWS::Lambda::Function",
        None,
        json!({"Code": serde_json::to_value(one.lambda_code()).unwrap()}),
    );
    let out = stack.synth().unwrap();
    assert_eq!(out.assets.len(), 1);
    assert_eq!(out.assets[0].hash(), one.hash());
    assert_eq!(
        out.template["Resources"]["Fn"]["Properties"]["Code"],
        json!({
            "S3Bucket": {"Fn::Sub": "cfn-deploy-staging-${AWS::AccountId}-${AWS::Region}"},
            "S3Key": format!("assets/{}.zip", one.hash())
        })
    );
    // Synthesis is byte-identical run to run, assets included.
    let again = stack.synth().unwrap();
    assert_eq!(out.body, again.body);
    assert_eq!(out.assets, again.assets);
}

#[test]
fn a_path_that_cannot_be_packaged_fails_synthesis_at_the_construct_or_is_returned() {
    let dir = scratch("construct-errors");
    let missing = dir.join("handler.py");
    let mut stack = Stack::new("Demo");
    let asset = FileAsset::new(&mut stack.root(), "Code", FileAssetProps::new(&missing));
    assert!(asset.asset().is_none());
    let err = stack.synth().unwrap_err().to_string();
    assert!(err.contains("Demo/Code"), "{err}");
    assert!(err.contains("asset-missing"), "{err}");
    assert!(err.contains(&missing.display().to_string()), "{err}");

    let mut stack = Stack::new("Demo");
    let e =
        FileAsset::try_new(&mut stack.root(), "Code", FileAssetProps::new(&missing)).unwrap_err();
    assert!(matches!(e, AssetError::Missing { .. }));
    let out = stack.synth().expect("nothing was added");
    assert!(out.assets.is_empty());
}
