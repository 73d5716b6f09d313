//! RTCP (RFC 3550 §6): compound packets, reduced-size packets (RFC 5506),
//! and the report packets SR, RR, SDES, BYE and APP.
//!
//! [`RtcpCompound::parse`] checks every packet of a datagram once (lengths,
//! padding, counts, and each known type's body); then
//! [`RtcpCompound::packets`] walks them without failing. Feedback types
//! live in [`super::feedback`] and [`super::twcc`], XR in [`super::xr`].

use super::feedback::{Fir, Nack, Pli, Remb};
use super::twcc::TransportCc;
use super::xr::{Xr, XrBlock};
use super::{ParseError, Reader, WriteError, Writer};

/// RTCP packet types (RFC 3550 §12.1, RFC 4585 §6.1, RFC 3611 §2).
pub mod packet_type {
    /// Sender report.
    pub const SR: u8 = 200;
    /// Receiver report.
    pub const RR: u8 = 201;
    /// Source description.
    pub const SDES: u8 = 202;
    /// Goodbye.
    pub const BYE: u8 = 203;
    /// Application-defined.
    pub const APP: u8 = 204;
    /// Transport-layer feedback (RFC 4585).
    pub const RTPFB: u8 = 205;
    /// Payload-specific feedback (RFC 4585).
    pub const PSFB: u8 = 206;
    /// Extended reports (RFC 3611).
    pub const XR: u8 = 207;
}

/// SDES item types (RFC 3550 §6.5).
pub mod sdes_type {
    /// Canonical end-point identifier.
    pub const CNAME: u8 = 1;
    /// User name.
    pub const NAME: u8 = 2;
    /// Electronic mail address.
    pub const EMAIL: u8 = 3;
    /// Phone number.
    pub const PHONE: u8 = 4;
    /// Geographic location.
    pub const LOC: u8 = 5;
    /// Application or tool name.
    pub const TOOL: u8 = 6;
    /// Notice or status.
    pub const NOTE: u8 = 7;
    /// Private extensions.
    pub const PRIV: u8 = 8;
}

/// The RTCP common header's size.
pub const HEADER_LEN: usize = 4;

/// The most report blocks, SSRCs or chunks a 5-bit count allows.
pub const MAX_COUNT: usize = 31;

/// One RTCP packet as framed by the common header: its 5-bit count (or
/// FMT) field, type and body (after the header, without padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRtcp<'a> {
    /// The 5-bit RC, SC or FMT field.
    pub count: u8,
    /// The packet type.
    pub packet_type: u8,
    /// The bytes after the 4-byte header, without padding.
    pub body: &'a [u8],
}

/// Splits the first packet of a compound off `rest`.
fn split_packet<'a>(rest: &mut &'a [u8]) -> Result<RawRtcp<'a>, ParseError> {
    let mut r = Reader::new(rest);
    let b0 = r.u8()?;
    let packet_type = r.u8()?;
    // RFC 3550 §6.4.1: "version (V): 2 bits ... The version defined by this
    // specification is two (2)."
    if b0 >> 6 != 2 {
        return Err(ParseError::Version);
    }
    // RFC 3550 §6.4.1: "length: 16 bits The length of this RTCP packet in
    // 32-bit words minus one, including the header and any padding."
    let total = (usize::from(r.u16()?) + 1) * 4;
    let body = r.take(total - HEADER_LEN)?;
    let mut body_end = body.len();
    if b0 & 0x20 != 0 {
        // RFC 3550 §6.4.1: "The last octet of the padding is a count of how
        // many padding octets should be ignored, including itself".
        let &count = body.last().ok_or(ParseError::Padding)?;
        if count == 0 || usize::from(count) > body.len() {
            return Err(ParseError::Padding);
        }
        // RFC 3550 §6.4.1: "padding MUST only be added to the last
        // individual packet", and A.2: "padding should only be applied, if
        // it is needed, to the last packet".
        if r.remaining() != 0 {
            return Err(ParseError::Malformed("padding before the last packet"));
        }
        body_end -= usize::from(count);
    }
    *rest = r.rest();
    Ok(RawRtcp {
        count: b0 & 0x1F,
        packet_type,
        body: &body[..body_end],
    })
}

