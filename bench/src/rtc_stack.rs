//! webrtc-rs's sans-IO `rtc` 0.21 behind the harness (crypto: aws-lc-rs,
//! as str0m's; DTLS, SCTP and SRTP are rtc's own crates).
//!
//! Configured as rtc's own examples are: a data-channel pair is a bare
//! `RTCPeerConnectionBuilder` (its data-channel examples register no codecs
//! and no interceptors); a video pair registers the default codecs and the
//! default interceptors (NACK, RTCP reports, TWCC receiver), as its media
//! examples do, so RTCP runs during the RTP row as it does for the others.
//!
//! rtc's output comes from three queues (`poll_write`, `poll_event`,
//! `poll_read`); `poll` drains them in that order and reports the next
//! deadline only once all three are empty. Deadlines are honoured exactly,
//! as rtc's examples do: its ICE agent works on a 200 ms tick, and the
//! nomination and then the DTLS ClientHello each wait for the next tick,
//! so a pair opens after 400 ms of virtual time on a zero-delay network
//! (rtc's behaviour, not the driver's: nothing is pending in between).

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use rtc::data_channel::RTCDataChannelId;
use rtc::interceptor::Registry;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::certificate::{CertificateParams, RTCCertificate};
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{MediaEngine, MIME_TYPE_VP8};
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::event::{RTCDataChannelEvent, RTCPeerConnectionEvent};
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};

use crate::harness::{Out, PairSpec, Stack};

pub(crate) struct Rtc {
    pc: RTCPeerConnection,
    channel: Option<RTCDataChannelId>,
    /// The video sender, its SSRC and payload type (learnt on first use,
    /// once negotiated).
    video: Option<(RTCRtpSenderId, u32, Option<u8>)>,
    /// The last instant the connection was given: the harness's `send`
    /// carries no time, rtc's does.
    now: Instant,
}

fn peer(
    now: Instant,
    addr: SocketAddr,
    video: bool,
    shared_certificate: bool,
) -> RTCPeerConnection {
    static CERTIFICATE: OnceLock<RTCCertificate> = OnceLock::new();
    let mut builder = RTCPeerConnectionBuilder::new();
    if shared_certificate {
        let certificate = CERTIFICATE.get_or_init(|| {
            let provider = rtc::crypto::default_provider().expect("crypto provider");
            RTCCertificate::generate(
                provider.crypto(),
                rtc::crypto::SignatureScheme::EcdsaP256Sha256,
                CertificateParams::new(vec!["bench".to_owned()]).expect("params"),
            )
            .expect("certificate")
        });
        builder = builder.with_configuration(
            RTCConfigurationBuilder::new()
                .with_certificates(vec![certificate.clone()])
                .build(),
        );
    }
    if video {
        let mut media_engine = MediaEngine::default();
        media_engine.register_default_codecs().expect("codecs");
        let registry =
            register_default_interceptors(Registry::new(), &mut media_engine).expect("registry");
        builder = builder
            .with_media_engine(media_engine)
            .with_interceptor_registry(registry);
    }
    let mut pc = builder.build(now).expect("peer");
    let candidate = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".to_owned(),
            address: addr.ip().to_string(),
            port: addr.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()
    .expect("candidate");
    pc.add_local_candidate(
        RTCIceCandidate::from(&candidate)
            .to_json()
            .expect("candidate json"),
    )
    .expect("add candidate");
    pc
}

impl Stack for Rtc {
    const NAME: &'static str = "rtc";

