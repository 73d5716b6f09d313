//! `Certificate` (W3C RTCCertificate): a self-signed ECDSA identity.

use std::time::{Duration, SystemTime};

use dimpl::crypto::HashAlgorithm;
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::EcKey;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use thiserror::Error;

use super::provider::{ec_private_key, ecdsa, scope, Digest};
use crate::fingerprint::Fingerprint;
use crate::rng::Rng;

/// The key of a certificate (W3C `AlgorithmIdentifier` for
/// `generateCertificate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyAlgorithm {
    /// ECDSA on P-256 (`{name: "ECDSA", namedCurve: "P-256"}`), the default
    /// in every browser.
    #[default]
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
    /// RSASSA-PKCS1-v1_5 with a 2048-bit modulus. Refused with
    /// [`CertificateError::NotSupported`]: eddy's DTLS (dimpl) does not do
    /// RSA.
    Rsa2048,
}

/// Why a certificate could not be made or loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// W3C NotSupportedError: the algorithm is not available.
    #[error("NotSupportedError: {0}")]
    NotSupported(&'static str),
    /// The PEM text holds no usable certificate or key, or they do not
    /// belong together.
    #[error("bad PEM: {0}")]
    Pem(&'static str),
    /// OpenSSL failed.
    #[error("OperationError: {0}")]
    Crypto(String),
}

impl From<openssl::error::ErrorStack> for CertificateError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        Self::Crypto(e.to_string())
    }
}

/// The fingerprint of DER bytes under an SDP hash name; `None` for a hash
/// eddy does not know.
pub(crate) fn fingerprint_of(algorithm: &str, der: &[u8]) -> Option<Fingerprint> {
    Some(Fingerprint {
        hash: algorithm.to_ascii_lowercase(),
        bytes: fingerprint_digest(algorithm, der)?,
    })
}

/// The digest of `der` under an SDP hash name (RFC 8122 §5: "sha-1",
/// "sha-224", "sha-256", "sha-384", "sha-512", case-insensitive).
pub(crate) fn fingerprint_digest(algorithm: &str, der: &[u8]) -> Option<Vec<u8>> {
    let md = match algorithm.to_ascii_lowercase().as_str() {
        "sha-1" => MessageDigest::sha1(),
        "sha-224" => MessageDigest::sha224(),
        "sha-256" => MessageDigest::sha256(),
        "sha-384" => MessageDigest::sha384(),
        "sha-512" => MessageDigest::sha512(),
        _ => return None,
    };
    openssl::hash::hash(md, der).ok().map(|d| d.to_vec())
}

/// A DTLS identity: a self-signed X.509 certificate and its private key
/// (W3C RTCCertificate). Keep one across restarts with
/// [`to_pem`](Self::to_pem) / [`from_pem`](Self::from_pem) so peers see the
/// same fingerprint.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    /// The EC private key as SEC1 DER (RFC 5915): OpenSSL parses it ~35×
    /// faster than PKCS#8, and the DTLS engine parses it for every
    /// connection.
    key_sec1: Vec<u8>,
    expires: SystemTime,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("fingerprint", &self.fingerprint())
            .field("expires", &self.expires)
            .finish()
    }
}

/// The W3C default lifetime of a generated certificate: 30 days.
pub const DEFAULT_CERTIFICATE_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

