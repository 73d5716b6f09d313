//! `Certificate` (W3C RTCCertificate): a self-signed ECDSA identity.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dimpl::crypto::{HashAlgorithm, NamedGroup};
use openssl::asn1::Asn1Time;
use openssl::ec::EcKey;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::x509::X509;
use thiserror::Error;

use super::provider::keypair::EcKeyPair;
use super::provider::{scope, Digest};
use crate::fingerprint::Fingerprint;
use crate::hmac::{Alg, Context, MAX_DIGEST};
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

/// A provider error as a certificate error.
fn crypto_error(e: dimpl::CryptoError) -> CertificateError {
    CertificateError::Crypto(e.to_string())
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
    let mut digest = [0u8; MAX_DIGEST];
    let n = fingerprint_digest_to(algorithm, der, &mut digest)?;
    Some(digest.get(..n)?.to_vec())
}

/// [`fingerprint_digest`] written to `out`; its length, or `None` for a
/// hash eddy does not know. All but SHA-224 run on the low-level contexts
/// of [`crate::hmac`], which have no provider lookup to pay.
pub(crate) fn fingerprint_digest_to(
    algorithm: &str,
    der: &[u8],
    out: &mut [u8; MAX_DIGEST],
) -> Option<usize> {
    let is = |name: &str| algorithm.eq_ignore_ascii_case(name);
    let alg = if is("sha-1") {
        Alg::Sha1
    } else if is("sha-256") {
        Alg::Sha256
    } else if is("sha-384") {
        Alg::Sha384
    } else if is("sha-512") {
        Alg::Sha512
    } else if is("sha-224") {
        let digest = openssl::hash::hash(MessageDigest::sha224(), der).ok()?;
        out.get_mut(..digest.len())?.copy_from_slice(&digest);
        return Some(digest.len());
    } else {
        return None;
    };
    let mut context = Context::new(alg);
    context.update(der);
    Some(context.finish_to(out))
}

/// A DTLS identity: a self-signed X.509 certificate and its private key
/// (W3C RTCCertificate). Keep one across restarts with
/// [`to_pem`](Self::to_pem) / [`from_pem`](Self::from_pem) so peers see the
/// same fingerprint.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    /// The private key, handed to each connection's DTLS engine (a
    /// reference count: clones share it).
    key: Arc<EcKeyPair>,
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

    /// Builds the certificate's DER directly (see [`tbs_certificate`]) and
    /// signs its digest with [`EcKeyPair::sign_digest`]: OpenSSL's
    /// `X509_sign` hands the key to its provider layer first (a copy of the
    /// key and of its curve's group, a digest fetch), which cost more than
    /// the signature itself. The bytes are those OpenSSL's `X509Builder`
    /// gave (a test holds them side by side).
    fn build(
        algorithm: KeyAlgorithm,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Self, CertificateError> {
        let (group, hash) = match algorithm {
            KeyAlgorithm::EcdsaP256 => (NamedGroup::Secp256r1, HashAlgorithm::SHA256),
            KeyAlgorithm::EcdsaP384 => (NamedGroup::Secp384r1, HashAlgorithm::SHA384),
            KeyAlgorithm::Rsa2048 => {
                return Err(CertificateError::NotSupported(
                    "RSA certificates: eddy's DTLS supports ECDSA only",
                ))
            }
        };
        let key = EcKeyPair::generate(group).map_err(crypto_error)?;
        let mut random = [0u8; 16];
        scope::fill(&mut random)?;
        // A positive 64-bit serial (RFC 5280 §4.1.2.2: "positive integer").
        random[0] &= 0x7f;
        let mut common_name = String::with_capacity(21);
        common_name.push_str("eddy-");
        for b in &random[8..] {
            for nibble in [b >> 4, b & 0xf] {
                common_name.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
            }
        }
        let unix = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        };
        let not_before = (unix(now) - 24 * 3600).max(0);
        let expires = now + lifetime;
        let time_error = || CertificateError::Crypto("time out of range for X.509".into());
        let fields = TbsFields {
            serial: &random[..8],
            common_name: &common_name,
            not_before: der_time(not_before).ok_or_else(time_error)?,
            not_after: der_time(unix(expires)).ok_or_else(time_error)?,
        };
        let tbs = tbs_certificate(&fields, &EcKeyDer::of(&key), hash);
        let sig = key
            .sign_digest(&Digest::of(hash, &tbs), hash)
            .map_err(crypto_error)?;
        Ok(Self {
            der: certificate_der(&tbs, hash, &sig),
            key: Arc::new(key),
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
            bytes: Digest::of(HashAlgorithm::SHA256, &self.der).to_vec(),
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
    #[cfg(test)]
    pub(crate) fn key_der(&self) -> Vec<u8> {
        self.key.sec1().expect("an EC key encodes")
    }

    /// The private key.
    pub(crate) fn key(&self) -> &Arc<EcKeyPair> {
        &self.key
    }

    /// The certificate and its PKCS#8 private key as PEM, to store and
    /// reload with [`from_pem`](Self::from_pem). Keep it secret.
    pub fn to_pem(&self) -> Result<String, CertificateError> {
        let cert = X509::from_der(&self.der)?.to_pem()?;
        let sec1 = self.key.sec1().map_err(crypto_error)?;
        let key =
            PKey::from_ec_key(EcKey::private_key_from_der(&sec1)?)?.private_key_to_pem_pkcs8()?;
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
        let not_supported = |_| CertificateError::NotSupported("only ECDSA P-256/P-384 keys");
        let pair = EcKeyPair::from_openssl(key.ec_key()?).map_err(not_supported)?;
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
            key: Arc::new(pair),
            expires: SystemTime::UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64),
        })
    }
}

