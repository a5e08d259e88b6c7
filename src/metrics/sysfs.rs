//! The two values sysinfo does not give: the SoC temperature from the kernel's thermal zones and
//! the Raspberry Pi firmware's throttling flags. Both are small sysfs text files that may be
//! missing, empty or odd on a given board; anything unexpected reads as "not measured".

use std::fs;
use std::path::Path;

use super::Throttled;
use crate::bounded_file;

/// Zone types that are the SoC or CPU package itself, in order of preference: `cpu-thermal` on
/// Raspberry Pi OS kernels, `soc-thermal` on other ARM boards, `x86_pkg_temp` on a PC.
const SOC_ZONE_TYPES: &[&str] = &["cpu-thermal", "soc-thermal", "x86_pkg_temp"];

/// Readings outside this range (°C) are sensor errors (a missing sensor often reads -273 or
/// 255); taking one for real would fault the station for nothing.
const PLAUSIBLE_C: std::ops::RangeInclusive<f32> = -60.0..=150.0;

/// sysfs attributes are a page at most; reading more protects against a path that is
/// mistakenly a large file.
const MAX_ATTRIBUTE_BYTES: u64 = 4096;

/// The SoC temperature in °C from `thermal_dir` (normally `/sys/class/thermal`): the first
/// zone, by zone number, whose `type` names the SoC or CPU package; without one, the first zone
/// that has a reading. `None` when there is no zone or no usable reading.
pub fn read_soc_temperature(thermal_dir: &Path) -> Option<f32> {
    let Ok(entries) = fs::read_dir(thermal_dir) else {
        return None;
    };
    let mut zones: Vec<(u32, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let number = name.strip_prefix("thermal_zone")?.parse().ok()?;
            Some((number, name))
        })
        .collect();
    zones.sort();
    let zone_type = |name: &str| read_attribute(&thermal_dir.join(name).join("type"));
    let temperature = |name: &str| {
        read_attribute(&thermal_dir.join(name).join("temp")).and_then(|t| parse_millidegrees(&t))
    };
    let preferred = SOC_ZONE_TYPES.iter().find_map(|wanted| {
        zones
            .iter()
            .filter(|(_, name)| zone_type(name).as_deref() == Some(wanted))
            .find_map(|(_, name)| temperature(name))
    });
    preferred.or_else(|| zones.iter().find_map(|(_, name)| temperature(name)))
}

/// A thermal zone's `temp`: whole millidegrees Celsius (negative below zero).
fn parse_millidegrees(text: &str) -> Option<f32> {
    let milli: i64 = text.parse().ok()?;
    let celsius = (milli as f64 / 1000.0) as f32;
    PLAUSIBLE_C.contains(&celsius).then_some(celsius)
}

/// The firmware's throttling flags from `path` (normally
/// `/sys/devices/platform/soc/soc:firmware/get_throttled`, readable without root on Raspberry Pi
/// OS kernels). `None` when the file is missing (not a Pi) or does not hold a bit field.
pub fn read_throttled(path: &Path) -> Option<Throttled> {
    read_attribute(path).and_then(|text| parse_throttled(&text))
}

/// The bit field as the kernel prints it (hexadecimal, `50005`), also accepted as `vcgencmd
/// get_throttled` prints it (`throttled=0x50005`).
pub fn parse_throttled(text: &str) -> Option<Throttled> {
    let text = text.trim();
    let text = text.strip_prefix("throttled=").unwrap_or(text);
    let hex = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    // from_str_radix would accept a sign; the firmware never prints one.
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok().map(Throttled::from_raw)
}

