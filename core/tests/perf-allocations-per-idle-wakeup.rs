//! An idle connected peer wakes up rarely and its consent wakeups allocate
//! nothing (issue 13): a regression guard that counts, not times.
//!
//! Two in-process peers, one open data channel, nothing sent, on a virtual
//! clock with zero delay. A wakeup is what a driver does when a deadline
//! comes: `Input::Timeout` to each peer whose deadline it is, then every
//! datagram moved (and its buffer given back with `recycle_transmit`, as a
//! driver does once it is sent) until both are quiet. After a minute of
//! idling has sized every queue and buffer, the allocations of the whole
//! process (this test binary's global allocator) are counted over at least
//! 1,000 wakeups.
//!
//! Checked: the wakeups that carry only STUN (consent checks and their
//! answers, RFC 7675) allocate nothing; all wakeups together stay under a
//! measured bound (the SCTP heartbeat's, below); and the pair wakes less
//! than [`WAKEUPS_PER_SECOND`] times per second of idling.

mod perf_common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eddy::{Event, Input, Output, PeerConnection, Receive};

/// Allocations per consent-only wakeup: none.
const CONSENT_BOUND: f64 = 0.0;

/// Allocations per wakeup over all of them. Measured: 4.0. Every one is
/// the SCTP heartbeat's (RFC 9260 §8.3, one per side every 30 s or a little
/// later, riding on a consent wakeup; ~15 allocations per HEARTBEAT and its
/// ACK): dcSCTP builds and parses the chunks as `Vec`s of parameters in a
/// packet buffer it gives back when the association idles, and DTLS seals
/// the records in buffers of a pool it gives back 1 s after the last record
/// (an idle connection keeps neither: a datagram's room each, more than
/// the idle heap allows); the stack's transmit queue grows for such a
/// wakeup and gives the room back at the next.
const BOUND: f64 = 4.5;

/// Wakeups per virtual second of idling this test accepts. Measured: 0.245
/// (consent about 0.21: one side's check rides on the other's, and so do
/// the SCTP heartbeats; the release of the heartbeat's buffers 1 s later,
/// 0.03).
const WAKEUPS_PER_SECOND: f64 = 0.27;

/// Wakeups counted, after the warm-up.
const WAKEUPS: u64 = 1_000;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

// SAFETY: forwards every call to `System` unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Pair {
    peers: [PeerConnection; 2],
    addrs: [SocketAddr; 2],
    now: Instant,
    deadlines: [Option<Instant>; 2],
    open: [bool; 2],
    /// Datagrams moved that were not STUN (DTLS records: SCTP packets).
    records: u64,
    /// STUN datagrams moved.
    stun: u64,
}

impl Pair {
    fn connected() -> Self {
        #[allow(clippy::disallowed_methods)] // a test may read the clock once
        let now = Instant::now();
        let addrs: [SocketAddr; 2] = [
            "127.0.0.1:10000".parse().expect("literal"),
            "127.0.0.1:20000".parse().expect("literal"),
        ];
        let [a, b] = perf_common::negotiated_pair(now, addrs, "idle");
        let mut pair = Self {
            peers: [a, b],
            addrs,
            now,
            deadlines: [None, None],
            open: [false, false],
            records: 0,
            stun: 0,
        };
        let until = now + Duration::from_secs(30);
        pair.pump();
        while pair.open != [true, true] {
            assert!(pair.wake() && pair.now < until, "the channel did not open");
        }
        pair
    }

    /// Moves datagrams both ways until both peers are quiet; notes each
    /// peer's next deadline.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..2 {
                loop {
                    match self.peers[i].poll_output() {
                        Output::Transmit(t) => {
                            moved = true;
                            // RFC 7983: STUN starts with 0..=3.
                            if t.contents.first().is_some_and(|&b| b > 3) {
                                self.records += 1;
                            } else {
                                self.stun += 1;
                            }
                            let receive = Receive {
                                proto: t.proto,
                                source: t.source,
                                destination: self.addrs[1 - i],
                                contents: &t.contents,
                            };
                            let _ =
                                self.peers[1 - i].handle_input(Input::Receive(self.now, receive));
                            // Sent: the buffer goes back, as a driver gives
                            // it back after `sendmmsg`.
                            self.peers[i].recycle_transmit(t.contents);
                        }
                        Output::Event(Event::ChannelOpen(_)) => self.open[i] = true,
                        Output::Event(_) => {}
                        Output::Timeout(at) => {
                            self.deadlines[i] = at;
                            break;
                        }
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// One wakeup: the clock goes to the earliest deadline, the peers whose
    /// deadline it is handle it, and what follows is moved. False if no
    /// peer has a deadline.
    fn wake(&mut self) -> bool {
        let Some(next) = self.deadlines.iter().flatten().min().copied() else {
            return false;
        };
        self.now = self.now.max(next);
        for i in 0..2 {
            if self.deadlines[i].is_some_and(|at| at <= self.now) {
                let _ = self.peers[i].handle_input(Input::Timeout(self.now));
            }
        }
        self.pump();
        true
    }
}

#[test]
fn idle_wakeups_are_rare_and_consent_ones_allocate_nothing() {
    let mut pair = Pair::connected();
    // Warm-up: a minute of idling (consent checks both ways, the first SCTP
    // heartbeats) sizes what the idle connection keeps.
    let warm = pair.now + Duration::from_secs(60);
    while pair.now < warm {
        assert!(pair.wake(), "an idle connected pair has deadlines");
    }

    let (from, mut consent, mut consent_allocations, mut all_allocations) = (pair.now, 0u64, 0, 0);
    for _ in 0..WAKEUPS {
        let (records, stun) = (pair.records, pair.stun);
        ALLOCATIONS.store(0, Ordering::SeqCst);
        COUNTING.store(true, Ordering::SeqCst);
        assert!(pair.wake(), "an idle connected pair has deadlines");
        COUNTING.store(false, Ordering::SeqCst);
        let allocations = ALLOCATIONS.load(Ordering::SeqCst);
        all_allocations += allocations;
        // Consent: STUN moved and no DTLS record. (A wakeup that moves
        // nothing is the heartbeat's buffers being given back, 1 s after.)
        if pair.records == records && pair.stun > stun {
            consent += 1;
            consent_allocations += allocations;
        }
    }
    let idle = (pair.now - from).as_secs_f64();
    let per_second = WAKEUPS as f64 / idle;
    let per_wakeup = all_allocations as f64 / WAKEUPS as f64;
    let per_consent = consent_allocations as f64 / consent.max(1) as f64;
    println!(
        "{per_wakeup:.2} allocations per idle wakeup over {WAKEUPS} ({per_consent:.2} per \
         consent-only wakeup, {consent} of them); {per_second:.3} wakeups per second over \
         {idle:.0} s"
    );
    assert!(
        consent > WAKEUPS / 2,
        "most idle wakeups are consent checks ({consent} of {WAKEUPS})"
    );
    assert!(
        per_consent <= CONSENT_BOUND,
        "{per_consent:.2} allocations per consent wakeup ({consent_allocations} over {consent})"
    );
    assert!(
        per_wakeup <= BOUND,
        "{per_wakeup:.2} allocations per idle wakeup (bound {BOUND})"
    );
    assert!(
        per_second <= WAKEUPS_PER_SECOND,
        "{per_second:.3} idle wakeups per second (bound {WAKEUPS_PER_SECOND})"
    );
}
