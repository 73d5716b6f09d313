//! The driver's TCP connections: TURN over TCP and TLS (`turn:...?transport=tcp`,
//! `turns:`; the TLS is the core's, the connection only carries its
//! bytes), active ICE-TCP (RFC 6544) and, with listeners, passive ICE-TCP.
//!
//! The core frames (RFC 4571 for ICE-TCP, STUN and padded ChannelData for
//! TURN) and reassembles: a TCP [`Transmit`] is a chunk of the stream, and
//! what a read returns goes back to the core as it came, as a
//! [`Protocol::Tcp`] receive from the connection's remote address to its
//! local one. As in `eddy-mio`: a TCP transmit from one of the UDP
//! sockets' addresses to a destination with no connection opens one from
//! that socket's IP (the core's TURN client or active ICE-TCP candidate
//! uses the socket's address as its own), and what arrives on it is given
//! to the core as received at that socket's address; a transmit on a
//! passive connection that closed is dropped. A connection that fails or
//! closes is forgotten (the core finds out: its TURN client times out,
//! ICE's checks fail); the next transmit to that destination opens a new
//! one.
//!
//! Bounds (ARCHITECTURE.md §5.3): [`MAX_TCP_CONNECTIONS`] connections
//! (more are refused: transmits dropped, accepted connections closed), and
//! [`MAX_TCP_BACKLOG`] bytes waiting per connection, while it connects or
//! while the kernel's send buffer is full; past it, a whole transmit is
//! dropped (never part of one: the stream's framing stays whole), counted
//! and logged.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::task::{Context, Poll};
use std::time::Instant;

use eddy::{Input, PeerConnection, Protocol, Receive, Transmit};

use crate::driver::{TcpIo, TcpListenerIo};
use crate::net;

/// Most TCP connections a driver keeps at once (to TURN servers, ICE-TCP
/// peers, accepted ones); more are refused.
pub const MAX_TCP_CONNECTIONS: usize = 64;
/// Bytes held per TCP connection while it connects or its send buffer is
/// full; a transmit that would pass it is dropped and counted.
pub const MAX_TCP_BACKLOG: usize = 1 << 20;
/// Bytes read from a connection at once.
const TCP_READ_BUFFER: usize = 65_536;
/// Reads per connection (and accepts per listener) before the peer's
/// output is drained, so a fast sender cannot overflow the core's bounded
/// queues or starve the other sockets.
const TCP_BATCH: usize = 4;

/// Which ICE-TCP candidates a connection offers (TURN over TCP needs none
/// of these: it is always on).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TcpOptions {
    /// Active ICE-TCP candidates, and with `passive` listeners.
    pub(crate) ice_tcp: bool,
    /// With `ice_tcp`: listen, and offer passive candidates.
    pub(crate) passive: bool,
    /// With `ice_tcp`: no UDP host candidates.
    pub(crate) tcp_only: bool,
}

struct Conn {
    io: Box<dyn TcpIo>,
    /// The address the core knows this connection by: a UDP socket's for
    /// one we opened, the listener's for one we accepted.
    local: SocketAddr,
    remote: SocketAddr,
    /// Opened by us and not yet writable: nothing is written before.
    connecting: bool,
    out: VecDeque<u8>,
}

/// What the driver counted on its TCP connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TcpStats {
    /// Connections opened (connects started).
    pub(crate) opened: u64,
    /// Connections accepted.
    pub(crate) accepted: u64,
    /// Transmits dropped: no connection and none could be opened, the
    /// table full, or the backlog over [`MAX_TCP_BACKLOG`].
    pub(crate) dropped_transmits: u64,
    /// Connections that failed or were closed by the other side.
    pub(crate) closed: u64,
}

pub(crate) struct DriverTcp {
    wrap: fn(TcpStream) -> io::Result<Box<dyn TcpIo>>,
    conns: Vec<Conn>,
    listeners: Vec<(Box<dyn TcpListenerIo>, SocketAddr)>,
    /// Reads (allocated with the first connection).
    buf: Vec<u8>,
    pub(crate) stats: TcpStats,
}

impl DriverTcp {
    pub(crate) fn new(
        wrap: fn(TcpStream) -> io::Result<Box<dyn TcpIo>>,
        listeners: Vec<(Box<dyn TcpListenerIo>, SocketAddr)>,
    ) -> Self {
        Self {
            wrap,
            conns: Vec::new(),
            listeners,
            buf: Vec::new(),
            stats: TcpStats::default(),
        }
    }

