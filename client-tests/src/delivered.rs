//! What the emulator delivered: every log file under the data directory, gunzipped and checked
//! against the file-level invariants consumers rely on, with its records as JSON and typed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cloudtrail::Record;
use serde_json::Value;

/// One delivered log file.
#[derive(Debug, Clone)]
pub struct LogFile {
    /// The bucket (the first folder under the data directory).
    pub bucket: String,
    /// The object key inside the bucket.
    pub key: String,
    /// The account folder of the key.
    pub account: String,
    /// The region folder of the key.
    pub region: String,
    /// The file's records, in file order.
    pub records: Vec<Value>,
}

/// Everything delivered so far.
#[derive(Debug, Clone, Default)]
pub struct Delivered {
    /// Every log file, sorted by bucket and key.
    pub files: Vec<LogFile>,
    /// Every record, file by file, in file order.
    pub records: Vec<Value>,
    /// The same records, typed.
    pub typed: Vec<Record>,
}

/// `AWSLogs/[o-…/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>`, after an optional prefix.
const KEY_LAYOUT: &str = r"^(?:(?P<prefix>.+)/)?AWSLogs/(?:(?P<org>o-[a-z0-9]{10,32})/)?(?P<account>\d{12})/CloudTrail/(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<file>[^/]+)$";
/// The file name AWS uses; `unique` is 16 alphanumerics.
const FILE_NAME: &str = r"^(?P<account>\d{12})_CloudTrail_(?P<region>[a-z0-9-]+)_(?P<date>\d{8})T(?P<hm>\d{4})Z_(?P<unique>[A-Za-z0-9]{16})\.json\.gz$";
/// The regex the CloudTrail Processing Library uses to recognise log files.
pub const CPL_LOG_KEY: &str = r".+_CloudTrail_[\w\-]+_\d{8}T\d{4}Z_[\w]+\.json\.gz";

