//! The handles the application holds: `Send`, cheap, talking to the driver
//! over channels.

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use async_channel::{Receiver, Sender};
use eddy::{
    ChannelId, Configuration, DataChannelError, DataChannelInit, DataChannelMessage, Event,
    IceCandidate, JsepError, PeerConnection, SessionDescription,
};
use futures_core::Stream;

use crate::driver::{Channels, Driver, Runtime};
use crate::driver_tcp::TcpOptions;
use crate::net;
use crate::state::{
    Command, DriverStats, Incoming, Outgoing, State, MAX_PENDING_CHANNELS, MAX_QUEUED_EVENTS,
};

/// Commands queued to the driver before `send` waits.
const COMMAND_QUEUE: usize = 256;

/// Why a call on a [`Connection`] or [`DataChannel`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The core refused a JSEP call.
    #[error(transparent)]
    Jsep(#[from] JsepError),
    /// The core refused a data channel call.
    #[error(transparent)]
    DataChannel(#[from] DataChannelError),
    /// The connection was closed: its driver has stopped.
    #[error("the connection is closed")]
    Closed,
}

/// Sends `f` to the driver and waits for what it passes to its reply.
async fn request<T: Send + 'static>(
    commands: &Sender<Command>,
    f: impl FnOnce(&mut State, Sender<T>) + Send + 'static,
) -> Result<T, Error> {
    let (tx, rx) = async_channel::bounded(1);
    commands
        .send(Box::new(move |state: &mut State| f(state, tx)))
        .await
        .map_err(|_| Error::Closed)?;
    rx.recv().await.map_err(|_| Error::Closed)
}

/// Runs `f` on the driver and returns its result.
async fn call<T: Send + 'static>(
    commands: &Sender<Command>,
    f: impl FnOnce(&mut State) -> T + Send + 'static,
) -> Result<T, Error> {
    request(commands, move |state, reply| {
        let _ = reply.try_send(f(state));
    })
    .await
}

/// A peer connection whose driver is a task on the application's runtime
/// (W3C RTCPeerConnection, async). Clones share the connection.
///
/// The driver stops at [`close`](Self::close), or once every clone and
/// every [`DataChannel`] of the connection is dropped (it then closes the
/// peer).
pub struct Connection<R> {
    commands: Sender<Command>,
    events: Receiver<Event>,
    incoming: Receiver<Incoming>,
    local_addrs: Vec<SocketAddr>,
    runtime: PhantomData<fn() -> R>,
}

impl<R> Clone for Connection<R> {
    fn clone(&self) -> Self {
        Self {
            commands: self.commands.clone(),
            events: self.events.clone(),
            incoming: self.incoming.clone(),
            local_addrs: self.local_addrs.clone(),
            runtime: PhantomData,
        }
    }
}

impl<R> fmt::Debug for Connection<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("local_addrs", &self.local_addrs)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> Connection<R> {
    /// Binds a UDP socket on each of `bind` (free ports; an unspecified IP
    /// stands for every interface address of its family, no IP at all for
    /// every interface address), creates the peer with those host
    /// candidates, and spawns its driver as a task on the runtime `R`
    /// (no thread of its own).
    ///
    /// Call it where `R` can spawn: for tokio, from within a runtime
    /// context (inside `block_on` or a task); otherwise it returns an
    /// error. Blocks the calling thread while it resolves the ICE server
    /// hostnames of `config` and generates the DTLS certificate
    /// (milliseconds, unless DNS is slow).
    pub fn new(config: Configuration, bind: &[IpAddr]) -> io::Result<Self> {
        bind.iter()
            .fold(Self::builder(config), |b, &ip| b.ip(ip))
            .build()
    }

    /// A [`Builder`], for more than [`new`](Self::new) offers: ICE-TCP
    /// candidates (RFC 6544).
    pub fn builder(config: Configuration) -> Builder<R> {
        Builder {
            config,
            ips: Vec::new(),
            tcp: TcpOptions {
                ice_tcp: false,
                passive: true,
                tcp_only: false,
            },
            runtime: PhantomData,
        }
    }

