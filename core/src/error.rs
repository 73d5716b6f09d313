//! Error types, one per kind of operation, with W3C error names where the
//! browser has one.
//!
//! A peer's bad packet is never an `Err`: it is dropped, counted and logged.

use thiserror::Error;

use crate::sdp::SdpParseError;

/// A [`Configuration`](crate::Configuration) value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The MTU is outside 576..=9000.
    #[error("mtu {0} is outside 576..=9000")]
    Mtu(usize),
    /// A limit that must be positive was zero.
    #[error("{0} must be greater than zero")]
    ZeroLimit(&'static str),
    /// An ICE server URL is not `stun:`, `stuns:`, `turn:` or `turns:`
    /// (W3C: SyntaxError).
    #[error("SyntaxError: bad ICE server URL {0:?}")]
    IceServerUrl(String),
    /// A TURN server lacks a username or credential (W3C: InvalidAccessError).
    #[error("InvalidAccessError: TURN server {0:?} needs a username and credential")]
    TurnCredentials(String),
    /// OpenSSL could not give the randomness or keys the connection needs.
    #[error("OperationError: crypto setup failed: {0}")]
    Crypto(String),
}

/// An input was refused. This is about the caller's use of the API, never
/// about the peer's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InputError {
    /// The connection is closed (W3C: InvalidStateError).
    #[error("InvalidStateError: the connection is closed")]
    Closed,
}

/// A JSEP call (`create_offer`, `set_local_description`, ...) was refused,
/// with the W3C error the browser would throw. A refused call changes
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum JsepError {
    /// The call is not valid in the current state (W3C: InvalidStateError).
    #[error("InvalidStateError: {0}")]
    InvalidState(&'static str),
    /// The description is well-formed but unusable (W3C: InvalidAccessError).
    #[error("InvalidAccessError: {0}")]
    InvalidAccess(String),
    /// The description is not the one created, or a codec preference is not
    /// supported (W3C: InvalidModificationError).
    #[error("InvalidModificationError: {0}")]
    InvalidModification(&'static str),
    /// The SDP does not parse (W3C: RTCError "sdp-syntax-error", with the
    /// line number).
    #[error("SyntaxError: {0}")]
    Syntax(#[from] SdpParseError),
    /// The operation cannot be done (W3C: OperationError).
    #[error("OperationError: {0}")]
    Operation(String),
    /// An argument has the wrong shape (W3C: TypeError).
    #[error("TypeError: {0}")]
    Type(&'static str),
}

/// An [`Endpoint`](crate::endpoint::Endpoint) call was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// The endpoint already has its
    /// [`max_peers`](crate::endpoint::EndpointConfig::max_peers) peers (W3C
    /// has no such limit; named like the browser's OperationError). The
    /// refusal is counted in
    /// [`EndpointCounters::refused_peers`](crate::endpoint::EndpointCounters::refused_peers).
    #[error("OperationError: the endpoint already has its maximum of {0} peers")]
    TooManyPeers(usize),
    /// A limit that must be positive was zero.
    #[error("{0} must be greater than zero")]
    ZeroLimit(&'static str),
}

/// An RTP packet could not be sent (`RtpSender::write_rtp`) or an RTCP
/// request made. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MediaSendError {
    /// The transceiver's negotiated direction does not send (or receive,
    /// for a receiver's request), or nothing was negotiated yet (W3C:
    /// InvalidStateError).
    #[error("InvalidStateError: not negotiated to send")]
    NotSending,
    /// The payload type is not one of the negotiated codecs.
    #[error("payload type {0} was not negotiated")]
    PayloadType(u8),
    /// DTLS has not connected (no SRTP keys) or ICE has no selected pair.
    #[error("not connected")]
    NotConnected,
    /// The packet would be larger than the configured MTU allows.
    #[error("packet of {0} bytes does not fit the MTU")]
    TooLarge(usize),
    /// More than 15 CSRCs.
    #[error("more than 15 CSRCs")]
    TooManyCsrcs,
    /// SRTP refused to protect it.
    #[error("SRTP: {0}")]
    Srtp(crate::srtp::SrtpError),
    /// `write_frame` with a codec eddy has no packetizer for (the MIME
    /// type), or a frame the packetizer refused.
    #[error("frame not packetized: {0}")]
    Frame(String),
}
