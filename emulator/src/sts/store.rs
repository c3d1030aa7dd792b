//! The temporary credentials STS issued, kept in the data directory
//! (`<data-dir>/.sts/credentials.jsonl`, one JSON line per issue, readable by its owner only), so
//! they work across a restart until they expire, as they would against AWS. A restart reads the
//! file, keeps what has not expired, and rewrites it with only that.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cloudtrail::UserIdentity;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::identity::Principal;

/// One issued credential as the file holds it.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    account: String,
    identity: UserIdentity,
    secret: String,
    session_token: Option<String>,
    /// Epoch seconds.
    expiration: i64,
    deny: Vec<String>,
}

/// The file credentials are appended to.
#[derive(Debug)]
pub struct CredentialStore {
    path: PathBuf,
    file: Mutex<Option<fs::File>>,
}

/// The file under a data directory.
pub fn path_in(data_dir: &Path) -> PathBuf {
    data_dir.join(".sts").join("credentials.jsonl")
}

impl CredentialStore {
    /// Opens the store at `path`: the credentials in it that are still valid at `now`, and the
    /// store, its file rewritten to hold only those. A line that does not parse is skipped.
    pub fn open(path: PathBuf, now: OffsetDateTime) -> std::io::Result<(CredentialStore, Vec<Principal>)> {
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let mut live = Vec::new();
        let mut kept = String::new();
        for line in text.lines() {
            let Ok(l) = serde_json::from_str::<Line>(line) else {
                continue;
            };
            if l.expiration <= now.unix_timestamp() {
                continue;
            }
            kept.push_str(line);
            kept.push('\n');
            live.push(Principal {
                account: l.account,
                identity: l.identity,
                secret: l.secret,
                session_token: l.session_token,
                expiration: OffsetDateTime::from_unix_timestamp(l.expiration).ok(),
                deny: l.deny,
                generated: false,
                renews_hourly: false,
                signing_key: sigv4::SigningKeyCache::new(),
            });
        }
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        write_private(&tmp, kept.as_bytes())?;
        fs::rename(&tmp, &path)?;
        let file = open_append(&path)?;
        Ok((
            CredentialStore {
                path,
                file: Mutex::new(Some(file)),
            },
            live,
        ))
    }

    /// Appends an issued credential. A failed write is logged: the credential still works
    /// until the process ends.
    pub fn append(&self, p: &Principal) {
        let Some(expiration) = p.expiration else { return };
        let line = Line {
            account: p.account.clone(),
            identity: p.identity.clone(),
            secret: p.secret.clone(),
            session_token: p.session_token.clone(),
            expiration: expiration.unix_timestamp(),
            deny: p.deny.clone(),
        };
        let Ok(mut bytes) = serde_json::to_vec(&line) else {
            return;
        };
        bytes.push(b'\n');
        let mut guard = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(f) = guard.as_mut()
            && let Err(e) = f.write_all(&bytes)
        {
            tracing::warn!(error = %e, path = %self.path.display(), "issued credentials will not outlive a restart");
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<fs::File> {
    let mut o = fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut o = fs::OpenOptions::new();
    o.create(true).write(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)?.write_all(bytes)
}
