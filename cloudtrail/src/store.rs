//! The local S3-like directory: objects at `<root>/<bucket>/<key>`, metadata that the file itself
//! cannot carry under `<root>/.s3meta/<bucket>/<key>.json`, every write made visible by an atomic
//! rename.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use md5::Digest as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::{SharedClock, SystemClock};

/// Folder (under the root) holding object metadata, outside every bucket's key space.
pub const META_DIR: &str = ".s3meta";
/// Folder (under the root) where objects are written before being renamed into place.
pub const TMP_DIR: &str = ".s3tmp";
/// S3's content type for an object uploaded without one.
pub const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// How many (bucket, key) -> ETag entries a store remembers for objects without a metadata file.
/// About 10 MiB at most, so a long-running emulator's memory stays flat.
const ETAG_CACHE_CAP: usize = 65_536;

/// The content type an object without a metadata file is served with: log files and digests
/// (`.json.gz`) are `application/x-gzip`, anything else S3's default.
pub fn default_content_type(key: &str) -> &'static str {
    if key.ends_with(".json.gz") {
        crate::logfile::LOG_CONTENT_TYPE
    } else {
        DEFAULT_CONTENT_TYPE
    }
}

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

/// `t` as a file time, `None` if the platform cannot represent it.
fn to_system_time(t: OffsetDateTime) -> Option<SystemTime> {
    let ns = t.unix_timestamp_nanos();
    let abs = Duration::new(
        u64::try_from(ns.unsigned_abs() / 1_000_000_000).ok()?,
        u32::try_from(ns.unsigned_abs() % 1_000_000_000).ok()?,
    );
    if ns >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(abs)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(abs)
    }
}

/// A file time as a date, `None` outside the dates `time` can hold (a file touched to year
/// 300000 by hand must not crash a listing).
fn from_system_time(t: SystemTime) -> Option<OffsetDateTime> {
    let ns = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).ok()?,
        Err(e) => -i128::try_from(e.duration().as_nanos()).ok()?,
    };
    OffsetDateTime::from_unix_timestamp_nanos(ns).ok()
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

/// What a body file's inode says about it: an ETag computed for one stamp is valid while the
/// file still has that stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    size: u64,
    mtime: SystemTime,
    /// Inode number and change time (which the kernel sets on every write and rename, and
    /// nobody can set back): a put through another `LocalDir` that rewrites a key with a body
    /// of the same size in the same millisecond (a stopped test clock) still changes them.
    identity: [i64; 3],
}

impl Stamp {
    fn of(m: &fs::Metadata) -> io::Result<Stamp> {
        #[cfg(unix)]
        let identity = {
            use std::os::unix::fs::MetadataExt as _;
            [m.ino() as i64, m.ctime(), m.ctime_nsec()]
        };
        #[cfg(not(unix))]
        let identity = [0; 3];
        Ok(Stamp {
            size: m.len(),
            mtime: m.modified()?,
            identity,
        })
    }
}

/// A remembered MD5 of a body without a metadata file.
#[derive(Debug, Clone, Copy)]
struct CachedEtag {
    stamp: Stamp,
    md5: [u8; 16],
}

