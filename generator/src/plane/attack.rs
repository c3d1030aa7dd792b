//! Attack paths: the steps an intruder takes through the identity and audit plane and into
//! Personalize, each labelled with its MITRE ATT&CK technique for the answer key.

use rand::RngExt;

use super::PlaneOp;
use crate::labels::Label;
use crate::ops::{self, OpSpec};
use crate::rng::Rng;

/// What a step calls.
#[derive(Debug, Clone, Copy)]
pub enum StepCall {
    /// A Personalize operation, its request drawn from the inventory when it is sent.
    Personalize(&'static OpSpec),
    /// A plane operation.
    Plane(&'static PlaneOp),
}

/// One step of an attack path.
#[derive(Debug, Clone)]
pub struct AttackStep {
    /// Milliseconds after the path starts.
    pub offset_ms: i64,
    /// The call.
    pub call: StepCall,
    /// Its label.
    pub label: Label,
    /// The user an IAM step names (`None`: the caller itself).
    pub user: Option<&'static str>,
    /// Whether the step is the intruder's kind of change (see `plane::Target::hostile`).
    pub hostile: bool,
}

/// Personalize reads an intruder runs to see what the account holds.
const ENUMERATION: &[&str] = &[
    "ListDatasetGroups",
    "ListDatasets",
    "ListSchemas",
    "ListSolutions",
    "ListCampaigns",
    "ListRecommenders",
    "ListEventTrackers",
    "ListDatasetImportJobs",
    "DescribeDatasetGroup",
    "DescribeDataset",
    "DescribeCampaign",
    "DescribeSolution",
];

/// What a mass deletion deletes, in the order a script that ignores dependencies tries.
const DELETIONS: &[&str] = &[
    "DeleteCampaign",
    "DeleteRecommender",
    "DeleteSolution",
    "DeleteEventTracker",
    "DeleteFilter",
    "DeleteDataset",
    "DeleteSchema",
    "DeleteDatasetGroup",
];

fn label(technique: &str, mitre: &str, step: &str) -> Label {
    Label {
        technique: technique.to_owned(),
        mitre: mitre.to_owned(),
        step: format!("leaked-key/{step}"),
    }
}

/// The steps of the leaked-key path, as offsets from its start. Persistence is either a new
/// user with an access key and administrator rights, or a console password on the leaked user
/// followed by a console login without MFA; the impact is either data theft through dataset
/// export jobs or a mass deletion.
pub fn leaked_key(rng: &mut Rng) -> Vec<AttackStep> {
    let mut steps = Vec::new();
    let mut t: i64 = 0;
    let push = |steps: &mut Vec<AttackStep>, t: i64, call: StepCall, label: Label, user, hostile| {
        steps.push(AttackStep {
            offset_ms: t,
            call,
            label,
            user,
            hostile,
        });
    };
    let plane = |name: &str| super::get(name).map(StepCall::Plane);
    let personalize = |name: &str| ops::get(name).map(StepCall::Personalize);
    let discovery = || label("Cloud Account Discovery", "T1087.004", "whoami");
    if let Some(c) = plane("GetCallerIdentity") {
        push(&mut steps, t, c, discovery(), None, false);
    }
    t += rng.random_range(20_000..60_000);
    let iam = [
        "ListUsers",
        "ListRoles",
        "GetAccountAuthorizationDetails",
        "ListAttachedUserPolicies",
        "ListAccessKeys",
    ];
    for name in iam.iter().take(rng.random_range(3..=iam.len())) {
        if let Some(c) = plane(name) {
            push(
                &mut steps,
                t,
                c,
                label("Cloud Account Discovery", "T1087.004", "iam-enumeration"),
                None,
                false,
            );
        }
        t += rng.random_range(2_000..5_000);
    }
    t += rng.random_range(30_000..120_000);
    for _ in 0..rng.random_range(15..40) {
        let name = ENUMERATION[rng.random_range(0..ENUMERATION.len())];
        if let Some(c) = personalize(name) {
            push(
                &mut steps,
                t,
                c,
                label(
                    "Cloud Infrastructure Discovery",
                    "T1580",
                    "personalize-enumeration",
                ),
                None,
                false,
            );
        }
        t += rng.random_range(300..1_000);
    }
    t += rng.random_range(60_000..300_000);
    if rng.random_bool(0.5) {
        let user = super::iam::PERSISTENCE_USERS[rng.random_range(0..super::iam::PERSISTENCE_USERS.len())];
        for (name, technique, mitre, step) in [
            (
                "CreateUser",
                "Create Account: Cloud Account",
                "T1136.003",
                "create-user",
            ),
            (
                "CreateAccessKey",
                "Account Manipulation: Additional Cloud Credentials",
                "T1098.001",
                "create-access-key",
            ),
            (
                "AttachUserPolicy",
                "Account Manipulation: Additional Cloud Roles",
                "T1098.003",
                "attach-admin-policy",
            ),
        ] {
            if let Some(c) = plane(name) {
                push(&mut steps, t, c, label(technique, mitre, step), Some(user), true);
            }
            t += rng.random_range(3_000..15_000);
        }
    } else {
        if let Some(c) = plane("CreateLoginProfile") {
            push(
                &mut steps,
                t,
                c,
                label("Account Manipulation", "T1098", "create-login-profile"),
                None,
                true,
            );
        }
        t += rng.random_range(30_000..120_000);
        if let Some(c) = plane("ConsoleLogin") {
            push(
                &mut steps,
                t,
                c,
                label("Valid Accounts: Cloud Accounts", "T1078.004", "console-login"),
                None,
                true,
            );
        }
    }
    t += rng.random_range(60_000..600_000);
    if let Some(c) = plane("StopLogging") {
        push(
            &mut steps,
            t,
            c,
            label(
                "Impair Defenses: Disable or Modify Cloud Logs",
                "T1562.008",
                "stop-logging",
            ),
            None,
            true,
        );
    }
    if rng.random_bool(0.5)
        && let Some(c) = plane("PutBucketPolicy")
    {
        t += rng.random_range(5_000..60_000);
        push(
            &mut steps,
            t,
            c,
            label(
                "Impair Defenses: Disable or Modify Cloud Logs",
                "T1562.008",
                "trail-bucket-policy",
            ),
            None,
            true,
        );
    }
    t += rng.random_range(120_000..900_000);
    if rng.random_bool(0.5) {
        for _ in 0..rng.random_range(1..=3) {
            if let Some(c) = personalize("CreateDatasetExportJob") {
                push(
                    &mut steps,
                    t,
                    c,
                    label("Transfer Data to Cloud Account", "T1537", "dataset-export"),
                    None,
                    true,
                );
            }
            t += rng.random_range(5_000..30_000);
        }
    } else {
        for _ in 0..rng.random_range(15..40) {
            let name = DELETIONS[rng.random_range(0..DELETIONS.len())];
            if let Some(c) = personalize(name) {
                push(
                    &mut steps,
                    t,
                    c,
                    label("Data Destruction", "T1485", "mass-deletion"),
                    None,
                    true,
                );
            }
            t += rng.random_range(500..2_000);
        }
    }
    steps
}
