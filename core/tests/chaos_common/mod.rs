//! Shared harness of the chaos scenarios (`chaos-*.rs`): two
//! `PeerConnection`s in the simulator, a checked reliable transfer, state
//! logs, and a counting allocator for memory bounds.
//!
//! A transfer sends numbered messages whose bytes are a function of their
//! number; the receiver checks every one as it arrives (next number, exact
//! length and bytes), so a lost, duplicated, reordered or corrupted message
//! fails the test at once.
#![allow(dead_code, unreachable_pub, unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use eddy::sim::{Link, LinkConfig, NatConfig, NetworkId, NodeId, Sim};
use eddy::{
    ChannelId, Configuration, DataChannelError, DataChannelInit, DataChannelState, Event,
    IceConnectionState, PeerConnection, PeerConnectionState, Protocol,
};

// ---------------------------------------------------------------- memory

/// A global allocator counting live heap bytes and their peak, per thread
/// (each test runs on its own thread, and the simulation never spawns), so
/// tests running in parallel do not count each other's allocations.
pub struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // `try_with`: the thread's counters may be gone while it exits.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded unchanged to `System`; the counters are
// thread-local cells with constant initializers (no allocation, no
// destructor).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap bytes this thread holds now (allocated minus freed).
pub fn live_bytes() -> usize {
    LIVE.with(|l| l.get().max(0) as usize)
}

/// Restarts peak tracking from the live bytes now; returns them.
pub fn reset_peak() -> usize {
    let live = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(live));
    live.max(0) as usize
}

/// The peak of live heap bytes since the last [`reset_peak`].
pub fn peak_bytes() -> usize {
    PEAK.with(|p| p.get().max(0) as usize)
}

/// Asserts that the heap grew by at most `bound` bytes over `baseline`
/// (peak since the last [`reset_peak`]), on this thread.
pub fn assert_peak_within(baseline: usize, bound: usize, what: &str) {
    let peak = peak_bytes();
    let grown = peak.saturating_sub(baseline);
    assert!(
        grown <= bound,
        "{what}: heap peaked {grown} bytes over the baseline of {baseline} (bound {bound})"
    );
}

// ---------------------------------------------------------------- setup

/// The start of virtual time (tests may read the clock; the core never does).
#[allow(clippy::disallowed_methods)]
pub fn start() -> Instant {
    Instant::now()
}

/// A's host address (on the internet, or behind A's NAT).
pub const A: &str = "192.168.1.10:5000";
/// B's host address, on the internet.
pub const B: &str = "198.51.100.20:5000";
/// A's NAT's public address.
pub const NAT_A: &str = "203.0.113.1";

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A 20 ms, 10 Mbit/s link with a 128 KiB queue, each way.
pub fn wire() -> LinkConfig {
    LinkConfig {
        bandwidth_bps: Some(10_000_000),
        queue_bytes: 128 * 1024,
        ..LinkConfig::with_delay(Duration::from_millis(20))
    }
}

/// A link that drops everything (a cut cable).
pub fn cut() -> LinkConfig {
    LinkConfig {
        loss: eddy::sim::Loss::Random(1.0),
        ..wire()
    }
}

/// How the two peers are placed.
#[derive(Clone)]
pub struct Setup {
    pub seed: u64,
    /// A's attachment (to its NAT's inside, or to the internet).
    pub link_a: Link,
    /// B's attachment to the internet.
    pub link_b: Link,
    /// Put A behind a NAT of this kind.
    pub nat_a: Option<NatConfig>,
    pub config_a: Configuration,
    pub config_b: Configuration,
    /// Channels A creates before the offer.
    pub channels: Vec<(String, DataChannelInit)>,
}

impl Setup {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            link_a: Link::symmetric(wire()),
            link_b: Link::symmetric(wire()),
            nat_a: None,
            config_a: Configuration::default(),
            config_b: Configuration::default(),
            channels: vec![("chaos".into(), DataChannelInit::default())],
        }
    }
}

/// A checked stream of numbered messages on one reliable channel.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub from: NodeId,
    pub to: NodeId,
    /// The channel at the sender.
    pub tx: ChannelId,
    /// The channel at the receiver.
    pub rx: ChannelId,
    /// Messages to send in all.
    pub total: u64,
    pub sent: u64,
    pub received: u64,
    pub bytes_received: u64,
    /// Keep sending while `bufferedAmount` is below this (the W3C pattern
    /// with `bufferedAmountLowThreshold`).
    pub high_water: usize,
    /// The largest `bufferedAmount` seen at the sender.
    pub max_buffered: usize,
    /// Sizes cycled through by message number.
    pub sizes: Vec<usize>,
    /// Flood mode: send this many messages at every step regardless of
    /// `bufferedAmount` (an application ignoring back-pressure), counting
    /// refusals instead of panicking on `BufferFull`.
    pub flood: Option<usize>,
    /// `send` calls refused with `BufferFull` (flood mode).
    pub refused: u64,
    /// `send` calls refused because the channel or connection was closing
    /// or closed (flood mode).
    pub refused_closed: u64,
}

