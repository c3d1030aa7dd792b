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
    #[serde(with = "crate::timefmt::unix_millis")]
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

impl StoreError {
    /// Whether the same put can never succeed, whatever happens to the store meanwhile: the
    /// bucket or key itself is invalid. A key that conflicts with a file or folder is not: the
    /// conflict is in the store, and an operator can clear it.
    pub fn is_permanent(&self) -> bool {
        matches!(self, StoreError::InvalidBucket(_) | StoreError::InvalidKey(_))
    }
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

/// One object to write.
#[derive(Debug, Clone, Copy)]
pub struct PutObject<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// The key.
    pub key: &'a str,
    /// The whole body.
    pub body: &'a [u8],
    /// `Content-Type`.
    pub content_type: &'a str,
    /// `x-amz-meta-*` metadata, without the prefix.
    pub user_meta: &'a BTreeMap<String, String>,
}

/// Where log files (and digests) are put. The delivery pipeline only needs `put`.
pub trait ObjectStore: Send + Sync + 'static {
    /// Writes an object so that readers see either nothing or the whole body.
    fn put_object(&self, object: &PutObject<'_>) -> Result<ObjectMeta, StoreError>;

    /// [`ObjectStore::put_object`] with the object's parts.
    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        content_type: &str,
        user_meta: &BTreeMap<String, String>,
    ) -> Result<ObjectMeta, StoreError> {
        self.put_object(&PutObject {
            bucket,
            key,
            body,
            content_type,
            user_meta,
        })
    }

    /// Whether an object is there: `Some` when the store can tell cheaply, `None` when it
    /// cannot (the pipeline then assumes it is not, and may deliver a file twice after a crash).
    fn exists(&self, _bucket: &str, _key: &str) -> Option<bool> {
        None
    }
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
    /// Whether puts hash what they write (see [`LocalDir::hashing_puts`]).
    hash_puts: bool,
    tmp_seq: AtomicU64,
    /// The process id, in staging names (read once: it is a system call).
    pid: u32,
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

/// Whether the opened file is still the one at `path` (not swapped for a link after the check).
#[cfg(unix)]
fn same_file(opened: &fs::Metadata, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path)
        .is_ok_and(|m| m.is_file() && m.dev() == opened.dev() && m.ino() == opened.ino())
}

#[cfg(not(unix))]
fn same_file(_opened: &fs::Metadata, path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
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
            hash_puts: true,
            tmp_seq: AtomicU64::new(0),
            pid: std::process::id(),
            etags: Mutex::new(HashMap::new()),
        }
    }

    /// Also `fsync` every object before it becomes visible (survives power loss, costs throughput).
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }

    /// Whether a put computes the object's ETag (the MD5 of its body) and remembers it for
    /// `head` and `list` (the default). A store that only writes, such as an offline generator
    /// run, can leave it out: its puts then answer an empty `etag`, and `head` and `list`
    /// compute the ETag from the file when they are asked.
    pub fn hashing_puts(mut self, hash: bool) -> Self {
        self.hash_puts = hash;
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
        let tmp = tmp_dir.join(format!("{}-{n}.tmp", self.pid));
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

    /// Makes a staged file visible at `dest` with one rename (folders are made only when the
    /// rename finds them missing). Returns the file, still open, so its final stamp can be read
    /// without another lookup.
    fn publish(&self, mut staged: Staged, dest: &Path) -> Result<Option<fs::File>, StoreError> {
        crate::atomic::rename_into_place(&staged.path, dest)
            .map_err(|e| place_err(e.step, &e.path, dest)(e.source))?;
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
    /// A symbolic link anywhere below the data directory (the bucket, a folder, the object)
    /// makes the object absent: the store never serves a file from outside its buckets.
    fn open_body(&self, path: &Path) -> Result<Option<(fs::File, Stamp)>, StoreError> {
        if !self.no_links_below_root(path) {
            return Ok(None);
        }
        let f = match fs::File::open(path) {
            Ok(f) => f,
            Err(e) if not_there(&e) => return Ok(None),
            Err(e) => return Err(io_err("open", path)(e)),
        };
        let m = f.metadata().map_err(io_err("stat", path))?;
        if !m.is_file() || !same_file(&m, path) {
            return Ok(None);
        }
        let stamp = Stamp::of(&m).map_err(io_err("stat", path))?;
        Ok(Some((f, stamp)))
    }

    /// Whether every component of `path` below the root is a real directory or file, not a
    /// symbolic link.
    fn no_links_below_root(&self, path: &Path) -> bool {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return false;
        };
        let mut at = self.root.clone();
        for c in rel.components() {
            at.push(c);
            match fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => return false,
                Ok(_) => {}
                // Absent: the open that follows finds nothing either.
                Err(_) => return true,
            }
        }
        true
    }

    fn read_meta_file(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        let mp = self.meta_path(bucket, key);
        if !self.no_links_below_root(&mp) {
            return Ok(None);
        }
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
        if !fs::symlink_metadata(&broot).is_ok_and(|m| m.is_dir()) {
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
            // Not followed: a link named like a bucket is not one.
            let Ok(meta) = fs::symlink_metadata(entry.path()) else {
                continue;
            };
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

/// Every regular file under `dir`, in its subfolders too, sorted; links are not followed, and a
/// folder that cannot be read counts as empty. For tools and tests that look at what a bucket
/// folder holds on disk, whatever its layout.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn add(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => add(&e.path(), out),
                Ok(t) if t.is_file() => out.push(e.path()),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    add(dir, &mut out);
    out.sort();
    out
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
    fn exists(&self, bucket: &str, key: &str) -> Option<bool> {
        match self.head(bucket, key) {
            Ok(found) => Some(found.is_some()),
            Err(_) => None,
        }
    }

    fn put_object(&self, object: &PutObject<'_>) -> Result<ObjectMeta, StoreError> {
        let (bucket, key, body) = (object.bucket, object.key, object.body);
        let (content_type, user_meta) = (object.content_type, object.user_meta);
        Self::check(bucket, key)?;
        let last_modified = truncate_millis(self.clock.now());
        let md5: Option<[u8; 16]> = self.hash_puts.then(|| md5::Md5::digest(body).into());
        let mut meta = ObjectMeta {
            content_type: content_type.to_owned(),
            user: user_meta
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
            last_modified,
            size: body.len() as u64,
            etag: md5.map(hex::encode).unwrap_or_default(),
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
            let stamp = || file.map(|f| f.metadata().and_then(|m| Stamp::of(&m)));
            match md5.map(|md5| (md5, stamp())) {
                Some((md5, Some(Ok(stamp)))) if stamp.size == meta.size => self.remember(ck, stamp, md5),
                _ => self.forget(&ck),
            }
        } else {
            // Metadata first: whoever sees the object also finds its metadata.
            // A metadata file always holds the ETag, hashing puts or not.
            if meta.etag.is_empty() {
                meta.etag = hex::encode(md5::Md5::digest(body));
            }
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
mod tests;