/// A directory laid out like a set of S3 buckets.
///
/// An object whose metadata follows from the file itself (no user metadata, the default content
/// type for its key) has no metadata file: its `LastModified` is the file's modification time,
/// which `put` sets to the store clock's time, and its ETag the MD5 of the body, remembered in a
/// bounded cache for `head` and `list`. Every other object also has `<root>/.s3meta/...`.
pub struct LocalDir {
    root: PathBuf,
    clock: SharedClock,
    fsync: bool,
    tmp_seq: AtomicU64,
    /// `"<bucket>/<key>"` -> MD5 of objects without a metadata file.
    etags: Mutex<HashMap<String, CachedEtag>>,
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

/// A body written to a temporary file and not yet visible; removed on drop unless published.
struct Staged {
    path: PathBuf,
    /// The open file, until `publish` hands it back.
    file: Option<fs::File>,
    /// Whether the file's modification time is exactly the one asked for.
    mtime_exact: bool,
    published: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Maps a failed rename or folder creation to `KeyConflict` when a file stands where a folder
/// must be, or the reverse.
fn place_err(op: &'static str, path: &Path, dest: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let dest = dest.display().to_string();
    let other = io_err(op, path);
    move |e| match e.kind() {
        io::ErrorKind::NotADirectory
        | io::ErrorKind::IsADirectory
        | io::ErrorKind::AlreadyExists
        | io::ErrorKind::DirectoryNotEmpty => StoreError::KeyConflict(dest),
        _ => other(e),
    }
}

fn not_there(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
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
            etags: Mutex::new(HashMap::new()),
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

    /// Writes `bytes` to a new file in [`TMP_DIR`] whose modification time is `mtime`.
    fn stage(&self, bytes: &[u8], mtime: Option<SystemTime>) -> Result<Staged, StoreError> {
        let tmp_dir = self.root.join(TMP_DIR);
        let n = self.tmp_seq.fetch_add(1, Ordering::Relaxed);
        let tmp = tmp_dir.join(format!("{}-{n}.tmp", std::process::id()));
        // The folder is only created when the create says it is missing: no mkdir per write.
        let f = match fs::File::create(&tmp) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(&tmp_dir).map_err(io_err("create", &tmp_dir))?;
                fs::File::create(&tmp).map_err(io_err("create", &tmp))?
            }
            Err(e) => return Err(io_err("create", &tmp)(e)),
        };
        let mut staged = Staged {
            path: tmp,
            file: None,
            mtime_exact: false,
            published: false,
        };
        let f = staged.file.insert(f);
        f.write_all(bytes).map_err(io_err("write", &staged.path))?;
        if let Some(mtime) = mtime {
            f.set_modified(mtime).map_err(io_err("set mtime", &staged.path))?;
            // A file system with coarse times would round it: then the time needs a metadata file.
            staged.mtime_exact = f.metadata().and_then(|m| m.modified()).is_ok_and(|m| m == mtime);
        }
        if self.fsync {
            f.sync_all().map_err(io_err("fsync", &staged.path))?;
        }
        Ok(staged)
    }