impl Transfer {
    pub fn done(&self) -> bool {
        self.received == self.total
    }

    fn size(&self, n: u64) -> usize {
        self.sizes[(n % self.sizes.len() as u64) as usize]
    }
}

/// The bytes of message `n` of length `len` (at least 8: the number).
pub fn message(n: u64, len: usize) -> Vec<u8> {
    let mut m = n.to_le_bytes().to_vec();
    m.extend((8..len.max(8)).map(|i| (n.wrapping_mul(31) as usize + i * 7) as u8));
    m
}

/// One side's log of events other than received messages.
#[derive(Debug, Default)]
pub struct Log {
    pub events: Vec<(Duration, Event)>,
}

impl Log {
    pub fn pc_states(&self) -> Vec<PeerConnectionState> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::ConnectionStateChange(s) => Some(*s),
                _ => None,
            })
            .collect()
    }

    pub fn ice_states(&self) -> Vec<IceConnectionState> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::IceConnectionStateChange(s) => Some(*s),
                _ => None,
            })
            .collect()
    }

    /// When the connection first entered `state`.
    pub fn entered(&self, state: PeerConnectionState) -> Option<Duration> {
        self.events.iter().find_map(|(t, e)| match e {
            Event::ConnectionStateChange(s) if *s == state => Some(*t),
            _ => None,
        })
    }

    pub fn count(&self, f: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| f(e)).count()
    }
}

/// Two connected peers and their logs.
pub struct Chaos {
    pub sim: Sim,
    pub a: NodeId,
    pub b: NodeId,
    /// A's NAT's inside, when A is behind one.
    pub lan_a: Option<NetworkId>,
    pub log_a: Log,
    pub log_b: Log,
    /// Channel handles at A (created by A) and at B (announced to B), in
    /// the order they opened.
    pub open_a: Vec<ChannelId>,
    pub open_b: Vec<ChannelId>,
    /// Forward trickled candidates to the other side.
    pub trickle: bool,
    /// Messages that no transfer claimed: `(node, channel, bytes)`.
    pub stray: Vec<(NodeId, ChannelId, Vec<u8>)>,
}

fn peer(sim: &mut Sim, addr_s: &str, config: &Configuration) -> PeerConnection {
    let seed = sim.derive_seed();
    let mut pc = PeerConnection::new(config.clone().with_seed(seed), sim.now()).unwrap();
    pc.add_local_candidate(addr(addr_s), Protocol::Udp).unwrap();
    pc.end_of_local_candidates();
    pc
}

impl Chaos {
    /// Builds the network and both peers, signals offer and answer (the
    /// descriptions carry the candidates), but runs nothing.
    pub fn signal(setup: &Setup) -> Self {
        let mut sim = Sim::new(setup.seed, start());
        // The trace is for debugging; it would dominate the heap otherwise.
        sim.set_trace_limit(0);
        let internet = sim.internet();
        let (net_a, lan_a) = match setup.nat_a {
            Some(nat) => {
                let lan = sim.add_nat(internet, ip(NAT_A), nat, Link::symmetric(wire()));
                (lan, Some(lan))
            }
            None => (internet, None),
        };
        let mut pa = peer(&mut sim, A, &setup.config_a);
        let mut pb = peer(&mut sim, B, &setup.config_b);
        for (label, init) in &setup.channels {
            pa.create_data_channel(label, init).unwrap();
        }
        let offer = pa.create_offer().unwrap();
        pa.set_local_description(offer).unwrap();
        let offer = pa.local_description().unwrap().clone();
        pb.set_remote_description(offer).unwrap();
        let answer = pb.create_answer().unwrap();
        pb.set_local_description(answer).unwrap();
        let answer = pb.local_description().unwrap().clone();
        pa.set_remote_description(answer).unwrap();
        let a = sim.add_node(net_a, addr(A).ip(), pa, setup.link_a);
        let b = sim.add_node(internet, addr(B).ip(), pb, setup.link_b);
        Self {
            sim,
            a,
            b,
            lan_a,
            log_a: Log::default(),
            log_b: Log::default(),
            open_a: Vec::new(),
            open_b: Vec::new(),
            trickle: true,
            stray: Vec::new(),
        }
    }

