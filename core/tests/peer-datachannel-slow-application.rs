//! An application that takes its events only every 10,000 inputs still
//! gets every message of a reliable channel, in order: while its event
//! queue is full, eddy leaves messages in SCTP's reassembly queue (whose
//! receive window closes, so the sender waits) instead of dropping them,
//! and the queue's own memory stays within its configured bounds.
#![cfg(feature = "sim")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use eddy::sim::{Link, LinkConfig, Node, NodeId, Sim};
use eddy::{
    Configuration, DataChannelInit, Event, Input, Output, PeerConnection, PeerConnectionState,
    Protocol,
};

#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

/// Inputs between two looks at the event queue.
const POLL_EVERY: u64 = 10_000;
const QUEUE_EVENTS: usize = 64;
const QUEUE_BYTES: usize = 32 * 1024;
const MESSAGES: u32 = 8_000;
const MESSAGE_LEN: usize = 1_000;

/// A receiver whose application is slow: transmits and timers are served
/// at once (the network keeps moving), events only every `POLL_EVERY`
/// inputs.
struct SlowApp {
    pc: PeerConnection,
    since_poll: u64,
    polls: u64,
    messages: Vec<Vec<u8>>,
    states: Vec<PeerConnectionState>,
    /// The largest queue seen just before a poll: (events, bytes).
    worst: (usize, usize),
}

impl SlowApp {
    fn take_events(&mut self) {
        let usage = self.pc.event_queue_usage();
        self.worst = (self.worst.0.max(usage.len), self.worst.1.max(usage.bytes));
        self.polls += 1;
        while let Some(e) = self.pc.poll_event() {
            match e {
                Event::ChannelMessage(_, m) => self.messages.push(m.data),
                Event::ConnectionStateChange(s) => self.states.push(s),
                _ => {}
            }
        }
    }
}

impl Node for SlowApp {
    fn handle_input(&mut self, input: Input<'_>) {
        self.since_poll += 1;
        let _ = self.pc.handle_input(input);
    }

    fn poll_output(&mut self) -> Output {
        if let Some(t) = self.pc.poll_transmit() {
            return Output::Transmit(t);
        }
        if self.since_poll >= POLL_EVERY {
            self.since_poll = 0;
            self.take_events();
            if let Some(t) = self.pc.poll_transmit() {
                return Output::Transmit(t);
            }
        }
        Output::Timeout(self.pc.poll_timeout())
    }
}

fn peer(seed: u64, addr: SocketAddr, now: Instant, config: Configuration) -> PeerConnection {
    let mut pc = PeerConnection::new(config.with_seed(seed), now).unwrap();
    pc.add_local_candidate(addr, Protocol::Udp).unwrap();
    pc.end_of_local_candidates();
    pc
}

fn connect(sim: &mut Sim, a: NodeId, b: NodeId) {
    let pa = sim.node_mut::<PeerConnection>(a).unwrap();
    let offer = pa.create_offer().unwrap();
    pa.set_local_description(offer).unwrap();
    let offer = pa.local_description().unwrap().clone();
    let pb = &mut sim.node_mut::<SlowApp>(b).unwrap().pc;
    pb.set_remote_description(offer).unwrap();
    let answer = pb.create_answer().unwrap();
    pb.set_local_description(answer).unwrap();
    let answer = pb.local_description().unwrap().clone();
    sim.node_mut::<PeerConnection>(a)
        .unwrap()
        .set_remote_description(answer)
        .unwrap();
}

#[test]
fn a_slow_application_gets_every_reliable_message_in_order_with_a_bounded_queue() {
    let mut sim = Sim::new(11, start());
    let net = sim.internet();
    let link = Link::symmetric(LinkConfig::with_delay(Duration::from_millis(5)));
    let a_addr: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let b_addr: SocketAddr = "10.0.0.2:5000".parse().unwrap();
    let mut pa = peer(1, a_addr, sim.now(), Configuration::default());
    let mut slow = Configuration::default();
    slow.max_queued_events = QUEUE_EVENTS;
    slow.max_queued_event_bytes = QUEUE_BYTES;
    let pb = peer(2, b_addr, sim.now(), slow);
    let ch = pa
        .create_data_channel("bulk", &DataChannelInit::default())
        .unwrap();
    let a = sim.add_node(net, a_addr.ip(), pa, link);
    let b = sim.add_node(
        net,
        b_addr.ip(),
        SlowApp {
            pc: pb,
            since_poll: 0,
            polls: 0,
            messages: Vec::new(),
            states: Vec::new(),
            worst: (0, 0),
        },
        link,
    );
    connect(&mut sim, a, b);
    let open = |s: &Sim| s.events(a).any(|(_, e)| *e == Event::ChannelOpen(ch));
    sim.run_until(open, Duration::from_secs(10));
    assert!(open(&sim), "the channel opened");

    // 8 MB: more than the receiver's event queue and SCTP receive buffer
    // together, so the sender must wait for the application.
    let mut sent = 0u32;
    let done = |s: &Sim| s.node::<SlowApp>(b).unwrap().messages.len() == MESSAGES as usize;
    // Idle, the receiver sees an input every few seconds (consent checks,
    // heartbeats): 10,000 of them take hours of virtual time.
    while !done(&sim) && sim.elapsed() < Duration::from_secs(400_000) {
        let pa = sim.node_mut::<PeerConnection>(a).unwrap();
        let mut dc = pa.data_channel(ch).unwrap();
        while sent < MESSAGES && dc.buffered_amount() < 1024 * 1024 {
            let mut m = vec![(sent % 251) as u8; MESSAGE_LEN];
            m[..4].copy_from_slice(&sent.to_be_bytes());
            dc.send(&m).unwrap();
            sent += 1;
        }
        let horizon = sim.elapsed() + Duration::from_secs(10);
        sim.run_until(done, horizon);
    }
    let app = sim.node::<SlowApp>(b).unwrap();
    assert_eq!(sent, MESSAGES);
    assert_eq!(
        app.messages.len(),
        MESSAGES as usize,
        "every message arrived"
    );
    for (i, m) in app.messages.iter().enumerate() {
        assert_eq!(m.len(), MESSAGE_LEN);
        assert_eq!(m[..4], (i as u32).to_be_bytes(), "message {i} in order");
    }
    assert!(
        app.polls >= 2,
        "the application was slow: {} polls",
        app.polls
    );
    // Bounded: the count and the bytes pass their limits by one message at
    // most (state changes aside, of which there are a handful).
    let usage = app.pc.event_queue_usage();
    let one = size_of::<Event>() + MESSAGE_LEN;
    assert!(usage.peak_len <= QUEUE_EVENTS + 8, "{usage:?}");
    let slot = size_of::<Event>();
    assert!(
        usage.peak_bytes <= QUEUE_BYTES + one + 8 * slot,
        "{usage:?}"
    );
    assert!(app.worst.1 >= QUEUE_BYTES, "the queue did fill: {usage:?}");
    assert_eq!(app.pc.counters().coalesced_events, 0);
    assert_eq!(app.states.last(), Some(&PeerConnectionState::Connected));
}
