//! The scenarios, written once against [`Stack`].

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cpu_time::ProcessTime;

use crate::alloc;

/// What a stack's `poll` gave.
pub(crate) enum Out {
    Transmit {
        from: SocketAddr,
        to: SocketAddr,
        data: Vec<u8>,
    },
    /// The channel is open on this side.
    Open,
    /// A message of this many bytes arrived.
    Message(usize),
    /// An RTP packet arrived.
    Rtp,
    Other,
    Timeout(Option<Instant>),
}

/// One WebRTC stack, driven the same way for every scenario.
/// What [`Stack::pair`] makes two peers of: the clock's start, their
/// addresses, whether the first also offers video, whether both share one
/// certificate.
#[derive(Clone, Copy)]
pub(crate) struct PairSpec {
    pub(crate) now: Instant,
    pub(crate) addrs: [SocketAddr; 2],
    pub(crate) video: bool,
    pub(crate) shared_certificate: bool,
}

pub(crate) trait Stack: Sized {
    const NAME: &'static str;
    /// Two peers that have exchanged offer and answer (the first offered
    /// one reliable ordered data channel, "bench", and with `video` a
    /// send-only video m-line in raw RTP mode), not yet connected. With
    /// `spec.shared_certificate` both use one DTLS certificate made once per
    /// process (W3C `certificates` in the configuration, as a server that
    /// keeps its identity does); otherwise each peer makes its own, as a
    /// browser's `RTCPeerConnection` does by default.
    fn pair(spec: PairSpec) -> (Self, Self);
    fn receive(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]);
    fn timeout(&mut self, now: Instant);
    fn poll(&mut self) -> Out;
    /// Sends a binary message on the channel; false if refused.
    fn send(&mut self, data: &[u8]) -> bool;
    fn buffered(&mut self) -> usize;
    /// Writes one RTP packet (the `n`th: sequence number and timestamp
    /// derive from it) on the video m-line; false if refused.
    fn send_rtp(&mut self, now: Instant, n: u64, payload: &[u8]) -> bool;
    /// A sent datagram's buffer, for stacks that reuse them.
    fn recycle(&mut self, _data: Vec<u8>) {}
}

/// Two peers on a zero-delay network with a virtual clock.
struct Net<S> {
    peers: [S; 2],
    addrs: [SocketAddr; 2],
    now: Instant,
    deadlines: [Option<Instant>; 2],
    open: [bool; 2],
    received: [u64; 2],
    rtp_received: [u64; 2],
    datagrams: u64,
    queue: VecDeque<(usize, SocketAddr, SocketAddr, Vec<u8>)>,
}

impl<S: Stack> Net<S> {
    fn new(start: Instant, n: u16) -> Self {
        Self::build(start, n, false, false)
    }

    fn with_video(start: Instant, n: u16, video: bool) -> Self {
        Self::build(start, n, video, false)
    }

    fn build(start: Instant, n: u16, video: bool, shared_certificate: bool) -> Self {
        let addrs: [SocketAddr; 2] = [
            SocketAddr::from(([10, 0, (n >> 8) as u8, n as u8], 5000)),
            SocketAddr::from(([10, 1, (n >> 8) as u8, n as u8], 5000)),
        ];
        let (a, b) = S::pair(PairSpec {
            now: start,
            addrs,
            video,
            shared_certificate,
        });
        Self {
            peers: [a, b],
            addrs,
            now: start,
            deadlines: [None, None],
            open: [false, false],
            received: [0, 0],
            rtp_received: [0, 0],
            datagrams: 0,
            queue: VecDeque::new(),
        }
    }

    /// Drains both peers and delivers every datagram at once, until quiet.
    fn pump(&mut self) {
        loop {
            for i in 0..2 {
                loop {
                    match self.peers[i].poll() {
                        Out::Transmit { from, to, data } => {
                            let dest = usize::from(to != self.addrs[0]);
                            self.queue.push_back((dest, from, to, data));
                        }
                        Out::Open => self.open[i] = true,
                        Out::Message(n) => self.received[i] += n as u64,
                        Out::Rtp => self.rtp_received[i] += 1,
                        Out::Other => {}
                        Out::Timeout(at) => {
                            self.deadlines[i] = at;
                            break;
                        }
                    }
                }
            }
            if self.queue.is_empty() {
                return;
            }
            while let Some((dest, from, to, data)) = self.queue.pop_front() {
                self.datagrams += 1;
                self.peers[dest].receive(self.now, from, to, &data);
                // The sender's buffer, sent: back to it where the stack
                // takes it (as a driver does after `sendmmsg`).
                self.peers[1 - dest].recycle(data);
            }
        }
    }

