//! # eddy-runtime-common: what eddy's runtime adapters share
//!
//! Not for direct use: `eddy-tokio`, `eddy-async-std` and `eddy-mio` build
//! on it, so each of them is only the part that differs.
//!
//! - [`net`]: what needs the OS and no event loop: listing interface
//!   addresses, binding UDP sockets, resolving ICE server hostnames, adding
//!   host candidates (all three adapters);
//! - [`udp`]: batched UDP I/O (`recvmmsg`/`sendmmsg` with GRO and GSO on
//!   Linux, one datagram per call elsewhere; all three adapters);
//! - the async shape (the two async adapters): a [`Connection`] handle with
//!   `async` methods, [`DataChannel`]s with `send(..).await` and
//!   `recv().await`, and [`Events`]; behind them a driver written once
//!   against the small [`Runtime`] trait (spawn a task, UDP sockets, a
//!   timer, TCP streams and listeners), as quinn does. The driver opens
//!   TCP connections when the core sends to a new TCP destination (TURN
//!   over TCP and TLS, active ICE-TCP) and, with [`Builder::ice_tcp`],
//!   accepts them on listeners (passive ICE-TCP); see `driver_tcp.rs` for
//!   its bounds ([`MAX_TCP_CONNECTIONS`], [`MAX_TCP_BACKLOG`]).
//!
//! ## Drivers are tasks on the application's runtime
//!
//! Each [`Connection`] has a driver that owns its `PeerConnection`, reads
//! its sockets, arms its timer and runs what the handles ask. The core types
//! are `Send` (see `core/tests/send.rs`), and so is the driver: `Connection::new`
//! hands it to [`Runtime::spawn`], which runs it as one more task on the
//! application's runtime (`tokio::spawn` on the current tokio runtime, the
//! global executor that async-std's `task::spawn` uses). No connection has
//! an OS thread of its own: a thousand connections run on the runtime's
//! worker threads (the adapters' `tests/scale.rs` check the thread count).
//! A busy driver yields after a bounded number of turns, so one
//! connection's bulk transfer cannot starve the others.
//!
//! The handles are `Send` (the connection also `Clone`) and reach the
//! driver through `async-channel` queues, which work under any executor:
//! a tokio application awaits them as well as a smol one. Each handle's
//! request is a closure the driver runs against the peer.
//!
//! ## Backpressure
//!
//! [`DataChannel::send`] waits while the channel buffers more than
//! [`SEND_HIGH_WATER`] bytes; the driver sets each open channel's
//! `bufferedAmountLowThreshold` to [`SEND_LOW_WATER`] and sends what waits
//! on `ChannelBufferedAmountLow`. Received messages and events wait in
//! bounded queues ([`MAX_QUEUED_MESSAGES`], [`MAX_QUEUED_EVENTS`]).
// Only `udp`'s system calls need it, each with a `SAFETY:` comment.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod driver;
mod driver_mdns;
mod driver_tcp;
mod handle;
pub mod mdns;
pub mod net;
mod state;
pub mod udp;

pub use driver::{Interest, Runtime, TcpIo, TcpListenerIo, Timer, UdpIo};
pub use driver_tcp::{MAX_TCP_BACKLOG, MAX_TCP_CONNECTIONS};
pub use handle::{Builder, Connection, DataChannel, Error, Events};
pub use state::{
    DriverStats, MAX_PENDING_CHANNELS, MAX_QUEUED_EVENTS, MAX_QUEUED_MESSAGES, SEND_HIGH_WATER,
    SEND_LOW_WATER,
};
