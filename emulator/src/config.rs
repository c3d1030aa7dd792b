//! Configuration: the TOML file format (with the embedded default) and the runtime [`Config`].

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cloudtrail::SharedClock;
use serde::{Deserialize, Deserializer};

use crate::seams::Extensions;

pub use shared_config::accounts::{
    AccountConfig, FederatedUserConfig, KeyConfig, RoleConfig, RootConfig, SamlProviderConfig, ServiceConfig,
    SessionConfig, UserConfig,
};
/// The configuration used when no `--config` file is given.
pub use shared_config::{DEFAULT_CONFIG_TOML, parse_duration};

/// Errors reading or checking the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or has a value of the wrong type.
    #[error("invalid config: {0}")]
    Parse(#[from] toml::de::Error),
    /// The values are individually fine but do not make sense together.
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The top-level tables other modules read out of [`FileConfig::extra`] (the CloudTrail side's).
pub const OTHER_TABLES: &[&str] = &["cloudtrail", "trails", "organizations", "object_stores"];

/// The top-level tables [`FileConfig`] reads itself.
const OWN_TABLES: &[&str] = &["server", "personalize", "notifications", "accounts"];

/// Every top-level table of the file.
fn all_tables() -> impl Iterator<Item = &'static str> {
    OWN_TABLES.iter().chain(OTHER_TABLES).copied()
}

/// "unknown table `[srever]` at line 3; did you mean `[server]`?"
fn unknown_table(text: &str, name: &str) -> String {
    let line = text
        .lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches('[');
            l.strip_prefix(name)
                .is_some_and(|rest| rest.trim_start().starts_with([']', '.', '=']))
        })
        .map_or_else(String::new, |n| format!(" at line {}", n + 1));
    let nearest = all_tables()
        .map(|t| (edit_distance(t, name), t))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= 2)
        .map(|(_, t)| t);
    let hint = match nearest {
        Some(t) => format!("did you mean `[{t}]`?"),
        None => format!("the tables are {}", all_tables().collect::<Vec<_>>().join(", ")),
    };
    format!("unknown table `[{name}]`{line}; {hint}")
}

/// Levenshtein distance, for the hint.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The whole TOML file. Every table is optional (serde defaults); the CloudTrail side's tables
/// ([`OTHER_TABLES`]) are kept in [`FileConfig::extra`] for its own modules to read, and any
/// other table is an error.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FileConfig {
    /// `[server]`.
    pub server: ServerSection,
    /// `[personalize]`.
    pub personalize: PersonalizeSection,
    /// `[notifications]`.
    pub notifications: NotificationsSection,
    /// `[[accounts]]`: the identities that may sign requests.
    pub accounts: Vec<AccountConfig>,
    /// The tables of [`OTHER_TABLES`], for the modules that read them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, toml::Value>,
}

