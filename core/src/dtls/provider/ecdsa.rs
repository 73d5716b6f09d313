//! ECDSA signing (with the keys of [`super::keypair`]), verification (on
//! ring) and key loading (on OpenSSL), with RFC 6979 deterministic nonces
//! in deterministic mode.

use std::sync::Arc;

use dimpl::crypto::{
    check_verify_scheme, Buf, HashAlgorithm, KeyProvider, LoadedKey, NamedGroup,
    SignatureAlgorithm, SignatureVerifier, SigningKey,
};
use dimpl::{CryptoError, CryptoOperation};
use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::ec::{EcGroupRef, EcKey, EcKeyRef, EcPoint};
use openssl::ecdsa::{EcdsaSig, EcdsaSigRef};
use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private, Public};

use super::digest::{hmac_into, message_digest, Digest};
use super::keypair::{natural_hash, EcKeyPair};
use super::kx::named_group;
use crate::dtls::certificate::{
    der_next, der_unsigned, der_with, OID_EC_PUBLIC_KEY, OID_P256, OID_P384, SEQUENCE,
};

/// The named group of an EC curve.
pub(crate) fn key_group(group: &EcGroupRef) -> Option<NamedGroup> {
    match group.curve_name()? {
        Nid::X9_62_PRIME256V1 => Some(NamedGroup::Secp256r1),
        Nid::SECP384R1 => Some(NamedGroup::Secp384r1),
        _ => None,
    }
}

/// `bits2int` (RFC 6979 §2.3.2): the leftmost `qlen` bits of `data`.
fn bits2int(data: &[u8], qlen: i32) -> Result<BigNum, ErrorStack> {
    let mut n = BigNum::from_slice(data)?;
    let blen = data.len() as i32 * 8;
    if blen > qlen {
        let mut shifted = BigNum::new()?;
        shifted.rshift(&n, blen - qlen)?;
        n = shifted;
    }
    Ok(n)
}

fn int2octets(n: &BigNumRef, rlen: usize) -> Result<Vec<u8>, ErrorStack> {
    n.to_vec_padded(rlen as i32)
}