    fn pair(spec: PairSpec) -> (Self, Self) {
        let PairSpec {
            now,
            addrs: [a, b],
            video,
            shared_certificate,
        } = spec;
        let (mut pa, mut pb) = (
            peer(now, a, video, shared_certificate),
            peer(now, b, video, shared_certificate),
        );
        let channel = pa.create_data_channel("bench", None).expect("channel").id();
        let video = video.then(|| {
            let ssrc = ssrc_for(a);
            let encoding = RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                active: true,
                codec: RTCRtpCodec {
                    mime_type: MIME_TYPE_VP8.to_owned(),
                    clock_rate: 90000,
                    ..Default::default()
                },
                ..Default::default()
            };
            let track = MediaStreamTrack::new(
                "bench".to_owned(),
                "video".to_owned(),
                "video".to_owned(),
                RtpCodecKind::Video,
                vec![encoding],
            );
            let transceiver = pa
                .add_transceiver_from_track(
                    track,
                    Some(RTCRtpTransceiverInit {
                        direction: RTCRtpTransceiverDirection::Sendonly,
                        streams: vec![],
                        send_encodings: vec![],
                    }),
                )
                .expect("transceiver");
            let sender = pa
                .get_senders()
                .find(|s| rtc::rtp_transceiver::RTCRtpTransceiverId::from(*s) == transceiver)
                .expect("sender");
            (sender, ssrc, None)
        });
        let offer = pa.create_offer(None).expect("offer");
        pa.set_local_description(now, offer.clone())
            .expect("set offer");
        pb.set_remote_description(now, offer).expect("apply offer");
        let answer = pb.create_answer(None).expect("answer");
        pb.set_local_description(now, answer.clone())
            .expect("set answer");
        pa.set_remote_description(now, answer)
            .expect("apply answer");
        (
            Self {
                pc: pa,
                channel: Some(channel),
                video,
                now,
            },
            Self {
                pc: pb,
                channel: None,
                video: None,
                now,
            },
        )
    }

    fn receive(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        self.now = now;
        // rtc takes an owned `BytesMut`: the copy a driver makes out of its
        // receive buffer.
        let _ = self.pc.handle_read(TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr: to,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: BytesMut::from(data),
        });
    }

    fn timeout(&mut self, now: Instant) {
        self.now = now;
        let _ = self.pc.handle_timeout(now);
    }

    fn poll(&mut self) -> Out {
        // Reading or raising events can queue datagrams: look twice before
        // reporting the deadline.
        for _ in 0..2 {
            if let Some(t) = self.pc.poll_write() {
                return Out::Transmit {
                    from: t.transport.local_addr,
                    to: t.transport.peer_addr,
                    data: Vec::from(t.message),
                };
            }
            if let Some(event) = self.pc.poll_event() {
                return match event {
                    RTCPeerConnectionEvent::OnDataChannel(RTCDataChannelEvent::OnOpen(id)) => {
                        self.channel.get_or_insert(id);
                        Out::Open
                    }
                    _ => Out::Other,
                };
            }
            if let Some(TaggedRTCMessage { message, .. }) = self.pc.poll_read() {
                return match message {
                    RTCMessage::DataChannelMessage(_, m) => Out::Message(m.data.len()),
                    RTCMessage::RtpPacket(..) => Out::Rtp,
                    _ => Out::Other,
                };
            }
        }
        Out::Timeout(self.pc.poll_timeout())
    }

    fn send(&mut self, data: &[u8]) -> bool {
        let Some(id) = self.channel else { return false };
        let now = self.now;
        self.pc
            .data_channel(id)
            .is_some_and(|mut dc| dc.send(now, BytesMut::from(data)).is_ok())
    }

    fn buffered(&mut self) -> usize {
        self.channel
            .and_then(|id| self.pc.data_channel(id))
            .map_or(0, |dc| dc.outstanding_bytes())
    }

    fn send_rtp(&mut self, now: Instant, n: u64, payload: &[u8]) -> bool {
        self.now = now;
        let Some((sender, ssrc, pt)) = self.video.as_mut() else {
            return false;
        };
        let Some(mut s) = self.pc.rtp_sender(*sender) else {
            return false;
        };
        let pt = *pt.get_or_insert_with(|| {
            s.get_parameters()
                .rtp_parameters
                .codecs
                .iter()
                .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(MIME_TYPE_VP8))
                .map_or(96, |c| c.payload_type)
        });
        let packet = rtp::packet::Packet {
            header: rtp::header::Header {
                version: 2,
                payload_type: pt,
                sequence_number: n as u16,
                timestamp: (n as u32).wrapping_mul(90),
                ssrc: *ssrc,
                ..Default::default()
            },
            payload: Bytes::copy_from_slice(payload),
        };
        s.write_rtp(now, packet).is_ok()
    }
}

/// A fixed SSRC per pair (no randomness in the bench).
fn ssrc_for(addr: SocketAddr) -> u32 {
    match addr {
        SocketAddr::V4(v4) => u32::from(*v4.ip()) ^ 0x5eed_0000,
        SocketAddr::V6(_) => 0x5eed_0001,
    }
}