/// The SubjectPublicKeyInfo of an X.509 certificate in DER (RFC 5280
/// §4.1: `Certificate ::= SEQUENCE { tbsCertificate, ... }`, and the TBS
/// is `SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
/// validity, subject, subjectPublicKeyInfo, ... }`), without parsing the
/// rest. None if the DER is not shaped so.
pub(crate) fn subject_public_key_info(cert: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const VERSION: u8 = 0xa0;
    let (SEQUENCE, certificate, _) = der_next(cert)? else {
        return None;
    };
    let (SEQUENCE, mut tbs, _) = der_next(certificate)? else {
        return None;
    };
    if tbs.first() == Some(&VERSION) {
        tbs = der_next(tbs)?.2;
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        tbs = der_next(tbs)?.2;
    }
    let (SEQUENCE, _, after) = der_next(tbs)? else {
        return None;
    };
    tbs.get(..tbs.len() - after.len())
}

/// One DER TLV (short or long form length up to 3 bytes): tag, contents
/// and what follows.
pub(crate) fn der_next(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 || rest.len() < n {
            return None;
        }
        let (len, rest) = rest.split_at(n);
        (len.iter().fold(0, |l, b| l << 8 | usize::from(*b)), rest)
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
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

/// `tag`, the DER length of `contents`, and `contents`.
fn der(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
    out.push(tag);
    der_len(out, contents.len());
    out.extend_from_slice(contents);
}

/// `tag` around what `f` writes, in place: a one-byte length goes first
/// and, when the contents turn out longer than 127 bytes, the long form's
/// further bytes are moved in after it (no buffer of their own).
pub(crate) fn der_with(out: &mut Vec<u8>, tag: u8, f: impl FnOnce(&mut Vec<u8>)) {
    out.push(tag);
    let at = out.len();
    out.push(0);
    f(out);
    let len = out.len() - at - 1;
    // X.690 §8.1.3: the short form up to 127, else 0x80 | the count of
    // length bytes, then those bytes (a certificate stays under 64 KiB).
    let (first, more): (u8, &[u8]) = if len < 0x80 {
        (len as u8, &[])
    } else if len < 0x100 {
        (0x81, &[len as u8])
    } else {
        (0x82, &[(len >> 8) as u8, len as u8])
    };
    if let Some(b) = out.get_mut(at) {
        *b = first;
    }
    if !more.is_empty() {
        out.splice(at + 1..at + 1, more.iter().copied());
    }
}

pub(crate) const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
const UTF8_STRING: u8 = 0x0c;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
/// 1.2.840.10045.2.1 (id-ecPublicKey).
pub(crate) const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// 1.2.840.10045.3.1.7 (prime256v1).
pub(crate) const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// 1.3.132.0.34 (secp384r1).
pub(crate) const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
/// 1.2.840.10045.4.3.2 (ecdsa-with-SHA256), 1.2.840.10045.4.3.3 (SHA384).
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
/// 2.5.4.3 (commonName).
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// A non-negative big-endian integer as a DER INTEGER (X.690 §8.3: the
/// fewest octets, a zero octet first when the top bit is set).
pub(crate) fn der_unsigned(out: &mut Vec<u8>, bytes: &[u8]) {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let digits = bytes.get(first..).unwrap_or_default();
    let pad = digits.first().is_none_or(|b| *b >= 0x80);
    out.push(INTEGER);
    der_len(out, digits.len() + usize::from(pad));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(digits);
}

/// The AlgorithmIdentifier of ECDSA with `hash` (RFC 5758 §3.2: no
/// parameters).
fn signature_algorithm(out: &mut Vec<u8>, hash: HashAlgorithm) {
    der_with(out, SEQUENCE, |o| {
        let oid = if hash == HashAlgorithm::SHA384 {
            OID_ECDSA_SHA384
        } else {
            OID_ECDSA_SHA256
        };
        der(o, OID, oid);
    });
}

/// A DER UTCTime or GeneralizedTime, tag and length included (see
/// [`der_time`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DerTime {
    bytes: [u8; 17],
    len: u8,
}

