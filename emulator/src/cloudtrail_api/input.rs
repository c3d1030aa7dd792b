//! Typed access to the members of a CloudTrail API request, with the errors the API answers for
//! a member of the wrong type.

use std::sync::OnceLock;

use cloudtrail::trails::{Tag, TrailError};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::trail_err;
use crate::seams::ServiceError;

pub(super) fn serialization(member: &str, want: &str) -> ServiceError {
    ServiceError::client(
        "SerializationException",
        format!("Member {member} must be a {want}."),
    )
}

/// Typed access to the members of a request object.
pub(super) struct In<'a>(&'a Map<String, Value>);

impl<'a> In<'a> {
    pub(super) fn new(v: &'a Value) -> Self {
        static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
        In(v.as_object().unwrap_or_else(|| EMPTY.get_or_init(Map::new)))
    }

    pub(super) fn raw(&self, k: &str) -> Option<&'a Value> {
        self.0.get(k).filter(|v| !v.is_null())
    }

    pub(super) fn str(&self, k: &str) -> Result<Option<&'a str>, ServiceError> {
        match self.raw(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(serialization(k, "string")),
        }
    }

    pub(super) fn bool(&self, k: &str) -> Result<Option<bool>, ServiceError> {
        match self.raw(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(serialization(k, "boolean")),
        }
    }

    pub(super) fn int(&self, k: &str) -> Result<Option<i64>, ServiceError> {
        match self.raw(k) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| serialization(k, "integer")),
            Some(_) => Err(serialization(k, "integer")),
        }
    }

    pub(super) fn list(&self, k: &str) -> Result<Option<&'a Vec<Value>>, ServiceError> {
        match self.raw(k) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(serialization(k, "list")),
        }
    }

    pub(super) fn strings(&self, k: &str) -> Result<Option<Vec<String>>, ServiceError> {
        self.list(k)?
            .map(|l| {
                l.iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| serialization(k, "list of strings"))
                    })
                    .collect()
            })
            .transpose()
    }

    /// A timestamp: epoch seconds (what the SDKs send) or an ISO 8601 string.
    pub(super) fn time(&self, k: &str) -> Result<Option<OffsetDateTime>, ServiceError> {
        let bad = || serialization(k, "timestamp");
        match self.raw(k) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                let secs = n.as_f64().ok_or_else(bad)?;
                let nanos = (secs * 1e9).round();
                if !nanos.is_finite() || nanos.abs() > 2.5e20 {
                    return Err(bad());
                }
                OffsetDateTime::from_unix_timestamp_nanos(nanos as i128)
                    .map(Some)
                    .map_err(|_| bad())
            }
            Some(Value::String(s)) => {
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .map(Some)
                    .map_err(|_| bad())
            }
            Some(_) => Err(bad()),
        }
    }

    pub(super) fn typed<T: serde::de::DeserializeOwned>(
        &self,
        k: &str,
        want: &str,
    ) -> Result<Option<T>, ServiceError> {
        self.raw(k)
            .map(|v| {
                serde_json::from_value(v.clone()).map_err(|e| {
                    ServiceError::client(
                        "SerializationException",
                        format!("Member {k} is not a valid {want}: {e}"),
                    )
                })
            })
            .transpose()
    }
}

pub(super) fn required(v: Option<&str>, err: impl FnOnce() -> TrailError) -> Result<&str, ServiceError> {
    v.filter(|s| !s.is_empty()).ok_or_else(|| trail_err(err()))
}

pub(super) fn trail_name(input: &In<'_>, member: &str) -> Result<String, ServiceError> {
    required(input.str(member)?, || {
        TrailError::InvalidTrailName(format!(
            "{member} is required: the trail name or ARN cannot be blank."
        ))
    })
    .map(str::to_owned)
}

pub(super) fn tags(input: &In<'_>, member: &str) -> Result<Vec<Tag>, ServiceError> {
    Ok(input
        .typed::<Vec<Tag>>(member, "list of tags")?
        .unwrap_or_default())
}
