//! Parsing a STUN message from borrowed bytes, and writing one into a
//! caller's buffer.

use std::net::SocketAddr;

use crate::hmac::Alg;

use super::attr::{attr_type as t, Attribute, ErrorCode};
use super::integrity::{
    crc32, ct_eq, hmac, hmac_after_head, Integrity, KeptKey, MacKey, FINGERPRINT_XOR,
};
use super::{
    message_type, split_message_type, Class, EncodeError, Method, ParseError, TransactionId,
    HEADER_LEN, MAGIC_COOKIE, MAX_UNKNOWN_LISTED,
};

/// A parsed STUN message: a view on the bytes it came in.
///
/// [`StunMessage::parse`] validates everything up front; the accessors then
/// only read what was checked and cannot fail or panic.
///
/// RFC 8489 §14.5: "With the exception of the MESSAGE-INTEGRITY-SHA256 and
/// FINGERPRINT attributes, agents MUST ignore all other attributes that
/// follow MESSAGE-INTEGRITY." Such attributes are invisible here.
#[derive(Debug, Clone, Copy)]
pub struct StunMessage<'a> {
    raw: &'a [u8],
    class: Class,
    method: Method,
    tid: TransactionId,
    /// Offset of the MESSAGE-INTEGRITY attribute header. (The fields are
    /// sized so that the whole is under 128 bytes: `parse` returns it, and
    /// a larger value moves through a `memcpy` call.)
    mi: Option<u32>,
    /// Offset of the MESSAGE-INTEGRITY-SHA256 attribute header.
    mi256: Option<u32>,
    has_fingerprint: bool,
    unknown: [u16; MAX_UNKNOWN_LISTED],
    unknown_listed: u8,
    unknown_total: u32,
    /// The counted attributes' types and header offsets, in order, so that
    /// [`get`](Self::get) and the typed accessors read one without walking
    /// the others (a check's handling asks for four or five); `indexed` of
    /// them, or `None` when the message had more than fit (then they walk).
    index: [(u16, u16); INDEXED],
    indexed: Option<u8>,
    /// USERNAME, as `parse` checked it (every ICE check asks for it: the
    /// text is not checked twice).
    username: Option<&'a str>,
}

/// Attributes indexed by [`StunMessage::parse`]: a consent check has five.
const INDEXED: usize = 8;

/// Walks the TLVs of a message whose structure was already checked.
#[derive(Clone)]
struct RawAttrs<'a> {
    raw: &'a [u8],
    offset: usize,
    seen_mi: bool,
    seen_mi256: bool,
}

impl<'a> RawAttrs<'a> {
    fn new(raw: &'a [u8]) -> Self {
        Self {
            raw,
            offset: HEADER_LEN,
            seen_mi: false,
            seen_mi256: false,
        }
    }
}

/// One raw attribute: offset of its header, its type, its value.
type RawAttr<'a> = (usize, u16, &'a [u8]);

impl<'a> Iterator for RawAttrs<'a> {
    type Item = Result<RawAttr<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let at = self.offset;
            let rest = self.raw.get(at..)?;
            if rest.is_empty() {
                return None;
            }
            let Some((head, body)) = rest.split_first_chunk::<4>() else {
                self.offset = self.raw.len();
                return Some(Err(ParseError::AttributeOverrun(0)));
            };
            let typ = u16::from_be_bytes([head[0], head[1]]);
            let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
            // RFC 8489 §14: "Each STUN attribute MUST end on a 32-bit
            // boundary" -- the padding is counted in the message length.
            let padded = (len + 3) & !3;
            let (Some(value), true) = (body.get(..len), body.len() >= padded) else {
                self.offset = self.raw.len();
                return Some(Err(ParseError::AttributeOverrun(typ)));
            };
            self.offset = at + 4 + padded;
            let counted = match typ {
                t::FINGERPRINT => true,
                t::MESSAGE_INTEGRITY_SHA256 => !self.seen_mi256,
                _ => !self.seen_mi && !self.seen_mi256,
            };
            if typ == t::MESSAGE_INTEGRITY {
                self.seen_mi = true;
            }
            if typ == t::MESSAGE_INTEGRITY_SHA256 {
                self.seen_mi256 = true;
            }
            if counted {
                return Some(Ok((at, typ, value)));
            }
        }
    }
}

