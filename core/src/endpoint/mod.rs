//! Many `PeerConnection`s behind shared sockets: the server mode of eddy
//! (one UDP port for every peer), sans-IO like the rest of the core.
//!
//! Routing (RFC 7983 demultiplexing, then ICE): a STUN binding request is
//! routed by the local ufrag in its USERNAME (RFC 8445 §7.2.2: "the
//! USERNAME ... formed by concatenating the username fragment provided by
//! the peer with the username fragment of the agent sending the
//! request"); everything else by the 5-tuple a peer has used to send. A new
//! ICE-TCP connection (RFC 6544) is routed the same way by its first
//! RFC 4571 frame, held (bounded) until that frame is whole. What matches no
//! peer is dropped and counted.
//!
//! A UDP 5-tuple becomes a route only once a binding request from it passed
//! MESSAGE-INTEGRITY with the peer's password (or the peer itself sent to
//! it): an unauthenticated request still reaches its peer, whose ICE agent
//! answers with a (rate-limited) error, but leaves nothing behind, so a
//! flood of spoofed sources cannot grow the routing table.
//!
//! Lifecycle limits ([`EndpointConfig`]): at most
//! [`max_peers`](EndpointConfig::max_peers) peers (more are refused and
//! counted), and a peer that never connected within
//! [`peer_expiry`](EndpointConfig::peer_expiry) of being added, or that has
//! been `failed` or `closed` for that long, is removed, with
//! [`EndpointOutput::PeerRemoved`]. All of it runs on the time of the inputs
//! (virtual time in tests).
//!
//! ```
//! use std::time::Instant;
//! use eddy::endpoint::{Endpoint, EndpointOutput};
//! use eddy::{Configuration, PeerConnection};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = Instant::now; // the runtime's clock
//! let now = clock();
//! let mut endpoint = Endpoint::new();
//! let id = endpoint.add_peer(PeerConnection::new(Configuration::default(), now)?)?;
//! loop {
//!     match endpoint.poll_output() {
//!         EndpointOutput::Transmit(t) => { /* send t.contents to t.destination */ }
//!         EndpointOutput::Event(peer, event) => { /* the app's */ }
//!         EndpointOutput::PeerRemoved(peer) => { /* forget it */ }
//!         EndpointOutput::Timeout(_) => break,
//!     }
//! }
//! # assert!(endpoint.peer(id).is_some());
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub use crate::error::EndpointError;
use crate::event::{Event, Output};
use crate::io::{Input, Protocol, Receive, Transmit};
use crate::peer::{PeerConnection, PeerConnectionState};
use crate::stun::{is_stun, Class, StunMessage};

/// Default of [`EndpointConfig::max_peers`]: 10,000 peers.
pub const DEFAULT_MAX_PEERS: usize = 10_000;

/// Default of [`EndpointConfig::peer_expiry`]: 60 s, twice ICE's give-up
/// time in `checking`
/// ([`DEFAULT_ICE_CHECKING_TIMEOUT`](crate::ice::DEFAULT_ICE_CHECKING_TIMEOUT)),
/// so a peer still trying is not cut short.
pub const DEFAULT_PEER_EXPIRY: Duration = Duration::from_secs(60);

/// The limits of an [`Endpoint`]. Every field states its default.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointConfig {
    /// Most peers at once; [`Endpoint::add_peer`] refuses more with
    /// [`EndpointError::TooManyPeers`]. Defaults to [`DEFAULT_MAX_PEERS`].
    pub max_peers: usize,
    /// A peer that has not reached `connected` this long after it was added,
    /// or that has been `failed` or `closed` this long, is removed (at the
    /// earlier of the two).
    /// Defaults to [`DEFAULT_PEER_EXPIRY`].
    pub peer_expiry: Duration,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            max_peers: DEFAULT_MAX_PEERS,
            peer_expiry: DEFAULT_PEER_EXPIRY,
        }
    }
}

