//! Fuzzes the RTP codec: parsing never panics, every typed header extension
//! parser takes any element's bytes, and whatever parses is written back
//! and parses to the same packet.
#![no_main]

use eddy::rtp::hdrext::{
    AbsCaptureTime, AbsSendTime, CsrcAudioLevels, PlayoutDelay, SdesText, SsrcAudioLevel,
    TransportSequence, VideoOrientation,
};
use eddy::rtp::{RtpHeader, RtpPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = RtpPacket::parse(data) else {
        return;
    };
    let csrc: Vec<u32> = p.csrcs().collect();
    assert_eq!(csrc.len(), p.csrc_count());
    let elements: Vec<(u8, &[u8])> = p
        .extensions()
        .map(|e| e.iter().collect())
        .unwrap_or_default();
    for &(_, v) in &elements {
        let _ = SdesText::parse(v);
        let _ = AbsSendTime::parse(v);
        let _ = TransportSequence::parse(v);
        let _ = SsrcAudioLevel::parse(v);
        let _ = CsrcAudioLevels::parse(v).map(|l| l.levels().count());
        let _ = VideoOrientation::parse(v);
        let _ = PlayoutDelay::parse(v);
        let _ = AbsCaptureTime::parse(v);
    }
    // Another profile's block is not rewritten (it is opaque bytes).
    if p.extensions().is_some_and(|e| e.form().is_none()) {
        return;
    }
    let header = RtpHeader {
        marker: p.marker,
        payload_type: p.payload_type,
        sequence: p.sequence,
        timestamp: p.timestamp,
        ssrc: p.ssrc,
        csrc: &csrc,
        extensions: &elements,
    };
    let mut buf = vec![0u8; data.len() + 1024];
    let n = header
        .write(p.payload, p.padding, &mut buf)
        .expect("own fields are writable");
    let again = RtpPacket::parse(&buf[..n]).expect("own output parses");
    assert_eq!(
        (
            again.marker,
            again.payload_type,
            again.sequence,
            again.timestamp,
            again.ssrc
        ),
        (p.marker, p.payload_type, p.sequence, p.timestamp, p.ssrc)
    );
    assert_eq!(again.csrcs().collect::<Vec<_>>(), csrc);
    assert_eq!(again.payload, p.payload);
    assert_eq!(again.padding, p.padding);
    let reparsed: Vec<(u8, &[u8])> = again
        .extensions()
        .map(|e| e.iter().collect())
        .unwrap_or_default();
    assert_eq!(reparsed, elements);
});
