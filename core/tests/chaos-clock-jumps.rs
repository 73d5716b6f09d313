//! Chaos: the runtime's clock misbehaves. Time is an input (ARCHITECTURE.md
//! §5.1), so the core must take whatever `Instant`s it is given:
//! - many inputs at the same instant, and times going backwards (by an
//!   hour) in the middle of a transfer: no panic, no livelock, nothing
//!   lost, the connection stays `connected` (an earlier time is taken as
//!   the latest one seen);
//! - a jump of five minutes forward (a laptop waking up): no panic; by its
//!   own clock A has had no consent answer for five minutes, so RFC 7675
//!   §5.1 ("Consent expires after 30 seconds") makes it `failed` at once,
//!   and later inputs, now behind A's clock, keep it there sanely.
#![cfg(feature = "sim")]

mod chaos_common;

use std::time::Duration;

use chaos_common::*;
use eddy::sim::RunOutcome;
use eddy::{IceConnectionState, Input, Output, PeerConnectionState};

#[test]
fn chaos_equal_and_backward_times_mid_transfer() {
    let mut c = Chaos::connect(&Setup::new(112), Duration::from_secs(10));
    let mut up = c.transfer(c.a, 600);
    let mut down = c.transfer(c.b, 300);
    let baseline = reset_peak();
    for round in 0..10 {
        c.run_for(Duration::from_millis(200), &mut [&mut up, &mut down]);
        let now = c.sim.now();
        let (a, b) = (c.a, c.b);
        for n in [a, b] {
            let pc = c.pc(n);
            // The same instant, many times over.
            for _ in 0..100 {
                pc.handle_input(Input::Timeout(now)).unwrap();
            }
            // Backwards: an hour, then a second, then the epoch of the run.
            for back in [3600, 1, round] {
                let earlier = now.checked_sub(Duration::from_secs(back)).unwrap_or(now);
                pc.handle_input(Input::Timeout(earlier)).unwrap();
            }
            // Whatever the input, the next wake-up is not before `now`.
            loop {
                match pc.poll_output() {
                    Output::Timeout(at) => {
                        assert!(at.is_none_or(|at| at >= now), "{n:?} wants a past wake-up");
                        break;
                    }
                    // Transmits are dropped here: the network lost them.
                    Output::Transmit(_) | Output::Event(_) => {}
                }
            }
        }
    }
    // The sim keeps running (no livelock on "wake me in the past").
    assert_ne!(
        c.sim.run_for(Duration::from_millis(1)),
        RunOutcome::Livelock
    );
    c.finish(Duration::from_secs(60), &mut [&mut up, &mut down]);
    assert_peak_within(baseline, 2 << 20, "clock going backwards");
    c.assert_states(PeerConnectionState::Connected);
    for n in [c.a, c.b] {
        assert_eq!(
            c.log(n).pc_states(),
            [
                PeerConnectionState::Connecting,
                PeerConnectionState::Connected
            ]
        );
    }
    c.assert_healthy();
}

#[test]
fn chaos_a_jump_of_minutes_expires_consent() {
    let mut c = Chaos::connect(&Setup::new(113), Duration::from_secs(10));
    let mut up = c.transfer(c.a, 1_000_000);
    c.run_for(Duration::from_secs(1), &mut [&mut up]);
    let before = up.received;
    assert!(before > 0);
    let baseline = reset_peak();
    let jumped = c.sim.now() + Duration::from_secs(300);
    c.pc(c.a).handle_input(Input::Timeout(jumped)).unwrap();
    // By A's clock nothing answered for five minutes.
    assert_eq!(
        c.pc_ref(c.a).ice_connection_state(),
        IceConnectionState::Failed
    );
    assert_eq!(
        c.pc_ref(c.a).connection_state(),
        PeerConnectionState::Failed
    );
    // A's wake-ups are in its own (future) time; the simulator, whose
    // clock is five minutes behind, still runs: every input A gets now is
    // "in the past" for it.
    let outcome = c.sim.run_for(Duration::from_millis(10));
    assert_ne!(outcome, RunOutcome::Livelock);
    c.run_for(Duration::from_secs(60), &mut [&mut up]);
    assert_eq!(
        c.pc_ref(c.a).connection_state(),
        PeerConnectionState::Failed
    );
    // B, whose clock is sane, stays `connected`: A still answers B's
    // consent checks (answering is not sending data, RFC 7675 §5.1 only
    // stops the latter), so B has no way to tell A gave up.
    assert_eq!(
        c.pc_ref(c.b).connection_state(),
        PeerConnectionState::Connected
    );
    assert_eq!(
        c.log_b.pc_states(),
        [
            PeerConnectionState::Connecting,
            PeerConnectionState::Connected
        ]
    );
    assert_eq!(
        c.log_a.pc_states(),
        [
            PeerConnectionState::Connecting,
            PeerConnectionState::Connected,
            PeerConnectionState::Failed
        ]
    );
    // A sends nothing once consent expired, so B got nothing more than
    // what was in flight at the jump.
    let after = up.received;
    c.run_for(Duration::from_secs(5), &mut [&mut up]);
    assert_eq!(up.received, after);
    assert_peak_within(baseline, 4 << 20, "clock jump");
}
