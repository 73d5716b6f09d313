//! `PeerConnection`: the W3C RTCPeerConnection as a sans-IO state machine.

use std::time::{Duration, Instant, SystemTime};

use crate::config::Configuration;
use crate::error::{ConfigError, InputError};
use crate::event::Output;
use crate::event::{Event, EventQueue, EventQueueUsage};
use crate::io::{Input, Transmit};
use crate::rng::Rng;
use crate::stats::Dropped;
use crate::timer::{Timer, TimerTable};

mod channel;
mod dtmf;
mod get_stats;
mod identity;
mod jsep;
mod jsep_build;
mod jsep_strict;
#[cfg(test)]
mod jsep_tests;
mod media;
mod media_bwe;
mod media_frames;
mod media_pacing;
mod media_params;
mod media_rtcp;
#[cfg(all(test, feature = "sim"))]
mod media_tests;
mod rtp_handles;
mod rtp_types;
#[cfg(test)]
pub(crate) use rtp_types::fixed_for_test as rtp_types_fixed;
mod stack;
mod stack_turn;
mod transceiver;
mod wire;

pub use crate::state::{PeerConnectionState, SignalingState};
pub use crate::stats::InputCounters;
pub use channel::DataChannel;
pub use dtmf::{DtmfError, DtmfSender, MAX_TONE_BUFFER};
pub use identity::{
    IdentityAssertion, IdentityAssertionResult, IdentityErrorEvent, IdentityProvider,
    IdentityProviderDetails, IdentityProviderOptions, IdentityValidationResult, IdpError,
    IdpErrorDetail, MAX_IDENTITY_ATTRIBUTE_LEN,
};
pub use jsep::{MAX_REMOTE_CANDIDATES_PER_MLINE, MAX_TRANSCEIVERS};
pub use media::KeyframeRequestKind;
pub use media_frames::MediaFrame;
pub use media_pacing::PacerStats;
pub use rtp_handles::{RtpReceiver, RtpSender};
pub use rtp_types::{
    AudioLevel, MediaStreamTrack, RtpCodecParameters, RtpContributingSource, RtpEncodingParameters,
    RtpHeaderExtensionParameters, RtpPacketReceived, RtpParameters, RtpWrite,
};
pub use transceiver::{
    RtpTransceiver, SendEncoding, TransceiverId, TransceiverInit, MAX_RID_LEN,
    MAX_SIMULCAST_ENCODINGS,
};

/// How long without a datagram before a timer wakeup gives back the room
/// the connection's queues grew to (as DTLS's own buffers, `IDLE_AFTER`).
const TRIM_AFTER: Duration = Duration::from_secs(1);

/// A WebRTC peer connection (W3C RTCPeerConnection), with no I/O.
///
/// Kinds of methods:
/// - **construction**: [`PeerConnection::new`];
/// - **input**: [`handle_input`](Self::handle_input) with a datagram or the
///   current time;
/// - **output**: [`poll_output`](Self::poll_output), called until it returns
///   [`Output::Timeout`] — transmits first, then events, then the next
///   timeout;
/// - **signaling** (JSEP, RFC 9429): [`create_offer`](Self::create_offer),
///   [`create_answer`](Self::create_answer),
///   [`set_local_description`](Self::set_local_description),
///   [`set_remote_description`](Self::set_remote_description),
///   [`add_ice_candidate`](Self::add_ice_candidate),
///   [`restart_ice`](Self::restart_ice); they queue
///   [`Event::SignalingStateChange`](crate::Event::SignalingStateChange) and
///   [`Event::NegotiationNeeded`](crate::Event::NegotiationNeeded);
/// - **handles**: [`add_transceiver`](Self::add_transceiver) and
///   [`transceiver`](Self::transceiver);
/// - **getters**: [`connection_state`](Self::connection_state),
///   [`signaling_state`](Self::signaling_state),
///   [`counters`](Self::counters).
///
/// See the crate documentation for a run loop.
///
/// Limits that keep a connection bounded whatever the peer or the
/// application does:
/// - no event is dropped: while the application has not taken
///   [`Configuration::max_queued_events`] events (or
///   [`Configuration::max_queued_event_bytes`]), data channel messages wait
///   in SCTP, whose receive window makes the peer wait too, and state
///   changes are coalesced ([`InputCounters::coalesced_events`]);
/// - ICE gives up after [`Configuration::ice_checking_timeout`] in
///   `checking` without a successful check, so a connection that never gets
///   a remote description arms no timer at all after that time (or, if no
///   peer's check ever arrives, once server-reflexive gathering ended, about
///   7.5 s): [`poll_timeout`](Self::poll_timeout) returns `None`.
#[derive(Debug)]
pub struct PeerConnection {
    config: Configuration,
    rng: Rng,
    timers: TimerTable,
    events: EventQueue,
    state: PeerConnectionState,
    /// The latest time seen; inputs from before it are taken as happening at
    /// it, so a runtime's clock hiccup cannot move the core backwards.
    now: Instant,
    /// When the last datagram arrived (or the connection was made): the
    /// queues' room is given back only at a wakeup [`TRIM_AFTER`] later.
    last_receive: Instant,
    /// `(now at construction, wall clock then)`: the one anchor from which
    /// wall-clock times are derived.
    anchor: (Instant, SystemTime),
    /// JSEP: signaling state, descriptions, transceivers (`jsep.rs`).
    pub(crate) jsep: jsep::Jsep,
    /// The local DTLS certificate fingerprints offered in `a=fingerprint`,
    /// as `(hash name, digest)`. The DTLS layer replaces them with its
    /// certificate's; until then they are a SHA-256 of 32 bytes from the
    /// connection's RNG, so every SDP is complete and seeded runs repeat.
    pub(crate) local_fingerprints: Vec<(String, Vec<u8>)>,
    /// ICE, DTLS, SCTP and SRTP under the connection (`wire.rs`).
    pub(crate) stack: stack::Stack,
    /// Senders, receivers and what each transceiver negotiated (`media.rs`).
    pub(crate) media: media::Media,
    /// Gathering as the application sees it (`wire.rs`).
    pub(crate) gathering: wire::Gathering,
    /// Data channels opened and closed (W3C RTCPeerConnectionStats).
    pub(crate) channel_counts: (u64, u64),
    /// Times the selected candidate pair changed (W3C RTCTransportStats).
    pub(crate) selected_pair_changes: u64,
    /// The identity provider and the peer's validated identity (`identity.rs`).
    pub(crate) identity: identity::IdentityState,
    /// With `mdns_host_candidates`: the `<uuid>.local` name of each host
    /// address signaled (`wire.rs`).
    pub(crate) mdns_names: Vec<(std::net::IpAddr, String)>,
}