    /// Queues `t` on its connection, opening one when its source is one of
    /// ours (`is_ours`: a UDP socket's address) and there is none, and
    /// writes what the connection takes now.
    pub(crate) fn send(&mut self, t: Transmit, is_ours: impl Fn(SocketAddr) -> bool) {
        let found = self
            .conns
            .iter()
            .position(|c| c.local == t.source && c.remote == t.destination);
        let index = match found {
            Some(i) => i,
            None if is_ours(t.source) => match self.connect(t.source, t.destination) {
                Some(i) => i,
                None => return self.dropped(&t, "no connection could be opened"),
            },
            None => return self.dropped(&t, "no connection (closed)"),
        };
        let Some(c) = self.conns.get_mut(index) else {
            return;
        };
        if c.out.len() + t.contents.len() > MAX_TCP_BACKLOG {
            return self.dropped(&t, "backlog full");
        }
        c.out.extend(&t.contents);
        if let Err(e) = flush_conn(c, None) {
            self.close(index, &e);
        }
    }

    fn dropped(&mut self, t: &Transmit, why: &str) {
        self.stats.dropped_transmits += 1;
        let n = self.stats.dropped_transmits;
        // The first, then ever more rarely: a stuck connection does not
        // flood the log.
        if n.is_power_of_two() {
            tracing::warn!(source = %t.source, destination = %t.destination, dropped = n, "TCP transmit dropped: {why}");
        } else {
            tracing::debug!(source = %t.source, destination = %t.destination, dropped = n, "TCP transmit dropped: {why}");
        }
    }

    /// Starts a connection from `local`'s IP to `remote`.
    fn connect(&mut self, local: SocketAddr, remote: SocketAddr) -> Option<usize> {
        if self.conns.len() >= MAX_TCP_CONNECTIONS {
            tracing::debug!(%local, %remote, "TCP connection not opened: too many");
            return None;
        }
        let opened = net::connect_tcp(local.ip(), remote).and_then(|stream| {
            let _ = stream.set_nodelay(true);
            (self.wrap)(stream)
        });
        match opened {
            Ok(io) => {
                tracing::debug!(%local, %remote, "TCP connection opening");
                self.stats.opened += 1;
                self.conns.push(Conn {
                    io,
                    local,
                    remote,
                    connecting: true,
                    out: VecDeque::new(),
                });
                Some(self.conns.len() - 1)
            }
            Err(e) => {
                tracing::debug!(%local, %remote, error = %e, "TCP connection not opened");
                None
            }
        }
    }

    fn close(&mut self, index: usize, why: &io::Error) {
        if index < self.conns.len() {
            let c = self.conns.swap_remove(index);
            self.stats.closed += 1;
            tracing::debug!(local = %c.local, remote = %c.remote, error = %why, dropped_bytes = c.out.len(), "TCP connection closed");
        }
    }

    /// Accepts what the listeners have (a batch each); true if more may be
    /// waiting.
    pub(crate) fn accept(&mut self, cx: &mut Context<'_>) -> bool {
        let mut more = false;
        for (listener, local) in &self.listeners {
            let mut batch = 0;
            loop {
                match listener.poll_accept(cx) {
                    Poll::Ready(Ok((io, remote))) => {
                        self.stats.accepted += 1;
                        if self.conns.len() >= MAX_TCP_CONNECTIONS {
                            // Dropped: closes it.
                            tracing::debug!(local = %local, %remote, "ICE-TCP connection refused: too many");
                        } else {
                            self.conns.push(Conn {
                                io,
                                local: *local,
                                remote,
                                connecting: false,
                                out: VecDeque::new(),
                            });
                        }
                        batch += 1;
                        if batch >= TCP_BATCH {
                            more = true;
                            break;
                        }
                    }
                    Poll::Ready(Err(e))
                        if matches!(
                            e.kind(),
                            io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                        ) =>
                    {
                        continue
                    }
                    Poll::Ready(Err(e)) => {
                        tracing::warn!(local = %local, error = %e, "TCP accept failed");
                        break;
                    }
                    Poll::Pending => break,
                }
            }
        }
        more
    }

    /// Reads every connection until it would block, or a batch each,
    /// feeding `pc`; true if a connection may have more.
    pub(crate) fn receive(&mut self, cx: &mut Context<'_>, pc: &mut PeerConnection) -> bool {
        if self.conns.is_empty() {
            return false;
        }
        if self.buf.is_empty() {
            self.buf = vec![0; TCP_READ_BUFFER];
        }
        let mut more = false;
        let mut i = 0;
        while i < self.conns.len() {
            match read_conn(&self.conns[i], &mut self.buf, cx, pc) {
                Ok(true) => {
                    more = true;
                    i += 1;
                }
                Ok(false) => i += 1,
                Err(e) => self.close(i, &e),
            }
        }
        more
    }