impl Certificate {
    /// Generates a certificate (W3C `generateCertificate`) valid from a day
    /// before `now` until `now + lifetime`. `now` is the wall clock: the
    /// core never reads it, so the caller passes it.
    pub fn generate(
        algorithm: KeyAlgorithm,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Self, CertificateError> {
        Self::build(algorithm, now, lifetime)
    }

    /// Generates a certificate whose key, serial, name and signature all
    /// come from `rng`: the same seed gives the same bytes. For tests and
    /// simulation only.
    pub(crate) fn generate_seeded(
        algorithm: KeyAlgorithm,
        now: SystemTime,
        lifetime: Duration,
        rng: &mut Rng,
    ) -> Result<Self, CertificateError> {
        let mut lent = Some(rng.fork());
        scope::with_rng(&mut lent, || Self::build(algorithm, now, lifetime))
    }

    fn build(
        algorithm: KeyAlgorithm,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Self, CertificateError> {
        let nid = match algorithm {
            KeyAlgorithm::EcdsaP256 => Nid::X9_62_PRIME256V1,
            KeyAlgorithm::EcdsaP384 => Nid::SECP384R1,
            KeyAlgorithm::Rsa2048 => {
                return Err(CertificateError::NotSupported(
                    "RSA certificates: eddy's DTLS supports ECDSA only",
                ))
            }
        };
        let ec = ec_private_key(nid)?;
        let pkey = PKey::from_ec_key(ec.clone())?;
        let mut random = [0u8; 16];
        scope::fill(&mut random)?;
        // A positive 64-bit serial (RFC 5280 §4.1.2.2: "positive integer").
        random[0] &= 0x7f;
        let serial_bn = BigNum::from_slice(&random[..8])?;
        let serial = Asn1Integer::from_bn(&serial_bn)?;
        let cn: String = random[8..].iter().map(|b| format!("{b:02x}")).collect();
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_nid(Nid::COMMONNAME, &format!("eddy-{cn}"))?;
        let name = name.build();
        let unix = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        };
        let not_before = unix(now) - 24 * 3600;
        let expires = now + lifetime;
        let mut b = X509Builder::new()?;
        b.set_version(2)?;
        b.set_serial_number(&serial)?;
        b.set_subject_name(&name)?;
        b.set_issuer_name(&name)?;
        let not_before = Asn1Time::from_unix(not_before.max(0))?;
        b.set_not_before(&not_before)?;
        let not_after = Asn1Time::from_unix(unix(expires))?;
        b.set_not_after(&not_after)?;
        b.set_pubkey(&pkey)?;
        let md = if nid == Nid::SECP384R1 {
            MessageDigest::sha384()
        } else {
            MessageDigest::sha256()
        };
        b.sign(&pkey, md)?;
        let mut der = b.build().to_der()?;
        if scope::is_deterministic() {
            // OpenSSL signs with a random nonce: sign the same TBS again
            // with the RFC 6979 nonce so the bytes follow the seed.
            let hash = if nid == Nid::SECP384R1 {
                HashAlgorithm::SHA384
            } else {
                HashAlgorithm::SHA256
            };
            der = resign(&der, |tbs| {
                let digest = Digest::of(hash, tbs);
                ecdsa::sign_deterministic(&ec, &digest, hash)?.to_der()
            })?;
        }
        Ok(Self {
            der,
            key_sec1: ec.private_key_to_der()?,
            expires,
        })
    }

    /// When the certificate stops being valid (W3C `expires`).
    pub fn expires(&self) -> SystemTime {
        self.expires
    }

    /// The certificate's fingerprints (W3C `getFingerprints()`): SHA-256, as
    /// browsers give.
    pub fn get_fingerprints(&self) -> Vec<Fingerprint> {
        vec![self.fingerprint()]
    }

    /// The SHA-256 fingerprint, as written in `a=fingerprint`.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint {
            hash: "sha-256".into(),
            bytes: Digest::of(HashAlgorithm::SHA256, &self.der),
        }
    }

    /// The fingerprint under another hash (`sha-1`, `sha-384`, `sha-512`...).
    pub fn fingerprint_with(&self, algorithm: &str) -> Option<Fingerprint> {
        fingerprint_of(algorithm, &self.der)
    }

    /// The certificate in DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The private key as SEC1 DER.
    pub(crate) fn key_der(&self) -> &[u8] {
        &self.key_sec1
    }

    /// The certificate and its PKCS#8 private key as PEM, to store and
    /// reload with [`from_pem`](Self::from_pem). Keep it secret.
    pub fn to_pem(&self) -> Result<String, CertificateError> {
        let cert = X509::from_der(&self.der)?.to_pem()?;
        let key = PKey::from_ec_key(EcKey::private_key_from_der(&self.key_sec1)?)?
            .private_key_to_pem_pkcs8()?;
        let mut s = String::from_utf8(cert).map_err(|_| CertificateError::Pem("not UTF-8"))?;
        s.push_str(&String::from_utf8(key).map_err(|_| CertificateError::Pem("not UTF-8"))?);
        Ok(s)
    }

    /// Loads what [`to_pem`](Self::to_pem) wrote: a certificate and the
    /// ECDSA private key that belongs to it.
    pub fn from_pem(pem: &str) -> Result<Self, CertificateError> {
        let cert =
            X509::from_pem(pem.as_bytes()).map_err(|_| CertificateError::Pem("no certificate"))?;
        let key = PKey::private_key_from_pem(pem.as_bytes())
            .map_err(|_| CertificateError::Pem("no private key"))?;
        ecdsa::load_ec_key(&key.private_key_to_der()?)
            .map_err(|_| CertificateError::NotSupported("only ECDSA P-256/P-384 keys"))?;
        if !cert.public_key()?.public_eq(&key) {
            return Err(CertificateError::Pem(
                "the key does not belong to the certificate",
            ));
        }
        let epoch = Asn1Time::from_unix(0)?;
        let diff = epoch.diff(cert.not_after())?;
        let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
        Ok(Self {
            der: cert.to_der()?,
            key_sec1: key.ec_key()?.private_key_to_der()?,
            expires: SystemTime::UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64),
        })
    }
}