impl FileConfig {
    /// Parses a TOML document.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: FileConfig = toml::from_str(text)?;
        if let Some(unknown) = config.extra.keys().find(|k| !OTHER_TABLES.contains(&k.as_str())) {
            return Err(ConfigError::Invalid(unknown_table(text, unknown)));
        }
        config.check()?;
        Ok(config)
    }

    /// The embedded default configuration.
    pub fn embedded_default() -> Self {
        // The embedded file is checked by a unit test, so this cannot fail in a release.
        Self::parse(DEFAULT_CONFIG_TOML).unwrap_or_default()
    }

    /// Reads and parses a file.
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let mut keys = std::collections::HashSet::new();
        for account in &self.accounts {
            if account.id.len() != 12 || !account.id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::Invalid(format!(
                    "account id {:?} is not 12 digits",
                    account.id
                )));
            }
            for key in account.access_key_ids() {
                if !keys.insert(key.to_owned()) {
                    return Err(ConfigError::Invalid(format!("access key {key} is listed twice")));
                }
            }
            for session in account.roles.iter().flat_map(|r| &r.sessions) {
                if let Some(c) = &session.creation_date {
                    check_iso("creation_date", c)?;
                }
                if let Some(e) = &session.expiration {
                    check_iso("expiration", e)?;
                }
            }
            for p in &account.oidc_providers {
                if p.jwks.is_none() && p.hs256_secret.is_none() {
                    return Err(ConfigError::Invalid(format!(
                        "oidc provider {} of account {} needs jwks or hs256_secret to check its tokens with",
                        p.url, account.id
                    )));
                }
                if let Some(j) = &p.jwks {
                    shared_config::accounts::parse_jwks(j)
                        .map_err(|e| ConfigError::Invalid(format!("oidc provider {}: {e}", p.url)))?;
                }
            }
            for p in &account.saml_providers {
                let text = match (&p.metadata, &p.certificate) {
                    (Some(t), None) | (None, Some(t)) => t,
                    _ => {
                        return Err(ConfigError::Invalid(format!(
                            "saml provider {} of account {} needs exactly one of metadata or certificate",
                            p.name, account.id
                        )));
                    }
                };
                let problem = match crate::sts::saml::certificates(text) {
                    None => Some(
                        "no certificate found (PEM, base64 DER, or an IdP metadata document with a signing \
                         X509Certificate)",
                    ),
                    Some(c) if !c.iter().all(|d| crate::sts::saml::is_certificate(d)) => {
                        Some("a certificate is not a valid X.509 certificate")
                    }
                    Some(_) => None,
                };
                if let Some(problem) = problem {
                    return Err(ConfigError::Invalid(format!(
                        "saml provider {} of account {}: {problem}",
                        p.name, account.id
                    )));
                }
            }
            for fed in &account.federated_users {
                if let Some(c) = &fed.creation_date {
                    check_iso("creation_date", c)?;
                }
                if !account.users.iter().any(|u| u.name == fed.issuer_user) {
                    return Err(ConfigError::Invalid(format!(
                        "federated user {} names issuer_user {:?}, which is not a user of account {}",
                        fed.name, fed.issuer_user, account.id
                    )));
                }
            }
        }
        if self.server.tls_certificate.is_some() != self.server.tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "server.tls_certificate and server.tls_key go together: give both or neither".into(),
            ));
        }
        for region in &self.server.extra_regions {
            if !crate::sigv4::Regions::valid_name(region) {
                return Err(ConfigError::Invalid(format!(
                    "server.extra_regions: {region:?} is not a Region name (lower-case letters, digits and \
                     dashes, like ap-southeast-7, at most 32 characters)"
                )));
            }
        }
        if self.personalize.time_scale < 0.0 || !self.personalize.time_scale.is_finite() {
            return Err(ConfigError::Invalid("personalize.time_scale must be >= 0".into()));
        }
        Ok(())
    }
}

fn check_iso(what: &str, value: &str) -> Result<(), ConfigError> {
    cloudtrail::timefmt::parse_iso_seconds(value)
        .map(|_| ())
        .ok_or_else(|| ConfigError::Invalid(format!("{what} {value:?} is not YYYY-MM-DDTHH:MM:SSZ")))
}

