//! The console's API and page over the wire: what it serves, to whom, and that it reads Event
//! history as `LookupEvents` does (the browser tests are in client-tests).

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::Value;

use crate::common::*;

fn body(r: &Response) -> String {
    String::from_utf8(r.body.to_vec()).unwrap()
}

#[tokio::test]
async fn the_console_reads_event_history_as_lookup_events_does() {
    let h = Harness::start().await;
    for i in 0..3 {
        let r = h
            .personalize(&alice(), "CreateDatasetGroup", &format!(r#"{{"name":"c{i}"}}"#))
            .await;
        assert_eq!(r.status, 200);
    }
    let page = h.get("/console/").await;
    assert_eq!(page.status, 200);
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert!(body(&page).contains("<script type=\"module\" src=\"app.js\">"));
    let redirect = h.get("/console").await;
    assert_eq!(
        (
            redirect.status.as_u16(),
            redirect.headers["location"].to_str().unwrap()
        ),
        (308, "/console/")
    );

    let events = h
        .get("/console/api/events?max=2&key=EventName&value=CreateDatasetGroup")
        .await;
    assert_eq!(events.status, 200, "{}", body(&events));
    let v = events.json();
    assert_eq!(v["events"].as_array().unwrap().len(), 2);
    assert_eq!(v["events"][0]["record"]["requestParameters"]["name"], "c2");
    let next = v["nextToken"].as_str().unwrap();
    let rest = h
        .send(
            Method::GET,
            &format!(
                "/console/api/events?max=2&key=EventName&value=CreateDatasetGroup&next={}",
                percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
            ),
            HeaderMap::new(),
            Bytes::new(),
        )
        .await;
    assert_eq!(
        rest.json()["events"][0]["record"]["requestParameters"]["name"],
        "c0"
    );

    let export = h
        .get("/console/api/export?format=json&key=EventName&value=CreateDatasetGroup")
        .await;
    assert_eq!(export.status, 200);
    assert_eq!(
        export.headers["content-disposition"].to_str().unwrap(),
        "attachment; filename=\"event_history.json\""
    );
    let doc: Value = serde_json::from_slice(&export.body).unwrap();
    assert_eq!(doc["Records"].as_array().unwrap().len(), 3);

    // The filter is LookupEvents' own: its errors are too.
    let bad = h.get("/console/api/events?key=Color&value=red").await;
    assert_eq!(
        (bad.status.as_u16(), bad.json()["error"].as_str().unwrap()),
        (400, "InvalidLookupAttributesException")
    );
    let half = h.get("/console/api/events?key=EventName").await;
    assert_eq!(half.status, 400);
    let bad_export = h.get("/console/api/export?format=xml").await;
    assert_eq!(bad_export.status, 400);
    // Reading the console records nothing.
    let records = h.flushed_records().await;
    assert_eq!(records.len(), 3);
}

#[tokio::test]
async fn the_console_answers_this_machine_only_and_only_reads() {
    let h = Harness::start().await;
    let mut rebound = HeaderMap::new();
    rebound.insert("host", "attacker.example:4599".parse().unwrap());
    let r = h
        .send(Method::GET, "/console/api/events", rebound, Bytes::new())
        .await;
    assert_eq!(r.status, 403);
    let mut cross = HeaderMap::new();
    cross.insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(
        h.send(Method::GET, "/console/api/meta", cross, Bytes::new())
            .await
            .status,
        403
    );
    assert_eq!(
        h.send(
            Method::POST,
            "/console/api/events",
            HeaderMap::new(),
            Bytes::new()
        )
        .await
        .status,
        405
    );
    assert_eq!(h.get("/console/nope").await.status, 404);
}

#[tokio::test]
async fn the_console_lists_a_trails_files_and_checks_its_digests() {
    let h = Harness::start().await;
    let r = h
        .personalize(&alice(), "CreateDatasetGroup", r#"{"name":"audited"}"#)
        .await;
    assert_eq!(r.status, 200);
    h.flush().await;
    // StopLogging closes the trail's digest chain with a final digest, at once.
    let ct = emulator::sigv4::Signer::new(ALICE.0, ALICE.1, "us-east-1", "cloudtrail");
    let stop = h
        .json(
            &ct,
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.StopLogging",
            r#"{"Name":"management-events"}"#,
        )
        .await;
    assert_eq!(stop.status, 200, "{}", body(&stop));
    h.flush().await;

    let get = |path: String| {
        let h = &h;
        async move { h.get(&path).await }
    };
    let trails = get("/console/api/trails".into()).await.json();
    let t = &trails["trails"][0];
    assert_eq!(t["trail"]["Name"], "management-events");
    assert_eq!(t["status"]["IsLogging"], false);
    let bucket = t["bucket"].as_str().unwrap().to_owned();
    let day = h.clock_now().date();
    let prefix = |kind: &str| {
        format!(
            "AWSLogs/123456789012/{kind}/us-east-1/{:04}/{:02}/{:02}/",
            day.year(),
            u8::from(day.month()),
            day.day()
        )
    };
    let enc =
        |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    let logs = get(format!(
        "/console/api/files?bucket={bucket}&prefix={}",
        enc(&prefix("CloudTrail"))
    ))
    .await
    .json();
    let log_key = logs["objects"][0]["key"].as_str().unwrap().to_owned();
    let log = get(format!(
        "/console/api/object?bucket={bucket}&key={}",
        enc(&log_key)
    ))
    .await
    .json();
    assert!(!log["document"]["Records"].as_array().unwrap().is_empty());
    assert_eq!(log["validation"], Value::Null);
    let digests = get(format!(
        "/console/api/files?bucket={bucket}&prefix={}",
        enc(&prefix("CloudTrail-Digest"))
    ))
    .await
    .json();
    let digest_key = digests["objects"][0]["key"]
        .as_str()
        .expect("a digest")
        .to_owned();
    let digest = get(format!(
        "/console/api/object?bucket={bucket}&key={}",
        enc(&digest_key)
    ))
    .await
    .json();
    assert_eq!(digest["validation"]["valid"], true, "{digest}");
    assert_eq!(digest["validation"]["signatureValid"], true);
    let raw = get(format!(
        "/console/api/download?bucket={bucket}&key={}",
        enc(&digest_key)
    ))
    .await;
    assert_eq!(raw.status, 200);
    assert!(raw.body.starts_with(&[0x1f, 0x8b]), "gzip as stored");
    // Nothing outside the data directory's buckets.
    let escape = get(format!(
        "/console/api/object?bucket=..&key={}",
        enc("../../etc/passwd")
    ))
    .await;
    assert_eq!(escape.status, 400);
}
