//! Loopback echo throughput: datagrams per second each way, and the CPU
//! each side spent, over 127.0.0.1 in one process (a thread per side).
//!
//! `cargo run --release -p eddy-mio --example loopback-echo -- [stack|raw|raw-single] [SECONDS] [SIZE]`
//!
//! - `stack` (default): two [`Driver`]s, a data channel between them; the
//!   client sends SIZE-byte messages (default 1,000: one datagram each),
//!   at most a window in flight, and the server echoes each. Datagrams
//!   counted are everything the drivers sent (DATA, SACKs, ...).
//! - `raw`: no WebRTC, the drivers' UDP I/O alone (`eddy_runtime_common::udp`:
//!   `recvmmsg`/`sendmmsg` with GRO/GSO on Linux): the server echoes each
//!   datagram.
//! - `raw-single`: as `raw`, one `recvfrom`/`sendto` per datagram (how the
//!   drivers did it before batching), for comparison.
//!
//! CPU is each thread's time on a CPU (`/proc/thread-self/schedstat`,
//! Linux), so the figure holds on a shared machine; wall time is shown too,
//! and the time each thread was ready to run but waited for a CPU (on a
//! busy machine the rate is then the machine's limit, not the stack's).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use eddy::{Configuration, DataChannelInit, DataChannelState, Event, IceGatheringState};
use eddy_mio::{new_peer, Driver};
use eddy_runtime_common::net;
use eddy_runtime_common::udp::{self, RecvBuffer, SockRef, UdpState};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Unanswered datagrams (raw) or unechoed messages (stack) in flight.
const WINDOW: u64 = 512;

/// This thread's time on a CPU and time waiting for one so far, where the
/// OS tells them.
fn thread_cpu() -> Option<Cpu> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = stat.split_whitespace().map(|f| f.parse().ok());
    let (run, wait) = (fields.next()??, fields.next()??);
    Some(Cpu {
        run: Duration::from_nanos(run),
        wait: Duration::from_nanos(wait),
    })
}

/// A thread's scheduler times.
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    /// On a CPU.
    run: Duration,
    /// Ready to run, waiting for a CPU.
    wait: Duration,
}

impl std::ops::Sub for Cpu {
    type Output = Self;
    fn sub(self, earlier: Self) -> Self {
        Self {
            run: self.run.saturating_sub(earlier.run),
            wait: self.wait.saturating_sub(earlier.wait),
        }
    }
}

/// What one side counted over the measured window.
#[derive(Debug, Clone, Copy, Default)]
struct Side {
    sent: u64,
    received: u64,
    cpu: Option<Cpu>,
}

/// Phases the client announces: 0 warm-up, 1 measuring, 2 done.
struct Phase(AtomicU8);

impl Phase {
    fn get(&self) -> u8 {
        self.0.load(Ordering::SeqCst)
    }
    fn set(&self, p: u8) {
        self.0.store(p, Ordering::SeqCst);
    }
}

/// Counts `(sent, received)` between the measuring phase's start and end.
struct Meter {
    start: Option<(u64, u64, Option<Cpu>)>,
    result: Option<Side>,
}

impl Meter {
    fn new() -> Self {
        Self {
            start: None,
            result: None,
        }
    }

