//! Events: the web's event handlers, as values the application polls.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use crate::io::{Protocol, Transmit};
use crate::peer::{
    IdentityAssertion, IdentityErrorEvent, KeyframeRequestKind, MediaFrame, MediaStreamTrack,
    RtpPacketReceived, TransceiverId,
};
use crate::sctp::{ChannelId, DataChannelMessage};
use crate::sdp::IceCandidate;
use crate::state::{
    DtlsTransportState, IceConnectionState, IceGatheringState, PeerConnectionState,
    SctpTransportState, SignalingState,
};

/// Something the application should know about, from `poll_output`.
///
/// Mirrors the events of the W3C interfaces (`onconnectionstatechange`, ...).
/// New variants come with new features, so match with a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// `connectionstatechange`: the aggregate state changed.
    ConnectionStateChange(PeerConnectionState),
    /// `signalingstatechange`: the signaling state changed to this.
    SignalingStateChange(SignalingState),
    /// `negotiationneeded`: create and send an offer (W3C rules: fired only
    /// in the stable state, once per need).
    NegotiationNeeded,
    /// `icecandidate`: a local candidate to trickle to the peer; a `None`
    /// candidate is end-of-candidates (the browser's null candidate).
    IceCandidate(IceCandidate),
    /// `icegatheringstatechange`.
    IceGatheringStateChange(IceGatheringState),
    /// `iceconnectionstatechange`.
    IceConnectionStateChange(IceConnectionState),
    /// `selectedcandidatepairchange` (RTCIceTransport): traffic now flows
    /// between these addresses.
    SelectedCandidatePairChange {
        /// The local address.
        local: SocketAddr,
        /// The remote address.
        remote: SocketAddr,
        /// The transport.
        proto: Protocol,
    },
    /// `icecandidateerror` (W3C RTCPeerConnectionIceErrorEvent): a TURN
    /// server could not give a relayed candidate (or the allocation was
    /// lost). The other candidates carry on.
    IceCandidateError {
        /// The server's URL, as configured.
        url: String,
        /// The STUN error code (401 for wrong credentials), or 701 when
        /// the server could not be reached (W3C: "outside the STUN error
        /// code range").
        code: u16,
        /// The STUN reason phrase.
        text: String,
        /// The local address used to reach the server.
        address: Option<SocketAddr>,
    },
    /// `statechange` of the DTLS transport.
    DtlsStateChange(DtlsTransportState),
    /// `statechange` of the SCTP transport.
    SctpStateChange(SctpTransportState),
    /// `datachannel`: the peer opened a channel.
    DataChannel(ChannelId),
    /// `open` of a data channel.
    ChannelOpen(ChannelId),
    /// `message` on a data channel.
    ChannelMessage(ChannelId, DataChannelMessage),
    /// `bufferedamountlow` of a data channel.
    ChannelBufferedAmountLow(ChannelId),
    /// `closing` of a data channel.
    ChannelClosing(ChannelId),
    /// `close` of a data channel: its id may be reused.
    ChannelClose(ChannelId),
    /// `track` (W3C RTCTrackEvent): the remote description makes this
    /// transceiver's receiver receive; its track is `track`.
    Track {
        /// The transceiver whose receiver got the track.
        transceiver: TransceiverId,
        /// The receiver's track, with the remote's stream ids.
        track: MediaStreamTrack,
    },
    /// An RTP packet for this transceiver's receiver (raw mode). Not held
    /// back while the queue is full: dropped and counted
    /// ([`Dropped::MediaQueueFull`](crate::Dropped::MediaQueueFull)).
    RtpPacket {
        /// The receiving transceiver.
        transceiver: TransceiverId,
        /// The packet.
        packet: RtpPacketReceived,
    },
    /// `tonechange` of a sender's DTMF (W3C RTCDTMFToneChangeEvent): this
    /// tone starts playing; the empty string when the buffer is done.
    ToneChange {
        /// The sending transceiver.
        transceiver: TransceiverId,
        /// The tone (`0`–`9`, `A`–`D`, `#`, `*`, `,`), or empty at the end.
        tone: String,
    },
    /// A DTMF tone the peer sent ended (RFC 4733 telephone-event; an eddy
    /// extension: browsers do not report received DTMF).
    DtmfReceived {
        /// The receiving transceiver.
        transceiver: TransceiverId,
        /// The tone.
        tone: char,
        /// How long it lasted.
        duration: std::time::Duration,
    },
    /// The peer asked this transceiver's sender for a keyframe (PLI or
    /// FIR): the application should have its encoder produce one (an SFU
    /// forwards it with [`RtpReceiver::request_keyframe`](crate::RtpReceiver::request_keyframe)).
    KeyframeRequest {
        /// The sending transceiver.
        transceiver: TransceiverId,
        /// PLI or FIR.
        kind: KeyframeRequestKind,
        /// The encoding asked for, by RID, when the sender is simulcast.
        rid: Option<String>,
    },
    /// A frame of a receiver in frame mode
    /// ([`RtpReceiver::set_frame_mode`](crate::RtpReceiver::set_frame_mode)),
    /// put back together from its packets in order.
    MediaFrame {
        /// The receiving transceiver.
        transceiver: TransceiverId,
        /// The frame.
        frame: MediaFrame,
    },
    /// The send-side bandwidth estimate changed (by 5% or more): what the
    /// path takes, in bits per second, from the peer's transport-wide
    /// feedback (GCC, `bwe/`) or REMB. Keep the encoders' total at or
    /// under it. Coalesced: a newer estimate replaces a queued one.
    BandwidthEstimate {
        /// Bits per second.
        bitrate: u64,
    },
    /// The peer's identity was validated (W3C `peerIdentity` resolved; it
    /// never changes afterwards): see
    /// [`PeerConnection::set_identity_provider`](crate::PeerConnection::set_identity_provider).
    PeerIdentity(IdentityAssertion),
    /// Our identity provider could not make an assertion (W3C
    /// `idpassertionerror`); the `create_offer`/`create_answer` that asked
    /// was refused.
    IdpAssertionError(IdentityErrorEvent),
    /// The peer's identity could not be validated (W3C
    /// `idpvalidationerror`); the `set_remote_description` was refused.
    IdpValidationError(IdentityErrorEvent),
}

