//! # eddy-mio: eddy on a mio event loop
//!
//! A [`Driver`] owns an [`eddy::endpoint::Endpoint`] (many
//! [`PeerConnection`]s behind shared sockets) and does the I/O the sans-IO
//! core cannot:
//!
//! - binds one UDP socket per local interface address (listed with
//!   `if-addrs`, or the addresses you give), so every datagram's
//!   [`Receive::destination`] is the bound address of the socket it came on;
//! - gives each peer added with [`Driver::add_peer`] those addresses as host
//!   candidates, then ends its local candidates;
//! - sends each [`Transmit`] from the socket bound to its `source`;
//! - moves datagrams in batches: on Linux, `recvmmsg`/`sendmmsg` with UDP
//!   GRO and GSO where the kernel has them (see
//!   [`eddy_runtime_common::udp`]);
//! - sleeps in [`mio::Poll`] until a datagram arrives, a [`Handle`] wakes it,
//!   or the endpoint's next timeout;
//! - resolves `IceServer` hostnames ([`resolve_ice_servers`], [`new_peer`]).
//!
//! It can be stepped from your own loop with [`Driver::poll`] (a game engine
//! calls it once per frame with a zero timeout, again while it gives events:
//! a poll hands them over as soon as a batch of datagrams made some), or run
//! with [`Driver::run`].
//! Events come out of [`Driver::poll_event`]; other threads reach the
//! endpoint through a [`Handle`], which queues closures that run on the
//! driver's thread.
//!
//! With [`Builder::ice_tcp`], it also listens on TCP at each address and
//! gives peers passive ICE-TCP host candidates (RFC 6544); connections
//! browsers open to them carry RFC 4571 frames, which the core reassembles.
//!
//! A TCP transmit from a UDP socket's address to a destination with no
//! connection (a TURN client reaching its server over TCP or TLS, an active
//! ICE-TCP candidate) opens one from that socket's IP.
//!
//! ## Example
//!
//! ```no_run
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::Duration;
//! use eddy::{Configuration, DataChannelInit, Event};
//! use eddy_mio::{new_peer, Driver};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Loopback only; `Driver::new()` binds every interface.
//! let mut driver = Driver::bind(&[IpAddr::V4(Ipv4Addr::LOCALHOST)])?;
//! let mut pc = new_peer(Configuration::default())?;
//! let chat = pc.create_data_channel("chat", &DataChannelInit::default())?;
//! let offer = pc.create_offer()?;
//! pc.set_local_description(offer)?;
//! let peer = driver.add_peer(pc)?;
//! // ... send `driver.endpoint().peer(peer)` 's local description to the
//! // other side and apply its answer with `set_remote_description` ...
//! loop {
//!     driver.poll(Some(Duration::from_millis(100)))?;
//!     while let Some((id, event)) = driver.poll_event() {
//!         if let Event::ChannelOpen(ch) = event {
//!             let pc = driver.endpoint_mut().peer_mut(id).ok_or("gone")?;
//!             pc.data_channel(ch).ok_or("no channel")?.send_text("hello")?;
//!         }
//!     }
//! }
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use eddy::endpoint::{Endpoint, EndpointOutput, PeerId};
use eddy::{Event, Input, PeerConnection, Protocol, Receive, Transmit};
use eddy_runtime_common::net::{self, DEFAULT_SOCKET_BUFFER};
use eddy_runtime_common::udp::{self, RecvBuffer, SockRef, UdpState};
use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token, Waker};

mod mdns;

pub use eddy_runtime_common::net::{new_peer, resolve_ice_servers};
pub use mio;

/// The token of the cross-thread waker; sockets use their index.
const WAKER: Token = Token(usize::MAX);
/// Read buffer of an ICE-TCP connection.
const TCP_READ_BUFFER: usize = 65_536;
/// Datagrams fed to the endpoint before its output is drained, so a burst
/// cannot overflow the core's own bounded queues; a poll returns after the
/// batch that gave the application events.
const RECEIVE_BATCH: usize = 32;
/// Transmits held per socket while the kernel's send buffer is full; more
/// are dropped and counted (ARCHITECTURE.md §5.3).
const MAX_QUEUED_TRANSMITS: usize = 4096;
/// Events held until [`Driver::poll_event`]; more are dropped and counted.
const MAX_QUEUED_EVENTS: usize = 65_536;

