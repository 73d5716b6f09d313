//! Which receiver an incoming RTP packet belongs to, on a BUNDLE transport
//! (RFC 8843 §9.2), with RID and repaired RID (RFC 8852) choosing among
//! the simulcast receivers of one media description.
//!
//! A receiver is one (MID, optional RID) pair with the payload types of
//! its media description. RFC 8843 §9.2 orders the clues: the MID header
//! extension, then the incoming SSRC table (learned from the MID, or from
//! a signaled `a=ssrc`), then a payload type used by one description only.

use std::sync::Arc;

use crate::rtp::RtpPacket;

/// Most receivers a router knows (media descriptions times their RIDs).
pub(crate) const MAX_RECEIVERS: usize = 256;
/// Most SSRCs in the incoming SSRC table. When a new one must be learned
/// in a full table, the least recently used learned entry goes (and is
/// counted); signaled entries are never evicted.
pub(crate) const MAX_SSRCS: usize = 64;

/// The negotiated header extension ids (RFC 8285), `None` when not
/// negotiated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RouteExtensions {
    /// `urn:ietf:params:rtp-hdrext:sdes:mid`.
    pub(crate) mid: Option<u8>,
    /// `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id`.
    pub(crate) rid: Option<u8>,
    /// `urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id`.
    pub(crate) repaired_rid: Option<u8>,
}

/// How a packet was routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteVia {
    /// By its MID (and RID or repaired RID) header extensions.
    Mid,
    /// By the incoming SSRC table.
    Ssrc,
    /// By a payload type unique to one receiver.
    PayloadType,
}

/// A routed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Routed {
    /// The receiver's index (as [`Router::add_receiver`] returned it).
    pub(crate) receiver: usize,
    /// Whether the packet repairs the receiver's stream (RTX: it came with
    /// a repaired RID, or its SSRC was learned or signaled so).
    pub(crate) repair: bool,
    /// Which clue decided.
    pub(crate) via: RouteVia,
}

/// Why a packet was not routed (to drop and count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unroutable {
    /// Its MID names no receiver.
    UnknownMid,
    /// Its RID or repaired RID names no receiver of that MID, or the MID
    /// has several receivers and the packet named none.
    UnknownRid,
    /// RFC 8843 §9.2: the SSRC is known but "the payload type used by the
    /// RTP stream" is not one of the receiver's.
    PayloadTypeMismatch,
    /// Nothing matched: unknown SSRC, payload type of no receiver or of
    /// several.
    NoMatch,
}

/// Counters of the router.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RouterCounters {
    /// Packets routed by MID, by SSRC, by payload type.
    pub(crate) by_mid: u64,
    pub(crate) by_ssrc: u64,
    pub(crate) by_payload_type: u64,
    /// Packets not routed.
    pub(crate) unroutable: u64,
    /// SSRCs learned into the table.
    pub(crate) ssrcs_learned: u64,
    /// Learned SSRCs evicted to make room.
    pub(crate) ssrcs_evicted: u64,
    /// SSRCs not learned: the table is full of signaled ones.
    pub(crate) ssrcs_refused: u64,
}

#[derive(Debug, Clone)]
struct Receiver {
    mid: Box<[u8]>,
    /// Shared with every packet routed here (`RtpPacketReceived::rid`).
    rid: Option<Arc<str>>,
    /// Bit `pt` set when the payload type belongs to the receiver.
    payload_types: u128,
}

#[derive(Debug, Clone, Copy)]
struct SsrcEntry {
    ssrc: u32,
    receiver: usize,
    repair: bool,
    signaled: bool,
    last_used: u64,
}

/// The demultiplexer of one BUNDLE transport's incoming RTP.
#[derive(Debug, Clone)]
pub(crate) struct Router {
    extensions: RouteExtensions,
    receivers: Vec<Receiver>,
    ssrcs: Vec<SsrcEntry>,
    /// Packets routed so far: the LRU clock.
    tick: u64,
    counters: RouterCounters,
}

