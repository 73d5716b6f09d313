//! The borrowed handles of a transceiver's sender and receiver (W3C
//! RTCRtpSender, RTCRtpReceiver), and the raw-mode sending path: the
//! application's packet gets the sender's SSRC and the negotiated header
//! extensions, is protected with SRTP and sent on the selected pair.

use super::media::KeyframeRequestKind;
use super::media_params::{ExtensionIds, NegotiatedMedia};
use super::rtp_types::{
    MediaStreamTrack, RtpCodecParameters, RtpContributingSource, RtpEncodingParameters,
    RtpHeaderExtensionParameters, RtpParameters, RtpWrite,
};
use super::transceiver::TransceiverId;
use crate::bwe::PacketKind;
use crate::error::{JsepError, MediaSendError};
use crate::media::send_stats::SendStats;
use crate::peer::PeerConnection;
use crate::rtp::feedback::{Fir, FirEntry, Pli};
use crate::rtp::hdrext;
use crate::rtp::packet::MAX_CSRC;
use crate::rtp::RtpHeader;

/// Room for the SRTP tag and MKI beyond the packet (AES-GCM: 16 bytes;
/// HMAC-SHA1-80: 10).
pub(crate) const SRTP_ROOM: usize = 16;
/// The largest SRTP packet sent: an Ethernet MTU of 1500 less IPv6 and UDP
/// headers. Browsers send RTP packets up to about 1,250 bytes; the
/// connection's `mtu` (which sizes DTLS and SCTP datagrams) is not applied
/// to media, so an SFU can forward what a browser sent.
pub(crate) const MAX_SRTP_PACKET: usize = 1500 - 48;

impl PeerConnection {
    /// The sender of transceiver `id` (W3C `transceiver.sender`).
    pub fn sender(&mut self, id: TransceiverId) -> Option<RtpSender<'_>> {
        self.jsep.transceiver(id)?;
        self.ensure_media_states();
        Some(RtpSender { pc: self, id })
    }

    /// The receiver of transceiver `id` (W3C `transceiver.receiver`).
    pub fn receiver(&mut self, id: TransceiverId) -> Option<RtpReceiver<'_>> {
        self.jsep.transceiver(id)?;
        self.ensure_media_states();
        Some(RtpReceiver { pc: self, id })
    }
}

fn extension_list(ids: &ExtensionIds) -> Vec<RtpHeaderExtensionParameters> {
    [
        (ids.mid, hdrext::MID_URI),
        (ids.rid, hdrext::RID_URI),
        (ids.repaired_rid, hdrext::REPAIRED_RID_URI),
        (ids.abs_send_time, hdrext::ABS_SEND_TIME_URI),
        (ids.transport_cc, hdrext::TRANSPORT_CC_URI),
        (ids.audio_level, hdrext::SSRC_AUDIO_LEVEL_URI),
        (ids.csrc_audio_level, hdrext::CSRC_AUDIO_LEVEL_URI),
        (ids.video_orientation, hdrext::VIDEO_ORIENTATION_URI),
        (ids.playout_delay, hdrext::PLAYOUT_DELAY_URI),
        (ids.abs_capture_time, hdrext::ABS_CAPTURE_TIME_URI),
    ]
    .into_iter()
    .filter_map(|(id, uri)| {
        id.map(|id| RtpHeaderExtensionParameters {
            uri: uri.to_owned(),
            id,
        })
    })
    .collect()
}

fn codec_list(n: &NegotiatedMedia) -> Vec<RtpCodecParameters> {
    n.codecs
        .iter()
        .map(|c| RtpCodecParameters {
            payload_type: c.payload_type,
            mime_type: c.mime_type.clone(),
            clock_rate: c.clock_rate,
            channels: c.channels,
            sdp_fmtp_line: c.fmtp.clone(),
            rtx_payload_type: c.rtx_payload_type,
        })
        .collect()
}

/// A borrowed handle to a transceiver's sender (W3C RTCRtpSender).
#[derive(Debug)]
pub struct RtpSender<'a> {
    pc: &'a mut PeerConnection,
    id: TransceiverId,
}

