//! HTTPS targets on loopback for the TLS tests: a private CA made at test time (rcgen), a
//! server certificate for 127.0.0.1 signed by it, a client certificate for mutual TLS, and
//! the real target-service served through rustls.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use target_service::AppState;
use tokio_rustls::rustls;

/// A private CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files.
pub struct Pki {
    pub ca_pem: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    server_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    server_key: rustls::pki_types::PrivateKeyDer<'static>,
    client_ca: rustls::pki_types::CertificateDer<'static>,
}

impl Pki {
    /// Writes `ca.pem`, `client.pem` and `client.key` into `dir`.
    pub fn create(dir: &Path) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca = |name: &str| {
            let key = KeyPair::generate().expect("CA key");
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            let cert = params.self_signed(&key).expect("CA certificate");
            (cert, Issuer::new(params, key))
        };
        let (server_ca, server_issuer) = ca("scaleproof test server CA");
        let (client_ca, client_issuer) = ca("scaleproof test client CA");
        let server_key = KeyPair::generate().expect("server key");
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .expect("server params")
            .signed_by(&server_key, &server_issuer)
            .expect("server certificate");
        let client_key = KeyPair::generate().expect("client key");
        let mut client_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        client_params
            .distinguished_name
            .push(DnType::CommonName, "scaleproof test client");
        let client = client_params
            .signed_by(&client_key, &client_issuer)
            .expect("client certificate");
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write PEM");
            path
        };
        Self {
            ca_pem: write("ca.pem", server_ca.pem()),
            client_cert: write("client.pem", client.pem()),
            client_key: write("client.key", client_key.serialize_pem()),
            server_chain: vec![server.der().clone()],
            server_key: rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
            client_ca: client_ca.der().clone(),
        }
    }
}

/// A self-signed server certificate as `openssl req -x509 -newkey … -subj /CN=localhost
/// -addext subjectAltName=DNS:localhost,IP:127.0.0.1` makes it with OpenSSL 3: marked
/// `CA:TRUE` (critical basicConstraints), no key usage, valid from an hour ago for
/// `valid_days` days (negative: expired that long ago); its PEM written to `dir/NAME.pem`.
pub struct SelfSigned {
    pub pem: PathBuf,
    pub chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub key: rustls::pki_types::PrivateKeyDer<'static>,
}

impl SelfSigned {
    pub fn create(dir: &Path, name: &str, names: &[&str], valid_days: i64) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let key = KeyPair::generate().expect("key");
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("params");
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let now = {
            use chrono::{Datelike, Timelike};
            let t = chrono::Utc::now();
            rcgen::date_time_ymd(t.year(), t.month() as u8, t.day() as u8)
                + std::time::Duration::from_secs(u64::from(t.num_seconds_from_midnight()))
        };
        if valid_days >= 0 {
            params.not_before = now - std::time::Duration::from_secs(3600);
            params.not_after = now + std::time::Duration::from_secs(86_400 * valid_days as u64);
        } else {
            let ago = std::time::Duration::from_secs(86_400 * valid_days.unsigned_abs());
            params.not_before = now - ago - std::time::Duration::from_secs(86_400);
            params.not_after = now - ago;
        }
        let cert = params.self_signed(&key).expect("certificate");
        let pem = dir.join(format!("{name}.pem"));
        std::fs::write(&pem, cert.pem()).expect("write PEM");
        Self {
            pem,
            chain: vec![cert.der().clone()],
            key: rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        }
    }
}

/// The target-service behind TLS on 127.0.0.1:0, until dropped.
pub struct TlsTarget {
    pub base: String,
    pub state: AppState,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TlsTarget {
    /// Serves with the server certificate of `pki`; with `require_client_cert`, only clients
    /// presenting a certificate from the client CA complete the handshake.
    pub fn start(pki: &Pki, served_by: &str, require_client_cert: bool) -> Self {
        let client_ca = require_client_cert.then(|| pki.client_ca.clone());
        Self::serve(
            pki.server_chain.clone(),
            pki.server_key.clone_key(),
            client_ca,
            served_by,
        )
    }

    /// Serves with `chain` and `key`; with `client_ca`, only clients presenting a certificate
    /// from it complete the handshake.
    pub fn serve(
        chain: Vec<rustls::pki_types::CertificateDer<'static>>,
        key: rustls::pki_types::PrivateKeyDer<'static>,
        client_ca: Option<rustls::pki_types::CertificateDer<'static>>,
        served_by: &str,
    ) -> Self {
        let builder = rustls::ServerConfig::builder();
        let builder = if let Some(client_ca) = client_ca {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(client_ca).expect("client CA");
            let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder.with_single_cert(chain, key).expect("server config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let state = super::service_state(served_by);
        let (runtime, listener, addr) = super::loopback_runtime();
        let base = format!("https://{addr}");
        let app = target_service::app(state.clone());
        runtime.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let app = app.clone();
                tokio::spawn(async move {
                    // A refused handshake is the client's failure to record, not ours.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Self {
            base,
            state,
            runtime: Some(runtime),
        }
    }
}

impl Drop for TlsTarget {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
