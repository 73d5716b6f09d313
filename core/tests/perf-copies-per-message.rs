//! A data channel message's bytes are not copied more than ARCHITECTURE.md
//! §5.6 lists: a regression guard that counts the bytes allocated while a
//! message is handed to the connection.
//!
//! `DataChannel::send_owned` moves the caller's buffer into SCTP's queue:
//! handing over a 60 KiB message allocates far less than the message (its
//! first packets, built at once, reuse kept buffers). `DataChannel::send`
//! borrows the bytes and must copy them: the same measure sees at least the
//! message's size, which shows the guard would catch a copy.

mod perf_common;

use std::time::Duration;

use eddy::{ChannelId, Event};
use perf_common::{Moved, Wire};

/// Bytes allocated while `f` runs.
fn allocated(f: impl FnOnce()) -> u64 {
    perf_common::counted(f).1.bytes
}

struct Pair {
    wire: Wire,
    channel: Option<ChannelId>,
    received: Vec<Vec<u8>>,
}

impl Pair {
    fn connected() -> Self {
        let mut pair = Self {
            wire: Wire::loopback("copies"),
            channel: None,
            received: Vec::new(),
        };
        perf_common::pump_until_open(
            &mut pair,
            |p| &mut p.wire,
            Self::pump,
            |p| p.channel.is_some(),
        );
        pair
    }

    /// Moves datagrams both ways until both peers are quiet, a few times
    /// with the clock moved on so that delayed acknowledgements run.
    fn pump(&mut self) {
        for _ in 0..8 {
            let Self {
                wire,
                channel,
                received,
            } = self;
            wire.pump(true, |moved| match moved {
                Moved::Event(_, Event::ChannelOpen(id)) => {
                    channel.get_or_insert(id);
                }
                Moved::Event(_, Event::ChannelMessage(_, m)) => received.push(m.data),
                _ => {}
            });
            self.wire.now += Duration::from_millis(250);
        }
    }
}

#[test]
fn an_owned_message_is_not_copied_into_the_send_queue() {
    const LEN: usize = 60 * 1024;
    let mut pair = Pair::connected();
    let channel = pair.channel.expect("open");
    // Warm-up: pools and queues reach their size.
    for _ in 0..4 {
        let mut dc = pair.wire.peers[0].data_channel(channel).expect("channel");
        dc.send_owned(vec![1; LEN]).expect("send");
        pair.pump();
    }

    let message = vec![2u8; LEN];
    let mut dc = pair.wire.peers[0].data_channel(channel).expect("channel");
    let owned = allocated(|| dc.send_owned(message).expect("send"));
    pair.pump();
    let borrowed_message = vec![3u8; LEN];
    let mut dc = pair.wire.peers[0].data_channel(channel).expect("channel");
    let borrowed = allocated(|| dc.send(&borrowed_message).expect("send"));
    pair.pump();

    println!("handing over {LEN} bytes allocated {owned} bytes owned, {borrowed} borrowed");
    assert!(
        owned < LEN as u64 / 4,
        "send_owned allocated {owned} bytes for a {LEN}-byte message: a copy came back"
    );
    assert!(
        borrowed >= LEN as u64,
        "send copies a borrowed message: {borrowed} bytes allocated"
    );
    let last = &pair.received[pair.received.len() - 2..];
    assert_eq!(last, [vec![2u8; LEN], vec![3u8; LEN]]);
}
