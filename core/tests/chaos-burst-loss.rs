//! Chaos: 2 s of 50% burst loss (Gilbert–Elliott, mean bursts of 10
//! packets, both directions) in the middle of a two-way reliable transfer.
//! Both transfers complete in order and byte-exact, the connection never
//! leaves `connected` (2 s is under the 3 s `disconnected` timeout, and
//! consent checks are retransmitted), heap and buffering stay bounded.
#![cfg(feature = "sim")]

mod chaos_common;

use std::time::Duration;

use chaos_common::*;
use eddy::sim::{Link, LinkConfig, Loss};
use eddy::{IceConnectionState, PeerConnectionState};

#[test]
fn chaos_two_seconds_of_fifty_percent_burst_loss() {
    let mut c = Chaos::connect(&Setup::new(103), Duration::from_secs(10));
    let mut up = c.transfer(c.a, 1200);
    let mut down = c.transfer(c.b, 400);
    c.run_for(Duration::from_secs(2), &mut [&mut up, &mut down]);
    assert!(up.received > 0 && up.received < up.total, "mid-transfer");
    let baseline = reset_peak();

    let bursty = LinkConfig {
        // Stationary share of the bad state p / (p + r) = 50%.
        loss: Loss::GilbertElliott {
            p: 0.1,
            r: 0.1,
            loss_good: 0.0,
            loss_bad: 1.0,
        },
        ..wire()
    };
    c.sim.set_link(c.b, Link::symmetric(bursty));
    c.sim.set_trace_limit(100_000);
    c.run_for(Duration::from_secs(2), &mut [&mut up, &mut down]);
    // The loss really was about half.
    let lost = c
        .sim
        .trace()
        .iter()
        .filter(|e| e.fate == eddy::sim::Fate::Lost)
        .count();
    let all = c.sim.trace().len();
    assert!(
        all > 100 && lost * 10 >= all * 3 && lost * 10 <= all * 7,
        "{lost} of {all} lost"
    );
    c.sim.set_link(c.b, Link::symmetric(wire()));
    c.sim.set_trace_limit(0);
    c.finish(Duration::from_secs(60), &mut [&mut up, &mut down]);
    assert_peak_within(baseline, 2 << 20, "burst loss");
    assert!(up.max_buffered <= up.high_water + 16 * 1024);

    c.assert_states(PeerConnectionState::Connected);
    for n in [c.a, c.b] {
        assert_eq!(
            c.log(n).pc_states(),
            [
                PeerConnectionState::Connecting,
                PeerConnectionState::Connected
            ],
            "{n:?} never left connected"
        );
        assert!(!c
            .log(n)
            .ice_states()
            .contains(&IceConnectionState::Disconnected));
    }
    c.assert_healthy();
    assert!(c.stray.is_empty());
}
