//! TLS for the lab CSMS (`wss://`, security profile 2): a certificate chain and its key from PEM
//! files, served with rustls.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Why the TLS files cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LabTlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The certificate file holds no certificate, or the key file no key.
    #[error("{path} holds no {what} in PEM form")]
    Empty {
        /// The file.
        path: String,
        /// "certificate" or "private key".
        what: &'static str,
    },
    /// rustls refused the pair.
    #[error("the certificate and key cannot be used: {0}")]
    Rejected(String),
}

/// An acceptor serving `cert` (PEM chain, leaf first) with `key` (PEM, PKCS#8, PKCS#1 or SEC1).
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, LabTlsError> {
    let certs = read(cert).and_then(|bytes| {
        let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut bytes.as_slice())
            .filter_map(Result::ok)
            .collect();
        if certs.is_empty() {
            return Err(LabTlsError::Empty {
                path: cert.display().to_string(),
                what: "certificate",
            });
        }
        Ok(certs)
    })?;
    let key: PrivateKeyDer<'static> = read(key).and_then(|bytes| {
        rustls_pemfile::private_key(&mut bytes.as_slice())
            .ok()
            .flatten()
            .ok_or_else(|| LabTlsError::Empty {
                path: key.display().to_string(),
                what: "private key",
            })
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LabTlsError::Rejected(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| LabTlsError::Rejected(e.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read(path: &Path) -> Result<Vec<u8>, LabTlsError> {
    std::fs::read(path).map_err(|e| LabTlsError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}