impl Router {
    /// A router with no receiver.
    pub(crate) fn new(extensions: RouteExtensions) -> Self {
        Self {
            extensions,
            receivers: Vec::new(),
            ssrcs: Vec::new(),
            tick: 0,
            counters: RouterCounters::default(),
        }
    }

    /// Counters.
    pub(crate) fn counters(&self) -> RouterCounters {
        self.counters
    }

    /// The RID of receiver `i` (a simulcast layer's), if it has one.
    pub(crate) fn rid_of(&self, i: usize) -> Option<&Arc<str>> {
        self.receivers.get(i)?.rid.as_ref()
    }

    /// The media SSRC last routed to receiver `i`: what an RTX packet
    /// routed there by its repaired RID repairs (RFC 8852 §3.2).
    pub(crate) fn media_ssrc_of(&self, i: usize) -> Option<u32> {
        self.ssrcs
            .iter()
            .filter(|e| e.receiver == i && !e.repair)
            .max_by_key(|e| e.last_used)
            .map(|e| e.ssrc)
    }

    /// Adds a receiver for `mid` (and `rid` for one simulcast layer) taking
    /// `payload_types` (its media description's, RTX's included); returns
    /// its index, or `None` past [`MAX_RECEIVERS`].
    pub(crate) fn add_receiver(
        &mut self,
        mid: &str,
        rid: Option<&str>,
        payload_types: &[u8],
    ) -> Option<usize> {
        if self.receivers.len() >= MAX_RECEIVERS {
            return None;
        }
        let payload_types = payload_types
            .iter()
            .filter(|&&pt| pt < 128)
            .fold(0u128, |m, &pt| m | 1 << pt);
        self.receivers.push(Receiver {
            mid: mid.as_bytes().into(),
            rid: rid.map(Arc::from),
            payload_types,
        });
        Some(self.receivers.len() - 1)
    }

    /// Maps a signaled SSRC (`a=ssrc`, an SSRC group's FID for `repair`)
    /// to a receiver; false when the table is full of signaled SSRCs or
    /// the receiver does not exist.
    pub(crate) fn add_ssrc(&mut self, ssrc: u32, receiver: usize, repair: bool) -> bool {
        if receiver >= self.receivers.len() {
            return false;
        }
        self.learn(ssrc, receiver, repair, true)
    }

    /// Routes a packet (already through SRTP).
    pub(crate) fn route(&mut self, packet: &RtpPacket<'_>) -> Result<Routed, Unroutable> {
        self.tick += 1;
        let r = self.route_inner(packet);
        match &r {
            Ok(routed) => match routed.via {
                RouteVia::Mid => self.counters.by_mid += 1,
                RouteVia::Ssrc => self.counters.by_ssrc += 1,
                RouteVia::PayloadType => self.counters.by_payload_type += 1,
            },
            Err(_) => self.counters.unroutable += 1,
        }
        r
    }