    fn build(config: Configuration, bind: &[IpAddr], tcp: TcpOptions) -> io::Result<Self> {
        let sockets = net::local_addresses(bind, 0, false)?
            .into_iter()
            .map(|addr| net::bind_udp(addr, net::DEFAULT_SOCKET_BUFFER))
            .collect::<io::Result<Vec<_>>>()?;
        let local_addrs = sockets
            .iter()
            .map(std::net::UdpSocket::local_addr)
            .collect::<io::Result<Vec<_>>>()?;
        let (commands_tx, commands) = async_channel::bounded(COMMAND_QUEUE);
        let (events, events_rx) = async_channel::bounded(MAX_QUEUED_EVENTS);
        let (incoming, incoming_rx) = async_channel::bounded(MAX_PENDING_CHANNELS);
        let channels = Channels {
            commands,
            events,
            incoming,
        };
        let driver = Driver::new::<R>(config, sockets, tcp, channels)?;
        R::spawn(driver.run())?;
        Ok(Self {
            commands: commands_tx,
            events: events_rx,
            incoming: incoming_rx,
            local_addrs,
            runtime: PhantomData,
        })
    }
}

/// Builds a [`Connection`] (from [`Connection::builder`]): the addresses
/// to bind and the ICE-TCP candidates, as `eddy_mio::Builder` does.
///
/// TURN over TCP and TLS (`turn:...?transport=tcp`, `turns:`) needs no
/// switch: the driver opens the connection to the server when the core
/// first sends to it.
pub struct Builder<R> {
    config: Configuration,
    ips: Vec<IpAddr>,
    tcp: TcpOptions,
    runtime: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for Builder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("ips", &self.ips)
            .field("tcp", &self.tcp)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> Builder<R> {
    /// Binds a UDP socket on this IP (an unspecified one stands for every
    /// interface address of its family). Defaults to none given: every
    /// interface address.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ips.push(ip);
        self
    }

    /// Also gives the peer ICE-TCP host candidates (RFC 6544): an active
    /// one per UDP socket's address (the driver connects to the remote's
    /// passive candidates from that IP) and, unless
    /// [`tcp_passive(false)`](Self::tcp_passive), a passive one on a TCP
    /// listener at each address (its own free port). Defaults to `false`.
    pub fn ice_tcp(mut self, yes: bool) -> Self {
        self.tcp.ice_tcp = yes;
        self
    }

    /// With [`ice_tcp`](Self::ice_tcp): whether to listen and offer passive
    /// TCP candidates (`false`: active ones only). Defaults to `true`.
    pub fn tcp_passive(mut self, yes: bool) -> Self {
        self.tcp.passive = yes;
        self
    }

    /// With [`ice_tcp`](Self::ice_tcp): no UDP host candidates, only TCP
    /// ones (a network that blocks UDP, or a test of ICE-TCP). Defaults to
    /// `false`.
    pub fn tcp_only(mut self, yes: bool) -> Self {
        self.tcp.tcp_only = yes;
        self
    }

    /// Binds the sockets (and listeners), creates the peer and spawns its
    /// driver: [`Connection::new`] with these choices.
    pub fn build(self) -> io::Result<Connection<R>> {
        Connection::build(self.config, &self.ips, self.tcp)
    }
}

