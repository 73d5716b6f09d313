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

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eddy::{ChannelId, Event, Input, Output, PeerConnection, Receive};

struct Counting;

static BYTES: AtomicU64 = AtomicU64::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

// SAFETY: forwards every call to `System` unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated while `f` runs.
fn allocated(f: impl FnOnce()) -> u64 {
    BYTES.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    f();
    COUNTING.store(false, Ordering::SeqCst);
    BYTES.load(Ordering::SeqCst)
}

struct Pair {
    peers: [PeerConnection; 2],
    addrs: [SocketAddr; 2],
    now: Instant,
    channel: Option<ChannelId>,
    received: Vec<Vec<u8>>,
}

impl Pair {
    fn connected() -> Self {
        #[allow(clippy::disallowed_methods)] // a test may read the clock once
        let now = Instant::now();
        let addrs: [SocketAddr; 2] = [
            "127.0.0.1:10000".parse().expect("literal"),
            "127.0.0.1:20000".parse().expect("literal"),
        ];
        let [a, b] = perf_common::negotiated_pair(now, addrs, "copies");
        let mut pair = Self {
            peers: [a, b],
            addrs,
            now,
            channel: None,
            received: Vec::new(),
        };
        for _ in 0..400 {
            pair.pump();
            if pair.channel.is_some() {
                return pair;
            }
            pair.now += Duration::from_millis(10);
        }
        panic!("the channel did not open");
    }

    /// Moves datagrams both ways until both peers are quiet, a few times
    /// with the clock moved on so that delayed acknowledgements run.
    fn pump(&mut self) {
        for _ in 0..8 {
            self.exchange();
            self.now += Duration::from_millis(250);
        }
    }

    /// Moves datagrams both ways until both peers are quiet.
    fn exchange(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..2 {
                loop {
                    match self.peers[i].poll_output() {
                        Output::Transmit(t) => {
                            moved = true;
                            let receive = Receive {
                                proto: t.proto,
                                source: t.source,
                                destination: self.addrs[1 - i],
                                contents: &t.contents,
                            };
                            let _ =
                                self.peers[1 - i].handle_input(Input::Receive(self.now, receive));
                            self.peers[i].recycle_transmit(t.contents);
                        }
                        Output::Event(Event::ChannelOpen(id)) => {
                            self.channel.get_or_insert(id);
                        }
                        Output::Event(Event::ChannelMessage(_, m)) => self.received.push(m.data),
                        Output::Event(_) => {}
                        Output::Timeout(at) => {
                            if at.is_some_and(|at| at <= self.now) {
                                let _ = self.peers[i].handle_input(Input::Timeout(self.now));
                                moved = true;
                            }
                            break;
                        }
                    }
                }
            }
            if !moved {
                return;
            }
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
        let mut dc = pair.peers[0].data_channel(channel).expect("channel");
        dc.send_owned(vec![1; LEN]).expect("send");
        pair.pump();
    }

    let message = vec![2u8; LEN];
    let mut dc = pair.peers[0].data_channel(channel).expect("channel");
    let owned = allocated(|| dc.send_owned(message).expect("send"));
    pair.pump();
    let borrowed_message = vec![3u8; LEN];
    let mut dc = pair.peers[0].data_channel(channel).expect("channel");
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
