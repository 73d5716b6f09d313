//! Chaos: the receiving peer goes silent mid-transfer (its uplink is cut;
//! it still hears everything). The sender gets no SACKs and no consent
//! answers: its `bufferedAmount` stays within the send buffer's limit even
//! though the application keeps sending (then `send` refuses), heap
//! bounded; both sides go `disconnected`, then `failed` by consent
//! freshness (RFC 7675, 30 s). What did arrive is an exact, in-order
//! prefix of what was sent. ICE failing does not close the channels; the
//! SCTP association gives up after its retransmission limit, the channels
//! close on both sides, the 16 MiB backlog is freed and neither connection
//! keeps a timer.
#![cfg(feature = "sim")]

mod chaos_common;

use std::time::Duration;

use chaos_common::*;
use eddy::sim::Link;
use eddy::{
    DataChannelState, Event, IceConnectionState, Output, PeerConnectionState, SctpTransportState,
};

const SEND_BUFFER: usize = 16 << 20;
/// dcSCTP refuses a message once the buffer holds the limit or more
/// (libwebrtc's rule), so it may exceed the limit by one message.
const ONE_MESSAGE: usize = 64 * 1024;

#[test]
fn chaos_a_peer_that_goes_silent_mid_transfer() {
    let mut c = Chaos::connect(&Setup::new(108), Duration::from_secs(10));
    let mut t = c.transfer(c.a, u64::MAX);
    t.sizes = vec![1000];
    // 4 x 1000 bytes per 5 ms: 6.4 Mbit/s, under the 10 Mbit/s link.
    t.flood = Some(4);
    c.run_for(Duration::from_secs(2), &mut [&mut t]);
    assert_eq!(t.refused, 0, "the path kept up before the cut");
    let before = t.received;
    assert!(before > 0);
    let baseline = reset_peak();

    let cut_at = c.sim.elapsed();
    c.sim.set_link(
        c.b,
        Link {
            up: cut(),
            down: wire(),
        },
    );
    c.run_for(Duration::from_secs(40), &mut [&mut t]);
    assert!(
        t.max_buffered <= SEND_BUFFER + ONE_MESSAGE,
        "{}",
        t.max_buffered
    );
    assert!(
        t.refused + t.refused_closed > 0,
        "the application was stopped"
    );
    assert_peak_within(baseline, 2 * SEND_BUFFER, "silent peer");
    // B kept hearing A for a while after the cut: the window's worth.
    assert!(t.received >= before);

    for n in [c.a, c.b] {
        let pc = c.pc_ref(n);
        assert_eq!(pc.ice_connection_state(), IceConnectionState::Failed);
        assert_eq!(pc.connection_state(), PeerConnectionState::Failed);
        assert_eq!(
            c.log(n).pc_states(),
            [
                PeerConnectionState::Connecting,
                PeerConnectionState::Connected,
                PeerConnectionState::Disconnected,
                PeerConnectionState::Failed
            ],
            "{n:?}"
        );
        let failed = c.log(n).entered(PeerConnectionState::Failed).unwrap() - cut_at;
        assert!(failed <= Duration::from_secs(30), "{n:?}: {failed:?}");
    }
    assert!(c.stray.is_empty());

    // ICE failing does not close the data channels (as in browsers); the
    // association gives up after its retransmission limit (RFC 9260 §8.1,
    // dcSCTP: 10), which frees the 16 MiB backlog.
    t.flood = None;
    let gave_up = c.run_until(Duration::from_secs(600), &mut [&mut t], |c, ts| {
        c.channel_state(c.a, ts[0].tx) == DataChannelState::Closed
    });
    assert!(gave_up, "A's association never gave up");
    assert_eq!(c.pc_ref(c.a).sctp_state(), Some(SctpTransportState::Closed));
    assert!(
        c.log_a
            .count(|e| matches!(e, Event::ChannelClose(h) if *h == t.tx))
            == 1
    );
    // The backlog is gone with the association.
    let live = live_bytes().saturating_sub(baseline);
    assert!(live < 1 << 20, "{live} bytes still held after SCTP closed");
    // Nothing is left to do: the connection idles (no timer at all).
    c.run_for(Duration::from_secs(600), &mut [&mut t]);
    assert_eq!(c.channel_state(c.b, t.rx), DataChannelState::Closed);
    assert_eq!(c.pc_ref(c.b).sctp_state(), Some(SctpTransportState::Closed));
    for n in [c.a, c.b] {
        assert!(
            matches!(c.pc(n).poll_output(), Output::Timeout(None)),
            "{n:?} still has a timer"
        );
        // ICE failed, the DTLS transport stays as it was (W3C: ICE failure
        // does not close it).
        assert_eq!(c.pc_ref(n).connection_state(), PeerConnectionState::Failed);
    }
}
