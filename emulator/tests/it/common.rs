//! Test harness: an embedded server on port 0 with a manual clock, a raw hyper client, a
//! request signer, and readers for delivered log files.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cloudtrail::ManualClock;
use emulator::config::FileConfig;
use emulator::sigv4::Signer;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// The instant every test starts at.
pub(crate) const START: OffsetDateTime = datetime!(2026-03-01 10:00:00 UTC);

pub(crate) const ALICE: (&str, &str) = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
pub(crate) const INTERN: (&str, &str) = (
    "AKIAIOSFODNN7INTERN1",
    "internSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY",
);
pub(crate) const SESSION: (&str, &str, &str) = (
    "ASIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
    "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENFORTHEPERSONALIZEEMULATOR",
);
/// Session `stale-session` of the same role, expired in 2020.
pub(crate) const EXPIRED: (&str, &str, &str) = (
    "ASIAIOSFODNN7EXPIRED",
    "expiredSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "IQoJb3JpZ2luX2VjEXAMPLEEXPIREDSESSIONTOKEN",
);
pub(crate) const ROOT: (&str, &str) = ("AKIAI44QH8DHBEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY");
pub(crate) const FEDERATED: (&str, &str, &str) = (
    "ASIAIOSFODNN7FEDUSER",
    "federatedSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "IQoJb3JpZ2luX2VjEXAMPLEFEDERATIONTOKEN",
);
pub(crate) const SERVICE: (&str, &str) = (
    "AKIAIOSFODNN7SERVICE",
    "serviceSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY",
);

pub(crate) fn alice() -> Signer {
    Signer::new(ALICE.0, ALICE.1, "us-east-1", "personalize")
}

pub(crate) struct Harness {
    pub(crate) addr: SocketAddr,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<Result<(), emulator::ServerError>>>,
}

pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Response {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub(crate) fn error_type(&self) -> String {
        self.json()["__type"].as_str().unwrap_or_default().to_owned()
    }
    /// Asserts the status and the `__type` of an error answer.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, error_type: &str) {
        let got = (self.status.as_u16(), self.error_type());
        assert_eq!((got.0, got.1.as_str()), (status, error_type), "{:?}", self.body);
    }
    pub(crate) fn message(&self) -> String {
        self.json()["message"].as_str().unwrap_or_default().to_owned()
    }
    pub(crate) fn request_id(&self) -> String {
        self.headers
            .get("x-amzn-requestid")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
}

impl Harness {
    pub(crate) async fn start() -> Harness {
        Self::start_with(|_| {}).await
    }

