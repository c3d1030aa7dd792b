//! The listener: accept loop with a connection limit, per-connection hyper service, graceful
//! shutdown (stop accepting, drain with a deadline, flush every record), and start-up assembly.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudtrail::delivery::{Delivery, DeliveryConfig};
use cloudtrail::notify::NotificationSink;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::app::App;
use crate::config::Config;
use crate::identity::Identities;
use crate::personalize_api::PersonalizeApi;
use crate::recorder::Recorder;
use crate::router::Services;
use crate::webhook::WebhookSink;

/// The built-in trail's bucket (the trail that exists when the configuration declares none).
pub const DEFAULT_BUCKET: &str = "aws-cloudtrail-logs-123456789012";
/// The default trail's ARN.
pub const DEFAULT_TRAIL_ARN: &str = "arn:aws:cloudtrail:us-east-1:123456789012:trail/management-events";
/// The topic delivery notifications are announced on.
pub const DEFAULT_TOPIC_ARN: &str = "arn:aws:sns:us-east-1:123456789012:aws-cloudtrail-logs-123456789012";
/// The spool directory inside the data directory (a name no bucket can have).
pub const SPOOL_DIR: &str = ".spool";

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The delivery pipeline failed to start or to flush at shutdown.
    #[error("delivery: {0}")]
    Delivery(#[from] cloudtrail::DeliveryError),
    /// A webhook URL is unusable.
    #[error(transparent)]
    Webhook(#[from] crate::webhook::WebhookError),
    /// Trails, Event history, keys, digests or an object store failed to start.
    #[error(transparent)]
    CloudTrail(#[from] crate::cloudtrail_api::SetupError),
    /// The Personalize state in the data directory cannot be read.
    #[error(transparent)]
    Persist(#[from] crate::persist::PersistError),
    /// The listener's own address cannot be read.
    #[error("listener: {0}")]
    Listener(std::io::Error),
    /// TLS could not be set up.
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The credentials STS issued before a restart cannot be read.
    #[error("issued credentials {path}: {source}")]
    Credentials {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The data directory cannot be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Builds the shared state: identities, the delivery pipeline with the trails' router, store
/// and observers, the services (the extensions' first, then Personalize and the CloudTrail API),
/// and the record taps.
async fn assemble(config: Config, local: SocketAddr) -> Result<Arc<App>, ServerError> {
    let server = config.file.server.clone();
    std::fs::create_dir_all(&server.data_dir).map_err(|source| ServerError::DataDir {
        path: server.data_dir.display().to_string(),
        source,
    })?;
    let mut sinks: Vec<Arc<dyn NotificationSink>> = Vec::new();
    if !config.file.notifications.webhooks.is_empty() {
        sinks.push(Arc::new(WebhookSink::start(
            config.file.notifications.webhooks.clone(),
        )?));
    }
    // Trails route records (the built-in trail is DEFAULT_TRAIL_ARN to DEFAULT_BUCKET, announced
    // on DEFAULT_TOPIC_ARN), choose each bucket's object store, and bring digests, per-trail
    // notifications, Event history and the CloudTrail API.
    let cloudtrail = crate::cloudtrail_api::CloudTrailParts::open(&config, sinks)?;
    let mut delivery_config = DeliveryConfig::new(server.data_dir.join(SPOOL_DIR));
    delivery_config.flush_interval = server.flush_interval.max(Duration::from_millis(100));
    delivery_config.spool_faults = config.spool_faults.clone();
    let delivery = Delivery::start(
        delivery_config,
        config.clock.clone(),
        cloudtrail.store.clone(),
        cloudtrail.router(),
        cloudtrail.observers(),
    )
    .await?;
    cloudtrail.attach_delivery(delivery.clone());
    let mut taps = config.extensions.taps.clone();
    taps.push(cloudtrail.tap());
    let recorder = Recorder::new(delivery.clone(), taps, config.clock.clone());
    let personalize_config = personalize::Config {
        time_scale: config.file.personalize.time_scale,
    };
    let (personalize, journal) = if server.ephemeral {
        (personalize::Personalize::new(personalize_config), None)
    } else {
        let dir = server.data_dir.join(crate::persist::PERSONALIZE_DIR);
        let (p, j) = crate::persist::open(&dir, personalize_config)?;
        (p, Some(j))
    };
    let personalize = Arc::new(PersonalizeApi::new(personalize, journal));
    let tls = if server.tls {
        let given = server.tls_certificate.as_deref().zip(server.tls_key.as_deref());
        Some(crate::tls::Tls::open(
            &server.data_dir,
            given,
            local,
            config.clock.now(),
        )?)
    } else {
        None
    };
    let identities = Identities::from_config(&config.file);
    if !server.ephemeral {
        // Credentials STS issued before a restart keep working until they expire.
        let path = crate::sts::store::path_in(&server.data_dir);
        let (store, loaded) = crate::sts::store::CredentialStore::open(path.clone(), config.clock.now())
            .map_err(|source| ServerError::Credentials {
                path: path.display().to_string(),
                source,
            })?;
        identities.keep_issued_in(store, loaded, config.clock.now());
    }
    let mut services = config.extensions.services.clone();
    services.push(personalize.clone());
    services.push(cloudtrail.service());
    services.push(Arc::new(crate::sts::StsApi::new(identities.clone())));
    services.push(Arc::new(crate::ec2::Ec2Api::new(
        crate::sigv4::Regions::new(&server.extra_regions).all(),
    )));
    Ok(Arc::new(App {
        clock: config.clock.clone(),
        identities,
        regions: crate::sigv4::Regions::new(&server.extra_regions),
        personalize,
        services: Services::new(services),
        raw: config
            .extensions
            .raw
            .iter()
            .map(|r| (r.signing_name(), r.clone()))
            .collect(),
        recorder,
        delivery,
        in_flight: Arc::new(Semaphore::new(server.max_in_flight.max(1))),
        receiving: std::sync::atomic::AtomicUsize::new(0),
        refused_changes: std::sync::atomic::AtomicU64::new(0),
        unrecorded: std::sync::atomic::AtomicU64::new(0),
        started: Instant::now(),
        admin: crate::admin::AdminGuard::new(local, &server.admin_hosts, server.admin_token.as_deref()),
        tls,
        history: Some(cloudtrail.history.clone()),
        trails: Some(cloudtrail.api()),
        keys: Some(cloudtrail.keys.clone()),
        server,
    }))
}

/// Serves on `listener` until `shutdown` completes, then stops accepting, lets in-flight calls
/// finish (up to the configured deadline), flushes every accepted record into log files, and
/// returns.
pub async fn run(listener: TcpListener, config: Config, shutdown: impl Future) -> Result<(), ServerError> {
    let local = listener.local_addr().map_err(ServerError::Listener)?;
    let app = assemble(config, local).await?;
    let max_connections = app.server.max_connections.max(1);
    let connections = Arc::new(Semaphore::new(max_connections));
    let per_ip = crate::conn::PerIp::new(app.server.max_connections_per_ip);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(app.server.header_read_timeout);
    // Shared by the connection tasks, which serve their connection after the first bytes.
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    tracing::info!(
        addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        data_dir = %app.server.data_dir.display(),
        keys = app.identities.len(),
        "emulator listening"
    );
    if let Some(tls) = &app.tls {
        tracing::info!(
            url = %format!("https://{local}"),
            certificate = %tls.certificate_path.display(),
            "TLS on the same port; trust the certificate (AWS_CA_BUNDLE) or fetch it from /_emulator/tls/certificate"
        );
    }
    if local.ip().is_unspecified() {
        tracing::warn!(
            "listening on every interface: anyone who can reach this machine can call the emulator; \
             bind 127.0.0.1 unless that is what you want"
        );
    }
    if let Some(token) = app.admin.token() {
        tracing::info!(
            token,
            header = crate::admin::TOKEN_HEADER,
            "admin calls that change state (flush, reset) need this token"
        );
    }
    // Folds a long journal into the snapshot now and then, so a restart replays little. It is
    // stopped at shutdown, before the last compaction.
    let compactor = app.personalize.journal_bytes().is_some().then(|| {
        let personalize = app.personalize.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(30));
            loop {
                every.tick().await;
                if personalize.journal_bytes().unwrap_or(0) < crate::persist::COMPACT_BYTES {
                    continue;
                }
                let personalize = personalize.clone();
                let done = tokio::task::spawn_blocking(move || personalize.compact()).await;
                if let Ok(Err(e)) = done {
                    tracing::warn!(error = %e, "cannot compact the Personalize journal");
                }
            }
        })
    });
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_millis(10);
    loop {
        // Waiting for a free slot before accepting keeps excess connections in the kernel's
        // backlog instead of in memory.
        let permit = tokio::select! {
            p = connections.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Usually out of file descriptors: wait for some to be released.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        backoff = Duration::from_millis(10);
        // One address may hold only part of the slots, so a peer that opens connections and
        // sends nothing cannot lock the others out.
        let Some(ip_slot) = per_ip.admit(peer.ip()) else {
            tracing::debug!(%peer, "too many connections from this address; closed");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = Arc::clone(&builder);
        let watcher = graceful.watcher();
        let first_bytes = app.server.first_byte_timeout;
        tokio::spawn(async move {
            let mut stream = stream;
            // hyper's own timeouts start after it has chosen the HTTP version, which takes the
            // first bytes; a connection that never sends them would otherwise be held forever.
            let Some(prefix) = crate::conn::sniff(&mut stream, first_bytes).await else {
                tracing::debug!(%peer, "no request bytes in time; closed");
                drop((permit, ip_slot));
                return;
            };
            let stream = crate::conn::Replay::new(prefix.clone(), stream);
            match app.tls.clone() {
                Some(tls) if prefix.first() == Some(&crate::tls::HANDSHAKE) => {
                    // The handshake and then the first request bytes, each within the deadline.
                    let handshake = tokio::time::timeout(first_bytes, tls.acceptor.accept(stream)).await;
                    let mut stream = match handshake {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            drop((permit, ip_slot));
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake not finished in time; closed");
                            drop((permit, ip_slot));
                            return;
                        }
                    };
                    let negotiated = crate::tls::negotiated(stream.get_ref().1).map(Arc::new);
                    let Some(prefix) = crate::conn::sniff(&mut stream, first_bytes).await else {
                        tracing::debug!(%peer, "no request bytes in time after the handshake; closed");
                        drop((permit, ip_slot));
                        return;
                    };
                    let io = crate::conn::Replay::new(prefix, stream);
                    serve(&builder, watcher, io, app, peer, negotiated).await;
                }
                _ => serve(&builder, watcher, stream, app, peer, None).await,
            }
            drop((permit, ip_slot));
        });
    }
    drop(listener);
    if let Some(c) = compactor {
        c.abort();
    }
    let deadline = app.server.shutdown_deadline;
    tracing::info!(?deadline, "shutting down: draining in-flight requests");
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(deadline) => tracing::warn!("drain deadline passed; closing remaining connections"),
    }
    if app.personalize.journal_bytes().is_some() {
        let personalize = app.personalize.clone();
        let saved = tokio::task::spawn_blocking(move || personalize.compact()).await;
        if let Ok(Err(e)) = saved {
            tracing::error!(error = %e, "cannot save the Personalize state; the journal is kept");
        }
    }
    tracing::info!("flushing pending records");
    app.delivery.clone().shutdown().await?;
    tracing::info!("shutdown complete");
    Ok(())
}

/// Serves one connection (plain or TLS) with hyper until it ends or shutdown closes it.
async fn serve<S>(
    builder: &auto::Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    io: S,
    app: Arc<App>,
    peer: SocketAddr,
    tls: Option<Arc<crate::tls::Negotiated>>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| app.clone().handle(peer, tls.clone(), req));
    let conn = builder.serve_connection(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
