//! The `emulator` binary: parse flags and environment, load the configuration, serve until
//! SIGINT or SIGTERM.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use emulator::config::{FileConfig, parse_duration};

/// The allocator: glibc's malloc, its frees and its arena locks were an eighth of the CPU of a
/// recorded call under load.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A fake Amazon Personalize endpoint that records every call as CloudTrail log files.
///
/// Flags win over environment variables, which win over the config file, which wins over the
/// built-in defaults (see `default-config.toml`).
#[derive(Debug, Parser)]
#[command(name = "emulator", version)]
struct Args {
    /// Address to listen on [default: 127.0.0.1:4599].
    #[arg(long, env = "EMULATOR_BIND")]
    bind: Option<SocketAddr>,
    /// Directory for buckets (log files), the spool and the notifications log [default: ./trail-data].
    #[arg(long, env = "EMULATOR_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Maximum age of a batch before its log file is written, e.g. 250ms, 30s, 5m [default: 5m].
    #[arg(long, env = "EMULATOR_FLUSH_INTERVAL", value_parser = parse_duration)]
    flush_interval: Option<std::time::Duration>,
    /// TOML configuration file; without one the built-in demo configuration is used.
    #[arg(long, env = "EMULATOR_CONFIG")]
    config: Option<PathBuf>,
    /// Map unknown access keys to generated IAM users instead of rejecting them.
    #[arg(long, env = "EMULATOR_ALLOW_UNKNOWN_KEYS")]
    allow_unknown_keys: bool,
    /// Multiplier for simulated durations (0.01 makes ten minutes take six seconds).
    #[arg(long, env = "EMULATOR_TIME_SCALE")]
    time_scale: Option<f64>,
    /// A proxy whose X-Forwarded-For header is trusted (repeatable; comma-separated in the env).
    #[arg(
        long = "trusted-proxy",
        env = "EMULATOR_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<IpAddr>,
    /// A URL that receives every delivery notification (repeatable; comma-separated in the env).
    #[arg(long = "webhook", env = "EMULATOR_WEBHOOKS", value_delimiter = ',')]
    webhooks: Vec<String>,
    /// Keep Personalize state and the credentials STS issued in memory only: they are lost at
    /// every restart (log files, trails and Event history are kept either way).
    #[arg(long, env = "EMULATOR_EPHEMERAL")]
    ephemeral: bool,
    /// A Region that credential scopes may name besides AWS's own, for one newer than this
    /// build (repeatable; comma-separated in the env).
    #[arg(long = "extra-region", env = "EMULATOR_EXTRA_REGIONS", value_delimiter = ',')]
    extra_regions: Vec<String>,
    /// The token that flush and reset need when listening on a non-loopback address
    /// [default: a random one, logged at start-up].
    #[arg(long, env = "EMULATOR_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Serve the console (/console/) to other machines too, not only to this one.
    #[arg(long, env = "EMULATOR_OPEN_CONSOLE")]
    open_console: bool,
    /// Serve plain HTTP only (no TLS on the port).
    #[arg(long, env = "EMULATOR_NO_TLS")]
    no_tls: bool,
    /// The TLS certificate chain (PEM) to serve, with --tls-key [default: one made on first
    /// start under <data-dir>/.tls/].
    #[arg(long, env = "EMULATOR_TLS_CERTIFICATE", requires = "tls_key")]
    tls_certificate: Option<std::path::PathBuf>,
    /// The private key (PEM) of --tls-certificate.
    #[arg(long, env = "EMULATOR_TLS_KEY", requires = "tls_certificate")]
    tls_key: Option<std::path::PathBuf>,
    /// A host name, besides loopback ones, under which the admin endpoints answer (repeatable;
    /// comma-separated in the env).
    #[arg(long = "admin-host", env = "EMULATOR_ADMIN_HOSTS", value_delimiter = ',')]
    admin_hosts: Vec<String>,
    /// Print the built-in configuration and exit.
    #[arg(long)]
    print_default_config: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.print_default_config {
        print!("{}", emulator::config::DEFAULT_CONFIG_TOML);
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EMULATOR_LOG")
                .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut file = match &args.config {
        Some(path) => FileConfig::load(path).with_context(|| format!("loading {}", path.display()))?,
        None => FileConfig::embedded_default(),
    };
    let server = &mut file.server;
    if let Some(bind) = args.bind {
        server.bind = bind;
    }
    if let Some(dir) = args.data_dir {
        server.data_dir = dir;
    }
    if let Some(interval) = args.flush_interval {
        server.flush_interval = interval;
    }
    if args.allow_unknown_keys {
        server.allow_unknown_keys = true;
    }
    server.trusted_proxies.extend(args.trusted_proxies);
    server.admin_hosts.extend(args.admin_hosts);
    if args.ephemeral {
        server.ephemeral = true;
    }
    for region in args.extra_regions {
        anyhow::ensure!(
            emulator::sigv4::Regions::valid_name(&region),
            "--extra-region {region:?} is not a Region name (lower-case letters, digits and dashes, \
             like ap-southeast-7, at most 32 characters)"
        );
        server.extra_regions.push(region);
    }
    if let Some(token) = args.admin_token {
        server.admin_token = Some(token);
    }
    if args.open_console {
        server.console_open = true;
    }
    if args.no_tls {
        server.tls = false;
    }
    if let (Some(cert), Some(key)) = (args.tls_certificate, args.tls_key) {
        server.tls_certificate = Some(cert);
        server.tls_key = Some(key);
    }
    if let Some(scale) = args.time_scale {
        anyhow::ensure!(scale >= 0.0 && scale.is_finite(), "--time-scale must be >= 0");
        file.personalize.time_scale = scale;
    }
    file.notifications.webhooks.extend(args.webhooks);
    let bind = file.server.bind;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let shutdown = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding {bind}"))?;
        let mut config = emulator::Config::new(file);
        // The read-only S3 API over the data directory, for `aws s3` and `validate-logs`.
        let s3 = std::sync::Arc::new(emulator::s3::S3Api::from_config(&config));
        config.extensions.raw.push(s3);
        emulator::run(listener, config, shutdown).await?;
        Ok(())
    })
}

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed here, at
/// start-up, so a signal that arrives before the server first polls the future is not lost.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => tracing::info!("SIGINT received"),
            _ = term.recv() => tracing::info!("SIGTERM received"),
        }
    })
}

/// A future that completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C received");
        }
    })
}
