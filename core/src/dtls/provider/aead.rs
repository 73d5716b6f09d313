//! AEAD record protection for DTLS 1.2 and 1.3 on ring, and the DTLS 1.3
//! record number mask on OpenSSL.
//!
//! The record ciphers are ring's rather than OpenSSL's (a departure from
//! DESIGN.md's "crypto: openssl", for this one job): OpenSSL 3 re-reads its
//! parameter tables on every record, for the IV on `EVP_CipherInit_ex` and
//! for the tag's `ctrl` (a few hundred nanoseconds of `OSSL_PARAM_locate`
//! and `strcmp` per record, which the safe `openssl` crate cannot avoid),
//! so a 1,200-byte record sealed with a kept context took ~620 ns here
//! against ring's ~310 ns. A ring key is expanded once (the AES schedule and
//! the GHASH table) and takes only the nonce and the additional data per
//! record.

use dimpl::crypto::{
    Aad, Buf, Cipher as DtlsCipher, Dtls12CipherSuite, Dtls13CipherSuite, HashAlgorithm, Nonce,
    SupportedDtls12CipherSuite, SupportedDtls13CipherSuite, TmpBuf,
};
use dimpl::{CryptoError, CryptoOperation};
use openssl::cipher::Cipher;
use openssl::cipher_ctx::CipherCtx;
use ring::aead::{self, Algorithm, LessSafeKey, UnboundKey};

const TAG_LEN: usize = 16;

/// An AEAD (AES-GCM or ChaCha20-Poly1305) keyed once; each record gives its
/// nonce. The same key seals and opens, and DTLS uses each key in one
/// direction only (the client's write key encrypts on the client and
/// decrypts on the server).
struct Aead {
    key: LessSafeKey,
}

impl std::fmt::Debug for Aead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Aead")
    }
}

impl Aead {
    fn new(algorithm: &'static Algorithm, key: &[u8]) -> Result<Self, CryptoError> {
        // `UnboundKey::new` checks the key's length against the algorithm.
        let key = UnboundKey::new(algorithm, key)
            .map_err(|_| CryptoError::OperationFailed(CryptoOperation::CreateCipher))?;
        Ok(Self {
            key: LessSafeKey::new(key),
        })
    }

    /// Encrypts `text` in place; the tag.
    fn seal(&self, text: &mut [u8], aad: &[u8], nonce: &Nonce) -> Result<aead::Tag, CryptoError> {
        self.key
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(nonce.0),
                aead::Aad::from(aad),
                text,
            )
            .map_err(|_| CryptoError::OperationFailed(CryptoOperation::Encrypt))
    }
}

impl DtlsCipher for Aead {
    fn encrypt(&mut self, data: &mut Buf, aad: Aad, nonce: Nonce) -> Result<(), CryptoError> {
        self.encrypt_tail(data, 0, aad, nonce)
    }

    /// The record's plaintext sealed where it lies in the datagram
    /// (dimpl's EDDY-PATCH 18): no copy through a buffer of its own.
    fn encrypt_tail(
        &mut self,
        data: &mut Buf,
        start: usize,
        aad: Aad,
        nonce: Nonce,
    ) -> Result<(), CryptoError> {
        let Some(tail) = data.get_mut(start..) else {
            return Err(CryptoError::OperationFailed(CryptoOperation::Encrypt));
        };
        let tag = self.seal(tail, &aad, &nonce)?;
        data.extend_from_slice(tag.as_ref());
        Ok(())
    }

    fn decrypt(
        &mut self,
        data: &mut TmpBuf<'_>,
        aad: Aad,
        nonce: Nonce,
    ) -> Result<(), CryptoError> {
        let Some(body) = data.len().checked_sub(TAG_LEN) else {
            return Err(CryptoError::CiphertextTooShort {
                minimum: TAG_LEN as u8,
                actual: data.len().min(u8::MAX as usize) as u8,
            });
        };
        // The ciphertext then the tag, opened where it lies; a record whose
        // tag does not verify fails (and its bytes are not plaintext).
        self.key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce.0),
                aead::Aad::from(&aad[..]),
                data.as_mut(),
            )
            .map_err(|_| CryptoError::OperationFailed(CryptoOperation::Decrypt))?;
        data.truncate(body);
        Ok(())
    }
}

/// The DTLS 1.2 suites eddy offers, most preferred first.
#[derive(Debug)]
pub(super) struct Dtls12Suite {
    suite: Dtls12CipherSuite,
    hash: HashAlgorithm,
    key_len: usize,
    fixed_iv_len: usize,
    explicit_nonce_len: usize,
    algorithm: &'static Algorithm,
}