impl RtpSender<'_> {
    /// The transceiver it belongs to.
    pub fn transceiver_id(&self) -> TransceiverId {
        self.id
    }

    /// The track it sends (W3C `sender.track`); `None` after
    /// `replace_track(None)`. A transceiver eddy creates has a track from
    /// the start, the id its `a=msid` names (eddy has no capture devices:
    /// the application is the source).
    pub fn track(&self) -> Option<MediaStreamTrack> {
        self.pc.media.sender(self.id)?.track.clone()
    }

    /// W3C `replaceTrack`: a track of the same kind, or `None` to stop
    /// sending without renegotiating.
    pub fn replace_track(&mut self, track: Option<MediaStreamTrack>) -> Result<(), JsepError> {
        self.pc.check_open()?;
        let kind = self.pc.jsep.transceiver(self.id).map(|t| t.kind);
        if let Some(t) = &track {
            // W3C: "If withTrack is non-null and withTrack.kind differs from
            // the transceiver kind, return a promise rejected with a TypeError."
            if Some(t.kind) != kind {
                return Err(JsepError::Type(
                    "the track's kind differs from the transceiver's",
                ));
            }
        }
        for s in self.pc.media.encodings_mut(self.id) {
            s.track = track.clone();
        }
        Ok(())
    }

    /// W3C `sender.getStats()`: its `outbound-rtp` and `remote-inbound-rtp`
    /// stats, their codec and the transport.
    pub fn get_stats(&self) -> crate::stats_report::StatsReport {
        self.pc.get_stats_for(self.id, true)
    }

    /// Its DTMF sender (W3C `sender.dtmf`): `None` for a video sender.
    pub fn dtmf(&mut self) -> Option<super::dtmf::DtmfSender<'_>> {
        let t = self.pc.jsep.transceiver(self.id)?;
        if t.kind != crate::MediaKind::Audio {
            return None;
        }
        Some(super::dtmf::DtmfSender {
            pc: &mut *self.pc,
            id: self.id,
        })
    }

    /// W3C `getParameters`: the negotiated codecs and header extensions,
    /// and the encodings (SSRC, RTX SSRC, RID, active, max bitrate): one,
    /// or a simulcast sender's each.
    pub fn get_parameters(&self) -> RtpParameters {
        let n = self.pc.media.section(self.id);
        let t = self.pc.jsep.transceiver(self.id);
        let has_rtx = n.is_some_and(|n| n.codecs.iter().any(|c| c.rtx_payload_type.is_some()));
        let mut encodings: Vec<RtpEncodingParameters> = self
            .pc
            .media
            .senders
            .iter()
            .filter(|s| s.transceiver == self.id)
            .map(|s| RtpEncodingParameters {
                ssrc: s.ssrc,
                rtx_ssrc: has_rtx.then_some(s.rtx_ssrc),
                rid: s.rid.as_deref().map(str::to_owned),
                active: s.active,
                max_bitrate: s.max_bitrate,
            })
            .collect();
        encodings.sort_by_key(|e| {
            t.and_then(|t| {
                t.layers
                    .iter()
                    .position(|l| Some(&*l.rid) == e.rid.as_deref())
            })
        });
        if encodings.is_empty() {
            encodings.extend(t.map(|t| RtpEncodingParameters {
                ssrc: t.ssrc,
                rtx_ssrc: has_rtx.then_some(t.rtx_ssrc),
                rid: None,
                active: true,
                max_bitrate: None,
            }));
        }
        RtpParameters {
            codecs: n.map(codec_list).unwrap_or_default(),
            header_extensions: n.map(|n| extension_list(&n.send_ext)).unwrap_or_default(),
            encodings,
            rtcp_cname: self.pc.jsep.cname.clone(),
            rtcp_reduced_size: n.is_some_and(|n| n.rtcp_rsize),
        }
    }

    /// W3C `setParameters`: changes `active` and `max_bitrate` of each
    /// encoding; anything else must be as `get_parameters` returned it
    /// (W3C: InvalidModificationError).
    pub fn set_parameters(&mut self, params: &RtpParameters) -> Result<(), JsepError> {
        self.pc.check_open()?;
        let current = self.get_parameters();
        if params.encodings.len() != current.encodings.len() {
            return Err(JsepError::InvalidModification(
                "encodings cannot be added or removed",
            ));
        }
        let unchanged = current
            .encodings
            .iter()
            .zip(&params.encodings)
            .all(|(c, n)| c.ssrc == n.ssrc && c.rtx_ssrc == n.rtx_ssrc && c.rid == n.rid)
            && current.codecs == params.codecs
            && current.header_extensions == params.header_extensions;
        if !unchanged {
            return Err(JsepError::InvalidModification(
                "only active and max_bitrate may change",
            ));
        }
        for new in &params.encodings {
            let rid = new.rid.as_deref();
            if let Some(s) = self.pc.media.encoding_mut(self.id, rid) {
                s.active = new.active;
                s.max_bitrate = new.max_bitrate;
            }
        }
        Ok(())
    }

    /// Sends one RTP packet (raw mode): the application's payload type,
    /// sequence number, timestamp, marker, CSRCs and payload, with the
    /// sender's SSRC, the mid extension (RFC 8843 §15) and the audio level
    /// if negotiated; protected with SRTP and queued on the selected pair.
    pub fn write_rtp(&mut self, w: RtpWrite<'_>) -> Result<(), MediaSendError> {
        let pc = &mut *self.pc;
        let n = pc
            .media
            .section(self.id)
            .ok_or(MediaSendError::NotSending)?;
        if !n.direction.sends() {
            return Err(MediaSendError::NotSending);
        }
        if n.codec(w.payload_type).is_none() {
            return Err(MediaSendError::PayloadType(w.payload_type));
        }
        let s = pc
            .media
            .encoding_mut(self.id, w.rid)
            .ok_or(MediaSendError::NotSending)?;
        if s.track.is_none() || !s.active {
            return Err(MediaSendError::NotSending);
        }
        // Packets eddy inserted in the stream (DTMF) shift the
        // application's sequence numbers after them.
        let wire = RtpWrite {
            sequence_number: w.sequence_number.wrapping_add(s.sequence_offset),
            ..w
        };
        pc.send_rtp(self.id, &wire)
    }
}

