//! Event history on disk: one append-only segment per (account, Region, UTC day of
//! `eventTime`), `<dir>/<account>/<region>/<YYYY-MM-DD>.jsonl` for the headers and
//! `<YYYY-MM-DD>.records` for the records. This module knows the line and file formats and
//! rebuilds the in-memory index of segments at start-up.
//!
//! Each header line is a small JSON object (time, sequence number, the eight lookup
//! attributes). The records are stored in raw deflate blocks of a few dozen records each,
//! appended to the `.records` file; a block line (`{"b":offset,"z":compressed,"n":raw}`) in the
//! header file names the block that the header lines after it belong to, in order. Lookups scan
//! only the headers and inflate only the blocks that hold the page. Lines of the older format
//! (header, tab, record JSON, which never holds a raw tab) are still read.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::Date;

use crate::arn::Arn;
use crate::record::Record;
use crate::timefmt;

use super::{HistoryError, io};

/// How much of a segment's tail is read at startup to find its last sequence number.
const TAIL_BYTES: u64 = 1 << 20;

/// The per-line header: everything a lookup filters or sorts on. Appends borrow the record's
/// strings (no copies on the request path); lookups read owned ones (`Header<'static>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Header<'a> {
    /// `eventTime`, epoch seconds.
    pub(super) t: i64,
    /// Append sequence number, breaks ties within a second (later first).
    pub(super) s: u64,
    /// `EventId`.
    pub(super) id: Cow<'a, str>,
    /// `EventName`.
    pub(super) n: Cow<'a, str>,
    /// `ReadOnly`.
    pub(super) ro: Cow<'a, str>,
    /// `Username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) u: Option<String>,
    /// `EventSource`.
    pub(super) src: Cow<'a, str>,
    /// `AccessKeyId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) ak: Option<Cow<'a, str>>,
    /// `(ResourceType, ResourceName)` pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) r: Vec<(Option<String>, Option<String>)>,
}

impl<'a> Header<'a> {
    /// The header of `record`; `id` is where its event ID is formatted.
    pub(super) fn of(record: &'a Record, id: &'a mut [u8; 36], seq: u64) -> Header<'a> {
        Header {
            t: record.event_time.unix_timestamp(),
            s: seq,
            id: Cow::Borrowed(record.event_id.hyphenated().encode_lower(id)),
            n: Cow::Borrowed(&record.event_name),
            ro: Cow::Borrowed(if record.read_only == Some(true) {
                "true"
            } else {
                "false"
            }),
            u: record.user_identity.lookup_username(),
            src: Cow::Borrowed(&record.event_source),
            ak: record.user_identity.access_key_id.as_deref().map(Cow::Borrowed),
            r: lookup_resources(record),
        }
    }

    pub(super) fn key(&self) -> (i64, u64) {
        (self.t, self.s)
    }

    pub(super) fn matches(&self, attr: Option<&(String, String)>) -> bool {
        let Some((k, v)) = attr else { return true };
        match k.as_str() {
            "EventId" => self.id == v.as_str(),
            "EventName" => self.n == v.as_str(),
            "ReadOnly" => self.ro == v.as_str(),
            "Username" => self.u.as_ref() == Some(v),
            "ResourceType" => self.r.iter().any(|(t, _)| t.as_ref() == Some(v)),
            "ResourceName" => self.r.iter().any(|(_, n)| n.as_ref() == Some(v)),
            "EventSource" => self.src == v.as_str(),
            "AccessKeyId" => self.ak.as_deref() == Some(v.as_str()),
            _ => false,
        }
    }
}

