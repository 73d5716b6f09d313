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
        let md = message_digest(hash).ok_or(CryptoError::UnsupportedHmacHash(hash))?;
        let fail = |_| CryptoError::OperationFailed(CryptoOperation::ComputeHmac);
        let mac = crate::hmac::hmac(md, key, &[data]).map_err(fail)?;
        let n = mac.len().min(out.len());
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
