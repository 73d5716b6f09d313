//! The driving types: what goes into the core (and the datagrams that come
//! out; `Output`, which also carries events, is in `event`). This module
//! imports no layer, so the layers may all use it.
//!
//! Three time domains meet in eddy. Every input carries a local monotonic
//! [`Instant`]; the core keeps no other clock. RTP media time (90 kHz,
//! 48 kHz, ...) is derived per stream from those instants, and the NTP
//! wall-clock in RTCP sender reports is derived from one `(Instant,
//! SystemTime)` anchor given in [`Configuration`](crate::Configuration).

use std::net::SocketAddr;
use std::time::Instant;

/// The transport a datagram travelled on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// Plain UDP datagrams.
    Udp,
    /// TCP, with RFC 4571 framing done by the core (ICE-TCP, TURN over TCP):
    /// `contents` is a chunk of the byte stream.
    Tcp,
    /// TLS over TCP (TURN over TLS): `contents` is a chunk of the decrypted
    /// byte stream; the runtime terminates TLS.
    Tls,
}

/// A datagram (or stream chunk) the runtime received from a socket.
#[derive(Debug, Clone, Copy)]
pub struct Receive<'a> {
    /// The transport it came on.
    pub proto: Protocol,
    /// The remote address it came from.
    pub source: SocketAddr,
    /// The local address it arrived at (the socket's bound address).
    pub destination: SocketAddr,
    /// The bytes, borrowed from the runtime's receive buffer.
    pub contents: &'a [u8],
}

/// One input to the core. Each carries the time it happened.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A datagram arrived at `Instant`.
    Receive(Instant, Receive<'a>),
    /// The time is now `Instant`: fire whatever timers are due. Give it when
    /// the timeout from [`Output::Timeout`](crate::Output::Timeout) is
    /// reached, or at any time.
    Timeout(Instant),
}

impl Input<'_> {
    /// The time this input happened.
    pub fn time(&self) -> Instant {
        match self {
            Input::Receive(t, _) | Input::Timeout(t) => *t,
        }
    }
}

/// A datagram (or stream chunk) the runtime must send.
///
/// TCP transmits go on the connection of their (source, destination). With
/// no such connection and a source that is one of the runtime's UDP
/// socket addresses, the core is a TURN client reaching its server over TCP
/// or TLS (`turn:...?transport=tcp`, `turns:`) or an active ICE-TCP
/// candidate reaching the peer's passive one: the runtime opens a
/// connection from the source's IP to the destination, sends the bytes on
/// it once connected, and gives what arrives on it back as `Receive`s from
/// the destination to that same source address. Otherwise (a passive ICE-TCP connection that
/// closed) the transmit is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a transmit that is not sent is a lost packet"]
pub struct Transmit {
    /// The transport to send it on.
    pub proto: Protocol,
    /// The local address to send from (the socket to use).
    pub source: SocketAddr,
    /// The remote address to send to.
    pub destination: SocketAddr,
    /// The bytes.
    pub contents: Vec<u8>,
}
