//! Measuring the machine: sysinfo for CPU, memory, load, uptime, filesystems and the station's
//! own process; sysfs for the SoC temperature and the firmware's throttling flags.
//!
//! A sample refreshes only what it reports (the CPU counters, the memory table, the two
//! filesystems, this one process), so taking one every few seconds costs little on a Pi.

use std::path::{Path, PathBuf};

use sysinfo::{
    CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, Pid, ProcessRefreshKind,
    ProcessesToUpdate, System,
};

use super::{DiskUse, Sample, sysfs};

/// Where the sampler looks; injectable so that tests use fake trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplerPaths {
    /// The kernel's thermal zones, normally `/sys/class/thermal`.
    pub thermal_dir: PathBuf,
    /// The Raspberry Pi firmware's throttling flags, normally
    /// `/sys/devices/platform/soc/soc:firmware/get_throttled` (absent on other machines).
    pub throttled_file: PathBuf,
    /// The station's state directory (`OCPP_STATE_DIR`): its filesystem is reported as
    /// `disk_state`.
    pub state_dir: PathBuf,
}

impl SamplerPaths {
    /// The real locations, with the state directory from the configuration.
    pub fn system(state_dir: PathBuf) -> Self {
        Self {
            thermal_dir: PathBuf::from("/sys/class/thermal"),
            throttled_file: PathBuf::from("/sys/devices/platform/soc/soc:firmware/get_throttled"),
            state_dir,
        }
    }
}

/// One filesystem being watched: the path it is found by and the sysinfo disk it resolved to.
#[derive(Debug)]
struct Watched {
    path: PathBuf,
    /// The device number the path was on when `disk` was chosen.
    device: Option<u64>,
    /// Index into the disk list.
    disk: Option<usize>,
}

/// Takes [`Sample`]s. Keeps the previous CPU counters, so `cpu_percent` is the average since
/// the previous sample (or since [`Sampler::new`] for the first one).
#[derive(Debug)]
pub struct Sampler {
    paths: SamplerPaths,
    /// `None` only where sysinfo does not support the platform; CPU and memory then read 0.
    system: Option<System>,
    disks: Option<Disks>,
    root: Watched,
    state: Watched,
    pid: Pid,
}

impl Sampler {
    /// A sampler for `paths`. Reads the CPU counters once so that the first sample has
    /// something to compare with, and the mount table once to find the two filesystems.
    pub fn new(paths: SamplerPaths) -> Self {
        let mut system = System::new().ok();
        if let Some(system) = &mut system {
            system.refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
        }
        let disks = Disks::new().ok();
        let watched = |path: PathBuf| Watched {
            path,
            device: None,
            disk: None,
        };
        let mut sampler = Self {
            system,
            disks,
            root: watched(PathBuf::from("/")),
            state: watched(paths.state_dir.clone()),
            paths,
            pid: Pid::from_u32(std::process::id()),
        };
        sampler.resolve_disks();
        sampler
    }

    /// Measures the machine now. Never fails: whatever cannot be measured is `None` (or 0 for
    /// the few numbers every Linux has).
    pub fn sample(&mut self) -> Sample {
        let (cpu_percent, memory_used_bytes, memory_total_bytes, process_rss_bytes) =
            match &mut self.system {
                Some(system) => {
                    system.refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
                    system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
                    system.refresh_processes_specifics(
                        ProcessesToUpdate::Some(&[self.pid]),
                        true,
                        ProcessRefreshKind::nothing().with_memory(),
                    );
                    (
                        finite(system.global_cpu_usage()).clamp(0.0, 100.0),
                        system.used_memory(),
                        system.total_memory(),
                        system.process(self.pid).map(|p| p.memory()),
                    )
                }
                None => (0.0, 0, 0, None),
            };
        let load_average = System::load_average()
            .map(|l| [l.one, l.five, l.fifteen].map(|v| finite(v).max(0.0)))
            .unwrap_or([0.0; 3]);
        let (disk_root, disk_state) = self.disk_use();
        Sample {
            cpu_percent,
            load_average,
            memory_used_bytes,
            memory_total_bytes,
            soc_temp_c: sysfs::read_soc_temperature(&self.paths.thermal_dir),
            disk_root,
            disk_state,
            uptime_seconds: System::uptime().unwrap_or(0),
            throttled: sysfs::read_throttled(&self.paths.throttled_file),
            process_rss_bytes,
        }
    }

    /// Refreshes the space of the (at most two) watched filesystems and reports them. The
    /// mount table is read again only when a watched path has moved to another device (the
    /// state directory was created or mounted after start), not on every sample.
    fn disk_use(&mut self) -> (Option<DiskUse>, Option<DiskUse>) {
        let moved = [&self.root, &self.state]
            .iter()
            .any(|w| device_of(&w.path) != w.device);
        if moved {
            self.resolve_disks();
        }
        let Some(disks) = &mut self.disks else {
            return (None, None);
        };
        let mut use_of = |watched: &Watched| {
            let disk = disks.get_mut(watched.disk?)?;
            disk.refresh_specifics(DiskRefreshKind::nothing().with_storage());
            DiskUse::from_space(disk.total_space(), disk.available_space())
        };
        (use_of(&self.root), use_of(&self.state))
    }

