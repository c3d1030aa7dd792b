//! TLS on the emulator's port, with a real TLS client (rustls): the certificate made on first
//! start is kept and served, calls over TLS carry `tlsDetails` from the handshake, and plain
//! HTTP on the same port keeps working without them.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use serde_json::Value;
use tokio::net::TcpStream;

use crate::common::*;

/// A TLS client that trusts only `certificate_pem`, limited to `versions`.
fn client(
    certificate_pem: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(certificate_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Sends one signed Personalize call over TLS, as `localhost`.
async fn call_over_tls(
    h: &Harness,
    connector: &tokio_rustls::TlsConnector,
    operation: &str,
) -> (http::StatusCode, String) {
    let tcp = TcpStream::connect(h.addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let host = format!("localhost:{}", h.addr.port());
    let mut headers = HeaderMap::new();
    headers.insert("host", host.parse().unwrap());
    headers.insert(
        "x-amz-target",
        format!("AmazonPersonalize.{operation}").parse().unwrap(),
    );
    headers.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
    let body = Bytes::from_static(b"{}");
    alice().sign(
        &Method::POST,
        &"/".parse().unwrap(),
        &mut headers,
        &body,
        h.clock_now(),
    );
    let mut req = http::Request::builder().method(Method::POST).uri("/");
    for (k, v) in &headers {
        req = req.header(k, v);
    }
    let resp = sender
        .send_request(req.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let id = resp.headers()["x-amzn-requestid"].to_str().unwrap().to_owned();
    let _ = resp.into_body().collect().await.unwrap();
    (status, id)
}

#[tokio::test]
async fn calls_over_tls_carry_the_handshakes_details_and_plain_http_still_works() {
    let h = Harness::start().await;
    let cert = h.get("/_emulator/tls/certificate").await;
    assert_eq!(cert.status, 200);
    let pem = String::from_utf8(cert.body.to_vec()).unwrap();
    assert_eq!(
        pem,
        std::fs::read_to_string(h.data_dir().join(".tls/certificate.pem")).unwrap()
    );

    let (status, tls13) =
        call_over_tls(&h, &client(&pem, &[&rustls::version::TLS13]), "ListDatasetGroups").await;
    assert_eq!(status, 200);
    let (status, tls12) = call_over_tls(&h, &client(&pem, &[&rustls::version::TLS12]), "ListSchemas").await;
    assert_eq!(status, 200);
    let plain = h.personalize(&alice(), "ListRecipes", "{}").await;
    assert_eq!(plain.status, 200);

    let records = h.flushed_records().await;
    let host = format!("localhost:{}", h.addr.port());
    let details = |id: &str| by_request_id(&records, id)["tlsDetails"].clone();
    let d = details(&tls13);
    assert_eq!(d["tlsVersion"], "TLSv1.3");
    assert!(d["cipherSuite"].as_str().unwrap().starts_with("TLS_AES_"), "{d}");
    assert_eq!(d["clientProvidedHostHeader"], host.as_str());
    assert_eq!(d["keyExchange"], "X25519");
    let d = details(&tls12);
    assert_eq!(d["tlsVersion"], "TLSv1.2");
    // OpenSSL's names for TLS 1.2 suites, as AWS writes them (the made certificate is ECDSA).
    assert!(
        d["cipherSuite"].as_str().unwrap().starts_with("ECDHE-ECDSA-"),
        "{d}"
    );
    assert_eq!(details(&plain.request_id()), Value::Null);
}

#[tokio::test]
async fn with_tls_off_the_port_is_plain_http_only() {
    let h = Harness::start_with(|f| f.server.tls = false).await;
    let cert = h.get("/_emulator/tls/certificate").await;
    assert_eq!(cert.status, 404);
    assert!(!h.data_dir().join(".tls").exists());
    assert_eq!(h.personalize(&alice(), "ListRecipes", "{}").await.status, 200);
}
