//! eddy beside str0m 0.25 and webrtc-rs's sans-IO `rtc` 0.21 on the same
//! scenarios, in one process, alternating the stacks round by round (and,
//! for the idle row, slice by slice within a round): two
//! peers, a zero-delay in-memory network, a virtual clock, a counting
//! allocator. Work is reported per CPU-second of the process (these
//! machines are shared), medians of the rounds.
//!
//! `cargo run --release --manifest-path bench/Cargo.toml [-- --rounds 3]
//! [--stack eddy|str0m|rtc ...]` (`--stack` may be given more than once;
//! without it all three run). `--connect-only PAIRS` profiles eddy's
//! connect scenario alone; `--crypto-floor N` times the public-key
//! operations a connection needs, each alone, and their sum for a pair
//! (printed under the table too).

mod alloc;
mod eddy_stack;
mod floor;
mod harness;
mod rtc_stack;
mod str0m_stack;

use harness::{Report, Stack};

const STACKS: [&str; 3] = [
    eddy_stack::Eddy::NAME,
    str0m_stack::Str0m::NAME,
    rtc_stack::Rtc::NAME,
];

fn usage() -> ! {
    eprintln!(
        "usage: side-by-side [--rounds N] [--stack eddy|str0m|rtc]... [--connect-only PAIRS] [--crypto-floor N]"
    );
    std::process::exit(2);
}

fn run(name: &str) -> Report {
    match name {
        eddy_stack::Eddy::NAME => harness::run::<eddy_stack::Eddy>(),
        str0m_stack::Str0m::NAME => harness::run::<str0m_stack::Str0m>(),
        rtc_stack::Rtc::NAME => harness::run::<rtc_stack::Rtc>(),
        _ => usage(),
    }
}

fn idle_pair(name: &str) -> Box<dyn harness::Idle> {
    match name {
        eddy_stack::Eddy::NAME => harness::idle_pair::<eddy_stack::Eddy>(),
        str0m_stack::Str0m::NAME => harness::idle_pair::<str0m_stack::Str0m>(),
        rtc_stack::Rtc::NAME => harness::idle_pair::<rtc_stack::Rtc>(),
        _ => usage(),
    }
}

fn main() {
    let mut rounds = 3;
    let mut stacks: Vec<&'static str> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--rounds" => rounds = value.parse().unwrap_or_else(|_| usage()),
            "--stack" => match STACKS.iter().find(|s| **s == value) {
                Some(s) if !stacks.contains(s) => stacks.push(s),
                Some(_) => {}
                None => usage(),
            },
            // For a profiler: only eddy's connect scenario, N pairs.
            "--connect-only" => {
                let n: u16 = value.parse().unwrap_or_else(|_| usage());
                let allocations = alloc::allocations();
                let c = harness::connect::<eddy_stack::Eddy>(n, false);
                let allocations = (alloc::allocations() - allocations) / u64::from(n.max(1));
                println!(
                    "eddy: {:.3} ms CPU per connected pair ({n} pairs; {:.3} ms of it ICE + DTLS + SCTP + DCEP), {allocations} allocations per pair",
                    c.cpu_ms, c.handshake_cpu_ms
                );
                return;
            }
            // The public-key operations alone, for comparison.
            "--crypto-floor" => {
                let n: u32 = value.parse().unwrap_or_else(|_| usage());
                floor::run(n);
                return;
            }
            _ => usage(),
        }
    }
    if stacks.is_empty() {
        stacks = STACKS.to_vec();
    }
    let mut results: Vec<Vec<Report>> = vec![Vec::new(); stacks.len()];
    for round in 0..rounds {
        eprintln!("round {}/{rounds}", round + 1);
        for (name, results) in stacks.iter().zip(&mut results) {
            results.push(run(name));
        }
        // The idle row, its slices alternating between the stacks.
        let mut pairs: Vec<_> = stacks.iter().map(|name| idle_pair(name)).collect();
        let idle = harness::idle_wakeups(&mut pairs, 20_000);
        for (results, (us, per_s)) in results.iter_mut().zip(idle) {
            if let Some(report) = results.last_mut() {
                report.idle_wakeup_us = us;
                report.idle_wakeups_per_s = per_s;
            }
        }
    }
    let medians: Vec<Report> = results.iter().map(|r| Report::median(r)).collect();
    let rows: Vec<(&str, &Report)> = stacks.iter().copied().zip(&medians).collect();
    harness::print(&rows);
    // The same machine's speed now, for the connect rows: it drifts between
    // sessions, the part above this much less.
    println!(
        "eddy's public-key work for a pair, each operation alone: {:.3} ms (--crypto-floor)",
        floor::pair(300)
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", load.trim());
    }
}