/// Splits a DER TLV at `at`: (header length, content length).
/// The SubjectPublicKeyInfo of an X.509 certificate in DER (RFC 5280
/// §4.1: `Certificate ::= SEQUENCE { tbsCertificate, ... }`, and the TBS
/// is `SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
/// validity, subject, subjectPublicKeyInfo, ... }`), without parsing the
/// rest. None if the DER is not shaped so.
pub(crate) fn subject_public_key_info(cert: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const VERSION: u8 = 0xa0;
    let (outer, _) = der_tlv(cert, 0)?;
    if *cert.first()? != SEQUENCE || *cert.get(outer)? != SEQUENCE {
        return None;
    }
    let (tbs_header, _) = der_tlv(cert, outer)?;
    let mut at = outer.checked_add(tbs_header)?;
    let skip = |at: usize| der_tlv(cert, at).and_then(|(h, l)| at.checked_add(h)?.checked_add(l));
    if *cert.get(at)? == VERSION {
        at = skip(at)?;
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        at = skip(at)?;
    }
    if *cert.get(at)? != SEQUENCE {
        return None;
    }
    cert.get(at..skip(at)?)
}

fn der_tlv(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let first = *bytes.get(at + 1)?;
    if first < 0x80 {
        return Some((2, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 3 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = len << 8 | usize::from(*bytes.get(at + 2 + i)?);
    }
    Some((2 + n, len))
}

fn der_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
}

/// Replaces the signature of a DER certificate (RFC 5280 §4.1:
/// `SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT
/// STRING }`) with `sign(tbsCertificate)`.
fn resign(
    cert: &[u8],
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack>,
) -> Result<Vec<u8>, CertificateError> {
    let bad = || CertificateError::Crypto("malformed certificate DER".into());
    let (outer_hdr, _) = der_tlv(cert, 0).ok_or_else(bad)?;
    let tbs_at = outer_hdr;
    let (h, l) = der_tlv(cert, tbs_at).ok_or_else(bad)?;
    let alg_at = tbs_at + h + l;
    let (h2, l2) = der_tlv(cert, alg_at).ok_or_else(bad)?;
    let end = alg_at + h2 + l2;
    let tbs = cert.get(tbs_at..alg_at).ok_or_else(bad)?;
    let alg = cert.get(alg_at..end).ok_or_else(bad)?;
    let sig = sign(tbs)?;
    let mut bits = vec![0x03];
    der_len(&mut bits, sig.len() + 1);
    bits.push(0x00);
    bits.extend_from_slice(&sig);
    let mut out = vec![0x30];
    der_len(&mut out, tbs.len() + alg.len() + bits.len());
    out.extend_from_slice(tbs);
    out.extend_from_slice(alg);
    out.extend_from_slice(&bits);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    #[test]
    fn the_public_key_info_is_found_without_parsing_the_certificate() {
        for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP384] {
            let c = Certificate::generate(alg, now(), DEFAULT_CERTIFICATE_LIFETIME).unwrap();
            let spki = subject_public_key_info(c.der()).expect("SPKI");
            let x = X509::from_der(c.der()).unwrap();
            assert_eq!(
                spki,
                &x.public_key().unwrap().public_key_to_der().unwrap()[..]
            );
        }
        // Truncated or mangled DER: None, never a panic.
        let c = Certificate::generate(KeyAlgorithm::EcdsaP256, now(), DEFAULT_CERTIFICATE_LIFETIME)
            .unwrap();
        for n in 0..c.der().len() {
            let _ = subject_public_key_info(&c.der()[..n]);
        }
        assert_eq!(subject_public_key_info(&[0x30, 0x82, 0xff, 0xff]), None);
        assert_eq!(subject_public_key_info(b""), None);
    }

    #[test]
    fn generated_certificates_verify_and_have_fingerprints() {
        for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP384] {
            let c = Certificate::generate(alg, now(), DEFAULT_CERTIFICATE_LIFETIME).unwrap();
            let x = X509::from_der(c.der()).unwrap();
            assert!(x.verify(&x.public_key().unwrap()).unwrap());
            let fp = c.fingerprint();
            assert_eq!(fp.hash, "sha-256");
            assert_eq!(fp.bytes.len(), 32);
            assert_eq!(c.get_fingerprints(), vec![fp]);
            assert_eq!(c.fingerprint_with("SHA-512").unwrap().bytes.len(), 64);
            assert!(c.fingerprint_with("md5").is_none());
            assert_eq!(c.expires(), now() + DEFAULT_CERTIFICATE_LIFETIME);
        }
    }

    #[test]
    fn rsa_is_refused_clearly() {
        assert!(matches!(
            Certificate::generate(KeyAlgorithm::Rsa2048, now(), DEFAULT_CERTIFICATE_LIFETIME),
            Err(CertificateError::NotSupported(_))
        ));
    }

    #[test]
    fn pem_round_trip_keeps_the_identity() {
        let c = Certificate::generate(KeyAlgorithm::EcdsaP256, now(), DEFAULT_CERTIFICATE_LIFETIME)
            .unwrap();
        let pem = c.to_pem().unwrap();
        assert!(pem.contains("BEGIN CERTIFICATE") && pem.contains("BEGIN PRIVATE KEY"));
        let back = Certificate::from_pem(&pem).unwrap();
        assert_eq!(back.fingerprint(), c.fingerprint());
        assert_eq!(back.expires(), c.expires());
        // Another certificate's key does not fit.
        let other =
            Certificate::generate(KeyAlgorithm::EcdsaP256, now(), DEFAULT_CERTIFICATE_LIFETIME)
                .unwrap();
        let other_pem = other.to_pem().unwrap();
        let cert_part = &pem[..pem.find("-----BEGIN PRIVATE KEY").unwrap()];
        let key_part = &other_pem[other_pem.find("-----BEGIN PRIVATE KEY").unwrap()..];
        assert!(matches!(
            Certificate::from_pem(&format!("{cert_part}{key_part}")),
            Err(CertificateError::Pem(_))
        ));
        assert!(Certificate::from_pem("garbage").is_err());
    }

    #[test]
    fn seeded_certificates_are_reproducible_and_valid() {
        let a = Certificate::generate_seeded(
            KeyAlgorithm::EcdsaP256,
            now(),
            DEFAULT_CERTIFICATE_LIFETIME,
            &mut Rng::from_seed(5),
        )
        .unwrap();
        let b = Certificate::generate_seeded(
            KeyAlgorithm::EcdsaP256,
            now(),
            DEFAULT_CERTIFICATE_LIFETIME,
            &mut Rng::from_seed(5),
        )
        .unwrap();
        let c = Certificate::generate_seeded(
            KeyAlgorithm::EcdsaP256,
            now(),
            DEFAULT_CERTIFICATE_LIFETIME,
            &mut Rng::from_seed(6),
        )
        .unwrap();
        assert_eq!(a.der(), b.der());
        assert_ne!(a.der(), c.der());
        let x = X509::from_der(a.der()).unwrap();
        assert!(x.verify(&x.public_key().unwrap()).unwrap());
    }
}
