//! Trickle ICE (RFC 8838) with a slow signaling channel: checks arrive
//! before the peer's credentials and candidates (answered at once, the
//! triggered check waits for the credentials), and mDNS `.local` candidates
//! join once the runtime resolves them.
#![cfg(feature = "sim")]

mod ice_common;

use std::time::Duration;

use eddy::ice::{CandidateKind, IceConfig, IceEvent};
use eddy::sim::ice_node::{run_signaling, IceNode};
use eddy::sim::Sim;
use ice_common::*;

#[test]
fn early_checks_and_mdns_candidates() {
    let mut sim = Sim::new(70, start());
    let net = sim.internet();
    let (a, b) = open_pair(&mut sim, net, IceConfig::default(), IceConfig::default());
    // b learns everything about a at once; a hears nothing about b yet.
    let ca = node(&sim, a).agent.local_credentials().clone();
    let a_signals = sim.node_mut::<IceNode>(a).unwrap().take_signals();
    let b_signals = sim.node_mut::<IceNode>(b).unwrap().take_signals();
    {
        let nb = sim.node_mut::<IceNode>(b).unwrap();
        nb.agent.set_remote_credentials(&ca.ufrag, &ca.pwd).unwrap();
        for e in a_signals {
            match e {
                IceEvent::LocalCandidate(c) => nb.agent.add_remote_candidate(c),
                IceEvent::EndOfCandidates => nb.agent.remote_end_of_candidates(),
                _ => {}
            }
        }
    }
    sim.run_for(Duration::from_millis(300));
    // b's checks reached a: answered, and b's address learned as
    // peer-reflexive, but a cannot check back without b's password.
    let na = node(&sim, a);
    assert!(na.agent.stats().requests_received >= 1);
    assert_eq!(na.agent.stats().requests_sent, 0);
    assert_eq!(
        na.agent.remote_candidates()[0].kind,
        CandidateKind::PeerReflexive
    );
    assert!(!na.is_connected());

    // Now the answer arrives, with b's candidate as an mDNS name.
    let cb = node(&sim, b).agent.local_credentials().clone();
    {
        let na = sim.node_mut::<IceNode>(a).unwrap();
        na.agent.set_remote_credentials(&cb.ufrag, &cb.pwd).unwrap();
        for e in b_signals {
            if let IceEvent::LocalCandidate(c) = e {
                na.agent.add_remote_mdns_candidate("0f3c5b2e-1d4a.local", c);
            }
        }
        assert_eq!(na.agent.pending_mdns().count(), 1);
    }
    run_signaling(
        &mut sim,
        a,
        b,
        Duration::from_millis(10),
        Duration::from_secs(5),
        |s| both_connected(s, a, b),
    )
    .expect("connects through the peer-reflexive candidate");
    // The name resolves: it matches the learned candidate, which takes the
    // signaled kind; nothing is checked twice.
    {
        let na = sim.node_mut::<IceNode>(a).unwrap();
        na.agent
            .resolve_remote("0f3c5b2e-1d4a.local", ip("192.0.2.2"));
        assert_eq!(na.agent.pending_mdns().count(), 0);
        assert_eq!(na.agent.remote_candidates().len(), 1);
        assert_eq!(na.agent.remote_candidates()[0].kind, CandidateKind::Host);
    }
    sim.run_for(Duration::from_secs(2));
    assert!(both_connected(&sim, a, b));
    let pa = node(&sim, a).agent.selected_pair().unwrap();
    assert_eq!(pa.1, "192.0.2.2:6000".parse().unwrap());
}
