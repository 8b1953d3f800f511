//! Go runtime settings for the Terraform processes the engine starts.
//!
//! Terraform is a Go program, and a plan of a small configuration is short-lived: much of
//! its CPU goes to the garbage collector and to Go's own threads. When the engine runs
//! `parallel` Terraform processes on `cores` cores, each gets an equal share of the cores
//! (`GOMAXPROCS`, so they do not oversubscribe the machine), and a collector that runs half
//! as often (`GOGC=200`) under a hard ceiling of an equal share of half the machine's memory
//! (`GOMEMLIMIT`), so a large plan still collects before it runs the machine out of memory.
//! Nothing is set when the operator set any of these variables, or when the memory size
//! is unknown (no ceiling, no `GOGC` change).

/// The environment for each Terraform process, as `(name, value)` pairs.
pub fn tuned(parallel: usize, cores: usize, memory_bytes: Option<u64>) -> Vec<(String, String)> {
    let parallel = parallel.max(1);
    let mut env = Vec::new();
    if parallel > 1 {
        env.push(("GOMAXPROCS".to_owned(), (cores / parallel).max(1).to_string()));
    }
    if let Some(memory) = memory_bytes {
        let share = memory / 2 / parallel as u64;
        env.push(("GOGC".to_owned(), "200".to_owned()));
        env.push(("GOMEMLIMIT".to_owned(), format!("{}MiB", (share / (1024 * 1024)).max(64))));
    }
    env
}

/// The machine's memory (`MemTotal` in `/proc/meminfo`); `None` elsewhere.
pub fn memory_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_processes_share_the_cores_and_half_the_memory() {
        const GIB: u64 = 1024 * 1024 * 1024;
        let pairs = |env: Vec<(String, String)>| env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>();
        assert_eq!(pairs(tuned(2, 2, Some(8 * GIB))), ["GOMAXPROCS=1", "GOGC=200", "GOMEMLIMIT=2048MiB"]);
        assert_eq!(pairs(tuned(3, 16, Some(16 * GIB))), ["GOMAXPROCS=5", "GOGC=200", "GOMEMLIMIT=2730MiB"]);
        // One process keeps every core; an unknown memory size changes nothing else.
        assert_eq!(pairs(tuned(1, 4, None)), Vec::<String>::new());
        assert_eq!(pairs(tuned(8, 2, None)), ["GOMAXPROCS=1"]);
        assert_eq!(pairs(tuned(64, 2, Some(GIB))), ["GOMAXPROCS=1", "GOGC=200", "GOMEMLIMIT=64MiB"]);
    }
}
