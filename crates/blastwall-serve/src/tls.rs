//! TLS for the HTTP front doors: a certificate chain and key from PEM files, rustls with the
//! `ring` provider, HTTP/2 and HTTP/1.1 offered by ALPN (the Kubernetes API server speaks
//! either).

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub(crate) fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let read =
        |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read `{}`: {e}", p.display()));
    let cert_pem = read(cert)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("`{}`: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("`{}` holds no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key)?)
        .map_err(|e| format!("`{}`: {e}", key.display()))?;
    let provider = Arc::new(provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// rustls's `ring` provider. rustls now marks it deprecated because it offers no post-quantum
/// key exchange, which only its `aws-lc-rs` provider has; that provider is a CMake build of a C
/// library, minutes on every clean build, for key exchanges an API server does not ask for yet.
#[expect(
    deprecated,
    reason = "ring keeps the build free of a C toolchain step; see the function's docs"
)]
fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
