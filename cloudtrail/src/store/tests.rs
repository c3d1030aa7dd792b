//! Unit tests of the local store: put, get, head and list, keys that would escape, implicit
//! metadata and the ETag cache, folders deleted behind its back, and a one-off measure of puts.

use super::*;

#[test]
fn put_get_head_list() {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalDir::new(dir.path());
    let mut um = BTreeMap::new();
    um.insert("Signature".to_owned(), "abc".to_owned());
    let m = s
        .put(
            "my-bucket",
            "AWSLogs/1/a.json.gz",
            b"hello",
            "application/x-gzip",
            &um,
        )
        .unwrap();
    assert_eq!(m.etag, "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(m.user.get("signature").map(String::as_str), Some("abc"));
    s.put("my-bucket", "AWSLogs/1/b.json.gz", b"x", "t", &BTreeMap::new())
        .unwrap();
    s.put("my-bucket", "other", b"y", "t", &BTreeMap::new()).unwrap();
    let (body, meta) = s.get("my-bucket", "AWSLogs/1/a.json.gz").unwrap().unwrap();
    assert_eq!(body, b"hello");
    assert_eq!(meta, m);
    assert_eq!(s.head("my-bucket", "AWSLogs/1/a.json.gz").unwrap(), Some(m));
    assert!(s.get("my-bucket", "nope").unwrap().is_none());
    let keys: Vec<String> = s
        .list("my-bucket", "AWSLogs/", None, 100)
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["AWSLogs/1/a.json.gz", "AWSLogs/1/b.json.gz"]);
    let keys: Vec<String> = s
        .list("my-bucket", "", Some("AWSLogs/1/a.json.gz"), 1)
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["AWSLogs/1/b.json.gz"]);
    assert!(s.list("no-such-bucket", "", None, 10).unwrap().is_none());
    assert_eq!(
        s.buckets().unwrap().into_iter().map(|b| b.0).collect::<Vec<_>>(),
        ["my-bucket"]
    );
    // Nothing but objects under the bucket folder.
    assert!(!dir.path().join("my-bucket").join(META_DIR).exists());
}

#[test]
fn rejects_keys_that_escape() {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalDir::new(dir.path());
    for key in ["", "../x", "a/../../x", "a//b", "/abs", "a/./b"] {
        assert!(matches!(
            s.put("my-bucket", key, b"", "t", &BTreeMap::new()),
            Err(StoreError::InvalidKey(_))
        ));
    }
    assert!(matches!(
        s.put("..", "k", b"", "t", &BTreeMap::new()),
        Err(StoreError::InvalidBucket(_))
    ));
    assert!(matches!(
        s.put(".s3meta", "k", b"", "t", &BTreeMap::new()),
        Err(StoreError::InvalidBucket(_))
    ));
    s.put("my-bucket", "a/b", b"", "t", &BTreeMap::new()).unwrap();
    assert!(matches!(
        s.put("my-bucket", "a", b"", "t", &BTreeMap::new()),
        Err(StoreError::KeyConflict(_))
    ));
    assert!(matches!(
        s.put("my-bucket", "a/b/c", b"", "t", &BTreeMap::new()),
        Err(StoreError::KeyConflict(_))
    ));
    // The same with objects that have no metadata file.
    s.put("my-bucket", "p/q", b"", DEFAULT_CONTENT_TYPE, &BTreeMap::new())
        .unwrap();
    for key in ["p", "p/q/r"] {
        assert!(matches!(
            s.put("my-bucket", key, b"", DEFAULT_CONTENT_TYPE, &BTreeMap::new()),
            Err(StoreError::KeyConflict(_))
        ));
    }
    // Nothing half-written is left behind by the refusals.
    assert_eq!(fs::read_dir(dir.path().join(TMP_DIR)).unwrap().count(), 0);
    assert_eq!(s.head("my-bucket", "p").unwrap(), None);
}

