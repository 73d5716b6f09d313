//! MESSAGE-INTEGRITY (HMAC-SHA1), MESSAGE-INTEGRITY-SHA256 and FINGERPRINT
//! (CRC-32) computations, and the long-term credential key.

use openssl::hash::{hash, MessageDigest};

use crate::hmac::Alg;

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
/// compile time: `CRC_TABLES[0]` is the byte-at-a-time table, and
/// `CRC_TABLES[k]` advances a byte's contribution by `k` more bytes, so that
/// sixteen bytes are folded in per step ("slicing-by-16": a step's sixteen
/// look-ups are independent, where a byte at a time chains them; a consent
/// exchange computes four FINGERPRINTs and checks four, over ~100 bytes
/// each).
static CRC_TABLES: [[u32; 256]; 16] = {
    let mut tables = [[0u32; 256]; 16];
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
        tables[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut k = 1;
        while k < 16 {
            let prev = tables[k - 1][i];
            tables[k][i] = (prev >> 8) ^ tables[0][(prev & 0xff) as usize];
            k += 1;
        }
        i += 1;
    }
    tables
};

/// CRC-32 over the concatenation of `parts`.
pub(super) fn crc32(parts: &[&[u8]]) -> u32 {
    let t = &CRC_TABLES;
    let mut crc = 0xFFFF_FFFFu32;
    for part in parts {
        // The CRC so far is folded into the first four bytes of a step;
        // byte `j` of a 16-byte step is then `15 - j` bytes from its end.
        let mut blocks = part.chunks_exact(16);
        for w in &mut blocks {
            // The twelve look-ups that do not wait for the CRC so far come
            // first, paired: only the last four and two XORs then wait for
            // it. A message of ~100 bytes is a chain of six steps, and
            // their latency, not the look-ups' count, is its cost.
            let rest = (t[11][usize::from(w[4])]
                ^ t[10][usize::from(w[5])]
                ^ t[9][usize::from(w[6])]
                ^ t[8][usize::from(w[7])])
                ^ (t[7][usize::from(w[8])]
                    ^ t[6][usize::from(w[9])]
                    ^ t[5][usize::from(w[10])]
                    ^ t[4][usize::from(w[11])])
                ^ (t[3][usize::from(w[12])]
                    ^ t[2][usize::from(w[13])]
                    ^ t[1][usize::from(w[14])]
                    ^ t[0][usize::from(w[15])]);
            let a = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) ^ crc;
            crc = (t[15][(a & 0xff) as usize] ^ t[14][((a >> 8) & 0xff) as usize])
                ^ (t[13][((a >> 16) & 0xff) as usize] ^ t[12][(a >> 24) as usize])
                ^ rest;
        }
        let mut words = blocks.remainder().chunks_exact(8);
        for w in &mut words {
            let rest = (t[3][usize::from(w[4])] ^ t[2][usize::from(w[5])])
                ^ (t[1][usize::from(w[6])] ^ t[0][usize::from(w[7])]);
            let a = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) ^ crc;
            crc = (t[7][(a & 0xff) as usize] ^ t[6][((a >> 8) & 0xff) as usize])
                ^ (t[5][((a >> 16) & 0xff) as usize] ^ t[4][(a >> 24) as usize])
                ^ rest;
        }
        for &b in words.remainder() {
            crc = t[0][((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
        }
    }
    crc ^ 0xFFFF_FFFF
}

/// A short-term credential key (an ICE password) with its HMAC-SHA1 state
/// kept: MESSAGE-INTEGRITY is computed and checked without setting the key
/// up again (RFC 8445 §7.2.2's checks carry MESSAGE-INTEGRITY, SHA-1).
pub(crate) struct KeptKey {
    raw: Box<[u8]>,
    sha1: crate::hmac::HmacSha1,
}

impl KeptKey {
    pub(crate) fn new(raw: &[u8]) -> Self {
        Self {
            raw: raw.into(),
            sha1: crate::hmac::HmacSha1::new(raw),
        }
    }
}

impl std::fmt::Debug for KeptKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeptKey(<redacted>)")
    }
}