impl<R> Connection<R> {
    /// The bound local addresses: the host candidates.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// Runs `f` with the peer in the driver task: the rest of the core
    /// API (`connection_state`, `get_stats`, transceivers...). What `f` makes
    /// the peer send goes out right after.
    pub async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PeerConnection) -> T + Send + 'static,
    ) -> Result<T, Error> {
        call(&self.commands, move |s| f(&mut s.pc)).await
    }

    /// W3C `createOffer`.
    pub async fn create_offer(&self) -> Result<SessionDescription, Error> {
        Ok(self.with(|pc| pc.create_offer()).await??)
    }

    /// W3C `createAnswer`.
    pub async fn create_answer(&self) -> Result<SessionDescription, Error> {
        Ok(self.with(|pc| pc.create_answer()).await??)
    }

    /// W3C `setLocalDescription`.
    pub async fn set_local_description(&self, desc: SessionDescription) -> Result<(), Error> {
        Ok(self.with(|pc| pc.set_local_description(desc)).await??)
    }

    /// W3C `setRemoteDescription`.
    pub async fn set_remote_description(&self, desc: SessionDescription) -> Result<(), Error> {
        Ok(self.with(|pc| pc.set_remote_description(desc)).await??)
    }

    /// W3C `addIceCandidate`: a candidate the peer trickled.
    pub async fn add_ice_candidate(&self, candidate: IceCandidate) -> Result<(), Error> {
        Ok(self.with(|pc| pc.add_ice_candidate(candidate)).await??)
    }

    /// W3C `localDescription`: after [`gathering_complete`](Self::gathering_complete)
    /// it carries every candidate (non-trickle signaling).
    pub async fn local_description(&self) -> Result<Option<SessionDescription>, Error> {
        self.with(|pc| pc.local_description().cloned()).await
    }

    /// Waits until ICE gathering is complete (gathering starts with
    /// `set_local_description`).
    pub async fn gathering_complete(&self) -> Result<(), Error> {
        request(&self.commands, |s, reply| s.gathering_complete(reply)).await
    }

    /// W3C `createDataChannel`. Messages sent before it opens are queued.
    pub async fn create_data_channel(
        &self,
        label: &str,
        init: DataChannelInit,
    ) -> Result<DataChannel, Error> {
        let label = label.to_owned();
        let channel = call(&self.commands, move |s| s.create_channel(&label, &init)).await??;
        Ok(self.channel(channel))
    }

    /// The next channel the peer opened (W3C `datachannel` event); `None`
    /// once the connection is closed.
    pub async fn accept_data_channel(&self) -> Option<DataChannel> {
        let channel = self.incoming.recv().await.ok()?;
        Some(self.channel(channel))
    }

    /// The peer's events, except data channel messages and
    /// `ChannelBufferedAmountLow`, which the [`DataChannel`]s consume.
    /// Every call reads the same queue (each event comes out once); it
    /// holds [`MAX_QUEUED_EVENTS`] events, later ones are dropped while it
    /// is full.
    pub fn events(&self) -> Events {
        Events {
            events: Box::pin(self.events.clone()),
        }
    }

    /// What the driver counted: UDP datagrams read and sent.
    pub async fn stats(&self) -> Result<DriverStats, Error> {
        call(&self.commands, |s| s.stats).await
    }

    /// W3C `close()`: closes the peer and stops the driver; every handle's
    /// calls then fail with [`Error::Closed`].
    pub async fn close(&self) {
        let _ = call(&self.commands, |s| {
            s.pc.close();
            s.closed = true;
        })
        .await;
    }

    fn channel(&self, c: Incoming) -> DataChannel {
        DataChannel {
            id: c.id,
            label: c.label,
            messages: c.messages,
            commands: self.commands.clone(),
        }
    }
}

/// A data channel (W3C RTCDataChannel, async). Dropping it does not close
/// the channel; its messages are then discarded.
pub struct DataChannel {
    id: ChannelId,
    label: String,
    messages: Receiver<DataChannelMessage>,
    commands: Sender<Command>,
}

impl fmt::Debug for DataChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataChannel")
            .field("id", &self.id)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl DataChannel {
    /// The connection-wide handle of the channel.
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// W3C `label`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// W3C `send(ArrayBuffer)`: queues a binary message, first waiting while
    /// more than [`SEND_HIGH_WATER`](crate::SEND_HIGH_WATER) bytes are
    /// buffered (until `bufferedamountlow`).
    pub async fn send(&self, data: &[u8]) -> Result<(), Error> {
        self.send_message(Outgoing::Binary(data.to_vec())).await
    }

    /// W3C `send(string)`: a text message, as [`send`](Self::send).
    pub async fn send_text(&self, text: &str) -> Result<(), Error> {
        self.send_message(Outgoing::Text(text.to_owned())).await
    }

    async fn send_message(&self, message: Outgoing) -> Result<(), Error> {
        let id = self.id;
        Ok(request(&self.commands, move |s, reply| s.send(id, message, reply)).await??)
    }

    /// The next message; `None` once the channel is closed and every
    /// message has been read. Up to
    /// [`MAX_QUEUED_MESSAGES`](crate::MAX_QUEUED_MESSAGES) wait for this
    /// call; more are dropped (and logged) while the queue is full.
    pub async fn recv(&mut self) -> Option<DataChannelMessage> {
        self.messages.recv().await.ok()
    }

    /// W3C `bufferedAmount`: bytes queued and not yet sent.
    pub async fn buffered_amount(&self) -> Result<usize, Error> {
        let id = self.id;
        call(&self.commands, move |s| {
            s.pc.data_channel(id).map_or(0, |dc| dc.buffered_amount())
        })
        .await
    }

    /// W3C `close()`: starts closing; [`recv`](Self::recv) returns `None`
    /// once both sides have closed.
    pub async fn close(&self) -> Result<(), Error> {
        let id = self.id;
        call(&self.commands, move |s| {
            if let Some(mut dc) = s.pc.data_channel(id) {
                dc.close();
            }
        })
        .await
    }
}

/// The peer's events, from [`Connection::events`]; also a [`Stream`].
pub struct Events {
    events: Pin<Box<Receiver<Event>>>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

impl Events {
    /// The next event; `None` once the connection is closed.
    pub async fn recv(&mut self) -> Option<Event> {
        self.events.recv().await.ok()
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.events.as_mut().poll_next(cx)
    }
}
