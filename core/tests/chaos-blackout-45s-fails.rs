//! Chaos: a 45 s blackout mid-transfer. RFC 7675 §5.1: "Consent expires
//! after 30 seconds", so both sides go `disconnected`, then `failed` about
//! 30 s after the last answered consent check, and then stop sending
//! (consent lost: no more packets). Messages delivered before the cut
//! arrived in order and byte-exact; buffering and heap stay bounded; the
//! link coming back does not revive a failed connection (only an ICE
//! restart does).
#![cfg(feature = "sim")]

mod chaos_common;

use std::time::Duration;

use chaos_common::*;
use eddy::sim::{Fate, Link};
use eddy::{DataChannelState, IceConnectionState, PeerConnectionState};

#[test]
fn chaos_forty_five_second_blackout_fails_by_consent() {
    let mut c = Chaos::connect(&Setup::new(102), Duration::from_secs(10));
    let mut up = c.transfer(c.a, 1_000_000);
    c.run_for(Duration::from_secs(2), &mut [&mut up]);
    assert!(up.received > 100, "data flowed before the cut");
    let baseline = reset_peak();

    let cut_at = c.sim.elapsed();
    c.sim.set_link(c.b, Link::symmetric(cut()));
    c.sim.set_trace_limit(200_000);
    c.run_for(Duration::from_secs(45), &mut [&mut up]);
    assert_peak_within(baseline, 8 << 20, "45 s blackout");
    assert!(up.max_buffered <= up.high_water + 16 * 1024);

    let ip_a = ip(A.split(':').next().unwrap());
    for n in [c.a, c.b] {
        let pc = c.pc_ref(n);
        assert_eq!(pc.connection_state(), PeerConnectionState::Failed, "{n:?}");
        assert_eq!(pc.ice_connection_state(), IceConnectionState::Failed);
        assert!(pc.selected_candidate_pair().is_none(), "consent lost");
        let log = c.log(n);
        assert_eq!(
            log.pc_states(),
            [
                PeerConnectionState::Connecting,
                PeerConnectionState::Connected,
                PeerConnectionState::Disconnected,
                PeerConnectionState::Failed
            ],
            "{n:?}"
        );
        let failed = log.entered(PeerConnectionState::Failed).unwrap() - cut_at;
        // The last answered check came at most one jittered consent
        // interval (<= 6 s) before the cut.
        assert!(
            failed <= Duration::from_secs(30) && failed >= Duration::from_secs(24),
            "{n:?} failed {failed:?} after the cut"
        );
    }
    // RFC 7675 §5.1: once consent expired A sends nothing more.
    let failed_a = c.log_a.entered(PeerConnectionState::Failed).unwrap();
    let late = c
        .sim
        .trace()
        .iter()
        .filter(|e| e.from.ip() == ip_a && e.sent > failed_a)
        .count();
    assert_eq!(late, 0, "A sent after consent expired");
    let before = c
        .sim
        .trace()
        .iter()
        .filter(|e| e.from.ip() == ip_a && e.fate == Fate::Lost)
        .count();
    assert!(before > 0, "A kept trying while consent lasted");

    // ICE failing does not close the channels (as in browsers): SCTP
    // gives up on its own schedule (see `chaos-silent-peer`).
    let (ha, hb) = (c.open_a[0], c.open_b[0]);
    assert_eq!(c.channel_state(c.a, ha), DataChannelState::Open);
    assert_eq!(c.channel_state(c.b, hb), DataChannelState::Open);

    // The link returns: a failed connection stays failed, nothing arrives.
    let got = up.received;
    c.sim.set_link(c.b, Link::symmetric(wire()));
    c.run_for(Duration::from_secs(10), &mut [&mut up]);
    assert_eq!(up.received, got);
    c.assert_states(PeerConnectionState::Failed);
    assert!(c.stray.is_empty());
}