    /// Moves the clock to the next deadline and fires it; false if none.
    fn advance(&mut self, limit: Instant) -> bool {
        let Some(next) = self.deadlines.iter().flatten().min().copied() else {
            return false;
        };
        if next > limit {
            return false;
        }
        self.now = self.now.max(next);
        for i in 0..2 {
            if self.deadlines[i].is_some_and(|at| at <= self.now) {
                self.peers[i].timeout(self.now);
            }
        }
        true
    }

    /// Fires the deadlines the clock has passed.
    fn fire_due(&mut self) {
        for i in 0..2 {
            if self.deadlines[i].is_some_and(|at| at <= self.now) {
                self.deadlines[i] = None;
                self.peers[i].timeout(self.now);
            }
        }
    }

    fn run_until(&mut self, done: impl Fn(&Self) -> bool, limit: Duration) -> bool {
        let limit = self.now + limit;
        loop {
            self.pump();
            if done(self) {
                return true;
            }
            if !self.advance(limit) {
                return done(self);
            }
        }
    }

    fn connect(&mut self) -> bool {
        self.run_until(|n| n.open[0] && n.open[1], Duration::from_secs(30))
    }
}

/// One round's figures.
#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    pub(crate) connect_cpu_ms: f64,
    pub(crate) connect_handshake_cpu_ms: f64,
    pub(crate) connect_shared_certificate_cpu_ms: f64,
    pub(crate) connect_virtual_ms: f64,
    pub(crate) mb_per_cpu_s_16k: f64,
    pub(crate) mb_per_cpu_s_1k: f64,
    pub(crate) allocs_per_datagram: f64,
    pub(crate) heap_per_idle_peer_kb: f64,
    pub(crate) idle_wakeup_us: f64,
    pub(crate) idle_wakeups_per_s: f64,
    pub(crate) rtp_packets_per_cpu_s: f64,
}

impl Report {
    pub(crate) fn median(rounds: &[Self]) -> Self {
        let med = |f: fn(&Self) -> f64| {
            let mut v: Vec<f64> = rounds.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
        };
        Self {
            connect_cpu_ms: med(|r| r.connect_cpu_ms),
            connect_handshake_cpu_ms: med(|r| r.connect_handshake_cpu_ms),
            connect_shared_certificate_cpu_ms: med(|r| r.connect_shared_certificate_cpu_ms),
            connect_virtual_ms: med(|r| r.connect_virtual_ms),
            mb_per_cpu_s_16k: med(|r| r.mb_per_cpu_s_16k),
            mb_per_cpu_s_1k: med(|r| r.mb_per_cpu_s_1k),
            allocs_per_datagram: med(|r| r.allocs_per_datagram),
            heap_per_idle_peer_kb: med(|r| r.heap_per_idle_peer_kb),
            idle_wakeup_us: med(|r| r.idle_wakeup_us),
            idle_wakeups_per_s: med(|r| r.idle_wakeups_per_s),
            rtp_packets_per_cpu_s: med(|r| r.rtp_packets_per_cpu_s),
        }
    }
}

#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

/// Pairs per connect scenario and round: 100 of eddy's take ~50 ms of
/// CPU, long enough that a slower moment of the machine weighs little
/// (with 30, eddy's row moved by a sixth between rounds).
const CONNECT_PAIRS: u16 = 100;

/// Every scenario once but the idle wakeups (see [`idle_wakeups`]).
pub(crate) fn run<S: Stack>() -> Report {
    let own = connect::<S>(CONNECT_PAIRS, false);
    let connect_shared_certificate_cpu_ms = connect::<S>(CONNECT_PAIRS, true).cpu_ms;
    let (mb_per_cpu_s_16k, allocs_per_datagram) = throughput::<S>(16 * 1024, 64 << 20);
    let (mb_per_cpu_s_1k, _) = throughput::<S>(1024, 16 << 20);
    let heap_per_idle_peer_kb = idle_heap::<S>(100);
    Report {
        connect_cpu_ms: own.cpu_ms,
        connect_handshake_cpu_ms: own.handshake_cpu_ms,
        connect_shared_certificate_cpu_ms,
        connect_virtual_ms: own.virtual_ms,
        mb_per_cpu_s_16k,
        mb_per_cpu_s_1k,
        allocs_per_datagram,
        heap_per_idle_peer_kb,
        // Filled by `idle_wakeups`, the stacks side by side.
        idle_wakeup_us: f64::NAN,
        idle_wakeups_per_s: f64::NAN,
        rtp_packets_per_cpu_s: rtp::<S>(200_000),
    }
}

