//! The log file writer: `{"Records":[...]}` body, gzip member, object put, and what was written.
//! The delivery pipeline and the offline generator both write files through here.

use std::cell::RefCell;
use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::layout::{LogDestination, log_key};
use crate::record::Record;
use crate::store::{ObjectStore, StoreError};

/// The `Content-Type` we give log objects. AWS does not document it; the body is a raw gzip
/// member and we deliberately set no `Content-Encoding`, so clients hand the gzip bytes to
/// validators untouched (see docs/cloudtrail-format.md).
pub const LOG_CONTENT_TYPE: &str = "application/x-gzip";

/// One delivered log file, as digests and notifications need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenLog {
    /// The trail ARN the file belongs to.
    pub trail: String,
    /// The bucket.
    pub bucket: String,
    /// The full object key.
    pub key: String,
    /// Lower-case hex SHA-256 of the UNCOMPRESSED body (what digest files list).
    pub sha256_hex: String,
    /// The earliest `eventTime` in the file.
    pub oldest_event: OffsetDateTime,
    /// The latest `eventTime` in the file.
    pub newest_event: OffsetDateTime,
    /// The delivery time (the time in the key).
    pub delivered_at: OffsetDateTime,
    /// Records in the file, duplicates included.
    pub records: usize,
    /// Size of the gzip object.
    pub compressed_bytes: usize,
}

/// `{"Records":[...]}` with `Records` the first and only key, records in the order given.
pub fn encode_body(records: &[Record]) -> Vec<u8> {
    let parts: Vec<Vec<u8>> = records.iter().map(Record::to_json).collect();
    encode_raw(parts.iter().map(Vec::as_slice))
}

/// Joins already-serialised records into a body.
pub fn encode_raw<'a>(records: impl IntoIterator<Item = &'a [u8]> + Clone) -> Vec<u8> {
    let mut body = Vec::new();
    encode_raw_into(records, &mut body);
    body
}

/// Like [`encode_raw`], into `body` (replacing its contents).
pub fn encode_raw_into<'a>(records: impl IntoIterator<Item = &'a [u8]> + Clone, body: &mut Vec<u8>) {
    let len: usize = records.clone().into_iter().map(|r| r.len() + 1).sum();
    body.clear();
    body.reserve(len + 14);
    body.extend_from_slice(b"{\"Records\":[");
    for (i, r) in records.into_iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(r);
    }
    body.extend_from_slice(b"]}");
}

/// One standard gzip member (RFC 1952) of `body`, compressed in one pass by libdeflate.
/// `level` is clamped to libdeflate's 0–12 (6 is gzip's default).
pub fn gzip(body: &[u8], level: i32) -> Vec<u8> {
    let mut out = Vec::new();
    gzip_into(body, level, &mut out);
    out
}

thread_local! {
    /// A compressor per thread and level: building one allocates and initialises its tables.
    static COMPRESSOR: RefCell<Option<(i32, libdeflater::Compressor)>> = const { RefCell::new(None) };
    /// Body and output buffers reused across files on a worker thread, so big files do not
    /// cost fresh pages each time.
    static BUFFERS: RefCell<(Vec<u8>, Vec<u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Like [`gzip`], into `out` (replacing its contents), reusing this thread's compressor.
pub fn gzip_into(body: &[u8], level: i32, out: &mut Vec<u8>) {
    let level = level.clamp(0, 12);
    COMPRESSOR.with_borrow_mut(|slot| {
        if slot.as_ref().is_none_or(|(l, _)| *l != level) {
            let lvl = libdeflater::CompressionLvl::new(level)
                .unwrap_or_else(|_| libdeflater::CompressionLvl::default());
            *slot = Some((level, libdeflater::Compressor::new(lvl)));
        }
        let Some((_, c)) = slot.as_mut() else { return };
        let bound = c.gzip_compress_bound(body.len());
        // CloudTrail JSON shrinks to 5–15% at any level above 0, so a quarter of the body is
        // room enough: the worst-case bound (a little over the body) would keep a second
        // body-sized buffer resident on every compression thread. Anything that does not fit
        // is compressed again into the bound, which always fits.
        let guess = if level == 0 {
            bound
        } else {
            (body.len() / 4 + 4096).min(bound)
        };
        out.clear();
        out.resize(guess, 0);
        let n = match c.gzip_compress(body, out) {
            Ok(n) => n,
            Err(_) => {
                out.clear();
                out.resize(bound, 0);
                c.gzip_compress(body, out).unwrap_or(0)
            }
        };
        out.truncate(n);
    });
}

/// Errors from [`gunzip`].
#[derive(Debug, thiserror::Error)]
#[error("not a valid gzip member: {0}")]
pub struct GunzipError(String);

/// The CloudTrail log files under `dir` (`.json.gz` files in a `CloudTrail` folder, so not
/// digests), sorted. For tools and tests that look at what was delivered on disk.
pub fn log_files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = crate::store::files_under(dir);
    files.retain(|p| {
        p.to_string_lossy().ends_with(".json.gz") && p.components().any(|c| c.as_os_str() == "CloudTrail")
    });
    files
}

/// How many records the log file at `path` holds (`Records` of its gzipped JSON); 0 when it
/// cannot be read or is not a log file. For tools that count what was delivered.
pub fn records_in(path: &std::path::Path) -> usize {
    std::fs::read(path)
        .ok()
        .and_then(|gz| gunzip(&gz).ok())
        .and_then(|body| serde_json::from_slice::<serde_json::Value>(&body).ok())
        .and_then(|v| {
            v.get("Records")
                .and_then(serde_json::Value::as_array)
                .map(Vec::len)
        })
        .unwrap_or(0)
}

/// Inflates one gzip member (the inverse of [`gzip`]); the size comes from the trailer's ISIZE,
/// capped so a hostile trailer cannot make us allocate without bound.
pub fn gunzip(gz: &[u8]) -> Result<Vec<u8>, GunzipError> {
    const MAX: usize = 1 << 30;
    let isize_bytes = gz
        .len()
        .checked_sub(4)
        .and_then(|i| gz.get(i..))
        .ok_or_else(|| GunzipError("too short".into()))?;
    let mut isize = [0u8; 4];
    isize.copy_from_slice(isize_bytes);
    let size = u32::from_le_bytes(isize) as usize;
    if size > MAX {
        return Err(GunzipError("too large".into()));
    }
    let mut out = vec![0u8; size];
    let n = libdeflater::Decompressor::new()
        .gzip_decompress(gz, &mut out)
        .map_err(|e| GunzipError(e.to_string()))?;
    out.truncate(n);
    Ok(out)
}

/// What [`write_raw`] needs to know of each serialised record.
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    /// The record's JSON.
    pub json: &'a [u8],
    /// Its `eventTime`.
    pub event_time: OffsetDateTime,
}