    fn route_inner(&mut self, packet: &RtpPacket<'_>) -> Result<Routed, Unroutable> {
        // RFC 8843 §9.2: "1. If the packet has a MID, ... update the MID
        // associated with the RTP stream to match the MID carried in the
        // RTP packet, and then update the mapping tables to include an
        // entry that maps the SSRC of that RTP stream to the "m=" section
        // for that MID." (The RFC 7941 §4.2.6 check that the packet is newer
        // than the last MID update is left to the caller: a reordered
        // packet carries the same MID in practice.)
        if let Some(mid) = self.extensions.mid.and_then(|id| packet.extension(id)) {
            let (receiver, repair) = self.by_mid(packet, mid)?;
            self.learn(packet.ssrc, receiver, repair, false);
            return Ok(Routed {
                receiver,
                repair,
                via: RouteVia::Mid,
            });
        }
        // "2. If the SSRC of the RTP stream is in the incoming SSRC mapping
        // table, check that the payload type used by the RTP stream matches
        // a payload type included on the matching "m=" section. If so,
        // associate the RTP stream with that "m=" section. Otherwise, drop
        // the RTP packet."
        let tick = self.tick;
        if let Some(e) = self.ssrcs.iter_mut().find(|e| e.ssrc == packet.ssrc) {
            e.last_used = tick;
            let (receiver, repair) = (e.receiver, e.repair);
            let takes = self
                .receivers
                .get(receiver)
                .is_some_and(|r| takes_pt(r, packet.payload_type));
            if !takes {
                return Err(Unroutable::PayloadTypeMismatch);
            }
            return Ok(Routed {
                receiver,
                repair,
                via: RouteVia::Ssrc,
            });
        }
        // "3. If the payload type used by the RTP stream is in the payload
        // type table, update the incoming SSRC mapping table to include an
        // entry that maps the RTP stream's SSRC to the "m=" section for
        // that payload type." The table holds only payload types unique to
        // one receiver.
        let mut matching = self
            .receivers
            .iter()
            .enumerate()
            .filter(|(_, r)| takes_pt(r, packet.payload_type))
            .map(|(i, _)| i);
        if let (Some(receiver), None) = (matching.next(), matching.next()) {
            self.learn(packet.ssrc, receiver, false, false);
            return Ok(Routed {
                receiver,
                repair: false,
                via: RouteVia::PayloadType,
            });
        }
        // "4. Otherwise, mark the RTP stream as not for an "m=" section and
        // drop the RTP packet."
        Err(Unroutable::NoMatch)
    }

    /// The receiver for a MID, chosen by the RID or repaired RID (RFC 8852
    /// §3.3: "RtpStreamId ... identifies the source RTP stream" and
    /// "RepairedRtpStreamId ... the source RTP stream it repairs").
    fn by_mid(&self, packet: &RtpPacket<'_>, mid: &[u8]) -> Result<(usize, bool), Unroutable> {
        let rid = self.extensions.rid.and_then(|id| packet.extension(id));
        let repaired = self
            .extensions
            .repaired_rid
            .and_then(|id| packet.extension(id));
        let (rid, repair) = match (rid, repaired) {
            (Some(r), _) => (Some(r), false),
            (None, Some(r)) => (Some(r), true),
            (None, None) => (None, false),
        };
        let mut of_mid = self
            .receivers
            .iter()
            .enumerate()
            .filter(|(_, r)| *r.mid == *mid);
        let Some((first, _)) = of_mid.clone().next() else {
            return Err(Unroutable::UnknownMid);
        };
        if let Some(rid) = rid {
            return of_mid
                .find(|(_, r)| r.rid.as_deref().map(str::as_bytes) == Some(rid))
                .map(|(i, _)| (i, repair))
                .ok_or(Unroutable::UnknownRid);
        }
        // No RID: the MID's only receiver, or the stream learned before
        // (RIDs may be sent only in the first packets), or its receiver
        // without a RID.
        if let Some(e) = self
            .ssrcs
            .iter()
            .find(|e| e.ssrc == packet.ssrc)
            .filter(|e| {
                self.receivers
                    .get(e.receiver)
                    .is_some_and(|r| *r.mid == *mid)
            })
        {
            return Ok((e.receiver, e.repair));
        }
        if of_mid.clone().nth(1).is_none() {
            return Ok((first, false));
        }
        of_mid
            .find(|(_, r)| r.rid.is_none())
            .map(|(i, _)| (i, false))
            .ok_or(Unroutable::UnknownRid)
    }

