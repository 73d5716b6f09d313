//! Frames to RTP payloads and back, per codec (issue 16): the application
//! brings encoded frames and takes encoded frames; eddy never encodes or
//! decodes samples or pixels.
//!
//! - [`Packetizer`]: one frame into payloads of at most a given size (the
//!   marker bit goes on the last one); [`RtpSender::write_frame`](crate::RtpSender::write_frame)
//!   uses it.
//! - [`Depacketizer`]: payloads, in sequence order, back into frames; a
//!   frame with a packet missing is dropped and counted, never delivered
//!   broken. Feed it the packets of `Event::RtpPacket`, through a
//!   [`JitterBuffer`] where packets may come out of order (RTX repairs
//!   arrive a round trip late).
//!
//! Built: Opus (RFC 7587), PCMU/PCMA and G.722 (RFC 3551: one frame per
//! packet), VP8 (RFC 7741), VP9 (RFC 9628), H.264 (RFC 6184,
//! packetization-mode 1: single NAL unit, STAP-A, FU-A; mode 0: single NAL
//! units only; Annex-B frames in and out), H.265 (RFC 7798: single NAL unit, AP, FU), AV1 (the AOM
//! RTP payload format: OBU elements, fragments across packets); RED (RFC
//! 2198) with [`red_encode`] and [`red_decode`]; the AV1 Dependency
//! Descriptor header extension ([`DependencyDescriptor`]: parse and write,
//! the template structure included, and a frame's layers and references
//! resolved from it).

mod audio;
mod av1;
mod bits;
mod dependency_descriptor;
mod h264;
mod h265;
mod jitter;
mod nal;
mod red;
#[cfg(test)]
mod tests;
mod vp8;
mod vp9;

pub use dependency_descriptor::{
    DependencyDescriptor, DependencyDescriptorError, FrameDependency, FrameTemplate,
    TemplateStructure, MAX_DECODE_TARGETS, MAX_TEMPLATES,
};
pub use jitter::{JitterBuffer, JitterBufferStats, MAX_BUFFERED_PACKETS};
pub use red::{red_decode, red_encode, RedBlock, MAX_RED_BLOCKS};

use crate::peer::RtpPacketReceived;

/// The largest frame a [`Depacketizer`] assembles; larger ones are dropped
/// and counted (a bound against a peer that never sets the marker bit).
pub const MAX_FRAME_SIZE: usize = 4 * 1024 * 1024;

/// The codecs with a packetizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecKind {
    /// `audio/opus`.
    Opus,
    /// `audio/PCMU`.
    Pcmu,
    /// `audio/PCMA`.
    Pcma,
    /// `audio/G722`.
    G722,
    /// `video/VP8`.
    Vp8,
    /// `video/VP9` (single layer written; any read).
    Vp9,
    /// `video/H264` (packetization-mode 1; mode 0 with
    /// [`Packetizer::h264_single_nal_unit`]).
    H264,
    /// `video/H265`.
    H265,
    /// `video/AV1` (frames in the low-overhead bitstream format: OBUs with
    /// their size fields).
    Av1,
}

impl CodecKind {
    /// The kind of a negotiated MIME type (`audio/opus`, `video/VP8`, ...,
    /// case-insensitive); `None` for codecs without a packetizer.
    pub fn from_mime(mime: &str) -> Option<Self> {
        const KINDS: [(&str, CodecKind); 9] = [
            ("audio/opus", CodecKind::Opus),
            ("audio/pcmu", CodecKind::Pcmu),
            ("audio/pcma", CodecKind::Pcma),
            ("audio/g722", CodecKind::G722),
            ("video/vp8", CodecKind::Vp8),
            ("video/vp9", CodecKind::Vp9),
            ("video/h264", CodecKind::H264),
            ("video/h265", CodecKind::H265),
            ("video/av1", CodecKind::Av1),
        ];
        // No allocation: it runs for every packet of a receiver.
        KINDS
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(mime))
            .map(|(_, k)| *k)
    }

    /// An audio codec (one frame per packet, every frame decodable alone).
    pub fn is_audio(self) -> bool {
        matches!(self, Self::Opus | Self::Pcmu | Self::Pcma | Self::G722)
    }
}

/// Why a frame or payload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The frame is empty.
    #[error("empty frame")]
    Empty,
    /// An audio frame does not fit one packet, or the size limit leaves no
    /// room for data.
    #[error("frame of {0} bytes does not fit")]
    TooLarge(usize),
    /// The payload does not follow the codec's RTP payload format.
    #[error("malformed payload")]
    Malformed,
}