fn hmac(alg: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, ErrorStack> {
    let alg = if message_digest(alg).is_some() {
        alg
    } else {
        HashAlgorithm::SHA256
    };
    let mut mac = [0u8; 64];
    let n = hmac_into(alg, key, parts, &mut mac);
    Ok(mac.get(..n).unwrap_or_default().to_vec())
}

/// The RFC 6979 §3.2 nonce `k` for private key `x` and message hash `h1`.
fn rfc6979_k(
    order: &BigNumRef,
    x: &BigNumRef,
    h1: &[u8],
    alg: HashAlgorithm,
) -> Result<BigNum, ErrorStack> {
    let mut ctx = BigNumContext::new()?;
    let qlen = order.num_bits();
    let rlen = order.num_bytes() as usize;
    // "bits2octets(h1) = int2octets(bits2int(h1) mod q)"
    let mut z2 = BigNum::new()?;
    let h_int = bits2int(h1, qlen)?;
    z2.nnmod(&h_int, order, &mut ctx)?;
    let x_oct = int2octets(x, rlen)?;
    let h_oct = int2octets(&z2, rlen)?;
    let hlen = if alg == HashAlgorithm::SHA384 { 48 } else { 32 };
    let mut v = vec![0x01u8; hlen];
    let mut k = vec![0x00u8; hlen];
    // Steps d–g.
    k = hmac(alg, &k, &[&v, &[0x00], &x_oct, &h_oct])?;
    v = hmac(alg, &k, &[&v])?;
    k = hmac(alg, &k, &[&v, &[0x01], &x_oct, &h_oct])?;
    v = hmac(alg, &k, &[&v])?;
    // Step h: generate until 1 <= k < q.
    loop {
        let mut t = Vec::with_capacity(rlen + hlen);
        while (t.len() * 8) < qlen as usize {
            v = hmac(alg, &k, &[&v])?;
            t.extend_from_slice(&v);
        }
        let candidate = bits2int(&t, qlen)?;
        if candidate.num_bits() > 0 && candidate.ucmp(order) == std::cmp::Ordering::Less {
            return Ok(candidate);
        }
        k = hmac(alg, &k, &[&v, &[0x00]])?;
        v = hmac(alg, &k, &[&v])?;
    }
}

/// ECDSA with the RFC 6979 nonce: `r = (kG).x mod n`,
/// `s = k^-1 (e + r d) mod n`.
pub(crate) fn sign_deterministic(
    key: &EcKeyRef<Private>,
    digest: &[u8],
    alg: HashAlgorithm,
) -> Result<EcdsaSig, ErrorStack> {
    let group: &EcGroupRef = key.group();
    let mut ctx = BigNumContext::new()?;
    let mut order = BigNum::new()?;
    group.order(&mut order, &mut ctx)?;
    let d = key.private_key();
    let k = rfc6979_k(&order, d, digest, alg)?;
    let mut point = EcPoint::new(group)?;
    point.mul_generator2(group, &k, &mut ctx)?;
    let (mut px, mut py) = (BigNum::new()?, BigNum::new()?);
    point.affine_coordinates(group, &mut px, &mut py, &mut ctx)?;
    let mut r = BigNum::new()?;
    r.nnmod(&px, &order, &mut ctx)?;
    let e = bits2int(digest, order.num_bits())?;
    let mut rd = BigNum::new()?;
    rd.mod_mul(&r, d, &order, &mut ctx)?;
    let mut sum = BigNum::new()?;
    sum.mod_add(&e, &rd, &order, &mut ctx)?;
    let mut k_inv = BigNum::new()?;
    k_inv.mod_inverse(&k, &order, &mut ctx)?;
    let mut s = BigNum::new()?;
    s.mod_mul(&k_inv, &sum, &order, &mut ctx)?;
    EcdsaSig::from_private_components(r, s)
}

/// The signature as DER, `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER,
/// s INTEGER }` (RFC 3279 §2.2.3), the bytes OpenSSL's `i2d_ECDSA_SIG`
/// writes (DER has one encoding of a value), without its template-driven
/// ASN.1 encoder: ~0.65 µs a signature there, ~0.15 µs here (four
/// signatures a connected pair).
pub(super) fn signature_der(sig: &EcdsaSigRef) -> Vec<u8> {
    let (r, s) = (sig.r().to_vec(), sig.s().to_vec());
    // Each INTEGER's tag, length and perhaps a zero octet, and the
    // SEQUENCE's tag and length (short forms: at most 104 bytes on P-384).
    let mut out = Vec::with_capacity(r.len() + s.len() + 8);
    der_with(&mut out, SEQUENCE, |o| {
        der_unsigned(o, &r);
        der_unsigned(o, &s);
    });
    out
}

const HASHES: &[HashAlgorithm] = &[HashAlgorithm::SHA256, HashAlgorithm::SHA384];

struct EcSigningKey {
    key: Arc<EcKeyPair>,
}

impl std::fmt::Debug for EcSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcSigningKey")
            .field("group", &self.key.group())
            .finish()
    }
}

impl SigningKey for EcSigningKey {
    fn sign(
        &mut self,
        data: &[u8],
        hash_alg: HashAlgorithm,
        out: &mut Buf,
    ) -> Result<(), CryptoError> {
        if !HASHES.contains(&hash_alg) {
            return Err(CryptoError::OperationFailed(CryptoOperation::Sign));
        }
        let digest = Digest::of(hash_alg, data);
        let der = self.key.sign_digest(&digest, hash_alg)?;
        out.clear();
        out.extend_from_slice(&der);
        Ok(())
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ECDSA
    }

    fn hash_algorithm(&self) -> HashAlgorithm {
        natural_hash(self.key.group())
    }

    fn supported_hash_algorithms(&self) -> &[HashAlgorithm] {
        HASHES
    }
}

/// The curve named by a DER OID's contents, if eddy keeps its group.
fn curve_of_oid(oid: &[u8]) -> Option<&'static EcGroupRef> {
    match oid {
        OID_P256 => named_group(Nid::X9_62_PRIME256V1),
        OID_P384 => named_group(Nid::SECP384R1),
        _ => None,
    }
}

