//! What every resource shares: input access and validation, ARNs, pagination tokens and status lifecycles.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::{Config, Context};

/// What a handler gets besides the store: the call's context and the service config.
#[derive(Debug, Clone, Copy)]
pub struct Cx<'a> {
    /// Account, region, time.
    pub ctx: &'a Context,
    /// Service configuration.
    pub config: &'a Config,
}

impl Cx<'_> {
    /// `arn:aws:personalize:<region>:<account>:<kind>/<id>`.
    pub fn arn(&self, kind: &str, id: &str) -> String {
        format!(
            "arn:aws:personalize:{}:{}:{kind}/{id}",
            self.ctx.region, self.ctx.account
        )
    }

    /// The call time as epoch seconds, as the API returns timestamps.
    pub fn now_epoch(&self) -> f64 {
        epoch(self.ctx.now)
    }
}

/// Epoch seconds with millisecond precision, as a JSON number.
pub fn epoch(t: OffsetDateTime) -> f64 {
    (t.unix_timestamp_nanos() / 1_000_000) as f64 / 1000.0
}

/// The request object.
pub type Input = Map<String, Value>;

/// Reads typed members out of a request object with Personalize's validation messages.
pub struct Members<'a> {
    obj: &'a Map<String, Value>,
}

impl<'a> Members<'a> {
    /// Wraps a request body (already checked to be an object by the caller).
    pub fn new(v: &'a Value) -> Self {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        Members {
            obj: v.as_object().unwrap_or_else(|| EMPTY.get_or_init(Map::new)),
        }
    }

    /// A member as raw JSON.
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    /// An optional string member.
    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(type_error(name, "string")),
        }
    }

    /// A required string member.
    pub fn str(&self, name: &str) -> Result<&'a str> {
        self.opt_str(name)?.ok_or_else(|| missing(name))
    }

    /// A required ARN member, checked with [`check_arn`].
    pub fn arn(&self, name: &str) -> Result<&'a str> {
        let arn = self.str(name)?;
        check_arn(name, arn)?;
        Ok(arn)
    }

    /// An optional ARN member, checked with [`check_arn`] when present.
    pub fn opt_arn(&self, name: &str) -> Result<Option<&'a str>> {
        let arn = self.opt_str(name)?;
        if let Some(a) = arn {
            check_arn(name, a)?;
        }
        Ok(arn)
    }

    /// An optional integer member.
    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| type_error(name, "integer")),
            Some(_) => Err(type_error(name, "integer")),
        }
    }

    /// An optional boolean member.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(type_error(name, "boolean")),
        }
    }

    /// An optional list member.
    pub fn opt_list(&self, name: &str) -> Result<Option<&'a Vec<Value>>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(type_error(name, "list")),
        }
    }

    /// An optional structure or map member.
    pub fn opt_obj(&self, name: &str) -> Result<Option<&'a Map<String, Value>>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(_) => Err(type_error(name, "structure")),
        }
    }
}

fn missing(name: &str) -> Error {
    Error::invalid(format!(
        "1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"
    ))
}

fn type_error(name: &str, ty: &str) -> Error {
    Error::invalid(format!("Value at '{name}' must be a {ty}."))
}

/// Checks a resource name: `^[a-zA-Z0-9][a-zA-Z0-9\-_]*`, 1 to 63 characters.
pub fn check_name(member: &str, name: &str) -> Result<()> {
    let ok_chars = name
        .bytes()
        .enumerate()
        .all(|(i, b)| b.is_ascii_alphanumeric() || (i > 0 && (b == b'-' || b == b'_')));
    if name.is_empty() || name.len() > 63 || !ok_chars {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9][a-zA-Z0-9\\-_]*"
        )));
    }
    Ok(())
}

/// Checks an ARN member: `arn:([a-z\d-]+):personalize:.*:.*:.+`, at most 256 characters.
pub fn check_arn(member: &str, arn: &str) -> Result<()> {
    let mut parts = arn.splitn(6, ':');
    let ok = arn.len() <= 256
        && parts.next() == Some("arn")
        && parts.next().is_some_and(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        && parts.next() == Some("personalize")
        && parts.next().is_some()
        && parts.next().is_some()
        && parts.next().is_some_and(|r| !r.is_empty());
    if !ok {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value '{arn}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:([a-z\\d-]+):personalize:.*:.*:.+"
        )));
    }
    Ok(())
}

