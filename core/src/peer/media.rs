//! The media path of a connection (ARCHITECTURE.md §3): what each
//! transceiver negotiated, RTP routed to its receiver (RFC 8843 §9.2), RTX
//! undone (RFC 4588), RTCP feedback turned into events, and the W3C `track`
//! event. The sending side and the API handles are in `rtp_handles.rs`.

use std::time::{Duration, Instant};

use super::media_params::NegotiatedMedia;
use super::rtp_types::{AudioLevel, Fixed, MediaStreamTrack, RtpPacketReceived};
use super::transceiver::TransceiverId;
use crate::event::Event;
use crate::media::history::{unwrap_rtx, PacketHistory, RtxError};
use crate::media::nack::{NackConfig, NackGenerator};
use crate::media::receive_stats::{Arrival, ReceiveStats};
use crate::media::router::{RouteExtensions, Router};
use crate::media::rtcp_interval::RtcpScheduler;
use crate::media::send_stats::SendStats;
use crate::peer::PeerConnection;
use crate::rtp::hdrext::SsrcAudioLevel;
use crate::rtp::RtpPacket;
use crate::sdp::MediaDescription;
use crate::stats::Dropped;

/// Most media SSRCs one receiver keeps statistics for (simulcast layers
/// and SSRC changes); the oldest goes for a new one.
const MAX_RECEIVER_SSRCS: usize = 8;
/// Most sources (SSRCs and CSRCs) a receiver reports.
const MAX_SOURCES: usize = 32;
/// W3C getContributingSources: sources seen "in the last 10 seconds".
const SOURCE_WINDOW: Duration = Duration::from_secs(10);

/// Why a keyframe was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyframeRequestKind {
    /// Picture loss indication (RFC 4585 §6.3.1).
    Pli,
    /// Full intra request (RFC 5104 §4.3.1).
    Fir,
}

/// One receiver's state.
#[derive(Debug, Clone)]
pub(crate) struct ReceiverState {
    pub(crate) transceiver: TransceiverId,
    pub(crate) track: MediaStreamTrack,
    /// W3C [[FiredDirection]] receives: the track event was fired.
    pub(crate) fired: bool,
    /// Media SSRCs seen, oldest first.
    pub(crate) ssrcs: Vec<u32>,
    /// Sources seen in the last 10 seconds (bounded).
    pub(crate) sources: Vec<SourceSeen>,
    /// Reception statistics and NACK state per media SSRC (bounded).
    pub(crate) streams: Vec<ReceiveStream>,
    /// The telephone-event being received (RFC 4733).
    pub(crate) dtmf: super::dtmf::DtmfReceive,
    /// RFC 5104 §4.3.1.1: the FIR command sequence number, "increased by 1
    /// for each new command".
    pub(crate) fir_sequence: u8,
    /// Keyframe requests sent (W3C inbound-rtp `pliCount`, `firCount`).
    pub(crate) plis_sent: u64,
    pub(crate) firs_sent: u64,
    /// Frame mode (`media_frames.rs`): packets become `Event::MediaFrame`.
    pub(crate) frames: Option<Box<super::media_frames::FrameMode>>,
}

/// One received media stream: RFC 3550 statistics and, when the codec
/// negotiated `nack`, the RFC 4585 generator.
#[derive(Debug, Clone)]
pub(crate) struct ReceiveStream {
    pub(crate) stats: ReceiveStats,
    pub(crate) nack: Option<NackGenerator>,
    /// The payload type of its latest packet.
    pub(crate) payload_type: u8,
    /// Packets that came by RTX, and their payload bytes.
    pub(crate) repaired_packets: u64,
    pub(crate) repaired_bytes: u64,
    /// The latest SR from its sender: the sender info, when it arrived,
    /// and how many SRs came.
    pub(crate) sender_report: Option<(crate::rtp::rtcp::SenderInfo, Instant)>,
    pub(crate) sender_reports: u64,
}

