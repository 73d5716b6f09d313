//! Events: the web's event handlers, as values the application polls.

use std::net::SocketAddr;
use std::time::Instant;

use crate::dtls::DtlsTransportState;
use crate::ice::{IceConnectionState, IceGatheringState};
use crate::io::{Protocol, Transmit};
use crate::peer::{PeerConnectionState, SignalingState};
use crate::sctp::{ChannelId, DataChannelMessage, SctpTransportState};
use crate::sdp::IceCandidate;

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
}

/// The bounded queue of events not yet polled (ARCHITECTURE.md §5.3).
#[derive(Debug)]
pub(crate) struct EventQueue {
    queue: std::collections::VecDeque<Event>,
    limit: usize,
    dropped: u64,
}

impl EventQueue {
    /// A queue that holds at most `limit` events.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            queue: std::collections::VecDeque::new(),
            limit,
            dropped: 0,
        }
    }

    /// Queues `event`; when the queue is full the event is dropped, counted
    /// and logged: an application that never polls cannot grow memory.
    pub(crate) fn push(&mut self, event: Event) {
        if self.queue.len() >= self.limit {
            self.dropped += 1;
            tracing::warn!(?event, "event queue full, event dropped");
            return;
        }
        self.queue.push_back(event);
    }

    /// The oldest event.
    pub(crate) fn pop(&mut self) -> Option<Event> {
        self.queue.pop_front()
    }

    /// Events dropped because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
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

    #[test]
    fn a_full_queue_drops_and_counts() {
        let mut q = EventQueue::new(2);
        for _ in 0..5 {
            q.push(Event::ConnectionStateChange(PeerConnectionState::New));
        }
        assert_eq!(q.dropped(), 3);
        assert!(q.pop().is_some());
        assert!(q.pop().is_some());
        assert!(q.pop().is_none());
    }
}
