//! `LookupEvents` over the segments: request checks, the page (newest first, at most
//! `MaxResults`, holding at most `MaxResults + 1` events in memory while it scans segments newest
//! day first), and next tokens bound to their query.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs;
use std::io::{BufRead, BufReader};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use time::{Date, Duration};

use super::segments::{
    Block, Header, block_line, nth_record, records_path, safe_segment, seg_path, split_line,
};
use super::{
    ATTRIBUTE_KEYS, History, HistoryError, LookupEvent, LookupPage, LookupRequest, MAX_RESULTS,
    RETENTION_DAYS, io,
};

/// The most a block can hold: about 64 KiB of records and the last record that crossed it,
/// which a request's size bounds well below this.
const MAX_BLOCK_BYTES: u32 = 64 << 20;

#[derive(Debug, Serialize, Deserialize)]
struct Token {
    h: String,
    t: i64,
    s: u64,
}

impl History {
    /// `LookupEvents` for the caller's account and Region.
    pub fn lookup(
        &self,
        account: &str,
        region: &str,
        req: &LookupRequest,
    ) -> Result<LookupPage, HistoryError> {
        let max = req.max_results.unwrap_or(MAX_RESULTS);
        if !(1..=MAX_RESULTS).contains(&max) {
            return Err(HistoryError::InvalidMaxResults(format!(
                "Value {max} for MaxResults is invalid. It must be between 1 and {MAX_RESULTS}."
            )));
        }
        let max = usize::try_from(max).unwrap_or(50);
        if req.attributes.len() > 1 {
            return Err(HistoryError::InvalidLookupAttributes(
                "You can specify only one lookup attribute.".to_owned(),
            ));
        }
        let attr = req.attributes.first();
        if let Some((k, v)) = attr {
            if !ATTRIBUTE_KEYS.contains(&k.as_str()) {
                return Err(HistoryError::InvalidLookupAttributes(format!(
                    "Lookup attribute key {k} is not valid. Valid keys are {}.",
                    ATTRIBUTE_KEYS.join(", ")
                )));
            }
            if v.is_empty() || v.chars().count() > 2000 {
                return Err(HistoryError::InvalidLookupAttributes(
                    "Lookup attribute values must be 1 to 2000 characters.".to_owned(),
                ));
            }
        }
        match req.category.as_deref() {
            None => {}
            Some("insight") => {
                if let Some((k, _)) = attr
                    && !["EventId", "EventName", "EventSource"].contains(&k.as_str())
                {
                    return Err(HistoryError::InvalidLookupAttributes(format!(
                        "Lookup attribute key {k} is not supported for Insights events."
                    )));
                }
            }
            Some(other) => {
                return Err(HistoryError::InvalidEventCategory(format!(
                    "Event category {other} is not valid. The only valid value is insight."
                )));
            }
        }
        if let (Some(s), Some(e)) = (req.start, req.end)
            && s > e
        {
            return Err(HistoryError::InvalidTimeRange(
                "Start time must be before end time.".to_owned(),
            ));
        }
        let hash = query_hash(account, region, req);
        let cursor = match &req.next_token {
            None => None,
            Some(tok) => {
                let bad = || HistoryError::InvalidNextToken("Invalid NextToken.".to_owned());
                let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(tok)
                    .map_err(|_| bad())?;
                let t: Token = serde_json::from_slice(&raw).map_err(|_| bad())?;
                if t.h != hash {
                    return Err(HistoryError::InvalidNextToken(
                        "The NextToken does not belong to this query: repeat the call with the same parameters.".to_owned(),
                    ));
                }
                Some((t.t, t.s))
            }
        };
        // The emulator records no Insights events, so an insight lookup is always empty.
        if req.category.is_some() || !safe_segment(account, 12) || !safe_segment(region, 32) {
            return Ok(LookupPage::default());
        }
        let now = self.clock.now();
        let floor = (now - Duration::days(RETENTION_DAYS)).unix_timestamp();
        let lo = req.start.map_or(floor, |s| s.unix_timestamp().max(floor));
        let hi = req.end.map_or(i64::MAX, |e| e.unix_timestamp());
        // Whatever is queued becomes visible first (and expired segments go).
        {
            let mut inner = self.lock();
            self.prune(&mut inner, now);
        }
        // A lookup still answers when the queue cannot be written (a full disk): from what is
        // on disk, the queue kept for later.
        if let Err(e) = self.shared.write_queued() {
            tracing::debug!(error = %e, "lookup without the queued events");
        }
        let days: Vec<Date> = {
            let inner = self.lock();
            inner
                .index
                .get(&(account.to_owned(), region.to_owned()))
                .map(|s| s.keys().rev().copied().collect())
                .unwrap_or_default()
        };
        let want = max + 1;
        let needle: Option<Vec<u8>> = attr.and_then(|(_, v)| {
            serde_json::to_vec(v)
                .ok()
                .map(|q| q.get(1..q.len().saturating_sub(1)).unwrap_or_default().to_vec())
        });
        // A min-heap of the best `want` keys seen so far (largest keys are the newest events).
        // Candidates are kept by where their line is, and read again once the page is known:
        // a day's lines are mostly in time order, so nearly every line of the newest day passes
        // through the heap, and copying each one would cost more than the scan.
        let mut heap: BinaryHeap<Reverse<Hit>> = BinaryHeap::new();
        let mut paths: Vec<std::path::PathBuf> = Vec::new();
        for day in days {
            let day_lo = day.midnight().assume_utc().unix_timestamp();
            let day_hi = day_lo + 86_399;
            if day_lo > hi || day_hi < lo || cursor.is_some_and(|c| day_lo > c.0) {
                continue;
            }
            if heap.len() >= want {
                break;
            }
            let path = seg_path(&self.shared.dir, account, region, day);
            let f = match fs::File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(e)),
            };
            let file = paths.len();
            paths.push(path);
            let mut reader = BufReader::with_capacity(1 << 16, f);
            let mut line = Vec::new();
            let mut at: u64 = 0;
            // The block the header lines read now belong to, and the next one's index in it.
            let mut block: Option<Block> = None;
            let mut in_block: u32 = 0;
            loop {
                line.clear();
                let n = reader.read_until(b'\n', &mut line).map_err(io)?;
                if n == 0 {
                    break;
                }
                if line.last() != Some(&b'\n') {
                    // Being appended right now: not there yet.
                    break;
                }
                let offset = at;
                at += n as u64;
                if let Some(b) = block_line(&line) {
                    block = Some(b);
                    in_block = 0;
                    continue;
                }
                // A line of the older format holds its record after a tab.
                let record = if line.contains(&b'\t') {
                    None
                } else {
                    in_block += 1;
                    block.map(|b| (b, in_block - 1))
                };
                let place = Place {
                    file,
                    offset,
                    len: n,
                    record,
                };
                // Without an attribute only the key decides, and it is read without parsing.
                if attr.is_none()
                    && let Some(k) = fast_key(&line)
                {
                    if k.0 < lo || k.0 > hi || cursor.is_some_and(|c| k >= c) {
                        continue;
                    }
                    offer(&mut heap, want, Hit { k, place });
                    continue;
                }
                // Cheap reject before parsing: the attribute value, as JSON writes it, must
                // appear in the header.
                if let Some(needle) = &needle {
                    let header = line.split(|&b| b == b'\t').next().unwrap_or_default();
                    if !contains(header, needle) {
                        continue;
                    }
                }
                let Some((h, _)) = split_line(&line) else {
                    continue;
                };
                let k = h.key();
                if h.t < lo || h.t > hi || cursor.is_some_and(|c| k >= c) || !h.matches(attr) {
                    continue;
                }
                offer(&mut heap, want, Hit { k, place });
            }
        }
        let mut hits: Vec<Hit> = heap.into_iter().map(|Reverse(x)| x).collect();
        hits.sort_by_key(|b| Reverse(b.k));
        let more = hits.len() > max;
        hits.truncate(max);
        let items = read_back(&paths, &hits)?;
        let next_token = if more {
            hits.last().map(|hit| {
                let tok = Token {
                    h: hash.clone(),
                    t: hit.k.0,
                    s: hit.k.1,
                };
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(serde_json::to_vec(&tok).unwrap_or_default())
            })
        } else {
            None
        };
        let events = items
            .into_iter()
            .map(|(h, body)| LookupEvent {
                event_id: h.id.into_owned(),
                event_name: h.n.into_owned(),
                read_only: h.ro.into_owned(),
                access_key_id: h.ak.map(Cow::into_owned),
                event_time: h.t,
                event_source: h.src.into_owned(),
                username: h.u,
                resources: h.r,
                cloud_trail_event: String::from_utf8_lossy(&body).into_owned(),
            })
            .collect();
        Ok(LookupPage { events, next_token })
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// Where a line is: which segment of the lookup, its offset and length, and for a header
/// whose record is in a block, the block and the record's index in it.
#[derive(Debug, Clone, Copy)]
struct Place {
    file: usize,
    offset: u64,
    len: usize,
    record: Option<(Block, u32)>,
}