/// A source seen in received packets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SourceSeen {
    pub(crate) source: u32,
    pub(crate) csrc: bool,
    pub(crate) at: Instant,
    pub(crate) level: Option<u8>,
    pub(crate) rtp_timestamp: u32,
}

/// One sender's state.
#[derive(Debug, Clone)]
pub(crate) struct SenderState {
    pub(crate) transceiver: TransceiverId,
    /// Its encoding: 0 for the transceiver's own stream, 1.. for a
    /// simulcast sender's further ones.
    pub(crate) layer: u8,
    /// A simulcast encoding's RID.
    pub(crate) rid: Option<std::sync::Arc<str>>,
    /// Its SSRC and its RTX stream's.
    pub(crate) ssrc: u32,
    pub(crate) rtx_ssrc: u32,
    /// `None` after `replace_track(None)`: nothing is sent.
    pub(crate) track: Option<MediaStreamTrack>,
    pub(crate) active: bool,
    pub(crate) max_bitrate: Option<u32>,
    /// RFC 3550 sender statistics, once a packet was sent.
    pub(crate) stats: Option<SendStats>,
    /// What was sent, for NACKs (RFC 4588 RTX), when RTX was negotiated.
    pub(crate) history: Option<PacketHistory>,
    /// The RTX stream's next sequence number.
    pub(crate) rtx_sequence: u16,
    /// The last sequence number sent on the wire.
    pub(crate) last_sequence: Option<u16>,
    /// Added to the application's sequence numbers: one per packet eddy
    /// inserted in the stream (DTMF events).
    pub(crate) sequence_offset: u16,
    /// DTMF being played out (W3C RTCDTMFSender).
    pub(crate) dtmf: super::dtmf::DtmfPlayout,
    /// Feedback received about its stream (W3C outbound-rtp `nackCount`,
    /// `pliCount`, `firCount`).
    pub(crate) nacks_received: u64,
    pub(crate) plis_received: u64,
    pub(crate) firs_received: u64,
    /// RTP header bytes sent (W3C `headerBytesSent`).
    pub(crate) header_bytes_sent: u64,
    /// `write_frame`'s packetizer, for the payload type it was made for.
    pub(crate) packetizer: Option<(u8, crate::media::codec::Packetizer)>,
}

/// All media state of a connection.
#[derive(Debug)]
pub(crate) struct Media {
    /// What each negotiated transceiver agreed, in m-line order.
    pub(crate) sections: Vec<(TransceiverId, NegotiatedMedia)>,
    pub(crate) receivers: Vec<ReceiverState>,
    pub(crate) senders: Vec<SenderState>,
    /// RFC 8843 §9.2 demultiplexing; its receiver `i` is `routed_to[i]`.
    router: Router,
    routed_to: Vec<TransceiverId>,
    /// The RTCP schedule, once media was negotiated.
    pub(crate) rtcp: Option<RtcpScheduler>,
    /// The latest round-trip time RTCP measured.
    pub(crate) rtt: Option<Duration>,
    /// Congestion control, once a section negotiated transport-wide
    /// feedback (`media_bwe.rs`).
    pub(crate) bwe: Option<Box<super::media_bwe::Bwe>>,
}

impl Default for Media {
    fn default() -> Self {
        Self {
            sections: Vec::new(),
            receivers: Vec::new(),
            senders: Vec::new(),
            router: Router::new(RouteExtensions::default()),
            routed_to: Vec::new(),
            rtcp: None,
            rtt: None,
            bwe: None,
        }
    }
}

