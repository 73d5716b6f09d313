//! Chaos: A's NAT forgets its mappings mid-call (a NAT reboot; the sim's
//! `rebind_nat`), so A's packets leave from a new external port while B
//! keeps sending to the old one, which the NAT now drops.
//!
//! What eddy does: A, the controlling agent, sees nothing wrong — B answers
//! its consent checks at the new port. But A's consent checks carry
//! USE-CANDIDATE on the nominated pair, so B, receiving them from the new
//! port, learns that peer-reflexive pair, checks it, and switches to it
//! (RFC 8445 §7.3.1.5) once its own consent checks on the old pair go
//! unanswered: the call recovers by itself within a consent interval or
//! two, nothing lost. An ICE restart (the W3C pattern on `disconnected`)
//! after the rebinding also ends on the new port (second test).
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
fn chaos_nat_rebinding_recovers_without_a_restart() {
    let (mut c, mut up, mut down, baseline) = rebound();
    let rebound_at = c.sim.elapsed();
    let moved = c.run_until(
        Duration::from_secs(30),
        &mut [&mut up, &mut down],
        |c, _| {
            c.pc_ref(c.b).selected_candidate_pair().map(|p| p.1) == Some(addr("203.0.113.1:50001"))
        },
    );
    assert!(moved, "B did not follow A's new mapping");
    // B's consent check on the old pair goes unanswered within one
    // jittered interval (6 s); A's next consent check (6 s more) moves it.
    assert!(c.sim.elapsed() - rebound_at <= Duration::from_secs(15));
    c.finish(Duration::from_secs(60), &mut [&mut up, &mut down]);
    assert_peak_within(baseline, 2 << 20, "NAT rebinding");
    c.assert_states(PeerConnectionState::Connected);
    assert!(!c.log_a.pc_states().contains(&PeerConnectionState::Failed));
    assert!(!c.log_b.pc_states().contains(&PeerConnectionState::Failed));
    assert_eq!(
        c.pc_ref(c.a).ice_connection_state(),
        IceConnectionState::Completed
    );
    c.assert_healthy();
    assert!(c.stray.is_empty());
}

#[test]
fn chaos_nat_rebinding_then_ice_restart_ends_on_the_new_port() {
    let (mut c, mut up, mut down, baseline) = rebound();
    c.run_for(Duration::from_secs(1), &mut [&mut up, &mut down]);
    // The application restarts ICE (as on `disconnected`) right away.
    c.renegotiate(c.b, true);
    c.finish(Duration::from_secs(60), &mut [&mut up, &mut down]);
    assert_peak_within(baseline, 2 << 20, "NAT rebinding and restart");
    c.assert_states(PeerConnectionState::Connected);
    let now = c.pc_ref(c.b).selected_candidate_pair().unwrap().1;
    assert_eq!(now, addr("203.0.113.1:50001"), "B follows the new mapping");
    assert!(!c.log_a.pc_states().contains(&PeerConnectionState::Failed));
    assert!(!c.log_b.pc_states().contains(&PeerConnectionState::Failed));
    c.assert_healthy();
    assert!(c.stray.is_empty());
}
