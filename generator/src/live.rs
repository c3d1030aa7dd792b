//! Live mode: the scenario's calls, SigV4-signed, sent over HTTP/1.1 keep-alive connections at an
//! open-loop rate.
//!
//! Every intended send time is computed before the run from the arrival process. A dispatcher
//! hands each call to the connection pool at its time whether or not earlier calls have
//! returned, and latency is measured from the intended time, so a slow server shows up as
//! latency rather than as a lower offered rate (no coordinated omission).
//!
//! Workflow instances (`live/workflow.rs`) run closed-loop beside this: each of their calls takes
//! the next slot of the same schedule once the previous answer is in, ahead of the mix calls.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use cloudtrail::SharedClock;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rand::RngExt;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc};
use tokio::time::Instant;

use crate::labels::{Label, LabelLine};

use crate::rng;
use crate::scenario::Scenario;
use crate::stats::{Histogram, Latency, Report};
use sigv4::Signer;
use workflow::Started;

mod coherence;
mod identities;
mod produce;
pub mod setup;
mod wire;
mod workflow;

use identities::live_population;
pub use identities::{EMULATOR_DEFAULT_CONFIG, LiveIdentity, parse_identities, parse_identities_at};
use produce::{label_line, produce};

/// Why live mode could not run.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The endpoint is not an `http://host:port` URL.
    #[error("endpoint {0:?}: only http://host[:port] URLs are supported")]
    Endpoint(String),
    /// The identity file could not be read or has no usable identity.
    #[error("identities: {0}")]
    Identities(String),
    /// The options make no sense.
    #[error("{0}")]
    Invalid(String),
    /// The setup phase could not bring the inventory to life.
    #[error("setup: {0}")]
    Setup(String),
}

/// How requests arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Arrival {
    /// Evenly spaced.
    Constant,
    /// A Poisson process: exponential gaps with the same mean.
    Poisson,
    /// Each second's requests arrive within its first 200 ms, as a Poisson process.
    Bursts,
}

impl Arrival {
    fn name(self) -> &'static str {
        match self {
            Arrival::Constant => "constant",
            Arrival::Poisson => "poisson",
            Arrival::Bursts => "bursts",
        }
    }
}

/// Intended send offsets in nanoseconds from the start, in order.
pub fn schedule(arrival: Arrival, rate: f64, duration: Duration, seed: u64) -> Vec<u64> {
    let total_ns = duration.as_nanos().min(u128::from(u64::MAX)) as u64;
    if !(rate.is_finite() && rate > 0.0) {
        return Vec::new();
    }
    let gap = 1e9 / rate;
    let mut rng = rng::derive(seed, &[0x6172726976]);
    let mut out = Vec::with_capacity((rate * duration.as_secs_f64()).min(5e7) as usize + 1);
    match arrival {
        Arrival::Constant => {
            let n = (rate * duration.as_secs_f64()).round() as u64;
            out.extend((0..n).map(|i| (i as f64 * gap) as u64));
        }
        Arrival::Poisson => {
            let mut t = 0.0f64;
            loop {
                let u: f64 = rng.random_range(f64::EPSILON..1.0);
                t += -u.ln() * gap;
                if t >= total_ns as f64 {
                    break;
                }
                out.push(t as u64);
            }
        }
        Arrival::Bursts => {
            // Five times the rate for the first fifth of each second, silence for the rest.
            let mut t = 0.0f64;
            loop {
                let u: f64 = rng.random_range(f64::EPSILON..1.0);
                t += -u.ln() * gap / 5.0;
                let second = (t / 1e9).floor();
                let within = t - second * 1e9;
                if within >= 2e8 {
                    t = (second + 1.0) * 1e9;
                    continue;
                }
                if t >= total_ns as f64 {
                    break;
                }
                out.push(t as u64);
            }
        }
    }
    out
}

