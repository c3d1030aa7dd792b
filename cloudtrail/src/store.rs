//! The local S3-like directory: objects at `<root>/<bucket>/<key>`, their metadata under
//! `<root>/.s3meta/<bucket>/<key>.json`, every write made visible by an atomic rename.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use md5::Digest as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::{SharedClock, SystemClock};

/// Folder (under the root) holding object metadata, outside every bucket's key space.
pub const META_DIR: &str = ".s3meta";
/// Folder (under the root) where objects are written before being renamed into place.
pub const TMP_DIR: &str = ".s3tmp";

/// What S3 would keep beside an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// `Content-Type`.
    pub content_type: String,
    /// User metadata (`x-amz-meta-*` headers), keys without the prefix, lower case.
    pub user: BTreeMap<String, String>,
    /// When the object was written, by the store's clock.
    #[serde(with = "unix_millis")]
    pub last_modified: OffsetDateTime,
    /// Body length in bytes.
    pub size: u64,
    /// Lower-case hex MD5 of the body, without the quotes S3 puts around it in headers.
    pub etag: String,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The bucket name cannot be a bucket (S3 naming rules, roughly).
    #[error("invalid bucket name {0:?}")]
    InvalidBucket(String),
    /// The key cannot be stored as a path (empty, `.`/`..` segments, NUL, too long).
    #[error("invalid object key {0:?}")]
    InvalidKey(String),
    /// The key collides with a folder of other keys, or the reverse.
    #[error("object key {0:?} conflicts with an existing object or folder")]
    KeyConflict(String),
    /// A metadata file could not be read back.
    #[error("corrupt metadata for {key:?}: {reason}")]
    CorruptMeta {
        /// The object key.
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// The file system said no (unwritable directory, disk full, ...).
    #[error("{op} {path}: {source}")]
    Io {
        /// What we were doing.
        op: &'static str,
        /// The path involved.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.display().to_string();
    move |source| StoreError::Io { op, path, source }
}

fn truncate_millis(t: OffsetDateTime) -> OffsetDateTime {
    let ns = t.nanosecond();
    t.replace_nanosecond(ns - ns % 1_000_000).unwrap_or(t)
}

/// `last_modified` as Unix milliseconds (S3's precision) in the metadata files.
mod unix_millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    pub(super) fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64((t.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let ms = i64::deserialize(d)?;
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map_err(serde::de::Error::custom)
    }
}

/// Where log files (and digests) are put. The delivery pipeline only needs `put`.
pub trait ObjectStore: Send + Sync + 'static {
    /// Writes an object so that readers see either nothing or the whole body.
    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        content_type: &str,
        user_meta: &BTreeMap<String, String>,
    ) -> Result<ObjectMeta, StoreError>;
}

/// A directory laid out like a set of S3 buckets.
pub struct LocalDir {
    root: PathBuf,
    clock: SharedClock,
    fsync: bool,
    tmp_seq: AtomicU64,
}

impl std::fmt::Debug for LocalDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalDir").field("root", &self.root).finish()
    }
}

/// S3's bucket naming rules, reduced to what keeps a name a single safe path segment.
pub fn valid_bucket(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && bucket
            .as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && bucket
            .as_bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && !bucket.contains("..")
}

/// Whether a key can be stored as a relative path without escaping its bucket.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 1024
        && !key.contains('\0')
        && !key.contains('\\')
        && key
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != ".." && seg.len() <= 255)
}

