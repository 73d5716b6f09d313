//! HMAC (RFC 2104) on OpenSSL's plain SHA contexts, computed as the RFC
//! defines it from two hashes: eddy's one implementation, for STUN's
//! MESSAGE-INTEGRITY(-SHA256), the DTLS provider's HMAC and TLS PRF, and
//! RFC 6979 nonces.
//!
//! OpenSSL 3's own HMAC (`EVP_DigestSign` with an HMAC key) fetches its
//! implementation from the provider registry on every call, and so does
//! `EVP_DigestInit` (`openssl::hash::Hasher`) for each context; the
//! `openssl::sha` contexts are plain structs, with no look-up and no
//! allocation, and cloning one copies it. A key used for several MACs
//! ([`Hmac::new`]) has its two padded blocks absorbed once.

use openssl::sha::{Sha1, Sha256, Sha384, Sha512};

/// The hashes an HMAC is computed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Alg {
    /// The hash's block: 64 bytes for SHA-1 and SHA-256, 128 for SHA-384/512.
    fn block_len(self) -> usize {
        match self {
            Self::Sha1 | Self::Sha256 => 64,
            Self::Sha384 | Self::Sha512 => MAX_BLOCK,
        }
    }
}

/// The largest digest (SHA-512).
pub(crate) const MAX_DIGEST: usize = 64;
/// The largest block (SHA-384/512).
const MAX_BLOCK: usize = 128;

/// An incremental hash of one of the [`Alg`]s, on the stack (OpenSSL's
/// SHA contexts are plain structs: cloning one to finalize costs a copy,
/// not an allocation). The DTLS provider's hashes are these too.
#[derive(Clone)]
pub(crate) enum Context {
    Sha1(Sha1),
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl Context {
    pub(crate) fn new(alg: Alg) -> Self {
        match alg {
            Alg::Sha1 => Self::Sha1(Sha1::new()),
            Alg::Sha256 => Self::Sha256(Sha256::new()),
            Alg::Sha384 => Self::Sha384(Sha384::new()),
            Alg::Sha512 => Self::Sha512(Sha512::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha1(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    /// The digest.
    pub(crate) fn finish(self) -> Mac {
        let mut bytes = [0u8; MAX_DIGEST];
        let len = self.finish_to(&mut bytes);
        Mac { bytes, len }
    }

    /// The digest into `out`; its length.
    pub(crate) fn finish_to(self, out: &mut [u8; MAX_DIGEST]) -> usize {
        fn put(out: &mut [u8; MAX_DIGEST], d: &[u8]) -> usize {
            for (o, b) in out.iter_mut().zip(d) {
                *o = *b;
            }
            d.len()
        }
        match self {
            Self::Sha1(h) => put(out, &h.finish()),
            Self::Sha256(h) => put(out, &h.finish()),
            Self::Sha384(h) => put(out, &h.finish()),
            Self::Sha512(h) => put(out, &h.finish()),
        }
    }
}

/// A digest or a MAC, on the stack: the first `len` bytes of `bytes`.
#[derive(Clone, Copy)]
pub(crate) struct Mac {
    bytes: [u8; MAX_DIGEST],
    len: usize,
}

impl std::ops::Deref for Mac {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// A key's HMAC state: the hash contexts with `K XOR ipad` and `K XOR opad`
/// absorbed, cloned for each MAC.
#[derive(Clone)]
pub(crate) struct Hmac {
    inner: Context,
    outer: Context,
}

impl std::fmt::Debug for Hmac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hmac")
    }
}

impl Hmac {
    /// `key`'s state: its padded blocks absorbed ([`inner_pad`]).
    pub(crate) fn new(alg: Alg, key: &[u8]) -> Self {
        let (mut pad, block) = inner_pad(alg, key);
        let pad = pad.get_mut(..block).unwrap_or_default();
        let mut inner = Context::new(alg);
        inner.update(pad);
        to_outer(pad);
        let mut outer = Context::new(alg);
        outer.update(pad);
        Self { inner, outer }
    }

    /// The MAC of the concatenation of `parts`.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> Mac {
        let mut inner = self.inner.clone();
        for part in parts {
            inner.update(part);
        }
        let inner_mac = inner.finish();
        let mut outer = self.outer.clone();
        outer.update(&inner_mac);
        outer.finish()
    }
}

/// RFC 2104 §2: "H(K XOR opad, H(K XOR ipad, text))", where a key longer
/// than the block is first hashed, and shorter keys are padded with zeros.
/// `K XOR ipad`, and the block's length (the first bytes that count).
fn inner_pad(alg: Alg, key: &[u8]) -> ([u8; MAX_BLOCK], usize) {
    let block = alg.block_len();
    let mut hashed = [0u8; MAX_DIGEST];
    let key = if key.len() > block {
        let mut d = Context::new(alg);
        d.update(key);
        let n = d.finish_to(&mut hashed);
        hashed.get(..n).unwrap_or_default()
    } else {
        key
    };
    let mut pad = [0x36u8; MAX_BLOCK];
    for (p, k) in pad.iter_mut().zip(key) {
        *p ^= *k;
    }
    (pad, block)
}

/// Turns `K XOR ipad` into `K XOR opad`.
fn to_outer(pad: &mut [u8]) {
    for p in pad.iter_mut() {
        *p ^= 0x36 ^ 0x5c;
    }
}

/// HMAC-SHA1 with a kept key, for STUN's MESSAGE-INTEGRITY (RFC 8489
/// §14.5): the two SHA-1 chaining values after the padded key blocks
/// (20 bytes each, where OpenSSL's `SHA_CTX` is 96 and [`Context`] 216),
/// resumed for each MAC on RustCrypto's SHA-1 compression function (SHA-NI
/// when the CPU has it). An ICE agent keeps one per password: a consent
/// exchange then hashes three blocks a MAC instead of five, with no key
/// set-up, and the padding is written here (FIPS 180-4 §5.1.1) instead of
/// through a streaming hasher's buffers.
#[derive(Clone)]
pub(crate) struct HmacSha1 {
    inner: [u32; 5],
    outer: [u32; 5],
}

impl std::fmt::Debug for HmacSha1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSha1")
    }
}

/// SHA-1's initial chaining value (FIPS 180-4 §5.3.1).
const SHA1_IV: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];

