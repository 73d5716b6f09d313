//! The driver task, written once against the small [`Runtime`] trait: it
//! owns the peer, reads the sockets, arms the timer, runs the handles'
//! commands and routes events.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_channel::{Receiver, Sender};
use eddy::{Configuration, Event, Input, Output, Protocol, Transmit};
use futures_core::Stream;

use crate::driver_mdns::DriverMdns;
use crate::driver_tcp::{DriverTcp, TcpOptions};
use crate::net;
use crate::state::{Command, Incoming, State};
use crate::udp::{self, RecvBuffer, SockRef, UdpState};

/// What an adapter gives the driver: a way to spawn it as a task on the
/// application's runtime, UDP sockets registered with that runtime's
/// reactor, and a timer. No thread per connection: every driver is one task
/// among the application's own.
pub trait Runtime: 'static {
    /// Runs `future` (a connection's driver) as a task on the application's
    /// runtime and returns at once; called from `Connection::new`, so in the
    /// caller's context. An error if there is no runtime to spawn on.
    fn spawn(future: impl Future<Output = ()> + Send + 'static) -> io::Result<()>;
    /// Registers a bound, non-blocking socket with the reactor; called from
    /// `Connection::new`, before [`Runtime::spawn`].
    fn wrap_socket(socket: UdpSocket) -> io::Result<Box<dyn UdpIo>>;
    /// A timer; called from `Connection::new`, before [`Runtime::spawn`].
    fn timer() -> io::Result<Box<dyn Timer>>;
    /// Registers a non-blocking TCP stream (one still connecting, or one a
    /// listener accepted) with the reactor; called from the driver task,
    /// when the core sends over TCP to a destination it has no connection
    /// to (TURN over TCP or TLS, active ICE-TCP). The default: TCP is not
    /// supported, and such transmits are dropped.
    fn wrap_tcp(stream: TcpStream) -> io::Result<Box<dyn TcpIo>> {
        drop(stream);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this runtime has no TCP",
        ))
    }
    /// Registers a bound, listening, non-blocking TCP socket with the
    /// reactor (passive ICE-TCP); called from `Connection::new`. The
    /// default: not supported, a connection asking for ICE-TCP fails.
    fn wrap_tcp_listener(listener: TcpListener) -> io::Result<Box<dyn TcpListenerIo>> {
        drop(listener);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this runtime has no TCP listener",
        ))
    }
}

/// A TCP stream registered with a reactor (see [`Runtime::wrap_tcp`]);
/// `Send`, as [`UdpIo`].
pub trait TcpIo: Send {
    /// Ready when a read may succeed (it may still would-block), or the
    /// connection failed or closed.
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Ready when a write may succeed (it may still would-block): once a
    /// connect completed, or failed.
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Reads without waiting; `WouldBlock` clears the read readiness, so
    /// the next [`TcpIo::poll_read_ready`] waits for a new event. `Ok(0)`:
    /// the peer closed the connection.
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes without waiting; `WouldBlock` (the send buffer is full, or
    /// the connect has not completed) clears the write readiness.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
}

/// A TCP listener registered with a reactor (see
/// [`Runtime::wrap_tcp_listener`]).
pub trait TcpListenerIo: Send {
    /// The next connection, registered as [`Runtime::wrap_tcp`] does, with
    /// the remote address; `Pending` (and a wake-up) while there is none.
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Box<dyn TcpIo>, SocketAddr)>>;
}

/// The readiness a socket operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// A receive.
    Readable,
    /// A send.
    Writable,
}