/// What to run.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// `http://host:port`.
    pub endpoint: String,
    /// The scenario.
    pub scenario: Scenario,
    /// Requests per second.
    pub rate: f64,
    /// Run length.
    pub duration: Duration,
    /// Connections (and so at most this many requests in flight).
    pub concurrency: usize,
    /// The seed.
    pub seed: u64,
    /// Arrival process.
    pub arrival: Arrival,
    /// Signing identities (from the emulator's config format).
    pub identities: Vec<LiveIdentity>,
    /// Regions to call (overrides the scenario).
    pub regions: Option<Vec<String>>,
    /// Print a progress line on stderr.
    pub progress: bool,
    /// Create the resources everyday calls refer to before the timed run.
    pub setup: bool,
    /// The time requests are signed with and events stamped with: the system clock, or the
    /// emulator's own clock when a test drives both.
    pub clock: SharedClock,
    /// Where to write the answer key of the calls sent (by `requestID`), when wanted.
    pub labels: Option<std::path::PathBuf>,
    /// `(K, N)`: send only shard K of N of the (Region, principal) pairs' calls.
    pub shard: Option<(u32, u32)>,
}

impl LiveOptions {
    /// `rate` calls a second of `scenario` to `endpoint` for `duration`, signed as `identities`,
    /// with the command line's defaults otherwise: 64 connections, seed 1, constant arrivals,
    /// the scenario's Regions, a setup phase, the system clock, no progress line, no labels and
    /// every shard.
    pub fn new(
        endpoint: String,
        scenario: Scenario,
        (rate, duration): (f64, Duration),
        identities: Vec<LiveIdentity>,
    ) -> LiveOptions {
        LiveOptions {
            endpoint,
            scenario,
            rate,
            duration,
            concurrency: 64,
            seed: 1,
            arrival: Arrival::Constant,
            identities,
            regions: None,
            progress: false,
            setup: true,
            clock: std::sync::Arc::new(cloudtrail::SystemClock),
            labels: None,
            shard: None,
        }
    }
}

/// One call ready to sign and send.
#[derive(Debug)]
struct Prepared {
    op: wire::Wire,
    identity: usize,
    region: String,
    body: Bytes,
    user_agent: String,
    source_ip: String,
    /// What the answer key says of it.
    label: Option<Box<Label>>,
}

struct Job {
    call: Prepared,
    intended: Instant,
}

#[derive(Default)]
struct WorkerStats {
    latency: Histogram,
    by_status: BTreeMap<u16, u64>,
    by_error: BTreeMap<String, u64>,
    by_operation: BTreeMap<String, u64>,
    transport_errors: u64,
    last_done: Option<Instant>,
    /// Errors a workflow meant to meet (the `Describe*` confirming a deletion).
    expected_errors: BTreeMap<String, u64>,
    /// The answer key of the labelled calls answered.
    labels: Vec<LabelLine>,
}

struct Shared {
    clock: SharedClock,
    sent: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
}

/// An item of the producer's stream.
enum Produced {
    /// A call for the next free slot of the schedule, with the error it is planned to meet.
    Call(Prepared, Option<&'static str>),
    /// The same, for a call that may use the resources of running workflows.
    Serve(Prepared),
    /// A workflow instance to start; it then asks for slots itself.
    Workflow(Box<Started>),
}

/// What the setup phase did (see `live/setup.rs`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Setup {
    /// Calls made (creates, and the describes and lists that wait for and adopt resources).
    pub calls: u64,
    /// Resources ACTIVE (or, for schemas, present) when the run started.
    pub present: u64,
    /// Of those, how many an earlier run had made (`ResourceAlreadyExistsException`, adopted).
    pub adopted: u64,
    /// Wall time, seconds.
    pub secs: f64,
}

