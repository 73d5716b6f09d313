//! A TURN server for the simulator (feature `sim`, RFC 8656 over UDP):
//! allocations with long-term credentials (401 with REALM and NONCE, 438
//! once a nonce is older than [`TurnServerConfig::nonce_lifetime`]),
//! Refresh (lifetime 0 deletes), CreatePermission, ChannelBind,
//! Send/Data indications and ChannelData, with lifetimes enforced on
//! use. Enough to test a client; a `garbage` switch makes it answer every
//! datagram with nonsense.
//!
//! It listens on [`TurnServerConfig::port`] of its node's address and
//! relays from ports 49152 and up of the same address.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::Node;
use crate::event::Output;
use crate::io::{Input, Protocol, Transmit};
use crate::stun::{
    long_term_key, Attribute, Class, EncodeError, ErrorCode, Integrity, MessageWriter, Method,
    StunMessage, TransactionId,
};
use crate::turn::channel_data;

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct TurnServerConfig {
    /// The REALM. Defaults to `"eddy"`.
    pub realm: String,
    /// Usernames and passwords.
    pub users: Vec<(String, String)>,
    /// The listening port. Defaults to 3478.
    pub port: u16,
    /// Lifetime of an allocation when the request names none, and the
    /// most granted. Defaults to 600 s and 3600 s (RFC 8656 §7.2).
    pub default_lifetime: u32,
    /// The most lifetime granted.
    pub max_lifetime: u32,
    /// A nonce older than this is stale (438). Defaults to 5 minutes.
    pub nonce_lifetime: Duration,
    /// Answer every datagram with garbage instead.
    pub garbage: bool,
}

impl Default for TurnServerConfig {
    fn default() -> Self {
        Self {
            realm: "eddy".into(),
            users: Vec::new(),
            port: 3478,
            default_lifetime: 600,
            max_lifetime: 3600,
            nonce_lifetime: Duration::from_secs(300),
            garbage: false,
        }
    }
}

/// What the server did, for tests to check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TurnServerStats {
    /// Allocations made.
    pub allocations: u64,
    /// Restarts ([`TurnServer::restart`]).
    pub restarts: u64,
    /// Allocations deleted by a Refresh with lifetime 0.
    pub deallocations: u64,
    /// Refreshes with a non-zero lifetime.
    pub refreshes: u64,
    /// CreatePermission requests granted.
    pub permissions: u64,
    /// ChannelBind requests granted.
    pub channel_binds: u64,
    /// 401 responses.
    pub unauthorized: u64,
    /// 438 responses.
    pub stale_nonces: u64,
    /// Datagrams relayed to peers (from Send indications).
    pub sent_from_send: u64,
    /// Datagrams relayed to peers (from ChannelData).
    pub sent_from_channel: u64,
    /// Datagrams relayed to clients as Data indications.
    pub data_indications: u64,
    /// Datagrams relayed to clients as ChannelData.
    pub channel_data: u64,
    /// Datagrams dropped (no allocation, permission or channel; expired;
    /// malformed).
    pub dropped: u64,
}

#[derive(Debug)]
struct Allocation {
    client: SocketAddr,
    listen: SocketAddr,
    relayed: SocketAddr,
    tid: TransactionId,
    expires: Instant,
    permissions: Vec<(IpAddr, Instant)>,
    channels: Vec<(u16, SocketAddr, Instant)>,
}

/// A TURN server node.
#[derive(Debug)]
pub struct TurnServer {
    config: TurnServerConfig,
    allocations: Vec<Allocation>,
    next_port: u16,
    out: VecDeque<Transmit>,
    /// Clients that came over TCP (RFC 8656 §3.1): answered on their
    /// connection, ChannelData padded (§12.5). At most 1024.
    tcp_clients: Vec<SocketAddr>,
    start: Option<Instant>,
    garbage_state: u64,
    /// What the server did.
    pub stats: TurnServerStats,
}

/// RFC 8656 §9: permissions last 300 seconds.
const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
/// RFC 8656 §12: channel bindings last 10 minutes.
const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);

impl TurnServer {
    /// A server with `config`.
    pub fn new(config: TurnServerConfig) -> Self {
        Self {
            config,
            allocations: Vec::new(),
            next_port: 49152,
            out: VecDeque::new(),
            tcp_clients: Vec::new(),
            start: None,
            garbage_state: 0x9e37_79b9_7f4a_7c15,
            stats: TurnServerStats::default(),
        }
    }

