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
    let page = h
        .send(Method::GET, "/console/", HeaderMap::new(), Bytes::new())
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert!(body(&page).contains("<script type=\"module\" src=\"app.js\">"));
    let redirect = h
        .send(Method::GET, "/console", HeaderMap::new(), Bytes::new())
        .await;
    assert_eq!(
        (
            redirect.status.as_u16(),
            redirect.headers["location"].to_str().unwrap()
        ),
        (308, "/console/")
    );

    let events = h
        .send(
            Method::GET,
            "/console/api/events?max=2&key=EventName&value=CreateDatasetGroup",
            HeaderMap::new(),
            Bytes::new(),
        )
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
        .send(
            Method::GET,
            "/console/api/export?format=json&key=EventName&value=CreateDatasetGroup",
            HeaderMap::new(),
            Bytes::new(),
        )
        .await;
    assert_eq!(export.status, 200);
    assert_eq!(
        export.headers["content-disposition"].to_str().unwrap(),
        "attachment; filename=\"event_history.json\""
    );
    let doc: Value = serde_json::from_slice(&export.body).unwrap();
    assert_eq!(doc["Records"].as_array().unwrap().len(), 3);

    // The filter is LookupEvents' own: its errors are too.
    let bad = h
        .send(
            Method::GET,
            "/console/api/events?key=Color&value=red",
            HeaderMap::new(),
            Bytes::new(),
        )
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.json()["error"].as_str().unwrap()),
        (400, "InvalidLookupAttributesException")
    );
    let half = h
        .send(
            Method::GET,
            "/console/api/events?key=EventName",
            HeaderMap::new(),
            Bytes::new(),
        )
        .await;
    assert_eq!(half.status, 400);
    let bad_export = h
        .send(
            Method::GET,
            "/console/api/export?format=xml",
            HeaderMap::new(),
            Bytes::new(),
        )
        .await;
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
    assert_eq!(
        h.send(Method::GET, "/console/nope", HeaderMap::new(), Bytes::new())
            .await
            .status,
        404
    );
}
