//! `envfile::parse` on arbitrary text: never a panic, names always valid, errors name a line
//! of the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocpp_station::envfile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match envfile::parse(text) {
        Ok(pairs) => {
            for (key, _) in pairs {
                let mut chars = key.chars();
                assert!(
                    chars
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
                );
            }
        }
        Err(error) => {
            let lines = text.split('\n').count();
            assert!(error.line().is_some_and(|line| (1..=lines).contains(&line)));
        }
    }
});
