//! The RTP media path in one process, for 1200-byte packets: the sender
//! writes the header and protects (SRTP), the receiver unprotects, parses
//! and updates the RFC 3550 reception statistics.
//!
//! Besides criterion's wall-clock figures it prints the rate per second of
//! process CPU time (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`), which a
//! busy machine does not distort: `rtp: N packets per CPU-second`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use eddy::bench_support::{write_rtp, RtpReceive};
use eddy::srtp::{SrtpContext, SrtpProfile};

const PACKET_LEN: usize = 1200;
const HEADER_LEN: usize = 12;
const SSRC: u32 = 0x1234_5678;

/// The CPU time this process has used.
fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into memory we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// One stream from a sender to a receiver.
struct Path {
    tx: SrtpContext,
    rx: SrtpContext,
    receive: RtpReceive,
    seq: u16,
    timestamp: u32,
    now: Instant,
    payload: Vec<u8>,
    buf: Vec<u8>,
}

impl Path {
    fn new(profile: SrtpProfile, now: Instant) -> Self {
        let material: Vec<u8> = (0..profile.keying_material_len())
            .map(|i| i as u8)
            .collect();
        let (tx, _) = SrtpContext::pair_from_dtls(profile, &material, true).expect("tx");
        let (_, rx) = SrtpContext::pair_from_dtls(profile, &material, false).expect("rx");
        // The packet buffer keeps room for the tag: no allocation per packet.
        let mut buf = Vec::with_capacity(PACKET_LEN + profile.rtp_overhead());
        buf.resize(PACKET_LEN, 0);
        Self {
            tx,
            rx,
            receive: RtpReceive::new(SSRC, 90_000),
            seq: 0,
            timestamp: 0,
            now,
            payload: vec![0xab; PACKET_LEN - HEADER_LEN],
            buf,
        }
    }

    /// Sends and receives one packet.
    fn packet(&mut self) {
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(90);
        self.now += Duration::from_micros(1000);
        // After the previous unprotect the buffer is PACKET_LEN long again.
        self.buf.resize(PACKET_LEN, 0);
        let n = write_rtp(
            self.seq,
            self.timestamp,
            SSRC,
            96,
            &self.payload,
            &mut self.buf,
        )
        .expect("write");
        self.buf.truncate(n);
        self.tx.protect_rtp(&mut self.buf).expect("protect");
        self.rx.unprotect_rtp(&mut self.buf).expect("unprotect");
        self.receive.on_packet(self.now, &self.buf).expect("valid");
    }
}

/// Runs the path for at least `budget` of CPU time; packets per CPU-second.
fn per_cpu_second(path: &mut Path, budget: Duration) -> f64 {
    let start = cpu_time();
    let mut packets = 0u64;
    loop {
        for _ in 0..10_000 {
            path.packet();
        }
        packets += 10_000;
        let used = cpu_time() - start;
        if used >= budget {
            return packets as f64 / used.as_secs_f64();
        }
    }
}

fn bench(c: &mut Criterion) {
    #[allow(clippy::disallowed_methods)]
    let t0 = Instant::now();
    let mut group = c.benchmark_group("rtp");
    group.throughput(Throughput::Elements(1));
    for profile in [SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmSha1_80] {
        let mut path = Path::new(profile, t0);
        let rate = per_cpu_second(&mut path, Duration::from_secs(2));
        println!("rtp: {rate:.0} packets per CPU-second ({profile:?}, {PACKET_LEN} bytes, send + receive)");
        group.bench_function(format!("{profile:?}/send+receive"), |b| {
            b.iter(|| path.packet());
        });
        assert!(path.receive.packets() > 0);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
