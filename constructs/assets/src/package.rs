//! Packaging: a file or a directory into a deterministic zip.
//!
//! The same content gives the same bytes, whatever the machine, the clock or the order the
//! file system lists a directory in:
//!
//! * entries are sorted by their path inside the zip (`/`-separated, compared as bytes);
//! * every entry has the same timestamp, 1980-01-01 00:00:00 (the earliest a zip can hold);
//! * permissions are fixed: `0644`, or `0755` for a file with any execute bit set (Lambda
//!   runs a custom runtime's `bootstrap` only when it is executable); owners are not stored;
//! * only files are stored, no directory entries (an empty subdirectory is left out);
//! * deflate at level 6, from the `Cargo.lock`-pinned compressor.
//!
//! The path itself is followed if it is a symbolic link (it is what the caller named); links
//! found inside a directory are refused ([`AssetError::Symlink`]): following them could pull
//! in files from outside the asset, loop, or differ from one checkout to another.

use std::fs;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use cfn_core::asset::{Asset, Packaging};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::error::AssetError;

/// The permissions of an ordinary file in the zip.
pub const FILE_MODE: u32 = 0o644;
/// The permissions of a file that had an execute bit.
pub const EXECUTABLE_MODE: u32 = 0o755;

/// One file to store: its name in the zip and where to read it.
#[derive(Debug)]
struct Entry {
    name: String,
    path: PathBuf,
    mode: u32,
    len: u64,
}

/// Packages a file (as one entry under its own name) or a directory (every file below it,
/// under its relative path) into a deterministic zip.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("cfn-assets-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("index.py"), "def handler(e, c): return 1\n").unwrap();
/// let a = cfn_assets::package(&dir).unwrap();
/// let b = cfn_assets::package(&dir).unwrap();
/// assert_eq!(a.hash(), b.hash());
/// assert!(cfn_assets::package(&dir.join("missing")).is_err());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn package(path: &Path) -> Result<Asset, AssetError> {
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => AssetError::Missing {
            path: path.to_owned(),
        },
        _ => AssetError::Unreadable {
            path: path.to_owned(),
            source: e,
        },
    })?;
    let (packaging, mut entries) = if meta.is_dir() {
        let mut entries = Vec::new();
        walk(path, "", &mut entries)?;
        if entries.is_empty() {
            return Err(AssetError::EmptyDirectory {
                path: path.to_owned(),
            });
        }
        (Packaging::Directory, entries)
    } else if meta.is_file() {
        let name = path
            .file_name()
            .ok_or_else(|| AssetError::NotAFile {
                path: path.to_owned(),
            })?
            .to_str()
            .ok_or_else(|| AssetError::NonUtf8Name {
                path: path.to_owned(),
            })?
            .to_owned();
        let entry = Entry {
            name,
            path: path.to_owned(),
            mode: mode(&meta),
            len: meta.len(),
        };
        (Packaging::File, vec![entry])
    } else {
        return Err(AssetError::NotAFile {
            path: path.to_owned(),
        });
    };
    entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let bytes = zip_entries(path, &entries)?;
    Ok(Asset::from_zip(
        bytes,
        packaging,
        path.display().to_string(),
    ))
}

/// Collects every file below `dir`, named `prefix` + its relative path.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<Entry>) -> Result<(), AssetError> {
    let unreadable = |path: &Path, source| AssetError::Unreadable {
        path: path.to_owned(),
        source,
    };
    let listing = fs::read_dir(dir).map_err(|e| unreadable(dir, e))?;
    for item in listing {
        let item = item.map_err(|e| unreadable(dir, e))?;
        let path = item.path();
        let file_name = item.file_name();
        let name = file_name
            .to_str()
            .ok_or_else(|| AssetError::NonUtf8Name { path: path.clone() })?;
        let name = format!("{prefix}{name}");
        // `file_type` does not follow links: a link is seen as one.
        let kind = item.file_type().map_err(|e| unreadable(&path, e))?;
        if kind.is_symlink() {
            return Err(AssetError::Symlink { path });
        } else if kind.is_dir() {
            walk(&path, &format!("{name}/"), out)?;
        } else if kind.is_file() {
            let meta = item.metadata().map_err(|e| unreadable(&path, e))?;
            out.push(Entry {
                name,
                mode: mode(&meta),
                len: meta.len(),
                path,
            });
        } else {
            return Err(AssetError::NotAFile { path });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn mode(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o111 != 0 {
        EXECUTABLE_MODE
    } else {
        FILE_MODE
    }
}

#[cfg(not(unix))]
fn mode(_: &fs::Metadata) -> u32 {
    FILE_MODE
}

/// The zip of `entries`, in the order given.
fn zip_entries(root: &Path, entries: &[Entry]) -> Result<Vec<u8>, AssetError> {
    let zip_error = |e: zip::result::ZipError| AssetError::Zip {
        path: root.to_owned(),
        message: e.to_string(),
    };
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for e in entries {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(6))
            .last_modified_time(DateTime::default())
            .unix_permissions(e.mode)
            .large_file(e.len >= u64::from(u32::MAX));
        w.start_file(e.name.as_str(), options).map_err(zip_error)?;
        let mut file = fs::File::open(&e.path).map_err(|source| AssetError::Unreadable {
            path: e.path.clone(),
            source,
        })?;
        std::io::copy(&mut file, &mut w).map_err(|source| AssetError::Unreadable {
            path: e.path.clone(),
            source,
        })?;
    }
    w.flush().map_err(|e| AssetError::Zip {
        path: root.to_owned(),
        message: e.to_string(),
    })?;
    Ok(w.finish().map_err(zip_error)?.into_inner())
}