/// The bounded queue of events not yet polled (ARCHITECTURE.md §5.3).
///
/// Nothing in it is ever dropped; it stays bounded in three ways:
/// - **messages** are only pulled out of SCTP while [`has_room`](Self::has_room)
///   holds (fewer than `limit` events and fewer than `byte_limit` bytes);
///   otherwise they wait in SCTP's reassembly queue, whose receive window
///   closes so the peer waits. The bytes can pass `byte_limit` by at most one
///   message, the count `limit` by at most one.
/// - **state changes** (`*StateChange`, `SelectedCandidatePairChange`,
///   `NegotiationNeeded`, `ChannelBufferedAmountLow` of one channel,
///   `KeyframeRequest` of one transceiver) are coalesced while the queue is
///   full: the newest replaces the queued one of the same kind, so the
///   application still learns the latest state and the count of each kind
///   stops growing.
/// - **RTP packets** are real-time: one that arrives while the queue is
///   full is dropped and counted (a late packet is a lost one; NACK may
///   recover it), never held.
/// - the others (`IceCandidate`, `DataChannel`, `ChannelOpen`,
///   `ChannelClosing`, `ChannelClose`, `Track`) are bounded by what causes
///   them: local candidates (ICE's limit), channels (at most `maxChannels`
///   at once; a peer cannot open new ones while messages, DCEP included,
///   wait in SCTP) and transceivers.
#[derive(Debug)]
pub(crate) struct EventQueue {
    queue: VecDeque<Event>,
    limit: usize,
    byte_limit: usize,
    bytes: usize,
    coalesced: u64,
    peak_len: usize,
    peak_bytes: usize,
}

/// What one queued event costs, in bytes: its slot plus a message's payload.
fn cost(event: &Event) -> usize {
    size_of::<Event>()
        + match event {
            Event::ChannelMessage(_, m) => m.data.len(),
            Event::RtpPacket { packet, .. } => packet.as_bytes().len(),
            Event::MediaFrame { frame, .. } => frame.frame.data.len(),
            _ => 0,
        }
}

/// Whether a newer `b` makes a queued `a` redundant (coalescing).
fn same_kind(a: &Event, b: &Event) -> bool {
    use Event as E;
    match (a, b) {
        (E::ChannelBufferedAmountLow(x), E::ChannelBufferedAmountLow(y)) => x == y,
        (
            E::KeyframeRequest {
                transceiver: x,
                rid: r,
                ..
            },
            E::KeyframeRequest {
                transceiver: y,
                rid: s,
                ..
            },
        ) => x == y && r == s,
        (
            E::ConnectionStateChange(_)
            | E::SignalingStateChange(_)
            | E::NegotiationNeeded
            | E::IceGatheringStateChange(_)
            | E::IceConnectionStateChange(_)
            | E::SelectedCandidatePairChange { .. }
            | E::BandwidthEstimate { .. }
            | E::DtlsStateChange(_)
            | E::SctpStateChange(_),
            _,
        ) => std::mem::discriminant(a) == std::mem::discriminant(b),
        _ => false,
    }
}

