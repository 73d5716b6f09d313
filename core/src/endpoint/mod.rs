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
//! ```
//! use std::time::Instant;
//! use eddy::endpoint::{Endpoint, EndpointOutput};
//! use eddy::{Configuration, PeerConnection};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = Instant::now; // the runtime's clock
//! let now = clock();
//! let mut endpoint = Endpoint::new();
//! let id = endpoint.add_peer(PeerConnection::new(Configuration::default(), now)?);
//! loop {
//!     match endpoint.poll_output() {
//!         EndpointOutput::Transmit(t) => { /* send t.contents to t.destination */ }
//!         EndpointOutput::Event(peer, event) => { /* the app's */ }
//!         EndpointOutput::Timeout(_) => break,
//!     }
//! }
//! # assert!(endpoint.peer(id).is_some());
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Instant;

use crate::event::{Event, Output};
use crate::io::{Input, Protocol, Receive, Transmit};
use crate::peer::PeerConnection;
use crate::stun::{is_stun, Class, StunMessage};

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
}

#[derive(Debug)]
struct Slot {
    pc: PeerConnection,
    timeout: Option<Instant>,
    ufrags: Vec<String>,
    tuples: BTreeSet<(Protocol, SocketAddr, SocketAddr)>,
}

/// Most 5-tuples remembered per peer (a peer talks on at most a few
/// candidate pairs; ICE caps pairs at 100).
const MAX_TUPLES_PER_PEER: usize = 128;

/// Peers behind shared sockets.
#[derive(Debug, Default)]
pub struct Endpoint {
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
    /// An endpoint with no peers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a peer; its outputs come out of [`poll_output`](Self::poll_output).
    pub fn add_peer(&mut self, pc: PeerConnection) -> PeerId {
        let id = PeerId(self.next);
        self.next += 1;
        self.peers.insert(
            id,
            Slot {
                pc,
                timeout: None,
                ufrags: Vec::new(),
                tuples: BTreeSet::new(),
            },
        );
        self.refresh_ufrags(id);
        self.dirty.insert(id);
        id
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

    /// The peer whose ufrag a STUN binding request names.
    fn route_stun(&self, stun: &[u8]) -> Option<PeerId> {
        if !is_stun(stun) {
            return None;
        }
        let msg = StunMessage::parse(stun).ok()?;
        if msg.class() != Class::Request {
            return None;
        }
        let local = msg.username()?.split(':').next()?;
        self.by_ufrag.get(local).copied()
    }

    /// Which peer a datagram (or TCP chunk) belongs to.
    fn route(&self, r: &Receive<'_>) -> Option<PeerId> {
        if let Some(&id) = self.by_tuple.get(&(r.proto, r.destination, r.source)) {
            return Some(id);
        }
        match r.proto {
            Protocol::Udp => self.route_stun(r.contents),
            // A new ICE-TCP connection: RFC 6544 §3 frames every message
            // with RFC 4571's 2-byte length, and the first one is the
            // peer's binding request.
            Protocol::Tcp | Protocol::Tls => {
                let len = usize::from(u16::from_be_bytes([
                    *r.contents.first()?,
                    *r.contents.get(1)?,
                ]));
                self.route_stun(r.contents.get(2..2 + len)?)
            }
        }
    }

    /// Feeds one input: a datagram goes to the peer it belongs to, time to
    /// every peer whose timer is due.
    pub fn handle_input(&mut self, input: Input<'_>) {
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
                let Some(id) = self.route(&r) else {
                    self.counters.dropped_unroutable += 1;
                    tracing::debug!(source = %r.source, "datagram for no peer dropped");
                    return;
                };
                self.deliver(id, now, r);
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
        if let Some(id) = self.route(&whole) {
            self.pending_tcp.remove(&key);
            self.deliver(id, now, whole);
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

    /// Hands a routed datagram to its peer.
    fn deliver(&mut self, id: PeerId, now: Instant, r: Receive<'_>) {
        self.counters.routed += 1;
        if let Some(slot) = self.peers.get_mut(&id) {
            // A new peer learns its first tuple from the STUN request that
            // reached it.
            if slot.tuples.len() < MAX_TUPLES_PER_PEER {
                let key = (r.proto, r.destination, r.source);
                if slot.tuples.insert(key) {
                    self.by_tuple.insert(key, id);
                }
            }
            let _ = slot.pc.handle_input(Input::Receive(now, r));
            self.dirty.insert(id);
        }
    }

    /// The next output. Polls only the peers touched since their last
    /// timeout, so an idle endpoint costs nothing.
    pub fn poll_output(&mut self) -> EndpointOutput {
        while let Some(&id) = self.dirty.first() {
            let Some(slot) = self.peers.get_mut(&id) else {
                self.dirty.remove(&id);
                continue;
            };
            match slot.pc.poll_output() {
                Output::Transmit(t) => {
                    let key = (t.proto, t.source, t.destination);
                    if slot.tuples.len() < MAX_TUPLES_PER_PEER && slot.tuples.insert(key) {
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
                }
            }
        }
        EndpointOutput::Timeout(self.timers.first().map(|(at, _)| *at))
    }
}
