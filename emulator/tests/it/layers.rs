//! The emulator's layering, where the compiler cannot check it: only the protocol layer names
//! headers and wire error shapes, and the router, the request path and the recorder name no
//! service.

use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The files of `src/` whose path (relative, with `/`) passes `keep`, with their text.
fn sources(keep: impl Fn(&str) -> bool) -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let files: Vec<(String, String)> = files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(src())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .filter(|(rel, _)| keep(rel))
        .collect();
    assert!(!files.is_empty());
    files
}

fn offenders(files: &[(String, String)], tells: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (rel, text) in files {
        // Unit tests at the end of a file may name whatever they test with.
        for (n, line) in text
            .lines()
            .enumerate()
            .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for tell in tells {
                if line.contains(tell) {
                    found.push(format!("src/{rel}:{}: {tell}", n + 1));
                }
            }
        }
    }
    found
}

/// The protocol layer: the AWS JSON and REST-JSON protocols, S3's REST-XML, SigV4, and the
/// emulator's own admin, console and webhook protocols, and the connection's first bytes.
fn is_protocol(rel: &str) -> bool {
    rel.starts_with("protocol/")
        || rel.starts_with("s3/")
        || rel.starts_with("console/")
        || ["sigv4.rs", "admin.rs", "webhook.rs", "conn.rs"].contains(&rel)
}

#[test]
fn only_the_protocol_layer_names_headers_and_wire_errors() {
    let files = sources(|rel| !is_protocol(rel));
    // Services name their own modeled errors; the request path and the router name none.
    let not_services = |rel: &str| {
        !rel.starts_with("cloudtrail_api/")
            && !rel.starts_with("sts/")
            && !["personalize_api.rs", "ec2.rs", "testing.rs"].contains(&rel)
    };
    let mut found = offenders(
        &files,
        &[
            "header::",
            "HeaderValue",
            "HeaderName",
            "\"x-amz",
            "\"x-forwarded",
            "\"content-",
        ],
    );
    let plumbing: Vec<_> = files
        .iter()
        .filter(|(rel, _)| not_services(rel))
        .cloned()
        .collect();
    found.extend(offenders(
        &plumbing,
        &["Exception\"", "\"__type\"", "StatusCode::"],
    ));
    assert!(
        found.is_empty(),
        "wire names outside the protocol layer:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_request_path_names_no_service() {
    let files = sources(|rel| {
        [
            "app.rs",
            "router.rs",
            "recorder.rs",
            "protocol/mod.rs",
            "protocol/error.rs",
            "protocol/query.rs",
        ]
        .contains(&rel)
    });
    assert_eq!(files.len(), 6);
    let found = offenders(
        &files,
        &[
            "personalize::",
            "Personalize",
            "cloudtrail_api",
            "CloudTrailApi",
            "sts::",
            "StsApi",
            "\"sts\"",
            "S3Api",
            "s3::S3",
            "== \"s3\"",
        ],
    );
    // The one exception: the app holds Personalize's journal for compaction at shutdown.
    let found: Vec<_> = found
        .into_iter()
        .filter(|f| {
            !(f.starts_with("src/app.rs") && (f.contains("PersonalizeApi") || f.ends_with("Personalize")))
        })
        .collect();
    assert!(
        found.is_empty(),
        "service names on the request path:\n{}",
        found.join("\n")
    );
}