    /// A server with one user.
    pub fn with_user(username: &str, password: &str) -> Self {
        Self::new(TurnServerConfig {
            users: vec![(username.into(), password.into())],
            ..TurnServerConfig::default()
        })
    }

    /// The server restarts: every allocation, permission and channel is
    /// forgotten and the nonces change (a new boot), as a real server's
    /// restart or failover does. Clients learn it from the 437 (Allocation
    /// Mismatch) answers to their next requests.
    pub fn restart(&mut self) {
        self.allocations.clear();
        self.start = None;
        self.stats.restarts += 1;
    }

    /// Clients that reached the server over TCP.
    pub fn tcp_clients(&self) -> usize {
        self.tcp_clients.len()
    }

    /// Live allocations.
    pub fn allocations(&self) -> usize {
        self.allocations.len()
    }

    /// Live permissions and channels of all allocations.
    pub fn permissions_and_channels(&self) -> (usize, usize) {
        self.allocations.iter().fold((0, 0), |(p, c), a| {
            (p + a.permissions.len(), c + a.channels.len())
        })
    }

    fn nonce(&self, now: Instant) -> String {
        let start = self.start.unwrap_or(now);
        let epoch =
            now.duration_since(start).as_secs() / self.config.nonce_lifetime.as_secs().max(1);
        format!("nonce-{epoch}")
    }

    fn push(&mut self, source: SocketAddr, destination: SocketAddr, contents: Vec<u8>) {
        let proto = if self.tcp_clients.contains(&destination) {
            Protocol::Tcp
        } else {
            Protocol::Udp
        };
        self.out.push_back(Transmit {
            proto,
            source,
            destination,
            contents,
        });
    }

    fn garbage(&mut self, r: &crate::io::Receive<'_>) {
        // xorshift64: deterministic nonsense.
        let mut bytes = Vec::new();
        let n = 4 + (self.garbage_state % 60) as usize;
        for _ in 0..n {
            self.garbage_state ^= self.garbage_state << 13;
            self.garbage_state ^= self.garbage_state >> 7;
            self.garbage_state ^= self.garbage_state << 17;
            bytes.push(self.garbage_state as u8);
        }
        // Some of it looks like STUN answering the request, some like
        // ChannelData.
        match self.garbage_state % 3 {
            0 if r.contents.len() >= 20 && bytes.len() >= 20 => {
                bytes[..20].copy_from_slice(&r.contents[..20]);
                bytes[0] = 0x01;
                bytes[1] = 0x13;
            }
            1 => bytes[0] = 0x40 | (bytes[0] & 0x0f),
            _ => {}
        }
        self.push(r.destination, r.source, bytes);
    }

    /// From a client to the listening port.
    fn client_datagram(&mut self, now: Instant, r: &crate::io::Receive<'_>) {
        if let Ok(msg) = StunMessage::parse(r.contents) {
            match msg.class() {
                Class::Request => self.request(now, r, &msg),
                Class::Indication if msg.method() == Method::SEND => {
                    self.send_indication(now, r, &msg)
                }
                _ => self.stats.dropped += 1,
            }
            return;
        }
        let Ok((number, data)) = channel_data::parse(r.contents) else {
            self.stats.dropped += 1;
            return;
        };
        let Some(a) = self.allocation(r.source, now) else {
            self.stats.dropped += 1;
            return;
        };
        let a = &self.allocations[a];
        let peer = a
            .channels
            .iter()
            .find(|(n, _, until)| *n == number && *until > now)
            .map(|(_, p, _)| *p)
            .filter(|p| {
                a.permissions
                    .iter()
                    .any(|(ip, until)| *ip == p.ip() && *until > now)
            });
        match peer {
            Some(p) => {
                let relayed = a.relayed;
                self.stats.sent_from_channel += 1;
                self.push(relayed, p, data.to_vec());
            }
            None => self.stats.dropped += 1,
        }
    }

    fn allocation(&mut self, client: SocketAddr, now: Instant) -> Option<usize> {
        self.allocations.retain(|a| a.expires > now);
        self.allocations.iter().position(|a| a.client == client)
    }

