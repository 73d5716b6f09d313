//! The media path of a connection (ARCHITECTURE.md §3): what each
//! transceiver negotiated, RTP routed to its receiver (RFC 8843 §9.2), RTX
//! undone (RFC 4588), RTCP feedback turned into events, and the W3C `track`
//! event. The sending side and the API handles are in `rtp_handles.rs`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::media_params::NegotiatedMedia;
use super::rtp_types::{AudioLevel, Fixed, MediaStreamTrack, RtpPacketReceived};
use super::transceiver::TransceiverId;
use crate::event::Event;
use crate::peer::PeerConnection;
use crate::rtp::hdrext::SsrcAudioLevel;
use crate::rtp::{RtcpCompound, RtcpPacket, RtpPacket};
use crate::sdp::MediaDescription;
use crate::stats::Dropped;

/// Most remote SSRCs learned from packets (RFC 8843 §9.2 "the RTP
/// packet's SSRC ... associated with the m= section"); packets of further
/// unknown SSRCs are still routed by mid or payload type, not learned.
pub(crate) const MAX_LEARNED_SSRCS: usize = 64;
/// Most media SSRCs one receiver keeps (simulcast layers and SSRC changes).
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
    /// RFC 5104 §4.3.1.1: the FIR command sequence number, "increased by 1
    /// for each new command".
    pub(crate) fir_sequence: u8,
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
    /// `None` after `replace_track(None)`: nothing is sent.
    pub(crate) track: Option<MediaStreamTrack>,
    pub(crate) active: bool,
    pub(crate) max_bitrate: Option<u32>,
    pub(crate) packets_sent: u64,
    pub(crate) octets_sent: u64,
}

/// All media state of a connection.
#[derive(Debug, Default)]
pub(crate) struct Media {
    /// What each negotiated transceiver agreed, in m-line order.
    pub(crate) sections: Vec<(TransceiverId, NegotiatedMedia)>,
    pub(crate) receivers: Vec<ReceiverState>,
    pub(crate) senders: Vec<SenderState>,
    /// Remote SSRC → transceiver, learned (bounded).
    routes: BTreeMap<u32, TransceiverId>,
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

    pub(crate) fn sender_mut(&mut self, id: TransceiverId) -> Option<&mut SenderState> {
        self.senders.iter_mut().find(|s| s.transceiver == id)
    }

    pub(crate) fn sender(&self, id: TransceiverId) -> Option<&SenderState> {
        self.senders.iter().find(|s| s.transceiver == id)
    }

    /// RFC 8843 §9.2: which m-section a packet belongs to — by the mid
    /// header extension, then an SSRC signaled or learned, then a payload
    /// type only one m-section uses.
    fn route(&mut self, p: &RtpPacket<'_>) -> Option<TransceiverId> {
        // "If the RTP packet contains a MID header extension, the
        // m= section is the one whose mid matches" (and the SSRC is bound).
        let by_mid = self.sections.iter().find_map(|(t, n)| {
            let id = n.recv_ext.mid?;
            (p.extension(id)? == n.mid.as_bytes()).then_some(*t)
        });
        if let Some(t) = by_mid {
            self.learn(p.ssrc, t);
            return Some(t);
        }
        if let Some(&t) = self.routes.get(&p.ssrc) {
            return Some(t);
        }
        // "Otherwise, if the SSRC ... is signaled in an a=ssrc line".
        let signaled = self.sections.iter().find_map(|(t, n)| {
            n.remote
                .ssrcs
                .iter()
                .any(|&(m, rtx)| m == p.ssrc || rtx == Some(p.ssrc))
                .then_some(*t)
        });
        // "Otherwise, if the payload type is unique to one m= section".
        let by_pt = || {
            let mut owners = self.sections.iter().filter(|(_, n)| {
                n.codec(p.payload_type).is_some() || n.codec_of_rtx(p.payload_type).is_some()
            });
            let first = owners.next().map(|(t, _)| *t);
            if owners.next().is_some() {
                None
            } else {
                first
            }
        };
        let t = signaled.or_else(by_pt)?;
        self.learn(p.ssrc, t);
        Some(t)
    }

    fn learn(&mut self, ssrc: u32, t: TransceiverId) {
        if self.routes.len() < MAX_LEARNED_SSRCS || self.routes.contains_key(&ssrc) {
            self.routes.insert(ssrc, t);
        }
    }

    /// The next FIR sequence number of receiver `id`.
    pub(crate) fn next_fir_sequence(&mut self, id: TransceiverId) -> u8 {
        self.receiver_mut(id).map_or(0, |r| {
            r.fir_sequence = r.fir_sequence.wrapping_add(1);
            r.fir_sequence
        })
    }

