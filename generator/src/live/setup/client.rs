//! A group task's connection to the endpoint: signed calls, and the create-then-wait steps
//! every resource of the setup goes through.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::super::{Prepared, Sender, build_request, connect, error_code};
use super::{Cx, SETUP_USER_AGENT, Stop};
use crate::ops::{self};
use sigv4::Signer;

/// One group task's connection.
pub(super) struct Client {
    pub(super) cx: Arc<Cx>,
    pub(super) region: String,
    pub(super) conn: Option<Sender>,
    pub(super) signers: Vec<Signer>,
}

/// What a `Create*` found.
pub(super) enum Created {
    /// Made now; the answer.
    New(Value),
    /// It was there already.
    Existing,
}

impl Client {
    /// One call: (status, error code or "", body).
    pub(super) async fn call(&mut self, op: &str, body: &Value) -> Result<(u16, String, Value), Stop> {
        let spec = ops::get(op).ok_or_else(|| Stop::Failed(format!("unknown operation {op}")))?;
        let call = Prepared {
            op: crate::live::wire::Wire::Personalize(spec),
            label: None,
            identity: self.cx.who,
            region: self.region.clone(),
            body: Bytes::from(serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec())),
            user_agent: SETUP_USER_AGENT.to_owned(),
            source_ip: "127.0.0.1".to_owned(),
        };
        let host = self
            .cx
            .authority
            .strip_suffix(":80")
            .unwrap_or(&self.cx.authority)
            .to_owned();
        let transport = || Stop::Failed(format!("{op}: no answer from {}", self.cx.authority));
        if self.conn.as_ref().is_none_or(|c| c.is_closed()) {
            self.conn = connect(&self.cx.authority).await;
        }
        let req = build_request(&call, &host, &mut self.signers, &self.cx.ids, self.cx.clock.now())
            .ok_or_else(transport)?;
        let Some(conn) = self.conn.as_mut() else {
            return Err(transport());
        };
        self.cx.calls.fetch_add(1, Ordering::Relaxed);
        let answer = async {
            conn.ready().await?;
            let resp = conn.send_request(req).await?;
            let (parts, body) = resp.into_parts();
            let bytes = body.collect().await?.to_bytes();
            Ok::<_, hyper::Error>((parts, bytes))
        }
        .await;
        let Ok((parts, bytes)) = answer else {
            self.conn = None;
            return Err(transport());
        };
        let status = parts.status.as_u16();
        let code = if status >= 300 {
            error_code(&parts.headers, &bytes)
        } else {
            String::new()
        };
        Ok((
            status,
            code,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// Waits `real_secs` real-world seconds times the scale; a timeout past the deadline.
    pub(super) async fn pause(&self, real_secs: f64, what: &str) -> Result<(), Stop> {
        let d = Duration::from_secs_f64((real_secs * self.cx.scale).clamp(0.02, 60.0));
        if Instant::now() + d > self.cx.deadline {
            return Err(Stop::Timeout(what.to_owned()));
        }
        tokio::time::sleep(d).await;
        Ok(())
    }

    /// A `Create*`: `ResourceAlreadyExistsException` adopts, `LimitExceededException` (too many
    /// in flight) waits and tries again.
    pub(super) async fn create(&mut self, op: &str, body: Value) -> Result<Created, Stop> {
        loop {
            let (status, code, answer) = self.call(op, &body).await?;
            match (status, code.as_str()) {
                (s, _) if s < 300 => return Ok(Created::New(answer)),
                (_, "ResourceAlreadyExistsException") => {
                    self.cx.adopted.fetch_add(1, Ordering::Relaxed);
                    return Ok(Created::Existing);
                }
                (_, "LimitExceededException") => self.pause(30.0, op).await?,
                _ => {
                    let message = answer
                        .get("message")
                        .or_else(|| answer.get("Message"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    return Err(Stop::Failed(format!("{op}: {code} ({status}) {message}")));
                }
            }
        }
    }

    /// `Describe*` every `every` real-world seconds until `arn` is ACTIVE; its description.
    pub(super) async fn active(
        &mut self,
        describe: &str,
        member: &str,
        arn: &str,
        every: f64,
    ) -> Result<Value, Stop> {
        let noun = member.strip_suffix("Arn").unwrap_or(member);
        loop {
            let (status, code, answer) = self.call(describe, &json!({ member: arn })).await?;
            if status >= 300 {
                return Err(Stop::Failed(format!("{describe} {arn}: {code} ({status})")));
            }
            let res = answer.get(noun).cloned().unwrap_or(Value::Null);
            let s = res.get("status").and_then(Value::as_str).unwrap_or_default();
            if s == "ACTIVE" {
                self.cx.active.fetch_add(1, Ordering::Relaxed);
                return Ok(res);
            }
            // An earlier run's mix stopped it: start it again.
            if s == "INACTIVE" && member == "recommenderArn" {
                let (status, code, _) = self.call("StartRecommender", &json!({ member: arn })).await?;
                if status >= 300 {
                    return Err(Stop::Failed(format!("StartRecommender {arn}: {code} ({status})")));
                }
                self.pause(every, &format!("{arn} (status {s})")).await?;
                continue;
            }
            if s.ends_with("FAILED") || s.ends_with("STOPPED") || s == "INACTIVE" || s.starts_with("DELETE") {
                let why = res
                    .get("failureReason")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                return Err(Stop::Failed(format!("{arn} is {s} {why}")));
            }
            self.pause(every, &format!("{arn} (status {s})")).await?;
        }
    }

    /// A resource named by the caller: created (or adopted), then waited for.
    pub(super) async fn ensure(
        &mut self,
        create: &str,
        body: Value,
        arn: &str,
        every: f64,
    ) -> Result<(), Stop> {
        let spec = ops::get(create).ok_or_else(|| Stop::Failed(format!("unknown operation {create}")))?;
        let member = spec.kind.arn_member();
        let arn = match self.create(create, body).await? {
            Created::New(answer) => answer
                .get(member)
                .and_then(Value::as_str)
                .unwrap_or(arn)
                .to_owned(),
            Created::Existing => arn.to_owned(),
        };
        let describe = create.replacen("Create", "Describe", 1);
        self.active(&describe, member, &arn, every).await.map(|_| ())
    }
}