    fn send_indication(&mut self, now: Instant, r: &crate::io::Receive<'_>, msg: &StunMessage<'_>) {
        let peer = msg.attributes().find_map(|a| match a {
            Attribute::XorPeerAddress(p) => Some(p),
            _ => None,
        });
        let data = msg.attributes().find_map(|a| match a {
            Attribute::Data(d) => Some(d),
            _ => None,
        });
        let (Some(peer), Some(data), Some(i)) = (peer, data, self.allocation(r.source, now)) else {
            self.stats.dropped += 1;
            return;
        };
        let a = &self.allocations[i];
        if !a
            .permissions
            .iter()
            .any(|(ip, until)| *ip == peer.ip() && *until > now)
        {
            self.stats.dropped += 1;
            return;
        }
        let relayed = a.relayed;
        self.stats.sent_from_send += 1;
        self.push(relayed, peer, data.to_vec());
    }

    /// From a peer to a relayed address.
    fn peer_datagram(&mut self, now: Instant, r: &crate::io::Receive<'_>) {
        self.allocations.retain(|a| a.expires > now);
        let Some(a) = self.allocations.iter().find(|a| a.relayed == r.destination) else {
            self.stats.dropped += 1;
            return;
        };
        // RFC 8656 §10.3: data from a peer without a permission is dropped.
        if !a
            .permissions
            .iter()
            .any(|(ip, until)| *ip == r.source.ip() && *until > now)
        {
            self.stats.dropped += 1;
            return;
        }
        let (listen, client) = (a.listen, a.client);
        let channel = a
            .channels
            .iter()
            .find(|(_, p, until)| *p == r.source && *until > now)
            .map(|(n, ..)| *n);
        let out = match channel {
            Some(n) => {
                self.stats.channel_data += 1;
                let stream = self.tcp_clients.contains(&client);
                let mut v = vec![0; channel_data::framed_len(r.contents.len(), stream)];
                channel_data::write(n, r.contents, stream, &mut v)
                    .ok()
                    .map(|_| v)
            }
            None => {
                self.stats.data_indications += 1;
                let mut buf = vec![0u8; r.contents.len() + 64];
                let n = (|| {
                    let mut w = MessageWriter::new(
                        &mut buf,
                        Class::Indication,
                        Method::DATA,
                        TransactionId([7; 12]),
                    )?;
                    w.add(&Attribute::XorPeerAddress(r.source))?;
                    w.add(&Attribute::Data(r.contents))?;
                    w.finish(false)
                })();
                n.ok().map(|n| {
                    buf.truncate(n);
                    buf
                })
            }
        };
        if let Some(out) = out {
            self.push(listen, client, out);
        }
    }

    fn request(&mut self, now: Instant, r: &crate::io::Receive<'_>, msg: &StunMessage<'_>) {
        let (method, tid) = (msg.method(), msg.transaction_id());
        let Some(key) = self.authenticate(now, r, msg) else {
            return;
        };
        let existing = self.allocation(r.source, now);
        match (method, existing) {
            (Method::ALLOCATE, _) => self.allocate(now, r, msg, &key, existing),
            (_, None) => {
                self.reply_error(r, method, tid, 437, "Allocation Mismatch", &[], Some(&key));
            }
            (Method::REFRESH, Some(i)) => {
                let life = self.lifetime(msg);
                if life == 0 {
                    self.allocations.remove(i);
                    self.stats.deallocations += 1;
                } else {
                    self.allocations[i].expires = now + Duration::from_secs(u64::from(life));
                    self.stats.refreshes += 1;
                }
                self.reply_ok(r, method, tid, &[Attribute::Lifetime(life)], &key);
            }
            (Method::CREATE_PERMISSION, Some(i)) => {
                let peers = peers(msg);
                if peers.is_empty() {
                    self.reply_error(r, method, tid, 400, "Bad Request", &[], Some(&key));
                    return;
                }
                for p in peers {
                    permit(&mut self.allocations[i], p.ip(), now);
                }
                self.stats.permissions += 1;
                self.reply_ok(r, method, tid, &[], &key);
            }
            (Method::CHANNEL_BIND, Some(i)) => self.channel_bind(now, r, msg, &key, i),
            _ => self.reply_error(r, method, tid, 400, "Bad Request", &[], Some(&key)),
        }
    }

