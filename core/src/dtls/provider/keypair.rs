//! A certificate's ECDSA key pair: generated and used on AWS-LC, with the
//! same key on OpenSSL made when deterministic mode needs it.
//!
//! AWS-LC signs a P-256 digest in ~19 µs here where OpenSSL 3's
//! `ECDSA_do_sign` takes ~24 µs (its nonce derivation and big-number
//! blinding cost more), and a connected pair signs four times: each
//! peer's certificate and each peer's handshake (issue 13). The key is
//! made on AWS-LC too: a key loaded into it from elsewhere is checked
//! with a second scalar multiplication, which would eat the gain.

use std::sync::OnceLock;

use aws_lc_rs::encoding::{AsDer, EcPrivateKeyRfc5915Der};
use aws_lc_rs::signature::{
    EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING,
    ECDSA_P384_SHA384_ASN1_SIGNING,
};
use dimpl::crypto::{HashAlgorithm, NamedGroup};
use dimpl::CryptoError;
use openssl::ec::EcKey;
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::Private;

use super::ecdsa::{key_group, load_ec_key, sign_deterministic, signature_der};
use super::kx::curve_nid;
use super::{ec_private_key, scope};

/// An ECDSA key pair on P-256 or P-384.
pub(crate) struct EcKeyPair {
    pair: EcdsaKeyPair,
    group: NamedGroup,
    /// The same key as an OpenSSL `EC_KEY`, for what AWS-LC does not do:
    /// RFC 6979 nonces in deterministic mode, and a signature under the
    /// curve's other hash (P-256 with SHA-384, which TLS 1.2 allows a
    /// peer to ask for). Made on first use.
    openssl: OnceLock<EcKey<Private>>,
}

impl std::fmt::Debug for EcKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcKeyPair")
            .field("group", &self.group)
            .finish()
    }
}

/// AWS-LC's signing algorithm for a curve: its own hash (RFC 8446
/// §4.2.3's pairing, what every WebRTC stack asks for).
fn signing_algorithm(group: NamedGroup) -> Option<&'static EcdsaSigningAlgorithm> {
    match group {
        NamedGroup::Secp256r1 => Some(&ECDSA_P256_SHA256_ASN1_SIGNING),
        NamedGroup::Secp384r1 => Some(&ECDSA_P384_SHA384_ASN1_SIGNING),
        _ => None,
    }
}

/// The hash a curve's signatures use on AWS-LC, and the one a handshake
/// signs with unless the peer asks for the other.
pub(super) fn natural_hash(group: NamedGroup) -> HashAlgorithm {
    if group == NamedGroup::Secp384r1 {
        HashAlgorithm::SHA384
    } else {
        HashAlgorithm::SHA256
    }
}

fn failed() -> CryptoError {
    CryptoError::OperationFailed(dimpl::CryptoOperation::Sign)
}

impl EcKeyPair {
    /// A new key on `group` (P-256 or P-384): from the lent seeded
    /// generator in deterministic mode (see [`ec_private_key`]), from
    /// AWS-LC's otherwise.
    pub(crate) fn generate(group: NamedGroup) -> Result<Self, CryptoError> {
        let alg = signing_algorithm(group).ok_or(CryptoError::UnsupportedEcCurve)?;
        if scope::is_deterministic() {
            let nid = curve_nid(group).ok_or(CryptoError::UnsupportedEcCurve)?;
            let key = ec_private_key(nid).map_err(|_| failed())?;
            return Self::from_openssl(key);
        }
        Ok(Self {
            pair: EcdsaKeyPair::generate(alg).map_err(|_| failed())?,
            group,
            openssl: OnceLock::new(),
        })
    }

    /// The same key as an OpenSSL one holds (P-256 or P-384), which is kept
    /// for the signatures AWS-LC does not make.
    pub(crate) fn from_openssl(key: EcKey<Private>) -> Result<Self, CryptoError> {
        let group = key_group(key.group()).ok_or(CryptoError::UnsupportedEcCurve)?;
        let alg = signing_algorithm(group).ok_or(CryptoError::UnsupportedEcCurve)?;
        let sec1 = key
            .private_key_to_der()
            .map_err(|_| CryptoError::InvalidPrivateKey)?;
        let pair = EcdsaKeyPair::from_private_key_der(alg, &sec1)
            .map_err(|_| CryptoError::InvalidPrivateKey)?;
        Ok(Self {
            pair,
            group,
            openssl: OnceLock::from(key),
        })
    }

    pub(crate) fn group(&self) -> NamedGroup {
        self.group
    }