/// A UDP socket registered with a reactor; `Send`, as the driver task may
/// move between the runtime's worker threads. The driver does the I/O
/// itself on the socket ([`udp::recv`], [`udp::send`]: batched where the OS
/// allows), through [`UdpIo::try_io`].
pub trait UdpIo: Send {
    /// Ready when a receive may succeed (it may still would-block).
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Ready when a send may succeed (it may still would-block).
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Runs `op` on the socket without waiting; an `op` that would block
    /// returns `WouldBlock`, which clears the readiness the reactor
    /// reported for `interest` (as tokio's `try_io` does), so the next
    /// `poll_*_ready` waits for a new event.
    fn try_io(
        &self,
        interest: Interest,
        op: &mut dyn FnMut(SockRef<'_>) -> io::Result<usize>,
    ) -> io::Result<usize>;
}

/// A one-shot timer that can be moved (between threads too).
pub trait Timer: Send {
    /// Fires at `at` instead.
    fn reset(&mut self, at: Instant);
    /// Ready once the time set by the last [`Timer::reset`] has come.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}

/// Datagrams fed to the peer per turn, before its output is drained (events
/// handed over, transmits sent), so a burst cannot overflow the core's own
/// bounded queues; what one read gave beyond that waits for the next turns.
const RECEIVE_BATCH: usize = 32;
/// Commands run per turn, so the sockets are read in between.
const COMMAND_BATCH: usize = 64;
/// Turns of the driver loop per poll: a busy connection then yields, so the
/// others sharing the runtime's worker threads get their turn.
const TURNS_PER_POLL: usize = 16;
/// Transmits held per socket while the kernel's send buffer is full; more
/// are dropped (ARCHITECTURE.md §5.3).
const MAX_QUEUED_TRANSMITS: usize = 4096;

struct Socket {
    io: Box<dyn UdpIo>,
    state: UdpState,
    local: SocketAddr,
    queued: VecDeque<Transmit>,
}

/// The channels between the driver and the handles.
pub(crate) struct Channels {
    pub(crate) commands: Receiver<Command>,
    pub(crate) events: Sender<Event>,
    pub(crate) incoming: Sender<Incoming>,
}

pub(crate) struct Driver {
    state: State,
    sockets: Vec<Socket>,
    commands: Pin<Box<Receiver<Command>>>,
    timer: Box<dyn Timer>,
    /// The peer's next timeout, and whether the timer is set to it.
    deadline: Option<Instant>,
    armed: Option<Instant>,
    buf: RecvBuffer,
    /// Datagrams in `buf` not yet fed to the peer: the socket they came on
    /// and how many of them were fed.
    unfed: Option<(usize, usize)>,
    /// The socket read first when `buf` is empty (round robin).
    next_read: usize,
    /// Events the peer gave, counted: a turn that gave any ends the poll.
    events_out: u64,
    /// Resolving the peer's `.local` candidates, answering for ours.
    mdns: DriverMdns,
    /// TCP connections: TURN over TCP/TLS, ICE-TCP.
    tcp: DriverTcp,
}

impl Driver {
    /// Creates the peer with a host candidate per socket and registers the
    /// sockets with `R`'s reactor; runs in `Connection::new`'s context.
    pub(crate) fn new<R: Runtime>(
        config: Configuration,
        sockets: Vec<UdpSocket>,
        tcp: TcpOptions,
        channels: Channels,
    ) -> io::Result<Self> {
        // The runtime first: without one, fail before the slow part (the
        // DTLS certificate).
        let mut wrapped = Vec::with_capacity(sockets.len());
        for socket in sockets {
            let local = socket.local_addr()?;
            let state = UdpState::new(SockRef::from(&socket));
            wrapped.push(Socket {
                io: R::wrap_socket(socket)?,
                state,
                local,
                queued: VecDeque::new(),
            });
        }
        let timer = R::timer()?;
        let locals: Vec<SocketAddr> = wrapped.iter().map(|s| s.local).collect();
        // Passive ICE-TCP: a listener at each socket's IP (a free port).
        let mut listeners = Vec::new();
        if tcp.ice_tcp && tcp.passive {
            for local in &locals {
                let listener = TcpListener::bind(SocketAddr::new(local.ip(), 0))?;
                listener.set_nonblocking(true)?;
                let addr = listener.local_addr()?;
                listeners.push((R::wrap_tcp_listener(listener)?, addr));
            }
        }
        let mut pc = net::new_peer(config)?;
        if tcp.ice_tcp {
            // Active ICE-TCP: connections open from each socket's IP when
            // the first check goes out (see `DriverTcp::send`).
            for &local in &locals {
                pc.add_local_active_tcp_candidate(local)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
            }
        }
        let udp = locals
            .iter()
            .filter(|_| !(tcp.ice_tcp && tcp.tcp_only))
            .map(|&a| (a, Protocol::Udp));
        let passive = listeners.iter().map(|&(_, a)| (a, Protocol::Tcp));
        net::add_candidates(&mut pc, udp.chain(passive))?;
        Ok(Self {
            state: State::new(pc, channels.events, channels.incoming),
            sockets: wrapped,
            commands: Box::pin(channels.commands),
            timer,
            deadline: None,
            armed: None,
            buf: RecvBuffer::new(),
            unfed: None,
            next_read: 0,
            events_out: 0,
            mdns: DriverMdns::new(R::wrap_socket),
            tcp: DriverTcp::new(R::wrap_tcp, listeners),
        })
    }

