//! Scenarios: a population and its behaviour, read from TOML, with the built-in presets.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::ops;

/// Why a scenario cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Not valid TOML, or not the scenario shape.
    #[error("scenario {name}: {source}")]
    Parse {
        /// Which scenario.
        name: String,
        /// The TOML error, with its line and column.
        #[source]
        source: toml::de::Error,
    },
    /// Parsed, but a value is out of range or refers to something that does not exist.
    #[error("scenario {name}: {message}")]
    Invalid {
        /// Which scenario.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// Neither a preset nor a readable file.
    #[error(
        "no preset named {0:?} (presets: demo, ml-pipeline, audit-noise, suspicious) and no such file: {1}"
    )]
    NotFound(String, std::io::Error),
}

/// The most `mix` calls one (account, Region) may make in a day: keeps a day's plan in memory.
pub const MAX_EVENTS_PER_DAY: u64 = 50_000_000;

/// The presets, embedded in the binary.
pub const PRESETS: &[(&str, &str)] = &[
    ("demo", include_str!("../presets/demo.toml")),
    ("ml-pipeline", include_str!("../presets/ml-pipeline.toml")),
    ("audit-noise", include_str!("../presets/audit-noise.toml")),
    ("suspicious", include_str!("../presets/suspicious.toml")),
];

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name, used in reports.
    pub name: String,
    /// One line about what it shows.
    #[serde(default)]
    pub description: String,
    /// Calls of the `mix` behaviours per account, Region and full day; `--events-per-day` overrides.
    #[serde(default = "default_events_per_day")]
    pub events_per_day: u64,
    /// Who is there.
    pub population: Population,
    /// When they are active.
    #[serde(default)]
    pub activity: Activity,
    /// What they do.
    pub behaviours: Vec<Behaviour>,
}

/// Who makes calls.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Population {
    /// How many accounts (each gets the whole identity list); `--accounts` overrides.
    #[serde(default = "one")]
    pub accounts: u32,
    /// Regions the accounts use; `--regions` overrides.
    #[serde(default = "default_regions")]
    pub regions: Vec<String>,
    /// The identities of each account.
    pub identities: Vec<IdentitySpec>,
    /// Named address pools, beside the built-in `office`, `home`, `cloud` and `unusual`.
    #[serde(default)]
    pub networks: BTreeMap<String, Network>,
}

fn default_events_per_day() -> u64 {
    2000
}

fn one() -> u32 {
    1
}

fn default_regions() -> Vec<String> {
    vec!["us-east-1".to_owned()]
}

/// The identity types the generator populates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum IdentityKind {
    /// An IAM user with a long-term `AKIA` key.
    IAMUser,
    /// A role session (`ASIA` key, session token).
    AssumedRole,
    /// The account's root user.
    Root,
    /// A federated user from GetFederationToken.
    FederatedUser,
    /// An AWS service principal (`invokedBy`).
    AWSService,
}

/// One group of identities in each account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySpec {
    /// The identity type.
    #[serde(rename = "type")]
    pub kind: IdentityKind,
    /// A label behaviours select identities by.
    pub tag: String,
    /// How many per account.
    #[serde(default = "one")]
    pub count: u32,
    /// Fixed names (user, role session or federated user names); otherwise drawn from `fake`.
    #[serde(default)]
    pub names: Vec<String>,
    /// The role name of an `AssumedRole` group (default: derived from the tag).
    #[serde(default)]
    pub role: Option<String>,
    /// The IAM path of users and roles.
    #[serde(default)]
    pub path: Option<String>,
    /// The service principal of an `AWSService` group.
    #[serde(default)]
    pub service: Option<String>,
    /// Whether sessions were created with MFA.
    #[serde(default)]
    pub mfa: bool,
    /// The address pool they call from (`office`, `home`, `cloud`, `unusual` or a named network).
    #[serde(default = "default_network")]
    pub network: String,
    /// The user-agent families they use; each identity sticks to one.
    #[serde(default = "default_agents")]
    pub user_agents: Vec<AgentFamily>,
}

