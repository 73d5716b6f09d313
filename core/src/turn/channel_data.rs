//! The ChannelData message (RFC 8656 §12.4): a 4-byte header (channel
//! number, length) in front of application data, the fast path once a
//! channel is bound.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Channel Number        |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! /                       Application Data                        /
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

/// Size of the ChannelData header.
pub const HEADER_LEN: usize = 4;

/// RFC 8656 §12: "0x4000 through 0x4FFF: These values are the allowed
/// channel numbers (4096 possible values)."
pub const CHANNEL_MIN: u16 = 0x4000;
/// The last allowed channel number.
pub const CHANNEL_MAX: u16 = 0x4FFF;

/// Whether `n` is a channel number a ChannelBind may use.
pub fn is_channel_number(n: u16) -> bool {
    (CHANNEL_MIN..=CHANNEL_MAX).contains(&n)
}

/// Why bytes are not a ChannelData message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChannelDataError {
    /// Shorter than the header, or than the length field says.
    #[error("truncated ChannelData message")]
    Truncated,
    /// The channel number is outside 0x4000..=0x4FFF.
    #[error("channel number {0:#06x} out of range")]
    BadChannel(u16),
    /// More than 65535 bytes of data, or a buffer too small to write into.
    #[error("ChannelData too long for its buffer or length field")]
    TooLong,
}

/// Parses a ChannelData message: `(channel number, application data)`.
///
/// RFC 8656 §12.4: "The Length field specifies the length in bytes of the
/// application data field (i.e., it does not include the size of the
/// ChannelData header)." Over UDP the padding is optional (§12.5: "the
/// padding is not required but MAY be included"), so bytes past the
/// data are ignored whatever they are; `stream` framing (TCP/TLS) pads to a
/// multiple of four, see [`framed_len`].
pub fn parse(bytes: &[u8]) -> Result<(u16, &[u8]), ChannelDataError> {
    let (head, rest) = bytes
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(ChannelDataError::Truncated)?;
    let channel = u16::from_be_bytes([head[0], head[1]]);
    if !is_channel_number(channel) {
        // RFC 8656 §12.5: a ChannelData message with a channel number
        // outside the range is silently discarded.
        return Err(ChannelDataError::BadChannel(channel));
    }
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let data = rest.get(..len).ok_or(ChannelDataError::Truncated)?;
    Ok((channel, data))
}

/// The size a ChannelData message with `data_len` bytes of data takes on
/// a stream transport. RFC 8656 §12.5: "Over TCP and TLS-over-TCP, the
/// ChannelData message MUST be padded to a multiple of four bytes in order
/// to ensure the alignment of subsequent messages."
pub fn framed_len(data_len: usize, stream: bool) -> usize {
    let n = HEADER_LEN + data_len;
    if stream {
        (n + 3) & !3
    } else {
        n
    }
}

/// Writes a ChannelData message into `out` (padded with zeros when
/// `stream`); returns its length.
pub fn write(
    channel: u16,
    data: &[u8],
    stream: bool,
    out: &mut [u8],
) -> Result<usize, ChannelDataError> {
    if !is_channel_number(channel) {
        return Err(ChannelDataError::BadChannel(channel));
    }
    let len = u16::try_from(data.len()).map_err(|_| ChannelDataError::TooLong)?;
    let total = framed_len(data.len(), stream);
    let slot = out.get_mut(..total).ok_or(ChannelDataError::TooLong)?;
    slot[..2].copy_from_slice(&channel.to_be_bytes());
    slot[2..4].copy_from_slice(&len.to_be_bytes());
    slot[HEADER_LEN..HEADER_LEN + data.len()].copy_from_slice(data);
    slot[HEADER_LEN + data.len()..].fill(0);
    Ok(total)
}

/// [`write`] into a new vector (UDP: no padding).
pub fn to_vec(channel: u16, data: &[u8]) -> Result<Vec<u8>, ChannelDataError> {
    let mut v = vec![0u8; framed_len(data.len(), false)];
    write(channel, data, false, &mut v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_udp_and_stream() {
        let v = to_vec(0x4001, b"hello").unwrap();
        assert_eq!(v, [0x40, 0x01, 0x00, 0x05, b'h', b'e', b'l', b'l', b'o']);
        assert_eq!(parse(&v).unwrap(), (0x4001, &b"hello"[..]));
        let mut buf = [0xffu8; 16];
        let n = write(0x4FFF, b"hello", true, &mut buf).unwrap();
        assert_eq!(n, 12);
        assert_eq!(&buf[9..12], &[0, 0, 0], "stream padding is zeros");
        assert_eq!(parse(&buf[..n]).unwrap(), (0x4FFF, &b"hello"[..]));
    }

    #[test]
    fn bad_input_is_refused() {
        assert_eq!(parse(&[0x40, 0]), Err(ChannelDataError::Truncated));
        assert_eq!(
            parse(&[0x40, 0, 0, 9, 1, 2]),
            Err(ChannelDataError::Truncated)
        );
        assert_eq!(
            parse(&[0x50, 0, 0, 0]),
            Err(ChannelDataError::BadChannel(0x5000))
        );
        assert_eq!(
            parse(&[0x3f, 0xff, 0, 0]),
            Err(ChannelDataError::BadChannel(0x3fff))
        );
        assert_eq!(
            to_vec(0x3fff, b""),
            Err(ChannelDataError::BadChannel(0x3fff))
        );
        assert_eq!(
            write(0x4000, b"abc", false, &mut [0u8; 6]),
            Err(ChannelDataError::TooLong)
        );
        assert_eq!(
            to_vec(0x4000, &vec![0u8; 70_000]),
            Err(ChannelDataError::TooLong)
        );
        // Trailing bytes (UDP padding) are ignored.
        assert_eq!(
            parse(&[0x40, 0, 0, 1, 7, 9, 9, 9]).unwrap(),
            (0x4000, &[7u8][..])
        );
    }
}
