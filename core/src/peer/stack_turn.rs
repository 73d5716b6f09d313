//! The TURN clients under the transport stack (RFC 8656 with RFC 8445
//! §5.1.1.2): one per configured `turn:` server (UDP) and local UDP
//! socket. Each gives ICE a relayed candidate; what ICE sends from that
//! candidate goes through the allocation ([`Stack::turn_send`], from
//! `push_transmit`), and what the server relays comes back into the
//! demultiplexer as if received on the relayed address from the peer
//! ([`Stack::turn_receive`], from `route_datagram`). Failures become
//! [`TransportEvent::IceCandidateError`].

use std::net::SocketAddr;
use std::time::Instant;

use super::stack::{Stack, TransportEvent};
use crate::config::Configuration;
use crate::io::{Protocol, Transmit};
use crate::state::IceConnectionState;
use crate::turn::url::{self, TurnTransport};
use crate::turn::{TurnClient, TurnEvent};

/// The most TURN servers used from a configuration.
pub(crate) const MAX_TURN_SERVERS: usize = 4;
/// The most TURN clients (servers x local sockets) of one connection.
pub(crate) const MAX_TURN_CLIENTS: usize = 16;

/// A configured TURN server the core can use.
#[derive(Clone)]
pub(crate) struct TurnServer {
    url: String,
    server: SocketAddr,
    /// UDP, TCP or TLS (on TCP) to the server.
    proto: Protocol,
    /// PEM certificates trusted for `turns:` besides the system's.
    roots: std::sync::Arc<[Vec<u8>]>,
    username: String,
    password: String,
}

impl std::fmt::Debug for TurnServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnServer")
            .field("url", &self.url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl TurnServer {
    /// A client of this server from the local socket `local`.
    fn client(&self, local: SocketAddr, rng: crate::rng::Rng, now: Instant) -> TurnClient {
        let (user, pass) = (&self.username, &self.password);
        match self.proto {
            Protocol::Tls => {
                TurnClient::with_tls(self.server, local, &self.roots, user, pass, rng, now)
            }
            p => TurnClient::with_transport(self.server, local, p, user, pass, rng, now),
        }
    }
}

/// One allocation and what the stack knows of it.
#[derive(Debug)]
pub(crate) struct TurnSlot {
    url: String,
    client: TurnClient,
    /// ICE waits for this allocation to finish gathering.
    gathering: bool,
    /// The relayed address ICE was given: what ICE sends from it goes to
    /// this client, even once the allocation is lost (then it is dropped,
    /// not sent from an address no socket has).
    relayed: Option<SocketAddr>,
}

/// The configuration's `turn:` servers over UDP with IP literals (runtimes
/// resolve names first); the others are logged and skipped.
pub(crate) fn turn_servers(config: &Configuration) -> Vec<TurnServer> {
    let mut out = Vec::new();
    let roots: std::sync::Arc<[Vec<u8>]> = config.turns_trusted_certificates.clone().into();
    for s in &config.ice_servers {
        for u in s.urls.iter().filter(|u| u.starts_with("turn")) {
            let parsed = match url::parse(u) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(url = %u, %e, "TURN server not used");
                    continue;
                }
            };
            let proto = match parsed.transport {
                TurnTransport::Udp => Protocol::Udp,
                TurnTransport::Tcp => Protocol::Tcp,
                TurnTransport::Tls => Protocol::Tls,
            };
            if out.len() >= MAX_TURN_SERVERS {
                tracing::warn!(url = %u, "TURN server not used: too many");
                continue;
            }
            out.push(TurnServer {
                url: u.clone(),
                server: parsed.server,
                proto,
                roots: roots.clone(),
                username: s.username.clone().unwrap_or_default(),
                password: s.credential.clone().unwrap_or_default(),
            });
        }
    }
    out
}

