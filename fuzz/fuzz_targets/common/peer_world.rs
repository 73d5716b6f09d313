//! The world both peer fuzz targets drive (`peer_inputs`, `peer_session`):
//! two connected `PeerConnection`s and the operations on them. Included
//! with `#[path]` by each target.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use eddy::{
    ChannelId, Configuration, DataChannelInit, Event, Input, Output, PeerConnection, Protocol,
    Receive, Transmit,
};

const A: &str = "127.0.0.1:1000";
const B: &str = "127.0.0.1:2000";
const STRANGER: &str = "127.0.0.9:9";
/// Largest datagram an operation carries (an Ethernet MTU).
const MTU: usize = 1500;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("literal")
}

#[derive(Debug, Arbitrary)]
pub enum Side {
    A,
    B,
}

#[derive(Debug, Arbitrary)]
pub enum Op {
    /// A datagram to B, from A's address or a stranger's.
    Datagram {
        from_peer: bool,
        tcp: bool,
        bytes: Vec<u8>,
    },
    /// Flip bits of the next datagram between the peers.
    Mangle { offset: u16, xor: u8 },
    /// Drop the next datagram between the peers.
    Drop,
    /// Deliver the next datagram twice.
    Duplicate,
    /// Time passes (0 = an input at the same instant).
    Tick { ms: u16 },
    /// An input stamped earlier than the last (a clock going backwards).
    Backwards { ms: u16 },
    /// A new channel, maybe sending at once, maybe closing.
    Open {
        side: Side,
        ordered: bool,
        max_retransmits: Option<u8>,
        negotiated: Option<u8>,
        close: bool,
    },
    /// A message on an existing channel (index among the side's open ones).
    Send {
        side: Side,
        channel: u8,
        text: bool,
        size: u16,
    },
    /// Close a channel.
    CloseChannel { side: Side, channel: u8 },
    /// Offer/answer again, with an ICE restart when asked.
    Renegotiate { restart: bool, by_b: bool },
    /// A remote description that is garbage, or an answer out of turn.
    BadRemote { sdp: String },
    /// Close a whole connection.
    Close { side: Side },
}

pub struct World {
    a: PeerConnection,
    b: PeerConnection,
    now: Instant,
    mangle: Option<(u16, u8)>,
    drop_next: bool,
    duplicate_next: bool,
    /// Channels each side knows, and what B's reliable ordered channels
    /// must deliver: (A's channel label, next sequence number).
    channels: [Vec<ChannelId>; 2],
    sent: Vec<(String, u32)>,
    received: Vec<(String, u32)>,
}

fn give(pc: &mut PeerConnection, now: Instant, t: &Transmit) {
    let _ = pc.handle_input(Input::Receive(
        now,
        Receive {
            proto: t.proto,
            source: t.source,
            destination: t.destination,
            contents: &t.contents,
        },
    ));
}

/// The start of every run's clock: the same `Instant` for the whole
/// process, so two runs of one input are the same run.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    #[allow(clippy::disallowed_methods)]
    *EPOCH.get_or_init(Instant::now)
}

/// The two peers' certificates, made once per process from fixed seeds.
pub fn certificates() -> Option<&'static (eddy::Certificate, eddy::Certificate)> {
    static CERTS: OnceLock<Option<(eddy::Certificate, eddy::Certificate)>> = OnceLock::new();
    CERTS
        .get_or_init(|| {
            Some((
                eddy::fuzzing::seeded_certificate(1)?,
                eddy::fuzzing::seeded_certificate(2)?,
            ))
        })
        .as_ref()
}

impl World {
    /// Whether the pair is still connected (a session target rebuilds it
    /// when not).
    pub fn connected(&self) -> bool {
        self.a.connection_state() == eddy::PeerConnectionState::Connected
            && self.b.connection_state() == eddy::PeerConnectionState::Connected
    }

