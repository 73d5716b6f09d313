//! A TURN server restarts mid-call (both peers behind symmetric NATs, so
//! the relay is the only path): it forgets every allocation. ICE loses
//! consent and fails; the clients learn the loss from the 437 (Allocation
//! Mismatch) answers to their next permission refreshes and report it as
//! `icecandidateerror`; the application restarts ICE, as a browser app
//! does on `failed`, which makes new allocations, and data flows again
//! through new relayed candidates.
#![cfg(feature = "sim")]

mod turn_common;

use std::time::Duration;

use eddy::sim::turn_server::TurnServer;
use eddy::sim::Sim;
use eddy::IceConnectionState;
use turn_common::*;

fn state_is(run: &Run, n: eddy::sim::NodeId, want: IceConnectionState) -> bool {
    pc(run, n).ice_connection_state() == want
}

/// `a` offers an ICE restart, `b` answers.
fn restart_ice(run: &mut Run) {
    negotiate(run, |pa| pa.restart_ice());
}

fn connected_over_the_relay() -> (Run, eddy::ChannelId, std::net::SocketAddr) {
    let mut run = setup(
        31,
        turn("eddy", "secret"),
        Topology::SymmetricNats,
        |s| config(s, TURN_URL, "secret", true),
        |s| config(s, TURN_URL, "secret", true),
    );
    signal(&mut run);
    let (ha, _) = open_channel(&mut run, Duration::from_secs(60)).expect("the channel opened");
    assert!(deliver(&mut run, ha, "before the restart"));
    let relayed = pc(&run, run.a).selected_candidate_pair().unwrap().0;
    assert_eq!(server(&run).allocations(), 2);
    run.sim
        .node_mut::<TurnServer>(run.server)
        .unwrap()
        .restart();
    assert_eq!(server(&run).allocations(), 0);
    (run, ha, relayed)
}

fn ice_connects(run: &mut Run) -> bool {
    let (a, b) = (run.a, run.b);
    let connected = |s: &Sim| {
        [a, b].iter().all(|&n| {
            matches!(
                s.node::<eddy::PeerConnection>(n)
                    .unwrap()
                    .ice_connection_state(),
                IceConnectionState::Connected | IceConnectionState::Completed
            )
        })
    };
    let until = run.sim.elapsed() + Duration::from_secs(30);
    run.sim.run_until(connected, until);
    connected(&run.sim)
}

#[test]
fn restarting_ice_when_it_fails_makes_new_allocations_and_the_call_goes_on() {
    let (mut run, ha, relayed_before) = connected_over_the_relay();
    let a = run.a;
    // Consent (RFC 7675) expires in 30 s: ICE fails, and the application
    // restarts it at once, as a browser app does on "failed".
    let failed = |s: &Sim| {
        s.node::<eddy::PeerConnection>(a)
            .unwrap()
            .ice_connection_state()
            == IceConnectionState::Failed
    };
    let until = run.sim.elapsed() + Duration::from_secs(60);
    run.sim.run_until(failed, until);
    assert!(failed(&run.sim), "ICE noticed the relay is gone");
    restart_ice(&mut run);
    assert!(ice_connects(&mut run), "ICE connected again");
    // SCTP retransmits what was pending and the same channel carries data.
    assert!(
        deliver(&mut run, ha, "after the restart"),
        "data flows again"
    );
    assert_eq!(server(&run).allocations(), 2);
    assert_eq!(server(&run).stats.allocations, 4);
    let relayed_after = pc(&run, a).selected_candidate_pair().unwrap().0;
    assert_ne!(relayed_before, relayed_after, "a new relayed candidate");
    assert_eq!(
        selected_local_kind(&run, a),
        Some(eddy::CandidateKind::Relayed)
    );
    // The lost allocation's candidate is no longer offered.
    let sdp = &pc(&run, a).local_description().unwrap().sdp;
    assert!(
        !sdp.contains(&format!(" {} typ relay", relayed_before.port())),
        "{sdp}"
    );
}

#[test]
fn the_lost_allocation_is_reported_as_437_and_an_ice_restart_recovers() {
    let (mut run, _, _) = connected_over_the_relay();
    let (a, b) = (run.a, run.b);
    // Nobody restarts ICE: the permissions (300 s) are refreshed within 5
    // minutes and answered 437 (Allocation Mismatch).
    run.sim.run_for(Duration::from_secs(6 * 60));
    for n in [a, b] {
        assert!(state_is(&run, n, IceConnectionState::Failed), "{n:?}");
        let errors = candidate_errors(&run, n);
        assert!(
            errors
                .iter()
                .any(|(url, code, _)| *code == 437 && url == TURN_URL),
            "{n:?}: {errors:?}"
        );
    }
    assert_eq!(
        server(&run).allocations(),
        0,
        "nobody allocated again by itself"
    );
    // Late, but an ICE restart still brings ICE back (SCTP gave up long
    // ago, as in a browser: the application makes a new connection for
    // data, or media goes on).
    restart_ice(&mut run);
    assert!(ice_connects(&mut run), "ICE connected again");
    assert_eq!(server(&run).allocations(), 2);
}