/// A closure queued by a [`Handle`], run on the driver's thread with the
/// endpoint and the current time.
pub type Command = Box<dyn FnOnce(&mut Endpoint, Instant) + Send>;

enum Message {
    Run(Command),
    Stop,
}

/// Which local addresses a [`Driver`] binds. Build with
/// `Builder::default()`, or use [`Driver::new`] / [`Driver::bind`].
#[derive(Debug, Clone)]
pub struct Builder {
    ips: Vec<IpAddr>,
    port: u16,
    link_local: bool,
    buffer: usize,
    ice_tcp: bool,
    tcp_only: bool,
    tcp_passive: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            ips: Vec::new(),
            port: 0,
            link_local: false,
            buffer: DEFAULT_SOCKET_BUFFER,
            ice_tcp: false,
            tcp_only: false,
            tcp_passive: true,
        }
    }
}

impl Builder {
    /// Binds this IP. An unspecified address (`0.0.0.0`, `::`) stands for
    /// every interface address of its family. Defaults to none given, which
    /// means every interface address.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ips.push(ip);
        self
    }

    /// Binds this port on every address (a port taken on one of them fails
    /// [`Builder::build`]). Defaults to 0: a free port per socket.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Includes link-local IPv6 addresses (`fe80::/10`) when listing
    /// interfaces. Defaults to `false`.
    pub fn link_local_ipv6(mut self, yes: bool) -> Self {
        self.link_local = yes;
        self
    }

    /// Asks the kernel for socket send and receive buffers of this many
    /// bytes (it may give less: Linux caps them at `net.core.rmem_max` and
    /// `wmem_max`). Defaults to 4 MiB: with the usual 208 KiB, a burst of
    /// data channel traffic overflows the receive buffer on loopback and
    /// SCTP backs off for every lost packet.
    pub fn socket_buffer(mut self, bytes: usize) -> Self {
        self.buffer = bytes;
        self
    }

    /// The addresses to bind, with port.
    fn addresses(&self) -> io::Result<Vec<SocketAddr>> {
        net::local_addresses(&self.ips, self.port, self.link_local)
    }

    /// Also listens on TCP at each address (its own free port) and gives
    /// peers ICE-TCP host candidates (RFC 6544): passive ones there, and
    /// an active one per address (the driver connects to the remote's
    /// passive candidates). Defaults to `false`.
    pub fn ice_tcp(mut self, yes: bool) -> Self {
        self.ice_tcp = yes;
        self
    }

    /// With [`ice_tcp`](Self::ice_tcp): whether to listen and offer passive
    /// TCP candidates (`false`: active ones only, the driver only connects
    /// out). Defaults to `true`.
    pub fn tcp_passive(mut self, yes: bool) -> Self {
        self.tcp_passive = yes;
        self
    }

    /// With [`ice_tcp`](Self::ice_tcp): no UDP host candidates, only TCP
    /// ones (a network that blocks UDP, or a test of ICE-TCP). TURN
    /// servers are still reached from the UDP sockets. Defaults to `false`.
    pub fn tcp_only(mut self, yes: bool) -> Self {
        self.tcp_only = yes;
        self
    }

    /// Binds the sockets and builds the driver.
    pub fn build(self) -> io::Result<Driver> {
        let mut driver = Driver::bind_sockets(&self.addresses()?, self.buffer)?;
        if self.ice_tcp {
            if self.tcp_passive {
                driver.listen_tcp()?;
            } else {
                driver.active_tcp = true;
            }
            if self.tcp_only {
                let tcp: Vec<(SocketAddr, Protocol)> = driver
                    .host_candidates
                    .iter()
                    .filter(|(_, p)| *p == Protocol::Tcp)
                    .copied()
                    .collect();
                driver.host_candidates = tcp.into();
            }
        }
        Ok(driver)
    }
}