    /// Called on every turn with the totals so far.
    fn tick(&mut self, phase: u8, sent: u64, received: u64) {
        match (phase, self.start) {
            (1, None) => self.start = Some((sent, received, thread_cpu())),
            (2, Some((s0, r0, c0))) if self.result.is_none() => {
                self.result = Some(Side {
                    sent: sent - s0,
                    received: received - r0,
                    cpu: thread_cpu().zip(c0).map(|(c1, c0)| c1 - c0),
                });
            }
            _ => {}
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "stack".into());
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let size: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let (client, server, wall) = match mode.as_str() {
        "stack" => stack(secs, size),
        "raw" => raw(secs, size, true),
        "raw-single" => raw(secs, size, false),
        _ => {
            eprintln!("usage: loopback-echo [stack|raw|raw-single] [SECONDS] [SIZE]");
            std::process::exit(2);
        }
    };
    let rate = |n: u64| n as f64 / wall.as_secs_f64();
    let cpu = |s: &Side| {
        s.cpu.map_or("n/a".into(), |c| {
            format!(
                "{:.2} s CPU ({:.0}% of a core), {:.2} s waiting for a CPU",
                c.run.as_secs_f64(),
                100.0 * c.run.as_secs_f64() / wall.as_secs_f64(),
                c.wait.as_secs_f64(),
            )
        })
    };
    println!(
        "{mode}, {size} B datagrams, {:.2} s: client→server {:.0} datagrams/s, server→client {:.0} datagrams/s",
        wall.as_secs_f64(),
        rate(client.sent),
        rate(server.sent),
    );
    println!("  client: {}", cpu(&client));
    println!("  server: {}", cpu(&server));
    let per_core = |s: &Side| {
        s.cpu
            .map(|c| (s.sent + s.received) as f64 / c.run.as_secs_f64().max(1e-9))
    };
    if let (Some(c), Some(s)) = (per_core(&client), per_core(&server)) {
        println!("  datagrams (sent + received) per CPU-second: client {c:.0}, server {s:.0}");
    }
}

/// Raw UDP: the client keeps WINDOW datagrams unanswered; the server echoes.
fn raw(secs: u64, size: usize, batched: bool) -> (Side, Side, Duration) {
    let bind =
        || net::bind_udp(SocketAddr::new(LOOPBACK, 0), net::DEFAULT_SOCKET_BUFFER).expect("bind");
    let (client, server) = (bind(), bind());
    let server_addr = server.local_addr().expect("addr");
    let phase = Arc::new(Phase(AtomicU8::new(0)));
    let server_phase = phase.clone();
    let server_thread = std::thread::spawn(move || {
        let state = UdpState::new(SockRef::from(&server));
        let mut io = Io::new(batched);
        let mut meter = Meter::new();
        let (mut sent, mut received) = (0u64, 0u64);
        // Reused reply buffers: the echo costs no allocation.
        let mut replies: Vec<(Vec<u8>, SocketAddr)> = Vec::new();
        while meter.result.is_none() {
            let p = server_phase.get();
            meter.tick(p, sent, received);
            let mut count = 0;
            if let Some(n) = io.recv(&server, &state, |source, d| {
                if let Some((reply, to)) = replies.get_mut(count) {
                    reply.clear();
                    reply.extend_from_slice(d);
                    *to = source;
                } else {
                    replies.push((d.to_vec(), source));
                }
                count += 1;
            }) {
                received += n as u64;
            }
            let mut offset = 0;
            while offset < count {
                match io.send(&server, &state, &replies[offset..count]) {
                    Some(n) => offset += n,
                    None => break,
                }
            }
            sent += offset as u64;
        }
        meter.result.unwrap_or_default()
    });

    let state = UdpState::new(SockRef::from(&client));
    let mut io = Io::new(batched);
    let mut meter = Meter::new();
    let batch: Vec<(Vec<u8>, SocketAddr)> = (0..WINDOW)
        .map(|_| (vec![0x5a; size], server_addr))
        .collect();
    let (mut sent, mut received) = (0u64, 0u64);
    let started = Instant::now();
    let warm_up = started + Duration::from_millis(500);
    let mut measured_from = None;
    let mut last_progress = Instant::now();
    let wall = loop {
        let now = Instant::now();
        if phase.get() == 0 && now >= warm_up {
            phase.set(1);
            measured_from = Some(now);
        }
        if let Some(from) = measured_from {
            if now >= from + Duration::from_secs(secs) {
                phase.set(2);
                meter.tick(2, sent, received);
                break now - from;
            }
        }
        meter.tick(phase.get(), sent, received);
        // Lost datagrams (a full receive buffer) reopen the window.
        if now - last_progress > Duration::from_millis(20) {
            received = sent;
        }
        let room = (WINDOW - (sent - received).min(WINDOW)) as usize;
        if room > 0 {
            let mut offset = 0;
            while offset < room {
                match io.send(&client, &state, &batch[offset..room]) {
                    Some(n) => offset += n,
                    None => break,
                }
            }
            sent += offset as u64;
        }
        if let Some(n) = io.recv(&client, &state, |_, _| {}) {
            received += n as u64;
            last_progress = now;
        }
    };
    let server = server_thread.join().expect("server");
    (meter.result.unwrap_or_default(), server, wall)
}

/// One receive and one send call, batched or one datagram at a time.
struct Io {
    batched: bool,
    buf: RecvBuffer,
    single: Vec<u8>,
}

impl Io {
    fn new(batched: bool) -> Self {
        Self {
            batched,
            buf: RecvBuffer::new(),
            single: vec![0; udp::MAX_DATAGRAM],
        }
    }

    /// Datagrams received by one call (None: none waiting).
    fn recv(
        &mut self,
        socket: &UdpSocket,
        state: &UdpState,
        mut each: impl FnMut(SocketAddr, &[u8]),
    ) -> Option<usize> {
        if self.batched {
            let n = udp::recv(SockRef::from(socket), state, &mut self.buf).ok()?;
            for (source, d) in self.buf.datagrams() {
                each(source, d);
            }
            Some(n)
        } else {
            let (len, source) = socket.recv_from(&mut self.single).ok()?;
            each(source, &self.single[..len]);
            Some(1)
        }
    }

