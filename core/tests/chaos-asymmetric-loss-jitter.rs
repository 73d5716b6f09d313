//! Chaos (free choice): an asymmetric, jittery path for a whole session —
//! 20% random loss from A to B only, 200 ms of jitter with 10% of packets
//! reordered by 150 ms in both directions. The handshake completes, two
//! reliable transfers (one each way) complete in order and byte-exact,
//! the connection stays `connected`, heap and buffering stay bounded.
#![cfg(feature = "sim")]

mod chaos_common;

use std::time::Duration;

use chaos_common::*;
use eddy::sim::{Link, LinkConfig, Loss};
use eddy::PeerConnectionState;

#[test]
fn chaos_twenty_percent_loss_one_way_with_heavy_jitter() {
    let jittery = LinkConfig {
        jitter: Duration::from_millis(200),
        reorder: 0.1,
        reorder_delay: Duration::from_millis(150),
        ..wire()
    };
    let mut setup = Setup::new(115);
    // A's uplink loses a fifth; its downlink only jitters. B's attachment
    // jitters both ways.
    setup.link_a = Link {
        up: LinkConfig {
            loss: Loss::Random(0.2),
            ..jittery
        },
        down: jittery,
    };
    setup.link_b = Link::symmetric(jittery);
    let mut c = Chaos::connect(&setup, Duration::from_secs(30));
    let baseline = reset_peak();
    // SCTP's throughput collapses on such a path (every reordered packet
    // looks like a loss to fast retransmit, RFC 9260 §7.2.4, and halves
    // the window): small messages, and virtual time is cheap.
    let mut up = c.transfer(c.a, 400);
    let mut down = c.transfer(c.b, 400);
    for t in [&mut up, &mut down] {
        t.sizes = vec![200, 16, 1000, 1300, 64];
    }
    c.finish(Duration::from_secs(300), &mut [&mut up, &mut down]);
    assert_peak_within(baseline, 2 << 20, "asymmetric loss");
    assert!(up.max_buffered <= up.high_water + 16 * 1024);

    c.assert_states(PeerConnectionState::Connected);
    for n in [c.a, c.b] {
        assert!(
            !c.log(n).pc_states().contains(&PeerConnectionState::Failed),
            "{n:?}"
        );
    }
    c.assert_healthy();
    assert!(c.stray.is_empty());
}
