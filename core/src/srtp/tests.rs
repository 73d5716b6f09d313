use super::*;

pub(crate) fn hex(s: &str) -> Vec<u8> {
    let clean: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    clean
        .chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect()
}

/// RFC 7714 §16.1.1: the example RTP packet.
const RFC7714_RTP: &str = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973
                           20646976 69736120 696e2070 61727465 73207472 6573";
/// RFC 7714 §16.1.1: the packet protected with AEAD_AES_128_GCM.
const RFC7714_SRTP_128: &str = "8040f17b 8041f8d3 5501a0b2
    f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833
    899d7f27 beb16a91 52cf765e e4390cce";

/// A context whose session keys are the RFC 7714 example keys (the RFC
/// gives session keys, not master keys).
fn rfc7714_context() -> SrtpContext {
    let mut salt = [0u8; 12];
    salt.copy_from_slice(&hex("517569642070726f2071756f"));
    let key = hex("000102030405060708090a0b0c0d0e0f");
    SrtpContext {
        profile: SrtpProfile::AeadAes128Gcm,
        rtp: Transform::gcm(&key, salt).unwrap(),
        rtcp: Transform::gcm(&key, salt).unwrap(),
        streams: BTreeMap::new(),
        counters: SrtpCounters::default(),
    }
}

#[test]
fn rfc_7714_aes_128_gcm_rtp_vector() {
    let mut packet = hex(RFC7714_RTP);
    rfc7714_context().protect_rtp(&mut packet).unwrap();
    assert_eq!(packet, hex(RFC7714_SRTP_128));
    rfc7714_context().unprotect_rtp(&mut packet).unwrap();
    assert_eq!(packet, hex(RFC7714_RTP));
}

fn rtp(ssrc: u32, seq: u16, payload_len: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 960).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..payload_len).map(|i| i as u8));
    p
}

fn rtcp(ssrc: u32) -> Vec<u8> {
    // A receiver report with no blocks plus an SDES-like tail.
    let mut p = vec![0x80, 201, 0, 1];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0x81, 202, 0, 2, 1, 2, 3, 4, 1, 2, b'h', b'i']);
    p
}

fn pair(profile: SrtpProfile) -> (SrtpContext, SrtpContext) {
    let material: Vec<u8> = (0..profile.keying_material_len())
        .map(|i| (i as u8).wrapping_mul(7))
        .collect();
    let (client_tx, client_rx) = SrtpContext::pair_from_dtls(profile, &material, true).unwrap();
    let (server_tx, server_rx) = SrtpContext::pair_from_dtls(profile, &material, false).unwrap();
    // The client's sending context is the server's receiving one.
    drop((client_rx, server_tx));
    (client_tx, server_rx)
}

#[test]
fn every_profile_round_trips_rtp_and_rtcp() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile);
        for seq in 0..50u16 {
            let plain = rtp(0x1234, seq, 100 + usize::from(seq));
            let mut p = plain.clone();
            tx.protect_rtp(&mut p).unwrap();
            assert_eq!(p.len(), plain.len() + profile.rtp_overhead());
            assert_ne!(
                p[12..plain.len()],
                plain[12..],
                "{profile:?} payload encrypted"
            );
            rx.unprotect_rtp(&mut p).unwrap();
            assert_eq!(p, plain, "{profile:?}");
        }
        for _ in 0..5 {
            let plain = rtcp(0x1234);
            let mut p = plain.clone();
            tx.protect_rtcp(&mut p).unwrap();
            assert_eq!(p.len(), plain.len() + profile.rtcp_overhead());
            rx.unprotect_rtcp(&mut p).unwrap();
            assert_eq!(p, plain, "{profile:?}");
        }
        assert_eq!(rx.counters().rtp_packets, 50);
        assert_eq!(rx.counters().rtcp_packets, 5);
    }
}

#[test]
fn headers_with_csrcs_and_extensions_stay_in_clear() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile);
        // Two CSRCs and a one-word one-byte-header extension.
        let mut plain = vec![
            0x92, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 2,
        ];
        plain.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0]);
        plain.extend_from_slice(b"payload");
        let mut p = plain.clone();
        tx.protect_rtp(&mut p).unwrap();
        assert_eq!(p[..28], plain[..28]);
        rx.unprotect_rtp(&mut p).unwrap();
        assert_eq!(p, plain);
    }
}

#[test]
fn replayed_packets_are_rejected_and_counted() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile);
        let mut p = rtp(7, 100, 50);
        tx.protect_rtp(&mut p).unwrap();
        let copy = p.clone();
        rx.unprotect_rtp(&mut p).unwrap();
        let mut again = copy.clone();
        assert_eq!(rx.unprotect_rtp(&mut again), Err(SrtpError::Replayed));
        let mut c = rtcp(7);
        tx.protect_rtcp(&mut c).unwrap();
        let c_copy = c.clone();
        rx.unprotect_rtcp(&mut c).unwrap();
        let mut again = c_copy;
        assert_eq!(rx.unprotect_rtcp(&mut again), Err(SrtpError::Replayed));
        assert_eq!(rx.counters().replayed, 2);
    }
}

