//! The `generator` binary: `generator offline …` writes CloudTrail logs, `generator live …` sends
//! signed calls, `generator scenarios` lists the presets.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{ArgAction, Args, Parser, Subcommand};
use generator::live::{self, Arrival, LiveOptions};
use generator::offline::{self, Delivery, DigestOptions, OfflineOptions, S3Delivery};
use generator::scenario::{PRESETS, Scenario};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The allocator: glibc's malloc and free were an eighth of the offline generator's user time.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "generator",
    version,
    about = "Synthetic Amazon Personalize traffic: live against an endpoint, or offline straight to CloudTrail log files."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The options of `offline`.
#[derive(clap::Args, Debug)]
struct OfflineArgs {
    /// Data directory: files land in DIR/<bucket>/[prefix/]AWSLogs/... Optional when
    /// uploading (--s3 or --s3-endpoint); with both, the same bytes go to both.
    #[arg(long)]
    out: Option<PathBuf>,
    /// A preset (demo, ml-pipeline, audit-noise, suspicious) or a scenario TOML file.
    #[arg(long, default_value = "demo")]
    scenario: String,
    /// Start, RFC 3339 (2026-01-05T00:00:00Z) or a date (2026-01-05).
    #[arg(long)]
    start: String,
    /// End (exclusive), same forms as --start.
    #[arg(long)]
    end: String,
    /// Number of accounts (default: the scenario's).
    #[arg(long)]
    accounts: Option<u32>,
    /// Comma-separated regions (default: the scenario's).
    #[arg(long, value_delimiter = ',')]
    regions: Option<Vec<String>>,
    /// Mix calls per account, region and full weekday (default: the scenario's).
    #[arg(long)]
    events_per_day: Option<u64>,
    /// Seed of every random choice: the same seed and arguments give identical files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Bucket name (locally a folder; in the S3-compatible store it must exist).
    #[arg(long, default_value = "cloudtrail-logs")]
    bucket: String,
    /// S3 key prefix.
    #[arg(long)]
    prefix: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// gzip level (libdeflate 0-12; 6 is gzip's default).
    #[arg(long, default_value_t = 6)]
    level: i32,
    /// Also write hourly digest files (log file integrity validation).
    #[arg(long)]
    digests: bool,
    /// PKCS#1 DER RSA private key that signs the digests (default: a new key, whose public
    /// half is written to DIR/.generator/digest-public-key.der; needed when uploading
    /// without --out).
    #[arg(long)]
    digest_key: Option<PathBuf>,
    /// Trail name in digest file names.
    #[arg(long, default_value = "generator")]
    trail: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Write the answer key here: one JSON line per malicious or notable event (eventID,
    /// technique, ATT&CK ID, scenario step, actor). Benign events are not listed.
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
    /// Write only shard K of N (0-based, e.g. 2/4): the shards split the accounts (or the
    /// (account, Region) pairs when there are fewer accounts than shards), and together
    /// write exactly the single run's files.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<(u32, u32)>,
    #[command(flatten)]
    s3: Box<S3Args>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write CloudTrail log files (and digests) for a time span into a bucket directory, an
    /// S3-compatible store, or both.
    Offline(Box<OfflineArgs>),
    /// Send SigV4-signed Personalize calls to an endpoint at an open-loop rate.
    Live {
        /// The endpoint, e.g. http://127.0.0.1:4599.
        #[arg(long, default_value = "http://127.0.0.1:4599")]
        endpoint: String,
        /// A preset or a scenario TOML file.
        #[arg(long, default_value = "demo")]
        scenario: String,
        /// Requests per second.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        /// Run length: 500ms, 30s, 10m, 1h.
        #[arg(long, default_value = "10s")]
        duration: String,
        /// Connections, and so requests in flight at most.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Arrival process.
        #[arg(long, value_enum, default_value = "constant")]
        arrival: Arrival,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// An emulator config file whose identities sign the calls (default: the emulator's built-in one).
        #[arg(long)]
        identities: Option<PathBuf>,
        /// Comma-separated regions (default: the scenario's).
        #[arg(long, value_delimiter = ',')]
        regions: Option<Vec<String>>,
        /// No progress line.
        #[arg(long)]
        quiet: bool,
        /// Skip creating the dataset groups, schemas, datasets and filters everyday calls refer to.
        #[arg(long)]
        no_setup: bool,
        /// Write the answer key of the labelled calls sent here (JSON Lines, by requestID: the
        /// server assigns the eventID).
        #[arg(long, value_name = "FILE")]
        labels: Option<PathBuf>,
        /// Send only shard K of N (0-based): the shards split the (Region, principal) pairs, each
        /// at --rate.
        #[arg(long, value_name = "K/N", value_parser = parse_shard)]
        shard: Option<(u32, u32)>,
    },
    /// List the built-in scenarios, or print one as TOML.
    Scenarios {
        /// Print this preset's TOML.
        name: Option<String>,
    },
    /// Score a detection run against an answer key: recall per technique, precision per
    /// technique (for alerts that name one) and per rule (for alerts that name theirs).
    Score {
        /// The answer key `offline --labels` wrote.
        #[arg(long, value_name = "FILE")]
        labels: PathBuf,
        /// The alerts: one eventID per line, a JSON array of IDs or objects, or JSON Lines of
        /// objects with `eventID` and optionally `technique` and `rule`.
        #[arg(long, value_name = "FILE")]
        alerts: PathBuf,
    },
}

/// Writes to stdout; a reader that went away (`| head`) ends the output, not the program.
fn out(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// `K/N` with K < N.
fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let (k, n) = s.split_once('/').ok_or("expected K/N, e.g. 0/4")?;
    let k: u32 = k
        .trim()
        .parse()
        .map_err(|_| format!("{k:?} is not a shard index"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("{n:?} is not a shard count"))?;
    if n == 0 || k >= n {
        return Err(format!("shard {k}/{n}: K must be 0..N-1"));
    }
    Ok((k, n))
}

/// Upload to an S3-compatible store: same keys, bodies, content type and metadata as --out.
#[derive(Args, Debug)]
#[command(next_help_heading = "Upload to an S3-compatible store")]
struct S3Args {
    /// Upload every object to S3 (AWS S3 itself unless --s3-endpoint says otherwise).
    #[arg(long, env = "GENERATOR_S3", value_parser = clap::builder::BoolishValueParser::new())]
    s3: bool,
    /// Endpoint of an S3-compatible store (MinIO, moto, ...), e.g. http://127.0.0.1:9000; implies --s3.
    #[arg(long, env = "GENERATOR_S3_ENDPOINT", value_name = "URL")]
    s3_endpoint: Option<String>,
    /// Region the requests are signed for (the bucket's Region on AWS S3).
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    s3_region: String,
    /// Access key id.
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    s3_access_key_id: Option<String>,
    /// Secret access key.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    s3_secret_access_key: Option<String>,
    /// Session token, for temporary credentials.
    #[arg(long, env = "AWS_SESSION_TOKEN", hide_env_values = true)]
    s3_session_token: Option<String>,
    /// Path-style addressing (URL/bucket/key), which most S3-compatible stores need; false for
    /// virtual-hosted addressing (bucket.host/key).
    #[arg(long, env = "GENERATOR_S3_PATH_STYLE", default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    s3_path_style: bool,
    /// Uploads in flight at most (also the number of objects queued behind them).
    #[arg(long, env = "GENERATOR_S3_IN_FLIGHT", default_value_t = 16)]
    s3_in_flight: usize,
    /// Attempts per upload for transient errors (throttling, 5xx, connection errors, timeouts).
    #[arg(long, env = "GENERATOR_S3_MAX_ATTEMPTS", default_value_t = 5)]
    s3_max_attempts: u32,
    /// Seconds one attempt may take.
    #[arg(long, env = "GENERATOR_S3_TIMEOUT", default_value_t = 60, value_name = "SECS")]
    s3_timeout: u64,
}

impl S3Args {
    /// The upload, when one was asked for.
    fn delivery(self) -> anyhow::Result<Option<S3Delivery>> {
        if !self.s3 && self.s3_endpoint.is_none() {
            return Ok(None);
        }
        let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
        let (Some(access_key_id), Some(secret_access_key)) = (
            nonempty(self.s3_access_key_id),
            nonempty(self.s3_secret_access_key),
        ) else {
            bail!(
                "uploading needs credentials: --s3-access-key-id and --s3-secret-access-key, or \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"
            );
        };
        if let Some(ep) = &self.s3_endpoint
            && !(ep.starts_with("http://") || ep.starts_with("https://"))
        {
            bail!("--s3-endpoint {ep:?} must be an http:// or https:// URL");
        }
        if self.s3_max_attempts == 0 || self.s3_in_flight == 0 || self.s3_timeout == 0 {
            bail!("--s3-in-flight, --s3-max-attempts and --s3-timeout must be at least 1");
        }
        Ok(Some(S3Delivery {
            store: s3_store::S3StoreConfig {
                endpoint_url: self.s3_endpoint,
                region: self.s3_region,
                access_key_id,
                secret_access_key,
                session_token: nonempty(self.s3_session_token),
                path_style: self.s3_path_style,
                timeout_secs: self.s3_timeout,
            },
            upload: s3_store::UploadOptions {
                in_flight: self.s3_in_flight,
                max_attempts: self.s3_max_attempts,
            },
        }))
    }
}

fn parse_time(s: &str) -> anyhow::Result<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let d = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).with_context(
        || format!("{s:?} is neither RFC 3339 (2026-01-05T00:00:00Z) nor a date (2026-01-05)"),
    )?;
    Ok(d.midnight().assume_utc())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GENERATOR_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("generator: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Score { labels, alerts } => {
            let read =
                |p: &PathBuf| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
            let labels = generator::labels::parse_labels(&read(&labels)?).map_err(anyhow::Error::msg)?;
            let alerts = generator::labels::parse_alerts(&read(&alerts)?).map_err(anyhow::Error::msg)?;
            out(&format!("{}\n", generator::labels::Score::new(&labels, &alerts)));
            Ok(ExitCode::SUCCESS)
        }
        Command::Scenarios { name } => {
            match name {
                None => {
                    for (n, text) in PRESETS {
                        let s = Scenario::parse(n, text)?;
                        out(&format!("{n:<12} {}\n", s.description));
                    }
                }
                Some(n) => match PRESETS.iter().find(|(p, _)| *p == n) {
                    Some((_, text)) => out(text),
                    None => bail!("no preset named {n:?}"),
                },
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Offline(args) => {
            // What the checks and the delivery below use is taken out; the rest goes to
            // `OfflineOptions` as it is.
            let OfflineArgs {
                out,
                scenario,
                start,
                end,
                digests,
                digest_key,
                trail,
                quiet,
                s3,
                labels,
                shard,
                ..
            } = *args;
            let upload = s3.delivery()?;
            if out.is_none() && upload.is_none() {
                bail!("give --out DIR, or --s3 / --s3-endpoint URL to upload (or both)");
            }
            if out.is_none() && (digests || digest_key.is_some()) && digest_key.is_none() {
                bail!(
                    "--digests without --out needs --digest-key: the public half of a generated key \
                     would have nowhere to go, and validate-logs needs it"
                );
            }
            let scenario = Scenario::load(&scenario)?;
            let (start, end) = (parse_time(&start)?, parse_time(&end)?);
            let digests = if digests || digest_key.is_some() {
                let key_dir = out.clone().unwrap_or_default();
                let key = offline::digest_key(digest_key.as_deref(), &key_dir, start, end)
                    .map_err(anyhow::Error::msg)?;
                Some(DigestOptions {
                    key: Arc::new(key),
                    trail_name: trail,
                })
            } else {
                None
            };
            let delivery = Delivery {
                local: out.is_some(),
                s3: upload,
            };
            let target = delivery.s3.as_ref().map(|s| {
                format!(
                    "s3://{}/ at {}",
                    args.bucket,
                    s.store
                        .endpoint_url
                        .clone()
                        .unwrap_or_else(|| "AWS S3".to_owned())
                )
            });
            let opts = OfflineOptions {
                out: out.unwrap_or_default(),
                scenario,
                start,
                end,
                accounts: args.accounts,
                regions: args.regions,
                events_per_day: args.events_per_day,
                seed: args.seed,
                bucket: args.bucket,
                prefix: args.prefix,
                threads: args.threads,
                level: args.level,
                digests,
                progress: !quiet,
                labels,
                shard,
            };
            let stop = Arc::new(AtomicBool::new(false));
            spawn_ctrl_c(stop.clone());
            let t0 = Instant::now();
            let (s, uploaded) = offline::run_delivering(&opts, &delivery, &stop)?;
            let secs = t0.elapsed().as_secs_f64();
            if let (Some(u), Some(target)) = (uploaded, target) {
                eprintln!(
                    "uploaded {} objects ({:.1} MB) to {target}",
                    u.objects,
                    u.bytes as f64 / 1e6
                );
            }
            eprintln!(
                "{} events in {} log files ({} digests), {:.1} MB JSON -> {:.1} MB gzip, {:.1} s, {:.0} events/s{}",
                s.events,
                s.files,
                s.digests,
                s.raw_bytes as f64 / 1e6,
                s.gz_bytes as f64 / 1e6,
                secs,
                s.events as f64 / secs.max(1e-9),
                if s.interrupted {
                    " (interrupted: only complete files were written)"
                } else {
                    ""
                }
            );
            Ok(if s.interrupted {
                ExitCode::from(130)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Live {
            endpoint,
            scenario,
            rate,
            duration,
            concurrency,
            seed,
            arrival,
            json,
            identities,
            regions,
            quiet,
            no_setup,
            labels,
            shard,
        } => {
            let scenario = Scenario::load(&scenario)?;
            let duration = live::parse_duration(&duration).map_err(anyhow::Error::msg)?;
            let ids = match identities {
                Some(p) => {
                    let text =
                        std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
                    live::parse_identities(&text)?
                }
                None => live::parse_identities(live::EMULATOR_DEFAULT_CONFIG)?,
            };
            let opts = LiveOptions {
                concurrency,
                seed,
                arrival,
                regions,
                progress: !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
                setup: !no_setup,
                labels,
                shard,
                ..LiveOptions::new(endpoint, scenario, (rate, duration), ids)
            };
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            let report = rt.block_on(live::run(opts, async {
                let _ = tokio::signal::ctrl_c().await;
            }))?;
            if json {
                out(&format!("{}\n", serde_json::to_string_pretty(&report)?));
            } else {
                out(&report.text());
            }
            Ok(if report.interrupted {
                ExitCode::from(130)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// Sets `stop` on Ctrl-C; offline workers finish the file they are writing and stop.
fn spawn_ctrl_c(stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: finishing the files being written (and uploading the ones already written)");
                stop.store(true, Ordering::Relaxed);
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3_args(cli: &[&str]) -> S3Args {
        let mut argv = vec![
            "generator",
            "offline",
            "--start",
            "2026-01-05",
            "--end",
            "2026-01-06",
        ];
        argv.extend_from_slice(cli);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Offline(args) => *args.s3,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn s3_flags_make_the_store_config() {
        let d = s3_args(&[
            "--s3-endpoint",
            "http://127.0.0.1:9000",
            "--s3-access-key-id",
            "minioadmin",
            "--s3-secret-access-key",
            "minio-secret",
            "--s3-region",
            "eu-west-1",
            "--s3-in-flight",
            "3",
        ])
        .delivery()
        .unwrap()
        .unwrap();
        assert_eq!(d.store.endpoint_url.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(d.store.region, "eu-west-1");
        assert_eq!(
            (d.store.access_key_id.as_str(), d.store.secret_access_key.as_str()),
            ("minioadmin", "minio-secret")
        );
        assert!(d.store.path_style);
        assert_eq!(
            (d.upload.in_flight, d.upload.max_attempts, d.store.timeout_secs),
            (3, 5, 60)
        );
        let virt = s3_args(&[
            "--s3",
            "--s3-path-style",
            "false",
            "--s3-access-key-id",
            "a",
            "--s3-secret-access-key",
            "b",
        ])
        .delivery()
        .unwrap()
        .unwrap();
        assert!(!virt.store.path_style);
        assert_eq!(virt.store.endpoint_url, None);
    }

    #[test]
    fn s3_flag_problems_are_explained() {
        let base = || S3Args {
            s3: true,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: Some("a".into()),
            s3_secret_access_key: Some("b".into()),
            s3_session_token: Some(String::new()),
            s3_path_style: true,
            s3_in_flight: 16,
            s3_max_attempts: 5,
            s3_timeout: 60,
        };
        // An empty session token (an exported but empty variable) is no token.
        assert_eq!(base().delivery().unwrap().unwrap().store.session_token, None);
        let no_upload = S3Args { s3: false, ..base() };
        assert!(no_upload.delivery().unwrap().is_none());
        let no_secret = S3Args {
            s3_secret_access_key: None,
            ..base()
        };
        let e = no_secret.delivery().unwrap_err().to_string();
        assert!(e.contains("AWS_SECRET_ACCESS_KEY"), "{e}");
        let bad_url = S3Args {
            s3_endpoint: Some("127.0.0.1:9000".into()),
            ..base()
        };
        let e = bad_url.delivery().unwrap_err().to_string();
        assert!(e.contains("http://"), "{e}");
        let zero = S3Args {
            s3_max_attempts: 0,
            ..base()
        };
        assert!(zero.delivery().is_err());
    }
}