impl SupportedDtls12CipherSuite for Dtls12Suite {
    fn suite(&self) -> Dtls12CipherSuite {
        self.suite
    }
    fn hash_algorithm(&self) -> HashAlgorithm {
        self.hash
    }
    fn key_lengths(&self) -> (usize, usize, usize) {
        (0, self.key_len, self.fixed_iv_len)
    }
    fn explicit_nonce_len(&self) -> usize {
        self.explicit_nonce_len
    }
    fn tag_len(&self) -> usize {
        TAG_LEN
    }
    fn create_cipher(&self, key: &[u8]) -> Result<Box<dyn DtlsCipher>, CryptoError> {
        Ok(Box::new(Aead::new(self.algorithm, key)?))
    }
}

static DTLS12_AES128_GCM: Dtls12Suite = Dtls12Suite {
    suite: Dtls12CipherSuite::ECDHE_ECDSA_AES128_GCM_SHA256,
    hash: HashAlgorithm::SHA256,
    key_len: 16,
    // RFC 5288 §3: 4-byte salt, 8-byte explicit nonce.
    fixed_iv_len: 4,
    explicit_nonce_len: 8,
    algorithm: &aead::AES_128_GCM,
};
static DTLS12_AES256_GCM: Dtls12Suite = Dtls12Suite {
    suite: Dtls12CipherSuite::ECDHE_ECDSA_AES256_GCM_SHA384,
    hash: HashAlgorithm::SHA384,
    key_len: 32,
    fixed_iv_len: 4,
    explicit_nonce_len: 8,
    algorithm: &aead::AES_256_GCM,
};
static DTLS12_CHACHA20: Dtls12Suite = Dtls12Suite {
    suite: Dtls12CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256,
    hash: HashAlgorithm::SHA256,
    key_len: 32,
    // RFC 7905 §2: a 12-byte IV, no explicit nonce.
    fixed_iv_len: 12,
    explicit_nonce_len: 0,
    algorithm: &aead::CHACHA20_POLY1305,
};

pub(super) static DTLS12_SUITES: &[&dyn SupportedDtls12CipherSuite] =
    &[&DTLS12_AES128_GCM, &DTLS12_AES256_GCM, &DTLS12_CHACHA20];

/// The DTLS 1.3 suites eddy offers.
#[derive(Debug)]
pub(super) struct Dtls13Suite {
    suite: Dtls13CipherSuite,
    hash: HashAlgorithm,
    key_len: usize,
    algorithm: &'static Algorithm,
    chacha: bool,
}

impl SupportedDtls13CipherSuite for Dtls13Suite {
    fn suite(&self) -> Dtls13CipherSuite {
        self.suite
    }
    fn hash_algorithm(&self) -> HashAlgorithm {
        self.hash
    }
    fn key_len(&self) -> usize {
        self.key_len
    }
    fn iv_len(&self) -> usize {
        12
    }
    fn tag_len(&self) -> usize {
        TAG_LEN
    }
    fn create_cipher(&self, key: &[u8]) -> Result<Box<dyn DtlsCipher>, CryptoError> {
        Ok(Box::new(Aead::new(self.algorithm, key)?))
    }

    /// RFC 9147 §4.2.3: "Mask = AES-ECB(sn_key, Ciphertext[0..15])" for AES
    /// suites; for ChaCha20, "Mask = ChaCha20(sn_key, Ciphertext[0..3],
    /// Ciphertext[4..15])" (OpenSSL's 16-byte ChaCha20 IV is exactly the
    /// little-endian counter then the nonce, i.e. the sample as it is).
    fn encrypt_sn(&self, sn_key: &[u8], sample: &[u8; 16]) -> [u8; 16] {
        let mut out = [0u8; 16];
        let result = (|| -> Result<(), openssl::error::ErrorStack> {
            let mut ctx = CipherCtx::new()?;
            if self.chacha {
                ctx.encrypt_init(Some(Cipher::chacha20()), Some(sn_key), Some(sample))?;
                ctx.cipher_update_inplace(&mut out, 16)?;
            } else {
                let ecb = if sn_key.len() == 32 {
                    Cipher::aes_256_ecb()
                } else {
                    Cipher::aes_128_ecb()
                };
                ctx.encrypt_init(Some(ecb), Some(sn_key), None)?;
                ctx.set_padding(false);
                // OpenSSL wants a block of slack after the input.
                let mut block = [0u8; 32];
                block[..16].copy_from_slice(sample);
                ctx.cipher_update_inplace(&mut block, 16)?;
                out.copy_from_slice(&block[..16]);
            }
            Ok(())
        })();
        if result.is_err() {
            // The trait cannot fail; a zero mask only leaves the record
            // number unprotected, which the peer then fails to match, so the
            // record is dropped — never a panic.
            tracing::error!("record number mask failed");
            return [0u8; 16];
        }
        out
    }
}