/// Runs live mode until the schedule is done or `shutdown` resolves.
pub async fn run(opts: LiveOptions, shutdown: impl Future<Output = ()>) -> Result<Report, LiveError> {
    let authority = parse_endpoint(&opts.endpoint)?;
    if !(opts.rate.is_finite() && opts.rate > 0.0 && opts.rate <= 10_000_000.0) {
        return Err(LiveError::Invalid(
            "--rate must be a positive number of requests per second".into(),
        ));
    }
    if opts.rate * opts.duration.as_secs_f64() > 200_000_000.0 {
        return Err(LiveError::Invalid(
            "--rate times --duration must be at most 200,000,000 requests (the schedule is kept in memory)"
                .into(),
        ));
    }
    if opts.concurrency == 0 || opts.concurrency > 100_000 {
        return Err(LiveError::Invalid("--concurrency must be 1..=100000".into()));
    }
    if opts.identities.is_empty() {
        return Err(LiveError::Identities("no identities".into()));
    }
    let regions = opts
        .regions
        .clone()
        .unwrap_or_else(|| opts.scenario.population.regions.clone());
    if regions.is_empty() || !regions.iter().all(|r| crate::scenario::valid_region(r)) {
        return Err(LiveError::Invalid(format!("bad region list {regions:?}")));
    }
    let sched = schedule(opts.arrival, opts.rate, opts.duration, opts.seed);
    let (population, assigned) = live_population(&opts.scenario, &regions, &opts.identities, opts.seed);
    // The inventory is brought to life before the clock starts; its calls are not measured.
    let (setup, live_ids) = if opts.setup {
        let done = setup::run(
            &opts.scenario,
            &population,
            opts.seed,
            &authority,
            &opts.identities,
            opts.progress,
            &opts.clock,
        )
        .await?;
        (done.setup, done.live_ids)
    } else {
        (Setup::default(), std::collections::HashMap::new())
    };

    let stop = Arc::new(AtomicBool::new(false));
    let (ptx, mut prx) = mpsc::channel::<Produced>(16_384);
    let producer = {
        let (scenario, seed, stop) = (opts.scenario.clone(), opts.seed, stop.clone());
        // A resource settles (becomes ACTIVE after a create, update or start) within about 400
        // real-world seconds; the mix leaves it alone that many calls long.
        let scale = scenario
            .behaviours
            .iter()
            .map(|b| b.live_time_scale)
            .fold(0.0f64, f64::max);
        let settle = (opts.rate * 400.0 * if scale > 0.0 { scale } else { 0.01 }).ceil() as u64;
        let account = population.accounts.first().cloned().unwrap_or_default();
        let inventories: Vec<crate::inventory::Inventory> = population
            .regions
            .iter()
            .enumerate()
            .map(|(r, region)| crate::inventory::Inventory::generate(seed, 0, &account, r, region))
            .collect();
        let coherence = coherence::Coherence::new(&inventories, &live_ids, &opts.identities, settle);
        let (ids, split) = (Arc::new(opts.identities.clone()), opts.shard);
        std::thread::spawn(move || {
            produce(
                scenario, population, assigned, seed, live_ids, coherence, ptx, stop, ids, split,
            )
        })
    };

    let shared = Arc::new(Shared {
        clock: opts.clock.clone(),
        sent: AtomicU64::new(0),
        completed: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    });
    let (jtx, jrx) = mpsc::unbounded_channel::<Job>();
    let jrx = Arc::new(Mutex::new(jrx));
    let identities = Arc::new(opts.identities.clone());
    let mut workers = Vec::new();
    for _ in 0..opts.concurrency {
        let (jrx, shared, identities, authority) =
            (jrx.clone(), shared.clone(), identities.clone(), authority.clone());
        workers.push(tokio::spawn(async move {
            worker(jrx, shared, identities, authority).await
        }));
    }

    let start = Instant::now() + Duration::from_millis(20);
    let progress = opts.progress.then(|| {
        let shared = shared.clone();
        let total = sched.len() as u64;
        tokio::spawn(async move {
            use std::io::Write;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut last = 0;
            loop {
                tick.tick().await;
                let done = shared.completed.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed);
                let sent = shared.sent.load(Ordering::Relaxed);
                let secs = start.elapsed().as_secs_f64();
                eprint!(
                    "\r[{secs:6.1}s] sent {sent}/{total}  done {done}  in flight {}  {} req/s   ",
                    sent.saturating_sub(done),
                    done - last
                );
                let _ = std::io::stderr().flush();
                last = done;
            }
        })
    });

    let mut interrupted = false;
    let mut scheduled = 0u64;
    // Planned mistakes sent: the errors the scenario means to meet.
    let mut planned_errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut flows = workflow::Runner::new(shared.clone(), identities.clone(), authority.clone());
    {
        let dispatch = async {
            let mut exhausted = false;
            for offset in &sched {
                let intended = start + Duration::from_nanos(*offset);
                if Instant::now() < intended {
                    tokio::time::sleep_until(intended).await;
                }
                // A workflow step waiting for its turn takes the slot; mix calls fill the rest.
                if flows.grant(intended) {
                    scheduled += 1;
                    continue;
                }
                let mut next = None;
                // Bounded, so a scenario of workflows only cannot spin here on skipped starts.
                for _ in 0..64 {
                    match prx.recv().await {
                        Some(Produced::Call(call, planned)) => {
                            if let Some(code) = planned {
                                *planned_errors.entry(code.to_owned()).or_default() += 1;
                            }
                            next = Some(call);
                            break;
                        }
                        Some(Produced::Serve(call)) => {
                            next = Some(flows.adapt(call));
                            break;
                        }
                        Some(Produced::Workflow(w)) => flows.start(*w),
                        None => {
                            exhausted = true;
                            break;
                        }
                    }
                }
                let Some(call) = next else {
                    if exhausted && flows.running() == 0 {
                        break;
                    }
                    continue;
                };
                scheduled += 1;
                if jtx.send(Job { call, intended }).is_err() {
                    break;
                }
            }
        };
        tokio::pin!(dispatch);
        tokio::pin!(shutdown);
        tokio::select! {
            _ = &mut dispatch => {}
            _ = &mut shutdown => { interrupted = true; }
        }
    }
    stop.store(true, Ordering::Relaxed);
    drop(prx);
    drop(jtx);
    let mut total = WorkerStats::default();
    for w in workers {
        if let Ok(s) = w.await {
            total.latency.merge(&s.latency);
            for (k, v) in s.by_status {
                *total.by_status.entry(k).or_default() += v;
            }
            for (k, v) in s.by_error {
                *total.by_error.entry(k).or_default() += v;
            }
            for (k, v) in s.by_operation {
                *total.by_operation.entry(k).or_default() += v;
            }
            total.transport_errors += s.transport_errors;
            total.labels.extend(s.labels);
            total.last_done = total.last_done.max(s.last_done);
        }
    }
    workflow::merge(&mut total, flows.finish().await);
    for (code, n) in std::mem::take(&mut total.expected_errors) {
        *planned_errors.entry(code).or_default() += n;
    }
    if let Some(p) = progress {
        p.abort();
        eprintln!();
    }
    let _ = producer.join();
    if let Some(path) = &opts.labels {
        std::fs::write(path, crate::labels::to_jsonl(std::mem::take(&mut total.labels)))
            .map_err(|e| LiveError::Invalid(format!("writing the labels to {}: {e}", path.display())))?;
    }
    let elapsed = total
        .last_done
        .map(|t| t.saturating_duration_since(start).as_secs_f64())
        .unwrap_or(0.0);
    let completed = shared.completed.load(Ordering::Relaxed);
    let unplanned_errors = crate::stats::unplanned(&total.by_error, &planned_errors);
    Ok(Report {
        scenario: opts.scenario.name.clone(),
        arrival: opts.arrival.name().to_owned(),
        offered_rate: opts.rate,
        achieved_rate: if elapsed > 0.0 {
            completed as f64 / elapsed
        } else {
            0.0
        },
        duration_secs: opts.duration.as_secs_f64(),
        elapsed_secs: elapsed,
        scheduled,
        sent: shared.sent.load(Ordering::Relaxed),
        completed,
        transport_errors: total.transport_errors,
        by_status: total.by_status,
        by_error: total.by_error,
        by_operation: total.by_operation,
        latency_ms: Latency::from(&total.latency),
        interrupted,
        unplanned_errors,
        planned_errors,
        setup_calls: setup.calls,
        setup_present: setup.present,
        setup_adopted: setup.adopted,
        setup_secs: setup.secs,
    })
}