fn default_network() -> String {
    "office".to_owned()
}

fn default_agents() -> Vec<AgentFamily> {
    vec![AgentFamily::AwsCliV2, AgentFamily::Boto3]
}

/// A kind of client, from which a realistic `User-Agent` is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentFamily {
    /// `aws-cli/2.x … md/command#personalize.<op>`.
    AwsCliV2,
    /// `aws-cli/1.x … botocore/1.x`.
    AwsCliV1,
    /// `Boto3/1.x md/Botocore#1.x ua/2.1 …`.
    Boto3,
    /// `aws-sdk-rust/1.x ua/2.1 api/personalize/…`.
    AwsSdkRust,
    /// `aws-sdk-java/2.x …`.
    AwsSdkJava,
    /// `aws-sdk-js/3.x …`.
    AwsSdkJs,
    /// `curl/8.x`.
    Curl,
    /// `python-requests/2.x`.
    PythonRequests,
    /// The AWS CLI on Kali Linux (`…Linux/6.x-kali…`), which detections look for.
    Kali,
}

/// An address pool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// IPv4 CIDR blocks to draw from.
    pub cidrs: Vec<String>,
}

/// Time-of-day and weekday activity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// Relative activity per local hour, 24 values.
    #[serde(default = "office_hours")]
    pub hours: Vec<f64>,
    /// Relative activity per weekday, Monday first, 7 values (1.0 = a full day).
    #[serde(default = "working_week")]
    pub weekdays: Vec<f64>,
    /// Local time = UTC + this many hours (the team's time zone).
    #[serde(default)]
    pub utc_offset_hours: i32,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            hours: office_hours(),
            weekdays: working_week(),
            utc_offset_hours: 0,
        }
    }
}

fn office_hours() -> Vec<f64> {
    vec![
        0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 4.0, 7.0, 8.0, 8.0, 6.0, 7.0, 8.0, 8.0, 7.0, 5.0, 3.0, 2.0,
        1.5, 1.0, 0.6, 0.3,
    ]
}

fn working_week() -> Vec<f64> {
    vec![1.0, 1.0, 1.0, 1.0, 0.9, 0.15, 0.1]
}

/// How a behaviour produces calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BehaviourKind {
    /// Independent calls drawn from a weighted operation mix, spread over the day.
    Mix,
    /// Bursts of calls from the mix in quick succession (enumeration, mass deletion).
    Burst,
    /// A scripted workflow run from start to end.
    Workflow,
    /// Calls of the identity and audit plane (STS, sign-in, IAM, CloudTrail, the trail's
    /// bucket) drawn from a weighted mix, `per_day` of them, spread over the day.
    Plane,
    /// A whole attack path, `per_day` times, every step labelled in the answer key.
    Attack,
}

/// The attack paths the generator plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttackPath {
    /// A leaked IAM key: `GetCallerIdentity`, IAM and Personalize enumeration, persistence
    /// (`CreateUser` and `CreateAccessKey`, or `CreateLoginProfile` and a console login),
    /// `StopLogging`, then Personalize data theft (`CreateDatasetExportJob`) or mass deletion.
    LeakedKey,
}

/// What the answer key says of a behaviour's calls.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSpec {
    /// The technique's name.
    pub technique: String,
    /// Its MITRE ATT&CK ID.
    pub mitre: String,
}

/// Where a behaviour's calls come from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressMode {
    /// Each identity's usual addresses.
    Home,
    /// A fresh address from the `unusual` pool per burst or call.
    Unusual,
    /// Alternating between the usual address and an unusual one, in the same session.
    Both,
}

/// The workflows the generator can script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkflowName {
    /// The full Personalize workflow from dataset group to recommendations, then clean-up.
    MlPipeline,
    /// The Personalize service's own automatic retraining (`CreateSolutionVersion` by the service).
    AutoTraining,
}