impl RtpSender<'_> {
    /// Sends one encoded frame (issue 16's frame API): eddy packetizes it
    /// for the codec of `payload_type` (see [`crate::codec`]: Opus,
    /// PCMU/PCMA, G.722, VP8, H.264 as Annex-B) into packets that fit the
    /// configured MTU, numbers them after the sender's last packet, sets
    /// the marker bit on the last, and sends them as
    /// [`write_rtp`](Self::write_rtp) does. `timestamp` is the frame's RTP
    /// timestamp (the codec's clock).
    pub fn write_frame(
        &mut self,
        payload_type: u8,
        timestamp: u32,
        frame: &[u8],
    ) -> Result<(), MediaSendError> {
        self.write_frame_on(None, payload_type, timestamp, frame)
    }

    /// [`write_frame`](Self::write_frame) on the simulcast encoding with
    /// RID `rid` (one of [`TransceiverInit::send_encodings`](crate::TransceiverInit)):
    /// each encoding is a stream of its own (SSRC, sequence numbers, RTX,
    /// statistics), its packets carrying the RID (RFC 8852). The
    /// application writes each encoding's frames (its own scaled encoder
    /// output). An encoding the remote did not accept is refused
    /// ([`MediaSendError::NotSending`]).
    pub fn write_layer_frame(
        &mut self,
        rid: &str,
        payload_type: u8,
        timestamp: u32,
        frame: &[u8],
    ) -> Result<(), MediaSendError> {
        self.write_frame_on(Some(rid), payload_type, timestamp, frame)
    }

    fn write_frame_on(
        &mut self,
        rid: Option<&str>,
        payload_type: u8,
        timestamp: u32,
        frame: &[u8],
    ) -> Result<(), MediaSendError> {
        use crate::media::codec::{CodecKind, Packetizer};
        let pc = &mut *self.pc;
        let n = pc
            .media
            .section(self.id)
            .ok_or(MediaSendError::NotSending)?;
        if !n.direction.sends() {
            return Err(MediaSendError::NotSending);
        }
        let codec = n
            .codec(payload_type)
            .ok_or(MediaSendError::PayloadType(payload_type))?;
        let kind = CodecKind::from_mime(&codec.mime_type).ok_or_else(|| {
            MediaSendError::Frame(format!("no packetizer for {}", codec.mime_type))
        })?;
        // RFC 6184 §8.1: "When the value of packetization-mode is equal to
        // 0 or packetization-mode is not present, the single NAL mode MUST
        // be used."
        let single_nal = kind == CodecKind::H264
            && !codec.fmtp.as_deref().is_some_and(|f| {
                f.split(';')
                    .any(|p| matches!(p.trim().split_once('='), Some((k, v)) if k.trim().eq_ignore_ascii_case("packetization-mode") && v.trim() != "0"))
            });
        // Room for IP/UDP (48 with IPv6), the RTP header with eddy's
        // extensions, and SRTP's tag.
        let max_payload = pc.config.mtu.saturating_sub(48 + 12 + 32 + 16);
        let first = pc.rng.u32() as u16;
        let s = pc
            .media
            .encoding_mut(self.id, rid)
            .ok_or(MediaSendError::NotSending)?;
        if s.track.is_none() || !s.active {
            return Err(MediaSendError::NotSending);
        }
        let packetizer = match &mut s.packetizer {
            Some((pt, p)) if *pt == payload_type => p,
            slot => {
                let p = if single_nal {
                    Packetizer::h264_single_nal_unit()
                } else {
                    Packetizer::new(kind)
                };
                &mut slot.insert((payload_type, p)).1
            }
        };
        let payloads = packetizer
            .packetize(frame, max_payload)
            .map_err(|e| MediaSendError::Frame(e.to_string()))?;
        // RFC 3550 §5.1: the sequence number "increments by one for each RTP
        // data packet sent"; a random start when nothing was sent yet.
        let mut seq = s.last_sequence.map_or(first, |l| l.wrapping_add(1));
        let last = payloads.len() - 1;
        for (i, payload) in payloads.iter().enumerate() {
            let w = RtpWrite {
                marker: i == last,
                rid,
                ..RtpWrite::new(payload_type, seq, timestamp, payload)
            };
            pc.send_rtp(self.id, &w)?;
            seq = seq.wrapping_add(1);
        }
        Ok(())
    }
}