    /// The public point, uncompressed (SEC 1 §2.3.3; RFC 5480 §2.2).
    pub(crate) fn public_point(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// The private key as SEC1 DER (RFC 5915 §3: version 1, the scalar,
    /// the named curve, the public key), as OpenSSL's `i2d_ECPrivateKey`
    /// writes it.
    pub(crate) fn sec1(&self) -> Result<Vec<u8>, CryptoError> {
        let der: EcPrivateKeyRfc5915Der<'static> = self
            .pair
            .private_key()
            .as_der()
            .map_err(|_| CryptoError::InvalidPrivateKey)?;
        Ok(der.as_ref().to_vec())
    }

    /// The key on OpenSSL: the one it was made from, or one loaded now
    /// from its SEC1 bytes.
    fn openssl(&self) -> Result<&EcKey<Private>, CryptoError> {
        if let Some(key) = self.openssl.get() {
            return Ok(key);
        }
        let key = load_ec_key(&self.sec1()?)?;
        Ok(self.openssl.get_or_init(|| key))
    }

    /// Signs `digest` (made with `hash`): RFC 6979 in deterministic mode;
    /// otherwise AWS-LC's randomized ECDSA, or OpenSSL's for the curve's
    /// other hash. The DER `ECDSA-Sig-Value` (RFC 3279 §2.2.3).
    pub(crate) fn sign_digest(
        &self,
        digest: &[u8],
        hash: HashAlgorithm,
    ) -> Result<Vec<u8>, CryptoError> {
        if scope::is_deterministic() {
            let sig = sign_deterministic(self.openssl()?, digest, hash).map_err(|_| failed())?;
            return Ok(signature_der(&sig));
        }
        if hash == natural_hash(self.group) {
            let alg = if hash == HashAlgorithm::SHA384 {
                &aws_lc_rs::digest::SHA384
            } else {
                &aws_lc_rs::digest::SHA256
            };
            let digest =
                aws_lc_rs::digest::Digest::import_less_safe(digest, alg).map_err(|_| failed())?;
            let sig = self.pair.sign_digest(&digest).map_err(|_| failed())?;
            return Ok(sig.as_ref().to_vec());
        }
        let sig = EcdsaSig::sign(digest, self.openssl()?).map_err(|_| failed())?;
        Ok(signature_der(&sig))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtls::provider::Digest;
    use crate::rng::Rng;
    use openssl::bn::BigNumContext;
    use openssl::ec::EcPoint;

    /// A signature from AWS-LC, from OpenSSL under the other hash, and an
    /// RFC 6979 one in deterministic mode all verify on OpenSSL against
    /// the AWS-LC key's public point; the seeded ones repeat.
    #[test]
    fn every_signing_path_verifies_on_openssl() {
        for group in [NamedGroup::Secp256r1, NamedGroup::Secp384r1] {
            let pair = EcKeyPair::generate(group).unwrap();
            assert!(pair.openssl.get().is_none(), "made on AWS-LC alone");
            let ec = EcKey::private_key_from_der(&pair.sec1().unwrap()).unwrap();
            assert_eq!(key_group(ec.group()), Some(group));
            let mut ctx = BigNumContext::new().unwrap();
            let point = EcPoint::from_bytes(ec.group(), pair.public_point(), &mut ctx).unwrap();
            assert!(point.eq(ec.group(), ec.public_key(), &mut ctx).unwrap());
            for hash in [HashAlgorithm::SHA256, HashAlgorithm::SHA384] {
                let digest = Digest::of(hash, b"the handshake's parameters");
                let mut lent = None;
                let der = scope::with_rng(&mut lent, || pair.sign_digest(&digest, hash)).unwrap();
                let sig = EcdsaSig::from_der(&der).unwrap();
                assert!(sig.verify(&digest, &ec).unwrap(), "{group:?} {hash:?}");
                assert_eq!(der, sig.to_der().unwrap());
                let seeded = |seed| {
                    let mut lent = Some(Rng::from_seed(seed));
                    scope::with_rng(&mut lent, || pair.sign_digest(&digest, hash)).unwrap()
                };
                let (a, b) = (seeded(3), seeded(4));
                // RFC 6979: the nonce comes from the key and the digest.
                assert_eq!(a, b);
                assert!(EcdsaSig::from_der(&a)
                    .unwrap()
                    .verify(&digest, &ec)
                    .unwrap());
                let wrong = Digest::of(hash, b"something else");
                assert!(!sig.verify(&wrong, &ec).unwrap());
            }
        }
    }

    /// A key made in deterministic mode comes from the lent generator:
    /// the same seed, the same key.
    #[test]
    fn a_seeded_key_repeats() {
        let make = |seed| {
            let mut lent = Some(Rng::from_seed(seed));
            scope::with_rng(&mut lent, || EcKeyPair::generate(NamedGroup::Secp256r1))
                .unwrap()
                .public_point()
                .to_vec()
        };
        assert_eq!(make(9), make(9));
        assert_ne!(make(9), make(10));
        assert!(matches!(
            EcKeyPair::generate(NamedGroup::X25519),
            Err(CryptoError::UnsupportedEcCurve)
        ));
    }
}
