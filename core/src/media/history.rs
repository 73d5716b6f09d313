//! The sender's packet history, answering NACKs (RFC 4585 §6.2.1) with
//! retransmissions in RTX packets (RFC 4588), and the receiver's RTX
//! unwrapping.
//!
//! The history is a ring of [`MAX_PACKETS`] slots indexed by sequence
//! number modulo its size; each slot keeps its buffer, so storing a packet
//! copies into memory already there (no allocation once every slot was
//! used once). A resend is limited per sequence number and by a byte
//! budget per second, so a peer NACKing every packet many times a second
//! cannot make us send more than the budget.

use std::time::{Duration, Instant};

use crate::rtp::{ParseError, RtpPacket};

/// Slots in the ring (a power of two: the slot is `seq % MAX_PACKETS`).
pub(crate) const MAX_PACKETS: usize = 1_024;
/// The largest packet stored: with [`MAX_PACKETS`] it bounds the history's
/// bytes at 2 MiB. Larger packets are not stored (and counted).
pub(crate) const MAX_PACKET_LEN: usize = 2_048;
/// The shortest time between two resends of one sequence number (the
/// floor under half the RTT).
const MIN_RESEND_INTERVAL: Duration = Duration::from_millis(10);
/// RFC 4588 §4: "The length of the retransmission payload header is 2
/// octets. This payload header contains only one field, OSN (original
/// sequence number)".
const OSN_LEN: usize = 2;
/// The RTP header's P bit.
const PADDING_BIT: u8 = 0x20;

/// The history's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HistoryConfig {
    /// Packets older than this are not resent (a retransmission arriving
    /// after its playout time is useless; SDP's `rtx-time`, RFC 4588 §8.1).
    pub(crate) max_age: Duration,
    /// Bytes resent per second at most (a token bucket holding one second
    /// of budget).
    pub(crate) resend_bytes_per_second: u64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(1),
            resend_bytes_per_second: 1_000_000,
        }
    }
}

/// Why a packet was not resent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ResendRefused {
    /// Not in the history (never stored, overwritten, or too old).
    #[error("not in the history")]
    Missing,
    /// Resent too recently.
    #[error("resent too recently")]
    RateLimited,
    /// The second's byte budget is spent.
    #[error("resend budget spent")]
    Budget,
}

/// What the history did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HistoryCounters {
    /// Packets stored.
    pub(crate) stored: u64,
    /// Packets not stored: longer than [`MAX_PACKET_LEN`] or not RTP.
    pub(crate) not_stored: u64,
    /// Packets resent.
    pub(crate) resent: u64,
    /// Bytes resent (original packet lengths).
    pub(crate) resent_bytes: u64,
    /// Requests for packets not in the history.
    pub(crate) missing: u64,
    /// Requests refused by the per-packet limit.
    pub(crate) rate_limited: u64,
    /// Requests refused by the byte budget.
    pub(crate) over_budget: u64,
}

#[derive(Debug, Clone, Default)]
struct Slot {
    seq: u16,
    /// When stored; `None` for an empty slot.
    stored_at: Option<Instant>,
    last_resend: Option<Instant>,
    packet: Vec<u8>,
}

/// The sent packets of one SSRC, plaintext (before SRTP).
#[derive(Debug, Clone)]
pub(crate) struct PacketHistory {
    config: HistoryConfig,
    slots: Vec<Slot>,
    /// Resend budget in bytes, refilled at `resend_bytes_per_second`.
    tokens: u64,
    refilled_at: Option<Instant>,
    counters: HistoryCounters,
}

impl PacketHistory {
    /// An empty history (the slots' buffers are allocated on first use).
    pub(crate) fn new(config: HistoryConfig) -> Self {
        Self {
            config,
            slots: vec![Slot::default(); MAX_PACKETS],
            tokens: config.resend_bytes_per_second,
            refilled_at: None,
            counters: HistoryCounters::default(),
        }
    }

    /// Counters.
    pub(crate) fn counters(&self) -> HistoryCounters {
        self.counters
    }

    fn slot_of(seq: u16) -> usize {
        usize::from(seq) % MAX_PACKETS
    }

