//! A 20-minute call through the relay (both peers behind symmetric NATs):
//! the allocations are refreshed before they expire (10 minutes), the
//! permissions (5 minutes) and channels (10 minutes) before theirs, stale
//! nonces (the server rotates them every 5 minutes) are retried, and data
//! still flows at the end.
#![cfg(feature = "sim")]

mod turn_common;

use std::time::Duration;

use eddy::sim::turn_server::TurnServerConfig;
use eddy::{CandidateKind, PeerConnectionState};
use turn_common::*;

#[test]
fn twenty_minutes_through_the_relay_keeps_everything_refreshed() {
    let relay = turn_with(TurnServerConfig {
        users: vec![("eddy".into(), "secret".into())],
        nonce_lifetime: Duration::from_secs(300),
        ..TurnServerConfig::default()
    });
    let mut run = setup(
        21,
        relay,
        Topology::SymmetricNats,
        |s| config(s, TURN_URL, "secret", true),
        |s| config(s, TURN_URL, "secret", true),
    );
    signal(&mut run);
    let (ha, _) = open_channel(&mut run, Duration::from_secs(60)).expect("the channel opened");
    let at_start = server(&run).stats;
    for minute in 1..=20 {
        run.sim.run_for(Duration::from_secs(60));
        assert!(
            deliver(&mut run, ha, &format!("minute {minute}")),
            "data flows at minute {minute}"
        );
    }
    assert!(run.sim.elapsed() >= Duration::from_secs(20 * 60));
    let stats = server(&run).stats;
    eprintln!("at start: {at_start:?}\nafter 20 min: {stats:?}");
    // Two allocations of 600 s, refreshed a minute early: at least twice
    // each in 20 minutes.
    assert!(stats.refreshes >= 4, "{stats:?}");
    // Permissions (300 s) refreshed at least 3 times per peer, channels
    // (600 s) at least once.
    assert!(stats.permissions >= at_start.permissions + 6, "{stats:?}");
    assert!(
        stats.channel_binds >= at_start.channel_binds + 2,
        "{stats:?}"
    );
    // The nonce went stale and the clients retried.
    assert!(stats.stale_nonces >= 2, "{stats:?}");
    assert_eq!(server(&run).allocations(), 2);
    let (perms, channels) = server(&run).permissions_and_channels();
    assert!(perms >= 2 && channels >= 2);
    for n in [run.a, run.b] {
        assert_eq!(
            pc(&run, n).connection_state(),
            PeerConnectionState::Connected
        );
        assert_eq!(selected_local_kind(&run, n), Some(CandidateKind::Relayed));
        assert!(
            candidate_errors(&run, n).is_empty(),
            "{:?}",
            candidate_errors(&run, n)
        );
    }
}