/// The key a MAC is computed with.
#[derive(Clone, Copy)]
pub(super) enum MacKey<'a> {
    Raw(&'a [u8]),
    Kept(&'a KeptKey),
}

/// HMAC over the concatenation of `parts`, written to `out` (which must be
/// the digest size: 20 for SHA-1, 32 for SHA-256).
pub(super) fn hmac(alg: Alg, key: MacKey<'_>, parts: &[&[u8]], out: &mut [u8]) {
    let put = |out: &mut [u8], mac: &[u8]| {
        for (o, m) in out.iter_mut().zip(mac) {
            *o = *m;
        }
        debug_assert_eq!(mac.len(), out.len());
    };
    match (alg, key) {
        // A 20-byte move, not a `memcpy` call (each STUN message of an idle
        // connection's consent exchange takes this path twice).
        (Alg::Sha1, MacKey::Kept(k)) => {
            let mac = k.sha1.mac(parts);
            match <&mut [u8; 20]>::try_from(&mut *out) {
                Ok(o) => *o = mac,
                Err(_) => put(out, &mac),
            }
        }
        (_, MacKey::Kept(k)) => put(out, &crate::hmac::hmac(alg, &k.raw, parts)),
        (_, MacKey::Raw(key)) => put(out, &crate::hmac::hmac(alg, key, parts)),
    }
}

/// [`hmac`] over `head` then `body` (a received message's first four
/// bytes, its length adjusted, then the rest up to MESSAGE-INTEGRITY): a
/// kept SHA-1 key hashes them without staging the head's two parts one by
/// one ([`crate::hmac::HmacSha1::mac_after_head`]).
pub(super) fn hmac_after_head(
    alg: Alg,
    key: MacKey<'_>,
    head: [u8; 4],
    body: &[u8],
    out: &mut [u8],
) {
    match (alg, key, <&mut [u8; 20]>::try_from(&mut *out)) {
        (Alg::Sha1, MacKey::Kept(k), Ok(o)) => *o = k.sha1.mac_after_head(head, body),
        _ => hmac(alg, key, &[&head, body], out),
    }
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

/// Comparison in time that does not depend on where the bytes differ (a
/// MAC's): the XOR of every eight-byte word (and of the bytes left) is ORed
/// into one accumulator, passed through `black_box` at each step so that
/// the compiler cannot stop early once it is non-zero. Unequal lengths are
/// simply unequal. (`openssl::memcmp::eq` does the same a byte at a time
/// behind a call into libcrypto, 1% of an idle consent wakeup.)
pub(super) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (words_a, rest_a) = a.as_chunks::<8>();
    let (words_b, rest_b) = b.as_chunks::<8>();
    let words = words_a.iter().zip(words_b).fold(0u64, |d, (x, y)| {
        std::hint::black_box(d | (u64::from_ne_bytes(*x) ^ u64::from_ne_bytes(*y)))
    });
    let bytes = rest_a
        .iter()
        .zip(rest_b)
        .fold(0u8, |d, (x, y)| std::hint::black_box(d | (x ^ y)));
    std::hint::black_box(words | u64::from(bytes)) == 0
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
        // Sixteen bytes at a time, then eight, then the rest, across part
        // boundaries: the same as one bit at a time, at every length.
        let data: Vec<u8> = (0..300u32).map(|i| (i * 31 + 7) as u8).collect();
        let bitwise = |d: &[u8]| {
            let mut c = 0xFFFF_FFFFu32;
            for &b in d {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 != 0 {
                        0xEDB8_8320 ^ (c >> 1)
                    } else {
                        c >> 1
                    };
                }
            }
            c ^ 0xFFFF_FFFF
        };
        for len in 0..=data.len() {
            assert_eq!(crc32(&[&data[..len]]), bitwise(&data[..len]), "{len}");
            let cut = len / 3;
            assert_eq!(
                crc32(&[&data[..cut], &data[cut..len]]),
                bitwise(&data[..len])
            );
        }
    }

    #[test]
    fn ct_eq_requires_equal_length_and_bytes() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        // Every position, in the words and in the bytes after them.
        let mac: Vec<u8> = (0..20).collect();
        assert!(ct_eq(&mac, &mac.clone()));
        for i in 0..mac.len() {
            for bit in 0..8 {
                let mut other = mac.clone();
                other[i] ^= 1 << bit;
                assert!(!ct_eq(&mac, &other), "byte {i} bit {bit}");
            }
        }
    }
}
