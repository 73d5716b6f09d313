//! H.264 (RFC 6184, packetization-mode 1): single NAL unit packets,
//! STAP-A aggregation of small NAL units, FU-A fragmentation of large
//! ones. Frames are Annex-B byte streams.

use super::CodecError;

/// RFC 6184 §5.4: NAL unit type 24, STAP-A.
const STAP_A: u8 = 24;
/// RFC 6184 §5.4: NAL unit type 28, FU-A.
const FU_A: u8 = 28;
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The NAL units of an Annex-B stream (start codes of 3 or 4 bytes).
pub(super) fn nal_units(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    if starts.is_empty() {
        // No start code: the whole frame is one NAL unit.
        return if stream.is_empty() {
            vec![]
        } else {
            vec![stream]
        };
    }
    let mut out = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(stream.len(), |&n| n - 3);
        // A 4-byte start code's leading zero belongs to it, not to the
        // NAL unit before.
        if k + 1 < starts.len() && end > s && stream[end - 1] == 0 {
            end -= 1;
        }
        if end > s {
            out.push(&stream[s..end]);
        }
    }
    out
}

pub(super) fn packetize(frame: &[u8], max_payload: usize) -> Result<Vec<Vec<u8>>, CodecError> {
    if max_payload < 3 {
        return Err(CodecError::TooLarge(frame.len()));
    }
    let nals = nal_units(frame);
    if nals.is_empty() {
        return Err(CodecError::Empty);
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    // NAL units small enough to aggregate, waiting for the next STAP-A.
    let mut stap: Vec<&[u8]> = Vec::new();
    let flush = |stap: &mut Vec<&[u8]>, out: &mut Vec<Vec<u8>>| {
        match stap.len() {
            0 => {}
            1 => out.push(stap[0].to_vec()),
            _ => {
                // RFC 6184 §5.7.1: the STAP-A header's F is the OR of the
                // units' F bits and NRI their maximum.
                let f = stap.iter().map(|n| n[0] & 0x80).fold(0, |a, b| a | b);
                let nri = stap.iter().map(|n| n[0] & 0x60).max().unwrap_or(0);
                let mut p = vec![f | nri | STAP_A];
                for n in stap.iter() {
                    p.extend_from_slice(&(n.len() as u16).to_be_bytes());
                    p.extend_from_slice(n);
                }
                out.push(p);
            }
        }
        stap.clear();
    };
    for nal in nals {
        if 1 + 2 + nal.len() <= max_payload {
            // Small enough to share a STAP-A.
            let stap_len: usize = 1 + stap.iter().map(|n| 2 + n.len()).sum::<usize>();
            if stap_len + 2 + nal.len() > max_payload {
                flush(&mut stap, &mut out);
            }
            stap.push(nal);
            continue;
        }
        if nal.len() <= max_payload {
            flush(&mut stap, &mut out);
            out.push(nal.to_vec());
            continue;
        }
        flush(&mut stap, &mut out);
        // RFC 6184 §5.8: FU-A, "the FU indicator ... F and NRI ... from
        // the fragmented NAL unit"; the FU header carries S, E and the
        // unit's type.
        let header = nal[0];
        let body = &nal[1..];
        let room = max_payload - 2;
        let count = body.len().div_ceil(room);
        for (i, chunk) in body.chunks(room).enumerate() {
            let s = if i == 0 { 0x80 } else { 0 };
            let e = if i + 1 == count { 0x40 } else { 0 };
            let mut p = Vec::with_capacity(2 + chunk.len());
            p.push((header & 0xe0) | FU_A);
            p.push(s | e | (header & 0x1f));
            p.extend_from_slice(chunk);
            out.push(p);
        }
    }
    flush(&mut stap, &mut out);
    Ok(out)
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
        STAP_A => {
            let mut rest = &payload[1..];
            if rest.is_empty() {
                return false;
            }
            while !rest.is_empty() {
                let [a, b, tail @ ..] = rest else {
                    return false;
                };
                let len = usize::from(u16::from_be_bytes([*a, *b]));
                if len == 0 || len > tail.len() {
                    return false;
                }
                push_nal(&tail[..len], frame, keyframe);
                rest = &tail[len..];
            }
            true
        }
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