/// One behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// A label, for reports.
    pub name: String,
    /// How it produces calls.
    pub kind: BehaviourKind,
    /// The identity tags that take part.
    pub who: Vec<String>,
    /// Mix: its share of `--events-per-day` (shares are normalised over the mixes).
    #[serde(default = "one_f")]
    pub share: f64,
    /// Burst and workflow: how many per account, Region and full day.
    #[serde(default = "one_f")]
    pub per_day: f64,
    /// Mix and burst: operation weights by name.
    #[serde(default)]
    pub ops: BTreeMap<String, f64>,
    /// Burst: calls per burst, `[min, max]`.
    #[serde(default = "burst_size")]
    pub calls: [u32; 2],
    /// Burst: seconds between calls.
    #[serde(default = "burst_interval")]
    pub interval_secs: f64,
    /// Workflow: which one.
    #[serde(default)]
    pub workflow: Option<WorkflowName>,
    /// Workflow: how many `GetRecommendations`/`PutEvents` calls while the campaign is up.
    #[serde(default = "traffic")]
    pub traffic: u32,
    /// Workflow, live mode: the workflow's waits (think time between steps, the interval between
    /// polling Describe calls, and the polling time-out) are its real-world waits times this.
    /// 0.01 matches the emulator's default `time_scale`; 1 paces it like a script against AWS.
    #[serde(default = "live_time_scale")]
    pub live_time_scale: f64,
    /// The share of calls that fail.
    #[serde(default)]
    pub error_rate: f64,
    /// Error codes and their weights, for the failing share.
    #[serde(default)]
    pub errors: BTreeMap<String, f64>,
    /// Where the calls come from.
    #[serde(default = "home")]
    pub address: AddressMode,
    /// Overrides the identities' own user agents.
    #[serde(default)]
    pub user_agent: Option<AgentFamily>,
    /// Attack: which path.
    #[serde(default)]
    pub path: Option<AttackPath>,
    /// Labels every call of the behaviour in the answer key (attack paths label their steps
    /// themselves).
    #[serde(default)]
    pub label: Option<LabelSpec>,
}

fn one_f() -> f64 {
    1.0
}

fn burst_size() -> [u32; 2] {
    [20, 60]
}

fn burst_interval() -> f64 {
    0.5
}

fn traffic() -> u32 {
    200
}

fn live_time_scale() -> f64 {
    0.01
}

fn home() -> AddressMode {
    AddressMode::Home
}

/// The error codes the generator can produce, with whether they are modelled for every operation.
pub const ERROR_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "ResourceAlreadyExistsException",
    "InvalidInputException",
    "ThrottlingException",
    "AccessDeniedException",
    "LimitExceededException",
    "ResourceInUseException",
    "InvalidNextTokenException",
];

