//! The RTP fixed header (RFC 3550 §5.1, §5.3.1): a parsed view borrowing
//! the payload, and a writer.

use super::ext::{write_block, Extensions};
use super::{ParseError, Reader, WriteError, Writer};

/// The fixed header's size, before CSRCs and the extension.
pub const FIXED_HEADER_LEN: usize = 12;

/// The most CSRCs a header carries (a 4-bit count).
pub const MAX_CSRC: usize = 15;

/// A parsed RTP packet, borrowing the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The marker bit (M).
    pub marker: bool,
    /// The payload type (7 bits).
    pub payload_type: u8,
    /// The sequence number.
    pub sequence: u16,
    /// The RTP timestamp, in the payload format's media clock.
    pub timestamp: u32,
    /// The synchronization source.
    pub ssrc: u32,
    csrc: &'a [u8],
    extensions: Option<Extensions<'a>>,
    /// The payload, without padding.
    pub payload: &'a [u8],
    /// How many padding bytes followed the payload, count byte included (0
    /// without the P bit).
    pub padding: u8,
    /// The header's length: fixed header, CSRCs and extension block.
    pub header_len: usize,
}

impl<'a> RtpPacket<'a> {
    /// Parses and checks a whole RTP packet.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(bytes);
        let b0 = r.u8()?;
        let b1 = r.u8()?;
        // RFC 3550 §5.1: "version (V): 2 bits ... The version defined by
        // this specification is two (2)."
        if b0 >> 6 != 2 {
            return Err(ParseError::Version);
        }
        let has_padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let csrc_count = usize::from(b0 & 0x0F);
        let sequence = r.u16()?;
        let timestamp = r.u32()?;
        let ssrc = r.u32()?;
        // RFC 3550 §5.1: "CSRC count (CC): 4 bits ... the number of CSRC
        // identifiers that follow the fixed header."
        let csrc = r.take(4 * csrc_count)?;
        let extensions = if has_extension {
            // RFC 3550 §5.3.1: "a 16-bit length field that counts the
            // number of 32-bit words in the extension, excluding the
            // four-octet extension header".
            let profile = r.u16()?;
            let words = usize::from(r.u16()?);
            Some(Extensions::parse(profile, r.take(4 * words)?)?)
        } else {
            None
        };
        let header_len = bytes.len() - r.remaining();
        let mut body = r.rest();
        let mut padding = 0;
        if has_padding {
            // RFC 3550 §5.1: "The last octet of the padding contains a count
            // of how many padding octets should be ignored, including
            // itself."
            let &count = body.last().ok_or(ParseError::Padding)?;
            if count == 0 || usize::from(count) > body.len() {
                return Err(ParseError::Padding);
            }
            body = &body[..body.len() - usize::from(count)];
            padding = count;
        }
        Ok(Self {
            marker: b1 & 0x80 != 0,
            payload_type: b1 & 0x7F,
            sequence,
            timestamp,
            ssrc,
            csrc,
            extensions,
            payload: body,
            padding,
            header_len,
        })
    }

    /// The contributing sources, in order.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        self.csrc
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }

    /// How many CSRCs the header lists.
    pub fn csrc_count(&self) -> usize {
        self.csrc.len() / 4
    }

    /// The header extension block, if the X bit was set.
    pub fn extensions(&self) -> Option<Extensions<'a>> {
        self.extensions
    }

    /// The value of the RFC 8285 element with this negotiated id.
    pub fn extension(&self, id: u8) -> Option<&'a [u8]> {
        self.extensions?.get(id)
    }
}

/// An RTP header to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtpHeader<'a> {
    /// The marker bit (M).
    pub marker: bool,
    /// The payload type, 0..=127.
    pub payload_type: u8,
    /// The sequence number.
    pub sequence: u16,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The synchronization source.
    pub ssrc: u32,
    /// Up to 15 contributing sources.
    pub csrc: &'a [u32],
    /// RFC 8285 elements (id, value); none means no extension block.
    pub extensions: &'a [(u8, &'a [u8])],
}

impl RtpHeader<'_> {
    /// Writes the header, the payload and `padding` padding bytes (count
    /// byte included; 0 for none), returning the packet's length.
    pub fn write(&self, payload: &[u8], padding: u8, buf: &mut [u8]) -> Result<usize, WriteError> {
        if self.payload_type > 0x7F {
            return Err(WriteError::Invalid("payload type above 127"));
        }
        if self.csrc.len() > MAX_CSRC {
            return Err(WriteError::Invalid("more than 15 CSRCs"));
        }
        let mut w = Writer::new(buf);
        let x = if self.extensions.is_empty() { 0 } else { 0x10 };
        let p = if padding == 0 { 0 } else { 0x20 };
        // The length check above keeps the count in 4 bits.
        w.u8(0x80 | p | x | self.csrc.len() as u8)?;
        w.u8(u8::from(self.marker) << 7 | self.payload_type)?;
        w.u16(self.sequence)?;
        w.u32(self.timestamp)?;
        w.u32(self.ssrc)?;
        for &c in self.csrc {
            w.u32(c)?;
        }
        if !self.extensions.is_empty() {
            write_block(self.extensions, &mut w)?;
        }
        w.bytes(payload)?;
        if padding > 0 {
            w.zeros(usize::from(padding) - 1)?;
            w.u8(padding)?;
        }
        Ok(w.pos())
    }
}
