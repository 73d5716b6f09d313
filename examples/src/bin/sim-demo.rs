//! The simulator demo: a client behind a home NAT pings an echo server over
//! a lossy, jittery, bandwidth-limited path, in virtual time, and prints what
//! happened to every datagram. Same seed, same output.
//!
//! `cargo run --release -p eddy-examples --bin sim-demo [-- --seed N]` (`--help`)

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::sim::{Fate, Link, LinkConfig, Loss, NatConfig, Node, Sim};
use eddy::{Input, Output, Protocol, Transmit};

/// Sends `count` numbered pings, one every `interval`, and measures the
/// round trip of each echo.
struct Pinger {
    local: SocketAddr,
    server: SocketAddr,
    start: Instant,
    interval: Duration,
    count: u32,
    next: u32,
    now: Instant,
    rtts: Vec<Duration>,
}

impl Node for Pinger {
    fn handle_input(&mut self, input: Input<'_>) {
        self.now = input.time();
        if let Input::Receive(at, r) = input {
            if let Ok(seq) = <[u8; 4]>::try_from(r.contents.get(..4).unwrap_or_default()) {
                let sent = self.start + self.interval * u32::from_be_bytes(seq);
                self.rtts.push(at - sent);
            }
        }
    }

    fn poll_output(&mut self) -> Output {
        if self.next < self.count && self.start + self.interval * self.next <= self.now {
            let mut contents = self.next.to_be_bytes().to_vec();
            contents.resize(1000, 0);
            self.next += 1;
            return Output::Transmit(Transmit {
                proto: Protocol::Udp,
                source: self.local,
                destination: self.server,
                contents,
            });
        }
        Output::Timeout((self.next < self.count).then(|| self.start + self.interval * self.next))
    }
}

/// Echoes every datagram to where it came from.
#[derive(Default)]
struct Echo {
    out: VecDeque<Transmit>,
}

impl Node for Echo {
    fn handle_input(&mut self, input: Input<'_>) {
        if let Input::Receive(_, r) = input {
            self.out.push_back(Transmit {
                proto: r.proto,
                source: r.destination,
                destination: r.source,
                contents: r.contents.to_vec(),
            });
        }
    }

    fn poll_output(&mut self) -> Output {
        match self.out.pop_front() {
            Some(t) => Output::Transmit(t),
            None => Output::Timeout(None),
        }
    }
}

/// Pings an echo server through a home NAT over a lossy, jittery,
/// bandwidth-limited simulated path and prints each datagram's fate.
#[derive(clap::Parser, Debug)]
#[command(version)]
struct Args {
    /// The simulator's seed: same seed, same output.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() {
    eddy_examples::logging::init();
    let Args { seed } = clap::Parser::parse();

    #[allow(clippy::disallowed_methods)] // the demo's one real clock reading
    let start = Instant::now();
    let mut sim = Sim::new(seed, start);
    let internet = sim.internet();
    let home = sim.add_nat(
        internet,
        "203.0.113.7".parse().expect("literal"),
        NatConfig::port_restricted_cone(),
        Link::default(),
    );
    let wifi = LinkConfig {
        delay: Duration::from_millis(30),
        jitter: Duration::from_millis(10),
        loss: Loss::GilbertElliott {
            p: 0.02,
            r: 0.3,
            loss_good: 0.01,
            loss_bad: 0.8,
        },
        reorder: 0.02,
        reorder_delay: Duration::from_millis(15),
        duplicate: 0.01,
        bandwidth_bps: Some(2_000_000),
        queue_bytes: 20_000,
        mtu: Some(1200),
    };
    let client_addr: SocketAddr = "192.168.1.20:5000".parse().expect("literal");
    let server_addr: SocketAddr = "198.51.100.10:3478".parse().expect("literal");
    let pings = 2000;
    let client = sim.add_node(
        home,
        client_addr.ip(),
        Pinger {
            local: client_addr,
            server: server_addr,
            start,
            interval: Duration::from_millis(5),
            count: pings,
            next: 0,
            now: start,
            rtts: Vec::new(),
        },
        Link::symmetric(wifi),
    );
    sim.add_node(
        internet,
        server_addr.ip(),
        Echo::default(),
        Link::symmetric(LinkConfig::with_delay(Duration::from_millis(10))),
    );

    let outcome = sim.run_for(Duration::from_secs(60));
    let count = |f: fn(&Fate) -> bool| sim.trace().iter().filter(|e| f(&e.fate)).count();
    let mut rtts = sim
        .node::<Pinger>(client)
        .map(|p| p.rtts.clone())
        .unwrap_or_default();
    rtts.sort();
    let pct = |q: f64| {
        rtts.get(((rtts.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or_default()
    };
    println!("eddy simulator demo (seed {seed}): {pings} pings of 1000 B every 5 ms");
    println!("  path: client -> home NAT (port-restricted) -> 30 ms wifi, 2 Mbit/s, bursty loss -> internet -> echo server");
    println!(
        "  run: {outcome:?} after {:?} of virtual time, {:?} of real time",
        sim.elapsed(),
        {
            #[allow(clippy::disallowed_methods)]
            let real = Instant::now() - start;
            real
        }
    );
    println!(
        "  datagrams: {} delivered, {} lost, {} tail-dropped, {} too big, {} filtered by the NAT",
        count(|f| matches!(f, Fate::Delivered(_))),
        count(|f| *f == Fate::Lost),
        count(|f| *f == Fate::QueueFull),
        count(|f| *f == Fate::TooBig),
        count(|f| *f == Fate::Filtered),
    );
    println!(
        "  echoes: {} of {pings} came back; rtt p50 {:?}, p95 {:?}, max {:?}",
        rtts.len(),
        pct(0.5),
        pct(0.95),
        rtts.last().copied().unwrap_or_default()
    );
    println!(
        "  trace digest {:016x} (same seed, same digest)",
        sim.trace_digest()
    );
}