/// One bound UDP socket and the transmits waiting for it to be writable.
struct Socket {
    socket: UdpSocket,
    state: UdpState,
    local: SocketAddr,
    queued: VecDeque<Transmit>,
    /// Readiness was reported and the socket has not yet been read until
    /// it would block: the next poll reads it without waiting.
    readable: bool,
}

/// An accepted ICE-TCP connection and the bytes waiting to be written.
struct Connection {
    stream: TcpStream,
    local: SocketAddr,
    remote: SocketAddr,
    out: VecDeque<u8>,
}

/// Tokens: UDP sockets use their index; listeners and connections live
/// above these bases.
const LISTENER_BASE: usize = 1 << 24;
const CONNECTION_BASE: usize = 1 << 25;
/// Most accepted ICE-TCP connections at once; more are refused.
const MAX_CONNECTIONS: usize = 1024;
/// Bytes buffered per connection while the peer reads slowly.
const MAX_CONNECTION_BACKLOG: usize = 4 * 1024 * 1024;

/// What a driver counted since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverStats {
    /// Datagrams received.
    pub received: u64,
    /// Datagrams sent.
    pub sent: u64,
    /// Transmits dropped: socket queue full, no socket bound to the source,
    /// TCP (not supported), or a send error.
    pub dropped_transmits: u64,
    /// Events dropped because [`Driver::poll_event`] was not called.
    pub dropped_events: u64,
}

/// Drives an [`Endpoint`] on a mio event loop. See the crate docs.
pub struct Driver {
    poll: Poll,
    mio_events: Events,
    sockets: Vec<Socket>,
    local_addrs: Arc<[SocketAddr]>,
    listeners: Vec<(TcpListener, SocketAddr)>,
    connections: BTreeMap<usize, Connection>,
    /// The connection token of each (local, remote) pair, for transmits.
    connection_by_tuple: BTreeMap<(SocketAddr, SocketAddr), usize>,
    next_connection: usize,
    host_candidates: Arc<[(SocketAddr, Protocol)]>,
    endpoint: Endpoint,
    deadline: Option<Instant>,
    events: VecDeque<(PeerId, Event)>,
    commands: mpsc::Receiver<Message>,
    sender: mpsc::Sender<Message>,
    waker: Arc<Waker>,
    buf: RecvBuffer,
    /// Datagrams in `buf` not yet fed to the endpoint: the socket they came
    /// on and how many were fed (a poll stops feeding once events wait).
    unfed: Option<(usize, usize)>,
    /// The socket read first by the next poll (round robin).
    next_read: usize,
    /// ICE-TCP reads (allocated with the first connection).
    tcp_buf: Vec<u8>,
    /// Sockets the last poll found ready: (index, readable, writable).
    ready: Vec<(usize, bool, bool)>,
    stopped: bool,
    stats: DriverStats,
    /// Resolving the peers' `.local` candidates, answering for ours.
    mdns: mdns::Mdns,
    /// ICE-TCP without listeners: active candidates only.
    active_tcp: bool,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("local_addrs", &self.local_addrs)
            .field("deadline", &self.deadline)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// A driver with a UDP socket on every interface address (link-local
    /// IPv6 excluded), each on a free port.
    pub fn new() -> io::Result<Self> {
        Builder::default().build()
    }

    /// A driver with a UDP socket on each of `ips` (free ports); an
    /// unspecified IP stands for every interface address of its family.
    pub fn bind(ips: &[IpAddr]) -> io::Result<Self> {
        ips.iter()
            .fold(Builder::default(), |b, &ip| b.ip(ip))
            .build()
    }

    /// A driver with a UDP socket bound to each of `addrs` exactly.
    pub fn with_addresses(addrs: &[SocketAddr]) -> io::Result<Self> {
        Self::bind_sockets(addrs, DEFAULT_SOCKET_BUFFER)
    }