impl DerTime {
    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// A time as X.509 writes it (RFC 5280 §4.1.2.5, and OpenSSL's
/// `ASN1_TIME_set`): UTCTime `YYMMDDHHMMSSZ` for 1950 to 2049,
/// GeneralizedTime `YYYYMMDDHHMMSSZ` otherwise; `None` past year 9999.
fn der_time(unix: i64) -> Option<DerTime> {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Days to a civil date (H. Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let mut time = DerTime {
        bytes: [0; 17],
        len: 2,
    };
    let mut put = |value: i64, digits: u32| {
        for i in (0..digits).rev() {
            let digit = (value / 10i64.pow(i) % 10) as u8;
            if let Some(b) = time.bytes.get_mut(usize::from(time.len)) {
                *b = b'0' + digit;
            }
            time.len += 1;
        }
    };
    let utc = (1950..2050).contains(&year);
    if utc {
        put(year % 100, 2);
    } else {
        put(year, 4);
    }
    for part in [month, day, secs / 3600, secs / 60 % 60, secs % 60] {
        put(part, 2);
    }
    if let Some(b) = time.bytes.get_mut(usize::from(time.len)) {
        *b = b'Z';
    }
    time.len += 1;
    time.bytes[0] = if utc { UTC_TIME } else { GENERALIZED_TIME };
    time.bytes[1] = time.len - 2;
    Some(time)
}

/// An EC public key's parts as DER needs them.
struct EcKeyDer<'a> {
    /// The named curve's OID contents.
    curve: &'static [u8],
    /// The public point, uncompressed (RFC 5480 §2.2).
    point: &'a [u8],
}

impl<'a> EcKeyDer<'a> {
    fn of(key: &'a EcKeyPair) -> Self {
        Self {
            curve: if key.group() == NamedGroup::Secp384r1 {
                OID_P384
            } else {
                OID_P256
            },
            point: key.public_point(),
        }
    }

    /// The public key's SubjectPublicKeyInfo (RFC 5480 §2).
    fn spki(&self, out: &mut Vec<u8>) {
        der_with(out, SEQUENCE, |o| {
            der_with(o, SEQUENCE, |a| {
                der(a, OID, OID_EC_PUBLIC_KEY);
                der(a, OID, self.curve);
            });
            bit_string(o, self.point);
        });
    }
}

/// What differs between eddy's certificates.
struct TbsFields<'a> {
    /// The serial's bytes, big-endian, top bit clear.
    serial: &'a [u8],
    /// The subject's and issuer's commonName.
    common_name: &'a str,
    /// DER times (see [`der_time`]).
    not_before: DerTime,
    not_after: DerTime,
}

/// A self-signed v3 TBSCertificate without extensions (RFC 5280 §4.1),
/// the fields in the encoding OpenSSL's `X509Builder` gave them: a
/// `[0]` version 2, the serial, ECDSA with `hash`, the same one-CN name
/// (UTF8String) as issuer and subject, the validity, the key.
fn tbs_certificate(fields: &TbsFields<'_>, key: &EcKeyDer<'_>, hash: HashAlgorithm) -> Vec<u8> {
    let name = |out: &mut Vec<u8>| {
        der_with(out, SEQUENCE, |n| {
            der_with(n, SET, |s| {
                der_with(s, SEQUENCE, |a| {
                    der(a, OID, OID_COMMON_NAME);
                    der(a, UTF8_STRING, fields.common_name.as_bytes());
                });
            });
        });
    };
    let mut out = Vec::with_capacity(320);
    der_with(&mut out, SEQUENCE, |t| {
        der_with(t, 0xa0, |v| der(v, INTEGER, &[2]));
        der_unsigned(t, fields.serial);
        signature_algorithm(t, hash);
        name(t);
        der_with(t, SEQUENCE, |v| {
            v.extend_from_slice(fields.not_before.as_bytes());
            v.extend_from_slice(fields.not_after.as_bytes());
        });
        name(t);
        key.spki(t);
    });
    out
}

/// A BIT STRING of whole bytes (no unused bits).
fn bit_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(BIT_STRING);
    der_len(out, bytes.len() + 1);
    out.push(0);
    out.extend_from_slice(bytes);
}