/// CPU per pair from creation to the channel open on both sides, and the
/// virtual time that took. With `shared_certificate` the pairs use one
/// certificate, made before the count starts.
/// A connect scenario's figures, per pair.
pub(crate) struct Connect {
    /// CPU from creating the two peers to the channel open on both (ms).
    pub(crate) cpu_ms: f64,
    /// The part of it after the offer and answer are applied: ICE, DTLS,
    /// SCTP and DCEP (ms).
    pub(crate) handshake_cpu_ms: f64,
    /// Virtual time to the channel open on both (ms).
    pub(crate) virtual_ms: f64,
}

pub(crate) fn connect<S: Stack>(pairs: u16, shared_certificate: bool) -> Connect {
    // One pair outside the count: what a process does once (OpenSSL's
    // provider loading, AWS-LC's entropy source, lazy statics; several
    // milliseconds) is no pair's cost. With one certificate for all, this
    // also makes the process's certificate.
    let mut warm_up = Net::<S>::build(start(), 0, false, shared_certificate);
    assert!(warm_up.connect(), "{}: the warm-up pair did not connect", S::NAME);
    drop(warm_up);
    let mut cpu = Duration::ZERO;
    let mut handshake = Duration::ZERO;
    let mut virtual_time = Duration::ZERO;
    for n in 0..pairs {
        let t0 = start();
        let cpu0 = ProcessTime::now();
        let mut net = Net::<S>::build(t0, n, false, shared_certificate);
        let cpu1 = ProcessTime::now();
        let ok = net.connect();
        let cpu2 = ProcessTime::now();
        cpu += cpu2.duration_since(cpu0);
        handshake += cpu2.duration_since(cpu1);
        assert!(ok, "{}: pair {n} did not connect", S::NAME);
        virtual_time += net.now - t0;
    }
    let per = |d: Duration| d.as_secs_f64() * 1e3 / f64::from(pairs);
    Connect {
        cpu_ms: per(cpu),
        handshake_cpu_ms: per(handshake),
        virtual_ms: per(virtual_time),
    }
}

/// MB per CPU-second for `total` bytes in messages of `size`, and the
/// allocations per datagram during it.
fn throughput<S: Stack>(size: usize, total: u64) -> (f64, f64) {
    let mut net = Net::<S>::new(start(), 1000);
    assert!(net.connect(), "{}: no connection", S::NAME);
    let message = vec![0x5a; size];
    let cpu0 = ProcessTime::now();
    let allocs0 = alloc::allocations();
    let datagrams0 = net.datagrams;
    let mut sent = 0u64;
    let limit = net.now + Duration::from_secs(600);
    while net.received[1] < total {
        let before = (sent, net.received[1]);
        while sent < total && net.peers[0].buffered() < 1 << 20 && net.peers[0].send(&message) {
            sent += size as u64;
        }
        net.pump();
        // Time moves only when nothing else can: zero delay, virtual clock.
        if (sent, net.received[1]) == before && !net.advance(limit) {
            let next = net.deadlines.iter().flatten().min().map(|at| *at - net.now);
            let buffered = net.peers[0].buffered();
            panic!(
                "{}: the transfer stalled at {} of {total} (sent {sent}, buffered {buffered}, next deadline in {next:?})",
                S::NAME,
                net.received[1]
            );
        }
    }
    let cpu = cpu0.elapsed().as_secs_f64();
    let datagrams = (net.datagrams - datagrams0).max(1);
    (
        total as f64 / 1e6 / cpu,
        (alloc::allocations() - allocs0) as f64 / datagrams as f64,
    )
}