fn parse_endpoint(endpoint: &str) -> Result<String, LiveError> {
    let uri: http::Uri = endpoint
        .parse()
        .map_err(|_| LiveError::Endpoint(endpoint.to_owned()))?;
    if uri.scheme_str() != Some("http") {
        return Err(LiveError::Endpoint(endpoint.to_owned()));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| LiveError::Endpoint(endpoint.to_owned()))?;
    let port = authority.port_u16().unwrap_or(80);
    Ok(format!("{}:{port}", authority.host()))
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(authority: &str) -> Option<Sender> {
    let stream = TcpStream::connect(authority).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Some(sender)
}

async fn worker(
    jobs: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
    shared: Arc<Shared>,
    ids: Arc<Vec<LiveIdentity>>,
    authority: String,
) -> WorkerStats {
    let mut stats = WorkerStats::default();
    let mut signers: Vec<Signer> = wire::signers(&ids);
    let mut conn: Option<Sender> = None;
    let host = authority.strip_suffix(":80").unwrap_or(&authority).to_owned();
    loop {
        let job = {
            let mut rx = jobs.lock().await;
            rx.recv().await
        };
        let Some(mut job) = job else { break };
        if conn.as_ref().is_none_or(|c| c.is_closed()) {
            conn = connect(&authority).await;
        }
        let Some(sender) = conn.as_mut() else {
            stats.transport_errors += 1;
            shared.failed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let req = match build_request(&job.call, &host, &mut signers, &ids, shared.clock.now()) {
            Some(r) => r,
            None => {
                stats.transport_errors += 1;
                shared.failed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        if sender.ready().await.is_err() {
            conn = None;
            stats.transport_errors += 1;
            shared.failed.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        shared.sent.fetch_add(1, Ordering::Relaxed);
        let result = async {
            let resp = sender.send_request(req).await?;
            let (parts, body) = resp.into_parts();
            let bytes = body.collect().await?.to_bytes();
            Ok::<_, hyper::Error>((parts, bytes))
        }
        .await;
        let done = Instant::now();
        match result {
            Ok((parts, bytes)) => {
                if let Some(label) = job.call.label.take() {
                    stats.labels.push(label_line(
                        &job.call,
                        *label,
                        &parts.headers,
                        &ids,
                        shared.clock.now(),
                    ));
                }
                let micros = done
                    .saturating_duration_since(job.intended)
                    .as_micros()
                    .min(u128::from(u64::MAX)) as u64;
                stats.latency.record(micros);
                let status = parts.status.as_u16();
                *stats.by_status.entry(status).or_default() += 1;
                if status >= 400 {
                    let code = error_code(&parts.headers, &bytes);
                    *stats.by_error.entry(code).or_default() += 1;
                } else {
                    *stats
                        .by_operation
                        .entry(job.call.op.name().to_owned())
                        .or_default() += 1;
                }
                stats.last_done = Some(done);
                shared.completed.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                conn = None;
                stats.transport_errors += 1;
                shared.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    stats
}

fn build_request(
    call: &Prepared,
    host: &str,
    signers: &mut [Signer],
    ids: &[LiveIdentity],
    now: time::OffsetDateTime,
) -> Option<http::Request<Full<Bytes>>> {
    let signer = call.op.signer(signers, call.identity)?;
    let token = ids.get(call.identity)?.credentials.session_token.as_deref();
    let amz_date = cloudtrail::timefmt::compact_seconds(now);
    let (path, content_type, target) = call.op.route();
    let mut headers: Vec<(&'static str, &str)> = vec![
        ("content-type", content_type),
        ("host", host),
        ("x-amz-date", &amz_date),
    ];
    if let Some(t) = token {
        headers.push(("x-amz-security-token", t));
    }
    if let Some(t) = &target {
        headers.push(("x-amz-target", t));
    }
    let auth = signer.authorization(&call.region, &amz_date, "POST", path, &headers, &call.body);
    // Filled in place, in a map sized for every header: `http::request::Builder` grows its map
    // one header at a time and parses every name, which shows at 20,000 requests/s.
    let mut req = http::Request::new(Full::new(call.body.clone()));
    *req.method_mut() = http::Method::POST;
    *req.uri_mut() = http::Uri::from_static(path);
    let map = req.headers_mut();
    map.reserve(headers.len() + 4);
    for (k, v) in &headers {
        map.insert(
            http::HeaderName::from_static(k),
            http::HeaderValue::from_str(v).ok()?,
        );
    }
    map.insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::try_from(auth).ok()?,
    );
    map.insert(
        http::header::USER_AGENT,
        http::HeaderValue::from_str(&call.user_agent).ok()?,
    );
    map.insert(
        "x-forwarded-for",
        http::HeaderValue::from_str(&call.source_ip).ok()?,
    );
    map.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(call.body.len()),
    );
    Some(req)
}

/// The AWS error code of a failed response: `X-Amzn-ErrorType` or the body's `__type`, without
/// any `namespace#` prefix or `:` suffix.
pub fn error_code(headers: &http::HeaderMap, body: &[u8]) -> String {
    let raw = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("__type").and_then(|t| t.as_str()).map(str::to_owned))
        })
        .unwrap_or_else(|| "Unknown".to_owned());
    let no_ns = raw.rsplit('#').next().unwrap_or(&raw);
    no_ns.split(':').next().unwrap_or(no_ns).to_owned()
}

/// Parses `500ms`, `30s`, `10m`, `1h` or a bare number of seconds, as the emulator does;
/// live mode's durations must be positive.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    match shared_config::parse_duration(s)? {
        d if d.is_zero() => Err(format!("{s:?} is not a positive duration")),
        d => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::IdentityKind;

    #[test]
    fn schedules_hold_the_rate() {
        let d = Duration::from_secs(10);
        let c = schedule(Arrival::Constant, 1000.0, d, 1);
        assert_eq!(c.len(), 10_000);
        assert!(c.windows(2).all(|w| w[0] <= w[1]));
        for a in [Arrival::Poisson, Arrival::Bursts] {
            let s = schedule(a, 1000.0, d, 1);
            assert!((9_500..10_500).contains(&s.len()), "{a:?}: {}", s.len());
            assert!(s.windows(2).all(|w| w[0] <= w[1]));
            assert!(s.iter().all(|t| *t < 10_000_000_000));
        }
        let b = schedule(Arrival::Bursts, 1000.0, d, 1);
        assert!(b.iter().all(|t| t % 1_000_000_000 < 200_000_000));
        assert_eq!(
            schedule(Arrival::Poisson, 1000.0, d, 1),
            schedule(Arrival::Poisson, 1000.0, d, 1)
        );
    }

    #[test]
    fn reads_the_emulator_default_identities() {
        let ids = parse_identities(EMULATOR_DEFAULT_CONFIG).unwrap();
        assert!(ids.iter().any(
            |i| i.credentials.access_key_id == "AKIAIOSFODNN7EXAMPLE" && i.kind == IdentityKind::IAMUser
        ));
        assert!(
            ids.iter()
                .any(|i| i.kind == IdentityKind::AssumedRole && i.credentials.session_token.is_some())
        );
        assert!(ids.iter().any(|i| i.kind == IdentityKind::Root));
        assert!(parse_identities("accounts = []").is_err());
        assert!(parse_identities("not toml [").is_err());
    }

    #[test]
    fn error_codes_and_durations() {
        let h = http::HeaderMap::new();
        assert_eq!(
            error_code(
                &h,
                br#"{"__type":"com.amazon.coral.service#ResourceNotFoundException","message":"x"}"#
            ),
            "ResourceNotFoundException"
        );
        assert_eq!(error_code(&h, b"garbage"), "Unknown");
        let mut h2 = http::HeaderMap::new();
        h2.insert(
            "x-amzn-errortype",
            http::HeaderValue::from_static("InvalidInputException:http://internal.amazon.com/"),
        );
        assert_eq!(error_code(&h2, b""), "InvalidInputException");
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("abc").is_err());
        assert_eq!(parse_endpoint("http://127.0.0.1:4599").unwrap(), "127.0.0.1:4599");
        assert!(parse_endpoint("https://x").is_err());
    }
}
