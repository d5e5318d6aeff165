//! The listener's TLS: a PEM certificate chain and private key (`[server] tls_cert`,
//! `tls_key`), HTTP/2 and HTTP/1.1 offered by ALPN, ring as the crypto provider (the one the
//! upstream leg uses).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use switchboard_config::TlsFiles;

/// Why the TLS files could not be used; names the file, never its content.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{} holds no PEM certificate", path.display())]
    NoCertificate { path: std::path::PathBuf },
    #[error("{} holds no PEM private key", path.display())]
    NoKey { path: std::path::PathBuf },
    #[error("the certificate ({}) and key ({}) were refused: {reason}", cert.display(), key.display())]
    Refused {
        cert: std::path::PathBuf,
        key: std::path::PathBuf,
        reason: String,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The server configuration for `files`.
///
/// # Errors
/// A file cannot be read, holds nothing usable, or the key does not fit the certificate.
pub fn server_config(files: &TlsFiles) -> Result<rustls::ServerConfig, TlsError> {
    let cert_pem = read(&files.cert)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: files.cert.clone(),
        });
    }
    let key_pem = read(&files.key)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::NoKey {
        path: files.key.clone(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let refused = |e: rustls::Error| TlsError::Refused {
        cert: files.cert.clone(),
        key: files.key.clone(),
        reason: e.to_string(),
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(refused)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(refused)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
