//! Configuration: the TOML file format (with the embedded default) and the runtime [`Config`].

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cloudtrail::SharedClock;
use serde::{Deserialize, Deserializer};

use crate::seams::Extensions;

/// The configuration used when no `--config` file is given.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("default-config.toml");

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

/// The whole TOML file. Every table is optional (serde defaults), and tables this version does
/// not know are kept in [`FileConfig::extra`] so other modules (trails, for one) can add their own.
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
    /// Any other top-level table, for modules that read their own sections.
    #[serde(flatten)]
    pub extra: BTreeMap<String, toml::Value>,
}

impl FileConfig {
    /// Parses a TOML document.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: FileConfig = toml::from_str(text)?;
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
                check_iso("creation_date", &session.creation_date)?;
                if let Some(e) = &session.expiration {
                    check_iso("expiration", e)?;
                }
            }
            for fed in &account.federated_users {
                check_iso("creation_date", &fed.creation_date)?;
                if !account.users.iter().any(|u| u.name == fed.issuer_user) {
                    return Err(ConfigError::Invalid(format!(
                        "federated user {} names issuer_user {:?}, which is not a user of account {}",
                        fed.name, fed.issuer_user, account.id
                    )));
                }
            }
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
#[serde(default)]
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
    /// Keep Personalize state in memory only (lost at every restart) instead of in the data
    /// directory.
    pub ephemeral: bool,
    /// Regions a credential scope may name besides AWS's own (a Region newer than this build).
    pub extra_regions: Vec<String>,
    /// Host names, besides loopback ones, under which the admin endpoints and the console answer
    /// (a Docker service name, say).
    pub admin_hosts: Vec<String>,
    /// The token that state-changing admin calls must carry when the server listens on a
    /// non-loopback address; a random one is made and logged at start-up when this is empty.
    pub admin_token: Option<String>,
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
        }
    }
}

/// `[personalize]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
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
#[serde(default)]
pub struct NotificationsSection {
    /// URLs that receive every delivery notification as a POST.
    pub webhooks: Vec<String>,
}

/// One `[[accounts]]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountConfig {
    /// The 12-digit account id.
    pub id: String,
    /// The account alias, which CloudTrail shows as the root user's `userName`.
    pub alias: Option<String>,
    /// The root user's access key, if it has one.
    pub root: Option<RootConfig>,
    /// IAM users.
    pub users: Vec<UserConfig>,
    /// IAM roles and their sessions.
    pub roles: Vec<RoleConfig>,
    /// Federated users (GetFederationToken).
    pub federated_users: Vec<FederatedUserConfig>,
    /// AWS service principals.
    pub services: Vec<ServiceConfig>,
}

impl AccountConfig {
    fn access_key_ids(&self) -> impl Iterator<Item = &str> {
        self.root
            .iter()
            .map(|r| r.access_key_id.as_str())
            .chain(
                self.users
                    .iter()
                    .flat_map(|u| u.keys.iter().map(|k| k.access_key_id.as_str())),
            )
            .chain(
                self.roles
                    .iter()
                    .flat_map(|r| r.sessions.iter().map(|s| s.access_key_id.as_str())),
            )
            .chain(self.federated_users.iter().map(|f| f.access_key_id.as_str()))
            .chain(self.services.iter().map(|s| s.access_key_id.as_str()))
    }
}

/// `[accounts.root]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootConfig {
    /// The root access key id (`AKIA…`).
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// Operation patterns this identity may not call.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// `[[accounts.users]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The user name.
    pub name: String,
    /// The IAM path, `/` by default.
    #[serde(default = "slash")]
    pub path: String,
    /// The `AIDA…` unique id; derived from the name when absent.
    #[serde(default)]
    pub principal_id: Option<String>,
    /// Long-term access keys.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// Operation patterns this user may not call.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// An access key pair.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// The access key id.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
}

/// `[[accounts.roles]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// The role name.
    pub name: String,
    /// The IAM path.
    #[serde(default = "slash")]
    pub path: String,
    /// The `AROA…` unique id; derived from the name when absent.
    #[serde(default)]
    pub role_id: Option<String>,
    /// Active sessions of this role.
    #[serde(default)]
    pub sessions: Vec<SessionConfig>,
    /// Operation patterns every session of this role may not call.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// `[[accounts.roles.sessions]]`: temporary credentials from AssumeRole.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// The role session name.
    pub name: String,
    /// The temporary key id (`ASIA…`).
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// The session token the client must send as `X-Amz-Security-Token`.
    pub session_token: String,
    /// When the session was issued, `YYYY-MM-DDTHH:MM:SSZ`.
    pub creation_date: String,
    /// When it expires; never when absent.
    #[serde(default)]
    pub expiration: Option<String>,
    /// Whether the session was created with MFA.
    #[serde(default)]
    pub mfa_authenticated: bool,
    /// The source identity set on the session.
    #[serde(default)]
    pub source_identity: Option<String>,
    /// A service acting through this session (`invokedBy`).
    #[serde(default)]
    pub invoked_by: Option<String>,
    /// Operation patterns this session may not call (added to the role's).
    #[serde(default)]
    pub deny: Vec<String>,
}

/// `[[accounts.federated_users]]`: temporary credentials from GetFederationToken.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederatedUserConfig {
    /// The federated user name.
    pub name: String,
    /// The IAM user (of the same account) that called GetFederationToken.
    pub issuer_user: String,
    /// The temporary key id (`ASIA…`).
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
    /// When the token was issued.
    pub creation_date: String,
    /// When it expires; never when absent.
    #[serde(default)]
    pub expiration: Option<String>,
    /// Whether MFA was used.
    #[serde(default)]
    pub mfa_authenticated: bool,
    /// Operation patterns this identity may not call.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// `[[accounts.services]]`: an AWS service principal calling in the account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// The service principal, e.g. `personalize.amazonaws.com`.
    pub principal: String,
    /// The key the emulator accepts for it.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// Operation patterns this identity may not call.
    #[serde(default)]
    pub deny: Vec<String>,
}

fn slash() -> String {
    "/".to_owned()
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

/// Parses `250ms`, `30s`, `5m`, `1h` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 250ms, 30s, 5m or 1h"))?;
    let secs = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("{s:?} has an unknown unit (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
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
        f.debug_struct("Config")
            .field("file", &self.file)
            .finish_non_exhaustive()
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
