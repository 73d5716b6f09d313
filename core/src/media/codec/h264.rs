//! H.264 (RFC 6184, packetization-mode 1): single NAL unit packets,
//! STAP-A aggregation of small NAL units, FU-A fragmentation of large
//! ones. Frames are Annex-B byte streams.

use super::nal::{self, nal_units, NalFormat};
use super::CodecError;

/// RFC 6184 §5.4: NAL unit type 24, STAP-A.
const STAP_A: u8 = 24;
/// RFC 6184 §5.4: NAL unit type 28, FU-A.
const FU_A: u8 = 28;
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// RFC 6184's headers.
struct H264;

impl NalFormat for H264 {
    const HEADER: usize = 1;

    fn aggregation_header(units: &[&[u8]], out: &mut Vec<u8>) {
        // RFC 6184 §5.7.1: the STAP-A header's F is the OR of the units'
        // F bits and NRI their maximum.
        let f = units.iter().map(|n| n[0] & 0x80).fold(0, |a, b| a | b);
        let nri = units.iter().map(|n| n[0] & 0x60).max().unwrap_or(0);
        out.push(f | nri | STAP_A);
    }

    fn fragment_header(nal: &[u8], start: bool, end: bool, out: &mut Vec<u8>) {
        // RFC 6184 §5.8: FU-A, "the FU indicator ... F and NRI ... from the
        // fragmented NAL unit"; the FU header carries S, E and the unit's
        // type.
        out.push((nal[0] & 0xe0) | FU_A);
        out.push(u8::from(start) << 7 | u8::from(end) << 6 | (nal[0] & 0x1f));
    }
}

pub(super) fn packetize(frame: &[u8], max_payload: usize) -> Result<Vec<Vec<u8>>, CodecError> {
    if max_payload < 3 {
        return Err(CodecError::TooLarge(frame.len()));
    }
    let nals = nal_units(frame);
    if nals.is_empty() {
        return Err(CodecError::Empty);
    }
    Ok(nal::packetize::<H264>(&nals, max_payload))
}

/// Packetization-mode 0 (RFC 6184 §6.2: "Only single NAL unit packets
/// MAY be used in this mode. STAP-As, STAP-Bs, MTAPs, FU-As, and FU-Bs
/// MUST NOT be used."): one NAL unit a packet; a unit larger than
/// `max_payload` cannot be sent.
pub(super) fn packetize_single(
    frame: &[u8],
    max_payload: usize,
) -> Result<Vec<Vec<u8>>, CodecError> {
    let nals = nal_units(frame);
    if nals.is_empty() {
        return Err(CodecError::Empty);
    }
    match nals.iter().find(|n| n.len() > max_payload) {
        Some(big) => Err(CodecError::TooLarge(big.len())),
        None => Ok(nals.iter().map(|n| n.to_vec()).collect()),
    }
}

/// Whether the payload begins a NAL unit (not the middle of a FU-A).
pub(super) fn starts_nal(payload: &[u8]) -> bool {
    match payload {
        [h, fu, ..] if h & 0x1f == FU_A => fu & 0x80 != 0,
        [_, ..] => true,
        [] => false,
    }
}

fn push_nal(nal: &[u8], frame: &mut Vec<u8>, keyframe: &mut bool) {
    // RFC 6184 §1.3: type 5 is "Coded slice of an IDR picture".
    if nal.first().is_some_and(|h| h & 0x1f == 5) {
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
    let Some(&header) = payload.first() else {
        return false;
    };
    // RFC 6184 §5.3: "F: forbidden_zero_bit ... A value of 1 indicates
    // ... a syntax violation".
    if header & 0x80 != 0 {
        return false;
    }
    match header & 0x1f {
        1..=23 => {
            if *fragment_open {
                return false;
            }
            push_nal(payload, frame, keyframe);
            true
        }
        STAP_A => nal::aggregated_units(&payload[1..], 1, |n| push_nal(n, frame, keyframe)),
        FU_A => {
            let Some(&fu) = payload.get(1) else {
                return false;
            };
            let (start, end) = (fu & 0x80 != 0, fu & 0x40 != 0);
            let data = &payload[2..];
            if start {
                if *fragment_open {
                    return false;
                }
                let nal_header = (header & 0xe0) | (fu & 0x1f);
                push_nal(&[nal_header], frame, keyframe);
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
        // STAP-B, MTAP, FU-B (interleaved mode) and reserved types.
        _ => false,
    }
}