    /// Puts `ssrc → receiver` in the table, replacing its old entry,
    /// evicting the least recently used learned entry when full.
    fn learn(&mut self, ssrc: u32, receiver: usize, repair: bool, signaled: bool) -> bool {
        let tick = self.tick;
        if let Some(e) = self.ssrcs.iter_mut().find(|e| e.ssrc == ssrc) {
            e.receiver = receiver;
            e.repair = repair;
            e.signaled |= signaled;
            e.last_used = tick;
            return true;
        }
        if self.ssrcs.len() >= MAX_SSRCS {
            let Some(lru) = self
                .ssrcs
                .iter()
                .enumerate()
                .filter(|(_, e)| !e.signaled)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(i, _)| i)
            else {
                self.counters.ssrcs_refused += 1;
                return false;
            };
            self.ssrcs.swap_remove(lru);
            self.counters.ssrcs_evicted += 1;
        }
        self.ssrcs.push(SsrcEntry {
            ssrc,
            receiver,
            repair,
            signaled,
            last_used: tick,
        });
        self.counters.ssrcs_learned += 1;
        true
    }

    /// Forgets a stream (RTCP BYE, a receiver removed).
    pub(crate) fn remove_ssrc(&mut self, ssrc: u32) {
        self.ssrcs.retain(|e| e.ssrc != ssrc);
    }

    /// How many SSRCs the table holds.
    pub(crate) fn ssrc_count(&self) -> usize {
        self.ssrcs.len()
    }
}

