//! [`process_cpu_seconds`]: the CPU time of the test process, for the benchmark controls.

/// User + system CPU seconds this process has used so far, all threads (from
/// `/proc/self/stat`; 0 where it cannot be read). For the benchmark controls.
pub fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; clock ticks
    // are 1/100 s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};
    #[test]
    fn process_cpu_seconds_counts_what_this_process_burns() {
        let start = process_cpu_seconds();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut spin = 0u64;
        while process_cpu_seconds() < start + 0.05 {
            assert!(Instant::now() < deadline, "CPU seconds did not move from {start}");
            spin = std::hint::black_box(spin.wrapping_mul(31).wrapping_add(7));
        }
    }
}
