//! The TURN client of one allocation (RFC 8656): one TURN server reached
//! over UDP from one local socket. Allocation with long-term credentials
//! (RFC 8489 §9.2), refresh, deallocation, and the receive path; the
//! peers (permissions, channels, the send path) are in `peers.rs`.
//!
//! Sans-IO like every layer: [`TurnClient::handle_receive`] and
//! [`TurnClient::handle_timeout`] in, [`TurnClient::poll_transmit`],
//! [`TurnClient::poll_event`] and [`TurnClient::poll_timeout`] out.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::peers::{Channel, Permission};
use super::transaction::{Purpose, Tick, Transaction};
use super::{channel_data, TurnEvent, TurnStats, MAX_EVENTS, MAX_TRANSACTIONS, MAX_TRANSMITS};
use crate::io::{Protocol, Transmit};
use crate::rng::Rng;
use crate::stun::{
    self, long_term_key, Attribute, Class, ErrorCode, Integrity, MessageWriter, Method,
    StunMessage, TransactionId,
};

/// The LIFETIME eddy asks for, in seconds. RFC 8656 §7.2: the server's
/// default is "10 minutes" and it may grant less or more.
pub const REQUESTED_LIFETIME: u32 = 600;
/// How long before an allocation, permission or channel expires it is
/// refreshed (at half its lifetime when that is shorter).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The most 438 (Stale Nonce) retries in a row before giving up.
pub const MAX_STALE_NONCE_RETRIES: u32 = 3;
/// The error code reported when the server never answers. W3C
/// RTCPeerConnectionIceErrorEvent: "If no host candidate can reach the
/// server, errorCode will be set to the value 701 which is outside the STUN
/// error code range."
pub const UNREACHABLE: u16 = 701;
/// RFC 8656 §18.9: "437 (Allocation Mismatch)".
const ALLOCATION_MISMATCH: u16 = 437;
/// RFC 8656 §18.7 (REQUESTED-TRANSPORT): "the protocol number [...] 17
/// (UDP)".
const UDP: u8 = 17;

/// Where the allocation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Allocate sent, no relayed address yet.
    Allocating,
    /// The server granted a relayed address until `expires`.
    Allocated {
        relayed: SocketAddr,
        mapped: Option<SocketAddr>,
        expires: Instant,
    },
    /// Gave up (error reported); nothing more is sent.
    Failed,
    /// Closed by the owner (deallocated).
    Closed,
}