impl ReceiverState {
    /// The stream of `ssrc`, made on its first packet (the oldest goes when
    /// [`MAX_RECEIVER_SSRCS`] are kept).
    fn stream_mut(
        &mut self,
        ssrc: u32,
        clock_rate: u32,
        nack: bool,
        rtt: Option<Duration>,
    ) -> &mut ReceiveStream {
        let i = match self.streams.iter().position(|s| s.stats.ssrc() == ssrc) {
            Some(i) => i,
            None => {
                if self.streams.len() >= MAX_RECEIVER_SSRCS {
                    self.streams.remove(0);
                }
                let mut g = nack.then(|| NackGenerator::new(NackConfig::default()));
                if let (Some(g), Some(rtt)) = (g.as_mut(), rtt) {
                    g.set_rtt(rtt);
                }
                // SRTP authenticated the packet: no RFC 3550 A.1
                // probation is needed to trust a new source.
                self.streams.push(ReceiveStream {
                    stats: ReceiveStats::new(ssrc, clock_rate.max(1), false),
                    nack: g,
                    payload_type: 0,
                    repaired_packets: 0,
                    repaired_bytes: 0,
                    sender_report: None,
                    sender_reports: 0,
                });
                self.streams.len() - 1
            }
        };
        &mut self.streams[i]
    }
}

impl Media {
    pub(crate) fn section(&self, id: TransceiverId) -> Option<&NegotiatedMedia> {
        self.sections.iter().find(|(t, _)| *t == id).map(|(_, n)| n)
    }

    pub(crate) fn receiver_mut(&mut self, id: TransceiverId) -> Option<&mut ReceiverState> {
        self.receivers.iter_mut().find(|r| r.transceiver == id)
    }

    pub(crate) fn receiver(&self, id: TransceiverId) -> Option<&ReceiverState> {
        self.receivers.iter().find(|r| r.transceiver == id)
    }

    /// Transceiver `id`'s sender (its first encoding).
    pub(crate) fn sender_mut(&mut self, id: TransceiverId) -> Option<&mut SenderState> {
        self.senders
            .iter_mut()
            .find(|s| s.transceiver == id && s.layer == 0)
    }

    pub(crate) fn sender(&self, id: TransceiverId) -> Option<&SenderState> {
        self.senders
            .iter()
            .find(|s| s.transceiver == id && s.layer == 0)
    }

    /// Every encoding of transceiver `id`'s sender (one unless simulcast).
    pub(crate) fn encodings_mut(
        &mut self,
        id: TransceiverId,
    ) -> impl Iterator<Item = &mut SenderState> {
        self.senders.iter_mut().filter(move |s| s.transceiver == id)
    }

    /// The encoding of transceiver `id` with RID `rid` (`None`: the first).
    pub(crate) fn encoding_mut(
        &mut self,
        id: TransceiverId,
        rid: Option<&str>,
    ) -> Option<&mut SenderState> {
        match rid {
            None => self.sender_mut(id),
            Some(rid) => self
                .senders
                .iter_mut()
                .find(|s| s.transceiver == id && s.rid.as_deref() == Some(rid)),
        }
    }

    /// Rebuilds the RFC 8843 §9.2 router from what was negotiated: a
    /// receiver per receiving m-section with its payload types (RTX's
    /// included), the SSRCs the remote signaled, and those already seen.
    fn rebuild_router(&mut self) {
        // RFC 8843 §9.1: in a BUNDLE group an extension id means the same
        // thing in every section, so each id is taken from the first
        // section that has it (audio sections carry no RID, say).
        let extensions = self
            .sections
            .iter()
            .fold(RouteExtensions::default(), |e, (_, n)| RouteExtensions {
                mid: e.mid.or(n.recv_ext.mid),
                rid: e.rid.or(n.recv_ext.rid),
                repaired_rid: e.repaired_rid.or(n.recv_ext.repaired_rid),
            });
        let mut router = Router::new(extensions);
        let mut routed_to = Vec::new();
        for (t, n) in &self.sections {
            if !n.direction.receives() {
                continue;
            }
            let pts: Vec<u8> = n
                .codecs
                .iter()
                .flat_map(|c| std::iter::once(c.payload_type).chain(c.rtx_payload_type))
                .collect();
            // RFC 8853 §5.2 / RFC 8852 §3.3: a simulcast sender's layers
            // share the m-section and are told apart by their RID; each
            // gets a route of its own to the one receiver (a track with
            // layers, as an SFU forwards them), the RID on every packet.
            let first = routed_to.len();
            let rids = n.remote.rids.iter().map(|r| Some(r.as_str()));
            for rid in rids.chain(n.remote.rids.is_empty().then_some(None)) {
                if router.add_receiver(&n.mid, rid, &pts).is_none() {
                    break;
                }
                routed_to.push(*t);
            }
            if routed_to.len() == first {
                break;
            }
            let i = first;
            for &(media, rtx) in &n.remote.ssrcs {
                router.add_ssrc(media, i, false);
                if let Some(rtx) = rtx {
                    router.add_ssrc(rtx, i, true);
                }
            }
            if let Some(r) = self.receivers.iter().find(|r| r.transceiver == *t) {
                for &ssrc in &r.ssrcs {
                    router.add_ssrc(ssrc, i, false);
                }
            }
        }
        self.router = router;
        self.routed_to = routed_to;
    }

