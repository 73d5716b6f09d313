//! 30% random loss on each agent's link (so about 51% per path, 76% per
//! request/response round trip): checks retransmit and still connect, and
//! consent survives.
#![cfg(feature = "sim")]

mod ice_common;

use std::time::Duration;

use eddy::ice::{IceConfig, IceConnectionState};
use eddy::sim::ice_node::{exchange_credentials, run_signaling};
use eddy::sim::{Link, LinkConfig, Loss, Sim};
use ice_common::*;

#[test]
fn thirty_percent_loss_still_connects() {
    let mut times = Vec::new();
    for seed in 100..120 {
        let mut sim = Sim::new(seed, start());
        let net = sim.internet();
        let (a, b) = open_pair(&mut sim, net, IceConfig::default(), IceConfig::default());
        let lossy = Link::symmetric(LinkConfig {
            loss: Loss::Random(0.3),
            ..LinkConfig::with_delay(Duration::from_millis(20))
        });
        sim.set_link(a, lossy);
        sim.set_link(b, lossy);
        exchange_credentials(&mut sim, a, b);
        let took = run_signaling(
            &mut sim,
            a,
            b,
            Duration::from_millis(10),
            Duration::from_secs(30),
            |s| both_connected(s, a, b),
        )
        .unwrap_or_else(|| panic!("seed {seed}: {:?} / {:?}", state(&sim, a), state(&sim, b)));
        times.push(took);
        // Consent survives a minute of it: `disconnected` may flicker (3 s
        // without an answer is likely at 76% round-trip loss) but consent
        // never expires. That is very likely, not certain: expiry takes 30 s
        // in which every check loses all four of its transmissions. These
        // seeds pass; a change to how the consent schedule draws from the
        // generator moves every run, and drawing the interval by modulo
        // instead of by multiplication once put seed 110 into such a window.
        sim.run_for(Duration::from_secs(60));
        for id in [a, b] {
            assert!(
                node(&sim, id).entered(IceConnectionState::Failed).is_none(),
                "seed {seed}"
            );
            assert!(node(&sim, id).agent.selected_pair().is_some());
        }
    }
    times.sort();
    let median = times[times.len() / 2];
    // RTO 0.5 s doubling to 3 s against a 24% round-trip success rate.
    assert!(median < Duration::from_secs(8), "median {median:?}");
}
