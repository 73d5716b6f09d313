//! An idle connected peer wakes up rarely and its wakeups allocate nothing
//! (issue 13): a regression guard that counts, not times.
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
//! Checked: no wakeup allocates, neither those that carry only STUN
//! (consent checks and their answers, RFC 7675) nor those that carry the
//! SCTP heartbeat exchange (RFC 9260 §8.3, every 30 s); and the pair wakes
//! less than [`WAKEUPS_PER_SECOND`] times per second of idling.

mod perf_common;

use std::time::Duration;

use eddy::Event;
use perf_common::{Moved, Wire};

/// Wakeups per virtual second of idling this test accepts. Measured: 0.245
/// (consent about 0.21: one side's check rides on the other's, and so do
/// the SCTP heartbeats; the release of the heartbeat's buffers 1 s later,
/// 0.03).
const WAKEUPS_PER_SECOND: f64 = 0.27;

/// Wakeups counted, after the warm-up.
const WAKEUPS: u64 = 1_000;

struct Pair {
    wire: Wire,
    open: [bool; 2],
    /// Datagrams moved that were not STUN (DTLS records: SCTP packets).
    records: u64,
    /// STUN datagrams moved.
    stun: u64,
}

impl Pair {
    fn connected() -> Self {
        let mut pair = Self {
            wire: Wire::loopback("idle"),
            open: [false, false],
            records: 0,
            stun: 0,
        };
        let until = pair.wire.now + Duration::from_secs(30);
        let Self {
            wire,
            open,
            records,
            stun,
        } = &mut pair;
        wire.pump(false, |m| note(m, open, records, stun));
        while pair.open != [true, true] {
            assert!(
                pair.wake() && pair.wire.now < until,
                "the channel did not open"
            );
        }
        pair
    }

    /// One wakeup (see `Wire::wake`). False if no peer has a deadline.
    fn wake(&mut self) -> bool {
        let Self {
            wire,
            open,
            records,
            stun,
        } = self;
        wire.wake(|m| note(m, open, records, stun))
    }
}

/// Counts a moved datagram as STUN or a record; notes a channel open.
fn note(moved: Moved<'_>, open: &mut [bool; 2], records: &mut u64, stun: &mut u64) {
    match moved {
        // RFC 7983: STUN starts with 0..=3.
        Moved::Datagram(_, d) if d.first().is_some_and(|&b| b > 3) => *records += 1,
        Moved::Datagram(..) => *stun += 1,
        Moved::Event(i, Event::ChannelOpen(_)) => open[i] = true,
        Moved::Event(..) => {}
    }
}

#[test]
fn idle_wakeups_are_rare_and_allocate_nothing() {
    let mut pair = Pair::connected();
    // Warm-up: a minute of idling (consent checks both ways, the first SCTP
    // heartbeats) sizes what the idle connection keeps.
    let warm = pair.wire.now + Duration::from_secs(60);
    while pair.wire.now < warm {
        assert!(pair.wake(), "an idle connected pair has deadlines");
    }

    let from = pair.wire.now;
    let (mut consent, mut heartbeat, mut consent_allocations, mut all_allocations) =
        (0u64, 0, 0, 0);
    for _ in 0..WAKEUPS {
        let (records, stun) = (pair.records, pair.stun);
        let (woke, tally) = perf_common::counted(|| pair.wake());
        assert!(woke, "an idle connected pair has deadlines");
        let allocations = tally.allocations;
        all_allocations += allocations;
        // Consent: STUN moved and no DTLS record; heartbeat: DTLS records
        // moved. (A wakeup that moves nothing is DTLS giving back the room
        // of its last records, 1 s after them.)
        if pair.records > records {
            heartbeat += 1;
        } else if pair.stun > stun {
            consent += 1;
            consent_allocations += allocations;
        }
    }
    let idle = (pair.wire.now - from).as_secs_f64();
    let per_second = WAKEUPS as f64 / idle;
    println!(
        "{all_allocations} allocations over {WAKEUPS} idle wakeups ({consent_allocations} over \
         {consent} consent-only wakeups, {heartbeat} with the SCTP heartbeat exchange); \
         {per_second:.3} wakeups per second over {idle:.0} s"
    );
    assert!(
        consent > WAKEUPS / 2,
        "most idle wakeups are consent checks ({consent} of {WAKEUPS})"
    );
    // One exchange per 30 s heartbeat interval, or a little later.
    assert!(
        heartbeat as f64 >= idle / 30.0 * 0.8,
        "{heartbeat} heartbeat wakeups over {idle:.0} s"
    );
    // None. The consent exchange reuses ICE's kept STUN buffers; the
    // heartbeat exchange (the two sides' HEARTBEATs sharing three packets,
    // dcSCTP's EDDY-PATCH 16) is built in dcSCTP's kept small packet buffer
    // (EDDY-PATCH 19), sealed in it by DTLS (dimpl's EDDY-PATCH 26) and
    // given back once sent, opened into DTLS's kept small buffer, its chunks
    // parsed and built inline (dcSCTP's EDDY-PATCH 17), with room kept in
    // the queues (the stack's transmit queue three datagrams, dcSCTP's
    // EDDY-PATCH 18, dimpl's 25).
    assert_eq!(
        all_allocations, 0,
        "allocations over {WAKEUPS} idle wakeups ({consent_allocations} in the {consent} consent \
         ones)"
    );
    assert!(
        per_second <= WAKEUPS_PER_SECOND,
        "{per_second:.3} idle wakeups per second (bound {WAKEUPS_PER_SECOND})"
    );
}