impl EndpointConfig {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), EndpointError> {
        if self.max_peers == 0 {
            return Err(EndpointError::ZeroLimit("max_peers"));
        }
        if self.peer_expiry.is_zero() {
            return Err(EndpointError::ZeroLimit("peer_expiry"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

/// A peer of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(u64);

/// One output of an endpoint.
#[derive(Debug)]
#[must_use = "outputs must be acted on: send transmits, handle events, arm the timer"]
pub enum EndpointOutput {
    /// Send this.
    Transmit(Transmit),
    /// An event of this peer.
    Event(PeerId, Event),
    /// The endpoint removed this peer: it never connected, or it failed or
    /// closed, [`EndpointConfig::peer_expiry`] ago.
    PeerRemoved(PeerId),
    /// Nothing more now; call again after input, or at this time.
    Timeout(Option<Instant>),
}

/// What arrived that no peer claimed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointCounters {
    /// Datagrams no peer owns (unknown ufrag, unknown 5-tuple).
    pub dropped_unroutable: u64,
    /// Datagrams routed to a peer.
    pub routed: u64,
    /// Peers refused because the endpoint had [`EndpointConfig::max_peers`].
    pub refused_peers: u64,
    /// Peers removed by [`EndpointConfig::peer_expiry`].
    pub expired_peers: u64,
    /// Binding requests routed by ufrag whose MESSAGE-INTEGRITY failed:
    /// delivered (the peer answers with an error) but not made a route.
    pub unauthenticated_requests: u64,
}

/// What an endpoint holds now, to watch its memory: every table is bounded,
/// and each returns to zero as peers go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointUsage {
    /// Peers.
    pub peers: usize,
    /// Routes by ICE ufrag.
    pub ufrag_routes: usize,
    /// Routes by 5-tuple.
    pub tuple_routes: usize,
    /// Armed peer timers.
    pub timers: usize,
    /// Armed expiries.
    pub expiries: usize,
    /// TCP connections held until their first frame is whole.
    pub pending_tcp: usize,
    /// Removals not yet reported by `poll_output`.
    pub removals: usize,
}

#[derive(Debug)]
struct Slot {
    pc: PeerConnection,
    timeout: Option<Instant>,
    ufrags: Vec<String>,
    tuples: BTreeSet<(Protocol, SocketAddr, SocketAddr)>,
    /// When it was added (the connection's latest time then).
    added_at: Instant,
    /// It reached `connected` at least once.
    ever_connected: bool,
    /// Since when it has been `failed` or `closed`.
    ended_at: Option<Instant>,
    /// When it is removed unless it connects (or recovers) first.
    expiry: Option<Instant>,
}

/// Most 5-tuples remembered per peer (a peer talks on at most a few
/// candidate pairs; ICE caps pairs at 100).
const MAX_TUPLES_PER_PEER: usize = 128;

/// Peers behind shared sockets.
#[derive(Debug, Default)]
pub struct Endpoint {
    config: EndpointConfig,
    expiries: BTreeSet<(Instant, PeerId)>,
    /// Peers removed, to report from `poll_output`.
    removed: VecDeque<PeerId>,
    peers: BTreeMap<PeerId, Slot>,
    by_ufrag: BTreeMap<String, PeerId>,
    by_tuple: BTreeMap<(Protocol, SocketAddr, SocketAddr), PeerId>,
    timers: BTreeSet<(Instant, PeerId)>,
    /// Peers to poll: touched since their last `Timeout`.
    dirty: BTreeSet<PeerId>,
    next: u64,
    counters: EndpointCounters,
    /// The start of new TCP connections whose first frame is not whole
    /// yet, by (local, remote). Bounded: [`MAX_PENDING_TCP`] connections of
    /// at most [`MAX_PENDING_TCP_BYTES`] each.
    pending_tcp: BTreeMap<(SocketAddr, SocketAddr), Vec<u8>>,
}

/// New TCP connections held while their first frame arrives.
const MAX_PENDING_TCP: usize = 256;
/// Bytes held per such connection: a STUN request and its framing.
const MAX_PENDING_TCP_BYTES: usize = 2048;

impl Endpoint {
    /// An endpoint with no peers and the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// An endpoint with these limits.
    pub fn with_config(config: EndpointConfig) -> Result<Self, EndpointError> {
        config.validate()?;
        Ok(Self {
            config,
            ..Self::default()
        })
    }

    /// The limits.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Adds a peer; its outputs come out of [`poll_output`](Self::poll_output).
    /// Refused (and counted) when the endpoint already has
    /// [`EndpointConfig::max_peers`].
    pub fn add_peer(&mut self, pc: PeerConnection) -> Result<PeerId, EndpointError> {
        if self.peers.len() >= self.config.max_peers {
            self.counters.refused_peers += 1;
            tracing::warn!(
                max = self.config.max_peers,
                "peer refused: the endpoint is full"
            );
            return Err(EndpointError::TooManyPeers(self.config.max_peers));
        }
        let id = PeerId(self.next);
        self.next += 1;
        let added_at = pc.now();
        self.peers.insert(
            id,
            Slot {
                pc,
                timeout: None,
                ufrags: Vec::new(),
                tuples: BTreeSet::new(),
                added_at,
                ever_connected: false,
                ended_at: None,
                expiry: None,
            },
        );
        self.refresh_ufrags(id);
        self.update_expiry(id);
        self.dirty.insert(id);
        Ok(id)
    }

    /// What the endpoint holds now (its memory, table by table).
    pub fn usage(&self) -> EndpointUsage {
        EndpointUsage {
            peers: self.peers.len(),
            ufrag_routes: self.by_ufrag.len(),
            tuple_routes: self.by_tuple.len(),
            timers: self.timers.len(),
            expiries: self.expiries.len(),
            pending_tcp: self.pending_tcp.len(),
            removals: self.removed.len(),
        }
    }

    /// Re-arms the peer's expiry from its state: `peer_expiry` after it was
    /// added while it never connected, or after it became failed or closed.
    fn update_expiry(&mut self, id: PeerId) {
        let Some(slot) = self.peers.get_mut(&id) else {
            return;
        };
        let state = slot.pc.connection_state();
        if state == PeerConnectionState::Connected {
            slot.ever_connected = true;
        }
        let ended = matches!(
            state,
            PeerConnectionState::Failed | PeerConnectionState::Closed
        );
        match (ended, slot.ended_at) {
            (true, None) => slot.ended_at = Some(slot.pc.now()),
            (false, Some(_)) => slot.ended_at = None,
            _ => {}
        }
        // The earlier of the two rules that apply.
        let ended = slot.ended_at.map(|t| t + self.config.peer_expiry);
        let unconnected = (!slot.ever_connected).then(|| slot.added_at + self.config.peer_expiry);
        let expiry = match (ended, unconnected) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if expiry != slot.expiry {
            if let Some(old) = slot.expiry {
                self.expiries.remove(&(old, id));
            }
            if let Some(at) = expiry {
                self.expiries.insert((at, id));
            }
            slot.expiry = expiry;
        }
    }

    /// Removes the peers whose expiry passed.
    fn expire(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.expiries.first() {
            if at > now {
                break;
            }
            self.expiries.pop_first();
            if let Some(slot) = self.peers.get_mut(&id) {
                slot.expiry = None;
            }
            // Its state may have moved since the expiry was armed.
            self.update_expiry(id);
            if self
                .peers
                .get(&id)
                .is_some_and(|s| s.expiry.is_some_and(|t| t <= now))
            {
                tracing::debug!(?id, "peer expired");
                self.remove_peer(id);
                self.counters.expired_peers += 1;
                self.removed.push_back(id);
            }
        }
    }

    /// The peer.
    pub fn peer(&self, id: PeerId) -> Option<&PeerConnection> {
        self.peers.get(&id).map(|s| &s.pc)
    }

    /// The peer, to call its API; the endpoint polls it again afterwards.
    pub fn peer_mut(&mut self, id: PeerId) -> Option<&mut PeerConnection> {
        let slot = self.peers.get_mut(&id)?;
        self.dirty.insert(id);
        Some(&mut slot.pc)
    }

    /// Every peer's id.
    pub fn peer_ids(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.peers.keys().copied()
    }

    /// Removes a peer (close it first to tell the other side).
    pub fn remove_peer(&mut self, id: PeerId) -> Option<PeerConnection> {
        let slot = self.peers.remove(&id)?;
        for u in &slot.ufrags {
            if self.by_ufrag.get(u) == Some(&id) {
                self.by_ufrag.remove(u);
            }
        }
        for t in &slot.tuples {
            if self.by_tuple.get(t) == Some(&id) {
                self.by_tuple.remove(t);
            }
        }
        if let Some(at) = slot.timeout {
            self.timers.remove(&(at, id));
        }
        if let Some(at) = slot.expiry {
            self.expiries.remove(&(at, id));
        }
        self.dirty.remove(&id);
        Some(slot.pc)
    }

    /// Counters of routing.
    pub fn counters(&self) -> EndpointCounters {
        self.counters
    }

    fn refresh_ufrags(&mut self, id: PeerId) {
        let Some(slot) = self.peers.get_mut(&id) else {
            return;
        };
        let current = slot.pc.local_ice_ufrags();
        if current == slot.ufrags {
            return;
        }
        for u in &slot.ufrags {
            if !current.contains(u) && self.by_ufrag.get(u) == Some(&id) {
                self.by_ufrag.remove(u);
            }
        }
        for u in &current {
            self.by_ufrag.insert(u.clone(), id);
        }
        slot.ufrags = current;
    }

    /// The peer whose ufrag a STUN binding request names, and whether the
    /// request's MESSAGE-INTEGRITY is valid for that peer.
    fn route_stun(&self, stun: &[u8]) -> Option<(PeerId, bool)> {
        if !is_stun(stun) {
            return None;
        }
        let msg = StunMessage::parse(stun).ok()?;
        if msg.class() != Class::Request {
            return None;
        }
        let local = msg.username()?.split(':').next()?;
        let id = *self.by_ufrag.get(local)?;
        let authentic = self
            .peers
            .get(&id)
            .is_some_and(|s| s.pc.authenticates(&msg));
        Some((id, authentic))
    }

    /// Which peer a datagram (or TCP chunk) belongs to, and whether its
    /// 5-tuple may become a route: a known tuple, a TCP connection (its
    /// handshake proves the address), or a request that passed
    /// MESSAGE-INTEGRITY.
    fn route(&self, r: &Receive<'_>) -> Option<(PeerId, bool)> {
        if let Some(&id) = self.by_tuple.get(&(r.proto, r.destination, r.source)) {
            return Some((id, true));
        }
        match r.proto {
            // RFC 8445 §7.3: a check is answered only "if the MESSAGE-
            // INTEGRITY ... is valid"; so is a route made only then, or a
            // spoofed request could point one peer's traffic anywhere and
            // fill the table.
            Protocol::Udp => self.route_stun(r.contents),
            // A new ICE-TCP connection: RFC 6544 §3 frames every message
            // with RFC 4571's 2-byte length, and the first one is the
            // peer's binding request.
            Protocol::Tcp | Protocol::Tls => {
                let len = usize::from(u16::from_be_bytes([
                    *r.contents.first()?,
                    *r.contents.get(1)?,
                ]));
                let (id, _) = self.route_stun(r.contents.get(2..2 + len)?)?;
                Some((id, true))
            }
        }
    }

    /// Feeds one input: a datagram goes to the peer it belongs to, time to
    /// every peer whose timer is due.
    pub fn handle_input(&mut self, input: Input<'_>) {
        self.expire(input.time());
        match input {
            Input::Receive(now, r)
                if r.proto != Protocol::Udp
                    && !self
                        .by_tuple
                        .contains_key(&(r.proto, r.destination, r.source)) =>
            {
                self.receive_new_tcp(now, r);
            }
            Input::Receive(now, r) => {
                let Some((id, learn)) = self.route(&r) else {
                    self.counters.dropped_unroutable += 1;
                    tracing::debug!(source = %r.source, "datagram for no peer dropped");
                    return;
                };
                if !learn {
                    self.counters.unauthenticated_requests += 1;
                }
                self.deliver(id, now, r, learn);
            }
            Input::Timeout(now) => {
                while let Some(&(at, id)) = self.timers.first() {
                    if at > now {
                        break;
                    }
                    self.timers.pop_first();
                    if let Some(slot) = self.peers.get_mut(&id) {
                        slot.timeout = None;
                        let _ = slot.pc.handle_input(Input::Timeout(now));
                        self.dirty.insert(id);
                    }
                }
            }
        }
    }

    /// A chunk of a TCP connection no peer owns yet: route it by its first
    /// frame, holding the bytes until that frame is whole.
    fn receive_new_tcp(&mut self, now: Instant, r: Receive<'_>) {
        let key = (r.destination, r.source);
        let mut bytes = self.pending_tcp.remove(&key).unwrap_or_default();
        bytes.extend_from_slice(r.contents);
        let whole = Receive {
            contents: &bytes,
            ..r
        };
        if let Some((id, learn)) = self.route(&whole) {
            self.pending_tcp.remove(&key);
            self.deliver(id, now, whole, learn);
            return;
        }
        let complete = bytes.len() >= 2
            && bytes.len() >= 2 + usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        if complete
            || bytes.len() > MAX_PENDING_TCP_BYTES
            || self.pending_tcp.len() >= MAX_PENDING_TCP
        {
            self.counters.dropped_unroutable += 1;
            tracing::debug!(source = %r.source, "TCP connection for no peer dropped");
            return;
        }
        self.pending_tcp.insert(key, bytes);
    }

    /// Hands a routed datagram to its peer; `learn`: its tuple becomes a
    /// route.
    fn deliver(&mut self, id: PeerId, now: Instant, r: Receive<'_>, learn: bool) {
        self.counters.routed += 1;
        if let Some(slot) = self.peers.get_mut(&id) {
            // A new peer learns its first tuple from the authenticated STUN
            // request that reached it.
            if learn && slot.tuples.len() < MAX_TUPLES_PER_PEER {
                let key = (r.proto, r.destination, r.source);
                if slot.tuples.insert(key) {
                    self.by_tuple.insert(key, id);
                }
            }
            let _ = slot.pc.handle_input(Input::Receive(now, r));
            self.dirty.insert(id);
        }
    }

    /// Gives back a sent [`Transmit`]'s buffer to the peer it came from,
    /// for a later datagram (see [`PeerConnection::recycle_transmit`]).
    /// Optional; a buffer whose route is gone is dropped.
    pub fn recycle_transmit(&mut self, t: Transmit) {
        if let Some(slot) = self
            .by_tuple
            .get(&(t.proto, t.source, t.destination))
            .and_then(|id| self.peers.get_mut(id))
        {
            slot.pc.recycle_transmit(t.contents);
        }
    }

    /// The next output. Polls only the peers touched since their last
    /// timeout, so an idle endpoint costs nothing.
    pub fn poll_output(&mut self) -> EndpointOutput {
        if let Some(id) = self.removed.pop_front() {
            return EndpointOutput::PeerRemoved(id);
        }
        while let Some(&id) = self.dirty.first() {
            let Some(slot) = self.peers.get_mut(&id) else {
                self.dirty.remove(&id);
                continue;
            };
            match slot.pc.poll_output() {
                Output::Transmit(t) => {
                    // The peer's own sending makes a route (its checks go to
                    // signaled candidates, data to the validated pair), but
                    // not its STUN responses: an error response goes to
                    // whoever asked, authenticated or not, and a success
                    // response's tuple was learned from the request.
                    let response = t.proto == Protocol::Udp
                        && is_stun(&t.contents)
                        && StunMessage::parse(&t.contents)
                            .is_ok_and(|m| matches!(m.class(), Class::Success | Class::Error));
                    let key = (t.proto, t.source, t.destination);
                    if !response
                        && slot.tuples.len() < MAX_TUPLES_PER_PEER
                        && slot.tuples.insert(key)
                    {
                        self.by_tuple.insert(key, id);
                    }
                    return EndpointOutput::Transmit(t);
                }
                Output::Event(e) => return EndpointOutput::Event(id, e),
                Output::Timeout(at) => {
                    if let Some(old) = slot.timeout.take() {
                        self.timers.remove(&(old, id));
                    }
                    if let Some(at) = at {
                        slot.timeout = Some(at);
                        self.timers.insert((at, id));
                    }
                    self.dirty.remove(&id);
                    self.refresh_ufrags(id);
                    self.update_expiry(id);
                }
            }
        }
        let timer = self.timers.first().map(|(at, _)| *at);
        let expiry = self.expiries.first().map(|(at, _)| *at);
        EndpointOutput::Timeout(match (timer, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }
}
