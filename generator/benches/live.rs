//! Live-mode ceiling: the generator's open-loop sender against a minimal in-process HTTP server
//! that answers every request `200 {}`, so the figure is the generator's, not a server's.
//!
//! `cargo bench -p generator --bench live` (env `BENCH_RATE`, default 20000 req/s;
//! `BENCH_SECS`, default 10; `BENCH_CONCURRENCY`, default 64).

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use generator::live::{self, Arrival, LiveOptions};
use generator::scenario::Scenario;
use http_body_util::Full;
use hyper_util::rt::TokioIo;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    // The server gets its own single-threaded runtime on its own thread.
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        rt.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(|_req| async {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"{}"))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    });
    let opts = LiveOptions {
        endpoint: format!("http://{addr}"),
        scenario: Scenario::load("audit-noise")?,
        rate: env("BENCH_RATE", 20_000.0),
        duration: Duration::from_secs(env("BENCH_SECS", 10)),
        concurrency: env("BENCH_CONCURRENCY", 64),
        seed: 1,
        arrival: Arrival::Constant,
        identities: live::parse_identities(live::EMULATOR_DEFAULT_CONFIG)?,
        regions: None,
        progress: false,
        setup: false,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = rt.block_on(live::run(opts, std::future::pending()))?;
    println!("live mode against a fixed-response server on the same machine:");
    print!("{}", report.text());
    Ok(())
}
