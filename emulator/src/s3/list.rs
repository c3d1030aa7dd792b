//! Listing keys as S3 does: lexicographic order, a start key (Marker, StartAfter or a
//! continuation token), delimiter roll-ups into common prefixes, and truncation.

use base64::Engine as _;
use cloudtrail::store::{LocalDir, ObjectMeta, StoreError};

/// What one listing asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListParams<'a> {
    /// Only keys starting with this.
    pub(crate) prefix: &'a str,
    /// Roll keys up at the first occurrence of this after the prefix.
    pub(crate) delimiter: Option<&'a str>,
    /// Only keys (and common prefixes) after this.
    pub(crate) start: Option<&'a str>,
    /// At most this many keys plus common prefixes.
    pub(crate) max_keys: usize,
}

/// One page of a listing.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// Keys, in order.
    pub(crate) contents: Vec<(String, ObjectMeta)>,
    /// Common prefixes, in order.
    pub(crate) common_prefixes: Vec<String>,
    /// Whether more follow.
    pub(crate) truncated: bool,
    /// The last key or common prefix returned: where the next page starts.
    pub(crate) last: Option<String>,
}

/// How many keys are read from the store at a time.
const PAGE: usize = 1000;

/// The highest character, appended to a common prefix to skip every key under it.
const SKIP: char = '\u{10FFFF}';

/// Lists one page. `None` when the bucket does not exist.
pub(crate) fn list_keys(
    store: &LocalDir,
    bucket: &str,
    p: &ListParams<'_>,
) -> Result<Option<Listing>, StoreError> {
    let mut out = Listing::default();
    let mut cursor: Option<String> = p.start.map(str::to_owned);
    let mut count = 0usize;
    loop {
        let Some(page) = store.list(bucket, p.prefix, cursor.as_deref(), PAGE)? else {
            return Ok(None);
        };
        let full = page.len() == PAGE;
        let mut jump: Option<String> = None;
        for (key, meta) in page {
            cursor = Some(key.clone());
            let rollup = p.delimiter.and_then(|d| {
                let rest = key.get(p.prefix.len()..)?;
                let at = rest.find(d)?;
                key.get(..p.prefix.len() + at + d.len()).map(str::to_owned)
            });
            match rollup {
                Some(cp) => {
                    // A prefix at or before the start was returned by an earlier page.
                    if p.start.is_some_and(|s| cp.as_str() <= s) || out.common_prefixes.last() == Some(&cp) {
                        jump = Some(cp);
                        continue;
                    }
                    if count == p.max_keys {
                        out.truncated = true;
                        return Ok(Some(out));
                    }
                    count += 1;
                    out.last = Some(cp.clone());
                    out.common_prefixes.push(cp.clone());
                    jump = Some(cp);
                }
                None => {
                    if count == p.max_keys {
                        out.truncated = true;
                        return Ok(Some(out));
                    }
                    count += 1;
                    out.last = Some(key.clone());
                    out.contents.push((key, meta));
                    jump = None;
                }
            }
        }
        if !full {
            return Ok(Some(out));
        }
        // Everything under the last common prefix rolls up into it: skip straight past it.
        if let Some(mut cp) = jump {
            cp.push(SKIP);
            cursor = Some(cp);
        }
    }
}

/// The continuation token for a listing that resumes after `last`: opaque to clients, like
/// S3's.
pub(crate) fn encode_token(last: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("1\n{last}"))
}

/// The start key inside a continuation token, `None` if the token is not ours.
pub(crate) fn decode_token(token: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("1\n").map(str::to_owned)
}
