//! RED, redundant audio data (RFC 2198): a payload carrying the primary
//! encoding after earlier ones, each block with its payload type and how
//! much older it is.
//!
//! ```text
//!  0                   1                   2                   3
//! |F|   block PT  |  timestamp offset         |   block length    |
//! |0|   block PT  |   (the primary's header: one byte)
//! ```

use super::CodecError;

/// RFC 2198 §3: "block length: 10 bits", "timestamp offset: 14 bits".
const MAX_BLOCK_LEN: usize = (1 << 10) - 1;
const MAX_OFFSET: u32 = (1 << 14) - 1;
/// Blocks read from one payload at most.
pub const MAX_RED_BLOCKS: usize = 16;

/// One block of a RED payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedBlock<'a> {
    /// The block's payload type.
    pub payload_type: u8,
    /// How much earlier than the packet's timestamp it was (0 for the
    /// primary).
    pub timestamp_offset: u32,
    /// The encoded data.
    pub data: &'a [u8],
}

/// A RED payload of `primary` after the `redundant` blocks (oldest first).
pub fn red_encode(
    primary: &RedBlock<'_>,
    redundant: &[RedBlock<'_>],
) -> Result<Vec<u8>, CodecError> {
    let size: usize =
        1 + primary.data.len() + redundant.iter().map(|b| 4 + b.data.len()).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    for b in redundant {
        if b.data.len() > MAX_BLOCK_LEN || b.timestamp_offset > MAX_OFFSET || b.payload_type > 127 {
            return Err(CodecError::TooLarge(b.data.len()));
        }
        // "F: 1 bit First bit in header indicates whether another header
        // block follows."
        let word = 1u32 << 31
            | u32::from(b.payload_type) << 24
            | b.timestamp_offset << 10
            | b.data.len() as u32;
        out.extend_from_slice(&word.to_be_bytes());
    }
    if primary.payload_type > 127 {
        return Err(CodecError::Malformed);
    }
    out.push(primary.payload_type);
    for b in redundant {
        out.extend_from_slice(b.data);
    }
    out.extend_from_slice(primary.data);
    Ok(out)
}

/// The blocks of a RED payload, oldest first, the primary last.
pub fn red_decode(payload: &[u8]) -> Result<Vec<RedBlock<'_>>, CodecError> {
    let mut headers = Vec::new();
    let mut at = 0;
    loop {
        let b = *payload.get(at).ok_or(CodecError::Malformed)?;
        if b & 0x80 == 0 {
            headers.push((b & 0x7f, 0u32, None));
            at += 1;
            break;
        }
        if headers.len() >= MAX_RED_BLOCKS {
            return Err(CodecError::Malformed);
        }
        let w = payload.get(at..at + 4).ok_or(CodecError::Malformed)?;
        let word = u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
        headers.push((
            ((word >> 24) & 0x7f) as u8,
            (word >> 10) & 0x3fff,
            Some((word & 0x3ff) as usize),
        ));
        at += 4;
    }
    let mut blocks = Vec::with_capacity(headers.len());
    for (pt, offset, len) in headers {
        let len = len.unwrap_or(payload.len().saturating_sub(at));
        let data = payload.get(at..at + len).ok_or(CodecError::Malformed)?;
        at += len;
        blocks.push(RedBlock {
            payload_type: pt,
            timestamp_offset: offset,
            data,
        });
    }
    Ok(blocks)
}
