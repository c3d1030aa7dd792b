//! Harness for driving an in-process emulator with real AWS clients and reading back what it delivered.
//!
//! - [`Emulator`]: an embedded server on `127.0.0.1:0` with a temporary data directory and a
//!   [`ManualClock`], plus admin calls (flush, reset, health) and raw signed requests.
//! - [`Emulator::personalize`], [`Emulator::runtime`], [`Emulator::events`]: aws-sdk-rust clients
//!   configured by hand (static credentials, plain HTTP, the emulator's clock, no retries, so one
//!   call is exactly one record).
//! - [`Delivered`]: every delivered log file, gunzipped and checked against the file-level
//!   invariants consumers rely on, with its records as raw JSON and as [`cloudtrail::Record`].
//! - [`checks`]: field-by-field record checks shared by the tests.
//! - [`python`]: the pinned AWS CLI and boto3 from the project's virtualenv.

mod call_log;
pub mod checks;
mod delivered;
pub mod python;

pub use call_log::{Call, CallLog, Calls};
pub use delivered::{CPL_LOG_KEY, Delivered, LogFile};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_smithy_async::time::TimeSource;
use bytes::Bytes;
use cloudtrail::ManualClock;
use emulator::config::FileConfig;
use emulator::sigv4::Signer;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// The demo account of the embedded default configuration.
pub const ACCOUNT: &str = "123456789012";
/// The region clients use unless a test picks another.
pub const REGION: &str = "us-east-1";

/// A key pair (and session token for temporary credentials) from the default configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Creds {
    /// The access key id.
    pub access_key_id: &'static str,
    /// The secret access key.
    pub secret_access_key: &'static str,
    /// The session token of temporary credentials.
    pub session_token: Option<&'static str>,
}

impl Creds {
    /// These credentials as every SDK crate's static credentials provider takes them.
    pub fn sdk(self) -> aws_sdk_personalize::config::Credentials {
        let token = self.session_token.map(str::to_owned);
        aws_sdk_personalize::config::Credentials::new(
            self.access_key_id,
            self.secret_access_key,
            token,
            None,
            "client-tests",
        )
    }

    /// Credentials only known at run time (issued by STS), kept for the rest of the test process.
    pub fn leaked(access_key_id: &str, secret_access_key: &str, session_token: Option<&str>) -> Creds {
        let keep = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
        Creds {
            access_key_id: keep(access_key_id),
            secret_access_key: keep(secret_access_key),
            session_token: session_token.map(keep),
        }
    }
}

/// IAM user `alice`, the AWS documentation's example key pair.
pub const ALICE: Creds = Creds {
    access_key_id: "AKIAIOSFODNN7EXAMPLE",
    secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    session_token: None,
};
/// IAM user `intern` (path `/trainees/`), denied `Delete*`, `CreateDatasetGroup` and `Stop*`.
pub const INTERN: Creds = Creds {
    access_key_id: "AKIAIOSFODNN7INTERN1",
    secret_access_key: "internSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY",
    session_token: None,
};
/// The root user's access key.
pub const ROOT: Creds = Creds {
    access_key_id: "AKIAI44QH8DHBEXAMPLE",
    secret_access_key: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    session_token: None,
};
/// Session `alice-session` of role `PersonalizeAdmin` (MFA, source identity `alice`).
pub const SESSION: Creds = Creds {
    access_key_id: "ASIAIOSFODNN7EXAMPLE",
    secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
    session_token: Some("IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENFORTHEPERSONALIZEEMULATOR"),
};
/// Session `stale-session` of the same role, expired in 2020.
pub const EXPIRED_SESSION: Creds = Creds {
    access_key_id: "ASIAIOSFODNN7EXPIRED",
    secret_access_key: "expiredSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY",
    session_token: Some("IQoJb3JpZ2luX2VjEXAMPLEEXPIREDSESSIONTOKEN"),
};
/// Federated user `bob`, issued by `alice`.
pub const FEDERATED: Creds = Creds {
    access_key_id: "ASIAIOSFODNN7FEDUSER",
    secret_access_key: "federatedSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY",
    session_token: Some("IQoJb3JpZ2luX2VjEXAMPLEFEDERATIONTOKEN"),
};
/// The `personalize.amazonaws.com` service principal.
pub const SERVICE: Creds = Creds {
    access_key_id: "AKIAIOSFODNN7SERVICE",
    secret_access_key: "serviceSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY",
    session_token: None,
};

/// An edit of the file configuration before start.
pub type FileEdit = Box<dyn FnOnce(&mut FileConfig) + Send>;
/// An edit of the runtime configuration before start.
pub type ConfigEdit = Box<dyn FnOnce(&mut emulator::Config) + Send>;

