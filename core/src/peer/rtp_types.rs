//! The values of the RTP API, in W3C names: `MediaStreamTrack`,
//! `RTCRtpParameters` and its parts, `RTCRtpContributingSource`, and the
//! packets an application writes and receives in raw mode.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::rtp::RtpPacket;
use crate::sdp::MediaKind;

/// A track (W3C MediaStreamTrack) as a value: eddy neither captures nor
/// renders, so a track is its identity and the streams it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaStreamTrack {
    /// The track id.
    pub id: String,
    /// Audio or video.
    pub kind: MediaKind,
    /// The ids of the MediaStreams the track belongs to (from `a=msid`).
    pub stream_ids: Vec<String>,
}

/// The RFC 6464 audio level of a packet: `level` is −dBov, 0 (loudest)
/// to 127 (silence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioLevel {
    /// The voice activity flag.
    pub voice: bool,
    /// The level in −dBov, 0..=127.
    pub level: u8,
}

impl AudioLevel {
    /// The level as the W3C `audioLevel` (0.0 silence to 1.0 loudest):
    /// RFC 6464's −dBov converted to a linear value, 10^(−level/20).
    pub fn linear(self) -> f64 {
        10f64.powf(-f64::from(self.level.min(127)) / 20.0)
    }
}

/// An RTP packet to send in raw mode ([`RtpSender::write_rtp`]): the
/// application chooses everything but the SSRC, which is the sender's.
///
/// [`RtpSender::write_rtp`]: crate::RtpSender::write_rtp
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RtpWrite<'a> {
    /// One of the negotiated payload types.
    pub payload_type: u8,
    /// The sequence number.
    pub sequence_number: u16,
    /// The RTP timestamp in the codec's clock.
    pub timestamp: u32,
    /// The marker bit (end of a video frame, start of a talkspurt).
    pub marker: bool,
    /// The payload.
    pub payload: &'a [u8],
    /// Up to 15 contributing sources.
    pub csrcs: &'a [u32],
    /// The RFC 6464 audio level, written if the extension was negotiated.
    pub audio_level: Option<AudioLevel>,
    /// The simulcast encoding it belongs to, by RID (`None`: the first
    /// encoding, or the only one).
    pub rid: Option<&'a str>,
}

impl<'a> RtpWrite<'a> {
    /// A packet with no marker, CSRCs or audio level.
    pub fn new(payload_type: u8, sequence_number: u16, timestamp: u32, payload: &'a [u8]) -> Self {
        Self {
            payload_type,
            sequence_number,
            timestamp,
            marker: false,
            payload,
            csrcs: &[],
            audio_level: None,
            rid: None,
        }
    }

    /// On the simulcast encoding `rid` (one of
    /// [`TransceiverInit::send_encodings`](crate::TransceiverInit)).
    pub fn with_rid(mut self, rid: &'a str) -> Self {
        self.rid = Some(rid);
        self
    }

    /// With the marker bit set to `marker`.
    pub fn with_marker(mut self, marker: bool) -> Self {
        self.marker = marker;
        self
    }

    /// With these contributing sources.
    pub fn with_csrcs(mut self, csrcs: &'a [u32]) -> Self {
        self.csrcs = csrcs;
        self
    }

    /// With an audio level.
    pub fn with_audio_level(mut self, level: AudioLevel) -> Self {
        self.audio_level = Some(level);
        self
    }
}

/// A received RTP packet, after SRTP and with RTX undone (RFC 4588: a
/// retransmission arrives as the packet it repairs, with
/// [`repaired`](Self::repaired) set). It owns the plaintext packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacketReceived {
    data: Vec<u8>,
    payload_start: u16,
    payload_end: u16,
    /// The synchronization source.
    pub ssrc: u32,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The sequence number.
    pub sequence_number: u16,
    /// The payload type.
    pub payload_type: u8,
    /// The marker bit.
    pub marker: bool,
    /// It came as an RTX retransmission.
    pub repaired: bool,
    /// The RID of its stream (RFC 8852), from the route it took.
    rid: Option<Arc<str>>,
    /// The RFC 6464 audio level, if the extension was negotiated and sent.
    pub audio_level: Option<AudioLevel>,
    /// When it arrived.
    pub arrival: Instant,
}

impl RtpPacketReceived {
    /// Wraps a plaintext packet whose fixed fields are `f`; `None` if it is
    /// larger than an RTP packet over UDP can be.
    pub(crate) fn new(
        data: Vec<u8>,
        f: Fixed,
        rid: Option<Arc<str>>,
        audio_level: Option<AudioLevel>,
        repaired: bool,
        arrival: Instant,
    ) -> Option<Self> {
        let start = u16::try_from(f.header_len).ok()?;
        let end = u16::try_from(f.header_len + f.payload_len).ok()?;
        Some(Self {
            payload_start: start,
            payload_end: end,
            ssrc: f.ssrc,
            timestamp: f.timestamp,
            sequence_number: f.sequence,
            payload_type: f.payload_type,
            marker: f.marker,
            repaired,
            rid,
            audio_level,
            arrival,
            data,
        })
    }

