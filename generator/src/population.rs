//! The concrete population of a scenario: accounts, principals with keys, addresses and user agents.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use cloudtrail::identity::{self, IdentityType, SessionIssuer, UserIdentity};
use fake::Fake;
use rand::RngExt;
use time::OffsetDateTime;

use crate::agents::Agent;
use crate::rng::{self, Rng};
use crate::scenario::{IdentityKind, Population as Spec, Scenario, parse_cidr};

/// Well-known EC2 address ranges, for principals that run in the cloud.
const CLOUD: &[&str] = &[
    "3.80.0.0/12",
    "18.204.0.0/14",
    "34.192.0.0/12",
    "44.192.0.0/11",
    "52.0.0.0/11",
    "54.144.0.0/12",
    "35.160.0.0/13",
];

/// VPS and anonymising ranges that detections treat as unusual for a corporate account.
const UNUSUAL: &[&str] = &[
    "185.220.100.0/22",
    "45.141.215.0/24",
    "91.219.236.0/22",
    "104.244.72.0/21",
    "193.189.100.0/24",
    "5.188.10.0/24",
    "198.98.48.0/20",
    "176.10.99.0/24",
];

/// One principal that makes calls.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Index into [`Population::accounts`].
    pub account: usize,
    /// The identity group's tag.
    pub tag: String,
    /// The identity type.
    pub kind: IdentityKind,
    /// User name, role session name, federated user name, or service principal.
    pub name: String,
    /// The IAM path of users and roles.
    pub path: String,
    /// For role sessions: the role's name and `AROA…` id.
    pub role: Option<(String, String)>,
    /// `AIDA…` for users; for federated users, the issuing user's id.
    pub principal_id: String,
    /// The long-term key (users, root) or the session key (role sessions, federated users).
    pub access_key_id: String,
    /// The secret that signs live calls.
    pub secret_key: String,
    /// Temporary credentials' session token.
    pub session_token: Option<String>,
    /// Whether the session was created with MFA.
    pub mfa: bool,
    /// Where the principal usually calls from.
    pub addresses: Vec<String>,
    /// Its client.
    pub agent: Agent,
}

/// A scenario's population, concrete.
#[derive(Debug, Clone)]
pub struct Population {
    /// 12-digit account ids.
    pub accounts: Vec<String>,
    /// Regions in use.
    pub regions: Vec<String>,
    /// Every principal of every account.
    pub principals: Vec<Principal>,
    /// (account index, tag) -> principals.
    by_tag: HashMap<(usize, String), Vec<usize>>,
}

impl Population {
    /// Draws the population for `scenario` with `accounts`/`regions` overrides.
    pub fn generate(scenario: &Scenario, accounts: u32, regions: &[String], seed: u64) -> Population {
        let mut rng = rng::derive(seed, &[0x706f70]);
        let spec = &scenario.population;
        let mut account_ids = Vec::with_capacity(accounts as usize);
        while account_ids.len() < accounts as usize {
            let id = format!(
                "{}{:011}",
                rng.random_range(1..10u8),
                rng.random_range(0..100_000_000_000u64)
            );
            if !account_ids.contains(&id) {
                account_ids.push(id);
            }
        }
        let mut principals = Vec::new();
        for (a, account) in account_ids.iter().enumerate() {
            // Everyone in an account's office shares a NAT range.
            let office = random_public(&mut rng) & 0xFFFF_FF00;
            for group in &spec.identities {
                let role_name = group
                    .role
                    .clone()
                    .unwrap_or_else(|| format!("{}-role", group.tag));
                let role_id = identity::unique_id("AROA", &mut rng);
                let mut used = Vec::new();
                for i in 0..group.count {
                    let name = match group.names.get(i as usize) {
                        Some(n) => n.clone(),
                        None => unique_person(&mut rng, &mut used, group.kind),
                    };
                    let agent_family = group.user_agents[rng.random_range(0..group.user_agents.len())];
                    let addresses = addresses_for(spec, &group.network, office, &mut rng);
                    let temporary = matches!(
                        group.kind,
                        IdentityKind::AssumedRole | IdentityKind::FederatedUser
                    );
                    let (name, principal_id) = match group.kind {
                        IdentityKind::Root => ("root".to_owned(), account.clone()),
                        IdentityKind::AWSService => (
                            group
                                .service
                                .clone()
                                .unwrap_or_else(|| "personalize.amazonaws.com".to_owned()),
                            String::new(),
                        ),
                        IdentityKind::FederatedUser => (name, identity::unique_id("AIDA", &mut rng)),
                        _ => (name, identity::unique_id("AIDA", &mut rng)),
                    };
                    principals.push(Principal {
                        account: a,
                        tag: group.tag.clone(),
                        kind: group.kind,
                        name,
                        path: group.path.clone().unwrap_or_else(|| "/".to_owned()),
                        role: (group.kind == IdentityKind::AssumedRole)
                            .then(|| (role_name.clone(), role_id.clone())),
                        principal_id,
                        access_key_id: identity::access_key_id(temporary, &mut rng),
                        secret_key: secret(&mut rng),
                        session_token: temporary.then(|| session_token(&mut rng)),
                        mfa: group.mfa,
                        addresses,
                        agent: Agent::new(agent_family, &mut rng),
                    });
                }
            }
        }
        Population::from_parts(account_ids, regions.to_vec(), principals)
    }

