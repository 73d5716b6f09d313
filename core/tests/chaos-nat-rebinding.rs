//! Chaos: A's NAT forgets its mappings mid-call (a NAT reboot; the sim's
//! `rebind_nat`), so A's packets leave from a new external port while B
//! keeps sending to the old one, which the NAT now drops.
//!
//! What eddy does (RFC 8445 has no NAT-rebinding repair): A, the
//! controlling agent, sees nothing wrong — B answers its consent checks
//! at the new port. B's consent checks and data go to the old port and
//! are dropped, so B goes `disconnected` (RFC 7675), and A's SCTP gets no
//! SACKs: the data stalls. B's pair at the new port is validated by a
//! triggered check but, as the controlled agent, B may only switch to a
//! pair A nominates (RFC 8445 §7.3.1.5), and A has no reason to.
//! Recovery is the W3C pattern: on `disconnected`, B calls `restartIce()`
//! and renegotiates; the new session's checks come from the new port, A
//! nominates that pair, consent recovers and the transfers complete with
//! nothing lost. Without the restart B fails after 30 s while A still
//! reports `connected` (second test).
#![cfg(feature = "sim")]

mod chaos_common;

use std::time::Duration;

use chaos_common::*;
use eddy::sim::NatConfig;
use eddy::{IceConnectionState, PeerConnectionState};

fn rebound() -> (Chaos, Transfer, Transfer, usize) {
    let mut setup = Setup::new(100);
    setup.nat_a = Some(NatConfig::port_restricted_cone());
    let mut c = Chaos::connect(&setup, Duration::from_secs(10));
    let old = c.pc_ref(c.b).selected_candidate_pair().unwrap().1;
    assert_eq!(old, addr("203.0.113.1:50000"), "B sees A's mapping");
    let mut up = c.transfer(c.a, 1500);
    let mut down = c.transfer(c.b, 1000);
    c.run_for(Duration::from_secs(2), &mut [&mut up, &mut down]);
    assert!(up.received > 0 && down.received > 0);
    let baseline = reset_peak();
    c.sim.rebind_nat(c.lan_a.unwrap());
    (c, up, down, baseline)
}

#[test]
fn chaos_nat_rebinding_then_ice_restart_recovers() {
    let (mut c, mut up, mut down, baseline) = rebound();
    let rebound_at = c.sim.elapsed();
    let noticed = c.run_until(
        Duration::from_secs(15),
        &mut [&mut up, &mut down],
        |c, _| c.pc_ref(c.b).ice_connection_state() == IceConnectionState::Disconnected,
    );
    assert!(noticed, "B's consent checks went unanswered");
    // At most one jittered consent interval (6 s) plus the 3 s timeout.
    assert!(c.sim.elapsed() - rebound_at <= Duration::from_secs(10));
    assert_eq!(
        c.pc_ref(c.a).connection_state(),
        PeerConnectionState::Connected
    );
    let stalled = up.received;

    // The application's answer to `disconnected`: an ICE restart.
    c.renegotiate(c.b, true);
    c.finish(Duration::from_secs(60), &mut [&mut up, &mut down]);
    assert!(up.received > stalled);
    assert_peak_within(baseline, 2 << 20, "NAT rebinding");

    c.assert_states(PeerConnectionState::Connected);
    let now = c.pc_ref(c.b).selected_candidate_pair().unwrap().1;
    assert_eq!(now, addr("203.0.113.1:50001"), "B follows the new mapping");
    assert_eq!(
        c.log_b.pc_states(),
        [
            PeerConnectionState::Connecting,
            PeerConnectionState::Connected,
            PeerConnectionState::Disconnected,
            PeerConnectionState::Connected
        ]
    );
    assert!(!c.log_a.pc_states().contains(&PeerConnectionState::Failed));
    c.assert_healthy();
    assert!(c.stray.is_empty());
}

#[test]
fn chaos_nat_rebinding_without_a_restart_splits_the_states() {
    let (mut c, mut up, mut down, _) = rebound();
    let at = (up.received, down.received);
    c.run_for(Duration::from_secs(40), &mut [&mut up, &mut down]);
    // Nothing more crossed either way (what was in flight at the rebind
    // was delivered or dropped at once).
    c.run_for(Duration::from_secs(1), &mut [&mut up, &mut down]);
    let later = (up.received, down.received);
    c.run_for(Duration::from_secs(10), &mut [&mut up, &mut down]);
    assert_eq!((up.received, down.received), later, "a stalled transfer");
    assert!(later.0 >= at.0 && later.1 >= at.1);
    assert_eq!(
        c.pc_ref(c.b).connection_state(),
        PeerConnectionState::Failed
    );
    assert_eq!(
        c.pc_ref(c.a).connection_state(),
        PeerConnectionState::Connected
    );
    assert_eq!(
        c.pc_ref(c.a).ice_connection_state(),
        IceConnectionState::Completed
    );
}