impl PeerConnection {
    /// Writes one RTP packet of transceiver `t`'s sender as `w` says (its
    /// sequence number is the one on the wire), keeps it for RTX, protects
    /// and sends it, and counts it.
    pub(crate) fn send_rtp(
        &mut self,
        t: TransceiverId,
        w: &RtpWrite<'_>,
    ) -> Result<(), MediaSendError> {
        if self.media.section(t).is_none() {
            return Err(MediaSendError::NotSending);
        }
        if w.csrcs.len() > MAX_CSRC {
            return Err(MediaSendError::TooManyCsrcs);
        }
        // draft-holmer-rmcat-transport-wide-cc-extensions-01 §2: "a
        // transport-wide sequence number ... incremented by one for each
        // packet" (where negotiated): the pacer writes it when the packet
        // leaves (`media_pacing.rs`); a placeholder holds its place.
        let transport_cc = self.transport_cc_id(t);
        let (i, rid) = self.sending_encoding(t, w.rid)?;
        let n = self.media.section(t).ok_or(MediaSendError::NotSending)?;
        let kind = n.kind;
        let ssrc = self.media.senders[i].ssrc;
        let buf = write_packet(n, w, ssrc, rid.as_deref(), transport_cc)?;
        let len = buf.len();
        let clock_rate = n.codec(w.payload_type).map_or(90_000, |c| c.clock_rate);
        let rtx = n.codecs.iter().any(|c| c.rtx_payload_type.is_some());
        let now = self.now;
        let header_len = (len - w.payload.len()) as u64;
        let class = match kind {
            crate::sdp::MediaKind::Audio => PacketKind::Audio,
            _ => PacketKind::Video,
        };
        // RFC 4588: what was sent stays a while for NACKs.
        self.send_rtp_out(buf, transport_cc, class, rtx)?;
        if let Some(s) = self.media.senders.get_mut(i) {
            s.last_sequence = Some(w.sequence_number);
            s.header_bytes_sent += header_len;
            s.stats
                .get_or_insert_with(|| SendStats::new(ssrc, clock_rate))
                .on_sent(now, w.timestamp, w.payload.len());
        }
        Ok(())
    }
}

impl PeerConnection {
    /// The sender (index) of transceiver `t` for encoding `rid` (the first
    /// without), and the RID its packets carry. RFC 8853 §5.3: only the
    /// streams the remote's answer kept are sent; without simulcast
    /// negotiated, only the first encoding.
    fn sending_encoding(
        &self,
        t: TransceiverId,
        rid: Option<&str>,
    ) -> Result<(usize, Option<std::sync::Arc<str>>), MediaSendError> {
        let n = self.media.section(t).ok_or(MediaSendError::NotSending)?;
        let i = self
            .media
            .senders
            .iter()
            .position(|s| {
                s.transceiver == t
                    && match rid {
                        None => s.layer == 0,
                        Some(rid) => s.rid.as_deref() == Some(rid),
                    }
            })
            .ok_or(MediaSendError::NotSending)?;
        let s = &self.media.senders[i];
        match &s.rid {
            Some(r) if n.send_rids.contains(r) => Ok((i, Some(r.clone()))),
            _ if s.layer == 0 => Ok((i, None)),
            _ => Err(MediaSendError::NotSending),
        }
    }
}