impl Delivered {
    /// Reads every log file under `data_dir`'s buckets. Problems (a key or body that breaks
    /// what consumers rely on) are collected and returned together.
    pub fn read(data_dir: &Path) -> Result<Delivered, Vec<String>> {
        let layout = regex::Regex::new(KEY_LAYOUT).expect("valid regex");
        let file_name = regex::Regex::new(FILE_NAME).expect("valid regex");
        let cpl = regex::Regex::new(&format!("^{CPL_LOG_KEY}$")).expect("valid regex");
        let mut problems = Vec::new();
        let mut out = Delivered::default();
        let mut buckets: Vec<PathBuf> = std::fs::read_dir(data_dir)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        buckets.sort();
        for bucket_dir in buckets {
            let Some(bucket) = bucket_dir.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            // `.spool`, `.s3meta`, `.s3tmp` and the like hold no objects.
            if bucket.starts_with('.') || !bucket_dir.is_dir() {
                continue;
            }
            for path in cloudtrail::store::files_under(&bucket_dir) {
                let Some(key) = path
                    .strip_prefix(&bucket_dir)
                    .ok()
                    .and_then(|p| p.to_str())
                    .map(str::to_owned)
                else {
                    problems.push(format!("{}: not UTF-8", path.display()));
                    continue;
                };
                // Digest files, notifications and anything else are other tests' business.
                if !key.contains("/CloudTrail/") {
                    continue;
                }
                match read_log_file(&path, &bucket, &key, &layout, &file_name, &cpl) {
                    Ok(f) => out.files.push(f),
                    Err(e) => problems.push(format!("{bucket}/{key}: {e}")),
                }
            }
        }
        for f in &out.files {
            for r in &f.records {
                match serde_json::from_value::<Record>(r.clone()) {
                    Ok(typed) => {
                        // The typed model must hold every field: serialising it back gives the
                        // same JSON (a field it dropped or renamed would show here).
                        match serde_json::to_value(&typed) {
                            Ok(back) if &back == r => {}
                            Ok(back) => problems.push(format!(
                                "{}: record does not survive cloudtrail::Record unchanged:\n  file:  {r}\n  typed: {back}",
                                f.key
                            )),
                            Err(e) => problems.push(format!("{}: cannot serialise the typed record: {e}", f.key)),
                        }
                        out.typed.push(typed);
                    }
                    Err(e) => problems.push(format!(
                        "{}: record does not parse as cloudtrail::Record: {e}: {r}",
                        f.key
                    )),
                }
                out.records.push(r.clone());
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// The one record whose `requestID` is `id`.
    pub fn by_request_id(&self, id: &str) -> &Value {
        let matches: Vec<&Value> = self.records.iter().filter(|r| r["requestID"] == id).collect();
        assert_eq!(
            matches.len(),
            1,
            "expected exactly one record with requestID {id}, found {} among {}",
            matches.len(),
            self.records.len()
        );
        matches[0]
    }

    /// Every record of an event name, in delivery order.
    pub fn named(&self, event_name: &str) -> Vec<&Value> {
        self.records
            .iter()
            .filter(|r| r["eventName"] == event_name)
            .collect()
    }

    /// Record counts by `eventName`.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for r in &self.records {
            *m.entry(r["eventName"].as_str().unwrap_or("?").to_owned())
                .or_insert(0) += 1;
        }
        m
    }
}

fn read_log_file(
    path: &Path,
    bucket: &str,
    key: &str,
    layout: &regex::Regex,
    file_name: &regex::Regex,
    cpl: &regex::Regex,
) -> Result<LogFile, String> {
    if !cpl.is_match(key) {
        return Err("key does not match the CloudTrail Processing Library's log-file regex".into());
    }
    let l = layout
        .captures(key)
        .ok_or("key does not follow the AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/ layout")?;
    let name = l.name("file").map_or("", |m| m.as_str());
    let n = file_name.captures(name).ok_or(
        "file name is not <account>_CloudTrail_<region>_<YYYYMMDD>T<HHmm>Z_<16 alphanumerics>.json.gz",
    )?;
    let account = l.name("account").map_or("", |m| m.as_str());
    let region = l.name("region").map_or("", |m| m.as_str());
    if n.name("account").map(|m| m.as_str()) != Some(account) {
        return Err("file name account differs from the account folder".into());
    }
    if n.name("region").map(|m| m.as_str()) != Some(region) {
        return Err("file name region differs from the region folder".into());
    }
    let folder_date = format!(
        "{}{}{}",
        l.name("y").map_or("", |m| m.as_str()),
        l.name("m").map_or("", |m| m.as_str()),
        l.name("d").map_or("", |m| m.as_str())
    );
    if n.name("date").map(|m| m.as_str()) != Some(folder_date.as_str()) {
        return Err("file name date differs from the YYYY/MM/DD folders".into());
    }
    let gz = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    if gz.get(..2) != Some(&[0x1f, 0x8b][..]) {
        return Err("not a gzip file".into());
    }
    let body = cloudtrail::logfile::gunzip(&gz).map_err(|e| format!("cannot gunzip: {e}"))?;
    if !body.starts_with(br#"{"Records":["#) {
        return Err(format!(
            "body does not start with {{\"Records\":[ but {:?}",
            String::from_utf8_lossy(body.get(..40).unwrap_or(&body))
        ));
    }
    let v: Value = serde_json::from_slice(&body).map_err(|e| format!("body is not JSON: {e}"))?;
    let obj = v.as_object().ok_or("body is not a JSON object")?;
    if obj.len() != 1 {
        return Err(format!(
            "body has members other than Records: {:?}",
            obj.keys().collect::<Vec<_>>()
        ));
    }
    let records = v["Records"].as_array().ok_or("Records is not an array")?.clone();
    if records.is_empty() {
        return Err("a log file with no records".into());
    }
    for r in &records {
        if r["recipientAccountId"] != account {
            return Err(format!(
                "record for account {} in account {account}'s folder",
                r["recipientAccountId"]
            ));
        }
        if r["awsRegion"] != region {
            return Err(format!(
                "record for region {} in region {region}'s folder",
                r["awsRegion"]
            ));
        }
    }
    Ok(LogFile {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        account: account.to_owned(),
        region: region.to_owned(),
        records,
    })
}
