//! How an `https://` target's certificate is trusted with `--cacert`: the system's roots plus
//! the bundle's certificates, through the platform verifier (as reqwest does on its own), and
//! one exception OpenSSL-based clients (curl, Python's `ssl`) make too — a certificate given
//! to `--cacert` that is exactly the one the server presents is trusted as that server's even
//! when it is marked `CA:TRUE`, as `openssl req -x509` marks every certificate it makes.
//!
//! The exception is narrow: only when the verifier's one objection is `CaUsedAsEndEntity`,
//! and only for a certificate byte-for-byte in the bundle. Its validity period was checked
//! before that objection is raised (webpki checks the time first; a test with an expired
//! certificate holds it to that), and its names are checked here against the host.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, OtherError, SignatureScheme};
use std::sync::Arc;

/// The platform verifier with `--cacert`'s certificates added, and those certificates pinned.
#[derive(Debug)]
pub struct PinnedOrRoots {
    inner: rustls_platform_verifier::Verifier,
    pinned: Vec<CertificateDer<'static>>,
}

impl PinnedOrRoots {
    /// Trusts the system's roots and `extra` (DER), `extra` also as exact server certificates.
    pub fn new(
        extra: Vec<CertificateDer<'static>>,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> Result<Self, Error> {
        Ok(Self {
            inner: rustls_platform_verifier::Verifier::new_with_extra_roots(
                extra.clone(),
                provider,
            )?,
            pinned: extra,
        })
    }
}

/// The verifier refused a certificate only because it is marked as a CA.
fn only_marked_ca(error: &Error) -> bool {
    matches!(
        error,
        Error::InvalidCertificate(CertificateError::Other(OtherError(e)))
            if matches!(
                e.downcast_ref::<webpki::Error>(),
                Some(webpki::Error::CaUsedAsEndEntity)
            )
    )
}

impl ServerCertVerifier for PinnedOrRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(e) if only_marked_ca(&e) && self.pinned.iter().any(|p| p == end_entity) => {
                let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_name(&parsed, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A rustls client configuration for HTTP/1.1 that trusts as [`PinnedOrRoots`] does, with
/// the client certificate and key of `client_pem` (both PEM, concatenated) for mutual TLS.
pub fn client_config(
    cacert_pem: &[u8],
    client_pem: Option<&[u8]>,
) -> Result<rustls::ClientConfig, String> {
    let extra = CertificateDer::pem_slice_iter(cacert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate bundle: {e}"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = PinnedOrRoots::new(extra, provider.clone()).map_err(|e| e.to_string())?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match client_pem {
        Some(pem) => {
            let chain = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("not a PEM client certificate: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(pem)
                .map_err(|e| format!("not a PEM private key: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| e.to_string())?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