    /// Stores a plaintext RTP packet sent at `now`; returns false (and
    /// counts) when it is not RTP or too long to keep.
    pub(crate) fn insert(&mut self, now: Instant, packet: &[u8]) -> bool {
        let seq = match RtpPacket::parse(packet) {
            Ok(p) if packet.len() <= MAX_PACKET_LEN => p.sequence,
            _ => {
                self.counters.not_stored += 1;
                return false;
            }
        };
        let Some(slot) = self.slots.get_mut(Self::slot_of(seq)) else {
            return false;
        };
        slot.seq = seq;
        slot.stored_at = Some(now);
        slot.last_resend = None;
        // Reuses the slot's capacity; `reserve_exact` keeps it at most
        // MAX_PACKET_LEN (amortised growth could double it).
        slot.packet.clear();
        slot.packet.reserve_exact(packet.len());
        slot.packet.extend_from_slice(packet);
        self.counters.stored += 1;
        true
    }

    /// The stored packet `seq`, if present and younger than `max_age`.
    pub(crate) fn get(&self, now: Instant, seq: u16) -> Option<&[u8]> {
        let slot = self.slots.get(Self::slot_of(seq))?;
        let at = slot.stored_at?;
        (slot.seq == seq && now.saturating_duration_since(at) <= self.config.max_age)
            .then_some(slot.packet.as_slice())
    }

    fn refill(&mut self, now: Instant) {
        let rate = self.config.resend_bytes_per_second;
        let Some(at) = self.refilled_at else {
            self.refilled_at = Some(now);
            return;
        };
        let elapsed = now.saturating_duration_since(at);
        let add = elapsed.as_nanos() * u128::from(rate) / 1_000_000_000;
        if add > 0 {
            let add = u64::try_from(add).unwrap_or(u64::MAX);
            self.tokens = self.tokens.saturating_add(add).min(rate);
            self.refilled_at = Some(now);
        }
    }

    /// Packet `seq` for a resend at `now` (NACKed; `rtt` the current round
    /// trip), after the limits: at most one resend per max(RTT / 2, 10 ms)
    /// per packet, and the byte budget. Counts the outcome.
    pub(crate) fn resend(
        &mut self,
        now: Instant,
        seq: u16,
        rtt: Duration,
    ) -> Result<&[u8], ResendRefused> {
        self.refill(now);
        let max_age = self.config.max_age;
        let interval = (rtt / 2).max(MIN_RESEND_INTERVAL);
        let Some(slot) = self
            .slots
            .get_mut(Self::slot_of(seq))
            .filter(|s| s.seq == seq)
            .filter(|s| {
                s.stored_at
                    .is_some_and(|at| now.saturating_duration_since(at) <= max_age)
            })
        else {
            self.counters.missing += 1;
            return Err(ResendRefused::Missing);
        };
        if slot
            .last_resend
            .is_some_and(|at| now.saturating_duration_since(at) < interval)
        {
            self.counters.rate_limited += 1;
            return Err(ResendRefused::RateLimited);
        }
        let len = slot.packet.len() as u64;
        if len > self.tokens {
            self.counters.over_budget += 1;
            return Err(ResendRefused::Budget);
        }
        self.tokens -= len;
        slot.last_resend = Some(now);
        self.counters.resent += 1;
        self.counters.resent_bytes += len;
        Ok(slot.packet.as_slice())
    }

    /// Like [`Self::resend`], but writes the packet as an RTX packet (see
    /// [`build_rtx`]) into `out`, returning its length.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn resend_rtx(
        &mut self,
        now: Instant,
        seq: u16,
        rtt: Duration,
        rtx_ssrc: u32,
        rtx_payload_type: u8,
        rtx_seq: u16,
        out: &mut Vec<u8>,
    ) -> Result<usize, ResendRefused> {
        let original = self.resend(now, seq, rtt)?;
        // Stored packets parsed when stored: this cannot fail.
        build_rtx(original, rtx_ssrc, rtx_payload_type, rtx_seq, out)
            .map_err(|_| ResendRefused::Missing)?;
        Ok(out.len())
    }
}

/// Writes `original` as an RTX packet into `out` (cleared first).
///
/// RFC 4588 §4: the OSN "MUST be set to the sequence number of the
/// associated original RTP packet. The original RTP packet payload,
/// including any possible payload headers specific to the original payload
/// type, MUST be placed right after the retransmission payload header."
/// The timestamp and the marker bit are the original packet's; the
/// payload type, sequence number and SSRC are the retransmission stream's
/// (SSRC multiplexing, §5). The CSRCs and header extension are copied as
/// they are; padding is not (the new packet has none).
pub(crate) fn build_rtx(
    original: &[u8],
    rtx_ssrc: u32,
    rtx_payload_type: u8,
    rtx_seq: u16,
    out: &mut Vec<u8>,
) -> Result<(), ParseError> {
    let p = RtpPacket::parse(original)?;
    let header = original.get(..p.header_len).ok_or(ParseError::Truncated)?;
    out.clear();
    out.extend_from_slice(header);
    rewrite_header(out, p.marker, rtx_payload_type, rtx_seq, rtx_ssrc);
    out.extend_from_slice(&p.sequence.to_be_bytes());
    out.extend_from_slice(p.payload);
    Ok(())
}

