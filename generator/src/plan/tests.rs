//! Unit tests of planning: workflows, their timelines, and what each shard holds.

use super::*;
use crate::scenario::PRESETS;

/// The first account and Region on Monday 2026-01-05.
const MONDAY: Shard = Shard {
    account: 0,
    region: 0,
    start_ms: 1_767_571_200_000,
    end_ms: 1_767_657_600_000,
};

/// The ml-pipeline script of seed `seed` (which also seeds the inventory) and its timeline.
fn ml_pipeline_of(seed: u64, traffic: u32) -> (Vec<WorkflowStep>, Vec<(i64, &'static OpSpec, Content)>) {
    let inv = Inventory::generate(seed, 0, "123456789012", 0, "us-east-1");
    let mut r = rng::derive(seed, &[]);
    let script = ml_pipeline(&inv, &mut r, traffic);
    let steps = timeline(&script);
    (script, steps)
}

/// Preset `i` and a population of one account for it.
fn preset(i: usize) -> (Scenario, Population) {
    let (name, text) = PRESETS[i];
    let s = Scenario::parse(name, text).unwrap();
    let pop = Population::generate(&s, 1, &s.population.regions, 3);
    (s, pop)
}

#[test]
fn workflow_operations_exist() {
    let (_, steps) = ml_pipeline_of(1, 10);
    let names: Vec<&str> = steps.iter().map(|s| s.1.name).collect();
    assert_eq!(names[0], "CreateDatasetGroup");
    assert_eq!(*names.last().unwrap(), "DescribeDatasetGroup");
    assert!(steps.windows(2).all(|w| w[0].0 <= w[1].0));
    for n in [
        "CreateSchema",
        "CreateDataset",
        "CreateDatasetImportJob",
        "CreateSolution",
        "CreateSolutionVersion",
        "CreateCampaign",
        "CreateRecommender",
        "GetRecommendations",
        "PutEvents",
        "DeleteDatasetGroup",
    ] {
        assert!(names.contains(&n), "{n}");
    }
}

#[test]
fn polls_expand_offline_and_deletions_end_in_not_found() {
    let (script, steps) = ml_pipeline_of(2, 5);
    let polls: usize = script
        .iter()
        .map(|s| s.poll.as_ref().map_or(1, |p| p.offline_gaps_ms.len()))
        .sum();
    assert_eq!(steps.len(), polls);
    for s in &script {
        let Some(p) = &s.poll else { continue };
        assert!(s.op.name.starts_with("Describe"));
        assert!(!p.offline_gaps_ms.is_empty() && p.max as usize >= p.offline_gaps_ms.len());
    }
    // Each wait for a deletion ends with the resource gone, and only those fail.
    let gone = script
        .iter()
        .filter(|s| s.poll.as_ref().is_some_and(|p| p.until == Until::Gone))
        .count();
    let failed: Vec<&str> = steps
        .iter()
        .filter(|s| s.2.error.is_some())
        .map(|s| s.1.name)
        .collect();
    assert_eq!(failed.len(), gone);
    assert_eq!(gone, 8);
    assert!(failed.iter().all(|n| n.starts_with("Describe")));
}

#[test]
fn live_plans_start_workflows_instead_of_expanding_them() {
    let (s, pop) = preset(1);
    let mut live = Plan::new(&s, &pop, 3, MONDAY, true);
    let mut offline = Plan::new(&s, &pop, 3, MONDAY, false);
    let mut workflows = Vec::new();
    while let Some(item) = live.next_item() {
        if let Item::Workflow(w) = item {
            workflows.push(w);
        }
    }
    assert!(!workflows.is_empty());
    let w = &workflows[0];
    assert_eq!(w.steps[0].0.op.name, "CreateDatasetGroup");
    assert!((w.time_scale - 0.01).abs() < 1e-12);
    assert!(w.steps.iter().all(|(_, ua)| ua.starts_with("Boto3/")));
    // Offline, the same script is expanded into calls: every step of the first instance is
    // there, in order.
    let names: Vec<&str> = std::iter::from_fn(|| offline.next_event())
        .filter(|e| e.user_agent.starts_with("Boto3/"))
        .map(|e| e.op.name)
        .collect();
    let mut pos = 0;
    for (step, _) in &w.steps {
        let i = names[pos..].iter().position(|n| *n == step.op.name).unwrap();
        pos += i + 1;
    }
}

#[test]
fn days_split_at_midnight() {
    let s = time::macros::datetime!(2026-01-01 12:00 UTC);
    let e = time::macros::datetime!(2026-01-03 06:00 UTC);
    let d = days(s, e);
    assert_eq!(d.len(), 3);
    assert_eq!(d[0].1 - d[0].0, 12 * 3_600_000);
    assert_eq!(d[2].1 - d[2].0, 6 * 3_600_000);
}

#[test]
fn plans_repeat() {
    let (s, pop) = preset(0);
    let mut a = Plan::new(&s, &pop, 3, MONDAY, false);
    let mut b = Plan::new(&s, &pop, 3, MONDAY, false);
    assert!(a.len() > 100);
    assert_eq!(a.len(), b.len());
    while let (Some(x), Some(y)) = (a.next_event(), b.next_event()) {
        assert_eq!(
            (x.time_ms, x.op.name, &x.content, &x.source_ip),
            (y.time_ms, y.op.name, &y.content, &y.source_ip)
        );
    }
}
