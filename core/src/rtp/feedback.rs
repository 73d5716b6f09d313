//! RTCP feedback messages (RFC 4585 §6.1 common format): generic NACK,
//! PLI, FIR (RFC 5104) and REMB (draft-alvestrand-rmcat-remb-03).
//!
//! RFC 4585 §6.1: every feedback message carries "SSRC of packet sender"
//! and "SSRC of media source" before its feedback control information.

use super::rtcp::{begin, end, packet_type, RawRtcp};
use super::{ParseError, Reader, WriteError, Writer};

/// Reads the two SSRCs of the common feedback format.
fn ssrcs(r: &mut Reader<'_>) -> Result<(u32, u32), ParseError> {
    Ok((r.u32()?, r.u32()?))
}

/// A generic NACK (RFC 4585 §6.2.1): lost RTP sequence numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nack<'a> {
    /// The sender of this feedback.
    pub sender_ssrc: u32,
    /// The stream whose packets are lost.
    pub media_ssrc: u32,
    items: &'a [u8],
}

impl<'a> Nack<'a> {
    /// RFC 4585 §6.2.1: "The Generic NACK message is identified by PT=RTPFB
    /// and FMT=1."
    pub const FMT: u8 = 1;

    pub(crate) fn decode(raw: RawRtcp<'a>) -> Result<Self, ParseError> {
        let mut r = Reader::new(raw.body);
        let (sender_ssrc, media_ssrc) = ssrcs(&mut r)?;
        let items = r.rest();
        // RFC 4585 §6.2.1: "The FCI field MUST contain at least one and MAY
        // contain more than one Generic NACK."
        if items.is_empty() || !items.len().is_multiple_of(4) {
            return Err(ParseError::Malformed("NACK FCI is not whole PID+BLP items"));
        }
        Ok(Self {
            sender_ssrc,
            media_ssrc,
            items,
        })
    }

    /// The (PID, BLP) pairs as sent.
    pub fn pairs(&self) -> impl Iterator<Item = (u16, u16)> + 'a {
        self.items.chunks_exact(4).map(|c| {
            (
                u16::from_be_bytes([c[0], c[1]]),
                u16::from_be_bytes([c[2], c[3]]),
            )
        })
    }

    /// Every sequence number reported lost, in wire order (at most 17 per
    /// pair, so bounded by the packet's size).
    pub fn sequences(&self) -> impl Iterator<Item = u16> + 'a {
        // RFC 4585 §6.2.1: "BLP: 16 bits ... Bit i of the bit mask is set to
        // 1 if the receiver has not received RTP packet number (PID+i+1)".
        self.pairs().flat_map(|(pid, blp)| {
            std::iter::once(pid).chain(
                (0..16u16)
                    .filter(move |i| blp & (1 << i) != 0)
                    .map(move |i| pid.wrapping_add(i + 1)),
            )
        })
    }

    /// Writes a NACK for `lost` sequence numbers, given in increasing order
    /// (wrapping); each run of 17 becomes one PID+BLP pair and a number
    /// repeating the previous one is skipped.
    pub fn write(
        sender_ssrc: u32,
        media_ssrc: u32,
        lost: &[u16],
        buf: &mut [u8],
    ) -> Result<usize, WriteError> {
        if lost.is_empty() {
            return Err(WriteError::Invalid("NACK for no packet"));
        }
        let mut w = Writer::new(buf);
        let start = begin(&mut w, Self::FMT, packet_type::RTPFB)?;
        w.u32(sender_ssrc)?;
        w.u32(media_ssrc)?;
        let mut pair: Option<(u16, u16)> = None;
        for &seq in lost {
            if let Some((pid, blp)) = &mut pair {
                let d = seq.wrapping_sub(*pid);
                if d == 0 {
                    continue;
                }
                if (1..=16).contains(&d) {
                    *blp |= 1 << (d - 1);
                    continue;
                }
                w.u16(*pid)?;
                w.u16(*blp)?;
            }
            pair = Some((seq, 0));
        }
        if let Some((pid, blp)) = pair {
            w.u16(pid)?;
            w.u16(blp)?;
        }
        end(&mut w, start)
    }
}

/// A picture loss indication (RFC 4585 §6.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pli {
    /// The sender of this feedback.
    pub sender_ssrc: u32,
    /// The stream that needs a key frame.
    pub media_ssrc: u32,
}

impl Pli {
    /// RFC 4585 §6.3.1: "PLI is identified by PT=PSFB and FMT=1."
    pub const FMT: u8 = 1;

    pub(crate) fn decode(raw: RawRtcp<'_>) -> Result<Self, ParseError> {
        let mut r = Reader::new(raw.body);
        let (sender_ssrc, media_ssrc) = ssrcs(&mut r)?;
        // RFC 4585 §6.3.1: "There MUST be exactly one PLI contained in the
        // FCI field." (it has no parameters)
        if r.remaining() != 0 {
            return Err(ParseError::Malformed("PLI with FCI"));
        }
        Ok(Self {
            sender_ssrc,
            media_ssrc,
        })
    }

    /// Writes the PLI.
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        let mut w = Writer::new(buf);
        let start = begin(&mut w, Self::FMT, packet_type::PSFB)?;
        w.u32(self.sender_ssrc)?;
        w.u32(self.media_ssrc)?;
        end(&mut w, start)
    }
}

