//! An idle connected peer keeps little heap (issue 13, item 5): a
//! regression guard that counts bytes, not time.
//!
//! `PAIRS` pairs of in-process peers, each with one reliable ordered data
//! channel, connect over a zero-delay in-memory network on a virtual clock
//! and then stay idle for `IDLE` of virtual time (consent checks, SCTP
//! heartbeats and delayed acknowledgements all run). The live heap of the
//! whole process (this test binary's global allocator: bytes allocated and
//! not yet freed) grown since before the first pair, divided by the peers,
//! must stay below `BOUND`. The `PeerConnection` values themselves live in
//! a `Vec`, so their inline size is counted too. One warm-up pair is made
//! first, so that what a process builds once (the shared DTLS
//! configuration) is not counted.

mod perf_common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::{Event, PeerConnection};
use perf_common::{Moved, Wire};

/// Live heap bytes per idle connected peer that this test accepts: under
/// issue 13's 20 kB. Measured: 19,626 bytes (unseeded runs differ by a
/// byte or two), `PeerConnection`'s 7,760 inline included; the figure is
/// printed. 19,557 before dcSCTP kept a small buffer for its heartbeats
/// (EDDY-PATCH 19: an idle wakeup then allocates nothing). 19,190 before ICE kept the HMAC states of its two passwords,
/// the stack a third slot in its transmit queue, and dcSCTP and dimpl room
/// in their pools and queues for a heartbeat exchange (cheaper idle
/// wakeups, with fewer allocations). That
/// counts the DTLS record keys since they are ring's (2 × 544 bytes, in
/// Rust's heap), where OpenSSL's cipher contexts before them were not
/// counted (OpenSSL allocates with its own `malloc`); 18,300-18,450 then.
/// 26,481 before dcSCTP freed its kept packet buffers, chunk vectors and
/// empty queues' room on idle (EDDY-PATCH 12), an unchanged description
/// kept its text only (its model parsed again when read), candidate lists
/// gave back their spare room, the last created answer went at stable and
/// the identity provider was boxed. (OpenSSL's allocations are not
/// counted here: dimpl also drops our signing key after the handshake,
/// EDDY-PATCH 17, ~1.5 KB of them.)
/// 34,863 before the media router stopped reserving its SSRC table, DTLS
/// freed its final flight and handshake buffers, ICE trimmed its tables,
/// SRTP and rarely used generators left the connection's inline size and
/// descriptions dropped their text copies; 45,349 before the SDP models
/// gave back their spare capacity, idle queues and DTLS's output buffer
/// their room, and descriptions boxed their model.
const BOUND: i64 = 19 * 1024 + 512;

/// Pairs measured at once.
const PAIRS: u16 = 20;

/// Virtual time the pairs stay idle after the channel opened.
const IDLE: Duration = Duration::from_secs(5);

struct Pair {
    wire: Wire,
    open: [bool; 2],
}

impl Pair {
    fn new(now: Instant, n: u16) -> Self {
        let addrs: [SocketAddr; 2] = [
            SocketAddr::from(([10, 0, (n >> 8) as u8, n as u8], 5000)),
            SocketAddr::from(([10, 1, (n >> 8) as u8, n as u8], 5000)),
        ];
        let mut wire = Wire::new(now, addrs, "idle");
        // Sent buffers are not given back: what the connection keeps is
        // its own.
        wire.recycle = false;
        Self {
            wire,
            open: [false, false],
        }
    }

    /// Moves datagrams both ways and fires due timers until both peers are
    /// quiet; the earliest deadline left.
    fn pump(&mut self) -> Option<Instant> {
        let open = &mut self.open;
        self.wire.pump(true, |moved| {
            if let Moved::Event(i, Event::ChannelOpen(_)) = moved {
                open[i] = true;
            }
        });
        self.wire.next_deadline()
    }

    /// Runs the clock from deadline to deadline up to `until`.
    fn run_until(&mut self, until: Instant, done: impl Fn(&Self) -> bool) {
        while let Some(next) = self.pump() {
            if done(self) || next > until {
                return;
            }
            self.wire.now = next;
        }
    }

    /// A pair whose channel is open on both sides and that then stayed idle.
    fn connected_and_idle(now: Instant, n: u16) -> Self {
        let mut pair = Self::new(now, n);
        pair.run_until(now + Duration::from_secs(30), |p| p.open == [true, true]);
        assert_eq!(
            pair.open,
            [true, true],
            "pair {n}: the channel did not open"
        );
        let idle_until = pair.wire.now + IDLE;
        pair.run_until(idle_until, |_| false);
        pair
    }
}

#[test]
fn an_idle_connected_peer_keeps_little_heap() {
    #[allow(clippy::disallowed_methods)] // a test may read the clock once
    let now = Instant::now();
    drop(Pair::connected_and_idle(now, 0));

    let mut pairs = Vec::with_capacity(usize::from(PAIRS));
    let live0 = perf_common::live_bytes();
    for n in 1..=PAIRS {
        pairs.push(Pair::connected_and_idle(now, n));
    }
    let grown = perf_common::live_bytes() - live0;
    // The `Vec` of pairs was allocated before `live0`: add its inline size.
    let inline = size_of::<Pair>() as i64 * i64::from(PAIRS);
    let per_peer = (grown + inline) / (2 * i64::from(PAIRS));
    println!(
        "{per_peer} bytes ({:.1} KiB) of heap per idle connected peer ({} inline)",
        per_peer as f64 / 1024.0,
        size_of::<PeerConnection>()
    );
    assert!(
        per_peer <= BOUND,
        "{per_peer} bytes of heap per idle connected peer (bound {BOUND})"
    );
    drop(pairs);
}
