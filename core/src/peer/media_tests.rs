//! The media path over the simulator's lossy links: NACK and RTX recover
//! the losses, receiver reports carry them when there is no RTX, and SR/RR
//! measure the link's round-trip time (issue 14's recovery scenario).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::sim::{Link, LinkConfig, Loss, NodeId, Sim};
use crate::{
    Configuration, Direction, DtlsTransportState, Event, MediaKind, PeerConnection, Protocol,
    RtpCodecCapability, RtpWrite, TransceiverId, TransceiverInit,
};

const PACKETS_PER_SECOND: u32 = 1_500;
const SECONDS: u32 = 30;
/// Each node's link adds this one way: 80 ms round trip.
const LINK_DELAY: Duration = Duration::from_millis(20);

fn peer(sim: &mut Sim, addr: SocketAddr) -> PeerConnection {
    let seed = sim.derive_seed();
    let mut pc = PeerConnection::new(Configuration::default().with_seed(seed), sim.now()).unwrap();
    pc.add_local_candidate(addr, Protocol::Udp).unwrap();
    pc.end_of_local_candidates();
    pc
}

struct Call {
    sim: Sim,
    a: NodeId,
    b: NodeId,
    video: TransceiverId,
}

/// A sends video to B; `rtx`: whether RTX is offered.
fn call(seed: u64, rtx: bool) -> Call {
    #[allow(clippy::disallowed_methods)]
    let mut sim = Sim::new(seed, Instant::now());
    let internet = sim.internet();
    let (a_addr, b_addr): (SocketAddr, SocketAddr) = (
        "198.51.100.1:5000".parse().unwrap(),
        "198.51.100.2:5000".parse().unwrap(),
    );
    let mut a = peer(&mut sim, a_addr);
    let mut b = peer(&mut sim, b_addr);
    let video = a
        .add_transceiver(MediaKind::Video, TransceiverInit::with_direction(Direction::SendOnly))
        .unwrap();
    if !rtx {
        let vp8: Vec<RtpCodecCapability> = RtpCodecCapability::all(MediaKind::Video)
            .into_iter()
            .filter(|c| c.mime_type == "video/VP8")
            .collect();
        a.transceiver(video)
            .unwrap()
            .set_codec_preferences(&vp8)
            .unwrap();
    }
    let offer = a.create_offer().unwrap();
    a.set_local_description(offer).unwrap();
    b.set_remote_description(a.local_description().cloned().unwrap())
        .unwrap();
    let answer = b.create_answer().unwrap();
    b.set_local_description(answer).unwrap();
    a.set_remote_description(b.local_description().cloned().unwrap())
        .unwrap();
    let clean = Link::symmetric(LinkConfig::with_delay(LINK_DELAY));
    let a = sim.add_node(internet, a_addr.ip(), a, clean);
    let b = sim.add_node(internet, b_addr.ip(), b, clean);
    let connected = |s: &Sim| {
        [a, b].iter().all(|&n| {
            s.events(n)
                .any(|(_, e)| *e == Event::DtlsStateChange(DtlsTransportState::Connected))
        })
    };
    sim.run_until(connected, Duration::from_secs(10));
    assert!(connected(&sim), "DTLS did not connect");
    sim.take_events(a);
    sim.take_events(b);
    // 5% random loss each way from now on: on A's link only (a packet
    // crosses A's link and B's, so lossy links at both would lose 9.75%).
    let lossy = Link::symmetric(LinkConfig {
        loss: Loss::Random(0.05),
        ..LinkConfig::with_delay(LINK_DELAY)
    });
    sim.set_link(a, lossy);
    Call { sim, a, b, video }
}

fn pc(sim: &mut Sim, n: NodeId) -> &mut PeerConnection {
    sim.node_mut::<PeerConnection>(n).unwrap()
}

