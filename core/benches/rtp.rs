//! The RTP media path between two in-process `PeerConnection`s, through the
//! public API only, for 1,200-byte packets: `RtpSender::write_rtp` (header,
//! mid extension, history for RTX, SRTP), the datagram handed to the other
//! side's `handle_input` (SRTP, RFC 8843 routing, RFC 3550 statistics, NACK
//! state) and taken back as `Event::RtpPacket`. No loss, zero delay; RTCP
//! runs on the virtual clock as it would.
//!
//! Besides criterion's wall-clock figures it prints the rate per second of
//! process CPU time (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`), which a
//! busy machine does not distort: `rtp: N packets per CPU-second`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use eddy::{
    Configuration, Direction, DtlsTransportState, Event, Input, MediaKind, Output, PeerConnection,
    Protocol, Receive, RtpWrite, TransceiverId, TransceiverInit,
};

mod common;
use common::cpu_time;

/// The packet on the wire before SRTP: 12 bytes of header, 8 of the mid
/// extension, the payload.
const PAYLOAD_LEN: usize = 1200 - 20;

struct Call {
    a: PeerConnection,
    b: PeerConnection,
    now: Instant,
    video: TransceiverId,
    payload_type: u8,
    seq: u16,
    payload: Vec<u8>,
    received: u64,
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

/// Moves everything `from` has to `to`; counts RTP packets `from` got.
fn drain(from: &mut PeerConnection, to: &mut PeerConnection, now: Instant, got: &mut u64) -> bool {
    let mut moved = false;
    loop {
        match from.poll_output() {
            Output::Transmit(t) => {
                moved = true;
                deliver(to, now, &t);
            }
            Output::Event(Event::RtpPacket { .. }) => *got += 1,
            Output::Event(_) => {}
            Output::Timeout(at) => {
                if at.is_some_and(|at| at <= now) {
                    let _ = from.handle_input(Input::Timeout(now));
                    moved = true;
                    continue;
                }
                return moved;
            }
        }
    }
}

impl Call {
    fn pump(&mut self) {
        let mut ignored = 0;
        while drain(&mut self.a, &mut self.b, self.now, &mut ignored)
            | drain(&mut self.b, &mut self.a, self.now, &mut self.received)
        {}
    }

    /// Sends one packet and takes it out at the other side.
    fn packet(&mut self) {
        self.seq = self.seq.wrapping_add(1);
        let ts = u32::from(self.seq).wrapping_mul(90);
        let w = RtpWrite::new(self.payload_type, self.seq, ts, &self.payload);
        self.a
            .sender(self.video)
            .expect("sender")
            .write_rtp(w)
            .expect("write_rtp");
        self.now += Duration::from_micros(100);
        self.pump();
    }
}

fn connected_call() -> Call {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let a_addr: SocketAddr = "127.0.0.1:10000".parse().expect("literal");
    let b_addr: SocketAddr = "127.0.0.1:20000".parse().expect("literal");
    // The raw path: the pacer off (it would hold this 96 Mbit/s of
    // virtual time to the bandwidth estimate), as str0m's is without BWE.
    let mut config = Configuration::default();
    config.pacing = false;
    let mut a = PeerConnection::new(config.clone(), now).expect("pc");
    let mut b = PeerConnection::new(config, now).expect("pc");
    a.add_local_candidate(a_addr, Protocol::Udp)
        .expect("candidate");
    a.end_of_local_candidates();
    b.add_local_candidate(b_addr, Protocol::Udp)
        .expect("candidate");
    b.end_of_local_candidates();
    let video = a
        .add_transceiver(
            MediaKind::Video,
            TransceiverInit::with_direction(Direction::SendOnly),
        )
        .expect("transceiver");
    let offer = a.create_offer().expect("offer");
    a.set_local_description(offer).expect("sld");
    b.set_remote_description(a.local_description().expect("local").clone())
        .expect("srd");
    let answer = b.create_answer().expect("answer");
    b.set_local_description(answer).expect("sld");
    a.set_remote_description(b.local_description().expect("local").clone())
        .expect("srd");
    let payload_type = a
        .sender(video)
        .expect("sender")
        .get_parameters()
        .codecs
        .first()
        .expect("a codec")
        .payload_type;
    let mut call = Call {
        a,
        b,
        now,
        video,
        payload_type,
        seq: 0,
        payload: vec![0xab; PAYLOAD_LEN],
        received: 0,
    };
    for _ in 0..400 {
        call.pump();
        if call.a.dtls_state() == DtlsTransportState::Connected
            && call.b.dtls_state() == DtlsTransportState::Connected
        {
            break;
        }
        call.now += Duration::from_millis(10);
    }
    assert_eq!(call.a.dtls_state(), DtlsTransportState::Connected);
    call
}

/// Runs the call for at least `budget` of CPU time; packets per CPU-second.
fn per_cpu_second(call: &mut Call, budget: Duration) -> f64 {
    let start = cpu_time();
    let before = call.received;
    loop {
        for _ in 0..10_000 {
            call.packet();
        }
        let used = cpu_time() - start;
        if used >= budget {
            return (call.received - before) as f64 / used.as_secs_f64();
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut call = connected_call();
    let profile = call.a.srtp_profile().expect("SRTP keys");
    let rate = per_cpu_second(&mut call, Duration::from_secs(2));
    println!(
        "rtp: {rate:.0} packets per CPU-second ({profile:?}, 1200-byte packets, write_rtp to Event::RtpPacket)"
    );
    let mut group = c.benchmark_group("rtp");
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("{profile:?}/write_rtp-to-event"), |b| {
        b.iter(|| call.packet());
    });
    group.finish();
    assert!(call.received > 0);
}

criterion_group!(benches, bench);
criterion_main!(benches);
