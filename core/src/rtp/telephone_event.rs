//! The RFC 4733 telephone-event payload (DTMF):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     event     |E|R| volume    |          duration             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::ParseError;

/// The payload's size.
pub const LEN: usize = 4;

/// One telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// The event code (RFC 4733 §3.2: 0–9, 10 `*`, 11 `#`, 12–15 A–D).
    pub event: u8,
    /// The E bit: "the current packet covers the end of the tone".
    pub end: bool,
    /// The volume, 0..=63 (−dBm0).
    pub volume: u8,
    /// The duration so far, in RTP timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses a payload (RFC 4733 §2.3: a packet may carry redundant
    /// events after the first; only the first is read).
    pub fn parse(payload: &[u8]) -> Result<Self, ParseError> {
        let b = payload.get(..LEN).ok_or(ParseError::Truncated)?;
        Ok(Self {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The payload's bytes.
    pub fn to_bytes(self) -> [u8; LEN] {
        let d = self.duration.to_be_bytes();
        // RFC 4733 §2.3.2: "R: This field is reserved for future use. The
        // sender MUST set it to zero".
        [
            self.event,
            u8::from(self.end) << 7 | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }

    /// The DTMF character of a code, for the 16 DTMF events.
    pub fn dtmf_char(code: u8) -> Option<char> {
        Some(match code {
            0..=9 => char::from(b'0' + code),
            10 => '*',
            11 => '#',
            12..=15 => char::from(b'A' + code - 12),
            _ => return None,
        })
    }

    /// The event code of a DTMF character (upper case).
    pub fn dtmf_code(c: char) -> Option<u8> {
        Some(match c {
            '0'..='9' => c as u8 - b'0',
            '*' => 10,
            '#' => 11,
            'A'..='D' => c as u8 - b'A' + 12,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_codes() {
        let e = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 800,
        };
        assert_eq!(e.to_bytes(), [11, 0x8A, 0x03, 0x20]);
        assert_eq!(TelephoneEvent::parse(&e.to_bytes()), Ok(e));
        assert_eq!(
            TelephoneEvent::parse(&[1, 2, 3]),
            Err(ParseError::Truncated)
        );
        for c in "0123456789*#ABCD".chars() {
            let code = TelephoneEvent::dtmf_code(c).unwrap();
            assert_eq!(TelephoneEvent::dtmf_char(code), Some(c));
        }
        assert_eq!(TelephoneEvent::dtmf_char(16), None);
        assert_eq!(TelephoneEvent::dtmf_code('E'), None);
    }
}
