//! Hashing, HMAC and randomness for dimpl, on OpenSSL.

use dimpl::crypto::{Buf, HashAlgorithm, HashContext, HashProvider, HmacProvider, SecureRandom};
use dimpl::{CryptoError, CryptoOperation};
use openssl::hash::MessageDigest;

use crate::hmac::{hmac, Alg, Context, Hmac, Mac, MAX_DIGEST};

/// An incremental hash of a dimpl hash algorithm (`crate::hmac`'s
/// contexts: on the stack, cloned to finalize without an allocation).
#[derive(Clone)]
pub(crate) struct Digest(Context);

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Digest")
    }
}

impl Digest {
    /// A fresh context; SHA-256 for anything but SHA-384/512 (dimpl only
    /// asks for the two it negotiates).
    pub(crate) fn new(alg: HashAlgorithm) -> Self {
        Self(Context::new(hmac_alg(alg)))
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest of `data` in one go, on the stack: it is signed or
    /// verified and dropped (six a connected pair), so it takes no heap.
    pub(crate) fn of(alg: HashAlgorithm, data: &[u8]) -> Mac {
        let mut d = Self::new(alg);
        d.update(data);
        d.0.finish()
    }
}

/// The HMAC hash for a dimpl hash algorithm: SHA-256 for anything but
/// SHA-384/512, as [`Digest::new`].
fn hmac_alg(alg: HashAlgorithm) -> Alg {
    if alg == HashAlgorithm::SHA384 {
        Alg::Sha384
    } else if alg == HashAlgorithm::SHA512 {
        Alg::Sha512
    } else {
        Alg::Sha256
    }
}

/// HMAC (RFC 2104) with `key` of the concatenation of `parts` under
/// SHA-256/384/512 (`crate::hmac`, on plain SHA contexts). Writes the MAC
/// to `out`; its length.
pub(crate) fn hmac_into(
    alg: HashAlgorithm,
    key: &[u8],
    parts: &[&[u8]],
    out: &mut [u8; MAX_DIGEST],
) -> usize {
    let mac = hmac(hmac_alg(alg), key, parts);
    for (o, m) in out.iter_mut().zip(mac.iter()) {
        *o = *m;
    }
    mac.len()
}

impl HashContext for Digest {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn clone_and_finalize(&self, out: &mut Buf) {
        let mut digest = [0u8; MAX_DIGEST];
        let n = self.0.clone().finish_to(&mut digest);
        out.clear();
        out.extend_from_slice(digest.get(..n).unwrap_or_default());
    }
}

#[derive(Debug)]
pub(super) struct Hashes;

impl HashProvider for Hashes {
    fn create_hash(&self, algorithm: HashAlgorithm) -> Box<dyn HashContext> {
        Box::new(Digest::new(algorithm))
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

    /// The TLS 1.2 PRF with the secret's HMAC state built once: each of
    /// its HMACs then hashes the message and the inner hash, not the two
    /// padded key blocks again (about half the hashing).
    fn prf_tls12(
        &self,
        hash: HashAlgorithm,
        secret: &[u8],
        label: &str,
        seed: &[u8],
        out: &mut Buf,
        output_len: usize,
        _scratch: &mut Buf,
    ) -> Result<(), CryptoError> {
        if message_digest(hash).is_none() {
            return Err(CryptoError::UnsupportedHmacHash(hash));
        }
        let key = Hmac::new(hmac_alg(hash), secret);
        let label = label.as_bytes();
        // RFC 5246 §5: A(0) = seed, A(i) = HMAC(secret, A(i-1)),
        // P_hash = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...
        // where the PRF's seed is label + seed.
        let mut a = key.mac(&[label, seed]);
        out.clear();
        while out.len() < output_len {
            let block = key.mac(&[&a, label, seed]);
            let take = (output_len - out.len()).min(block.len());
            out.extend_from_slice(block.get(..take).unwrap_or_default());
            if out.len() < output_len {
                a = key.mac(&[&a]);
            }
        }
        Ok(())
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
    use openssl::pkey::PKey;
    use openssl::sign::Signer;

    /// OpenSSL's own HMAC (which refuses an empty key).
    fn openssl_hmac(md: MessageDigest, key: &[u8], data: &[u8]) -> Vec<u8> {
        let pkey = PKey::hmac(key).unwrap();
        let mut signer = Signer::new(md, &pkey).unwrap();
        signer.update(data).unwrap();
        signer.sign_to_vec().unwrap()
    }

    #[test]
    fn hmac_matches_the_evp_one_for_every_key_length() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        for alg in [
            HashAlgorithm::SHA256,
            HashAlgorithm::SHA384,
            HashAlgorithm::SHA512,
        ] {
            let md = message_digest(alg).unwrap();
            for key_len in [1, 20, 63, 64, 65, 127, 128, 129, 200] {
                let key = &data[..key_len];
                let want = openssl_hmac(md, key, &data);
                let mut got = [0u8; MAX_DIGEST];
                let n = hmac_into(alg, key, &[&data[..17], &data[17..]], &mut got);
                assert_eq!(&got[..n], &want[..], "{alg:?} key {key_len}");
            }
        }
    }

    #[test]
    fn prf_with_a_kept_key_matches_one_hmac_per_call() {
        let secret: Vec<u8> = (0..48u32).map(|i| (i * 13 + 1) as u8).collect();
        let seed: Vec<u8> = (0..64u32).map(|i| (i * 5) as u8).collect();
        for alg in [HashAlgorithm::SHA256, HashAlgorithm::SHA384] {
            for len in [12, 32, 40, 48, 60, 100] {
                let (mut want, mut got, mut scratch) = (Buf::new(), Buf::new(), Buf::new());
                dimpl::crypto::prf_hkdf::prf_tls12_with_hmac(
                    &Hmacs,
                    &secret,
                    "master secret",
                    &seed,
                    &mut want,
                    len,
                    &mut scratch,
                    alg,
                )
                .unwrap();
                Hmacs
                    .prf_tls12(
                        alg,
                        &secret,
                        "master secret",
                        &seed,
                        &mut got,
                        len,
                        &mut scratch,
                    )
                    .unwrap();
                assert_eq!(got.len(), len);
                assert_eq!(&got[..], &want[..], "{alg:?} {len}");
            }
        }
    }
}
