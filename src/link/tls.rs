//! The rustls client configuration: which servers the station trusts (security profiles 2 and 3)
//! and, for profile 3, the client certificate it presents.
//!
//! Every problem with a file is reported naming the file and what is wrong with it, because the
//! person reading the message is a technician holding `/etc/ocpp_station.env`, not a developer.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use crate::bounded_file::{self, FileError};

/// A CA bundle, certificate chain or key is a few kilobytes (Debian's whole public CA bundle is
/// about 200 KiB); a larger file is not one of those.
pub const MAX_PEM_FILE_BYTES: u64 = 1024 * 1024;

/// Which of the configured PEM files a [`TlsSetupError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFile {
    /// `OCPP_CA_PATH`: extra trusted CA certificates.
    CaBundle,
    /// `OCPP_MTLS_CERT_PATH`: the station's certificate chain.
    ClientCertificate,
    /// `OCPP_MTLS_KEY_PATH`: the station's private key.
    ClientKey,
}

impl fmt::Display for TlsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsFile::CaBundle => "CA bundle",
            TlsFile::ClientCertificate => "client certificate",
            TlsFile::ClientKey => "client key",
        })
    }
}

/// Why the TLS client configuration could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsSetupError {
    /// The file does not exist.
    #[error("{file} {} does not exist", path.display())]
    Missing {
        /// Which file.
        file: TlsFile,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The file exists but could not be read (permissions, a directory, a FIFO, too large, ...).
    #[error("{file} {} cannot be read: {reason}", path.display())]
    Unreadable {
        /// Which file.
        file: TlsFile,
        /// The file.
        path: PathBuf,
        /// The operating system's explanation.
        reason: String,
    },
    /// The file has a PEM section that cannot be decoded.
    #[error("{file} {} is not valid PEM: {reason}", path.display())]
    InvalidPem {
        /// Which file.
        file: TlsFile,
        /// The file.
        path: PathBuf,
        /// What the PEM parser said.
        reason: String,
    },
    /// The file holds no `-----BEGIN CERTIFICATE-----` section.
    #[error("{file} {} contains no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display())]
    NoCertificate {
        /// Which file.
        file: TlsFile,
        /// The file.
        path: PathBuf,
    },
    /// A certificate in the file is not a usable X.509 certificate.
    #[error("{file} {} holds a certificate that cannot be used: {reason}", path.display())]
    BadCertificate {
        /// Which file.
        file: TlsFile,
        /// The file.
        path: PathBuf,
        /// What rustls said.
        reason: String,
    },
    /// The key file holds no private key.
    #[error(
        "client key {} contains no private key (expected PEM PKCS#8, PKCS#1 or SEC1)",
        path.display()
    )]
    NoKey {
        /// The key file.
        path: PathBuf,
    },
    /// The certificate and key could not be combined (wrong pair, unsupported key type).
    #[error(
        "client certificate {} and key {} cannot be used together: {reason}",
        cert.display(),
        key.display()
    )]
    ClientAuth {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        reason: String,
    },
    /// The crypto provider refused the protocol versions (a build problem, not a file problem).
    #[error("TLS setup failed: {0}")]
    Provider(String),
}

/// Builds the client configuration used for every `wss://` dial.
///
/// Trusts the Mozilla roots from `webpki-roots` plus every certificate in the PEM bundle at
/// `ca_path` (a private CSMS CA is added to, not substituted for, the public roots, so a fleet
/// can move between a private and a public CSMS with the same file). With `client_cert =
/// Some((cert_chain_pem, key_pem))` the station presents that certificate (security profile 3);
/// the key may be PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
///
/// The ring provider is passed explicitly rather than relying on a process-wide default, so the
/// result does not depend on which rustls features other crates in the tree switch on.
pub fn client_config(
    ca_path: Option<&Path>,
    client_cert: Option<(&Path, &Path)>,
) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_path {
        for cert in read_certificates(TlsFile::CaBundle, path)? {
            roots.add(cert).map_err(|e| TlsSetupError::BadCertificate {
                file: TlsFile::CaBundle,
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
    }

    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsSetupError::Provider(e.to_string()))?
            .with_root_certificates(roots);

    let config = match client_cert {
        None => builder.with_no_client_auth(),
        Some((cert_path, key_path)) => {
            let chain = read_certificates(TlsFile::ClientCertificate, cert_path)?;
            let key = read_private_key(key_path)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsSetupError::ClientAuth {
                    cert: cert_path.to_path_buf(),
                    key: key_path.to_path_buf(),
                    reason: e.to_string(),
                })?
        }
    };
    Ok(Arc::new(config))
}