impl LocalDir {
    /// A store rooted at `root` (created on first write), stamping times with the system clock.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self::with_clock(root, std::sync::Arc::new(SystemClock))
    }

    /// A store that stamps `last_modified` with `clock`.
    pub fn with_clock(root: impl Into<PathBuf>, clock: SharedClock) -> Self {
        LocalDir {
            root: root.into(),
            clock,
            fsync: false,
            tmp_seq: AtomicU64::new(0),
        }
    }

    /// Also `fsync` every object before it becomes visible (survives power loss, costs throughput).
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of an object's body.
    pub fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }

    fn meta_path(&self, bucket: &str, key: &str) -> PathBuf {
        let mut p = self.root.join(META_DIR).join(bucket).join(key).into_os_string();
        p.push(".json");
        PathBuf::from(p)
    }

    fn check(bucket: &str, key: &str) -> Result<(), StoreError> {
        if !valid_bucket(bucket) {
            return Err(StoreError::InvalidBucket(bucket.to_owned()));
        }
        if !valid_key(key) {
            return Err(StoreError::InvalidKey(key.to_owned()));
        }
        Ok(())
    }

    /// Creates a bucket folder (idempotent).
    pub fn create_bucket(&self, bucket: &str) -> Result<(), StoreError> {
        if !valid_bucket(bucket) {
            return Err(StoreError::InvalidBucket(bucket.to_owned()));
        }
        let p = self.root.join(bucket);
        fs::create_dir_all(&p).map_err(io_err("create bucket", &p))
    }

    /// Writes `bytes` to `dest` through a temporary file in [`TMP_DIR`] and a rename.
    fn write_atomic(&self, dest: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let tmp_dir = self.root.join(TMP_DIR);
        fs::create_dir_all(&tmp_dir).map_err(io_err("create", &tmp_dir))?;
        let n = self.tmp_seq.fetch_add(1, Ordering::Relaxed);
        let tmp = tmp_dir.join(format!("{}-{n}.tmp", std::process::id()));
        let result = (|| {
            let mut f = fs::File::create(&tmp).map_err(io_err("create", &tmp))?;
            f.write_all(bytes).map_err(io_err("write", &tmp))?;
            if self.fsync {
                f.sync_all().map_err(io_err("fsync", &tmp))?;
            }
            drop(f);
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(|e| {
                    if e.kind() == io::ErrorKind::NotADirectory || e.kind() == io::ErrorKind::AlreadyExists {
                        StoreError::KeyConflict(dest.display().to_string())
                    } else {
                        io_err("create", parent)(e)
                    }
                })?;
            }
            if dest.is_dir() {
                return Err(StoreError::KeyConflict(dest.display().to_string()));
            }
            fs::rename(&tmp, dest).map_err(io_err("rename", dest))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn read_meta(&self, bucket: &str, key: &str, body_path: &Path) -> Result<Option<ObjectMeta>, StoreError> {
        let mp = self.meta_path(bucket, key);
        match fs::read(&mp) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::CorruptMeta {
                    key: key.to_owned(),
                    reason: e.to_string(),
                }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // An object dropped in by hand has no metadata: describe it from the file itself.
                match fs::metadata(body_path) {
                    Ok(m) if m.is_file() => {
                        let body = fs::read(body_path).map_err(io_err("read", body_path))?;
                        let modified = m
                            .modified()
                            .map(OffsetDateTime::from)
                            .unwrap_or_else(|_| self.clock.now());
                        Ok(Some(ObjectMeta {
                            content_type: "binary/octet-stream".to_owned(),
                            user: BTreeMap::new(),
                            last_modified: modified,
                            size: m.len(),
                            etag: hex::encode(md5::Md5::digest(&body)),
                        }))
                    }
                    Ok(_) => Ok(None),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(io_err("stat", body_path)(e)),
                }
            }
            Err(e) => Err(io_err("read", &mp)(e)),
        }
    }

    /// An object's body and metadata, `None` if absent.
    pub fn get(&self, bucket: &str, key: &str) -> Result<Option<(Vec<u8>, ObjectMeta)>, StoreError> {
        Self::check(bucket, key)?;
        let p = self.object_path(bucket, key);
        let body = match fs::read(&p) {
            Ok(b) => b,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(io_err("read", &p)(e)),
        };
        Ok(self.read_meta(bucket, key, &p)?.map(|m| (body, m)))
    }

    /// An object's metadata, `None` if absent.
    pub fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        Self::check(bucket, key)?;
        let p = self.object_path(bucket, key);
        if !p.is_file() {
            return Ok(None);
        }
        self.read_meta(bucket, key, &p)
    }

    /// Keys under `prefix` in lexicographic (UTF-8 byte) order, after `start_after`, at most `max`.
    /// `None` when the bucket does not exist.
    pub fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
        max: usize,
    ) -> Result<Option<Vec<(String, ObjectMeta)>>, StoreError> {
        if !valid_bucket(bucket) {
            return Ok(None);
        }
        let broot = self.root.join(bucket);
        if !broot.is_dir() {
            return Ok(None);
        }
        // Only walk the deepest folder the prefix names in full.
        let folder = match prefix.rfind('/') {
            Some(i) => prefix.get(..i).unwrap_or(""),
            None => "",
        };
        let start = if folder.is_empty() {
            broot.clone()
        } else if folder.split('/').all(|s| !s.is_empty() && s != "." && s != "..") {
            broot.join(folder)
        } else {
            return Ok(Some(Vec::new()));
        };
        let mut keys = Vec::new();
        walk(&start, &broot, &mut keys)?;
        keys.retain(|k| k.starts_with(prefix) && start_after.is_none_or(|s| k.as_str() > s));
        keys.sort_unstable();
        keys.truncate(max);
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let p = self.object_path(bucket, &k);
            if let Some(m) = self.read_meta(bucket, &k, &p)? {
                out.push((k, m));
            }
        }
        Ok(Some(out))
    }

    /// Every bucket with its creation time (the folder's modification time, which is the
    /// closest a plain directory keeps).
    pub fn buckets(&self) -> Result<Vec<(String, OffsetDateTime)>, StoreError> {
        let rd = match fs::read_dir(&self.root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("list", &self.root)(e)),
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(io_err("list", &self.root))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !valid_bucket(&name) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_dir() {
                continue;
            }
            let created = meta
                .created()
                .or_else(|_| meta.modified())
                .map(OffsetDateTime::from)
                .unwrap_or_else(|_| self.clock.now());
            out.push((name, created));
        }
        out.sort();
        Ok(out)
    }
}