/// How to start an emulator.
pub struct Options {
    /// `[server] flush_interval`; long by default so only explicit flushes write files.
    pub flush_interval: Duration,
    /// `[personalize] time_scale`: `0.0` makes every lifecycle finish at once.
    pub time_scale: f64,
    /// Where the manual clock starts; `None` is the current time, whole seconds, so that the
    /// AWS CLI and boto3 (which sign with the real time) are within the allowed skew.
    pub start: Option<OffsetDateTime>,
    /// Further edits to the file configuration (deny rules, limits, identities).
    pub edit_file: Option<FileEdit>,
    /// Edits to the runtime configuration (extensions such as the CloudTrail API).
    pub edit_config: Option<ConfigEdit>,
    /// Run on the system clock instead of a manual one: for clients that wait in real time
    /// (the live generator), so nothing has to move the clock for them. Such an emulator
    /// cannot be advanced.
    pub real_time: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            flush_interval: Duration::from_secs(3600),
            time_scale: 0.0,
            start: None,
            edit_file: None,
            edit_config: None,
            real_time: false,
        }
    }
}

impl Options {
    /// Sets the Personalize time scale.
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Edits the file configuration before start.
    pub fn file(mut self, edit: impl FnOnce(&mut FileConfig) + Send + 'static) -> Self {
        self.edit_file = Some(Box::new(edit));
        self
    }

    /// Runs the emulator on the system clock ([`Options::real_time`]).
    pub fn real_time(mut self) -> Self {
        self.real_time = true;
        self
    }

    /// Edits the runtime configuration before start.
    pub fn config(mut self, edit: impl FnOnce(&mut emulator::Config) + Send + 'static) -> Self {
        self.edit_config = Some(Box::new(edit));
        self
    }
}

/// A running in-process emulator. Dropping it signals shutdown.
pub struct Emulator {
    addr: SocketAddr,
    endpoint: String,
    /// The clock the server runs on.
    clock: cloudtrail::SharedClock,
    /// The same clock when it is a manual one (not for [`Options::real_time`]).
    manual: Option<Arc<ManualClock>>,
    dir: tempfile::TempDir,
    http: aws_sdk_personalize::config::SharedHttpClient,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<Result<(), emulator::ServerError>>>,
}

/// A response to a raw request.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl RawResponse {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `x-amzn-RequestId` header.
    pub fn request_id(&self) -> String {
        self.header("x-amzn-requestid").unwrap_or_default().to_owned()
    }

    /// The body's `__type`.
    pub fn error_type(&self) -> String {
        self.json()["__type"].as_str().unwrap_or_default().to_owned()
    }

    /// The body's `message`.
    pub fn message(&self) -> String {
        self.json()["message"].as_str().unwrap_or_default().to_owned()
    }
}

/// Client-side knobs for the SDK clients.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The region to sign for and call.
    pub region: String,
    /// Seconds added to the emulator's clock when the client signs (clock-skew tests).
    pub time_offset: i64,
    /// The SDK's clock-skew correction, which trusts the response `Date` header. On by default,
    /// as in a real client; the emulator stamps `Date` from its own clock, so moving that clock
    /// keeps signatures valid (see `sdk_skew_correction_follows_the_emulator_clock`).
    pub skew_correction: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            region: REGION.to_owned(),
            time_offset: 0,
            skew_correction: true,
        }
    }
}

/// The SDK's time source: the emulator's clock (plus an offset), so clients sign with the time
/// the server believes in even after a test advances it.
#[derive(Debug, Clone)]
struct EmulatorTime {
    clock: cloudtrail::SharedClock,
    offset: i64,
}

impl TimeSource for EmulatorTime {
    fn now(&self) -> SystemTime {
        let t = self.clock.now() + time::Duration::seconds(self.offset);
        SystemTime::from(t)
    }
}

/// The headers of an AWS JSON 1.1 call before signing: `X-Amz-Target` and its content type.
pub fn json_rpc_headers(target: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-amz-target", target.parse().expect("a valid target"));
    h.insert(
        "content-type",
        http::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    h
}

/// Builds a client of one of the SDK crates the same way for all of them: static credentials,
/// the emulator's endpoint, plain HTTP, the emulator's clock, and no retries (one call is one
/// record). The crates have distinct config types, hence a macro rather than a function.
macro_rules! sdk_client {
    ($sdk:ident, $emu:expr, $creds:expr, $options:expr) => {{
        use $sdk::config::{BehaviorVersion, Region, retry::RetryConfig};
        let options: &ClientOptions = $options;
        let creds: Creds = $creds;
        let conf = $sdk::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(options.region.clone()))
            .credentials_provider(creds.sdk())
            .endpoint_url(&$emu.endpoint)
            .http_client($emu.http.clone())
            .time_source($emu.time_source(options))
            .retry_config(RetryConfig::disabled())
            .disable_clock_skew_correction(!options.skew_correction)
            .build();
        $sdk::Client::from_conf(conf)
    }};
}

