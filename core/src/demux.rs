//! RFC 7983 demultiplexing of everything that shares one 5-tuple.

/// What a received datagram is, judged by its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PacketKind {
    /// STUN (ICE checks, consent, TURN control).
    Stun,
    /// DTLS records.
    Dtls,
    /// RTP media.
    Rtp,
    /// RTCP (multiplexed on the RTP port, RFC 5761).
    Rtcp,
    /// TURN ChannelData (RFC 8656 §12): unwrap, then demultiplex again.
    TurnChannelData,
    /// ZRTP (RFC 6189): WebRTC does not use it; dropped and counted.
    Zrtp,
}

/// Classifies a datagram; `None` for what no protocol claims (dropped and
/// counted by the caller).
///
/// RFC 7983 §7:
/// ```text
///              +----------------+
///              |        [0..3] -+--> forward to STUN
///              |                |
///              |      [16..19] -+--> forward to ZRTP
///              |                |
///  packet -->  |      [20..63] -+--> forward to DTLS
///              |                |
///              |      [64..79] -+--> forward to TURN Channel
///              |                |
///              |    [128..191] -+--> forward to RTP/RTCP
///              +----------------+
/// ```
pub(crate) fn classify(packet: &[u8]) -> Option<PacketKind> {
    let &first = packet.first()?;
    match first {
        0..=3 => Some(PacketKind::Stun),
        16..=19 => Some(PacketKind::Zrtp),
        20..=63 => Some(PacketKind::Dtls),
        64..=79 => Some(PacketKind::TurnChannelData),
        128..=191 => {
            // RFC 5761 §4: "RTCP packet types in the ranges 1-191 and 224-254
            // ... [are avoided as RTP payload types, so] the packet type
            // 192-223 field identifies RTCP."
            let &second = packet.get(1)?;
            if (192..=223).contains(&second) {
                Some(PacketKind::Rtcp)
            } else {
                Some(PacketKind::Rtp)
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_first_byte_has_the_rfc_7983_class() {
        for b in 0..=255u8 {
            let got = classify(&[b, 96]);
            let want = match b {
                0..=3 => Some(PacketKind::Stun),
                16..=19 => Some(PacketKind::Zrtp),
                20..=63 => Some(PacketKind::Dtls),
                64..=79 => Some(PacketKind::TurnChannelData),
                128..=191 => Some(PacketKind::Rtp),
                _ => None,
            };
            assert_eq!(got, want, "first byte {b}");
        }
    }

    #[test]
    fn rtcp_is_told_from_rtp_by_packet_type() {
        assert_eq!(classify(&[0x80, 200]), Some(PacketKind::Rtcp)); // SR
        assert_eq!(classify(&[0x81, 201]), Some(PacketKind::Rtcp)); // RR
        assert_eq!(classify(&[0x8f, 206]), Some(PacketKind::Rtcp)); // PSFB
        assert_eq!(classify(&[0x80, 111]), Some(PacketKind::Rtp));
        assert_eq!(classify(&[0x80, 0xe0]), Some(PacketKind::Rtp)); // marker + PT 96
    }

    #[test]
    fn empty_and_one_byte_rtp_are_unknown() {
        assert_eq!(classify(&[]), None);
        assert_eq!(classify(&[0x80]), None);
    }
}
