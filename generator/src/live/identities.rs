//! The identities live mode signs as (read from an emulator config file, in the accounts schema
//! the emulator takes), and the scenario's population mapped onto them.

use std::collections::BTreeMap;

use sigv4::Credentials;

use super::LiveError;
use crate::population::{Population, Principal};
use crate::scenario::{IdentityKind, Scenario};

/// One identity live mode can sign as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveIdentity {
    /// Its type, matched against the scenario's identity groups.
    pub kind: IdentityKind,
    /// Its account.
    pub account: String,
    /// A name for reports.
    pub name: String,
    /// Its keys.
    pub credentials: Credentials,
    /// Actions its deny rules refuse (`personalize:Delete*`), from the config file.
    pub deny: Vec<String>,
    /// Its ARN (a service's principal), as the answer key names the actor.
    pub arn: String,
    /// For a role session, its role's ARN when anyone in the account may assume the role: the
    /// role live `AssumeRole` calls ask for.
    pub role_arn: Option<String>,
}

/// The emulator's built-in configuration, whose identities live mode uses by default.
pub const EMULATOR_DEFAULT_CONFIG: &str = shared_config::DEFAULT_CONFIG_TOML;

fn expired(expiration: &Option<String>, now: time::OffsetDateTime) -> bool {
    expiration
        .as_deref()
        .and_then(cloudtrail::timefmt::parse_iso_seconds)
        .is_some_and(|e| e <= now)
}

/// Reads the identities of an emulator config file (the same TOML, and the same accounts
/// schema, the emulator takes). Sessions expired at `now` are left out.
pub fn parse_identities_at(text: &str, now: time::OffsetDateTime) -> Result<Vec<LiveIdentity>, LiveError> {
    let accounts = shared_config::parse_accounts(text).map_err(|e| LiveError::Identities(e.to_string()))?;
    let mut out = Vec::new();
    let creds = |a: &str, s: &str, t: Option<&str>| Credentials {
        access_key_id: a.to_owned(),
        secret_access_key: s.to_owned(),
        session_token: t.map(str::to_owned),
    };
    for a in &accounts {
        if let Some(k) = &a.root {
            out.push(LiveIdentity {
                kind: IdentityKind::Root,
                account: a.id.clone(),
                name: "root".into(),
                credentials: creds(&k.access_key_id, &k.secret_access_key, None),
                deny: k.deny.clone(),
                arn: format!("arn:aws:iam::{}:root", a.id),
                role_arn: None,
            });
        }
        for u in &a.users {
            for k in &u.keys {
                out.push(LiveIdentity {
                    kind: IdentityKind::IAMUser,
                    account: a.id.clone(),
                    name: u.name.clone(),
                    credentials: creds(&k.access_key_id, &k.secret_access_key, None),
                    deny: u.deny.clone(),
                    arn: format!(
                        "arn:aws:iam::{}:user{}{}",
                        a.id,
                        cloudtrail::identity::normalise_path(&u.path),
                        u.name
                    ),
                    role_arn: None,
                });
            }
        }
        for r in &a.roles {
            for s in r.sessions.iter().filter(|s| !expired(&s.expiration, now)) {
                out.push(LiveIdentity {
                    kind: IdentityKind::AssumedRole,
                    account: a.id.clone(),
                    name: s.name.clone(),
                    credentials: creds(&s.access_key_id, &s.secret_access_key, Some(&s.session_token)),
                    deny: r.deny.iter().chain(&s.deny).cloned().collect(),
                    arn: format!("arn:aws:sts::{}:assumed-role/{}/{}", a.id, r.name, s.name),
                    role_arn: r
                        .trust
                        .as_ref()
                        .is_none_or(|t| t.iter().any(|p| p == &a.id || p == "*"))
                        .then(|| {
                            format!(
                                "arn:aws:iam::{}:role{}{}",
                                a.id,
                                cloudtrail::identity::normalise_path(&r.path),
                                r.name
                            )
                        }),
                });
            }
        }
        for f in a.federated_users.iter().filter(|f| !expired(&f.expiration, now)) {
            out.push(LiveIdentity {
                kind: IdentityKind::FederatedUser,
                account: a.id.clone(),
                name: f.name.clone(),
                credentials: creds(&f.access_key_id, &f.secret_access_key, Some(&f.session_token)),
                deny: f.deny.clone(),
                arn: format!("arn:aws:sts::{}:federated-user/{}", a.id, f.name),
                role_arn: None,
            });
        }
        for s in &a.services {
            out.push(LiveIdentity {
                kind: IdentityKind::AWSService,
                account: a.id.clone(),
                name: s.principal.clone(),
                credentials: creds(&s.access_key_id, &s.secret_access_key, None),
                deny: s.deny.clone(),
                arn: s.principal.clone(),
                role_arn: None,
            });
        }
    }
    if out.is_empty() {
        return Err(LiveError::Identities("no identity with keys in the file".into()));
    }
    Ok(out)
}

/// [`parse_identities_at`] now, by the system clock.
pub fn parse_identities(text: &str) -> Result<Vec<LiveIdentity>, LiveError> {
    parse_identities_at(text, cloudtrail::Clock::now(&cloudtrail::SystemClock))
}

/// The scenario's population in one account, each principal signing as a live identity of the
/// same type (round-robin), or an IAM user when the file has none of that type.
pub(super) fn live_population(
    scenario: &Scenario,
    regions: &[String],
    ids: &[LiveIdentity],
    seed: u64,
) -> (Population, Vec<usize>) {
    let generated = Population::generate(scenario, 1, regions, seed);
    let mut next: BTreeMap<u8, usize> = BTreeMap::new();
    let mut assigned = Vec::new();
    let kind_no = |k: IdentityKind| k as u8;
    for p in &generated.principals {
        let of_kind: Vec<usize> = (0..ids.len()).filter(|i| ids[*i].kind == p.kind).collect();
        let pool = if of_kind.is_empty() {
            let users: Vec<usize> = (0..ids.len())
                .filter(|i| ids[*i].kind == IdentityKind::IAMUser)
                .collect();
            if users.is_empty() {
                (0..ids.len()).collect()
            } else {
                users
            }
        } else {
            of_kind
        };
        let n = next.entry(kind_no(p.kind)).or_insert(0);
        assigned.push(pool.get(*n % pool.len().max(1)).copied().unwrap_or(0));
        *n += 1;
    }
    let principals: Vec<Principal> = generated.principals.clone();
    // ARNs in requests must name the caller's own account, or every call would miss.
    let account = ids.first().map(|i| i.account.clone()).unwrap_or_default();
    (
        Population::from_parts(vec![account], regions.to_vec(), principals),
        assigned,
    )
}
