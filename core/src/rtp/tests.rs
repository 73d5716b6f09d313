//! RTP/RTCP codec tests: hand-built vectors from the RFC figures,
//! truncation at every byte, round trips and proptests.

use proptest::prelude::*;

use super::feedback::{Fir, FirEntry, Nack, Pli, Remb};
use super::hdrext::*;
use super::rtcp::{
    packet_type, sdes_type, App, Bye, ReceiverReport, ReportBlock, Sdes, SdesChunkToWrite,
    SdesItemToWrite, SenderInfo, SenderReport,
};
use super::twcc::{PacketStatus, TransportCc};
use super::xr::{DlrrItem, Xr, XrBlock};
use super::*;
use crate::testutil::proptest_config;

/// RFC 3550 §5.1 fixed header, two CSRCs, the RFC 8285 §4.2 one-byte
/// example block (ids 1, 2, 3 with 1, 2, 4 bytes and two padding bytes),
/// three payload bytes and four bytes of padding.
#[rustfmt::skip]
const RTP_ONE_BYTE: [u8; 43] = [
    0xB2, 0xE0, 0x12, 0x34, // V=2 P=1 X=1 CC=2, M=1 PT=96, seq 0x1234
    0xDE, 0xAD, 0xBE, 0xEF, // timestamp
    0x11, 0x22, 0x33, 0x44, // SSRC
    0x00, 0x00, 0x00, 0x01, // CSRC 1
    0x00, 0x00, 0x00, 0x02, // CSRC 2
    0xBE, 0xDE, 0x00, 0x03, // profile 0xBEDE, length 3 words
    0x10, 0xAA, 0x21, 0xBB, // id 1 L=0 data, id 2 L=1 data...
    0xBB, 0x00, 0x00, 0x33, // ...data, pad, pad, id 3 L=3
    0xC1, 0xC2, 0xC3, 0xC4, // data
    0x01, 0x02, 0x03,       // payload
    0x00, 0x00, 0x00, 0x04, // padding, count 4
];

/// RFC 8285 §4.3 two-byte example: ids 1 (0 bytes), 2 (1 byte), 3 (4
/// bytes) and one padding byte.
#[rustfmt::skip]
const RTP_TWO_BYTE: [u8; 30] = [
    0x90, 0x60, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x02,
    0x00, 0x00, 0x00, 0x03,
    0x10, 0x00, 0x00, 0x03, // profile 0x1000, length 3 words
    0x01, 0x00, 0x02, 0x01, // id 1 L=0, id 2 L=1
    0xAA, 0x00, 0x03, 0x04, // data, pad, id 3 L=4
    0xC1, 0xC2, 0xC3, 0xC4,
    0xF0, 0x0D,             // payload
];

