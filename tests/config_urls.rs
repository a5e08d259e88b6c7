//! Property test of the CSMS URL variables: whatever text `OCPP_201_URL` (or `--url-201`)
//! holds, the configuration either refuses it, naming the variable, or yields a URL whose host,
//! port and path are exactly what an independent WHATWG parse of that text says (the path with
//! the identity appended unless it already ends with it); and the password shows in no error,
//! summary, warning or debug output.
//!
//! The dialler connects to `CsmsUrl::host()`/`port()` and requests `path()` (the unit test
//! `link::dial::tests::the_dial_goes_to_the_parsed_host_port_and_path` checks that on a real
//! socket), so equal accessors mean the station dials what the text says.
//!
//! The daemon's own consumers (its log and the status file) get the canonical URL too; `--once`'s
//! report is checked in `tests/once.rs`.
//!
//! Inputs come from a deterministic generator (the same cases on every run): URLs assembled from
//! pieces that are nearly right or famously wrong (credentials, `?`/`#`/`@`/`\` in odd places,
//! ports out of range, empty hosts, IPv6, dot segments, percent escapes), then mutated.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure with a message"
)]

mod common;

use ocpp_station::config::{self, CliOverrides, ConfigError};
use ocpp_station::link::csms_url::DialHost;
use ocpp_station::ocpp::OcppVersion;
use percent_encoding::percent_decode_str;
use url::{Host, Url};

const PASSWORD: &str = "pw-S3cr3t";
const IDENTITY: &str = "CP_01";

/// xorshift64*: the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// One part of a URL: pieces that are right, and pieces that are nearly right or famously
/// wrong. A generated URL takes a right piece for each part five times out of six.
struct Part {
    good: &'static [&'static str],
    bad: &'static [&'static str],
}

const PARTS: &[Part] = &[
    Part {
        good: &["ws://", "wss://", "WSS://", "Ws://"],
        bad: &["http://", "ws:/", "ws:", "", "wss:///", "ws:\\\\"],
    },
    Part {
        good: &[""],
        bad: &[
            "CP_01:pw-S3cr3t@",
            "user@",
            "@",
            ":@",
            "CP_01:pw-S3cr3t?x@",
            "CP_01:pw-S3cr3t#x@",
            "CP_01:pw/S3cr3t@",
            "pw-S3cr3t@",
            "a:b@c@",
        ],
    },
    Part {
        good: &[
            "csms.example.com",
            "CSMS.Example.COM",
            "127.0.0.1",
            "[::1]",
            "localhost",
            "bücher.example",
            "xn--bcher-kva.example",
            "a_b.example",
            "%31%32%37.0.0.1",
            "0x7f.1",
        ],
        bad: &[
            "[::1",
            "",
            "a..b",
            "999.1.1.1",
            "exa mple",
            "pw-S3cr3t",
            "a<b",
        ],
    },
    Part {
        good: &["", ":1", ":80", ":443", ":8080", ":65535", ":080", ":"],
        bad: &[":0", ":65536", ":99999", ":-1", ":x"],
    },
    Part {
        good: &[
            "",
            "/",
            "/ocpp",
            "/ocpp/",
            "/ocpp/CP_01",
            "/ocpp/CP%5F01",
            "/ocpp/CP_01/",
            "/ocpp/CP_011",
            "//",
            "/a/../ocpp",
            "/./x",
            "/%2e%2e/y",
            "\\ocpp",
            "/a@b",
            "/ü",
            "/%",
            "/%zz",
            "/a|b^c[d]",
        ],
        bad: &["/pw-S3cr3t", "/sp ace", "/a\tb"],
    },
    Part {
        good: &[""],
        bad: &["?", "?x=1", "#", "#frag", "?a@b", "#?@", "\n"],
    },
];

/// Spliced in by mutations.
const SPECIALS: &[&str] = &[
    "@",
    ":",
    "/",
    "\\",
    "?",
    "#",
    "%",
    "[",
    "]",
    " ",
    "\t",
    "pw-S3cr3t",
    "..",
    "%2F",
    "\u{0}",
];

fn generate(rng: &mut Rng) -> String {
    let mut text = String::new();
    for part in PARTS {
        let pieces = if rng.below(6) < 5 {
            part.good
        } else {
            part.bad
        };
        text.push_str(rng.pick(pieces));
    }
    // Mutations in one case out of three.
    let mutations = if rng.below(3) == 0 {
        1 + rng.below(2)
    } else {
        0
    };
    for _ in 0..mutations {
        let chars: Vec<char> = text.chars().collect();
        let at = rng.below(chars.len() + 1).min(chars.len());
        let (before, after) = chars.split_at(at);
        let mut mutated: String = before.iter().collect();
        match rng.below(3) {
            0 => {
                mutated.push_str(rng.pick(SPECIALS));
                mutated.extend(after);
            }
            // Drop one character.
            1 => mutated.extend(after.iter().skip(1)),
            _ => {
                mutated.push(char::from(b'!' + rng.below(94) as u8));
                mutated.extend(after);
            }
        }
        text = mutated;
    }
    text.trim().to_owned()
}

