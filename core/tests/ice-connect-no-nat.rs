//! Two full agents on the open internet connect over host candidates.
#![cfg(feature = "sim")]

mod ice_common;

use std::time::Duration;

use eddy::ice::{IceConfig, IceConnectionState};
use eddy::sim::ice_node::{exchange_credentials, run_signaling};
use eddy::sim::Sim;
use ice_common::*;

#[test]
fn two_agents_without_nat_connect() {
    let mut sim = Sim::new(1, start());
    let net = sim.internet();
    let (a, b) = open_pair(&mut sim, net, IceConfig::default(), IceConfig::default());
    exchange_credentials(&mut sim, a, b);
    let took = run_signaling(
        &mut sim,
        a,
        b,
        Duration::from_millis(10),
        Duration::from_secs(5),
        |s| both_connected(s, a, b),
    )
    .expect("connects");
    // One round trip for the check, one for the nomination: well under 1 s
    // on a 40 ms RTT.
    assert!(took < Duration::from_millis(500), "took {took:?}");
    let pa = node(&sim, a).agent.selected_pair().unwrap();
    let pb = node(&sim, b).agent.selected_pair().unwrap();
    assert_eq!(pa.0, pb.1);
    assert_eq!(pa.1, pb.0);
    // Completed once checks are over and both finished gathering.
    run_signaling(
        &mut sim,
        a,
        b,
        Duration::from_millis(10),
        Duration::from_secs(5),
        |s| {
            state(s, a) == IceConnectionState::Completed
                && state(s, b) == IceConnectionState::Completed
        },
    )
    .expect("completed");
    // And stays so: consent keeps flowing.
    sim.run_for(Duration::from_secs(60));
    assert_eq!(state(&sim, a), IceConnectionState::Completed);
    assert_eq!(state(&sim, b), IceConnectionState::Completed);
    assert!(node(&sim, a).agent.stats().consent_requests_sent >= 9);
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let run = || {
        let mut sim = Sim::new(7, start());
        let net = sim.internet();
        let (a, b) = open_pair(&mut sim, net, IceConfig::default(), IceConfig::default());
        exchange_credentials(&mut sim, a, b);
        run_signaling(
            &mut sim,
            a,
            b,
            Duration::from_millis(10),
            Duration::from_secs(20),
            |_| false,
        );
        sim.trace_digest()
    };
    assert_eq!(run(), run());
}
