//! Transport-wide congestion control feedback
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): RTPFB, FMT 15.
//!
//! The statuses of `packet status count` packets from `base sequence
//! number` on, as run-length and status-vector chunks, then a receive delta
//! for each received packet, in 250 µs ticks: the first relative to the
//! reference time (a multiple of 64 ms), each next relative to the previous
//! received packet.

use super::rtcp::{begin, end, packet_type, RawRtcp};
use super::{ParseError, Reader, WriteError, Writer};

/// One packet's status: its transport-wide sequence number and, if it was
/// received, its receive delta in 250 µs ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketStatus {
    /// The transport-wide sequence number.
    pub sequence: u16,
    /// The receive delta in 250 µs ticks, or `None` if not received.
    pub delta: Option<i16>,
}

// §3.1.1: "00 Packet not received, 01 Packet received, small delta, 10
// Packet received, large or negative delta, 11 [Reserved]".
const NOT_RECEIVED: u16 = 0;
const SMALL: u16 = 1;
const LARGE: u16 = 2;

/// A transport-wide CC feedback message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportCc<'a> {
    /// The sender of this feedback.
    pub sender_ssrc: u32,
    /// The media source (usually the first stream; feedback covers all).
    pub media_ssrc: u32,
    /// The first packet's transport-wide sequence number.
    pub base_sequence: u16,
    /// How many packets the feedback covers.
    pub status_count: u16,
    /// The reference time in multiples of 64 ms (24-bit signed).
    pub reference_time: i32,
    /// The feedback packet's own counter, to detect lost feedback.
    pub feedback_count: u8,
    chunks: &'a [u8],
    deltas: &'a [u8],
}

/// Walks chunks and deltas together; after validation it cannot fail.
#[derive(Debug, Clone)]
struct Walk<'a> {
    chunks: Reader<'a>,
    deltas: Reader<'a>,
    chunk: u16,
    used: u16,
    remaining: u16,
    sequence: u16,
}

fn capacity(chunk: u16) -> u16 {
    if chunk & 0x8000 == 0 {
        // §3.1.3: run length chunk, "Run Length (13 bits)".
        chunk & 0x1FFF
    } else if chunk & 0x4000 == 0 {
        // §3.1.4: a status vector chunk whose symbol size bit is 0 holds
        // 14 one-bit symbols (not received, received with a small delta).
        14
    } else {
        // ... and with the size bit 1, seven two-bit symbols.
        7
    }
}

fn symbol(chunk: u16, i: u16) -> u16 {
    if chunk & 0x8000 == 0 {
        (chunk >> 13) & 3
    } else if chunk & 0x4000 == 0 {
        (chunk >> (13 - i)) & 1
    } else {
        (chunk >> (12 - 2 * i)) & 3
    }
}

impl<'a> Walk<'a> {
    fn next_status(&mut self) -> Result<Option<PacketStatus>, ParseError> {
        if self.remaining == 0 {
            return Ok(None);
        }
        while self.used >= capacity(self.chunk) {
            self.chunk = self.chunks.u16()?;
            self.used = 0;
        }
        let delta = match symbol(self.chunk, self.used) {
            NOT_RECEIVED => None,
            // §3.1.5: a "received, small delta" symbol has a one-byte
            // unsigned receive delta, in 250 µs ticks ...
            SMALL => Some(i16::from(self.deltas.u8()?)),
            // ... a "received, large or negative delta" one a two-byte
            // signed delta.
            LARGE => Some(self.deltas.u16()? as i16),
            _ => return Err(ParseError::Malformed("TWCC reserved status symbol")),
        };
        self.used += 1;
        self.remaining -= 1;
        let sequence = self.sequence;
        self.sequence = sequence.wrapping_add(1);
        Ok(Some(PacketStatus { sequence, delta }))
    }
}

impl<'a> TransportCc<'a> {
    /// draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1: "FMT=15".
    pub const FMT: u8 = 15;

