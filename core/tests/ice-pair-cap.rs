//! Many candidates: the checklist holds at most 100 pairs (RFC 8445
//! §6.1.2.5), the rest are dropped and counted, and the best pair still
//! connects.
#![cfg(feature = "sim")]

mod ice_common;

use std::net::SocketAddr;
use std::time::Duration;

use eddy::ice::{IceConfig, MAX_PAIRS};
use eddy::sim::ice_node::{exchange_credentials, run_signaling, IceNode};
use eddy::sim::Sim;
use eddy::Protocol;
use ice_common::*;

#[test]
fn one_hundred_pairs_at_most() {
    let mut sim = Sim::new(50, start());
    let net = sim.internet();
    let (a, b) = open_pair(&mut sim, net, IceConfig::default(), IceConfig::default());
    // a has 4 sockets, b 30: 120 possible pairs on each side.
    for port in 5001..5004 {
        let n = sim.node_mut::<IceNode>(a).unwrap();
        n.agent
            .add_local_candidate(SocketAddr::from(([192, 0, 2, 1], port)), Protocol::Udp)
            .unwrap();
    }
    for port in 6001..6030 {
        let n = sim.node_mut::<IceNode>(b).unwrap();
        n.agent
            .add_local_candidate(SocketAddr::from(([192, 0, 2, 2], port)), Protocol::Udp)
            .unwrap();
    }
    exchange_credentials(&mut sim, a, b);
    let mut max_seen = 0;
    run_signaling(
        &mut sim,
        a,
        b,
        Duration::from_millis(10),
        Duration::from_secs(30),
        |s| {
            for id in [a, b] {
                max_seen = max_seen.max(node(s, id).agent.pair_stats().count());
            }
            both_connected(s, a, b)
        },
    )
    .expect("connects");
    sim.run_for(Duration::from_secs(20));
    for id in [a, b] {
        let n = node(&sim, id);
        assert_eq!(n.agent.pair_stats().count(), MAX_PAIRS);
        assert_eq!(n.agent.stats().pairs_dropped, 120 - MAX_PAIRS as u64);
    }
    assert_eq!(max_seen, MAX_PAIRS);
    let pa = node(&sim, a).agent.selected_pair().unwrap();
    let pb = node(&sim, b).agent.selected_pair().unwrap();
    assert_eq!((pa.0, pa.1), (pb.1, pb.0));
    // Checks are paced: 100 pairs at Ta = 50 ms is at least 5 s of checks,
    // never a burst.
    let trace = sim.trace();
    let from_a: Vec<_> = trace
        .iter()
        .filter(|e| e.from.ip() == ip("192.0.2.1"))
        .map(|e| e.sent)
        .collect();
    let burst = from_a
        .windows(5)
        .filter(|w| w[4] - w[0] < Duration::from_millis(50))
        .count();
    assert!(
        burst < from_a.len() / 4,
        "bursty sending: {burst} of {}",
        from_a.len()
    );
}