/// `[server]`: listener, data directory and limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// Listen address.
    pub bind: SocketAddr,
    /// Where buckets (log files) and the spool live.
    pub data_dir: PathBuf,
    /// Maximum age of a batch before it is written.
    #[serde(deserialize_with = "de_duration")]
    pub flush_interval: Duration,
    /// Map unknown access keys to generated IAM users instead of rejecting them.
    pub allow_unknown_keys: bool,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// How long a new connection may take to send its first bytes (enough to tell the HTTP
    /// version); a connection that sends nothing is closed after this.
    #[serde(deserialize_with = "de_duration")]
    pub first_byte_timeout: Duration,
    /// How long a client may take to send the request headers.
    #[serde(deserialize_with = "de_duration")]
    pub header_read_timeout: Duration,
    /// How long a client may take to send the body once the headers are in.
    #[serde(deserialize_with = "de_duration")]
    pub body_read_timeout: Duration,
    /// Open connections beyond this wait in the listen backlog.
    pub max_connections: usize,
    /// Open connections from one address; more are closed as soon as they are accepted, so
    /// one peer cannot take every connection slot.
    pub max_connections_per_ip: usize,
    /// Requests processed at once; more answer `ThrottlingException`.
    pub max_in_flight: usize,
    /// How long shutdown waits for in-flight calls before closing them.
    #[serde(deserialize_with = "de_duration")]
    pub shutdown_deadline: Duration,
    /// Keep Personalize state and the credentials STS issued in memory only (lost at every
    /// restart) instead of in the data directory.
    pub ephemeral: bool,
    /// Regions a credential scope may name besides AWS's own (a Region newer than this build).
    pub extra_regions: Vec<String>,
    /// Host names, besides loopback ones, under which the admin endpoints and the console answer
    /// (a Docker service name, say).
    pub admin_hosts: Vec<String>,
    /// The token that state-changing admin calls must carry when the server listens on a
    /// non-loopback address; a random one is made and logged at start-up when this is empty.
    pub admin_token: Option<String>,
    /// Serve the console (`/console/`) to peers other than this machine.
    pub console_open: bool,
    /// Serve TLS on the same port (a connection that opens with a TLS handshake).
    pub tls: bool,
    /// The TLS certificate chain (PEM); with `tls_key`. Absent: one made on first start under
    /// `<data_dir>/.tls/`.
    pub tls_certificate: Option<PathBuf>,
    /// The private key of `tls_certificate` (PEM).
    pub tls_key: Option<PathBuf>,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            bind: SocketAddr::from(([127, 0, 0, 1], 4599)),
            data_dir: PathBuf::from("./trail-data"),
            flush_interval: Duration::from_secs(300),
            allow_unknown_keys: false,
            trusted_proxies: Vec::new(),
            max_body_bytes: 10 * 1024 * 1024,
            first_byte_timeout: Duration::from_secs(5),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 512,
            max_connections_per_ip: 256,
            max_in_flight: 256,
            shutdown_deadline: Duration::from_secs(10),
            ephemeral: false,
            extra_regions: Vec::new(),
            admin_hosts: Vec::new(),
            admin_token: None,
            console_open: false,
            tls: true,
            tls_certificate: None,
            tls_key: None,
        }
    }
}

/// `[personalize]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersonalizeSection {
    /// Multiplies every simulated duration.
    pub time_scale: f64,
}

impl Default for PersonalizeSection {
    fn default() -> Self {
        PersonalizeSection {
            time_scale: personalize::Config::default().time_scale,
        }
    }
}

/// `[notifications]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsSection {
    /// URLs that receive every delivery notification as a POST.
    pub webhooks: Vec<String>,
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

/// Everything [`crate::run`] needs: the file configuration, resolved paths and limits, the clock,
/// and the extension points.
#[derive(Clone)]
pub struct Config {
    /// The parsed file (or the embedded default) with command-line overrides applied.
    pub file: FileConfig,
    /// The source of time for signatures, records and Personalize lifecycles.
    pub clock: SharedClock,
    /// Services and taps plugged in by other modules (CloudTrail API, S3 API, Event history).
    pub extensions: Extensions,
    /// A switch that makes spool writes fail as on a full disk (fault-injection tests).
    pub spool_faults: Option<Arc<cloudtrail::delivery::SpoolFaults>>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Config {{ file: {:?}, .. }}", self.file)
    }
}

impl Config {
    /// A configuration from a parsed file with the real clock and no extensions.
    pub fn new(file: FileConfig) -> Self {
        Config {
            file,
            clock: Arc::new(cloudtrail::SystemClock),
            extensions: Extensions::default(),
            spool_faults: None,
        }
    }