    pub fn new() -> Option<Self> {
        let now = epoch();
        let (ca, cb) = certificates()?;
        let config = |seed, cert: &eddy::Certificate| {
            let mut c = Configuration::default().with_seed(seed);
            c.certificates = vec![cert.clone()];
            c
        };
        let mut a = PeerConnection::new(config(1, ca), now).ok()?;
        let mut b = PeerConnection::new(config(2, cb), now).ok()?;
        a.add_local_candidate(addr(A), Protocol::Udp).ok()?;
        a.end_of_local_candidates();
        b.add_local_candidate(addr(B), Protocol::Udp).ok()?;
        b.end_of_local_candidates();
        let first = a
            .create_data_channel("a0", &DataChannelInit::default())
            .ok()?;
        let offer = a.create_offer().ok()?;
        a.set_local_description(offer).ok()?;
        b.set_remote_description(a.local_description()?.clone())
            .ok()?;
        let answer = b.create_answer().ok()?;
        b.set_local_description(answer).ok()?;
        a.set_remote_description(b.local_description()?.clone())
            .ok()?;
        let mut w = Self {
            a,
            b,
            now,
            mangle: None,
            drop_next: false,
            duplicate_next: false,
            channels: [vec![first], Vec::new()],
            sent: vec![("a0".into(), 0)],
            received: Vec::new(),
        };
        for _ in 0..10 {
            w.tick(20);
        }
        Some(w)
    }

