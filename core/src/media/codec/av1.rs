//! AV1 (the AOM "RTP Payload Format for AV1", v1.0): OBUs without their
//! size fields as the elements of each packet, after a one-byte
//! aggregation header; an element may continue across packets.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+
//! |Z|Y| W |N|-|-|-|  aggregation header
//! +-+-+-+-+-+-+-+-+
//! ```
//! Z: the first element continues the previous packet's last; Y: the last
//! element continues in the next packet; W: the element count (0: every
//! element has a LEB128 length; 1-3: all but the last do); N: the first
//! packet of a coded video sequence.

use super::CodecError;

/// §4.5 "OBU types": OBU_SEQUENCE_HEADER.
const SEQUENCE_HEADER: u8 = 1;
/// OBU_TEMPORAL_DELIMITER: "SHOULD be removed when transmitting".
const TEMPORAL_DELIMITER: u8 = 2;
/// OBU_TILE_LIST: "SHOULD be removed when transmitting".
const TILE_LIST: u8 = 8;

fn obu_type(header: u8) -> u8 {
    (header >> 3) & 0x0f
}

/// Reads a LEB128 value (AV1 §4.10.5, at most 8 bytes): (value, length).
fn leb128(buf: &[u8]) -> Option<(usize, usize)> {
    let mut v: u64 = 0;
    for (i, b) in buf.iter().take(8).enumerate() {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((usize::try_from(v).ok()?, i + 1));
        }
    }
    None
}

fn write_leb128(mut v: usize, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn leb128_len(v: usize) -> usize {
    let mut n = 1;
    let mut v = v >> 7;
    while v > 0 {
        n += 1;
        v >>= 7;
    }
    n
}

/// The OBUs of a low-overhead bitstream frame, each as the element the
/// payload carries: its header with `obu_has_size_field` cleared, the
/// extension byte, the data. `None` if malformed.
fn elements(frame: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut rest = frame;
    while !rest.is_empty() {
        let h = rest[0];
        let ext = usize::from(h & 0x04 != 0);
        let head = rest.get(..1 + ext)?;
        let after = &rest[1 + ext..];
        let (size, body) = if h & 0x02 != 0 {
            let (size, n) = leb128(after)?;
            (size, after.get(n..)?)
        } else {
            (after.len(), after)
        };
        let data = body.get(..size)?;
        rest = &body[size..];
        if matches!(obu_type(h), TEMPORAL_DELIMITER | TILE_LIST) {
            continue;
        }
        let mut e = Vec::with_capacity(1 + ext + size);
        e.push(h & !0x02);
        e.extend_from_slice(&head[1..]);
        e.extend_from_slice(data);
        out.push(e);
    }
    Some(out)
}

pub(super) fn packetize(frame: &[u8], max_payload: usize) -> Result<Vec<Vec<u8>>, CodecError> {
    let elems = elements(frame).ok_or(CodecError::Malformed)?;
    if elems.is_empty() {
        return Err(CodecError::Empty);
    }
    // Room for the aggregation header and at least one length byte and
    // one data byte.
    if max_payload < 3 {
        return Err(CodecError::TooLarge(frame.len()));
    }
    let new_sequence = elems.iter().any(|e| obu_type(e[0]) == SEQUENCE_HEADER);
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut packet = vec![0u8];
    let mut continues = false;
    for e in &elems {
        let mut rest = &e[..];
        while !rest.is_empty() {
            let room = max_payload - packet.len();
            // A length byte and a data byte at least, else a new packet.
            if room < 2 {
                out.push(std::mem::replace(&mut packet, vec![0u8]));
                continue;
            }
            let mut take = rest.len().min(room - 1);
            while leb128_len(take) + take > room {
                take -= 1;
            }
            if packet.len() == 1 && continues {
                packet[0] |= 0x80; // Z
            }
            write_leb128(take, &mut packet);
            packet.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            continues = !rest.is_empty();
            if continues {
                packet[0] |= 0x40; // Y
                out.push(std::mem::replace(&mut packet, vec![0u8]));
            }
        }
    }
    if packet.len() > 1 {
        out.push(packet);
    }
    if new_sequence {
        out[0][0] |= 0x08; // N
    }
    Ok(out)
}

/// Whether the payload starts a frame: no continued element first.
pub(super) fn starts_frame(payload: &[u8]) -> bool {
    payload.first().is_some_and(|b| b & 0x80 == 0)
}

/// Appends the payload's OBUs (size fields restored) to `frame`, keeping a
/// continued element in `partial`; false if malformed.
pub(super) fn depacketize(
    payload: &[u8],
    frame: &mut Vec<u8>,
    keyframe: &mut bool,
    partial: &mut Vec<u8>,
) -> bool {
    let Some((&agg, mut rest)) = payload.split_first() else {
        return false;
    };
    let (z, y, w, n) = (
        agg & 0x80 != 0,
        agg & 0x40 != 0,
        (agg >> 4) & 3,
        agg & 0x08 != 0,
    );
    if z == partial.is_empty() {
        // A continuation without its start, or a start while one is open.
        partial.clear();
        return false;
    }
    if n {
        *keyframe = true;
    }
    let mut index = 0u8;
    while !rest.is_empty() {
        index += 1;
        let (len, skip) = if w != 0 && index == w {
            (rest.len(), 0)
        } else {
            match leb128(rest) {
                Some(v) => v,
                None => return false,
            }
        };
        let Some(data) = rest.get(skip..skip + len) else {
            return false;
        };
        rest = &rest[skip + len..];
        partial.extend_from_slice(data);
        let last = rest.is_empty();
        if last && y {
            break;
        }
        let element = std::mem::take(partial);
        let Some(&h) = element.first() else {
            return false;
        };
        let ext = usize::from(h & 0x04 != 0);
        let Some(body) = element.get(1 + ext..) else {
            return false;
        };
        if obu_type(h) == SEQUENCE_HEADER {
            *keyframe = true;
        }
        frame.push(h | 0x02);
        frame.extend_from_slice(&element[1..1 + ext]);
        write_leb128(body.len(), frame);
        frame.extend_from_slice(body);
    }
    true
}