    /// The payload (no header, no padding).
    pub fn payload(&self) -> &[u8] {
        self.data
            .get(usize::from(self.payload_start)..usize::from(self.payload_end))
            .unwrap_or_default()
    }

    /// The whole plaintext packet, header included, as it would be
    /// forwarded by an SFU.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The contributing sources.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + '_ {
        let count = self.data.first().map_or(0, |b| usize::from(b & 0x0F));
        self.data
            .get(12..12 + 4 * count)
            .unwrap_or_default()
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }

    /// The value of the header extension with negotiated id `id`.
    pub fn extension(&self, id: u8) -> Option<&[u8]> {
        RtpPacket::parse(&self.data).ok()?.extension(id)
    }

    /// The RTP stream id (RFC 8852) of its stream: a simulcast layer's
    /// `a=rid`, on every packet of the layer (the sender puts it only on
    /// the first ones; the route remembers it).
    pub fn rid(&self) -> Option<&str> {
        self.rid.as_deref()
    }
}

/// The fixed fields of a parsed packet, kept once the parse's borrow of
/// the bytes ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fixed {
    pub(crate) ssrc: u32,
    pub(crate) timestamp: u32,
    pub(crate) sequence: u16,
    pub(crate) payload_type: u8,
    pub(crate) marker: bool,
    pub(crate) header_len: usize,
    pub(crate) payload_len: usize,
}

impl Fixed {
    pub(crate) fn of(p: &RtpPacket<'_>) -> Self {
        Self {
            ssrc: p.ssrc,
            timestamp: p.timestamp,
            sequence: p.sequence,
            payload_type: p.payload_type,
            marker: p.marker,
            header_len: p.header_len,
            payload_len: p.payload.len(),
        }
    }
}

/// One codec of a sender's or receiver's parameters (W3C
/// RTCRtpCodecParameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpCodecParameters {
    /// The payload type.
    pub payload_type: u8,
    /// `audio/opus`, `video/VP8`, ...
    pub mime_type: String,
    /// The clock rate in Hz.
    pub clock_rate: u32,
    /// Audio channels, if given.
    pub channels: Option<u16>,
    /// The `a=fmtp` parameters, if any.
    pub sdp_fmtp_line: Option<String>,
    /// The RTX payload type that repairs this codec, if negotiated.
    pub rtx_payload_type: Option<u8>,
}

/// A negotiated header extension (W3C RTCRtpHeaderExtensionParameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpHeaderExtensionParameters {
    /// The extension's URI.
    pub uri: String,
    /// Its negotiated id.
    pub id: u8,
}

/// One encoding of a sender (W3C RTCRtpEncodingParameters).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RtpEncodingParameters {
    /// The SSRC of the encoding.
    pub ssrc: u32,
    /// The SSRC of its RTX stream, if RTX was negotiated.
    pub rtx_ssrc: Option<u32>,
    /// A simulcast encoding's RID.
    pub rid: Option<String>,
    /// Whether it is sent; an inactive encoding's packets are refused.
    pub active: bool,
    /// The most bits per second the application means to send (eddy
    /// does not encode, so it reports it to the application's encoder).
    pub max_bitrate: Option<u32>,
}

/// A sender's or receiver's parameters (W3C RTCRtpSendParameters /
/// RTCRtpReceiveParameters).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RtpParameters {
    /// The negotiated codecs, RTX folded into its codec.
    pub codecs: Vec<RtpCodecParameters>,
    /// The negotiated header extensions eddy writes (sender) or reads
    /// (receiver).
    pub header_extensions: Vec<RtpHeaderExtensionParameters>,
    /// The encodings (one for a sender; empty for a receiver).
    pub encodings: Vec<RtpEncodingParameters>,
    /// The RTCP CNAME (sender's).
    pub rtcp_cname: String,
    /// Reduced-size RTCP (RFC 5506) was negotiated.
    pub rtcp_reduced_size: bool,
}

/// A source seen in received packets (W3C RTCRtpContributingSource and
/// RTCRtpSynchronizationSource).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RtpContributingSource {
    /// The CSRC or SSRC.
    pub source: u32,
    /// When its latest packet arrived, on the connection's wall clock.
    pub timestamp: SystemTime,
    /// The W3C `audioLevel` (0.0..=1.0), from the RFC 6464 (SSRC) or
    /// RFC 6465 (CSRC) extension.
    pub audio_level: Option<f64>,
    /// The RTP timestamp of its latest packet.
    pub rtp_timestamp: u32,
}

/// The fixed fields of a 13-byte packet with sequence number `seq` and a
/// 1-byte payload (codec tests).
#[cfg(test)]
pub(crate) fn fixed_for_test(seq: u16) -> Fixed {
    Fixed {
        ssrc: 1,
        timestamp: 0,
        sequence: seq,
        payload_type: 96,
        marker: false,
        header_len: 12,
        payload_len: 1,
    }
}