    fn pc(&mut self, side: &Side) -> &mut PeerConnection {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    /// Moves datagrams between the peers until both are quiet (bounded).
    fn pump(&mut self) {
        for _ in 0..30 {
            let mut moved = false;
            for side in [Side::A, Side::B] {
                for _ in 0..100 {
                    let output = self.pc(&side).poll_output();
                    match output {
                        Output::Transmit(t) => {
                            moved = true;
                            self.deliver(&side, t);
                        }
                        Output::Event(event) => {
                            moved = true;
                            self.on_event(&side, event);
                        }
                        Output::Timeout(_) => break,
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn deliver(&mut self, from: &Side, mut t: Transmit) {
        if std::mem::take(&mut self.drop_next) {
            return;
        }
        if let Some((offset, xor)) = self.mangle.take() {
            if !t.contents.is_empty() {
                let i = usize::from(offset) % t.contents.len();
                t.contents[i] ^= xor.max(1);
            }
        }
        let now = self.now;
        let twice = std::mem::take(&mut self.duplicate_next);
        let to = match from {
            Side::A => &mut self.b,
            Side::B => &mut self.a,
        };
        give(to, now, &t);
        if twice {
            give(to, now, &t);
        }
    }

    fn on_event(&mut self, side: &Side, event: Event) {
        match (side, event) {
            (Side::B, Event::DataChannel(id)) => self.channels[1].push(id),
            (Side::A, Event::DataChannel(id)) => self.channels[0].push(id),
            (Side::B, Event::ChannelMessage(id, m)) => {
                // A's reliable ordered channels carry "label:seq" in order.
                let Some(dc) = self.b.data_channel(id) else {
                    return;
                };
                if !dc.ordered()
                    || dc.max_retransmits().is_some()
                    || dc.max_packet_life_time().is_some()
                {
                    return;
                }
                let label = dc.label().to_owned();
                let Some(seq) = std::str::from_utf8(&m.data)
                    .ok()
                    .and_then(|s| s.split(':').nth(1))
                    .and_then(|n| n.parse::<u32>().ok())
                else {
                    return;
                };
                match self.received.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, next)) => {
                        assert!(seq >= *next, "channel {label}: message {seq} after {next}");
                        *next = seq + 1;
                    }
                    None => self.received.push((label, seq + 1)),
                }
            }
            _ => {}
        }
    }

    pub fn tick(&mut self, ms: u64) {
        self.now += Duration::from_millis(ms);
        let _ = self.a.handle_input(Input::Timeout(self.now));
        let _ = self.b.handle_input(Input::Timeout(self.now));
        self.pump();
    }

    pub fn apply(&mut self, op: Op) {
        match op {
            Op::Datagram {
                from_peer,
                tcp,
                mut bytes,
            } => {
                bytes.truncate(MTU);
                let t = Transmit {
                    proto: if tcp { Protocol::Tcp } else { Protocol::Udp },
                    source: addr(if from_peer { A } else { STRANGER }),
                    destination: addr(B),
                    contents: bytes,
                };
                give(&mut self.b, self.now, &t);
                self.pump();
            }
            Op::Mangle { offset, xor } => {
                self.mangle = Some((offset, xor));
                self.tick(1);
            }
            Op::Drop => {
                self.drop_next = true;
                self.tick(1);
            }
            Op::Duplicate => {
                self.duplicate_next = true;
                self.tick(1);
            }
            Op::Tick { ms } => self.tick(u64::from(ms)),
            Op::Backwards { ms } => {
                let earlier = self.now.checked_sub(Duration::from_millis(u64::from(ms)));
                let at = earlier.unwrap_or(self.now);
                let _ = self.b.handle_input(Input::Timeout(at));
                self.pump();
            }
            Op::Open {
                side,
                ordered,
                max_retransmits,
                negotiated,
                close,
            } => {
                // Unique labels: A's "a<n>", B's "b<n>"; only A's reliable
                // ordered channels are checked for order.
                let i = usize::from(matches!(side, Side::B));
                let label = format!("{}{}", ["a", "b"][i], self.channels[i].len());
                let init = DataChannelInit {
                    ordered,
                    max_retransmits: max_retransmits.map(u16::from),
                    negotiated: negotiated.is_some(),
                    id: negotiated.map(u16::from),
                    ..DataChannelInit::default()
                };
                let reliable = ordered && max_retransmits.is_none() && negotiated.is_none();
                if let Ok(id) = self.pc(&side).create_data_channel(&label, &init) {
                    self.channels[i].push(id);
                    if reliable && i == 0 {
                        self.sent.push((label, 0));
                    }
                    if close {
                        if let Some(mut dc) = self.pc(&side).data_channel(id) {
                            dc.close();
                        }
                    }
                }
                self.pump();
            }
            Op::Send {
                side,
                channel,
                text,
                size,
            } => {
                let i = usize::from(matches!(side, Side::B));
                let Some(&id) =
                    self.channels[i].get(usize::from(channel) % self.channels[i].len().max(1))
                else {
                    return;
                };
                let mut seq_for = None;
                if i == 0 {
                    if let Some(dc) = self.a.data_channel(id) {
                        let label = dc.label().to_owned();
                        seq_for = self.sent.iter().position(|(l, _)| *l == label);
                        // B's channels seen from A carry no sequence.
                        if !label.starts_with('a') {
                            seq_for = None;
                        }
                    }
                }
                let body = match seq_for.and_then(|k| self.sent.get(k)) {
                    Some((label, seq)) => format!("{label}:{seq}"),
                    None => String::new(),
                };
                let Some(mut dc) = self.pc(&side).data_channel(id) else {
                    return;
                };
                let mut payload = body.into_bytes();
                payload.resize(payload.len().max(usize::from(size) % 70_000), b'x');
                let ok = if text {
                    String::from_utf8(payload).is_ok_and(|s| dc.send_text(&s).is_ok())
                } else {
                    dc.send(&payload).is_ok()
                };
                if let (true, Some(k)) = (ok, seq_for) {
                    self.sent[k].1 += 1;
                }
                self.pump();
            }
            Op::CloseChannel { side, channel } => {
                let i = usize::from(matches!(side, Side::B));
                if let Some(&id) =
                    self.channels[i].get(usize::from(channel) % self.channels[i].len().max(1))
                {
                    if let Some(mut dc) = self.pc(&side).data_channel(id) {
                        dc.close();
                    }
                }
                self.pump();
            }
            Op::Renegotiate { restart, by_b } => {
                let (offerer, answerer) = if by_b {
                    (&mut self.b, &mut self.a)
                } else {
                    (&mut self.a, &mut self.b)
                };
                if restart {
                    offerer.restart_ice();
                }
                if let Ok(offer) = offerer.create_offer() {
                    if offerer.set_local_description(offer.clone()).is_ok()
                        && answerer.set_remote_description(offer).is_ok()
                    {
                        if let Ok(answer) = answerer.create_answer() {
                            let _ = answerer.set_local_description(answer.clone());
                            let _ = offerer.set_remote_description(answer);
                        }
                    }
                }
                self.pump();
            }
            Op::BadRemote { sdp } => {
                let _ = self.b.set_remote_description(eddy::SessionDescription {
                    sdp_type: eddy::SdpType::Offer,
                    sdp,
                });
                self.pump();
            }
            Op::Close { side } => {
                self.pc(&side).close();
                self.pump();
            }
        }
    }
}
