//! SRTP and SRTCP (RFC 3711, RFC 7714) on OpenSSL.
//!
//! One [`SrtpContext`] protects or unprotects one direction of a DTLS-SRTP
//! session: [`SrtpContext::pair_from_dtls`] builds both from the keying
//! material DTLS exports. Packets are transformed in place in the caller's
//! `Vec` (protect appends the tag into its spare capacity; unprotect
//! truncates), with cipher contexts built once per session and reused.

mod kdf;
mod replay;
mod transform;

#[cfg(test)]
pub(crate) mod tests;

use std::collections::BTreeMap;

use thiserror::Error;

use replay::{estimate_roc, Replay, ReplayWindow};
use transform::{Kind, Transform};

/// A DTLS-SRTP protection profile (RFC 5764 §4.1.2, RFC 7714 §14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    /// SRTP_AES128_CM_HMAC_SHA1_80 (0x0001).
    Aes128CmSha1_80,
    /// SRTP_AES128_CM_HMAC_SHA1_32 (0x0002): 32-bit SRTP tag, 80-bit SRTCP tag.
    Aes128CmSha1_32,
    /// SRTP_AEAD_AES_128_GCM (0x0007).
    AeadAes128Gcm,
    /// SRTP_AEAD_AES_256_GCM (0x0008).
    AeadAes256Gcm,
}

impl SrtpProfile {
    /// Every profile, most preferred first (as offered by eddy).
    pub const ALL: [Self; 4] = [
        Self::AeadAes128Gcm,
        Self::AeadAes256Gcm,
        Self::Aes128CmSha1_80,
        Self::Aes128CmSha1_32,
    ];

    /// The IANA identifier used in the DTLS `use_srtp` extension.
    pub fn id(self) -> u16 {
        match self {
            Self::Aes128CmSha1_80 => 0x0001,
            Self::Aes128CmSha1_32 => 0x0002,
            Self::AeadAes128Gcm => 0x0007,
            Self::AeadAes256Gcm => 0x0008,
        }
    }

    /// Master key length in bytes.
    pub fn master_key_len(self) -> usize {
        match self {
            Self::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// Master salt length in bytes: 112 bits for AES-CM, 96 for AES-GCM.
    pub fn master_salt_len(self) -> usize {
        match self {
            Self::Aes128CmSha1_80 | Self::Aes128CmSha1_32 => 14,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 12,
        }
    }

    /// Bytes an SRTP packet grows by.
    pub fn rtp_overhead(self) -> usize {
        match self {
            Self::Aes128CmSha1_80 => 10,
            Self::Aes128CmSha1_32 => 4,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 16,
        }
    }

    /// Bytes an SRTCP packet grows by (tag plus the 4-byte E||index).
    pub fn rtcp_overhead(self) -> usize {
        match self {
            // RFC 5764 §4.1.2: both AES-CM profiles use an 80-bit SRTCP tag.
            Self::Aes128CmSha1_80 | Self::Aes128CmSha1_32 => 10 + 4,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 16 + 4,
        }
    }

    /// Bytes of DTLS keying material both directions need: two master keys
    /// and two master salts (RFC 5764 §4.2).
    pub fn keying_material_len(self) -> usize {
        2 * (self.master_key_len() + self.master_salt_len())
    }

    fn is_gcm(self) -> bool {
        matches!(self, Self::AeadAes128Gcm | Self::AeadAes256Gcm)
    }
}

/// Why a packet could not be protected or unprotected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SrtpError {
    /// A master or session key of the wrong length.
    #[error("key of {0} bytes does not fit the profile")]
    KeyLength(usize),
    /// A master salt of the wrong length.
    #[error("salt of {0} bytes does not fit the profile")]
    SaltLength(usize),
    /// Keying material of the wrong length.
    #[error("keying material of {0} bytes does not fit the profile")]
    KeyingMaterialLength(usize),
    /// Not an RTP (or RTCP) packet, or too short for its tag.
    #[error("malformed packet")]
    Malformed,
    /// The authentication tag did not verify.
    #[error("authentication failed")]
    AuthFailed,
    /// The packet was seen before (replay).
    #[error("replayed packet")]
    Replayed,
    /// The packet is older than the replay window.
    #[error("packet older than the replay window")]
    TooOld,
    /// The SRTCP index is exhausted (2^31 packets): the session must be
    /// re-keyed (RFC 3711 §3.3.1).
    #[error("SRTCP index exhausted")]
    IndexExhausted,
    /// More streams (SSRCs) than the context keeps.
    #[error("too many streams")]
    TooManyStreams,
    /// The crypto library failed.
    #[error("crypto: {0}")]
    Crypto(String),
}

impl From<openssl::error::ErrorStack> for SrtpError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        Self::Crypto(e.to_string())
    }
}