impl<'a> StunMessage<'a> {
    /// Parses and checks a whole message: header, every attribute's framing
    /// and the value of every attribute this codec knows, and FINGERPRINT
    /// when present (RFC 8489 §7.3: a wrong fingerprint means "not STUN").
    ///
    /// Unknown comprehension-required attributes do not fail the parse: see
    /// [`unknown_required`](Self::unknown_required).
    pub fn parse(raw: &'a [u8]) -> Result<Self, ParseError> {
        let Some(header) = raw.first_chunk::<HEADER_LEN>() else {
            return Err(ParseError::Truncated);
        };
        // RFC 8489 §6: "The most significant 2 bits of every STUN message
        // MUST be zeroes."
        if header[0] & 0xc0 != 0 || header[4..8] != MAGIC_COOKIE.to_be_bytes() {
            return Err(ParseError::NotStun);
        }
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if !len.is_multiple_of(4) {
            return Err(ParseError::BadLength);
        }
        match raw.len().cmp(&(HEADER_LEN + len)) {
            std::cmp::Ordering::Less => return Err(ParseError::Truncated),
            std::cmp::Ordering::Greater => return Err(ParseError::BadLength),
            std::cmp::Ordering::Equal => {}
        }
        let (class, method) =
            split_message_type(u16::from_be_bytes([header[0], header[1]]) & 0x3fff);
        let mut tid = [0u8; 12];
        tid.copy_from_slice(&header[8..20]);
        let tid = TransactionId(tid);
        let mut msg = Self {
            raw,
            class,
            method,
            tid,
            mi: None,
            mi256: None,
            has_fingerprint: false,
            unknown: [0; MAX_UNKNOWN_LISTED],
            unknown_listed: 0,
            unknown_total: 0,
            index: [(0, 0); INDEXED],
            indexed: Some(0),
            username: None,
        };
        for item in RawAttrs::new(raw) {
            let (at, typ, value) = item?;
            msg.indexed = msg.indexed.and_then(|n| {
                let slot = msg.index.get_mut(usize::from(n))?;
                // The message is at most 20 + 65535 bytes long: any offset
                // in it fits.
                *slot = (typ, u16::try_from(at).ok()?);
                Some(n + 1)
            });
            if msg.has_fingerprint {
                // RFC 8489 §14.7: "When present, the FINGERPRINT attribute
                // MUST be the last attribute in the message".
                return Err(ParseError::BadFingerprint);
            }
            let attr =
                Attribute::decode(typ, value, &tid).map_err(|_| ParseError::BadAttribute(typ))?;
            match attr {
                // A message is at most 20 + 65535 bytes long.
                Attribute::MessageIntegrity(_) => msg.mi = u32::try_from(at).ok(),
                Attribute::MessageIntegritySha256(_) => msg.mi256 = u32::try_from(at).ok(),
                // The first counts, as `get` finds it.
                Attribute::Username(u) if msg.username.is_none() => msg.username = Some(u),
                Attribute::Fingerprint(fp) => {
                    let want = crc32(&[&raw[..at]]) ^ FINGERPRINT_XOR;
                    // (No secret here: a plain comparison.)
                    if at + 8 != raw.len() || fp != want {
                        return Err(ParseError::BadFingerprint);
                    }
                    msg.has_fingerprint = true;
                }
                // RFC 8489 §15: "Attributes with type values between 0x0000
                // and 0x7FFF are comprehension-required attributes".
                Attribute::Other { typ, .. } if typ < 0x8000 => {
                    if let Some(slot) = msg.unknown.get_mut(usize::from(msg.unknown_listed)) {
                        *slot = typ;
                        msg.unknown_listed += 1;
                    }
                    msg.unknown_total = msg.unknown_total.saturating_add(1);
                }
                _ => {}
            }
        }
        Ok(msg)
    }

    /// Request, indication, success or error.
    pub fn class(&self) -> Class {
        self.class
    }

    /// The method (Binding, Allocate, ...).
    pub fn method(&self) -> Method {
        self.method
    }

    /// The transaction id.
    pub fn transaction_id(&self) -> TransactionId {
        self.tid
    }