    /// Datagrams sent by one call (None: the socket is full).
    fn send(
        &mut self,
        socket: &UdpSocket,
        state: &UdpState,
        datagrams: &[(Vec<u8>, SocketAddr)],
    ) -> Option<usize> {
        if self.batched {
            let items = datagrams.iter().map(|(d, a)| (d.as_slice(), *a));
            udp::send(SockRef::from(socket), state, items).ok()
        } else {
            let (d, a) = datagrams.first()?;
            socket.send_to(d, a).ok().map(|_| 1)
        }
    }
}

/// Two drivers and a data channel: the server echoes every message.
fn stack(secs: u64, size: usize) -> (Side, Side, Duration) {
    let mut client = Driver::bind(&[LOOPBACK]).expect("bind");
    let mut server = Driver::bind(&[LOOPBACK]).expect("bind");
    let mut pc = new_peer(Configuration::default()).expect("peer");
    let channel = pc
        .create_data_channel("echo", &DataChannelInit::default())
        .expect("channel");
    let offer = pc.create_offer().expect("offer");
    pc.set_local_description(offer).expect("set offer");
    let client_peer = client.add_peer(pc).expect("add");
    let offer = client
        .endpoint()
        .peer(client_peer)
        .and_then(|pc| pc.local_description().cloned())
        .expect("offer");
    let server_peer = server
        .add_peer(new_peer(Configuration::default()).expect("peer"))
        .expect("add");
    {
        let pc = server.endpoint_mut().peer_mut(server_peer).expect("peer");
        pc.set_remote_description(offer).expect("set offer");
        let answer = pc.create_answer().expect("answer");
        pc.set_local_description(answer).expect("set answer");
    }
    let gathered = |d: &Driver| {
        d.endpoint()
            .peer(server_peer)
            .is_some_and(|pc| pc.ice_gathering_state() == IceGatheringState::Complete)
    };
    while !gathered(&server) {
        server.poll(Some(Duration::from_millis(10))).expect("poll");
    }
    let answer = server
        .endpoint()
        .peer(server_peer)
        .and_then(|pc| pc.local_description().cloned())
        .expect("answer");
    client
        .endpoint_mut()
        .peer_mut(client_peer)
        .expect("peer")
        .set_remote_description(answer)
        .expect("set answer");

    let phase = Arc::new(Phase(AtomicU8::new(0)));
    let server_phase = phase.clone();
    let (done_tx, done_rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let server_stop = stop.clone();
    let server_thread = std::thread::spawn(move || {
        let mut meter = Meter::new();
        while !server_stop.load(Ordering::SeqCst) {
            server.poll(Some(Duration::from_millis(10))).expect("poll");
            while let Some((peer, event)) = server.poll_event() {
                if let Event::ChannelMessage(ch, message) = event {
                    if let Some(mut dc) = server
                        .endpoint_mut()
                        .peer_mut(peer)
                        .and_then(|pc| pc.data_channel(ch))
                    {
                        let _ = dc.send(&message.data);
                    }
                }
            }
            let stats = server.stats();
            meter.tick(server_phase.get(), stats.sent, stats.received);
            if let Some(result) = meter.result.take() {
                let _ = done_tx.send(result);
            }
        }
    });

    let message = vec![0x5a; size];
    let mut meter = Meter::new();
    let (mut sent, mut echoed) = (0u64, 0u64);
    let mut measured_from: Option<Instant> = None;
    let mut warm_up: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(secs + 30);
    let wall = loop {
        let now = Instant::now();
        assert!(now < deadline, "timed out");
        client.poll(Some(Duration::from_millis(10))).expect("poll");
        while let Some((_, event)) = client.poll_event() {
            match event {
                Event::ChannelOpen(_) => warm_up = Some(Instant::now() + Duration::from_secs(1)),
                Event::ChannelMessage(_, _) => echoed += 1,
                _ => {}
            }
        }
        let now = Instant::now();
        if phase.get() == 0 && warm_up.is_some_and(|at| now >= at) {
            phase.set(1);
            measured_from = Some(now);
        }
        let stats = client.stats();
        if let Some(from) = measured_from {
            if now >= from + Duration::from_secs(secs) {
                phase.set(2);
                meter.tick(2, stats.sent, stats.received);
                break now - from;
            }
        }
        meter.tick(phase.get(), stats.sent, stats.received);
        if let Some(mut dc) = client
            .endpoint_mut()
            .peer_mut(client_peer)
            .and_then(|pc| pc.data_channel(channel))
        {
            if dc.ready_state() == DataChannelState::Open {
                while sent - echoed < WINDOW && dc.send(&message).is_ok() {
                    sent += 1;
                }
            }
        }
    };
    let server_side = done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("server result");
    stop.store(true, Ordering::SeqCst);
    server_thread.join().expect("server");
    println!("{echoed} messages echoed in all");
    (meter.result.unwrap_or_default(), server_side, wall)
}
