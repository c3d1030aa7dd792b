//! Placeholder: operations of this family are being written.

use serde_json::Value;

use crate::common::Cx;
use crate::error::{Error, ErrorKind, Result};
use crate::{Operation, Store};

/// State of this family within one (account, region).
#[derive(Debug, Default)]
pub(crate) struct State {}

pub(crate) fn handle(_store: &mut Store, _cx: &Cx<'_>, op: Operation, _input: &Value) -> Result<Value> {
    Err(Error::new(
        ErrorKind::NotImplemented,
        format!("{} is not implemented by this emulator yet.", op.name()),
    ))
}