/// RTP packets of 1,200 bytes on the wire (SRTP included) per CPU-second,
/// written by one side's raw-RTP API and taken back as the other side's
/// RTP event: one packet every 100 µs of virtual time, timers fired when
/// due (so RTCP runs as in a call), both sides' work counted.
fn rtp<S: Stack>(packets: u64) -> f64 {
    // 12-byte header, the mid extension (8 bytes with its header) and the
    // 16-byte AEAD tag or 10-byte HMAC around the payload: ~1,200 bytes.
    const PAYLOAD: usize = 1164;
    let mut net = Net::<S>::with_video(start(), 4000, true);
    assert!(net.connect(), "{}: no connection", S::NAME);
    let payload = vec![0xab; PAYLOAD];
    let mut n = 0u64;
    // Warm up until the first packet crosses (str0m's receiver learns the
    // stream from it).
    while net.rtp_received[1] == 0 {
        assert!(n < 1000, "{}: no RTP crosses", S::NAME);
        net.now += Duration::from_micros(100);
        net.fire_due();
        assert!(
            net.peers[0].send_rtp(net.now, n, &payload),
            "{}: send_rtp refused",
            S::NAME
        );
        n += 1;
        net.pump();
    }
    let got0 = net.rtp_received[1];
    let cpu0 = ProcessTime::now();
    for _ in 0..packets {
        net.now += Duration::from_micros(100);
        net.fire_due();
        net.peers[0].send_rtp(net.now, n, &payload);
        n += 1;
        net.pump();
    }
    let cpu = cpu0.elapsed().as_secs_f64();
    let got = net.rtp_received[1] - got0;
    assert!(
        got >= packets * 99 / 100,
        "{}: {got} of {packets} RTP packets arrived",
        S::NAME
    );
    got as f64 / cpu
}

/// Heap per connected idle peer (pairs connected, then 5 s idle): the heap
/// grown while they connect and idle, plus the peers' own inline size (they
/// live in a vector sized before the count starts, so that its spare room,
/// up to half of it after doubling, is not charged to them). The harness's
/// datagram queue gives back its room before each pair is kept: it is the
/// harness's, not the stack's.
fn idle_heap<S: Stack>(pairs: u16) -> f64 {
    let mut nets = Vec::with_capacity(usize::from(pairs));
    let live0 = alloc::live();
    for n in 0..pairs {
        let mut net = Net::<S>::new(start(), 2000 + n);
        assert!(net.connect(), "{}: no connection", S::NAME);
        let until = net.now + Duration::from_secs(5);
        while net.advance(until) {
            net.pump();
        }
        net.queue = VecDeque::new();
        nets.push(net);
    }
    let grown = alloc::live() - live0;
    let inline = std::mem::size_of::<S>() * 2 * usize::from(pairs);
    drop(nets);
    (grown as f64 + inline as f64) / f64::from(pairs) / 2.0 / 1024.0
}

/// One stack's idle connected pair, for [`idle_wakeups`]: the stacks'
/// slices alternate, so that each stack's figure and the ratios between
/// them come from the same minutes of the machine.
pub(crate) trait Idle {
    /// Fires up to `wakeups` timer wakeups; the CPU they took (µs) and how
    /// many there were.
    fn slice(&mut self, wakeups: u32) -> (f64, u32);
    /// Virtual seconds idled since the count began.
    fn idled(&self) -> f64;
}

/// An idle pair, past a minute of idling (what connecting left to free or
/// size is done by then), counting up to two days of idling.
struct IdlePair<S: Stack> {
    net: Net<S>,
    from: Instant,
    until: Instant,
}

impl<S: Stack> IdlePair<S> {
    fn new() -> Self {
        let mut net = Net::<S>::new(start(), 3000);
        assert!(net.connect(), "{}: no connection", S::NAME);
        let warm = net.now + Duration::from_secs(60);
        while net.advance(warm) {
            net.pump();
        }
        let from = net.now;
        Self {
            net,
            from,
            until: from + Duration::from_secs(48 * 3600),
        }
    }
}

impl<S: Stack> Idle for IdlePair<S> {
    fn slice(&mut self, wakeups: u32) -> (f64, u32) {
        let cpu0 = ProcessTime::now();
        let mut k = 0;
        while k < wakeups && self.net.advance(self.until) {
            self.net.pump();
            k += 1;
        }
        (cpu0.elapsed().as_secs_f64() * 1e6, k)
    }

    fn idled(&self) -> f64 {
        (self.net.now - self.from).as_secs_f64()
    }
}

/// An idle connected pair of `S`, for [`idle_wakeups`].
pub(crate) fn idle_pair<S: Stack + 'static>() -> Box<dyn Idle> {
    Box::new(IdlePair::<S>::new())
}

