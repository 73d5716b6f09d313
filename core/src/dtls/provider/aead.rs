//! AEAD record protection for DTLS 1.2 and 1.3 on OpenSSL.

use dimpl::crypto::{
    Aad, Buf, Cipher as DtlsCipher, Dtls12CipherSuite, Dtls13CipherSuite, HashAlgorithm, Nonce,
    SupportedDtls12CipherSuite, SupportedDtls13CipherSuite, TmpBuf,
};
use dimpl::{CryptoError, CryptoOperation};
use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::CipherCtx;

const TAG_LEN: usize = 16;

/// Longest AEAD key (AES-256, ChaCha20).
const MAX_KEY_LEN: usize = 32;

/// An AEAD (AES-GCM or ChaCha20-Poly1305) with one OpenSSL context per
/// direction, keyed once and re-nonced per record. DTLS uses each key in one
/// direction only (the client's write key encrypts on the client and
/// decrypts on the server), so each context is created at its first use:
/// the other one would be ~1.5 KB of idle heap per key.
struct Aead {
    /// A function rather than the `&CipherRef`, which is not unwind-safe.
    cipher: fn() -> &'static CipherRef,
    key: [u8; MAX_KEY_LEN],
    key_len: usize,
    enc: Option<CipherCtx>,
    dec: Option<CipherCtx>,
}

impl Drop for Aead {
    fn drop(&mut self) {
        self.key.fill(0);
        // Keeps the wipe from being optimised away as a dead store.
        std::hint::black_box(&self.key);
    }
}

impl std::fmt::Debug for Aead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Aead")
    }
}

fn failed(op: CryptoOperation) -> impl Fn(openssl::error::ErrorStack) -> CryptoError {
    move |_| CryptoError::OperationFailed(op)
}

impl Aead {
    fn new(cipher: fn() -> &'static CipherRef, key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != cipher().key_length() || key.len() > MAX_KEY_LEN {
            return Err(CryptoError::OperationFailed(CryptoOperation::CreateCipher));
        }
        let mut stored = [0; MAX_KEY_LEN];
        stored[..key.len()].copy_from_slice(key);
        Ok(Self {
            cipher,
            key: stored,
            key_len: key.len(),
            enc: None,
            dec: None,
        })
    }

    fn key(&self) -> &[u8] {
        self.key.get(..self.key_len).unwrap_or_default()
    }

    /// The encryption context, keyed at its first use.
    fn enc(&mut self) -> Result<&mut CipherCtx, CryptoError> {
        if self.enc.is_none() {
            let op = failed(CryptoOperation::CreateCipher);
            let mut ctx = CipherCtx::new().map_err(&op)?;
            ctx.encrypt_init(Some((self.cipher)()), Some(self.key()), None)
                .map_err(&op)?;
            self.enc = Some(ctx);
        }
        self.enc
            .as_mut()
            .ok_or(CryptoError::OperationFailed(CryptoOperation::CreateCipher))
    }

    /// The decryption context, keyed at its first use.
    fn dec(&mut self) -> Result<&mut CipherCtx, CryptoError> {
        if self.dec.is_none() {
            let op = failed(CryptoOperation::CreateCipher);
            let mut ctx = CipherCtx::new().map_err(&op)?;
            ctx.decrypt_init(Some((self.cipher)()), Some(self.key()), None)
                .map_err(&op)?;
            self.dec = Some(ctx);
        }
        self.dec
            .as_mut()
            .ok_or(CryptoError::OperationFailed(CryptoOperation::CreateCipher))
    }
}

impl Aead {
    /// Encrypts `text` in place; the tag.
    fn seal(
        &mut self,
        text: &mut [u8],
        aad: &[u8],
        nonce: &[u8],
    ) -> Result<[u8; TAG_LEN], CryptoError> {
        let op = failed(CryptoOperation::Encrypt);
        let enc = self.enc()?;
        enc.encrypt_init(None, None, Some(nonce)).map_err(&op)?;
        enc.cipher_update(aad, None).map_err(&op)?;
        let len = text.len();
        enc.cipher_update_inplace(text, len).map_err(&op)?;
        enc.cipher_final(&mut []).map_err(&op)?;
        let mut tag = [0u8; TAG_LEN];
        enc.tag(&mut tag).map_err(&op)?;
        Ok(tag)
    }
}

