//! Data channels share the link with a call (issue 18, the pacer's
//! policy): eddy sends video at its estimate over a 1 Mbit/s bottleneck
//! with 50 ms of round trip while a reliable data channel moves a file as
//! fast as SCTP lets it. SCTP's bytes are charged to the pacer's budget,
//! so media and data together stay near the pacing rate; SCTP itself is
//! not held back by the estimate. Over 10–30 s the call keeps about half
//! the link (video ≈ 500 kbit/s, data ≈ 430 kbit/s at seed 9).
#![cfg(feature = "sim")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::sim::{Link, LinkConfig, NodeId, Sim};
use eddy::{
    Configuration, DataChannelInit, Direction, Event, MediaKind, PeerConnection, Protocol,
    RtpWrite, TransceiverId, TransceiverInit,
};

const PAYLOAD: usize = 1000;
const TICK: Duration = Duration::from_millis(10);
const CHUNK: usize = 16 * 1024;
/// The application keeps this much buffered in the channel.
const KEEP_BUFFERED: usize = 256 * 1024;

fn link(bandwidth: u64) -> Link {
    Link {
        up: LinkConfig {
            delay: Duration::from_millis(25),
            bandwidth_bps: Some(bandwidth),
            queue_bytes: 100_000,
            ..LinkConfig::default()
        },
        down: LinkConfig {
            delay: Duration::from_millis(25),
            ..LinkConfig::default()
        },
    }
}

fn pc(sim: &mut Sim, n: NodeId) -> &mut PeerConnection {
    sim.node_mut::<PeerConnection>(n).unwrap()
}

#[test]
fn a_file_transfer_beside_a_call() {
    #[allow(clippy::disallowed_methods)]
    let mut sim = Sim::new(9, Instant::now());
    let internet = sim.internet();
    let (a_addr, b_addr): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let mut a = PeerConnection::new(Configuration::default().with_seed(1), sim.now()).unwrap();
    let mut b = PeerConnection::new(Configuration::default().with_seed(2), sim.now()).unwrap();
    for (p, addr) in [(&mut a, a_addr), (&mut b, b_addr)] {
        p.add_local_candidate(addr, Protocol::Udp).unwrap();
        p.end_of_local_candidates();
    }
    let channel = a
        .create_data_channel("file", &DataChannelInit::default())
        .unwrap();
    let video: TransceiverId = a
        .add_transceiver(
            MediaKind::Video,
            TransceiverInit::with_direction(Direction::SendOnly),
        )
        .unwrap();
    let offer = a.create_offer().unwrap();
    a.set_local_description(offer).unwrap();
    b.set_remote_description(a.local_description().cloned().unwrap())
        .unwrap();
    let answer = b.create_answer().unwrap();
    b.set_local_description(answer).unwrap();
    a.set_remote_description(b.local_description().cloned().unwrap())
        .unwrap();
    let pt = a.sender(video).unwrap().get_parameters().codecs[0].payload_type;
    let na = sim.add_node(internet, a_addr.ip(), a, link(1_000_000));
    let nb = sim.add_node(
        internet,
        b_addr.ip(),
        b,
        Link::symmetric(LinkConfig::default()),
    );
    let connected = |s: &Sim| s.events(na).any(|(_, e)| *e == Event::ChannelOpen(channel));
    sim.run_until(connected, Duration::from_secs(5));
    assert!(connected(&sim));

    sim.run_until(connected, Duration::from_secs(5));
    assert!(connected(&sim), "the channel opened");
    let nb = nb;
    let mut estimate = 300_000u64;
    let mut budget = 0.0f64;
    let (mut seq, mut ts) = (0u16, 0u32);
    let (mut video_bytes, mut data_bytes) = (0u64, 0u64);
    let start = sim.elapsed();
    let chunk = vec![7u8; CHUNK];
    let mut estimates = Vec::new();
    for tick in 0..3000u32 {
        let measuring = tick >= 1000;
        budget += estimate as f64 * TICK.as_secs_f64() / 8.0;
        let p = pc(&mut sim, na);
        while budget >= PAYLOAD as f64 {
            let payload = [0u8; PAYLOAD];
            let w = RtpWrite::new(pt, seq, ts, &payload);
            p.sender(video).unwrap().write_rtp(w).unwrap();
            seq = seq.wrapping_add(1);
            budget -= PAYLOAD as f64;
        }
        let mut dc = p.data_channel(channel).unwrap();
        while dc.buffered_amount() < KEEP_BUFFERED {
            dc.send(&chunk).unwrap();
        }
        ts = ts.wrapping_add(900);
        sim.run_for(TICK);
        for (_, e) in sim.take_events(na) {
            if let Event::BandwidthEstimate { bitrate } = e {
                estimate = bitrate;
            }
        }
        for (_, e) in sim.take_events(nb) {
            match e {
                Event::RtpPacket { packet, .. } if measuring => {
                    video_bytes += packet.payload().len() as u64
                }
                Event::ChannelMessage(_, m) if measuring => data_bytes += m.data.len() as u64,
                _ => {}
            }
        }
        if tick % 100 == 0 {
            estimates.push(((sim.elapsed() - start).as_secs_f64(), estimate));
        }
    }
    let secs = 20.0;
    let video_bps = video_bytes as f64 * 8.0 / secs;
    let data_bps = data_bytes as f64 * 8.0 / secs;
    let pacer = pc(&mut sim, na).connection_stats().pacer;
    eprintln!(
        "10-30 s: video {video_bps:.0} bit/s, data {data_bps:.0} bit/s; estimates {estimates:?}; {pacer:?}"
    );
    assert!(pacer.data_bytes_charged > 0);
    // The file transfer does not starve the call (nor the call the
    // transfer), and together they use the link.
    assert!(video_bps >= 350_000.0, "video {video_bps}");
    assert!(data_bps >= 200_000.0, "data {data_bps}");
    assert!(video_bps + data_bps > 700_000.0, "{video_bps} + {data_bps}");
}