fn load(url: &str, as_flag: bool) -> Result<config::Config, ConfigError> {
    let mut env = vec![
        ("OCPP_STATION_NAME".to_owned(), IDENTITY.to_owned()),
        ("OCPP_STATION_PASSWORD".to_owned(), PASSWORD.to_owned()),
    ];
    let mut cli = CliOverrides::default();
    if as_flag {
        env.push((
            "OCPP_201_URL".to_owned(),
            "wss://placeholder.example/ocpp".to_owned(),
        ));
        cli.url_201 = Some(url.to_owned());
    } else {
        env.push(("OCPP_201_URL".to_owned(), url.to_owned()));
    }
    config::load(env, None, &cli)
}

/// What the WHATWG parse of `text` says the dialler must use.
fn expected_target(text: &str) -> (DialHost, u16, String) {
    let parsed = Url::parse(text).unwrap_or_else(|e| panic!("{text:?} was accepted: {e}"));
    assert!(
        parsed.username().is_empty()
            && parsed.password().is_none()
            && parsed.query().is_none()
            && parsed.fragment().is_none(),
        "{text:?} carries credentials, a query or a fragment"
    );
    assert!(
        matches!(parsed.scheme(), "ws" | "wss"),
        "{text:?} is not ws/wss"
    );
    let host = match parsed.host() {
        Some(Host::Domain(name)) => DialHost::Name(name.to_owned()),
        Some(Host::Ipv4(ip)) => DialHost::Ip(ip.into()),
        Some(Host::Ipv6(ip)) => DialHost::Ip(ip.into()),
        None => panic!("{text:?} has no host"),
    };
    let port = parsed
        .port_or_known_default()
        .expect("ws and wss have default ports");
    assert_ne!(port, 0, "{text:?}");
    let base = parsed.path().trim_end_matches('/');
    let last = base.rsplit('/').next().unwrap_or_default();
    let path = if !last.is_empty() && percent_decode_str(last).decode_utf8_lossy() == IDENTITY {
        base.to_owned()
    } else {
        format!("{base}/{IDENTITY}")
    };
    (host, port, path)
}

#[test]
fn a_url_is_refused_or_dialled_as_written_and_never_shows_the_password() {
    let mut rng = Rng(0x005e_ed0f_ca11_ab1e);
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..30_000 {
        let text = generate(&mut rng);
        let as_flag = case % 4 == 0;
        match load(&text, as_flag) {
            Err(error) => {
                refused += 1;
                assert_eq!(error.variable(), Some("OCPP_201_URL"), "{text:?}: {error}");
                let label = if as_flag { "--url-201" } else { "OCPP_201_URL" };
                let shown = error.to_string();
                assert!(shown.starts_with(label), "{text:?}: {shown}");
                for output in [shown, format!("{error:?}")] {
                    assert!(!output.contains(PASSWORD), "{text:?}: {output}");
                }
            }
            Ok(cfg) => {
                accepted += 1;
                let dialled = cfg.endpoint(OcppVersion::V201).unwrap();
                let (host, port, path) = expected_target(&text);
                assert_eq!(dialled.host(), host, "{text:?} -> {dialled}");
                assert_eq!(dialled.port(), port, "{text:?} -> {dialled}");
                assert_eq!(dialled.path(), path, "{text:?} -> {dialled}");
                assert_eq!(dialled.is_tls(), dialled.starts_with("wss://"));
                for output in [
                    dialled.to_string(),
                    cfg.summary(),
                    cfg.warnings.join("\n"),
                    format!("{cfg:?}"),
                ] {
                    assert!(!output.contains(PASSWORD), "{text:?}: {output}");
                }
            }
        }
    }
    // The generator must exercise both sides.
    assert!(
        accepted > 3_000 && refused > 3_000,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn the_fleet_forms_are_kept() {
    for (text, dialled) in [
        (
            "wss://csms.example/ocpp/CP_01",
            "wss://csms.example/ocpp/CP_01",
        ),
        (
            "wss://csms.example/ocpp/CP%5F01",
            "wss://csms.example/ocpp/CP%5F01",
        ),
        ("wss://csms.example/ocpp", "wss://csms.example/ocpp/CP_01"),
    ] {
        let cfg = load(text, false).unwrap();
        assert_eq!(cfg.endpoint(OcppVersion::V201).unwrap().as_str(), dialled);
    }
}

#[test]
fn the_daemon_logs_and_publishes_the_canonical_url() {
    let csms = common::Csms::start(common::csms_config());
    let given = format!("WS://LOCALHOST:{}/ocpp201/", csms.port());
    let env = common::Env::for_csms(&csms)
        .unset("OCPP_16_URL")
        .set("OCPP_201_URL", &given);
    let runtime = std::path::PathBuf::from(env.get("OCPP_RUNTIME_DIR").unwrap());
    let mut daemon = common::spawn_daemon(&env.pairs());
    csms.wait_for(
        |e| common::is_call(e) && e["action"] == "StatusNotification",
        common::DEADLINE,
    );
    let canonical = format!(
        "ws://localhost:{}/ocpp201/{}",
        csms.port(),
        common::STATION_NAME
    );
    let mut endpoint = None;
    for _ in 0..common::DEADLINE * 5 {
        endpoint = ocpp_station::status_file::read(&runtime)
            .ok()
            .and_then(|status| status.link.endpoint);
        if endpoint.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(endpoint.as_deref(), Some(canonical.as_str()));
    daemon.terminate();
    let log = daemon.stderr();
    assert!(log.contains(&canonical), "{log}");
    assert!(!log.contains(&given), "{log}");
}
