//! The real AWS CLI's `aws cloudtrail validate-logs` against the emulator: every digest and
//! log file valid over several digest periods (including an empty one), a StopLogging/StartLogging
//! gap reported without failing (final digest, new starting digest), then exit code 1 after
//! one byte of one delivered log file is flipped, after a log file's content is changed and
//! re-compressed, and after a log file is deleted.
//!
//! The emulator runs in this process on a `ManualClock` with a 30-second digest period, so the
//! periods pass by advancing the clock, not by sleeping; the CLI is a child process talking to
//! it over HTTP (CloudTrail for `DescribeTrails`/`ListPublicKeys`, S3 for
//! `GetBucketLocation`/`ListObjects`/`GetObject`). The CLI is found through `AWS_CLI` or
//! `<workspace>/.venv/bin/aws`; without it the test says so loudly and passes vacuously.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use cloudtrail::{Clock as _, ManualClock};
use emulator::config::{Config, DEFAULT_CONFIG_TOML, FileConfig};

/// Digest period used by the test (the emulator accepts down to 1 s).
const PERIOD_SECS: u64 = 30;
/// alice's key from the embedded demo configuration.
const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn find_cli() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("AWS_CLI").map(PathBuf::from)
        && p.is_file()
    {
        return Some(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let p = root.join(".venv/bin/aws");
    p.is_file().then_some(p)
}

/// The embedded configuration with a short digest period and a long flush interval (the test
/// flushes explicitly).
fn config(data_dir: &Path) -> FileConfig {
    let period_line = format!("digest_period = \"{PERIOD_SECS}s\"");
    let mut text = String::new();
    let mut has_section = false;
    for line in DEFAULT_CONFIG_TOML.lines() {
        if line.trim_start().starts_with("digest_period") {
            continue;
        }
        text.push_str(line);
        text.push('\n');
        if line.trim() == "[cloudtrail]" {
            has_section = true;
            text.push_str(&period_line);
            text.push('\n');
        }
    }
    if !has_section {
        text.push_str(&format!("\n[cloudtrail]\n{period_line}\n"));
    }
    let mut file = FileConfig::parse(&text).expect("embedded config with a digest period parses");
    file.server.data_dir = data_dir.to_path_buf();
    file.server.flush_interval = Duration::from_secs(3600);
    file
}

struct Cli {
    exe: PathBuf,
    home: PathBuf,
    endpoint: String,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(&self.exe)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("AWS_CONFIG_FILE", self.home.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.home.join("credentials"))
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_PAGER", "")
            .output()
            .expect("the AWS CLI starts");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// POST /_emulator/flush: every pending record becomes a log file now.
fn flush(port: u16) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the emulator");
    s.write_all(
        b"POST /_emulator/flush HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .expect("send the flush request");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read the flush answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "flush failed: {answer}");
}

/// Every object of `kind` (`CloudTrail` or `CloudTrail-Digest`) for us-east-1 in the data dir.
fn objects(data: &Path, kind: &str) -> Vec<PathBuf> {
    let all = cloudtrail::store::files_under(data);
    let needle = format!("/{kind}/us-east-1/");
    let mut found: Vec<PathBuf> = all
        .into_iter()
        .filter(|p| {
            // Relative to the data dir: the spool and metadata live in dot-folders.
            let s = p.strip_prefix(data).unwrap_or(p).to_string_lossy().into_owned();
            s.contains(&needle) && s.ends_with(".json.gz") && !s.starts_with('.')
        })
        .collect();
    found.sort();
    found
}

/// Waits (briefly, for the digest task) until at least `n` digests exist.
fn wait_for_digests(data: &Path, n: usize) {
    for _ in 0..400 {
        if objects(data, "CloudTrail-Digest").len() >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!(
        "expected {n} digests, found {:?}",
        objects(data, "CloudTrail-Digest")
    );
}

fn ratio(text: &str, what: &str) -> Option<(usize, usize)> {
    let re = regex::Regex::new(&format!(r"(\d+)/(\d+) {what} files valid")).ok()?;
    let c = re.captures(text)?;
    Some((c[1].parse().ok()?, c[2].parse().ok()?))
}

/// An emulator on a manual clock serving `data/` under a new folder (with its S3 API), and an
/// AWS CLI whose home points it there: path-style S3 even if a host name is used, and the
/// credentials from the environment.
struct Served {
    /// Holds `data` and the CLI's home for as long as the test runs.
    _dir: tempfile::TempDir,
    data: PathBuf,
    clock: Arc<ManualClock>,
    cli: Cli,
    /// The port it listens on.
    port: u16,
    /// The clock's time at the start.
    start: time::OffsetDateTime,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), emulator::ServerError>>,
}

async fn serve(exe: PathBuf) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config"),
        "[default]\nregion = us-east-1\noutput = json\ns3 =\n  addressing_style = path\n",
    )
    .unwrap();
    std::fs::write(home.join("credentials"), "").unwrap();
    let start = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let clock = ManualClock::new(start);
    let mut config = Config::new(config(&data)).with_clock(clock.clone());
    if config.extensions.raw.is_empty() {
        let s3 = Arc::new(emulator::s3::S3Api::from_config(&config));
        config.extensions.raw.push(s3);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(emulator::run(listener, config, async move {
        let _ = stopped.await;
    }));
    let endpoint = format!("http://127.0.0.1:{port}");
    Served {
        _dir: dir,
        data,
        clock,
        cli: Cli { exe, home, endpoint },
        port,
        start,
        stop,
        server,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_logs_accepts_the_chain_and_catches_tampering() {
    let Some(exe) = find_cli() else {
        eprintln!(
            "\n\n!!!!! SKIPPED validate_logs: no AWS CLI (set AWS_CLI or create <workspace>/.venv with awscli) !!!!!\n"
        );
        return;
    };
    let served = serve(exe).await;
    let (data, clock, port, start) = (
        served.data.clone(),
        served.clock.clone(),
        served.port,
        served.start,
    );
    let cli = Arc::new(served.cli);

    let data2 = data.clone();
    let clock2 = clock.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let cli = cli.as_ref();
        let data = data2.as_path();
        let advance = || clock2.advance(Duration::from_secs(PERIOD_SECS));

        // The validating trail the emulator starts with.
        let trails = cli.run(&["cloudtrail", "describe-trails"]);
        assert_eq!(trails.code, 0, "describe-trails: {}", trails.stderr);
        let v: serde_json::Value = serde_json::from_str(&trails.stdout).unwrap();
        let trail_arn = v["trailList"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["LogFileValidationEnabled"] == true)
            .and_then(|t| t["TrailARN"].as_str())
            .expect("a trail with log file validation")
            .to_owned();

        // Four periods: calls, nothing (an empty digest), calls, calls.
        let mut digests = 0;
        for round in 0..4 {
            if round != 1 {
                let r = cli.run(&["personalize", "list-dataset-groups"]);
                assert_eq!(r.code, 0, "list-dataset-groups: {}", r.stderr);
                let name = format!("validate-logs-{round}");
                let r = cli.run(&["personalize", "create-dataset-group", "--name", &name]);
                assert_eq!(r.code, 0, "create-dataset-group: {}", r.stderr);
                flush(port);
            }
            advance();
            digests += 1;
            wait_for_digests(data, digests);
        }
        let logs = objects(data, "CloudTrail");
        assert!(logs.len() >= 3, "log files: {logs:?}");

        let since = cloudtrail::timefmt::iso_seconds(start - time::Duration::minutes(1));
        // Up to the emulator's clock, which runs ahead of the wall clock by the periods it was advanced.
        let validate = || {
            let until = cloudtrail::timefmt::iso_seconds(clock2.now());
            cli.run(&[
                "cloudtrail",
                "validate-logs",
                "--trail-arn",
                &trail_arn,
                "--start-time",
                &since,
                "--end-time",
                &until,
                "--verbose",
            ])
        };
        let clean = validate();
        println!(
            "---- validate-logs (clean) exit {} ----\n{}{}",
            clean.code, clean.stdout, clean.stderr
        );
        assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
        let (ok_digests, all_digests) = ratio(&clean.stdout, "digest").expect("digest summary");
        assert_eq!(ok_digests, all_digests);
        assert!(all_digests >= 4, "{}", clean.stdout);
        let (ok_logs, all_logs) = ratio(&clean.stdout, "log").expect("log summary");
        assert_eq!((ok_logs, all_logs), (logs.len(), logs.len()), "{}", clean.stdout);
        assert!(!clean.stdout.contains("INVALID") && clean.stderr.trim().is_empty());

        // StopLogging writes a final digest; StartLogging begins a new chain with a starting digest.
        // validate-logs walks both chains and reports the gap between them, without failing.
        let r = cli.run(&["cloudtrail", "stop-logging", "--name", &trail_arn]);
        assert_eq!(r.code, 0, "stop-logging: {}", r.stderr);
        wait_for_digests(data, digests + 1);
        advance();
        let r = cli.run(&["cloudtrail", "start-logging", "--name", &trail_arn]);
        assert_eq!(r.code, 0, "start-logging: {}", r.stderr);
        let r = cli.run(&["personalize", "list-dataset-groups"]);
        assert_eq!(r.code, 0, "list-dataset-groups: {}", r.stderr);
        flush(port);
        advance();
        wait_for_digests(data, digests + 2);
        let logs = objects(data, "CloudTrail");
        let restarted = validate();
        println!(
            "---- validate-logs (after StopLogging and StartLogging) exit {} ----\n{}{}",
            restarted.code, restarted.stdout, restarted.stderr
        );
        assert_eq!(restarted.code, 0, "{}\n{}", restarted.stdout, restarted.stderr);
        assert!(
            restarted
                .stderr
                .contains("No log files were delivered by CloudTrail between"),
            "{}",
            restarted.stderr
        );
        let (ok_digests, all_digests) = ratio(&restarted.stdout, "digest").expect("digest summary");
        assert_eq!(
            (ok_digests, all_digests),
            (digests + 2, digests + 2),
            "{}",
            restarted.stdout
        );
        let (ok_logs, all_logs) = ratio(&restarted.stdout, "log").expect("log summary");
        assert_eq!(
            (ok_logs, all_logs),
            (logs.len(), logs.len()),
            "{}",
            restarted.stdout
        );

        // One byte of one delivered log file flipped.
        let victim = &logs[0];
        let original = std::fs::read(victim).unwrap();
        let mut flipped = original.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x01;
        std::fs::write(victim, &flipped).unwrap();
        let tampered = validate();
        println!(
            "---- validate-logs (one byte flipped) exit {} ----\n{}{}",
            tampered.code, tampered.stdout, tampered.stderr
        );
        assert_eq!(tampered.code, 1);
        assert!(tampered.stderr.contains("INVALID"), "{}", tampered.stderr);

        // The same file with one byte of its JSON changed and re-compressed: the hash differs.
        let mut json = cloudtrail::logfile::gunzip(&original).unwrap();
        let at = json.len() / 2;
        json[at] = if json[at] == b'a' { b'b' } else { b'a' };
        std::fs::write(victim, cloudtrail::logfile::gzip(&json, 6)).unwrap();
        let rehashed = validate();
        println!(
            "---- validate-logs (content changed, re-gzipped) exit {} ----\n{}{}",
            rehashed.code, rehashed.stdout, rehashed.stderr
        );
        assert_eq!(rehashed.code, 1);
        assert!(
            rehashed.stderr.contains("hash value doesn't match"),
            "{}",
            rehashed.stderr
        );
        std::fs::write(victim, &original).unwrap();

        // A log file deleted.
        let gone = logs.last().unwrap();
        std::fs::remove_file(gone).unwrap();
        let missing = validate();
        println!(
            "---- validate-logs (log file deleted) exit {} ----\n{}{}",
            missing.code, missing.stdout, missing.stderr
        );
        assert_eq!(missing.code, 1);
        assert!(missing.stderr.contains("not found"), "{}", missing.stderr);
    })
    .await;

    let _ = served.stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(20), served.server).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

/// The offline generator's digests, signed with the emulator's own us-east-1 key, are accepted
/// by `aws cloudtrail validate-logs` when the emulator serves that key and the files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_generator_digests_validate_with_the_emulators_key() {
    let Some(exe) = find_cli() else {
        eprintln!(
            "\n\n!!!!! SKIPPED offline digests: no AWS CLI (set AWS_CLI or create <workspace>/.venv) !!!!!\n"
        );
        return;
    };
    let served = serve(exe).await;
    let (data, port, start) = (served.data.clone(), served.port, served.start);
    let cli = served.cli;

    let outcome = tokio::task::spawn_blocking(move || {
        // One delivery makes the emulator create its us-east-1 key.
        let r = cli.run(&["personalize", "list-dataset-groups"]);
        assert_eq!(r.code, 0, "list-dataset-groups: {}", r.stderr);
        flush(port);
        let key_dir = data.join(".cloudtrail/keys/us-east-1");
        let key_file = std::fs::read_dir(&key_dir)
            .expect("the emulator keeps its region keys")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "der"))
            .expect("a us-east-1 key");
        let key = cloudtrail::keys::KeyPair::from_pkcs1_der(
            &std::fs::read(&key_file).unwrap(),
            start,
            start + time::Duration::days(30),
        )
        .unwrap();

        // Three hours of audit noise inside the key's validity window, straight into the data dir.
        let from = start.replace_minute(0).unwrap().replace_second(0).unwrap() + time::Duration::hours(1);
        let to = from + time::Duration::hours(3);
        let opts = generator::offline::OfflineOptions {
            out: data.clone(),
            scenario: generator::scenario::Scenario::load("audit-noise").unwrap(),
            start: from,
            end: to,
            accounts: Some(1),
            regions: Some(vec!["us-east-1".to_owned()]),
            events_per_day: None,
            seed: 11,
            bucket: "offline-logs".to_owned(),
            prefix: None,
            threads: 2,
            level: 6,
            digests: Some(generator::offline::DigestOptions {
                key: Arc::new(key),
                trail_name: "offline".to_owned(),
            }),
            progress: false,
            labels: None,
            shard: None,
        };
        let summary = generator::offline::run(&opts, &std::sync::atomic::AtomicBool::new(false)).unwrap();
        assert!(summary.files > 0 && summary.digests >= 3, "{summary:?}");
        let account = std::fs::read_dir(data.join("offline-logs/AWSLogs"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .next()
            .expect("one account folder");

        let trail_arn = format!("arn:aws:cloudtrail:us-east-1:{account}:trail/offline");
        let run = cli.run(&[
            "cloudtrail",
            "validate-logs",
            "--trail-arn",
            &trail_arn,
            "--s3-bucket",
            "offline-logs",
            "--start-time",
            &cloudtrail::timefmt::iso_seconds(from),
            "--end-time",
            &cloudtrail::timefmt::iso_seconds(to + time::Duration::hours(1)),
        ]);
        println!(
            "---- validate-logs (offline generator) exit {} ----\n{}{}",
            run.code, run.stdout, run.stderr
        );
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        assert_eq!(
            ratio(&run.stdout, "digest"),
            Some((summary.digests as usize, summary.digests as usize)),
            "{}",
            run.stdout
        );
        assert_eq!(
            ratio(&run.stdout, "log"),
            Some((summary.files as usize, summary.files as usize)),
            "{}",
            run.stdout
        );
    })
    .await;

    let _ = served.stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(20), served.server).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}
