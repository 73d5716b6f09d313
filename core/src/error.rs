//! Error types, one per kind of operation, with W3C error names where the
//! browser has one.
//!
//! A peer's bad packet is never an `Err`: it is dropped, counted and logged.

use thiserror::Error;

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
