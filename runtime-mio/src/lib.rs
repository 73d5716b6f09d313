//! # eddy-mio: eddy on a mio event loop
//!
//! This crate will drive eddy's sans-IO core from a [`mio`] poll loop: bind
//! UDP sockets (and a TCP listener for passive ICE-TCP), turn the machine's
//! interfaces into host candidates, resolve `IceServer` hostnames, deliver
//! received datagrams with their local address, send the core's transmits,
//! sleep until the next timeout, and let a game engine step it once per
//! frame with `poll(timeout)`.
//!
//! Status: the routing of many connections over shared sockets lives in the
//! core's `endpoint` module, which is not built yet (see the README's
//! feature table), so this crate exposes nothing yet. Until then, the run
//! loop in the `eddy` crate documentation is the whole contract.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use mio;