/// A sysfs attribute's text, trimmed; `None` when it is missing, unreadable, not a regular file
/// (a FIFO or device in a fake or odd tree is never waited on), not UTF-8 or empty. Attribute
/// files state a nominal size (a page), so the first bytes are read rather than the stated size
/// trusted.
fn read_attribute(path: &Path) -> Option<String> {
    let bytes = bounded_file::read_prefix(path, MAX_ATTRIBUTE_BYTES).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A fake `/sys/class/thermal` with the given zones: (number, type, temp).
    fn thermal(zones: &[(u32, Option<&str>, Option<&str>)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (number, kind, temp) in zones {
            let zone = dir.path().join(format!("thermal_zone{number}"));
            fs::create_dir(&zone).unwrap();
            if let Some(kind) = kind {
                fs::write(zone.join("type"), format!("{kind}\n")).unwrap();
            }
            if let Some(temp) = temp {
                fs::write(zone.join("temp"), temp).unwrap();
            }
        }
        dir
    }

    #[test]
    fn a_raspberry_pi_zone_in_millidegrees() {
        let dir = thermal(&[(0, Some("cpu-thermal"), Some("48850\n"))]);
        assert_eq!(read_soc_temperature(dir.path()), Some(48.85));
    }

    #[test]
    fn the_soc_zone_wins_over_earlier_zones() {
        let dir = thermal(&[
            (0, Some("acpitz"), Some("27800")),
            (1, Some("x86_pkg_temp"), Some("61000")),
            (2, Some("iwlwifi_1"), Some("40000")),
        ]);
        assert_eq!(read_soc_temperature(dir.path()), Some(61.0));
        let dir = thermal(&[
            (0, Some("gpu-thermal"), Some("45000")),
            (1, Some("soc-thermal"), Some("52000")),
        ]);
        assert_eq!(read_soc_temperature(dir.path()), Some(52.0));
    }

    #[test]
    fn without_a_soc_zone_the_first_zone_by_number() {
        let dir = thermal(&[
            (10, Some("b"), Some("10000")),
            (2, Some("a"), Some("20000")),
        ]);
        assert_eq!(read_soc_temperature(dir.path()), Some(20.0));
    }

    #[test]
    fn below_zero_is_a_temperature() {
        let dir = thermal(&[(0, Some("cpu-thermal"), Some("-5500"))]);
        assert_eq!(read_soc_temperature(dir.path()), Some(-5.5));
    }

    #[test]
    fn odd_files_are_skipped_and_none_is_the_answer_when_nothing_is_left() {
        // A broken SoC zone falls back to another zone's reading.
        let dir = thermal(&[
            (0, Some("acpitz"), Some("30000")),
            (1, Some("cpu-thermal"), Some("")),
        ]);
        assert_eq!(read_soc_temperature(dir.path()), Some(30.0));

        for temp in [
            Some(""),
            Some("\n"),
            Some("garbage"),
            Some("48.5"),
            Some("99999999999999999999999"),
            Some("-273150"),
            Some("255000"),
            Some("\u{0}\u{ff}"),
            None,
        ] {
            let dir = thermal(&[(0, Some("cpu-thermal"), temp)]);
            assert_eq!(read_soc_temperature(dir.path()), None, "{temp:?}");
        }
        let dir = thermal(&[(0, None, None)]);
        assert_eq!(read_soc_temperature(dir.path()), None);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(read_soc_temperature(empty.path()), None);
        assert_eq!(
            read_soc_temperature(&empty.path().join("no-such-dir")),
            None
        );
        // Entries that are not zones (cooling devices live in the same directory) are ignored.
        let dir = thermal(&[]);
        fs::create_dir(dir.path().join("cooling_device0")).unwrap();
        fs::write(dir.path().join("cooling_device0").join("temp"), "50000").unwrap();
        fs::write(dir.path().join("thermal_zonex"), "").unwrap();
        assert_eq!(read_soc_temperature(dir.path()), None);
    }

    #[test]
    fn a_temp_that_is_a_directory_is_not_a_panic() {
        let dir = thermal(&[(0, Some("cpu-thermal"), None)]);
        fs::create_dir(dir.path().join("thermal_zone0").join("temp")).unwrap();
        assert_eq!(read_soc_temperature(dir.path()), None);
    }

    #[test]
    fn fifos_and_devices_in_the_tree_read_as_not_measured_without_waiting() {
        let dir = thermal(&[(0, Some("cpu-thermal"), None)]);
        let fifo = dir.path().join("thermal_zone0").join("temp");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(read_soc_temperature(dir.path()), None);
        let throttled = dir.path().join("get_throttled");
        nix::unistd::mkfifo(&throttled, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(read_throttled(&throttled), None);
        assert_eq!(read_throttled(Path::new("/dev/zero")), None);
    }

    #[test]
    fn throttled_as_the_kernel_and_vcgencmd_print_it() {
        for (text, raw) in [
            ("0\n", 0),
            ("50005\n", 0x50005),
            ("0x50005", 0x50005),
            ("throttled=0x50005\n", 0x50005),
            ("  80008 ", 0x80008),
            ("ffffffff", u32::MAX),
        ] {
            assert_eq!(parse_throttled(text).map(|t| t.raw), Some(raw), "{text:?}");
        }
        for text in ["", "0x", "-1", "+5", "zz", "1ffffffff", "0x 5", "5 5"] {
            assert_eq!(parse_throttled(text), None, "{text:?}");
        }
    }

    #[test]
    fn the_throttled_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("get_throttled");
        assert_eq!(read_throttled(&path), None, "missing: not a Pi");
        for (content, expected) in [
            (&b"50005\n"[..], Some(0x50005)),
            (b"", None),
            (b"\xff\xfe", None),
            (b"garbage", None),
        ] {
            fs::write(&path, content).unwrap();
            assert_eq!(read_throttled(&path).map(|t| t.raw), expected);
        }
        assert_eq!(read_throttled(&PathBuf::from(dir.path())), None);
    }
}