    /// Reads the mount table and finds the filesystem each watched path is on, by device
    /// number: exact even for nested mounts and bind mounts, where comparing path prefixes
    /// is not.
    fn resolve_disks(&mut self) {
        let Some(disks) = &mut self.disks else {
            return;
        };
        disks.refresh_specifics(true, DiskRefreshKind::nothing().with_storage());
        for watched in [&mut self.root, &mut self.state] {
            watched.device = device_of(&watched.path);
            watched.disk = watched
                .device
                .and_then(|device| disks.iter().position(|d| d.id() == Some(device)));
        }
    }
}

/// The device number of the filesystem holding `path`, or of its nearest existing ancestor
/// (the state directory may not exist yet; it will be created on that filesystem).
#[cfg(unix)]
fn device_of(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    path.ancestors()
        .find_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.dev())
}

#[cfg(not(unix))]
fn device_of(_path: &Path) -> Option<u64> {
    None
}

/// NaN and infinities would serialize as JSON `null` and break every reader; 0 instead.
fn finite<T: Into<f64> + Copy + Default>(value: T) -> T {
    if value.into().is_finite() {
        value
    } else {
        T::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::fs;

    fn fake_paths(root: &Path) -> SamplerPaths {
        SamplerPaths {
            thermal_dir: root.join("thermal"),
            throttled_file: root.join("get_throttled"),
            state_dir: root.join("state"),
        }
    }

    #[test]
    fn the_system_locations() {
        let paths = SamplerPaths::system("/var/lib/ocpp-station".into());
        assert_eq!(paths.thermal_dir, Path::new("/sys/class/thermal"));
        assert_eq!(
            paths.throttled_file,
            Path::new("/sys/devices/platform/soc/soc:firmware/get_throttled")
        );
        assert_eq!(paths.state_dir, Path::new("/var/lib/ocpp-station"));
    }

    #[test]
    fn a_machine_without_thermal_zones_or_firmware_flags() {
        let dir = tempfile::tempdir().unwrap();
        let mut sampler = Sampler::new(fake_paths(dir.path()));
        let sample = sampler.sample();
        assert_eq!(sample.soc_temp_c, None);
        assert_eq!(sample.throttled, None);
        assert!((0.0..=100.0).contains(&sample.cpu_percent), "{sample:?}");
        assert!(sample.memory_total_bytes > 0, "{sample:?}");
        assert!(sample.memory_used_bytes <= sample.memory_total_bytes);
        assert!(sample.load_average.iter().all(|l| *l >= 0.0));
        assert!(sample.uptime_seconds > 0);
        assert!(sample.process_rss_bytes.is_some_and(|rss| rss > 0));
        let json = serde_json::to_string(&sample).unwrap();
        assert!(!json.contains("null"), "{json}");
    }

    #[test]
    fn the_fake_sysfs_tree_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let zone = dir.path().join("thermal").join("thermal_zone0");
        fs::create_dir_all(&zone).unwrap();
        fs::write(zone.join("type"), "cpu-thermal\n").unwrap();
        fs::write(zone.join("temp"), "71234\n").unwrap();
        fs::write(dir.path().join("get_throttled"), "50005\n").unwrap();
        let mut sampler = Sampler::new(fake_paths(dir.path()));
        let sample = sampler.sample();
        assert_eq!(sample.soc_temp_c, Some(71.234));
        let throttled = sample.throttled.unwrap();
        assert!(throttled.under_voltage && throttled.under_voltage_occurred);

        // The files change between samples (the Pi recovers); garbage reads as not measured.
        fs::write(zone.join("temp"), "garbage").unwrap();
        fs::write(dir.path().join("get_throttled"), "").unwrap();
        let sample = sampler.sample();
        assert_eq!((sample.soc_temp_c, sample.throttled), (None, None));
    }

    #[test]
    fn the_state_filesystem_is_found_before_and_after_the_directory_exists() {
        let dir = tempfile::tempdir().unwrap();
        let paths = fake_paths(dir.path());
        let mut sampler = Sampler::new(paths.clone());
        let before = sampler.sample();
        fs::create_dir_all(&paths.state_dir).unwrap();
        let after = sampler.sample();
        // Where the temporary directory's filesystem is one sysinfo lists (not tmpfs, which it
        // leaves out), it is measured; either way the two samples agree on whether it is.
        assert_eq!(before.disk_state.is_some(), after.disk_state.is_some());
        for disk in [before.disk_root, before.disk_state, after.disk_state]
            .into_iter()
            .flatten()
        {
            assert!(disk.total_bytes > 0 && disk.used_bytes <= disk.total_bytes);
            assert!((0.0..=100.0).contains(&disk.percent), "{disk:?}");
        }
    }

    #[test]
    fn the_root_filesystem_is_measured_where_it_is_a_real_one() {
        // A container's root can be an overlay, which sysinfo lists; only pseudo filesystems
        // are left out, and "/" is never one of those on a machine that runs the station.
        let dir = tempfile::tempdir().unwrap();
        let sample = Sampler::new(fake_paths(dir.path())).sample();
        assert!(sample.disk_root.is_some(), "{sample:?}");
    }

    #[test]
    fn finite_replaces_nan_and_infinity() {
        assert_eq!(finite(f32::NAN), 0.0);
        assert_eq!(finite(f64::INFINITY), 0.0);
        assert_eq!(finite(12.5f32), 12.5);
    }
}
