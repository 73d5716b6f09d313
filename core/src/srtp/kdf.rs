//! The SRTP key derivation function (RFC 3711 §4.3, RFC 7714 §11).

use openssl::cipher::Cipher;
use openssl::cipher_ctx::CipherCtx;

use super::SrtpError;

/// Key derivation labels (RFC 3711 §4.3.1 and §4.3.2).
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
pub(crate) enum Label {
    RtpEncryption = 0x00,
    RtpAuth = 0x01,
    RtpSalt = 0x02,
    RtcpEncryption = 0x03,
    RtcpAuth = 0x04,
    RtcpSalt = 0x05,
}

/// Derives `out.len()` bytes for `label` from the master key and salt, with
/// a key derivation rate of zero (the only rate DTLS-SRTP uses: RFC 5764
/// §4.1.2 "key_derivation_rate = 0").
///
/// RFC 3711 §4.3.1: "Let key_id = <label> || r ... Let x = key_id XOR
/// master_salt, where key_id and master_salt are aligned so that their least
/// significant bits agree (right-alignment)." With r = 0 the label lands in
/// the eighth octet of the 112-bit salt. RFC 7714 §11 keeps the AES-CM PRF
/// for the AEAD profiles with their 96-bit master salt, which fills the
/// leading octets of the same block.
///
/// "<x> * 2^16" is the counter block: the PRF output is the AES-CM
/// keystream under the master key from that block.
pub(crate) fn derive(
    master_key: &[u8],
    master_salt: &[u8],
    label: Label,
    out: &mut [u8],
) -> Result<(), SrtpError> {
    let cipher = match master_key.len() {
        16 => Cipher::aes_128_ctr(),
        32 => Cipher::aes_256_ctr(),
        n => return Err(SrtpError::KeyLength(n)),
    };
    if master_salt.len() > 14 {
        return Err(SrtpError::SaltLength(master_salt.len()));
    }
    let mut iv = [0u8; 16];
    iv[..master_salt.len()].copy_from_slice(master_salt);
    iv[7] ^= label as u8;
    out.fill(0);
    let mut ctx = CipherCtx::new()?;
    ctx.encrypt_init(Some(cipher), Some(master_key), Some(&iv))?;
    let len = out.len();
    ctx.cipher_update_inplace(out, len)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srtp::tests::hex;

    /// RFC 3711 Appendix B.3.
    #[test]
    fn rfc_3711_b3_key_derivation() {
        let key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
        let salt = hex("0EC675AD498AFEEBB6960B3AABE6");
        let mut enc = [0u8; 16];
        derive(&key, &salt, Label::RtpEncryption, &mut enc).unwrap();
        assert_eq!(enc.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        let mut s = [0u8; 14];
        derive(&key, &salt, Label::RtpSalt, &mut s).unwrap();
        assert_eq!(s.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
        // 94 octets: the counter advances across six blocks.
        let mut auth = [0u8; 94];
        derive(&key, &salt, Label::RtpAuth, &mut auth).unwrap();
        assert_eq!(
            auth.to_vec(),
            hex(
                "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE\
                 E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25\
                 6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2"
            )
        );
    }

    #[test]
    fn bad_lengths_are_errors() {
        let mut out = [0u8; 16];
        assert_eq!(
            derive(&[0; 15], &[0; 14], Label::RtcpAuth, &mut out),
            Err(SrtpError::KeyLength(15))
        );
        assert_eq!(
            derive(&[0; 16], &[0; 15], Label::RtcpSalt, &mut out),
            Err(SrtpError::SaltLength(15))
        );
    }
}