/// One parsed RTCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    /// Sender report (RFC 3550 §6.4.1).
    SenderReport(SenderReport<'a>),
    /// Receiver report (RFC 3550 §6.4.2).
    ReceiverReport(ReceiverReport<'a>),
    /// Source description (RFC 3550 §6.5).
    Sdes(Sdes<'a>),
    /// Goodbye (RFC 3550 §6.6).
    Bye(Bye<'a>),
    /// Application-defined (RFC 3550 §6.7).
    App(App<'a>),
    /// Extended reports (RFC 3611).
    Xr(Xr<'a>),
    /// Generic NACK (RFC 4585 §6.2.1).
    Nack(Nack<'a>),
    /// Picture loss indication (RFC 4585 §6.3.1).
    Pli(Pli),
    /// Full intra request (RFC 5104 §4.3.1).
    Fir(Fir<'a>),
    /// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb).
    Remb(Remb<'a>),
    /// Transport-wide congestion control feedback.
    TransportCc(TransportCc<'a>),
    /// A type or feedback format this codec does not know.
    Unknown(RawRtcp<'a>),
}

impl<'a> RtcpPacket<'a> {
    /// Decodes one framed packet's body by its type.
    pub fn decode(raw: RawRtcp<'a>) -> Result<Self, ParseError> {
        use packet_type as t;
        Ok(match (raw.packet_type, raw.count) {
            (t::SR, _) => Self::SenderReport(SenderReport::decode(raw)?),
            (t::RR, _) => Self::ReceiverReport(ReceiverReport::decode(raw)?),
            (t::SDES, _) => Self::Sdes(Sdes::decode(raw)?),
            (t::BYE, _) => Self::Bye(Bye::decode(raw)?),
            (t::APP, _) => Self::App(App::decode(raw)?),
            (t::XR, _) => Self::Xr(Xr::decode(raw)?),
            (t::RTPFB, Nack::FMT) => Self::Nack(Nack::decode(raw)?),
            (t::RTPFB, TransportCc::FMT) => Self::TransportCc(TransportCc::decode(raw)?),
            (t::PSFB, Pli::FMT) => Self::Pli(Pli::decode(raw)?),
            (t::PSFB, Fir::FMT) => Self::Fir(Fir::decode(raw)?),
            (t::PSFB, Remb::FMT) if Remb::is_remb(raw.body) => Self::Remb(Remb::decode(raw)?),
            _ => Self::Unknown(raw),
        })
    }

    /// Writes this packet again from its parsed fields (what an SFU does
    /// when it forwards or rewrites RTCP). `None` for a packet this codec
    /// does not know; XR keeps its first RRTR and every DLRR sub-block,
    /// and drops block types it does not know. The writers pick their own
    /// encoding (NACK, REMB and TWCC may differ in bytes, not in fields).
    pub fn write(&self, buf: &mut [u8]) -> Option<Result<usize, WriteError>> {
        Some(match self {
            Self::SenderReport(sr) => {
                let blocks: Vec<_> = sr.report_blocks().collect();
                SenderReport::write(sr.ssrc, &sr.info, &blocks, buf)
            }
            Self::ReceiverReport(rr) => {
                let blocks: Vec<_> = rr.report_blocks().collect();
                ReceiverReport::write(rr.ssrc, &blocks, buf)
            }
            Self::Sdes(sdes) => {
                let chunks: Vec<(u32, Vec<SdesItemToWrite<'_>>)> = sdes
                    .chunks()
                    .map(|c| (c.ssrc, c.items().map(|i| (i.kind, i.value)).collect()))
                    .collect();
                let refs: Vec<SdesChunkToWrite<'_>> = chunks
                    .iter()
                    .map(|(ssrc, items)| (*ssrc, &items[..]))
                    .collect();
                Sdes::write(&refs, buf)
            }
            Self::Bye(bye) => Bye::write(&bye.ssrcs().collect::<Vec<_>>(), bye.reason, buf),
            Self::App(app) => app.write(buf),
            Self::Xr(xr) => {
                let mut rrtr = None;
                let mut dlrr = Vec::new();
                for block in xr.blocks() {
                    match block {
                        XrBlock::Rrtr(ntp) => {
                            rrtr.get_or_insert(ntp);
                        }
                        XrBlock::Dlrr(items) => dlrr.extend(items.iter()),
                        XrBlock::Unknown { .. } => {}
                    }
                }
                Xr::write(xr.ssrc, rrtr, &dlrr, buf)
            }
            Self::Nack(nack) => {
                let seqs: Vec<u16> = nack.sequences().collect();
                Nack::write(nack.sender_ssrc, nack.media_ssrc, &seqs, buf)
            }
            Self::Pli(pli) => pli.write(buf),
            Self::Fir(fir) => Fir::write(fir.sender_ssrc, &fir.entries().collect::<Vec<_>>(), buf),
            Self::Remb(remb) => Remb::write(
                remb.sender_ssrc,
                remb.bitrate,
                &remb.ssrcs().collect::<Vec<_>>(),
                buf,
            ),
            Self::TransportCc(cc) => {
                let statuses: Vec<_> = cc.statuses().map(|s| s.delta).collect();
                TransportCc::write(
                    cc.sender_ssrc,
                    cc.media_ssrc,
                    cc.base_sequence,
                    cc.reference_time,
                    cc.feedback_count,
                    &statuses,
                    buf,
                )
            }
            Self::Unknown(_) => return None,
        })
    }
}

/// A validated RTCP datagram: a compound packet or, where negotiated, a
/// reduced-size one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpCompound<'a> {
    bytes: &'a [u8],
}

impl<'a> RtcpCompound<'a> {
    /// Checks every packet. RFC 3550 §6.1: "The first RTCP packet in the
    /// compound packet must always be a report packet"; RFC 5506 lifts that
    /// rule for a session that negotiated reduced size (`a=rtcp-rsize`,
    /// `allow_reduced_size`), where a datagram may hold a single packet of
    /// any type (a lone feedback message, say).
    pub fn parse(bytes: &'a [u8], allow_reduced_size: bool) -> Result<Self, ParseError> {
        let mut rest = bytes;
        let mut first = true;
        loop {
            let raw = split_packet(&mut rest)?;
            if first
                && !allow_reduced_size
                && raw.packet_type != packet_type::SR
                && raw.packet_type != packet_type::RR
            {
                return Err(ParseError::Malformed("compound RTCP not led by SR or RR"));
            }
            first = false;
            RtcpPacket::decode(raw)?;
            if rest.is_empty() {
                return Ok(Self { bytes });
            }
        }
    }

    /// The datagram's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The packets in order.
    pub fn packets(&self) -> impl Iterator<Item = RtcpPacket<'a>> + 'a {
        let mut rest = self.bytes;
        // Validated by `parse`: neither step can fail here.
        std::iter::from_fn(move || RtcpPacket::decode(split_packet(&mut rest).ok()?).ok())
    }
}

/// Starts a packet: the header with a zero length, patched by [`end`].
pub(crate) fn begin(w: &mut Writer<'_>, count: u8, packet_type: u8) -> Result<usize, WriteError> {
    if count > 0x1F {
        return Err(WriteError::Invalid("RTCP count above 31"));
    }
    let start = w.pos();
    w.u8(0x80 | count)?;
    w.u8(packet_type)?;
    w.u16(0)?;
    Ok(start)
}

/// Pads the packet begun at `start` to 32 bits and fills in its length.
pub(crate) fn end(w: &mut Writer<'_>, start: usize) -> Result<usize, WriteError> {
    w.pad4()?;
    let words = u16::try_from((w.pos() - start) / 4 - 1)
        .map_err(|_| WriteError::Invalid("RTCP packet longer than 65536 words"))?;
    w.patch_u16(start + 2, words)?;
    Ok(w.pos() - start)
}

fn count_of(n: usize, what: &'static str) -> Result<u8, WriteError> {
    if n > MAX_COUNT {
        return Err(WriteError::Invalid(what));
    }
    Ok(n as u8)
}

/// The sender information of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SenderInfo {
    /// NTP timestamp (32.32) of the report's sending wall-clock time.
    pub ntp_time: u64,
    /// The same instant in the stream's RTP timestamp units.
    pub rtp_time: u32,
    /// Packets sent since the stream started.
    pub packet_count: u32,
    /// Payload octets sent since the stream started.
    pub octet_count: u32,
}

/// A reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the last report, as a fixed point number / 256.
    pub fraction_lost: u8,
    /// Cumulative packets lost: "a 24-bit signed integer" (may be negative
    /// with duplicates).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_sequence: u32,
    /// Interarrival jitter, in RTP timestamp units.
    pub jitter: u32,
    /// LSR: the middle 32 bits of the last SR's NTP timestamp.
    pub last_sr: u32,
    /// DLSR: delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

/// One report block's wire size.
pub const REPORT_BLOCK_LEN: usize = 24;

impl ReportBlock {
    fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        let ssrc = r.u32()?;
        let lost = r.u32()?;
        // Sign-extend the 24-bit field.
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        Ok(Self {
            ssrc,
            fraction_lost: (lost >> 24) as u8,
            cumulative_lost,
            highest_sequence: r.u32()?,
            jitter: r.u32()?,
            last_sr: r.u32()?,
            delay_since_last_sr: r.u32()?,
        })
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        if !(-(1 << 23)..(1 << 23)).contains(&self.cumulative_lost) {
            return Err(WriteError::Invalid("cumulative lost outside 24 bits"));
        }
        w.u32(self.ssrc)?;
        w.u32(u32::from(self.fraction_lost) << 24 | (self.cumulative_lost as u32 & 0xFF_FFFF))?;
        w.u32(self.highest_sequence)?;
        w.u32(self.jitter)?;
        w.u32(self.last_sr)?;
        w.u32(self.delay_since_last_sr)
    }
}

fn report_blocks(bytes: &[u8]) -> impl Iterator<Item = ReportBlock> + '_ {
    bytes
        .chunks_exact(REPORT_BLOCK_LEN)
        .filter_map(|c| ReportBlock::read(&mut Reader::new(c)).ok())
}

/// A sender report (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReport<'a> {
    /// The sender's SSRC.
    pub ssrc: u32,
    /// The sender information.
    pub info: SenderInfo,
    blocks: &'a [u8],
    /// "profile-specific extensions" after the report blocks.
    pub extension: &'a [u8],
}

impl<'a> SenderReport<'a> {
    fn decode(raw: RawRtcp<'a>) -> Result<Self, ParseError> {
        let mut r = Reader::new(raw.body);
        let ssrc = r.u32()?;
        let info = SenderInfo {
            ntp_time: r.u64()?,
            rtp_time: r.u32()?,
            packet_count: r.u32()?,
            octet_count: r.u32()?,
        };
        // RFC 3550 §6.4.1: "reception report count (RC): 5 bits The number
        // of reception report blocks contained in this packet."
        let blocks = r.take(usize::from(raw.count) * REPORT_BLOCK_LEN)?;
        Ok(Self {
            ssrc,
            info,
            blocks,
            extension: r.rest(),
        })
    }

    /// The reception report blocks.
    pub fn report_blocks(&self) -> impl Iterator<Item = ReportBlock> + 'a {
        report_blocks(self.blocks)
    }

    /// Writes an SR with up to 31 report blocks.
    pub fn write(
        ssrc: u32,
        info: &SenderInfo,
        blocks: &[ReportBlock],
        buf: &mut [u8],
    ) -> Result<usize, WriteError> {
        let mut w = Writer::new(buf);
        let start = begin(
            &mut w,
            count_of(blocks.len(), "more than 31 report blocks")?,
            packet_type::SR,
        )?;
        w.u32(ssrc)?;
        w.u64(info.ntp_time)?;
        w.u32(info.rtp_time)?;
        w.u32(info.packet_count)?;
        w.u32(info.octet_count)?;
        for b in blocks {
            b.write(&mut w)?;
        }
        end(&mut w, start)
    }
}

/// A receiver report (RFC 3550 §6.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverReport<'a> {
    /// The reporter's SSRC.
    pub ssrc: u32,
    blocks: &'a [u8],
    /// "profile-specific extensions" after the report blocks.
    pub extension: &'a [u8],
}

impl<'a> ReceiverReport<'a> {
    fn decode(raw: RawRtcp<'a>) -> Result<Self, ParseError> {
        let mut r = Reader::new(raw.body);
        let ssrc = r.u32()?;
        let blocks = r.take(usize::from(raw.count) * REPORT_BLOCK_LEN)?;
        Ok(Self {
            ssrc,
            blocks,
            extension: r.rest(),
        })
    }

    /// The reception report blocks.
    pub fn report_blocks(&self) -> impl Iterator<Item = ReportBlock> + 'a {
        report_blocks(self.blocks)
    }

    /// Writes an RR with up to 31 report blocks.
    pub fn write(ssrc: u32, blocks: &[ReportBlock], buf: &mut [u8]) -> Result<usize, WriteError> {
        let mut w = Writer::new(buf);
        let start = begin(
            &mut w,
            count_of(blocks.len(), "more than 31 report blocks")?,
            packet_type::RR,
        )?;
        w.u32(ssrc)?;
        for b in blocks {
            b.write(&mut w)?;
        }
        end(&mut w, start)
    }
}

/// An SDES chunk to write: a source and its (type, value) items.
pub type SdesChunkToWrite<'a> = (u32, &'a [SdesItemToWrite<'a>]);

/// One SDES item to write: its type and value.
pub type SdesItemToWrite<'a> = (u8, &'a [u8]);

/// A source description packet (RFC 3550 §6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sdes<'a> {
    chunks: &'a [u8],
}

/// One SDES chunk: a source and its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    /// The source (SSRC or CSRC) described.
    pub ssrc: u32,
    items: &'a [u8],
}

/// One SDES item: its type ([`sdes_type`]) and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesItem<'a> {
    /// The item type.
    pub kind: u8,
    /// The value (UTF-8 text for the RFC 3550 types, not checked).
    pub value: &'a [u8],
}