/// Why an RTX packet could not be unwrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RtxError {
    /// Not an RTP packet.
    #[error("not RTP: {0}")]
    Parse(ParseError),
    /// No OSN: an empty payload (padding-only packets probe bandwidth).
    #[error("no original sequence number")]
    NoOsn,
    /// The payload type is not an RTX type of the `apt` map.
    #[error("payload type {0} is not an RTX type")]
    UnknownPayloadType(u8),
}

/// Rebuilds the original packet from an RTX packet into `out` (cleared
/// first), returning the original sequence number.
///
/// `apt` maps each RTX payload type to its original one (RFC 4588 §8.6:
/// "apt: associated payload type"); `original_ssrc` is the media stream the
/// RTX stream repairs (SSRC group FID, or repaired-rid).
pub(crate) fn unwrap_rtx(
    rtx: &[u8],
    apt: &[(u8, u8)],
    original_ssrc: u32,
    out: &mut Vec<u8>,
) -> Result<u16, RtxError> {
    let p = RtpPacket::parse(rtx).map_err(RtxError::Parse)?;
    let &(_, original_pt) = apt
        .iter()
        .find(|(rtx_pt, _)| *rtx_pt == p.payload_type)
        .ok_or(RtxError::UnknownPayloadType(p.payload_type))?;
    let (osn, payload) = p
        .payload
        .split_first_chunk::<OSN_LEN>()
        .ok_or(RtxError::NoOsn)?;
    let osn = u16::from_be_bytes(*osn);
    let header = rtx
        .get(..p.header_len)
        .ok_or(RtxError::Parse(ParseError::Truncated))?;
    out.clear();
    out.extend_from_slice(header);
    rewrite_header(out, p.marker, original_pt, osn, original_ssrc);
    out.extend_from_slice(payload);
    Ok(osn)
}