    pub(crate) fn decode(raw: RawRtcp<'a>) -> Result<Self, ParseError> {
        let mut r = Reader::new(raw.body);
        let sender_ssrc = r.u32()?;
        let media_ssrc = r.u32()?;
        let base_sequence = r.u16()?;
        let status_count = r.u16()?;
        let reference = r.u24()?;
        // "reference time: 24 bits Signed integer indicating an absolute
        // reference time in some (unknown) time base chosen by the sender
        // of the feedback packets. The value is to be interpreted in
        // multiples of 64ms."
        let reference_time = ((reference << 8) as i32) >> 8;
        let feedback_count = r.u8()?;
        // One pass over the chunks finds where the deltas start; a second
        // checks the deltas. Both are bounded by the status count (at most
        // 65535 steps) and allocate nothing.
        let body = r.rest();
        let mut walk = Walk {
            chunks: Reader::new(body),
            deltas: Reader::new(&[]),
            chunk: 0,
            used: 0,
            remaining: status_count,
            sequence: base_sequence,
        };
        let mut delta_len = 0usize;
        // Count the chunk bytes by walking symbols without deltas.
        while walk.remaining > 0 {
            while walk.used >= capacity(walk.chunk) {
                walk.chunk = walk.chunks.u16()?;
                walk.used = 0;
            }
            delta_len += match symbol(walk.chunk, walk.used) {
                NOT_RECEIVED => 0,
                SMALL => 1,
                LARGE => 2,
                _ => return Err(ParseError::Malformed("TWCC reserved status symbol")),
            };
            walk.used += 1;
            walk.remaining -= 1;
        }
        let chunks_len = body.len() - walk.chunks.remaining();
        let mut rest = Reader::new(&body[chunks_len..]);
        let deltas = rest.take(delta_len)?;
        // §3.1: the deltas are followed by "zero padding" to 32 bits.
        if rest.remaining() > 3 {
            return Err(ParseError::Malformed("TWCC bytes after the deltas"));
        }
        Ok(Self {
            sender_ssrc,
            media_ssrc,
            base_sequence,
            status_count,
            reference_time,
            feedback_count,
            chunks: &body[..chunks_len],
            deltas,
        })
    }

    /// The status of every covered packet, in sequence order.
    pub fn statuses(&self) -> impl Iterator<Item = PacketStatus> + 'a {
        let mut walk = Walk {
            chunks: Reader::new(self.chunks),
            deltas: Reader::new(self.deltas),
            chunk: 0,
            used: 0,
            remaining: self.status_count,
            sequence: self.base_sequence,
        };
        std::iter::from_fn(move || walk.next_status().ok().flatten())
    }

    /// Writes feedback for `statuses.len()` packets from `base_sequence`,
    /// each `None` (lost) or its receive delta in 250 µs ticks.
    /// `reference_time` is in 64 ms units and must fit 24 signed bits.
    pub fn write(
        sender_ssrc: u32,
        media_ssrc: u32,
        base_sequence: u16,
        reference_time: i32,
        feedback_count: u8,
        statuses: &[Option<i16>],
        buf: &mut [u8],
    ) -> Result<usize, WriteError> {
        let count = u16::try_from(statuses.len())
            .map_err(|_| WriteError::Invalid("TWCC status count above 65535"))?;
        if !(-(1 << 23)..(1 << 23)).contains(&reference_time) {
            return Err(WriteError::Invalid("TWCC reference time outside 24 bits"));
        }
        let sym = |s: &Option<i16>| match *s {
            None => NOT_RECEIVED,
            Some(d) if (0..=255).contains(&d) => SMALL,
            Some(_) => LARGE,
        };
        let mut w = Writer::new(buf);
        let start = begin(&mut w, Self::FMT, packet_type::RTPFB)?;
        w.u32(sender_ssrc)?;
        w.u32(media_ssrc)?;
        w.u16(base_sequence)?;
        w.u16(count)?;
        w.u24(reference_time as u32 & 0xFF_FFFF)?;
        w.u8(feedback_count)?;
        let mut i = 0;
        while i < statuses.len() {
            let rest = &statuses[i..];
            let first = sym(&rest[0]);
            let run = rest
                .iter()
                .take(0x1FFF)
                .take_while(|s| sym(s) == first)
                .count();
            let one_bit = rest.iter().take(14).take_while(|s| sym(s) != LARGE).count();
            if run >= 14 || run == rest.len() {
                // The cast keeps 13 bits: `run` is at most 0x1FFF.
                w.u16(first << 13 | run as u16)?;
                i += run;
            } else if one_bit == 14 || one_bit == rest.len() {
                let mut chunk = 0x8000u16;
                for (k, s) in rest.iter().take(one_bit).enumerate() {
                    chunk |= sym(s) << (13 - k);
                }
                w.u16(chunk)?;
                i += one_bit;
            } else {
                let n = rest.len().min(7);
                let mut chunk = 0xC000u16;
                for (k, s) in rest.iter().take(n).enumerate() {
                    chunk |= sym(s) << (12 - 2 * k);
                }
                w.u16(chunk)?;
                i += n;
            }
        }
        for s in statuses {
            match (sym(s), *s) {
                (SMALL, Some(d)) => w.u8(d as u8)?,
                (LARGE, Some(d)) => w.u16(d as u16)?,
                _ => {}
            }
        }
        end(&mut w, start)
    }
}
