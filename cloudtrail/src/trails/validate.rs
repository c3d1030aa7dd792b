//! The checks CloudTrail makes on a trail's settings: its name, how a caller names it (name or
//! ARN), bucket, key prefix, SNS topic, tags and CloudWatch Logs pair.

use crate::arn::Arn;

use super::model::{Tag, TrailError};

/// Checks a trail name as CloudTrail does.
pub fn validate_trail_name(name: &str) -> Result<(), TrailError> {
    let bad = |m: String| Err(TrailError::InvalidTrailName(m));
    if name.len() < 3 {
        return bad(format!(
            "Trail name too short. Minimum allowed length: 3 characters. Specified name length: {} characters.",
            name.len()
        ));
    }
    if name.len() > 128 {
        return bad(format!(
            "Trail name too long. Maximum allowed length: 128 characters. Specified name length: {} characters.",
            name.len()
        ));
    }
    let bytes = name.as_bytes();
    let ok_char = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-';
    let punct = |b: u8| b == b'.' || b == b'_' || b == b'-';
    if !bytes.iter().all(|&b| ok_char(b))
        || bytes.first().is_some_and(|&b| !b.is_ascii_alphanumeric())
        || bytes.last().is_some_and(|&b| !b.is_ascii_alphanumeric())
        || bytes
            .windows(2)
            .any(|w| matches!(w, [a, b] if punct(*a) && punct(*b)))
        || name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok())
    {
        return bad(format!(
            "Trail name {name} is invalid. Trail names must start and end with a letter or number, contain only letters, numbers, periods (.), underscores (_) and dashes (-), not have adjacent periods, underscores or dashes, and not look like an IP address."
        ));
    }
    Ok(())
}

/// How a caller names a trail: by name, or by ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailRef {
    /// A bare name.
    Name(String),
    /// A full ARN.
    Arn {
        /// Home Region.
        region: String,
        /// Owning account.
        account: String,
        /// Name.
        name: String,
    },
}

impl TrailRef {
    /// Parses a `Name` parameter: an ARN when it starts with `arn:`, else a name.
    pub fn parse(s: &str) -> Result<TrailRef, TrailError> {
        if !s.starts_with("arn:") {
            validate_trail_name(s)?;
            return Ok(TrailRef::Name(s.to_owned()));
        }
        let invalid = || TrailError::CloudTrailArnInvalid(format!("Invalid trail ARN: {s}"));
        let arn = Arn::parse(s).ok_or_else(invalid)?;
        let name = arn.resource.strip_prefix("trail/").ok_or_else(invalid)?;
        if !arn.partition.starts_with("aws")
            || arn.service != "cloudtrail"
            || arn.region.is_empty()
            || arn.account.len() != 12
            || !arn.account.bytes().all(|b| b.is_ascii_digit())
            || validate_trail_name(name).is_err()
        {
            return Err(invalid());
        }
        Ok(TrailRef::Arn {
            region: arn.region.to_owned(),
            account: arn.account.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The trail name, however it was given.
    pub(super) fn name(&self) -> &str {
        match self {
            TrailRef::Name(n) => n,
            TrailRef::Arn { name, .. } => name,
        }
    }
}

/// S3's bucket naming rules (`InvalidS3BucketNameException`).
pub(super) fn check_bucket(bucket: &str) -> Result<(), TrailError> {
    if crate::store::valid_bucket(bucket) {
        Ok(())
    } else {
        Err(TrailError::InvalidS3BucketName(format!(
            "Bucket name is not valid: {bucket}"
        )))
    }
}

/// A key prefix S3 can store under: at most 200 characters, no empty, `.` or `..` segments.
pub(super) fn check_prefix(prefix: &str) -> Result<(), TrailError> {
    if prefix.len() > 200
        || prefix.contains("//")
        || prefix.contains('\0')
        || prefix.split('/').any(|s| s == "." || s == "..")
    {
        Err(TrailError::InvalidS3Prefix(format!(
            "Prefix is not valid: {prefix}"
        )))
    } else {
        Ok(())
    }
}

/// An SNS topic name, or the name at the end of a topic ARN.
pub(super) fn check_topic(topic: &str) -> Result<(), TrailError> {
    let name = if topic.starts_with("arn:") {
        topic.rsplit(':').next().unwrap_or_default()
    } else {
        topic
    };
    if name.is_empty()
        || name.len() > 256
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Err(TrailError::InvalidSnsTopicName(format!(
            "SNS topic name is not valid: {topic}"
        )))
    } else {
        Ok(())
    }
}

/// Tag keys of 1 to 128 characters outside `aws:`, values of at most 256.
pub(super) fn check_tags(tags: &[Tag]) -> Result<(), TrailError> {
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 || t.key.starts_with("aws:") {
            return Err(TrailError::InvalidTagParameter(format!(
                "Tag key is not valid: {}",
                t.key
            )));
        }
        if t.value.as_deref().is_some_and(|v| v.chars().count() > 256) {
            return Err(TrailError::InvalidTagParameter(format!(
                "Tag value for key {} is too long.",
                t.key
            )));
        }
    }
    Ok(())
}

/// A CloudWatch Logs log group and role are given together, each an ARN of its kind.
pub(super) fn check_cloudwatch(group: Option<&str>, role: Option<&str>) -> Result<(), TrailError> {
    match (group, role) {
        (Some(g), _) if !g.starts_with("arn:aws:logs:") => Err(TrailError::InvalidCloudWatchLogsLogGroupArn(
            format!("Invalid CloudWatch Logs log group ARN: {g}"),
        )),
        (_, Some(r)) if !r.starts_with("arn:aws:iam::") => Err(TrailError::InvalidCloudWatchLogsRoleArn(
            format!("Invalid CloudWatch Logs role ARN: {r}"),
        )),
        (Some(_), None) | (None, Some(_)) => Err(TrailError::InvalidParameterCombination(
            "You must specify both a CloudWatch Logs log group ARN and a role ARN.".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// `None` for an empty string: UpdateTrail removes a setting by giving it empty.
pub(super) fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// The prefix without surrounding slashes, `None` when nothing is left.
pub(super) fn normalise_prefix(p: Option<String>) -> Option<String> {
    non_empty(p.map(|p| p.trim_matches('/').to_owned()))
}