/// A certificate (RFC 5280 §4.1: `SEQUENCE { tbsCertificate,
/// signatureAlgorithm, signatureValue BIT STRING }`) from its parts.
fn certificate_der(tbs: &[u8], hash: HashAlgorithm, signature: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tbs.len() + signature.len() + 32);
    der_with(&mut out, SEQUENCE, |c| {
        c.extend_from_slice(tbs);
        signature_algorithm(c, hash);
        bit_string(c, signature);
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtls::provider::ec_private_key;
    use openssl::asn1::Asn1Integer;
    use openssl::bn::BigNum;
    use openssl::nid::Nid;
    use openssl::pkey::Private;
    use openssl::x509::{X509Builder, X509NameBuilder};

    /// The TBSCertificate OpenSSL's `X509Builder` makes of the same fields
    /// (how eddy built certificates before writing the DER itself).
    fn openssl_tbs(
        ec: &EcKey<Private>,
        serial: &[u8],
        cn: &str,
        not_before: i64,
        not_after: i64,
    ) -> Vec<u8> {
        let pkey = PKey::from_ec_key(ec.clone()).unwrap();
        let serial = Asn1Integer::from_bn(&BigNum::from_slice(serial).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
        let name = name.build();
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&serial).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_not_before(&Asn1Time::from_unix(not_before).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::from_unix(not_after).unwrap())
            .unwrap();
        b.set_pubkey(&pkey).unwrap();
        let md = if ec.group().curve_name() == Some(Nid::SECP384R1) {
            MessageDigest::sha384()
        } else {
            MessageDigest::sha256()
        };
        b.sign(&pkey, md).unwrap();
        let der = b.build().to_der().unwrap();
        let (_, certificate, _) = der_next(&der).unwrap();
        let (_, _, after) = der_next(certificate).unwrap();
        certificate[..certificate.len() - after.len()].to_vec()
    }

    #[test]
    fn the_der_written_is_what_openssl_wrote() {
        let times = [
            0,
            951_782_400,   // 2000-02-29
            1_800_000_000, // 2027
            2_524_607_999, // 2049-12-31T23:59:59
            2_524_608_000, // 2050: GeneralizedTime
            4_107_542_400, // 2100-03-01
            253_402_300_799,
        ];
        let serials: [&[u8]; 5] = [
            &[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0],
            &[0x00, 0x00, 0x80, 0, 0, 0, 0, 1],
            &[0x00, 0x7f, 0xff, 0, 0, 0, 0, 1],
            &[0; 8],
            &[0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ];
        for (nid, hash) in [
            (Nid::X9_62_PRIME256V1, HashAlgorithm::SHA256),
            (Nid::SECP384R1, HashAlgorithm::SHA384),
        ] {
            let ec = ec_private_key(nid).unwrap();
            let pair = EcKeyPair::from_openssl(ec.clone()).unwrap();
            assert_eq!(pair.sec1().unwrap(), ec.private_key_to_der().unwrap());
            let key = EcKeyDer::of(&pair);
            for (i, serial) in serials.iter().enumerate() {
                for pair in times.windows(2) {
                    let cn = format!("eddy-{i:032x}");
                    let fields = TbsFields {
                        serial,
                        common_name: &cn,
                        not_before: der_time(pair[0]).unwrap(),
                        not_after: der_time(pair[1]).unwrap(),
                    };
                    assert_eq!(
                        tbs_certificate(&fields, &key, hash),
                        openssl_tbs(&ec, serial, &cn, pair[0], pair[1]),
                        "{nid:?} serial {serial:02x?} times {pair:?}"
                    );
                }
            }
        }
        assert_eq!(der_time(253_402_300_800), None);
    }

    #[test]
    fn a_generated_certificate_parses_as_openssl_would_build_it() {
        for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP384] {
            let c = Certificate::generate(alg, now(), DEFAULT_CERTIFICATE_LIFETIME).unwrap();
            let x = X509::from_der(c.der()).unwrap();
            assert_eq!(x.to_der().unwrap(), c.der());
            assert!(x.verify(&x.public_key().unwrap()).unwrap());
            let key = EcKey::private_key_from_der(&c.key_der()).unwrap();
            assert!(x
                .public_key()
                .unwrap()
                .public_eq(&PKey::from_ec_key(key).unwrap()));
            let unix = |t: &openssl::asn1::Asn1TimeRef| {
                let d = Asn1Time::from_unix(0).unwrap().diff(t).unwrap();
                i64::from(d.days) * 86_400 + i64::from(d.secs)
            };
            assert_eq!(unix(x.not_before()), 1_800_000_000 - 86_400);
            assert_eq!(
                unix(x.not_after()),
                1_800_000_000 + DEFAULT_CERTIFICATE_LIFETIME.as_secs() as i64
            );
        }
    }

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