/// The long-term credential state (RFC 8489 §9.2): REALM and NONCE from
/// the server's 401, and the key derived from them.
#[derive(Clone, Default)]
pub(super) struct Auth {
    pub(super) username: String,
    pub(super) password: String,
    pub(super) realm: Option<String>,
    pub(super) nonce: Option<String>,
    pub(super) key: Option<[u8; 16]>,
    /// An Allocate with credentials was sent: another 401 means they are
    /// wrong.
    pub(super) tried: bool,
    pub(super) stale_retries: u32,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("username", &self.username)
            .field("realm", &self.realm)
            .field("key", &self.key.map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// A TURN client for one (server, local socket).
#[derive(Debug)]
pub struct TurnClient {
    pub(super) server: SocketAddr,
    pub(super) local: SocketAddr,
    /// UDP, or TCP (a stream: RFC 8656 §3.1, messages framed by their own
    /// lengths, ChannelData padded, requests not retransmitted).
    pub(super) proto: Protocol,
    /// TCP: bytes from the server not yet a whole message (bounded).
    pub(super) stream: Vec<u8>,
    /// `turns:`: the TLS session the stream runs in.
    pub(super) tls: Option<Box<super::tls::TlsClient>>,
    pub(super) auth: Auth,
    pub(super) state: State,
    /// When the allocation is refreshed next.
    pub(super) refresh_at: Option<Instant>,
    pub(super) transactions: Vec<Transaction>,
    pub(super) permissions: Vec<Permission>,
    pub(super) channels: Vec<Channel>,
    /// Data waiting for its peer's permission (bounded).
    pub(super) queued: VecDeque<(SocketAddr, Vec<u8>)>,
    pub(super) transmits: VecDeque<Transmit>,
    pub(super) events: VecDeque<TurnEvent>,
    pub(super) rng: Rng,
    pub(super) now: Instant,
    pub(super) deadline: Option<Instant>,
    pub(super) stats: TurnStats,
}

impl TurnClient {
    /// A client that sends its first Allocate (RFC 8656 §7.1) at `now`,
    /// from `local` to `server`, with long-term credentials
    /// `username`/`password` (over UDP; the tests' constructor).
    #[cfg(test)]
    pub(crate) fn new(
        server: SocketAddr,
        local: SocketAddr,
        username: &str,
        password: &str,
        rng: Rng,
        now: Instant,
    ) -> Self {
        Self::with_transport(server, local, Protocol::Udp, username, password, rng, now)
    }

    /// A client that sends its first Allocate (RFC 8656 §7.1) at `now`, from
    /// `local` to `server`, with long-term credentials, over `proto` to the
    /// server: UDP, or TCP (the runtime opens the connection with the first
    /// transmit, and gives back what the server sends on it as `Receive`s
    /// from the server to `local`, in whatever chunks).
    pub(crate) fn with_transport(
        server: SocketAddr,
        local: SocketAddr,
        proto: Protocol,
        username: &str,
        password: &str,
        rng: Rng,
        now: Instant,
    ) -> Self {
        Self::build(server, local, proto, None, username, password, rng, now)
    }

    /// [`with_transport`](Self::with_transport) over TLS on TCP (`turns:`):
    /// the server's certificate must name its IP and chain to the system's
    /// roots or one of `roots` (PEM). A TLS failure fails the allocation
    /// (code 701, as an unreachable server).
    pub(crate) fn with_tls(
        server: SocketAddr,
        local: SocketAddr,
        roots: &[Vec<u8>],
        username: &str,
        password: &str,
        rng: Rng,
        now: Instant,
    ) -> Self {
        match super::tls::TlsClient::new(server.ip(), roots) {
            Ok(tls) => Self::build(
                server,
                local,
                Protocol::Tls,
                Some(Box::new(tls)),
                username,
                password,
                rng,
                now,
            ),
            Err(e) => {
                let mut c = Self::build(
                    server,
                    local,
                    Protocol::Tls,
                    None,
                    username,
                    password,
                    rng,
                    now,
                );
                c.transmits.clear();
                c.fail(UNREACHABLE, &e.0);
                c
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        server: SocketAddr,
        local: SocketAddr,
        proto: Protocol,
        tls: Option<Box<super::tls::TlsClient>>,
        username: &str,
        password: &str,
        rng: Rng,
        now: Instant,
    ) -> Self {
        let mut c = Self {
            server,
            local,
            proto,
            tls,
            stream: Vec::new(),
            auth: Auth {
                username: username.to_owned(),
                password: password.to_owned(),
                ..Auth::default()
            },
            state: State::Allocating,
            refresh_at: None,
            transactions: Vec::new(),
            permissions: Vec::new(),
            channels: Vec::new(),
            queued: VecDeque::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            rng,
            now,
            deadline: None,
            stats: TurnStats::default(),
        };
        c.request(Purpose::Allocate);
        c.after_input();
        c
    }

    /// The TURN server's address.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// UDP or TCP to the server.
    pub fn proto(&self) -> Protocol {
        self.proto
    }

    /// The local socket the allocation is reached from.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The relayed transport address, while allocated.
    pub fn relayed(&self) -> Option<SocketAddr> {
        match self.state {
            State::Allocated { relayed, .. } => Some(relayed),
            _ => None,
        }
    }

    /// Whether the client gave up or was closed (no timers, sends nothing).
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Failed | State::Closed)
    }

    /// Brings the client's clock to `now` without waking it: requests that
    /// a [`send`](Self::send) starts are timed from it.
    pub fn touch(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    /// Counters.
    pub fn stats(&self) -> TurnStats {
        self.stats
    }

    /// The next datagram to send (from [`local`](Self::local) to the
    /// server).
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<TurnEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due; `None` once
    /// done. O(1): computed after each input.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Deallocates (RFC 8656 §7: "a client [...] deletes an allocation by
    /// sending a Refresh request with a requested lifetime of zero"), once,
    /// without retransmission: the owner is going away. Nothing more is
    /// sent or scheduled afterwards.
    pub fn close(&mut self) {
        if matches!(self.state, State::Allocated { .. }) {
            self.request(Purpose::Refresh(0));
        }
        self.state = State::Closed;
        self.clear();
    }

    // ---- input ----------------------------------------------------------

    /// Time passed: retransmissions, give-ups and refreshes.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let now = self.now;
        if self.is_done() {
            return;
        }
        let mut i = 0;
        while i < self.transactions.len() {
            match self.transactions[i].tick(now) {
                Tick::Wait => i += 1,
                // RFC 8489 §6.2.2: over a reliable transport "the client
                // SHOULD NOT retransmit"; the transaction still times out.
                Tick::Retransmit if self.proto != Protocol::Udp => i += 1,
                Tick::Retransmit => {
                    self.stats.retransmits += 1;
                    let bytes = self.transactions[i].bytes.clone();
                    self.transmit(bytes);
                    i += 1;
                }
                Tick::GiveUp => {
                    let tx = self.transactions.swap_remove(i);
                    self.stats.timeouts += 1;
                    self.on_failure(tx.purpose, UNREACHABLE, "no response from the TURN server");
                    if self.is_done() {
                        return;
                    }
                }
            }
        }
        if let State::Allocated { expires, .. } = self.state {
            if now >= expires {
                self.fail(UNREACHABLE, "TURN allocation expired");
                return;
            }
            if self.refresh_at.is_some_and(|t| now >= t) {
                self.refresh_at = None;
                self.request(Purpose::Refresh(REQUESTED_LIFETIME));
            }
        }
        self.refresh_peers(now);
        self.after_input();
    }

    /// A datagram from the TURN server (the caller checked its source and
    /// destination). Returns the peer and the data when it carried data
    /// relayed from a permitted peer (ChannelData or a Data indication);
    /// responses are consumed; anything else is dropped and counted.
    pub fn handle_receive<'a>(
        &mut self,
        now: Instant,
        contents: &'a [u8],
    ) -> Option<(SocketAddr, &'a [u8])> {
        self.now = self.now.max(now);
        if self.is_done() {
            self.stats.dropped += 1;
            return None;
        }
        let out = if contents.first().is_some_and(|b| (0x40..=0x4f).contains(b)) {
            self.receive_channel_data(contents)
        } else {
            match StunMessage::parse(contents) {
                Ok(msg) => self.receive_stun(&msg),
                Err(_) => None,
            }
        };
        match out {
            Some(_) => self.stats.data_received += 1,
            None => self.after_input(),
        }
        out
    }

    /// TCP: a chunk of the stream from the server. Whole messages are
    /// taken out and handled as [`handle_receive`](Self::handle_receive)
    /// handles datagrams; relayed data goes to `deliver` (peer, data).
    pub fn handle_stream(
        &mut self,
        now: Instant,
        chunk: &[u8],
        mut deliver: impl FnMut(SocketAddr, &[u8]),
    ) {
        if self.is_done() {
            self.stats.dropped += 1;
            return;
        }
        if let Some(tls) = self.tls.as_mut() {
            let mut plain = Vec::new();
            let fed = tls.feed(chunk, &mut plain);
            // Handshake messages and alerts go back at once.
            let records = tls.take_output();
            if !records.is_empty() {
                self.transmits.push_back(Transmit {
                    proto: Protocol::Tcp,
                    source: self.local,
                    destination: self.server,
                    contents: records,
                });
            }
            if let Err(e) = fed {
                self.fail(UNREACHABLE, &e.0);
                return;
            }
            self.frame_stream(now, &plain, &mut deliver);
            self.after_input();
            return;
        }
        self.frame_stream(now, chunk, &mut deliver);
    }

    /// Takes the whole messages out of the (plaintext) stream.
    fn frame_stream(
        &mut self,
        now: Instant,
        chunk: &[u8],
        deliver: &mut impl FnMut(SocketAddr, &[u8]),
    ) {
        let mut buf = std::mem::take(&mut self.stream);
        buf.extend_from_slice(chunk);
        let mut at = 0;
        while let Some(len) = stream_message_len(&buf[at..]) {
            if buf.len() - at < len {
                // What stays buffered is the start of one message: longer
                // than any TURN message, the stream is not TURN (or lost
                // its framing) and nothing more can be read from it. (A
                // chunk may hold many whole messages: only the remainder
                // is bounded.)
                if len > MAX_STREAM_BUFFER {
                    self.stats.dropped += 1;
                    self.fail(ErrorCode::SERVER_ERROR, "TURN stream framing lost");
                    return;
                }
                break;
            }
            if let Some((peer, data)) = self.handle_receive(now, &buf[at..at + len]) {
                deliver(peer, data);
            }
            at += len;
            if self.is_done() {
                return;
            }
        }
        buf.drain(..at);
        self.stream = buf;
    }

    fn receive_channel_data<'a>(&mut self, contents: &'a [u8]) -> Option<(SocketAddr, &'a [u8])> {
        let Ok((number, data)) = channel_data::parse(contents) else {
            self.stats.dropped += 1;
            return None;
        };
        // RFC 8656 §12.6: "If the ChannelData message is received on a
        // channel that is not bound to any peer, then the message is
        // silently discarded." A bind in flight counts: the server may
        // relay before its success response arrives.
        let Some(peer) = self
            .channels
            .iter()
            .find(|c| c.number == number && (c.bound_until.is_some() || c.in_flight))
            .map(|c| c.peer)
        else {
            self.stats.dropped += 1;
            return None;
        };
        Some((peer, data))
    }

