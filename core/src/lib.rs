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
//! ```no_run
//! use std::net::UdpSocket;
//! use std::time::Instant;
//! use eddy::{Configuration, Input, Output, PeerConnection, Protocol, Receive};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The runtime owns the clock; the core only ever sees its readings.
//! let clock = Instant::now;
//! let socket = UdpSocket::bind("127.0.0.1:0")?;
//! let local = socket.local_addr()?;
//! let mut pc = PeerConnection::new(Configuration::default(), clock())?;
//! let mut buf = vec![0u8; 2048];
//! loop {
//!     // Drain everything the core has to say.
//!     let deadline = loop {
//!         match pc.poll_output() {
//!             Output::Transmit(t) => {
//!                 socket.send_to(&t.contents, t.destination)?;
//!             }
//!             Output::Event(event) => println!("{event:?}"),
//!             Output::Timeout(at) => break at,
//!         }
//!     };
//!     // Sleep until a datagram arrives or the deadline passes.
//!     let wait = deadline.map(|at| at.saturating_duration_since(clock()));
//!     socket.set_read_timeout(wait.filter(|d| !d.is_zero()))?;
//!     match socket.recv_from(&mut buf) {
//!         Ok((n, source)) => pc.handle_input(Input::Receive(
//!             clock(),
//!             Receive { proto: Protocol::Udp, source, destination: local, contents: &buf[..n] },
//!         ))?,
//!         Err(_) => pc.handle_input(Input::Timeout(clock()))?,
//!     }
//! }
//! # }
//! ```
//!
//! The loop above is the whole contract between a runtime and the core; the
//! adapter crates (`eddy-mio`, `eddy-tokio`, `eddy-async-std`) are it, for
//! many connections and sockets at once.
//!
//! ## Time
//!
//! Every input carries a local monotonic `Instant`. Wall-clock time (RTCP
//! NTP timestamps) is derived from one anchor,
//! [`Configuration::wall_clock`], taken at construction. RTP media clocks
//! are derived per stream from the same instants.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod demux;
mod dtls;
pub mod endpoint;
mod error;
mod event;
pub mod ice;
mod io;
mod peer;
mod rng;
mod sctp;
mod sdp;
pub mod srtp;
// The STUN codec is public only to the fuzz targets (STYLE.md: codec
// internals reachable for fuzzing under `cfg(fuzzing)` only).
#[cfg(fuzzing)]
pub mod stun;
#[cfg(not(fuzzing))]
mod stun;
mod timer;

#[cfg(feature = "sim")]
pub mod sim;

#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod testutil;

pub use config::{BundlePolicy, Configuration, IceServer, IceTransportPolicy, RtcpMuxPolicy};
pub use dtls::{
    Certificate, CertificateError, DtlsRole, DtlsTransportState, DtlsVersion, KeyAlgorithm,
    DEFAULT_CERTIFICATE_LIFETIME,
};
pub use error::{ConfigError, InputError, JsepError};
pub use event::Event;
pub use ice::{IceConnectionState, IceGatheringState};
pub use io::{Input, Output, Protocol, Receive, Transmit};
pub use peer::{
    DataChannel, InputCounters, PeerConnection, PeerConnectionState, RtpTransceiver,
    SignalingState, TransceiverId, TransceiverInit, MAX_REMOTE_CANDIDATES_PER_MLINE,
    MAX_TRANSCEIVERS,
};
pub use sctp::{
    ChannelId, DataChannelError, DataChannelInit, DataChannelMessage, DataChannelState,
    SctpTransportState,
};
pub use sdp::{
    Attribute, Bandwidth, CandidateAddress, CandidateKind, CandidateParseError, CandidateTransport,
    Connection, Direction, Extmap, Fingerprint, Fmtp, Group, IceAttributes, IceCandidate,
    MediaDescription, MediaKind, MediaType, Msid, MsidSemantic, Origin, Rid, RidDirection, RtcpFb,
    RtpCodecCapability, RtpMap, Sdp, SdpCandidate, SdpErrorReason, SdpParseError, SdpType,
    SessionAttributes, SessionDescription, Setup, Simulcast, SimulcastRid, SsrcAttribute,
    SsrcGroup, TcpType, Timing,
};
