//! eddy's OpenSSL `CryptoProvider` for dimpl (ARCHITECTURE.md §4).

mod aead;
mod digest;
pub(crate) mod ecdsa;
pub(crate) mod keypair;
mod kx;
pub(crate) mod scope;

use dimpl::crypto::CryptoProvider;

pub(crate) use digest::Digest;
pub(crate) use kx::ec_private_key;

static HASHES: digest::Hashes = digest::Hashes;
static HMACS: digest::Hmacs = digest::Hmacs;
static RANDOM: digest::Random = digest::Random;

/// The provider: ECDHE over P-256, X25519 and P-384 (in that preference);
/// ECDSA P-256/P-384 with SHA-256/384; AES-128/256-GCM and ChaCha20-Poly1305 for DTLS 1.2 and 1.3;
/// randomness from OpenSSL, or from the connection's seed while one is lent
/// (see `scope`).
pub(crate) fn provider() -> CryptoProvider {
    CryptoProvider {
        kx_groups: kx::GROUPS,
        signature_verification: &ecdsa::VERIFIER,
        key_provider: &ecdsa::KEYS,
        secure_random: &RANDOM,
        hash_provider: &HASHES,
        hmac_provider: &HMACS,
        cipher_suites: aead::DTLS12_SUITES,
        dtls13_cipher_suites: aead::DTLS13_SUITES,
    }
}

#[cfg(test)]
mod tests {
    /// dimpl's own check of a provider, which eddy's configuration skips
    /// at run time (`dtls_config`).
    #[test]
    fn passes_dimpls_self_test() {
        super::provider().validate().unwrap();
    }
}