/// How [`write_raw`] writes a log file.
#[derive(Debug, Clone, Copy)]
pub struct LogOptions {
    /// The gzip level (libdeflate 0-12).
    pub level: i32,
    /// Whether to hash the uncompressed file for a digest ([`WrittenLog::sha256_hex`] is empty
    /// when not: a run without digests never needs it).
    pub hash: bool,
}

/// Compresses and puts one log file from already-serialised records, in the order given.
pub fn write_raw(
    store: &dyn ObjectStore,
    trail: &str,
    dest: &LogDestination,
    records: &[RawRecord<'_>],
    delivered_at: OffsetDateTime,
    unique: &str,
    options: LogOptions,
) -> Result<WrittenLog, StoreError> {
    let key = log_key(dest, delivered_at, unique);
    // Borrow the thread's buffers only while we use them, so nothing here can re-enter a borrow.
    let (mut body, mut gz) = BUFFERS.with_borrow_mut(std::mem::take);
    encode_raw_into(records.iter().map(|r| r.json), &mut body);
    let level = options.level;
    let sha256_hex = if options.hash {
        hex::encode(Sha256::digest(&body))
    } else {
        String::new()
    };
    gzip_into(&body, level, &mut gz);
    let put = store.put(&dest.bucket, &key, &gz, LOG_CONTENT_TYPE, &BTreeMap::new());
    let compressed_bytes = gz.len();
    // Keep the buffers for the next file, but not a freak file's worth of memory.
    if body.capacity() <= 64 << 20 {
        BUFFERS.with_borrow_mut(|b| *b = (body, gz));
    }
    put?;
    let oldest = records.iter().map(|r| r.event_time).min().unwrap_or(delivered_at);
    let newest = records.iter().map(|r| r.event_time).max().unwrap_or(delivered_at);
    Ok(WrittenLog {
        trail: trail.to_owned(),
        bucket: dest.bucket.clone(),
        key,
        sha256_hex,
        oldest_event: oldest,
        newest_event: newest,
        delivered_at,
        records: records.len(),
        compressed_bytes,
    })
}

/// Serialises, compresses and puts one log file holding `records` in the order given.
pub fn write_log(
    store: &dyn ObjectStore,
    trail: &str,
    dest: &LogDestination,
    records: &[Record],
    delivered_at: OffsetDateTime,
    unique: &str,
    level: i32,
) -> Result<WrittenLog, StoreError> {
    let jsons: Vec<Vec<u8>> = records.iter().map(Record::to_json).collect();
    let raw: Vec<RawRecord<'_>> = jsons
        .iter()
        .zip(records)
        .map(|(j, r)| RawRecord {
            json: j,
            event_time: r.event_time,
        })
        .collect();
    write_raw(
        store,
        trail,
        dest,
        &raw,
        delivered_at,
        unique,
        LogOptions { level, hash: true },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trips_and_is_a_standard_member() {
        let body = encode_raw([&b"{\"a\":1}"[..], b"{\"b\":2}"]);
        assert_eq!(body, b"{\"Records\":[{\"a\":1},{\"b\":2}]}");
        for level in [0, 1, 6, 9, 12, 99, -3] {
            let gz = gzip(&body, level);
            // RFC 1952 magic, deflate method.
            assert_eq!(&gz[..3], &[0x1f, 0x8b, 8]);
            assert_eq!(gunzip(&gz).unwrap(), body);
        }
        assert_eq!(encode_raw(std::iter::empty()), b"{\"Records\":[]}");
        // Incompressible input does not fit the first guess and is compressed again.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for level in [0, 1, 6, 12] {
            assert_eq!(gunzip(&gzip(&noise, level)).unwrap(), noise);
        }
        assert!(gunzip(b"xx").is_err());
        assert!(gunzip(b"not gzip at all").is_err());
    }
}
