//! TLS on the emulator's one port: a connection whose first byte opens a TLS handshake is served
//! over rustls, with a certificate the user gives or one made on first start and kept in the
//! data directory. What the handshake settled becomes the records' `tlsDetails`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::ring as provider;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The first byte of a TLS record carrying a handshake (the ClientHello).
pub(crate) const HANDSHAKE: u8 = 0x16;

/// The folder, under the data directory, of the certificate made on first start.
pub const TLS_DIR: &str = ".tls";

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A file holds no usable certificate or key.
    #[error("{path}: {why}")]
    Pem {
        /// The file.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// A certificate could not be made.
    #[error("cannot make a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate and key.
    #[error("the certificate and key do not work together: {0}")]
    Config(#[from] rustls::Error),
}

/// The TLS side of the listener.
#[derive(Clone)]
pub struct Tls {
    /// Accepts handshakes.
    pub(crate) acceptor: tokio_rustls::TlsAcceptor,
    /// The certificate in PEM, served at `/_emulator/tls/certificate` for clients to trust.
    pub certificate_pem: String,
    /// Where the certificate is.
    pub certificate_path: PathBuf,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("certificate_path", &self.certificate_path)
            .finish_non_exhaustive()
    }
}

/// What one TLS connection settled, as `tlsDetails` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: &'static str,
    /// The suite in the names AWS writes (OpenSSL's for TLS 1.2, IANA's for TLS 1.3).
    pub cipher_suite: String,
    /// The key exchange group, only in the spellings AWS is known to write.
    pub key_exchange: Option<&'static str>,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn write(path: &Path, bytes: &[u8], private: bool) -> Result<(), TlsError> {
    let io = |source| TlsError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let _ = private;
    let mut f = options.open(path).map_err(io)?;
    std::io::Write::write_all(&mut f, bytes).map_err(io)
}

/// A self-signed certificate for the names a local client uses: `localhost`, `127.0.0.1`,
/// `::1`, and the host of `bind` when it is another address.
fn generate(
    cert: &Path,
    key: &Path,
    bind: std::net::SocketAddr,
    now: time::OffsetDateTime,
) -> Result<(), TlsError> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    let host = bind.ip().to_string();
    if !bind.ip().is_unspecified() && !names.contains(&host) {
        names.push(host);
    }
    let mut params = rcgen::CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "personalize-cloudtrail-emulator");
    // Valid from a day back (clients' clocks differ) for ten years.
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    let key_pair = rcgen::KeyPair::generate()?;
    let certificate = params.self_signed(&key_pair)?;
    write(key, key_pair.serialize_pem().as_bytes(), true)?;
    write(cert, certificate.pem().as_bytes(), false)
}

impl Tls {
    /// TLS with the user's certificate and key, or, when none is given, the one under
    /// `<data_dir>/.tls/` (made on the first start, valid from a day before `now`).
    pub fn open(
        data_dir: &Path,
        given: Option<(&Path, &Path)>,
        bind: std::net::SocketAddr,
        now: time::OffsetDateTime,
    ) -> Result<Tls, TlsError> {
        let (cert_path, key_path) = match given {
            Some((c, k)) => (c.to_owned(), k.to_owned()),
            None => {
                let dir = data_dir.join(TLS_DIR);
                let (c, k) = (dir.join("certificate.pem"), dir.join("key.pem"));
                if !c.exists() || !k.exists() {
                    // A half-made pair (a crash between the two writes) is made again.
                    let _ = std::fs::remove_file(&c);
                    let _ = std::fs::remove_file(&k);
                    generate(&c, &k, bind, now)?;
                    tracing::info!(certificate = %c.display(), "made a TLS certificate");
                }
                (c, k)
            }
        };
        let cert_pem = read(&cert_path)?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::Pem {
                path: cert_path.display().to_string(),
                why: e.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsError::Pem {
                path: cert_path.display().to_string(),
                why: "no certificate in the file".into(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(&read(&key_path)?).map_err(|e| TlsError::Pem {
            path: key_path.display().to_string(),
            why: e.to_string(),
        })?;
        let mut config = ServerConfig::builder_with_provider(Arc::new(provider::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            certificate_pem: String::from_utf8_lossy(&cert_pem).into_owned(),
            certificate_path: cert_path,
        })
    }
}

/// What `conn` settled.
pub(crate) fn negotiated(conn: &rustls::ServerConnection) -> Option<Negotiated> {
    let version = match conn.protocol_version()? {
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2",
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
        _ => return None,
    };
    let suite = conn.negotiated_cipher_suite()?.suite();
    let key_exchange = conn.negotiated_key_exchange_group().and_then(|g| match g.name() {
        rustls::NamedGroup::X25519 => Some("X25519"),
        rustls::NamedGroup::X25519MLKEM768 => Some("X25519MLKEM768"),
        _ => None,
    });
    Some(Negotiated {
        version,
        cipher_suite: suite_name(suite),
        key_exchange,
    })
}

/// OpenSSL's name for a TLS 1.2 suite and IANA's for a TLS 1.3 one, as `tlsDetails` shows them.
fn suite_name(suite: rustls::CipherSuite) -> String {
    use rustls::CipherSuite as S;
    let name = match suite {
        S::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        S::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        S::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => "ECDHE-RSA-AES128-GCM-SHA256",
        S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => "ECDHE-RSA-AES256-GCM-SHA384",
        S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-RSA-CHACHA20-POLY1305",
        S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
        S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
        S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-ECDSA-CHACHA20-POLY1305",
        other => return format!("{other:?}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_have_the_names_aws_writes() {
        assert_eq!(
            suite_name(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256),
            "TLS_AES_128_GCM_SHA256"
        );
        assert_eq!(
            suite_name(rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
            "ECDHE-RSA-AES128-GCM-SHA256"
        );
    }

    #[test]
    fn a_certificate_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let bind = std::net::SocketAddr::from(([127, 0, 0, 1], 4599));
        let now = time::macros::datetime!(2026-12-03 12:00 UTC);
        let first = Tls::open(dir.path(), None, bind, now).unwrap();
        assert!(first.certificate_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let again = Tls::open(dir.path(), None, bind, now).unwrap();
        assert_eq!(first.certificate_pem, again.certificate_pem);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let key = dir.path().join(TLS_DIR).join("key.pem");
            assert_eq!(
                std::fs::metadata(key).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "not a certificate").unwrap();
        assert!(matches!(
            Tls::open(dir.path(), Some((&bad, &bad)), bind, now),
            Err(TlsError::Pem { .. })
        ));
    }
}