    /// A population from given principals (live mode's identity file).
    pub fn from_parts(accounts: Vec<String>, regions: Vec<String>, principals: Vec<Principal>) -> Population {
        let mut by_tag: HashMap<(usize, String), Vec<usize>> = HashMap::new();
        for (i, p) in principals.iter().enumerate() {
            by_tag.entry((p.account, p.tag.clone())).or_default().push(i);
        }
        Population {
            accounts,
            regions,
            principals,
            by_tag,
        }
    }

    /// The principals of `account` carrying any of `tags`.
    pub fn members(&self, account: usize, tags: &[String]) -> Vec<usize> {
        let mut out = Vec::new();
        for t in tags {
            if let Some(v) = self.by_tag.get(&(account, t.clone())) {
                out.extend_from_slice(v);
            }
        }
        out
    }
}

impl Principal {
    /// The `userIdentity` of a call by this principal. Sessions are re-issued hourly offline, so
    /// `session` (the session's start) decides the `ASIA` key and `creationDate`; `None` keeps the
    /// principal's own key (live mode).
    pub fn user_identity(&self, account: &str, session: Option<(OffsetDateTime, u64)>) -> UserIdentity {
        let (key, created) = match session {
            Some((start, salt)) => {
                let mut r = rng::derive(salt, &[start.unix_timestamp() as u64]);
                let key = if matches!(self.kind, IdentityKind::AssumedRole | IdentityKind::FederatedUser) {
                    identity::access_key_id(true, &mut r)
                } else {
                    self.access_key_id.clone()
                };
                (key, cloudtrail::timefmt::iso_seconds(start))
            }
            None => (self.access_key_id.clone(), "2026-01-01T00:00:00Z".to_owned()),
        };
        match self.kind {
            IdentityKind::IAMUser => {
                UserIdentity::iam_user(account, &self.path, &self.name, &self.principal_id, &key)
            }
            IdentityKind::Root => UserIdentity::root(account, &key, None),
            IdentityKind::AWSService => UserIdentity::aws_service(&self.name),
            IdentityKind::AssumedRole => {
                let (role, role_id) = self.role.clone().unwrap_or_default();
                UserIdentity::assumed_role(
                    account, &self.path, &role, &role_id, &self.name, &key, &created, self.mfa, None,
                )
            }
            IdentityKind::FederatedUser => {
                let issuer = SessionIssuer {
                    issuer_type: IdentityType::IAMUser,
                    principal_id: self.principal_id.clone(),
                    arn: format!("arn:aws:iam::{account}:user/federation-broker"),
                    account_id: account.to_owned(),
                    user_name: Some("federation-broker".to_owned()),
                };
                UserIdentity::federated_user(account, &self.name, &key, issuer, &created, self.mfa)
            }
        }
    }

    /// The principal's ARN, as IAM policy messages print it.
    pub fn arn(&self, account: &str) -> String {
        match self.kind {
            IdentityKind::IAMUser => format!(
                "arn:aws:iam::{account}:user{}{}",
                norm_path(&self.path),
                self.name
            ),
            IdentityKind::Root => format!("arn:aws:iam::{account}:root"),
            IdentityKind::AssumedRole => format!(
                "arn:aws:sts::{account}:assumed-role/{}/{}",
                self.role.as_ref().map(|r| r.0.as_str()).unwrap_or_default(),
                self.name
            ),
            IdentityKind::FederatedUser => format!("arn:aws:sts::{account}:federated-user/{}", self.name),
            IdentityKind::AWSService => self.name.clone(),
        }
    }
}

fn norm_path(p: &str) -> String {
    let t = p.trim_matches('/');
    if t.is_empty() {
        "/".to_owned()
    } else {
        format!("/{t}/")
    }
}