fn clock_at(unix_nanos: i128) -> std::sync::Arc<crate::clock::ManualClock> {
    crate::clock::ManualClock::new(OffsetDateTime::from_unix_timestamp_nanos(unix_nanos).unwrap())
}

fn listed(s: &LocalDir, bucket: &str) -> Vec<(String, ObjectMeta)> {
    s.list(bucket, "", None, usize::MAX).unwrap().unwrap()
}

#[test]
fn default_content_type_follows_the_key() {
    assert_eq!(default_content_type("AWSLogs/1/x.json.gz"), "application/x-gzip");
    assert_eq!(default_content_type("x.json"), "binary/octet-stream");
    assert_eq!(default_content_type("x.gz"), "binary/octet-stream");
}

#[test]
fn plain_objects_have_no_metadata_file() {
    let dir = tempfile::tempdir().unwrap();
    // Sub-millisecond digits, which S3's precision drops.
    let clock = clock_at(1_763_700_000_123_456_789);
    let s = LocalDir::with_clock(dir.path(), clock.clone());
    let none = BTreeMap::new();
    let log = s
        .put(
            "my-bucket",
            "AWSLogs/1/a.json.gz",
            b"hello",
            "application/x-gzip",
            &none,
        )
        .unwrap();
    clock.advance(Duration::from_millis(1500));
    let other = s
        .put(
            "my-bucket",
            "notes/b",
            b"other body",
            "binary/octet-stream",
            &none,
        )
        .unwrap();
    assert!(!dir.path().join(META_DIR).exists(), "no metadata file at all");
    assert_eq!(log.content_type, "application/x-gzip");
    assert_eq!(log.etag, "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(log.size, 5);
    assert_eq!(
        log.last_modified,
        OffsetDateTime::from_unix_timestamp_nanos(1_763_700_000_123_000_000).unwrap()
    );
    assert_eq!(
        other.last_modified,
        OffsetDateTime::from_unix_timestamp_nanos(1_763_700_001_623_000_000).unwrap()
    );
    // The same answers from this store (cache filled by put) and from a fresh one (no cache).
    let fresh = LocalDir::new(dir.path());
    for st in [&s, &fresh] {
        assert_eq!(
            st.head("my-bucket", "AWSLogs/1/a.json.gz").unwrap().as_ref(),
            Some(&log)
        );
        assert_eq!(st.head("my-bucket", "notes/b").unwrap().as_ref(), Some(&other));
        let (body, m) = st.get("my-bucket", "AWSLogs/1/a.json.gz").unwrap().unwrap();
        assert_eq!((body.as_slice(), &m), (&b"hello"[..], &log));
        assert_eq!(
            listed(st, "my-bucket"),
            [
                ("AWSLogs/1/a.json.gz".to_owned(), log.clone()),
                ("notes/b".to_owned(), other.clone())
            ]
        );
    }
}

#[test]
fn objects_with_user_metadata_or_another_type_keep_a_metadata_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalDir::with_clock(dir.path(), clock_at(1_700_000_000_000_000_000));
    let um = BTreeMap::from([("Signature".to_owned(), "abc".to_owned())]);
    let signed = s
        .put("my-bucket", "d/x.json.gz", b"digest", "application/x-gzip", &um)
        .unwrap();
    let typed = s
        .put(
            "my-bucket",
            "d/y.json.gz",
            b"json",
            "application/json",
            &BTreeMap::new(),
        )
        .unwrap();
    assert!(s.meta_path("my-bucket", "d/x.json.gz").is_file());
    assert!(s.meta_path("my-bucket", "d/y.json.gz").is_file());
    let fresh = LocalDir::new(dir.path());
    assert_eq!(fresh.head("my-bucket", "d/x.json.gz").unwrap(), Some(signed));
    assert_eq!(
        fresh.head("my-bucket", "d/y.json.gz").unwrap(),
        Some(typed.clone())
    );
    assert_eq!(typed.content_type, "application/json");
}

