//! The call the congestion-control scenarios share: A sends video to B
//! over a bottleneck on A's uplink (25 ms each way), its "encoder" a loop
//! writing 1,000-byte packets at the estimate.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::sim::{Link, LinkConfig, NodeId, Sim};
use eddy::{
    ChannelId, Configuration, DataChannelInit, Direction, DtlsTransportState, Event, MediaKind,
    PeerConnection, Protocol, RtpWrite, TransceiverId, TransceiverInit,
};

/// The payload of each packet the encoder writes.
pub const PAYLOAD: usize = 1000;
/// How often the scenarios step the simulator.
pub const TICK: Duration = Duration::from_millis(10);

/// A's uplink limited to `bandwidth` with a 100 kB queue; 25 ms each way.
pub fn link(bandwidth: u64) -> Link {
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

pub fn pc(sim: &mut Sim, n: NodeId) -> &mut PeerConnection {
    sim.node_mut::<PeerConnection>(n).unwrap()
}

/// A connected call over a 1 Mbit/s bottleneck.
pub struct Call {
    pub sim: Sim,
    pub a: NodeId,
    pub b: NodeId,
    pub video: TransceiverId,
    pub pt: u8,
    /// A's data channel, open, if one was asked for.
    pub channel: Option<ChannelId>,
}

/// A sends video (and, with `data_channel`, has a data channel) to B;
/// returns once DTLS connected (and the channel opened).
pub fn call(data_channel: bool) -> Call {
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
    let channel = data_channel.then(|| {
        a.create_data_channel("file", &DataChannelInit::default())
            .unwrap()
    });
    let video = a
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
    let connected = |s: &Sim| {
        s.events(na).any(|(_, e)| match channel {
            Some(c) => *e == Event::ChannelOpen(c),
            None => *e == Event::DtlsStateChange(DtlsTransportState::Connected),
        })
    };
    sim.run_until(connected, Duration::from_secs(5));
    assert!(connected(&sim), "the call connected");
    Call {
        sim,
        a: na,
        b: nb,
        video,
        pt,
        channel,
    }
}

/// The encoder stand-in: writes packets at the rate it is given on A's
/// video sender.
pub struct Encoder {
    a: NodeId,
    video: TransceiverId,
    pt: u8,
    budget: f64,
    seq: u16,
    ts: u32,
}

impl Encoder {
    pub fn new(c: &Call) -> Self {
        Self {
            a: c.a,
            video: c.video,
            pt: c.pt,
            budget: 0.0,
            seq: 0,
            ts: 0,
        }
    }

    /// One tick's worth of packets at `bitrate`.
    pub fn tick(&mut self, sim: &mut Sim, bitrate: u64) {
        self.budget += bitrate as f64 * TICK.as_secs_f64() / 8.0;
        let p = pc(sim, self.a);
        while self.budget >= PAYLOAD as f64 {
            let payload = [0u8; PAYLOAD];
            let w = RtpWrite::new(self.pt, self.seq, self.ts, &payload);
            p.sender(self.video).unwrap().write_rtp(w).unwrap();
            self.seq = self.seq.wrapping_add(1);
            self.budget -= PAYLOAD as f64;
        }
        self.ts = self.ts.wrapping_add(900);
    }
}
