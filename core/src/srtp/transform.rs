//! The per-session cipher transforms: AES-CM with HMAC-SHA1 (RFC 3711
//! §4.1.1, §4.2.1) on an OpenSSL context, and AES-GCM (RFC 7714) on a ring
//! key (the DTLS records' AEAD, `dtls/provider/aead.rs`, which says why),
//! each built once and reused for every packet.

use openssl::cipher::Cipher;
use openssl::cipher_ctx::CipherCtx;
use ring::aead::{self, LessSafeKey, UnboundKey};
use smallvec::SmallVec;

use super::kdf::{derive, Label};
use super::{SrtpError, SrtpProfile};
use crate::hmac::{Alg, Hmac};

/// Session keys and contexts for one of SRTP or SRTCP in one direction.
pub(crate) enum Transform {
    /// AES_CM_128 with HMAC_SHA1.
    Cm {
        ctr: CipherCtx,
        hmac: Box<Hmac>,
        salt: [u8; 14],
    },
    /// AEAD_AES_128_GCM or AEAD_AES_256_GCM: one key seals and opens.
    Gcm {
        key: Box<LessSafeKey>,
        salt: [u8; 12],
    },
}

impl std::fmt::Debug for Transform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cm { .. } => f.write_str("Transform::Cm"),
            Self::Gcm { .. } => f.write_str("Transform::Gcm"),
        }
    }
}

/// Which of the two protocols a transform protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Rtp,
    Rtcp,
}

impl Transform {
    /// Derives session keys for `kind` and builds the contexts.
    pub(crate) fn new(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
        kind: Kind,
    ) -> Result<Self, SrtpError> {
        if master_key.len() != profile.master_key_len() {
            return Err(SrtpError::KeyLength(master_key.len()));
        }
        if master_salt.len() != profile.master_salt_len() {
            return Err(SrtpError::SaltLength(master_salt.len()));
        }
        let (enc_label, auth_label, salt_label) = match kind {
            Kind::Rtp => (Label::RtpEncryption, Label::RtpAuth, Label::RtpSalt),
            Kind::Rtcp => (Label::RtcpEncryption, Label::RtcpAuth, Label::RtcpSalt),
        };
        let mut key = [0u8; 32];
        let key = &mut key[..profile.master_key_len()];
        derive(master_key, master_salt, enc_label, key)?;
        match profile {
            SrtpProfile::Aes128CmSha1_80 | SrtpProfile::Aes128CmSha1_32 => {
                let mut auth = [0u8; 20];
                derive(master_key, master_salt, auth_label, &mut auth)?;
                let mut salt = [0u8; 14];
                derive(master_key, master_salt, salt_label, &mut salt)?;
                Self::cm(key, &auth, salt)
            }
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => {
                let mut salt = [0u8; 12];
                derive(master_key, master_salt, salt_label, &mut salt)?;
                Self::gcm(key, salt)
            }
        }
    }

    /// An AES-CM transform from session keys.
    pub(crate) fn cm(key: &[u8], auth_key: &[u8], salt: [u8; 14]) -> Result<Self, SrtpError> {
        let mut ctr = CipherCtx::new()?;
        ctr.encrypt_init(Some(Cipher::aes_128_ctr()), Some(key), None)?;
        Ok(Self::Cm {
            ctr,
            hmac: Box::new(Hmac::new(Alg::Sha1, auth_key)),
            salt,
        })
    }

    /// An AES-GCM transform from session keys.
    pub(crate) fn gcm(key: &[u8], salt: [u8; 12]) -> Result<Self, SrtpError> {
        let algorithm = match key.len() {
            16 => &aead::AES_128_GCM,
            32 => &aead::AES_256_GCM,
            n => return Err(SrtpError::KeyLength(n)),
        };
        let key = UnboundKey::new(algorithm, key).map_err(|_| SrtpError::KeyLength(key.len()))?;
        Ok(Self::Gcm {
            key: Box::new(LessSafeKey::new(key)),
            salt,
        })
    }

