//! Which service and operation a request is for: REST-JSON by path, AWS JSON 1.1 by the
//! `X-Amz-Target` prefix, the Query protocol by the signing name (its operation comes with the
//! body). Services register what they serve ([`Service::target_prefixes`], [`Service::by_path`],
//! [`Service::query_namespace`]); adding one touches no code here. A signed request for a
//! service nobody here serves is told so in that service's own protocol ([`Unserved`]).

use std::collections::HashMap;
use std::sync::Arc;

use http::{Method, request::Parts};

use crate::protocol::{self, Protocol, RouteError};
use crate::seams::{OperationInfo, Service};

/// Every service the server answers for, in the order they are asked.
pub(crate) struct Services {
    list: Vec<Arc<dyn Service>>,
    by_prefix: HashMap<&'static str, usize>,
    /// Query-protocol services by signing name.
    by_query_name: HashMap<&'static str, usize>,
    /// The first Query service: where an unsigned form request goes, since only its `Action`
    /// can say whether it may come unsigned.
    first_query: Option<usize>,
    /// Every signing name some service here answers for.
    signing_names: std::collections::HashSet<&'static str>,
}

/// Where a request goes.
pub(crate) struct Route {
    pub(crate) service: Arc<dyn Service>,
    pub(crate) op: OperationInfo,
    pub(crate) protocol: Protocol,
}

/// Where a request goes, once routed.
pub(crate) enum Routed {
    /// To a served operation (for the Query protocol, its operation is found in the body).
    Served(Route),
    /// To a service nobody here serves.
    Unserved(Unserved),
}

/// A signed request for a service this emulator does not serve: answered, in its own protocol,
/// with the error its SDK reads as an unknown operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unserved {
    /// The credential scope's service (`ec2`, `iam`).
    pub(crate) signing_name: String,
    /// The protocol the client speaks.
    pub(crate) protocol: Protocol,
    /// The operation, when the request names it where it can be read without the service's
    /// model (`X-Amz-Target`, an RPC v2 path; for Query, the body's `Action`).
    pub(crate) operation: Option<String>,
    /// A REST-XML service (answered as S3 answers).
    pub(crate) rest_xml: bool,
    /// How its requests' paths are canonicalised for SigV4: the S3 family signs them as sent.
    pub(crate) path_style: crate::sigv4::PathStyle,
}

/// REST-XML services: their errors are XML (S3's too, when no S3 API is plugged in).
const REST_XML: &[&str] = &["s3", "s3-control", "s3-outposts", "cloudfront", "route53"];

/// The placeholder operation of a Query route until the body names one.
pub(crate) const QUERY_PENDING: OperationInfo = OperationInfo::management("", false);

impl Services {
    /// The services; for a target prefix two of them claim, the first one listed wins.
    pub(crate) fn new(list: Vec<Arc<dyn Service>>) -> Self {
        let mut by_prefix = HashMap::new();
        let mut by_query_name = HashMap::new();
        for (i, s) in list.iter().enumerate() {
            for prefix in s.target_prefixes() {
                by_prefix.entry(*prefix).or_insert(i);
            }
            if s.query_namespace().is_some() {
                by_query_name.entry(s.signing_name()).or_insert(i);
            }
        }
        let first_query = list.iter().position(|s| s.query_namespace().is_some());
        let signing_names = list.iter().map(|s| s.signing_name()).collect();
        Services {
            list,
            by_prefix,
            by_query_name,
            first_query,
            signing_names,
        }
    }

    /// Whether some service here signs with `name`.
    fn serves(&self, name: &str) -> bool {
        self.signing_names.contains(name)
    }

