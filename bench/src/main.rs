//! eddy beside str0m 0.25 on the same scenarios, in one process, alternating
//! the stacks: two peers, a zero-delay in-memory network, a virtual clock,
//! a counting allocator. Work is reported per CPU-second of the process
//! (these machines are shared), medians of the rounds.
//!
//! `cargo run --release --manifest-path bench/Cargo.toml [-- --rounds 3]`

mod alloc;
mod eddy_stack;
mod floor;
mod harness;
mod str0m_stack;

use harness::{Report, Stack};

fn main() {
    let mut rounds = 3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().and_then(|v| v.parse().ok())) {
            ("--rounds", Some(n)) => rounds = n,
            // For a profiler: only eddy's connect scenario, N pairs.
            ("--connect-only", Some(n)) => {
                let (cpu, _) = harness::connect::<eddy_stack::Eddy>(n as u16);
                println!("eddy: {cpu:.3} ms CPU per connected pair ({n} pairs)");
                return;
            }
            // The public-key operations alone, for comparison.
            ("--crypto-floor", Some(n)) => {
                floor::run(n as u32);
                return;
            }
            _ => {
                eprintln!(
                    "usage: side-by-side [--rounds N] [--connect-only PAIRS] [--crypto-floor N]"
                );
                std::process::exit(2);
            }
        }
    }
    let mut eddy = Vec::new();
    let mut str0m = Vec::new();
    for round in 0..rounds {
        eprintln!("round {}/{rounds}", round + 1);
        eddy.push(harness::run::<eddy_stack::Eddy>());
        str0m.push(harness::run::<str0m_stack::Str0m>());
    }
    let eddy = Report::median(&eddy);
    let str0m = Report::median(&str0m);
    harness::print(&[
        (eddy_stack::Eddy::NAME, &eddy),
        (str0m_stack::Str0m::NAME, &str0m),
    ]);
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", load.trim());
    }
}
