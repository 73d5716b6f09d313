//! ICE restart (RFC 8445 §9) onto new sockets: the old pair keeps carrying
//! data until the new pair is nominated, and not a datagram is lost.
#![cfg(feature = "sim")]

mod ice_common;

use std::net::SocketAddr;
use std::time::Duration;

use eddy::ice::{IceConfig, IceEvent};
use eddy::sim::ice_node::{exchange_credentials, run_signaling, IceNode};
use eddy::sim::Sim;
use eddy::Protocol;
use ice_common::*;

#[test]
fn restart_moves_to_a_new_pair_without_losing_traffic() {
    let mut sim = Sim::new(40, start());
    let net = sim.internet();
    let (a, b) = open_pair(&mut sim, net, IceConfig::default(), IceConfig::default());
    exchange_credentials(&mut sim, a, b);
    run_signaling(
        &mut sim,
        a,
        b,
        Duration::from_millis(10),
        Duration::from_secs(5),
        |s| both_connected(s, a, b),
    )
    .expect("connects");
    let old_a = node(&sim, a).agent.selected_pair().unwrap();
    // Media both ways every 20 ms.
    for id in [a, b] {
        sim.node_mut::<IceNode>(id).unwrap().send_every = Some(Duration::from_millis(20));
    }
    sim.run_for(Duration::from_secs(2));

    // Restart onto new sockets (a network change): only the new candidates
    // are signaled.
    let old_ufrag = node(&sim, a).agent.local_credentials().ufrag.clone();
    for (id, port) in [(a, 5001), (b, 6001)] {
        let n = sim.node_mut::<IceNode>(id).unwrap();
        n.agent.restart();
        n.take_signals();
        let ip = sim.node_ip(id).unwrap();
        let n = sim.node_mut::<IceNode>(id).unwrap();
        n.agent
            .add_local_candidate(SocketAddr::new(ip, port), Protocol::Udp)
            .unwrap();
        n.agent.end_of_local_candidates();
    }
    assert_ne!(node(&sim, a).agent.local_credentials().ufrag, old_ufrag);
    assert_eq!(
        node(&sim, a).agent.selected_pair(),
        Some(old_a),
        "old pair still carries data"
    );
    // Signaling takes a while (say 300 ms): data keeps flowing meanwhile.
    sim.run_for(Duration::from_millis(300));
    let mid = node(&sim, a).data_received.len();
    exchange_credentials(&mut sim, a, b);
    run_signaling(
        &mut sim,
        a,
        b,
        Duration::from_millis(10),
        Duration::from_secs(5),
        |s| node(s, a).agent.selected_pair() != Some(old_a) && agree(s, a, b),
    )
    .expect("moves to a new pair");
    sim.run_for(Duration::from_secs(2));
    let new_a = node(&sim, a).agent.selected_pair().unwrap();
    let new_b = node(&sim, b).agent.selected_pair().unwrap();
    assert_eq!((new_a.0, new_a.1), (new_b.1, new_b.0));
    assert!(
        new_a.1.port() == 6001 || new_b.0.port() == 6001,
        "{new_a:?}"
    );
    assert!(
        node(&sim, a)
            .events
            .iter()
            .filter(|(_, e)| matches!(e, IceEvent::SelectedPairChange { .. }))
            .count()
            >= 2
    );
    assert!(both_connected(&sim, a, b));
    // Every datagram arrived, in order, none rejected: the last ones may
    // still be in flight.
    for (from, to) in [(a, b), (b, a)] {
        let sent = node(&sim, from).data_sent;
        let rx: Vec<u64> = node(&sim, to)
            .data_received
            .iter()
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(node(&sim, to).data_rejected, 0);
        assert_eq!(node(&sim, from).data_unsendable, 0);
        assert!(rx.len() as u64 + 2 >= sent, "{} of {sent}", rx.len());
        assert!(
            rx.iter().enumerate().all(|(i, s)| *s == i as u64),
            "gap or reorder"
        );
    }
    assert!(node(&sim, a).data_received.len() > mid + 100);
}