    /// The long-term key of a request whose MESSAGE-INTEGRITY verifies and
    /// whose nonce is current; otherwise the error is sent and `None`.
    fn authenticate(
        &mut self,
        now: Instant,
        r: &crate::io::Receive<'_>,
        msg: &StunMessage<'_>,
    ) -> Option<[u8; 16]> {
        let (method, tid) = (msg.method(), msg.transaction_id());
        let nonce = self.nonce(now);
        let key = msg.username().and_then(|u| {
            self.config
                .users
                .iter()
                .find(|(name, _)| name == u)
                .map(|(name, pass)| long_term_key(name, &self.config.realm, pass))
        });
        let their_nonce = msg.attributes().find_map(|a| match a {
            Attribute::Nonce(n) => Some(n),
            _ => None,
        });
        // RFC 8489 §9.2.4: no MESSAGE-INTEGRITY, or it does not verify:
        // 401 with REALM and NONCE; a nonce that is not the current one:
        // 438 with a new one.
        let (code, reason) = match key.filter(|k| msg.check_integrity(k) == Integrity::Valid) {
            Some(key) if their_nonce == Some(nonce.as_str()) => return Some(key),
            Some(_) => {
                self.stats.stale_nonces += 1;
                (438, "Stale Nonce")
            }
            None => {
                self.stats.unauthorized += 1;
                (401, "Unauthorized")
            }
        };
        let realm = self.config.realm.clone();
        let attrs = [Attribute::Realm(&realm), Attribute::Nonce(&nonce)];
        self.reply_error(r, method, tid, code, reason, &attrs, None);
        None
    }

    /// The LIFETIME asked for, bounded; the default without one.
    fn lifetime(&self, msg: &StunMessage<'_>) -> u32 {
        msg.attributes()
            .find_map(|a| match a {
                Attribute::Lifetime(l) => Some(l),
                _ => None,
            })
            .unwrap_or(self.config.default_lifetime)
            .min(self.config.max_lifetime)
    }

    /// ALLOCATE (RFC 8656 §7.2): a retransmission gets the same answer, a
    /// new transaction from a client with an allocation 437, and only UDP
    /// relaying is offered.
    fn allocate(
        &mut self,
        now: Instant,
        r: &crate::io::Receive<'_>,
        msg: &StunMessage<'_>,
        key: &[u8; 16],
        existing: Option<usize>,
    ) {
        let (method, tid) = (msg.method(), msg.transaction_id());
        if let Some(i) = existing {
            let a = &self.allocations[i];
            if a.tid == tid {
                // A retransmission: the same answer.
                let (relayed, left) = (a.relayed, a.expires.duration_since(now).as_secs() as u32);
                let attrs = [
                    Attribute::XorRelayedAddress(relayed),
                    Attribute::Lifetime(left),
                    Attribute::XorMappedAddress(r.source),
                ];
                self.reply_ok(r, method, tid, &attrs, key);
            } else {
                self.reply_error(r, method, tid, 437, "Allocation Mismatch", &[], Some(key));
            }
            return;
        }
        let transport = msg.attributes().find_map(|a| match a {
            Attribute::RequestedTransport(t) => Some(t),
            _ => None,
        });
        if transport != Some(17) {
            let reason = "Unsupported Transport Protocol";
            self.reply_error(r, method, tid, 442, reason, &[], Some(key));
            return;
        }
        let life = self.lifetime(msg);
        let relayed = SocketAddr::new(r.destination.ip(), self.next_port);
        self.next_port = self.next_port.wrapping_add(1).max(49152);
        self.allocations.push(Allocation {
            client: r.source,
            listen: r.destination,
            relayed,
            tid,
            expires: now + Duration::from_secs(u64::from(life)),
            permissions: Vec::new(),
            channels: Vec::new(),
        });
        self.stats.allocations += 1;
        let attrs = [
            Attribute::XorRelayedAddress(relayed),
            Attribute::Lifetime(life),
            Attribute::XorMappedAddress(r.source),
        ];
        self.reply_ok(r, method, tid, &attrs, key);
    }

