//! ICE agent tests: two agents wired directly, in virtual time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::io::{Protocol, Receive, Transmit};
use crate::rng::Rng;
use crate::stun::{self, Attribute, Class, MessageWriter, Method, StunMessage, TransactionId};
use crate::testutil::epoch;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Two agents and the datagrams between them, in virtual time.
struct Pair {
    a: IceAgent,
    b: IceAgent,
    now: Instant,
    /// (deliver at, to b?, transmit)
    flight: Vec<(Instant, bool, Transmit)>,
    delay: Duration,
    /// Drop probability, and the generator deciding it.
    loss: f64,
    rng: Rng,
    /// Drop everything (a cut cable).
    cut: bool,
    /// Non-STUN data each agent accepted.
    data_a: Vec<Vec<u8>>,
    data_b: Vec<Vec<u8>>,
    events_a: Vec<(Instant, IceEvent)>,
    events_b: Vec<(Instant, IceEvent)>,
}

impl Pair {
    fn new(config_a: IceConfig, config_b: IceConfig) -> Self {
        let now = epoch();
        let a = IceAgent::with_seed(config_a, IceRole::Controlling, 1, now).unwrap();
        let b = IceAgent::with_seed(config_b, IceRole::Controlled, 2, now).unwrap();
        Self {
            a,
            b,
            now,
            flight: Vec::new(),
            delay: Duration::from_millis(10),
            loss: 0.0,
            rng: Rng::from_seed(99),
            cut: false,
            data_a: Vec::new(),
            data_b: Vec::new(),
            events_a: Vec::new(),
            events_b: Vec::new(),
        }
    }

    /// Host candidates a=10.0.0.1:1000, b=10.0.0.2:2000, credentials and
    /// candidates exchanged, end-of-candidates both ways.
    fn standard() -> Self {
        Self::with_hosts("10.0.0.1:1000", "10.0.0.2:2000")
    }

    /// Two default agents with a host candidate each, signaled.
    fn with_hosts(a: &str, b: &str) -> Self {
        let mut p = Self::new(IceConfig::default(), IceConfig::default());
        p.a.add_local_candidate(addr(a), Protocol::Udp).unwrap();
        p.b.add_local_candidate(addr(b), Protocol::Udp).unwrap();
        p.a.end_of_local_candidates();
        p.b.end_of_local_candidates();
        p.signal_all();
        p
    }

    fn signal_all(&mut self) {
        let ca = self.a.local_credentials().clone();
        let cb = self.b.local_credentials().clone();
        self.a.set_remote_credentials(&cb.ufrag, &cb.pwd).unwrap();
        self.b.set_remote_credentials(&ca.ufrag, &ca.pwd).unwrap();
        self.trickle();
    }

    /// Moves local-candidate events across, like a signaling channel.
    fn trickle(&mut self) {
        self.drain_events();
        let to_b: Vec<IceEvent> = self.events_a.iter().map(|(_, e)| e.clone()).collect();
        let to_a: Vec<IceEvent> = self.events_b.iter().map(|(_, e)| e.clone()).collect();
        for (events, agent) in [(to_b, &mut self.b), (to_a, &mut self.a)] {
            for e in events {
                match e {
                    IceEvent::LocalCandidate(c) => agent.add_remote_candidate(c),
                    IceEvent::EndOfCandidates => agent.remote_end_of_candidates(),
                    _ => {}
                }
            }
        }
    }

    fn drain_events(&mut self) {
        while let Some(e) = self.a.poll_event() {
            self.events_a.push((self.now, e));
        }
        while let Some(e) = self.b.poll_event() {
            self.events_b.push((self.now, e));
        }
    }

    fn collect_transmits(&mut self) {
        while let Some(t) = self.a.poll_transmit() {
            self.flight.push((self.now + self.delay, true, t));
        }
        while let Some(t) = self.b.poll_transmit() {
            self.flight.push((self.now + self.delay, false, t));
        }
    }

