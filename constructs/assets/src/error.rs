//! Why a file or directory could not be packaged.

use std::path::PathBuf;

use thiserror::Error;

/// Why packaging an asset failed. Each names the path it is about.
#[derive(Debug, Error)]
pub enum AssetError {
    /// The path does not exist.
    #[error("asset {path}: no such file or directory")]
    Missing {
        /// The path as given.
        path: PathBuf,
    },
    /// A file or directory could not be read (permissions, IO).
    #[error("asset {path}: cannot read it: {source}")]
    Unreadable {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The directory holds no file at all (subdirectories included).
    #[error("asset {path}: the directory has no files to package")]
    EmptyDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// A symbolic link inside a directory asset: refused, never followed.
    #[error(
        "asset {path}: is a symbolic link; links inside an asset directory are refused (they can point outside it, or nowhere on another machine): copy the file in instead"
    )]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// Neither a regular file nor a directory (a socket, a pipe, a device).
    #[error("asset {path}: not a regular file or directory")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// A name that is not UTF-8, which a zip entry name must be.
    #[error("asset {path}: the name is not valid UTF-8")]
    NonUtf8Name {
        /// The path.
        path: PathBuf,
    },
    /// The zip could not be written.
    #[error("asset {path}: zipping failed: {message}")]
    Zip {
        /// The file or directory being packaged.
        path: PathBuf,
        /// What the zip writer said.
        message: String,
    },
}

impl AssetError {
    /// A short, stable code for the diagnostic a construct records (`asset-missing`).
    pub fn code(&self) -> &'static str {
        match self {
            AssetError::Missing { .. } => "asset-missing",
            AssetError::Unreadable { .. } => "asset-unreadable",
            AssetError::EmptyDirectory { .. } => "asset-empty-directory",
            AssetError::Symlink { .. } => "asset-symlink",
            AssetError::NotAFile { .. } => "asset-not-a-file",
            AssetError::NonUtf8Name { .. } => "asset-non-utf8-name",
            AssetError::Zip { .. } => "asset-zip-failed",
        }
    }
}
