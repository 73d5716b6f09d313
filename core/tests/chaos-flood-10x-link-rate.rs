//! Chaos: an application that sends at ten times the link rate (40 Mbit/s
//! offered into a 4 Mbit/s path) and ignores `bufferedAmount`. The send
//! buffer fills to its documented limit (16 MiB, Chrome's) and `send`
//! then refuses with `OperationError: send buffer full` instead of growing;
//! the heap stays within a stated bound; the connection stays `connected`;
//! once the application stops, the backlog drains and every accepted
//! message arrives in order, byte-exact.
#![cfg(feature = "sim")]

mod chaos_common;

use std::time::Duration;

use chaos_common::*;
use eddy::sim::{Link, LinkConfig};
use eddy::PeerConnectionState;

/// `max_send_buffer` of the SCTP transport (16 MiB).
const SEND_BUFFER: usize = 16 << 20;
/// dcSCTP refuses a message once the buffer holds the limit or more
/// (libwebrtc's rule), so it may exceed the limit by one message.
const ONE_MESSAGE: usize = 64 * 1024;

#[test]
fn chaos_sending_at_ten_times_the_link_rate_is_bounded() {
    let slow = LinkConfig {
        bandwidth_bps: Some(4_000_000),
        ..wire()
    };
    let mut setup = Setup::new(110);
    setup.link_b = Link::symmetric(slow);
    let mut c = Chaos::connect(&setup, Duration::from_secs(10));
    let baseline = reset_peak();
    let mut t = c.transfer(c.a, u64::MAX);
    t.sizes = vec![1250];
    // 20 x 1250 bytes every 5 ms: 40 Mbit/s.
    t.flood = Some(20);
    c.run_for(Duration::from_secs(8), &mut [&mut t]);
    let buffered = c.pc(c.a).data_channel(t.tx).unwrap().buffered_amount();
    assert!(t.refused > 0, "send never refused: {} sent", t.sent);
    assert!(
        buffered <= SEND_BUFFER + ONE_MESSAGE && buffered > SEND_BUFFER - 64 * 1024,
        "buffered {buffered}"
    );
    assert!(t.max_buffered <= SEND_BUFFER + ONE_MESSAGE);
    // What was accepted is what is buffered, what crossed, and what is in
    // flight — the last capped by the receiver's window (5 MiB).
    let accepted = t.sent as usize * 1250;
    let in_flight = accepted - buffered - t.bytes_received as usize;
    assert!(in_flight <= 5 << 20, "{in_flight} bytes in flight");
    // The link, not the sender, set the pace: ~4 Mbit/s delivered.
    assert!(t.bytes_received < 8 * 4_000_000 / 8, "{}", t.bytes_received);
    // The buffer's 16 MiB of messages, plus dcSCTP's bookkeeping for them
    // and the link's queue: at most twice the buffer.
    assert_peak_within(baseline, 2 * SEND_BUFFER, "flooding sender");
    c.assert_states(PeerConnectionState::Connected);

    // The application stops; everything it was allowed to send arrives.
    t.total = t.sent;
    t.flood = None;
    c.finish(Duration::from_secs(60), &mut [&mut t]);
    assert_eq!(c.pc(c.a).data_channel(t.tx).unwrap().buffered_amount(), 0);
    c.assert_states(PeerConnectionState::Connected);
    c.assert_healthy();
    assert!(c.stray.is_empty());
}