/// Reads one chunk from a reader positioned at a 32-bit boundary.
fn read_chunk<'a>(r: &mut Reader<'a>) -> Result<SdesChunk<'a>, ParseError> {
    let ssrc = r.u32()?;
    let items_start = r.rest();
    let mut used = 0usize;
    loop {
        let kind = r.u8()?;
        used += 1;
        // RFC 3550 §6.5: "The list of items in each chunk MUST be terminated
        // by one or more null octets, the first of which is interpreted as
        // an item type of zero to denote the end of the list. No length
        // octet follows the null item type octet, but additional null
        // octets MUST be included if needed to pad until the next 32-bit
        // boundary."
        if kind == 0 {
            let pad = (4 - used % 4) % 4;
            if r.take(pad)?.iter().any(|&b| b != 0) {
                return Err(ParseError::Malformed("SDES chunk padding not null"));
            }
            return Ok(SdesChunk {
                ssrc,
                items: &items_start[..used - 1],
            });
        }
        let len = r.u8()?;
        r.take(usize::from(len))?;
        used += 1 + usize::from(len);
    }
}

impl<'a> Sdes<'a> {
    fn decode(raw: RawRtcp<'a>) -> Result<Self, ParseError> {
        let mut r = Reader::new(raw.body);
        // RFC 3550 §6.5: "source count (SC): 5 bits The number of SSRC/CSRC
        // chunks contained in this SDES packet."
        for _ in 0..raw.count {
            read_chunk(&mut r)?;
        }
        let len = raw.body.len() - r.remaining();
        Ok(Self {
            chunks: &raw.body[..len],
        })
    }

