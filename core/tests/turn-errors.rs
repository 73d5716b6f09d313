//! TURN failures surface as `Event::IceCandidateError` (W3C
//! RTCPeerConnectionIceErrorEvent) and stop the TURN client's timers,
//! while the host candidates still connect: a wrong password (401), an
//! unreachable server (701 after the RFC 8489 retransmissions) and a
//! server that answers garbage (nothing panics; 701).
#![cfg(feature = "sim")]

mod turn_common;

use std::net::SocketAddr;
use std::time::Duration;

use eddy::sim::turn_server::TurnServerConfig;
use eddy::{CandidateKind, Event, IceGatheringState};
use turn_common::*;

fn a_addr() -> SocketAddr {
    "192.0.2.10:5000".parse().unwrap()
}

#[test]
fn wrong_password_reports_401_stops_and_host_candidates_connect() {
    let mut run = setup(
        31,
        turn("eddy", "secret"),
        Topology::Open,
        |s| config(s, TURN_URL, "wrong", false),
        |s| config(s, TURN_URL, "secret", false),
    );
    signal(&mut run);
    let (ha, _) = open_channel(&mut run, Duration::from_secs(60)).expect("host candidates work");
    assert_eq!(
        candidate_errors(&run, run.a),
        vec![(TURN_URL.to_string(), 401, Some(a_addr()))]
    );
    let text = run
        .sim
        .events(run.a)
        .find_map(|(_, e)| match e {
            Event::IceCandidateError { text, .. } => Some(text.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(text, "Unauthorized");
    assert!(candidate_errors(&run, run.b).is_empty());
    assert_eq!(selected_local_kind(&run, run.a), Some(CandidateKind::Host));
    assert!(deliver(&mut run, ha, "over host candidates"));
    // The failed client sends nothing more: the server saw two requests
    // from A (unauthenticated, then the wrong key) and one challenge of B.
    let before = server(&run).stats;
    assert_eq!(before.unauthorized, 3, "{before:?}");
    run.sim.run_for(Duration::from_secs(15 * 60));
    let after = server(&run).stats;
    assert_eq!(after.unauthorized, before.unauthorized);
    assert_eq!(after.allocations, 1, "B's allocation only");
}

#[test]
fn an_unreachable_server_reports_701_and_gathering_completes() {
    let url = "turn:198.51.100.99:3478";
    let mut run = setup(
        32,
        turn("eddy", "secret"),
        Topology::Open,
        |s| config(s, url, "secret", false),
        |s| config(s, TURN_URL, "secret", false),
    );
    let a = run.a;
    signal(&mut run);
    // RFC 8489: 7 requests over 39.5 s, then gathering completes.
    let gathered_at = run
        .sim
        .events(a)
        .find_map(|(t, e)| {
            matches!(
                e,
                Event::IceGatheringStateChange(IceGatheringState::Complete)
            )
            .then_some(*t)
        })
        .expect("gathering completed");
    assert!(
        gathered_at >= Duration::from_millis(39_500),
        "{gathered_at:?}"
    );
    assert_eq!(
        candidate_errors(&run, a),
        vec![(url.to_string(), 701, Some(a_addr()))]
    );
    let (ha, _) = open_channel(&mut run, Duration::from_secs(60)).expect("host candidates work");
    assert!(deliver(&mut run, ha, "still fine"));
}

#[test]
fn a_server_answering_garbage_is_survived() {
    let relay = turn_with(TurnServerConfig {
        users: vec![("eddy".into(), "secret".into())],
        garbage: true,
        ..TurnServerConfig::default()
    });
    let mut run = setup(
        33,
        relay,
        Topology::Open,
        |s| config(s, TURN_URL, "secret", false),
        |s| config(s, TURN_URL, "secret", false),
    );
    signal(&mut run);
    let (ha, _) = open_channel(&mut run, Duration::from_secs(60)).expect("host candidates work");
    for n in [run.a, run.b] {
        let errors = candidate_errors(&run, n);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].1, 701);
        assert_eq!(selected_local_kind(&run, n), Some(CandidateKind::Host));
    }
    assert!(deliver(&mut run, ha, "garbage survived"));
}
