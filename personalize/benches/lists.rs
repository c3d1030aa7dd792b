//! List* cost against the number of resources: ns per `ListDatasetGroups` and `ListSchemas`
//! call (default `maxResults`, first page) with 500 resources, against the same call with 100
//! resources (the baseline, same process). Lists summarise only the page, so the target is a
//! 500-resource list costing at most 1.5 times a 100-resource one (summarising every resource
//! made it about 5 times). Also prints a `maxResults=10` page and a `DescribeDatasetGroup` for
//! scale. Run with `cargo bench -p personalize --bench lists` (`LISTS_ITERS=N`, default 2000).

use std::hint::black_box;
use std::time::Instant;

use personalize::{Config, Context, Operation, Personalize};
use serde_json::{Value, json};
use time::macros::datetime;

const SCHEMA: &str = r#"{"type":"record","name":"Interactions","namespace":"com.amazonaws.personalize.schema","fields":[{"name":"USER_ID","type":"string"},{"name":"ITEM_ID","type":"string"},{"name":"TIMESTAMP","type":"long"}],"version":"1.0"}"#;

/// A service whose one store holds `n` dataset groups and `n` schemas, all `ACTIVE`.
fn service(n: usize) -> (Personalize, Context) {
    let svc = Personalize::new(Config { time_scale: 0.0 });
    let ctx = Context {
        account: "123456789012".into(),
        region: "us-east-1".into(),
        now: datetime!(2026-01-01 00:00:00 UTC),
    };
    for i in 0..n {
        let made = svc
            .call(
                &ctx,
                Operation::CreateDatasetGroup,
                &json!({ "name": format!("g{i}") }),
            )
            .and_then(|_| {
                svc.call(
                    &ctx,
                    Operation::CreateSchema,
                    &json!({ "name": format!("s{i}"), "schema": SCHEMA }),
                )
            });
        if let Err(e) = made {
            eprintln!("setup failed at {i}: {e}");
            std::process::exit(1);
        }
    }
    (svc, ctx)
}

/// Mean ns per call of `op` with `input`, checking the call succeeds.
fn ns_per_call(svc: &mut Personalize, ctx: &Context, op: Operation, input: &Value, iters: u32) -> f64 {
    if let Err(e) = svc.call(ctx, op, input) {
        eprintln!("{} failed: {e}", op.name());
        std::process::exit(1);
    }
    let t = Instant::now();
    for _ in 0..iters {
        let _ = black_box(svc.call(ctx, op, black_box(input)));
    }
    t.elapsed().as_nanos() as f64 / f64::from(iters)
}

fn main() {
    let iters: u32 = std::env::var("LISTS_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let (mut small, ctx) = service(100);
    let (mut big, _) = service(500);
    let all = json!({});
    let ten = json!({ "maxResults": 10 });
    let describe =
        json!({ "datasetGroupArn": "arn:aws:personalize:us-east-1:123456789012:dataset-group/g7" });
    println!("personalize List* bench, {iters} calls per figure");
    let mut met = true;
    for (op, what) in [
        (Operation::ListDatasetGroups, "ListDatasetGroups"),
        (Operation::ListSchemas, "ListSchemas"),
    ] {
        let base = ns_per_call(&mut small, &ctx, op, &all, iters);
        let fig = ns_per_call(&mut big, &ctx, op, &all, iters);
        let fig10 = ns_per_call(&mut big, &ctx, op, &ten, iters);
        let ratio = fig / base;
        met &= ratio <= 1.5;
        println!(
            "{what}: 500 resources {fig:.0} ns/call, baseline 100 resources {base:.0} ns/call, ratio {ratio:.2} (target <= 1.50: {}); maxResults=10 over 500: {fig10:.0} ns/call",
            if ratio <= 1.5 { "met" } else { "NOT met" }
        );
    }
    let d = ns_per_call(&mut big, &ctx, Operation::DescribeDatasetGroup, &describe, iters);
    println!("DescribeDatasetGroup with 500 groups (for scale): {d:.0} ns/call");
    println!("overall: {}", if met { "met" } else { "NOT met" });
}