/// A SEC1 (RFC 5915) private key in the shape eddy's certificates hold it
/// — version 1, the scalar, `[0]` a named curve, `[1]` the public point —
/// on the process's group (see [`named_group`]). `None` for any other
/// shape, which OpenSSL's parser then reads: it builds the curve's group
/// anew for every key.
fn sec1_on_named_curve(bytes: &[u8]) -> Option<EcKey<Private>> {
    let (0x30, seq, b"") = der_next(bytes)? else {
        return None;
    };
    let (0x02, [1], rest) = der_next(seq)? else {
        return None;
    };
    let (0x04, scalar, rest) = der_next(rest)? else {
        return None;
    };
    let (0xa0, params, rest) = der_next(rest)? else {
        return None;
    };
    let (0xa1, public, b"") = der_next(rest)? else {
        return None;
    };
    let (0x06, oid, b"") = der_next(params)? else {
        return None;
    };
    let (0x03, [0, point @ ..], b"") = der_next(public)? else {
        return None;
    };
    let group = curve_of_oid(oid)?;
    let mut ctx = BigNumContext::new().ok()?;
    // Decoding checks that the point is on the curve.
    let point = EcPoint::from_bytes(group, point, &mut ctx).ok()?;
    let d = BigNum::from_slice(scalar).ok()?;
    EcKey::from_private_components(group, &d, &point).ok()
}

/// An EC SubjectPublicKeyInfo (RFC 5480) on P-256 or P-384: the curve's
/// OID and the encoded point; `None` for any other shape (see
/// [`sec1_on_named_curve`]).
fn spki_ec_point(spki: &[u8]) -> Option<(&[u8], &[u8])> {
    let (0x30, seq, b"") = der_next(spki)? else {
        return None;
    };
    let (0x30, alg, rest) = der_next(seq)? else {
        return None;
    };
    let (0x03, [0, point @ ..], b"") = der_next(rest)? else {
        return None;
    };
    let (0x06, OID_EC_PUBLIC_KEY, rest) = der_next(alg)? else {
        return None;
    };
    let (0x06, oid, b"") = der_next(rest)? else {
        return None;
    };
    Some((oid, point))
}

/// [`spki_ec_point`]'s key on the process's group.
fn spki_on_named_curve(spki: &[u8]) -> Option<EcKey<Public>> {
    let (oid, point) = spki_ec_point(spki)?;
    let group = curve_of_oid(oid)?;
    let mut ctx = BigNumContext::new().ok()?;
    let point = EcPoint::from_bytes(group, point, &mut ctx).ok()?;
    EcKey::from_public_key(group, &point).ok()
}

/// ring's verification for a curve (by its OID) and hash, where ring has
/// it: P-256 and P-384 with SHA-256 or SHA-384, uncompressed points
/// (what WebRTC's certificates carry).
fn ring_verification(
    oid: &[u8],
    point: &[u8],
    hash: HashAlgorithm,
) -> Option<(
    NamedGroup,
    &'static ring::signature::EcdsaVerificationAlgorithm,
)> {
    use ring::signature as rs;
    // SEC 1 §2.3.3: 0x04 starts the uncompressed form.
    if point.first() != Some(&0x04) {
        return None;
    }
    let sha384 = hash == HashAlgorithm::SHA384;
    if hash != HashAlgorithm::SHA256 && !sha384 {
        return None;
    }
    match oid {
        OID_P256 if sha384 => Some((NamedGroup::Secp256r1, &rs::ECDSA_P256_SHA384_ASN1)),
        OID_P256 => Some((NamedGroup::Secp256r1, &rs::ECDSA_P256_SHA256_ASN1)),
        OID_P384 if sha384 => Some((NamedGroup::Secp384r1, &rs::ECDSA_P384_SHA384_ASN1)),
        OID_P384 => Some((NamedGroup::Secp384r1, &rs::ECDSA_P384_SHA256_ASN1)),
        _ => None,
    }
}

/// Loads PKCS#8 or SEC1 DER, or PEM, EC private keys on P-256 or P-384.
pub(crate) fn load_ec_key(bytes: &[u8]) -> Result<EcKey<Private>, CryptoError> {
    if let Some(key) = sec1_on_named_curve(bytes) {
        return Ok(key);
    }
    // SEC1 first (OpenSSL's fast path: PKCS#8 goes through the decoder
    // framework, ~35× slower).
    let key = match EcKey::private_key_from_der(bytes) {
        Ok(key) => key,
        Err(_) => PKey::private_key_from_der(bytes)
            .or_else(|_| PKey::private_key_from_pem(bytes))
            .and_then(|pkey| pkey.ec_key())
            .map_err(|_| CryptoError::InvalidPrivateKey)?,
    };
    key_group(key.group()).ok_or(CryptoError::UnsupportedEcCurve)?;
    Ok(key)
}

