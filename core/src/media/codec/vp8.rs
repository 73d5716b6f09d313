//! VP8 (RFC 7741): the payload descriptor before each piece of a frame.
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+
//! |X|R|N|S|R| PID | (REQUIRED)
//! +-+-+-+-+-+-+-+-+
//! |I|L|T|K| RSV   | (OPTIONAL, X)
//! +-+-+-+-+-+-+-+-+
//! |M| PictureID   | (OPTIONAL, I; a second byte when M)
//! +-+-+-+-+-+-+-+-+
//! |   TL0PICIDX   | (OPTIONAL, L)
//! +-+-+-+-+-+-+-+-+
//! |TID|Y| KEYIDX  | (OPTIONAL, T or K)
//! +-+-+-+-+-+-+-+-+
//! ```

use super::CodecError;

/// The descriptor eddy writes: X and I set, a 15-bit PictureID.
const DESCRIPTOR: usize = 4;

pub(super) fn packetize(
    frame: &[u8],
    max_payload: usize,
    picture_id: u16,
) -> Result<Vec<Vec<u8>>, CodecError> {
    let room = max_payload.saturating_sub(DESCRIPTOR);
    if room == 0 {
        return Err(CodecError::TooLarge(frame.len()));
    }
    let mut out = Vec::with_capacity(frame.len().div_ceil(room));
    for (i, chunk) in frame.chunks(room).enumerate() {
        let mut p = Vec::with_capacity(DESCRIPTOR + chunk.len());
        // RFC 7741 §4.2: "S: Start of VP8 partition. SHOULD be set to 1
        // when the first payload octet of the RTP packet is the beginning
        // of a new VP8 partition"; PID 0 (the first partition).
        let s = if i == 0 { 0x10 } else { 0 };
        p.push(0x80 | s);
        p.push(0x80); // I: a PictureID follows.
                      // M = 1: 15 bits.
        p.push(0x80 | (picture_id >> 8) as u8 & 0x7f);
        p.push(picture_id as u8);
        p.extend_from_slice(chunk);
        out.push(p);
    }
    Ok(out)
}

/// The descriptor's length, or `None` if the payload is too short for it.
fn descriptor_len(payload: &[u8]) -> Option<usize> {
    let b0 = *payload.first()?;
    let mut n = 1;
    if b0 & 0x80 != 0 {
        let x = *payload.get(n)?;
        n += 1;
        if x & 0x80 != 0 {
            let m = *payload.get(n)?;
            n += if m & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            n += 1;
        }
        if x & 0x30 != 0 {
            n += 1;
        }
    }
    (n <= payload.len()).then_some(n)
}

/// Whether the payload starts a frame: S set and PID 0.
pub(super) fn starts_frame(payload: &[u8]) -> bool {
    payload.first().is_some_and(|b| b & 0x17 == 0x10)
}

/// Appends the payload's VP8 data to `frame`; false if malformed.
pub(super) fn depacketize(payload: &[u8], frame: &mut Vec<u8>, keyframe: &mut bool) -> bool {
    let Some(n) = descriptor_len(payload) else {
        return false;
    };
    let data = &payload[n..];
    if starts_frame(payload) && frame.is_empty() {
        // RFC 7741 §4.3: the VP8 payload header's "P: Inverse key frame
        // flag. When set to 0, the current frame is a key frame."
        *keyframe = data.first().is_some_and(|b| b & 0x01 == 0);
    }
    frame.extend_from_slice(data);
    true
}
