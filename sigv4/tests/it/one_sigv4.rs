//! The architecture's SigV4 invariant: this crate is the only SigV4 in the workspace, and it
//! stays free of I/O.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The workspace members, read from the root manifest.
fn members() -> Vec<String> {
    let manifest = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .unwrap();
    line.split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

#[test]
fn no_other_crate_signs_or_verifies() {
    // What a second implementation cannot do without: the HMAC chain, the key prefix, the
    // canonical request.
    let tells = [
        "hmac::",
        "Hmac<",
        "\"AWS4\"",
        "AWS4{",
        "fn signing_key(",
        "fn canonical_request(",
    ];
    let members = members();
    assert!(members.iter().any(|m| m == "emulator") && members.iter().any(|m| m == "sigv4"));
    let mut offenders = Vec::new();
    for member in members.iter().filter(|m| *m != "sigv4") {
        let dir = workspace().join(member);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        if manifest.lines().any(|l| l.trim_start().starts_with("hmac")) {
            offenders.push(format!("{member}/Cargo.toml depends on hmac"));
        }
        let mut files = Vec::new();
        for sub in ["src", "tests", "benches"] {
            rust_files(&dir.join(sub), &mut files);
        }
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for tell in tells.iter().filter(|t| text.contains(*t)) {
                offenders.push(format!("{} contains {tell:?}", file.display()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "SigV4 outside the sigv4 crate:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_crate_depends_on_no_async_server_or_service_crate() {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let deps: Vec<&str> = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split(['.', ' ', '=']).next())
        .filter(|name| !name.is_empty() && !name.starts_with('#'))
        .collect();
    assert_eq!(
        deps,
        [
            "http",
            "sha2",
            "hmac",
            "hex",
            "percent-encoding",
            "thiserror",
            "time"
        ]
    );
}