    /// [`signal`](Self::signal), then runs until every channel of `setup`
    /// is open on both sides (panics after `within`).
    pub fn connect(setup: &Setup, within: Duration) -> Self {
        let mut c = Self::signal(setup);
        c.wait_open(setup.channels.len(), within);
        c
    }

    /// Runs until `n` channels are open on both sides and both peers are
    /// connected (panics after `within`).
    pub fn wait_open(&mut self, n: usize, within: Duration) {
        self.run_until(within, &mut [], |c, _| {
            c.open_a.len() >= n && c.open_b.len() >= n
        });
        assert_eq!(self.open_a.len(), n, "A's channels opened");
        assert_eq!(self.open_b.len(), n, "B saw the channels open");
        self.assert_states(PeerConnectionState::Connected);
    }

    pub fn pc(&mut self, n: NodeId) -> &mut PeerConnection {
        self.sim.node_mut::<PeerConnection>(n).unwrap()
    }

    pub fn pc_ref(&self, n: NodeId) -> &PeerConnection {
        self.sim.node::<PeerConnection>(n).unwrap()
    }

    pub fn log(&self, n: NodeId) -> &Log {
        if n == self.a {
            &self.log_a
        } else {
            &self.log_b
        }
    }

    pub fn other(&self, n: NodeId) -> NodeId {
        if n == self.a {
            self.b
        } else {
            self.a
        }
    }

    /// Both connections are in `state`.
    pub fn assert_states(&self, state: PeerConnectionState) {
        for n in [self.a, self.b] {
            assert_eq!(self.pc_ref(n).connection_state(), state, "node {n:?}");
        }
    }

    /// The W3C states of a healthy call on both sides: the connection
    /// `connected`, ICE `connected` or `completed`, the first channel
    /// `open`.
    pub fn assert_healthy(&mut self) {
        self.assert_states(PeerConnectionState::Connected);
        for (n, h) in [(self.a, self.open_a[0]), (self.b, self.open_b[0])] {
            let ice = self.pc_ref(n).ice_connection_state();
            assert!(
                matches!(
                    ice,
                    IceConnectionState::Connected | IceConnectionState::Completed
                ),
                "{n:?}: ICE {ice:?}"
            );
            assert_eq!(self.channel_state(n, h), DataChannelState::Open, "{n:?}");
        }
    }

    pub fn channel_state(&mut self, n: NodeId, h: ChannelId) -> DataChannelState {
        self.pc(n)
            .data_channel(h)
            .map_or(DataChannelState::Closed, |c| c.ready_state())
    }

    /// A transfer of `total` messages from `from` on its first channel.
    pub fn transfer(&self, from: NodeId, total: u64) -> Transfer {
        let (tx, rx) = if from == self.a {
            (self.open_a[0], self.open_b[0])
        } else {
            (self.open_b[0], self.open_a[0])
        };
        Transfer {
            from,
            to: self.other(from),
            tx,
            rx,
            total,
            sent: 0,
            received: 0,
            bytes_received: 0,
            high_water: 256 * 1024,
            max_buffered: 0,
            sizes: vec![1000, 16, 4000, 1100, 16 * 1024, 300],
            flood: None,
            refused: 0,
            refused_closed: 0,
        }
    }

    /// Sends what the transfers' high-water marks allow.
    pub fn top_up(&mut self, transfers: &mut [&mut Transfer]) {
        for t in transfers.iter_mut() {
            let pc = self.sim.node_mut::<PeerConnection>(t.from).unwrap();
            if pc.connection_state() == PeerConnectionState::Closed {
                continue;
            }
            let Some(mut ch) = pc.data_channel(t.tx) else {
                continue;
            };
            if ch.ready_state() != DataChannelState::Open {
                continue;
            }
            if let Some(k) = t.flood {
                for _ in 0..k {
                    if t.sent == t.total {
                        break;
                    }
                    let m = message(t.sent, t.size(t.sent));
                    match ch.send(&m) {
                        Ok(()) => t.sent += 1,
                        Err(DataChannelError::BufferFull) => {
                            t.refused += 1;
                            break;
                        }
                        Err(DataChannelError::InvalidState(_)) => {
                            t.refused_closed += 1;
                            break;
                        }
                        Err(e) => panic!("send #{}: {e}", t.sent),
                    }
                }
                t.max_buffered = t.max_buffered.max(ch.buffered_amount());
                continue;
            }
            while t.sent < t.total && ch.buffered_amount() < t.high_water {
                let m = message(t.sent, t.size(t.sent));
                ch.send(&m)
                    .unwrap_or_else(|e| panic!("send #{}: {e}", t.sent));
                t.sent += 1;
            }
            t.max_buffered = t.max_buffered.max(ch.buffered_amount());
        }
    }