/// A certificate's key as dimpl takes it already loaded
/// (`DtlsCertificate::loaded_key`): every connection signs with the same
/// key (a reference count, not a copy) instead of parsing its SEC1 bytes
/// again.
#[derive(Debug)]
pub(crate) struct LoadedEcKey(Arc<EcKeyPair>);

impl LoadedEcKey {
    pub(crate) fn new(key: &Arc<EcKeyPair>) -> Self {
        Self(Arc::clone(key))
    }
}

impl LoadedKey for LoadedEcKey {
    fn signing_key(&self) -> Box<dyn SigningKey> {
        Box::new(EcSigningKey {
            key: Arc::clone(&self.0),
        })
    }
}

#[derive(Debug)]
pub(super) struct Keys;

impl KeyProvider for Keys {
    fn load_private_key(&self, key_der: &[u8]) -> Result<Box<dyn SigningKey>, CryptoError> {
        let key = EcKeyPair::from_openssl(load_ec_key(key_der)?)?;
        Ok(Box::new(EcSigningKey { key: Arc::new(key) }))
    }
}

#[derive(Debug)]
pub(super) struct Verifier;

impl Verifier {
    /// The EC public key of a certificate's SubjectPublicKeyInfo. Only
    /// that is parsed: a whole X.509 parse costs OpenSSL ~165 µs, the key
    /// alone ~14 µs. The certificate as a whole is bound by the
    /// `a=fingerprint` check (RFC 8122 §5) over all its bytes; WebRTC gives
    /// its validity and names no meaning (RFC 8827 §6.5: self-signed).
    fn public_key(spki: &[u8]) -> Result<EcKey<Public>, CryptoError> {
        if let Some(key) = spki_on_named_curve(spki) {
            return Ok(key);
        }
        EcKey::public_key_from_der(spki).map_err(|_| CryptoError::UnsupportedPublicKeyAlgorithm)
    }
}

impl SignatureVerifier for Verifier {
    fn verify_signature(
        &self,
        cert_der: &[u8],
        data: &[u8],
        signature: &[u8],
        hash_alg: HashAlgorithm,
        sig_alg: SignatureAlgorithm,
    ) -> Result<(), CryptoError> {
        if sig_alg != SignatureAlgorithm::ECDSA {
            return Err(CryptoError::UnsupportedSignatureAlgorithm(sig_alg));
        }
        let spki = crate::dtls::certificate::subject_public_key_info(cert_der)
            .ok_or(CryptoError::CertificateParseFailed)?;
        // ring where it has the curve and hash (every WebRTC certificate):
        // its verification is ~50 µs where OpenSSL's, with the key and
        // signature built as OpenSSL objects (~20 allocations), is ~70 µs,
        // and a connection verifies one signature a side (issue 13).
        if let Some((oid, point)) = spki_ec_point(spki) {
            if let Some((group, alg)) = ring_verification(oid, point, hash_alg) {
                check_verify_scheme(sig_alg, hash_alg, group)?;
                // RFC 3279 §2.2.3: the signature is DER `ECDSA-Sig-Value`,
                // which ring's `*_ASN1` algorithms parse (strictly: one
                // encoding of a value, as DER has).
                return ring::signature::UnparsedPublicKey::new(alg, point)
                    .verify(data, signature)
                    .map_err(|_| CryptoError::OperationFailed(CryptoOperation::VerifySignature));
            }
        }
        let key = Self::public_key(spki)?;
        let group = key_group(key.group()).ok_or(CryptoError::UnsupportedEcCurve)?;
        check_verify_scheme(sig_alg, hash_alg, group)?;
        let digest = Digest::of(hash_alg, data);
        let sig = EcdsaSig::from_der(signature).map_err(|_| CryptoError::InvalidSignatureFormat)?;
        match sig.verify(&digest, &key) {
            Ok(true) => Ok(()),
            _ => Err(CryptoError::OperationFailed(
                CryptoOperation::VerifySignature,
            )),
        }
    }
}

