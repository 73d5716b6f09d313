//! eddy behind the harness.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

use eddy::{
    Certificate, ChannelId, Configuration, DataChannelInit, Direction, Event, Input, KeyAlgorithm,
    MediaKind, Output, PeerConnection, Protocol, Receive, RtpWrite, TransceiverId, TransceiverInit,
    DEFAULT_CERTIFICATE_LIFETIME,
};

use crate::harness::{Out, PairSpec, Stack};

pub(crate) struct Eddy {
    pc: PeerConnection,
    channel: Option<ChannelId>,
    /// The video transceiver and its payload type.
    video: Option<(TransceiverId, u8)>,
}

impl Stack for Eddy {
    const NAME: &'static str = "eddy";

    fn pair(spec: PairSpec) -> (Self, Self) {
        let PairSpec {
            now,
            addrs: [a, b],
            video,
            shared_certificate,
        } = spec;
        static CERTIFICATE: OnceLock<Certificate> = OnceLock::new();
        let peer = |addr| {
            // The raw RTP path: the pacer off, as str0m's is without BWE.
            let mut config = Configuration::default();
            config.pacing = false;
            if shared_certificate {
                let certificate = CERTIFICATE.get_or_init(|| {
                    Certificate::generate(
                        KeyAlgorithm::EcdsaP256,
                        SystemTime::now(),
                        DEFAULT_CERTIFICATE_LIFETIME,
                    )
                    .expect("certificate")
                });
                config.certificates = vec![certificate.clone()];
            }
            let mut pc = PeerConnection::new(config, now).expect("peer");
            pc.add_local_candidate(addr, Protocol::Udp)
                .expect("candidate");
            pc.end_of_local_candidates();
            pc
        };
        let (mut pa, mut pb) = (peer(a), peer(b));
        let channel = pa
            .create_data_channel("bench", &DataChannelInit::default())
            .expect("channel");
        let transceiver = video.then(|| {
            pa.add_transceiver(
                MediaKind::Video,
                TransceiverInit::with_direction(Direction::SendOnly),
            )
            .expect("transceiver")
        });
        let offer = pa.create_offer().expect("offer");
        pa.set_local_description(offer).expect("set offer");
        pb.set_remote_description(pa.local_description().cloned().expect("offer"))
            .expect("apply offer");
        let answer = pb.create_answer().expect("answer");
        pb.set_local_description(answer).expect("set answer");
        pa.set_remote_description(pb.local_description().cloned().expect("answer"))
            .expect("apply answer");
        let video = transceiver.map(|t| {
            let codecs = pa.sender(t).expect("sender").get_parameters().codecs;
            (t, codecs.first().expect("a codec").payload_type)
        });
        (
            Self {
                pc: pa,
                channel: Some(channel),
                video,
            },
            Self {
                pc: pb,
                channel: None,
                video: None,
            },
        )
    }

    fn receive(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        let receive = Receive {
            proto: Protocol::Udp,
            source: from,
            destination: to,
            contents: data,
        };
        let _ = self.pc.handle_input(Input::Receive(now, receive));
    }

    fn timeout(&mut self, now: Instant) {
        let _ = self.pc.handle_input(Input::Timeout(now));
    }

    fn poll(&mut self) -> Out {
        match self.pc.poll_output() {
            Output::Transmit(t) => Out::Transmit {
                from: t.source,
                to: t.destination,
                data: t.contents,
            },
            Output::Event(Event::ChannelOpen(id)) => {
                self.channel.get_or_insert(id);
                Out::Open
            }
            Output::Event(Event::ChannelMessage(_, m)) => Out::Message(m.data.len()),
            Output::Event(Event::RtpPacket { .. }) => Out::Rtp,
            Output::Event(_) => Out::Other,
            Output::Timeout(at) => Out::Timeout(at),
        }
    }

    fn send(&mut self, data: &[u8]) -> bool {
        let Some(id) = self.channel else { return false };
        self.pc
            .data_channel(id)
            .is_some_and(|mut dc| dc.send(data).is_ok())
    }

    fn buffered(&mut self) -> usize {
        self.channel
            .and_then(|id| self.pc.data_channel(id))
            .map_or(0, |dc| dc.buffered_amount())
    }

    fn recycle(&mut self, data: Vec<u8>) {
        self.pc.recycle_transmit(data);
    }

    fn send_rtp(&mut self, _now: Instant, n: u64, payload: &[u8]) -> bool {
        let Some((t, pt)) = self.video else {
            return false;
        };
        let w = RtpWrite::new(pt, n as u16, (n as u32).wrapping_mul(90), payload);
        self.pc
            .sender(t)
            .is_some_and(|mut s| s.write_rtp(w).is_ok())
    }
}