fn takes_pt(r: &Receiver, pt: u8) -> bool {
    pt < 128 && r.payload_types & (1 << pt) != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpHeader;

    const MID: u8 = 1;
    const RID: u8 = 2;
    const RRID: u8 = 3;

    fn router() -> Router {
        let mut r = Router::new(RouteExtensions {
            mid: Some(MID),
            rid: Some(RID),
            repaired_rid: Some(RRID),
        });
        // 0: audio "0"; 1, 2: video "1" simulcast layers "lo" and "hi".
        assert_eq!(r.add_receiver("0", None, &[111]), Some(0));
        assert_eq!(r.add_receiver("1", Some("lo"), &[96, 97]), Some(1));
        assert_eq!(r.add_receiver("1", Some("hi"), &[96, 97]), Some(2));
        r
    }

    fn route(r: &mut Router, ssrc: u32, pt: u8, ext: &[(u8, &[u8])]) -> Result<Routed, Unroutable> {
        let mut buf = [0u8; 256];
        let n = RtpHeader {
            payload_type: pt,
            ssrc,
            extensions: ext,
            ..RtpHeader::default()
        }
        .write(b"payload", 0, &mut buf)
        .unwrap();
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        r.route(&p)
    }

    fn ok(receiver: usize, repair: bool, via: RouteVia) -> Result<Routed, Unroutable> {
        Ok(Routed {
            receiver,
            repair,
            via,
        })
    }

    #[test]
    fn mid_then_learned_ssrc_then_payload_type() {
        let mut r = router();
        assert_eq!(
            route(&mut r, 10, 111, &[(MID, b"0")]),
            ok(0, false, RouteVia::Mid)
        );
        // Later packets without the extension follow the learned SSRC.
        assert_eq!(route(&mut r, 10, 111, &[]), ok(0, false, RouteVia::Ssrc));
        // The SSRC is audio's: a video payload type is dropped.
        assert_eq!(
            route(&mut r, 10, 96, &[]),
            Err(Unroutable::PayloadTypeMismatch)
        );
        // Unknown SSRC, payload type unique to audio: learned.
        assert_eq!(
            route(&mut r, 11, 111, &[]),
            ok(0, false, RouteVia::PayloadType)
        );
        assert_eq!(route(&mut r, 11, 111, &[]), ok(0, false, RouteVia::Ssrc));
        // Unknown SSRC, payload type shared by the layers: no match.
        assert_eq!(route(&mut r, 12, 96, &[]), Err(Unroutable::NoMatch));
        assert_eq!(route(&mut r, 12, 50, &[]), Err(Unroutable::NoMatch));
        let c = r.counters();
        assert_eq!(
            (c.by_mid, c.by_ssrc, c.by_payload_type, c.unroutable),
            (1, 2, 1, 3)
        );
    }

    #[test]
    fn rid_and_repaired_rid_pick_the_layer() {
        let mut r = router();
        assert_eq!(
            route(&mut r, 20, 96, &[(MID, b"1"), (RID, b"hi")]),
            ok(2, false, RouteVia::Mid)
        );
        assert_eq!(
            route(&mut r, 21, 97, &[(MID, b"1"), (RRID, b"hi")]),
            ok(2, true, RouteVia::Mid)
        );
        assert_eq!(
            route(&mut r, 22, 96, &[(MID, b"1"), (RID, b"lo")]),
            ok(1, false, RouteVia::Mid)
        );
        // The MID alone after the RID was seen: the learned layer.
        assert_eq!(
            route(&mut r, 20, 96, &[(MID, b"1")]),
            ok(2, false, RouteVia::Mid)
        );
        assert_eq!(route(&mut r, 21, 97, &[]), ok(2, true, RouteVia::Ssrc));
        // Each layer's RID, and the media stream its RTX repairs.
        assert_eq!(r.rid_of(2).map(|r| &**r), Some("hi"));
        assert_eq!(r.rid_of(0), None);
        assert_eq!(r.media_ssrc_of(2), Some(20));
        assert_eq!(r.media_ssrc_of(1), Some(22));
        // Unknown RID, unknown MID, an ambiguous MID alone.
        assert_eq!(
            route(&mut r, 23, 96, &[(MID, b"1"), (RID, b"mid")]),
            Err(Unroutable::UnknownRid)
        );
        assert_eq!(
            route(&mut r, 23, 96, &[(MID, b"7")]),
            Err(Unroutable::UnknownMid)
        );
        assert_eq!(
            route(&mut r, 23, 96, &[(MID, b"1")]),
            Err(Unroutable::UnknownRid)
        );
    }

    #[test]
    fn the_ssrc_table_is_bounded_lru_and_keeps_signaled() {
        let mut r = router();
        assert!(r.add_ssrc(1, 0, false));
        assert!(!r.add_ssrc(2, 9, false));
        for ssrc in 100..200 {
            assert_eq!(
                route(&mut r, ssrc, 111, &[(MID, b"0")]),
                ok(0, false, RouteVia::Mid)
            );
            // Keep 150 fresh.
            if ssrc > 150 {
                route(&mut r, 150, 111, &[]).unwrap();
            }
        }
        assert_eq!(r.ssrc_count(), MAX_SSRCS);
        let c = r.counters();
        assert_eq!(c.ssrcs_learned, 101);
        assert_eq!(c.ssrcs_evicted, 101 - MAX_SSRCS as u64);
        // The signaled one and the recently used one survived.
        assert_eq!(route(&mut r, 1, 111, &[]), ok(0, false, RouteVia::Ssrc));
        assert_eq!(route(&mut r, 150, 111, &[]), ok(0, false, RouteVia::Ssrc));
        r.remove_ssrc(150);
        assert_eq!(r.ssrc_count(), MAX_SSRCS - 1);
        // A table full of signaled SSRCs refuses to learn.
        let mut r = router();
        for ssrc in 0..MAX_SSRCS as u32 {
            assert!(r.add_ssrc(ssrc, 0, false));
        }
        assert!(!r.add_ssrc(1_000, 0, false));
        assert_eq!(
            route(&mut r, 1_001, 111, &[(MID, b"0")]),
            ok(0, false, RouteVia::Mid)
        );
        assert_eq!(r.counters().ssrcs_refused, 2);
        assert_eq!(r.ssrc_count(), MAX_SSRCS);
    }

    #[test]
    fn receivers_are_bounded() {
        let mut r = Router::new(RouteExtensions::default());
        for i in 0..MAX_RECEIVERS {
            assert_eq!(r.add_receiver("m", None, &[200, 1]), Some(i));
        }
        assert_eq!(r.add_receiver("m", None, &[1]), None);
    }
}
