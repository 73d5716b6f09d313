//! The pacer on the send path (issue 18): where transport-wide feedback
//! was negotiated, every RTP packet eddy sends — media, retransmissions,
//! probe padding — waits in the connection's [`Pacer`] and leaves at 2.5
//! times the estimate, audio first and never held. The transport-wide
//! sequence number is given when a packet *leaves*, so the send times the
//! estimator compares with the peer's arrival times are the real ones.
//!
//! # Probes
//!
//! The pacer sends two probe clusters when the first packet is queued (3
//! and 6 times the initial estimate, as Chrome does) and those the
//! estimator asks for. A cluster takes queued packets first; when none
//! wait it is filled with padding-only packets on a video sender's RTX
//! stream (RFC 3550 §5.1 padding, RFC 4588 payload type; a receiver
//! counts them in its feedback and drops them, as eddy's does). Without
//! an RTX stream there is nothing to pad with, and a cluster sends only
//! what was queued.
//!
//! # Data channels
//!
//! SCTP keeps its own congestion window and is not queued here: the bytes
//! it sends are charged to the pacer's budget
//! ([`Pacer::on_data_sent`]), so video and retransmissions make room for
//! a file transfer up to the estimate, and the transfer cannot hold them
//! back for more than the pacer's capped debt (500 ms of pacing). Audio is
//! never held behind data.
//!
//! # Bounds
//!
//! The queue holds 2,048 packets at most, and its rate rises so that what
//! waits leaves within 2 s (an application writing far above the estimate
//! gets latency bounded, not memory unbounded); a packet that finds it
//! full pushes out an older one of a lower class or is dropped, counted in
//! [`PacerStats`](crate::PacerStats).

use std::collections::BTreeMap;

use crate::bwe::pacer::Enqueued;
use crate::bwe::{PacedPacket, Pacer, PacerConfig, PacketKind, ProbeId, QueuedPacket};
use crate::error::MediaSendError;
use crate::rtp::RtpHeader;
use crate::timer::Timer;

use super::rtp_handles::SRTP_ROOM;
use super::PeerConnection;

/// A padding-only packet as the pacer charges it: the RTP header with
/// short extensions, 255 bytes of padding (RFC 3550 §5.1: the count is one
/// octet) and the SRTP tag (the estimator gets the real size).
const PADDING: u8 = 255;
const PADDING_PACKET: usize = 12 + 16 + PADDING as usize + SRTP_ROOM;
/// Packets sent in one call at most (a probe that fell behind catches up
/// in bursts of this size).
const MAX_RELEASE_BURST: usize = 512;

/// What the pacer sent and dropped (in [`ConnectionStats`](crate::ConnectionStats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PacerStats {
    /// Packets waiting now.
    pub queued_packets: u64,
    /// Packets sent, padding included.
    pub packets_sent: u64,
    /// Packets dropped because the queue was full (an application writing
    /// far above the estimate).
    pub packets_dropped: u64,
    /// Padding-only packets sent for probes.
    pub padding_packets_sent: u64,
    /// Padding bytes asked for by probes (what was charged to the budget).
    pub padding_bytes_sent: u64,
    /// Data-channel bytes charged to the budget.
    pub data_bytes_charged: u64,
    /// Probe requests dropped (too many waiting).
    pub probes_dropped: u64,
    /// Packets released that could not be sent (no selected pair or SRTP
    /// refused them at that moment), padding included.
    pub send_failures: u64,
    /// The pacing rate, bit/s (0 before the first paced packet).
    pub pacing_bitrate: u64,
}

/// Where padding goes and what its header carries.
struct PaddingStream {
    sender: usize,
    rtx_pt: u8,
    mid_id: Option<u8>,
    mid: String,
    repaired_rid: Option<(u8, std::sync::Arc<str>)>,
    transport_cc: u8,
}

/// A packet waiting in the pacer: its plaintext RTP bytes and where its
/// transport-wide sequence number goes.
#[derive(Debug)]
pub(crate) struct Waiting {
    packet: Vec<u8>,
    transport_cc: u8,
    /// Kept for RTX when it leaves (RFC 4588: the history's age counts
    /// from the send, not the write).
    keep: bool,
}

