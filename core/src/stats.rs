//! Every counter of one connection in one place: [`ConnectionStats`], from
//! [`PeerConnection::connection_stats`](crate::PeerConnection::connection_stats).
//! The W3C `getStats()` report is to be built on it.

use crate::dtls::DtlsStats;
use crate::event::EventQueueUsage;
use crate::ice::IceStats;
use crate::sctp::SctpCounters;
use crate::srtp::SrtpCounters;

/// Why the connection dropped something it received (or, for
/// [`DtlsNoRoute`](Self::DtlsNoRoute), had to send): one reason per counter
/// of [`InputCounters`], read with [`InputCounters::dropped`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dropped {
    /// A datagram whose first byte no protocol claims (RFC 7983), or empty.
    UnknownProtocol,
    /// A ZRTP datagram: WebRTC does not use ZRTP.
    Zrtp,
    /// A datagram that arrived after `close()`.
    Closed,
    /// A remote candidate at an unspecified, broadcast or multicast address.
    UnusableCandidate,
    /// A held DTLS record whose source ICE never validated.
    DtlsUnvalidated,
    /// A DTLS record that came too early, beyond the few held.
    DtlsEarly,
    /// A DTLS record to send with no selected candidate pair.
    DtlsNoRoute,
    /// An RTP or RTCP packet from an address ICE has not validated.
    MediaUnvalidated,
    /// An RTP or RTCP packet before DTLS exported the SRTP keys.
    MediaBeforeKeys,
    /// An RTP or RTCP packet that does not parse (after SRTP).
    MediaMalformed,
    /// An RTP packet no receiver claims (RFC 8843 §9.2: no mid, rid, SSRC
    /// or payload type matched), or beyond the bound on learned SSRCs.
    MediaUnrouted,
    /// An RTP packet for a receiver whose negotiated direction does not
    /// receive.
    MediaNotReceiving,
    /// An RTP packet received before (a retransmission that raced the
    /// original, or a duplicate on the network).
    MediaDuplicate,
    /// An RTP packet that arrived while the application's event queue was
    /// full (media is not held: a late packet is a lost packet, which
    /// NACK may recover).
    MediaQueueFull,
}

/// What arrived, counted by kind, and what was dropped and why. The stats
/// report is built from these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InputCounters {
    /// STUN messages received.
    pub stun: u64,
    /// DTLS datagrams received.
    pub dtls: u64,
    /// RTP packets received.
    pub rtp: u64,
    /// RTCP packets received.
    pub rtcp: u64,
    /// TURN ChannelData messages received.
    pub turn_channel_data: u64,
    /// Datagrams whose first byte no protocol claims (RFC 7983), or empty.
    pub dropped_unknown: u64,
    /// ZRTP datagrams: WebRTC does not use ZRTP.
    pub dropped_zrtp: u64,
    /// Datagrams that arrived after `close()`.
    pub dropped_closed: u64,
    /// Remote candidates not used: at an unspecified (0.0.0.0, ::),
    /// broadcast or multicast address.
    pub dropped_candidates: u64,
    /// DTLS records held until ICE validated their source, which it never
    /// did.
    pub dropped_dtls_unvalidated: u64,
    /// DTLS records that arrived before ICE validated their source (or
    /// before the answer set the DTLS role) beyond the few held.
    pub dropped_dtls_early: u64,
    /// DTLS records to send with no selected candidate pair to send them on.
    pub dropped_dtls_no_route: u64,
    /// RTP and RTCP packets from an address ICE has not validated.
    pub dropped_media_unvalidated: u64,
    /// RTP and RTCP packets before DTLS exported the SRTP keys.
    pub dropped_media_before_keys: u64,
    /// RTP and RTCP packets that do not parse (after SRTP).
    pub dropped_media_malformed: u64,
    /// RTP packets no receiver claims.
    pub dropped_media_unrouted: u64,
    /// RTP packets for a receiver that does not receive.
    pub dropped_media_not_receiving: u64,
    /// RTP packets received before.
    pub dropped_media_duplicate: u64,
    /// RTP packets that arrived while the event queue was full.
    pub dropped_media_queue_full: u64,
    /// State-change events replaced by a newer one of the same kind because
    /// the application had not polled (see
    /// [`Configuration::max_queued_events`](crate::Configuration::max_queued_events)); no event is ever dropped.
    pub coalesced_events: u64,
}