    /// Drives the peer until `Connection::close` or until every handle is
    /// dropped: the task [`Runtime::spawn`] runs.
    pub(crate) async fn run(mut self) {
        std::future::poll_fn(|cx| self.poll(cx)).await;
        tracing::debug!(tcp = ?self.tcp.stats, "driver stopped");
        // Commands queued meanwhile would keep their reply senders in the
        // channel (which the handles keep alive): drop them, so every
        // waiting call ends with `Error::Closed`.
        self.commands.close();
        while self.commands.try_recv().is_ok() {}
    }

    /// Turns: commands, a slice of the received datagrams, TCP, mDNS,
    /// then the peer's output and the timer. A busy turn that gave the
    /// application events ends the poll (the task is woken again at once),
    /// so the application (on this thread too, with a current-thread
    /// executor) answers them before the rest of a burst is fed: a burst
    /// does not hold back every reply until all of it is processed (two
    /// peers answering each other would otherwise take turns, each idle
    /// while the other works through the whole burst).
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        for _ in 0..TURNS_PER_POLL {
            let events_before = self.events_out;
            let mut busy = self.run_commands(cx);
            busy |= self.receive(cx);
            busy |= self.tcp.accept(cx);
            busy |= self.tcp.receive(cx, &mut self.state.pc);
            busy |= self.mdns.poll(cx, &mut self.state.pc);
            self.drain();
            if self.state.closed {
                // What close() queued (DTLS close_notify...) went out in
                // `drain`, as far as the socket took it.
                return Poll::Ready(());
            }
            self.flush(cx);
            let next = [self.deadline, self.mdns.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            if let Some(at) = next {
                let due = at <= Instant::now() || {
                    if self.armed != Some(at) {
                        self.timer.reset(at);
                        self.armed = Some(at);
                    }
                    self.timer.poll_expired(cx).is_ready()
                };
                if due {
                    self.armed = None;
                    let now = Instant::now();
                    let _ = self.state.pc.handle_input(Input::Timeout(now));
                    if self.mdns.poll_timeout().is_some_and(|t| t <= now) {
                        self.mdns.handle_timeout(now, &mut self.state.pc);
                    }
                    busy = true;
                }
            }
            if !busy {
                return Poll::Pending;
            }
            if self.events_out != events_before {
                break;
            }
        }
        // Still busy: come back after the other tasks (and the application,
        // which has events).
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Runs queued commands; true if more may be waiting.
    fn run_commands(&mut self, cx: &mut Context<'_>) -> bool {
        for _ in 0..COMMAND_BATCH {
            match self.commands.as_mut().poll_next(cx) {
                Poll::Ready(Some(command)) => {
                    command(&mut self.state);
                    if self.state.closed {
                        // Nothing queued behind a close may run on the
                        // closed peer: the driver stops and the waiting
                        // calls end with `Error::Closed`.
                        return false;
                    }
                }
                Poll::Ready(None) => {
                    // Every handle is gone: nobody can use the peer again.
                    self.state.pc.close();
                    self.state.closed = true;
                    return false;
                }
                Poll::Pending => return false,
            }
        }
        true
    }

    /// Feeds the peer up to [`RECEIVE_BATCH`] received datagrams: what the
    /// last read left, else what the next socket with any has (sockets take
    /// turns); true if more may be waiting (false once every socket would
    /// block and waits for the reactor).
    fn receive(&mut self, cx: &mut Context<'_>) -> bool {
        if self.unfed.is_none() && !self.read(cx) {
            return false;
        }
        if let Some((index, fed)) = self.unfed.take() {
            self.feed(index, fed);
        }
        // The rest of the read, or of the socket.
        true
    }

    /// Reads the first socket, from `next_read` on, that has datagrams
    /// into `buf`; false if none has.
    fn read(&mut self, cx: &mut Context<'_>) -> bool {
        let count = self.sockets.len();
        for i in 0..count {
            let index = (self.next_read + i) % count;
            let socket = &self.sockets[index];
            loop {
                let buf = &mut self.buf;
                let received = socket.io.try_io(Interest::Readable, &mut |s| {
                    udp::recv(s, &socket.state, buf)
                });
                match received {
                    Ok(count) => {
                        self.state.stats.received += count as u64;
                        self.unfed = Some((index, 0));
                        self.next_read = index + 1;
                        return true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        match socket.io.poll_recv_ready(cx) {
                            Poll::Ready(Ok(())) => continue,
                            Poll::Ready(Err(e)) => {
                                tracing::warn!(local = %socket.local, error = %e, "socket failed");
                                break;
                            }
                            Poll::Pending => break,
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted || net::is_transient(&e) => {
                        continue
                    }
                    Err(e) => {
                        tracing::warn!(local = %socket.local, error = %e, "receive failed");
                        break;
                    }
                }
            }
        }
        false
    }

    /// Feeds the peer up to [`RECEIVE_BATCH`] of the datagrams in `buf`,
    /// read from socket `index`, after the `fed` already fed; what is left
    /// stays in `unfed`.
    fn feed(&mut self, index: usize, fed: usize) {
        let Some(local) = self.sockets.get(index).map(|s| s.local) else {
            return;
        };
        let now = Instant::now();
        let pc = &mut self.state.pc;
        let left = udp::feed_slice(&self.buf, fed, RECEIVE_BATCH, local, now, |input| {
            let _ = pc.handle_input(input);
        });
        self.unfed = left.map(|fed| (index, fed));
    }

    /// Takes everything the peer has: sends transmits, routes events, keeps
    /// the next timeout.
    fn drain(&mut self) {
        loop {
            match self.state.pc.poll_output() {
                Output::Transmit(t) => self.send(t),
                Output::Event(e) => {
                    self.events_out += 1;
                    self.state.handle_event(e);
                }
                Output::Timeout(at) => {
                    self.deadline = at;
                    for socket in &mut self.sockets {
                        flush_socket(socket, None, &mut self.state);
                    }
                    self.tcp.flush(None);
                    self.mdns.sync(&self.state.pc, Instant::now());
                    return;
                }
            }
        }
    }

    /// Queues `t` on the socket bound to its source; a full batch goes out
    /// at once, the rest when the peer's output is drained.
    fn send(&mut self, t: Transmit) {
        if t.proto != Protocol::Udp {
            let sockets = &self.sockets;
            self.tcp
                .send(t, |source| sockets.iter().any(|s| s.local == source));
            return;
        }
        let Some(socket) = self
            .sockets
            .iter_mut()
            .find(|s| s.local == t.source && t.proto == Protocol::Udp)
        else {
            tracing::debug!(source = %t.source, "transmit from no socket dropped");
            return;
        };
        if socket.queued.len() >= MAX_QUEUED_TRANSMITS {
            return;
        }
        socket.queued.push_back(t);
        if socket.queued.len() >= udp::MAX_SEND {
            flush_socket(socket, None, &mut self.state);
        }
    }

    /// Sends queued transmits while the sockets take them.
    fn flush(&mut self, cx: &mut Context<'_>) {
        for socket in &mut self.sockets {
            flush_socket(socket, Some(cx), &mut self.state);
        }
        self.tcp.flush(Some(cx));
    }
}

/// Sends what `socket` has queued, in batches, until it would block; with
/// `cx`, then waits for it to be writable. Counts what went out in
/// `peer`'s stats and gives the sent buffers back to its connection.
fn flush_socket(socket: &mut Socket, mut cx: Option<&mut Context<'_>>, peer: &mut State) {
    while !socket.queued.is_empty() {
        let (io, state, queued) = (&socket.io, &socket.state, &socket.queued);
        let sent = io.try_io(Interest::Writable, &mut |s| {
            udp::send(
                s,
                state,
                queued
                    .iter()
                    .map(|t| (t.contents.as_slice(), t.destination)),
            )
        });
        match sent {
            Ok(n) => {
                let n = n.min(socket.queued.len());
                peer.stats.sent += n as u64;
                for t in socket.queued.drain(..n) {
                    peer.pc.recycle_transmit(t.contents);
                }
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let Some(cx) = cx.as_deref_mut() else {
                    return;
                };
                match socket.io.poll_send_ready(cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(_)) => {}
                    Poll::Pending => return,
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Unreachable networks and the like: this path is dead, ICE
            // finds out.
            Err(e) => {
                if let Some(t) = socket.queued.front() {
                    tracing::debug!(destination = %t.destination, error = %e, "send failed");
                }
            }
        }
        socket.queued.pop_front();
    }
}