pub(super) static KEYS: Keys = Keys;
pub(super) static VERIFIER: Verifier = Verifier;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srtp::tests::hex;
    use openssl::ec::EcGroup;

    /// RFC 6979 Appendix A.2.5: ECDSA, 256 bits (prime field), SHA-256,
    /// message "sample".
    #[test]
    fn rfc_6979_p256_sha256_sample() {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let x = BigNum::from_slice(&hex(
            "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721",
        ))
        .unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let mut public = EcPoint::new(&group).unwrap();
        public.mul_generator2(&group, &x, &mut ctx).unwrap();
        let key = EcKey::from_private_components(&group, &x, &public).unwrap();
        let mut order = BigNum::new().unwrap();
        group.order(&mut order, &mut ctx).unwrap();
        let h = Digest::of(HashAlgorithm::SHA256, b"sample");
        let k = rfc6979_k(&order, &x, &h, HashAlgorithm::SHA256).unwrap();
        assert_eq!(
            k.to_vec(),
            hex("A6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60")
        );
        let sig = sign_deterministic(&key, &h, HashAlgorithm::SHA256).unwrap();
        assert_eq!(
            sig.r().to_vec(),
            hex("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716")
        );
        assert_eq!(
            sig.s().to_vec(),
            hex("F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8")
        );
        assert!(sig.verify(&h, &key).unwrap());
    }

    /// The signature's DER is OpenSSL's, for values with and without a
    /// top bit set and with leading zero octets (which DER drops).
    #[test]
    fn signature_der_is_openssls() {
        let cases: [(&[u8], &[u8]); 6] = [
            (&[0x01], &[0x7f]),
            (&[0x80], &[0xff, 0x01]),
            (&[0x00, 0x00, 0x80, 0x01], &[0x00, 0x7f, 0xff]),
            (&[0xff; 32], &[0x01; 32]),
            (&[0x80; 48], &[0x00; 47]),
            (&[0x00; 1], &[0x7f; 48]),
        ];
        for (r, s) in cases {
            let sig = EcdsaSig::from_private_components(
                BigNum::from_slice(r).unwrap(),
                BigNum::from_slice(s).unwrap(),
            )
            .unwrap();
            assert_eq!(signature_der(&sig), sig.to_der().unwrap());
        }
        let group = named_group(Nid::X9_62_PRIME256V1).unwrap();
        let key = EcKey::generate(group).unwrap();
        for i in 0..64u8 {
            let digest = Digest::of(HashAlgorithm::SHA256, &[i]);
            let der = signature_der(&EcdsaSig::sign(&digest, &key).unwrap());
            let sig = EcdsaSig::from_der(&der).unwrap();
            assert_eq!(der, sig.to_der().unwrap());
            assert!(sig.verify(&digest, &key).unwrap());
        }
    }

    /// A handshake signature made with a certificate's key verifies
    /// against the certificate, on both curves with both hashes (ring's
    /// verification); a changed message, a changed signature and a
    /// signature of another key do not.
    #[test]
    fn signatures_verify_against_their_certificate_and_nothing_else() {
        use crate::dtls::certificate::{Certificate, KeyAlgorithm, DEFAULT_CERTIFICATE_LIFETIME};
        let now = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP384] {
            let cert = Certificate::generate(alg, now, DEFAULT_CERTIFICATE_LIFETIME).unwrap();
            let other = Certificate::generate(alg, now, DEFAULT_CERTIFICATE_LIFETIME).unwrap();
            let spki = crate::dtls::certificate::subject_public_key_info(cert.der()).unwrap();
            let (oid, point) = spki_ec_point(spki).unwrap();
            for hash in HASHES {
                assert!(
                    ring_verification(oid, point, *hash).is_some(),
                    "{alg:?} {hash:?}"
                );
                let data = b"client random, server random, ECDH parameters";
                let mut key = EcSigningKey {
                    key: Arc::clone(cert.key()),
                };
                let mut sig = Buf::new();
                key.sign(data, *hash, &mut sig).unwrap();
                let verify = |cert: &Certificate, data: &[u8], sig: &[u8]| {
                    VERIFIER.verify_signature(
                        cert.der(),
                        data,
                        sig,
                        *hash,
                        SignatureAlgorithm::ECDSA,
                    )
                };
                assert!(verify(&cert, data, &sig).is_ok(), "{alg:?} {hash:?}");
                assert!(verify(&cert, b"another message", &sig).is_err());
                assert!(verify(&other, data, &sig).is_err());
                let mut bad = sig.to_vec();
                let last = bad.len() - 1;
                bad[last] ^= 1;
                assert!(verify(&cert, data, &bad).is_err());
                // OpenSSL agrees with ring on the same inputs.
                let digest = Digest::of(*hash, data);
                let parsed = EcdsaSig::from_der(&sig).unwrap();
                let public = Verifier::public_key(spki).unwrap();
                assert!(parsed.verify(&digest, &public).unwrap());
            }
        }
    }
}