/// A candidate event of a lookup, ordered by its (time, sequence) key only.
struct Hit {
    k: (i64, u64),
    place: Place,
}

/// Keeps `hit` if it is among the `want` newest seen so far.
fn offer(heap: &mut BinaryHeap<Reverse<Hit>>, want: usize, hit: Hit) {
    if heap.len() < want {
        heap.push(Reverse(hit));
    } else if heap.peek().is_some_and(|Reverse(min)| hit.k > min.k) {
        heap.pop();
        heap.push(Reverse(hit));
    }
}

/// The key of a line, read from the header's opening `{"t":<i64>,"s":<u64>` without parsing
/// the rest; `None` when the line does not start that way (then it is parsed in full).
pub(super) fn fast_key(line: &[u8]) -> Option<(i64, u64)> {
    fn number(s: &[u8]) -> Option<(&[u8], &[u8])> {
        let neg = usize::from(s.first() == Some(&b'-'));
        let end = s.iter().skip(neg).position(|b| !b.is_ascii_digit())? + neg;
        (end > neg).then(|| s.split_at(end))
    }
    let rest = line.strip_prefix(b"{\"t\":")?;
    let (t, rest) = number(rest)?;
    let rest = rest.strip_prefix(b",\"s\":")?;
    let (s, _) = number(rest)?;
    Some((
        std::str::from_utf8(t).ok()?.parse().ok()?,
        std::str::from_utf8(s).ok()?.parse().ok()?,
    ))
}