impl PeerConnection {
    /// A new connection at time `now`.
    ///
    /// Fails if the configuration is invalid, or if no seed is given and
    /// OpenSSL's CSPRNG cannot be read.
    pub fn new(config: Configuration, now: Instant) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut rng = match config.seed {
            Some(seed) => Rng::from_seed(seed),
            None => Rng::from_entropy().map_err(|e| ConfigError::Crypto(e.to_string()))?,
        };
        let jsep = jsep::Jsep::new(&mut rng);
        let stack = stack::Stack::new(&config, &mut rng, jsep.local_ice.clone(), now)?;
        let fp = stack.certificate.fingerprint();
        let local_fingerprints = vec![(fp.hash, fp.bytes)];
        Ok(Self {
            jsep,
            local_fingerprints,
            stack,
            media: media::Media::default(),
            gathering: wire::Gathering::default(),
            channel_counts: (0, 0),
            selected_pair_changes: 0,
            identity: identity::IdentityState::default(),
            mdns_names: Vec::new(),
            events: EventQueue::new(config.max_queued_events, config.max_queued_event_bytes),
            anchor: (now, config.wall_clock_anchor()),
            config,
            rng,
            timers: TimerTable::default(),
            state: PeerConnectionState::New,
            now,
            last_receive: now,
        })
    }

    /// Feeds one input: a received datagram or the passing of time.
    ///
    /// A peer's bad bytes are never an error: they are dropped and counted
    /// in [`counters`](Self::counters). The only error is using a closed
    /// connection.
    pub fn handle_input(&mut self, input: Input<'_>) -> Result<(), InputError> {
        self.now = self.now.max(input.time());
        if self.state == PeerConnectionState::Closed {
            if let Input::Receive(..) = input {
                self.stack.counters.count_drop(Dropped::Closed);
            }
            return Err(InputError::Closed);
        }
        match input {
            Input::Receive(_, receive) => {
                self.last_receive = self.now;
                let stun = self.stack.handle_receive(self.now, receive);
                if stun && self.stack.pump_ice_only(self.now) {
                    self.timers
                        .set_opt(Timer::Ice, self.stack.poll_timeout(Timer::Ice));
                } else {
                    self.pump_layers();
                }
            }
            Input::Timeout(_) => self.handle_timeout(),
        }
        Ok(())
    }

    fn handle_timeout(&mut self) {
        // A timer wakeup is where an idle connection ends up: give back
        // the room its queues grew to during setup (issue 13). Not at the
        // timers of a setup that is still exchanging datagrams (three a
        // connection, due at the instant a datagram arrived): its queues
        // would fill again at once.
        if self.now.saturating_duration_since(self.last_receive) >= TRIM_AFTER {
            self.events.trim();
            self.stack.trim();
            self.jsep.trim();
        }
        let fired: smallvec::SmallVec<[Timer; 4]> = self.timers.take_expired(self.now).collect();
        for &timer in &fired {
            tracing::trace!(?timer, "timer fired");
            match timer {
                Timer::Media => self.on_media_timeout(),
                _ => self.stack.handle_timeout(self.now, timer),
            }
        }
        // ICE's timer alone (an idle connection's consent check): only ICE
        // moved, as after a STUN datagram.
        if fired.as_slice() == [Timer::Ice] && self.stack.pump_ice_only_on_timer(self.now) {
            self.timers
                .set_opt(Timer::Ice, self.stack.poll_timeout(Timer::Ice));
        } else if !fired.is_empty() {
            self.pump_layers();
        }
    }

    /// The next output. Call until it returns [`Output::Timeout`]: it is
    /// [`poll_transmit`](Self::poll_transmit), then
    /// [`poll_event`](Self::poll_event), then
    /// [`poll_timeout`](Self::poll_timeout).
    pub fn poll_output(&mut self) -> Output {
        if let Some(t) = self.poll_transmit() {
            return Output::Transmit(t);
        }
        if let Some(e) = self.poll_event() {
            return Output::Event(e);
        }
        Output::Timeout(self.poll_timeout())
    }

    /// The next datagram to send, if any. An application that is slow to
    /// handle events can keep the network moving with this alone.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.stack.poll_transmit()
    }

    /// Gives back a sent [`Transmit`]'s buffer for a later datagram.
    /// Optional: a busy connection then takes no allocation for a full
    /// datagram it sends (a datagram leaves in the buffer it was sealed in;
    /// a small one, an ACK, is copied out at its size). A few buffers are
    /// kept; the rest are dropped.
    pub fn recycle_transmit(&mut self, contents: Vec<u8>) {
        self.stack.recycle_transmit(contents);
    }

    /// The next event, if any. Taking one makes room: data channel messages
    /// that waited in SCTP for it (see
    /// [`Configuration::max_queued_events`]) come in again, and their
    /// acknowledgements may queue transmits.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.events.pop()?;
        if self.stack.sctp.has_ready_messages() && self.events.has_room() {
            self.pump_layers();
        }
        Some(e)
    }

    /// When to call [`handle_input`](Self::handle_input) with
    /// [`Input::Timeout`] next; `None`: no timer is armed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next().map(|(_, at)| at)
    }

    /// How many events wait for the application, and their bytes (the
    /// queue's memory; bounded by [`Configuration::max_queued_events`] and
    /// [`Configuration::max_queued_event_bytes`]).
    pub fn event_queue_usage(&self) -> EventQueueUsage {
        self.events.usage()
    }

    /// Closes the connection (W3C `close()`): every state becomes closed.
    /// As in the browser, no state-change event fires for it.
    pub fn close(&mut self) {
        if self.state == PeerConnectionState::Closed {
            return;
        }
        self.stack.close();
        self.state = PeerConnectionState::Closed;
        self.jsep.close();
        for t in Timer::ALL {
            self.timers.stop(t);
        }
    }

    /// The aggregate state (W3C `connectionState`).
    pub fn connection_state(&self) -> PeerConnectionState {
        self.state
    }

    /// Counters of what arrived and what was dropped.
    pub fn counters(&self) -> InputCounters {
        InputCounters {
            coalesced_events: self.events.usage().coalesced,
            ..self.stack.counters
        }
    }

    /// The configuration the connection was built with.
    pub fn configuration(&self) -> &Configuration {
        &self.config
    }

    /// Wall-clock time at `at`, derived from the construction anchor.
    pub fn wall_clock_at(&self, at: Instant) -> SystemTime {
        let (i0, w0) = self.anchor;
        if at >= i0 {
            w0 + (at - i0)
        } else {
            w0.checked_sub(i0 - at).unwrap_or(SystemTime::UNIX_EPOCH)
        }
    }

    /// The latest time the connection has seen.
    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    /// Whether a STUN binding request carries a valid MESSAGE-INTEGRITY for
    /// the ufrag it names as ours (RFC 8445 §7.3: the key is our password).
    pub(crate) fn authenticates(&self, msg: &crate::stun::StunMessage<'_>) -> bool {
        let Some(local) = msg.username().and_then(|u| u.split(':').next()) else {
            return false;
        };
        self.stack
            .ice
            .local_password(local)
            .is_some_and(|pwd| msg.check_integrity(pwd.as_bytes()) == crate::stun::Integrity::Valid)
    }

    #[cfg(test)]
    pub(crate) fn rng_mut(&mut self) -> &mut Rng {
        &mut self.rng
    }
}

#[cfg(test)]
mod tests;