/// Splits frames into RTP payloads.
#[derive(Debug, Clone)]
pub struct Packetizer {
    kind: CodecKind,
    /// VP8: the 15-bit PictureID of the next frame (RFC 7741 §4.2).
    picture_id: u16,
    /// H.264 packetization-mode 0: single NAL unit packets only.
    single_nal: bool,
}

impl Packetizer {
    /// A packetizer for `kind`.
    pub fn new(kind: CodecKind) -> Self {
        Self {
            kind,
            picture_id: 0,
            single_nal: false,
        }
    }

    /// H.264 in packetization-mode 0 (RFC 6184 §6.2): a NAL unit a packet,
    /// no aggregation or fragmentation, so a unit over the payload size is
    /// refused ([`CodecError::TooLarge`]).
    pub fn h264_single_nal_unit() -> Self {
        Self {
            single_nal: true,
            ..Self::new(CodecKind::H264)
        }
    }

    /// The payloads of `frame`, each at most `max_payload` bytes; the last
    /// one carries the end of the frame (set the marker bit on it).
    pub fn packetize(
        &mut self,
        frame: &[u8],
        max_payload: usize,
    ) -> Result<Vec<Vec<u8>>, CodecError> {
        if frame.is_empty() {
            return Err(CodecError::Empty);
        }
        match self.kind {
            k if k.is_audio() => audio::packetize(frame, max_payload),
            CodecKind::Vp8 => vp8::packetize(frame, max_payload, self.next_picture_id()),
            CodecKind::Vp9 => {
                let id = self.next_picture_id();
                vp9::packetize(frame, max_payload, id, vp9::is_keyframe(frame))
            }
            CodecKind::H265 => h265::packetize(frame, max_payload),
            CodecKind::Av1 => av1::packetize(frame, max_payload),
            _ if self.single_nal => h264::packetize_single(frame, max_payload),
            _ => h264::packetize(frame, max_payload),
        }
    }
}

impl Packetizer {
    /// VP8 and VP9: the 15-bit picture id of the next frame.
    fn next_picture_id(&mut self) -> u16 {
        let id = self.picture_id;
        self.picture_id = (self.picture_id + 1) & 0x7fff;
        id
    }
}

/// A frame put back together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The encoded frame (H.264: Annex-B, each NAL unit after a 4-byte
    /// start code).
    pub data: Vec<u8>,
    /// Its RTP timestamp.
    pub timestamp: u32,
    /// It can be decoded on its own (VP8 key frame, H.264 IDR; every audio
    /// frame).
    pub keyframe: bool,
    /// Something was lost just before it: packets missing from the
    /// sequence, or a frame dropped. An audio decoder conceals the gap
    /// (packet loss concealment) instead of playing on as if nothing was
    /// missing; a video frame that is not a key frame may refer to what
    /// was lost.
    pub after_loss: bool,
    /// VP9: the highest spatial layer (SID) in the picture and its
    /// temporal layer (TID), from the payload descriptors' layer indices
    /// when the sender writes them. (AV1 carries its layers in the
    /// Dependency Descriptor header extension: [`DependencyDescriptor`].)
    pub layer: Option<(u8, u8)>,
}

/// What a [`Depacketizer`] dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DepacketizerStats {
    /// Frames delivered.
    pub frames: u64,
    /// Frames dropped because a packet of them was missing or malformed,
    /// or they grew past [`MAX_FRAME_SIZE`].
    pub frames_dropped: u64,
    /// Payloads that did not follow the payload format.
    pub malformed: u64,
}

/// Puts payloads back into frames. Give it every packet of one stream in
/// sequence order (RTX-repaired ones included); a gap in the sequence
/// drops the frame it falls in.
#[derive(Debug, Clone)]
pub struct Depacketizer {
    kind: CodecKind,
    frame: Vec<u8>,
    timestamp: Option<u32>,
    last_seq: Option<u16>,
    /// The frame being assembled lost a packet: drop it at its end.
    broken: bool,
    /// H.264 and H.265: a fragmented NAL unit is open.
    fragment_open: bool,
    /// AV1: the OBU element continuing in the next packet.
    partial: Vec<u8>,
    keyframe: bool,
    /// Lost since the last frame delivered (told on the next one).
    lost: bool,
    /// VP9: the frame's (SID, TID) so far.
    layer: Option<(u8, u8)>,
    stats: DepacketizerStats,
}

