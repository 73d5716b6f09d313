//! STUN attributes (RFC 8489 §14, RFC 8445 §16.1, RFC 8656 §18): types,
//! decoding from borrowed bytes and encoding into a caller's buffer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{EncodeError, TransactionId, MAGIC_COOKIE};

/// Attribute type codes (IANA "STUN Attributes").
pub mod attr_type {
    /// MAPPED-ADDRESS (RFC 8489 §14.1).
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    /// USERNAME (RFC 8489 §14.3).
    pub const USERNAME: u16 = 0x0006;
    /// MESSAGE-INTEGRITY (RFC 8489 §14.5).
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    /// ERROR-CODE (RFC 8489 §14.8).
    pub const ERROR_CODE: u16 = 0x0009;
    /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.13).
    pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
    /// CHANNEL-NUMBER (RFC 8656 §18.1).
    pub const CHANNEL_NUMBER: u16 = 0x000C;
    /// LIFETIME (RFC 8656 §18.2).
    pub const LIFETIME: u16 = 0x000D;
    /// XOR-PEER-ADDRESS (RFC 8656 §18.3).
    pub const XOR_PEER_ADDRESS: u16 = 0x0012;
    /// DATA (RFC 8656 §18.4).
    pub const DATA: u16 = 0x0013;
    /// REALM (RFC 8489 §14.9).
    pub const REALM: u16 = 0x0014;
    /// NONCE (RFC 8489 §14.10).
    pub const NONCE: u16 = 0x0015;
    /// XOR-RELAYED-ADDRESS (RFC 8656 §18.5).
    pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
    /// REQUESTED-TRANSPORT (RFC 8656 §18.7).
    pub const REQUESTED_TRANSPORT: u16 = 0x0019;
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).
    pub const MESSAGE_INTEGRITY_SHA256: u16 = 0x001C;
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    /// PRIORITY (RFC 8445 §16.1).
    pub const PRIORITY: u16 = 0x0024;
    /// USE-CANDIDATE (RFC 8445 §16.1).
    pub const USE_CANDIDATE: u16 = 0x0025;
    /// SOFTWARE (RFC 8489 §14.14).
    pub const SOFTWARE: u16 = 0x8022;
    /// ALTERNATE-SERVER (RFC 8489 §14.15).
    pub const ALTERNATE_SERVER: u16 = 0x8023;
    /// FINGERPRINT (RFC 8489 §14.7).
    pub const FINGERPRINT: u16 = 0x8028;
    /// ICE-CONTROLLED (RFC 8445 §16.1).
    pub const ICE_CONTROLLED: u16 = 0x8029;
    /// ICE-CONTROLLING (RFC 8445 §16.1).
    pub const ICE_CONTROLLING: u16 = 0x802A;
}

use attr_type as t;

/// RFC 8489 §14.3: USERNAME "MUST contain a UTF-8-encoded sequence of fewer
/// than 509 bytes" (we accept up to 513 from RFC 5389 peers).
const USERNAME_MAX_SEND: usize = 508;
const USERNAME_MAX_RECV: usize = 513;
/// RFC 8489 §14.9/14.10/14.14/14.8: REALM, NONCE, SOFTWARE and the reason
/// phrase are "fewer than 128 characters (which can be as long as 509 bytes
/// when encoding them and as long as 763 bytes when decoding them)".
const TEXT_MAX_SEND: usize = 509;
const TEXT_MAX_RECV: usize = 763;

/// An ERROR-CODE value (RFC 8489 §14.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode<'a> {
    /// 300..=699.
    pub code: u16,
    /// The reason phrase.
    pub reason: &'a str,
}

impl ErrorCode<'_> {
    /// 400 Bad Request.
    pub const BAD_REQUEST: u16 = 400;
    /// 401 Unauthorized.
    pub const UNAUTHORIZED: u16 = 401;
    /// 420 Unknown Attribute.
    pub const UNKNOWN_ATTRIBUTE: u16 = 420;
    /// 438 Stale Nonce.
    pub const STALE_NONCE: u16 = 438;
    /// 487 Role Conflict (RFC 8445 §7.3.1.1).
    pub const ROLE_CONFLICT: u16 = 487;
    /// 500 Server Error.
    pub const SERVER_ERROR: u16 = 500;
}