    /// The next FIR sequence number of receiver `id`.
    pub(crate) fn next_fir_sequence(&mut self, id: TransceiverId) -> u8 {
        self.receiver_mut(id).map_or(0, |r| {
            r.fir_sequence = r.fir_sequence.wrapping_add(1);
            r.fir_sequence
        })
    }

    /// The sender encoding whose SSRC (or RTX SSRC) is `ssrc`: its
    /// transceiver and index in `senders`.
    pub(crate) fn sender_of_ssrc(&self, ssrc: u32) -> Option<(TransceiverId, usize)> {
        self.senders
            .iter()
            .position(|s| s.ssrc == ssrc || s.rtx_ssrc == ssrc)
            .map(|i| (self.senders[i].transceiver, i))
            .filter(|(id, _)| self.section(*id).is_some())
    }
}

/// The media SSRC an RTX stream `rtx_ssrc` repairs: the one `a=ssrc-group:FID`
/// pairs it with, or else the receiver's only media SSRC.
fn repaired_ssrc(n: &NegotiatedMedia, r: &ReceiverState, rtx_ssrc: u32) -> Option<u32> {
    n.remote
        .ssrcs
        .iter()
        .find(|(_, rtx)| *rtx == Some(rtx_ssrc))
        .map(|(m, _)| *m)
        .or(match r.ssrcs.as_slice() {
            [only] => Some(*only),
            _ => None,
        })
}

impl PeerConnection {
    /// After a description is applied: what each transceiver negotiated,
    /// a receiver and a sender for each, and the `track` event for each
    /// receiver the remote description newly sends to (W3C "process the
    /// addition of a remote track", when `remote_applied`).
    pub(crate) fn sync_media(&mut self, remote_applied: bool) {
        let local = self
            .jsep
            .current_local
            .as_ref()
            .or(self.jsep.pending_local.as_ref());
        let remote = self.jsep.remote();
        let section = |a: Option<&super::jsep::Applied>, mid: &str| -> Option<MediaDescription> {
            a?.sdp().media_by_mid(mid).map(|(_, m)| m.clone())
        };
        let mut sections = Vec::new();
        let mut receiving = Vec::new();
        for t in &self.jsep.n.transceivers {
            let Some(mid) = t.mid.as_deref() else {
                continue;
            };
            if t.stopped {
                continue;
            }
            let Some(r) = section(remote, mid).filter(|r| !r.is_rejected()) else {
                continue;
            };
            // W3C: "If direction is "sendrecv" or "recvonly"" (the remote
            // sends) "and transceiver.[[FiredDirection]]" does not receive.
            if remote_applied {
                let sends = r.direction_or_default().sends();
                receiving.push((t.id, sends, r.msids.first().cloned()));
            }
            let Some(l) = section(local, mid).filter(|l| !l.is_rejected()) else {
                continue;
            };
            let direction = t.current_direction.unwrap_or(l.direction_or_default());
            if let Some(n) = NegotiatedMedia::new(t.kind, &l, &r, direction) {
                sections.push((t.id, n));
            }
        }
        self.media.sections = sections;
        let alive: Vec<TransceiverId> = self.jsep.n.transceivers.iter().map(|t| t.id).collect();
        self.media
            .receivers
            .retain(|r| alive.contains(&r.transceiver));
        self.media
            .senders
            .retain(|s| alive.contains(&s.transceiver));
        self.ensure_media_states();
        self.media.rebuild_router();
        self.start_rtcp();
        for (id, sends, msid) in receiving {
            let Some(r) = self.media.receiver_mut(id) else {
                continue;
            };
            if !sends {
                // W3C: the remote stopped sending ("process the removal of
                // a remote track"): a later offer that sends fires again.
                r.fired = false;
                continue;
            }
            if let Some(msid) = msid {
                r.track.stream_ids.clear();
                if msid.stream_id != "-" {
                    r.track.stream_ids.push(msid.stream_id);
                }
            }
            if r.fired {
                continue;
            }
            r.fired = true;
            let track = r.track.clone();
            self.events.push(Event::Track {
                transceiver: id,
                track,
            });
        }
    }

