//! VP9 (RFC 9628): the payload descriptor before each piece of a frame.
//! eddy writes non-flexible single-layer descriptors; it reads both modes
//! and every optional part.
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+
//! |I|P|L|F|B|E|V|Z| (REQUIRED)
//! +-+-+-+-+-+-+-+-+
//! |M| PICTURE ID  | (I; a second byte when M)
//! |TID|U| SID |D  | (L)
//! |   TL0PICIDX   | (L, non-flexible only)
//! |  P_DIFF     |N| (F and P; up to 3, N: another follows)
//! |      SS       | (V)
//! ```

use super::CodecError;

/// The descriptor eddy writes: I set, a 15-bit picture id.
const DESCRIPTOR: usize = 3;

pub(super) fn packetize(
    frame: &[u8],
    max_payload: usize,
    picture_id: u16,
    keyframe: bool,
) -> Result<Vec<Vec<u8>>, CodecError> {
    let room = max_payload.saturating_sub(DESCRIPTOR);
    if room == 0 {
        return Err(CodecError::TooLarge(frame.len()));
    }
    let count = frame.len().div_ceil(room);
    let mut out = Vec::with_capacity(count);
    for (i, chunk) in frame.chunks(room).enumerate() {
        // RFC 9628 §4.2: "P: Inter-picture predicted frame. When set to
        // zero, the frame does not utilize inter-picture prediction";
        // B and E: the frame's first and last packet.
        let p = if keyframe { 0 } else { 0x40 };
        let b = if i == 0 { 0x08 } else { 0 };
        let e = if i + 1 == count { 0x04 } else { 0 };
        let mut v = Vec::with_capacity(DESCRIPTOR + chunk.len());
        v.push(0x80 | p | b | e);
        v.push(0x80 | (picture_id >> 8) as u8 & 0x7f);
        v.push(picture_id as u8);
        v.extend_from_slice(chunk);
        out.push(v);
    }
    Ok(out)
}

/// The descriptor's length, or `None` if malformed or cut short.
fn descriptor_len(payload: &[u8]) -> Option<usize> {
    let b0 = *payload.first()?;
    let (i, p, l, f, v) = (
        b0 & 0x80 != 0,
        b0 & 0x40 != 0,
        b0 & 0x20 != 0,
        b0 & 0x10 != 0,
        b0 & 0x02 != 0,
    );
    let mut n = 1;
    if i {
        let m = *payload.get(n)?;
        n += if m & 0x80 != 0 { 2 } else { 1 };
    }
    if l {
        n += if f { 1 } else { 2 };
    }
    if f && p {
        // "up to 3 reference indices"
        for k in 0..3 {
            let d = *payload.get(n)?;
            n += 1;
            if d & 0x01 == 0 {
                break;
            }
            if k == 2 {
                return None;
            }
        }
    }
    if v {
        // RFC 9628 §4.2.1: the scalability structure.
        let ss = *payload.get(n)?;
        n += 1;
        let spatial = usize::from(ss >> 5) + 1;
        if ss & 0x10 != 0 {
            n += 4 * spatial;
        }
        if ss & 0x08 != 0 {
            let groups = *payload.get(n)?;
            n += 1;
            for _ in 0..groups {
                let g = *payload.get(n)?;
                n += 1 + usize::from((g >> 2) & 0x03);
            }
        }
    }
    (n <= payload.len()).then_some(n)
}

/// Whether the payload starts a frame (B set).
pub(super) fn starts_frame(payload: &[u8]) -> bool {
    payload.first().is_some_and(|b| b & 0x08 != 0)
}

/// Appends the payload's VP9 data to `frame`; false if malformed.
/// The layer indices of a packet (RFC 9628 §4.2: with L set, the byte
/// after the picture ID is "TID (3 bits) U (1) SID (3) D (1)"): `(SID,
/// TID)`.
pub(super) fn layer_ids(payload: &[u8]) -> Option<(u8, u8)> {
    let b0 = *payload.first()?;
    if b0 & 0x20 == 0 {
        return None;
    }
    let mut n = 1;
    if b0 & 0x80 != 0 {
        n += if payload.get(1)? & 0x80 != 0 { 2 } else { 1 };
    }
    let b = *payload.get(n)?;
    Some(((b >> 1) & 0x07, b >> 5))
}

pub(super) fn depacketize(payload: &[u8], frame: &mut Vec<u8>, keyframe: &mut bool) -> bool {
    let Some(n) = descriptor_len(payload) else {
        return false;
    };
    if starts_frame(payload) && frame.is_empty() {
        // P clear on the first layer frame of the picture: no inter-picture
        // prediction.
        *keyframe = payload[0] & 0x40 == 0;
    }
    frame.extend_from_slice(&payload[n..]);
    true
}

/// Whether a VP9 frame is a key frame, from its uncompressed header (VP9
/// bitstream specification §6.2: frame_marker, profile, then
/// show_existing_frame and frame_type, 0 being KEY_FRAME).
pub(super) fn is_keyframe(frame: &[u8]) -> bool {
    let Some(&b) = frame.first() else {
        return false;
    };
    if b >> 6 != 0b10 {
        return false;
    }
    let profile = ((b >> 4) & 1) << 1 | ((b >> 5) & 1);
    // Profile 3 has a reserved zero bit before show_existing_frame.
    let shift = if profile == 3 { 2 } else { 3 };
    let show_existing = (b >> shift) & 1 == 1;
    let frame_type = (b >> (shift - 1)) & 1;
    !show_existing && frame_type == 0
}
