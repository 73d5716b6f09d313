//! mDNS in the connection driver (RFC 6762, draft-ietf-mmusic-mdns-ice-candidates):
//! the peer's remote `.local` names are resolved with one-shot queries and,
//! with [`Configuration::mdns_host_candidates`](eddy::Configuration::mdns_host_candidates),
//! our names are answered. Each socket opens when first needed, through
//! the runtime's own reactor.

use std::io;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::task::{Context, Poll};
use std::time::Instant;

use eddy::mdns::{MdnsResolution, MdnsResolver, MdnsResponder, MDNS_V4};
use eddy::PeerConnection;

use crate::driver::{Interest, UdpIo};
use crate::mdns::{query_socket, responder_socket};
use crate::udp::{self, RecvBuffer, SockRef, UdpState};

struct MdnsSocket {
    io: Box<dyn UdpIo>,
    state: UdpState,
}

impl MdnsSocket {
    fn open(
        socket: io::Result<UdpSocket>,
        wrap: fn(UdpSocket) -> io::Result<Box<dyn UdpIo>>,
    ) -> io::Result<Self> {
        let socket = socket?;
        let state = UdpState::new(SockRef::from(&socket));
        Ok(Self {
            io: wrap(socket)?,
            state,
        })
    }

    /// Best effort: a datagram the socket cannot take now is dropped (the
    /// resolver asks again on its schedule).
    fn send(&self, data: &[u8], to: std::net::SocketAddr) {
        let sent = self.io.try_io(Interest::Writable, &mut |s| {
            udp::send(s, &self.state, std::iter::once((data, to)))
        });
        if let Err(e) = sent {
            tracing::debug!(%e, %to, "mDNS datagram not sent");
        }
    }
}

pub(crate) struct DriverMdns {
    wrap: fn(UdpSocket) -> io::Result<Box<dyn UdpIo>>,
    resolver: MdnsResolver,
    responder: MdnsResponder,
    query: Option<MdnsSocket>,
    respond: Option<MdnsSocket>,
    /// Names asked for (until resolved or given up).
    asked: Vec<String>,
    responder_failed: bool,
    buf: RecvBuffer,
}

impl DriverMdns {
    pub(crate) fn new(wrap: fn(UdpSocket) -> io::Result<Box<dyn UdpIo>>) -> Self {
        Self {
            wrap,
            resolver: MdnsResolver::new(),
            responder: MdnsResponder::new(),
            query: None,
            respond: None,
            asked: Vec::new(),
            responder_failed: false,
            buf: RecvBuffer::new(),
        }
    }

    /// After the peer's output was drained: the names it waits for and the
    /// names it publishes.
    pub(crate) fn sync(&mut self, pc: &PeerConnection, now: Instant) {
        for name in pc.pending_mdns_names() {
            if !self.asked.contains(&name) && self.resolver.resolve(now, &name) {
                self.asked.push(name);
            }
        }
        if pc.configuration().mdns_host_candidates {
            // Names are only ever added: a new count means a new name (no
            // allocation on this per-drain path otherwise).
            if pc.mdns_host_names().count() != self.responder.names().len() {
                for (name, ip) in pc.mdns_host_names() {
                    self.responder.publish(name, ip);
                }
                self.open_responder();
            }
        }
        self.send_queries();
    }

    fn open_responder(&mut self) {
        if self.respond.is_some() || self.responder_failed {
            return;
        }
        let interfaces: Vec<Ipv4Addr> = self
            .responder
            .names()
            .iter()
            .filter_map(|(_, ip)| match ip {
                IpAddr::V4(v4) => Some(*v4),
                IpAddr::V6(_) => None,
            })
            .collect();
        match MdnsSocket::open(responder_socket(&interfaces), self.wrap) {
            Ok(s) => self.respond = Some(s),
            Err(e) => {
                tracing::warn!(%e, "mDNS responder not started: our .local names will not resolve");
                self.responder_failed = true;
            }
        }
    }

    fn send_queries(&mut self) {
        while let Some(q) = self.resolver.poll_transmit() {
            if self.query.is_none() {
                match MdnsSocket::open(query_socket(), self.wrap) {
                    Ok(s) => self.query = Some(s),
                    Err(e) => {
                        tracing::warn!(%e, "mDNS query socket not opened");
                        return;
                    }
                }
            }
            if let Some(s) = &self.query {
                s.send(&q, MDNS_V4);
            }
        }
    }

    /// Reads both sockets until they would block, answers queries and
    /// gives resolved names to the peer; true if it resolved any.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>, pc: &mut PeerConnection) -> bool {
        for is_query in [true, false] {
            let socket = if is_query { &self.query } else { &self.respond };
            let Some(socket) = socket else { continue };
            loop {
                let buf = &mut self.buf;
                let received = socket.io.try_io(Interest::Readable, &mut |s| {
                    udp::recv(s, &socket.state, buf)
                });
                match received {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        match socket.io.poll_recv_ready(cx) {
                            Poll::Ready(Ok(())) => continue,
                            _ => break,
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
                for (source, data) in self.buf.datagrams() {
                    if is_query {
                        self.resolver.handle_receive(data);
                    } else if let Some((reply, to)) = self.responder.handle_query(data, source) {
                        socket.send(&reply, to);
                    }
                }
            }
        }
        self.deliver(pc)
    }

    fn deliver(&mut self, pc: &mut PeerConnection) -> bool {
        let mut resolved = false;
        while let Some(r) = self.resolver.poll_result() {
            match r {
                MdnsResolution::Resolved { name, ip } => {
                    tracing::info!(%name, %ip, "mDNS name resolved");
                    pc.resolve_remote_candidate(&name, ip);
                    resolved = true;
                    self.asked.retain(|n| !n.eq_ignore_ascii_case(&name));
                }
                MdnsResolution::Failed { name } => {
                    tracing::debug!(%name, "mDNS name not resolved");
                    self.asked.retain(|n| !n.eq_ignore_ascii_case(&name));
                }
            }
        }
        resolved
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.resolver.poll_timeout()
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant, pc: &mut PeerConnection) {
        self.resolver.handle_timeout(now);
        self.send_queries();
        self.deliver(pc);
    }
}