    fn receive_stun<'a>(&mut self, msg: &StunMessage<'a>) -> Option<(SocketAddr, &'a [u8])> {
        match (msg.class(), msg.method()) {
            (Class::Indication, Method::DATA) => {
                let peer = msg.attributes().find_map(|a| match a {
                    Attribute::XorPeerAddress(p) => Some(p),
                    _ => None,
                });
                let data = msg.attributes().find_map(|a| match a {
                    Attribute::Data(d) => Some(d),
                    _ => None,
                });
                // RFC 8656 §11.6: "the client SHOULD also check that the
                // XOR-PEER-ADDRESS attribute value contains an IP address
                // with which the client believes there is an active
                // permission and discard the Data indication otherwise."
                match (peer, data) {
                    (Some(p), Some(d)) if self.has_permission(p.ip()) => Some((p, d)),
                    _ => {
                        self.stats.dropped += 1;
                        None
                    }
                }
            }
            (Class::Success | Class::Error, _) => {
                self.receive_response(msg);
                None
            }
            _ => {
                self.stats.dropped += 1;
                None
            }
        }
    }

    /// A response: accepted for an outstanding transaction only, and
    /// authenticated once we hold a key.
    fn receive_response(&mut self, msg: &StunMessage<'_>) {
        let Some(idx) = self
            .transactions
            .iter()
            .position(|t| t.tid == msg.transaction_id())
        else {
            self.stats.dropped += 1;
            return;
        };
        let error = msg.error_code().map(|e| (e.code, e.reason.to_owned()));
        let challenge = matches!(
            error,
            Some((ErrorCode::UNAUTHORIZED | ErrorCode::STALE_NONCE, _))
        );
        // RFC 8489 §9.2.5: a 401 or 438 carries no integrity the client
        // could check (it is the challenge); other responses to an
        // authenticated request must carry a MESSAGE-INTEGRITY that
        // verifies, or be discarded.
        if !challenge {
            if let Some(key) = self.auth.key {
                let integrity = msg.check_integrity(&key);
                let ok = integrity == Integrity::Valid
                    || (integrity == Integrity::Missing && msg.class() == Class::Error);
                if !ok {
                    self.stats.dropped += 1;
                    return;
                }
            } else if msg.class() == Class::Success {
                // A success before we authenticated: the server has no
                // auth at all. Accept (the key stays unset).
            }
        }
        if msg.class() == Class::Error && error.is_none() {
            // RFC 8489 §6.3.4: an error response must carry ERROR-CODE.
            self.stats.dropped += 1;
            return;
        }
        let tx = self.transactions.swap_remove(idx);
        self.stats.responses += 1;
        match error {
            None => self.on_success(tx.purpose, msg),
            Some((ErrorCode::UNAUTHORIZED, reason)) => {
                self.on_unauthorized(tx.purpose, msg, &reason)
            }
            Some((ErrorCode::STALE_NONCE, reason)) => self.on_stale_nonce(tx.purpose, msg, &reason),
            // RFC 8656 §7.3 (Refresh): "If the client receives a 437
            // (Allocation Mismatch) error response ... the client SHOULD
            // consider the allocation as having been deleted"; §9.2 and
            // §11.2: the server answers CreatePermission and ChannelBind
            // with 437 when it has no such allocation (it restarted).
            Some((ALLOCATION_MISMATCH, reason)) if tx.purpose != Purpose::Allocate => {
                self.fail(ALLOCATION_MISMATCH, &reason)
            }
            Some((code, reason)) => self.on_failure(tx.purpose, code, &reason),
        }
    }

    /// RFC 8489 §9.2.5: "If the response is an error response with an
    /// error code of 401 (Unauthenticated), the client SHOULD retry the
    /// request with a new transaction" using the REALM and NONCE of the
    /// response -- once: a 401 to a request that carried our credentials
    /// means they are wrong.
    fn on_unauthorized(&mut self, purpose: Purpose, msg: &StunMessage<'_>, reason: &str) {
        let realm = msg.attributes().find_map(|a| match a {
            Attribute::Realm(r) => Some(r),
            _ => None,
        });
        let nonce = msg.attributes().find_map(|a| match a {
            Attribute::Nonce(n) => Some(n),
            _ => None,
        });
        match (realm, nonce) {
            (Some(realm), Some(nonce)) if !self.auth.tried => {
                self.auth.key = Some(long_term_key(
                    &self.auth.username,
                    realm,
                    &self.auth.password,
                ));
                self.auth.realm = Some(realm.to_owned());
                self.auth.nonce = Some(nonce.to_owned());
                self.auth.tried = true;
                self.request(purpose);
            }
            _ => self.on_failure(purpose, ErrorCode::UNAUTHORIZED, reason),
        }
    }

    /// RFC 8489 §9.2.5: "If the response is an error response with an
    /// error code of 438 (Stale Nonce), the client MUST retry the request,
    /// using the new NONCE attribute supplied in the 438 (Stale Nonce)
    /// response." Bounded by [`MAX_STALE_NONCE_RETRIES`] in a row.
    fn on_stale_nonce(&mut self, purpose: Purpose, msg: &StunMessage<'_>, reason: &str) {
        let nonce = msg.attributes().find_map(|a| match a {
            Attribute::Nonce(n) => Some(n),
            _ => None,
        });
        match nonce {
            Some(n)
                if self.auth.key.is_some() && self.auth.stale_retries < MAX_STALE_NONCE_RETRIES =>
            {
                self.auth.stale_retries += 1;
                self.auth.nonce = Some(n.to_owned());
                self.stats.stale_nonces += 1;
                self.request(purpose);
            }
            _ => self.on_failure(purpose, ErrorCode::STALE_NONCE, reason),
        }
    }

    fn on_success(&mut self, purpose: Purpose, msg: &StunMessage<'_>) {
        self.auth.stale_retries = 0;
        let lifetime = msg.attributes().find_map(|a| match a {
            Attribute::Lifetime(l) => Some(l),
            _ => None,
        });
        match purpose {
            Purpose::Allocate => {
                if self.state != State::Allocating {
                    return;
                }
                let relayed = msg.attributes().find_map(|a| match a {
                    Attribute::XorRelayedAddress(r) => Some(r),
                    _ => None,
                });
                // RFC 8656 §7.3: the client checks the relayed address is of
                // a family it understands: here, the family it asked for
                // (the local socket's, as no REQUESTED-ADDRESS-FAMILY is
                // sent).
                let Some(relayed) = relayed.filter(|r| r.is_ipv4() == self.local.is_ipv4()) else {
                    self.fail(
                        ErrorCode::SERVER_ERROR,
                        "Allocate success without a usable XOR-RELAYED-ADDRESS",
                    );
                    return;
                };
                let mapped = msg.mapped_address();
                let lifetime = lifetime.unwrap_or(REQUESTED_LIFETIME);
                self.set_allocated(relayed, mapped, lifetime);
                self.push_event(TurnEvent::Allocated { relayed, mapped });
            }
            Purpose::Refresh(_) => {
                let State::Allocated {
                    relayed, mapped, ..
                } = self.state
                else {
                    return;
                };
                match lifetime {
                    // RFC 8656 §8.3: the LIFETIME of the response is the
                    // time to expiry.
                    Some(l) if l > 0 => {
                        self.stats.refreshes += 1;
                        self.set_allocated(relayed, mapped, l);
                    }
                    _ => self.fail(
                        ErrorCode::SERVER_ERROR,
                        "Refresh success without a lifetime",
                    ),
                }
            }
            Purpose::Permission(ip) => self.on_permission(ip),
            Purpose::Bind(number, peer) => self.on_bound(number, peer),
        }
    }

    fn set_allocated(&mut self, relayed: SocketAddr, mapped: Option<SocketAddr>, lifetime: u32) {
        let life = Duration::from_secs(u64::from(lifetime));
        self.state = State::Allocated {
            relayed,
            mapped,
            expires: self.now + life,
        };
        self.refresh_at = Some(self.now + refresh_after(life));
    }

    /// A request failed (error response or no response at all).
    fn on_failure(&mut self, purpose: Purpose, code: u16, reason: &str) {
        match purpose {
            // The allocation is gone or never was.
            Purpose::Allocate | Purpose::Refresh(_) => self.fail(code, reason),
            Purpose::Permission(ip) => self.permission_failed(ip),
            Purpose::Bind(number, _) => self.bind_failed(number),
        }
    }

    /// Gives up: reports the error, forgets everything, stops the timers.
    pub(super) fn fail(&mut self, code: u16, reason: &str) {
        tracing::debug!(server = %self.server, code, reason, "TURN allocation failed");
        self.state = State::Failed;
        self.clear();
        self.push_event(TurnEvent::Failed {
            code,
            reason: reason.chars().take(128).collect(),
        });
    }

    fn clear(&mut self) {
        self.stream = Vec::new();
        self.transactions.clear();
        self.permissions.clear();
        self.channels.clear();
        self.queued.clear();
        self.refresh_at = None;
        self.deadline = None;
    }

    // ---- output ---------------------------------------------------------

    /// Sends a new request for `purpose` (with credentials once the server
    /// challenged us). Refused, and counted, past [`MAX_TRANSACTIONS`].
    pub(super) fn request(&mut self, purpose: Purpose) {
        if self.transactions.len() >= MAX_TRANSACTIONS {
            self.stats.requests_refused += 1;
            return;
        }
        let mut tid = [0u8; 12];
        self.rng.fill(&mut tid);
        let tid = TransactionId(tid);
        let Ok(bytes) = self.encode(purpose, tid) else {
            self.stats.requests_refused += 1;
            return;
        };
        self.stats.requests_sent += 1;
        self.transmit(bytes.clone());
        // The deallocating Refresh is fire-and-forget.
        if purpose != Purpose::Refresh(0) {
            self.transactions
                .push(Transaction::new(tid, purpose, bytes, self.now));
        }
    }

    fn encode(&self, purpose: Purpose, tid: TransactionId) -> Result<Vec<u8>, stun::EncodeError> {
        let method = match purpose {
            Purpose::Allocate => Method::ALLOCATE,
            Purpose::Refresh(_) => Method::REFRESH,
            Purpose::Permission(_) => Method::CREATE_PERMISSION,
            Purpose::Bind(..) => Method::CHANNEL_BIND,
        };
        let mut buf = [0u8; 1024];
        let mut w = MessageWriter::new(&mut buf, Class::Request, method, tid)?;
        match purpose {
            Purpose::Allocate => {
                // RFC 8656 §7.1: "The client MUST include a
                // REQUESTED-TRANSPORT attribute in the request."
                w.add(&Attribute::RequestedTransport(UDP))?;
                w.add(&Attribute::Lifetime(REQUESTED_LIFETIME))?;
            }
            Purpose::Refresh(l) => w.add(&Attribute::Lifetime(l))?,
            Purpose::Permission(ip) => {
                // RFC 8656 §9.1: the port of XOR-PEER-ADDRESS is ignored.
                w.add(&Attribute::XorPeerAddress(SocketAddr::new(ip, 0)))?;
            }
            Purpose::Bind(number, peer) => {
                w.add(&Attribute::ChannelNumber(number))?;
                w.add(&Attribute::XorPeerAddress(peer))?;
            }
        }
        if let (Some(key), Some(realm), Some(nonce)) =
            (self.auth.key, &self.auth.realm, &self.auth.nonce)
        {
            w.add(&Attribute::Username(&self.auth.username))?;
            w.add(&Attribute::Realm(realm))?;
            w.add(&Attribute::Nonce(nonce))?;
            w.add_integrity(&key)?;
        }
        let n = w.finish(true)?;
        Ok(buf[..n].to_vec())
    }

    /// Queues a datagram to the server (bounded: past [`MAX_TRANSMITS`] it
    /// is dropped and counted).
    pub(super) fn transmit(&mut self, contents: Vec<u8>) {
        if self.transmits.len() >= MAX_TRANSMITS {
            self.stats.transmits_dropped += 1;
            return;
        }
        let contents = match self.tls.as_mut() {
            Some(tls) => {
                if let Err(e) = tls.write(&contents) {
                    self.fail(UNREACHABLE, &e.0);
                    return;
                }
                let records = tls.take_output();
                if records.is_empty() {
                    return;
                }
                records
            }
            None => contents,
        };
        self.transmits.push_back(Transmit {
            // TLS is bytes on a TCP connection to the runtime.
            proto: if self.proto == Protocol::Udp {
                Protocol::Udp
            } else {
                Protocol::Tcp
            },
            source: self.local,
            destination: self.server,
            contents,
        });
    }

    fn push_event(&mut self, e: TurnEvent) {
        if self.events.len() < MAX_EVENTS {
            self.events.push_back(e);
        }
    }

    /// Recomputes the deadline: transactions, the allocation's refresh and
    /// expiry, the peers' refreshes (bounded tables).
    pub(super) fn after_input(&mut self) {
        if self.is_done() {
            self.deadline = None;
            return;
        }
        let mut d = self.transactions.iter().map(|t| t.next_at).min();
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                d = Some(d.map_or(t, |x| x.min(t)));
            }
        };
        consider(self.refresh_at);
        if let State::Allocated { expires, .. } = self.state {
            consider(Some(expires));
        }
        for p in &self.permissions {
            consider(p.refresh_at());
        }
        for c in &self.channels {
            consider(c.refresh_at());
        }
        self.deadline = d;
    }
}

/// When to refresh something that lasts `life`: [`REFRESH_MARGIN`] before
/// it ends, or at half of it when shorter.
pub(super) fn refresh_after(life: Duration) -> Duration {
    if life > REFRESH_MARGIN * 2 {
        life - REFRESH_MARGIN
    } else {
        life / 2
    }
}

/// The most stream bytes held while a message is incomplete: a STUN
/// message or ChannelData is at most 4 + 65,535 bytes (padded).
const MAX_STREAM_BUFFER: usize = 4 + 65_536 + 4;

/// The length on a stream of the message that `buf` starts with, once its
/// header is there: RFC 8489 §6 (STUN, 20-byte header and the Message
/// Length), RFC 8656 §12.5 (ChannelData, "padded to a multiple of four
/// bytes" over TCP).
fn stream_message_len(buf: &[u8]) -> Option<usize> {
    let head = buf.get(..4)?;
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    match head[0] {
        // RFC 7983: 0..3 STUN, 64..79 ChannelData.
        0..=3 => Some(20 + len),
        0x40..=0x4f => Some(channel_data::framed_len(len, true)),
        // Not TURN: a length nobody reaches, so the buffer bound fails it.
        _ => Some(usize::MAX),
    }
}
