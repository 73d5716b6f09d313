//! A seeded network simulator for sans-IO state machines.
//!
//! The simulator owns a virtual clock and a network of [`Node`]s — anything
//! with the `handle_input` / `poll_output` shape: a [`PeerConnection`], a
//! STUN/TURN server, or an application's own state machine. Nodes sit in
//! networks behind [`Link`]s (delay, jitter, loss, bursts, reordering,
//! duplication, bandwidth, MTU, per direction); networks can sit behind NAT
//! boxes with the RFC 4787 behaviours. Every random draw comes from one
//! seed: the same seed gives the same run, datagram for datagram, and
//! [`Sim::trace_digest`] proves it.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use eddy::sim::{Link, LinkConfig, NatConfig, Sim, RunOutcome};
//!
//! let start = Instant::now; // any instant: only differences matter
//! let mut sim = Sim::new(42, start());
//! let internet = sim.internet();
//! let home = sim.add_nat(internet, "203.0.113.1".parse().unwrap(),
//!     NatConfig::port_restricted_cone(), Link::default());
//! # struct Quiet;
//! # impl eddy::sim::Node for Quiet {
//! #     fn handle_input(&mut self, _: eddy::Input<'_>) {}
//! #     fn poll_output(&mut self) -> eddy::Output { eddy::Output::Timeout(None) }
//! # }
//! let a = sim.add_node(home, "192.168.1.2".parse().unwrap(), Quiet,
//!     Link::symmetric(LinkConfig::with_delay(Duration::from_millis(20))));
//! let outcome = sim.run_until(|_| false, Duration::from_secs(1));
//! assert_eq!(outcome, RunOutcome::Quiescent);
//! # let _ = a;
//! ```
//!
//! [`PeerConnection`]: crate::PeerConnection

pub mod ice_node;
mod link;
mod nat;
pub mod stun_server;
mod trace;
pub mod turn_server;

#[cfg(test)]
mod tests;

use std::any::Any;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

pub use link::{Link, LinkConfig, Loss};
pub use nat::{Filtering, Mapping, NatConfig};
pub use trace::{Fate, PcapWriter, TraceEntry};

use crate::event::{Event, Output};
use crate::io::{Input, Protocol, Receive, Transmit};
use crate::rng::Rng;
use link::{LinkDrop, LinkState};
use nat::{NatDrop, NatState};
use trace::Trace;

/// Anything the simulator can run: the core's driving shape.
pub trait Node: Any + Send {
    /// Takes a datagram or the passing of time.
    fn handle_input(&mut self, input: Input<'_>);
    /// Gives the next output; the simulator calls it until it returns
    /// [`Output::Timeout`].
    fn poll_output(&mut self) -> Output;
}

impl Node for crate::PeerConnection {
    fn handle_input(&mut self, input: Input<'_>) {
        if let Err(e) = Self::handle_input(self, input) {
            tracing::debug!(%e, "simulated peer refused input");
        }
    }

    fn poll_output(&mut self) -> Output {
        Self::poll_output(self)
    }
}

/// A node in the simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub(crate) usize);

/// A network (an address space): the internet, or the inside of a NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetworkId(usize);

/// Why [`Sim::run_until`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// The predicate became true.
    Predicate,
    /// Nothing is in flight and no node has a timer: nothing will ever
    /// happen again without outside help.
    Quiescent,
    /// The deadline was reached; the clock stands at it.
    Deadline,
    /// More than [`Sim::MAX_STEPS_PER_INSTANT`] steps without the clock
    /// moving: a node keeps asking to be woken in the past.
    Livelock,
}

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Node(usize),
    Nat(usize),
}

#[derive(Debug, Default)]
struct Network {
    hosts: BTreeMap<IpAddr, Endpoint>,
    /// The NAT this network is the inside of.
    behind: Option<usize>,
}

struct NodeSlot {
    node: Box<dyn Node>,
    network: usize,
    ip: IpAddr,
    up: LinkState,
    down: LinkState,
    timeout: Option<Duration>,
    events: VecDeque<(Duration, Event)>,
    events_dropped: u64,
    dirty: bool,
}

#[derive(Debug)]
struct NatSlot {
    state: NatState,
    outside: usize,
    inside: usize,
    up: LinkState,
    down: LinkState,
}