#[test]
fn a_plain_put_replaces_metadata_left_by_an_earlier_put() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock_at(1_700_000_000_000_000_000);
    let s = LocalDir::with_clock(dir.path(), clock.clone());
    let um = BTreeMap::from([("signature".to_owned(), "abc".to_owned())]);
    s.put("my-bucket", "k.json.gz", b"first", "application/x-gzip", &um)
        .unwrap();
    clock.advance(Duration::from_secs(60));
    let second = s
        .put(
            "my-bucket",
            "k.json.gz",
            b"second body",
            "application/x-gzip",
            &BTreeMap::new(),
        )
        .unwrap();
    assert!(!s.meta_path("my-bucket", "k.json.gz").exists());
    assert!(second.user.is_empty());
    assert_eq!(s.head("my-bucket", "k.json.gz").unwrap().as_ref(), Some(&second));
    assert_eq!(s.get("my-bucket", "k.json.gz").unwrap().unwrap().1, second);
    // And back: metadata again, not the cached plain answer.
    clock.advance(Duration::from_secs(60));
    let third = s
        .put("my-bucket", "k.json.gz", b"third", "application/x-gzip", &um)
        .unwrap();
    assert_eq!(s.head("my-bucket", "k.json.gz").unwrap(), Some(third));
}

#[test]
fn a_file_dropped_in_by_hand_is_described_by_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalDir::new(dir.path());
    let when = OffsetDateTime::from_unix_timestamp_nanos(1_600_000_000_987_654_321).unwrap();
    for (key, ct) in [
        ("AWSLogs/x.json.gz", "application/x-gzip"),
        ("AWSLogs/readme.txt", "binary/octet-stream"),
    ] {
        let p = s.object_path("my-bucket", key);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, b"hello").unwrap();
        fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(to_system_time(when).unwrap())
            .unwrap();
        let m = s.head("my-bucket", key).unwrap().unwrap();
        assert_eq!(m.content_type, ct);
        assert!(m.user.is_empty());
        assert_eq!(m.last_modified, truncate_millis(when));
        assert_eq!(m.size, 5);
        assert_eq!(m.etag, "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(s.get("my-bucket", key).unwrap().unwrap().1, m);
    }
}

#[test]
fn the_etag_cache_notices_a_file_changed_behind_its_back() {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalDir::with_clock(dir.path(), clock_at(1_700_000_000_000_000_000));
    let put = s
        .put(
            "my-bucket",
            "f.json.gz",
            b"hello",
            "application/x-gzip",
            &BTreeMap::new(),
        )
        .unwrap();
    let p = s.object_path("my-bucket", "f.json.gz");
    // A different size with the very same modification time.
    fs::write(&p, b"hello, world").unwrap();
    let f = fs::File::options().write(true).open(&p).unwrap();
    f.set_modified(to_system_time(put.last_modified).unwrap())
        .unwrap();
    drop(f);
    let m = s.head("my-bucket", "f.json.gz").unwrap().unwrap();
    assert_eq!(m.size, 12);
    assert_eq!(m.etag, hex::encode(md5::Md5::digest(b"hello, world")));
    assert_eq!(m.last_modified, put.last_modified);
    assert_eq!(listed(&s, "my-bucket"), [("f.json.gz".to_owned(), m.clone())]);
    // The same size with a new modification time: the time must tell.
    fs::write(&p, b"HELLO, WORLD").unwrap();
    let m2 = s.head("my-bucket", "f.json.gz").unwrap().unwrap();
    assert_eq!(m2.etag, hex::encode(md5::Md5::digest(b"HELLO, WORLD")));
}

