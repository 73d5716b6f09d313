use std::collections::VecDeque;
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::testutil::epoch;

/// A test node: sends what it is told to at the times it is told, echoes
/// what it receives when `echo` is set, and records every arrival.
struct Probe {
    plan: VecDeque<(Instant, Transmit)>,
    out: VecDeque<Transmit>,
    echo: bool,
    received: Vec<(Instant, SocketAddr, SocketAddr, Vec<u8>)>,
    now: Instant,
}

impl Probe {
    fn new(echo: bool) -> Self {
        Self {
            plan: VecDeque::new(),
            out: VecDeque::new(),
            echo,
            received: Vec::new(),
            now: epoch(),
        }
    }

    fn plan(&mut self, at: Instant, from: SocketAddr, to: SocketAddr, contents: Vec<u8>) {
        self.plan.push_back((
            at,
            Transmit {
                proto: Protocol::Udp,
                source: from,
                destination: to,
                contents,
            },
        ));
    }
}

impl Node for Probe {
    fn handle_input(&mut self, input: Input<'_>) {
        self.now = input.time();
        if let Input::Receive(at, r) = input {
            self.received
                .push((at, r.source, r.destination, r.contents.to_vec()));
            if self.echo {
                self.out.push_back(Transmit {
                    proto: r.proto,
                    source: r.destination,
                    destination: r.source,
                    contents: r.contents.to_vec(),
                });
            }
        }
    }