/// Checks an enum member against its allowed values (exact match, as the service does).
pub fn check_enum(member: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        allowed.join(", ")
    )))
}

/// Checks a string member's length in characters against the model's `min`/`max`.
pub fn check_len(member: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n > max {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        )));
    }
    if n < min {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
        )));
    }
    Ok(())
}

/// Checks a `RoleArn`: `arn:([a-z\d-]+):iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`, at most 256 characters.
pub fn check_role_arn(member: &str, arn: &str) -> Result<()> {
    let ok = arn.len() <= 256
        && arn
            .strip_prefix("arn:")
            .and_then(|r| r.split_once(":iam::"))
            .is_some_and(|(part, rest)| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && rest.split_once(":role").is_some_and(|(acct, path)| {
                        acct.len() == 12 && acct.bytes().all(|b| b.is_ascii_digit()) && {
                            let path = path.strip_prefix('/').unwrap_or(path);
                            !path.is_empty()
                                && path
                                    .bytes()
                                    .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-/".contains(&b))
                        }
                    })
            });
    if !ok {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value '{arn}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:([a-z\\d-]+):iam::\\d{{12}}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"
        )));
    }
    Ok(())
}

/// Checks an `S3Location`: `(s3|http|https)://.+`, at most 256 characters.
pub fn check_s3_location(member: &str, loc: &str) -> Result<()> {
    let ok = loc.len() <= 256
        && ["s3://", "http://", "https://"]
            .iter()
            .any(|p| loc.strip_prefix(p).is_some_and(|r| !r.is_empty()));
    if !ok {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value '{loc}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: (s3|http|https)://.+"
        )));
    }
    Ok(())
}

/// Checks a `KmsKeyArn`: `arn:aws.*:kms:.*:[0-9]{12}:key/.*`, at most 2048 characters.
pub fn check_kms_key_arn(member: &str, arn: &str) -> Result<()> {
    let ok = arn.len() <= 2048
        && arn.starts_with("arn:aws")
        && arn.split_once(":kms:").is_some_and(|(_, rest)| {
            rest.split(':')
                .any(|seg| seg.len() == 12 && seg.bytes().all(|b| b.is_ascii_digit()))
                && rest.contains(":key/")
        });
    if !ok {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value '{arn}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kms:.*:[0-9]{{12}}:key/.*"
        )));
    }
    Ok(())
}

/// Checks an `S3DataConfig` structure (`{"path": S3Location, "kmsKeyArn"?: KmsKeyArn}`) at `member`.
pub fn check_s3_data_config(member: &str, v: &Value) -> Result<()> {
    let o = v
        .as_object()
        .ok_or_else(|| Error::invalid(format!("Value at '{member}' must be a structure.")))?;
    match o.get("path") {
        Some(Value::String(p)) => check_s3_location(&format!("{member}.path"), p)?,
        None | Some(Value::Null) => return Err(missing(&format!("{member}.path"))),
        Some(_) => return Err(type_error(&format!("{member}.path"), "string")),
    }
    match o.get("kmsKeyArn") {
        None | Some(Value::Null) => {}
        Some(Value::String(k)) => check_kms_key_arn(&format!("{member}.kmsKeyArn"), k)?,
        Some(_) => return Err(type_error(&format!("{member}.kmsKeyArn"), "string")),
    }
    Ok(())
}

/// Reads `maxResults` (1 to 100, default 100).
pub fn max_results(m: &Members<'_>) -> Result<usize> {
    match m.opt_i64("maxResults")? {
        None => Ok(100),
        Some(n) if (1..=100).contains(&n) => Ok(n as usize),
        Some(n) => Err(Error::invalid(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100"
        ))),
    }
}

/// One page of a sorted listing. The token is opaque, carries the position, and is bound to
/// the query (operation plus filter members) so a token from another query is rejected with
/// `InvalidNextTokenException`.
pub fn paginate<T: Clone>(items: &[T], query: &str, m: &Members<'_>) -> Result<(Vec<T>, Option<String>)> {
    let (range, next) = page_bounds(items.len(), query, m)?;
    Ok((items.get(range).unwrap_or_default().to_vec(), next))
}

