//! What the request head says, read once for every service: the `X-Amz-Target`, the
//! `User-Agent`, the caller's address behind trusted proxies (`X-Forwarded-For`), the
//! `Content-Type`, and the body within its length and time limits.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::{BodyExt, Limited};

use super::{CallError, Protocol, RouteError};

/// The `X-Amz-Target` of an AWS JSON request, split at its last dot into the service's prefix
/// and the operation name.
pub fn target(headers: &HeaderMap) -> Result<(&str, &str), RouteError> {
    let target = headers.get("x-amz-target").ok_or(RouteError::MissingTarget)?;
    let target = target.to_str().map_err(|_| RouteError::TargetNotAscii)?;
    target
        .rsplit_once('.')
        .ok_or_else(|| RouteError::UnknownTarget(target.to_owned()))
}

/// Whether the request names an `X-Amz-Target`.
pub fn has_target(headers: &HeaderMap) -> bool {
    headers.contains_key("x-amz-target")
}

/// Whether the body is form-encoded (the Query and EC2 protocols).
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(super::query::FORM))
}

/// The host the client asked for: its `Host` header, or the authority of an HTTP/2 request.
pub fn host(parts: &http::request::Parts) -> Option<&str> {
    parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(http::uri::Authority::as_str))
}

/// The `User-Agent` as received (the record's `userAgent`).
pub fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(http::header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// The caller's address: the peer, or, when the peer is a trusted proxy, the nearest
/// `X-Forwarded-For` hop that is not one of ours (walking from the right).
pub fn source_ip(headers: &HeaderMap, peer: SocketAddr, trusted_proxies: &[IpAddr]) -> IpAddr {
    let peer_ip = peer.ip();
    if !trusted_proxies.contains(&peer_ip) {
        return peer_ip;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    hops.iter()
        .rev()
        .find(|ip| !trusted_proxies.contains(ip))
        .or(hops.first())
        .copied()
        .unwrap_or(peer_ip)
}

/// Reads the whole body: refused at once when `Content-Length` says it is over `limit`, and cut
/// off when it grows past it or takes longer than `timeout`.
pub async fn read_body<B>(
    headers: &HeaderMap,
    body: B,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, CallError>
where
    B: hyper::body::Body,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(CallError::BodyTooLarge { limit });
    }
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            Err(CallError::BodyTooLarge { limit })
        }
        Ok(Err(e)) => Err(CallError::BodyUnreadable(e.to_string())),
        Err(_) => Err(CallError::BodyTimeout),
    }
}

/// Checks the `Content-Type` against what the protocol takes. A request with no body may leave
/// it out.
pub fn check_content_type(headers: &HeaderMap, body: &[u8], protocol: Protocol) -> Result<(), CallError> {
    let expected = match protocol {
        Protocol::Query(_) | Protocol::Ec2(_) => super::query::FORM,
        other => other.content_type(),
    };
    let unsupported = |received: String| Err(CallError::UnsupportedMediaType { received, expected });
    let Some(ct) = headers.get(http::header::CONTENT_TYPE) else {
        return if body.is_empty() {
            Ok(())
        } else {
            unsupported("(none)".into())
        };
    };
    let ct = ct.to_str().unwrap_or_default();
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let ok = match protocol {
        // AWS's front end accepts both JSON 1.x media types and plain JSON on JSON 1.1 services.
        Protocol::AwsJson11 => matches!(
            essence.as_str(),
            "application/x-amz-json-1.1" | "application/x-amz-json-1.0" | "application/json"
        ),
        Protocol::RestJson => essence == "application/json",
        Protocol::Query(_) | Protocol::Ec2(_) | Protocol::Cbor => essence == expected,
    };
    if ok {
        Ok(())
    } else {
        unsupported(format!("'{ct}'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_at_the_last_dot() {
        let mut h = HeaderMap::new();
        assert_eq!(target(&h), Err(RouteError::MissingTarget));
        h.insert("x-amz-target", "a.b.C".parse().unwrap());
        assert_eq!(target(&h), Ok(("a.b", "C")));
        h.insert("x-amz-target", "NoDot".parse().unwrap());
        assert_eq!(target(&h), Err(RouteError::UnknownTarget("NoDot".into())));
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let peer = SocketAddr::new(proxy, 1);
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 10.0.0.1".parse().unwrap());
        assert_eq!(source_ip(&h, peer, &[]), proxy);
        assert_eq!(
            source_ip(&h, peer, &[proxy]),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn content_types_follow_the_protocol() {
        let mut h = HeaderMap::new();
        assert!(check_content_type(&h, b"", Protocol::RestJson).is_ok());
        assert!(check_content_type(&h, b"{}", Protocol::RestJson).is_err());
        h.insert(
            http::header::CONTENT_TYPE,
            "application/x-amz-json-1.1".parse().unwrap(),
        );
        assert!(check_content_type(&h, b"{}", Protocol::AwsJson11).is_ok());
        assert!(check_content_type(&h, b"{}", Protocol::RestJson).is_err());
    }
}