    fn bind_sockets(addrs: &[SocketAddr], buffer: usize) -> io::Result<Self> {
        let poll = Poll::new()?;
        let mut sockets = Vec::with_capacity(addrs.len());
        for (i, &addr) in addrs.iter().enumerate() {
            let mut socket = bind_udp(addr, buffer)?;
            let local = socket.local_addr()?;
            poll.registry().register(
                &mut socket,
                Token(i),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            let state = UdpState::new(SockRef::from(&socket));
            sockets.push(Socket {
                socket,
                state,
                local,
                queued: VecDeque::new(),
                readable: false,
            });
        }
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (sender, commands) = mpsc::channel();
        let local_addrs: Arc<[SocketAddr]> = sockets.iter().map(|s| s.local).collect();
        let host_candidates = local_addrs.iter().map(|&a| (a, Protocol::Udp)).collect();
        Ok(Self {
            poll,
            mio_events: Events::with_capacity(256),
            sockets,
            local_addrs,
            listeners: Vec::new(),
            connections: BTreeMap::new(),
            connection_by_tuple: BTreeMap::new(),
            next_connection: 0,
            host_candidates,
            endpoint: Endpoint::new(),
            deadline: None,
            events: VecDeque::new(),
            commands,
            sender,
            waker,
            buf: RecvBuffer::new(),
            unfed: None,
            next_read: 0,
            tcp_buf: Vec::new(),
            ready: Vec::new(),
            stopped: false,
            stats: DriverStats::default(),
            mdns: mdns::Mdns::default(),
            active_tcp: false,
        })
    }

    /// The bound UDP addresses.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// The host candidates every peer gets: each UDP socket, and each TCP
    /// listener (passive ICE-TCP) when enabled.
    pub fn host_candidates(&self) -> &[(SocketAddr, Protocol)] {
        &self.host_candidates
    }

    /// Listens on TCP at the IP of each UDP socket.
    fn listen_tcp(&mut self) -> io::Result<()> {
        for (i, socket) in self.sockets.iter().enumerate() {
            let mut listener = TcpListener::bind(SocketAddr::new(socket.local.ip(), 0))?;
            let local = listener.local_addr()?;
            self.poll.registry().register(
                &mut listener,
                Token(LISTENER_BASE + i),
                Interest::READABLE,
            )?;
            self.listeners.push((listener, local));
        }
        let mut candidates: Vec<(SocketAddr, Protocol)> = self.host_candidates.to_vec();
        candidates.extend(self.listeners.iter().map(|(_, a)| (*a, Protocol::Tcp)));
        self.host_candidates = candidates.into();
        Ok(())
    }

    /// Accepts every pending connection on listener `index`.
    fn accept(&mut self, index: usize) {
        loop {
            let Some((listener, local)) = self.listeners.get(index) else {
                return;
            };
            let local = *local;
            match listener.accept() {
                Ok((mut stream, remote)) => {
                    if self.connections.len() >= MAX_CONNECTIONS {
                        continue; // dropped: closes the connection
                    }
                    let token = CONNECTION_BASE + self.next_connection;
                    self.next_connection = (self.next_connection + 1) % (1 << 24);
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, Token(token), interest)
                        .is_ok()
                    {
                        let _ = stream.set_nodelay(true);
                        self.connection_by_tuple.insert((local, remote), token);
                        self.connections.insert(
                            token,
                            Connection {
                                stream,
                                local,
                                remote,
                                out: VecDeque::new(),
                            },
                        );
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }

    /// Reads connection `token` until it would block, feeding the endpoint.
    fn receive_tcp(&mut self, token: usize) {
        use std::io::Read;
        if self.tcp_buf.is_empty() {
            self.tcp_buf = vec![0; TCP_READ_BUFFER];
        }
        loop {
            let Some(c) = self.connections.get_mut(&token) else {
                return;
            };
            let (local, remote) = (c.local, c.remote);
            match c.stream.read(&mut self.tcp_buf) {
                Ok(0) => {
                    self.close_connection(token);
                    return;
                }
                Ok(n) => {
                    self.stats.received += 1;
                    let contents = self.tcp_buf.get(..n).unwrap_or_default();
                    self.endpoint.handle_input(Input::Receive(
                        Instant::now(),
                        Receive {
                            proto: Protocol::Tcp,
                            source: remote,
                            destination: local,
                            contents,
                        },
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.close_connection(token);
                    return;
                }
            }
        }
    }

    /// Writes what connection `token` has buffered until it would block.
    fn flush_tcp(&mut self, token: usize) {
        use std::io::Write;
        let Some(c) = self.connections.get_mut(&token) else {
            return;
        };
        while !c.out.is_empty() {
            let (front, _) = c.out.as_slices();
            match c.stream.write(front) {
                Ok(n) => {
                    c.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.close_connection(token);
                    return;
                }
            }
        }
    }

    /// Opens a TCP connection to `remote` from `local`'s IP for a transmit
    /// the core sent from `local` (a TURN client's nominal address, a UDP
    /// socket's): what arrives on it is given to the endpoint as from
    /// `remote` to `local`. The connect completes in the background; bytes
    /// wait in the connection's buffer until it is writable.
    fn connect_tcp(&mut self, local: SocketAddr, remote: SocketAddr) -> Option<usize> {
        if self.connections.len() >= MAX_CONNECTIONS {
            return None;
        }
        let stream = match net::connect_tcp(local.ip(), remote) {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(%local, %remote, %e, "TCP connection not opened");
                return None;
            }
        };
        let mut stream = TcpStream::from_std(stream);
        let token = CONNECTION_BASE + self.next_connection;
        self.next_connection = (self.next_connection + 1) % (1 << 24);
        let interest = Interest::READABLE | Interest::WRITABLE;
        self.poll
            .registry()
            .register(&mut stream, Token(token), interest)
            .ok()?;
        let _ = stream.set_nodelay(true);
        self.connection_by_tuple.insert((local, remote), token);
        self.connections.insert(
            token,
            Connection {
                stream,
                local,
                remote,
                out: VecDeque::new(),
            },
        );
        Some(token)
    }

    fn close_connection(&mut self, token: usize) {
        if let Some(mut c) = self.connections.remove(&token) {
            self.connection_by_tuple.remove(&(c.local, c.remote));
            let _ = self.poll.registry().deregister(&mut c.stream);
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The endpoint, to change a peer between polls; what that makes the
    /// core send goes out at the next [`Driver::poll`].
    pub fn endpoint_mut(&mut self) -> &mut Endpoint {
        &mut self.endpoint
    }

    /// What the driver counted.
    pub fn stats(&self) -> DriverStats {
        self.stats
    }

    /// Gives `pc` a host candidate per bound socket, ends its local
    /// candidates, and adds it to the endpoint.
    pub fn add_peer(&mut self, mut pc: PeerConnection) -> io::Result<PeerId> {
        // ICE-TCP: an active candidate per UDP socket (connections open from
        // its IP when the first check goes out, see `send`).
        if self.active_tcp || !self.listeners.is_empty() {
            for s in &self.sockets {
                pc.add_local_active_tcp_candidate(s.local)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
            }
        }
        add_host_candidates(&mut pc, &self.host_candidates)?;
        self.endpoint.add_peer(pc).map_err(io::Error::other)
    }

    /// A handle for other threads.
    pub fn handle(&self) -> Handle {
        Handle {
            sender: self.sender.clone(),
            waker: self.waker.clone(),
            local_addrs: self.local_addrs.clone(),
            host_candidates: self.host_candidates.clone(),
        }
    }

    /// Whether a [`Handle::stop`] was processed.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// The oldest event not yet taken, with the peer it belongs to.
    pub fn poll_event(&mut self) -> Option<(PeerId, Event)> {
        self.events.pop_front()
    }

    /// Does the I/O and timers that are due once: sends what the endpoint
    /// has, waits up to `timeout` (`None`: no limit) or the endpoint's next
    /// timeout, whichever is sooner, for a datagram or a [`Handle`], feeds
    /// what arrived to the endpoint and sends its answer. Returns at once
    /// while events wait in [`Driver::poll_event`].
    ///
    /// Datagrams are fed a batch at a time, and the poll returns after the
    /// batch that gave the application events: it answers them (an echo,
    /// the next message...) while the rest of a burst waits, read or in
    /// the socket, for the next poll, which does not wait while any does.
    /// A peer's burst then does not hold back every reply until all of it
    /// is processed (two drivers answering each other would otherwise take
    /// turns, each idle while the other works through the whole burst).
    pub fn poll(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.run_commands();
        self.drain_endpoint();
        let events_before = self.events.len();
        let now = Instant::now();
        let deadline = [self.deadline, self.mdns.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let mut wait = deadline.map(|at| at.saturating_duration_since(now));
        if let Some(t) = timeout {
            wait = Some(wait.map_or(t, |w| w.min(t)));
        }
        if !self.events.is_empty() || self.stopped || self.input_waiting() {
            wait = Some(Duration::ZERO);
        }
        if self.unfed.is_some() {
            // Datagrams read by an earlier poll wait: they are fed first,
            // without a system call to learn what else is ready (mio's
            // readiness is edge-triggered: what became ready meanwhile is
            // reported by the next poll that asks).
            self.mio_events.clear();
        } else {
            match self.poll.poll(&mut self.mio_events, wait) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // Copied out (into a reused buffer) so the handlers may borrow self.
        let mut ready = std::mem::take(&mut self.ready);
        ready.clear();
        ready.extend(
            self.mio_events
                .iter()
                .filter(|e| e.token() != WAKER)
                .map(|e| (e.token().0, e.is_readable(), e.is_writable())),
        );
        for &(index, readable, writable) in &ready {
            if index == mdns::QUERY.0 || index == mdns::RESPONDER.0 {
                self.mdns.readable(Token(index), &mut self.endpoint);
                continue;
            }
            if index >= CONNECTION_BASE {
                if writable {
                    self.flush_tcp(index);
                }
                if readable {
                    self.receive_tcp(index);
                }
                continue;
            }
            if index >= LISTENER_BASE {
                self.accept(index - LISTENER_BASE);
                continue;
            }
            if writable {
                self.flush_socket(index);
            }
            if let Some(socket) = self.sockets.get_mut(index) {
                socket.readable |= readable;
            }
        }
        self.ready = ready;
        self.receive(events_before)?;
        let now = Instant::now();
        if self.deadline.is_some_and(|at| at <= now) {
            self.deadline = None;
            self.endpoint.handle_input(Input::Timeout(now));
        }
        if self.mdns.poll_timeout().is_some_and(|at| at <= now) {
            self.mdns
                .handle_timeout(&mut self.endpoint, self.poll.registry(), now);
        }
        self.run_commands();
        self.drain_endpoint();
        Ok(())
    }

    /// Polls until a [`Handle::stop`], giving each event to `on_event` with
    /// the endpoint (to answer it: echo a message, close a peer...).
    pub fn run(
        &mut self,
        mut on_event: impl FnMut(&mut Endpoint, PeerId, Event),
    ) -> io::Result<()> {
        while !self.stopped {
            self.poll(None)?;
            while let Some((peer, event)) = self.events.pop_front() {
                on_event(&mut self.endpoint, peer, event);
            }
        }
        Ok(())
    }

    /// Whether datagrams wait: read and not yet fed, or in a socket that
    /// was not read until it would block.
    fn input_waiting(&self) -> bool {
        self.unfed.is_some() || self.sockets.iter().any(|s| s.readable)
    }

    /// Feeds the endpoint what the readable sockets have, a batch at a
    /// time, until they would block or the application has events beyond
    /// the `events_before` it had when the poll began; sockets take turns.
    fn receive(&mut self, events_before: usize) -> io::Result<()> {
        loop {
            if let Some((index, fed)) = self.unfed.take() {
                self.feed(index, fed);
                self.drain_endpoint();
                if self.events.len() > events_before {
                    return Ok(());
                }
                continue;
            }
            let count = self.sockets.len();
            let Some(index) = (0..count)
                .map(|i| (self.next_read + i) % count)
                .find(|&i| self.sockets[i].readable)
            else {
                return Ok(());
            };
            let socket = &mut self.sockets[index];
            match udp::recv(SockRef::from(&socket.socket), &socket.state, &mut self.buf) {
                Ok(count) => {
                    self.stats.received += count as u64;
                    self.unfed = Some((index, 0));
                    self.next_read = index + 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => socket.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // ICMP errors reported on the socket (port unreachable for
                // an earlier send) are not fatal: ICE sees the silence.
                Err(e) if net::is_transient(&e) => {}
                Err(e) => {
                    socket.readable = false;
                    return Err(e);
                }
            }
        }
    }

    /// Feeds the endpoint up to [`RECEIVE_BATCH`] of the datagrams in
    /// `buf`, from socket `index`, after the `fed` already fed; what is
    /// left stays in [`Driver::unfed`].
    fn feed(&mut self, index: usize, fed: usize) {
        let Some(local) = self.sockets.get(index).map(|s| s.local) else {
            return;
        };
        let now = Instant::now();
        let endpoint = &mut self.endpoint;
        let left = udp::feed_slice(&self.buf, fed, RECEIVE_BATCH, local, now, |input| {
            endpoint.handle_input(input);
        });
        self.unfed = left.map(|fed| (index, fed));
    }

    /// Runs every queued closure.
    fn run_commands(&mut self) {
        while let Ok(message) = self.commands.try_recv() {
            match message {
                Message::Run(f) => f(&mut self.endpoint, Instant::now()),
                Message::Stop => self.stopped = true,
            }
        }
    }

    /// Takes everything the endpoint has: sends transmits, queues events,
    /// keeps the next timeout.
    fn drain_endpoint(&mut self) {
        loop {
            match self.endpoint.poll_output() {
                EndpointOutput::Transmit(t) => self.send(t),
                EndpointOutput::Event(peer, event) => {
                    if self.events.len() >= MAX_QUEUED_EVENTS {
                        self.stats.dropped_events += 1;
                    } else {
                        self.events.push_back((peer, event));
                    }
                }
                // The endpoint expired the peer (never connected, or failed
                // or closed long ago); its state events already went out.
                EndpointOutput::PeerRemoved(_) => {}
                EndpointOutput::Timeout(at) => {
                    self.deadline = at;
                    for index in 0..self.sockets.len() {
                        self.flush_socket(index);
                    }
                    self.mdns
                        .sync(&mut self.endpoint, self.poll.registry(), Instant::now());
                    return;
                }
            }
        }
    }

    /// Sends `t` from the socket bound to its source, or queues it there
    /// while the socket is full.
    fn send(&mut self, t: Transmit) {
        if t.proto == Protocol::Tcp {
            let token = self
                .connection_by_tuple
                .get(&(t.source, t.destination))
                .copied();
            let token = match token {
                Some(tk) => Some(tk),
                // From one of our UDP sockets' addresses: a TURN client
                // reaching its server over TCP; the connection opens now.
                None if self.sockets.iter().any(|s| s.local == t.source) => {
                    self.connect_tcp(t.source, t.destination)
                }
                None => None,
            };
            match token.and_then(|tk| self.connections.get_mut(&tk).map(|c| (tk, c))) {
                Some((tk, c)) if c.out.len() + t.contents.len() <= MAX_CONNECTION_BACKLOG => {
                    c.out.extend(&t.contents);
                    self.stats.sent += 1;
                    self.flush_tcp(tk);
                }
                _ => self.stats.dropped_transmits += 1,
            }
            return;
        }
        let found = self
            .sockets
            .iter()
            .position(|s| s.local == t.source && t.proto == Protocol::Udp);
        let Some(index) = found else {
            self.stats.dropped_transmits += 1;
            return;
        };
        let Some(socket) = self.sockets.get_mut(index) else {
            return;
        };
        if socket.queued.len() >= MAX_QUEUED_TRANSMITS {
            self.stats.dropped_transmits += 1;
            return;
        }
        socket.queued.push_back(t);
        // A full batch goes out at once, the rest when the endpoint's
        // output is drained.
        if socket.queued.len() >= udp::MAX_SEND {
            self.flush_socket(index);
        }
    }

    /// Sends the socket's queued transmits, in batches, until it would block.
    fn flush_socket(&mut self, index: usize) {
        let Some(socket) = self.sockets.get_mut(index) else {
            return;
        };
        while !socket.queued.is_empty() {
            let datagrams = socket
                .queued
                .iter()
                .map(|t| (t.contents.as_slice(), t.destination));
            match udp::send(SockRef::from(&socket.socket), &socket.state, datagrams) {
                Ok(n) => {
                    let n = n.min(socket.queued.len());
                    self.stats.sent += n as u64;
                    // Sent: the buffers go back for the next datagrams.
                    for t in socket.queued.drain(..n) {
                        self.endpoint.recycle_transmit(t);
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Unreachable networks, a loopback socket sending to an
                // outside address, ...: this path is dead, ICE finds out.
                Err(_) => self.stats.dropped_transmits += 1,
            }
            socket.queued.pop_front();
        }
    }
}

/// A non-blocking mio UDP socket on `addr` with `buffer`-byte kernel
/// buffers (best effort).
fn bind_udp(addr: SocketAddr, buffer: usize) -> io::Result<UdpSocket> {
    Ok(UdpSocket::from_std(net::bind_udp(addr, buffer)?))
}

/// The driver has been dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the driver is gone")
    }
}

impl std::error::Error for Closed {}

/// Reaches a [`Driver`] from any thread: queues closures that run on the
/// driver's thread at its next [`Driver::poll`], waking it.
#[derive(Clone)]
pub struct Handle {
    sender: mpsc::Sender<Message>,
    waker: Arc<Waker>,
    local_addrs: Arc<[SocketAddr]>,
    host_candidates: Arc<[(SocketAddr, Protocol)]>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("local_addrs", &self.local_addrs)
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// Runs `f` on the driver's thread with the endpoint and the time. To
    /// get a result back, send it through a channel from inside `f`.
    pub fn execute(
        &self,
        f: impl FnOnce(&mut Endpoint, Instant) + Send + 'static,
    ) -> Result<(), Closed> {
        self.post(Message::Run(Box::new(f)))
    }

    /// Makes [`Driver::run`] return and [`Driver::is_stopped`] true.
    pub fn stop(&self) -> Result<(), Closed> {
        self.post(Message::Stop)
    }

    /// The driver's bound addresses (for [`add_host_candidates`] in a
    /// closure).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// The driver's host candidates (see [`Driver::host_candidates`]), for
    /// [`add_host_candidates`] in a closure.
    pub fn host_candidates(&self) -> &[(SocketAddr, Protocol)] {
        &self.host_candidates
    }

    fn post(&self, message: Message) -> Result<(), Closed> {
        self.sender.send(message).map_err(|_| Closed)?;
        // A failed wake means the poll is gone too; the queued message is
        // dropped with the driver.
        self.waker.wake().map_err(|_| Closed)
    }
}

/// Gives `pc` a host candidate for each of `candidates` (UDP sockets and, with
/// ICE-TCP, passive TCP listeners), then ends its local candidates (what
/// [`Driver::add_peer`] does; for closures run through a [`Handle`], with
/// [`Handle::host_candidates`]).
pub fn add_host_candidates(
    pc: &mut PeerConnection,
    candidates: &[(SocketAddr, Protocol)],
) -> io::Result<()> {
    net::add_candidates(pc, candidates.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only_binds_loopback() {
        let driver =
            Driver::bind(&[IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)]).expect("bind 127.0.0.1");
        assert_eq!(driver.local_addrs().len(), 1);
        assert!(driver.local_addrs().iter().all(|a| a.ip().is_loopback()));
        assert!(driver.local_addrs().iter().all(|a| a.port() != 0));
    }

    #[test]
    fn a_handle_runs_closures_and_stops_the_driver() {
        let mut driver =
            Driver::bind(&[IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)]).expect("bind 127.0.0.1");
        let handle = driver.handle();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = handle.execute(move |_, _| {
                let _ = tx.send(42);
            });
            let _ = handle.stop();
        });
        driver.run(|_, _, _| {}).expect("run");
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(42));
        assert!(driver.is_stopped());
    }
}
