//! Chaos: `close()` at every stage of the handshake — before ICE, during
//! the ICE checks, during DTLS, during SCTP's INIT, and with the channel
//! open — by either side. The closing side is `closed` at once (W3C:
//! every state, the channels included) with no timer left
//! (`poll_output` gives `Timeout(None)`); the other side reaches a final
//! state within consent's 30 s (plus the first checks' own give-up) and,
//! once its SCTP association (if any) gave up, keeps no timer either.
//! Found on the way: after `close()` the ICE connection and DTLS state
//! getters still gave their old values (fixed in `peer/wire.rs`).
#![cfg(feature = "sim")]

mod chaos_common;

use std::time::Duration;

use chaos_common::*;
use eddy::sim::NodeId;
use eddy::{
    DataChannelState, DtlsTransportState, IceConnectionState, Output, PeerConnectionState,
    SctpTransportState, SignalingState,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    BeforeIce,
    IceChecks,
    Dtls,
    SctpInit,
    Open,
}

fn reach(c: &mut Chaos, stage: Stage) {
    let a = c.a;
    let within = Duration::from_secs(10);
    let reached = match stage {
        Stage::BeforeIce => true,
        Stage::IceChecks => c.run_until(within, &mut [], |c, _| {
            c.sim.elapsed() >= Duration::from_millis(30)
        }),
        Stage::Dtls => c.run_until(within, &mut [], |c, _| {
            c.pc_ref(a).dtls_state() == DtlsTransportState::Connecting
        }),
        Stage::SctpInit => c.run_until(within, &mut [], |c, _| {
            c.pc_ref(a).dtls_state() == DtlsTransportState::Connected
        }),
        Stage::Open => c.run_until(within, &mut [], |c, _| {
            !c.open_a.is_empty() && !c.open_b.is_empty()
        }),
    };
    assert!(reached, "{stage:?} reached");
    // Where exactly we are.
    let pc = c.pc_ref(a);
    match stage {
        Stage::BeforeIce => assert_eq!(c.sim.elapsed(), Duration::ZERO),
        Stage::IceChecks => {
            assert_eq!(pc.ice_connection_state(), IceConnectionState::Checking);
            assert!(pc.selected_candidate_pair().is_none());
        }
        Stage::Dtls => assert!(pc.remote_certificate().is_none()),
        Stage::SctpInit => assert_ne!(pc.sctp_state(), Some(SctpTransportState::Connected)),
        Stage::Open => assert_eq!(pc.sctp_state(), Some(SctpTransportState::Connected)),
    }
}

fn timer(c: &mut Chaos, n: NodeId) -> Option<std::time::Instant> {
    match c.pc(n).poll_output() {
        Output::Timeout(at) => at,
        other => panic!("{n:?} had more output: {other:?}"),
    }
}