impl Depacketizer {
    /// A depacketizer for `kind`.
    pub fn new(kind: CodecKind) -> Self {
        Self {
            kind,
            frame: Vec::new(),
            timestamp: None,
            last_seq: None,
            broken: false,
            fragment_open: false,
            partial: Vec::new(),
            keyframe: false,
            lost: false,
            layer: None,
            stats: DepacketizerStats::default(),
        }
    }

    /// The codec it reads.
    pub fn kind(&self) -> CodecKind {
        self.kind
    }

    /// What it delivered and dropped.
    pub fn stats(&self) -> DepacketizerStats {
        self.stats
    }

    /// A packet of `Event::RtpPacket`.
    pub fn push_packet(&mut self, p: &RtpPacketReceived) -> Option<Frame> {
        self.push(p.sequence_number, p.timestamp, p.marker, p.payload())
    }

    /// The next packet: its sequence number, timestamp, marker bit and
    /// payload. Returns a frame when this packet completed one.
    pub fn push(
        &mut self,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Option<Frame> {
        let gap = self.last_seq.is_some_and(|l| seq != l.wrapping_add(1));
        self.last_seq = Some(seq);
        self.lost |= gap;
        if self.timestamp != Some(timestamp) {
            // A new frame begins; what was open lost its end.
            if self.timestamp.is_some() && !self.frame.is_empty() {
                self.stats.frames_dropped += 1;
                self.lost = true;
            }
            self.start(timestamp);
        } else if gap {
            self.broken = true;
        }
        if gap && self.frame.is_empty() && !self.kind.is_audio() {
            // The frame's first packets may be what went missing: only a
            // packet that starts a frame can begin one.
            self.broken = !self.starts_frame(payload);
        }
        let ok = match self.kind {
            k if k.is_audio() => {
                self.frame.extend_from_slice(payload);
                self.keyframe = true;
                true
            }
            CodecKind::Vp8 => vp8::depacketize(payload, &mut self.frame, &mut self.keyframe),
            CodecKind::Vp9 => {
                if let Some((sid, tid)) = vp9::layer_ids(payload) {
                    let top = self.layer.map_or(sid, |(s, _)| s.max(sid));
                    self.layer = Some((top, tid));
                }
                vp9::depacketize(payload, &mut self.frame, &mut self.keyframe)
            }
            CodecKind::Av1 => av1::depacketize(
                payload,
                &mut self.frame,
                &mut self.keyframe,
                &mut self.partial,
            ),
            CodecKind::H265 => h265::depacketize(
                payload,
                &mut self.frame,
                &mut self.keyframe,
                &mut self.fragment_open,
            ),
            _ => h264::depacketize(
                payload,
                &mut self.frame,
                &mut self.keyframe,
                &mut self.fragment_open,
            ),
        };
        if !ok {
            self.stats.malformed += 1;
            self.broken = true;
        }
        // The AV1 element still open counts too: a peer that never ends
        // one must not grow it without bound.
        if self.frame.len() + self.partial.len() > MAX_FRAME_SIZE {
            self.broken = true;
            self.frame.clear();
            self.partial.clear();
        }
        if !(marker || self.kind.is_audio()) {
            return None;
        }
        let timestamp = self.timestamp.take().unwrap_or(timestamp);
        let data = std::mem::take(&mut self.frame);
        if self.broken || data.is_empty() {
            self.stats.frames_dropped += 1;
            self.broken = false;
            self.lost = true;
            return None;
        }
        self.stats.frames += 1;
        Some(Frame {
            data,
            timestamp,
            keyframe: std::mem::take(&mut self.keyframe),
            after_loss: std::mem::take(&mut self.lost),
            layer: self.layer.take(),
        })
    }

    fn start(&mut self, timestamp: u32) {
        self.timestamp = Some(timestamp);
        self.frame.clear();
        self.broken = false;
        self.fragment_open = false;
        self.partial.clear();
        self.keyframe = false;
        self.layer = None;
    }

    fn starts_frame(&self, payload: &[u8]) -> bool {
        match self.kind {
            CodecKind::Vp8 => vp8::starts_frame(payload),
            CodecKind::Vp9 => vp9::starts_frame(payload),
            CodecKind::H264 => h264::starts_nal(payload),
            CodecKind::H265 => h265::starts_nal(payload),
            CodecKind::Av1 => av1::starts_frame(payload),
            _ => true,
        }
    }
}