    /// The message's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Every attribute that counts, in order (attributes after
    /// MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT
    /// are ignored, as RFC 8489 §14.5 requires).
    pub fn attributes(&self) -> impl Iterator<Item = Attribute<'a>> + 'a {
        let tid = self.tid;
        RawAttrs::new(self.raw).filter_map(move |item| {
            let (_, typ, value) = item.ok()?;
            // Checked by parse(): decoding cannot fail here.
            Attribute::decode(typ, value, &tid).ok()
        })
    }

    /// The first attribute of type `typ`.
    pub fn get(&self, typ: u16) -> Option<Attribute<'a>> {
        // Only the attribute asked for is decoded (a USERNAME's text check,
        // an address's XOR are not paid for the others passed over).
        Attribute::decode(typ, self.value_of(typ)?, &self.tid).ok()
    }

    /// The value of the first attribute of type `typ`, undecoded (`parse`
    /// checked that it decodes).
    fn value_of(&self, typ: u16) -> Option<&'a [u8]> {
        if let Some(n) = self.indexed {
            let (_, at) = *self
                .index
                .get(..usize::from(n))?
                .iter()
                .find(|(t, _)| *t == typ)?;
            let at = usize::from(at);
            let head = self.raw.get(at..at + 4)?;
            let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
            return self.raw.get(at + 4..at + 4 + len);
        }
        RawAttrs::new(self.raw).find_map(|item| match item {
            Ok((_, t, value)) if t == typ => Some(value),
            _ => None,
        })
    }

    /// A fixed-size attribute's value (PRIORITY, the ICE role attributes):
    /// read where it lies, without the general decode; `parse` checked its
    /// size.
    fn fixed_of<const N: usize>(&self, typ: u16) -> Option<[u8; N]> {
        self.value_of(typ)?.try_into().ok()
    }

    /// Whether an attribute of type `typ` is present.
    pub fn has(&self, typ: u16) -> bool {
        self.value_of(typ).is_some()
    }

    /// USERNAME.
    pub fn username(&self) -> Option<&'a str> {
        self.username
    }

    /// XOR-MAPPED-ADDRESS, or else MAPPED-ADDRESS (RFC 8489 §14.1: kept
    /// for RFC 3489 servers).
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        match self.get(t::XOR_MAPPED_ADDRESS) {
            Some(Attribute::XorMappedAddress(a)) => Some(a),
            _ => match self.get(t::MAPPED_ADDRESS)? {
                Attribute::MappedAddress(a) => Some(a),
                _ => None,
            },
        }
    }

    /// ERROR-CODE.
    pub fn error_code(&self) -> Option<ErrorCode<'a>> {
        match self.get(t::ERROR_CODE)? {
            Attribute::ErrorCode(e) => Some(e),
            _ => None,
        }
    }

    /// PRIORITY.
    pub fn priority(&self) -> Option<u32> {
        self.fixed_of(t::PRIORITY).map(u32::from_be_bytes)
    }

    /// ICE-CONTROLLING's tie-breaker.
    pub fn ice_controlling(&self) -> Option<u64> {
        self.fixed_of(t::ICE_CONTROLLING).map(u64::from_be_bytes)
    }

    /// ICE-CONTROLLED's tie-breaker.
    pub fn ice_controlled(&self) -> Option<u64> {
        self.fixed_of(t::ICE_CONTROLLED).map(u64::from_be_bytes)
    }

    /// Whether FINGERPRINT was present (and, parse having succeeded, right).
    pub fn has_fingerprint(&self) -> bool {
        self.has_fingerprint
    }

    /// Whether MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 is present.
    pub fn has_integrity(&self) -> bool {
        self.mi.is_some() || self.mi256.is_some()
    }

    /// The comprehension-required attribute types this codec does not know
    /// (at most [`MAX_UNKNOWN_LISTED`] listed). RFC 8489 §6.3.1: for a
    /// request, "the server MUST reject the request with an error response
    /// [...] that includes an ERROR-CODE attribute with a 420 [...] and an
    /// UNKNOWN-ATTRIBUTES attribute"; other classes are discarded.
    pub fn unknown_required(&self) -> &[u16] {
        &self.unknown[..usize::from(self.unknown_listed).min(MAX_UNKNOWN_LISTED)]
    }

    /// Whether any unknown comprehension-required attribute was found.
    pub fn has_unknown_required(&self) -> bool {
        self.unknown_total > 0
    }

    /// Checks MESSAGE-INTEGRITY-SHA256 when present, otherwise
    /// MESSAGE-INTEGRITY, against `key` (the password for short-term
    /// credentials, [`long_term_key`](super::long_term_key) for long-term
    /// ones), in constant time.
    pub fn check_integrity(&self, key: &[u8]) -> Integrity {
        self.check_mac(MacKey::Raw(key))
    }

    /// [`check_integrity`](Self::check_integrity) with a kept key.
    pub(crate) fn check_integrity_kept(&self, key: &KeptKey) -> Integrity {
        self.check_mac(MacKey::Kept(key))
    }

    fn check_mac(&self, key: MacKey<'_>) -> Integrity {
        let (at, digest, full) = match (self.mi256, self.mi) {
            (Some(at), _) => (at as usize, Alg::Sha256, 32),
            (None, Some(at)) => (at as usize, Alg::Sha1, 20),
            (None, None) => return Integrity::Missing,
        };
        let Some(head) = self.raw.get(at..at + 4) else {
            return Integrity::Invalid;
        };
        let vlen = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let Some(got) = self.raw.get(at + 4..at + 4 + vlen) else {
            return Integrity::Invalid;
        };
        // RFC 8489 §14.5: "the Length field in the STUN header MUST contain
        // the length of the message up to and including the
        // MESSAGE-INTEGRITY attribute itself, but excluding any attributes
        // after it."
        let Ok(adjusted) = u16::try_from(at + 4 + vlen - HEADER_LEN) else {
            return Integrity::Invalid;
        };
        let mut mac = [0u8; 32];
        let [l0, l1] = adjusted.to_be_bytes();
        let head = [self.raw[0], self.raw[1], l0, l1];
        hmac_after_head(digest, key, head, &self.raw[4..at], &mut mac[..full]);
        // RFC 8489 §14.6: MESSAGE-INTEGRITY-SHA256 may be truncated to its
        // leftmost bytes.
        if ct_eq(&mac[..vlen.min(full)], got) {
            Integrity::Valid
        } else {
            Integrity::Invalid
        }
    }
}

