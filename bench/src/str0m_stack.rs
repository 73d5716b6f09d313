//! str0m 0.25 behind the harness (its default crypto: aws-lc-rs, DTLS by dimpl).

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use str0m::channel::ChannelId;
use str0m::config::DtlsCert;
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};

use crate::harness::{Out, PairSpec, Stack};

pub(crate) struct Str0m {
    rtc: Rtc,
    channel: Option<ChannelId>,
    video: Option<Mid>,
}

impl Stack for Str0m {
    const NAME: &'static str = "str0m";

    fn pair(spec: PairSpec) -> (Self, Self) {
        let PairSpec {
            now,
            addrs: [a, b],
            video,
            shared_certificate,
        } = spec;
        static CERTIFICATE: OnceLock<DtlsCert> = OnceLock::new();
        let peer = |addr| {
            let mut builder = Rtc::builder().set_rtp_mode(video);
            if shared_certificate {
                let certificate = CERTIFICATE.get_or_init(|| {
                    str0m::crypto::from_feature_flags()
                        .dtls_provider
                        .generate_certificate()
                        .expect("certificate")
                });
                builder = builder.set_dtls_cert(certificate.clone());
            }
            let mut rtc = builder.build(now);
            rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
            rtc
        };
        let (mut ra, mut rb) = (peer(a), peer(b));
        let mut change = ra.sdp_api();
        let channel = change.add_channel("bench".into());
        let mid = video
            .then(|| change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None));
        let (offer, pending) = change.apply().expect("offer");
        let answer = rb.sdp_api().accept_offer(offer).expect("answer");
        ra.sdp_api()
            .accept_answer(pending, answer)
            .expect("apply answer");
        (
            Self {
                rtc: ra,
                channel: Some(channel),
                video: mid,
            },
            Self {
                rtc: rb,
                channel: None,
                video: None,
            },
        )
    }

    fn receive(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        if let Ok(receive) = Receive::new(Protocol::Udp, from, to, data) {
            let _ = self.rtc.handle_input(Input::Receive(now, receive));
        }
    }

    fn timeout(&mut self, now: Instant) {
        let _ = self.rtc.handle_input(Input::Timeout(now));
    }

    fn poll(&mut self) -> Out {
        match self.rtc.poll_output() {
            Ok(Output::Transmit(t)) => Out::Transmit {
                from: t.source,
                to: t.destination,
                data: t.contents.to_vec(),
            },
            Ok(Output::Event(Event::ChannelOpen(id, _))) => {
                self.channel.get_or_insert(id);
                Out::Open
            }
            Ok(Output::Event(Event::ChannelData(d))) => Out::Message(d.data.len()),
            Ok(Output::Event(Event::RtpPacket(_))) => Out::Rtp,
            Ok(Output::Event(_)) => Out::Other,
            Ok(Output::Timeout(at)) => Out::Timeout(Some(at)),
            Err(_) => Out::Timeout(None),
        }
    }

    fn send(&mut self, data: &[u8]) -> bool {
        let Some(id) = self.channel else { return false };
        self.rtc
            .channel(id)
            .is_some_and(|mut ch| ch.write(true, data).unwrap_or(false))
    }

    fn buffered(&mut self) -> usize {
        self.channel
            .and_then(|id| self.rtc.channel(id))
            .map_or(0, |mut ch| ch.buffered_amount())
    }

    fn send_rtp(&mut self, now: Instant, n: u64, payload: &[u8]) -> bool {
        let Some(mid) = self.video else { return false };
        let Some(pt) = self
            .rtc
            .codec_config()
            .find(|p| p.spec().codec == Codec::Vp8)
            .map(|p| p.pt())
        else {
            return false;
        };
        let mut api = self.rtc.direct_api();
        let Some(stream) = api.stream_tx_by_mid(mid, None) else {
            return false;
        };
        let time = (n as u32).wrapping_mul(90);
        stream.write_rtp(RtpWrite::new(pt, n.into(), time, now, payload.to_vec()));
        true
    }
}