/// The plaintext RTP packet `w` asks for on stream `ssrc` of section `n`,
/// with the header extensions negotiated there: mid, RID, audio level, and
/// a placeholder for the transport-wide sequence number.
fn write_packet(
    n: &NegotiatedMedia,
    w: &RtpWrite<'_>,
    ssrc: u32,
    rid: Option<&str>,
    transport_cc: Option<u8>,
) -> Result<Vec<u8>, MediaSendError> {
    let mut level = [0u8; 1];
    let placeholder = [0u8; 2];
    let mut ext: smallvec::SmallVec<[(u8, &[u8]); 4]> = smallvec::SmallVec::new();
    if let Some(id) = n.send_ext.mid {
        ext.push((id, n.mid.as_bytes()));
    }
    // RFC 8852 §3.1: the RtpStreamId tells a simulcast stream apart (on
    // every packet: eddy does not track which the receiver knows).
    if let (Some(id), Some(r)) = (n.send_ext.rid, rid) {
        ext.push((id, r.as_bytes()));
    }
    if let Some(id) = transport_cc {
        ext.push((id, &placeholder));
    }
    if let (Some(id), Some(l)) = (n.send_ext.audio_level, w.audio_level) {
        let v = hdrext::SsrcAudioLevel {
            voice: l.voice,
            level: l.level.min(127),
        };
        if v.write(&mut level).is_ok() {
            ext.push((id, &level));
        }
    }
    let header = RtpHeader {
        marker: w.marker,
        payload_type: w.payload_type,
        sequence: w.sequence_number,
        timestamp: w.timestamp,
        ssrc,
        csrc: w.csrcs,
        extensions: &ext,
    };
    let max = MAX_SRTP_PACKET - SRTP_ROOM;
    let mut buf = vec![0u8; max + SRTP_ROOM];
    let len = header
        .write(w.payload, 0, &mut buf[..max])
        .map_err(|_| MediaSendError::TooLarge(w.payload.len()))?;
    buf.truncate(len);
    Ok(buf)
}

/// A borrowed handle to a transceiver's receiver (W3C RTCRtpReceiver).
#[derive(Debug)]
pub struct RtpReceiver<'a> {
    pc: &'a mut PeerConnection,
    id: TransceiverId,
}