    /// The embedded default configuration.
    pub fn embedded_default() -> Self {
        Self::new(FileConfig::embedded_default())
    }

    /// Replaces the clock (tests pass a `ManualClock`).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the data directory.
    pub fn with_data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.file.server.data_dir = dir.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_tables_and_keys_are_errors_with_their_line() {
        let e = FileConfig::parse("[server]\nbind = \"127.0.0.1:1\"\n\n[srever]\nx = 1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid config: unknown table `[srever]` at line 4; did you mean `[server]`?"
        );
        let e = FileConfig::parse("[[acounts]]\nid = \"1\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1") && e.contains("`[accounts]`"), "{e}");
        let e = FileConfig::parse("[zzz]\n").unwrap_err().to_string();
        assert!(e.contains("the tables are server, personalize"), "{e}");
        let e = FileConfig::parse("[server]\nflush_intervl = \"1s\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("flush_intervl") && e.contains("line 2"), "{e}");
        // The CloudTrail side's own tables are kept for it.
        assert!(
            FileConfig::parse("[organizations]\n")
                .unwrap()
                .extra
                .contains_key("organizations")
        );
    }

    #[test]
    fn embedded_default_parses_and_has_the_demo_identities() {
        let c = FileConfig::parse(DEFAULT_CONFIG_TOML).unwrap();
        let demo = &c.accounts[0];
        assert_eq!(demo.id, "123456789012");
        assert_eq!(demo.users[0].name, "alice");
        assert_eq!(demo.users[0].keys[0].access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert!(demo.root.is_some());
        assert!(!demo.roles[0].sessions.is_empty());
        assert!(!demo.federated_users.is_empty());
        assert!(!demo.services.is_empty());
        assert_eq!(c.server.flush_interval, Duration::from_secs(300));
    }

    #[test]
    fn unknown_tables_are_kept_and_missing_ones_default() {
        let c = FileConfig::parse("[[trails]]\nname = \"t\"\n").unwrap();
        assert!(c.extra.contains_key("trails"));
        assert!(c.accounts.is_empty());
        assert_eq!(c.server.bind.port(), 4599);
    }

    #[test]
    fn rejects_bad_values() {
        assert!(FileConfig::parse("[[accounts]]\nid = \"12\"\n").is_err());
        assert!(FileConfig::parse("[server]\nflush_interval = \"5 parsecs\"\n").is_err());
        let dup = r#"
[[accounts]]
id = "111111111111"
[accounts.root]
access_key_id = "AKIAX"
secret_access_key = "s"
[[accounts.users]]
name = "u"
keys = [{ access_key_id = "AKIAX", secret_access_key = "t" }]
"#;
        assert!(FileConfig::parse(dup).is_err());
        for bad in ["..", "", "UPPER-1", "a/b-1", "-xx-1", "xx--1", "nodash"] {
            let text = format!("[server]\nextra_regions = [{bad:?}]\n");
            assert!(FileConfig::parse(&text).is_err(), "{bad:?}");
        }
        for provider in [
            "name = \"p\"",
            "name = \"p\"\ncertificate = \"not base64!\"",
            "name = \"p\"\ncertificate = \"AAAA\"",
            "name = \"p\"\ncertificate = \"AAAA\"\nmetadata = \"<m/>\"",
        ] {
            let text =
                format!("[[accounts]]\nid = \"111111111111\"\n[[accounts.saml_providers]]\n{provider}\n");
            let e = FileConfig::parse(&text).unwrap_err().to_string();
            assert!(e.contains("saml provider p of account 111111111111"), "{e}");
        }
        let ok = FileConfig::parse("[server]\nextra_regions = [\"xx-newregion-1\"]\n").unwrap();
        assert_eq!(ok.server.extra_regions, ["xx-newregion-1"]);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("abc").is_err());
    }
}