    /// A receiver and a sender for every transceiver (W3C: both exist from
    /// the transceiver's creation).
    pub(crate) fn ensure_media_states(&mut self) {
        for i in 0..self.jsep.n.transceivers.len() {
            let (id, kind, track_id, ssrcs, layers) = {
                let t = &self.jsep.n.transceivers[i];
                (
                    t.id,
                    t.kind,
                    t.track_id.clone(),
                    (t.ssrc, t.rtx_ssrc),
                    t.layers.clone(),
                )
            };
            if self.media.receiver(id).is_none() {
                let rid = self.rng.ice_chars(16).replace(['+', '/'], "x");
                self.media.receivers.push(ReceiverState {
                    transceiver: id,
                    track: MediaStreamTrack {
                        id: rid,
                        kind,
                        stream_ids: Vec::new(),
                    },
                    fired: false,
                    frames: None,
                    ssrcs: Vec::new(),
                    sources: Vec::new(),
                    streams: Vec::new(),
                    dtmf: super::dtmf::DtmfReceive::default(),
                    fir_sequence: 0,
                    plis_sent: 0,
                    firs_sent: 0,
                });
            }
            if self.media.sender(id).is_none() {
                let track = MediaStreamTrack {
                    id: track_id,
                    kind,
                    stream_ids: Vec::new(),
                };
                // A simulcast sender's encodings beyond the first: a state
                // each (SSRCs, sequence, history, statistics).
                for (k, l) in layers.iter().enumerate().skip(1) {
                    let mut state = SenderState::new(id, track.clone(), (l.ssrc, l.rtx_ssrc));
                    state.layer = k as u8;
                    state.rid = Some(l.rid.clone());
                    state.active = l.active;
                    state.max_bitrate = l.max_bitrate;
                    self.media.senders.push(state);
                }
                let mut first = SenderState::new(id, track, ssrcs);
                if let Some(l) = layers.first() {
                    first.rid = Some(l.rid.clone());
                    first.active = l.active;
                    first.max_bitrate = l.max_bitrate;
                }
                self.media.senders.push(first);
            }
        }
    }
}

impl SenderState {
    fn new(
        transceiver: TransceiverId,
        track: MediaStreamTrack,
        (ssrc, rtx_ssrc): (u32, u32),
    ) -> Self {
        Self {
            transceiver,
            layer: 0,
            rid: None,
            ssrc,
            rtx_ssrc,
            track: Some(track),
            active: true,
            max_bitrate: None,
            stats: None,
            history: None,
            rtx_sequence: 0,
            last_sequence: None,
            sequence_offset: 0,
            dtmf: super::dtmf::DtmfPlayout::default(),
            nacks_received: 0,
            plis_received: 0,
            firs_received: 0,
            header_bytes_sent: 0,
            packetizer: None,
        }
    }
}

