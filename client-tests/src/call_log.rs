//! The calls a test made through the SDKs, as the clients saw them, so each can be matched with
//! its delivered record afterwards.

use std::future::Future;

use aws_sdk_personalize::operation::RequestId;
use serde_json::Value;
use time::OffsetDateTime;

use crate::{Creds, Delivered, Emulator, checks};

/// One SDK call a test made, as the client saw it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The operation (the record's `eventName`).
    pub name: &'static str,
    /// The `x-amzn-RequestId` the client read.
    pub request_id: String,
    /// The emulator's time when the call was made (the clock does not move during a call).
    pub at: OffsetDateTime,
    /// Who signed it.
    pub creds: Creds,
    /// The error code the client got, for failed calls.
    pub error: Option<String>,
    /// The error message the client got, for failed calls.
    pub message: Option<String>,
    /// Whether the trail gets a record of this call (data events without a resource match
    /// no data event selector, so no trail delivers them).
    pub delivered: bool,
}

/// An error an AWS SDK call returns: its code, message and request id can be read.
pub trait SdkError:
    aws_sdk_personalize::error::ProvideErrorMetadata
    + aws_sdk_personalize::operation::RequestId
    + std::error::Error
    + Send
    + Sync
    + 'static
{
}

impl<E> SdkError for E where
    E: aws_sdk_personalize::error::ProvideErrorMetadata
        + aws_sdk_personalize::operation::RequestId
        + std::error::Error
        + Send
        + Sync
        + 'static
{
}

/// The calls a test made, so each can be matched with its record afterwards.
#[derive(Debug, Default)]
pub struct CallLog {
    /// Every call, in order.
    pub calls: Vec<Call>,
}

impl CallLog {
    /// Awaits a call that must succeed, logs it and returns its output.
    pub async fn ok<T, E>(
        &mut self,
        emu: &Emulator,
        creds: Creds,
        name: &'static str,
        fut: impl std::future::Future<Output = Result<T, E>>,
    ) -> T
    where
        T: aws_sdk_personalize::operation::RequestId,
        E: std::error::Error + Send + Sync + 'static,
    {
        let at = emu.now();
        match fut.await {
            Ok(out) => {
                let request_id = out.request_id().unwrap_or_default().to_owned();
                assert!(
                    !request_id.is_empty(),
                    "{name}: the response had no x-amzn-RequestId"
                );
                self.calls.push(Call {
                    name,
                    request_id,
                    at,
                    creds,
                    error: None,
                    message: None,
                    delivered: true,
                });
                out
            }
            Err(e) => panic!(
                "{name} failed: {}",
                aws_sdk_personalize::error::DisplayErrorContext(&e)
            ),
        }
    }

    /// Awaits a call that must fail with `code`, logs it and returns the error.
    pub async fn err<T, E>(
        &mut self,
        emu: &Emulator,
        creds: Creds,
        name: &'static str,
        code: &str,
        fut: impl std::future::Future<Output = Result<T, E>>,
    ) -> E
    where
        T: std::fmt::Debug,
        E: SdkError,
    {
        let at = emu.now();
        match fut.await {
            Ok(out) => panic!("{name} succeeded with {out:?}, expected {code}"),
            Err(e) => {
                assert_eq!(
                    e.code(),
                    Some(code),
                    "{name}: expected {code}, got {}",
                    aws_sdk_personalize::error::DisplayErrorContext(&e)
                );
                let request_id = e.request_id().unwrap_or_default().to_owned();
                self.calls.push(Call {
                    name,
                    request_id,
                    at,
                    creds,
                    error: e.code().map(str::to_owned),
                    message: e.message().map(str::to_owned),
                    delivered: true,
                });
                e
            }
        }
    }

    /// Marks the last call as one no trail delivers: [`CallLog::check`] then requires that
    /// it has no record.
    pub fn undelivered(&mut self) {
        if let Some(c) = self.calls.last_mut() {
            c.delivered = false;
        }
    }

