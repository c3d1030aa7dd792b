//! Which service and operation a request is for: REST-JSON by path, AWS JSON 1.1 by the
//! `X-Amz-Target` prefix. Services register what they serve ([`Service::target_prefixes`],
//! [`Service::by_path`]); adding one touches no code here.

use std::collections::HashMap;
use std::sync::Arc;

use http::{Method, request::Parts};

use crate::protocol::{self, Protocol, RouteError};
use crate::seams::{OperationInfo, Service};

/// Every service the server answers for, in the order they are asked.
pub(crate) struct Services {
    list: Vec<Arc<dyn Service>>,
    by_prefix: HashMap<&'static str, usize>,
}

/// Where a request goes.
pub(crate) struct Route {
    pub(crate) service: Arc<dyn Service>,
    pub(crate) op: OperationInfo,
    pub(crate) protocol: Protocol,
}

impl Services {
    /// The services; for a target prefix two of them claim, the first one listed wins.
    pub(crate) fn new(list: Vec<Arc<dyn Service>>) -> Self {
        let mut by_prefix = HashMap::new();
        for (i, s) in list.iter().enumerate() {
            for prefix in s.target_prefixes() {
                by_prefix.entry(*prefix).or_insert(i);
            }
        }
        Services { list, by_prefix }
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