/// Sends 30 s of video at 1,500 packets/s; returns (sent, distinct
/// sequence numbers B received, how many came by RTX).
fn stream(c: &mut Call) -> (u32, usize, usize) {
    let pt = pc(&mut c.sim, c.a)
        .sender(c.video)
        .unwrap()
        .get_parameters()
        .codecs[0]
        .payload_type;
    let mut got = vec![false; (PACKETS_PER_SECOND * SECONDS) as usize];
    let mut repaired = 0;
    let tick = Duration::from_millis(20);
    let per_tick = PACKETS_PER_SECOND / 50;
    let payload = [0x5Au8; 1000];
    let mut seq: u32 = 0;
    for _ in 0..SECONDS * 50 {
        let mut s = pc(&mut c.sim, c.a).sender(c.video).unwrap();
        for _ in 0..per_tick {
            let w = RtpWrite::new(pt, seq as u16, seq * 3000 / per_tick, &payload);
            s.write_rtp(w).unwrap();
            seq += 1;
        }
        c.sim.run_for(tick);
        for (_, e) in c.sim.take_events(c.b) {
            if let Event::RtpPacket { packet, .. } = e {
                note(&mut got, &mut repaired, seq, &packet);
            }
        }
        c.sim.take_events(c.a);
    }
    c.sim.run_for(Duration::from_secs(1));
    for (_, e) in c.sim.take_events(c.b) {
        if let Event::RtpPacket { packet, .. } = e {
            note(&mut got, &mut repaired, seq, &packet);
        }
    }
    (seq, got.iter().filter(|g| **g).count(), repaired)
}

/// Marks `packet` received in `got`. Sequence numbers wrap at 65,536: it
/// is the latest packet written (of the `written` so far) with that
/// number.
fn note(got: &mut [bool], repaired: &mut usize, written: u32, packet: &crate::RtpPacketReceived) {
    let last = written - 1;
    let index = last - u32::from((last as u16).wrapping_sub(packet.sequence_number));
    if let Some(slot) = got.get_mut(index as usize) {
        if !*slot && packet.repaired {
            *repaired += 1;
        }
        *slot = true;
    }
}

#[test]
fn nack_and_rtx_recover_five_percent_loss_and_rtcp_measures_the_round_trip() {
    let mut c = call(41, true);
    let (sent, received, repaired) = stream(&mut c);
    let share = received as f64 / f64::from(sent);
    println!("RTX: {received} of {sent} packets ({:.3}%), {repaired} by RTX", share * 100.0);
    assert!(share >= 0.995, "only {:.3}% recovered", share * 100.0);
    assert!(repaired > sent as usize / 50, "{repaired} repaired: RTX did the work");
    // SR/RR: A's RTT from B's report blocks is the links' 80 ms.
    let rtt = pc(&mut c.sim, c.a).media.rtt.expect("an RTT sample");
    println!("RTT from SR/RR: {rtt:?}");
    let link_rtt = LINK_DELAY * 4;
    assert!(rtt.abs_diff(link_rtt) <= Duration::from_millis(5), "{rtt:?}");
}

#[test]
fn without_rtx_the_loss_shows_in_the_receiver_reports() {
    let mut c = call(42, false);
    let params = pc(&mut c.sim, c.a).sender(c.video).unwrap().get_parameters();
    assert!(params.codecs.iter().all(|c| c.rtx_payload_type.is_none()));
    let (sent, received, repaired) = stream(&mut c);
    assert_eq!(repaired, 0);
    let lost = f64::from(sent) - received as f64;
    println!("no RTX: {received} of {sent} packets");
    assert!(lost / f64::from(sent) > 0.03, "{lost} lost");
    // A learns the loss from B's report blocks.
    let a = pc(&mut c.sim, c.a);
    let report = a.media.senders[0]
        .stats
        .as_ref()
        .and_then(|s| s.last_report())
        .expect("a report block about A's stream");
    println!("B reported {} lost", report.cumulative_lost);
    let reported = f64::from(report.cumulative_lost);
    assert!(
        (reported - lost).abs() / lost < 0.1,
        "reported {reported}, lost {lost}"
    );
}
