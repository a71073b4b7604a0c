//! Kernel-enforced CPU limits for local replicas: each replica's whole process tree in a
//! cgroup of its own, its quota per 100 ms period set from the CPU limit as the kubelet sets a
//! container's, and its CPU read from the cgroup's own usage counter — the figure a metrics
//! server reports.
//!
//! - **cgroup v2** (one unified hierarchy): a folder under this process's own cgroup, when it
//!   is delegated to us (writable, `cpu` available to its children), with `cpu.max` =
//!   `QUOTA 100000` and usage from `cpu.stat` (`usage_usec`).
//! - **cgroup v1**: folders in the `cpu` hierarchy (`cpu.cfs_period_us` = 100000,
//!   `cpu.cfs_quota_us` = QUOTA) and in the `cpuacct` one (`cpuacct.usage`, ns), which may be
//!   the same mount.
//!
//! The files are written directly: a handful of writes and reads, which a crate would wrap in
//! more build time and a layout of its own. Where no cgroup can be made (macOS, a locked
//! container, cgroup v2 not delegated), [`Limiter::detect`] says why, and the caller says the
//! limit is not enforced.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// CFS period, as the kubelet sets it: 100 ms.
pub const PERIOD_US: u64 = 100_000;

/// Where replica cgroups can be made, or why they cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limiter {
    /// cgroup v2: replica folders go under `parent` (made by [`Limiter::detect`]).
    V2 { parent: PathBuf },
    /// cgroup v1: under `cpu` (limits) and `cpuacct` (usage), the same folder when co-mounted.
    V1 { cpu: PathBuf, cpuacct: PathBuf },
    /// No cgroup can be made here: why.
    Unavailable(String),
}

/// One replica's cgroup: the `cgroup.procs` files its process must be written to, and where
/// its usage is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaCgroup {
    dirs: Vec<PathBuf>,
    usage: Usage,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Usage {
    /// `cpu.stat`'s `usage_usec` (v2).
    CpuStat(PathBuf),
    /// `cpuacct.usage`, ns (v1).
    CpuAcct(PathBuf),
}

impl Limiter {
    /// Finds a cgroup hierarchy this process may create CPU-limited cgroups in, and makes the
    /// folder this run's replicas go under (`scaleproof-PID`). `SCALEPROOF_CGROUP=off` in the
    /// environment turns cgroups off (to compare, or where they misbehave).
    pub fn detect() -> Self {
        if std::env::var("SCALEPROOF_CGROUP").is_ok_and(|v| v == "off") {
            return Self::Unavailable("turned off (SCALEPROOF_CGROUP=off)".to_owned());
        }
        let mountinfo = match std::fs::read_to_string("/proc/self/mountinfo") {
            Ok(text) => text,
            Err(e) => {
                return Self::Unavailable(format!("no /proc/self/mountinfo ({e}): not Linux"));
            }
        };
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        Self::detect_in(
            &mountinfo,
            &own,
            &format!("scaleproof-{}", std::process::id()),
        )
    }

    fn detect_in(mountinfo: &str, own: &str, folder: &str) -> Self {
        let mounts = cgroup_mounts(mountinfo);
        let v1_cpu = mounts
            .iter()
            .find(|m| m.v1_controllers.iter().any(|c| c == "cpu"));
        let v1_acct = mounts
            .iter()
            .find(|m| m.v1_controllers.iter().any(|c| c == "cpuacct"));
        if let (Some(cpu), Some(acct)) = (v1_cpu, v1_acct) {
            let cpu_dir = cpu.point.join(own_path(own, "cpu")).join(folder);
            let acct_dir = acct.point.join(own_path(own, "cpuacct")).join(folder);
            return match make(&cpu_dir).and_then(|()| make(&acct_dir)) {
                Ok(()) => Self::V1 {
                    cpu: cpu_dir,
                    cpuacct: acct_dir,
                },
                Err(e) => Self::Unavailable(format!(
                    "cannot create a cgroup under {} ({e}); run as root or give this user a writable cpu hierarchy",
                    cpu.point.display()
                )),
            };
        }
        let Some(unified) = mounts.iter().find(|m| m.v2) else {
            return Self::Unavailable(
                "no cgroup filesystem with the cpu controller is mounted".to_owned(),
            );
        };
        let here = unified.point.join(own_path(own, ""));
        let parent = here.join(folder);
        if let Err(e) = make(&parent) {
            return Self::Unavailable(format!(
                "cgroup v2: cannot create {} ({e}); this process's cgroup is not delegated to it (try `systemd-run --user --scope -p Delegate=yes scaleproof …`)",
                parent.display()
            ));
        }
        let available =
            std::fs::read_to_string(parent.join("cgroup.controllers")).unwrap_or_default();
        if !available.split_whitespace().any(|c| c == "cpu") {
            let _ = std::fs::remove_dir(&parent);
            return Self::Unavailable(format!(
                "cgroup v2: the cpu controller is not enabled for {}'s children (its cgroup.subtree_control lacks cpu)",
                here.display()
            ));
        }
        if let Err(e) = std::fs::write(parent.join("cgroup.subtree_control"), "+cpu") {
            let _ = std::fs::remove_dir(&parent);
            return Self::Unavailable(format!(
                "cgroup v2: cannot enable the cpu controller under {} ({e})",
                parent.display()
            ));
        }
        Self::V2 { parent }
    }

