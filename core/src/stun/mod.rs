//! STUN (RFC 8489): the message codec, integrity and fingerprint.
//!
//! A codec only: no transactions, no retransmission (those live in `ice/`).
//!
//! - [`StunMessage::parse`] reads a message from borrowed bytes without
//!   copying or allocating. It checks the whole structure once (header,
//!   every attribute's length and, for the attributes it knows, their value);
//!   after that no accessor can panic or fail.
//! - [`MessageWriter`] writes a message into a caller's buffer, attribute by
//!   attribute, and finishes it with MESSAGE-INTEGRITY(-SHA256) and
//!   FINGERPRINT.
//! - Integrity and fingerprint are checked in constant time
//!   (`openssl::memcmp::eq`).
//!
//! The TURN attributes (RFC 8656) are part of the codec so that TURN only
//! adds behaviour.

// Public for the fuzz targets only (see lib.rs); the TURN half of the codec
// is used by the TURN client of a later issue.
#![cfg_attr(not(fuzzing), allow(unreachable_pub, dead_code, unused_imports))]

mod attr;
mod integrity;
mod message;
#[cfg(test)]
mod tests;

pub use attr::{attr_type, Attribute, ErrorCode, UnknownAttributes};
pub(crate) use integrity::KeptKey;
pub use integrity::{long_term_key, Integrity};
pub use message::{MessageWriter, StunMessage};

/// The magic cookie every RFC 5389/8489 message carries in bytes 4..8.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;

/// Size of the fixed STUN header.
pub const HEADER_LEN: usize = 20;

/// The most unknown comprehension-required attribute types one parsed
/// message remembers for its 420 answer. More are still detected (the
/// message is still answered with 420) but only the first ones are listed.
pub const MAX_UNKNOWN_LISTED: usize = 8;

/// The class of a STUN message (RFC 8489 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// A request: expects a response.
    Request,
    /// An indication: no response.
    Indication,
    /// A success response.
    Success,
    /// An error response (carries ERROR-CODE).
    Error,
}

impl Class {
    /// The two class bits C1 C0.
    fn bits(self) -> u16 {
        match self {
            Self::Request => 0b00,
            Self::Indication => 0b01,
            Self::Success => 0b10,
            Self::Error => 0b11,
        }
    }

    fn from_bits(bits: u16) -> Self {
        match bits & 0b11 {
            0b00 => Self::Request,
            0b01 => Self::Indication,
            0b10 => Self::Success,
            _ => Self::Error,
        }
    }
}

/// A STUN method: 12 bits (RFC 8489 §5, IANA "STUN Methods").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Method(pub u16);

impl Method {
    /// Binding (RFC 8489): ICE checks, consent, server-reflexive discovery.
    pub const BINDING: Self = Self(0x001);
    /// Allocate (RFC 8656).
    pub const ALLOCATE: Self = Self(0x003);
    /// Refresh (RFC 8656).
    pub const REFRESH: Self = Self(0x004);
    /// Send (RFC 8656), an indication.
    pub const SEND: Self = Self(0x006);
    /// Data (RFC 8656), an indication.
    pub const DATA: Self = Self(0x007);
    /// CreatePermission (RFC 8656).
    pub const CREATE_PERMISSION: Self = Self(0x008);
    /// ChannelBind (RFC 8656).
    pub const CHANNEL_BIND: Self = Self(0x009);
}

/// Encodes method and class into the 14-bit message type (RFC 8489 §5):
///
/// ```text
///  0                 1
///  2  3  4 5 6 7 8 9 0 1 2 3 4 5
/// +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
/// |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
/// |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
/// +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
fn message_type(class: Class, method: Method) -> u16 {
    let m = method.0 & 0x0fff;
    let c = class.bits();
    (m & 0x000f) | ((c & 1) << 4) | ((m & 0x0070) << 1) | ((c & 2) << 7) | ((m & 0x0f80) << 2)
}

/// Splits a 14-bit message type into class and method.
fn split_message_type(t: u16) -> (Class, Method) {
    let c = ((t >> 4) & 1) | ((t >> 7) & 2);
    let m = (t & 0x000f) | ((t >> 1) & 0x0070) | ((t >> 2) & 0x0f80);
    (Class::from_bits(c), Method(m))
}

/// The 96-bit transaction id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub [u8; 12]);

impl std::fmt::Debug for TransactionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Why bytes are not a STUN message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Shorter than the header, or than the header's length field says.
    #[error("truncated STUN message")]
    Truncated,
    /// The two leading bits are not zero, or the magic cookie is wrong.
    #[error("not a STUN message")]
    NotStun,
    /// The length field is not a multiple of 4 or disagrees with the size.
    #[error("bad STUN message length")]
    BadLength,
    /// An attribute runs past the end of the message.
    #[error("STUN attribute {0:#06x} overruns the message")]
    AttributeOverrun(u16),
    /// A known attribute has a malformed value (RFC 8489 §6.3: answered
    /// with 400 for requests, otherwise discarded).
    #[error("malformed STUN attribute {0:#06x}")]
    BadAttribute(u16),
    /// FINGERPRINT is present but wrong, or not the last attribute.
    #[error("bad STUN fingerprint")]
    BadFingerprint,
}

/// Why a message could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The caller's buffer is too small.
    #[error("buffer too small for STUN message")]
    BufferTooSmall,
    /// A value is too long for its attribute (or for a 16-bit length).
    #[error("STUN attribute {0:#06x} value too long")]
    TooLong(u16),
    /// MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are
    /// computed by [`MessageWriter::finish`], not written as attributes.
    #[error("attribute {0:#06x} is written by finish()")]
    Reserved(u16),
    /// An ERROR-CODE outside 300..=699.
    #[error("error code {0} out of range")]
    BadErrorCode(u16),
    /// OpenSSL failed to compute an HMAC.
    #[error("HMAC failed")]
    Crypto,
}

/// Quick test (RFC 8489 §6.3 first checks): could `bytes` be a STUN
/// message? Two leading zero bits, the magic cookie, a length that is a
/// multiple of 4.
pub fn is_stun(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_LEN
        && bytes[0] & 0xc0 == 0
        && bytes[4..8] == MAGIC_COOKIE.to_be_bytes()
        && u16::from_be_bytes([bytes[2], bytes[3]]).is_multiple_of(4)
}