    /// Makes a staged file visible at `dest` with one rename. The rename itself tells whether
    /// the key's folders exist: they are only created (and the rename retried once) when it
    /// says `NotFound`, which also covers a folder deleted behind our back. Returns the file,
    /// still open, so its final stamp can be read without another lookup.
    fn publish(&self, mut staged: Staged, dest: &Path) -> Result<Option<fs::File>, StoreError> {
        match fs::rename(&staged.path, dest) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(parent) = dest.parent() {
                    fs::create_dir_all(parent).map_err(place_err("create", parent, dest))?;
                }
                fs::rename(&staged.path, dest).map_err(place_err("rename", dest, dest))?;
            }
            Err(e) => return Err(place_err("rename", dest, dest)(e)),
        }
        staged.published = true;
        Ok(staged.file.take())
    }

    fn cache_key(bucket: &str, key: &str) -> String {
        // Bucket names never contain '/', so this is unambiguous.
        format!("{bucket}/{key}")
    }

    fn cached_md5(&self, ck: &str, stamp: Stamp) -> Option<[u8; 16]> {
        let cache = self.etags.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(ck).filter(|c| c.stamp == stamp).map(|c| c.md5)
    }

    fn remember(&self, ck: String, stamp: Stamp, md5: [u8; 16]) {
        let mut cache = self.etags.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= ETAG_CACHE_CAP && !cache.contains_key(&ck) {
            // Drop about a quarter, chosen by hash order: simple, and the rest stays useful.
            let mut i = 0u32;
            cache.retain(|_, _| {
                i = i.wrapping_add(1);
                !i.is_multiple_of(4)
            });
        }
        cache.insert(ck, CachedEtag { stamp, md5 });
    }

    fn forget(&self, ck: &str) {
        self.etags.lock().unwrap_or_else(|e| e.into_inner()).remove(ck);
    }

    /// Opens an object's body, `None` if there is no such file. Readers open the body before
    /// they look for its metadata file, so that they never pair a new body with the metadata
    /// of the object it replaced (see `put`).
    fn open_body(&self, path: &Path) -> Result<Option<(fs::File, Stamp)>, StoreError> {
        let f = match fs::File::open(path) {
            Ok(f) => f,
            Err(e) if not_there(&e) => return Ok(None),
            Err(e) => return Err(io_err("open", path)(e)),
        };
        let m = f.metadata().map_err(io_err("stat", path))?;
        if !m.is_file() {
            return Ok(None);
        }
        let stamp = Stamp::of(&m).map_err(io_err("stat", path))?;
        Ok(Some((f, stamp)))
    }

    fn read_meta_file(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        let mp = self.meta_path(bucket, key);
        match fs::read(&mp) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::CorruptMeta {
                    key: key.to_owned(),
                    reason: e.to_string(),
                }),
            Err(e) if not_there(&e) => Ok(None),
            Err(e) => Err(io_err("read", &mp)(e)),
        }
    }

    /// The metadata of an opened body: its metadata file if it has one, else what the file
    /// says (content type by key, modification time, MD5 from `body`, the cache, or a read).
    fn describe(
        &self,
        bucket: &str,
        key: &str,
        file: &mut fs::File,
        stamp: Stamp,
        body: Option<&[u8]>,
    ) -> Result<ObjectMeta, StoreError> {
        if let Some(m) = self.read_meta_file(bucket, key)? {
            return Ok(m);
        }
        let ck = Self::cache_key(bucket, key);
        let (md5, size) = match body {
            Some(b) => (md5::Md5::digest(b).into(), b.len() as u64),
            None => match self.cached_md5(&ck, stamp) {
                Some(md5) => (md5, stamp.size),
                None => {
                    let mut hasher = md5::Md5::new();
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut size = 0u64;
                    loop {
                        let n = file.read(&mut buf).map_err(|e| StoreError::Io {
                            op: "read",
                            path: format!("{bucket}/{key}"),
                            source: e,
                        })?;
                        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                            break;
                        };
                        hasher.update(chunk);
                        size += n as u64;
                    }
                    (hasher.finalize().into(), size)
                }
            },
        };
        // Only a body read in full at the stamped size is known to belong to that stamp.
        if size == stamp.size {
            self.remember(ck, stamp, md5);
        }
        Ok(ObjectMeta {
            content_type: default_content_type(key).to_owned(),
            user: BTreeMap::new(),
            last_modified: from_system_time(stamp.mtime)
                .map(truncate_millis)
                .unwrap_or_else(|| truncate_millis(self.clock.now())),
            size,
            etag: hex::encode(md5),
        })
    }

    /// An object's body and metadata, `None` if absent.
    pub fn get(&self, bucket: &str, key: &str) -> Result<Option<(Vec<u8>, ObjectMeta)>, StoreError> {
        Self::check(bucket, key)?;
        let p = self.object_path(bucket, key);
        let Some((mut f, stamp)) = self.open_body(&p)? else {
            return Ok(None);
        };
        let mut body = Vec::with_capacity(usize::try_from(stamp.size).unwrap_or(0));
        f.read_to_end(&mut body).map_err(io_err("read", &p))?;
        let meta = self.describe(bucket, key, &mut f, stamp, Some(&body))?;
        Ok(Some((body, meta)))
    }

    /// An object's metadata, `None` if absent.
    pub fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        Self::check(bucket, key)?;
        let p = self.object_path(bucket, key);
        let Some((mut f, stamp)) = self.open_body(&p)? else {
            return Ok(None);
        };
        self.describe(bucket, key, &mut f, stamp, None).map(Some)
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
            // Gone since the walk: not listed.
            let Some((mut f, stamp)) = self.open_body(&p)? else {
                continue;
            };
            let m = self.describe(bucket, &k, &mut f, stamp, None)?;
            out.push((k, m));
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
                .ok()
                .and_then(from_system_time)
                .unwrap_or_else(|| self.clock.now());
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
        let last_modified = truncate_millis(self.clock.now());
        let md5: [u8; 16] = md5::Md5::digest(body).into();
        let meta = ObjectMeta {
            content_type: content_type.to_owned(),
            user: user_meta
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
            last_modified,
            size: body.len() as u64,
            etag: hex::encode(md5),
        };
        let mtime = to_system_time(last_modified);
        let staged = self.stage(body, mtime)?;
        let object = self.object_path(bucket, key);
        let meta_path = self.meta_path(bucket, key);
        let ck = Self::cache_key(bucket, key);
        let implicit =
            meta.user.is_empty() && content_type == default_content_type(key) && staged.mtime_exact;
        if implicit {
            // One file, one inode: the body carries its own metadata. Metadata left by an
            // earlier put of this key goes first; readers open the body before they look for
            // metadata, so they may see the old body without its metadata for a moment, but
            // never the new body with the old metadata.
            match fs::remove_file(&meta_path) {
                Ok(()) => {}
                Err(e) if not_there(&e) => {}
                Err(e) => return Err(io_err("remove", &meta_path)(e)),
            }
            let file = self.publish(staged, &object)?;
            // The stamp of our own inode, after the rename changed its change time.
            match file.map(|f| f.metadata().and_then(|m| Stamp::of(&m))) {
                Some(Ok(stamp)) if stamp.size == meta.size => self.remember(ck, stamp, md5),
                _ => self.forget(&ck),
            }
        } else {
            // Metadata first: whoever sees the object also finds its metadata.
            let meta_json = serde_json::to_vec(&meta).unwrap_or_default();
            let staged_meta = self.stage(&meta_json, mtime)?;
            self.publish(staged_meta, &meta_path)?;
            self.publish(staged, &object)?;
            self.forget(&ck);
        }
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
        assert!(matches!(
            s.put("my-bucket", "a", b"", "t", &BTreeMap::new()),
            Err(StoreError::KeyConflict(_))
        ));
        assert!(matches!(
            s.put("my-bucket", "a/b/c", b"", "t", &BTreeMap::new()),
            Err(StoreError::KeyConflict(_))
        ));
        // The same with objects that have no metadata file.
        s.put("my-bucket", "p/q", b"", DEFAULT_CONTENT_TYPE, &BTreeMap::new())
            .unwrap();
        for key in ["p", "p/q/r"] {
            assert!(matches!(
                s.put("my-bucket", key, b"", DEFAULT_CONTENT_TYPE, &BTreeMap::new()),
                Err(StoreError::KeyConflict(_))
            ));
        }
        // Nothing half-written is left behind by the refusals.
        assert_eq!(fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(), 0);
        assert_eq!(s.head("my-bucket", "p").unwrap(), None);
    }

    fn clock_at(unix_nanos: i128) -> std::sync::Arc<crate::clock::ManualClock> {
        crate::clock::ManualClock::new(OffsetDateTime::from_unix_timestamp_nanos(unix_nanos).unwrap())
    }

    fn listed(s: &LocalDir, bucket: &str) -> Vec<(String, ObjectMeta)> {
        s.list(bucket, "", None, usize::MAX).unwrap().unwrap()
    }

    #[test]
    fn default_content_type_follows_the_key() {
        assert_eq!(default_content_type("AWSLogs/1/x.json.gz"), "application/x-gzip");
        assert_eq!(default_content_type("x.json"), "binary/octet-stream");
        assert_eq!(default_content_type("x.gz"), "binary/octet-stream");
    }

    #[test]
    fn plain_objects_have_no_metadata_file() {
        let dir = tempfile::tempdir().unwrap();
        // Sub-millisecond digits, which S3's precision drops.
        let clock = clock_at(1_763_700_000_123_456_789);
        let s = LocalDir::with_clock(dir.path(), clock.clone());
        let none = BTreeMap::new();
        let log = s
            .put(
                "my-bucket",
                "AWSLogs/1/a.json.gz",
                b"hello",
                "application/x-gzip",
                &none,
            )
            .unwrap();
        clock.advance(Duration::from_millis(1500));
        let other = s
            .put(
                "my-bucket",
                "notes/b",
                b"other body",
                "binary/octet-stream",
                &none,
            )
            .unwrap();
        assert!(!dir.path().join(META_DIR).exists(), "no metadata file at all");
        assert_eq!(log.content_type, "application/x-gzip");
        assert_eq!(log.etag, "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(log.size, 5);
        assert_eq!(
            log.last_modified,
            OffsetDateTime::from_unix_timestamp_nanos(1_763_700_000_123_000_000).unwrap()
        );
        assert_eq!(
            other.last_modified,
            OffsetDateTime::from_unix_timestamp_nanos(1_763_700_001_623_000_000).unwrap()
        );
        // The same answers from this store (cache filled by put) and from a fresh one (no cache).
        let fresh = LocalDir::new(dir.path());
        for st in [&s, &fresh] {
            assert_eq!(
                st.head("my-bucket", "AWSLogs/1/a.json.gz").unwrap().as_ref(),
                Some(&log)
            );
            assert_eq!(st.head("my-bucket", "notes/b").unwrap().as_ref(), Some(&other));
            let (body, m) = st.get("my-bucket", "AWSLogs/1/a.json.gz").unwrap().unwrap();
            assert_eq!((body.as_slice(), &m), (&b"hello"[..], &log));
            assert_eq!(
                listed(st, "my-bucket"),
                [
                    ("AWSLogs/1/a.json.gz".to_owned(), log.clone()),
                    ("notes/b".to_owned(), other.clone())
                ]
            );
        }
    }

    #[test]
    fn objects_with_user_metadata_or_another_type_keep_a_metadata_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalDir::with_clock(dir.path(), clock_at(1_700_000_000_000_000_000));
        let um = BTreeMap::from([("Signature".to_owned(), "abc".to_owned())]);
        let signed = s
            .put("my-bucket", "d/x.json.gz", b"digest", "application/x-gzip", &um)
            .unwrap();
        let typed = s
            .put(
                "my-bucket",
                "d/y.json.gz",
                b"json",
                "application/json",
                &BTreeMap::new(),
            )
            .unwrap();
        assert!(s.meta_path("my-bucket", "d/x.json.gz").is_file());
        assert!(s.meta_path("my-bucket", "d/y.json.gz").is_file());
        let fresh = LocalDir::new(dir.path());
        assert_eq!(fresh.head("my-bucket", "d/x.json.gz").unwrap(), Some(signed));
        assert_eq!(
            fresh.head("my-bucket", "d/y.json.gz").unwrap(),
            Some(typed.clone())
        );
        assert_eq!(typed.content_type, "application/json");
    }

    #[test]
    fn a_plain_put_replaces_metadata_left_by_an_earlier_put() {
        let dir = tempfile::tempdir().unwrap();
        let clock = clock_at(1_700_000_000_000_000_000);
        let s = LocalDir::with_clock(dir.path(), clock.clone());
        let um = BTreeMap::from([("signature".to_owned(), "abc".to_owned())]);
        s.put("my-bucket", "k.json.gz", b"first", "application/x-gzip", &um)
            .unwrap();
        clock.advance(Duration::from_secs(60));
        let second = s
            .put(
                "my-bucket",
                "k.json.gz",
                b"second body",
                "application/x-gzip",
                &BTreeMap::new(),
            )
            .unwrap();
        assert!(!s.meta_path("my-bucket", "k.json.gz").exists());
        assert!(second.user.is_empty());
        assert_eq!(s.head("my-bucket", "k.json.gz").unwrap().as_ref(), Some(&second));
        assert_eq!(s.get("my-bucket", "k.json.gz").unwrap().unwrap().1, second);
        // And back: metadata again, not the cached plain answer.
        clock.advance(Duration::from_secs(60));
        let third = s
            .put("my-bucket", "k.json.gz", b"third", "application/x-gzip", &um)
            .unwrap();
        assert_eq!(s.head("my-bucket", "k.json.gz").unwrap(), Some(third));
    }

    #[test]
    fn a_file_dropped_in_by_hand_is_described_by_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalDir::new(dir.path());
        let when = OffsetDateTime::from_unix_timestamp_nanos(1_600_000_000_987_654_321).unwrap();
        for (key, ct) in [
            ("AWSLogs/x.json.gz", "application/x-gzip"),
            ("AWSLogs/readme.txt", "binary/octet-stream"),
        ] {
            let p = s.object_path("my-bucket", key);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, b"hello").unwrap();
            fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(to_system_time(when).unwrap())
                .unwrap();
            let m = s.head("my-bucket", key).unwrap().unwrap();
            assert_eq!(m.content_type, ct);
            assert!(m.user.is_empty());
            assert_eq!(m.last_modified, truncate_millis(when));
            assert_eq!(m.size, 5);
            assert_eq!(m.etag, "5d41402abc4b2a76b9719d911017c592");
            assert_eq!(s.get("my-bucket", key).unwrap().unwrap().1, m);
        }
    }

    #[test]
    fn the_etag_cache_notices_a_file_changed_behind_its_back() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalDir::with_clock(dir.path(), clock_at(1_700_000_000_000_000_000));
        let put = s
            .put(
                "my-bucket",
                "f.json.gz",
                b"hello",
                "application/x-gzip",
                &BTreeMap::new(),
            )
            .unwrap();
        let p = s.object_path("my-bucket", "f.json.gz");
        // A different size with the very same modification time.
        fs::write(&p, b"hello, world").unwrap();
        let f = fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(to_system_time(put.last_modified).unwrap())
            .unwrap();
        drop(f);
        let m = s.head("my-bucket", "f.json.gz").unwrap().unwrap();
        assert_eq!(m.size, 12);
        assert_eq!(m.etag, hex::encode(md5::Md5::digest(b"hello, world")));
        assert_eq!(m.last_modified, put.last_modified);
        assert_eq!(listed(&s, "my-bucket"), [("f.json.gz".to_owned(), m.clone())]);
        // The same size with a new modification time: the time must tell.
        fs::write(&p, b"HELLO, WORLD").unwrap();
        let m2 = s.head("my-bucket", "f.json.gz").unwrap().unwrap();
        assert_eq!(m2.etag, hex::encode(md5::Md5::digest(b"HELLO, WORLD")));
    }

    #[test]
    fn a_rewrite_through_another_store_in_the_same_millisecond_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let clock = clock_at(1_700_000_000_000_000_000);
        let (a, b) = (
            LocalDir::with_clock(dir.path(), clock.clone()),
            LocalDir::with_clock(dir.path(), clock),
        );
        let none = BTreeMap::new();
        a.put("my-bucket", "k.json.gz", b"aaaa", "application/x-gzip", &none)
            .unwrap();
        assert!(a.head("my-bucket", "k.json.gz").unwrap().is_some());
        // Same size, same (stopped) clock, a different body, through the other store.
        let put = b
            .put("my-bucket", "k.json.gz", b"bbbb", "application/x-gzip", &none)
            .unwrap();
        assert_eq!(a.head("my-bucket", "k.json.gz").unwrap(), Some(put));
    }

    #[test]
    fn the_etag_cache_stays_bounded() {
        let s = LocalDir::new("unused");
        let stamp = Stamp {
            size: 1,
            mtime: SystemTime::UNIX_EPOCH,
            identity: [0; 3],
        };
        for i in 0..=ETAG_CACHE_CAP {
            s.remember(format!("b/{i}"), stamp, [0; 16]);
        }
        let len = s.etags.lock().unwrap().len();
        assert!(len <= ETAG_CACHE_CAP && len > ETAG_CACHE_CAP / 2, "{len}");
        assert!(s.cached_md5(&format!("b/{ETAG_CACHE_CAP}"), stamp).is_some());
    }

    #[test]
    fn folders_deleted_behind_our_back_are_created_again() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalDir::new(dir.path());
        let none = BTreeMap::new();
        let um = BTreeMap::from([("signature".to_owned(), "abc".to_owned())]);
        s.put("my-bucket", "a/b/c.json.gz", b"1", "application/x-gzip", &none)
            .unwrap();
        s.put("my-bucket", "a/b/d.json.gz", b"1", "application/x-gzip", &um)
            .unwrap();
        for gone in [
            dir.path().join("my-bucket"),
            dir.path().join(TMP_DIR),
            dir.path().join(META_DIR),
        ] {
            fs::remove_dir_all(gone).unwrap();
        }
        let m = s
            .put("my-bucket", "a/b/c.json.gz", b"2", "application/x-gzip", &none)
            .unwrap();
        let m2 = s
            .put("my-bucket", "a/b/d.json.gz", b"2", "application/x-gzip", &um)
            .unwrap();
        assert_eq!(s.head("my-bucket", "a/b/c.json.gz").unwrap(), Some(m));
        assert_eq!(s.head("my-bucket", "a/b/d.json.gz").unwrap(), Some(m2));
    }

    #[test]
    fn put_and_head_agree_for_any_clock_time() {
        let dir = tempfile::tempdir().unwrap();
        // Before 1970 and far ahead: whether or not the file system takes the time, the store
        // answers what put returned (falling back to a metadata file if it must).
        for ns in [-315_619_200_000_000_000_i128, 0, 4_102_444_800_999_999_999] {
            let s = LocalDir::with_clock(dir.path(), clock_at(ns));
            let m = s
                .put(
                    "my-bucket",
                    "t.json.gz",
                    b"x",
                    "application/x-gzip",
                    &BTreeMap::new(),
                )
                .unwrap();
            assert_eq!(
                LocalDir::new(dir.path()).head("my-bucket", "t.json.gz").unwrap(),
                Some(m)
            );
        }
    }
    /// The write path before this store had implicit metadata, kept only as the baseline of
    /// `measure_puts`: a metadata file and the body, each through a temporary file, with
    /// `create_dir_all` before every create and rename.
    fn baseline_put(root: &Path, bucket: &str, key: &str, body: &[u8], seq: &mut u64) {
        let meta_json = format!("{{\"etag\":\"{}\"}}", hex::encode(md5::Md5::digest(body)));
        let meta = root.join(META_DIR).join(bucket).join(format!("{key}.json"));
        let object = root.join(bucket).join(key);
        for (dest, bytes) in [(meta, meta_json.as_bytes()), (object, body)] {
            let tmp_dir = root.join(TMP_DIR);
            fs::create_dir_all(&tmp_dir).unwrap();
            *seq += 1;
            let tmp = tmp_dir.join(format!("baseline-{seq}.tmp"));
            fs::File::create(&tmp).unwrap().write_all(bytes).unwrap();
            fs::create_dir_all(dest.parent().unwrap()).unwrap();
            assert!(!dest.is_dir());
            fs::rename(&tmp, &dest).unwrap();
        }
    }

    /// A one-off measure, not a timed test: `MEASURE_DIR=target cargo test -p cloudtrail --lib
    /// store::tests::measure_puts -- --ignored --nocapture` times small log puts through the
    /// baseline write path and through `LocalDir::put`, interleaved in batches so both see the
    /// same disk, first into new folders, then into the same folders again (as in a running
    /// emulator), and counts the files (inodes) each put left. Run it under
    /// `strace -f -c -e trace=mkdir` to count folder creations.
    #[test]
    #[ignore]
    fn measure_puts() {
        let dir = tempfile::tempdir_in(std::env::var("MEASURE_DIR").unwrap_or_else(|_| ".".into())).unwrap();
        let s = LocalDir::new(dir.path());
        let n: u32 = std::env::var("MEASURE_PUTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2_000);
        let batch = 100;
        let key = |i: u32| {
            format!(
                "AWSLogs/{:012}/CloudTrail/region-{}/2026/11/21/f{i}.json.gz",
                i % 64,
                i % 7
            )
        };
        fn count(p: &Path) -> usize {
            fs::read_dir(p)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| if e.path().is_dir() { count(&e.path()) } else { 1 })
                        .sum()
                })
                .unwrap_or(0)
        }
        let mut seq = 0;
        for (pass, first) in [("new folders", 0), ("existing folders", n)] {
            let (mut old_t, mut new_t) = (Duration::ZERO, Duration::ZERO);
            let (mut old_files, mut new_files) = (0, 0);
            for start in (first..first + n).step_by(batch) {
                let end = (start + batch as u32).min(first + n);
                let before = count(dir.path());
                let t = std::time::Instant::now();
                for i in start..end {
                    baseline_put(dir.path(), "old-bucket", &key(i), b"small body", &mut seq);
                }
                old_t += t.elapsed();
                let mid = count(dir.path());
                let t = std::time::Instant::now();
                for i in start..end {
                    s.put(
                        "new-bucket",
                        &key(i),
                        b"small body",
                        "application/x-gzip",
                        &BTreeMap::new(),
                    )
                    .unwrap();
                }
                new_t += t.elapsed();
                old_files += mid - before;
                new_files += count(dir.path()) - mid;
            }
            let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(n);
            println!(
                "{pass}: {n} puts, baseline {:.1} us/put ({:.2} files/object), LocalDir::put {:.1} us/put \
                 ({:.2} files/object), ratio {:.2}",
                per(old_t),
                old_files as f64 / f64::from(n),
                per(new_t),
                new_files as f64 / f64::from(n),
                new_t.as_secs_f64() / old_t.as_secs_f64()
            );
        }
    }
}