impl PeerConnection {
    /// An SRTP-unprotected RTP packet from the selected pair: routed
    /// (RFC 8843 §9.2), RTX undone (RFC 4588), counted in its stream's
    /// statistics and NACK state, and queued as an event.
    pub(crate) fn on_rtp(&mut self, data: Vec<u8>) {
        let Ok(p) = RtpPacket::parse(&data) else {
            self.stack.counters.count_drop(Dropped::MediaMalformed);
            return;
        };
        let routed = self.media.router.route(&p);
        let Some(t) = routed
            .ok()
            .and_then(|r| self.media.routed_to.get(r.receiver).copied())
        else {
            self.stack.counters.count_drop(Dropped::MediaUnrouted);
            return;
        };
        let repair = routed.is_ok_and(|r| r.repair);
        let route = routed.ok().map(|r| r.receiver);
        let rid = route.and_then(|i| self.media.router.rid_of(i)).cloned();
        // draft-holmer-rmcat-transport-wide-cc-extensions-01: every packet
        // (RTX too) counts in the feedback.
        let transport_seq = self
            .media
            .section(t)
            .and_then(|n| n.recv_ext.transport_cc)
            .and_then(|id| p.extension(id))
            .and_then(|v| v.get(..2))
            .map(|v| u16::from_be_bytes([v[0], v[1]]));
        if let Some(seq) = transport_seq {
            self.note_transport_seq(seq, data.len(), p.ssrc);
        }
        let Some(n) = self.media.section(t) else {
            self.stack.counters.count_drop(Dropped::MediaUnrouted);
            return;
        };
        let (pt, ssrc) = (p.payload_type, p.ssrc);
        let (data, repaired) = if repair || n.codec_of_rtx(pt).is_some() {
            let apt: smallvec::SmallVec<[(u8, u8); 8]> = n
                .codecs
                .iter()
                .filter_map(|c| c.rtx_payload_type.map(|r| (r, c.payload_type)))
                .collect();
            // A simulcast layer's RTX stream, routed by its repaired RID,
            // repairs the media stream routed by the same RID.
            let by_rid = rid
                .is_some()
                .then(|| route.and_then(|i| self.media.router.media_ssrc_of(i)))
                .flatten();
            let Some(media_ssrc) = by_rid.or_else(|| {
                self.media
                    .receiver(t)
                    .and_then(|r| repaired_ssrc(n, r, ssrc))
            }) else {
                self.stack.counters.count_drop(Dropped::MediaUnrouted);
                return;
            };
            let mut original = Vec::with_capacity(data.len());
            match unwrap_rtx(&data, &apt, media_ssrc, &mut original) {
                Ok(_) => (original, true),
                // Padding only: a bandwidth probe, nothing to deliver.
                Err(RtxError::NoOsn) => return,
                Err(_) => {
                    self.stack.counters.count_drop(Dropped::MediaMalformed);
                    return;
                }
            }
        } else if n.codec(pt).is_some() {
            (data, false)
        } else {
            self.stack.counters.count_drop(Dropped::MediaUnrouted);
            return;
        };
        self.deliver_rtp(t, data, repaired, rid);
    }

