//! Audio payloads (RFC 7587 §4.2 Opus: "only one Opus packet per RTP
//! payload"; RFC 3551 §4.5 for PCMU, PCMA and G.722: the frame's samples
//! as they are): one frame per packet.

use super::CodecError;

pub(super) fn packetize(frame: &[u8], max_payload: usize) -> Result<Vec<Vec<u8>>, CodecError> {
    if frame.len() > max_payload {
        return Err(CodecError::TooLarge(frame.len()));
    }
    Ok(vec![frame.to_vec()])
}
