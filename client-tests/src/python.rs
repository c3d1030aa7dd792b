//! The pinned AWS CLI and boto3 from the project's virtualenv (`scripts/setup-python.sh`), run
//! against an emulator with an isolated environment.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use crate::{Creds, REGION};

/// The virtualenv holding `aws`, `python` (boto3, botocore) and `moto_server`.
#[derive(Debug, Clone)]
pub struct Venv {
    root: PathBuf,
}

/// What a CLI or script run produced.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Standard output as JSON; panics with both streams when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "output is not JSON ({e}); exit {}\nstdout:\n{}\nstderr:\n{}",
                self.code, self.stdout, self.stderr
            )
        })
    }

    /// Panics unless the process exited with 0.
    pub fn success(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

impl Venv {
    /// Finds the virtualenv through `EMULATOR_TEST_VENV`, else `<workspace>/.venv`, and panics
    /// with the fix when it is missing: these tests never skip silently, in CI or out of it.
    pub fn locate() -> Venv {
        let root = std::env::var_os("EMULATOR_TEST_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate::workspace_root().join(".venv"));
        let venv = Venv { root };
        if !venv.aws_bin().is_file() || !venv.python_bin().is_file() {
            let ci = if std::env::var_os("CI").is_some() {
                " (CI is set: the test setup must create it)"
            } else {
                ""
            };
            panic!(
                "the Python clients are missing: no aws or python in {}{ci}. Run scripts/setup-python.sh \
                 from the workspace root (it installs the pinned awscli, boto3 and moto from \
                 client-tests/requirements.txt into .venv), or set EMULATOR_TEST_VENV to such a virtualenv.",
                venv.root.display()
            );
        }
        venv
    }

    /// The virtualenv's root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `.venv/bin/aws`.
    pub fn aws_bin(&self) -> PathBuf {
        self.root.join("bin").join("aws")
    }

    /// `.venv/bin/python`.
    pub fn python_bin(&self) -> PathBuf {
        self.root.join("bin").join("python")
    }

    /// `site-packages/botocore/data` inside the virtualenv.
    pub fn botocore_data(&self) -> PathBuf {
        let lib = self.root.join("lib");
        let found = std::fs::read_dir(&lib).ok().and_then(|rd| {
            rd.flatten()
                .map(|e| e.path().join("site-packages").join("botocore").join("data"))
                .find(|p| p.is_dir())
        });
        found.unwrap_or_else(|| panic!("no site-packages/botocore/data under {}", lib.display()))
    }

    /// Reads a botocore model (`service-2`, `paginators-1`) of the newest API version of
    /// `service`, gzipped or not.
    pub fn botocore_model(&self, service: &str, kind: &str) -> Value {
        let dir = self.botocore_data().join(service);
        let mut versions: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("no botocore model folder {}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        versions.sort();
        let latest = versions
            .pop()
            .unwrap_or_else(|| panic!("no API version under {}", dir.display()));
        let plain = latest.join(format!("{kind}.json"));
        let gz = latest.join(format!("{kind}.json.gz"));
        let bytes = if plain.is_file() {
            std::fs::read(&plain).unwrap_or_else(|e| panic!("{}: {e}", plain.display()))
        } else {
            let raw = std::fs::read(&gz).unwrap_or_else(|e| panic!("{}: {e}", gz.display()));
            cloudtrail::logfile::gunzip(&raw).unwrap_or_else(|e| panic!("{}: {e}", gz.display()))
        };
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{service} {kind}: {e}"))
    }

    fn command(&self, program: PathBuf, endpoint: &str, creds: Creds) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(program);
        // Nothing from the developer's own AWS setup may leak in.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("AWS_") {
                c.env_remove(k);
            }
        }
        let nowhere = self.root.join("client-tests-no-such-file");
        c.env("AWS_ACCESS_KEY_ID", creds.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_CONFIG_FILE", &nowhere)
            .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_PAGER", "")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(token) = creds.session_token {
            c.env("AWS_SESSION_TOKEN", token);
        }
        c
    }

    /// Runs `aws <args>` against `endpoint` as `creds`.
    pub async fn aws(&self, endpoint: &str, creds: Creds, args: &[&str]) -> Output {
        let mut c = self.command(self.aws_bin(), endpoint, creds);
        c.args(args).arg("--output").arg("json");
        run(c, &format!("aws {}", args.join(" "))).await
    }

    /// Runs a Python script (given as source) with `args` against `endpoint` as `creds`.
    pub async fn python(&self, endpoint: &str, creds: Creds, script: &str, args: &[&str]) -> Output {
        let mut c = self.command(self.python_bin(), endpoint, creds);
        c.arg("-c").arg(script).args(args);
        run(c, "python script").await
    }
}

async fn run(mut c: tokio::process::Command, what: &str) -> Output {
    let out = c
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A moto server (an S3-compatible store) from the virtualenv on a local port, killed on drop.
#[derive(Debug)]
pub struct Moto {
    child: tokio::process::Child,
    endpoint: String,
    port: u16,
}

impl Moto {
    /// Starts moto on a free port.
    pub async fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port for moto: {e}"));
        Self::start_on(port).await
    }

    /// Starts moto on `port` (again after [`Moto::kill`], to bring a store back) and waits
    /// until it listens.
    pub async fn start_on(port: u16) -> Moto {
        let bin = Venv::locate().root().join("bin").join("moto_server");
        assert!(
            bin.is_file(),
            "{} is missing: run scripts/setup-python.sh to install moto",
            bin.display()
        );
        let child = tokio::process::Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
        };
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return moto;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("moto_server did not listen on port {port}");
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (a store going down).
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}