    /// Counts a routed packet in its stream and queues it as an event
    /// (not twice: a duplicate, such as a retransmission that raced the
    /// original, is dropped and counted).
    fn deliver_rtp(
        &mut self,
        t: TransceiverId,
        data: Vec<u8>,
        repaired: bool,
        rid: Option<std::sync::Arc<str>>,
    ) {
        let now = self.now;
        let Ok(p) = RtpPacket::parse(&data) else {
            self.stack.counters.count_drop(Dropped::MediaMalformed);
            return;
        };
        let Some(n) = self.media.section(t) else {
            return;
        };
        if !n.direction.receives() {
            self.stack.counters.count_drop(Dropped::MediaNotReceiving);
            return;
        }
        let Some(codec) = n.codec(p.payload_type) else {
            self.stack.counters.count_drop(Dropped::MediaUnrouted);
            return;
        };
        let (clock_rate, nack) = (codec.clock_rate, codec.nack);
        let frame_kind = crate::codec::CodecKind::from_mime(&codec.mime_type);
        let telephone_event = codec
            .mime_type
            .eq_ignore_ascii_case("audio/telephone-event");
        let level_id = n.recv_ext.audio_level;
        if !self.count_received(t, &p, clock_rate, nack, repaired) {
            return;
        }
        if telephone_event {
            self.on_telephone_event(t, &p, clock_rate);
        }
        let audio_level = level_id
            .and_then(|id| p.extension(id))
            .and_then(|v| SsrcAudioLevel::parse(v).ok())
            .map(|l| AudioLevel {
                voice: l.voice,
                level: l.level,
            });
        let csrcs: smallvec::SmallVec<[u32; 4]> = p.csrcs().collect();
        let fixed = Fixed::of(&p);
        let Some(packet) = RtpPacketReceived::new(data, fixed, rid, audio_level, repaired, now)
        else {
            self.stack.counters.count_drop(Dropped::MediaMalformed);
            return;
        };
        self.note_sources(t, &packet, &csrcs);
        let packet = if telephone_event {
            Some(packet)
        } else {
            self.frame_packet(t, packet, frame_kind)
        };
        self.arm_media_timer();
        let Some(packet) = packet else {
            return;
        };
        if self.events.has_room() {
            self.events.push(Event::RtpPacket {
                transceiver: t,
                packet,
            });
        } else {
            self.stack.counters.count_drop(Dropped::MediaQueueFull);
        }
    }

    /// Counts `p` in its receive stream (RFC 3550 statistics, the NACK
    /// generator); false if nothing receives it, or it is a duplicate
    /// (dropped and counted).
    fn count_received(
        &mut self,
        t: TransceiverId,
        p: &RtpPacket<'_>,
        clock_rate: u32,
        nack: bool,
        repaired: bool,
    ) -> bool {
        let (now, rtt) = (self.now, self.media.rtt);
        let Some(r) = self.media.receiver_mut(t) else {
            return false;
        };
        let stream = r.stream_mut(p.ssrc, clock_rate, nack, rtt);
        stream.payload_type = p.payload_type;
        let arrival = if repaired {
            stream.repaired_packets += 1;
            stream.repaired_bytes += p.payload.len() as u64;
            stream.stats.on_repaired_rtp(now, p)
        } else {
            stream.stats.on_rtp(now, p)
        };
        match arrival {
            Arrival::Valid {
                duplicate: true, ..
            } => {
                self.stack.counters.count_drop(Dropped::MediaDuplicate);
                return false;
            }
            Arrival::Valid { extended, .. } => {
                if let Some(g) = stream.nack.as_mut() {
                    g.on_packet(now, extended);
                }
            }
            Arrival::Probation | Arrival::BadJump => {}
        }
        true
    }

    /// Records the packet's SSRC and CSRCs for `get_*_sources`.
    fn note_sources(&mut self, t: TransceiverId, p: &RtpPacketReceived, csrcs: &[u32]) {
        let Some(r) = self.media.receiver_mut(t) else {
            return;
        };
        if !p.repaired && !r.ssrcs.contains(&p.ssrc) {
            if r.ssrcs.len() >= MAX_RECEIVER_SSRCS {
                r.ssrcs.remove(0);
            }
            r.ssrcs.push(p.ssrc);
        }
        let level = p.audio_level.map(|l| l.level);
        let seen =
            std::iter::once((p.ssrc, false, level)).chain(csrcs.iter().map(|&c| (c, true, None)));
        for (source, csrc, level) in seen {
            let entry = SourceSeen {
                source,
                csrc,
                at: p.arrival,
                level,
                rtp_timestamp: p.timestamp,
            };
            match r
                .sources
                .iter_mut()
                .find(|s| s.source == source && s.csrc == csrc)
            {
                Some(s) => *s = entry,
                None => {
                    r.sources
                        .retain(|s| p.arrival.saturating_duration_since(s.at) <= SOURCE_WINDOW);
                    if r.sources.len() >= MAX_SOURCES {
                        r.sources.remove(0);
                    }
                    r.sources.push(entry);
                }
            }
        }
    }
}