/// CPU per timer wakeup of an idle connected pair, and how many wakeups
/// (of either peer's deadline) a virtual second of idling takes, for each
/// of `pairs`: a stack that ticks often pays its per-wakeup cost often.
/// `wakeups` per stack (or two days of idling, whichever ends first), in
/// twenty slices, one slice of each stack in turn. The CPU per wakeup is
/// the median of a stack's slices, each timed on its own: a burst of
/// interference from the machine's other tenants (a few ms) then spoils
/// one slice, not the figure, and a slower minute of the machine falls on
/// every stack's slices alike.
pub(crate) fn idle_wakeups(pairs: &mut [Box<dyn Idle>], wakeups: u32) -> Vec<(f64, f64)> {
    const SLICES: u32 = 20;
    let mut per_wakeup_us = vec![Vec::new(); pairs.len()];
    let mut n = vec![0u32; pairs.len()];
    for _ in 0..SLICES {
        for ((pair, slices), n) in pairs.iter_mut().zip(&mut per_wakeup_us).zip(&mut n) {
            let (cpu_us, k) = pair.slice(wakeups / SLICES);
            if k > 0 {
                slices.push(cpu_us / f64::from(k));
            }
            *n += k;
        }
    }
    pairs
        .iter()
        .zip(&mut per_wakeup_us)
        .zip(n)
        .map(|((pair, slices), n)| {
            slices.sort_by(f64::total_cmp);
            let idle = pair.idled();
            (
                slices.get(slices.len() / 2).copied().unwrap_or(f64::NAN),
                if idle > 0.0 {
                    f64::from(n) / idle
                } else {
                    f64::NAN
                },
            )
        })
        .collect()
}

pub(crate) fn print(rows: &[(&str, &Report)]) {
    let line = |name: &str, f: fn(&Report) -> f64, unit: &str, better: &str| {
        let mut s = format!("{name:<44}");
        for (_, r) in rows {
            // NaN: nothing was measured.
            match f(r) {
                v if v.is_nan() => s.push_str(&format!("{:>12}", "n/a")),
                v => s.push_str(&format!("{v:>12.3}")),
            }
        }
        // The first stack against each other one.
        if let [(first, a), rest @ ..] = rows {
            let ratios: Vec<String> = rest
                .iter()
                // n/a, or a zero to divide by (a ratio of nothing).
                .filter(|(_, b)| !f(a).is_nan() && !f(b).is_nan() && f(b) != 0.0)
                .map(|(other, b)| format!("{first}/{other} {:.2}×", f(a) / f(b)))
                .collect();
            if !ratios.is_empty() {
                s.push_str(&format!(
                    "   {}  ({unit}; {better} is better)",
                    ratios.join("  ")
                ));
            }
        }
        println!("{s}");
    };
    let mut head = format!("{:<44}", "measure");
    for (name, _) in rows {
        head.push_str(&format!("{name:>12}"));
    }
    println!("{head}");
    line(
        "CPU per connected pair, create → open (ms)",
        |r| r.connect_cpu_ms,
        "ms",
        "lower",
    );
    line(
        "  of it ICE + DTLS + SCTP + DCEP (ms)",
        |r| r.connect_handshake_cpu_ms,
        "ms",
        "lower",
    );
    line(
        "  the same, one certificate for all (ms)",
        |r| r.connect_shared_certificate_cpu_ms,
        "ms",
        "lower",
    );
    line(
        "virtual time to open, zero delay (ms)",
        |r| r.connect_virtual_ms,
        "ms",
        "lower",
    );
    line(
        "data channel 16 KiB (MB per CPU-second)",
        |r| r.mb_per_cpu_s_16k,
        "MB/CPU-s",
        "higher",
    );
    line(
        "data channel 1 KiB (MB per CPU-second)",
        |r| r.mb_per_cpu_s_1k,
        "MB/CPU-s",
        "higher",
    );
    line(
        "allocations per datagram (16 KiB transfer)",
        |r| r.allocs_per_datagram,
        "allocs",
        "lower",
    );
    line(
        "heap per idle connected peer (KiB)",
        |r| r.heap_per_idle_peer_kb,
        "KiB",
        "lower",
    );
    line(
        "idle timer wakeup (µs CPU)",
        |r| r.idle_wakeup_us,
        "µs",
        "lower",
    );
    line(
        "idle timer wakeups per second of idling",
        |r| r.idle_wakeups_per_s,
        "wakeups/s",
        "lower",
    );
    // The two rows above together: what an idle connection costs a server.
    line(
        "idle CPU per second of idling (µs)",
        |r| r.idle_wakeup_us * r.idle_wakeups_per_s,
        "µs/s",
        "lower",
    );
    line(
        "RTP 1,200 B, write → event (kpps per CPU-s)",
        |r| r.rtp_packets_per_cpu_s / 1e3,
        "kpps/CPU-s",
        "higher",
    );
}