    /// How the limit is enforced, in words for the banner and `run.json`.
    pub fn describe(&self) -> String {
        match self {
            Self::V2 { parent } => format!(
                "enforced by the kernel: cgroup v2 cpu.max per replica under {}",
                parent.display()
            ),
            Self::V1 { cpu, .. } => format!(
                "enforced by the kernel: cgroup v1 cpu.cfs_quota_us per replica under {}",
                cpu.display()
            ),
            Self::Unavailable(why) => format!("not enforced by the kernel: {why}"),
        }
    }

    /// True when replicas get cgroups.
    pub fn enforces(&self) -> bool {
        !matches!(self, Self::Unavailable(_))
    }

    /// Makes replica `name`'s cgroup with a quota of `limit_m` millicores per 100 ms period.
    pub fn create(&self, name: &str, limit_m: u32) -> std::io::Result<ReplicaCgroup> {
        let quota = u64::from(limit_m) * PERIOD_US / 1000;
        match self {
            Self::V2 { parent } => {
                let dir = parent.join(name);
                make(&dir)?;
                std::fs::write(dir.join("cpu.max"), format!("{quota} {PERIOD_US}"))?;
                Ok(ReplicaCgroup {
                    usage: Usage::CpuStat(dir.join("cpu.stat")),
                    dirs: vec![dir],
                })
            }
            Self::V1 { cpu, cpuacct } => {
                let limit = cpu.join(name);
                make(&limit)?;
                std::fs::write(limit.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
                std::fs::write(limit.join("cpu.cfs_quota_us"), quota.to_string())?;
                let acct = cpuacct.join(name);
                let mut dirs = vec![limit];
                // Co-mounted `cpu,cpuacct`: one folder serves both.
                if !dirs.contains(&acct) {
                    make(&acct)?;
                    dirs.push(acct.clone());
                }
                Ok(ReplicaCgroup {
                    usage: Usage::CpuAcct(acct.join("cpuacct.usage")),
                    dirs,
                })
            }
            Self::Unavailable(why) => Err(std::io::Error::other(why.clone())),
        }
    }

    /// Removes this run's folder (once its replica cgroups are gone).
    pub fn remove(&self) {
        match self {
            Self::V2 { parent } => {
                let _ = std::fs::remove_dir(parent);
            }
            Self::V1 { cpu, cpuacct } => {
                let _ = std::fs::remove_dir(cpu);
                let _ = std::fs::remove_dir(cpuacct);
            }
            Self::Unavailable(_) => {}
        }
    }
}

impl ReplicaCgroup {
    /// The `cgroup.procs` files a process is written to, to join this cgroup (its children
    /// then start in it).
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// Moves process `pid` (all its threads) into the cgroup.
    pub fn add(&self, pid: u32) -> std::io::Result<()> {
        for f in self.procs_files() {
            std::fs::write(f, pid.to_string())?;
        }
        Ok(())
    }

