//! Both agents start controlling (or both controlled): RFC 8445 §7.3.1.1
//! role-conflict repair with 487 leaves one of each, and they connect.
#![cfg(feature = "sim")]

mod ice_common;

use std::time::Duration;

use eddy::ice::{IceConfig, IceEvent, IceRole};
use eddy::sim::ice_node::{exchange_credentials, run_signaling};
use eddy::sim::Sim;
use ice_common::*;

fn run(role: IceRole, seed: u64) {
    let mut sim = Sim::new(seed, start());
    let net = sim.internet();
    let a = add_agent(
        &mut sim,
        net,
        "192.0.2.1",
        5000,
        role,
        IceConfig::default(),
        None,
    );
    let b = add_agent(
        &mut sim,
        net,
        "192.0.2.2",
        6000,
        role,
        IceConfig::default(),
        None,
    );
    exchange_credentials(&mut sim, a, b);
    run_signaling(
        &mut sim,
        a,
        b,
        Duration::from_millis(10),
        Duration::from_secs(10),
        |s| both_connected(s, a, b),
    )
    .expect("connects");
    let (ra, rb) = (node(&sim, a).agent.role(), node(&sim, b).agent.role());
    assert_ne!(ra, rb, "roles repaired");
    let conflicts =
        node(&sim, a).agent.stats().role_conflicts + node(&sim, b).agent.stats().role_conflicts;
    assert!(conflicts >= 1);
    // Exactly one side switched, and said so.
    let switched: usize = [a, b]
        .iter()
        .map(|&id| {
            node(&sim, id)
                .events
                .iter()
                .filter(|(_, e)| matches!(e, IceEvent::RoleChange(_)))
                .count()
        })
        .sum();
    assert_eq!(switched, 1);
    let pa = node(&sim, a).agent.selected_pair().unwrap();
    let pb = node(&sim, b).agent.selected_pair().unwrap();
    assert_eq!((pa.0, pa.1), (pb.1, pb.0));
}

#[test]
fn both_controlling_is_repaired() {
    for seed in 10..15 {
        run(IceRole::Controlling, seed);
    }
}

#[test]
fn both_controlled_is_repaired() {
    for seed in 20..25 {
        run(IceRole::Controlled, seed);
    }
}