/// Sets a copied header's payload type, sequence number and SSRC, and
/// clears its P bit (no padding follows).
fn rewrite_header(header: &mut [u8], marker: bool, pt: u8, seq: u16, ssrc: u32) {
    if let Some(b0) = header.get_mut(0) {
        *b0 &= !PADDING_BIT;
    }
    if let Some(b1) = header.get_mut(1) {
        *b1 = u8::from(marker) << 7 | (pt & 0x7F);
    }
    if let Some(s) = header.get_mut(2..4) {
        s.copy_from_slice(&seq.to_be_bytes());
    }
    if let Some(s) = header.get_mut(8..12) {
        s.copy_from_slice(&ssrc.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpHeader;

    fn rtp(seq: u16, payload: &[u8], padding: u8) -> Vec<u8> {
        let mut buf = vec![0u8; 4096];
        let ext: &[(u8, &[u8])] = &[(1, b"mid0")];
        let n = RtpHeader {
            marker: true,
            payload_type: 96,
            sequence: seq,
            timestamp: 0xDEAD_BEEF,
            ssrc: 0x1111,
            csrc: &[7, 8],
            extensions: ext,
        }
        .write(payload, padding, &mut buf)
        .unwrap();
        buf.truncate(n);
        buf
    }

    #[test]
    fn stores_and_finds_by_sequence_with_age_and_overwrite() {
        let t0 = crate::testutil::epoch();
        let mut h = PacketHistory::new(HistoryConfig::default());
        for seq in 0..1_100u16 {
            assert!(h.insert(t0, &rtp(seq, &[seq as u8; 10], 0)));
        }
        // The ring holds the last 1,024: 0..76 were overwritten.
        assert!(h.get(t0, 50).is_none());
        assert_eq!(h.get(t0, 1_000), Some(rtp(1_000, &[232; 10], 0).as_slice()));
        assert!(h.get(t0 + Duration::from_millis(1_001), 1_000).is_none());
        assert!(!h.insert(t0, &[0u8; 4]));
        assert!(!h.insert(t0, &rtp(1, &[0; MAX_PACKET_LEN], 0)));
        assert_eq!(h.counters().not_stored, 2);
        assert_eq!(h.counters().stored, 1_100);
    }

    #[test]
    fn rtx_round_trip_keeps_timestamp_marker_extensions() {
        let original = rtp(4242, b"hello media", 4);
        let mut rtx = Vec::new();
        build_rtx(&original, 0x2222, 97, 7, &mut rtx).unwrap();
        let p = RtpPacket::parse(&rtx).unwrap();
        assert_eq!(p.payload_type, 97);
        assert_eq!(p.sequence, 7);
        assert_eq!(p.ssrc, 0x2222);
        assert_eq!(p.timestamp, 0xDEAD_BEEF);
        assert!(p.marker);
        assert_eq!(p.padding, 0);
        assert_eq!(p.extension(1), Some(&b"mid0"[..]));
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![7, 8]);
        assert_eq!(&p.payload[..2], &4242u16.to_be_bytes());
        assert_eq!(&p.payload[2..], b"hello media");

        let mut back = Vec::new();
        assert_eq!(
            unwrap_rtx(&rtx, &[(99, 100), (97, 96)], 0x1111, &mut back),
            Ok(4242)
        );
        // The original without its padding.
        assert_eq!(back, rtp(4242, b"hello media", 0));
    }

    #[test]
    fn unwrap_refuses_what_is_not_rtx() {
        let mut out = Vec::new();
        let original = rtp(1, b"x", 0);
        let mut rtx = Vec::new();
        build_rtx(&original, 2, 97, 1, &mut rtx).unwrap();
        assert_eq!(
            unwrap_rtx(&rtx, &[(98, 96)], 1, &mut out),
            Err(RtxError::UnknownPayloadType(97))
        );
        // A padding-only probe: no OSN.
        let mut probe = vec![0u8; 64];
        let n = RtpHeader {
            payload_type: 97,
            ..RtpHeader::default()
        }
        .write(&[], 20, &mut probe)
        .unwrap();
        assert_eq!(
            unwrap_rtx(&probe[..n], &[(97, 96)], 1, &mut out),
            Err(RtxError::NoOsn)
        );
        assert!(matches!(
            unwrap_rtx(&[0x80], &[(97, 96)], 1, &mut out),
            Err(RtxError::Parse(_))
        ));
    }

    #[test]
    fn a_nack_storm_is_limited_per_packet_and_by_budget() {
        let t0 = crate::testutil::epoch();
        let mut h = PacketHistory::new(HistoryConfig {
            max_age: Duration::from_secs(1),
            resend_bytes_per_second: 100_000,
        });
        let packet = rtp(0, &[0; 1_000], 0);
        let len = packet.len() as u64;
        for seq in 0..1_000u16 {
            let mut p = packet.clone();
            p[2..4].copy_from_slice(&seq.to_be_bytes());
            h.insert(t0, &p);
        }
        let rtt = Duration::from_millis(40);
        // A peer NACKs all 1,000 packets every 10 ms for one second.
        let mut out = Vec::new();
        for round in 0..100u64 {
            let now = t0 + Duration::from_millis(round * 10);
            for seq in 0..1_000u16 {
                let _ = h.resend_rtx(now, seq, rtt, 9, 97, seq, &mut out);
            }
        }
        let c = h.counters();
        // At most the initial second of budget plus a second of refill.
        assert!(c.resent_bytes <= 2 * 100_000, "{c:?}");
        assert!(c.resent_bytes >= 100_000 - len, "{c:?}");
        assert!(c.rate_limited > 0 && c.over_budget > 0);
        assert_eq!(c.resent + c.rate_limited + c.over_budget, 100_000);
        // Per packet: a second resend of one seq waits RTT / 2.
        let mut h = PacketHistory::new(HistoryConfig::default());
        h.insert(t0, &packet);
        assert!(h.resend(t0, 0, rtt).is_ok());
        assert_eq!(
            h.resend(t0 + Duration::from_millis(19), 0, rtt),
            Err(ResendRefused::RateLimited)
        );
        assert!(h.resend(t0 + Duration::from_millis(20), 0, rtt).is_ok());
        assert_eq!(h.resend(t0, 5, rtt), Err(ResendRefused::Missing));
        assert_eq!(
            h.resend(t0 + Duration::from_secs(2), 0, rtt),
            Err(ResendRefused::Missing)
        );
    }
}