impl Stack {
    /// A local socket the runtime bound: a host candidate for ICE (unless
    /// `relay_only`, W3C `iceTransportPolicy: relay`), and for UDP one
    /// allocation per TURN server of its address family.
    pub(crate) fn add_local_socket(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        proto: Protocol,
        relay_only: bool,
    ) -> Result<(), crate::ice::IceError> {
        if !relay_only {
            self.ice.add_local_candidate(addr, proto)?;
        }
        // RFC 8445 §2.5: a lite agent gathers host candidates only.
        if proto != Protocol::Udp || self.ice.is_lite() {
            return Ok(());
        }
        for s in self.turn_servers.clone() {
            if s.server.is_ipv4() != addr.is_ipv4()
                || self.turn.iter().any(|t| {
                    t.client.server() == s.server
                        && t.client.local() == addr
                        && t.client.proto() == s.proto
                })
            {
                continue;
            }
            if self.turn.len() >= MAX_TURN_CLIENTS {
                tracing::warn!(url = %s.url, "TURN allocation not made: too many");
                break;
            }
            let client = s.client(addr, self.turn_rng().fork(), now);
            self.ice.begin_relay_gathering();
            self.turn.push(TurnSlot {
                url: s.url,
                client,
                gathering: true,
                relayed: None,
            });
        }
        Ok(())
    }

    /// Brings the TURN clients' clocks to `now` (they time the requests
    /// that sends start).
    pub(super) fn turn_touch(&mut self, now: Instant) {
        for t in &mut self.turn {
            t.client.touch(now);
        }
    }