/// One FIR request: a stream and the command's sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FirEntry {
    /// The stream that must send a decoder refresh point.
    pub ssrc: u32,
    /// The command sequence number (repeats are not new requests).
    pub sequence: u8,
}

/// A full intra request (RFC 5104 §4.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fir<'a> {
    /// The sender of this feedback.
    pub sender_ssrc: u32,
    entries: &'a [u8],
}

impl<'a> Fir<'a> {
    /// RFC 5104 §4.3.1.1: "FMT = 4".
    pub const FMT: u8 = 4;

    pub(crate) fn decode(raw: RawRtcp<'a>) -> Result<Self, ParseError> {
        let mut r = Reader::new(raw.body);
        // RFC 5104 §4.3.1.2: "The 'SSRC of media source' is not used and
        // SHALL be set to 0." Receivers ignore it.
        let (sender_ssrc, _) = ssrcs(&mut r)?;
        let entries = r.rest();
        // RFC 5104 §4.3.1.2: "The FCI field MUST contain one or more FIR
        // entries", each 8 bytes.
        if entries.is_empty() || !entries.len().is_multiple_of(8) {
            return Err(ParseError::Malformed("FIR FCI is not whole entries"));
        }
        Ok(Self {
            sender_ssrc,
            entries,
        })
    }

    /// The requests.
    pub fn entries(&self) -> impl Iterator<Item = FirEntry> + 'a {
        self.entries.chunks_exact(8).map(|c| FirEntry {
            ssrc: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
            sequence: c[4],
        })
    }

    /// Writes a FIR with one or more entries.
    pub fn write(
        sender_ssrc: u32,
        entries: &[FirEntry],
        buf: &mut [u8],
    ) -> Result<usize, WriteError> {
        if entries.is_empty() {
            return Err(WriteError::Invalid("FIR with no entry"));
        }
        let mut w = Writer::new(buf);
        let start = begin(&mut w, Self::FMT, packet_type::PSFB)?;
        w.u32(sender_ssrc)?;
        w.u32(0)?;
        for e in entries {
            w.u32(e.ssrc)?;
            // RFC 5104 §4.3.1.1: "Reserved: 24 bits. All bits SHALL be set
            // to 0 by the sender".
            w.u32(u32::from(e.sequence) << 24)?;
        }
        end(&mut w, start)
    }
}

/// A receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03
/// §2.2), an application layer feedback message (PSFB, FMT 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remb<'a> {
    /// The sender of this feedback.
    pub sender_ssrc: u32,
    /// The estimate in bits per second (saturated at `u64::MAX`).
    pub bitrate: u64,
    ssrcs: &'a [u8],
}

const REMB_ID: &[u8; 4] = b"REMB";

impl<'a> Remb<'a> {
    /// RFC 4585 §6.4: application layer feedback is FMT 15.
    pub const FMT: u8 = 15;

    /// Whether an AFB body carries the "REMB" identifier.
    pub(crate) fn is_remb(body: &[u8]) -> bool {
        body.get(8..12) == Some(&REMB_ID[..])
    }

    pub(crate) fn decode(raw: RawRtcp<'a>) -> Result<Self, ParseError> {
        let mut r = Reader::new(raw.body);
        let (sender_ssrc, _) = ssrcs(&mut r)?;
        if r.take(4)? != REMB_ID {
            return Err(ParseError::Malformed("AFB is not REMB"));
        }
        // draft-alvestrand-rmcat-remb-03 §2.2: "Num SSRC (8 bits): Number of
        // SSRCs in this message. BR Exp (6 bits) ... BR Mantissa (18 bits)
        // ... the maximum total media bit rate ... = mantissa * 2^exp".
        let num = usize::from(r.u8()?);
        let v = r.u24()?;
        let exp = v >> 18;
        let mantissa = u64::from(v & 0x3_FFFF);
        let bitrate = if mantissa == 0 {
            0
        } else if mantissa.leading_zeros() < exp {
            u64::MAX
        } else {
            mantissa << exp
        };
        let ssrcs = r.take(4 * num)?;
        Ok(Self {
            sender_ssrc,
            bitrate,
            ssrcs,
        })
    }

    /// The streams the estimate applies to.
    pub fn ssrcs(&self) -> impl Iterator<Item = u32> + 'a {
        self.ssrcs
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }

    /// Writes a REMB for up to 255 streams. The bitrate is rounded down to
    /// what an 18-bit mantissa carries.
    pub fn write(
        sender_ssrc: u32,
        bitrate: u64,
        ssrcs: &[u32],
        buf: &mut [u8],
    ) -> Result<usize, WriteError> {
        let num = u8::try_from(ssrcs.len())
            .map_err(|_| WriteError::Invalid("REMB for more than 255 streams"))?;
        let exp = (64 - bitrate.leading_zeros()).saturating_sub(18);
        let mantissa = (bitrate >> exp) as u32;
        let mut w = Writer::new(buf);
        let start = begin(&mut w, Self::FMT, packet_type::PSFB)?;
        w.u32(sender_ssrc)?;
        // draft-alvestrand-rmcat-remb-03 §2.2: "SSRC of media source:
        // always 0".
        w.u32(0)?;
        w.bytes(REMB_ID)?;
        w.u8(num)?;
        w.u24(exp << 18 | mantissa)?;
        for &s in ssrcs {
            w.u32(s)?;
        }
        end(&mut w, start)
    }
}