/// A SHA-1 block.
type Sha1Block = sha1::digest::core_api::Block<sha1::Sha1Core>;

impl HmacSha1 {
    pub(crate) fn new(key: &[u8]) -> Self {
        let absorbed = |pad: &[u8]| {
            let mut block = Sha1Block::default();
            for (b, p) in block.iter_mut().zip(pad) {
                *b = *p;
            }
            let mut state = SHA1_IV;
            sha1::compress(&mut state, std::slice::from_ref(&block));
            state
        };
        let (mut pad, block) = inner_pad(Alg::Sha1, key);
        let pad = pad.get_mut(..block).unwrap_or_default();
        let inner = absorbed(pad);
        to_outer(pad);
        Self {
            inner,
            outer: absorbed(pad),
        }
    }

    /// The MAC of the concatenation of `parts`.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 20] {
        let inner = sha1_after_block(self.inner, parts);
        self.outer_of(&inner)
    }

    /// The MAC of `head` then `body`: a STUN message whose first four
    /// bytes (type and length) are given apart, the length adjusted to end
    /// at MESSAGE-INTEGRITY (RFC 8489 §14.5). The first block is `head` and
    /// the first 60 bytes of `body`, fixed-size moves; a consent check's
    /// 64 bytes then take no variable-length copy at all.
    pub(crate) fn mac_after_head(&self, head: [u8; 4], body: &[u8]) -> [u8; 20] {
        let mut state = self.inner;
        let mut block = Sha1Block::default();
        block[..4].copy_from_slice(&head);
        let at = match body.split_first_chunk::<60>() {
            Some((first, rest)) => {
                block[4..].copy_from_slice(first);
                sha1::compress(&mut state, std::slice::from_ref(&block));
                sha1_absorb(&mut state, &mut block, 0, rest)
            }
            None => {
                block[4..4 + body.len()].copy_from_slice(body);
                4 + body.len()
            }
        };
        let len = 64 + 4 + body.len() as u64;
        let inner = sha1_finish(state, block, at, len);
        self.outer_of(&inner)
    }

    /// The outer hash: the key's outer block, then the inner digest, in
    /// one block of fixed layout.
    fn outer_of(&self, inner: &[u8; 20]) -> [u8; 20] {
        let mut block = Sha1Block::default();
        block[..20].copy_from_slice(inner);
        sha1_finish(self.outer, block, 20, 64 + 20)
    }
}

/// SHA-1 of one 64-byte block (the padded key, whose chaining value is
/// `state`) followed by the concatenation of `parts`.
fn sha1_after_block(mut state: [u32; 5], parts: &[&[u8]]) -> [u8; 20] {
    let mut block = Sha1Block::default();
    // Bytes of `block` filled, always fewer than 64 between parts.
    let mut at = 0;
    // The key's block, then the message.
    let mut len: u64 = 64;
    for part in parts {
        len = len.wrapping_add(part.len() as u64);
        at = sha1_absorb(&mut state, &mut block, at, part);
    }
    sha1_finish(state, block, at, len)
}

/// Hashes `data` after the `at` (< 64) bytes waiting in `block`: the block
/// is filled and hashed, whole blocks are hashed where they lie, and the
/// rest waits in `block`. Returns how many bytes wait.
fn sha1_absorb(state: &mut [u32; 5], block: &mut Sha1Block, at: usize, data: &[u8]) -> usize {
    let mut rest = data;
    if at > 0 {
        let n = rest.len().min(64 - at);
        let (now, later) = rest.split_at(n);
        block[at..at + n].copy_from_slice(now);
        if at + n < 64 {
            return at + n;
        }
        sha1::compress(state, std::slice::from_ref(block));
        rest = later;
    }
    let (whole, tail) = rest.as_chunks::<64>();
    for b in whole {
        sha1::compress(state, std::slice::from_ref(Sha1Block::from_slice(b)));
    }
    block[..tail.len()].copy_from_slice(tail);
    tail.len()
}

