//! # eddy-async-std: eddy for async-std and smol applications
//!
//! async-std itself is discontinued (RUSTSEC-2025-0052), so this crate is
//! built on `async-io` and `async-net`, the reactor async-std runs on: it
//! works under async-std's executor and under smol. It will offer the same
//! shape as `eddy-tokio`: an owned `PeerConnection` handle with `async`
//! methods, data channels with `send(..).await` / `recv().await`, and a
//! stream of events.
//!
//! Status: it depends on the core's `endpoint` module and data channels,
//! which are not built yet (see the README's feature table), so this crate
//! exposes nothing yet.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use async_io;
pub use async_net;