    /// AES-CM keystream applied in place (RFC 3711 §4.1.1):
    /// "IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16)".
    pub(crate) fn cm_crypt(
        ctr: &mut CipherCtx,
        salt: &[u8; 14],
        ssrc: u32,
        index: u64,
        data: &mut [u8],
    ) -> Result<(), SrtpError> {
        let mut iv = [0u8; 16];
        iv[..14].copy_from_slice(salt);
        for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
            *b ^= s;
        }
        for (b, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
            *b ^= s;
        }
        ctr.encrypt_init(None, None, Some(&iv))?;
        let len = data.len();
        ctr.cipher_update_inplace(data, len)?;
        Ok(())
    }

    /// The AES-GCM IV for SRTP (RFC 7714 §8.1): "00 00 || SSRC || ROC ||
    /// SEQ" XOR the salt.
    pub(crate) fn gcm_rtp_iv(salt: &[u8; 12], ssrc: u32, roc: u32, seq: u16) -> [u8; 12] {
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[6..10].copy_from_slice(&roc.to_be_bytes());
        iv[10..12].copy_from_slice(&seq.to_be_bytes());
        for (b, s) in iv.iter_mut().zip(salt) {
            *b ^= s;
        }
        iv
    }

    /// The AES-GCM IV for SRTCP (RFC 7714 §9.1): "00 00 || SSRC || 00 00 ||
    /// 0 || SRTCP index" XOR the salt.
    pub(crate) fn gcm_rtcp_iv(salt: &[u8; 12], ssrc: u32, index: u32) -> [u8; 12] {
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[8..12].copy_from_slice(&(index & 0x7fff_ffff).to_be_bytes());
        for (b, s) in iv.iter_mut().zip(salt) {
            *b ^= s;
        }
        iv
    }

    /// AES-GCM encryption in place; writes the 16-byte tag.
    pub(crate) fn gcm_seal(
        key: &LessSafeKey,
        iv: &[u8; 12],
        aad: &[&[u8]],
        data: &mut [u8],
        tag: &mut [u8; 16],
    ) -> Result<(), SrtpError> {
        let mut joined = SmallVec::new();
        let sealed = key
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(*iv),
                aead::Aad::from(join(aad, &mut joined)),
                data,
            )
            .map_err(|_| SrtpError::Crypto("AES-GCM seal failed".into()))?;
        tag.copy_from_slice(sealed.as_ref());
        Ok(())
    }

    /// AES-GCM decryption in place; fails if the tag does not verify (the
    /// data is then garbage and must be dropped).
    pub(crate) fn gcm_open(
        key: &LessSafeKey,
        iv: &[u8; 12],
        aad: &[&[u8]],
        data: &mut [u8],
        tag: &[u8],
    ) -> Result<(), SrtpError> {
        let tag: [u8; 16] = tag.try_into().map_err(|_| SrtpError::AuthFailed)?;
        let mut joined = SmallVec::new();
        key.open_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(*iv),
            aead::Aad::from(join(aad, &mut joined)),
            aead::Tag::from(tag),
            data,
            0..,
        )
        .map_err(|_| SrtpError::AuthFailed)?;
        Ok(())
    }
}

/// The additional data as one slice: the only part where there is one
/// (RTP's header), else the parts joined in `room` (SRTCP's header and
/// trailer; with the whole packet, for an unencrypted SRTCP packet).
fn join<'a>(parts: &[&'a [u8]], room: &'a mut SmallVec<[u8; 64]>) -> &'a [u8] {
    if let [one] = parts {
        return one;
    }
    for part in parts {
        room.extend_from_slice(part);
    }
    room
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srtp::tests::hex;

    /// RFC 3711 Appendix B.2: the AES-CM keystream.
    #[test]
    fn rfc_3711_b2_keystream() {
        let key = hex("2B7E151628AED2A6ABF7158809CF4F3C");
        let mut salt = [0u8; 14];
        salt.copy_from_slice(&hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"));
        let Transform::Cm { mut ctr, .. } = Transform::cm(&key, &[0; 20], salt).unwrap() else {
            unreachable!()
        };
        let mut data = [0u8; 48];
        Transform::cm_crypt(&mut ctr, &salt, 0, 0, &mut data).unwrap();
        assert_eq!(
            data.to_vec(),
            hex(
                "E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB\
                 41E95B3BB0A2E8DD477901E4FCA894C0"
            )
        );
    }

    /// RFC 2202 test case 2 for HMAC-SHA1.
    #[test]
    fn hmac_sha1_matches_rfc_2202() {
        let mac = Hmac::new(Alg::Sha1, b"Jefe").mac(&[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            mac.to_vec(),
            hex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        );
        let long_key = [0xaau8; 80];
        let mac = Hmac::new(Alg::Sha1, &long_key)
            .mac(&[b"Test Using Larger Than Block-Size Key - Hash Key First"]);
        assert_eq!(
            mac.to_vec(),
            hex("aa4ae5e15272d00e95705637ce8a3b55ed402112")
        );
    }

    /// RFC 7714 §16 and §17: the IVs of the example packets.
    #[test]
    fn rfc_7714_ivs() {
        let mut salt = [0u8; 12];
        salt.copy_from_slice(&hex("517569642070726f2071756f"));
        assert_eq!(
            Transform::gcm_rtp_iv(&salt, 0x5501_a0b2, 0, 0xf17b).to_vec(),
            hex("51753c6580c2726f20718414")
        );
        assert_eq!(
            Transform::gcm_rtcp_iv(&salt, 0x4d61_7273, 0x5d4).to_vec(),
            hex("517524055203726f207170bb")
        );
    }
}
