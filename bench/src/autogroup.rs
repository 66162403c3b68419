//! Linux's scheduler autogroups (`kernel.sched_autogroup_enabled`).
//!
//! With autogroups on, the kernel first splits the CPU evenly between
//! *sessions*, then between the threads inside each. PostgreSQL runs in its own
//! session, while this bench, wrk and the server share one. Under load that
//! caps PostgreSQL's lookups at half the machine whatever the rest needs, and a
//! sign-in storm's hashing thread competes with PostgreSQL as a whole group:
//! its low priority (nice 10) only counts against the server's own threads.
//! Measured on the 2-core machine: the PostgreSQL storm's page-view p99 went
//! from 35-230 ms with autogroups on to 1.7-4 ms with them off, and signed-in
//! throughput from ~40k to ~60k req/s. Autogroups are a desktop interactivity
//! feature and apply only to processes in the root CPU cgroup; a server under
//! systemd or in a container is scheduled by its cgroup instead (where the
//! database shares a small machine in a cgroup of equal weight, the same even
//! split applies: give the database more weight, or its own cores).
//!
//! The bench therefore turns them off for its run when it may (root), and puts
//! the old value back afterwards (an interrupted run leaves them off; `sysctl
//! kernel.sched_autogroup_enabled=1` restores them). `--keep-autogroup`
//! measures with them as they are. The report says which.

use std::fs;

const KNOB: &str = "/proc/sys/kernel/sched_autogroup_enabled";

/// What the run did about autogroups, for the report.
pub struct Autogroup {
    restore: bool,
    pub describe: String,
}

impl Autogroup {
    pub fn prepare(keep: bool) -> Autogroup {
        let was = fs::read_to_string(KNOB).map(|v| v.trim().to_string());
        let (restore, describe) = match was.as_deref() {
            Err(_) => (false, "not available on this kernel".to_string()),
            Ok("0") => (false, "off".to_string()),
            Ok(_) if keep => (false, "on (kept: `--keep-autogroup`)".to_string()),
            Ok(_) => match fs::write(KNOB, "0") {
                Ok(()) => (
                    true,
                    "on; turned off for this run, then back on".to_string(),
                ),
                Err(e) => (false, format!("on (could not turn off: {e})")),
            },
        };
        Autogroup { restore, describe }
    }
}

impl Drop for Autogroup {
    fn drop(&mut self) {
        if !self.restore {
            return;
        }
        if let Err(e) = fs::write(KNOB, "1") {
            eprintln!("gatehouse-bench: could not turn autogroups back on: {KNOB}: {e}");
        }
    }
}
