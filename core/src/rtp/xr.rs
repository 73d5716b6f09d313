//! RTCP extended reports (RFC 3611): the receiver reference time (RRTR)
//! and DLRR blocks that give a receive-only endpoint its round-trip time.

use super::rtcp::{begin, end, packet_type, RawRtcp};
use super::{ParseError, Reader, WriteError, Writer};

/// RFC 3611 §4.4: "BT=4" receiver reference time report block.
pub const BT_RRTR: u8 = 4;
/// RFC 3611 §4.5: "BT=5" DLRR report block.
pub const BT_DLRR: u8 = 5;

/// One DLRR sub-block (RFC 3611 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DlrrItem {
    /// The receiver whose RRTR this answers.
    pub ssrc: u32,
    /// LRR: the middle 32 bits of that RRTR's NTP timestamp.
    pub last_rr: u32,
    /// DLRR: delay since it, in 1/65536 s.
    pub delay_since_last_rr: u32,
}

/// One report block of an XR packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XrBlock<'a> {
    /// A receiver reference time: an NTP timestamp (32.32).
    Rrtr(u64),
    /// DLRR sub-blocks.
    Dlrr(DlrrItems<'a>),
    /// Another block type: its type, type-specific byte and contents.
    Unknown {
        /// BT.
        block_type: u8,
        /// The type-specific byte.
        type_specific: u8,
        /// The block's contents after its 4-byte header.
        data: &'a [u8],
    },
}

/// The sub-blocks of a DLRR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlrrItems<'a>(&'a [u8]);

impl<'a> DlrrItems<'a> {
    /// The sub-blocks in order.
    pub fn iter(&self) -> impl Iterator<Item = DlrrItem> + 'a {
        self.0.chunks_exact(12).map(|c| DlrrItem {
            ssrc: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
            last_rr: u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
            delay_since_last_rr: u32::from_be_bytes([c[8], c[9], c[10], c[11]]),
        })
    }
}

/// An extended report packet (RFC 3611 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Xr<'a> {
    /// The originator's SSRC.
    pub ssrc: u32,
    blocks: &'a [u8],
}

fn read_block<'a>(r: &mut Reader<'a>) -> Result<XrBlock<'a>, ParseError> {
    let block_type = r.u8()?;
    let type_specific = r.u8()?;
    // RFC 3611 §3: "block length: 16 bits The length of this report block,
    // including the header, in 32-bit words minus one."
    let words = usize::from(r.u16()?);
    let data = r.take(4 * words)?;
    Ok(match block_type {
        BT_RRTR => {
            // RFC 3611 §4.4: "block length: 16 bits ... the constant 2".
            let mut d = Reader::new(data);
            let ntp = d.u64()?;
            if d.remaining() != 0 {
                return Err(ParseError::Malformed("RRTR block length is not 2"));
            }
            XrBlock::Rrtr(ntp)
        }
        BT_DLRR => {
            // RFC 3611 §4.5: "block length: 16 bits ... 3*n".
            if !data.len().is_multiple_of(12) {
                return Err(ParseError::Malformed("DLRR block length not 3*n"));
            }
            XrBlock::Dlrr(DlrrItems(data))
        }
        _ => XrBlock::Unknown {
            block_type,
            type_specific,
            data,
        },
    })
}

impl<'a> Xr<'a> {
    pub(crate) fn decode(raw: RawRtcp<'a>) -> Result<Self, ParseError> {
        let mut r = Reader::new(raw.body);
        let ssrc = r.u32()?;
        let blocks = r.rest();
        while r.remaining() > 0 {
            read_block(&mut r)?;
        }
        Ok(Self { ssrc, blocks })
    }

    /// The report blocks in order.
    pub fn blocks(&self) -> impl Iterator<Item = XrBlock<'a>> + 'a {
        let mut r = Reader::new(self.blocks);
        std::iter::from_fn(move || read_block(&mut r).ok())
    }

    /// Writes an XR with an optional RRTR block then an optional DLRR block.
    pub fn write(
        ssrc: u32,
        rrtr: Option<u64>,
        dlrr: &[DlrrItem],
        buf: &mut [u8],
    ) -> Result<usize, WriteError> {
        let mut w = Writer::new(buf);
        // RFC 3611 §2: "reserved: 5 bits ... MUST be set to zero".
        let start = begin(&mut w, 0, packet_type::XR)?;
        w.u32(ssrc)?;
        if let Some(ntp) = rrtr {
            w.u8(BT_RRTR)?;
            w.u8(0)?;
            w.u16(2)?;
            w.u64(ntp)?;
        }
        if !dlrr.is_empty() {
            let words = u16::try_from(dlrr.len() * 3)
                .map_err(|_| WriteError::Invalid("too many DLRR sub-blocks"))?;
            w.u8(BT_DLRR)?;
            w.u8(0)?;
            w.u16(words)?;
            for d in dlrr {
                w.u32(d.ssrc)?;
                w.u32(d.last_rr)?;
                w.u32(d.delay_since_last_rr)?;
            }
        }
        end(&mut w, start)
    }
}