/// The positions of one page out of `len` sorted items and the token for the next page, with
/// [`paginate`]'s validation (`maxResults`, then `nextToken`) and token format.
fn page_bounds(len: usize, query: &str, m: &Members<'_>) -> Result<(std::ops::Range<usize>, Option<String>)> {
    let max = max_results(m)?;
    let start = match m.opt_str("nextToken")? {
        None => 0,
        Some(tok) => decode_token(tok, query)
            .filter(|&s| s <= len)
            .ok_or_else(|| Error::new(crate::ErrorKind::InvalidNextToken, "Invalid next token."))?,
    };
    let end = start.saturating_add(max).min(len);
    let next = (end < len).then(|| encode_token(end, query));
    Ok((start..end, next))
}

/// Builds a List* answer: sorts `rows` newest first (descending sort key, ties keep their
/// order), pages them with a token bound to `query` as [`paginate`] does, and puts the page's
/// summaries under `key`. Only the page's rows are summarised, so a call costs a sort of keys
/// plus at most `maxResults` summaries however many resources match. Filtering happens in the
/// caller, before this, so positions in tokens count matching rows only.
pub fn list_page<'a, K: Ord, T: ?Sized + 'a>(
    rows: impl IntoIterator<Item = (K, &'a T)>,
    mut summarise: impl FnMut(&'a T) -> Value,
    key: &str,
    query: &str,
    m: &Members<'_>,
) -> Result<Value> {
    // The position in `rows` breaks ties, so every key is unique and the unstable selections
    // below give exactly the order of a stable sort on the key.
    let mut rows: Vec<((K, usize), &'a T)> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (k, r))| ((k, i), r))
        .collect();
    let (range, next) = page_bounds(rows.len(), query, m)?;
    let newest_first = |a: &((K, usize), &T), b: &((K, usize), &T)| b.0.0.cmp(&a.0.0).then(a.0.1.cmp(&b.0.1));
    // Only the rows up to the page's end need ordering, and only the page's need sorting.
    if range.end < rows.len() {
        rows.select_nth_unstable_by(range.end, newest_first);
    }
    let head = rows.get_mut(..range.end).unwrap_or_default();
    if range.start < head.len() {
        head.select_nth_unstable_by(range.start, newest_first);
    }
    let page_rows = head.get_mut(range.start..).unwrap_or_default();
    page_rows.sort_unstable_by(newest_first);
    let page: Vec<Value> = page_rows.iter().map(|(_, r)| summarise(r)).collect();
    let mut out = Map::new();
    out.insert(key.to_string(), Value::Array(page));
    if let Some(n) = next {
        out.insert("nextToken".to_string(), Value::String(n));
    }
    Ok(Value::Object(out))
}

fn query_tag(query: &str) -> String {
    hex::encode(&Sha256::digest(query.as_bytes())[..8])
}

fn encode_token(offset: usize, query: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{offset}", query_tag(query)))
}

fn decode_token(tok: &str, query: &str) -> Option<usize> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD.decode(tok).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (tag, off) = raw.split_once(':')?;
    (tag == query_tag(query)).then(|| off.parse().ok()).flatten()
}

/// The earliest pending time-driven change of a store (a finished delete, a finished job, an
/// automatic training), found right after the `advance` functions ran, so calls before it can
/// skip them: they would find nothing to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub(crate) enum NextChange {
    /// Not known: the next call runs `advance`. Any state-changing call resets to this, and so
    /// does a change that is already due but waits on something else.
    #[default]
    Unknown,
    /// Nothing pending: only a state-changing call can create something to advance.
    Never,
    /// Nothing changes before this time.
    At(OffsetDateTime),
}

impl NextChange {
    /// Adds a change pending at `t`, seen at `now`. One already due (`t <= now`) after
    /// `advance` ran waits on other state, so the store stays `Unknown` and every call checks.
    pub(crate) fn with(self, t: OffsetDateTime, now: OffsetDateTime) -> NextChange {
        match self {
            _ if t <= now => NextChange::Unknown,
            NextChange::Unknown => NextChange::Unknown,
            NextChange::Never => NextChange::At(t),
            NextChange::At(a) => NextChange::At(a.min(t)),
        }
    }

    /// Combines the two sides' answers.
    pub(crate) fn and(self, other: NextChange) -> NextChange {
        match (self, other) {
            (NextChange::Unknown, _) | (_, NextChange::Unknown) => NextChange::Unknown,
            (NextChange::Never, x) | (x, NextChange::Never) => x,
            (NextChange::At(a), NextChange::At(b)) => NextChange::At(a.min(b)),
        }
    }

    /// Whether a call at `now` can skip `advance`.
    pub(crate) fn quiet_at(self, now: OffsetDateTime) -> bool {
        match self {
            NextChange::Unknown => false,
            NextChange::Never => true,
            NextChange::At(t) => now < t,
        }
    }
}

/// A status lifecycle: the steps a resource goes through, each with a (real-world) duration,
/// scaled by [`Config::time_scale`]. The status at a time is derived from the start time, so
/// nothing needs a timer and a test clock drives it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Lifecycle {
    /// When the current transition began.
    pub started: OffsetDateTime,
    /// `(status, seconds spent in it before the next)`; the last entry is terminal.
    #[serde(deserialize_with = "statics::steps")]
    pub steps: Vec<(&'static str, f64)>,
}

impl Lifecycle {
    /// The usual create lifecycle: `CREATE PENDING`, `CREATE IN_PROGRESS`, then `ACTIVE`.
    pub fn create(started: OffsetDateTime, in_progress_secs: f64) -> Self {
        Lifecycle {
            started,
            steps: vec![
                ("CREATE PENDING", 5.0),
                ("CREATE IN_PROGRESS", in_progress_secs),
                ("ACTIVE", 0.0),
            ],
        }
    }

    /// The status at `now` under `config`.
    pub fn status(&self, now: OffsetDateTime, config: &Config) -> &'static str {
        let elapsed = (now - self.started).as_seconds_f64();
        let mut t = 0.0;
        for (i, (status, secs)) in self.steps.iter().enumerate() {
            t += secs * config.time_scale;
            if elapsed < t || i + 1 == self.steps.len() {
                return status;
            }
        }
        "ACTIVE"
    }

    /// When the status at `now` began: the resource's `lastUpdatedDateTime`.
    pub fn status_since(&self, now: OffsetDateTime, config: &Config) -> OffsetDateTime {
        let elapsed = (now - self.started).as_seconds_f64();
        let mut t = 0.0;
        for (i, (_, secs)) in self.steps.iter().enumerate() {
            let next = t + secs * config.time_scale;
            if elapsed < next || i + 1 == self.steps.len() {
                return self.started + time::Duration::seconds_f64(t);
            }
            t = next;
        }
        self.started
    }

    /// When the terminal status is reached.
    pub fn finished_at(&self, config: &Config) -> OffsetDateTime {
        let total: f64 = self.steps.iter().map(|(_, s)| s * config.time_scale).sum();
        self.started + time::Duration::seconds_f64(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn names_and_arns() {
        assert!(check_name("name", "my-dsg_1").is_ok());
        assert!(check_name("name", "-bad").is_err());
        assert!(check_name("name", "").is_err());
        assert!(check_name("name", &"a".repeat(64)).is_err());
        assert!(
            check_arn(
                "datasetGroupArn",
                "arn:aws:personalize:us-east-1:123456789012:dataset-group/x"
            )
            .is_ok()
        );
        assert!(check_arn("datasetGroupArn", "arn:aws:s3:::bucket").is_err());
    }

    #[test]
    fn tokens_are_bound_to_their_query() {
        let items: Vec<u32> = (0..5).collect();
        let body = json!({"maxResults": 2});
        let (page, next) = paginate(&items, "q1", &Members::new(&body)).unwrap();
        assert_eq!(page, vec![0, 1]);
        let next = next.unwrap();
        let body = json!({"maxResults": 2, "nextToken": next});
        let (page, _) = paginate(&items, "q1", &Members::new(&body)).unwrap();
        assert_eq!(page, vec![2, 3]);
        let err = paginate(&items, "q2", &Members::new(&body)).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::InvalidNextToken);
        assert!(paginate(&items, "q1", &Members::new(&json!({"maxResults": 0}))).is_err());
    }

    #[test]
    fn list_pages_match_a_stable_sort_of_every_row() {
        // Keys with many ties, in no particular order: pages must follow a stable sort on the
        // key, newest (largest) first, as summarising every row and paginating did.
        let rows: Vec<(u32, String)> = (0..60u32).map(|i| ((i * 37) % 11, format!("r{i}"))).collect();
        let expected: Vec<Value> = {
            let mut v: Vec<&(u32, String)> = rows.iter().collect();
            v.sort_by_key(|r| std::cmp::Reverse(r.0));
            v.iter().map(|r| json!(r.1)).collect()
        };
        for max in [1, 7, 13, 60, 100] {
            let (mut got, mut body) = (Vec::new(), json!({"maxResults": max}));
            loop {
                let out = list_page(
                    rows.iter().map(|r| (r.0, r)),
                    |r| json!(r.1),
                    "items",
                    "q",
                    &Members::new(&body),
                )
                .unwrap();
                let (legacy, legacy_next) = paginate(&expected, "q", &Members::new(&body)).unwrap();
                assert_eq!(out["items"], Value::Array(legacy));
                assert_eq!(
                    out.get("nextToken").and_then(Value::as_str),
                    legacy_next.as_deref()
                );
                got.extend(out["items"].as_array().unwrap().iter().cloned());
                match out.get("nextToken") {
                    Some(t) => body = json!({"maxResults": max, "nextToken": t}),
                    None => break,
                }
            }
            assert_eq!(got, expected);
        }
        let foreign = json!({"nextToken": encode_token(3, "other")});
        let err = list_page(
            rows.iter().map(|r| (r.0, r)),
            |r| json!(r.1),
            "items",
            "q",
            &Members::new(&foreign),
        )
        .unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::InvalidNextToken);
        let empty = list_page(
            std::iter::empty::<(u32, &str)>(),
            |r| json!(r),
            "items",
            "q",
            &Members::new(&json!({})),
        )
        .unwrap();
        assert_eq!(empty, json!({"items": []}));
    }

    #[test]
    fn next_change_keeps_the_earliest_future_time() {
        let t0 = datetime!(2026-01-01 00:00:00 UTC);
        let later = |s: i64| t0 + time::Duration::seconds(s);
        let n = NextChange::Never.with(later(20), t0).with(later(10), t0);
        assert_eq!(n, NextChange::At(later(10)));
        assert!(n.quiet_at(later(9)) && !n.quiet_at(later(10)));
        assert_eq!(n.with(t0, t0), NextChange::Unknown);
        assert_eq!(n.and(NextChange::Never), n);
        assert_eq!(n.and(NextChange::At(later(5))), NextChange::At(later(5)));
        assert_eq!(NextChange::Never.and(NextChange::Unknown), NextChange::Unknown);
        assert!(NextChange::Never.quiet_at(later(1_000_000)) && !NextChange::Unknown.quiet_at(t0));
    }

    #[test]
    fn lifecycle_follows_the_clock() {
        let t0 = datetime!(2026-01-01 00:00:00 UTC);
        let cfg = Config { time_scale: 1.0 };
        let lc = Lifecycle::create(t0, 60.0);
        assert_eq!(lc.status(t0, &cfg), "CREATE PENDING");
        assert_eq!(
            lc.status(t0 + time::Duration::seconds(6), &cfg),
            "CREATE IN_PROGRESS"
        );
        assert_eq!(lc.status(t0 + time::Duration::seconds(66), &cfg), "ACTIVE");
    }
}