#[test]
fn a_rewrite_through_another_store_in_the_same_millisecond_is_noticed() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock_at(1_700_000_000_000_000_000);
    let (a, b) = (
        LocalDir::with_clock(dir.path(), clock.clone()),
        LocalDir::with_clock(dir.path(), clock),
    );
    let none = BTreeMap::new();
    a.put("my-bucket", "k.json.gz", b"aaaa", "application/x-gzip", &none)
        .unwrap();
    assert!(a.head("my-bucket", "k.json.gz").unwrap().is_some());
    // Same size, same (stopped) clock, a different body, through the other store.
    let put = b
        .put("my-bucket", "k.json.gz", b"bbbb", "application/x-gzip", &none)
        .unwrap();
    assert_eq!(a.head("my-bucket", "k.json.gz").unwrap(), Some(put));
}

#[test]
fn the_etag_cache_stays_bounded() {
    let s = LocalDir::new("unused");
    let stamp = Stamp {
        size: 1,
        mtime: SystemTime::UNIX_EPOCH,
        identity: [0; 3],
    };
    for i in 0..=ETAG_CACHE_CAP {
        s.remember(format!("b/{i}"), stamp, [0; 16]);
    }
    let len = s.etags.lock().unwrap().len();
    assert!(len <= ETAG_CACHE_CAP && len > ETAG_CACHE_CAP / 2, "{len}");
    assert!(s.cached_md5(&format!("b/{ETAG_CACHE_CAP}"), stamp).is_some());
}

#[test]
fn folders_deleted_behind_our_back_are_created_again() {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalDir::new(dir.path());
    let none = BTreeMap::new();
    let um = BTreeMap::from([("signature".to_owned(), "abc".to_owned())]);
    s.put("my-bucket", "a/b/c.json.gz", b"1", "application/x-gzip", &none)
        .unwrap();
    s.put("my-bucket", "a/b/d.json.gz", b"1", "application/x-gzip", &um)
        .unwrap();
    for gone in [
        dir.path().join("my-bucket"),
        dir.path().join(TMP_DIR),
        dir.path().join(META_DIR),
    ] {
        fs::remove_dir_all(gone).unwrap();
    }
    let m = s
        .put("my-bucket", "a/b/c.json.gz", b"2", "application/x-gzip", &none)
        .unwrap();
    let m2 = s
        .put("my-bucket", "a/b/d.json.gz", b"2", "application/x-gzip", &um)
        .unwrap();
    assert_eq!(s.head("my-bucket", "a/b/c.json.gz").unwrap(), Some(m));
    assert_eq!(s.head("my-bucket", "a/b/d.json.gz").unwrap(), Some(m2));
}

#[test]
fn put_and_head_agree_for_any_clock_time() {
    let dir = tempfile::tempdir().unwrap();
    // Before 1970 and far ahead: whether or not the file system takes the time, the store
    // answers what put returned (falling back to a metadata file if it must).
    for ns in [-315_619_200_000_000_000_i128, 0, 4_102_444_800_999_999_999] {
        let s = LocalDir::with_clock(dir.path(), clock_at(ns));
        let m = s
            .put(
                "my-bucket",
                "t.json.gz",
                b"x",
                "application/x-gzip",
                &BTreeMap::new(),
            )
            .unwrap();
        assert_eq!(
            LocalDir::new(dir.path()).head("my-bucket", "t.json.gz").unwrap(),
            Some(m)
        );
    }
}
/// The plain write path, the baseline of `measure_puts`: a metadata file and the body, each
/// through a temporary file, with `create_dir_all` before every create and rename.
fn baseline_put(root: &Path, bucket: &str, key: &str, body: &[u8], seq: &mut u64) {
    let meta_json = format!("{{\"etag\":\"{}\"}}", hex::encode(md5::Md5::digest(body)));
    let meta = root.join(META_DIR).join(bucket).join(format!("{key}.json"));
    let object = root.join(bucket).join(key);
    for (dest, bytes) in [(meta, meta_json.as_bytes()), (object, body)] {
        let tmp_dir = root.join(TMP_DIR);
        fs::create_dir_all(&tmp_dir).unwrap();
        *seq += 1;
        let tmp = tmp_dir.join(format!("baseline-{seq}.tmp"));
        fs::File::create(&tmp).unwrap().write_all(bytes).unwrap();
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        assert!(!dest.is_dir());
        fs::rename(&tmp, &dest).unwrap();
    }
}