impl Scenario {
    /// A preset by name, or a TOML file by path.
    pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        if let Some((_, text)) = PRESETS.iter().find(|(n, _)| *n == name_or_path) {
            return Scenario::parse(name_or_path, text);
        }
        let text = std::fs::read_to_string(name_or_path)
            .map_err(|e| ScenarioError::NotFound(name_or_path.to_owned(), e))?;
        Scenario::parse(name_or_path, &text)
    }

    /// Parses and validates scenario TOML.
    pub fn parse(name: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|source| ScenarioError::Parse {
            name: name.to_owned(),
            source,
        })?;
        s.validate().map_err(|message| ScenarioError::Invalid {
            name: name.to_owned(),
            message,
        })?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), String> {
        let p = &self.population;
        if self.events_per_day > MAX_EVENTS_PER_DAY {
            return Err(format!("events_per_day must be at most {MAX_EVENTS_PER_DAY}"));
        }
        if p.accounts == 0 || p.accounts > 10_000 {
            return Err("population.accounts must be 1..=10000".into());
        }
        if p.regions.is_empty() {
            return Err("population.regions is empty".into());
        }
        for r in &p.regions {
            if !valid_region(r) {
                return Err(format!("{r:?} is not a region name"));
            }
        }
        if p.identities.is_empty() {
            return Err("population.identities is empty".into());
        }
        for (name, n) in &p.networks {
            if n.cidrs.is_empty() {
                return Err(format!("network {name} has no cidrs"));
            }
            for c in &n.cidrs {
                parse_cidr(c).ok_or_else(|| format!("network {name}: {c:?} is not an IPv4 CIDR"))?;
            }
        }
        for id in &p.identities {
            if id.count == 0 || id.count > 100_000 {
                return Err(format!("identities {}: count must be 1..=100000", id.tag));
            }
            if id.user_agents.is_empty() {
                return Err(format!("identities {}: user_agents is empty", id.tag));
            }
            if !is_network(p, &id.network) {
                return Err(format!("identities {}: unknown network {:?}", id.tag, id.network));
            }
            for n in &id.names {
                if !valid_name(n) {
                    return Err(format!("identities {}: {n:?} is not a valid IAM name", id.tag));
                }
            }
            if let Some(r) = &id.role
                && !valid_name(r)
            {
                return Err(format!("identities {}: {r:?} is not a valid role name", id.tag));
            }
        }
        let hours = &self.activity.hours;
        if hours.len() != 24 || !weights_ok(hours.iter().copied()) {
            return Err("activity.hours needs 24 non-negative numbers, not all zero".into());
        }
        let days = &self.activity.weekdays;
        if days.len() != 7 || days.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err("activity.weekdays needs 7 non-negative numbers".into());
        }
        if !(-12..=14).contains(&self.activity.utc_offset_hours) {
            return Err("activity.utc_offset_hours must be -12..=14".into());
        }
        if self.behaviours.is_empty() {
            return Err("behaviours is empty".into());
        }
        for b in &self.behaviours {
            let ctx = |m: &str| format!("behaviour {}: {m}", b.name);
            if b.who.is_empty() {
                return Err(ctx("who is empty"));
            }
            for t in &b.who {
                if !p.identities.iter().any(|i| &i.tag == t) {
                    return Err(ctx(&format!("no identities tagged {t:?}")));
                }
            }
            if !(b.share.is_finite() && b.share >= 0.0 && b.per_day.is_finite() && b.per_day >= 0.0) {
                return Err(ctx("share and per_day must be non-negative"));
            }
            if b.per_day > 100_000.0 {
                return Err(ctx("per_day must be at most 100000"));
            }
            if !(0.0..=1.0).contains(&b.error_rate) {
                return Err(ctx("error_rate must be within 0..=1"));
            }
            for (code, w) in &b.errors {
                if !ERROR_CODES.contains(&code.as_str()) {
                    return Err(ctx(&format!(
                        "unknown error code {code:?}; known: {}",
                        ERROR_CODES.join(", ")
                    )));
                }
                if !w.is_finite() || *w < 0.0 {
                    return Err(ctx("error weights must be non-negative"));
                }
            }
            if !(b.live_time_scale.is_finite() && (0.0..=10.0).contains(&b.live_time_scale)) {
                return Err(ctx("live_time_scale must be within 0..=10"));
            }
            if b.error_rate > 0.0 && b.errors.is_empty() && b.kind != BehaviourKind::Plane {
                return Err(ctx("error_rate is set but errors is empty"));
            }
            match b.kind {
                BehaviourKind::Mix | BehaviourKind::Burst => {
                    if b.ops.is_empty() || !weights_ok(b.ops.values().copied()) {
                        return Err(ctx("ops needs at least one positive weight"));
                    }
                    for op in b.ops.keys() {
                        if ops::get(op).is_none() {
                            return Err(ctx(&format!("unknown operation {op:?}")));
                        }
                    }
                    if b.kind == BehaviourKind::Burst
                        && (b.calls[0] == 0 || b.calls[0] > b.calls[1] || b.calls[1] > 100_000)
                    {
                        return Err(ctx("calls must be [min, max] with 1 <= min <= max <= 100000"));
                    }
                    if !(b.interval_secs.is_finite() && (0.0..=3600.0).contains(&b.interval_secs)) {
                        return Err(ctx("interval_secs must be within 0..=3600"));
                    }
                }
                BehaviourKind::Plane => {
                    if b.ops.is_empty() || !weights_ok(b.ops.values().copied()) {
                        return Err(ctx("ops needs at least one positive weight"));
                    }
                    for op in b.ops.keys() {
                        if crate::plane::get(op).is_none() {
                            return Err(ctx(&format!("unknown plane operation {op:?}")));
                        }
                    }
                }
                BehaviourKind::Attack => {
                    if b.path.is_none() {
                        return Err(ctx("kind = \"attack\" needs path = ..."));
                    }
                    for t in &b.who {
                        if p.identities
                            .iter()
                            .any(|i| &i.tag == t && i.kind != IdentityKind::IAMUser)
                        {
                            return Err(ctx(
                                "an attack path starts from a leaked IAM user's key: who must tag IAM users",
                            ));
                        }
                    }
                }
                BehaviourKind::Workflow => {
                    if b.workflow.is_none() {
                        return Err(ctx("kind = \"workflow\" needs workflow = ..."));
                    }
                    if b.traffic > 1_000_000 {
                        return Err(ctx("traffic must be at most 1000000"));
                    }
                }
            }
        }
        if !self
            .behaviours
            .iter()
            .any(|b| b.kind == BehaviourKind::Mix && b.share > 0.0)
            && !self
                .behaviours
                .iter()
                .any(|b| b.kind != BehaviourKind::Mix && b.per_day > 0.0)
        {
            return Err("no behaviour produces any call".into());
        }
        Ok(())
    }
}