/// Reads the whole file, telling a missing file apart from an unreadable one. Only a regular
/// file of at most [`MAX_PEM_FILE_BYTES`] is read (see [`bounded_file`]): a FIFO or a device at
/// the path is refused at once instead of blocking the dial.
fn read_file(file: TlsFile, path: &Path) -> Result<Vec<u8>, TlsSetupError> {
    bounded_file::read(path, MAX_PEM_FILE_BYTES).map_err(|e| match e {
        e if e.is_not_found() => TlsSetupError::Missing {
            file,
            path: path.to_path_buf(),
        },
        FileError::Io(_) | FileError::NotRegular(_) | FileError::TooLarge { .. } => {
            TlsSetupError::Unreadable {
                file,
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        }
    })
}

/// Every certificate in a PEM file; at least one, or an error naming the file.
fn read_certificates(
    file: TlsFile,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let bytes = read_file(file, path)?;
    let certs = rustls_pemfile::certs(&mut bytes.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsSetupError::InvalidPem {
            file,
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificate {
            file,
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The first private key in a PEM file, whichever of the three encodings it uses.
fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    let bytes = read_file(TlsFile::ClientKey, path)?;
    match rustls_pemfile::private_key(&mut bytes.as_slice()) {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(TlsSetupError::NoKey {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(TlsSetupError::InvalidPem {
            file: TlsFile::ClientKey,
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;
    use base64::Engine as _;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

    /// A CA and a server certificate for `localhost` signed by it, as PEM files in a temp dir.
    /// Shared with the `wss://` tests in `dial.rs`.
    pub(crate) struct TestPki {
        pub dir: tempfile::TempDir,
        pub ca_pem: PathBuf,
        pub server_cert_der: CertificateDer<'static>,
        pub server_key_der: PrivateKeyDer<'static>,
        pub ca_issuer: CertifiedIssuer<'static, KeyPair>,
    }

    impl TestPki {
        pub(crate) fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
            ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let ca_issuer =
                CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
            let ca_pem = dir.path().join("ca.pem");
            std::fs::write(&ca_pem, ca_issuer.as_ref().pem()).unwrap();

            let server_key = KeyPair::generate().unwrap();
            let server_cert = CertificateParams::new(vec!["localhost".to_string()])
                .unwrap()
                .signed_by(&server_key, &ca_issuer)
                .unwrap();
            Self {
                server_cert_der: server_cert.der().clone(),
                server_key_der: PrivateKeyDer::try_from(server_key.serialize_der()).unwrap(),
                dir,
                ca_pem,
                ca_issuer,
            }
        }

        /// Writes a client certificate (signed by the test CA) and its key; returns the paths.
        pub(crate) fn client_pair(
            &self,
            key_pem: impl FnOnce(&KeyPair) -> String,
        ) -> (PathBuf, PathBuf) {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(vec!["CP001".to_string()])
                .unwrap()
                .signed_by(&key, &self.ca_issuer)
                .unwrap();
            let cert_path = self.dir.path().join("client.pem");
            let key_path = self.dir.path().join("client.key");
            std::fs::write(&cert_path, cert.pem()).unwrap();
            std::fs::write(&key_path, key_pem(&key)).unwrap();
            (cert_path, key_path)
        }
    }

    /// The SEC1 `ECPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (the last OCTET STRING of the
    /// outer SEQUENCE), PEM-encoded as `EC PRIVATE KEY`: rcgen only writes PKCS#8.
    fn sec1_pem(key: &KeyPair) -> String {
        fn tlv(der: &[u8]) -> (u8, &[u8], &[u8]) {
            let tag = der[0];
            let (len, header) = match der[1] {
                n if n < 0x80 => (n as usize, 2),
                0x81 => (der[2] as usize, 3),
                0x82 => (((der[2] as usize) << 8) | der[3] as usize, 4),
                other => panic!("unexpected DER length byte {other:#x}"),
            };
            (tag, &der[header..header + len], &der[header + len..])
        }
        let pkcs8 = key.serialize_der();
        let (_, body, _) = tlv(&pkcs8);
        let (_, _, rest) = tlv(body); // version
        let (_, _, rest) = tlv(rest); // algorithm
        let (tag, sec1, _) = tlv(rest);
        assert_eq!(tag, 0x04, "PKCS#8 privateKey OCTET STRING");
        let b64 = base64::engine::general_purpose::STANDARD.encode(sec1);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn public_roots_alone_are_enough_for_plain_profile_2() {
        let config = client_config(None, None).unwrap();
        assert!(!config.client_auth_cert_resolver.has_certs());
    }

    #[test]
    fn a_good_ca_bundle_is_accepted() {
        let pki = TestPki::new();
        client_config(Some(&pki.ca_pem), None).unwrap();
    }

    #[test]
    fn a_bundle_with_several_certificates_is_accepted() {
        let pki = TestPki::new();
        let other = rcgen::generate_simple_self_signed(vec!["other".to_string()]).unwrap();
        let bundle = pki.dir.path().join("bundle.pem");
        let text = format!(
            "{}\n{}",
            std::fs::read_to_string(&pki.ca_pem).unwrap(),
            other.cert.pem()
        );
        std::fs::write(&bundle, text).unwrap();
        client_config(Some(&bundle), None).unwrap();
    }

    #[test]
    fn an_empty_ca_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "").unwrap();
        let err = client_config(Some(&path), None).unwrap_err();
        assert_eq!(
            err,
            TlsSetupError::NoCertificate {
                file: TlsFile::CaBundle,
                path: path.clone()
            }
        );
        let text = err.to_string();
        assert!(
            text.contains("empty.pem") && text.contains("no PEM certificate"),
            "{text}"
        );
    }

    #[test]
    fn a_garbage_ca_file_is_refused_without_panicking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("garbage.pem");
        std::fs::write(&path, b"\x00\xffnot a certificate\n\x13\x37\n").unwrap();
        assert_eq!(
            client_config(Some(&path), None).unwrap_err(),
            TlsSetupError::NoCertificate {
                file: TlsFile::CaBundle,
                path
            }
        );
    }

    #[test]
    fn a_broken_pem_section_is_reported_as_invalid_pem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.pem");
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = client_config(Some(&path), None).unwrap_err();
        assert!(
            matches!(&err, TlsSetupError::InvalidPem { file: TlsFile::CaBundle, path: p, .. } if *p == path),
            "{err:?}"
        );
    }

    #[test]
    fn a_pem_certificate_with_a_bogus_body_is_a_bad_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bogus.pem");
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = client_config(Some(&path), None).unwrap_err();
        assert!(
            matches!(
                &err,
                TlsSetupError::BadCertificate {
                    file: TlsFile::CaBundle,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("bogus.pem"), "{err}");
    }

    #[test]
    fn a_missing_ca_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.pem");
        let err = client_config(Some(&path), None).unwrap_err();
        assert_eq!(
            err,
            TlsSetupError::Missing {
                file: TlsFile::CaBundle,
                path
            }
        );
        assert!(err.to_string().contains("nope.pem does not exist"), "{err}");
    }

    #[test]
    fn a_directory_is_unreadable_not_missing() {
        let dir = tempfile::tempdir().unwrap();
        let err = client_config(Some(dir.path()), None).unwrap_err();
        assert!(
            matches!(
                err,
                TlsSetupError::Unreadable {
                    file: TlsFile::CaBundle,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_fifo_or_device_in_place_of_a_pem_file_is_refused_at_once() {
        let pki = TestPki::new();
        let fifo = pki.dir.path().join("ca-fifo.pem");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let err = client_config(Some(&fifo), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "CA bundle {} cannot be read: it is a FIFO (named pipe), not a regular file",
                fifo.display()
            )
        );
        let (cert, _) = pki.client_pair(|k| k.serialize_pem());
        let err = client_config(None, Some((&cert, Path::new("/dev/zero")))).unwrap_err();
        assert!(
            matches!(
                err,
                TlsSetupError::Unreadable {
                    file: TlsFile::ClientKey,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_pkcs8_client_certificate_and_key_are_used() {
        let pki = TestPki::new();
        let (cert, key) = pki.client_pair(|k| k.serialize_pem());
        let config = client_config(Some(&pki.ca_pem), Some((&cert, &key))).unwrap();
        assert!(config.client_auth_cert_resolver.has_certs());
    }

    #[test]
    fn a_sec1_client_key_is_used() {
        let pki = TestPki::new();
        let (cert, key) = pki.client_pair(sec1_pem);
        assert!(
            std::fs::read_to_string(&key)
                .unwrap()
                .contains("BEGIN EC PRIVATE KEY")
        );
        let config = client_config(None, Some((&cert, &key))).unwrap();
        assert!(config.client_auth_cert_resolver.has_certs());
    }

    #[test]
    fn a_key_file_without_a_key_is_reported() {
        let pki = TestPki::new();
        // The certificate file given as the key: PEM, but no key in it.
        let (cert, _) = pki.client_pair(|k| k.serialize_pem());
        let err = client_config(None, Some((&cert, &cert))).unwrap_err();
        assert_eq!(err, TlsSetupError::NoKey { path: cert });
    }

    #[test]
    fn a_missing_client_key_names_the_key_file() {
        let pki = TestPki::new();
        let (cert, _) = pki.client_pair(|k| k.serialize_pem());
        let key = pki.dir.path().join("absent.key");
        let err = client_config(None, Some((&cert, &key))).unwrap_err();
        assert_eq!(
            err,
            TlsSetupError::Missing {
                file: TlsFile::ClientKey,
                path: key
            }
        );
    }

    #[test]
    fn a_certificate_with_someone_elses_key_is_refused() {
        let pki = TestPki::new();
        let (cert, _) = pki.client_pair(|k| k.serialize_pem());
        let stranger = pki.dir.path().join("stranger.key");
        std::fs::write(&stranger, KeyPair::generate().unwrap().serialize_pem()).unwrap();
        let err = client_config(None, Some((&cert, &stranger))).unwrap_err();
        assert!(matches!(err, TlsSetupError::ClientAuth { .. }), "{err:?}");
        assert!(err.to_string().contains("stranger.key"), "{err}");
    }
}