fn close_at(stage: Stage, closer_is_a: bool, seed: u64) {
    let baseline = reset_peak();
    let mut c = Chaos::signal(&Setup::new(seed));
    reach(&mut c, stage);
    let (closer, other) = if closer_is_a { (c.a, c.b) } else { (c.b, c.a) };
    c.pc(closer).close();
    let what = format!("{stage:?}, closed by {closer:?}");
    {
        let pc = c.pc_ref(closer);
        assert_eq!(pc.connection_state(), PeerConnectionState::Closed, "{what}");
        assert_eq!(pc.signaling_state(), SignalingState::Closed, "{what}");
        assert_eq!(
            pc.ice_connection_state(),
            IceConnectionState::Closed,
            "{what}"
        );
        assert!(matches!(
            pc.dtls_state(),
            DtlsTransportState::Closed | DtlsTransportState::New
        ));
    }
    let h = if closer_is_a {
        c.open_a.first()
    } else {
        c.open_b.first()
    };
    if let Some(&h) = h {
        assert_eq!(
            c.channel_state(closer, h),
            DataChannelState::Closed,
            "{what}"
        );
    }
    // Its last words (SCTP ABORT, close_notify) go out; then nothing.
    c.run_for(Duration::from_millis(100), &mut []);
    assert_eq!(timer(&mut c, closer), None, "{what}: closer keeps a timer");

    // The other side settles within consent's 30 s, or the checks' own
    // give-up when ICE never connected (a check is sent 7 times over
    // about 40 s, RFC 8445 §14.3 with eddy's rto_max of 3 s).
    let settled = c.run_until(Duration::from_secs(60), &mut [], |c, _| {
        matches!(
            c.pc_ref(other).connection_state(),
            PeerConnectionState::Failed | PeerConnectionState::Closed
        ) || c.pc_ref(other).dtls_state() == DtlsTransportState::Closed
    });
    let pc = c.pc_ref(other);
    let limit = match stage {
        Stage::BeforeIce | Stage::IceChecks => Duration::from_secs(20),
        Stage::Dtls | Stage::SctpInit => Duration::from_secs(31),
        // close_notify and ABORT arrive within a round trip.
        Stage::Open => Duration::from_secs(1),
    };
    assert!(
        c.sim.elapsed() <= limit,
        "{what}: settled at {:?}",
        c.sim.elapsed()
    );
    assert!(
        settled,
        "{what}: the other side is still {:?} / ICE {:?} / DTLS {:?}",
        pc.connection_state(),
        pc.ice_connection_state(),
        pc.dtls_state()
    );
    if stage == Stage::Open {
        // close_notify arrived: DTLS closed, SCTP ABORT closed the channel.
        assert_eq!(pc.dtls_state(), DtlsTransportState::Closed, "{what}");
        let h = if closer_is_a {
            c.open_b[0]
        } else {
            c.open_a[0]
        };
        assert_eq!(
            c.channel_state(other, h),
            DataChannelState::Closed,
            "{what}"
        );
    }
    // Then it idles: let a long while pass (SCTP's heartbeats give up
    // too) and ask for its timer.
    c.run_for(Duration::from_secs(20 * 60), &mut []);
    let pc = c.pc_ref(other);
    assert_eq!(pc.connection_state(), PeerConnectionState::Failed, "{what}");
    assert_eq!(
        pc.ice_connection_state(),
        IceConnectionState::Failed,
        "{what}"
    );
    use PeerConnectionState as S;
    let expected: &[PeerConnectionState] = match stage {
        // ICE never connected: every check failed (about 15 s).
        Stage::BeforeIce | Stage::IceChecks => &[S::Connecting, S::Failed],
        // ICE connected, DTLS did not: consent expired. DTLS starts on a
        // valid pair, before the nomination (RFC 8445 §12.1), so the other
        // side may also have been closed on before its ICE connected (a
        // nomination that never came): its checks failed.
        Stage::Dtls if c.log(other).pc_states() == [S::Connecting, S::Failed] => {
            &[S::Connecting, S::Failed]
        }
        Stage::Dtls => &[S::Connecting, S::Disconnected, S::Failed],
        // Connected, then consent expired (a close_notify, when it came,
        // closed DTLS, which W3C counts as connected).
        Stage::SctpInit | Stage::Open => &[S::Connecting, S::Connected, S::Disconnected, S::Failed],
    };
    assert_eq!(c.log(other).pc_states(), expected, "{what}");
    assert_eq!(
        timer(&mut c, other),
        None,
        "{what}: the other side keeps a timer"
    );
    assert_peak_within(baseline, 4 << 20, &what);
}

#[test]
fn chaos_close_before_ice() {
    close_at(Stage::BeforeIce, true, 140);
    close_at(Stage::BeforeIce, false, 141);
}

#[test]
fn chaos_close_during_ice_checks() {
    close_at(Stage::IceChecks, true, 142);
    close_at(Stage::IceChecks, false, 143);
}

#[test]
fn chaos_close_during_dtls() {
    close_at(Stage::Dtls, true, 144);
    close_at(Stage::Dtls, false, 145);
}

#[test]
fn chaos_close_during_sctp_init() {
    close_at(Stage::SctpInit, true, 146);
    close_at(Stage::SctpInit, false, 147);
}

#[test]
fn chaos_close_with_the_channel_open() {
    close_at(Stage::Open, true, 148);
    close_at(Stage::Open, false, 149);
}
