//! RTCP of a connection's media: what arrives (sender reports for the
//! receivers' LSR, report blocks for the round-trip time, NACKs answered
//! with RTX from the senders' history, PLI/FIR as keyframe-request events)
//! and what is sent (NACKs as gaps appear, and SR/RR compound packets on the
//! RFC 3550 §6.3 schedule), all on the media timer.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::media::KeyframeRequestKind;
use super::transceiver::TransceiverId;
use crate::bwe::PacketKind;
use crate::event::Event;
use crate::media::history::{HistoryConfig, PacketHistory};
use crate::media::rtcp_interval::{RtcpIntervalConfig, RtcpScheduler};
use crate::peer::PeerConnection;
use crate::rtp::rtcp::{ReceiverReport, ReportBlock, Sdes, SenderReport};
use crate::rtp::{RtcpCompound, RtcpPacket};
use crate::sdp::MediaKind;
use crate::stats::Dropped;
use crate::timer::Timer;

/// RFC 3550 §6.5.1: the SDES item type of the CNAME.
pub(crate) const SDES_CNAME: u8 = 1;
/// RFC 3550 §6.4.1: "the number of reception report blocks contained in
/// this packet" is 5 bits.
const MAX_REPORT_BLOCKS: usize = 31;
/// The room an RTCP packet is written into (an SR with 31 blocks is 812
/// bytes, with SDES well under 1,200).
const RTCP_BUFFER: usize = 1200;
/// Room for the SRTCP tag and index beyond the packet.
const SRTCP_ROOM: usize = 20;
/// RFC 3550 §6.2: the session bandwidth assumed when SDP gives none — a
/// video call's (with the reduced minimum interval), else an audio call's.
const VIDEO_SESSION_BPS: u64 = 2_000_000;
const AUDIO_SESSION_BPS: u64 = 64_000;
/// RFC 3550 §6.3.2: the probable size of the first compound packet (an SR
/// with a block and an SDES CNAME).
const INITIAL_RTCP_SIZE: usize = 100;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// A wall-clock time as a 64-bit NTP timestamp (RFC 3550 §4: seconds since
/// 1900 in the high 32 bits, the fraction in the low).
pub(crate) fn ntp_time(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs().wrapping_add(NTP_UNIX_OFFSET);
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

impl PeerConnection {
    /// Starts the RTCP schedule once media is negotiated.
    pub(crate) fn start_rtcp(&mut self) {
        if self.media.rtcp.is_some() || self.media.sections.is_empty() {
            return;
        }
        let video = self
            .media
            .sections
            .iter()
            .any(|(_, n)| n.kind == MediaKind::Video);
        let config = RtcpIntervalConfig {
            session_bandwidth_bps: if video {
                VIDEO_SESSION_BPS
            } else {
                AUDIO_SESSION_BPS
            },
            // RFC 3550 §6.2: the reduced minimum "is RECOMMENDED" for
            // sessions that need timely feedback; video does.
            reduced_minimum: video,
        };
        let now = self.now;
        self.media.rtcp = Some(RtcpScheduler::new(
            now,
            config,
            INITIAL_RTCP_SIZE,
            &mut self.rng,
        ));
        self.arm_media_timer();
    }

    /// Arms the media timer at the earliest of the next RTCP report, every
    /// receive stream's next NACK and every sender's DTMF step.
    pub(crate) fn arm_media_timer(&mut self) {
        let nack = self
            .media
            .receivers
            .iter()
            .flat_map(|r| &r.streams)
            .filter_map(|s| s.nack.as_ref()?.next_timeout())
            .min();
        let report = self.media.rtcp.as_ref().map(RtcpScheduler::next_due);
        let dtmf = self
            .media
            .senders
            .iter()
            .filter_map(|s| s.dtmf.next_timeout())
            .min();
        let feedback = self.bwe_timeout();
        let frames = self
            .media
            .receivers
            .iter()
            .filter_map(|r| r.frames.as_ref()?.next_timeout())
            .min();
        let next = [nack, report, dtmf, feedback, frames]
            .into_iter()
            .flatten()
            .min();
        self.timers.set_opt(Timer::Media, next);
    }

    /// The media timer fired: DTMF playout and NACKs that are due, then
    /// the RTCP report if its time came.
    pub(crate) fn on_media_timeout(&mut self) {
        let now = self.now;
        self.pace();
        self.play_dtmf(now);
        self.send_nacks(now);
        self.send_transport_feedback(now);
        self.release_all_frames();
        let due = match self.media.rtcp.as_mut() {
            Some(s) => s.poll(now, &mut self.rng),
            None => false,
        };
        if due {
            self.send_reports(now);
        }
        self.arm_media_timer();
    }

    /// Sends a NACK for each stream with requests due (RFC 4585 §6.2.1).
    fn send_nacks(&mut self, now: Instant) {
        let mut out: smallvec::SmallVec<[(bool, Vec<u8>); 2]> = smallvec::SmallVec::new();
        for r in &mut self.media.receivers {
            let Some((_, n)) = self
                .media
                .sections
                .iter()
                .find(|(t, _)| *t == r.transceiver)
            else {
                continue;
            };
            let sender_ssrc = self
                .jsep
                .n
                .transceivers
                .iter()
                .find(|t| t.id == r.transceiver)
                .map_or(0, |t| t.ssrc);
            for s in &mut r.streams {
                let Some(g) = s.nack.as_mut() else {
                    continue;
                };
                let mut buf = vec![0u8; RTCP_BUFFER];
                if let Some(Ok(len)) = g.poll(now, sender_ssrc, s.stats.ssrc(), &mut buf) {
                    buf.truncate(len);
                    out.push((n.rtcp_rsize, buf));
                }
            }
        }
        for (rsize, nack) in out {
            let _ = self.send_rtcp_feedback(rsize, &nack);
        }
    }

    /// Sends `feedback` in an RTCP packet: alone where reduced size was
    /// negotiated (RFC 5506), else after an empty RR and the CNAME (RFC
    /// 3550 §6.1: a compound packet starts with a report).
    pub(crate) fn send_rtcp_feedback(
        &mut self,
        rsize: bool,
        feedback: &[u8],
    ) -> Result<(), crate::error::MediaSendError> {
        let mut buf = Vec::with_capacity(feedback.len() + 64 + SRTCP_ROOM);
        if !rsize {
            let ssrc = self.rtcp_ssrc();
            let mut head = [0u8; 64];
            let mut len = ReceiverReport::write(ssrc, &[], &mut head).unwrap_or(0);
            let cname = self.jsep.cname.as_bytes();
            len += Sdes::write(&[(ssrc, &[(SDES_CNAME, cname)])], &mut head[len..]).unwrap_or(0);
            buf.extend_from_slice(&head[..len]);
        }
        buf.extend_from_slice(feedback);
        self.stack.send_srtp(false, buf)
    }

    /// The SSRC our RTCP reports come from: the first transceiver's.
    pub(crate) fn rtcp_ssrc(&self) -> u32 {
        self.jsep.n.transceivers.first().map_or(0, |t| t.ssrc)
    }

    /// Sends the RFC 3550 compound report: an SR for each sender that has
    /// sent (the first carrying the report blocks of every received stream),
    /// or an RR when none has, then the SDES CNAME.
    fn send_reports(&mut self, now: Instant) {
        let ntp = ntp_time(self.wall_clock_at(now));
        let blocks: Vec<ReportBlock> = self
            .media
            .receivers
            .iter_mut()
            .flat_map(|r| r.streams.iter_mut())
            .filter_map(|s| s.stats.report_block(now))
            .take(MAX_REPORT_BLOCKS)
            .collect();
        let mut buf = vec![0u8; RTCP_BUFFER];
        let mut len = 0;
        let mut reporter = None;
        let mut senders = 0;
        for s in &mut self.media.senders {
            let Some(stats) = s.stats.as_mut() else {
                continue;
            };
            let Some(info) = stats.sender_info(now, ntp) else {
                continue;
            };
            let mine: &[ReportBlock] = if reporter.is_none() { &blocks } else { &[] };
            match SenderReport::write(stats.ssrc(), &info, mine, &mut buf[len..]) {
                Ok(n) => {
                    len += n;
                    senders += 1;
                    reporter.get_or_insert(stats.ssrc());
                }
                Err(_) => break,
            }
        }
        let ssrc = match reporter {
            Some(ssrc) => ssrc,
            None => {
                let ssrc = self.rtcp_ssrc();
                len += ReceiverReport::write(ssrc, &blocks, &mut buf).unwrap_or(0);
                ssrc
            }
        };
        let cname = self.jsep.cname.as_bytes();
        len += Sdes::write(&[(ssrc, &[(SDES_CNAME, cname)])], &mut buf[len..]).unwrap_or(0);
        buf.truncate(len);
        buf.reserve(SRTCP_ROOM);
        if let Some(s) = self.media.rtcp.as_mut() {
            s.set_members(2, senders + 1, senders > 0);
            s.on_sent(now, len, &mut self.rng);
        }
        if let Err(e) = self.stack.send_srtp(false, buf) {
            tracing::debug!(%e, "RTCP report not sent");
        }
    }

    /// An SRTCP-unprotected RTCP compound packet from the selected pair.
    pub(crate) fn on_rtcp(&mut self, data: Vec<u8>) {
        let now = self.now;
        // RFC 5506 §3.4.2: reduced-size packets are accepted once
        // negotiated; browsers always offer it, so accept them always.
        let Ok(compound) = RtcpCompound::parse(&data, true) else {
            self.stack.counters.count_drop(Dropped::MediaMalformed);
            return;
        };
        if let Some(s) = self.media.rtcp.as_mut() {
            s.on_received(data.len());
        }
        let ntp = ntp_time(self.wall_clock_at(now));
        let mut requests: smallvec::SmallVec<[(TransceiverId, usize, KeyframeRequestKind); 2]> =
            smallvec::SmallVec::new();
        for packet in compound.packets() {
            match packet {
                RtcpPacket::SenderReport(sr) => {
                    self.on_sender_report(now, sr.ssrc, sr.info);
                    sr.report_blocks()
                        .for_each(|b| self.on_report_block(&b, ntp));
                }
                RtcpPacket::ReceiverReport(rr) => {
                    rr.report_blocks()
                        .for_each(|b| self.on_report_block(&b, ntp));
                }
                RtcpPacket::Nack(nack) => {
                    let Some((t, i)) = self.media.sender_of_ssrc(nack.media_ssrc) else {
                        continue;
                    };
                    if let Some(s) = self.media.senders.get_mut(i) {
                        s.nacks_received += 1;
                    }
                    for seq in nack.sequences() {
                        self.resend(now, t, i, seq);
                    }
                }
                RtcpPacket::Pli(pli) => {
                    if let Some((t, i)) = self.media.sender_of_ssrc(pli.media_ssrc) {
                        requests.push((t, i, KeyframeRequestKind::Pli));
                    }
                }
                RtcpPacket::TransportCc(fb) => self.on_transport_feedback(&fb),
                RtcpPacket::Remb(remb) => self.on_remb(remb.bitrate),
                RtcpPacket::Fir(fir) => {
                    for e in fir.entries() {
                        if let Some((t, i)) = self.media.sender_of_ssrc(e.ssrc) {
                            requests.push((t, i, KeyframeRequestKind::Fir));
                        }
                    }
                }
                _ => {}
            }
        }
        for (transceiver, i, kind) in requests {
            let Some(s) = self.media.senders.get_mut(i) else {
                continue;
            };
            match kind {
                KeyframeRequestKind::Pli => s.plis_received += 1,
                KeyframeRequestKind::Fir => s.firs_received += 1,
            }
            let rid = s.rid.as_deref().map(str::to_owned);
            // Coalesced in the queue: one pending request per encoding.
            self.events.push(Event::KeyframeRequest {
                transceiver,
                kind,
                rid,
            });
        }
    }

    /// An SR from `ssrc`: its receive stream notes the time for LSR/DLSR
    /// (and the sender's counts, for remote-outbound-rtp stats).
    fn on_sender_report(&mut self, now: Instant, ssrc: u32, info: crate::rtp::rtcp::SenderInfo) {
        let stream = self
            .media
            .receivers
            .iter_mut()
            .flat_map(|r| r.streams.iter_mut())
            .find(|s| s.stats.ssrc() == ssrc);
        if let Some(s) = stream {
            s.stats.on_sender_report(now, info.ntp_time);
            s.sender_report = Some((info, now));
            s.sender_reports += 1;
        }
    }

    /// A report block about one of our senders: the RTT it measures (RFC
    /// 3550 §6.4.1) paces NACK retries.
    fn on_report_block(&mut self, block: &ReportBlock, ntp_arrival: u64) {
        let Some(stats) = self
            .media
            .senders
            .iter_mut()
            .filter_map(|s| s.stats.as_mut())
            .find(|s| s.ssrc() == block.ssrc)
        else {
            return;
        };
        if stats.on_report_block(block, ntp_arrival).is_none() {
            return;
        }
        let Some(rtt) = stats.smoothed_rtt() else {
            return;
        };
        self.media.rtt = Some(rtt);
        self.bwe_rtt(rtt);
        for s in self
            .media
            .receivers
            .iter_mut()
            .flat_map(|r| r.streams.iter_mut())
        {
            if let Some(g) = s.nack.as_mut() {
                g.set_rtt(rtt);
            }
        }
    }

    /// Answers a NACK of packet `seq` of transceiver `t`'s sender with an
    /// RFC 4588 retransmission from the history (its limits keep a NACK
    /// storm from amplifying: one resend per packet per half RTT, and a
    /// byte budget).
    fn resend(&mut self, now: Instant, t: TransceiverId, i: usize, seq: u16) {
        let Some(n) = self.media.section(t) else {
            return;
        };
        // RFC 4588 §8.1: each codec has its own RTX payload type.
        let apt: smallvec::SmallVec<[(u8, u8); 8]> = n
            .codecs
            .iter()
            .filter_map(|c| c.rtx_payload_type.map(|r| (c.payload_type, r)))
            .collect();
        if apt.is_empty() {
            return;
        }
        let (rid_id, repaired_id) = (n.send_ext.rid, n.send_ext.repaired_rid);
        let rtt = self.media.rtt.unwrap_or_default();
        let Some(s) = self.media.senders.get_mut(i) else {
            return;
        };
        let rtx_ssrc = s.rtx_ssrc;
        let Some(history) = s.history.as_mut() else {
            return;
        };
        let mut out = Vec::with_capacity(1500);
        // The stored packet's own payload type picks its RTX type.
        let original_pt = history
            .get(now, seq)
            .and_then(|p| p.get(1))
            .map(|b| b & 0x7F);
        let Some(rtx_pt) = original_pt
            .and_then(|pt| apt.iter().find(|(p, _)| *p == pt))
            .map(|(_, r)| *r)
        else {
            return;
        };
        let rtx_seq = s.rtx_sequence;
        match history.resend_rtx(now, seq, rtt, rtx_ssrc, rtx_pt, rtx_seq, &mut out) {
            Ok(_) => {
                s.rtx_sequence = s.rtx_sequence.wrapping_add(1);
                // RFC 8852 §3.2: a simulcast stream's repairs carry its RID
                // as RepairedRtpStreamId (the copied header had it as
                // RtpStreamId).
                if let (Some(_), Some(from), Some(to)) = (&s.rid, rid_id, repaired_id) {
                    crate::rtp::ext::retag_extension(&mut out, from, to);
                }
                // draft-holmer-rmcat-transport-wide-cc-extensions-01: a
                // retransmission is a packet of its own on the transport,
                // with the next transport-wide sequence number (the copied
                // header had the original's).
                // It waits in the pacer, ahead of video, which writes the
                // number when it leaves.
                let twcc = self.transport_cc_id(t);
                if let Err(e) = self.send_rtp_out(out, twcc, PacketKind::Retransmission, false) {
                    tracing::debug!(%e, "RTX not sent");
                }
            }
            Err(e) => tracing::trace!(seq, %e, "NACKed packet not resent"),
        }
    }
}

/// The history a sender keeps when its m-section negotiated RTX.
pub(crate) fn new_history() -> PacketHistory {
    PacketHistory::new(HistoryConfig::default())
}