    pub(crate) async fn start_with(edit: impl FnOnce(&mut FileConfig)) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let mut file = FileConfig::embedded_default();
        file.server.data_dir = dir.path().to_owned();
        file.personalize.time_scale = 0.0;
        edit(&mut file);
        Self::start_config(dir, file, Default::default()).await
    }

    pub(crate) async fn start_config(
        dir: tempfile::TempDir,
        file: FileConfig,
        extensions: emulator::seams::Extensions,
    ) -> Harness {
        Self::start_runtime(dir, file, |c| c.extensions = extensions).await
    }

    /// Starts with the runtime configuration edited (extensions, fault switches).
    pub(crate) async fn start_runtime(
        dir: tempfile::TempDir,
        mut file: FileConfig,
        edit: impl FnOnce(&mut emulator::Config),
    ) -> Harness {
        file.server.data_dir = dir.path().to_owned();
        let clock = ManualClock::new(START);
        let mut config = emulator::Config::new(file).with_clock(clock.clone());
        edit(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(emulator::run(listener, config, async move {
            let _ = rx.await;
        }));
        Harness {
            addr,
            clock,
            dir,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    pub(crate) fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Signals shutdown and waits for `run` to return.
    pub(crate) async fn stop(&mut self) -> Result<(), emulator::ServerError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.handle.take() {
            Some(h) => h.await.unwrap(),
            None => Ok(()),
        }
    }

    /// `GET /_emulator/health`, as JSON.
    pub(crate) async fn health(&self) -> Value {
        self.get("/_emulator/health").await.json()
    }

    /// A plain `GET` of `path`, no headers.
    pub(crate) async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, HeaderMap::new(), "").await
    }

    /// Sends one request on a fresh connection.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        headers: HeaderMap,
        body: impl Into<Bytes>,
    ) -> Response {
        send_to(self.addr, method, path, headers, body.into()).await
    }

    /// Builds and signs a request (Host set to our address) and sends it.
    pub(crate) async fn signed(
        &self,
        signer: &Signer,
        method: Method,
        path: &str,
        mut headers: HeaderMap,
        body: impl Into<Bytes>,
    ) -> Response {
        let body = body.into();
        headers.insert("host", self.addr.to_string().parse().unwrap());
        let uri: http::Uri = path.parse().unwrap();
        signer.sign(&method, &uri, &mut headers, &body, self.clock_now());
        self.send(method, path, headers, body).await
    }

    pub(crate) fn clock_now(&self) -> OffsetDateTime {
        use cloudtrail::Clock;
        self.clock.now()
    }

    /// A signed AWS JSON 1.1 call.
    pub(crate) async fn json(&self, signer: &Signer, target: &str, body: &str) -> Response {
        let mut h = HeaderMap::new();
        h.insert("x-amz-target", target.parse().unwrap());
        h.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
        h.insert("user-agent", "it-tests/1.0 ua/2.1 os/linux".parse().unwrap());
        self.signed(signer, Method::POST, "/", h, body.to_owned()).await
    }

    /// A signed Personalize control-plane call.
    pub(crate) async fn personalize(&self, signer: &Signer, operation: &str, body: &str) -> Response {
        self.json(signer, &format!("AmazonPersonalize.{operation}"), body)
            .await
    }

    /// A signed REST-JSON call.
    pub(crate) async fn rest(&self, signer: &Signer, path: &str, body: &str) -> Response {
        let mut h = HeaderMap::new();
        h.insert("content-type", "application/json".parse().unwrap());
        h.insert("user-agent", "it-tests/1.0".parse().unwrap());
        self.signed(signer, Method::POST, path, h, body.to_owned()).await
    }

    /// `POST /_emulator/flush`; returns the keys written.
    pub(crate) async fn flush(&self) -> Vec<String> {
        let r = self
            .send(Method::POST, "/_emulator/flush", HeaderMap::new(), Bytes::new())
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.json()["written"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["key"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Every record in every delivered log file.
    pub(crate) fn records(&self) -> Vec<Value> {
        read_records(self.data_dir())
    }

    /// Flushes and returns the records, oldest first by file then in file order.
    pub(crate) async fn flushed_records(&self) -> Vec<Value> {
        self.flush().await;
        self.records()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub(crate) async fn send_to(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = http::Request::builder().method(method).uri(path);
    for (k, v) in headers.iter() {
        req = req.header(k, v);
    }
    if !headers.contains_key("host") {
        req = req.header("host", addr.to_string());
    }
    let resp = tokio::time::timeout(
        Duration::from_secs(30),
        sender.send_request(req.body(Full::new(body)).unwrap()),
    )
    .await
    .expect("response within 30 s")
    .unwrap();
    let (parts, body) = resp.into_parts();
    Response {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

pub(crate) fn log_files(data_dir: &Path) -> Vec<PathBuf> {
    cloudtrail::logfile::log_files_under(data_dir)
}

pub(crate) fn read_records(data_dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for f in log_files(data_dir) {
        let gz = std::fs::read(&f).unwrap();
        let body = cloudtrail::logfile::gunzip(&gz).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        out.extend(v["Records"].as_array().unwrap().iter().cloned());
    }
    out
}

/// The record with this request id.
pub(crate) fn by_request_id<'a>(records: &'a [Value], request_id: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["requestID"] == request_id)
        .unwrap_or_else(|| {
            panic!(
                "no record with requestID {request_id} among {} records",
                records.len()
            )
        })
}
