//! Files made visible whole: written under a temporary name, synced, and renamed into place.
//! Every small state file of the crate (trails, digest chains, signing keys) is written through
//! [`write_atomic`]; the object store stages its bodies its own way and publishes them with
//! [`rename_into_place`].

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Which step of [`rename_into_place`] failed, and on which path.
#[derive(Debug)]
pub(crate) struct PlaceError {
    /// `create` (the destination's folder) or `rename`.
    pub(crate) step: &'static str,
    /// The folder that could not be created, or the destination.
    pub(crate) path: PathBuf,
    /// The OS error.
    pub(crate) source: io::Error,
}

impl From<PlaceError> for io::Error {
    fn from(e: PlaceError) -> io::Error {
        io::Error::new(
            e.source.kind(),
            format!("{} {}: {}", e.step, e.path.display(), e.source),
        )
    }
}

/// Renames `from` to `to` in one step. The rename itself tells whether `to`'s folders exist:
/// they are created (and the rename retried once) only when it says `NotFound`, so the common
/// case costs no `mkdir`, and a folder deleted behind our back is made again.
pub(crate) fn rename_into_place(from: &Path, to: &Path) -> Result<(), PlaceError> {
    let rename_err = |source| PlaceError {
        step: "rename",
        path: to.to_path_buf(),
        source,
    };
    match fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(|source| PlaceError {
                    step: "create",
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            fs::rename(from, to).map_err(rename_err)
        }
        Err(e) => Err(rename_err(e)),
    }
}

/// Who may read a file written by [`write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// The process's default permissions.
    Default,
    /// The owner only (`0600` on Unix): private keys.
    Owner,
}

/// Writes `bytes` to `path` so that readers, and a restart after a crash or power loss, find
/// either the old file or the whole new one: a temporary `.<name>.tmp` beside it is written,
/// synced and renamed over it. Missing folders are created. The temporary file is removed
/// when anything fails.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], access: Access) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let result = write_synced(&tmp, bytes, access)
        .and_then(|()| rename_into_place(&tmp, path).map_err(io::Error::from));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// [`write_atomic`] with the process's default permissions, for the state files of other
/// crates.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic(path, bytes, Access::Default)
}

fn write_synced(tmp: &Path, bytes: &[u8], access: Access) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if access == Access::Owner {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = access;
    let mut file = match options.open(tmp) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(dir) = tmp.parent() {
                fs::create_dir_all(dir)?;
            }
            options.open(tmp)?
        }
        Err(e) => return Err(e),
    };
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_creates_folders() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("b").join("state.json");
        write_atomic(&path, b"first", Access::Default).unwrap();
        write_atomic(&path, b"second", Access::Owner).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        // Nothing but the file itself is left beside it.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state.json"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_failed_rename_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A folder stands where the file should go: the rename fails.
        let path = dir.path().join("taken");
        fs::create_dir_all(path.join("inside")).unwrap();
        assert!(write_atomic(&path, b"x", Access::Default).is_err());
        assert!(!dir.path().join(".taken.tmp").exists());
    }
}
