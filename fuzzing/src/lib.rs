//! Fuzz targets as plain functions of bytes. Each must return for every input without
//! panicking; the libFuzzer binaries in `fuzz/` and the corpus test both call them.
//!
//! Inputs that stand for HTTP requests use a small text form, so that corpus files stay
//! readable: a request line (`METHOD target`), header lines (`name: value`), an empty line,
//! then the body.

use std::sync::OnceLock;

use emulator::config::FileConfig;
use emulator::identity::Identities;
use emulator::sigv4::{PathStyle, Regions, RequestView};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use personalize::{Api, Operation, Personalize};
use time::OffsetDateTime;

/// A fuzz target: any bytes in, no panic out.
pub type Target = fn(&[u8]);

/// The fuzz targets by name, as `fuzz/` and the corpus folders name them.
pub const TARGETS: &[(&str, Target)] = &[
    ("sigv4", sigv4),
    ("aws_json", aws_json),
    ("rest_json", rest_json),
    ("s3_request", s3_request),
    ("filter_expression", filter_expression),
    ("saml_response", saml_response),
];

/// The clock every target uses: the date the corpus requests were signed for.
fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-03-01 10:00:00 UTC)
}

/// The demo account in us-east-1, at [`now`].
fn ctx() -> personalize::Context {
    personalize::Context {
        account: "123456789012".into(),
        region: "us-east-1".into(),
        now: now(),
    }
}

/// A request parsed from the text form; `None` when the request line does not parse.
pub struct Request {
    /// The method.
    pub method: Method,
    /// The target.
    pub uri: Uri,
    /// The headers that parsed.
    pub headers: HeaderMap,
    /// Everything after the empty line.
    pub body: Vec<u8>,
}

impl Request {
    /// Parses the text form.
    pub fn parse(data: &[u8]) -> Option<Request> {
        let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
            Some(i) => (&data[..i], data.get(i + 2..).unwrap_or_default()),
            None => (data, &[][..]),
        };
        let mut lines = head.split(|b| *b == b'\n');
        let first = lines.next()?;
        let mut parts = first.splitn(2, |b| *b == b' ');
        let method = Method::from_bytes(parts.next()?).ok()?;
        let uri = Uri::try_from(parts.next().unwrap_or(b"/")).ok()?;
        let mut headers = HeaderMap::new();
        for line in lines {
            let Some(colon) = line.iter().position(|b| *b == b':') else {
                continue;
            };
            let (name, value) = line.split_at(colon);
            let value = value.get(1..).unwrap_or_default().trim_ascii();
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
                headers.append(n, v);
            }
        }
        Some(Request {
            method,
            uri,
            headers,
            body: body.to_vec(),
        })
    }

    fn view(&self) -> RequestView<'_> {
        RequestView {
            method: &self.method,
            uri: &self.uri,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

fn identities() -> &'static Identities {
    static IDS: OnceLock<Identities> = OnceLock::new();
    IDS.get_or_init(|| Identities::from_config(&FileConfig::embedded_default()))
}

/// SigV4: the `Authorization` header and presigned-query parsers, the canonical request and
/// the verifier, under the standard rules and S3's.
pub fn sigv4(data: &[u8]) {
    let Some(req) = Request::parse(data) else {
        return;
    };
    let regions = Regions::default();
    for (service, style) in [("personalize", PathStyle::Normalized), ("s3", PathStyle::S3)] {
        let _ = emulator::sigv4::verify(&req.view(), identities(), &regions, service, style, now());
    }
    let _ = emulator::sigv4::peek_scope(&req.uri, &req.headers);
}

fn personalize() -> &'static Personalize {
    static P: OnceLock<Personalize> = OnceLock::new();
    P.get_or_init(|| Personalize::new(personalize::Config { time_scale: 0.0 }))
}

/// One body through the protocol decoder and into the operation the first byte picks from
/// `ops`, then the record's redaction, as the server does with a request.
fn call(data: &[u8], ops: &[Operation]) {
    let (Some(first), Some(body)) = (data.first(), data.get(1..)) else {
        return;
    };
    let Some(op) = ops.get(usize::from(*first) % ops.len().max(1)).copied() else {
        return;
    };
    let Ok(input) = emulator::protocol::decode_body(body) else {
        return;
    };
    let ctx = ctx();
    let out = personalize().call(&ctx, op, &input);
    let _ = cloudtrail::redact::redact(input, personalize::sensitive_paths(op));
    if let Ok(v) = out {
        let _ = serde_json::to_vec(&v);
    }
}