/// The list of an UNKNOWN-ATTRIBUTES attribute: borrowed raw bytes when
/// parsed, a borrowed slice when written.
#[derive(Debug, Clone, Copy)]
pub struct UnknownAttributes<'a>(Repr<'a>);

#[derive(Debug, Clone, Copy)]
enum Repr<'a> {
    Raw(&'a [u8]),
    List(&'a [u16]),
}

impl<'a> UnknownAttributes<'a> {
    /// A list to write.
    pub fn new(types: &'a [u16]) -> Self {
        Self(Repr::List(types))
    }

    /// The attribute types listed.
    pub fn iter(&self) -> impl Iterator<Item = u16> + 'a {
        let (raw, list): (&'a [u8], &'a [u16]) = match self.0 {
            Repr::Raw(r) => (r, &[]),
            Repr::List(l) => (&[], l),
        };
        raw.chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .chain(list.iter().copied())
    }

    fn len(&self) -> usize {
        match self.0 {
            Repr::Raw(r) => r.len() / 2,
            Repr::List(l) => l.len(),
        }
    }
}

impl PartialEq for UnknownAttributes<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}
impl Eq for UnknownAttributes<'_> {}

/// One STUN attribute, its value borrowed from the message (parsing) or
/// from the caller (writing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attribute<'a> {
    /// MAPPED-ADDRESS: the reflexive address, plain (RFC 3489 servers).
    MappedAddress(SocketAddr),
    /// XOR-MAPPED-ADDRESS: the reflexive address, obfuscated.
    XorMappedAddress(SocketAddr),
    /// USERNAME.
    Username(&'a str),
    /// MESSAGE-INTEGRITY: 20 bytes of HMAC-SHA1 (parse only).
    MessageIntegrity(&'a [u8]),
    /// MESSAGE-INTEGRITY-SHA256: 16 to 32 bytes of HMAC-SHA256 (parse only).
    MessageIntegritySha256(&'a [u8]),
    /// FINGERPRINT: CRC-32 xor 0x5354554e (parse only).
    Fingerprint(u32),
    /// ERROR-CODE.
    ErrorCode(ErrorCode<'a>),
    /// UNKNOWN-ATTRIBUTES (in a 420 response).
    UnknownAttributes(UnknownAttributes<'a>),
    /// SOFTWARE.
    Software(&'a str),
    /// ALTERNATE-SERVER (plain address, like MAPPED-ADDRESS).
    AlternateServer(SocketAddr),
    /// PRIORITY (ICE).
    Priority(u32),
    /// USE-CANDIDATE (ICE), no value.
    UseCandidate,
    /// ICE-CONTROLLING with the tie-breaker.
    IceControlling(u64),
    /// ICE-CONTROLLED with the tie-breaker.
    IceControlled(u64),
    /// REALM.
    Realm(&'a str),
    /// NONCE.
    Nonce(&'a str),
    /// LIFETIME in seconds (TURN).
    Lifetime(u32),
    /// XOR-RELAYED-ADDRESS (TURN).
    XorRelayedAddress(SocketAddr),
    /// XOR-PEER-ADDRESS (TURN).
    XorPeerAddress(SocketAddr),
    /// REQUESTED-TRANSPORT: an IP protocol number, 17 for UDP (TURN).
    RequestedTransport(u8),
    /// DATA (TURN).
    Data(&'a [u8]),
    /// CHANNEL-NUMBER (TURN), 0x4000..=0x4FFF.
    ChannelNumber(u16),
    /// Any other attribute, undecoded.
    Other {
        /// The attribute type.
        typ: u16,
        /// The value, without padding.
        value: &'a [u8],
    },
}

/// A borrowed attribute value could not be read.
pub(super) struct Malformed;

impl<'a> Attribute<'a> {
    /// The attribute type code.
    pub fn typ(&self) -> u16 {
        match self {
            Self::MappedAddress(_) => t::MAPPED_ADDRESS,
            Self::XorMappedAddress(_) => t::XOR_MAPPED_ADDRESS,
            Self::Username(_) => t::USERNAME,
            Self::MessageIntegrity(_) => t::MESSAGE_INTEGRITY,
            Self::MessageIntegritySha256(_) => t::MESSAGE_INTEGRITY_SHA256,
            Self::Fingerprint(_) => t::FINGERPRINT,
            Self::ErrorCode(_) => t::ERROR_CODE,
            Self::UnknownAttributes(_) => t::UNKNOWN_ATTRIBUTES,
            Self::Software(_) => t::SOFTWARE,
            Self::AlternateServer(_) => t::ALTERNATE_SERVER,
            Self::Priority(_) => t::PRIORITY,
            Self::UseCandidate => t::USE_CANDIDATE,
            Self::IceControlling(_) => t::ICE_CONTROLLING,
            Self::IceControlled(_) => t::ICE_CONTROLLED,
            Self::Realm(_) => t::REALM,
            Self::Nonce(_) => t::NONCE,
            Self::Lifetime(_) => t::LIFETIME,
            Self::XorRelayedAddress(_) => t::XOR_RELAYED_ADDRESS,
            Self::XorPeerAddress(_) => t::XOR_PEER_ADDRESS,
            Self::RequestedTransport(_) => t::REQUESTED_TRANSPORT,
            Self::Data(_) => t::DATA,
            Self::ChannelNumber(_) => t::CHANNEL_NUMBER,
            Self::Other { typ, .. } => *typ,
        }
    }

    /// Decodes the value of an attribute of type `typ`. Types this codec
    /// does not know become [`Attribute::Other`].
    pub(super) fn decode(typ: u16, v: &'a [u8], tid: &TransactionId) -> Result<Self, Malformed> {
        Ok(match typ {
            t::MAPPED_ADDRESS => Self::MappedAddress(decode_addr(v, None)?),
            t::ALTERNATE_SERVER => Self::AlternateServer(decode_addr(v, None)?),
            t::XOR_MAPPED_ADDRESS => Self::XorMappedAddress(decode_addr(v, Some(tid))?),
            t::XOR_RELAYED_ADDRESS => Self::XorRelayedAddress(decode_addr(v, Some(tid))?),
            t::XOR_PEER_ADDRESS => Self::XorPeerAddress(decode_addr(v, Some(tid))?),
            t::USERNAME => Self::Username(text(v, USERNAME_MAX_RECV)?),
            t::SOFTWARE => Self::Software(text(v, TEXT_MAX_RECV)?),
            t::REALM => Self::Realm(text(v, TEXT_MAX_RECV)?),
            t::NONCE => Self::Nonce(text(v, TEXT_MAX_RECV)?),
            t::MESSAGE_INTEGRITY if v.len() == 20 => Self::MessageIntegrity(v),
            // RFC 8489 §14.6: "The value will be at most 32 bytes, but it
            // MUST be at least 16 bytes and MUST be a multiple of 4 bytes."
            t::MESSAGE_INTEGRITY_SHA256
                if (16..=32).contains(&v.len()) && v.len().is_multiple_of(4) =>
            {
                Self::MessageIntegritySha256(v)
            }
            t::FINGERPRINT => Self::Fingerprint(u32::from_be_bytes(fixed(v)?)),
            t::PRIORITY => Self::Priority(u32::from_be_bytes(fixed(v)?)),
            t::LIFETIME => Self::Lifetime(u32::from_be_bytes(fixed(v)?)),
            t::USE_CANDIDATE if v.is_empty() => Self::UseCandidate,
            t::ICE_CONTROLLING => Self::IceControlling(u64::from_be_bytes(fixed(v)?)),
            t::ICE_CONTROLLED => Self::IceControlled(u64::from_be_bytes(fixed(v)?)),
            t::REQUESTED_TRANSPORT => Self::RequestedTransport(fixed::<4>(v)?[0]),
            t::CHANNEL_NUMBER => {
                let b = fixed::<4>(v)?;
                Self::ChannelNumber(u16::from_be_bytes([b[0], b[1]]))
            }
            t::DATA => Self::Data(v),
            t::ERROR_CODE => {
                let (head, reason) = v.split_first_chunk::<4>().ok_or(Malformed)?;
                // RFC 8489 §14.8: "The Class represents the hundreds digit of
                // the error code. The value MUST be between 3 and 6. The
                // Number represents the binary encoding of the error code
                // modulo 100, and its value MUST be between 0 and 99."
                let class = u16::from(head[2] & 0x07);
                let number = u16::from(head[3]);
                if !(3..=6).contains(&class) || number > 99 {
                    return Err(Malformed);
                }
                Self::ErrorCode(ErrorCode {
                    code: class * 100 + number,
                    reason: text(reason, TEXT_MAX_RECV)?,
                })
            }
            t::UNKNOWN_ATTRIBUTES if v.len().is_multiple_of(2) => {
                Self::UnknownAttributes(UnknownAttributes(Repr::Raw(v)))
            }
            t::MESSAGE_INTEGRITY
            | t::MESSAGE_INTEGRITY_SHA256
            | t::USE_CANDIDATE
            | t::UNKNOWN_ATTRIBUTES => return Err(Malformed),
            _ => Self::Other { typ, value: v },
        })
    }

    /// The length of the encoded value, without padding.
    pub(super) fn value_len(&self) -> usize {
        match self {
            Self::MappedAddress(a)
            | Self::XorMappedAddress(a)
            | Self::AlternateServer(a)
            | Self::XorRelayedAddress(a)
            | Self::XorPeerAddress(a) => match a {
                SocketAddr::V4(_) => 8,
                SocketAddr::V6(_) => 20,
            },
            Self::Username(s) | Self::Software(s) | Self::Realm(s) | Self::Nonce(s) => s.len(),
            Self::MessageIntegrity(v) | Self::MessageIntegritySha256(v) | Self::Data(v) => v.len(),
            Self::Other { value, .. } => value.len(),
            Self::Fingerprint(_)
            | Self::Priority(_)
            | Self::Lifetime(_)
            | Self::RequestedTransport(_)
            | Self::ChannelNumber(_) => 4,
            Self::UseCandidate => 0,
            Self::IceControlling(_) | Self::IceControlled(_) => 8,
            Self::ErrorCode(e) => 4 + e.reason.len(),
            Self::UnknownAttributes(u) => 2 * u.len(),
        }
    }

    /// Checks the value can be written.
    pub(super) fn validate(&self) -> Result<(), EncodeError> {
        let typ = self.typ();
        let limit = match self {
            Self::Username(_) => USERNAME_MAX_SEND,
            Self::Software(_) | Self::Realm(_) | Self::Nonce(_) | Self::ErrorCode(_) => {
                TEXT_MAX_SEND + 4
            }
            _ => usize::from(u16::MAX),
        };
        if self.value_len() > limit {
            return Err(EncodeError::TooLong(typ));
        }
        match self {
            Self::MessageIntegrity(_) | Self::MessageIntegritySha256(_) | Self::Fingerprint(_) => {
                Err(EncodeError::Reserved(typ))
            }
            Self::ErrorCode(e) if !(300..=699).contains(&e.code) => {
                Err(EncodeError::BadErrorCode(e.code))
            }
            _ => Ok(()),
        }
    }

    /// Writes a [validated](Self::validate) value; `out` is exactly
    /// `value_len()` bytes.
    pub(super) fn encode_value(&self, tid: &TransactionId, out: &mut [u8]) {
        match self {
            // Refused by validate(): nothing to write.
            Self::MessageIntegrity(_) | Self::MessageIntegritySha256(_) | Self::Fingerprint(_) => {}
            Self::MappedAddress(a) | Self::AlternateServer(a) => encode_addr(*a, None, out),
            Self::XorMappedAddress(a) | Self::XorRelayedAddress(a) | Self::XorPeerAddress(a) => {
                encode_addr(*a, Some(tid), out)
            }
            Self::Username(s) | Self::Software(s) | Self::Realm(s) | Self::Nonce(s) => {
                out.copy_from_slice(s.as_bytes())
            }
            Self::Data(v) => out.copy_from_slice(v),
            Self::Other { value, .. } => out.copy_from_slice(value),
            Self::Priority(v) | Self::Lifetime(v) => out.copy_from_slice(&v.to_be_bytes()),
            Self::UseCandidate => {}
            Self::IceControlling(v) | Self::IceControlled(v) => {
                out.copy_from_slice(&v.to_be_bytes())
            }
            Self::RequestedTransport(p) => out.copy_from_slice(&[*p, 0, 0, 0]),
            Self::ChannelNumber(n) => {
                let [a, b] = n.to_be_bytes();
                out.copy_from_slice(&[a, b, 0, 0]);
            }
            Self::ErrorCode(e) => {
                // validate() checked the code is in 300..=699: both fit a byte.
                let class = (e.code / 100) as u8;
                let number = (e.code % 100) as u8;
                out[..4].copy_from_slice(&[0, 0, class, number]);
                out[4..].copy_from_slice(e.reason.as_bytes());
            }
            Self::UnknownAttributes(u) => {
                for (chunk, typ) in out.chunks_exact_mut(2).zip(u.iter()) {
                    chunk.copy_from_slice(&typ.to_be_bytes());
                }
            }
        }
    }
}

fn fixed<const N: usize>(v: &[u8]) -> Result<[u8; N], Malformed> {
    v.try_into().map_err(|_| Malformed)
}

fn text(v: &[u8], max: usize) -> Result<&str, Malformed> {
    if v.len() > max {
        return Err(Malformed);
    }
    std::str::from_utf8(v).map_err(|_| Malformed)
}

/// The xor mask of X-Port / X-Address (RFC 8489 §14.2): the magic cookie,
/// then (IPv6) the transaction id.
fn xor_mask(tid: &TransactionId) -> [u8; 16] {
    let mut mask = [0u8; 16];
    mask[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    mask[4..].copy_from_slice(&tid.0);
    mask
}

fn decode_addr(v: &[u8], xor: Option<&TransactionId>) -> Result<SocketAddr, Malformed> {
    let (head, rest) = v.split_first_chunk::<4>().ok_or(Malformed)?;
    let mask = xor.map(xor_mask).unwrap_or([0; 16]);
    let port = u16::from_be_bytes([head[2] ^ mask[0], head[3] ^ mask[1]]);
    let ip = match (head[1], rest.len()) {
        (0x01, 4) => {
            let mut b = [0u8; 4];
            for (i, x) in b.iter_mut().enumerate() {
                *x = rest[i] ^ mask[i];
            }
            IpAddr::V4(Ipv4Addr::from(b))
        }
        (0x02, 16) => {
            let mut b = [0u8; 16];
            for (i, x) in b.iter_mut().enumerate() {
                *x = rest[i] ^ mask[i];
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return Err(Malformed),
    };
    Ok(SocketAddr::new(ip, port))
}

fn encode_addr(a: SocketAddr, xor: Option<&TransactionId>, out: &mut [u8]) {
    let mask = xor.map(xor_mask).unwrap_or([0; 16]);
    let port = a.port().to_be_bytes();
    out[0] = 0;
    out[2] = port[0] ^ mask[0];
    out[3] = port[1] ^ mask[1];
    match a.ip() {
        IpAddr::V4(ip) => {
            out[1] = 0x01;
            for (i, b) in ip.octets().iter().enumerate() {
                out[4 + i] = b ^ mask[i];
            }
        }
        IpAddr::V6(ip) => {
            out[1] = 0x02;
            for (i, b) in ip.octets().iter().enumerate() {
                out[4 + i] = b ^ mask[i];
            }
        }
    }
}