/// Writes a STUN message into a caller's buffer: [`new`](Self::new), then
/// [`add`](Self::add) for each attribute, optionally
/// [`add_integrity`](Self::add_integrity), then [`finish`](Self::finish).
#[derive(Debug)]
pub struct MessageWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
    tid: TransactionId,
}

impl<'b> MessageWriter<'b> {
    /// The length of a message with `attrs`, MESSAGE-INTEGRITY (HMAC-SHA1)
    /// when `integrity`, FINGERPRINT when `fingerprint`: a buffer of this
    /// length holds it exactly (RFC 8489 §14: each value padded to 4).
    pub(crate) fn room<'x>(
        attrs: impl IntoIterator<Item = &'x Attribute<'x>>,
        integrity: bool,
        fingerprint: bool,
    ) -> usize {
        let tlv = |vlen: usize| 4 + ((vlen + 3) & !3);
        HEADER_LEN
            + attrs.into_iter().map(|a| tlv(a.value_len())).sum::<usize>()
            + if integrity { tlv(20) } else { 0 }
            + if fingerprint { tlv(4) } else { 0 }
    }

    /// Starts a message with its header.
    pub fn new(
        buf: &'b mut [u8],
        class: Class,
        method: Method,
        tid: TransactionId,
    ) -> Result<Self, EncodeError> {
        let header = buf
            .get_mut(..HEADER_LEN)
            .ok_or(EncodeError::BufferTooSmall)?;
        header[..2].copy_from_slice(&message_type(class, method).to_be_bytes());
        header[2..4].copy_from_slice(&[0, 0]);
        header[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
        header[8..20].copy_from_slice(&tid.0);
        Ok(Self {
            buf,
            len: HEADER_LEN,
            tid,
        })
    }

    /// Room for an attribute with a value of `vlen` bytes; sets the header
    /// length to include it, writes its header and padding, returns the
    /// value's slot.
    fn reserve(&mut self, typ: u16, vlen: usize) -> Result<&mut [u8], EncodeError> {
        let vlen16 = u16::try_from(vlen).map_err(|_| EncodeError::TooLong(typ))?;
        let padded = (vlen + 3) & !3;
        let end = self.len + 4 + padded;
        let body = u16::try_from(end - HEADER_LEN).map_err(|_| EncodeError::TooLong(typ))?;
        let slot = self
            .buf
            .get_mut(self.len..end)
            .ok_or(EncodeError::BufferTooSmall)?;
        slot[..2].copy_from_slice(&typ.to_be_bytes());
        slot[2..4].copy_from_slice(&vlen16.to_be_bytes());
        // RFC 8489 §14: padding "MUST be ignored by the receiver"; we send
        // zeros: the slot's last word is cleared (one store), and the value
        // the caller writes next covers all of it but the padding.
        if let Some(last) = slot.last_chunk_mut::<4>().filter(|_| padded > vlen) {
            *last = [0; 4];
        }
        self.buf[2..4].copy_from_slice(&body.to_be_bytes());
        let start = self.len + 4;
        self.len = end;
        Ok(&mut self.buf[start..start + vlen])
    }

    /// Appends an attribute. MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT are
    /// refused: use [`add_integrity`](Self::add_integrity) and
    /// [`finish`](Self::finish).
    pub fn add(&mut self, attr: &Attribute<'_>) -> Result<(), EncodeError> {
        attr.validate()?;
        let tid = self.tid;
        let slot = self.reserve(attr.typ(), attr.value_len())?;
        attr.encode_value(&tid, slot);
        Ok(())
    }

    /// Appends MESSAGE-INTEGRITY: HMAC-SHA1 with `key` over the message so
    /// far, the header length covering the attribute (RFC 8489 §14.5).
    pub fn add_integrity(&mut self, key: &[u8]) -> Result<(), EncodeError> {
        self.add_mac(MacKey::Raw(key), t::MESSAGE_INTEGRITY, Alg::Sha1, 20)
    }

    /// [`add_integrity`](Self::add_integrity) with a kept key.
    pub(crate) fn add_integrity_kept(&mut self, key: &KeptKey) -> Result<(), EncodeError> {
        self.add_mac(MacKey::Kept(key), t::MESSAGE_INTEGRITY, Alg::Sha1, 20)
    }

    /// Appends MESSAGE-INTEGRITY-SHA256 (full 32 bytes, RFC 8489 §14.6).
    pub fn add_integrity_sha256(&mut self, key: &[u8]) -> Result<(), EncodeError> {
        self.add_mac(
            MacKey::Raw(key),
            t::MESSAGE_INTEGRITY_SHA256,
            Alg::Sha256,
            32,
        )
    }

    fn add_mac(
        &mut self,
        key: MacKey<'_>,
        typ: u16,
        digest: Alg,
        n: usize,
    ) -> Result<(), EncodeError> {
        let before = self.len;
        self.reserve(typ, n)?;
        let mut mac = [0u8; 32];
        let input: [&[u8]; 1] = [&self.buf[..before]];
        hmac(digest, key, &input, &mut mac[..n]);
        self.buf[before + 4..before + 4 + n].copy_from_slice(&mac[..n]);
        Ok(())
    }

    /// Appends FINGERPRINT when `fingerprint` is set and returns the
    /// message's length.
    pub fn finish(mut self, fingerprint: bool) -> Result<usize, EncodeError> {
        if fingerprint {
            let before = self.len;
            self.reserve(t::FINGERPRINT, 4)?;
            let fp = crc32(&[&self.buf[..before]]) ^ FINGERPRINT_XOR;
            self.buf[before + 4..before + 8].copy_from_slice(&fp.to_be_bytes());
        }
        Ok(self.len)
    }

    /// Overwrites one written byte: lets tests reproduce vectors whose
    /// padding is not zero.
    #[cfg(test)]
    pub(super) fn pad_byte_for_test(&mut self, at: usize, byte: u8) {
        self.buf[at] = byte;
    }

    /// The length written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a message has at least its header.
    pub fn is_empty(&self) -> bool {
        false
    }
}