    /// A datagram from a TURN server to the socket of its allocation: the
    /// client's. Relayed data goes back to the demultiplexer as if it
    /// arrived on the relayed address from the peer. Returns whether the
    /// datagram was a TURN client's.
    pub(super) fn turn_receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) -> bool {
        let Some(slot) = self.turn.iter_mut().find(|t| {
            t.client.server() == source
                && t.client.local() == destination
                && t.client.proto() == Protocol::Udp
        }) else {
            return false;
        };
        let relayed = slot.client.relayed();
        if let (Some((peer, data)), Some(relayed)) =
            (slot.client.handle_receive(now, contents), relayed)
        {
            self.route_datagram(now, peer, relayed, data);
        }
        true
    }

    /// A chunk of a TCP connection: a TURN-over-TCP client's if it comes
    /// from its server to its local address. Relayed data goes back to the
    /// demultiplexer as from the peer to the relayed address. Returns
    /// whether it was a TURN client's.
    pub(super) fn turn_receive_stream(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        chunk: &[u8],
    ) -> bool {
        let Some(i) = self.turn.iter().position(|t| {
            t.client.server() == source
                && t.client.local() == destination
                && t.client.proto() != Protocol::Udp
        }) else {
            return false;
        };
        let relayed = self.turn[i].client.relayed();
        let mut data: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
        self.turn[i]
            .client
            .handle_stream(now, chunk, |peer, d| data.push((peer, d.to_vec())));
        if let Some(relayed) = relayed {
            for (peer, d) in data {
                self.route_datagram(now, peer, relayed, &d);
            }
        }
        true
    }

    /// A transmit from a relayed candidate: sent through its allocation.
    /// Returns whether it was.
    pub(super) fn turn_send(&mut self, t: &Transmit) -> bool {
        if t.proto != Protocol::Udp {
            return false;
        }
        let Some(slot) = self.turn.iter_mut().find(|s| s.relayed == Some(t.source)) else {
            // From a relayed address whose allocation was replaced: dropped.
            return self.turn_retired.contains(&t.source);
        };
        slot.client.send(t.destination, &t.contents);
        while let Some(out) = slot.client.poll_transmit() {
            self.transmits.push_back(out);
        }
        true
    }

    /// The earliest TURN deadline.
    pub(super) fn turn_timeout(&self) -> Option<Instant> {
        self.turn
            .iter()
            .filter_map(|t| t.client.poll_timeout())
            .min()
    }

    /// Wakes the TURN clients whose time came.
    pub(super) fn turn_handle_timeout(&mut self, now: Instant) {
        for t in &mut self.turn {
            if t.client.poll_timeout().is_some_and(|d| d <= now) {
                t.client.handle_timeout(now);
            }
        }
    }

    /// Moves the TURN clients' datagrams out and their events to ICE (a
    /// relayed candidate, the end of a gathering) and to the connection
    /// (errors). Returns whether anything moved.
    pub(super) fn pump_turn(&mut self) -> bool {
        let mut moved = false;
        for i in 0..self.turn.len() {
            while let Some(e) = self.turn[i].client.poll_event() {
                moved = true;
                let slot = &mut self.turn[i];
                let gathering = std::mem::replace(&mut slot.gathering, false);
                match e {
                    TurnEvent::Allocated { relayed, mapped } => {
                        let server = slot.client.server();
                        if !gathering {
                            continue;
                        }
                        slot.relayed = Some(relayed);
                        if let Err(e) = self.ice.add_relayed_candidate(relayed, mapped, server) {
                            tracing::debug!(%e, %relayed, "relayed candidate refused");
                        }
                    }
                    TurnEvent::Failed { code, reason } => {
                        let (url, local) = (slot.url.clone(), slot.client.local());
                        if gathering {
                            self.ice.end_relay_gathering();
                        }
                        // The allocation is gone: so is its candidate.
                        if let Some(relayed) = slot.relayed {
                            self.ice.retire_relayed_candidate(relayed);
                        }
                        self.events.push_back(TransportEvent::IceCandidateError {
                            url,
                            code,
                            text: reason,
                            address: Some(local),
                        });
                    }
                }
            }
            while let Some(t) = self.turn[i].client.poll_transmit() {
                moved = true;
                self.transmits.push_back(t);
            }
        }
        moved
    }

    /// After an ICE restart: every allocation that does not carry the
    /// selected pair (failed, lost, or simply unused) is released and made
    /// again, its old relayed candidate retired, so the new ICE session
    /// gathers relayed candidates that work.
    pub(super) fn turn_reallocate(&mut self, now: Instant) {
        // Only a working selected pair keeps its allocation.
        let working = matches!(
            self.ice.connection_state(),
            IceConnectionState::Connected | IceConnectionState::Completed
        );
        let selected = self
            .ice
            .selected_pair()
            .map(|(local, _, _)| local)
            .filter(|_| working);
        for i in 0..self.turn.len() {
            let slot = &self.turn[i];
            if slot.gathering
                || (slot.relayed.is_some() && slot.relayed == selected && !slot.client.is_done())
            {
                continue;
            }
            let (server, local) = (slot.client.server(), slot.client.local());
            let Some(s) = self
                .turn_servers
                .iter()
                .find(|s| s.server == server)
                .cloned()
            else {
                continue;
            };
            let rng = self.turn_rng().fork();
            let old = std::mem::replace(
                &mut self.turn[i],
                TurnSlot {
                    url: s.url.clone(),
                    client: s.client(local, rng, now),
                    gathering: true,
                    relayed: None,
                },
            );
            let mut client = old.client;
            client.close();
            while let Some(out) = client.poll_transmit() {
                self.transmits.push_back(out);
            }
            if let Some(relayed) = old.relayed {
                self.ice.retire_relayed_candidate(relayed);
                // Sends ICE still makes from it are dropped, not sent from
                // an address no socket has.
                if !self.turn_retired.contains(&relayed)
                    && self.turn_retired.len() < MAX_TURN_CLIENTS
                {
                    self.turn_retired.push(relayed);
                }
            }
            self.ice.begin_relay_gathering();
        }
    }

    /// Deallocates every allocation (one Refresh with lifetime 0 each);
    /// their timers stop.
    pub(super) fn close_turn(&mut self) {
        for t in &mut self.turn {
            t.client.close();
            while let Some(out) = t.client.poll_transmit() {
                self.transmits.push_back(out);
            }
        }
    }
}
