//! Runs every fuzz target over its committed corpus (`fuzz/corpus/<target>/`), as CI does: an
//! input that once made a target panic stays fixed. `seeds` wrote the signed seed requests.

mod seeds;

use std::path::PathBuf;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

#[test]
fn every_target_runs_over_its_corpus() {
    for (name, target) in fuzzing::TARGETS {
        let dir = corpus(name);
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        inputs.sort();
        assert!(inputs.len() >= 3, "{name}: a corpus of {} inputs", inputs.len());
        for input in inputs {
            let data = std::fs::read(&input).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name} panicked on {}", input.display());
        }
    }
}

#[test]
fn the_request_form_parses_and_feeds_the_verifier() {
    let seed = std::fs::read(corpus("sigv4").join("signed-list-dataset-groups")).unwrap();
    let req = fuzzing::Request::parse(&seed).unwrap();
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(req.headers["x-amz-target"], "AmazonPersonalize.ListDatasetGroups");
    assert_eq!(req.body, b"{}");
}