/// `jane.doe`-style names, unique within a group, ASCII only.
fn unique_person(rng: &mut Rng, used: &mut Vec<String>, kind: IdentityKind) -> String {
    for attempt in 0..50u32 {
        let first: String = fake::faker::name::en::FirstName().fake_with_rng(rng);
        let last: String = fake::faker::name::en::LastName().fake_with_rng(rng);
        let clean = |s: &str| -> String {
            s.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase()
        };
        let mut n = match kind {
            IdentityKind::FederatedUser => format!(
                "{}{}-partner",
                clean(&first).chars().next().unwrap_or('x'),
                clean(&last)
            ),
            _ => format!("{}.{}", clean(&first), clean(&last)),
        };
        if attempt > 10 {
            n.push_str(&attempt.to_string());
        }
        if n.len() > 1 && n.len() <= 32 && !used.contains(&n) {
            used.push(n.clone());
            return n;
        }
    }
    let n = format!("user{}", used.len());
    used.push(n.clone());
    n
}

fn secret(rng: &mut Rng) -> String {
    cloudtrail::identity::secret_access_key(rng)
}

fn session_token(rng: &mut Rng) -> String {
    cloudtrail::identity::session_token(rng)
}

/// A routable public IPv4 address from `fake`.
fn random_public(rng: &mut Rng) -> u32 {
    for _ in 0..100 {
        let ip: Ipv4Addr = fake::faker::internet::en::IPv4().fake_with_rng(rng);
        if is_public(ip) {
            return u32::from(ip);
        }
    }
    u32::from(Ipv4Addr::new(203, 0, 113, 10))
}

fn is_public(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_unspecified()
        || ip.is_documentation()
        || o[0] == 0
        || o[0] >= 224
        || (o[0] == 100 && (64..128).contains(&o[1])))
}

/// One address from a list of CIDR blocks.
pub fn from_cidrs(cidrs: &[impl AsRef<str>], rng: &mut Rng) -> String {
    let blocks: Vec<(u32, u32)> = cidrs.iter().filter_map(|c| parse_cidr(c.as_ref())).collect();
    let Some(&(base, len)) = blocks.get(rng.random_range(0..blocks.len().max(1))) else {
        return "203.0.113.10".to_owned();
    };
    let host_bits = 32 - len;
    let host = if host_bits == 0 {
        0
    } else {
        // Avoid the network and broadcast addresses of the block.
        let size = 1u64 << host_bits;
        rng.random_range(1..size.saturating_sub(1).max(2)) as u32
    };
    Ipv4Addr::from(base | host).to_string()
}

/// An address from the built-in `unusual` pool.
pub fn unusual(rng: &mut Rng) -> String {
    from_cidrs(UNUSUAL, rng)
}

fn addresses_for(spec: &Spec, network: &str, office: u32, rng: &mut Rng) -> Vec<String> {
    match network {
        "office" => {
            let n = rng.random_range(1..3);
            (0..n)
                .map(|_| Ipv4Addr::from(office | rng.random_range(2..254u32)).to_string())
                .collect()
        }
        "home" => vec![Ipv4Addr::from(random_public(rng)).to_string()],
        "cloud" => (0..rng.random_range(1..4))
            .map(|_| from_cidrs(CLOUD, rng))
            .collect(),
        "unusual" => vec![unusual(rng)],
        other => match spec.networks.get(other) {
            Some(n) => vec![from_cidrs(&n.cidrs, rng)],
            None => vec![Ipv4Addr::from(random_public(rng)).to_string()],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::PRESETS;

    #[test]
    fn same_seed_same_population() {
        let s = Scenario::parse("audit-noise", PRESETS[2].1).unwrap();
        let a = Population::generate(&s, 2, &s.population.regions, 7);
        let b = Population::generate(&s, 2, &s.population.regions, 7);
        let c = Population::generate(&s, 2, &s.population.regions, 8);
        assert_eq!(a.accounts, b.accounts);
        assert_ne!(a.accounts, c.accounts);
        assert_eq!(a.principals.len(), b.principals.len());
        for (x, y) in a.principals.iter().zip(&b.principals) {
            assert_eq!(
                (&x.name, &x.access_key_id, &x.addresses),
                (&y.name, &y.access_key_id, &y.addresses)
            );
        }
        for p in &a.principals {
            assert!(p.addresses.iter().all(|ip| ip.parse::<Ipv4Addr>().is_ok()));
            assert!(
                crate::scenario::valid_name(&p.name) || p.kind == IdentityKind::AWSService,
                "{}",
                p.name
            );
        }
        assert_eq!(a.accounts.iter().filter(|x| x.len() == 12).count(), 2);
    }

    #[test]
    fn cidr_draws_stay_inside() {
        let mut r = rng::derive(1, &[]);
        for _ in 0..100 {
            let ip: Ipv4Addr = from_cidrs(&["10.1.2.0/24"], &mut r).parse().unwrap();
            assert_eq!(&ip.octets()[..3], &[10, 1, 2]);
        }
        assert_eq!(from_cidrs(&["9.9.9.9/32"], &mut r), "9.9.9.9");
    }
}