impl RtpReceiver<'_> {
    /// The transceiver it belongs to.
    pub fn transceiver_id(&self) -> TransceiverId {
        self.id
    }

    /// Frame mode (an eddy extension, issue 16's frame API): with `true`,
    /// the packets of codecs eddy has a depacketizer for (see
    /// [`crate::codec`]) go through a jitter buffer that waits about a
    /// round trip for NACK/RTX repairs, are put back together, and come as
    /// [`Event::MediaFrame`](crate::Event::MediaFrame) instead of
    /// `Event::RtpPacket`; a frame that lost a packet for good is dropped.
    /// `false` returns to packets (what waits in the buffer is dropped).
    pub fn set_frame_mode(&mut self, enabled: bool) {
        if let Some(r) = self.pc.media.receiver_mut(self.id) {
            r.frames = enabled.then(Box::default);
        }
    }

    /// Its track (W3C `receiver.track`), with the stream ids of the
    /// remote's `a=msid`.
    pub fn track(&self) -> Option<MediaStreamTrack> {
        Some(self.pc.media.receiver(self.id)?.track.clone())
    }

    /// W3C `receiver.getStats()`: its `inbound-rtp` and
    /// `remote-outbound-rtp` stats, their codecs and the transport.
    pub fn get_stats(&self) -> crate::stats_report::StatsReport {
        self.pc.get_stats_for(self.id, false)
    }

    /// W3C `getParameters`: the negotiated codecs and the header extensions
    /// eddy reads.
    pub fn get_parameters(&self) -> RtpParameters {
        let n = self.pc.media.section(self.id);
        RtpParameters {
            codecs: n.map(codec_list).unwrap_or_default(),
            header_extensions: n.map(|n| extension_list(&n.recv_ext)).unwrap_or_default(),
            encodings: Vec::new(),
            rtcp_cname: self.pc.jsep.cname.clone(),
            rtcp_reduced_size: n.is_some_and(|n| n.rtcp_rsize),
        }
    }

    /// The media SSRCs received so far, oldest first.
    pub fn ssrcs(&self) -> Vec<u32> {
        self.pc
            .media
            .receiver(self.id)
            .map(|r| r.ssrcs.clone())
            .unwrap_or_default()
    }

    fn sources(&self, csrc: bool) -> Vec<RtpContributingSource> {
        let Some(r) = self.pc.media.receiver(self.id) else {
            return Vec::new();
        };
        let now = self.pc.now();
        let mut out: Vec<RtpContributingSource> = r
            .sources
            .iter()
            .filter(|s| s.csrc == csrc)
            .filter(|s| now.saturating_duration_since(s.at) <= std::time::Duration::from_secs(10))
            .map(|s| RtpContributingSource {
                source: s.source,
                timestamp: self.pc.wall_clock_at(s.at),
                audio_level: s.level.map(|l| {
                    super::rtp_types::AudioLevel {
                        voice: false,
                        level: l,
                    }
                    .linear()
                }),
                rtp_timestamp: s.rtp_timestamp,
            })
            .collect();
        // W3C: "sorted by timestamp in descending order".
        out.sort_by_key(|s| std::cmp::Reverse(s.timestamp));
        out
    }

    /// W3C `getContributingSources`: the CSRCs of the last 10 seconds.
    pub fn get_contributing_sources(&self) -> Vec<RtpContributingSource> {
        self.sources(true)
    }

    /// W3C `getSynchronizationSources`: the SSRCs of the last 10 seconds.
    pub fn get_synchronization_sources(&self) -> Vec<RtpContributingSource> {
        self.sources(false)
    }

    /// Asks the remote sender for a keyframe: a PLI (RFC 4585 §6.3.1) if
    /// negotiated, else a FIR (RFC 5104 §4.3.1), for each media SSRC
    /// received.
    pub fn request_keyframe(&mut self) -> Result<KeyframeRequestKind, MediaSendError> {
        let mut ssrcs = self.ssrcs();
        if ssrcs.is_empty() {
            let n = self
                .pc
                .media
                .section(self.id)
                .ok_or(MediaSendError::NotSending)?;
            ssrcs = n.remote.ssrcs.iter().map(|(m, _)| *m).collect();
        }
        self.pc.request_keyframe_of(self.id, &ssrcs)
    }
}

impl PeerConnection {
    /// A keyframe request for the media SSRCs `ssrcs` of transceiver `id`'s
    /// receiver: a PLI if negotiated, else a FIR.
    pub(crate) fn request_keyframe_of(
        &mut self,
        id: TransceiverId,
        ssrcs: &[u32],
    ) -> Result<KeyframeRequestKind, MediaSendError> {
        let n = self.media.section(id).ok_or(MediaSendError::NotSending)?;
        if !n.direction.receives() {
            return Err(MediaSendError::NotSending);
        }
        let pli = n.codecs.iter().any(|c| c.pli);
        let fir = n.codecs.iter().any(|c| c.fir);
        let rsize = n.rtcp_rsize;
        let sender_ssrc = self.jsep.transceiver(id).map_or(0, |t| t.ssrc);
        let kind = if pli || !fir {
            KeyframeRequestKind::Pli
        } else {
            KeyframeRequestKind::Fir
        };
        if let Some(r) = self.media.receiver_mut(id) {
            match kind {
                KeyframeRequestKind::Pli => r.plis_sent += 1,
                KeyframeRequestKind::Fir => r.firs_sent += 1,
            }
        }
        for &media_ssrc in ssrcs {
            match kind {
                KeyframeRequestKind::Pli => {
                    let p = Pli {
                        sender_ssrc,
                        media_ssrc,
                    };
                    let mut b = [0u8; 12];
                    let len = p.write(&mut b).map_err(|_| MediaSendError::TooLarge(12))?;
                    self.send_rtcp_feedback(rsize, &b[..len])?;
                }
                KeyframeRequestKind::Fir => {
                    let seq = self.media.next_fir_sequence(id);
                    let entries = [FirEntry {
                        ssrc: media_ssrc,
                        sequence: seq,
                    }];
                    let mut b = [0u8; 20];
                    let len = Fir::write(sender_ssrc, &entries, &mut b)
                        .map_err(|_| MediaSendError::TooLarge(20))?;
                    self.send_rtcp_feedback(rsize, &b[..len])?;
                }
            }
        }
        Ok(kind)
    }
}