#[test]
fn old_packets_beyond_the_window_are_rejected() {
    let (mut tx, mut rx) = pair(SrtpProfile::Aes128CmSha1_80);
    let mut old = rtp(7, 0, 10);
    tx.protect_rtp(&mut old).unwrap();
    for seq in 1..=200u16 {
        let mut p = rtp(7, seq, 10);
        tx.protect_rtp(&mut p).unwrap();
        rx.unprotect_rtp(&mut p).unwrap();
    }
    assert_eq!(rx.unprotect_rtp(&mut old), Err(SrtpError::TooOld));
    assert_eq!(rx.counters().too_old, 1);
}

#[test]
fn reordered_packets_within_the_window_are_accepted() {
    let (mut tx, mut rx) = pair(SrtpProfile::AeadAes256Gcm);
    let mut packets: Vec<Vec<u8>> = (0..100u16)
        .map(|seq| {
            let mut p = rtp(3, seq, 20);
            tx.protect_rtp(&mut p).unwrap();
            p
        })
        .collect();
    packets.reverse();
    for mut p in packets {
        rx.unprotect_rtp(&mut p).unwrap();
    }
}

#[test]
fn tampered_packets_fail_authentication_and_do_not_move_the_window() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile);
        let mut p = rtp(9, 500, 40);
        tx.protect_rtp(&mut p).unwrap();
        let good = p.clone();
        for at in [1usize, 5, 20, p.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            assert_eq!(
                rx.unprotect_rtp(&mut bad),
                Err(SrtpError::AuthFailed),
                "{profile:?} byte {at}"
            );
        }
        // The genuine packet still goes through: nothing moved.
        let mut p = good;
        rx.unprotect_rtp(&mut p).unwrap();
        let mut c = rtcp(9);
        tx.protect_rtcp(&mut c).unwrap();
        let last = c.len() - 1;
        c[last] ^= 0x80;
        assert_eq!(rx.unprotect_rtcp(&mut c), Err(SrtpError::AuthFailed));
        assert_eq!(rx.counters().auth_failures, 5);
    }
}

#[test]
fn rollover_counter_wraps_at_sequence_65535() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile);
        for seq in (65500..=65535u16).chain(0..40) {
            let plain = rtp(11, seq, 30);
            let mut p = plain.clone();
            tx.protect_rtp(&mut p).unwrap();
            rx.unprotect_rtp(&mut p).unwrap();
            assert_eq!(p, plain);
        }
        assert_eq!(tx.streams[&11].roc, 1);
        assert_eq!(rx.streams[&11].roc, 1);
        // A late packet from before the wrap still decrypts with ROC 0.
        let (mut tx2, mut rx2) = pair(profile);
        let mut first = rtp(11, 65534, 30);
        tx2.protect_rtp(&mut first).unwrap();
        let mut before = rtp(11, 65535, 30);
        tx2.protect_rtp(&mut before).unwrap();
        let mut after = rtp(11, 1, 30);
        tx2.protect_rtp(&mut after).unwrap();
        rx2.unprotect_rtp(&mut first).unwrap();
        rx2.unprotect_rtp(&mut after).unwrap();
        rx2.unprotect_rtp(&mut before).unwrap();
        assert_eq!(before, rtp(11, 65535, 30));
    }
}

#[test]
fn truncated_and_garbage_input_is_refused_without_panic() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile);
        let mut p = rtp(1, 1, 20);
        tx.protect_rtp(&mut p).unwrap();
        for cut in 0..p.len() {
            let mut t = p[..cut].to_vec();
            assert!(rx.unprotect_rtp(&mut t).is_err());
            let mut t = p[..cut].to_vec();
            assert!(rx.unprotect_rtcp(&mut t).is_err());
        }
        let mut c = rtcp(1);
        tx.protect_rtcp(&mut c).unwrap();
        for cut in 0..c.len() {
            let mut t = c[..cut].to_vec();
            assert!(rx.unprotect_rtcp(&mut t).is_err());
        }
        // An extension length pointing past the end.
        let mut bad = vec![
            0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff,
        ];
        assert_eq!(rx.unprotect_rtp(&mut bad), Err(SrtpError::Malformed));
        assert_eq!(
            tx.protect_rtp(&mut vec![0x40; 20]),
            Err(SrtpError::Malformed)
        );
    }
}

#[test]
fn keying_material_too_short_is_an_error() {
    assert_eq!(
        SrtpContext::pair_from_dtls(SrtpProfile::AeadAes128Gcm, &[0; 10], true).err(),
        Some(SrtpError::KeyingMaterialLength(10))
    );
}

#[test]
fn streams_are_bounded() {
    let (mut tx, mut rx) = pair(SrtpProfile::AeadAes128Gcm);
    for ssrc in 0..SrtpContext::MAX_STREAMS as u32 {
        let mut p = rtp(ssrc, 1, 1);
        tx.protect_rtp(&mut p).unwrap();
        rx.unprotect_rtp(&mut p).unwrap();
    }
    let mut p = rtp(u32::MAX, 1, 1);
    assert_eq!(tx.protect_rtp(&mut p), Err(SrtpError::TooManyStreams));
    let (mut other_tx, _) = pair(SrtpProfile::AeadAes128Gcm);
    other_tx.protect_rtp(&mut p).unwrap();
    assert_eq!(rx.unprotect_rtp(&mut p), Err(SrtpError::TooManyStreams));
    assert_eq!(rx.counters().too_many_streams, 1);
}
