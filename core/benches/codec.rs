//! `eddy::codec` alone: a frame packetized at a 1,200-byte MTU and its
//! payloads put back together, for a 100 kB VP8 key frame and for 20 ms
//! Opus frames (120 bytes, about 48 kbit/s). No network, no SRTP: the cost
//! of the payload format itself.
//!
//! Besides criterion's wall-clock figures it prints the rate per second of
//! process CPU time (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`), which a
//! busy machine does not distort.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use eddy::codec::{CodecKind, Depacketizer, Packetizer};

mod common;
use common::cpu_time;

const MTU: usize = 1200;

/// One codec's frame going round: packetizer, payloads, depacketizer.
struct RoundTrip {
    packetizer: Packetizer,
    depacketizer: Depacketizer,
    frame: Vec<u8>,
    seq: u16,
    timestamp: u32,
    step: u32,
}

impl RoundTrip {
    fn new(kind: CodecKind, frame: Vec<u8>, step: u32) -> Self {
        Self {
            packetizer: Packetizer::new(kind),
            depacketizer: Depacketizer::new(kind),
            frame,
            seq: 0,
            timestamp: 0,
            step,
        }
    }

    /// One frame through; its size back.
    fn frame(&mut self) -> usize {
        let payloads = self.packetizer.packetize(&self.frame, MTU).unwrap();
        let last = payloads.len() - 1;
        let mut out = 0;
        for (i, p) in payloads.iter().enumerate() {
            if let Some(f) = self
                .depacketizer
                .push(self.seq, self.timestamp, i == last, p)
            {
                out = f.data.len();
            }
            self.seq = self.seq.wrapping_add(1);
        }
        self.timestamp = self.timestamp.wrapping_add(self.step);
        assert_eq!(out, self.frame.len(), "the frame came back whole");
        out
    }
}

/// Frames per CPU-second over at least `budget` of CPU time.
fn per_cpu_second(rt: &mut RoundTrip, budget: Duration) -> f64 {
    let start = cpu_time();
    let mut frames = 0u64;
    loop {
        for _ in 0..64 {
            rt.frame();
        }
        frames += 64;
        let used = cpu_time() - start;
        if used >= budget {
            return frames as f64 / used.as_secs_f64();
        }
    }
}

fn vp8_keyframe() -> Vec<u8> {
    // A key frame's first byte has P = 0; the rest is opaque to RTP.
    let mut f: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
    f[0] = 0x10;
    f
}

fn bench(c: &mut Criterion) {
    let cases = [
        ("vp8-100kB-keyframe", CodecKind::Vp8, vp8_keyframe(), 3000),
        ("opus-20ms", CodecKind::Opus, vec![0x78; 120], 960),
    ];
    let mut group = c.benchmark_group("codec");
    for (name, kind, frame, step) in cases {
        let len = frame.len();
        let mut rt = RoundTrip::new(kind, frame, step);
        let rate = per_cpu_second(&mut rt, Duration::from_secs(1));
        println!(
            "codec {name}: {rate:.0} frames per CPU-second ({:.0} MB per CPU-second), packetize + depacketize at MTU {MTU}",
            rate * len as f64 / 1e6
        );
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(name, |b| b.iter(|| rt.frame()));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