/// The `(ResourceType, ResourceName)` pairs Event history shows for a record: its `resources`
/// when it has them, otherwise the ARNs named by the top-level members of `requestParameters`
/// and `responseElements` (as Event history lists the resources a management call referenced),
/// typed from the ARN: `arn:aws:cloudtrail:…:event-data-store/x` is `AWS::CloudTrail::EventDataStore`.
pub fn lookup_resources(record: &Record) -> Vec<(Option<String>, Option<String>)> {
    if !record.resources.is_empty() {
        return record
            .resources
            .iter()
            .map(|r| {
                (
                    r.resource_type.clone(),
                    r.arn.clone().or_else(|| r.arn_prefix.clone()),
                )
            })
            .collect();
    }
    let mut out: Vec<(Option<String>, Option<String>)> = Vec::new();
    let mut add = |v: &serde_json::Value| {
        if let Some(arn) = v.as_str()
            && let Some(t) = arn_type(arn)
            && !out.iter().any(|(_, n)| n.as_deref() == Some(arn))
        {
            out.push((Some(t), Some(arn.to_owned())));
        }
    };
    for part in [&record.request_parameters, &record.response_elements]
        .into_iter()
        .flatten()
    {
        if let Some(obj) = part.as_object() {
            for v in obj.values() {
                match v {
                    serde_json::Value::Array(items) => items.iter().for_each(&mut add),
                    other => add(other),
                }
            }
        }
    }
    out
}

/// `AWS::<Service>::<Kind>` for `arn:<partition>:<service>:<region>:<account>:<kind>/…`.
pub(super) fn arn_type(arn: &str) -> Option<String> {
    let Arn {
        service, resource, ..
    } = Arn::parse(arn)?;
    let kind = resource
        .split(['/', ':'])
        .next()
        .filter(|k| !k.is_empty() && resource.len() > k.len())?;
    let service = match service {
        "cloudtrail" => "CloudTrail".to_owned(),
        "iam" => "IAM".to_owned(),
        "s3" => "S3".to_owned(),
        "sns" => "SNS".to_owned(),
        "kms" => "KMS".to_owned(),
        other => capitalise(other),
    };
    let kind: String = kind.split('-').map(capitalise).collect();
    Some(format!("AWS::{service}::{kind}"))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

#[derive(Debug, Clone, Copy)]
/// What the index knows of a segment.
pub(super) struct SegMeta {
    /// Its size in bytes, queued lines included.
    pub(super) bytes: u64,
}

/// (account, Region).
pub(super) type Pair = (String, String);

/// Every segment by (account, Region) and day.
pub(super) type Index = BTreeMap<Pair, BTreeMap<Date, SegMeta>>;

/// The header file of (account, Region, day).
pub(super) fn seg_path(dir: &Path, account: &str, region: &str, day: Date) -> PathBuf {
    dir.join(account)
        .join(region)
        .join(format!("{}.jsonl", timefmt::iso_date(day)))
}

/// The file of compressed record blocks beside a header file.
pub(super) fn records_path(seg: &Path) -> PathBuf {
    seg.with_extension("records")
}

/// A block line: where the records of the header lines that follow it are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Block {
    /// Offset of the block in the `.records` file.
    pub(super) b: u64,
    /// Its compressed length.
    pub(super) z: u32,
    /// Its length inflated: the records, each followed by a newline.
    pub(super) n: u32,
}

/// The block a line names, `None` for any other line.
pub(super) fn block_line(line: &[u8]) -> Option<Block> {
    if !line.starts_with(b"{\"b\":") {
        return None;
    }
    serde_json::from_slice(line.strip_suffix(b"\n").unwrap_or(line)).ok()
}

/// The `index`th record of an inflated block.
pub(super) fn nth_record(block: &[u8], index: usize) -> Option<&[u8]> {
    block.split(|&b| b == b'\n').nth(index).filter(|r| !r.is_empty())
}

/// Account ids and Region names become path segments: accept only their real shapes.
pub(super) fn safe_segment(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The day a segment file name stands for.
fn parse_day(name: &str) -> Option<Date> {
    timefmt::parse_iso_date(name.strip_suffix(".jsonl")?)
}

/// A line's header, and its record JSON when the line holds it (the older format); `None` for
/// a line that is not a header.
pub(super) fn split_line(line: &[u8]) -> Option<(Header<'static>, Option<&[u8]>)> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let (h, body) = match line.iter().position(|&b| b == b'\t') {
        Some(tab) => (&line[..tab], line.get(tab + 1..)),
        None => (line, None),
    };
    let header: Header<'static> = serde_json::from_slice(h).ok()?;
    Some((header, body))
}