    /// The chunks in order.
    pub fn chunks(&self) -> impl Iterator<Item = SdesChunk<'a>> + 'a {
        let mut r = Reader::new(self.chunks);
        std::iter::from_fn(move || read_chunk(&mut r).ok())
    }

    /// The first CNAME of the packet, with its source.
    pub fn cname(&self) -> Option<(u32, &'a [u8])> {
        self.chunks().find_map(|c| {
            c.items()
                .find(|i| i.kind == sdes_type::CNAME)
                .map(|i| (c.ssrc, i.value))
        })
    }

    /// Writes an SDES packet with up to 31 chunks, each a source and its
    /// (type, value) items; types must be nonzero, values at most 255 bytes.
    pub fn write(chunks: &[SdesChunkToWrite<'_>], buf: &mut [u8]) -> Result<usize, WriteError> {
        let mut w = Writer::new(buf);
        let start = begin(
            &mut w,
            count_of(chunks.len(), "more than 31 SDES chunks")?,
            packet_type::SDES,
        )?;
        for &(ssrc, items) in chunks {
            w.u32(ssrc)?;
            for &(kind, value) in items {
                if kind == 0 {
                    return Err(WriteError::Invalid("SDES item type 0 ends the list"));
                }
                let len = u8::try_from(value.len())
                    .map_err(|_| WriteError::Invalid("SDES item longer than 255 bytes"))?;
                w.u8(kind)?;
                w.u8(len)?;
                w.bytes(value)?;
            }
            // The terminating null item, then nulls to the boundary.
            w.u8(0)?;
            w.pad4()?;
        }
        end(&mut w, start)
    }
}

impl<'a> SdesChunk<'a> {
    /// The items in order.
    pub fn items(&self) -> impl Iterator<Item = SdesItem<'a>> + 'a {
        let mut r = Reader::new(self.items);
        std::iter::from_fn(move || {
            let kind = r.u8().ok()?;
            let len = r.u8().ok()?;
            Some(SdesItem {
                kind,
                value: r.take(usize::from(len)).ok()?,
            })
        })
    }
}

/// A goodbye packet (RFC 3550 §6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bye<'a> {
    ssrcs: &'a [u8],
    /// "reason for leaving", if given.
    pub reason: Option<&'a [u8]>,
}

