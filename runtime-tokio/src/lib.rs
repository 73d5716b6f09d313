//! # eddy-tokio: eddy on tokio
//!
//! This crate will offer the familiar async shape over eddy's sans-IO core:
//! an owned `PeerConnection` handle with `async` methods, data channels with
//! `send(..).await` and `recv().await`, and a stream of events, with one
//! task driving the core over tokio UDP sockets and timers.
//!
//! Status: it depends on the core's `endpoint` module and data channels,
//! which are not built yet (see the README's feature table), so this crate
//! exposes nothing yet.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use tokio;