#[derive(Debug)]
struct Packet {
    id: u64,
    sent: Duration,
    proto: Protocol,
    /// As the sender wrote them, for the trace.
    orig_from: SocketAddr,
    orig_to: SocketAddr,
    /// As they stand now, after any translation.
    from: SocketAddr,
    to: SocketAddr,
    data: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum Hop {
    /// Arrives at a network's router.
    Route(usize),
    /// Arrives at a NAT's outside interface.
    NatIn(usize),
    /// Arrives at a node.
    Deliver(usize),
}

#[derive(Debug)]
struct Scheduled {
    at: Duration,
    seq: u64,
    hop: Hop,
    packet: Packet,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The simulator: a virtual clock, networks, NATs, links and nodes.
pub struct Sim {
    start: Instant,
    now: Duration,
    rng: Rng,
    nodes: Vec<NodeSlot>,
    networks: Vec<Network>,
    nats: Vec<NatSlot>,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    packet_ids: u64,
    trace: Trace,
    pcap: Option<PcapWriter>,
    max_events_per_node: usize,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("now", &self.now)
            .field("nodes", &self.nodes.len())
            .field("in_flight", &self.queue.len())
            .finish()
    }
}

impl Sim {
    /// Steps allowed at one instant before [`RunOutcome::Livelock`].
    pub const MAX_STEPS_PER_INSTANT: usize = 100_000;
    /// Outputs taken from one node in one go before it is left for the next
    /// step (a node that never returns `Timeout` cannot hang the run).
    pub const MAX_OUTPUTS_PER_POLL: usize = 100_000;
    /// Datagrams in flight at once, over all links; more are dropped as
    /// [`Fate::QueueFull`].
    pub const MAX_IN_FLIGHT: usize = 1_000_000;

    /// A simulation seeded with `seed`, whose clock starts at `start` (any
    /// `Instant`: only differences matter).
    pub fn new(seed: u64, start: Instant) -> Self {
        Self {
            start,
            now: Duration::ZERO,
            rng: Rng::from_seed(seed),
            nodes: Vec::new(),
            networks: vec![Network::default()],
            nats: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            packet_ids: 0,
            trace: Trace::new(1_000_000),
            pcap: None,
            max_events_per_node: 100_000,
        }
    }

    /// The network every simulation starts with: the public internet.
    pub fn internet(&self) -> NetworkId {
        NetworkId(0)
    }

    /// A seed drawn from the simulation's generator, for a node's own
    /// `Configuration::seed`, so one seed drives the whole run.
    pub fn derive_seed(&mut self) -> u64 {
        self.rng.u64()
    }

    /// Keeps at most `limit` trace entries in memory (default 1,000,000);
    /// the digest covers all of them regardless.
    pub fn set_trace_limit(&mut self, limit: usize) {
        self.trace.limit = limit;
    }

    /// Writes every datagram sent from now on to `writer` as pcap.
    pub fn set_pcap(&mut self, writer: PcapWriter) {
        self.pcap = Some(writer);
    }

    /// Adds a NAT whose outside address `external_ip` is in `outside`; the
    /// returned network is its inside. `link` joins the NAT to `outside`.
    pub fn add_nat(
        &mut self,
        outside: NetworkId,
        external_ip: IpAddr,
        config: NatConfig,
        link: Link,
    ) -> NetworkId {
        let nat = self.nats.len();
        let inside = self.networks.len();
        self.networks.push(Network {
            hosts: BTreeMap::new(),
            behind: Some(nat),
        });
        self.nats.push(NatSlot {
            state: NatState::new(config, external_ip),
            outside: outside.0,
            inside,
            up: LinkState::new(link.up),
            down: LinkState::new(link.down),
        });
        self.networks[outside.0]
            .hosts
            .insert(external_ip, Endpoint::Nat(nat));
        NetworkId(inside)
    }

    /// Adds `node` with address `ip` in `network`, joined by `link`.
    pub fn add_node<N: Node>(
        &mut self,
        network: NetworkId,
        ip: IpAddr,
        node: N,
        link: Link,
    ) -> NodeId {
        let id = self.nodes.len();
        self.networks[network.0]
            .hosts
            .insert(ip, Endpoint::Node(id));
        self.nodes.push(NodeSlot {
            node: Box::new(node),
            network: network.0,
            ip,
            up: LinkState::new(link.up),
            down: LinkState::new(link.down),
            timeout: None,
            events: VecDeque::new(),
            events_dropped: 0,
            dirty: true,
        });
        NodeId(id)
    }

    /// Changes a node's link (both directions), e.g. to cut it mid-run.
    pub fn set_link(&mut self, node: NodeId, link: Link) {
        if let Some(slot) = self.nodes.get_mut(node.0) {
            slot.up.config = link.up;
            slot.down.config = link.down;
        }
    }

    /// The node's address.
    pub fn node_ip(&self, node: NodeId) -> Option<IpAddr> {
        self.nodes.get(node.0).map(|s| s.ip)
    }

    /// The node, if it is a `T`.
    pub fn node<T: Node>(&self, id: NodeId) -> Option<&T> {
        let node: &dyn Any = self.nodes.get(id.0)?.node.as_ref();
        node.downcast_ref()
    }

