//! Typed RTP header extension values (the bytes of one RFC 8285 element).
//!
//! Each extension has its URI (what `a=extmap` names; the id it maps to is
//! the caller's), a `parse` from the element's bytes and a `write` into a
//! caller's buffer returning the length.

use super::{ParseError, Reader, WriteError, Writer};

/// The BUNDLE media identification (MID, RFC 9143, carried as an SDES item
/// by RFC 7941's mechanism).
pub const MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
/// RFC 8852 §3.3: RtpStreamId (rid).
pub const RID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
/// RFC 8852 §3.4: RepairedRtpStreamId.
pub const REPAIRED_RID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
/// Absolute send time (webrtc.org experiments).
pub const ABS_SEND_TIME_URI: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
/// Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01).
pub const TRANSPORT_CC_URI: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
/// RFC 6464: client-to-mixer audio level.
pub const SSRC_AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
/// RFC 6465: mixer-to-client audio levels.
pub const CSRC_AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:csrc-audio-level";
/// 3GPP TS 26.114 §7.4.5: coordination of video orientation (CVO).
pub const VIDEO_ORIENTATION_URI: &str = "urn:3gpp:video-orientation";
/// Playout delay limits (webrtc.org experiments).
pub const PLAYOUT_DELAY_URI: &str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
/// Absolute capture time (webrtc.org experiments).
pub const ABS_CAPTURE_TIME_URI: &str =
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";

/// The longest SDES-style string an element carries (an 8-bit length).
pub const MAX_SDES_LEN: usize = 255;

fn exact<const N: usize>(bytes: &[u8]) -> Result<[u8; N], ParseError> {
    <[u8; N]>::try_from(bytes).map_err(|_| ParseError::Malformed("extension value length"))
}

fn write_all(bytes: &[u8], buf: &mut [u8]) -> Result<usize, WriteError> {
    let mut w = Writer::new(buf);
    w.bytes(bytes)?;
    Ok(w.pos())
}

/// A MID (RFC 8843 §15.2), rid or repaired rid (RFC 8852 §3.3-3.4): the
/// identifier's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesText<'a>(pub &'a str);

impl<'a> SdesText<'a> {
    /// Reads a MID, rid or repaired rid. The element carries the SDES
    /// item's value alone (RFC 7941), but some senders pad it with zero
    /// bytes: trailing NULs are dropped.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        let text = &bytes[..end];
        if text.is_empty() {
            return Err(ParseError::Malformed("empty SDES identifier"));
        }
        // A rid is alphanumeric (RFC 8852), with "-" and "_" allowed by
        // the SDP grammar of rid-id (RFC 8851), and a MID is an SDP token:
        // printable ASCII without spaces covers both.
        if !text.iter().all(|b| b.is_ascii_graphic()) {
            return Err(ParseError::Malformed("SDES identifier is not a token"));
        }
        std::str::from_utf8(text)
            .map(Self)
            .map_err(|_| ParseError::Malformed("SDES identifier is not text"))
    }

    /// Writes the identifier's bytes.
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        if self.0.is_empty() || self.0.len() > MAX_SDES_LEN {
            return Err(WriteError::Invalid("SDES identifier length"));
        }
        write_all(self.0.as_bytes(), buf)
    }
}

/// abs-send-time: a 24-bit 6.18 fixed-point time in seconds (6 bits of
/// seconds, 18 of fraction), wrapping every 64 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AbsSendTime(pub u32);

impl AbsSendTime {
    /// From a 64-bit NTP timestamp (32.32): its middle 24 bits.
    pub fn from_ntp(ntp: u64) -> Self {
        Self(((ntp >> 14) & 0xFF_FFFF) as u32)
    }

    /// Back to the NTP fixed-point form, within its 64-second window.
    pub fn to_ntp(self) -> u64 {
        u64::from(self.0) << 14
    }

    /// Reads the three bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let b = exact::<3>(bytes)?;
        Ok(Self(u32::from_be_bytes([0, b[0], b[1], b[2]])))
    }

    /// Writes the three bytes.
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        let mut w = Writer::new(buf);
        w.u24(self.0)?;
        Ok(w.pos())
    }
}

/// The transport-wide sequence number (draft-holmer-rmcat-transport-wide-
/// cc-extensions-01 §2: "16 bits ... transport-wide sequence number").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransportSequence(pub u16);

impl TransportSequence {
    /// Reads the two bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        Ok(Self(u16::from_be_bytes(exact::<2>(bytes)?)))
    }

    /// Writes the two bytes.
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        write_all(&self.0.to_be_bytes(), buf)
    }
}

/// RFC 6464 §3: the voice activity flag and the level in -dBov (0..=127).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SsrcAudioLevel {
    /// V: "the encoder believes the audio packet contains voice activity".
    pub voice: bool,
    /// "the magnitude of the audio level ... expressed in -dBov", 0..=127.
    pub level: u8,
}