/// What a context did, for stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SrtpCounters {
    /// RTP packets protected or unprotected.
    pub rtp_packets: u64,
    /// RTCP packets protected or unprotected.
    pub rtcp_packets: u64,
    /// Packets dropped: not RTP/RTCP or too short.
    pub malformed: u64,
    /// Packets dropped: tag did not verify.
    pub auth_failures: u64,
    /// Packets dropped: replayed.
    pub replayed: u64,
    /// Packets dropped: older than the replay window.
    pub too_old: u64,
    /// Packets dropped: a new SSRC beyond the stream limit.
    pub too_many_streams: u64,
}

/// Per-SSRC state.
#[derive(Debug, Default)]
struct Stream {
    /// Rollover counter.
    roc: u32,
    /// Highest sequence number (`None` before the first packet).
    s_l: Option<u16>,
    /// SRTP replay window (receive side).
    replay: ReplayWindow,
    /// Next SRTCP index to send.
    rtcp_next: u32,
    /// SRTCP replay window (receive side).
    rtcp_replay: ReplayWindow,
}

/// One direction of an SRTP session.
#[derive(Debug)]
pub struct SrtpContext {
    profile: SrtpProfile,
    rtp: Transform,
    rtcp: Transform,
    streams: BTreeMap<u32, Stream>,
    counters: SrtpCounters,
}

/// RFC 3711 §3.3.1: the SRTCP index is 31 bits.
const SRTCP_INDEX_MAX: u32 = 0x7fff_ffff;
/// RFC 3711 §3.4: the E flag.
const E_FLAG: u32 = 0x8000_0000;

/// Length of the RTP header (fixed, CSRCs, extension), if `p` is RTP.
fn rtp_header_len(p: &[u8]) -> Option<usize> {
    let &b0 = p.first()?;
    if b0 >> 6 != 2 || p.len() < 12 {
        return None;
    }
    let mut len = 12 + 4 * usize::from(b0 & 0x0f);
    if b0 & 0x10 != 0 {
        let words = p.get(len + 2..len + 4)?;
        len += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    (len <= p.len()).then_some(len)
}

fn be32(p: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(p.get(at..at + 4)?.try_into().ok()?))
}

impl SrtpContext {
    /// Most SSRCs one context tracks; packets of further SSRCs are refused
    /// and counted.
    pub const MAX_STREAMS: usize = 4096;

    /// A context from a master key and salt.
    pub fn new(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
    ) -> Result<Self, SrtpError> {
        Ok(Self {
            profile,
            rtp: Transform::new(profile, master_key, master_salt, Kind::Rtp)?,
            rtcp: Transform::new(profile, master_key, master_salt, Kind::Rtcp)?,
            streams: BTreeMap::new(),
            counters: SrtpCounters::default(),
        })
    }

    /// The sending and receiving contexts from DTLS keying material.
    ///
    /// RFC 5764 §4.2: the material is "client_write_SRTP_master_key |
    /// server_write_SRTP_master_key | client_write_SRTP_master_salt |
    /// server_write_SRTP_master_salt".
    pub fn pair_from_dtls(
        profile: SrtpProfile,
        material: &[u8],
        is_client: bool,
    ) -> Result<(Self, Self), SrtpError> {
        if material.len() < profile.keying_material_len() {
            return Err(SrtpError::KeyingMaterialLength(material.len()));
        }
        let (k, s) = (profile.master_key_len(), profile.master_salt_len());
        let client_key = &material[..k];
        let server_key = &material[k..2 * k];
        let client_salt = &material[2 * k..2 * k + s];
        let server_salt = &material[2 * k + s..2 * k + 2 * s];
        let client = Self::new(profile, client_key, client_salt)?;
        let server = Self::new(profile, server_key, server_salt)?;
        Ok(if is_client {
            (client, server)
        } else {
            (server, client)
        })
    }