    fn poll_output(&mut self) -> Output {
        if let Some(t) = self.out.pop_front() {
            return Output::Transmit(t);
        }
        if self.plan.front().is_some_and(|(at, _)| *at <= self.now) {
            if let Some((_, t)) = self.plan.pop_front() {
                return Output::Transmit(t);
            }
        }
        Output::Timeout(self.plan.front().map(|(at, _)| *at))
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const A: &str = "10.0.0.1:1000";
const B: &str = "10.0.0.2:2000";

/// Two probes on the internet, A sending `count` packets of `size` bytes
/// every `interval` to B; A's uplink is `up`.
fn pair(
    seed: u64,
    up: LinkConfig,
    count: u32,
    size: usize,
    interval: Duration,
) -> (Sim, NodeId, NodeId) {
    let mut sim = Sim::new(seed, epoch());
    let net = sim.internet();
    let mut a = Probe::new(false);
    for i in 0..count {
        let mut payload = vec![0u8; size.max(4)];
        payload[..4].copy_from_slice(&i.to_be_bytes());
        payload.truncate(size.max(4));
        a.plan(epoch() + interval * i, addr(A), addr(B), payload);
    }
    let a = sim.add_node(
        net,
        addr(A).ip(),
        a,
        Link {
            up,
            down: LinkConfig::default(),
        },
    );
    let b = sim.add_node(net, addr(B).ip(), Probe::new(false), Link::default());
    (sim, a, b)
}

fn seq_of(payload: &[u8]) -> u32 {
    u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
}

fn fates(sim: &Sim, f: impl Fn(&Fate) -> bool) -> usize {
    sim.trace().iter().filter(|e| f(&e.fate)).count()
}

#[test]
fn delay_and_jitter_stay_within_the_configured_values_and_keep_order() {
    let up = LinkConfig {
        delay: ms(40),
        jitter: ms(10),
        ..LinkConfig::default()
    };
    let (mut sim, _, b) = pair(1, up, 200, 100, ms(10));
    assert_eq!(sim.run_for(Duration::from_secs(10)), RunOutcome::Quiescent);
    let rx = &sim.node::<Probe>(b).unwrap().received;
    assert_eq!(rx.len(), 200);
    let mut last = 0;
    let mut saw_jitter = false;
    for (i, (at, _, _, data)) in rx.iter().enumerate() {
        let seq = seq_of(data);
        assert!(i == 0 || seq > last, "reordered without reorder configured");
        last = seq;
        let sent = epoch() + ms(10) * seq;
        let delay = *at - sent;
        assert!(delay >= ms(40) && delay <= ms(50), "delay {delay:?}");
        saw_jitter |= delay > ms(41);
    }
    assert!(saw_jitter);
}

#[test]
fn bandwidth_serializes_packets_on_the_virtual_clock() {
    let up = LinkConfig {
        delay: ms(5),
        bandwidth_bps: Some(1_000_000),
        queue_bytes: 1_000_000,
        ..LinkConfig::default()
    };
    // 100 packets of 1250 bytes at once: 10 ms each at 1 Mbit/s.
    let (mut sim, _, b) = pair(2, up, 100, 1250, Duration::ZERO);
    sim.run_for(Duration::from_secs(5));
    let rx = &sim.node::<Probe>(b).unwrap().received;
    assert_eq!(rx.len(), 100);
    for (k, (at, ..)) in rx.iter().enumerate() {
        assert_eq!(*at - epoch(), ms(10) * (k as u32 + 1) + ms(5));
    }
}

#[test]
fn a_full_queue_tail_drops() {
    let up = LinkConfig {
        bandwidth_bps: Some(1_000_000),
        queue_bytes: 10_000,
        ..LinkConfig::default()
    };
    let (mut sim, _, b) = pair(3, up, 100, 1000, Duration::ZERO);
    sim.run_for(Duration::from_secs(5));
    assert_eq!(sim.node::<Probe>(b).unwrap().received.len(), 10);
    assert_eq!(fates(&sim, |f| *f == Fate::QueueFull), 90);
}

#[test]
fn random_loss_is_within_statistical_bounds() {
    let up = LinkConfig {
        loss: Loss::Random(0.10),
        ..LinkConfig::default()
    };
    let (mut sim, _, b) = pair(4, up, 20_000, 20, ms(1));
    sim.run_for(Duration::from_secs(60));
    let delivered = sim.node::<Probe>(b).unwrap().received.len();
    let ratio = 1.0 - delivered as f64 / 20_000.0;
    // 10% ± 0.01 is ±4.7 standard deviations at n = 20,000.
    assert!((0.09..=0.11).contains(&ratio), "loss ratio {ratio}");
    assert_eq!(fates(&sim, |f| *f == Fate::Lost), 20_000 - delivered);
}

#[test]
fn gilbert_elliott_loss_comes_in_bursts() {
    let up = LinkConfig {
        loss: Loss::GilbertElliott {
            p: 0.01,
            r: 0.25,
            loss_good: 0.0,
            loss_bad: 1.0,
        },
        ..LinkConfig::default()
    };
    let n = 50_000u32;
    let (mut sim, _, b) = pair(5, up, n, 20, ms(1));
    sim.run_for(Duration::from_secs(100));
    let rx = &sim.node::<Probe>(b).unwrap().received;
    let mut got = vec![false; n as usize];
    for (.., data) in rx {
        got[seq_of(data) as usize] = true;
    }
    let lost = got.iter().filter(|g| !**g).count();
    let bursts = got.windows(2).filter(|w| w[0] && !w[1]).count().max(1);
    let ratio = lost as f64 / f64::from(n);
    let mean_burst = lost as f64 / bursts as f64;
    // Stationary loss p/(p+r) = 3.85%; mean burst 1/r = 4 packets.
    assert!((0.03..=0.047).contains(&ratio), "loss ratio {ratio}");
    assert!((3.0..=5.0).contains(&mean_burst), "mean burst {mean_burst}");
}

#[test]
fn duplication_and_reordering_happen_at_the_configured_rates() {
    let up = LinkConfig {
        delay: ms(10),
        duplicate: 0.05,
        reorder: 0.10,
        reorder_delay: ms(30),
        ..LinkConfig::default()
    };
    let (mut sim, _, b) = pair(6, up, 10_000, 20, ms(10));
    sim.run_for(Duration::from_secs(200));
    let rx = &sim.node::<Probe>(b).unwrap().received;
    let dups = rx.len() - 10_000;
    assert!((400..=600).contains(&dups), "duplicates {dups}");
    let mut max_seen = 0;
    let mut late = 0;
    for (.., data) in rx {
        let s = seq_of(data);
        if s < max_seen {
            late += 1;
        }
        max_seen = max_seen.max(s);
    }
    // About 10% are held back and overtaken (a duplicate may be "late" too).
    assert!((800..=1300).contains(&late), "reordered {late}");
}

#[test]
fn oversize_packets_are_dropped_at_the_mtu() {
    let mut sim = Sim::new(7, epoch());
    let net = sim.internet();
    let mut a = Probe::new(false);
    a.plan(epoch(), addr(A), addr(B), vec![1; 1200]);
    a.plan(epoch(), addr(A), addr(B), vec![2; 1201]);
    let link = Link::symmetric(LinkConfig {
        mtu: Some(1200),
        ..LinkConfig::default()
    });
    sim.add_node(net, addr(A).ip(), a, link);
    let b = sim.add_node(net, addr(B).ip(), Probe::new(false), Link::default());
    sim.run_for(Duration::from_secs(1));
    let rx = &sim.node::<Probe>(b).unwrap().received;
    assert_eq!(rx.len(), 1);
    assert_eq!(rx[0].3.len(), 1200);
    assert_eq!(fates(&sim, |f| *f == Fate::TooBig), 1);
}

#[test]
fn packets_to_nowhere_have_no_route() {
    let (mut sim, a, _) = pair(8, LinkConfig::default(), 0, 1, ms(1));
    sim.node_mut::<Probe>(a)
        .unwrap()
        .plan(epoch(), addr(A), addr("10.9.9.9:9"), vec![0; 4]);
    sim.run_for(Duration::from_secs(1));
    assert_eq!(fates(&sim, |f| *f == Fate::NoRoute), 1);
}

const INSIDE: &str = "192.168.1.10:4000";
const S1: &str = "198.51.100.1:3478";
const S2: &str = "198.51.100.2:3478";
const OTHER: &str = "198.51.100.9:7000";
const EXTERNAL_IP: &str = "203.0.113.1";

struct NatWorld {
    sim: Sim,
    inside: NodeId,
    s1: NodeId,
    s2: NodeId,
    other: NodeId,
    lan: NetworkId,
}

/// A host behind a NAT; two echo servers and a stranger outside.
fn nat_world(config: NatConfig) -> NatWorld {
    let mut sim = Sim::new(11, epoch());
    let net = sim.internet();
    let lan = sim.add_nat(net, EXTERNAL_IP.parse().unwrap(), config, Link::default());
    let inside = sim.add_node(lan, addr(INSIDE).ip(), Probe::new(false), Link::default());
    let s1 = sim.add_node(net, addr(S1).ip(), Probe::new(true), Link::default());
    let s2 = sim.add_node(net, addr(S2).ip(), Probe::new(true), Link::default());
    let other = sim.add_node(net, addr(OTHER).ip(), Probe::new(false), Link::default());
    NatWorld {
        sim,
        inside,
        s1,
        s2,
        other,
        lan,
    }
}

impl NatWorld {
    fn send(&mut self, node: NodeId, from: &str, to: SocketAddr) {
        let now = self.sim.now();
        self.sim
            .node_mut::<Probe>(node)
            .unwrap()
            .plan(now, addr(from), to, b"ping".to_vec());
        self.sim.run_for(ms(100));
    }

    /// The external address the server saw the inside host as.
    fn seen_by(&self, server: NodeId) -> SocketAddr {
        self.sim
            .node::<Probe>(server)
            .unwrap()
            .received
            .last()
            .unwrap()
            .1
    }

    fn inside_received(&self) -> usize {
        self.sim.node::<Probe>(self.inside).unwrap().received.len()
    }
}

#[test]
fn full_cone_lets_anyone_reach_a_mapping() {
    let mut w = nat_world(NatConfig::full_cone());
    w.send(w.inside, INSIDE, addr(S1));
    let mapped = w.seen_by(w.s1);
    assert_eq!(mapped.ip().to_string(), EXTERNAL_IP);
    assert_eq!(w.inside_received(), 1, "the echo came back");
    w.send(w.other, OTHER, mapped);
    assert_eq!(w.inside_received(), 2, "a stranger got through");
    // Endpoint-independent mapping: the same external port towards S2.
    w.send(w.inside, INSIDE, addr(S2));
    assert_eq!(w.seen_by(w.s2), mapped);
}

#[test]
fn restricted_cone_filters_by_address() {
    let mut w = nat_world(NatConfig::restricted_cone());
    w.send(w.inside, INSIDE, addr(S1));
    let mapped = w.seen_by(w.s1);
    // Same IP as S1, another port: allowed by address-dependent filtering.
    w.send(w.s1, "198.51.100.1:9999", mapped);
    assert_eq!(w.inside_received(), 2);
    w.send(w.other, OTHER, mapped);
    assert_eq!(w.inside_received(), 2);
    assert_eq!(fates(&w.sim, |f| *f == Fate::Filtered), 1);
}

#[test]
fn port_restricted_cone_filters_by_address_and_port() {
    let mut w = nat_world(NatConfig::port_restricted_cone());
    w.send(w.inside, INSIDE, addr(S1));
    let mapped = w.seen_by(w.s1);
    assert_eq!(w.inside_received(), 1);
    w.send(w.s1, "198.51.100.1:9999", mapped);
    w.send(w.other, OTHER, mapped);
    assert_eq!(w.inside_received(), 1);
    assert_eq!(fates(&w.sim, |f| *f == Fate::Filtered), 2);
    // Once the inside has sent to the stranger, the stranger gets through.
    w.send(w.inside, INSIDE, addr(OTHER));
    w.send(w.other, OTHER, mapped);
    assert_eq!(w.inside_received(), 2);
}

#[test]
fn symmetric_nat_maps_each_destination_to_its_own_port() {
    let mut w = nat_world(NatConfig::symmetric());
    w.send(w.inside, INSIDE, addr(S1));
    w.send(w.inside, INSIDE, addr(S2));
    let (m1, m2) = (w.seen_by(w.s1), w.seen_by(w.s2));
    assert_eq!(m1.ip(), m2.ip());
    assert_ne!(m1.port(), m2.port());
    assert_eq!(w.sim.nat_mappings(w.lan), 2);
    // S2 cannot use the mapping made for S1.
    w.send(w.s2, S2, m1);
    assert_eq!(w.inside_received(), 2);
}

#[test]
fn unsolicited_inbound_has_no_mapping() {
    let mut w = nat_world(NatConfig::full_cone());
    w.send(w.other, OTHER, addr(&format!("{EXTERNAL_IP}:50000")));
    assert_eq!(w.inside_received(), 0);
    assert_eq!(fates(&w.sim, |f| *f == Fate::NoMapping), 1);
}

#[test]
fn mappings_expire_after_the_timeout() {
    let mut config = NatConfig::full_cone();
    config.mapping_timeout = Duration::from_secs(30);
    let mut w = nat_world(config);
    w.send(w.inside, INSIDE, addr(S1));
    let mapped = w.seen_by(w.s1);
    w.sim.run_for(Duration::from_secs(31));
    w.send(w.other, OTHER, mapped);
    assert_eq!(w.inside_received(), 1);
    assert_eq!(fates(&w.sim, |f| *f == Fate::NoMapping), 1);
    // A new outbound packet makes a new mapping on a new port.
    w.send(w.inside, INSIDE, addr(S1));
    assert_ne!(w.seen_by(w.s1), mapped);
}

#[test]
fn a_rebound_nat_maps_anew_and_drops_the_old_port() {
    let mut w = nat_world(NatConfig::port_restricted_cone());
    w.send(w.inside, INSIDE, addr(S1));
    let mapped = w.seen_by(w.s1);
    assert_eq!(w.inside_received(), 1);
    w.sim.rebind_nat(w.lan);
    assert_eq!(w.sim.nat_mappings(w.lan), 0);
    // The server still answers the old port: dropped.
    w.send(w.s1, S1, mapped);
    assert_eq!(w.inside_received(), 1);
    assert_eq!(fates(&w.sim, |f| *f == Fate::NoMapping), 1);
    // The next outbound packet leaves from a new port, and its echo
    // comes back.
    w.send(w.inside, INSIDE, addr(S1));
    let remapped = w.seen_by(w.s1);
    assert_eq!(remapped.ip(), mapped.ip());
    assert_ne!(remapped.port(), mapped.port());
    assert_eq!(w.inside_received(), 2);
}

/// A lossy, jittery, reordering, duplicating run through a NAT.
fn messy_run(seed: u64) -> Sim {
    let mut sim = Sim::new(seed, epoch());
    let net = sim.internet();
    let lan = sim.add_nat(
        net,
        EXTERNAL_IP.parse().unwrap(),
        NatConfig::port_restricted_cone(),
        Link::default(),
    );
    let messy = LinkConfig {
        delay: ms(20),
        jitter: ms(15),
        loss: Loss::Random(0.2),
        reorder: 0.1,
        reorder_delay: ms(25),
        duplicate: 0.05,
        bandwidth_bps: Some(2_000_000),
        ..LinkConfig::default()
    };
    let mut a = Probe::new(false);
    for i in 0..500u32 {
        a.plan(
            epoch() + ms(5) * i,
            addr(INSIDE),
            addr(S1),
            i.to_be_bytes().to_vec(),
        );
    }
    sim.add_node(lan, addr(INSIDE).ip(), a, Link::symmetric(messy));
    sim.add_node(net, addr(S1).ip(), Probe::new(true), Link::symmetric(messy));
    assert_eq!(sim.run_for(Duration::from_secs(30)), RunOutcome::Quiescent);
    sim
}

#[test]
fn one_seed_gives_one_trace_and_two_seeds_differ() {
    let a = messy_run(7);
    let b = messy_run(7);
    let c = messy_run(8);
    assert!(a.trace().len() > 500);
    assert_eq!(a.trace(), b.trace());
    assert_eq!(a.trace_digest(), b.trace_digest());
    assert_ne!(a.trace_digest(), c.trace_digest());
    assert_ne!(a.trace(), c.trace());
}

#[test]
fn run_until_reports_predicate_deadline_and_quiescence() {
    let (mut sim, _, b) = pair(9, LinkConfig::with_delay(ms(10)), 100, 10, ms(10));
    let outcome = sim.run_until(
        |s| s.node::<Probe>(b).unwrap().received.len() >= 5,
        Duration::from_secs(10),
    );
    assert_eq!(outcome, RunOutcome::Predicate);
    assert_eq!(sim.elapsed(), ms(50));
    assert_eq!(sim.run_until(|_| false, ms(300)), RunOutcome::Deadline);
    assert_eq!(sim.elapsed(), ms(300));
    assert_eq!(
        sim.run_until(|_| false, Duration::from_secs(10)),
        RunOutcome::Quiescent
    );
    assert_eq!(sim.node::<Probe>(b).unwrap().received.len(), 100);
}

/// Asks to be woken at the start of time, forever.
struct Stuck;

impl Node for Stuck {
    fn handle_input(&mut self, _: Input<'_>) {}
    fn poll_output(&mut self) -> Output {
        Output::Timeout(Some(epoch()))
    }
}

#[test]
fn a_node_that_never_lets_time_pass_is_reported() {
    let mut sim = Sim::new(10, epoch());
    let net = sim.internet();
    sim.add_node(net, addr(A).ip(), Stuck, Link::default());
    assert_eq!(sim.run_for(Duration::from_secs(1)), RunOutcome::Livelock);
}

#[derive(Clone, Default)]
struct SharedBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn pcap_holds_every_sent_datagram() {
    let (mut sim, _, _) = pair(12, LinkConfig::default(), 3, 50, ms(1));
    let buf = SharedBuf::default();
    sim.set_pcap(PcapWriter::new(Box::new(buf.clone())).unwrap());
    sim.run_for(Duration::from_secs(1));
    let bytes = buf.0.lock().expect("not poisoned");
    assert_eq!(&bytes[..4], &0xa1b2_c3d4u32.to_le_bytes());
    assert_eq!(
        u32::from_le_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]),
        101
    );
    // 24-byte header, then 3 records of 16 + 20 (IPv4) + 8 (UDP) + 50 bytes.
    assert_eq!(bytes.len(), 24 + 3 * (16 + 20 + 8 + 50));
}

#[test]
fn a_peer_connection_runs_as_a_node() {
    let mut sim = Sim::new(13, epoch());
    let net = sim.internet();
    let seed = sim.derive_seed();
    let pc = crate::PeerConnection::new(crate::Configuration::default().with_seed(seed), sim.now())
        .unwrap();
    let p = sim.add_node(net, addr(B).ip(), pc, Link::default());
    let mut a = Probe::new(false);
    a.plan(epoch(), addr(A), addr(B), vec![0x00, 0x01, 0, 0]);
    a.plan(epoch(), addr(A), addr(B), vec![0xff, 0xff]);
    sim.add_node(net, addr(A).ip(), a, Link::default());
    sim.run_for(Duration::from_secs(1));
    let c = sim.node::<crate::PeerConnection>(p).unwrap().counters();
    assert_eq!((c.stun, c.dropped_unknown), (1, 1));
}