    /// One step: deliver what is due, else advance to the next event.
    fn step(&mut self) {
        self.collect_transmits();
        self.drain_events();
        let next_packet = self.flight.iter().map(|f| f.0).min();
        let next = [next_packet, self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else {
            return;
        };
        assert!(next >= self.now, "a deadline in the past");
        self.now = next;
        let due: Vec<_> = {
            let (due, rest): (Vec<_>, Vec<_>) =
                self.flight.drain(..).partition(|f| f.0 <= self.now);
            self.flight = rest;
            due
        };
        for (_, to_b, t) in due {
            if self.cut || (self.loss > 0.0 && self.rng.unit() < self.loss) {
                continue;
            }
            let r = Receive {
                proto: t.proto,
                source: t.source,
                destination: t.destination,
                contents: &t.contents,
            };
            let (agent, data) = if to_b {
                (&mut self.b, &mut self.data_b)
            } else {
                (&mut self.a, &mut self.data_a)
            };
            if !agent.handle_receive(self.now, r) && agent.is_validated(t.source, t.destination) {
                data.push(t.contents.clone());
            }
        }
        if self.a.poll_timeout().is_some_and(|t| t <= self.now) {
            self.a.handle_timeout(self.now);
        }
        if self.b.poll_timeout().is_some_and(|t| t <= self.now) {
            self.b.handle_timeout(self.now);
        }
        self.collect_transmits();
        self.drain_events();
    }

    /// Steps until `done` or `limit` of virtual time passes; returns the
    /// time taken. Bounded in steps too (catches livelock).
    fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Option<Duration> {
        let start = self.now;
        for _ in 0..200_000 {
            if done(self) {
                return Some(self.now - start);
            }
            if self.now - start > limit {
                return None;
            }
            let before = (self.now, self.flight.len());
            self.step();
            if (self.now, self.flight.len()) == before
                && self.a.poll_timeout().is_none()
                && self.b.poll_timeout().is_none()
                && self.flight.is_empty()
            {
                // Idle: jump to the limit.
                self.now = start + limit + Duration::from_millis(1);
            }
        }
        panic!("livelock: too many steps");
    }

    fn connected(&self) -> bool {
        let ok = |s| {
            matches!(
                s,
                IceConnectionState::Connected | IceConnectionState::Completed
            )
        };
        ok(self.a.connection_state()) && ok(self.b.connection_state())
    }
}

#[test]
fn two_hosts_connect_and_agree_on_the_pair() {
    let mut p = Pair::standard();
    let took = p
        .run_until(Duration::from_secs(5), Pair::connected)
        .expect("connects");
    assert!(took < Duration::from_millis(500), "took {took:?}");
    let sa = p.a.selected_pair().unwrap();
    let sb = p.b.selected_pair().unwrap();
    assert_eq!((sa.0, sa.1), (sb.1, sb.0));
    assert!(p.a.is_validated(sa.1, sa.0));
    assert!(p.b.is_validated(sb.1, sb.0));
    assert!(!p.a.is_validated(addr("10.9.9.9:9"), sa.0));
    // Completed once both sides are done gathering and checking.
    p.run_until(Duration::from_secs(2), |p| {
        p.a.connection_state() == IceConnectionState::Completed
            && p.b.connection_state() == IceConnectionState::Completed
    })
    .expect("completed");
    let states: Vec<_> = p
        .events_a
        .iter()
        .filter_map(|(_, e)| match e {
            IceEvent::ConnectionStateChange(s) => Some(*s),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [
            IceConnectionState::Checking,
            IceConnectionState::Connected,
            IceConnectionState::Completed
        ]
    );
    let s = p.a.stats();
    assert!(s.requests_sent >= 2 && s.responses_received >= 2, "{s:?}");
    assert!(s.current_rtt.is_some() || p.a.pair_stats().any(|p| p.rtt.is_some()));
}

#[test]
fn gathering_states_and_end_of_candidates() {
    let now = epoch();
    let mut a = IceAgent::with_seed(IceConfig::default(), IceRole::Controlling, 3, now).unwrap();
    assert_eq!(a.gathering_state(), IceGatheringState::New);
    a.add_local_candidate(addr("10.0.0.1:1000"), Protocol::Udp)
        .unwrap();
    a.add_local_candidate(addr("10.0.0.1:1000"), Protocol::Udp)
        .unwrap(); // duplicate
    a.end_of_local_candidates();
    let events: Vec<_> = std::iter::from_fn(|| a.poll_event()).collect();
    assert_eq!(events.len(), 4, "{events:?}");
    assert!(matches!(
        events[0],
        IceEvent::GatheringStateChange(IceGatheringState::Gathering)
    ));
    assert!(matches!(events[1], IceEvent::LocalCandidate(_)));
    assert_eq!(events[2], IceEvent::EndOfCandidates);
    assert_eq!(
        events[3],
        IceEvent::GatheringStateChange(IceGatheringState::Complete)
    );
}

#[test]
fn server_reflexive_gathering_and_timeout() {
    let now = epoch();
    let mut a = IceAgent::with_seed(IceConfig::default(), IceRole::Controlling, 4, now).unwrap();
    a.add_stun_server(addr("198.51.100.1:3478")).unwrap();
    a.add_stun_server(addr("198.51.100.2:3478")).unwrap();
    a.add_local_candidate(addr("10.0.0.1:1000"), Protocol::Udp)
        .unwrap();
    a.end_of_local_candidates();
    a.handle_timeout(now);
    let req = a.poll_transmit().expect("first gathering request");
    assert_eq!(req.destination, addr("198.51.100.1:3478"));
    // Paced: the second server's request waits Ta.
    assert!(a.poll_transmit().is_none());
    let msg = StunMessage::parse(&req.contents).unwrap();
    assert_eq!(msg.class(), Class::Request);
    // The server answers with the NAT's mapping.
    let mut buf = [0u8; 128];
    let mut w = MessageWriter::new(
        &mut buf,
        Class::Success,
        Method::BINDING,
        msg.transaction_id(),
    )
    .unwrap();
    w.add(&Attribute::XorMappedAddress(addr("203.0.113.5:40000")))
        .unwrap();
    let n = w.finish(true).unwrap();
    // From the wrong address: ignored.
    let wrong = Receive {
        proto: Protocol::Udp,
        source: addr("198.51.100.9:3478"),
        destination: req.source,
        contents: &buf[..n],
    };
    assert!(a.handle_receive(now, wrong));
    assert!(!a
        .local_candidates()
        .iter()
        .any(|c| c.kind == CandidateKind::ServerReflexive));
    // Second attempt is a retransmission of the same transaction: from the
    // right address it is accepted.
    let right = Receive {
        source: req.destination,
        ..wrong
    };
    assert!(a.handle_receive(now, right));
    let srflx = a
        .local_candidates()
        .iter()
        .find(|c| c.kind == CandidateKind::ServerReflexive)
        .unwrap();
    assert_eq!(srflx.addr, addr("203.0.113.5:40000"));
    assert_eq!(srflx.related, Some(addr("10.0.0.1:1000")));
    // The other server never answers: gathering completes after its
    // retransmissions (4 transmissions: 0.5 + 1 + 2 + 3 s).
    let mut t = now;
    while a.gathering_state() != IceGatheringState::Complete {
        t = a.poll_timeout().expect("a timer while gathering");
        a.handle_timeout(t);
        while a.poll_transmit().is_some() {}
        assert!(t - now < Duration::from_secs(10));
    }
    assert!(t - now >= Duration::from_secs(6), "{:?}", t - now);
}

#[test]
fn role_conflict_is_repaired() {
    // Both think they are controlling.
    let mut p = Pair::new(IceConfig::default(), IceConfig::default());
    p.b.set_role(IceRole::Controlling);
    p.a.add_local_candidate(addr("10.0.0.1:1000"), Protocol::Udp)
        .unwrap();
    p.b.add_local_candidate(addr("10.0.0.2:2000"), Protocol::Udp)
        .unwrap();
    p.signal_all();
    p.run_until(Duration::from_secs(5), Pair::connected)
        .expect("connects");
    assert_ne!(p.a.role(), p.b.role());
    assert!(p.a.stats().role_conflicts + p.b.stats().role_conflicts > 0);
    // The agent with the larger tie-breaker stays controlling.
    let winner = if p.a.tie_breaker > p.b.tie_breaker {
        &p.a
    } else {
        &p.b
    };
    assert_eq!(winner.role(), IceRole::Controlling);

    // Both controlled: also repaired.
    let mut p = Pair::new(IceConfig::default(), IceConfig::default());
    p.a.set_role(IceRole::Controlled);
    p.a.add_local_candidate(addr("10.0.0.1:1000"), Protocol::Udp)
        .unwrap();
    p.b.add_local_candidate(addr("10.0.0.2:2000"), Protocol::Udp)
        .unwrap();
    p.signal_all();
    p.run_until(Duration::from_secs(5), Pair::connected)
        .expect("connects");
    assert_ne!(p.a.role(), p.b.role());
}

#[test]
fn lite_server_and_full_client() {
    let lite = IceConfig {
        lite: true,
        ..IceConfig::default()
    };
    let mut p = Pair::new(IceConfig::default(), lite);
    p.b.set_role(IceRole::Controlling); // ignored: lite stays controlled
    assert_eq!(p.b.role(), IceRole::Controlled);
    p.a.set_role(IceRole::Controlled);
    p.a.set_remote_ice_lite(true);
    assert_eq!(p.a.role(), IceRole::Controlling);
    p.a.add_local_candidate(addr("10.0.0.1:1000"), Protocol::Udp)
        .unwrap();
    p.b.add_local_candidate(addr("10.0.0.2:2000"), Protocol::Udp)
        .unwrap();
    p.a.end_of_local_candidates();
    p.b.end_of_local_candidates();
    p.signal_all();
    p.run_until(Duration::from_secs(5), Pair::connected)
        .expect("connects");
    assert_eq!(p.b.stats().requests_sent, 0, "a lite agent sends no checks");
    // Keeps consent for a minute: the full agent's checks keep the lite one
    // connected too.
    p.run_until(Duration::from_secs(60), |_| false);
    assert!(
        p.connected(),
        "{:?} {:?}",
        p.a.connection_state(),
        p.b.connection_state()
    );
    assert_eq!(p.b.stats().requests_sent, 0);
    assert!(p.a.stats().consent_requests_sent >= 9);
}

#[test]
fn connects_under_thirty_percent_loss() {
    for seed in 0..5 {
        let mut p = Pair::standard();
        p.rng = Rng::from_seed(seed);
        p.loss = 0.3;
        p.run_until(Duration::from_secs(30), Pair::connected)
            .unwrap_or_else(|| {
                panic!(
                    "seed {seed}: {:?}/{:?}",
                    p.a.connection_state(),
                    p.b.connection_state()
                )
            });
    }
}

#[test]
fn consent_loss_disconnects_then_fails_at_the_configured_times() {
    let mut p = Pair::standard();
    p.run_until(Duration::from_secs(5), Pair::connected)
        .expect("connects");
    p.run_until(Duration::from_secs(20), |_| false);
    assert!(p.connected());
    let cut_at = p.now;
    p.cut = true;
    let config = IceConfig::default();
    let disc = p
        .run_until(Duration::from_secs(60), |p| {
            p.a.connection_state() == IceConnectionState::Disconnected
        })
        .expect("disconnected");
    // The first unanswered check goes out within 1.2 x 5 s; disconnected
    // comes `disconnected_timeout` after it.
    assert!(disc >= config.disconnected_timeout, "{disc:?}");
    assert!(
        disc <= config.consent_interval.mul_f64(1.2) + config.disconnected_timeout,
        "{disc:?}"
    );
    p.run_until(Duration::from_secs(60), |p| {
        p.a.connection_state() == IceConnectionState::Failed
    })
    .expect("failed");
    let failed_after = p.now - cut_at;
    // Failed 30 s after the last response, which came at most 1.2 x 5 s
    // before the cut.
    assert!(failed_after <= config.failed_timeout, "{failed_after:?}");
    assert!(
        failed_after >= config.failed_timeout - config.consent_interval.mul_f64(1.2),
        "{failed_after:?}"
    );
    assert!(
        p.a.selected_pair().is_none(),
        "no more sending after consent expired"
    );
    assert!(p.a.transmit_data(b"\x80x").is_none());
    // And nothing more goes out.
    while p.a.poll_transmit().is_some() {}
    p.a.handle_timeout(p.now + Duration::from_secs(10));
    assert!(p.a.poll_transmit().is_none());
}

#[test]
fn a_disconnected_agent_recovers_when_responses_return() {
    let mut p = Pair::standard();
    p.run_until(Duration::from_secs(5), Pair::connected)
        .expect("connects");
    p.cut = true;
    p.run_until(Duration::from_secs(20), |p| {
        p.a.connection_state() == IceConnectionState::Disconnected
    })
    .expect("disconnected");
    p.cut = false;
    p.run_until(Duration::from_secs(5), |p| {
        matches!(
            p.a.connection_state(),
            IceConnectionState::Connected | IceConnectionState::Completed
        )
    })
    .expect("reconnects");
}

#[test]
fn consent_checks_are_jittered_around_five_seconds() {
    let mut p = Pair::standard();
    p.run_until(Duration::from_secs(5), Pair::connected)
        .expect("connects");
    let before = p.a.stats().consent_requests_sent;
    p.run_until(Duration::from_secs(100), |_| false);
    let sent = p.a.stats().consent_requests_sent - before;
    // 100 s / (0.8..1.2 x 5 s) = 16.7..25 checks.
    assert!((16..=26).contains(&sent), "{sent}");
}

#[test]
fn ice_restart_keeps_the_old_pair_until_a_new_one_is_nominated() {
    let mut p = Pair::standard();
    p.run_until(Duration::from_secs(5), Pair::connected)
        .expect("connects");
    let old = p.a.selected_pair().unwrap();
    let old_creds = p.a.local_credentials().clone();
    p.a.restart();
    p.b.restart();
    assert_ne!(p.a.local_credentials(), &old_creds);
    assert_eq!(
        p.a.selected_pair(),
        Some(old),
        "old pair carries data meanwhile"
    );
    assert!(p.a.transmit_data(b"\x80data").is_some());
    // New sockets on both sides, as after a network change.
    p.a.add_local_candidate(addr("10.1.0.1:1001"), Protocol::Udp)
        .unwrap();
    p.b.add_local_candidate(addr("10.1.0.2:2001"), Protocol::Udp)
        .unwrap();
    p.events_a.clear();
    p.events_b.clear();
    p.signal_all();
    p.run_until(Duration::from_secs(5), |p| p.a.selected_pair() != Some(old))
        .expect("new pair");
    p.run_until(Duration::from_secs(5), |p| {
        p.b.selected_pair().map(|s| s.1) == p.a.selected_pair().map(|s| s.0)
    })
    .expect("b agrees");
    assert!(p
        .events_a
        .iter()
        .any(|(_, e)| matches!(e, IceEvent::SelectedPairChange { .. })));
    assert!(p.connected());
}

#[test]
fn pair_count_is_capped_at_one_hundred() {
    let mut p = Pair::new(IceConfig::default(), IceConfig::default());
    for i in 0..4 {
        p.a.add_local_candidate(SocketAddr::from(([10, 0, 0, 1], 1000 + i)), Protocol::Udp)
            .unwrap();
    }
    for i in 0..60u16 {
        let c = Candidate::host(SocketAddr::from(([10, 0, 1, 1], 3000 + i)), Protocol::Udp);
        p.a.add_remote_candidate(c);
    }
    assert_eq!(p.a.pair_stats().count(), MAX_PAIRS);
    assert_eq!(p.a.stats().pairs_dropped, 4 * 60 - MAX_PAIRS as u64);
    for i in 0..(MAX_REMOTE_CANDIDATES as u16 + 5) {
        let c = Candidate::host(SocketAddr::from(([10, 0, 2, 1], 3000 + i)), Protocol::Udp);
        p.a.add_remote_candidate(c);
    }
    assert_eq!(p.a.remote_candidates().len(), MAX_REMOTE_CANDIDATES);
    assert!(p.a.stats().remote_candidates_dropped > 0);
    assert_eq!(p.a.pair_stats().count(), MAX_PAIRS);
}

#[test]
fn mdns_candidates_wait_for_resolution() {
    let mut p = Pair::new(IceConfig::default(), IceConfig::default());
    p.a.add_local_candidate(addr("10.0.0.1:1000"), Protocol::Udp)
        .unwrap();
    p.b.add_local_candidate(addr("10.0.0.2:2000"), Protocol::Udp)
        .unwrap();
    let cb = p.b.local_credentials().clone();
    let ca = p.a.local_credentials().clone();
    p.a.set_remote_credentials(&cb.ufrag, &cb.pwd).unwrap();
    p.b.set_remote_credentials(&ca.ufrag, &ca.pwd).unwrap();
    let mut c = Candidate::host(addr("0.0.0.0:2000"), Protocol::Udp);
    c.addr = addr("0.0.0.0:2000");
    p.a.add_remote_mdns_candidate("6b4f1b0e-aaaa.local", c);
    assert_eq!(
        p.a.pending_mdns().collect::<Vec<_>>(),
        ["6b4f1b0e-aaaa.local"]
    );
    assert_eq!(p.a.pair_stats().count(), 0);
    p.a.resolve_remote("6B4F1B0E-aaaa.local", "10.0.0.2".parse().unwrap());
    assert_eq!(p.a.pending_mdns().count(), 0);
    assert_eq!(p.a.pair_stats().count(), 1);
    p.run_until(Duration::from_secs(5), Pair::connected)
        .expect("connects");
}

/// A check written by hand, as a peer would.
fn check_from_b(p: &Pair, extra: &[Attribute<'_>], pwd: &str) -> Vec<u8> {
    let ca = p.a.local_credentials();
    let username = format!("{}:{}", ca.ufrag, p.b.local_credentials().ufrag);
    let mut buf = [0u8; 512];
    let mut w = MessageWriter::new(
        &mut buf,
        Class::Request,
        Method::BINDING,
        TransactionId([9; 12]),
    )
    .unwrap();
    w.add(&Attribute::Username(&username)).unwrap();
    for a in extra {
        w.add(a).unwrap();
    }
    w.add_integrity(pwd.as_bytes()).unwrap();
    let n = w.finish(true).unwrap();
    buf[..n].to_vec()
}

#[test]
fn requests_are_authenticated_and_unknown_attributes_get_420() {
    let mut p = Pair::standard();
    let now = p.now;
    let pwd = p.a.local_credentials().pwd.clone();
    let recv = |a: &mut IceAgent, bytes: &[u8]| {
        a.handle_receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: addr("10.0.0.2:2000"),
                destination: addr("10.0.0.1:1000"),
                contents: bytes,
            },
        )
    };
    // Wrong password: 401, smaller than the request, no state change.
    let bad = check_from_b(
        &p,
        &[Attribute::Priority(1), Attribute::IceControlled(1)],
        "wrong-password-xxxxxxxxxx",
    );
    assert!(recv(&mut p.a, &bad));
    let t = p.a.poll_transmit().expect("401");
    let msg = StunMessage::parse(&t.contents).unwrap();
    assert_eq!(msg.error_code().unwrap().code, 401);
    assert!(t.contents.len() <= bad.len());
    assert!(!p
        .a
        .is_validated(addr("10.0.0.2:2000"), addr("10.0.0.1:1000")));
    // Unknown comprehension-required attribute: 420 listing it.
    let unknown = check_from_b(
        &p,
        &[
            Attribute::Priority(1),
            Attribute::IceControlled(1),
            Attribute::Other {
                typ: 0x7f01,
                value: b"?",
            },
        ],
        &pwd,
    );
    assert!(recv(&mut p.a, &unknown));
    let t = p.a.poll_transmit().expect("420");
    let msg = StunMessage::parse(&t.contents).unwrap();
    assert_eq!(msg.error_code().unwrap().code, 420);
    match msg.get(stun::attr_type::UNKNOWN_ATTRIBUTES) {
        Some(Attribute::UnknownAttributes(u)) => assert_eq!(u.iter().collect::<Vec<_>>(), [0x7f01]),
        other => panic!("{other:?}"),
    }
    // A good check: success with XOR-MAPPED-ADDRESS, integrity, back to the
    // source from the socket it came to.
    let good = check_from_b(
        &p,
        &[Attribute::Priority(1), Attribute::IceControlled(1)],
        &pwd,
    );
    assert!(recv(&mut p.a, &good));
    let t = p.a.poll_transmit().expect("success");
    assert_eq!(
        (t.source, t.destination),
        (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"))
    );
    let msg = StunMessage::parse(&t.contents).unwrap();
    assert_eq!(msg.class(), Class::Success);
    assert_eq!(msg.mapped_address(), Some(addr("10.0.0.2:2000")));
    assert_eq!(msg.check_integrity(pwd.as_bytes()), stun::Integrity::Valid);
    assert!(t.contents.len() <= good.len(), "no amplification");
    // Non-STUN is not the agent's.
    assert!(!recv(&mut p.a, &[0x80, 0x60, 0, 1]));
    // A response to no transaction of ours is dropped.
    let dropped = p.a.stats().stun_dropped;
    let mut buf = [0u8; 64];
    let w = MessageWriter::new(
        &mut buf,
        Class::Success,
        Method::BINDING,
        TransactionId([7; 12]),
    )
    .unwrap();
    let n = w.finish(true).unwrap();
    assert!(recv(&mut p.a, &buf[..n]));
    assert_eq!(p.a.stats().stun_dropped, dropped + 1);
}

#[test]
fn peer_reflexive_remote_is_learned_from_a_check() {
    // b's candidate is never signaled to a: a learns it from b's check.
    let mut p = Pair::new(IceConfig::default(), IceConfig::default());
    p.a.add_local_candidate(addr("10.0.0.1:1000"), Protocol::Udp)
        .unwrap();
    p.b.add_local_candidate(addr("10.0.0.2:2000"), Protocol::Udp)
        .unwrap();
    let ca = p.a.local_credentials().clone();
    let cb = p.b.local_credentials().clone();
    p.a.set_remote_credentials(&cb.ufrag, &cb.pwd).unwrap();
    p.b.set_remote_credentials(&ca.ufrag, &ca.pwd).unwrap();
    p.drain_events();
    for (_, e) in std::mem::take(&mut p.events_a) {
        if let IceEvent::LocalCandidate(c) = e {
            p.b.add_remote_candidate(c);
        }
    }
    p.run_until(Duration::from_secs(5), Pair::connected)
        .expect("connects");
    let r = &p.a.remote_candidates()[0];
    assert_eq!(r.kind, CandidateKind::PeerReflexive);
    assert_eq!(r.addr, addr("10.0.0.2:2000"));
    // The signaled candidate arriving late replaces it.
    p.a.add_remote_candidate(Candidate::host(addr("10.0.0.2:2000"), Protocol::Udp));
    assert_eq!(p.a.remote_candidates().len(), 1);
    assert_eq!(p.a.remote_candidates()[0].kind, CandidateKind::Host);
}

#[test]
fn ice_tcp_passive_candidates_connect_with_rfc4571_framing() {
    // a is passive TCP only; b stands for a browser's active side, which
    // would connect from an ephemeral port: model it by giving b a TCP
    // candidate it checks from, and not signaling it (active: port 9).
    let mut p = Pair::new(IceConfig::default(), IceConfig::default());
    p.a.set_role(IceRole::Controlled);
    p.b.set_role(IceRole::Controlling);
    p.a.add_local_candidate(addr("10.0.0.1:443"), Protocol::Tcp)
        .unwrap();
    let active = Candidate {
        addr: addr("10.0.0.2:9"),
        tcp_type: Some(TcpType::Active),
        ..Candidate::host(addr("10.0.0.2:9"), Protocol::Tcp)
    };
    p.a.add_remote_candidate(active);
    assert_eq!(p.a.pair_stats().count(), 0, "active remotes are not paired");
    // b's "connection" from 10.0.0.2:50000 to a's passive candidate: b is
    // given a pair on it by learning a's candidate.
    p.b.add_local_candidate(addr("10.0.0.2:50000"), Protocol::Tcp)
        .unwrap();
    let ca = p.a.local_credentials().clone();
    let cb = p.b.local_credentials().clone();
    p.a.set_remote_credentials(&cb.ufrag, &cb.pwd).unwrap();
    p.b.set_remote_credentials(&ca.ufrag, &ca.pwd).unwrap();
    // b needs to check a's passive candidate: as the test stands in for an
    // active agent, pair it by hand as if the connection were open.
    let passive = p.a.local_candidates()[0].clone();
    let as_prflx = Candidate {
        kind: CandidateKind::PeerReflexive,
        ..passive
    };
    p.b.add_remote_candidate(as_prflx);
    p.run_until(Duration::from_secs(5), Pair::connected)
        .expect("connects over TCP");
    let (l, r, proto) = p.a.selected_pair().unwrap();
    assert_eq!(proto, Protocol::Tcp);
    assert_eq!((l, r), (addr("10.0.0.1:443"), addr("10.0.0.2:50000")));
    // Data through the pair is framed; a's stream reassembly hands it back.
    let t = p.b.transmit_data(b"\x17dtls-record").unwrap();
    assert_eq!(&t.contents[..2], &[0, 12]);
    // Deliver it in two chunks.
    let (x, y) = t.contents.split_at(5);
    for chunk in [x, y] {
        assert!(p.a.handle_receive(
            p.now,
            Receive {
                proto: Protocol::Tcp,
                source: t.source,
                destination: t.destination,
                contents: chunk
            }
        ));
    }
    let frame = p.a.poll_tcp_frame().unwrap();
    assert_eq!(frame.contents, b"\x17dtls-record");
    assert!(p.a.is_validated(frame.source, frame.destination));
}

#[test]
fn same_seed_same_bytes() {
    let run = || {
        let mut p = Pair::standard();
        p.loss = 0.2;
        p.run_until(Duration::from_secs(10), Pair::connected)
            .unwrap();
        let mut all = Vec::new();
        p.run_until(Duration::from_secs(12), |_| false);
        while let Some(t) = p.a.poll_transmit() {
            all.extend(t.contents);
        }
        (
            p.now,
            p.a.stats(),
            p.b.stats(),
            p.a.local_credentials().clone(),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn config_is_validated() {
    assert!(IceConfig::default().validate().is_ok());
    let bad = IceConfig {
        ta: Duration::ZERO,
        ..IceConfig::default()
    };
    assert_eq!(bad.validate(), Err(IceError::InvalidConfig("ta")));
    let bad = IceConfig {
        disconnected_timeout: Duration::from_secs(40),
        ..IceConfig::default()
    };
    assert!(bad.validate().is_err());
    assert!(IceAgent::with_seed(bad, IceRole::Controlling, 1, epoch()).is_err());
    let mut a =
        IceAgent::with_seed(IceConfig::default(), IceRole::Controlling, 1, epoch()).unwrap();
    assert_eq!(
        a.set_remote_credentials("abc", "x"),
        Err(IceError::InvalidCredentials)
    );
    a.close();
    assert_eq!(a.connection_state(), IceConnectionState::Closed);
    assert!(a
        .add_local_candidate(addr("10.0.0.1:1"), Protocol::Udp)
        .is_err());
    assert_eq!(a.poll_timeout(), None);
}

mod hostile_input {
    use super::*;
    use proptest::prelude::*;

    /// Messages recorded from a real run, to mutate.
    fn recorded() -> Vec<Transmit> {
        let mut p = Pair::standard();
        let mut seen = Vec::new();
        for _ in 0..200 {
            p.collect_transmits();
            seen.extend(p.flight.iter().map(|f| f.2.clone()));
            p.step();
            if seen.len() > 40 {
                break;
            }
        }
        seen
    }

    proptest! {
        #![proptest_config(crate::testutil::proptest_config!("ice-agent"))]

        /// Arbitrary and mutated datagrams from anywhere never panic the
        /// agent, never move its deadline into the past, and never make it
        /// send more to an unvalidated address than it received from there.
        #[test]
        fn arbitrary_datagrams_are_harmless(
            ops in proptest::collection::vec(
                (any::<u16>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..64), 0u64..3000, any::<bool>()),
                1..40,
            )
        ) {
            let samples = recorded();
            prop_assert!(samples.len() > 10);
            let mut p = Pair::standard();
            p.run_until(Duration::from_secs(2), Pair::connected).unwrap();
            let mut now = p.now;
            for (pick, flips, noise, advance_ms, tcp) in ops {
                now += Duration::from_millis(advance_ms);
                let mut bytes = match samples.get(usize::from(pick) % (samples.len() + 1)) {
                    Some(t) => t.contents.clone(),
                    None => noise.clone(),
                };
                for (i, b) in noise.iter().take(usize::from(flips % 8)).enumerate() {
                    let at = (usize::from(*b) * 7 + i) % bytes.len().max(1);
                    if let Some(x) = bytes.get_mut(at) {
                        *x ^= b | 1;
                    }
                }
                let source = SocketAddr::from(([10, 0, 0, 2 + (pick % 3) as u8], 2000));
                let r = Receive {
                    proto: if tcp { Protocol::Tcp } else { Protocol::Udp },
                    source,
                    destination: addr("10.0.0.1:1000"),
                    contents: &bytes,
                };
                let validated = p.a.is_validated(source, r.destination);
                p.a.handle_receive(now, r);
                while let Some(t) = p.a.poll_transmit() {
                    if t.destination == source && !validated {
                        prop_assert!(t.contents.len() <= bytes.len() + 2, "amplification");
                    }
                }
                if let Some(at) = p.a.poll_timeout() {
                    prop_assert!(at >= p.a.now, "deadline in the past after a receive");
                }
                p.a.handle_timeout(now);
                while p.a.poll_transmit().is_some() {}
                while p.a.poll_event().is_some() {}
                if let Some(at) = p.a.poll_timeout() {
                    prop_assert!(at > now, "deadline {at:?} not after handle_timeout({now:?})");
                }
            }
        }
    }
}

#[test]
fn checks_are_paced_by_ta_and_retransmitted_with_the_rfc_8445_rto() {
    let now = epoch();
    let mut a = IceAgent::with_seed(IceConfig::default(), IceRole::Controlling, 5, now).unwrap();
    a.add_local_candidate(addr("10.0.0.1:1000"), Protocol::Udp)
        .unwrap();
    a.set_remote_credentials("abcd", "0123456789012345678901")
        .unwrap();
    // Twelve remotes nobody answers, each its own foundation (own IP), so
    // all twelve pairs start Waiting.
    for i in 0..12u8 {
        a.add_remote_candidate(Candidate::host(
            SocketAddr::from(([10, 0, 1, 1 + i], 3000)),
            Protocol::Udp,
        ));
    }
    // A thirteenth sharing a foundation with the first stays Frozen behind
    // it (RFC 8445 §6.1.4.2) while that one is In-Progress.
    a.add_remote_candidate(Candidate::host(addr("10.0.1.1:3001"), Protocol::Udp));
    let mut sent: Vec<(Duration, SocketAddr, Vec<u8>)> = Vec::new();
    let mut t = now;
    while t - now < Duration::from_secs(2) {
        a.handle_timeout(t);
        while let Some(tx) = a.poll_transmit() {
            sent.push((t - now, tx.destination, tx.contents));
        }
        t = a.poll_timeout().unwrap();
    }
    // New checks: one every Ta = 50 ms, never two at once.
    let mut firsts: Vec<(Duration, SocketAddr)> = Vec::new();
    for (at, dest, bytes) in &sent {
        let tid = StunMessage::parse(bytes).unwrap().transaction_id();
        let first = sent
            .iter()
            .find(|s| StunMessage::parse(&s.2).unwrap().transaction_id() == tid)
            .unwrap();
        if first.0 == *at {
            firsts.push((*at, *dest));
        }
    }
    assert_eq!(firsts.len(), 12);
    assert!(!firsts.iter().any(|f| f.1 == addr("10.0.1.1:3001")));
    for (i, w) in firsts.windows(2).enumerate() {
        assert_eq!(w[1].0 - w[0].0, Duration::from_millis(50), "check {i}");
    }
    // RFC 8445 §14.3: RTO = MAX(500 ms, Ta * (Waiting + In-Progress)):
    // twelve pairs Waiting or In-Progress whenever a check starts, 600 ms.
    let retransmits_of = |dest: SocketAddr| -> Vec<Duration> {
        sent.iter().filter(|s| s.1 == dest).map(|s| s.0).collect()
    };
    let first = retransmits_of(firsts[0].1);
    assert_eq!(first[1] - first[0], Duration::from_millis(600));
    assert_eq!(
        first[2] - first[1],
        Duration::from_millis(1200),
        "RTO doubles"
    );
    let last = retransmits_of(firsts[11].1);
    assert_eq!(last[1] - last[0], Duration::from_millis(600));
    // Identical bytes on retransmission (RFC 8489 §6.2.1).
    let same: Vec<_> = sent
        .iter()
        .filter(|s| s.1 == firsts[0].1)
        .map(|s| &s.2)
        .collect();
    assert!(same.windows(2).all(|w| w[0] == w[1]));
    // Each check carries what RFC 8445 §7.2.2 requires.
    let msg = StunMessage::parse(&sent[0].2).unwrap();
    assert_eq!(
        msg.username().unwrap(),
        format!("abcd:{}", a.local_credentials().ufrag)
    );
    assert_eq!(
        msg.priority(),
        Some(a.local_candidates()[0].prflx_priority())
    );
    assert!(msg.ice_controlling().is_some());
    assert!(msg.has_fingerprint());
    assert_eq!(
        msg.check_integrity(b"0123456789012345678901"),
        stun::Integrity::Valid
    );
}

#[test]
fn debug_output_does_not_leak_the_password() {
    let mut p = Pair::standard();
    p.a.handle_timeout(p.now);
    let theirs = p.b.local_credentials().pwd.clone();
    let ours = p.a.local_credentials().pwd.clone();
    let debug = format!("{:?}", p.a);
    assert!(
        debug.contains("Key(<redacted>)"),
        "a transaction is outstanding"
    );
    assert!(!debug.contains(&ours) && !debug.contains(&theirs));
    let numeric = format!("{:?}", theirs.as_bytes());
    assert!(!debug.contains(&numeric[1..numeric.len() - 1]));
    assert!(debug.contains(&p.a.local_credentials().ufrag));
}

#[test]
fn checking_gives_up_after_the_timeout_without_end_of_candidates() {
    // b never answers, and nobody signals end-of-candidates: the RFC 8838
    // rule alone would keep `checking` forever.
    let mut p = Pair::new(IceConfig::default(), IceConfig::default());
    p.a.add_local_candidate(addr("10.0.0.1:1000"), Protocol::Udp)
        .unwrap();
    p.b.add_local_candidate(addr("10.0.0.2:2000"), Protocol::Udp)
        .unwrap();
    let cb = p.b.local_credentials().clone();
    p.a.set_remote_credentials(&cb.ufrag, &cb.pwd).unwrap();
    p.drain_events();
    let to_a: Vec<IceEvent> = p.events_b.iter().map(|(_, e)| e.clone()).collect();
    for e in to_a {
        if let IceEvent::LocalCandidate(c) = e {
            p.a.add_remote_candidate(c);
        }
    }
    p.cut = true;
    p.drain_events();
    assert_eq!(p.a.connection_state(), IceConnectionState::Checking);
    let took = p
        .run_until(Duration::from_secs(120), |p| {
            p.a.connection_state() == IceConnectionState::Failed
        })
        .expect("ICE gives up");
    let timeout = IceConfig::default().checking_timeout;
    assert_eq!(timeout, DEFAULT_ICE_CHECKING_TIMEOUT);
    assert!(took >= timeout, "{took:?}");
    assert!(took <= timeout + Duration::from_millis(100), "{took:?}");
    assert_eq!(p.a.stats().checking_timeouts, 1);
    // Nothing more is sent and no timer stays armed.
    while p.a.poll_transmit().is_some() {}
    assert_eq!(p.a.poll_timeout(), None);
}

#[test]
fn error_responses_are_rate_limited_per_source() {
    let mut p = Pair::standard();
    let now = p.now;
    let bad = check_from_b(
        &p,
        &[Attribute::Priority(1), Attribute::IceControlled(1)],
        "wrong-password-xxxxxxxxxx",
    );
    let mut answered = 0;
    for port in 0..100u16 {
        // One source address (any port): one bucket.
        p.a.handle_receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: SocketAddr::new(addr("192.0.2.9:1").ip(), 1000 + port),
                destination: addr("10.0.0.1:1000"),
                contents: &bad,
            },
        );
        while p.a.poll_transmit().is_some() {
            answered += 1;
        }
    }
    assert_eq!(answered, ERROR_RESPONSES_BURST as usize);
    assert_eq!(
        p.a.stats().error_responses_limited,
        100 - u64::from(ERROR_RESPONSES_BURST)
    );
    // Another address is answered.
    p.a.handle_receive(
        now,
        Receive {
            proto: Protocol::Udp,
            source: addr("192.0.2.10:1000"),
            destination: addr("10.0.0.1:1000"),
            contents: &bad,
        },
    );
    assert!(p.a.poll_transmit().is_some());
}

#[test]
fn the_error_response_burst_is_configurable() {
    let config = IceConfig {
        error_responses_burst: 2,
        error_responses_per_second: 1,
        ..IceConfig::default()
    };
    let mut p = Pair::new(config, IceConfig::default());
    p.a.add_local_candidate(addr("10.0.0.1:1000"), Protocol::Udp)
        .unwrap();
    let bad = check_from_b(&p, &[Attribute::Priority(1)], "wrong-password-xxxxxxxxxx");
    let mut answered = 0;
    for second in 0..3u64 {
        for _ in 0..10 {
            p.a.handle_receive(
                p.now + Duration::from_secs(second),
                Receive {
                    proto: Protocol::Udp,
                    source: addr("192.0.2.9:1000"),
                    destination: addr("10.0.0.1:1000"),
                    contents: &bad,
                },
            );
            while p.a.poll_transmit().is_some() {
                answered += 1;
            }
        }
    }
    // A burst of 2, then 1 per second.
    assert_eq!(answered, 2 + 1 + 1);
}

#[test]
fn consent_checks_ride_on_the_peers_within_four_to_six_seconds() {
    let mut p = Pair::standard();
    p.run_until(Duration::from_secs(5), Pair::connected)
        .expect("connects");
    let start = p.now;
    let (mut times_a, mut times_b) = (Vec::new(), Vec::new());
    let (mut sent_a, mut sent_b) = (
        p.a.stats().consent_requests_sent,
        p.b.stats().consent_requests_sent,
    );
    while p.now - start < Duration::from_secs(120) {
        p.step();
        let (a, b) = (
            p.a.stats().consent_requests_sent,
            p.b.stats().consent_requests_sent,
        );
        if a > sent_a {
            times_a.push(p.now);
        }
        if b > sent_b {
            times_b.push(p.now);
        }
        (sent_a, sent_b) = (a, b);
    }
    // RFC 7675 §5.1: every gap between one side's checks stays within
    // 0.8..1.2 times the 5 s period.
    for times in [&times_a, &times_b] {
        for w in times.windows(2) {
            let gap = w[1] - w[0];
            assert!(
                (Duration::from_secs(4)..=Duration::from_secs(6)).contains(&gap),
                "{gap:?}"
            );
        }
    }
    // Most checks go as the answer to the peer's (one delay later) instead
    // of on a timer of their own.
    let rides = |own: &[Instant], peer: &[Instant]| {
        own.iter()
            .filter(|t| peer.iter().any(|q| **t == *q + p.delay))
            .count()
    };
    let riding = rides(&times_a, &times_b) + rides(&times_b, &times_a);
    let total = times_a.len() + times_b.len();
    assert!(riding * 5 >= total * 2, "{riding} of {total} rode");
}

#[test]
fn ipv6_pairs_connect_and_keep_consent() {
    // The success response is written in a buffer sized for the largest
    // XOR-MAPPED-ADDRESS (IPv6): checks and consent work over IPv6.
    let mut p = Pair::with_hosts("[2001:db8::1]:1000", "[2001:db8::2]:2000");
    p.run_until(Duration::from_secs(5), Pair::connected)
        .expect("connects");
    let sent = p.a.stats().consent_requests_sent;
    p.run_until(Duration::from_secs(30), |_| false);
    assert!(p.connected());
    assert!(p.a.stats().consent_requests_sent >= sent + 4);
    assert_eq!(p.a.stats().stun_dropped + p.b.stats().stun_dropped, 0);
}