    /// CPU used by every process that has been in the cgroup.
    pub fn usage(&self) -> Option<Duration> {
        match &self.usage {
            Usage::CpuStat(file) => std::fs::read_to_string(file)
                .ok()?
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))
                .and_then(|v| v.trim().parse().ok())
                .map(Duration::from_micros),
            Usage::CpuAcct(file) => std::fs::read_to_string(file)
                .ok()?
                .trim()
                .parse()
                .ok()
                .map(Duration::from_nanos),
        }
    }

    /// The quota and period the kernel holds it to, µs (read back from the cgroup).
    pub fn limit(&self) -> Option<(u64, u64)> {
        let dir = &self.dirs[0];
        if let Ok(max) = std::fs::read_to_string(dir.join("cpu.max")) {
            let mut parts = max.split_whitespace();
            return Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?));
        }
        let read = |f: &str| -> Option<u64> {
            std::fs::read_to_string(dir.join(f))
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        Some((read("cpu.cfs_quota_us")?, read("cpu.cfs_period_us")?))
    }

    /// Removes the cgroup once its processes have exited (a cgroup with processes cannot be
    /// removed; the kernel empties it as they exit).
    pub fn remove(&self) {
        for d in &self.dirs {
            for _ in 0..50 {
                if std::fs::remove_dir(d).is_ok() || !d.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn make(dir: &Path) -> std::io::Result<()> {
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

#[derive(Debug)]
struct Mount {
    point: PathBuf,
    v2: bool,
    v1_controllers: Vec<String>,
}

/// cgroup mounts from `/proc/self/mountinfo`: `ID PARENT MAJ:MIN ROOT POINT OPTS … - TYPE
/// SOURCE SUPER_OPTS`.
fn cgroup_mounts(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let point = left.split_whitespace().nth(4)?;
            let mut right = right.split_whitespace();
            let kind = right.next()?;
            let _source = right.next();
            let options = right.next().unwrap_or_default();
            match kind {
                "cgroup2" => Some(Mount {
                    point: PathBuf::from(point),
                    v2: true,
                    v1_controllers: Vec::new(),
                }),
                "cgroup" => Some(Mount {
                    point: PathBuf::from(point),
                    v2: false,
                    v1_controllers: options.split(',').map(str::to_owned).collect(),
                }),
                _ => None,
            }
        })
        .collect()
}

/// This process's cgroup path in the hierarchy holding `controller` (`""`: the unified one),
/// relative (no leading `/`), from `/proc/self/cgroup` lines `ID:CONTROLLERS:PATH`.
fn own_path(own: &str, controller: &str) -> PathBuf {
    own.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _id = parts.next()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            let matches = if controller.is_empty() {
                controllers.is_empty()
            } else {
                controllers.split(',').any(|c| c == controller)
            };
            matches.then(|| PathBuf::from(path.trim_start_matches('/')))
        })
        .next()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = "30 25 0:26 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
31 25 0:27 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n\
32 25 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n";

    #[test]
    fn mounts_and_own_paths_are_read_as_the_kernel_writes_them() {
        let mounts = cgroup_mounts(V1);
        assert_eq!(mounts.len(), 3);
        assert_eq!(mounts[0].point, PathBuf::from("/sys/fs/cgroup/cpu"));
        assert_eq!(mounts[0].v1_controllers, ["rw", "cpu"]);
        let v2 = cgroup_mounts(
            "29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
        );
        assert!(v2[0].v2);
        let own = "4:memory:/a/b\n2:cpu,cpuacct:/user.slice\n0::/user.slice/session-1.scope\n";
        assert_eq!(own_path(own, "cpu"), PathBuf::from("user.slice"));
        assert_eq!(own_path(own, "cpuacct"), PathBuf::from("user.slice"));
        assert_eq!(
            own_path(own, ""),
            PathBuf::from("user.slice/session-1.scope")
        );
        assert_eq!(own_path(own, "pids"), PathBuf::new());
    }

    #[test]
    fn with_no_cgroup_mount_the_reason_is_given() {
        let none = Limiter::detect_in("22 1 0:21 / /proc rw - proc proc rw\n", "", "x");
        assert_eq!(
            none,
            Limiter::Unavailable(
                "no cgroup filesystem with the cpu controller is mounted".to_owned()
            )
        );
        assert!(!none.enforces());
        assert!(none.describe().starts_with("not enforced by the kernel: "));
        assert!(none.create("r", 500).is_err());
    }

    #[test]
    fn a_v1_hierarchy_that_cannot_be_written_is_refused_with_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ro = dir.path().join("ro");
        std::fs::create_dir(&ro).expect("mkdir");
        let info = format!(
            "30 25 0:26 / {} rw - cgroup cgroup rw,cpu,cpuacct\n",
            ro.join("missing").display()
        );
        match Limiter::detect_in(&info, "", "scaleproof-test") {
            Limiter::Unavailable(why) => {
                assert!(why.contains("cannot create a cgroup under"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }
}