fn weights_ok(mut w: impl Iterator<Item = f64> + Clone) -> bool {
    w.clone().all(|x| x.is_finite() && x >= 0.0) && w.any(|x| x > 0.0)
}

/// Whether `name` is a built-in or declared network.
pub fn is_network(p: &Population, name: &str) -> bool {
    matches!(name, "office" | "home" | "cloud" | "unusual") || p.networks.contains_key(name)
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, …
pub fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
        && r.len() <= 25
}

/// IAM user, role and session names: `[\w+=,.@-]{1,64}`.
pub fn valid_name(n: &str) -> bool {
    (1..=64).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// `a.b.c.d/n` as (base, prefix length).
pub fn parse_cidr(c: &str) -> Option<(u32, u32)> {
    let (ip, len) = c.split_once('/').unwrap_or((c, "32"));
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let len: u32 = len.parse().ok()?;
    if len > 32 {
        return None;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((u32::from(ip) & mask, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses() {
        for (name, text) in PRESETS {
            let s = Scenario::parse(name, text).unwrap();
            assert_eq!(&s.name, name);
        }
    }

    #[test]
    fn bad_scenarios_are_reported_not_panicked() {
        assert!(matches!(
            Scenario::parse("x", "name = 1"),
            Err(ScenarioError::Parse { .. })
        ));
        let base = PRESETS[0].1;
        let broken = base.replace("ListDatasetGroups", "ListEverything");
        assert!(matches!(
            Scenario::parse("x", &broken),
            Err(ScenarioError::Invalid { .. })
        ));
        assert!(matches!(
            Scenario::load("/nonexistent/file.toml"),
            Err(ScenarioError::NotFound(..))
        ));
    }

    #[test]
    fn regions_and_cidrs() {
        assert!(valid_region("us-east-1"));
        assert!(valid_region("us-gov-west-1"));
        assert!(!valid_region("us-east"));
        assert!(!valid_region("US-EAST-1"));
        assert_eq!(parse_cidr("10.1.2.3/8"), Some((0x0A00_0000, 8)));
        assert_eq!(parse_cidr("10.1.2.3"), Some((0x0A01_0203, 32)));
        assert_eq!(parse_cidr("10.1.2.3/33"), None);
        assert_eq!(parse_cidr("nope/3"), None);
    }
}