/// The pacer and what waits in it.
#[derive(Debug)]
pub(crate) struct Pacing {
    pacer: Pacer,
    waiting: BTreeMap<u64, Waiting>,
    next_id: u64,
    padding_packets: u64,
    send_failures: u64,
}

impl Pacing {
    fn new(now: std::time::Instant, target_bps: u64) -> Self {
        let config = PacerConfig {
            padding_size: PADDING_PACKET,
            ..PacerConfig::default()
        };
        Self {
            pacer: Pacer::new(config, now, target_bps),
            waiting: BTreeMap::new(),
            next_id: 0,
            padding_packets: 0,
            send_failures: 0,
        }
    }

    pub(crate) fn stats(&self) -> PacerStats {
        let c = self.pacer.counters();
        PacerStats {
            queued_packets: self.waiting.len() as u64,
            packets_sent: c.sent,
            packets_dropped: c.dropped,
            padding_packets_sent: self.padding_packets,
            padding_bytes_sent: c.padding_bytes,
            data_bytes_charged: c.data_bytes,
            probes_dropped: c.probes_dropped,
            send_failures: self.send_failures,
            pacing_bitrate: self.pacer.pacing_bps(),
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<std::time::Instant> {
        self.pacer.poll_timeout()
    }

    pub(crate) fn set_target(&mut self, now: std::time::Instant, bps: u64) {
        self.pacer.set_target(now, bps);
    }

    pub(crate) fn on_data_sent(&mut self, now: std::time::Instant, bytes: usize) {
        self.pacer.on_data_sent(now, bytes);
    }
}

impl PeerConnection {
    /// Sends a plaintext RTP packet: through the pacer if `transport_cc`
    /// (the id of its transport-wide sequence number extension, which
    /// holds a placeholder) is given and
    /// [`Configuration::pacing`](crate::Configuration::pacing) is on; with
    /// its number written now if pacing is off; as it is without the
    /// extension.
    /// `keep`: the sender keeps it for RTX when it leaves.
    pub(crate) fn send_rtp_out(
        &mut self,
        packet: Vec<u8>,
        transport_cc: Option<u8>,
        kind: PacketKind,
        keep: bool,
    ) -> Result<(), MediaSendError> {
        match transport_cc {
            Some(id) if self.config.pacing => self.enqueue_paced(packet, id, kind, keep),
            Some(transport_cc) => {
                if self.stack.srtp_mut().is_none() {
                    return Err(MediaSendError::NotConnected);
                }
                let w = Waiting {
                    packet,
                    transport_cc,
                    keep,
                };
                self.send_stamped(w, kind, None)
            }
            None => {
                if keep {
                    self.keep_for_rtx(&packet);
                }
                self.stack.send_srtp(true, packet)
            }
        }
    }

    /// Queues a plaintext RTP packet whose extension `transport_cc` will
    /// carry the transport-wide sequence number, then sends what the pacer
    /// lets go now. `Err` only if the connection has no SRTP keys yet (what
    /// fails later, at release, is counted in [`PacerStats::send_failures`]).
    fn enqueue_paced(
        &mut self,
        packet: Vec<u8>,
        transport_cc: u8,
        kind: PacketKind,
        keep: bool,
    ) -> Result<(), MediaSendError> {
        if self.stack.srtp_mut().is_none() {
            return Err(MediaSendError::NotConnected);
        }
        let now = self.now;
        let bwe = self.bwe_mut();
        let target = bwe.target_bitrate();
        let pacing = bwe
            .pacing
            .get_or_insert_with(|| Box::new(Pacing::new(now, target)));
        let id = pacing.next_id;
        pacing.next_id += 1;
        let size = packet.len() + SRTP_ROOM;
        let queued = QueuedPacket { id, kind, size };
        match pacing.pacer.enqueue_evicting(now, queued) {
            Enqueued::Queued => {}
            Enqueued::Evicted(old) => {
                pacing.waiting.remove(&old.id);
            }
            Enqueued::Dropped => {
                tracing::debug!(size, ?kind, "pacer queue full: packet dropped");
                return Ok(());
            }
        }
        pacing.waiting.insert(
            id,
            Waiting {
                packet,
                transport_cc,
                keep,
            },
        );
        self.pace();
        Ok(())
    }

    /// Sends what the pacer releases now, passes the estimator's probe
    /// requests to it, and re-arms the media timer for its next release.
    pub(crate) fn pace(&mut self) {
        if self.media.bwe.as_ref().is_some_and(|b| b.pacing.is_some()) {
            self.release_paced();
            // Only ever earlier: a later pacer deadline waits for the
            // armed one, whose handler re-arms from every source (no scan
            // of all streams per packet written).
            let next = self
                .media
                .bwe
                .as_ref()
                .and_then(|b| b.pacing.as_ref())
                .and_then(|p| p.poll_timeout());
            if let Some(at) = next {
                if self.timers.get(Timer::Media).is_none_or(|armed| at < armed) {
                    self.timers.set_opt(Timer::Media, Some(at));
                }
            }
        }
    }

    fn release_paced(&mut self) {
        let now = self.now;
        for _ in 0..MAX_RELEASE_BURST {
            let Some(bwe) = self.media.bwe.as_mut() else {
                return;
            };
            let Some(pacing) = bwe.pacing.as_mut() else {
                return;
            };
            while let Some(bps) = bwe.estimator.poll_probe() {
                pacing.pacer.request_probe(now, bps);
            }
            let Some(paced) = pacing.pacer.poll_send(now) else {
                return;
            };
            match paced {
                PacedPacket::Media { packet, probe } => {
                    if let Some(w) = pacing.waiting.remove(&packet.id) {
                        if let Err(e) = self.send_stamped(w, packet.kind, probe) {
                            tracing::debug!(%e, "paced packet not sent");
                            self.count_send_failure();
                        }
                    }
                }
                PacedPacket::Padding { probe, .. } => self.send_padding(probe),
            }
        }
    }

    /// Gives a packet its transport-wide sequence number, tells the
    /// estimator, protects and sends it.
    fn send_stamped(
        &mut self,
        mut w: Waiting,
        kind: PacketKind,
        probe: Option<ProbeId>,
    ) -> Result<(), MediaSendError> {
        let now = self.now;
        let bwe = self.bwe_mut();
        // draft-holmer-rmcat-transport-wide-cc-extensions-01 §2: "a
        // transport-wide sequence number ... incremented by one for each
        // packet", in the order packets leave.
        let seq = bwe.take_transport_seq();
        if crate::rtp::ext::overwrite_extension(&mut w.packet, w.transport_cc, &seq.to_be_bytes()) {
            let size = w.packet.len() + SRTP_ROOM;
            match probe {
                Some(p) => bwe.estimator.on_probe_packet_sent(now, seq, size, kind, p),
                None => bwe.estimator.on_packet_sent(now, seq, size, kind),
            }
        }
        if w.keep {
            self.keep_for_rtx(&w.packet);
        }
        self.stack.send_srtp(true, w.packet)
    }

    /// Stores a packet that leaves now in its sender's RTX history.
    fn keep_for_rtx(&mut self, packet: &[u8]) {
        let Some(ssrc) = packet.get(8..12) else {
            return;
        };
        let ssrc = u32::from_be_bytes([ssrc[0], ssrc[1], ssrc[2], ssrc[3]]);
        let now = self.now;
        if let Some(s) = self.media.senders.iter_mut().find(|s| s.ssrc == ssrc) {
            s.history
                .get_or_insert_with(super::media_rtcp::new_history)
                .insert(now, packet);
        }
    }

    /// A padding-only packet for probe cluster `probe` on the first video
    /// sender with an RTX stream and transport-wide feedback; nothing if
    /// there is none.
    fn send_padding(&mut self, probe: ProbeId) {
        let Some(pad) = self.padding_stream() else {
            return;
        };
        let i = pad.sender;
        let s = &mut self.media.senders[i];
        let sequence = s.rtx_sequence;
        s.rtx_sequence = s.rtx_sequence.wrapping_add(1);
        let timestamp = s
            .stats
            .as_ref()
            .and_then(|st| st.last_sent())
            .map_or(0, |(ts, _)| ts);
        let ssrc = s.rtx_ssrc;
        let placeholder = [0u8; 2];
        let mut ext: smallvec::SmallVec<[(u8, &[u8]); 3]> = smallvec::SmallVec::new();
        if let Some(id) = pad.mid_id {
            ext.push((id, pad.mid.as_bytes()));
        }
        // RFC 8852 §3.2: a simulcast stream's RTX packets carry its RID as
        // RepairedRtpStreamId (the receiver ties the RTX SSRC to it).
        if let Some((id, rid)) = &pad.repaired_rid {
            ext.push((*id, rid.as_bytes()));
        }
        ext.push((pad.transport_cc, &placeholder));
        let header = RtpHeader {
            marker: false,
            payload_type: pad.rtx_pt,
            sequence,
            timestamp,
            ssrc,
            csrc: &[],
            extensions: &ext,
        };
        // Room for any header: a remote's mid and a RID make it longer
        // than `PADDING_PACKET` assumes.
        let mut buf = vec![0u8; super::rtp_handles::MAX_SRTP_PACKET - SRTP_ROOM];
        let Ok(len) = header.write(&[], PADDING, &mut buf) else {
            self.count_send_failure();
            return;
        };
        buf.truncate(len);
        let w = Waiting {
            packet: buf,
            transport_cc: pad.transport_cc,
            keep: false,
        };
        match self.send_stamped(w, PacketKind::Padding, Some(probe)) {
            Ok(()) => {
                if let Some(p) = self.media.bwe.as_mut().and_then(|b| b.pacing.as_mut()) {
                    p.padding_packets += 1;
                }
            }
            Err(e) => {
                tracing::debug!(%e, "probe padding not sent");
                self.count_send_failure();
            }
        }
    }

    fn count_send_failure(&mut self) {
        if let Some(p) = self.media.bwe.as_mut().and_then(|b| b.pacing.as_mut()) {
            p.send_failures += 1;
        }
    }

    /// The RTX stream that carries padding: the first sending video
    /// encoding's that negotiated RTX and transport-wide feedback.
    fn padding_stream(&self) -> Option<PaddingStream> {
        self.media.senders.iter().enumerate().find_map(|(i, s)| {
            let n = self.media.section(s.transceiver)?;
            if n.kind != crate::sdp::MediaKind::Video || !n.direction.sends() {
                return None;
            }
            let repaired_rid = match &s.rid {
                // A simulcast encoding: only one the answer kept, and only
                // with the RID on its packets.
                Some(rid) if n.send_rids.contains(rid) => {
                    Some((n.send_ext.repaired_rid?, rid.clone()))
                }
                Some(_) => return None,
                None if s.layer == 0 => None,
                None => return None,
            };
            Some(PaddingStream {
                sender: i,
                rtx_pt: n.codecs.iter().find_map(|c| c.rtx_payload_type)?,
                mid_id: n.send_ext.mid,
                mid: n.mid.clone(),
                repaired_rid,
                transport_cc: n.send_ext.transport_cc?,
            })
        })
    }

    /// SCTP sent `bytes`: they spend the pacer's budget and count against
    /// application-limited detection.
    pub(crate) fn on_data_sent(&mut self, bytes: usize) {
        let now = self.now;
        if let Some(bwe) = self.media.bwe.as_mut() {
            bwe.estimator.on_data_sent(now, bytes);
            if let Some(p) = bwe.pacing.as_mut() {
                p.on_data_sent(now, bytes);
            }
        }
    }

    /// What the pacer did (zero before it was needed).
    pub(crate) fn pacer_stats(&self) -> PacerStats {
        self.media
            .bwe
            .as_ref()
            .and_then(|b| b.pacing.as_ref())
            .map(|p| p.stats())
            .unwrap_or_default()
    }
}
