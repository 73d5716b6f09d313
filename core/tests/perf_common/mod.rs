//! Shared setup of the counting tests (perf-*): the test binary's counting
//! allocator, and two peers negotiated in memory, one data channel offered.
//! Each test binary uses part of it.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eddy::{
    Configuration, DataChannelInit, Event, Input, Output, PeerConnection, Protocol, Receive,
};

/// Forwards every call to `System`, keeping the live heap and, while
/// [`counted`] runs, the allocations and the bytes they asked for.
struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

fn note(bytes: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

// SAFETY: forwards every call to `System` unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        note(layout.size());
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        note(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What the process allocated while [`counted`] ran: allocations
/// (reallocations included) and the bytes they asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tally {
    pub(crate) allocations: u64,
    pub(crate) bytes: u64,
}

/// Runs `f`, counting the allocations of the whole process meanwhile.
pub(crate) fn counted<R>(f: impl FnOnce() -> R) -> (R, Tally) {
    ALLOCATIONS.store(0, Ordering::SeqCst);
    BYTES.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let r = f();
    COUNTING.store(false, Ordering::SeqCst);
    let tally = Tally {
        allocations: ALLOCATIONS.load(Ordering::SeqCst),
        bytes: BYTES.load(Ordering::SeqCst),
    };
    (r, tally)
}

/// The bytes of heap the process holds now.
pub(crate) fn live_bytes() -> i64 {
    LIVE.load(Ordering::SeqCst)
}

/// Two peers on `addrs`, offer and answer applied, the offerer with a
/// data channel `label`; nothing sent yet.
pub(crate) fn negotiated_pair(
    now: Instant,
    addrs: [SocketAddr; 2],
    label: &str,
) -> [PeerConnection; 2] {
    let peer = |addr| {
        let mut pc = PeerConnection::new(Configuration::default(), now).expect("peer");
        pc.add_local_candidate(addr, Protocol::Udp)
            .expect("candidate");
        pc.end_of_local_candidates();
        pc
    };
    let (mut a, mut b) = (peer(addrs[0]), peer(addrs[1]));
    a.create_data_channel(label, &DataChannelInit::default())
        .expect("channel");
    let offer = a.create_offer().expect("offer");
    a.set_local_description(offer).expect("set offer");
    b.set_remote_description(a.local_description().cloned().expect("offer"))
        .expect("apply offer");
    let answer = b.create_answer().expect("answer");
    b.set_local_description(answer).expect("set answer");
    a.set_remote_description(b.local_description().cloned().expect("answer"))
        .expect("apply answer");
    [a, b]
}

/// What [`Wire::pump`] moved: a datagram from peer `.0`, or an event of
/// peer `.0`.
pub(crate) enum Moved<'a> {
    Datagram(usize, &'a [u8]),
    Event(usize, Event),
}

/// Two peers on a zero-delay in-memory network with a virtual clock.
pub(crate) struct Wire {
    pub(crate) peers: [PeerConnection; 2],
    pub(crate) addrs: [SocketAddr; 2],
    pub(crate) now: Instant,
    /// Each peer's deadline as it last gave it.
    pub(crate) deadlines: [Option<Instant>; 2],
    /// Whether a sent datagram's buffer goes back (`recycle_transmit`), as
    /// a driver gives it back once sent.
    pub(crate) recycle: bool,
}

impl Wire {
    /// [`negotiated_pair`] on `addrs`, at `now`; sent buffers given back.
    pub(crate) fn new(now: Instant, addrs: [SocketAddr; 2], label: &str) -> Self {
        Self {
            peers: negotiated_pair(now, addrs, label),
            addrs,
            now,
            deadlines: [None, None],
            recycle: true,
        }
    }

    /// [`Wire::new`] on two loopback ports, from the wall clock's now.
    pub(crate) fn loopback(label: &str) -> Self {
        #[allow(clippy::disallowed_methods)] // a test may read the clock once
        let now = Instant::now();
        let addrs: [SocketAddr; 2] = [
            "127.0.0.1:10000".parse().expect("literal"),
            "127.0.0.1:20000".parse().expect("literal"),
        ];
        Self::new(now, addrs, label)
    }

    /// Moves datagrams both ways until both peers are quiet, telling `on`
    /// of each datagram and event; with `fire_due`, a deadline the clock
    /// has reached is handled on the way. Notes each peer's next deadline.
    pub(crate) fn pump(&mut self, fire_due: bool, mut on: impl FnMut(Moved<'_>)) {
        loop {
            let mut moved = false;
            for i in 0..2 {
                loop {
                    match self.peers[i].poll_output() {
                        Output::Transmit(t) => {
                            moved = true;
                            on(Moved::Datagram(i, &t.contents));
                            let receive = Receive {
                                proto: t.proto,
                                source: t.source,
                                destination: self.addrs[1 - i],
                                contents: &t.contents,
                            };
                            let _ =
                                self.peers[1 - i].handle_input(Input::Receive(self.now, receive));
                            if self.recycle {
                                self.peers[i].recycle_transmit(t.contents);
                            }
                        }
                        Output::Event(e) => on(Moved::Event(i, e)),
                        Output::Timeout(at) => {
                            self.deadlines[i] = at;
                            if fire_due && at.is_some_and(|at| at <= self.now) {
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

    /// The earliest deadline of the two peers.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// One wakeup: the clock goes to the earliest deadline, the peers whose
    /// deadline it is handle it, and what follows is moved (see
    /// [`Wire::pump`], due deadlines left for the next wakeup). False if no
    /// peer has a deadline.
    pub(crate) fn wake(&mut self, on: impl FnMut(Moved<'_>)) -> bool {
        let Some(next) = self.next_deadline() else {
            return false;
        };
        self.now = self.now.max(next);
        for i in 0..2 {
            if self.deadlines[i].is_some_and(|at| at <= self.now) {
                let _ = self.peers[i].handle_input(Input::Timeout(self.now));
            }
        }
        self.pump(false, on);
        true
    }
}

/// Runs `pump` on `pair` until `open` holds, moving the wire's clock 10 ms
/// between tries (the checks' pacing and DTLS's timers need it at a real
/// link's delay); panics after 400 tries.
pub(crate) fn pump_until_open<P>(
    pair: &mut P,
    wire: impl Fn(&mut P) -> &mut Wire,
    pump: impl Fn(&mut P),
    open: impl Fn(&P) -> bool,
) {
    for _ in 0..400 {
        pump(pair);
        if open(pair) {
            return;
        }
        wire(pair).now += Duration::from_millis(10);
    }
    panic!("the channel did not open");
}
