//! MESSAGE-INTEGRITY (HMAC-SHA1), MESSAGE-INTEGRITY-SHA256 and FINGERPRINT
//! (CRC-32) computations, and the long-term credential key.

use openssl::hash::{hash, MessageDigest};

/// The outcome of checking a parsed message's integrity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrity {
    /// The message carries no MESSAGE-INTEGRITY(-SHA256).
    Missing,
    /// The HMAC matches the key.
    Valid,
    /// The HMAC does not match (or could not be computed).
    Invalid,
}

/// RFC 8489 §14.7: "The value of the attribute is computed as the CRC-32 of
/// the STUN message up to (but excluding) the FINGERPRINT attribute itself,
/// XOR'ed with the 32-bit value 0x5354554e."
pub(super) const FINGERPRINT_XOR: u32 = 0x5354_554e;

/// The CRC-32 of ISO/IEC 13239 (reflected polynomial 0xEDB88320), built at
/// compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 over the concatenation of `parts`.
pub(super) fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for part in parts {
        for &b in *part {
            crc = CRC_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
        }
    }
    crc ^ 0xFFFF_FFFF
}

/// HMAC over the concatenation of `parts`, written to `out` (which must be
/// the digest size: 20 for SHA-1, 32 for SHA-256).
pub(super) fn hmac(alg: crate::hmac::Alg, key: &[u8], parts: &[&[u8]], out: &mut [u8]) {
    let mac = crate::hmac::hmac(alg, key, parts);
    for (o, m) in out.iter_mut().zip(mac.iter()) {
        *o = *m;
    }
    debug_assert_eq!(mac.len(), out.len());
}

/// The long-term credential key (RFC 8489 §9.2.2, MD5 algorithm):
/// `MD5(username ":" OpaqueString(realm) ":" OpaqueString(password))`.
///
/// The caller applies OpaqueString (RFC 8265) preparation; for the ASCII
/// credentials TURN servers hand out it is the identity.
pub fn long_term_key(username: &str, realm: &str, password: &str) -> [u8; 16] {
    let input = [username, ":", realm, ":", password].concat();
    let mut key = [0u8; 16];
    // MD5 is always available in OpenSSL's default provider; should a
    // FIPS-only build refuse it, the key is all zeros and every integrity
    // check fails closed.
    if let Ok(d) = hash(MessageDigest::md5(), input.as_bytes()) {
        key.copy_from_slice(&d);
    }
    key
}

/// Constant-time comparison (`openssl::memcmp::eq`, which requires equal
/// lengths: unequal lengths are simply unequal).
pub(super) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && openssl::memcmp::eq(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
        assert_eq!(crc32(&[b"1234", b"56789"]), 0xCBF4_3926);
        assert_eq!(crc32(&[]), 0);
    }

    #[test]
    fn ct_eq_requires_equal_length_and_bytes() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
