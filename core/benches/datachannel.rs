//! Reliable ordered data channel throughput between two in-process
//! `PeerConnection`s (full stack: SCTP over DTLS over ICE), no loss, zero
//! delay, for 1 KiB and 16 KiB messages.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

mod common;
use common::cpu_time;
use eddy::{
    ChannelId, Configuration, DataChannelInit, Event, Input, Output, PeerConnection, Protocol,
    Receive,
};

struct Pair {
    a: PeerConnection,
    b: PeerConnection,
    now: Instant,
    channel: Option<ChannelId>,
    received: usize,
}

fn deliver(to: &mut PeerConnection, now: Instant, t: &eddy::Transmit) {
    let _ = to.handle_input(Input::Receive(
        now,
        Receive {
            proto: t.proto,
            source: t.source,
            destination: t.destination,
            contents: &t.contents,
        },
    ));
}

impl Pair {
    /// Moves packets both ways until both sides are quiet; counts bytes B
    /// received.
    fn pump(&mut self) -> Option<ChannelId> {
        let mut opened = None;
        loop {
            let mut moved = false;
            loop {
                match self.a.poll_output() {
                    Output::Transmit(t) => {
                        moved = true;
                        deliver(&mut self.b, self.now, &t);
                        self.a.recycle_transmit(t.contents);
                    }
                    Output::Event(Event::ChannelOpen(h)) => opened = Some(h),
                    Output::Event(_) => {}
                    Output::Timeout(at) => {
                        if at.is_some_and(|at| at <= self.now) {
                            let _ = self.a.handle_input(Input::Timeout(self.now));
                            moved = true;
                        }
                        break;
                    }
                }
            }
            loop {
                match self.b.poll_output() {
                    Output::Transmit(t) => {
                        moved = true;
                        deliver(&mut self.a, self.now, &t);
                        self.b.recycle_transmit(t.contents);
                    }
                    Output::Event(Event::ChannelMessage(_, m)) => self.received += m.data.len(),
                    Output::Event(_) => {}
                    Output::Timeout(at) => {
                        if at.is_some_and(|at| at <= self.now) {
                            let _ = self.b.handle_input(Input::Timeout(self.now));
                            moved = true;
                        }
                        break;
                    }
                }
            }
            if !moved {
                return opened;
            }
        }
    }
}

fn connected_pair() -> Pair {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let a_addr: SocketAddr = "127.0.0.1:10000".parse().expect("literal");
    let b_addr: SocketAddr = "127.0.0.1:20000".parse().expect("literal");
    let mut a = PeerConnection::new(Configuration::default(), now).expect("pc");
    let mut b = PeerConnection::new(Configuration::default(), now).expect("pc");
    a.add_local_candidate(a_addr, Protocol::Udp)
        .expect("candidate");
    a.end_of_local_candidates();
    b.add_local_candidate(b_addr, Protocol::Udp)
        .expect("candidate");
    b.end_of_local_candidates();
    a.create_data_channel("bench", &DataChannelInit::default())
        .expect("channel");
    let offer = a.create_offer().expect("offer");
    a.set_local_description(offer).expect("sld");
    b.set_remote_description(a.local_description().expect("local").clone())
        .expect("srd");
    let answer = b.create_answer().expect("answer");
    b.set_local_description(answer).expect("sld");
    a.set_remote_description(b.local_description().expect("local").clone())
        .expect("srd");
    let mut pair = Pair {
        a,
        b,
        now,
        channel: None,
        received: 0,
    };
    for _ in 0..400 {
        if let Some(h) = pair.pump() {
            pair.channel = Some(h);
            break;
        }
        pair.now += Duration::from_millis(10);
    }
    pair
}

impl Pair {
    /// Sends `count` messages of `msg` and pumps until B received them all.
    fn transfer(&mut self, channel: ChannelId, msg: &[u8], count: usize) {
        self.received = 0;
        let mut sent = 0;
        while self.received < count * msg.len() {
            while sent < count {
                let mut ch = self.a.data_channel(channel).expect("channel");
                if ch.buffered_amount() > 512 * 1024 || ch.send(msg).is_err() {
                    break;
                }
                sent += 1;
            }
            self.pump();
            // Delayed SACKs and retransmission timers run on the virtual
            // clock.
            self.now += Duration::from_millis(1);
        }
    }
}

/// Transfers for at least `budget` of CPU time; MB (10^6 bytes) per
/// CPU-second, both peers' work counted.
fn per_cpu_second(pair: &mut Pair, channel: ChannelId, msg: &[u8], budget: Duration) -> f64 {
    let count = 1024 * 1024 / msg.len();
    let start = cpu_time();
    let mut bytes = 0;
    loop {
        pair.transfer(channel, msg, count);
        bytes += count * msg.len();
        let used = cpu_time() - start;
        if used >= budget {
            return bytes as f64 / 1e6 / used.as_secs_f64();
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("datachannel");
    // For a profiler: `DATACHANNEL_SIZE=16384` runs one size alone, and
    // `DATACHANNEL_BUDGET_MS=1` shortens the CPU-second measure (3 s) to
    // one 1 MiB transfer (fixed work, for instruction counts).
    let only: Option<usize> = std::env::var("DATACHANNEL_SIZE")
        .ok()
        .and_then(|s| s.parse().ok());
    let budget = std::env::var("DATACHANNEL_BUDGET_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(3), Duration::from_millis);
    for size in [1024usize, 16 * 1024] {
        if only.is_some_and(|only| only != size) {
            continue;
        }
        let count = 1024 * 1024 / size;
        let mut pair = connected_pair();
        let channel = pair.channel.expect("the channel opened");
        let msg = vec![0x5a; size];
        let rate = per_cpu_second(&mut pair, channel, &msg, budget);
        println!("datachannel: {rate:.0} MB per CPU-second ({size}-byte messages, reliable ordered, send to Event::ChannelMessage)");
        group.throughput(Throughput::Bytes((count * size) as u64));
        group.bench_function(format!("reliable-ordered/{size}B"), |b| {
            b.iter(|| pair.transfer(channel, &msg, count));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