    /// Takes both sides' events: checks messages against the transfers,
    /// logs the rest, forwards trickled candidates.
    pub fn drain(&mut self, transfers: &mut [&mut Transfer]) {
        for n in [self.a, self.b] {
            for (t, e) in self.sim.take_events(n) {
                match e {
                    Event::ChannelMessage(h, m) => {
                        match transfers.iter_mut().find(|t| t.to == n && t.rx == h) {
                            Some(t) => {
                                let k = t.received;
                                assert!(k < t.total, "message beyond the total on {h:?}");
                                let want = message(k, t.size(k));
                                assert!(
                                    m.data == want,
                                    "message #{k} on {h:?} at {:?}: {} bytes, want {} (first bytes {:?})",
                                    self.sim.elapsed(),
                                    m.data.len(),
                                    want.len(),
                                    &m.data[..m.data.len().min(8)]
                                );
                                assert!(!m.is_text);
                                t.received += 1;
                                t.bytes_received += m.data.len() as u64;
                            }
                            None => self.stray.push((n, h, m.data)),
                        }
                    }
                    Event::IceCandidate(c) => {
                        if self.trickle {
                            let other = self.other(n);
                            // A candidate of a session the peer has not seen
                            // yet is refused; the description carries it.
                            let _ = self.pc(other).add_ice_candidate(c.clone());
                        }
                        self.push_log(n, t, Event::IceCandidate(c));
                    }
                    // The creator sees `ChannelOpen`; the other side
                    // `DataChannel` (and `ChannelOpen` too).
                    Event::ChannelOpen(h) | Event::DataChannel(h) => {
                        let list = if n == self.a {
                            &mut self.open_a
                        } else {
                            &mut self.open_b
                        };
                        if !list.contains(&h) {
                            list.push(h);
                        }
                        self.push_log(n, t, e);
                    }
                    e => self.push_log(n, t, e),
                }
            }
        }
    }

    fn push_log(&mut self, n: NodeId, t: Duration, e: Event) {
        if n == self.a {
            self.log_a.events.push((t, e));
        } else {
            self.log_b.events.push((t, e));
        }
    }

    /// Runs in steps of 5 ms until `until` holds or `within` more virtual
    /// time passed, feeding the transfers. Returns whether `until` held.
    pub fn run_until(
        &mut self,
        within: Duration,
        transfers: &mut [&mut Transfer],
        mut until: impl FnMut(&mut Self, &[&mut Transfer]) -> bool,
    ) -> bool {
        let deadline = self.sim.elapsed() + within;
        loop {
            self.drain(transfers);
            self.top_up(transfers);
            if until(self, transfers) {
                return true;
            }
            if self.sim.elapsed() >= deadline {
                return false;
            }
            let step = Duration::from_millis(5).min(deadline - self.sim.elapsed());
            self.sim.run_for(step);
        }
    }

    /// Runs for `d` of virtual time, feeding the transfers.
    pub fn run_for(&mut self, d: Duration, transfers: &mut [&mut Transfer]) {
        self.run_until(d, transfers, |_, _| false);
    }

    /// Runs until every transfer is done; panics after `within`.
    pub fn finish(&mut self, within: Duration, transfers: &mut [&mut Transfer]) {
        let done = self.run_until(within, transfers, |_, ts| ts.iter().all(|t| t.done()));
        for t in transfers.iter() {
            assert!(
                done,
                "transfer {:?}->{:?}: {} of {} received ({} sent) at {:?}",
                t.from,
                t.to,
                t.received,
                t.total,
                t.sent,
                self.sim.elapsed()
            );
        }
    }

    /// Offer from `from`, answer from the other, over perfect signaling.
    /// `restart` restarts ICE first.
    pub fn renegotiate(&mut self, from: NodeId, restart: bool) {
        let to = self.other(from);
        let p = self.pc(from);
        if restart {
            p.restart_ice();
        }
        let offer = p.create_offer().unwrap();
        p.set_local_description(offer).unwrap();
        let offer = p.local_description().unwrap().clone();
        let q = self.pc(to);
        q.set_remote_description(offer).unwrap();
        let answer = q.create_answer().unwrap();
        q.set_local_description(answer).unwrap();
        let answer = q.local_description().unwrap().clone();
        self.pc(from).set_remote_description(answer).unwrap();
    }
}