impl<'a> Bye<'a> {
    fn decode(raw: RawRtcp<'a>) -> Result<Self, ParseError> {
        let mut r = Reader::new(raw.body);
        let ssrcs = r.take(4 * usize::from(raw.count))?;
        // RFC 3550 §6.6: "Optionally, the BYE packet MAY include an 8-bit
        // octet count followed by that many octets of text".
        let reason = if r.remaining() > 0 {
            let len = r.u8()?;
            Some(r.take(usize::from(len))?)
        } else {
            None
        };
        Ok(Self { ssrcs, reason })
    }

    /// The sources leaving.
    pub fn ssrcs(&self) -> impl Iterator<Item = u32> + 'a {
        self.ssrcs
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }

    /// Writes a BYE for up to 31 sources, with an optional reason of at
    /// most 255 bytes.
    pub fn write(
        ssrcs: &[u32],
        reason: Option<&[u8]>,
        buf: &mut [u8],
    ) -> Result<usize, WriteError> {
        let mut w = Writer::new(buf);
        let start = begin(
            &mut w,
            count_of(ssrcs.len(), "more than 31 BYE sources")?,
            packet_type::BYE,
        )?;
        for &s in ssrcs {
            w.u32(s)?;
        }
        if let Some(reason) = reason {
            let len = u8::try_from(reason.len())
                .map_err(|_| WriteError::Invalid("BYE reason longer than 255 bytes"))?;
            w.u8(len)?;
            w.bytes(reason)?;
        }
        end(&mut w, start)
    }
}

/// An application-defined packet (RFC 3550 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct App<'a> {
    /// The 5-bit subtype.
    pub subtype: u8,
    /// The sender's SSRC.
    pub ssrc: u32,
    /// The four ASCII characters naming the application.
    pub name: [u8; 4],
    /// Application-dependent data.
    pub data: &'a [u8],
}

impl<'a> App<'a> {
    fn decode(raw: RawRtcp<'a>) -> Result<Self, ParseError> {
        let mut r = Reader::new(raw.body);
        let ssrc = r.u32()?;
        let n = r.take(4)?;
        Ok(Self {
            subtype: raw.count,
            ssrc,
            name: [n[0], n[1], n[2], n[3]],
            data: r.rest(),
        })
    }

    /// Writes the packet. RFC 3550 §6.7: the data "is required to be a
    /// multiple of 32 bits long".
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        if !self.data.len().is_multiple_of(4) {
            return Err(WriteError::Invalid("APP data not a multiple of 32 bits"));
        }
        let mut w = Writer::new(buf);
        let start = begin(&mut w, self.subtype, packet_type::APP)?;
        w.u32(self.ssrc)?;
        w.bytes(&self.name)?;
        w.bytes(self.data)?;
        end(&mut w, start)
    }
}