    /// The sender whose SSRC (or RTX SSRC) is `ssrc`.
    pub(crate) fn sender_of_ssrc(
        &self,
        ssrc: u32,
        transceivers: &[super::transceiver::Transceiver],
    ) -> Option<TransceiverId> {
        transceivers
            .iter()
            .find(|t| t.ssrc == ssrc || t.rtx_ssrc == ssrc)
            .map(|t| t.id)
            .filter(|id| self.section(*id).is_some())
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

/// RFC 4588 §4: an RTX packet's payload starts with the original sequence
/// number (OSN). Rewrites `data` in place into the packet it repairs:
/// payload type `pt`, sequence number OSN, SSRC `ssrc`, payload without
/// the OSN. `None` if the payload has no OSN (padding-only probes).
fn undo_rtx(data: &mut Vec<u8>, header_len: usize, pt: u8, ssrc: u32) -> Option<()> {
    let osn = data.get(header_len..header_len + 2)?.to_vec();
    data[1] = (data[1] & 0x80) | (pt & 0x7F);
    data[2..4].copy_from_slice(&osn);
    data[8..12].copy_from_slice(&ssrc.to_be_bytes());
    data.drain(header_len..header_len + 2);
    Some(())
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
            a?.sdp.media_by_mid(mid).map(|(_, m)| m.clone())
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
        self.media.routes.retain(|_, t| alive.contains(t));
        self.ensure_media_states();
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
            let (id, kind, track_id) = {
                let t = &self.jsep.n.transceivers[i];
                (t.id, t.kind, t.track_id.clone())
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
                    ssrcs: Vec::new(),
                    sources: Vec::new(),
                    fir_sequence: 0,
                });
            }
            if self.media.sender(id).is_none() {
                self.media.senders.push(SenderState {
                    transceiver: id,
                    track: Some(MediaStreamTrack {
                        id: track_id,
                        kind,
                        stream_ids: Vec::new(),
                    }),
                    active: true,
                    max_bitrate: None,
                    packets_sent: 0,
                    octets_sent: 0,
                });
            }
        }
    }

    /// An SRTP-unprotected RTP packet from the selected pair.
    pub(crate) fn on_rtp(&mut self, mut data: Vec<u8>) {
        let now = self.now;
        let Ok(p) = RtpPacket::parse(&data) else {
            self.stack.counters.count_drop(Dropped::MediaMalformed);
            return;
        };
        let Some(t) = self.media.route(&p) else {
            self.stack.counters.count_drop(Dropped::MediaUnrouted);
            return;
        };
        let (pt, ssrc, header_len) = (p.payload_type, p.ssrc, p.header_len);
        let Some(n) = self.media.section(t) else {
            self.stack.counters.count_drop(Dropped::MediaUnrouted);
            return;
        };
        if !n.direction.receives() {
            self.stack.counters.count_drop(Dropped::MediaNotReceiving);
            return;
        }
        let rtx_codec = n.codec_of_rtx(pt).map(|c| c.payload_type);
        if rtx_codec.is_none() && n.codec(pt).is_none() {
            self.stack.counters.count_drop(Dropped::MediaUnrouted);
            return;
        }
        let (rid_id, level_id) = (n.recv_ext.rid, n.recv_ext.audio_level);
        let mut repaired = false;
        if let Some(media_pt) = rtx_codec {
            let Some(r) = self.media.receiver(t) else {
                return;
            };
            let Some(media_ssrc) = repaired_ssrc(n, r, ssrc) else {
                self.stack.counters.count_drop(Dropped::MediaUnrouted);
                return;
            };
            if undo_rtx(&mut data, header_len, media_pt, media_ssrc).is_none() {
                // An RTX packet with no OSN is padding (a bandwidth probe).
                return;
            }
            repaired = true;
        }
        let Ok(p) = RtpPacket::parse(&data) else {
            self.stack.counters.count_drop(Dropped::MediaMalformed);
            return;
        };
        let audio_level = level_id
            .and_then(|id| p.extension(id))
            .and_then(|v| SsrcAudioLevel::parse(v).ok())
            .map(|l| AudioLevel {
                voice: l.voice,
                level: l.level,
            });
        let csrcs: smallvec::SmallVec<[u32; 4]> = p.csrcs().collect();
        let fixed = Fixed::of(&p);
        let Some(packet) = RtpPacketReceived::new(data, fixed, rid_id, audio_level, repaired, now)
        else {
            self.stack.counters.count_drop(Dropped::MediaMalformed);
            return;
        };
        self.note_sources(t, &packet, &csrcs);
        if self.events.has_room() {
            self.events.push(Event::RtpPacket {
                transceiver: t,
                packet,
            });
        } else {
            self.stack.counters.count_drop(Dropped::MediaQueueFull);
        }
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

    /// An SRTCP-unprotected RTCP compound packet from the selected pair:
    /// keyframe requests for our senders become events.
    pub(crate) fn on_rtcp(&mut self, data: Vec<u8>) {
        // RFC 5506 §3.4.2: reduced-size packets are accepted once
        // negotiated; browsers always offer it, so accept them always.
        let Ok(compound) = RtcpCompound::parse(&data, true) else {
            self.stack.counters.count_drop(Dropped::MediaMalformed);
            return;
        };
        let mut requests: smallvec::SmallVec<[(TransceiverId, KeyframeRequestKind); 2]> =
            smallvec::SmallVec::new();
        for packet in compound.packets() {
            match packet {
                RtcpPacket::Pli(pli) => {
                    if let Some(t) = self
                        .media
                        .sender_of_ssrc(pli.media_ssrc, &self.jsep.n.transceivers)
                    {
                        requests.push((t, KeyframeRequestKind::Pli));
                    }
                }
                RtcpPacket::Fir(fir) => {
                    for e in fir.entries() {
                        if let Some(t) =
                            self.media.sender_of_ssrc(e.ssrc, &self.jsep.n.transceivers)
                        {
                            requests.push((t, KeyframeRequestKind::Fir));
                        }
                    }
                }
                _ => {}
            }
        }
        for (transceiver, kind) in requests {
            // Coalesced: one pending request per sender is enough.
            self.events
                .push(Event::KeyframeRequest { transceiver, kind });
        }
    }
}