/// A one-off measure, not a timed test: `MEASURE_DIR=target cargo test -p cloudtrail --lib
/// store::tests::measure_puts -- --ignored --nocapture` times small log puts through the
/// baseline write path and through `LocalDir::put`, interleaved in batches so both see the
/// same disk, first into new folders, then into the same folders again (as in a running
/// emulator), and counts the files (inodes) each put left. Run it under
/// `strace -f -c -e trace=mkdir` to count folder creations.
#[test]
#[ignore]
fn measure_puts() {
    let dir = tempfile::tempdir_in(std::env::var("MEASURE_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let s = LocalDir::new(dir.path());
    let n: u32 = std::env::var("MEASURE_PUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let batch = 100;
    let key = |i: u32| {
        format!(
            "AWSLogs/{:012}/CloudTrail/region-{}/2026/11/21/f{i}.json.gz",
            i % 64,
            i % 7
        )
    };
    fn count(p: &Path) -> usize {
        fs::read_dir(p)
            .map(|rd| {
                rd.flatten()
                    .map(|e| if e.path().is_dir() { count(&e.path()) } else { 1 })
                    .sum()
            })
            .unwrap_or(0)
    }
    let mut seq = 0;
    for (pass, first) in [("new folders", 0), ("existing folders", n)] {
        let (mut old_t, mut new_t) = (Duration::ZERO, Duration::ZERO);
        let (mut old_files, mut new_files) = (0, 0);
        for start in (first..first + n).step_by(batch) {
            let end = (start + batch as u32).min(first + n);
            let before = count(dir.path());
            let t = std::time::Instant::now();
            for i in start..end {
                baseline_put(dir.path(), "old-bucket", &key(i), b"small body", &mut seq);
            }
            old_t += t.elapsed();
            let mid = count(dir.path());
            let t = std::time::Instant::now();
            for i in start..end {
                s.put(
                    "new-bucket",
                    &key(i),
                    b"small body",
                    "application/x-gzip",
                    &BTreeMap::new(),
                )
                .unwrap();
            }
            new_t += t.elapsed();
            old_files += mid - before;
            new_files += count(dir.path()) - mid;
        }
        let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(n);
        println!(
            "{pass}: {n} puts, baseline {:.1} us/put ({:.2} files/object), LocalDir::put {:.1} us/put \
             ({:.2} files/object), ratio {:.2}",
            per(old_t),
            old_files as f64 / f64::from(n),
            per(new_t),
            new_files as f64 / f64::from(n),
            new_t.as_secs_f64() / old_t.as_secs_f64()
        );
    }
}

#[test]
fn a_store_that_does_not_hash_its_puts_still_answers_etags() {
    let dir = tempfile::tempdir().unwrap();
    let s = LocalDir::new(dir.path()).hashing_puts(false);
    let none = BTreeMap::new();
    let user = BTreeMap::from([("signature".to_owned(), "abc".to_owned())]);
    let plain = s
        .put("my-bucket", "a.json.gz", b"one", "application/x-gzip", &none)
        .unwrap();
    assert_eq!(plain.etag, "");
    let with_meta = s
        .put("my-bucket", "b.json.gz", b"two", "text/plain", &user)
        .unwrap();
    assert_eq!(with_meta.etag, hex::encode(md5::Md5::digest(b"two")));
    for (key, body) in [("a.json.gz", b"one"), ("b.json.gz", b"two")] {
        let head = s.head("my-bucket", key).unwrap().unwrap();
        assert_eq!(head.etag, hex::encode(md5::Md5::digest(body)), "{key}");
    }
}
