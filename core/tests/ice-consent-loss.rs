//! Consent freshness (RFC 7675): when the peer stops answering, the state
//! goes `disconnected` after `disconnected_timeout`, then `failed` and
//! silent `failed_timeout` after the last response.
#![cfg(feature = "sim")]

mod ice_common;

use std::time::Duration;

use eddy::ice::{IceConfig, IceConnectionState};
use eddy::sim::ice_node::{exchange_credentials, run_signaling};
use eddy::sim::{Link, LinkConfig, Loss, Sim};
use ice_common::*;

fn cut() -> Link {
    Link::symmetric(LinkConfig {
        loss: Loss::Random(1.0),
        ..LinkConfig::default()
    })
}

fn scenario(config: IceConfig, seed: u64) {
    let mut sim = Sim::new(seed, start());
    let net = sim.internet();
    let (a, b) = open_pair(&mut sim, net, config.clone(), config.clone());
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
    sim.run_for(Duration::from_secs(17));
    assert!(both_connected(&sim, a, b));
    // The peer vanishes.
    let cut_at = sim.now();
    sim.set_link(b, cut());
    sim.run_for(config.failed_timeout + Duration::from_secs(5));
    let n = node(&sim, a);
    let disconnected = n
        .entered(IceConnectionState::Disconnected)
        .expect("disconnected")
        - cut_at;
    let failed = n.entered(IceConnectionState::Failed).expect("failed") - cut_at;
    // The first unanswered consent check leaves within one jittered period
    // (at most 1.2 x the interval); `disconnected` follows it by the
    // configured timeout.
    let max_period = config.consent_interval.mul_f64(1.2);
    assert!(
        disconnected >= config.disconnected_timeout,
        "{disconnected:?}"
    );
    assert!(
        disconnected <= max_period + config.disconnected_timeout + Duration::from_millis(100),
        "{disconnected:?}"
    );
    // `failed` comes `failed_timeout` after the last response, which came
    // less than one period before the cut.
    assert!(failed <= config.failed_timeout, "{failed:?}");
    assert!(failed >= config.failed_timeout - max_period, "{failed:?}");
    assert_eq!(
        n.states(),
        [
            IceConnectionState::Checking,
            IceConnectionState::Connected,
            IceConnectionState::Completed,
            IceConnectionState::Disconnected,
            IceConnectionState::Failed
        ]
    );
    // RFC 7675 §5.1: after consent expires, nothing more is sent.
    let failed_at = n.entered(IceConnectionState::Failed).unwrap();
    assert!(n.agent.selected_pair().is_none());
    let ip_a = ip("192.0.2.1");
    let failed_offset = failed_at - (sim.now() - sim.elapsed());
    let sent_after_fail = sim
        .trace()
        .iter()
        .filter(|e| e.from.ip() == ip_a && e.sent > failed_offset)
        .count();
    let sent_before = sim.trace().iter().filter(|e| e.from.ip() == ip_a).count();
    assert!(sent_before > 10);
    assert_eq!(sent_after_fail, 0, "sent after consent expired");
}

#[test]
fn default_timers() {
    scenario(IceConfig::default(), 30);
}

#[test]
fn configured_timers() {
    let mut config = IceConfig::default();
    config.consent_interval = Duration::from_secs(8);
    config.disconnected_timeout = Duration::from_secs(2);
    config.failed_timeout = Duration::from_secs(20);
    scenario(config, 31);
}
