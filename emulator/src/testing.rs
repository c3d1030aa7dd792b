//! Test doubles for the extension seams: a JSON service whose calls wait until released, so a
//! test can hold in-flight slots without racing the clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::seams::{Answer, CallContext, OperationInfo, Reply, Service, ServiceError};

/// The gate's `X-Amz-Target` prefix; its one operation is `Hold`.
pub const GATE_TARGET_PREFIX: &str = "EmulatorTest_Gate";
/// The gate's signing name and IAM action prefix.
pub const GATE_SIGNING_NAME: &str = "gate";

/// A JSON service whose `Hold` calls block until [`Gate::release`] lets them through. It is
/// authenticated, throttled and recorded like any other service.
#[derive(Debug)]
pub struct Gate {
    open: Semaphore,
    entered: AtomicUsize,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Arc<Gate> {
        Arc::new(Gate {
            open: Semaphore::new(0),
            entered: AtomicUsize::new(0),
        })
    }

    /// Lets `n` held (or future) calls finish.
    pub fn release(&self, n: usize) {
        self.open.add_permits(n);
    }

    /// How many calls have reached the service so far.
    pub fn entered(&self) -> usize {
        self.entered.load(Ordering::SeqCst)
    }
}

impl Service for Gate {
    fn target_prefixes(&self) -> &'static [&'static str] {
        &[GATE_TARGET_PREFIX]
    }
    fn signing_name(&self) -> &'static str {
        GATE_SIGNING_NAME
    }
    fn event_source(&self) -> &'static str {
        "gate.amazonaws.com"
    }
    fn by_target(&self, name: &str) -> Option<OperationInfo> {
        (name == "Hold").then_some(OperationInfo::management("Hold", true))
    }
    fn call<'a>(&'a self, _ctx: &'a CallContext<'a>, _op: OperationInfo, _input: &'a Value) -> Reply<'a> {
        Box::pin(async move {
            self.entered.fetch_add(1, Ordering::SeqCst);
            match self.open.acquire().await {
                Ok(permit) => permit.forget(),
                Err(_) => return Answer::from(Err(ServiceError::client("GateClosed", "The gate is gone."))),
            }
            Answer::from(Ok(json!({ "held": true })))
        })
    }
}

/// The rows (operation, state) of the block `<!-- <name>:begin ... -->` .. `<!-- <name>:end -->`
/// of docs/compatibility.md, in the order the table lists them.
#[cfg(test)]
pub(crate) fn compatibility_rows(name: &str) -> Vec<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/compatibility.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let block = doc
        .split_once(&format!("<!-- {name}:begin"))
        .and_then(|(_, rest)| rest.split_once(&format!("<!-- {name}:end -->")))
        .map(|(block, _)| block)
        .unwrap_or_default();
    block
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let op = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((op.to_owned(), (*cells.get(3)?).to_owned()))
        })
        .collect()
}