    /// The profile.
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }

    /// Counters for stats.
    pub fn counters(&self) -> SrtpCounters {
        self.counters
    }

    fn count(&mut self, e: &SrtpError) {
        let c = &mut self.counters;
        match e {
            SrtpError::Malformed => c.malformed += 1,
            SrtpError::AuthFailed => c.auth_failures += 1,
            SrtpError::Replayed => c.replayed += 1,
            SrtpError::TooOld => c.too_old += 1,
            SrtpError::TooManyStreams => c.too_many_streams += 1,
            _ => {}
        }
    }

    fn has_room_for(&self, ssrc: u32) -> bool {
        self.streams.contains_key(&ssrc) || self.streams.len() < Self::MAX_STREAMS
    }

    /// Protects an RTP packet in place: encrypts the payload and appends the
    /// tag (reserve [`SrtpProfile::rtp_overhead`] spare capacity to avoid a
    /// reallocation).
    pub fn protect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let r = self.protect_rtp_inner(packet);
        match &r {
            Ok(()) => self.counters.rtp_packets += 1,
            Err(e) => self.count(&e.clone()),
        }
        r
    }

    fn protect_rtp_inner(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let hdr = rtp_header_len(packet).ok_or(SrtpError::Malformed)?;
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        let ssrc = be32(packet, 8).ok_or(SrtpError::Malformed)?;
        if !self.has_room_for(ssrc) {
            return Err(SrtpError::TooManyStreams);
        }
        let stream = self.streams.entry(ssrc).or_default();
        let roc = match stream.s_l {
            None => {
                stream.s_l = Some(seq);
                stream.roc
            }
            Some(s_l) => {
                let v = estimate_roc(stream.roc, s_l, seq).ok_or(SrtpError::TooOld)?;
                if (u64::from(v) << 16 | u64::from(seq))
                    > (u64::from(stream.roc) << 16 | u64::from(s_l))
                {
                    stream.roc = v;
                    stream.s_l = Some(seq);
                }
                v
            }
        };
        let index = u64::from(roc) << 16 | u64::from(seq);
        match &mut self.rtp {
            Transform::Cm { ctr, hmac, salt } => {
                Transform::cm_crypt(ctr, salt, ssrc, index, &mut packet[hdr..])?;
                // RFC 3711 §4.2: "M = Authenticated Portion || ROC".
                let tag = hmac.mac(&[packet, &roc.to_be_bytes()]);
                packet.extend_from_slice(&tag[..self.profile.rtp_overhead()]);
            }
            Transform::Gcm { key, salt } => {
                let iv = Transform::gcm_rtp_iv(salt, ssrc, roc, seq);
                let mut tag = [0u8; 16];
                let (header, payload) = packet.split_at_mut(hdr);
                // RFC 7714 §8.2: the AAD is the whole RTP header.
                Transform::gcm_seal(key, &iv, &[header], payload, &mut tag)?;
                packet.extend_from_slice(&tag);
            }
        }
        Ok(())
    }

    /// Unprotects an SRTP packet in place: checks the replay window,
    /// verifies the tag, decrypts and strips the tag. On error the packet
    /// must be dropped (its bytes are unspecified) and the error is counted.
    pub fn unprotect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let r = self.unprotect_rtp_inner(packet);
        match &r {
            Ok(()) => self.counters.rtp_packets += 1,
            Err(e) => self.count(&e.clone()),
        }
        r
    }

    fn unprotect_rtp_inner(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let tag_len = self.profile.rtp_overhead();
        let hdr = rtp_header_len(packet).ok_or(SrtpError::Malformed)?;
        if packet.len() < hdr + tag_len {
            return Err(SrtpError::Malformed);
        }
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        let ssrc = be32(packet, 8).ok_or(SrtpError::Malformed)?;
        if !self.has_room_for(ssrc) {
            return Err(SrtpError::TooManyStreams);
        }
        let (roc, s_l, replay) = match self.streams.get(&ssrc) {
            Some(s) => (s.roc, s.s_l.unwrap_or(seq), Some(&s.replay)),
            None => (0, seq, None),
        };
        // RFC 3711 §3.3: index first, then the replay check, then
        // authentication; the window moves only after all three pass.
        let v = estimate_roc(roc, s_l, seq).ok_or(SrtpError::TooOld)?;
        let index = u64::from(v) << 16 | u64::from(seq);
        if let Some(w) = replay {
            w.check(index).map_err(|r| match r {
                Replay::Duplicate => SrtpError::Replayed,
                Replay::TooOld => SrtpError::TooOld,
            })?;
        }
        let body_end = packet.len() - tag_len;
        match &mut self.rtp {
            Transform::Cm { ctr, hmac, salt } => {
                let tag = hmac.mac(&[&packet[..body_end], &v.to_be_bytes()]);
                if !openssl::memcmp::eq(&tag[..tag_len], &packet[body_end..]) {
                    return Err(SrtpError::AuthFailed);
                }
                Transform::cm_crypt(ctr, salt, ssrc, index, &mut packet[hdr..body_end])?;
            }
            Transform::Gcm { key, salt } => {
                let iv = Transform::gcm_rtp_iv(salt, ssrc, v, seq);
                let (header, rest) = packet.split_at_mut(hdr);
                let (payload, tag) = rest.split_at_mut(body_end - hdr);
                Transform::gcm_open(key, &iv, &[header], payload, tag)?;
            }
        }
        packet.truncate(body_end);
        let stream = self.streams.entry(ssrc).or_default();
        let top = stream.replay.top();
        stream.replay.accept(index);
        if top.is_none_or(|t| index > t) {
            stream.roc = v;
            stream.s_l = Some(seq);
        }
        Ok(())
    }

    /// Protects an RTCP compound packet in place: encrypts everything after
    /// the first 8 bytes and appends E||SRTCP index and the tag.
    pub fn protect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let r = self.protect_rtcp_inner(packet);
        match &r {
            Ok(()) => self.counters.rtcp_packets += 1,
            Err(e) => self.count(&e.clone()),
        }
        r
    }

    fn protect_rtcp_inner(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        if packet.len() < 8 || packet[0] >> 6 != 2 {
            return Err(SrtpError::Malformed);
        }
        let ssrc = be32(packet, 4).ok_or(SrtpError::Malformed)?;
        if !self.has_room_for(ssrc) {
            return Err(SrtpError::TooManyStreams);
        }
        let stream = self.streams.entry(ssrc).or_default();
        let index = stream.rtcp_next;
        if index > SRTCP_INDEX_MAX {
            return Err(SrtpError::IndexExhausted);
        }
        stream.rtcp_next += 1;
        let trailer = (E_FLAG | index).to_be_bytes();
        match &mut self.rtcp {
            Transform::Cm { ctr, hmac, salt } => {
                Transform::cm_crypt(ctr, salt, ssrc, u64::from(index), &mut packet[8..])?;
                packet.extend_from_slice(&trailer);
                // RFC 3711 §3.4: the tag covers the header, the encrypted
                // portion and E||SRTCP index.
                let tag = hmac.mac(&[packet]);
                packet.extend_from_slice(&tag[..10]);
            }
            Transform::Gcm { key, salt } => {
                let iv = Transform::gcm_rtcp_iv(salt, ssrc, index);
                let mut tag = [0u8; 16];
                let (header, payload) = packet.split_at_mut(8);
                // RFC 7714 §9.2: AAD = header || E||SRTCP index.
                Transform::gcm_seal(key, &iv, &[header, &trailer], payload, &mut tag)?;
                packet.extend_from_slice(&tag);
                packet.extend_from_slice(&trailer);
            }
        }
        Ok(())
    }

    /// Unprotects an SRTCP packet in place. On error the packet must be
    /// dropped and the error is counted.
    pub fn unprotect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let r = self.unprotect_rtcp_inner(packet);
        match &r {
            Ok(()) => self.counters.rtcp_packets += 1,
            Err(e) => self.count(&e.clone()),
        }
        r
    }

    fn unprotect_rtcp_inner(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let overhead = self.profile.rtcp_overhead();
        if packet.len() < 8 + overhead || packet[0] >> 6 != 2 {
            return Err(SrtpError::Malformed);
        }
        let ssrc = be32(packet, 4).ok_or(SrtpError::Malformed)?;
        if !self.has_room_for(ssrc) {
            return Err(SrtpError::TooManyStreams);
        }
        let gcm = self.profile.is_gcm();
        let trailer_at = if gcm {
            packet.len() - 4
        } else {
            packet.len() - 14
        };
        let trailer = be32(packet, trailer_at).ok_or(SrtpError::Malformed)?;
        let encrypted = trailer & E_FLAG != 0;
        let index = trailer & SRTCP_INDEX_MAX;
        if let Some(s) = self.streams.get(&ssrc) {
            s.rtcp_replay.check(u64::from(index)).map_err(|r| match r {
                Replay::Duplicate => SrtpError::Replayed,
                Replay::TooOld => SrtpError::TooOld,
            })?;
        }
        let end = packet.len() - overhead;
        match &mut self.rtcp {
            Transform::Cm { ctr, hmac, salt } => {
                let tag = hmac.mac(&[&packet[..trailer_at + 4]]);
                if !openssl::memcmp::eq(&tag[..10], &packet[trailer_at + 4..]) {
                    return Err(SrtpError::AuthFailed);
                }
                if encrypted {
                    Transform::cm_crypt(ctr, salt, ssrc, u64::from(index), &mut packet[8..end])?;
                }
            }
            Transform::Gcm { key, salt } => {
                let iv = Transform::gcm_rtcp_iv(salt, ssrc, index);
                let trailer = trailer.to_be_bytes();
                let (head, rest) = packet.split_at_mut(8);
                let (payload, rest) = rest.split_at_mut(end - 8);
                let tag = &rest[..16];
                if encrypted {
                    Transform::gcm_open(key, &iv, &[head, &trailer], payload, tag)?;
                } else {
                    // RFC 7714 §9.2: unencrypted SRTCP authenticates the
                    // whole packet as AAD.
                    Transform::gcm_open(key, &iv, &[head, payload, &trailer], &mut [], tag)?;
                }
            }
        }
        packet.truncate(end);
        self.streams
            .entry(ssrc)
            .or_default()
            .rtcp_replay
            .accept(u64::from(index));
        Ok(())
    }
}
