//! `status_file::parse` then what `ocpp-station status` shows of it: never a panic, and no
//! control character in the table, the `--json` line or the error.
#![no_main]

use std::path::Path;

use chrono::TimeZone as _;
use libfuzzer_sys::fuzz_target;
use ocpp_station::{redact, status_cmd, status_file};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("/run/ocpp-station/status.json");
    match status_file::parse(path, data) {
        Ok((status, value)) => {
            let Some(now) = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single() else {
                return;
            };
            let table = status_cmd::render(&status, now);
            assert!(!table.lines().any(|l| l.chars().any(char::is_control)), "{table:?}");
            let line = redact::json_printable(&value.to_string()).into_owned();
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
        Err(error) => {
            let shown = error.to_string();
            assert!(!shown.chars().any(char::is_control), "{shown:?}");
        }
    }
});
