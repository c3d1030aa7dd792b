//! The crate knows no service: the services' knowledge (which data-event resource types exist,
//! which request members are sensitive) comes from its callers. A test, since the compiler
//! cannot see a service's name in a string or a comment.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_sources_name_no_service_the_emulator_serves() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 20, "found only {files:?}");
    let mut hits = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.to_ascii_lowercase().contains("personalize") {
                hits.push(format!("{}:{}: {line}", f.display(), i + 1));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "cloudtrail/src names a service; take it from the caller instead:\n{}",
        hits.join("\n")
    );
}

/// Nothing reads the wall clock but `SystemClock`: every library and binary of the workspace
/// takes a `SharedClock`, so tests drive them all with one `ManualClock`. Test harnesses and
/// benches (outside `src/`, and the client-tests crate) may read it.
#[test]
fn only_the_system_clock_reads_the_wall_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for member in [
        "cloudtrail",
        "personalize",
        "emulator",
        "generator",
        "s3-store",
        "sigv4",
        "shared-config",
    ] {
        sources(&root.join(member).join("src"), &mut files);
    }
    assert!(files.len() > 60, "found only {}", files.len());
    let mut hits = Vec::new();
    for f in &files {
        if f.ends_with("cloudtrail/src/clock.rs") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for (i, line) in text.lines().enumerate() {
            if ["now_utc()", "SystemTime::now()", "Utc::now()"]
                .iter()
                .any(|t| line.contains(t))
            {
                hits.push(format!("{}:{}: {line}", f.display(), i + 1));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "the wall clock read outside SystemClock:\n{}",
        hits.join("\n")
    );
}
