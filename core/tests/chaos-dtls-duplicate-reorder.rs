//! Chaos: the DTLS handshake (and everything after it) runs over links
//! that duplicate 30% of packets and hold back 30% by 60 ms (so flights
//! arrive shuffled and twice). The connection reaches `connected`, the
//! channel opens on both sides, a reliable transfer each way arrives once,
//! in order and byte-exact (SCTP drops the duplicates), heap bounded.
#![cfg(feature = "sim")]

mod chaos_common;

use std::collections::BTreeSet;
use std::time::Duration;

use chaos_common::*;
use eddy::sim::{Fate, Link, LinkConfig};
use eddy::{DtlsTransportState, Event, PeerConnectionState};

#[test]
fn chaos_duplicated_and_reordered_handshake_connects() {
    let messy = LinkConfig {
        duplicate: 0.3,
        reorder: 0.3,
        reorder_delay: Duration::from_millis(60),
        jitter: Duration::from_millis(10),
        ..wire()
    };
    let mut setup = Setup::new(106);
    setup.link_a = Link::symmetric(messy);
    setup.link_b = Link::symmetric(messy);
    let baseline = reset_peak();
    let mut c = Chaos::signal(&setup);
    c.sim.set_trace_limit(100_000);
    c.wait_open(1, Duration::from_secs(20));
    // Handshake datagrams really were duplicated (a duplicate shares its
    // original's id in the trace) and arrived out of order.
    let from_a: Vec<u64> = c
        .sim
        .trace()
        .iter()
        .filter(|e| e.from == addr(A) && matches!(e.fate, Fate::Delivered(_)))
        .map(|e| e.id)
        .collect();
    let mut seen = BTreeSet::new();
    let dups = from_a.iter().filter(|id| !seen.insert(**id)).count();
    assert!(dups > 0, "no duplicates in {} datagrams", from_a.len());
    let late = from_a.windows(2).filter(|w| w[1] < w[0]).count();
    assert!(late > 0, "nothing arrived out of order");
    for n in [c.a, c.b] {
        let pc = c.pc_ref(n);
        assert_eq!(pc.dtls_state(), DtlsTransportState::Connected);
        assert!(pc.remote_certificate().is_some());
        assert!(pc.dtls_failure().is_none());
        // One handshake: DTLS went connecting -> connected once.
        assert_eq!(
            c.log(n)
                .count(|e| matches!(e, Event::DtlsStateChange(DtlsTransportState::Connected))),
            1
        );
        assert_eq!(
            c.log(n).pc_states(),
            [
                PeerConnectionState::Connecting,
                PeerConnectionState::Connected
            ]
        );
    }
    let mut up = c.transfer(c.a, 300);
    let mut down = c.transfer(c.b, 300);
    c.finish(Duration::from_secs(60), &mut [&mut up, &mut down]);
    assert_peak_within(baseline, 4 << 20, "duplicates and reordering");
    c.assert_states(PeerConnectionState::Connected);
    c.assert_healthy();
    assert!(c.stray.is_empty());
}
