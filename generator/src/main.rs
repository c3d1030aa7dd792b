//! The `generator` binary: `generator offline …` writes CloudTrail logs, `generator live …` sends
//! signed calls, `generator scenarios` lists the presets.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use generator::live::{self, Arrival, LiveOptions};
use generator::offline::{self, DigestOptions, OfflineOptions};
use generator::scenario::{PRESETS, Scenario};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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

#[derive(Subcommand, Debug)]
enum Command {
    /// Write CloudTrail log files (and digests) for a time span into a bucket directory.
    Offline {
        /// Data directory: files land in DIR/<bucket>/[prefix/]AWSLogs/...
        #[arg(long)]
        out: PathBuf,
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
        /// Bucket name.
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
        /// half is written to DIR/.generator/digest-public-key.der).
        #[arg(long)]
        digest_key: Option<PathBuf>,
        /// Trail name in digest file names.
        #[arg(long, default_value = "generator")]
        trail: String,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
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
    },
    /// List the built-in scenarios, or print one as TOML.
    Scenarios {
        /// Print this preset's TOML.
        name: Option<String>,
    },
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
        Command::Scenarios { name } => {
            match name {
                None => {
                    for (n, text) in PRESETS {
                        let s = Scenario::parse(n, text)?;
                        println!("{n:<12} {}", s.description);
                    }
                }
                Some(n) => match PRESETS.iter().find(|(p, _)| *p == n) {
                    Some((_, text)) => print!("{text}"),
                    None => bail!("no preset named {n:?}"),
                },
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Offline {
            out,
            scenario,
            start,
            end,
            accounts,
            regions,
            events_per_day,
            seed,
            bucket,
            prefix,
            threads,
            level,
            digests,
            digest_key,
            trail,
            quiet,
        } => {
            let scenario = Scenario::load(&scenario)?;
            let (start, end) = (parse_time(&start)?, parse_time(&end)?);
            let digests = if digests || digest_key.is_some() {
                let key = offline::digest_key(digest_key.as_deref(), &out, start, end)
                    .map_err(anyhow::Error::msg)?;
                Some(DigestOptions {
                    key: Arc::new(key),
                    trail_name: trail,
                })
            } else {
                None
            };
            let opts = OfflineOptions {
                out: out.clone(),
                scenario,
                start,
                end,
                accounts,
                regions,
                events_per_day,
                seed,
                bucket,
                prefix,
                threads,
                level,
                digests,
                progress: !quiet,
            };
            let stop = Arc::new(AtomicBool::new(false));
            spawn_ctrl_c(stop.clone());
            let t0 = Instant::now();
            let s = offline::run(&opts, &stop)?;
            let secs = t0.elapsed().as_secs_f64();
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
                endpoint,
                scenario,
                rate,
                duration,
                concurrency,
                seed,
                arrival,
                identities: ids,
                regions,
                progress: !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
                setup: !no_setup,
            };
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            let report = rt.block_on(live::run(opts, async {
                let _ = tokio::signal::ctrl_c().await;
            }))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.text());
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
                eprintln!("\ninterrupted: finishing the files being written");
                stop.store(true, Ordering::Relaxed);
            }
        });
    });
}