impl Emulator {
    /// Starts an emulator with the default options.
    pub async fn start() -> Emulator {
        Self::start_with(Options::default()).await
    }

    /// Starts an emulator on `127.0.0.1:0` with a fresh temporary data directory.
    pub async fn start_with(options: Options) -> Emulator {
        let dir = tempfile::tempdir().expect("a temporary data directory");
        let mut file = FileConfig::embedded_default();
        file.server.data_dir = dir.path().to_owned();
        file.server.flush_interval = options.flush_interval;
        file.personalize.time_scale = options.time_scale;
        if let Some(edit) = options.edit_file {
            edit(&mut file);
        }
        let start = options.start.unwrap_or_else(|| {
            let now = OffsetDateTime::now_utc();
            now.replace_nanosecond(0).unwrap_or(now)
        });
        let manual = (!options.real_time).then(|| ManualClock::new(start));
        let clock: cloudtrail::SharedClock = match &manual {
            Some(m) => m.clone(),
            None => Arc::new(cloudtrail::SystemClock),
        };
        let mut config = emulator::Config::new(file).with_clock(clock.clone());
        if let Some(edit) = options.edit_config {
            edit(&mut config);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("a local address");
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(emulator::run(listener, config, async move {
            let _ = rx.await;
        }));
        let emu = Emulator {
            addr,
            endpoint: format!("http://{addr}"),
            clock,
            manual,
            dir,
            http: aws_smithy_http_client::Builder::new().build_http(),
            shutdown: Some(tx),
            handle: Some(handle),
        };
        // The listener is bound before `run` starts, so this first request waits in the backlog
        // until the server is ready: after it, every test call meets a running server.
        match emu
            .try_send(Method::GET, "/_emulator/health", HeaderMap::new(), Bytes::new())
            .await
        {
            Ok(r) if r.status == StatusCode::OK => emu,
            Ok(r) => panic!("the emulator at {addr} answered health with {}", r.status),
            Err(e) => {
                // Most likely `run` failed to start: show why.
                let mut emu = emu;
                let why = match emu.handle.take() {
                    Some(h) if h.is_finished() => format!("{:?}", h.await),
                    _ => "still running".to_owned(),
                };
                panic!("the emulator at {addr} did not answer health: {e}; server: {why}")
            }
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The data directory (buckets, spool).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The emulator's manual clock. Panics for an emulator on the system clock
    /// ([`Options::real_time`]), which nothing can move.
    pub fn clock(&self) -> &Arc<ManualClock> {
        self.manual
            .as_ref()
            .expect("an emulator started with Options::real_time has no manual clock")
    }

    /// The clock the emulator runs on, manual or not.
    pub fn shared_clock(&self) -> cloudtrail::SharedClock {
        self.clock.clone()
    }

    /// The emulator's current time.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Moves the emulator's clock (and every SDK client's) forward.
    pub fn advance(&self, by: Duration) {
        self.clock().advance(by);
    }

    /// Signals shutdown and waits for the server to drain and flush.
    pub async fn stop(&mut self) -> Result<(), emulator::ServerError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.handle.take() {
            Some(h) => h.await.expect("the server task does not panic"),
            None => Ok(()),
        }
    }

    /// `POST /_emulator/flush`: returns once every record accepted so far is in a delivered
    /// file, with the keys written by this flush.
    pub async fn flush(&self) -> Vec<String> {
        let r = self
            .send(Method::POST, "/_emulator/flush", HeaderMap::new(), Bytes::new())
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "flush failed: {}",
            String::from_utf8_lossy(&r.body)
        );
        r.json()["written"]
            .as_array()
            .map(|files| {
                files
                    .iter()
                    .filter_map(|w| w["key"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `POST /_emulator/reset`: forgets resources, keeps logs.
    pub async fn reset(&self) {
        let r = self
            .send(Method::POST, "/_emulator/reset", HeaderMap::new(), Bytes::new())
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "reset failed: {}",
            String::from_utf8_lossy(&r.body)
        );
    }

    /// `GET /_emulator/health`.
    pub async fn health(&self) -> Value {
        self.send(Method::GET, "/_emulator/health", HeaderMap::new(), Bytes::new())
            .await
            .json()
    }

    /// Flushes, then reads and checks every delivered log file.
    pub async fn delivered(&self) -> Delivered {
        let keys = self.flush().await;
        let delivered = Delivered::read(self.data_dir()).unwrap_or_else(|problems| {
            panic!(
                "delivered log files break the invariants:\n{}",
                problems.join("\n")
            )
        });
        for key in &keys {
            assert!(
                delivered.files.iter().any(|f| &f.key == key),
                "flush reported {key}, which is not a delivered log file"
            );
        }
        delivered
    }

    /// Sends one request on a fresh connection.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: HeaderMap,
        body: impl Into<Bytes>,
    ) -> RawResponse {
        self.try_send(method, path, headers, body.into())
            .await
            .unwrap_or_else(|e| panic!("request to {path} failed: {e}"))
    }

    async fn try_send(
        &self,
        method: Method,
        path: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<RawResponse, String> {
        let stream = TcpStream::connect(self.addr).await.map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let mut req = http::Request::builder().method(method).uri(path);
        for (k, v) in headers.iter() {
            req = req.header(k, v);
        }
        if !headers.contains_key(http::header::HOST) {
            req = req.header(http::header::HOST, self.addr.to_string());
        }
        let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
        let resp = tokio::time::timeout(Duration::from_secs(30), sender.send_request(req))
            .await
            .map_err(|_| "no response within 30 s".to_owned())?
            .map_err(|e| e.to_string())?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(RawResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Signs a request with `creds` for `service` in [`REGION`] at the emulator's time and sends it.
    /// `Host` is set to the emulator's address unless `headers` has one.
    pub async fn signed(
        &self,
        creds: Creds,
        service: &str,
        method: Method,
        path: &str,
        mut headers: HeaderMap,
        body: impl Into<Bytes>,
    ) -> RawResponse {
        let body = body.into();
        if !headers.contains_key(http::header::HOST) {
            headers.insert(
                http::header::HOST,
                self.addr
                    .to_string()
                    .parse()
                    .expect("an address is a valid header"),
            );
        }
        let mut signer = Signer::new(creds.access_key_id, creds.secret_access_key, REGION, service);
        if let Some(token) = creds.session_token {
            signer = signer.with_session_token(token);
        }
        let uri: http::Uri = path.parse().expect("a valid request path");
        signer.sign(&method, &uri, &mut headers, &body, self.now());
        self.send(method, path, headers, body).await
    }

    /// A signed AWS JSON 1.1 control-plane call with a raw body, as alice.
    pub async fn raw_json(&self, operation: &str, body: &str) -> RawResponse {
        let mut h = json_rpc_headers(&format!("AmazonPersonalize.{operation}"));
        h.insert("user-agent", http::HeaderValue::from_static("client-tests/raw"));
        self.signed(ALICE, "personalize", Method::POST, "/", h, body.to_owned())
            .await
    }

    /// A signed REST-JSON call (Runtime or Events) with a raw body, as alice.
    pub async fn raw_rest(&self, path: &str, body: &str) -> RawResponse {
        let mut h = HeaderMap::new();
        h.insert("content-type", http::HeaderValue::from_static("application/json"));
        h.insert("user-agent", http::HeaderValue::from_static("client-tests/raw"));
        self.signed(ALICE, "personalize", Method::POST, path, h, body.to_owned())
            .await
    }

    fn time_source(&self, options: &ClientOptions) -> EmulatorTime {
        EmulatorTime {
            clock: self.clock.clone(),
            offset: options.time_offset,
        }
    }

    /// An aws-sdk-personalize client for `creds` in [`REGION`].
    pub fn personalize(&self, creds: Creds) -> aws_sdk_personalize::Client {
        self.personalize_with(creds, &ClientOptions::default())
    }

    /// An aws-sdk-personalize client with client-side options.
    pub fn personalize_with(&self, creds: Creds, options: &ClientOptions) -> aws_sdk_personalize::Client {
        sdk_client!(aws_sdk_personalize, self, creds, options)
    }

    /// An aws-sdk-sts client for `creds` in [`REGION`].
    pub fn sts(&self, creds: Creds) -> aws_sdk_sts::Client {
        sdk_client!(aws_sdk_sts, self, creds, &ClientOptions::default())
    }

    /// An aws-sdk-personalizeruntime client for `creds` in [`REGION`].
    pub fn runtime(&self, creds: Creds) -> aws_sdk_personalizeruntime::Client {
        sdk_client!(aws_sdk_personalizeruntime, self, creds, &ClientOptions::default())
    }

    /// An aws-sdk-personalizeevents client for `creds` in [`REGION`].
    pub fn events(&self, creds: Creds) -> aws_sdk_personalizeevents::Client {
        sdk_client!(aws_sdk_personalizeevents, self, creds, &ClientOptions::default())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
