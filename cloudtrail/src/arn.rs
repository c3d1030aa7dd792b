//! ARNs split into their parts: `arn:<partition>:<service>:<region>:<account>:<resource>`.
//! Shared by trail names, digest chains and Event history's resource types.

/// The six parts of an ARN, borrowed from the string. The resource keeps any further `:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: &'a str,
    /// The service namespace, e.g. `cloudtrail`.
    pub service: &'a str,
    /// The Region; empty for global resources.
    pub region: &'a str,
    /// The account; empty for resources no account owns.
    pub account: &'a str,
    /// `trail/name`, `topic`, ...
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits `s`, or `None` when it does not start with `arn:` or has fewer than six parts.
    pub fn parse(s: &'a str) -> Option<Arn<'a>> {
        let mut parts = s.splitn(6, ':');
        let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        Some(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_six_parts_and_keeps_colons_in_the_resource() {
        assert_eq!(
            Arn::parse("arn:aws:cloudtrail:us-east-1:123456789012:trail/t"),
            Some(Arn {
                partition: "aws",
                service: "cloudtrail",
                region: "us-east-1",
                account: "123456789012",
                resource: "trail/t",
            })
        );
        assert_eq!(
            Arn::parse("arn:aws:logs:us-east-1:1:log-group:g:*").map(|a| a.resource),
            Some("log-group:g:*")
        );
        assert_eq!(Arn::parse("arn:aws:s3:::bucket").map(|a| a.region), Some(""));
        assert_eq!(Arn::parse("arn:aws:s3"), None);
        assert_eq!(Arn::parse("nra:aws:s3:::bucket"), None);
    }
}