static DTLS13_AES128_GCM: Dtls13Suite = Dtls13Suite {
    suite: Dtls13CipherSuite::AES_128_GCM_SHA256,
    hash: HashAlgorithm::SHA256,
    key_len: 16,
    algorithm: &aead::AES_128_GCM,
    chacha: false,
};
static DTLS13_AES256_GCM: Dtls13Suite = Dtls13Suite {
    suite: Dtls13CipherSuite::AES_256_GCM_SHA384,
    hash: HashAlgorithm::SHA384,
    key_len: 32,
    algorithm: &aead::AES_256_GCM,
    chacha: false,
};
static DTLS13_CHACHA20: Dtls13Suite = Dtls13Suite {
    suite: Dtls13CipherSuite::CHACHA20_POLY1305_SHA256,
    hash: HashAlgorithm::SHA256,
    key_len: 32,
    algorithm: &aead::CHACHA20_POLY1305,
    chacha: true,
};

pub(super) static DTLS13_SUITES: &[&dyn SupportedDtls13CipherSuite] =
    &[&DTLS13_AES128_GCM, &DTLS13_AES256_GCM, &DTLS13_CHACHA20];

#[cfg(test)]
mod tests {
    use super::*;

    /// Sealing a record's tail where it lies gives the bytes sealing it
    /// alone does, after the untouched header.
    #[test]
    fn a_sealed_tail_is_the_sealed_record() {
        let key = [7u8; 16];
        let nonce = Nonce([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let aad = || {
            let mut aad = Aad(Default::default());
            aad.0
                .try_extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 9, 0x17, 0xfe, 0xfd, 1, 0x2c])
                .unwrap();
            aad
        };
        let plaintext: Vec<u8> = (0..300u16).map(|i| i as u8).collect();

        let mut alone = Aead::new(&aead::AES_128_GCM, &key).unwrap();
        let mut whole = Buf::new();
        whole.extend_from_slice(&plaintext);
        alone.encrypt(&mut whole, aad(), nonce).unwrap();

        let mut in_place = Aead::new(&aead::AES_128_GCM, &key).unwrap();
        let header = [0x17u8, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 1, 0x3c];
        let mut datagram = Buf::new();
        datagram.extend_from_slice(&header);
        datagram.extend_from_slice(&plaintext);
        in_place
            .encrypt_tail(&mut datagram, header.len(), aad(), nonce)
            .unwrap();

        assert_eq!(&datagram[..header.len()], &header);
        assert_eq!(&datagram[header.len()..], &whole[..]);
        assert_eq!(whole.len(), plaintext.len() + TAG_LEN);
    }

    /// ring's records are OpenSSL's (what the peers' stacks use): the same
    /// key, nonce and additional data give the same ciphertext and tag, and
    /// opening gives the plaintext back; a flipped bit fails.
    #[test]
    fn sealed_as_openssl_seals_and_opened_back() {
        let key = [0x42u8; 16];
        let nonce = [9u8; 12];
        let aad_bytes = [0u8, 1, 0, 0, 0, 0, 0, 7, 0x17, 0xfe, 0xfd, 0, 200];
        let aad = || {
            let mut aad = Aad(Default::default());
            aad.0.try_extend_from_slice(&aad_bytes).unwrap();
            aad
        };
        let plaintext: Vec<u8> = (0..200u16).map(|i| (i * 7) as u8).collect();

        let mut ours = Aead::new(&aead::AES_128_GCM, &key).unwrap();
        let mut sealed = Buf::new();
        sealed.extend_from_slice(&plaintext);
        ours.encrypt(&mut sealed, aad(), Nonce(nonce)).unwrap();

        let mut ctx = CipherCtx::new().unwrap();
        ctx.encrypt_init(Some(Cipher::aes_128_gcm()), Some(&key), Some(&nonce))
            .unwrap();
        ctx.cipher_update(&aad_bytes, None).unwrap();
        let mut theirs = vec![0u8; plaintext.len()];
        ctx.cipher_update(&plaintext, Some(&mut theirs)).unwrap();
        ctx.cipher_final(&mut []).unwrap();
        let mut tag = [0u8; TAG_LEN];
        ctx.tag(&mut tag).unwrap();
        theirs.extend_from_slice(&tag);
        assert_eq!(&sealed[..], &theirs[..]);

        let mut record = sealed.to_vec();
        let mut opened = TmpBuf::new(&mut record);
        ours.decrypt(&mut opened, aad(), Nonce(nonce)).unwrap();
        assert_eq!(opened.as_ref(), &plaintext[..]);

        let mut tampered = sealed.to_vec();
        tampered[3] ^= 1;
        let mut tampered = TmpBuf::new(&mut tampered);
        assert!(ours.decrypt(&mut tampered, aad(), Nonce(nonce)).is_err());
        let mut short = [0u8; 5];
        let mut short = TmpBuf::new(&mut short);
        assert!(ours.decrypt(&mut short, aad(), Nonce(nonce)).is_err());
    }
}
