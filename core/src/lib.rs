//! # eddy: WebRTC as a deterministic, sans-IO state machine
//!
//! eddy is the browser's WebRTC API for Rust programs that are not browsers.
//! Its core does no I/O: it reads no clock, opens no socket, spawns no
//! thread and draws every random number from one seeded generator. It takes
//! datagrams and timestamps and gives back transmits, events and its next
//! timeout, so the same inputs give the same outputs — in a game loop, under
//! any async runtime, or in the seeded network simulator (`sim`, feature
//! `sim`) at thousands of times real speed.
//!
//! ## The run loop
//!
//! A complete program: two peers in one process, each with a UDP socket on
//! loopback, exchange descriptions, connect and pass a message over a data
//! channel. A real application sends the descriptions over its signaling
//! channel instead and drives one peer.
//!
//! ```
//! use std::net::{SocketAddr, UdpSocket};
//! use std::time::{Duration, Instant};
//! use eddy::{
//!     Configuration, DataChannelInit, Event, Input, Output, PeerConnection, Protocol, Receive,
//! };
//!
//! struct Peer {
//!     pc: PeerConnection,
//!     socket: UdpSocket,
//!     local: SocketAddr,
//! }
//!
//! impl Peer {
//!     fn new(now: Instant) -> Result<Self, Box<dyn std::error::Error>> {
//!         let socket = UdpSocket::bind("127.0.0.1:0")?;
//!         let local = socket.local_addr()?;
//!         let mut pc = PeerConnection::new(Configuration::default(), now)?;
//!         // The core lists no interfaces: the runtime adds each bound
//!         // address as a host candidate, then ends gathering.
//!         pc.add_local_candidate(local, Protocol::Udp)?;
//!         pc.end_of_local_candidates();
//!         Ok(Self { pc, socket, local })
//!     }
//!
//!     /// Drains what the core has to say, then waits for one datagram or
//!     /// the core's deadline (clamped to `slice`, as one thread serves two
//!     /// peers here), and hands it in.
//!     fn turn(&mut self, clock: fn() -> Instant, slice: Duration, events: &mut Vec<Event>)
//!         -> Result<(), Box<dyn std::error::Error>>
//!     {
//!         let deadline = loop {
//!             match self.pc.poll_output() {
//!                 Output::Transmit(t) => {
//!                     self.socket.send_to(&t.contents, t.destination)?;
//!                 }
//!                 Output::Event(event) => events.push(event),
//!                 Output::Timeout(at) => break at,
//!             }
//!         };
//!         let now = clock();
//!         let wait = deadline.map_or(slice, |at| at.saturating_duration_since(now).min(slice));
//!         // A deadline already passed means "handle the timeout now":
//!         // never turn it into a read that blocks (a zero read timeout
//!         // would mean "block forever").
//!         if wait.is_zero() {
//!             self.pc.handle_input(Input::Timeout(now))?;
//!             return Ok(());
//!         }
//!         self.socket.set_read_timeout(Some(wait))?;
//!         let mut buf = [0u8; 2048];
//!         match self.socket.recv_from(&mut buf) {
//!             Ok((n, source)) => self.pc.handle_input(Input::Receive(
//!                 clock(),
//!                 Receive { proto: Protocol::Udp, source, destination: self.local, contents: &buf[..n] },
//!             ))?,
//!             Err(_) => self.pc.handle_input(Input::Timeout(clock()))?,
//!         }
//!         Ok(())
//!     }
//! }
//!
//! # #[allow(clippy::disallowed_methods)]
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // The runtime owns the clock; the core only ever sees its readings.
//!     let clock: fn() -> Instant = Instant::now;
//!     let (mut alice, mut bob) = (Peer::new(clock())?, Peer::new(clock())?);
//!     let channel = alice.pc.create_data_channel("chat", &DataChannelInit::default())?;
//!
//!     // Offer and answer (the signaling channel's job). The local
//!     // description, read after it is set, carries the candidates.
//!     let offer = alice.pc.create_offer()?;
//!     alice.pc.set_local_description(offer)?;
//!     let offer = alice.pc.local_description().cloned().ok_or("no offer")?;
//!     bob.pc.set_remote_description(offer)?;
//!     let answer = bob.pc.create_answer()?;
//!     bob.pc.set_local_description(answer)?;
//!     let answer = bob.pc.local_description().cloned().ok_or("no answer")?;
//!     alice.pc.set_remote_description(answer)?;
//!
//!     let give_up = clock() + Duration::from_secs(20);
//!     let slice = Duration::from_millis(5);
//!     let mut events = Vec::new();
//!     let received = loop {
//!         assert!(clock() < give_up, "the peers did not connect");
//!         alice.turn(clock, slice, &mut events)?;
//!         for event in events.drain(..) {
//!             if event == Event::ChannelOpen(channel) {
//!                 if let Some(mut dc) = alice.pc.data_channel(channel) {
//!                     dc.send_text("hello, bob")?;
//!                 }
//!             }
//!         }
//!         bob.turn(clock, slice, &mut events)?;
//!         if let Some(text) = events.drain(..).find_map(|event| match event {
//!             Event::ChannelMessage(_, message) => String::from_utf8(message.data).ok(),
//!             _ => None,
//!         }) {
//!             break text;
//!         }
//!     };
//!     assert_eq!(received, "hello, bob");
//!     Ok(())
//! }
//! ```
//!
//! The loop above is the whole contract between a runtime and the core; the
//! adapter crates (`eddy-mio`, `eddy-tokio`, `eddy-async-std`) are it, for
//! many connections and sockets at once. The [`guide`] has complete
//! programs for a server's own event loop (many peers on one socket), tests
//! in the network simulator, and a game loop.
//!
//! ## Time
//!
//! Every input carries a local monotonic `Instant`. Wall-clock time (RTCP
//! NTP timestamps) is derived from one anchor,
//! [`Configuration::wall_clock`], taken at construction. RTP media clocks
//! are derived per stream from the same instants.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

