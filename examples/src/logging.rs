//! Logs for the example binaries: `RUST_LOG` (for example
//! `RUST_LOG=eddy=debug`) picks what reaches stderr; without it, warnings
//! and errors only, but for dcSCTP's notes on a simultaneous open (both
//! WebRTC peers start the SCTP association; dcSCTP resolves the collision
//! as RFC 4960 §5.2.4 says, and logs it as a warning).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs a `tracing` subscriber writing to stderr, filtered by
/// `RUST_LOG` (default: warnings). Call once, first thing in `main`.
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,dcsctp::socket::connect=error"));
    // A second call (tests running several mains) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