/// Pads and hashes the last block: `block` holds `at` (< 64) bytes of the
/// message, which is `len` bytes long in all (the key's block included).
fn sha1_finish(mut state: [u32; 5], mut block: Sha1Block, at: usize, len: u64) -> [u8; 20] {
    // FIPS 180-4 §5.1.1: a 1 bit, zeros, and the length in bits in the
    // last 64 bits of a block.
    block[at] = 0x80;
    block[at + 1..].fill(0);
    if at >= 56 {
        sha1::compress(&mut state, std::slice::from_ref(&block));
        block.fill(0);
    }
    block[56..].copy_from_slice(&len.wrapping_mul(8).to_be_bytes());
    sha1::compress(&mut state, std::slice::from_ref(&block));
    let mut out = [0u8; 20];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// HMAC with `key` of the concatenation of `parts`.
pub(crate) fn hmac(alg: Alg, key: &[u8], parts: &[&[u8]]) -> Mac {
    Hmac::new(alg, key).mac(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::hash::MessageDigest;
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
            Alg::Sha256,
            b"Jefe",
            &[b"what do ya ", b"want for nothing?"],
        );
        assert_eq!(
            &mac[..],
            &hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")[..]
        );
    }

    #[test]
    fn rfc2202_sha1_with_a_key_longer_than_the_block() {
        // RFC 2202 §3, test case 6: 80 bytes of 0xaa.
        let mac = hmac(
            Alg::Sha1,
            &[0xaa; 80],
            &[b"Test Using Larger Than Block-Size Key - Hash Key First"],
        );
        assert_eq!(
            &mac[..],
            &hex("aa4ae5e15272d00e95705637ce8a3b55ed402112")[..]
        );
    }

    #[test]
    fn matches_openssl_for_every_digest_and_key_length() {
        for (alg, md) in [
            (Alg::Sha1, MessageDigest::sha1()),
            (Alg::Sha256, MessageDigest::sha256()),
            (Alg::Sha384, MessageDigest::sha384()),
            (Alg::Sha512, MessageDigest::sha512()),
        ] {
            // (OpenSSL refuses an empty HMAC key, so the reference starts at 1.)
            for len in [1, 20, 63, 64, 65, 127, 128, 129, 300] {
                let key: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                let data = b"eddy hmac test data";
                let pkey = PKey::hmac(&key).unwrap();
                let mut signer = Signer::new(md, &pkey).unwrap();
                signer.update(data).unwrap();
                let expected = signer.sign_to_vec().unwrap();
                assert_eq!(&hmac(alg, &key, &[data])[..], &expected[..], "{len}");
                // A kept key gives the same MAC each time.
                let kept = Hmac::new(alg, &key);
                assert_eq!(&kept.mac(&[data])[..], &expected[..], "{len}");
                assert_eq!(&kept.mac(&[&data[..3], &data[3..]])[..], &expected[..]);
                if alg == Alg::Sha1 {
                    let sha1 = HmacSha1::new(&key);
                    assert_eq!(&sha1.mac(&[data])[..], &expected[..], "{len}");
                    assert_eq!(&sha1.mac(&[&data[..3], &data[3..]])[..], &expected[..]);
                }
            }
        }
    }

    #[test]
    fn kept_hmac_sha1_matches_openssl_at_every_message_length() {
        // Across the padding's cases: the message ends before, at and past
        // the 56th byte of its block, on block boundaries, in parts.
        let key = b"VOkJxbRl1RmTxUk/WvJxBt";
        let kept = HmacSha1::new(key);
        let data: Vec<u8> = (0..300u32).map(|i| (i * 13 + 5) as u8).collect();
        for len in 0..data.len() {
            let d = &data[..len];
            let pkey = PKey::hmac(key).unwrap();
            let mut signer = Signer::new(MessageDigest::sha1(), &pkey).unwrap();
            signer.update(d).unwrap();
            let expected = signer.sign_to_vec().unwrap();
            assert_eq!(&kept.mac(&[d])[..], &expected[..], "{len}");
            let (a, b) = d.split_at(len / 3);
            let (b, c) = b.split_at(b.len() / 2);
            assert_eq!(&kept.mac(&[a, b, c])[..], &expected[..], "{len} in parts");
            // A head of four bytes given apart (a STUN message's type and
            // adjusted length), the body then filling the first block or
            // not, whole blocks after it, a tail.
            if let Some((head, body)) = d.split_first_chunk::<4>() {
                assert_eq!(
                    &kept.mac_after_head(*head, body)[..],
                    &expected[..],
                    "{len} after a head"
                );
            }
        }
    }
}