    /// Writes what the connections hold; with `cx`, waits for them to be
    /// writable (or connected).
    pub(crate) fn flush(&mut self, mut cx: Option<&mut Context<'_>>) {
        let mut i = 0;
        while i < self.conns.len() {
            match flush_conn(&mut self.conns[i], cx.as_deref_mut()) {
                Ok(()) => i += 1,
                Err(e) => self.close(i, &e),
            }
        }
    }
}

/// Reads `c` until it would block (then `Ok(false)`, its waker set) or a
/// batch came (`Ok(true)`); an error or the end of the stream closes it.
fn read_conn(
    c: &Conn,
    buf: &mut [u8],
    cx: &mut Context<'_>,
    pc: &mut PeerConnection,
) -> io::Result<bool> {
    let mut reads = 0;
    loop {
        match c.io.try_read(buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed by the other side",
                ))
            }
            Ok(n) => {
                let _ = pc.handle_input(Input::Receive(
                    Instant::now(),
                    Receive {
                        proto: Protocol::Tcp,
                        source: c.remote,
                        destination: c.local,
                        contents: buf.get(..n).unwrap_or_default(),
                    },
                ));
                reads += 1;
                if reads >= TCP_BATCH {
                    return Ok(true);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => match c.io.poll_read_ready(cx) {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => return Ok(false),
            },
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Writes what `c` holds until it would block; with `cx`, then waits for
/// it to be writable. A connection still connecting is written once it is
/// writable (the connect completed): only with `cx`.
fn flush_conn(c: &mut Conn, mut cx: Option<&mut Context<'_>>) -> io::Result<()> {
    if c.connecting {
        let Some(cx) = cx.as_deref_mut() else {
            return Ok(());
        };
        match c.io.poll_write_ready(cx) {
            Poll::Ready(Ok(())) => {
                c.connecting = false;
                tracing::debug!(local = %c.local, remote = %c.remote, "TCP connection writable");
            }
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => return Ok(()),
        }
    }
    while !c.out.is_empty() {
        let (front, _) = c.out.as_slices();
        match c.io.try_write(front) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                c.out.drain(..n.min(c.out.len()));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let Some(cx) = cx.as_deref_mut() else {
                    return Ok(());
                };
                match c.io.poll_write_ready(cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(e)) => return Err(e),
                    Poll::Pending => return Ok(()),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection that never completes its connect.
    struct Stuck;

    impl TcpIo for Stuck {
        fn poll_read_ready(&self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Pending
        }
        fn poll_write_ready(&self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Pending
        }
        fn try_read(&self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::ErrorKind::WouldBlock.into())
        }
        fn try_write(&self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::WouldBlock.into())
        }
    }

    fn stuck(_: TcpStream) -> io::Result<Box<dyn TcpIo>> {
        Ok(Box::new(Stuck))
    }

    #[test]
    fn a_connecting_connection_holds_whole_transmits_up_to_its_bound() {
        // A listener that never accepts: the connect may complete in the
        // kernel, the driver's connection stays "connecting" (Stuck).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
        let server = listener.local_addr().expect("address");
        let ours: SocketAddr = "127.0.0.1:40000".parse().expect("literal");
        let mut tcp = DriverTcp::new(stuck, Vec::new());
        let transmit = |len: usize| Transmit {
            proto: Protocol::Tcp,
            source: ours,
            destination: server,
            contents: vec![7; len],
        };
        let fit = MAX_TCP_BACKLOG / 1000;
        for _ in 0..fit + 10 {
            tcp.send(transmit(1000), |a| a == ours);
        }
        assert_eq!(tcp.stats.opened, 1, "one connection for all");
        assert_eq!(tcp.stats.dropped_transmits, 10);
        assert_eq!(tcp.conns.len(), 1);
        assert_eq!(tcp.conns[0].out.len(), fit * 1000, "whole transmits only");
        // A source that is not ours and has no connection: dropped.
        tcp.send(
            Transmit {
                source: "127.0.0.1:1".parse().expect("literal"),
                ..transmit(10)
            },
            |a| a == ours,
        );
        assert_eq!(tcp.stats.dropped_transmits, 11);
        assert_eq!(tcp.stats.opened, 1);
    }

    #[test]
    fn the_table_is_bounded() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
        let server = listener.local_addr().expect("address");
        let mut tcp = DriverTcp::new(stuck, Vec::new());
        for port in 0..MAX_TCP_CONNECTIONS as u16 + 5 {
            let source = SocketAddr::from(([127, 0, 0, 1], 40000 + port));
            let t = Transmit {
                proto: Protocol::Tcp,
                source,
                destination: server,
                contents: vec![1; 10],
            };
            tcp.send(t, |_| true);
        }
        assert_eq!(tcp.conns.len(), MAX_TCP_CONNECTIONS);
        assert_eq!(tcp.stats.dropped_transmits, 5);
    }
}
