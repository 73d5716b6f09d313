//! RTP and RTCP wire codecs (RFC 3550, 8285, 3611, 4585, 5104, 5506 and the
//! WebRTC header extensions and feedback drafts).
//!
//! Codecs only, stateless: no sequence tracking, no jitter, no timers
//! (those belong to `media/` and `bwe/`).
//!
//! - Parsing reads borrowed bytes, checks the whole structure once and
//!   returns a view; after that no accessor or iterator can panic or fail.
//!   Parsing never allocates: lists (CSRCs, report blocks, NACK items,
//!   feedback statuses) are iterators over the packet's own bytes.
//! - Writing goes into the caller's buffer and returns the length written,
//!   or [`WriteError::BufferTooSmall`].
//!
//! Files: [`packet`] RTP header, [`ext`] RFC 8285 header extension blocks,
//! [`hdrext`] the typed extensions, [`rtcp`] compound packets with SR, RR,
//! SDES, BYE and APP, [`xr`] RFC 3611, [`feedback`] NACK, PLI, FIR and
//! REMB, [`twcc`] transport-wide congestion control feedback.

// Public for the fuzz targets only (see lib.rs). Nothing in the crate uses
// these codecs yet: the media layer (issue 14 item 2) is their user.
#![cfg_attr(not(fuzzing), allow(unreachable_pub, dead_code, unused_imports))]

pub mod ext;
pub mod feedback;
pub mod hdrext;
pub mod packet;
pub mod rtcp;
pub mod telephone_event;
#[cfg(test)]
mod tests;
pub mod twcc;
pub mod xr;

pub use ext::{write_extensions, ExtensionForm, Extensions};
pub use packet::{RtpHeader, RtpPacket};
pub use rtcp::{RtcpCompound, RtcpPacket};

/// Why bytes are not a valid RTP or RTCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The bytes end before a header, a length field or a count says.
    #[error("truncated")]
    Truncated,
    /// The version field is not 2.
    #[error("RTP/RTCP version is not 2")]
    Version,
    /// The padding count is zero or covers more than the packet.
    #[error("bad padding")]
    Padding,
    /// A field breaks its specification's rule (named).
    #[error("malformed: {0}")]
    Malformed(&'static str),
}

/// Why a packet could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The caller's buffer is too small.
    #[error("buffer too small")]
    BufferTooSmall,
    /// A value does not fit its wire field (named).
    #[error("cannot encode: {0}")]
    Invalid(&'static str),
}

/// Reads big-endian fields from borrowed bytes, failing with
/// [`ParseError::Truncated`] past the end.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        if n > self.rest.len() {
            return Err(ParseError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ParseError> {
        let (&b, tail) = self.rest.split_first().ok_or(ParseError::Truncated)?;
        self.rest = tail;
        Ok(b)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, ParseError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u24(&mut self) -> Result<u32, ParseError> {
        let b = self.take(3)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ParseError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, ParseError> {
        Ok(u64::from(self.u32()?) << 32 | u64::from(self.u32()?))
    }
}

/// Writes big-endian fields into a caller's buffer, failing with
/// [`WriteError::BufferTooSmall`] past its end.
#[derive(Debug)]
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        let end = self
            .pos
            .checked_add(bytes.len())
            .ok_or(WriteError::BufferTooSmall)?;
        self.buf
            .get_mut(self.pos..end)
            .ok_or(WriteError::BufferTooSmall)?
            .copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    pub(crate) fn zeros(&mut self, n: usize) -> Result<(), WriteError> {
        let end = self.pos.checked_add(n).ok_or(WriteError::BufferTooSmall)?;
        self.buf
            .get_mut(self.pos..end)
            .ok_or(WriteError::BufferTooSmall)?
            .fill(0);
        self.pos = end;
        Ok(())
    }

    pub(crate) fn u8(&mut self, v: u8) -> Result<(), WriteError> {
        self.bytes(&[v])
    }

    pub(crate) fn u16(&mut self, v: u16) -> Result<(), WriteError> {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn u24(&mut self, v: u32) -> Result<(), WriteError> {
        if v > 0xFF_FFFF {
            return Err(WriteError::Invalid("24-bit field"));
        }
        self.bytes(&v.to_be_bytes()[1..])
    }

    pub(crate) fn u32(&mut self, v: u32) -> Result<(), WriteError> {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn u64(&mut self, v: u64) -> Result<(), WriteError> {
        self.bytes(&v.to_be_bytes())
    }

    /// Overwrites two bytes already written (a length field filled in last).
    pub(crate) fn patch_u16(&mut self, at: usize, v: u16) -> Result<(), WriteError> {
        let end = at.checked_add(2).ok_or(WriteError::BufferTooSmall)?;
        if end > self.pos {
            return Err(WriteError::BufferTooSmall);
        }
        self.buf
            .get_mut(at..end)
            .ok_or(WriteError::BufferTooSmall)?
            .copy_from_slice(&v.to_be_bytes());
        Ok(())
    }

    /// Zero bytes up to the next multiple of four.
    pub(crate) fn pad4(&mut self) -> Result<(), WriteError> {
        self.zeros((4 - self.pos % 4) % 4)
    }
}
