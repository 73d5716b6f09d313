//! Hashing, HMAC and randomness for dimpl, on OpenSSL.

use dimpl::crypto::{Buf, HashAlgorithm, HashContext, HashProvider, HmacProvider, SecureRandom};
use dimpl::{CryptoError, CryptoOperation};
use openssl::hash::MessageDigest;
use openssl::sha::{Sha256, Sha384, Sha512};

/// An incremental hash on the stack (OpenSSL's SHA contexts are plain
/// structs, so cloning one to finalize costs a copy, not an allocation).
#[derive(Clone)]
pub(crate) enum Digest {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sha256(_) => "Digest::Sha256",
            Self::Sha384(_) => "Digest::Sha384",
            Self::Sha512(_) => "Digest::Sha512",
        })
    }
}

impl Digest {
    /// A fresh context; SHA-256 for anything but SHA-384/512 (dimpl only
    /// asks for the two it negotiates).
    pub(crate) fn new(alg: HashAlgorithm) -> Self {
        if alg == HashAlgorithm::SHA384 {
            Self::Sha384(Sha384::new())
        } else if alg == HashAlgorithm::SHA512 {
            Self::Sha512(Sha512::new())
        } else {
            Self::Sha256(Sha256::new())
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    /// The digest, written to `out` (cleared first).
    pub(crate) fn finish_into(self, out: &mut Vec<u8>) {
        out.clear();
        match self {
            Self::Sha256(h) => out.extend_from_slice(&h.finish()),
            Self::Sha384(h) => out.extend_from_slice(&h.finish()),
            Self::Sha512(h) => out.extend_from_slice(&h.finish()),
        }
    }

    /// The digest of `data` in one go.
    pub(crate) fn of(alg: HashAlgorithm, data: &[u8]) -> Vec<u8> {
        let mut d = Self::new(alg);
        d.update(data);
        let mut out = Vec::with_capacity(64);
        d.finish_into(&mut out);
        out
    }

    /// The digest into `out`; its length (32, 48 or 64).
    fn finish_to(self, out: &mut [u8; MAX_DIGEST]) -> usize {
        fn put(out: &mut [u8; MAX_DIGEST], d: &[u8]) -> usize {
            for (o, b) in out.iter_mut().zip(d) {
                *o = *b;
            }
            d.len()
        }
        match self {
            Self::Sha256(h) => put(out, &h.finish()),
            Self::Sha384(h) => put(out, &h.finish()),
            Self::Sha512(h) => put(out, &h.finish()),
        }
    }

    /// The hash's block: 64 bytes for SHA-256, 128 for SHA-384/512.
    fn block_len(&self) -> usize {
        match self {
            Self::Sha256(_) => 64,
            Self::Sha384(_) | Self::Sha512(_) => MAX_BLOCK,
        }
    }
}

/// The largest digest (SHA-512).
const MAX_DIGEST: usize = 64;
/// The largest block (SHA-384/512).
const MAX_BLOCK: usize = 128;

/// HMAC (RFC 2104) with `key` of the concatenation of `parts` under
/// SHA-256/384/512, on OpenSSL's plain SHA contexts: `crate::hmac` goes
/// through `EVP_DigestInit`, which in OpenSSL 3 looks the digest up in the
/// provider registry for each of its two contexts, and the TLS PRF makes
/// dozens of HMACs per handshake. Writes the MAC to `out`; its length.
pub(crate) fn hmac_into(
    alg: HashAlgorithm,
    key: &[u8],
    parts: &[&[u8]],
    out: &mut [u8; MAX_DIGEST],
) -> usize {
    let mut inner = Digest::new(alg);
    let block = inner.block_len();
    // "H(K XOR opad, H(K XOR ipad, text))"; a key longer than the block is
    // hashed first, a shorter one padded with zeros.
    let mut hashed = [0u8; MAX_DIGEST];
    let key = if key.len() > block {
        let mut d = Digest::new(alg);
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
    let pad = pad.get_mut(..block).unwrap_or_default();
    inner.update(pad);
    for part in parts {
        inner.update(part);
    }
    let mut inner_mac = [0u8; MAX_DIGEST];
    let n = inner.finish_to(&mut inner_mac);
    // 0x36 ^ 0x5c turns the inner pad into the outer one.
    for p in pad.iter_mut() {
        *p ^= 0x36 ^ 0x5c;
    }
    let mut outer = Digest::new(alg);
    outer.update(pad);
    outer.update(inner_mac.get(..n).unwrap_or_default());
    outer.finish_to(out)
}

struct Context(Digest);

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl HashContext for Context {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn clone_and_finalize(&self, out: &mut Buf) {
        let mut v = Vec::with_capacity(64);
        self.0.clone().finish_into(&mut v);
        out.clear();
        out.extend_from_slice(&v);
    }
}

#[derive(Debug)]
pub(super) struct Hashes;

impl HashProvider for Hashes {
    fn create_hash(&self, algorithm: HashAlgorithm) -> Box<dyn HashContext> {
        Box::new(Context(Digest::new(algorithm)))
    }
}

pub(crate) fn message_digest(alg: HashAlgorithm) -> Option<MessageDigest> {
    if alg == HashAlgorithm::SHA256 {
        Some(MessageDigest::sha256())
    } else if alg == HashAlgorithm::SHA384 {
        Some(MessageDigest::sha384())
    } else if alg == HashAlgorithm::SHA512 {
        Some(MessageDigest::sha512())
    } else {
        None
    }
}

#[derive(Debug)]
pub(super) struct Hmacs;

impl HmacProvider for Hmacs {
    fn hmac(
        &self,
        hash: HashAlgorithm,
        key: &[u8],
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize, CryptoError> {
        if message_digest(hash).is_none() {
            return Err(CryptoError::UnsupportedHmacHash(hash));
        }
        let mut mac = [0u8; MAX_DIGEST];
        let len = hmac_into(hash, key, &[data], &mut mac);
        let n = len.min(out.len());
        for (o, m) in out.iter_mut().zip(mac.iter()) {
            *o = *m;
        }
        Ok(n)
    }
}

#[derive(Debug)]
pub(super) struct Random;

impl SecureRandom for Random {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        super::scope::fill(buf)
            .map_err(|_| CryptoError::OperationFailed(CryptoOperation::FillRandom))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_the_evp_one_for_every_key_length() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        for alg in [
            HashAlgorithm::SHA256,
            HashAlgorithm::SHA384,
            HashAlgorithm::SHA512,
        ] {
            let md = message_digest(alg).unwrap();
            for key_len in [0, 1, 20, 63, 64, 65, 127, 128, 129, 200] {
                let key = &data[..key_len];
                let want = crate::hmac::hmac(md, key, &[&data[..17], &data[17..]]).unwrap();
                let mut got = [0u8; MAX_DIGEST];
                let n = hmac_into(alg, key, &[&data[..17], &data[17..]], &mut got);
                assert_eq!(&got[..n], &want[..], "{alg:?} key {key_len}");
            }
        }
    }
}
