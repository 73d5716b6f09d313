//! Data channels share the link with a call (issue 18, the pacer's
//! policy): eddy sends video at its estimate over a 1 Mbit/s bottleneck
//! with 50 ms of round trip while a reliable data channel moves a file as
//! fast as SCTP lets it. SCTP's bytes are charged to the pacer's budget,
//! so media and data together stay near the pacing rate; SCTP itself is
//! not held back by the estimate. Over 10–30 s the call keeps about half
//! the link (video ≈ 540 kbit/s, data ≈ 380 kbit/s at seed 9).
#![cfg(feature = "sim")]

use eddy::Event;

mod bwe_common;
use bwe_common::{call, pc, Encoder, TICK};

const CHUNK: usize = 16 * 1024;
/// The application keeps this much buffered in the channel.
const KEEP_BUFFERED: usize = 256 * 1024;

#[test]
fn a_file_transfer_beside_a_call() {
    let c = call(true);
    let mut encoder = Encoder::new(&c);
    let channel = c.channel.expect("a data channel");
    let (mut sim, na, nb) = (c.sim, c.a, c.b);
    let mut estimate = 300_000u64;
    let (mut video_bytes, mut data_bytes) = (0u64, 0u64);
    let start = sim.elapsed();
    let chunk = vec![7u8; CHUNK];
    let mut estimates = Vec::new();
    for tick in 0..3000u32 {
        let measuring = tick >= 1000;
        encoder.tick(&mut sim, estimate);
        let mut dc = pc(&mut sim, na).data_channel(channel).unwrap();
        while dc.buffered_amount() < KEEP_BUFFERED {
            dc.send(&chunk).unwrap();
        }
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
