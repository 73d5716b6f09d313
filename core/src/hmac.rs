//! HMAC (RFC 2104) over OpenSSL's digests, computed as the RFC defines it
//! from two plain hashes.
//!
//! OpenSSL 3's own HMAC (`EVP_DigestSign` with an HMAC key) fetches its
//! implementation from the provider registry on every call, about 9 µs;
//! two digest contexts cost under 1 µs. eddy computes an HMAC per STUN
//! message (MESSAGE-INTEGRITY), dozens per DTLS handshake (the TLS PRF) and
//! per RFC 6979 nonce.

use openssl::error::ErrorStack;
use openssl::hash::{hash, DigestBytes, Hasher, MessageDigest};

/// The largest block of the digests eddy uses (SHA-384/512: 128 bytes).
const MAX_BLOCK: usize = 128;

/// HMAC with `key` of the concatenation of `parts`.
///
/// RFC 2104 §2: "H(K XOR opad, H(K XOR ipad, text))", where a key longer
/// than the block is first hashed, and shorter keys are padded with zeros.
pub(crate) fn hmac(
    md: MessageDigest,
    key: &[u8],
    parts: &[&[u8]],
) -> Result<DigestBytes, ErrorStack> {
    let block = md.block_size().min(MAX_BLOCK);
    let hashed;
    let key = if key.len() > block {
        hashed = hash(md, key)?;
        &hashed[..]
    } else {
        key
    };
    let mut padded = [0u8; MAX_BLOCK];
    for (p, k) in padded.iter_mut().zip(key) {
        *p = *k;
    }
    let padded = padded.get(..block).unwrap_or_default();
    let mut pad = [0u8; MAX_BLOCK];
    for (p, k) in pad.iter_mut().zip(padded) {
        *p = k ^ 0x36;
    }
    let mut inner = Hasher::new(md)?;
    inner.update(pad.get(..block).unwrap_or_default())?;
    for part in parts {
        inner.update(part)?;
    }
    let inner = inner.finish()?;
    for (p, k) in pad.iter_mut().zip(padded) {
        *p = k ^ 0x5c;
    }
    let mut outer = Hasher::new(md)?;
    outer.update(pad.get(..block).unwrap_or_default())?;
    outer.update(&inner)?;
    outer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::pkey::PKey;
    use openssl::sign::Signer;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc4231_test_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        let mac = hmac(
            MessageDigest::sha256(),
            b"Jefe",
            &[b"what do ya ", b"want for nothing?"],
        )
        .unwrap();
        assert_eq!(
            &mac[..],
            &hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")[..]
        );
    }

    #[test]
    fn rfc2202_sha1_with_a_key_longer_than_the_block() {
        // RFC 2202 §3, test case 6: 80 bytes of 0xaa.
        let mac = hmac(
            MessageDigest::sha1(),
            &[0xaa; 80],
            &[b"Test Using Larger Than Block-Size Key - Hash Key First"],
        )
        .unwrap();
        assert_eq!(
            &mac[..],
            &hex("aa4ae5e15272d00e95705637ce8a3b55ed402112")[..]
        );
    }

    #[test]
    fn matches_openssl_for_every_digest_and_key_length() {
        for md in [
            MessageDigest::sha1(),
            MessageDigest::sha256(),
            MessageDigest::sha384(),
            MessageDigest::sha512(),
        ] {
            // (OpenSSL refuses an empty HMAC key, so the reference starts at 1.)
            for len in [1, 20, 63, 64, 65, 127, 128, 129, 300] {
                let key: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                let data = b"eddy hmac test data";
                let pkey = PKey::hmac(&key).unwrap();
                let mut signer = Signer::new(md, &pkey).unwrap();
                signer.update(data).unwrap();
                let expected = signer.sign_to_vec().unwrap();
                assert_eq!(
                    &hmac(md, &key, &[data]).unwrap()[..],
                    &expected[..],
                    "{len}"
                );
            }
        }
    }
}