/// The headers of the whole lines in the last `tail` bytes of a segment, and whether the tail
/// starts inside the file (its first, cut line is skipped).
fn tail_headers(path: &Path, tail: u64) -> std::io::Result<(Vec<Header<'static>>, bool)> {
    let mut f = fs::File::open(path)?;
    let len = f.metadata()?.len();
    let from = len.saturating_sub(tail);
    f.seek(SeekFrom::Start(from))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    let mut lines = buf.split(|&b| b == b'\n');
    if from > 0 {
        lines.next();
    }
    let headers = lines.filter_map(|l| split_line(l).map(|(h, _)| h)).collect();
    Ok((headers, from > 0))
}

/// The `EventId`s in the last `tail` bytes of a segment (none when it does not exist).
pub(super) fn tail_event_ids(path: &Path, tail: u64) -> std::collections::HashSet<String> {
    tail_headers(path, tail)
        .map(|(hs, _)| hs.into_iter().map(|h| h.id.into_owned()).collect())
        .unwrap_or_default()
}

/// The sequence number on the last complete line of a segment (0 when none).
fn last_seq(path: &Path) -> std::io::Result<u64> {
    let (headers, cut) = tail_headers(path, TAIL_BYTES)?;
    let mut best = headers.iter().map(|h| h.s).max().unwrap_or(0);
    if best == 0 && cut {
        // A line longer than the tail window: read the whole file.
        for line in BufReader::new(fs::File::open(path)?).split(b'\n') {
            if let Some((h, _)) = split_line(&line?) {
                best = best.max(h.s);
            }
        }
    }
    Ok(best)
}

/// Whether the file is empty or ends with a whole line.
fn ends_with_newline(path: &Path) -> std::io::Result<bool> {
    let mut f = fs::File::open(path)?;
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    f.seek(SeekFrom::Start(len - 1))?;
    let mut b = [0u8; 1];
    f.read_exact(&mut b)?;
    Ok(b[0] == b'\n')
}

/// The sub-folders of `dir` that can be an account or a Region (names of at most `max` safe
/// characters), as (name, path).
fn folders(dir: &Path, max: usize) -> Result<Vec<(String, PathBuf)>, HistoryError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        if let Ok(name) = entry.file_name().into_string()
            && entry.path().is_dir()
            && safe_segment(&name, max)
        {
            out.push((name, entry.path()));
        }
    }
    Ok(out)
}

/// Rebuilds the index from the segment files under `dir` (created if missing), and finds the
/// highest sequence number written. A line torn by a crash is sealed with a newline so later
/// appends stay parseable.
pub(super) fn scan(dir: &Path) -> Result<(Index, u64), HistoryError> {
    fs::create_dir_all(dir).map_err(io)?;
    let mut index = Index::new();
    let mut max_seq = 0u64;
    for (account, account_dir) in folders(dir, 12)? {
        for (region, region_dir) in folders(&account_dir, 32)? {
            for seg in fs::read_dir(region_dir).map_err(io)? {
                let seg = seg.map_err(io)?;
                let Some(day) = seg.file_name().to_str().and_then(parse_day) else {
                    continue;
                };
                let path = seg.path();
                let mut bytes = seg.metadata().map_err(io)?.len();
                if bytes > 0 && !ends_with_newline(&path).map_err(io)? {
                    let mut f = fs::OpenOptions::new().append(true).open(&path).map_err(io)?;
                    f.write_all(b"\n").map_err(io)?;
                    bytes += 1;
                }
                max_seq = max_seq.max(last_seq(&path).map_err(io)?);
                bytes += fs::metadata(records_path(&path)).map_or(0, |m| m.len());
                index
                    .entry((account.clone(), region.clone()))
                    .or_default()
                    .insert(day, SegMeta { bytes });
            }
        }
    }
    Ok((index, max_seq))
}