/// Deserialising the `&'static str`s and catalog references that state holds, for snapshots.
/// Strings are interned: each distinct one is allocated once for the life of the process, and
/// the values are few (statuses, modes, operators).
pub(crate) mod statics {
    use std::collections::BTreeSet;
    use std::sync::Mutex;

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::models::catalog::{self, Recipe};

    /// `&'static str` under another name: serde's derive borrows fields written as `&str`
    /// from the input, which a snapshot read from a file cannot give.
    pub(crate) type Str = &'static str;

    fn intern(s: String) -> &'static str {
        static SEEN: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = seen.get(s.as_str()) {
            return found;
        }
        let leaked: &'static str = Box::leak(s.into_boxed_str());
        seen.insert(leaked);
        leaked
    }

    /// A `&'static str`.
    pub(crate) fn str<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
        String::deserialize(d).map(intern)
    }

    /// An `Option<&'static str>`.
    pub(crate) fn opt_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'static str>, D::Error> {
        Option::<String>::deserialize(d).map(|o| o.map(intern))
    }

    /// A lifecycle's steps.
    pub(crate) fn steps<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(&'static str, f64)>, D::Error> {
        Vec::<(String, f64)>::deserialize(d).map(|v| v.into_iter().map(|(s, t)| (intern(s), t)).collect())
    }

    /// A built-in recipe, by its ARN.
    pub(crate) mod recipe {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(r: &&'static Recipe, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&catalog::recipe_arn(r))
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static Recipe, D::Error> {
            let arn = String::deserialize(d)?;
            catalog::recipe(&arn).ok_or_else(|| serde::de::Error::custom(format!("unknown recipe {arn}")))
        }
    }
}