impl DtlsCipher for Aead {
    fn encrypt(&mut self, data: &mut Buf, aad: Aad, nonce: Nonce) -> Result<(), CryptoError> {
        let tag = self.seal(data, &aad, &nonce)?;
        data.extend_from_slice(&tag);
        Ok(())
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
        data.extend_from_slice(&tag);
        Ok(())
    }

    fn decrypt(
        &mut self,
        data: &mut TmpBuf<'_>,
        aad: Aad,
        nonce: Nonce,
    ) -> Result<(), CryptoError> {
        let op = failed(CryptoOperation::Decrypt);
        let Some(body) = data.len().checked_sub(TAG_LEN) else {
            return Err(CryptoError::CiphertextTooShort {
                minimum: TAG_LEN as u8,
                actual: data.len() as u8,
            });
        };
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&data.as_ref()[body..]);
        let dec = self.dec()?;
        dec.decrypt_init(None, None, Some(&nonce)).map_err(&op)?;
        dec.cipher_update(&aad, None).map_err(&op)?;
        dec.cipher_update_inplace(&mut data.as_mut()[..body], body)
            .map_err(&op)?;
        dec.set_tag(&tag).map_err(&op)?;
        dec.cipher_final(&mut []).map_err(&op)?;
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
    cipher: fn() -> &'static CipherRef,
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
        Ok(Box::new(Aead::new(self.cipher, key)?))
    }
}

static DTLS12_AES128_GCM: Dtls12Suite = Dtls12Suite {
    suite: Dtls12CipherSuite::ECDHE_ECDSA_AES128_GCM_SHA256,
    hash: HashAlgorithm::SHA256,
    key_len: 16,
    // RFC 5288 §3: 4-byte salt, 8-byte explicit nonce.
    fixed_iv_len: 4,
    explicit_nonce_len: 8,
    cipher: Cipher::aes_128_gcm,
};
static DTLS12_AES256_GCM: Dtls12Suite = Dtls12Suite {
    suite: Dtls12CipherSuite::ECDHE_ECDSA_AES256_GCM_SHA384,
    hash: HashAlgorithm::SHA384,
    key_len: 32,
    fixed_iv_len: 4,
    explicit_nonce_len: 8,
    cipher: Cipher::aes_256_gcm,
};
static DTLS12_CHACHA20: Dtls12Suite = Dtls12Suite {
    suite: Dtls12CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256,
    hash: HashAlgorithm::SHA256,
    key_len: 32,
    // RFC 7905 §2: a 12-byte IV, no explicit nonce.
    fixed_iv_len: 12,
    explicit_nonce_len: 0,
    cipher: Cipher::chacha20_poly1305,
};

pub(super) static DTLS12_SUITES: &[&dyn SupportedDtls12CipherSuite] =
    &[&DTLS12_AES128_GCM, &DTLS12_AES256_GCM, &DTLS12_CHACHA20];

/// The DTLS 1.3 suites eddy offers.
#[derive(Debug)]
pub(super) struct Dtls13Suite {
    suite: Dtls13CipherSuite,
    hash: HashAlgorithm,
    key_len: usize,
    cipher: fn() -> &'static CipherRef,
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
        Ok(Box::new(Aead::new(self.cipher, key)?))
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
    cipher: Cipher::aes_128_gcm,
    chacha: false,
};
static DTLS13_AES256_GCM: Dtls13Suite = Dtls13Suite {
    suite: Dtls13CipherSuite::AES_256_GCM_SHA384,
    hash: HashAlgorithm::SHA384,
    key_len: 32,
    cipher: Cipher::aes_256_gcm,
    chacha: false,
};
static DTLS13_CHACHA20: Dtls13Suite = Dtls13Suite {
    suite: Dtls13CipherSuite::CHACHA20_POLY1305_SHA256,
    hash: HashAlgorithm::SHA256,
    key_len: 32,
    cipher: Cipher::chacha20_poly1305,
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

        let mut alone = Aead::new(Cipher::aes_128_gcm, &key).unwrap();
        let mut whole = Buf::new();
        whole.extend_from_slice(&plaintext);
        alone.encrypt(&mut whole, aad(), nonce).unwrap();

        let mut in_place = Aead::new(Cipher::aes_128_gcm, &key).unwrap();
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
}