impl SsrcAudioLevel {
    /// Reads the byte.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let [b] = exact::<1>(bytes)?;
        Ok(Self {
            voice: b & 0x80 != 0,
            level: b & 0x7F,
        })
    }

    /// Writes the byte.
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        if self.level > 0x7F {
            return Err(WriteError::Invalid("audio level above 127"));
        }
        write_all(&[u8::from(self.voice) << 7 | self.level], buf)
    }
}

/// RFC 6465 §3: one audio level per CSRC, in the CSRC list's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsrcAudioLevels<'a>(&'a [u8]);

impl<'a> CsrcAudioLevels<'a> {
    /// Reads 1..=15 levels.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        if bytes.is_empty() || bytes.len() > 15 {
            return Err(ParseError::Malformed("CSRC audio level count"));
        }
        Ok(Self(bytes))
    }

    /// The levels in -dBov. RFC 6465 §3: "The first bit ... is reserved
    /// ... MUST be set to zero ... and ignored" by receivers.
    pub fn levels(&self) -> impl Iterator<Item = u8> + 'a {
        self.0.iter().map(|b| b & 0x7F)
    }

    /// Writes 1..=15 levels (each 0..=127).
    pub fn write(levels: &[u8], buf: &mut [u8]) -> Result<usize, WriteError> {
        if levels.is_empty() || levels.len() > 15 || levels.iter().any(|&l| l > 0x7F) {
            return Err(WriteError::Invalid("CSRC audio levels"));
        }
        write_all(levels, buf)
    }
}

/// 3GPP TS 26.114 §7.4.5 CVO: camera, flip and rotation of the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VideoOrientation {
    /// C: the back-facing camera (false: front-facing).
    pub back_camera: bool,
    /// F: the frame is flipped horizontally.
    pub flip: bool,
    /// R1 R0: clockwise rotation in quarter turns (0..=3, 0 to 270 degrees).
    pub rotation: u8,
}

impl VideoOrientation {
    /// Reads the byte (0 0 0 0 C F R1 R0).
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let [b] = exact::<1>(bytes)?;
        Ok(Self {
            back_camera: b & 0x08 != 0,
            flip: b & 0x04 != 0,
            rotation: b & 0x03,
        })
    }

    /// The rotation in degrees.
    pub fn degrees(&self) -> u16 {
        u16::from(self.rotation) * 90
    }

    /// Writes the byte.
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        if self.rotation > 3 {
            return Err(WriteError::Invalid("rotation above 3 quarter turns"));
        }
        let b = u8::from(self.back_camera) << 3 | u8::from(self.flip) << 2 | self.rotation;
        write_all(&[b], buf)
    }
}

/// Playout delay limits: two 12-bit values in units of 10 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlayoutDelay {
    /// The minimum delay, in 10 ms units (0..=4095).
    pub min: u16,
    /// The maximum delay, in 10 ms units (0..=4095).
    pub max: u16,
}

impl PlayoutDelay {
    /// Reads the three bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let b = exact::<3>(bytes)?;
        let v = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        // Both fields are 12 bits: the casts cannot truncate.
        Ok(Self {
            min: (v >> 12) as u16,
            max: (v & 0xFFF) as u16,
        })
    }

    /// Writes the three bytes.
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        if self.min > 0xFFF || self.max > 0xFFF {
            return Err(WriteError::Invalid("playout delay above 4095"));
        }
        let mut w = Writer::new(buf);
        w.u24(u32::from(self.min) << 12 | u32::from(self.max))?;
        Ok(w.pos())
    }
}

/// Absolute capture time: the capture instant as a 64-bit NTP timestamp
/// (UQ32.32) and, optionally, the sender's estimate of the capturer's
/// clock offset (Q32.32, signed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AbsCaptureTime {
    /// The capture time in the capturer's NTP clock.
    pub timestamp: u64,
    /// The estimated capture clock offset.
    pub clock_offset: Option<i64>,
}

impl AbsCaptureTime {
    /// Reads 8 bytes, or 16 with the clock offset.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(bytes);
        let timestamp = r.u64()?;
        let clock_offset = match r.remaining() {
            0 => None,
            8 => Some(r.u64()? as i64),
            _ => return Err(ParseError::Malformed("abs-capture-time length")),
        };
        Ok(Self {
            timestamp,
            clock_offset,
        })
    }

    /// Writes 8 or 16 bytes.
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        let mut w = Writer::new(buf);
        w.u64(self.timestamp)?;
        if let Some(offset) = self.clock_offset {
            w.u64(offset as u64)?;
        }
        Ok(w.pos())
    }
}
