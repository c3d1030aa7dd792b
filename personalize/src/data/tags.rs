//! Tags of every taggable resource of both families: TagResource, UntagResource,
//! ListTagsForResource, and the helpers Create* calls use for their `tags` member.
//!
//! Limits: at most 50 tags on a resource (`TooManyTagsException`, the AWS-wide default), and
//! at most 50 keys in one UntagResource (`TooManyTagKeysException`). Keys are 1 to 128
//! characters, values 0 to 256, both from `[\p{L}\p{Z}\p{N}_.:/=+\-@]`, and keys starting
//! with `aws:` are reserved for AWS.

use serde_json::{Value, json};

use super::{not_found, resource_exists};
use crate::Store;
use crate::common::Members;
use crate::error::{Error, ErrorKind, Result};

/// Tags per resource.
pub(crate) const MAX_TAGS: usize = 50;

/// One tag.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Tag {
    /// `tagKey`.
    pub(crate) key: String,
    /// `tagValue`.
    pub(crate) value: String,
}

fn tag_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphabetic() || c.is_numeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

fn check_key(member: &str, key: &str) -> Result<()> {
    let n = key.chars().count();
    if n == 0 || n > 128 {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length between 1 and 128"
        )));
    }
    if !tag_chars_ok(key) {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]*)$"
        )));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(Error::invalid(format!(
            "Tag key {key} is not valid: the aws: prefix is reserved for AWS use."
        )));
    }
    Ok(())
}

/// Parses and validates a `tags` list (`[{tagKey, tagValue}]`).
fn parse_tags(list: &[Value], member: &str) -> Result<Vec<Tag>> {
    if list.len() > 200 {
        return Err(Error::invalid(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to 200"
        )));
    }
    let mut out: Vec<Tag> = Vec::with_capacity(list.len());
    for (i, t) in list.iter().enumerate() {
        let path = format!("{member}.{}.member", i + 1);
        let o = t
            .as_object()
            .ok_or_else(|| Error::invalid(format!("Value at '{path}' must be a structure.")))?;
        let get = |name: &str| -> Result<&str> {
            match o.get(name) {
                Some(Value::String(s)) => Ok(s.as_str()),
                None | Some(Value::Null) => Err(Error::invalid(format!(
                    "1 validation error detected: Value null at '{path}.{name}' failed to satisfy constraint: Member must not be null"
                ))),
                Some(_) => Err(Error::invalid(format!(
                    "Value at '{path}.{name}' must be a string."
                ))),
            }
        };
        let key = get("tagKey")?;
        let value = get("tagValue")?;
        check_key(&format!("{path}.tagKey"), key)?;
        if value.chars().count() > 256 {
            return Err(Error::invalid(format!(
                "1 validation error detected: Value at '{path}.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256"
            )));
        }
        if !tag_chars_ok(value) {
            return Err(Error::invalid(format!(
                "1 validation error detected: Value at '{path}.tagValue' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]*)$"
            )));
        }
        if out.iter().any(|x| x.key == key) {
            return Err(Error::invalid(format!(
                "Tag key {key} appears more than once in the request."
            )));
        }
        out.push(Tag {
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    Ok(out)
}

fn too_many_tags(arn: &str) -> Error {
    Error::new(
        ErrorKind::TooManyTags,
        format!("Resource {arn} would have more than {MAX_TAGS} tags."),
    )
}

/// Validates a Create call's optional `tags` member before anything changes.
pub(crate) fn check_tags(m: &Members<'_>) -> Result<Vec<Tag>> {
    let Some(list) = m.opt_list("tags")? else {
        return Ok(Vec::new());
    };
    let tags = parse_tags(list, "tags")?;
    if tags.len() > MAX_TAGS {
        return Err(Error::new(
            ErrorKind::TooManyTags,
            format!("A resource can have at most {MAX_TAGS} tags."),
        ));
    }
    Ok(tags)
}

/// Stores the tags of a new resource (validated by [`check_tags`]).
pub(crate) fn register_tags(store: &mut Store, arn: &str, tags: Vec<Tag>) {
    if tags.is_empty() {
        return;
    }
    merge(store.data.tags.entry(arn.to_string()).or_default(), tags);
}

/// Drops the tags of a resource that no longer exists.
pub(crate) fn forget_tags(store: &mut Store, arn: &str) {
    store.data.tags.remove(arn);
}

fn merge(have: &mut Vec<Tag>, new: Vec<Tag>) {
    for t in new {
        match have.iter_mut().find(|h| h.key == t.key) {
            Some(h) => h.value = t.value,
            None => have.push(t),
        }
    }
}

/// Whether a resource of either family exists; tags may be attached to any of them.
fn taggable(store: &Store, arn: &str) -> bool {
    resource_exists(store, arn) || crate::models::resource_exists(store, arn)
}

fn resource_arn<'a>(m: &Members<'a>, store: &Store) -> Result<&'a str> {
    let arn = m.arn("resourceArn")?;
    if !taggable(store, arn) {
        return Err(not_found(arn));
    }
    Ok(arn)
}

pub(super) fn tag_resource(store: &mut Store, m: &Members<'_>) -> Result<Value> {
    // The ARN form is checked before the other members, as the service orders its errors.
    m.arn("resourceArn")?;
    let list = m.opt_list("tags")?.ok_or_else(|| {
        Error::invalid(
            "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let tags = parse_tags(list, "tags")?;
    let arn = resource_arn(m, store)?;
    let mut merged = store.data.tags.get(arn).cloned().unwrap_or_default();
    merge(&mut merged, tags);
    if merged.len() > MAX_TAGS {
        return Err(too_many_tags(arn));
    }
    if !merged.is_empty() {
        store.data.tags.insert(arn.to_string(), merged);
    }
    Ok(json!({}))
}

pub(super) fn untag_resource(store: &mut Store, m: &Members<'_>) -> Result<Value> {
    // The ARN form is checked before the other members, as the service orders its errors.
    m.arn("resourceArn")?;
    let keys = m.opt_list("tagKeys")?.ok_or_else(|| {
        Error::invalid(
            "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null",
        )
    })?;
    if keys.len() > 200 {
        return Err(Error::invalid(
            "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to 200",
        ));
    }
    let mut names = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let member = format!("tagKeys.{}.member", i + 1);
        let k = k
            .as_str()
            .ok_or_else(|| Error::invalid(format!("Value at '{member}' must be a string.")))?;
        check_key(&member, k)?;
        names.push(k);
    }
    if names.len() > MAX_TAGS {
        return Err(Error::new(
            ErrorKind::TooManyTagKeys,
            format!(
                "The request has {} tag keys; at most {MAX_TAGS} can be removed at once.",
                names.len()
            ),
        ));
    }
    let arn = resource_arn(m, store)?;
    if let Some(have) = store.data.tags.get_mut(arn) {
        have.retain(|t| !names.contains(&t.key.as_str()));
        if have.is_empty() {
            store.data.tags.remove(arn);
        }
    }
    Ok(json!({}))
}

pub(super) fn list_tags(store: &Store, m: &Members<'_>) -> Result<Value> {
    let arn = resource_arn(m, store)?;
    let tags: Vec<Value> = store
        .data
        .tags
        .get(arn)
        .into_iter()
        .flatten()
        .map(|t| json!({ "tagKey": t.key, "tagValue": t.value }))
        .collect();
    Ok(json!({ "tags": tags }))
}