// Congestion control (issue 18), standalone: the peer wiring is next.
#[allow(dead_code)]
pub(crate) mod bwe;
mod candidate_type;
mod config;
mod demux;
mod dtls;
pub mod endpoint;
mod error;
mod event;
mod fingerprint;
pub mod guide;
mod hmac;
pub mod ice;
mod io;
mod json;
pub mod mdns;
// The stateful media blocks (issue 14): not wired into `peer/` yet.
pub(crate) mod media;
pub use media::codec;
mod peer;
mod rng;
mod room;
// The RTP/RTCP codecs are public only to the fuzz targets, like `stun`.
#[cfg(fuzzing)]
pub mod rtp;
#[cfg(not(fuzzing))]
mod rtp;
mod sctp;
mod sdp;
pub mod srtp;
mod state;
mod stats;
// The fields are the W3C dictionary members of the same (camelCase) name.
#[allow(missing_docs)]
pub mod stats_report;
// The STUN codec is public only to the fuzz targets (codec
// internals reachable for fuzzing under `cfg(fuzzing)` only).
#[cfg(fuzzing)]
pub mod stun;
#[cfg(not(fuzzing))]
mod stun;
mod timer;
// Public for the fuzz target (`turn_client`) only.
#[cfg(fuzzing)]
pub mod turn;
#[cfg(not(fuzzing))]
mod turn;

#[cfg(feature = "sim")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim")))]
pub mod sim;

#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod testutil;

pub use config::{
    BundlePolicy, Configuration, IceServer, IceTransportPolicy, RtcpMuxPolicy,
    DEFAULT_MAX_QUEUED_EVENTS, DEFAULT_MAX_QUEUED_EVENT_BYTES,
};
pub use dtls::{
    Certificate, CertificateError, DtlsFailure, DtlsRole, DtlsStats, DtlsTransportState,
    DtlsVersion, KeyAlgorithm, DEFAULT_CERTIFICATE_LIFETIME,
};
pub use error::{ConfigError, InputError, JsepError, MediaSendError};
pub use event::{Event, EventQueueUsage, Output};
pub use ice::{IceConnectionState, IceGatheringState, IceStats};
pub use io::{Input, Protocol, Receive, Transmit};
pub use peer::{
    AudioLevel, DataChannel, DtmfError, DtmfSender, IdentityAssertion, IdentityAssertionResult,
    IdentityErrorEvent, IdentityProvider, IdentityProviderDetails, IdentityProviderOptions,
    IdentityValidationResult, IdpError, IdpErrorDetail, InputCounters, KeyframeRequestKind,
    MediaFrame, MediaStreamTrack, PacerStats, PeerConnection, PeerConnectionState,
    RtpCodecParameters, RtpContributingSource, RtpEncodingParameters, RtpHeaderExtensionParameters,
    RtpPacketReceived, RtpParameters, RtpReceiver, RtpSender, RtpTransceiver, RtpWrite,
    SendEncoding, SignalingState, TransceiverId, TransceiverInit, MAX_IDENTITY_ATTRIBUTE_LEN,
    MAX_REMOTE_CANDIDATES_PER_MLINE, MAX_RID_LEN, MAX_SIMULCAST_ENCODINGS, MAX_TONE_BUFFER,
    MAX_TRANSCEIVERS,
};
pub use sctp::{
    ChannelId, DataChannelError, DataChannelInit, DataChannelMessage, DataChannelState,
    SctpCounters, SctpTransportState,
};
pub use sdp::{
    Attribute, Bandwidth, CandidateAddress, CandidateKind, CandidateParseError, CandidateTransport,
    Connection, Direction, Extmap, Fingerprint, Fmtp, Group, IceAttributes, IceCandidate,
    MediaDescription, MediaKind, MediaType, Msid, MsidSemantic, Origin, Rid, RidDirection, RtcpFb,
    RtpCodecCapability, RtpMap, Sdp, SdpCandidate, SdpErrorReason, SdpParseError, SdpType,
    SessionAttributes, SessionDescription, Setup, Simulcast, SimulcastRid, SsrcAttribute,
    SsrcGroup, TcpType, Timing,
};
pub use stats::{ConnectionStats, Dropped};