    /// The request id of the `nth` (from 0) logged call of `name`.
    pub fn nth(&self, name: &str, nth: usize) -> &str {
        self.calls
            .iter()
            .filter(|c| c.name == name)
            .nth(nth)
            .map(|c| c.request_id.as_str())
            .unwrap_or_else(|| panic!("no call #{nth} of {name}"))
    }

    /// The request id of the last logged call of `name`.
    pub fn last(&self, name: &str) -> &str {
        self.calls
            .iter()
            .rev()
            .find(|c| c.name == name)
            .map(|c| c.request_id.as_str())
            .unwrap_or_else(|| panic!("no call of {name}"))
    }

    /// Checks every logged call against its record: exactly one record per delivered call, the fields
    /// every record keeps, the identity, the error, `eventTime` equal to the emulator's time at
    /// the call, and the error message equal to what the client read. Returns the records in
    /// call order.
    pub fn check<'a>(&self, delivered: &'a Delivered, user_agent_prefix: &str) -> Vec<&'a Value> {
        let mut problems = Vec::new();
        let mut out = Vec::new();
        for c in &self.calls {
            let found: Vec<&Value> = delivered
                .records
                .iter()
                .filter(|r| r["requestID"] == c.request_id)
                .collect();
            if !c.delivered {
                if !found.is_empty() {
                    problems.push(format!(
                        "{} {}: delivered, but no trail selects it",
                        c.name, c.request_id
                    ));
                }
                continue;
            }
            let [r] = found.as_slice() else {
                problems.push(format!("{} {}: {} records", c.name, c.request_id, found.len()));
                continue;
            };
            let mut e = checks::Expect::ok(c.name, c.creds, user_agent_prefix).id(&c.request_id);
            if let Some(code) = &c.error {
                e = e.error(code);
            }
            for p in checks::problems(r, &e) {
                problems.push(format!("{} {}: {p}", c.name, c.request_id));
            }
            let at = cloudtrail::timefmt::iso_seconds(c.at);
            if r["eventTime"] != at.as_str() {
                problems.push(format!(
                    "{}: eventTime {}, the call was made at {at}",
                    c.name, r["eventTime"]
                ));
            }
            if let Some(m) = &c.message
                && r["errorMessage"] != m.as_str()
            {
                problems.push(format!(
                    "{}: errorMessage {}, the client read {m:?}",
                    c.name, r["errorMessage"]
                ));
            }
            out.push(*r);
        }
        assert!(
            problems.is_empty(),
            "records disagree with the calls:\n{}",
            problems.join("\n")
        );
        out
    }
}

/// A [`CallLog`] bound to an emulator and to the credentials its calls are signed with, so each
/// call names only its operation.
pub struct Calls<'a> {
    log: &'a mut CallLog,
    emu: &'a Emulator,
    creds: Creds,
}

impl CallLog {
    /// Logs the calls `creds` makes to `emu`.
    pub fn by<'a>(&'a mut self, emu: &'a Emulator, creds: Creds) -> Calls<'a> {
        Calls {
            log: self,
            emu,
            creds,
        }
    }
}

impl Calls<'_> {
    /// [`CallLog::ok`] for the bound emulator and credentials.
    pub async fn ok<T: RequestId, E: std::error::Error + Send + Sync + 'static>(
        &mut self,
        name: &'static str,
        fut: impl Future<Output = Result<T, E>>,
    ) -> T {
        self.log.ok(self.emu, self.creds, name, fut).await
    }

    /// [`CallLog::err`] for the bound emulator and credentials.
    pub async fn err<T: std::fmt::Debug, E: SdkError>(
        &mut self,
        name: &'static str,
        code: &str,
        fut: impl Future<Output = Result<T, E>>,
    ) -> E {
        self.log.err(self.emu, self.creds, name, code, fut).await
    }

    /// [`CallLog::undelivered`].
    pub fn undelivered(&mut self) {
        self.log.undelivered();
    }
}