/// The Personalize operations of the control plane (`true`) or of Runtime and Events.
fn operations(control_plane: bool) -> Vec<Operation> {
    Operation::ALL
        .iter()
        .copied()
        .filter(|o| (o.api() == Api::ControlPlane) == control_plane)
        .collect()
}

/// An AWS JSON 1.1 body to a Personalize control-plane operation.
pub fn aws_json(data: &[u8]) {
    static OPS: OnceLock<Vec<Operation>> = OnceLock::new();
    call(data, OPS.get_or_init(|| operations(true)));
}

/// A REST-JSON body to a Personalize Runtime or Events operation.
pub fn rest_json(data: &[u8]) {
    static OPS: OnceLock<Vec<Operation>> = OnceLock::new();
    call(data, OPS.get_or_init(|| operations(false)));
}

struct S3Rig {
    api: emulator::s3::S3Api,
    _dir: tempfile::TempDir,
}

fn s3() -> Option<&'static S3Rig> {
    static S3: OnceLock<Option<S3Rig>> = OnceLock::new();
    S3.get_or_init(|| {
        let dir = tempfile::tempdir().ok()?;
        let bucket = dir.path().join("aws-cloudtrail-logs-123456789012");
        let folder = bucket.join("AWSLogs/123456789012/CloudTrail/us-east-1/2026/03/01");
        std::fs::create_dir_all(&folder).ok()?;
        std::fs::write(folder.join("log.json.gz"), b"\x1f\x8b not really").ok()?;
        let mut file = FileConfig::embedded_default();
        file.server.data_dir = dir.path().to_owned();
        let api = emulator::s3::S3Api::from_config(&emulator::Config::new(file));
        Some(S3Rig { api, _dir: dir })
    })
    .as_ref()
}

/// The S3 API's request parsing and routing: addressing, queries, ranges, preconditions.
pub fn s3_request(data: &[u8]) {
    let (Some(req), Some(rig)) = (Request::parse(data), s3()) else {
        return;
    };
    let call = emulator::s3::S3Call {
        method: &req.method,
        uri: &req.uri,
        headers: &req.headers,
        authenticated: true,
        request_id: "fuzz",
    };
    let _ = rig.api.respond(&call);
}

/// A Personalize filter expression, through `CreateFilter` (which parses and checks it against
/// an active dataset group; each call has a name of its own so none stops at "already exists").
pub fn filter_expression(data: &[u8]) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let Ok(expression) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = ctx();
    static P: OnceLock<(Personalize, String)> = OnceLock::new();
    let (p, group) = P.get_or_init(|| {
        let p = Personalize::new(personalize::Config { time_scale: 0.0 });
        let made = p.call(
            &ctx,
            Operation::CreateDatasetGroup,
            &serde_json::json!({"name": "fuzz"}),
        );
        let arn = made
            .ok()
            .and_then(|v| v["datasetGroupArn"].as_str().map(str::to_owned))
            .unwrap_or_default();
        (p, arn)
    });
    static N: AtomicU64 = AtomicU64::new(0);
    let input = serde_json::json!({
        "name": format!("f{}", N.fetch_add(1, Ordering::Relaxed)),
        "datasetGroupArn": group,
        "filterExpression": expression,
    });
    let _ = p.call(&ctx, Operation::CreateFilter, &input);
}

/// A SAML response as an unauthenticated `AssumeRoleWithSAML` caller sends it (the input is
/// the XML; the target base64-encodes it as clients do): the XML parser, the assertion's
/// reading, exclusive canonicalisation and the signature check against the test provider's
/// certificate.
pub fn saml_response(data: &[u8]) {
    use base64::Engine as _;
    use emulator::sts::saml;
    static CERTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    let certs = CERTS.get_or_init(|| {
        saml::certificates(include_str!("../../emulator/src/sts/saml/testdata/idp-cert.pem"))
            .unwrap_or_default()
    });
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(root) = saml::xml::parse(text)
    {
        let _ = saml::c14n::canonicalize(&root, None, &["#default".to_owned(), "saml".to_owned()]);
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    if let Ok(response) = saml::Response::parse(&encoded) {
        let _ = response.verify(certs);
        if let Ok(assertion) = response.assertion() {
            let _ = assertion.check(now());
        }
    }
}