impl InputCounters {
    /// How many were dropped for `reason`.
    pub fn dropped(&self, reason: Dropped) -> u64 {
        match reason {
            Dropped::UnknownProtocol => self.dropped_unknown,
            Dropped::Zrtp => self.dropped_zrtp,
            Dropped::Closed => self.dropped_closed,
            Dropped::UnusableCandidate => self.dropped_candidates,
            Dropped::DtlsUnvalidated => self.dropped_dtls_unvalidated,
            Dropped::DtlsEarly => self.dropped_dtls_early,
            Dropped::DtlsNoRoute => self.dropped_dtls_no_route,
            Dropped::MediaUnvalidated => self.dropped_media_unvalidated,
            Dropped::MediaBeforeKeys => self.dropped_media_before_keys,
            Dropped::MediaMalformed => self.dropped_media_malformed,
            Dropped::MediaUnrouted => self.dropped_media_unrouted,
            Dropped::MediaNotReceiving => self.dropped_media_not_receiving,
            Dropped::MediaDuplicate => self.dropped_media_duplicate,
            Dropped::MediaQueueFull => self.dropped_media_queue_full,
        }
    }

    /// Counts one drop for `reason`.
    pub(crate) fn count_drop(&mut self, reason: Dropped) {
        let counter = match reason {
            Dropped::UnknownProtocol => &mut self.dropped_unknown,
            Dropped::Zrtp => &mut self.dropped_zrtp,
            Dropped::Closed => &mut self.dropped_closed,
            Dropped::UnusableCandidate => &mut self.dropped_candidates,
            Dropped::DtlsUnvalidated => &mut self.dropped_dtls_unvalidated,
            Dropped::DtlsEarly => &mut self.dropped_dtls_early,
            Dropped::DtlsNoRoute => &mut self.dropped_dtls_no_route,
            Dropped::MediaUnvalidated => &mut self.dropped_media_unvalidated,
            Dropped::MediaBeforeKeys => &mut self.dropped_media_before_keys,
            Dropped::MediaMalformed => &mut self.dropped_media_malformed,
            Dropped::MediaUnrouted => &mut self.dropped_media_unrouted,
            Dropped::MediaNotReceiving => &mut self.dropped_media_not_receiving,
            Dropped::MediaDuplicate => &mut self.dropped_media_duplicate,
            Dropped::MediaQueueFull => &mut self.dropped_media_queue_full,
        };
        *counter += 1;
    }
}

/// Every counter of one connection: what arrived, what each layer did and
/// dropped, and the application's event queue (ARCHITECTURE.md §5.3: every
/// drop is counted somewhere here).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionStats {
    /// Datagrams received by kind, and what the connection itself dropped,
    /// by [`Dropped`] reason.
    pub input: InputCounters,
    /// The ICE agent: checks, consent, STUN bytes, pairs and candidates
    /// dropped at its limits.
    pub ice: IceStats,
    /// The DTLS transport: retransmissions and queue drops (zero before the
    /// answer set the DTLS role).
    pub dtls: DtlsStats,
    /// The SCTP association: messages and bytes of the data channels, and
    /// what it dropped.
    pub sctp: SctpCounters,
    /// SRTP protection of what is sent (zero before DTLS exported keys).
    pub srtp_send: SrtpCounters,
    /// SRTP unprotection of what is received (zero before DTLS exported
    /// keys).
    pub srtp_receive: SrtpCounters,
    /// The pacer on the media send path (zero until media is sent with
    /// transport-wide feedback).
    pub pacer: crate::PacerStats,
    /// How full the event queue is and has been.
    pub event_queue: EventQueueUsage,
}