    /// CHANNEL-BIND on allocation `i` (RFC 8656 §12.2).
    fn channel_bind(
        &mut self,
        now: Instant,
        r: &crate::io::Receive<'_>,
        msg: &StunMessage<'_>,
        key: &[u8; 16],
        i: usize,
    ) {
        let (method, tid) = (msg.method(), msg.transaction_id());
        let number = msg.attributes().find_map(|a| match a {
            Attribute::ChannelNumber(n) => Some(n),
            _ => None,
        });
        let a = &mut self.allocations[i];
        let ok = match (number, peers(msg).first()) {
            (Some(n), Some(&p)) if channel_data::is_channel_number(n) => {
                // RFC 8656 §12.2: the number must not be bound to another
                // peer, nor the peer to another number.
                let clash = a
                    .channels
                    .iter()
                    .any(|(cn, cp, _)| (*cn == n) != (*cp == p));
                if !clash {
                    a.channels.retain(|(cn, ..)| *cn != n);
                    a.channels.push((n, p, now + CHANNEL_LIFETIME));
                    permit(a, p.ip(), now);
                }
                !clash
            }
            _ => false,
        };
        if ok {
            self.stats.channel_binds += 1;
            self.reply_ok(r, method, tid, &[], key);
        } else {
            self.reply_error(r, method, tid, 400, "Bad Request", &[], Some(key));
        }
    }

    fn reply_ok(
        &mut self,
        r: &crate::io::Receive<'_>,
        method: Method,
        tid: TransactionId,
        attrs: &[Attribute<'_>],
        key: &[u8],
    ) {
        self.reply(r, Class::Success, method, tid, attrs, Some(key));
    }

    #[allow(clippy::too_many_arguments)]
    fn reply_error(
        &mut self,
        r: &crate::io::Receive<'_>,
        method: Method,
        tid: TransactionId,
        code: u16,
        reason: &str,
        attrs: &[Attribute<'_>],
        key: Option<&[u8]>,
    ) {
        let mut all = vec![Attribute::ErrorCode(ErrorCode { code, reason })];
        all.extend_from_slice(attrs);
        self.reply(r, Class::Error, method, tid, &all, key);
    }

    fn reply(
        &mut self,
        r: &crate::io::Receive<'_>,
        class: Class,
        method: Method,
        tid: TransactionId,
        attrs: &[Attribute<'_>],
        key: Option<&[u8]>,
    ) {
        let mut buf = [0u8; 512];
        let n = (|| {
            let mut w = MessageWriter::new(&mut buf, class, method, tid)?;
            for a in attrs {
                w.add(a)?;
            }
            if let Some(k) = key {
                w.add_integrity(k)?;
            }
            w.finish(true)
        })();
        if let Ok::<usize, EncodeError>(n) = n {
            self.push(r.destination, r.source, buf[..n].to_vec());
        }
    }
}

/// The XOR-PEER-ADDRESS attributes of a request.
fn peers(msg: &StunMessage<'_>) -> Vec<SocketAddr> {
    msg.attributes()
        .filter_map(|a| match a {
            Attribute::XorPeerAddress(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// Installs or refreshes a permission.
fn permit(a: &mut Allocation, ip: IpAddr, now: Instant) {
    a.permissions.retain(|(p, until)| *p != ip && *until > now);
    a.permissions.push((ip, now + PERMISSION_LIFETIME));
}

impl Node for TurnServer {
    fn handle_input(&mut self, input: Input<'_>) {
        let now = input.time();
        self.start.get_or_insert(now);
        let Input::Receive(_, r) = input else {
            return;
        };
        if r.proto == Protocol::Tcp
            && r.destination.port() == self.config.port
            && !self.tcp_clients.contains(&r.source)
            && self.tcp_clients.len() < 1024
        {
            self.tcp_clients.push(r.source);
        }
        if r.proto != Protocol::Udp && !self.tcp_clients.contains(&r.source) {
            self.stats.dropped += 1;
            return;
        }
        if r.destination.port() == self.config.port {
            if self.config.garbage {
                self.garbage(&r);
            } else {
                self.client_datagram(now, &r);
            }
        } else {
            self.peer_datagram(now, &r);
        }
    }

    fn poll_output(&mut self) -> Output {
        match self.out.pop_front() {
            Some(t) => Output::Transmit(t),
            None => Output::Timeout(None),
        }
    }
}
