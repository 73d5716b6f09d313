//! Running an [`IceAgent`] in the simulator (feature `sim`): a [`Node`]
//! adapter that records events and the application data it receives, can
//! send numbered data through the selected pair, and a helper that plays
//! the signaling channel between two of them.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{Node, NodeId, Sim};
use crate::event::Output;
use crate::ice::{IceAgent, IceConnectionState, IceEvent};
use crate::io::{Input, Transmit};

/// An [`IceAgent`] as a simulator node.
#[derive(Debug)]
pub struct IceNode {
    /// The agent; call its API through [`Sim::node_mut`].
    pub agent: IceAgent,
    /// Every event, with the time it was polled.
    pub events: Vec<(Instant, IceEvent)>,
    /// Events not yet given to the peer by [`signal`].
    unsignaled: Vec<IceEvent>,
    /// Non-STUN datagrams accepted (from validated addresses), with time and
    /// the 8-byte sequence number they carry.
    pub data_received: Vec<(Instant, u64)>,
    /// Non-STUN datagrams dropped because their source was not validated.
    pub data_rejected: u64,
    /// Send a numbered datagram through the selected pair at this interval.
    pub send_every: Option<Duration>,
    /// Sequence numbers sent so far.
    pub data_sent: u64,
    /// Data that could not be sent (no selected pair).
    pub data_unsendable: u64,
    next_send: Option<Instant>,
    now: Option<Instant>,
    out: VecDeque<Transmit>,
}

impl IceNode {
    /// Wraps an agent.
    pub fn new(agent: IceAgent) -> Self {
        Self {
            agent,
            events: Vec::new(),
            unsignaled: Vec::new(),
            data_received: Vec::new(),
            data_rejected: 0,
            send_every: None,
            data_sent: 0,
            data_unsendable: 0,
            next_send: None,
            now: None,
            out: VecDeque::new(),
        }
    }

    /// The connection states the agent went through, in order.
    pub fn states(&self) -> Vec<IceConnectionState> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                IceEvent::ConnectionStateChange(s) => Some(*s),
                _ => None,
            })
            .collect()
    }

    /// When the agent first entered `state`.
    pub fn entered(&self, state: IceConnectionState) -> Option<Instant> {
        self.events.iter().find_map(|(t, e)| match e {
            IceEvent::ConnectionStateChange(s) if *s == state => Some(*t),
            _ => None,
        })
    }

    /// Takes the candidates and end-of-candidates not yet signaled (to
    /// signal some of them only, or none).
    pub fn take_signals(&mut self) -> Vec<IceEvent> {
        self.drain();
        std::mem::take(&mut self.unsignaled)
    }

    /// Whether the agent is connected or completed.
    pub fn is_connected(&self) -> bool {
        matches!(
            self.agent.connection_state(),
            IceConnectionState::Connected | IceConnectionState::Completed
        )
    }

    fn drain(&mut self) {
        let now = self.now.unwrap_or(self.agent.now);
        while let Some(e) = self.agent.poll_event() {
            if matches!(e, IceEvent::LocalCandidate(_) | IceEvent::EndOfCandidates) {
                self.unsignaled.push(e.clone());
            }
            self.events.push((now, e));
        }
        while let Some(f) = self.agent.poll_tcp_frame() {
            self.accept(f.source, f.destination, &f.contents, now);
        }
    }

    fn accept(&mut self, source: SocketAddr, dest: SocketAddr, data: &[u8], now: Instant) {
        if !self.agent.is_validated(source, dest) {
            self.data_rejected += 1;
            return;
        }
        if let Some(seq) = data.get(1..9).and_then(|b| b.try_into().ok()) {
            self.data_received.push((now, u64::from_be_bytes(seq)));
        }
    }

    fn send_due(&mut self, now: Instant) {
        let Some(every) = self.send_every else {
            return;
        };
        let next = *self.next_send.get_or_insert(now);
        if next > now {
            return;
        }
        self.next_send = Some(now + every);
        // An RTP-looking first byte (RFC 7983: 128..191), then the number.
        let mut payload = vec![0x80];
        payload.extend_from_slice(&self.data_sent.to_be_bytes());
        match self.agent.transmit_data(payload) {
            Some(t) => {
                self.data_sent += 1;
                self.out.push_back(t);
            }
            None => self.data_unsendable += 1,
        }
    }
}

impl Node for IceNode {
    fn handle_input(&mut self, input: Input<'_>) {
        let now = input.time();
        self.now = Some(now);
        match input {
            Input::Receive(_, r) => {
                if !self.agent.handle_receive(now, r) {
                    self.accept(r.source, r.destination, r.contents, now);
                }
            }
            Input::Timeout(_) => {
                self.agent.handle_timeout(now);
                self.send_due(now);
            }
        }
        self.drain();
    }

    fn poll_output(&mut self) -> Output {
        if let Some(t) = self.agent.poll_transmit() {
            return Output::Transmit(t);
        }
        if let Some(t) = self.out.pop_front() {
            return Output::Transmit(t);
        }
        self.drain();
        let sending = self
            .send_every
            .map(|_| self.next_send.unwrap_or(self.agent.now));
        let next = [self.agent.poll_timeout(), sending]
            .into_iter()
            .flatten()
            .min();
        Output::Timeout(next)
    }
}

/// Plays the signaling channel: gives each node's new local candidates and
/// end-of-candidates to the other. Call it between short runs.
pub fn signal(sim: &mut Sim, a: NodeId, b: NodeId) {
    for (from, to) in [(a, b), (b, a)] {
        let pending = match sim.node_mut::<IceNode>(from) {
            Some(n) => {
                n.drain();
                std::mem::take(&mut n.unsignaled)
            }
            None => continue,
        };
        if let Some(n) = sim.node_mut::<IceNode>(to) {
            for e in pending {
                match e {
                    IceEvent::LocalCandidate(c) => n.agent.add_remote_candidate(c),
                    IceEvent::EndOfCandidates => n.agent.remote_end_of_candidates(),
                    _ => {}
                }
            }
        }
    }
}

/// Exchanges credentials (and whatever is to signal) between two nodes.
pub fn exchange_credentials(sim: &mut Sim, a: NodeId, b: NodeId) {
    let ca = sim
        .node::<IceNode>(a)
        .map(|n| n.agent.local_credentials().clone());
    let cb = sim
        .node::<IceNode>(b)
        .map(|n| n.agent.local_credentials().clone());
    if let (Some(ca), Some(cb)) = (ca, cb) {
        if let Some(n) = sim.node_mut::<IceNode>(a) {
            let _ = n.agent.set_remote_credentials(&cb.ufrag, &cb.pwd);
        }
        if let Some(n) = sim.node_mut::<IceNode>(b) {
            let _ = n.agent.set_remote_credentials(&ca.ufrag, &ca.pwd);
        }
    }
    signal(sim, a, b);
}

/// Runs `sim` in steps of `step`, signaling between `a` and `b` after each,
/// until `done` holds or `limit` passes; returns the virtual time taken.
pub fn run_signaling(
    sim: &mut Sim,
    a: NodeId,
    b: NodeId,
    step: Duration,
    limit: Duration,
    mut done: impl FnMut(&Sim) -> bool,
) -> Option<Duration> {
    let start = sim.elapsed();
    while sim.elapsed() - start <= limit {
        signal(sim, a, b);
        if done(sim) {
            return Some(sim.elapsed() - start);
        }
        sim.run_for(step);
    }
    None
}
