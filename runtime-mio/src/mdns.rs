//! mDNS for the endpoint's peers (RFC 6762, draft-ietf-mmusic-mdns-ice-candidates):
//! the `.local` names of remote candidates are resolved with one-shot
//! queries, and, for peers with
//! [`Configuration::mdns_host_candidates`](eddy::Configuration::mdns_host_candidates),
//! queries for our names are answered. The sockets open when first needed.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use eddy::endpoint::{Endpoint, PeerId};
use eddy::mdns::{MdnsResolution, MdnsResolver, MdnsResponder, MDNS_V4};
use eddy_runtime_common::mdns::{query_socket, responder_socket};
use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};

/// The query socket's token.
pub(crate) const QUERY: Token = Token(usize::MAX - 1);
/// The responder socket's token.
pub(crate) const RESPONDER: Token = Token(usize::MAX - 2);
/// How often the peers are asked for names to resolve and publish.
const SYNC_INTERVAL: Duration = Duration::from_millis(50);
/// (peer, name) waiting for an answer, at most.
const MAX_ASKERS: usize = 1024;

#[derive(Default)]
pub(crate) struct Mdns {
    resolver: MdnsResolver,
    responder: MdnsResponder,
    query: Option<UdpSocket>,
    responder_socket: Option<UdpSocket>,
    /// Which peer waits for which name.
    askers: Vec<(PeerId, String)>,
    next_sync: Option<Instant>,
    /// Opening the responder socket failed: not tried again.
    responder_failed: bool,
    buf: Vec<u8>,
}

impl Mdns {
    /// Picks up the names the peers wait for and the names they publish
    /// (at most every [`SYNC_INTERVAL`]), and sends the queries due.
    pub(crate) fn sync(&mut self, endpoint: &mut Endpoint, registry: &Registry, now: Instant) {
        if self.next_sync.is_some_and(|t| now < t) {
            return;
        }
        self.next_sync = Some(now + SYNC_INTERVAL);
        let mut published = MdnsResponder::new();
        published.answered = self.responder.answered;
        let ids: Vec<PeerId> = endpoint.peer_ids().collect();
        for id in ids {
            let Some(pc) = endpoint.peer(id) else {
                continue;
            };
            for name in pc.pending_mdns_names() {
                let asked = self.askers.iter().any(|(p, n)| *p == id && *n == name);
                if !asked && self.askers.len() < MAX_ASKERS && self.resolver.resolve(now, &name) {
                    self.askers.push((id, name));
                }
            }
            if pc.configuration().mdns_host_candidates {
                for (name, ip) in pc.mdns_host_names() {
                    published.publish(name, ip);
                }
            }
        }
        self.responder = published;
        if !self.responder.names().is_empty()
            && self.responder_socket.is_none()
            && !self.responder_failed
        {
            let interfaces: Vec<Ipv4Addr> = self
                .responder
                .names()
                .iter()
                .filter_map(|(_, ip)| match ip {
                    IpAddr::V4(v4) => Some(*v4),
                    IpAddr::V6(_) => None,
                })
                .collect();
            match open(responder_socket(&interfaces), registry, RESPONDER) {
                Ok(s) => self.responder_socket = Some(s),
                Err(e) => {
                    tracing::warn!(%e, "mDNS responder not started: our .local names will not resolve");
                    self.responder_failed = true;
                }
            }
        }
        self.send_queries(registry);
    }

    fn send_queries(&mut self, registry: &Registry) {
        while let Some(q) = self.resolver.poll_transmit() {
            if self.query.is_none() {
                match open(query_socket(), registry, QUERY) {
                    Ok(s) => self.query = Some(s),
                    Err(e) => {
                        tracing::warn!(%e, "mDNS query socket not opened");
                        return;
                    }
                }
            }
            if let Some(s) = &self.query {
                if let Err(e) = s.send_to(&q, MDNS_V4) {
                    tracing::debug!(%e, "mDNS query not sent");
                }
            }
        }
    }

    /// One of the mDNS sockets is readable.
    pub(crate) fn readable(&mut self, token: Token, endpoint: &mut Endpoint) {
        self.buf.resize(9000, 0);
        loop {
            let socket = if token == QUERY {
                self.query.as_ref()
            } else {
                self.responder_socket.as_ref()
            };
            let Some(socket) = socket else { return };
            let (n, source) = match socket.recv_from(&mut self.buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let data = &self.buf[..n];
            if token == QUERY {
                self.resolver.handle_receive(data);
            } else if let Some((reply, to)) = self.responder.handle_query(data, source) {
                if let Err(e) = socket.send_to(&reply, to) {
                    tracing::debug!(%e, %to, "mDNS answer not sent");
                }
            }
        }
        self.deliver(endpoint);
    }

    /// Gives resolved names to the peers that wait for them.
    fn deliver(&mut self, endpoint: &mut Endpoint) {
        while let Some(r) = self.resolver.poll_result() {
            let (name, ip) = match r {
                MdnsResolution::Resolved { name, ip } => (name, Some(ip)),
                MdnsResolution::Failed { name } => (name, None),
            };
            self.askers.retain(|(peer, n)| {
                if !n.eq_ignore_ascii_case(&name) {
                    return true;
                }
                match (ip, endpoint.peer_mut(*peer)) {
                    (Some(ip), Some(pc)) => {
                        tracing::info!(name = %n, %ip, "mDNS name resolved");
                        pc.resolve_remote_candidate(n, ip);
                    }
                    _ => tracing::debug!(name = %n, "mDNS name not resolved"),
                }
                false
            });
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) has work.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let sync = self.next_sync.filter(|_| !self.askers.is_empty());
        [self.resolver.poll_timeout(), sync]
            .into_iter()
            .flatten()
            .min()
    }

    pub(crate) fn handle_timeout(
        &mut self,
        endpoint: &mut Endpoint,
        registry: &Registry,
        now: Instant,
    ) {
        self.resolver.handle_timeout(now);
        self.send_queries(registry);
        self.deliver(endpoint);
    }
}

fn open(
    socket: io::Result<std::net::UdpSocket>,
    registry: &Registry,
    token: Token,
) -> io::Result<UdpSocket> {
    let mut s = UdpSocket::from_std(socket?);
    registry.register(&mut s, token, Interest::READABLE)?;
    Ok(s)
}