impl EventQueue {
    /// A queue that takes messages while it holds fewer than `limit` events
    /// and `byte_limit` bytes.
    pub(crate) fn new(limit: usize, byte_limit: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            limit,
            byte_limit,
            bytes: 0,
            coalesced: 0,
            peak_len: 0,
            peak_bytes: 0,
        }
    }

    /// Whether another message may be taken out of SCTP.
    pub(crate) fn has_room(&self) -> bool {
        self.queue.len() < self.limit && self.bytes < self.byte_limit
    }

    /// Queues `event`. A state change that arrives while the queue is full
    /// replaces the queued event of its kind (counted in
    /// [`coalesced`](Self::coalesced)); nothing is dropped.
    pub(crate) fn push(&mut self, event: Event) {
        if !self.has_room() {
            if let Some(i) = self.queue.iter().rposition(|q| same_kind(q, &event)) {
                if let Some(old) = self.queue.remove(i) {
                    self.bytes -= cost(&old);
                }
                self.coalesced += 1;
                tracing::debug!(?event, "event queue full, state change coalesced");
            }
        }
        self.bytes += cost(&event);
        self.queue.push_back(event);
        self.peak_len = self.peak_len.max(self.queue.len());
        self.peak_bytes = self.peak_bytes.max(self.bytes);
    }

    /// The oldest event.
    /// Gives back the queue's storage once it is empty: a connection's
    /// setup fills it with a burst of state changes, and an idle connection
    /// should not keep room for them (issue 13: heap per idle peer). Called
    /// on timer wakeups, not per event, so a busy queue keeps its room.
    pub(crate) fn trim(&mut self) {
        if self.queue.is_empty() {
            self.queue.shrink_to_fit();
        }
    }

    /// The room the queue holds now, in events.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.queue.capacity()
    }

    pub(crate) fn pop(&mut self) -> Option<Event> {
        let Some(e) = self.queue.pop_front() else {
            // Drained after a burst: give the room back at once; small
            // queues wait for `trim`.
            if self.queue.capacity() > 16 {
                self.queue.shrink_to_fit();
            }
            return None;
        };
        self.bytes -= cost(&e);
        Some(e)
    }

    /// Events queued now, and their bytes.
    pub(crate) fn usage(&self) -> EventQueueUsage {
        EventQueueUsage {
            len: self.queue.len(),
            bytes: self.bytes,
            peak_len: self.peak_len,
            peak_bytes: self.peak_bytes,
            coalesced: self.coalesced,
        }
    }
}

/// How full the queue of events not yet polled is, from
/// [`PeerConnection::event_queue_usage`](crate::PeerConnection::event_queue_usage).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventQueueUsage {
    /// Events queued now.
    pub len: usize,
    /// Their bytes: one `Event` each plus message payloads.
    pub bytes: usize,
    /// The most events ever queued at once.
    pub peak_len: usize,
    /// The most bytes ever queued at once.
    pub peak_bytes: usize,
    /// State changes replaced by a newer one of the same kind while the
    /// queue was full.
    pub coalesced: u64,
}

/// One output of the core, from `poll_output`.
#[derive(Debug)]
#[must_use = "outputs must be acted on: send transmits, handle events, arm the timer"]
pub enum Output {
    /// Send this.
    Transmit(Transmit),
    /// Something happened that the application should know.
    Event(Event),
    /// Nothing more to do now. Call again after new input, or at the given
    /// instant with [`Input::Timeout`](crate::Input::Timeout). `None` means
    /// no timer is armed: wait for input (or an API call) only.
    Timeout(Option<Instant>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: u8) -> Event {
        Event::ChannelMessage(
            ChannelId(0),
            DataChannelMessage {
                is_text: false,
                data: vec![n; 100],
            },
        )
    }

    #[test]
    fn a_full_queue_refuses_room_and_coalesces_state_changes_without_losing_any_kind() {
        let mut q = EventQueue::new(3, 1 << 20);
        q.push(Event::IceConnectionStateChange(
            IceConnectionState::Checking,
        ));
        q.push(msg(1));
        assert!(q.has_room());
        q.push(msg(2));
        assert!(!q.has_room());
        // Full: a state change replaces the queued one of its kind...
        q.push(Event::IceConnectionStateChange(
            IceConnectionState::Connected,
        ));
        assert_eq!(q.usage().len, 3);
        assert_eq!(q.usage().coalesced, 1);
        // ...and one of a kind not queued yet is still kept.
        q.push(Event::ConnectionStateChange(PeerConnectionState::Connected));
        q.push(Event::ChannelOpen(ChannelId(1)));
        let all: Vec<Event> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            all,
            vec![
                msg(1),
                msg(2),
                Event::IceConnectionStateChange(IceConnectionState::Connected),
                Event::ConnectionStateChange(PeerConnectionState::Connected),
                Event::ChannelOpen(ChannelId(1)),
            ]
        );
        assert_eq!(q.usage().len, 0);
        assert_eq!(q.usage().bytes, 0);
    }

    #[test]
    fn the_byte_bound_closes_the_queue_to_messages() {
        let per = cost(&msg(0));
        let mut q = EventQueue::new(1000, 2 * per);
        q.push(msg(1));
        assert!(q.has_room());
        q.push(msg(2));
        assert!(!q.has_room());
        assert_eq!(q.usage().bytes, 2 * per);
        assert!(q.pop().is_some());
        assert!(q.has_room());
        assert_eq!(q.usage().peak_bytes, 2 * per);
    }
}