    /// The node, if it is a `T`, to call its API. The simulator polls it
    /// for outputs at the next step.
    pub fn node_mut<T: Node>(&mut self, id: NodeId) -> Option<&mut T> {
        let slot = self.nodes.get_mut(id.0)?;
        slot.dirty = true;
        let node: &mut dyn Any = slot.node.as_mut();
        node.downcast_mut()
    }

    /// Events the node has emitted, oldest first, with their times.
    pub fn events(&self, id: NodeId) -> impl Iterator<Item = &(Duration, Event)> {
        self.nodes
            .get(id.0)
            .into_iter()
            .flat_map(|s| s.events.iter())
    }

    /// Takes the node's events.
    pub fn take_events(&mut self, id: NodeId) -> Vec<(Duration, Event)> {
        self.nodes
            .get_mut(id.0)
            .map(|s| s.events.drain(..).collect())
            .unwrap_or_default()
    }

    /// The virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now
    }

    /// The virtual time as an `Instant`.
    pub fn now(&self) -> Instant {
        self.start + self.now
    }

    /// The trace entries kept so far.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace.entries
    }

    /// A digest of every trace entry and every datagram's bytes so far: two
    /// runs with equal digests moved the same bytes at the same times.
    pub fn trace_digest(&self) -> u64 {
        self.trace.digest
    }

    /// Live mappings in the NAT whose inside is `inside`.
    pub fn nat_mappings(&self, inside: NetworkId) -> usize {
        self.networks
            .get(inside.0)
            .and_then(|n| n.behind)
            .map_or(0, |nat| self.nats[nat].state.mapping_count())
    }

    /// Makes the NAT whose inside is `inside` forget every mapping, as a
    /// NAT reboot does: inside endpoints get new external ports with their
    /// next outbound packet, and packets to the old ones are dropped
    /// ([`Fate::NoMapping`]).
    pub fn rebind_nat(&mut self, inside: NetworkId) {
        if let Some(nat) = self.networks.get(inside.0).and_then(|n| n.behind) {
            self.nats[nat].state.rebind();
        }
    }

    /// Runs until `predicate` holds (checked after every step), nothing more
    /// can happen, or `deadline` (virtual time since the start) is reached.
    pub fn run_until(
        &mut self,
        mut predicate: impl FnMut(&Self) -> bool,
        deadline: Duration,
    ) -> RunOutcome {
        let mut steps_at_instant = 0usize;
        let mut last_now = self.now;
        loop {
            self.flush_all();
            if predicate(self) {
                return RunOutcome::Predicate;
            }
            let next_packet = self.queue.peek().map(|Reverse(s)| s.at);
            let next_timer = self.nodes.iter().filter_map(|s| s.timeout).min();
            let next = match (next_packet, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(n) => n,
                    None => return RunOutcome::Quiescent,
                },
            };
            if next > deadline {
                self.now = self.now.max(deadline);
                return RunOutcome::Deadline;
            }
            self.now = self.now.max(next);
            if self.now == last_now {
                steps_at_instant += 1;
                if steps_at_instant > Self::MAX_STEPS_PER_INSTANT {
                    return RunOutcome::Livelock;
                }
            } else {
                steps_at_instant = 0;
                last_now = self.now;
            }
            self.step();
        }
    }

    /// Runs for `duration` of virtual time: the clock ends `duration` later
    /// even if the network went quiet before (reported as `Quiescent`).
    pub fn run_for(&mut self, duration: Duration) -> RunOutcome {
        let deadline = self.now + duration;
        let outcome = self.run_until(|_| false, deadline);
        if outcome == RunOutcome::Quiescent {
            self.now = self.now.max(deadline);
        }
        outcome
    }

    /// Processes everything due at the current instant.
    fn step(&mut self) {
        while self.queue.peek().is_some_and(|Reverse(s)| s.at <= self.now) {
            let Some(Reverse(s)) = self.queue.pop() else {
                break;
            };
            self.hop(s.hop, s.packet);
        }
        let now = self.now();
        for i in 0..self.nodes.len() {
            if self.nodes[i].timeout.is_some_and(|t| t <= self.now) {
                self.nodes[i].timeout = None;
                self.nodes[i].node.handle_input(Input::Timeout(now));
                self.flush(i);
            }
        }
    }

    fn flush_all(&mut self) {
        for i in 0..self.nodes.len() {
            if self.nodes[i].dirty {
                self.flush(i);
            }
        }
    }

    /// Takes every output of node `i`.
    fn flush(&mut self, i: usize) {
        self.nodes[i].dirty = false;
        for _ in 0..Self::MAX_OUTPUTS_PER_POLL {
            match self.nodes[i].node.poll_output() {
                Output::Transmit(t) => self.send(i, t),
                Output::Event(e) => {
                    let slot = &mut self.nodes[i];
                    if slot.events.len() >= self.max_events_per_node {
                        slot.events_dropped += 1;
                    } else {
                        slot.events.push_back((self.now, e));
                    }
                }
                Output::Timeout(at) => {
                    self.nodes[i].timeout =
                        at.map(|at| at.saturating_duration_since(self.start).max(self.now));
                    return;
                }
            }
        }
        // Not drained: come back at the next step.
        self.nodes[i].dirty = true;
    }

    fn schedule(&mut self, at: Duration, hop: Hop, packet: Packet) {
        if self.queue.len() >= Self::MAX_IN_FLIGHT {
            // A node flooding unlimited-bandwidth links cannot grow memory
            // without bound: the network itself drops.
            self.drop_packet(&packet, Fate::QueueFull);
            return;
        }
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            hop,
            packet,
        }));
    }

    fn drop_packet(&mut self, packet: &Packet, fate: Fate) {
        self.record(packet, fate);
    }

    fn record(&mut self, packet: &Packet, fate: Fate) {
        self.trace.record(
            TraceEntry {
                id: packet.id,
                sent: packet.sent,
                at: self.now,
                proto: packet.proto,
                from: packet.orig_from,
                to: packet.orig_to,
                size: packet.data.len(),
                fate,
            },
            &packet.data,
        );
    }

    fn send(&mut self, node: usize, t: Transmit) {
        self.packet_ids += 1;
        if let Some(pcap) = &mut self.pcap {
            pcap.write(self.now, t.source, t.destination, &t.contents);
        }
        let packet = Packet {
            id: self.packet_ids,
            sent: self.now,
            proto: t.proto,
            orig_from: t.source,
            orig_to: t.destination,
            from: t.source,
            to: t.destination,
            data: t.contents,
        };
        let network = self.nodes[node].network;
        let result = self.nodes[node]
            .up
            .transmit(self.now, packet.data.len(), &mut self.rng);
        self.cross(result, Hop::Route(network), packet);
    }

    /// Schedules `packet` at the far end of a link, or records its drop.
    fn cross(
        &mut self,
        result: Result<[Option<Duration>; 2], LinkDrop>,
        next: Hop,
        packet: Packet,
    ) {
        match result {
            Err(drop) => {
                let fate = match drop {
                    LinkDrop::Lost => Fate::Lost,
                    LinkDrop::QueueFull => Fate::QueueFull,
                    LinkDrop::TooBig => Fate::TooBig,
                };
                self.drop_packet(&packet, fate);
            }
            Ok([first, dup]) => {
                if let Some(dup_at) = dup {
                    let copy = Packet {
                        data: packet.data.clone(),
                        ..packet
                    };
                    self.schedule(dup_at, next, copy);
                }
                if let Some(at) = first {
                    self.schedule(at, next, packet);
                }
            }
        }
    }

    fn hop(&mut self, hop: Hop, mut packet: Packet) {
        match hop {
            Hop::Route(network) => match self.networks[network].hosts.get(&packet.to.ip()).copied()
            {
                Some(Endpoint::Node(n)) => {
                    let r = self.nodes[n]
                        .down
                        .transmit(self.now, packet.data.len(), &mut self.rng);
                    self.cross(r, Hop::Deliver(n), packet);
                }
                Some(Endpoint::Nat(nat)) => {
                    let r =
                        self.nats[nat]
                            .down
                            .transmit(self.now, packet.data.len(), &mut self.rng);
                    self.cross(r, Hop::NatIn(nat), packet);
                }
                None => match self.networks[network].behind {
                    Some(nat) => {
                        let slot = &mut self.nats[nat];
                        packet.from =
                            slot.state
                                .outbound(self.now, packet.proto, packet.from, packet.to);
                        let outside = slot.outside;
                        let r = slot.up.transmit(self.now, packet.data.len(), &mut self.rng);
                        self.cross(r, Hop::Route(outside), packet);
                    }
                    None => self.drop_packet(&packet, Fate::NoRoute),
                },
            },
            Hop::NatIn(nat) => {
                let slot = &mut self.nats[nat];
                match slot
                    .state
                    .inbound(self.now, packet.proto, packet.from, packet.to)
                {
                    Ok(internal) => {
                        packet.to = internal;
                        let inside = slot.inside;
                        self.hop(Hop::Route(inside), packet);
                    }
                    Err(NatDrop::NoMapping) => self.drop_packet(&packet, Fate::NoMapping),
                    Err(NatDrop::Filtered) => self.drop_packet(&packet, Fate::Filtered),
                }
            }
            Hop::Deliver(n) => {
                self.record(&packet, Fate::Delivered(NodeId(n)));
                let now = self.now();
                self.nodes[n].node.handle_input(Input::Receive(
                    now,
                    Receive {
                        proto: packet.proto,
                        source: packet.from,
                        destination: packet.to,
                        contents: &packet.data,
                    },
                ));
                self.flush(n);
            }
        }
    }
}
