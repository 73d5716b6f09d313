//! H.265 (RFC 7798): single NAL unit packets, aggregation packets (AP)
//! for small NAL units, fragmentation units (FU) for large ones; the NAL
//! unit header is two bytes. Frames are Annex-B byte streams.

use super::nal::{self, nal_units, NalFormat};
use super::CodecError;

/// RFC 7798 §4.4.2: "Type = 48" aggregation packet.
const AP: u8 = 48;
/// RFC 7798 §4.4.3: "Type = 49" fragmentation unit.
const FU: u8 = 49;
const START_CODE: [u8; 4] = [0, 0, 0, 1];

fn nal_type(header: u8) -> u8 {
    (header >> 1) & 0x3f
}

/// RFC 7798's headers.
struct H265;

impl NalFormat for H265 {
    const HEADER: usize = 2;

    fn aggregation_header(units: &[&[u8]], out: &mut Vec<u8>) {
        // RFC 7798 §4.4.2: F is the OR of the units' F bits, the LayerId and
        // TID their lowest.
        let f = units.iter().map(|n| n[0] & 0x80).fold(0, |a, b| a | b);
        let layer = units
            .iter()
            .map(|n| (u16::from(n[0] & 1) << 5) | u16::from(n[1] >> 3))
            .min()
            .unwrap_or(0);
        let tid = units.iter().map(|n| n[1] & 7).min().unwrap_or(1);
        out.push(f | AP << 1 | (layer >> 5) as u8);
        out.push(((layer as u8 & 0x1f) << 3) | tid);
    }

    fn fragment_header(nal: &[u8], start: bool, end: bool, out: &mut Vec<u8>) {
        // RFC 7798 §4.4.3: the payload header copies the NAL unit's with
        // Type 49; the FU header carries S, E and the unit's type.
        out.push((nal[0] & 0x81) | FU << 1);
        out.push(nal[1]);
        out.push(u8::from(start) << 7 | u8::from(end) << 6 | nal_type(nal[0]));
    }
}

pub(super) fn packetize(frame: &[u8], max_payload: usize) -> Result<Vec<Vec<u8>>, CodecError> {
    if max_payload < 4 {
        return Err(CodecError::TooLarge(frame.len()));
    }
    let nals: Vec<&[u8]> = nal_units(frame)
        .into_iter()
        .filter(|n| n.len() >= 2)
        .collect();
    if nals.is_empty() {
        return Err(CodecError::Empty);
    }
    Ok(nal::packetize::<H265>(&nals, max_payload))
}

/// Whether the payload begins a NAL unit (not the middle of an FU).
pub(super) fn starts_nal(payload: &[u8]) -> bool {
    match payload {
        [h, _, fu, ..] if nal_type(*h) == FU => fu & 0x80 != 0,
        [_, _, ..] => true,
        _ => false,
    }
}

fn push_nal(nal: &[u8], frame: &mut Vec<u8>, keyframe: &mut bool) {
    // RFC 7798 §1.1.4 (H.265 Table 7-1): types 16 to 21 are IRAP pictures.
    if nal
        .first()
        .is_some_and(|h| (16..=21).contains(&nal_type(*h)))
    {
        *keyframe = true;
    }
    frame.extend_from_slice(&START_CODE);
    frame.extend_from_slice(nal);
}

/// Appends the payload's NAL units to `frame` in Annex-B; false if
/// malformed.
pub(super) fn depacketize(
    payload: &[u8],
    frame: &mut Vec<u8>,
    keyframe: &mut bool,
    fragment_open: &mut bool,
) -> bool {
    let [h0, h1, rest @ ..] = payload else {
        return false;
    };
    // RFC 7798 §1.1.4: "F: MUST be zero"; §4.4.4 PACI (type 50) and
    // reserved types are not read.
    if h0 & 0x80 != 0 {
        return false;
    }
    match nal_type(*h0) {
        0..=47 => {
            if *fragment_open {
                return false;
            }
            push_nal(payload, frame, keyframe);
            true
        }
        AP => nal::aggregated_units(rest, 2, |n| push_nal(n, frame, keyframe)),
        FU => {
            let [fu, data @ ..] = rest else {
                return false;
            };
            let (start, end) = (fu & 0x80 != 0, fu & 0x40 != 0);
            if start {
                if *fragment_open {
                    return false;
                }
                let header = [(h0 & 0x81) | (fu & 0x3f) << 1, *h1];
                push_nal(&header, frame, keyframe);
                *fragment_open = true;
            } else if !*fragment_open {
                return false;
            }
            frame.extend_from_slice(data);
            if end {
                *fragment_open = false;
            }
            true
        }
        _ => false,
    }
}