fn walk(dir: &Path, broot: &Path, out: &mut Vec<String>) -> Result<(), StoreError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => return Ok(()),
        Err(e) => return Err(io_err("list", dir)(e)),
    };
    for entry in rd {
        let entry = entry.map_err(io_err("list", dir))?;
        let Ok(ft) = entry.file_type() else { continue };
        let path = entry.path();
        if ft.is_dir() {
            walk(&path, broot, out)?;
        } else if ft.is_file()
            && let Ok(rel) = path.strip_prefix(broot)
            && let Some(rel) = rel.to_str()
        {
            out.push(rel.replace(std::path::MAIN_SEPARATOR, "/"));
        }
    }
    Ok(())
}

impl ObjectStore for LocalDir {
    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        content_type: &str,
        user_meta: &BTreeMap<String, String>,
    ) -> Result<ObjectMeta, StoreError> {
        Self::check(bucket, key)?;
        let meta = ObjectMeta {
            content_type: content_type.to_owned(),
            user: user_meta
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
            last_modified: truncate_millis(self.clock.now()),
            size: body.len() as u64,
            etag: hex::encode(md5::Md5::digest(body)),
        };
        // Metadata first: whoever sees the object also finds its metadata.
        let meta_json = serde_json::to_vec(&meta).unwrap_or_default();
        self.write_atomic(&self.meta_path(bucket, key), &meta_json)?;
        self.write_atomic(&self.object_path(bucket, key), body)?;
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_head_list() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalDir::new(dir.path());
        let mut um = BTreeMap::new();
        um.insert("Signature".to_owned(), "abc".to_owned());
        let m = s
            .put(
                "my-bucket",
                "AWSLogs/1/a.json.gz",
                b"hello",
                "application/x-gzip",
                &um,
            )
            .unwrap();
        assert_eq!(m.etag, "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(m.user.get("signature").map(String::as_str), Some("abc"));
        s.put("my-bucket", "AWSLogs/1/b.json.gz", b"x", "t", &BTreeMap::new())
            .unwrap();
        s.put("my-bucket", "other", b"y", "t", &BTreeMap::new()).unwrap();
        let (body, meta) = s.get("my-bucket", "AWSLogs/1/a.json.gz").unwrap().unwrap();
        assert_eq!(body, b"hello");
        assert_eq!(meta, m);
        assert_eq!(s.head("my-bucket", "AWSLogs/1/a.json.gz").unwrap(), Some(m));
        assert!(s.get("my-bucket", "nope").unwrap().is_none());
        let keys: Vec<String> = s
            .list("my-bucket", "AWSLogs/", None, 100)
            .unwrap()
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["AWSLogs/1/a.json.gz", "AWSLogs/1/b.json.gz"]);
        let keys: Vec<String> = s
            .list("my-bucket", "", Some("AWSLogs/1/a.json.gz"), 1)
            .unwrap()
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["AWSLogs/1/b.json.gz"]);
        assert!(s.list("no-such-bucket", "", None, 10).unwrap().is_none());
        assert_eq!(
            s.buckets().unwrap().into_iter().map(|b| b.0).collect::<Vec<_>>(),
            ["my-bucket"]
        );
        // Nothing but objects under the bucket folder.
        assert!(!dir.path().join("my-bucket").join(META_DIR).exists());
    }

    #[test]
    fn rejects_keys_that_escape() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalDir::new(dir.path());
        for key in ["", "../x", "a/../../x", "a//b", "/abs", "a/./b"] {
            assert!(matches!(
                s.put("my-bucket", key, b"", "t", &BTreeMap::new()),
                Err(StoreError::InvalidKey(_))
            ));
        }
        assert!(matches!(
            s.put("..", "k", b"", "t", &BTreeMap::new()),
            Err(StoreError::InvalidBucket(_))
        ));
        assert!(matches!(
            s.put(".s3meta", "k", b"", "t", &BTreeMap::new()),
            Err(StoreError::InvalidBucket(_))
        ));
        s.put("my-bucket", "a/b", b"", "t", &BTreeMap::new()).unwrap();
        assert!(s.put("my-bucket", "a", b"", "t", &BTreeMap::new()).is_err());
        assert!(s.put("my-bucket", "a/b/c", b"", "t", &BTreeMap::new()).is_err());
    }
}
