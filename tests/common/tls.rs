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
        let builder = rustls::ServerConfig::builder();
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.client_ca.clone()).expect("client CA");
            let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder
            .with_single_cert(pki.server_chain.clone(), pki.server_key.clone_key())
            .expect("server config");
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
