//! `--once` over wss:// (security profile 2): the CSMS certificate is issued by a private CA,
//! which the station trusts only through `OCPP_CA_PATH`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;

use std::path::{Path, PathBuf};

use common::{Csms, Env, STATION_NAME, csms_config_with, dump, run_once, validate_once_report};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::json;

/// A private CA and a server certificate for `localhost` / 127.0.0.1 signed by it.
struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn make_pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ocpp-station test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();

    let write = |name: &str, text: String| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    Pki {
        ca: write("ca.pem", ca_cert.pem()),
        cert: write("server.pem", cert.pem()),
        key: write("server.key", key.serialize_pem()),
        _dir: dir,
    }
}

fn tls_csms(pki: &Pki) -> Csms {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    Csms::start(csms_config_with(json!({
        "tls": {"cert": path(&pki.cert), "key": path(&pki.key)}
    })))
}

fn tls_env(csms: &Csms) -> Env {
    let port = csms.port();
    Env::for_csms(csms)
        .set("OCPP_201_URL", &format!("wss://localhost:{port}/ocpp201"))
        .set("OCPP_16_URL", &format!("wss://localhost:{port}/ocpp16"))
}

#[test]
fn wss_with_the_private_ca_is_accepted() {
    let pki = make_pki();
    let csms = tls_csms(&pki);
    let env = tls_env(&csms).set("OCPP_CA_PATH", &pki.ca.to_string_lossy());
    let run = run_once(&env.pairs(), &[]);
    run.assert_one_json_line();
    assert_eq!(run.code, 0, "{}", run.context());
    validate_once_report(&run.report);
    assert_eq!(run.report["result"], "accepted");
    assert_eq!(run.report["subprotocol"], "ocpp2.0.1");
    let endpoint = format!("wss://localhost:{}/ocpp201/{STATION_NAME}", csms.port());
    assert_eq!(run.report["endpoint"], endpoint.as_str());
    let connected = csms.wait_for(|e| e["event"] == "connected", common::DEADLINE);
    assert_eq!(connected["tls"], true);
    assert_eq!(connected["authorization"], "ok");
    csms.assert_no_validation_errors();
}

#[test]
fn wss_without_the_ca_is_a_tls_error() {
    let pki = make_pki();
    let csms = tls_csms(&pki);
    let run = run_once(&tls_env(&csms).pairs(), &[]);
    run.assert_one_json_line();
    assert_eq!(run.code, 3, "{}", run.context());
    validate_once_report(&run.report);
    assert_eq!(run.report["result"], "connect_failed");
    let outcomes = run.outcomes();
    assert!(
        !outcomes.is_empty() && outcomes.iter().all(|o| o == "tls_error"),
        "{}",
        run.context()
    );
    assert!(
        !csms.events().iter().any(|e| e["event"] == "connected"),
        "an unverified server gets no upgrade:\n{}",
        dump(&csms.events())
    );
}