/// The header and record of each hit, read from where the scan found them (in `hits` order).
/// Each block is read and inflated once however many hits it holds. A segment pruned in
/// between loses its events from the page.
fn read_back(
    paths: &[std::path::PathBuf],
    hits: &[Hit],
) -> Result<Vec<(Header<'static>, Vec<u8>)>, HistoryError> {
    use std::collections::HashMap;
    use std::collections::hash_map::Entry;
    use std::io::{Read as _, Seek as _, SeekFrom};
    fn open_at(
        open: &mut HashMap<std::path::PathBuf, fs::File>,
        path: std::path::PathBuf,
        offset: u64,
    ) -> Result<Option<&mut fs::File>, HistoryError> {
        let f = match open.entry(path) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => match fs::File::open(v.key()) {
                Ok(f) => v.insert(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io(e)),
            },
        };
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        Ok(Some(f))
    }
    let mut open: HashMap<std::path::PathBuf, fs::File> = HashMap::new();
    let mut inflated: HashMap<(usize, u64), Vec<u8>> = HashMap::new();
    let mut decompressor = libdeflater::Decompressor::new();
    let mut out = Vec::with_capacity(hits.len());
    for hit in hits {
        let Some(path) = paths.get(hit.place.file) else {
            continue;
        };
        let Some(f) = open_at(&mut open, path.clone(), hit.place.offset)? else {
            continue;
        };
        let mut line = vec![0u8; hit.place.len];
        f.read_exact(&mut line).map_err(io)?;
        let Some((h, inline)) = split_line(&line) else {
            continue;
        };
        let body = match (inline, hit.place.record) {
            (Some(body), _) => body.to_vec(),
            (None, Some((block, index))) => {
                let raw = match inflated.entry((hit.place.file, block.b)) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(v) => {
                        let Some(f) = open_at(&mut open, records_path(path), block.b)? else {
                            continue;
                        };
                        // A block cut short or damaged (a crash the file system did not order)
                        // loses its events from the page, not the lookup; so does a block line
                        // naming sizes no block has (it would cost that much memory).
                        let sane = block.z <= MAX_BLOCK_BYTES && block.n <= MAX_BLOCK_BYTES;
                        let mut z = vec![0u8; if sane { block.z as usize } else { 0 }];
                        let mut raw = vec![0u8; if sane { block.n as usize } else { 0 }];
                        let read = if sane {
                            f.read_exact(&mut z).map_err(|e| e.to_string())
                        } else {
                            Err(format!("a block line names {} bytes", block.n.max(block.z)))
                        };
                        let n = read.and_then(|()| {
                            decompressor
                                .deflate_decompress(&z, &mut raw)
                                .map_err(|e| e.to_string())
                        });
                        match n {
                            Ok(n) => raw.truncate(n),
                            Err(e) => {
                                tracing::warn!(error = %e, path = %path.display(), "a damaged event history block");
                                raw.clear();
                            }
                        }
                        v.insert(raw)
                    }
                };
                match nth_record(raw, index as usize) {
                    Some(r) => r.to_vec(),
                    None => continue,
                }
            }
            (None, None) => continue,
        };
        out.push((h, body));
    }
    Ok(out)
}

impl PartialEq for Hit {
    fn eq(&self, other: &Self) -> bool {
        self.k == other.k
    }
}

impl Eq for Hit {}

impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Hit {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.k.cmp(&other.k)
    }
}

/// Binds a token to everything that defines the result set (not `MaxResults`, which may change
/// between pages).
fn query_hash(account: &str, region: &str, req: &LookupRequest) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    field(account);
    field(region);
    for (k, v) in &req.attributes {
        field(k);
        field(v);
    }
    field(
        &req.start
            .map(|t| t.unix_timestamp().to_string())
            .unwrap_or_default(),
    );
    field(
        &req.end
            .map(|t| t.unix_timestamp().to_string())
            .unwrap_or_default(),
    );
    field(req.category.as_deref().unwrap_or_default());
    hex::encode(h.finalize().get(..16).unwrap_or_default())
}