    /// Routes a request whose credential scope names `signing_name` (when it has one): to a
    /// served operation, or, for a service nobody here serves, to its protocol's answer.
    pub(crate) fn route_signed(
        &self,
        parts: &Parts,
        signing_name: Option<&str>,
    ) -> Result<Routed, (Protocol, RouteError)> {
        if let Some(name) = signing_name
            && !self.serves(name)
        {
            return Ok(Routed::Unserved(unserved(
                parts,
                name,
                protocol::is_form(&parts.headers),
            )));
        }
        // Read last: the JSON services' requests (a target, or a REST path) never need it.
        if parts.method == Method::POST
            && parts.uri.path() == "/"
            && !protocol::has_target(&parts.headers)
            && protocol::is_form(&parts.headers)
            && let Some(i) = match signing_name {
                Some(n) => self.by_query_name.get(n).copied(),
                None => self.first_query,
            }
        {
            let service = &self.list[i];
            let protocol = if service.speaks_ec2() {
                Protocol::Ec2(service.query_namespace())
            } else {
                Protocol::Query(service.query_namespace())
            };
            return Ok(Routed::Served(Route {
                service: service.clone(),
                op: QUERY_PENDING,
                protocol,
            }));
        }
        self.route(parts).map(Routed::Served)
    }

    /// The Query operation the body's `Action` names.
    pub(crate) fn query_operation(route: &Route, action: Option<&str>) -> Result<Route, RouteError> {
        let action = action.ok_or(RouteError::MissingAction)?;
        let op = route
            .service
            .by_action(action)
            .ok_or_else(|| RouteError::UnknownAction(action.to_owned()))?;
        Ok(Route {
            service: route.service.clone(),
            op,
            protocol: route.protocol,
        })
    }

    /// Every service, for `reset`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<dyn Service>> {
        self.list.iter()
    }

    /// Routes a request; a failure comes with the protocol its answer uses.
    pub(crate) fn route(&self, parts: &Parts) -> Result<Route, (Protocol, RouteError)> {
        let path = parts.uri.path();
        // REST services never serve `/`, which is AWS JSON's one path.
        if path != "/" {
            for service in &self.list {
                if let Some(op) = service.by_path(path) {
                    if parts.method != Method::POST {
                        return Err((
                            Protocol::RestJson,
                            RouteError::MethodNotAllowed {
                                method: parts.method.to_string(),
                                path: path.to_owned(),
                                operation: Some(op.name),
                            },
                        ));
                    }
                    return Ok(Route {
                        service: service.clone(),
                        op,
                        protocol: Protocol::RestJson,
                    });
                }
            }
            return Err((Protocol::AwsJson11, RouteError::NoSuchPath(path.to_owned())));
        }
        let json_err = |e| Err((Protocol::AwsJson11, e));
        if parts.method != Method::POST {
            return json_err(RouteError::MethodNotAllowed {
                method: parts.method.to_string(),
                path: path.to_owned(),
                operation: None,
            });
        }
        let (prefix, name) = match protocol::target(&parts.headers) {
            Ok(t) => t,
            Err(e) => return json_err(e),
        };
        let found = self
            .by_prefix
            .get(prefix)
            .and_then(|&i| Some((&self.list[i], self.list[i].by_target(name)?)));
        match found {
            Some((service, op)) => Ok(Route {
                service: service.clone(),
                op,
                protocol: Protocol::AwsJson11,
            }),
            None => json_err(RouteError::UnknownTarget(format!("{prefix}.{name}"))),
        }
    }
}

/// How a request for an unserved service is answered, read from the request alone.
fn unserved(parts: &Parts, name: &str, is_form: bool) -> Unserved {
    let path = parts.uri.path();
    let (protocol, operation) = if let Ok((_, op)) = protocol::target(&parts.headers) {
        (Protocol::AwsJson11, Some(op.to_owned()))
    } else if let Some(op) = path
        .strip_prefix("/service/")
        .and_then(|rest| rest.split_once("/operation/"))
        .map(|(_, op)| op)
    {
        (Protocol::Cbor, Some(op.to_owned()))
    } else if is_form && name == "ec2" {
        (Protocol::Ec2(None), None)
    } else if is_form {
        (Protocol::Query(None), None)
    } else {
        (Protocol::RestJson, None)
    };
    Unserved {
        signing_name: name.to_owned(),
        protocol,
        operation,
        rest_xml: protocol == Protocol::RestJson && REST_XML.contains(&name),
        path_style: if name.starts_with("s3") {
            crate::sigv4::PathStyle::S3
        } else {
            crate::sigv4::PathStyle::Normalized
        },
    }
}