#[test]
fn rtp_one_byte_vector() {
    let bytes = &RTP_ONE_BYTE[..];
    let p = RtpPacket::parse(bytes).unwrap();
    assert!(p.marker);
    assert_eq!(p.payload_type, 96);
    assert_eq!(p.sequence, 0x1234);
    assert_eq!(p.timestamp, 0xDEAD_BEEF);
    assert_eq!(p.ssrc, 0x1122_3344);
    assert_eq!(p.csrcs().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(p.header_len, 36);
    assert_eq!(p.payload, [1, 2, 3]);
    assert_eq!(p.padding, 4);
    let ext = p.extensions().unwrap();
    assert_eq!(ext.form(), Some(ExtensionForm::OneByte));
    let elements: Vec<_> = ext.iter().collect();
    assert_eq!(
        elements,
        [
            (1, &[0xAA][..]),
            (2, &[0xBB, 0xBB][..]),
            (3, &[0xC1, 0xC2, 0xC3, 0xC4][..])
        ]
    );
    assert_eq!(p.extension(3), Some(&[0xC1, 0xC2, 0xC3, 0xC4][..]));
    // Written back from the parsed fields, the same bytes.
    let csrc: Vec<u32> = p.csrcs().collect();
    let mut buf = [0u8; 64];
    let header = RtpHeader {
        marker: true,
        payload_type: 96,
        sequence: 0x1234,
        timestamp: 0xDEAD_BEEF,
        ssrc: 0x1122_3344,
        csrc: &csrc,
        extensions: &elements,
    };
    let n = header.write(p.payload, 4, &mut buf).unwrap();
    // The writer packs the elements without the inner padding bytes.
    let again = RtpPacket::parse(&buf[..n]).unwrap();
    assert_eq!(
        again.extensions().unwrap().iter().collect::<Vec<_>>(),
        elements
    );
    assert_eq!(again.payload, p.payload);
    assert_eq!(again.padding, 4);
}

#[test]
fn rtp_two_byte_vector() {
    let p = RtpPacket::parse(&RTP_TWO_BYTE).unwrap();
    assert_eq!(p.extensions().unwrap().form(), Some(ExtensionForm::TwoByte));
    assert_eq!(
        p.extensions().unwrap().iter().collect::<Vec<_>>(),
        [
            (1, &[][..]),
            (2, &[0xAA][..]),
            (3, &[0xC1, 0xC2, 0xC3, 0xC4][..])
        ]
    );
    assert_eq!(p.payload, [0xF0, 0x0D]);
    assert_eq!(p.padding, 0);
    // A zero-length element forces the two-byte form when writing.
    let elements = [(1u8, &[][..])];
    assert_eq!(ext::choose_form(&elements), ExtensionForm::TwoByte);
}

#[test]
fn rtp_truncation_at_every_byte() {
    for vector in [&RTP_ONE_BYTE[..], &RTP_TWO_BYTE[..]] {
        let header_len = RtpPacket::parse(vector).unwrap().header_len;
        for cut in 0..vector.len() {
            let r = RtpPacket::parse(&vector[..cut]);
            if cut < header_len {
                assert!(r.is_err(), "cut at {cut}");
            }
        }
    }
}

#[test]
fn rtp_rejects_bad_version_and_padding() {
    let mut v = RTP_TWO_BYTE;
    v[0] = 0x50;
    assert_eq!(RtpPacket::parse(&v), Err(ParseError::Version));
    // P set, count byte 0.
    let mut v = RTP_TWO_BYTE;
    v[0] |= 0x20;
    v[29] = 0;
    assert_eq!(RtpPacket::parse(&v), Err(ParseError::Padding));
    // P set, count larger than what follows the header.
    v[29] = 3;
    assert_eq!(RtpPacket::parse(&v), Err(ParseError::Padding));
    // Padding may eat the whole payload.
    v[29] = 2;
    assert!(RtpPacket::parse(&v).unwrap().payload.is_empty());
    // An extension length past the end.
    let mut v = RTP_TWO_BYTE;
    v[15] = 9;
    assert_eq!(RtpPacket::parse(&v), Err(ParseError::Truncated));
    // An element overrunning its block.
    let mut v = RTP_TWO_BYTE;
    v[23] = 9;
    assert!(matches!(
        RtpPacket::parse(&v),
        Err(ParseError::Malformed(_))
    ));
    // CSRC count past the end.
    let mut v = [0u8; 12];
    v[0] = 0x8F;
    assert_eq!(RtpPacket::parse(&v), Err(ParseError::Truncated));
}

#[test]
fn one_byte_id_15_stops_parsing() {
    // RFC 8285 §4.2: elements before id 15 count, nothing after.
    #[rustfmt::skip]
    let block = [0x10, 0xAA, 0xF3, 0x20, 0xBB, 0x00, 0x00, 0x00];
    let e = Extensions::parse(ext::ONE_BYTE_PROFILE, &block).unwrap();
    assert_eq!(e.iter().collect::<Vec<_>>(), [(1, &[0xAA][..])]);
    // Id 0 with a length is not padding.
    let e = Extensions::parse(ext::ONE_BYTE_PROFILE, &[0x01, 0xAA, 0, 0]);
    assert!(e.is_err());
    // Another profile's block is opaque.
    let e = Extensions::parse(0xABCD, &[1, 2, 3, 4]).unwrap();
    assert_eq!(e.form(), None);
    assert_eq!(e.iter().count(), 0);
}

#[test]
fn extension_writer_refuses_what_does_not_fit() {
    let mut buf = [0u8; 600];
    assert_eq!(
        write_extensions(&[(0, &[1][..])], &mut buf),
        Err(WriteError::Invalid("extension id 0 is padding"))
    );
    let long = [0u8; 256];
    assert!(write_extensions(&[(1, &long[..])], &mut buf).is_err());
    // 16 bytes with id 14 still fit the one-byte form; id 15 does not.
    let v = [7u8; 16];
    let n = write_extensions(&[(14, &v[..])], &mut buf).unwrap();
    assert_eq!(&buf[..2], [0xBE, 0xDE]);
    assert_eq!(n, 4 + 20);
    write_extensions(&[(15, &v[..])], &mut buf).unwrap();
    assert_eq!(&buf[..2], [0x10, 0x00]);
    assert_eq!(
        write_extensions(&[(1, &v[..])], &mut buf[..8]),
        Err(WriteError::BufferTooSmall)
    );
}

#[test]
fn typed_extensions_known_bytes() {
    assert_eq!(SdesText::parse(b"audio").unwrap(), SdesText("audio"));
    assert_eq!(SdesText::parse(b"hi\0\0").unwrap(), SdesText("hi"));
    assert!(SdesText::parse(b"").is_err());
    assert!(SdesText::parse(b"a b").is_err());
    assert!(SdesText::parse(&[0xFF]).is_err());
    // 1.5 s in 6.18 fixed point.
    assert_eq!(
        AbsSendTime::parse(&[0x06, 0x00, 0x00]).unwrap(),
        AbsSendTime(0x06_0000)
    );
    assert_eq!(
        AbsSendTime::from_ntp(0x0000_0001_8000_0000),
        AbsSendTime(0x06_0000)
    );
    assert_eq!(AbsSendTime(0x06_0000).to_ntp(), 0x0000_0001_8000_0000);
    assert_eq!(
        TransportSequence::parse(&[0x12, 0x34]).unwrap(),
        TransportSequence(0x1234)
    );
    // RFC 6464 §3: V=1, level 42.
    assert_eq!(
        SsrcAudioLevel::parse(&[0x80 | 42]).unwrap(),
        SsrcAudioLevel {
            voice: true,
            level: 42
        }
    );
    let levels = CsrcAudioLevels::parse(&[0x85, 0x10]).unwrap();
    assert_eq!(levels.levels().collect::<Vec<_>>(), [5, 16]);
    assert!(CsrcAudioLevels::parse(&[0; 16]).is_err());
    let cvo = VideoOrientation::parse(&[0x0B]).unwrap();
    assert_eq!(
        cvo,
        VideoOrientation {
            back_camera: true,
            flip: false,
            rotation: 3
        }
    );
    assert_eq!(cvo.degrees(), 270);
    assert_eq!(
        PlayoutDelay::parse(&[0x00, 0x10, 0x0A]).unwrap(),
        PlayoutDelay { min: 1, max: 10 }
    );
    let t = AbsCaptureTime::parse(&[0, 0, 0, 1, 0x80, 0, 0, 0]).unwrap();
    assert_eq!(
        t,
        AbsCaptureTime {
            timestamp: 0x1_8000_0000,
            clock_offset: None
        }
    );
    assert!(AbsCaptureTime::parse(&[0; 12]).is_err());
    assert!(PlayoutDelay { min: 4096, max: 0 }
        .write(&mut [0; 3])
        .is_err());
    assert!(VideoOrientation {
        back_camera: false,
        flip: false,
        rotation: 4
    }
    .write(&mut [0; 1])
    .is_err());
    assert!(SsrcAudioLevel {
        voice: false,
        level: 128
    }
    .write(&mut [0; 1])
    .is_err());
}

/// RFC 3550 §6.4.1 SR with one report block, then §6.5 SDES with a CNAME,
/// built from the figures.
#[rustfmt::skip]
const COMPOUND: [u8; 72] = [
    0x81, 200, 0x00, 0x0C,  // V=2 RC=1 SR, length 12
    0x00, 0x00, 0x00, 0x0A, // SSRC of sender
    0xE0, 0x00, 0x00, 0x00, // NTP MSW
    0x80, 0x00, 0x00, 0x00, // NTP LSW
    0x00, 0x01, 0x00, 0x00, // RTP timestamp
    0x00, 0x00, 0x00, 0x64, // packet count 100
    0x00, 0x00, 0x10, 0x00, // octet count 4096
    0x00, 0x00, 0x00, 0x0B, // report block: SSRC 11
    0x40, 0xFF, 0xFF, 0xFE, // fraction 64/256, cumulative -2
    0x00, 0x01, 0x00, 0x10, // extended highest seq
    0x00, 0x00, 0x00, 0x20, // jitter
    0x12, 0x34, 0x56, 0x78, // LSR
    0x00, 0x01, 0x00, 0x00, // DLSR 1 s
    0x81, 202, 0x00, 0x04,  // SDES SC=1, length 4
    0x00, 0x00, 0x00, 0x0A, // SSRC
    0x01, 0x07, b'e', b'd', // CNAME, 7 bytes
    b'd', b'y', b'@', b'x',
    b'y', 0x00, 0x00, 0x00, // end of items, null padding
];

#[test]
fn rtcp_compound_vector() {
    let c = RtcpCompound::parse(&COMPOUND, false).unwrap();
    let packets: Vec<_> = c.packets().collect();
    assert_eq!(packets.len(), 2);
    let RtcpPacket::SenderReport(sr) = packets[0] else {
        panic!("not an SR: {:?}", packets[0]);
    };
    assert_eq!(sr.ssrc, 10);
    assert_eq!(
        sr.info,
        SenderInfo {
            ntp_time: 0xE000_0000_8000_0000,
            rtp_time: 0x10000,
            packet_count: 100,
            octet_count: 4096
        }
    );
    let block = ReportBlock {
        ssrc: 11,
        fraction_lost: 64,
        cumulative_lost: -2,
        highest_sequence: 0x10010,
        jitter: 32,
        last_sr: 0x1234_5678,
        delay_since_last_sr: 0x10000,
    };
    assert_eq!(sr.report_blocks().collect::<Vec<_>>(), [block]);
    assert!(sr.extension.is_empty());
    let RtcpPacket::Sdes(sdes) = packets[1] else {
        panic!("not SDES");
    };
    assert_eq!(sdes.cname(), Some((10, &b"eddy@xy"[..])));
    // The writers give the same bytes.
    let mut buf = [0u8; 128];
    let n = SenderReport::write(10, &sr.info, &[block], &mut buf).unwrap();
    let items = [(sdes_type::CNAME, &b"eddy@xy"[..])];
    let m = Sdes::write(&[(10, &items[..])], &mut buf[n..]).unwrap();
    assert_eq!(&buf[..n + m], &COMPOUND[..]);
}

#[test]
fn rtcp_truncation_at_every_byte() {
    let mut vectors: Vec<Vec<u8>> = vec![COMPOUND.to_vec()];
    for (bytes, _) in one_of_each() {
        vectors.push(bytes);
    }
    for v in vectors {
        let ends = packet_ends(&v);
        for cut in 0..v.len() {
            let r = RtcpCompound::parse(&v[..cut], true);
            assert_eq!(r.is_ok(), ends.contains(&cut), "cut at {cut} of {v:02x?}");
        }
        assert!(RtcpCompound::parse(&v, true).is_ok());
    }
}

#[test]
fn rtcp_rejects_lies() {
    // Not led by SR/RR without reduced size.
    let mut buf = [0u8; 64];
    let n = Pli {
        sender_ssrc: 1,
        media_ssrc: 2,
    }
    .write(&mut buf)
    .unwrap();
    assert!(RtcpCompound::parse(&buf[..n], false).is_err());
    assert!(RtcpCompound::parse(&buf[..n], true).is_ok());
    // A length past the end.
    let mut v = COMPOUND;
    v[3] = 0x20;
    assert_eq!(RtcpCompound::parse(&v, false), Err(ParseError::Truncated));
    // A report count past the length.
    let mut v = COMPOUND;
    v[0] = 0x82;
    assert_eq!(RtcpCompound::parse(&v, false), Err(ParseError::Truncated));
    // Padding on the first of two packets.
    let mut v = COMPOUND;
    v[0] |= 0x20;
    assert!(RtcpCompound::parse(&v, false).is_err());
    // Padding on the last: count 0 and count past the packet.
    let mut v = COMPOUND;
    v[52] |= 0x20;
    v[71] = 0;
    assert_eq!(RtcpCompound::parse(&v, false), Err(ParseError::Padding));
    v[71] = 17;
    assert_eq!(RtcpCompound::parse(&v, false), Err(ParseError::Padding));
    // Count 16 eats the whole SDES body: its chunk is then missing.
    v[71] = 16;
    assert_eq!(RtcpCompound::parse(&v, false), Err(ParseError::Truncated));
    // Version 1.
    let mut v = COMPOUND;
    v[0] = 0x41;
    assert_eq!(RtcpCompound::parse(&v, false), Err(ParseError::Version));
    // Nothing at all.
    assert_eq!(RtcpCompound::parse(&[], true), Err(ParseError::Truncated));
}

/// Where each packet of a compound ends, from the length fields.
fn packet_ends(v: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 0;
    while at + 4 <= v.len() {
        at += (usize::from(u16::from_be_bytes([v[at + 2], v[at + 3]])) + 1) * 4;
        ends.push(at);
    }
    ends
}

/// One packet of every type, each with the packet it must parse to.
fn one_of_each() -> Vec<(Vec<u8>, String)> {
    let mut out = Vec::new();
    let mut push = |f: &dyn Fn(&mut [u8]) -> Result<usize, WriteError>| {
        let mut buf = [0u8; 512];
        let n = f(&mut buf).unwrap();
        let v = buf[..n].to_vec();
        let p = format!(
            "{:?}",
            RtcpCompound::parse(&v, true)
                .unwrap()
                .packets()
                .collect::<Vec<_>>()
        );
        out.push((v, p));
    };
    let block = ReportBlock {
        ssrc: 3,
        fraction_lost: 1,
        cumulative_lost: -8_388_608,
        highest_sequence: 4,
        jitter: 5,
        last_sr: 6,
        delay_since_last_sr: 7,
    };
    push(&|b| {
        SenderReport::write(
            1,
            &SenderInfo {
                ntp_time: 9,
                rtp_time: 8,
                packet_count: 7,
                octet_count: 6,
            },
            &[block, block],
            b,
        )
    });
    push(&|b| ReceiverReport::write(1, &[block], b));
    push(&|b| ReceiverReport::write(1, &[], b));
    push(&|b| {
        Sdes::write(
            &[
                (
                    1,
                    &[
                        (sdes_type::CNAME, &b"c"[..]),
                        (sdes_type::TOOL, &b"eddy"[..]),
                    ][..],
                ),
                (2, &[][..]),
            ],
            b,
        )
    });
    push(&|b| Bye::write(&[1, 2], Some(b"done"), b));
    push(&|b| Bye::write(&[1], None, b));
    push(&|b| {
        App {
            subtype: 3,
            ssrc: 1,
            name: *b"eddy",
            data: &[1, 2, 3, 4],
        }
        .write(b)
    });
    push(&|b| {
        Xr::write(
            1,
            Some(0x1122_3344_5566_7788),
            &[DlrrItem {
                ssrc: 2,
                last_rr: 3,
                delay_since_last_rr: 4,
            }],
            b,
        )
    });
    push(&|b| Nack::write(1, 2, &[10, 11, 26, 27, 100], b));
    push(&|b| {
        Pli {
            sender_ssrc: 1,
            media_ssrc: 2,
        }
        .write(b)
    });
    push(&|b| {
        Fir::write(
            1,
            &[
                FirEntry {
                    ssrc: 2,
                    sequence: 3,
                },
                FirEntry {
                    ssrc: 4,
                    sequence: 5,
                },
            ],
            b,
        )
    });
    push(&|b| Remb::write(1, 1_000_000, &[2, 3], b));
    push(&|b| {
        TransportCc::write(
            1,
            2,
            65530,
            -3,
            9,
            &[Some(4), None, Some(-1), Some(300), None, None],
            b,
        )
    });
    out
}

#[test]
fn every_type_round_trips() {
    let mut buf = [0u8; 512];
    for (bytes, _) in one_of_each() {
        let c = RtcpCompound::parse(&bytes, true).unwrap();
        let [p]: [RtcpPacket<'_>; 1] = c.packets().collect::<Vec<_>>().try_into().unwrap();
        let n = p
            .write(&mut buf)
            .unwrap_or_else(|| panic!("unknown packet {p:?}"))
            .unwrap();
        assert_eq!(&buf[..n], &bytes[..], "{p:?}");
    }
}

#[test]
fn unknown_types_and_formats_are_kept_raw() {
    #[rustfmt::skip]
    let v = [
        0x80, 201, 0x00, 0x01, 0, 0, 0, 1,           // empty RR
        0x83, 210, 0x00, 0x01, 9, 9, 9, 9,           // unknown type 210
        0x8D, packet_type::RTPFB, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2, // RTPFB FMT 13
        0x8F, packet_type::PSFB, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, b'A', b'B', b'C', b'D', // AFB, not REMB
        0x80, packet_type::XR, 0x00, 0x03, 0, 0, 0, 1, 42, 7, 0x00, 0x01, 1, 2, 3, 4, // XR block type 42
    ];
    let c = RtcpCompound::parse(&v, false).unwrap();
    let p: Vec<_> = c.packets().collect();
    assert_eq!(p.len(), 5);
    assert!(
        matches!(p[1], RtcpPacket::Unknown(r) if r.packet_type == 210 && r.count == 3 && r.body == [9; 4])
    );
    assert!(
        matches!(p[2], RtcpPacket::Unknown(r) if r.packet_type == packet_type::RTPFB && r.count == 13)
    );
    assert!(
        matches!(p[3], RtcpPacket::Unknown(r) if r.packet_type == packet_type::PSFB && r.count == 15)
    );
    let RtcpPacket::Xr(x) = p[4] else { panic!() };
    assert_eq!(
        x.blocks().collect::<Vec<_>>(),
        [XrBlock::Unknown {
            block_type: 42,
            type_specific: 7,
            data: &[1, 2, 3, 4]
        }]
    );
    // An XR block length past the packet, and an RRTR of the wrong length.
    let mut bad = v;
    bad[55] = 2;
    assert!(RtcpCompound::parse(&bad, false).is_err());
    let mut bad = v;
    bad[52] = xr::BT_RRTR;
    assert!(RtcpCompound::parse(&bad, false).is_err());
}

#[test]
fn nack_pid_blp() {
    // RFC 4585 §6.2.1: PID 10 with BLP bits 0 and 15 means 10, 11, 26.
    #[rustfmt::skip]
    let v = [
        0x81, packet_type::RTPFB, 0x00, 0x03,
        0, 0, 0, 1, 0, 0, 0, 2,
        0x00, 0x0A, 0x80, 0x01,
    ];
    let c = RtcpCompound::parse(&v, true).unwrap();
    let Some(RtcpPacket::Nack(n)) = c.packets().next() else {
        panic!()
    };
    assert_eq!(n.pairs().collect::<Vec<_>>(), [(10, 0x8001)]);
    assert_eq!(n.sequences().collect::<Vec<_>>(), [10, 11, 26]);
    let mut buf = [0u8; 16];
    assert_eq!(Nack::write(1, 2, &[10, 11, 26], &mut buf), Ok(16));
    assert_eq!(buf, v);
    // Wrapping.
    let mut buf = [0u8; 32];
    let n = Nack::write(1, 2, &[65535, 0, 1], &mut buf).unwrap();
    let c = RtcpCompound::parse(&buf[..n], true).unwrap();
    let Some(RtcpPacket::Nack(nack)) = c.packets().next() else {
        panic!()
    };
    assert_eq!(nack.pairs().collect::<Vec<_>>(), [(65535, 0b11)]);
    // An empty FCI is malformed.
    let mut v2 = [0u8; 12];
    v2[..4].copy_from_slice(&[0x81, packet_type::RTPFB, 0, 2]);
    assert!(RtcpCompound::parse(&v2, true).is_err());
}

#[test]
fn remb_mantissa_and_exponent() {
    // draft-alvestrand-rmcat-remb §2.2: exp 2, mantissa 250000 = 1 Mbit/s.
    #[rustfmt::skip]
    let v = [
        0x8F, packet_type::PSFB, 0x00, 0x05,
        0, 0, 0, 1, 0, 0, 0, 0,
        b'R', b'E', b'M', b'B',
        0x01, 0x0B, 0xD0, 0x90, // num 1, exp 2, mantissa 0x3D090
        0, 0, 0, 2,
    ];
    let c = RtcpCompound::parse(&v, true).unwrap();
    let Some(RtcpPacket::Remb(r)) = c.packets().next() else {
        panic!()
    };
    assert_eq!(r.bitrate, 1_000_000);
    assert_eq!(r.ssrcs().collect::<Vec<_>>(), [2]);
    let mut buf = [0u8; 24];
    Remb::write(1, 1_000_000, &[2], &mut buf).unwrap();
    assert_eq!(buf, v);
    // Exponent 63 with a wide mantissa saturates instead of wrapping.
    let mut v = v;
    v[17] = 0xFF;
    let c = RtcpCompound::parse(&v, true).unwrap();
    let Some(RtcpPacket::Remb(r)) = c.packets().next() else {
        panic!()
    };
    assert_eq!(r.bitrate, u64::MAX);
    // Num SSRC past the end.
    let mut v2 = v;
    v2[16] = 2;
    assert_eq!(RtcpCompound::parse(&v2, true), Err(ParseError::Truncated));
}

#[test]
fn twcc_chunks_from_the_draft() {
    // Chunks laid out as in §3.1.3-3.1.4: a run of 221 "received, small
    // delta" symbols is 0|01|0000011011101 (0x20DD); a one-bit vector
    // 1|0|00011111111111 (0x87FF: 3 lost then 11 received) and a two-bit
    // vector 1|1|00 01 10 00 00 00 00 (0xC600: lost, small, large, lost...).
    let mut v = vec![0x8F, packet_type::RTPFB, 0, 0];
    v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
    v.extend_from_slice(&[0x00, 0x0A]); // base sequence 10
    let count: u16 = 221 + 14 + 3;
    v.extend_from_slice(&count.to_be_bytes());
    v.extend_from_slice(&[0x00, 0x00, 0x01, 0x07]); // reference 1 (64 ms), fb count 7
    v.extend_from_slice(&[0x20, 0xDD, 0x87, 0xFF, 0xC6, 0x00]);
    v.extend(std::iter::repeat_n(4u8, 221 + 11)); // small deltas of 1 ms
    v.push(1); // the two-bit vector's small delta
    v.extend_from_slice(&(-4i16).to_be_bytes()); // its large delta
    while v.len() % 4 != 0 {
        v.push(0);
    }
    let words = (v.len() / 4 - 1) as u16;
    v[2..4].copy_from_slice(&words.to_be_bytes());
    let c = RtcpCompound::parse(&v, true).unwrap();
    let Some(RtcpPacket::TransportCc(t)) = c.packets().next() else {
        panic!()
    };
    assert_eq!(
        (
            t.base_sequence,
            t.status_count,
            t.reference_time,
            t.feedback_count
        ),
        (10, 238, 1, 7)
    );
    let s: Vec<PacketStatus> = t.statuses().collect();
    assert_eq!(s.len(), 238);
    assert_eq!(
        s[0],
        PacketStatus {
            sequence: 10,
            delta: Some(4)
        }
    );
    assert_eq!(s[221].delta, None);
    assert_eq!(s[224].delta, Some(4));
    assert_eq!(
        s[235],
        PacketStatus {
            sequence: 245,
            delta: None
        }
    );
    assert_eq!(s[236].delta, Some(1));
    assert_eq!(
        s[237],
        PacketStatus {
            sequence: 247,
            delta: Some(-4)
        }
    );
    // The reserved symbol 11 is malformed.
    let mut bad = v.clone();
    bad[24] = 0xF0;
    assert!(RtcpCompound::parse(&bad, true).is_err());
    // A status count past the chunks.
    let mut bad = v.clone();
    bad[14..16].copy_from_slice(&0xFFFFu16.to_be_bytes());
    assert!(RtcpCompound::parse(&bad, true).is_err());
}

#[test]
fn writers_refuse_small_buffers() {
    for (bytes, _) in one_of_each() {
        let len = bytes.len();
        let c = RtcpCompound::parse(&bytes, true).unwrap();
        let p = c.packets().next().unwrap();
        // Rewriting into each shorter buffer fails cleanly.
        for cut in 0..len {
            let mut buf = vec![0u8; cut];
            let r = match p {
                RtcpPacket::Pli(p) => p.write(&mut buf),
                RtcpPacket::App(a) => a.write(&mut buf),
                RtcpPacket::Bye(b) => {
                    Bye::write(&b.ssrcs().collect::<Vec<_>>(), b.reason, &mut buf)
                }
                RtcpPacket::Nack(n) => Nack::write(
                    n.sender_ssrc,
                    n.media_ssrc,
                    &n.sequences().collect::<Vec<_>>(),
                    &mut buf,
                ),
                _ => Err(WriteError::BufferTooSmall),
            };
            assert_eq!(r, Err(WriteError::BufferTooSmall));
        }
    }
}

fn arb_statuses() -> impl Strategy<Value = Vec<Option<i16>>> {
    proptest::collection::vec(
        prop_oneof![
            3 => Just(None),
            4 => (0i16..=255).prop_map(Some),
            1 => any::<i16>().prop_map(Some),
        ],
        0..300,
    )
}

fn arb_block() -> impl Strategy<Value = ReportBlock> {
    (
        any::<u32>(),
        any::<u8>(),
        -(1i32 << 23)..(1 << 23),
        any::<[u32; 4]>(),
    )
        .prop_map(
            |(ssrc, fraction_lost, cumulative_lost, [a, b, c, d])| ReportBlock {
                ssrc,
                fraction_lost,
                cumulative_lost,
                highest_sequence: a,
                jitter: b,
                last_sr: c,
                delay_since_last_sr: d,
            },
        )
}

proptest! {
    #![proptest_config(proptest_config!("rtp"))]

    #[test]
    fn rtp_round_trip(
        marker in any::<bool>(),
        payload_type in 0u8..128,
        sequence in any::<u16>(),
        timestamp in any::<u32>(),
        ssrc in any::<u32>(),
        csrc in proptest::collection::vec(any::<u32>(), 0..=15),
        exts in proptest::collection::btree_map(1u8..=255, proptest::collection::vec(any::<u8>(), 0..40), 0..6),
        payload in proptest::collection::vec(any::<u8>(), 0..100),
        padding in any::<u8>(),
    ) {
        let elements: Vec<(u8, &[u8])> = exts.iter().map(|(&i, v)| (i, &v[..])).collect();
        let header = RtpHeader { marker, payload_type, sequence, timestamp, ssrc, csrc: &csrc, extensions: &elements };
        let mut buf = vec![0u8; 2048];
        let n = header.write(&payload, padding, &mut buf).unwrap();
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        prop_assert_eq!((p.marker, p.payload_type, p.sequence, p.timestamp, p.ssrc), (marker, payload_type, sequence, timestamp, ssrc));
        prop_assert_eq!(p.csrcs().collect::<Vec<_>>(), csrc.clone());
        prop_assert_eq!(p.payload, &payload[..]);
        prop_assert_eq!(p.padding, padding);
        let got: Vec<_> = p.extensions().map(|e| e.iter().collect()).unwrap_or_default();
        prop_assert_eq!(&got, &elements);
        for cut in 0..n {
            let _ = RtpPacket::parse(&buf[..cut]);
        }
        prop_assert_eq!(header.write(&payload, padding, &mut buf[..n - 1]), Err(WriteError::BufferTooSmall));
    }

    #[test]
    fn typed_extensions_round_trip(
        text in "[A-Za-z0-9_-]{1,16}",
        t in 0u32..0x100_0000,
        seq in any::<u16>(),
        voice in any::<bool>(),
        level in 0u8..128,
        levels in proptest::collection::vec(0u8..128, 1..=15),
        (back_camera, flip, rotation) in (any::<bool>(), any::<bool>(), 0u8..4),
        (min, max) in (0u16..4096, 0u16..4096),
        (timestamp, clock_offset) in (any::<u64>(), proptest::option::of(any::<i64>())),
    ) {
        let mut b = [0u8; 32];
        let n = SdesText(&text).write(&mut b).unwrap();
        prop_assert_eq!(SdesText::parse(&b[..n]).unwrap(), SdesText(&text));
        let n = AbsSendTime(t).write(&mut b).unwrap();
        prop_assert_eq!(AbsSendTime::parse(&b[..n]).unwrap(), AbsSendTime(t));
        let n = TransportSequence(seq).write(&mut b).unwrap();
        prop_assert_eq!(TransportSequence::parse(&b[..n]).unwrap(), TransportSequence(seq));
        let a = SsrcAudioLevel { voice, level };
        let n = a.write(&mut b).unwrap();
        prop_assert_eq!(SsrcAudioLevel::parse(&b[..n]).unwrap(), a);
        let n = CsrcAudioLevels::write(&levels, &mut b).unwrap();
        prop_assert_eq!(CsrcAudioLevels::parse(&b[..n]).unwrap().levels().collect::<Vec<_>>(), levels);
        let o = VideoOrientation { back_camera, flip, rotation };
        let n = o.write(&mut b).unwrap();
        prop_assert_eq!(VideoOrientation::parse(&b[..n]).unwrap(), o);
        let d = PlayoutDelay { min, max };
        let n = d.write(&mut b).unwrap();
        prop_assert_eq!(PlayoutDelay::parse(&b[..n]).unwrap(), d);
        let c = AbsCaptureTime { timestamp, clock_offset };
        let n = c.write(&mut b).unwrap();
        prop_assert_eq!(AbsCaptureTime::parse(&b[..n]).unwrap(), c);
    }

    #[test]
    fn reports_round_trip(
        ssrc in any::<u32>(),
        info in any::<(u64, u32, u32, u32)>(),
        blocks in proptest::collection::vec(arb_block(), 0..=31),
        reason in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=255)),
    ) {
        let info = SenderInfo { ntp_time: info.0, rtp_time: info.1, packet_count: info.2, octet_count: info.3 };
        let mut buf = vec![0u8; 2048];
        let mut n = SenderReport::write(ssrc, &info, &blocks, &mut buf).unwrap();
        n += ReceiverReport::write(ssrc, &blocks, &mut buf[n..]).unwrap();
        n += Bye::write(&[ssrc], reason.as_deref(), &mut buf[n..]).unwrap();
        let c = RtcpCompound::parse(&buf[..n], false).unwrap();
        let p: Vec<_> = c.packets().collect();
        prop_assert_eq!(p.len(), 3);
        let RtcpPacket::SenderReport(sr) = p[0] else { panic!() };
        prop_assert_eq!(sr.info, info);
        prop_assert_eq!(sr.report_blocks().collect::<Vec<_>>(), blocks.clone());
        let RtcpPacket::ReceiverReport(rr) = p[1] else { panic!() };
        prop_assert_eq!(rr.report_blocks().collect::<Vec<_>>(), blocks);
        let RtcpPacket::Bye(bye) = p[2] else { panic!() };
        prop_assert_eq!(bye.reason, reason.as_deref());
        let ends = packet_ends(&buf[..n]);
        for cut in 0..n {
            prop_assert_eq!(RtcpCompound::parse(&buf[..cut], false).is_ok(), ends.contains(&cut));
        }
    }

    #[test]
    fn nack_list_round_trip(start in any::<u16>(), gaps in proptest::collection::vec(1u16..40, 1..60)) {
        let mut lost = vec![start];
        for g in gaps {
            let next = lost[lost.len() - 1].wrapping_add(g);
            lost.push(next);
        }
        let mut buf = vec![0u8; 1024];
        let n = Nack::write(1, 2, &lost, &mut buf).unwrap();
        let c = RtcpCompound::parse(&buf[..n], true).unwrap();
        let Some(RtcpPacket::Nack(nack)) = c.packets().next() else { panic!() };
        prop_assert_eq!(nack.sequences().collect::<Vec<_>>(), lost);
    }

    #[test]
    fn twcc_round_trip(base in any::<u16>(), reference in -(1i32 << 23)..(1 << 23), fb in any::<u8>(), statuses in arb_statuses()) {
        let mut buf = vec![0u8; 4096];
        let n = TransportCc::write(1, 2, base, reference, fb, &statuses, &mut buf).unwrap();
        let c = RtcpCompound::parse(&buf[..n], true).unwrap();
        let Some(RtcpPacket::TransportCc(t)) = c.packets().next() else { panic!() };
        prop_assert_eq!((t.base_sequence, t.reference_time, t.feedback_count), (base, reference, fb));
        let got: Vec<PacketStatus> = t.statuses().collect();
        prop_assert_eq!(got.len(), statuses.len());
        for (i, (g, want)) in got.iter().zip(&statuses).enumerate() {
            prop_assert_eq!(g.sequence, base.wrapping_add(i as u16));
            prop_assert_eq!(g.delta, *want);
        }
        for cut in 0..n {
            prop_assert!(RtcpCompound::parse(&buf[..cut], true).is_err());
        }
    }

    #[test]
    fn fir_remb_xr_round_trip(
        entries in proptest::collection::vec(any::<(u32, u8)>(), 1..20),
        bitrate in any::<u64>(),
        ssrcs in proptest::collection::vec(any::<u32>(), 0..20),
        rrtr in proptest::option::of(any::<u64>()),
        dlrr in proptest::collection::vec(any::<(u32, u32, u32)>(), 0..10),
    ) {
        let entries: Vec<FirEntry> = entries.into_iter().map(|(ssrc, sequence)| FirEntry { ssrc, sequence }).collect();
        let dlrr: Vec<DlrrItem> = dlrr.into_iter().map(|(ssrc, last_rr, delay_since_last_rr)| DlrrItem { ssrc, last_rr, delay_since_last_rr }).collect();
        let mut buf = vec![0u8; 2048];
        let mut n = Fir::write(1, &entries, &mut buf).unwrap();
        n += Remb::write(1, bitrate, &ssrcs, &mut buf[n..]).unwrap();
        n += Xr::write(1, rrtr, &dlrr, &mut buf[n..]).unwrap();
        let c = RtcpCompound::parse(&buf[..n], true).unwrap();
        let p: Vec<_> = c.packets().collect();
        let RtcpPacket::Fir(f) = p[0] else { panic!() };
        prop_assert_eq!(f.entries().collect::<Vec<_>>(), entries);
        let RtcpPacket::Remb(r) = p[1] else { panic!() };
        // Rounded down to an 18-bit mantissa: within 2^-17 of the value.
        prop_assert!(r.bitrate <= bitrate && bitrate - r.bitrate <= bitrate >> 17);
        prop_assert_eq!(r.ssrcs().collect::<Vec<_>>(), ssrcs);
        let RtcpPacket::Xr(x) = p[2] else { panic!() };
        let mut got_rrtr = None;
        let mut got_dlrr = Vec::new();
        for b in x.blocks() {
            match b {
                XrBlock::Rrtr(t) => got_rrtr = Some(t),
                XrBlock::Dlrr(d) => got_dlrr.extend(d.iter()),
                XrBlock::Unknown { .. } => prop_assert!(false),
            }
        }
        prop_assert_eq!(got_rrtr, rrtr);
        prop_assert_eq!(got_dlrr, dlrr);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), rsize in any::<bool>()) {
        if let Ok(p) = RtpPacket::parse(&bytes) {
            let _ = p.csrcs().count();
            if let Some(e) = p.extensions() {
                let _ = e.iter().count();
            }
        }
        let mut rtcp = bytes.clone();
        // Steer most inputs past the version check.
        if let Some(b) = rtcp.first_mut() {
            *b = 0x80 | (*b & 0x3F);
        }
        if let Ok(c) = RtcpCompound::parse(&rtcp, rsize) {
            for p in c.packets() {
                walk(p);
            }
        }
    }
}

/// Touches every accessor of a parsed packet.
fn walk(p: RtcpPacket<'_>) {
    match p {
        RtcpPacket::SenderReport(s) => drop(s.report_blocks().count()),
        RtcpPacket::ReceiverReport(r) => drop(r.report_blocks().count()),
        RtcpPacket::Sdes(s) => s.chunks().for_each(|c| {
            c.items().for_each(drop);
        }),
        RtcpPacket::Bye(b) => drop(b.ssrcs().count()),
        RtcpPacket::Xr(x) => x.blocks().for_each(|b| {
            if let XrBlock::Dlrr(d) = b {
                d.iter().for_each(drop);
            }
        }),
        RtcpPacket::Nack(n) => drop(n.sequences().count()),
        RtcpPacket::Fir(f) => drop(f.entries().count()),
        RtcpPacket::Remb(r) => drop(r.ssrcs().count()),
        RtcpPacket::TransportCc(t) => drop(t.statuses().count()),
        RtcpPacket::App(_) | RtcpPacket::Pli(_) | RtcpPacket::Unknown(_) => {}
    }
}
