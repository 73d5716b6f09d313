//! The ICE agent: its state, its API, and what it does with a received STUN
//! message. The clockwork (checks, retransmissions, nomination, consent,
//! state changes) is in `checks.rs`.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use smallvec::SmallVec;
use std::time::{Duration, Instant};

use super::candidate::{Candidate, CandidateKind, CandidatePair, PairState, TcpType};
use super::tcp::{self, Reassembler};
use super::{
    IceConfig, IceConnectionState, IceCredentials, IceError, IceEvent, IceGatheringState, IceRole,
    IceStats, TcpFrame, MAX_EVENTS, MAX_LOCAL_CANDIDATES, MAX_PAIRS, MAX_PENDING_MDNS,
    MAX_REMOTE_CANDIDATES, MAX_STUN_SERVERS, MAX_TCP_FRAMES, MAX_TRANSMITS,
};
use crate::io::{Protocol, Receive, Transmit};
use crate::rng::Rng;
use crate::stun::{
    self, Attribute, Class, ErrorCode, Integrity, KeptKey, MessageWriter, Method, StunMessage,
    TransactionId, UnknownAttributes,
};

/// What an outstanding STUN transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TxKind {
    /// A connectivity check on a pair; `nominate` when it carries
    /// USE-CANDIDATE.
    Check { pair: usize, nominate: bool },
    /// A consent freshness check on the selected pair (RFC 7675).
    Consent { pair: usize },
    /// A Binding request to a STUN server from the base `base`.
    Gather { base: usize },
}

/// An outstanding STUN request: what is needed to retransmit it and to
/// accept its response.
#[derive(Debug, Clone)]
pub(super) struct Transaction {
    pub(super) tid: TransactionId,
    pub(super) kind: TxKind,
    pub(super) local: SocketAddr,
    pub(super) remote: SocketAddr,
    pub(super) proto: Protocol,
    /// The request, unframed: retransmissions are byte-identical (RFC 8489
    /// §6.2.1). Inline up to [`REQUEST_INLINE`] bytes (a check with
    /// browser-length credentials is ~100): no allocation per check.
    pub(super) bytes: SmallVec<[u8; REQUEST_INLINE]>,
    /// The key that must authenticate the response (the remote password),
    /// empty for STUN servers.
    pub(super) key: Key,
    pub(super) last_sent: Instant,
    pub(super) next_at: Instant,
    pub(super) rto: Duration,
    pub(super) transmits: u32,
    pub(super) max_transmits: u32,
    /// Whether the request carried ICE-CONTROLLING (for 487 repair).
    pub(super) sent_controlling: bool,
}

/// What an answered transaction's response is judged by: the few fields
/// of a [`Transaction`] read after it is gone.
#[derive(Debug, Clone, Copy)]
pub(super) struct Answered {
    pub(super) kind: TxKind,
    pub(super) remote: SocketAddr,
    pub(super) last_sent: Instant,
    pub(super) sent_controlling: bool,
}

impl Answered {
    fn of(tx: &Transaction) -> Self {
        Self {
            kind: tx.kind,
            remote: tx.remote,
            last_sent: tx.last_sent,
            sent_controlling: tx.sent_controlling,
        }
    }
}

/// The room a transaction keeps for its request without allocating.
pub(super) const REQUEST_INLINE: usize = 128;

/// Sent datagrams' buffers kept for the next STUN messages: an idle
/// connection's consent exchange has at most two out at once (an answer
/// and the check that goes with it, `consent_alongside`).
pub(super) const SPARE_BUFFERS: usize = 2;
/// The room of a new STUN datagram buffer: a consent check or its answer
/// with short credentials fits, so that one buffer serves both.
pub(super) const STUN_ROOM: usize = 128;
/// The largest given-back buffer kept for STUN; a larger one (a DTLS
/// datagram's) goes back to DTLS.
pub(super) const STUN_KEEP: usize = 512;

/// A response-authenticating key, with its HMAC-SHA1 state kept (none: a
/// transaction sent without integrity); `Debug` does not show it. Shared:
/// each check's transaction holds the remote password without a copy of it.
#[derive(Clone, Default)]
pub(super) struct Key(pub(super) Option<Arc<KeptKey>>);

impl Key {
    pub(super) fn new(password: &[u8]) -> Self {
        Self(Some(Arc::new(KeptKey::new(password))))
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

/// Our credentials, with the key that authenticates the checks naming them
/// made once (no allocation per check answered).
#[derive(Debug)]
pub(super) struct OwnCredentials {
    pub(super) creds: IceCredentials,
    pub(super) key: Key,
}

impl OwnCredentials {
    fn new(creds: IceCredentials) -> Self {
        Self {
            key: Key::new(creds.pwd.as_bytes()),
            creds,
        }
    }
}

/// The peer's credentials, with what every check we send carries made once
/// (no allocation per check).
#[derive(Debug)]
pub(super) struct RemoteCredentials {
    pub(super) creds: IceCredentials,
    /// Our checks' USERNAME, "RFRAG:LFRAG".
    pub(super) username: Box<str>,
    /// The key of our checks and of their responses: the peer's password.
    pub(super) key: Key,
}

/// The pair data flows on: kept as addresses so that it survives an ICE
/// restart, which rebuilds the checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Selected {
    pub(super) local: SocketAddr,
    pub(super) remote: SocketAddr,
    pub(super) proto: Protocol,
    /// Index of the pair in the current checklist; `None` for the previous
    /// session's pair during an ICE restart.
    pub(super) pair: Option<usize>,
}

/// Consent freshness bookkeeping (RFC 7675) for the selected pair.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Consent {
    /// When the next consent check goes out.
    pub(super) next_check: Option<Instant>,
    /// When the oldest unanswered consent check went out.
    pub(super) unanswered_since: Option<Instant>,
    /// When the last consent check went out.
    pub(super) last_check: Option<Instant>,
    /// The last authenticated response (lite: request) on the selected pair.
    pub(super) last_response: Option<Instant>,
}

/// A sans-IO ICE agent (RFC 8445) for one component.
///
/// Kinds of methods:
/// - **construction**: [`IceAgent::with_seed`] (or `new` inside the crate,
///   with the connection's seeded generator);
/// - **signaling**: [`set_remote_credentials`](Self::set_remote_credentials),
///   [`add_remote_candidate`](Self::add_remote_candidate),
///   [`add_remote_mdns_candidate`](Self::add_remote_mdns_candidate) and
///   [`resolve_remote`](Self::resolve_remote),
///   [`remote_end_of_candidates`](Self::remote_end_of_candidates),
///   [`restart`](Self::restart);
/// - **runtime**: [`add_local_candidate`](Self::add_local_candidate),
///   [`end_of_local_candidates`](Self::end_of_local_candidates),
///   [`add_stun_server`](Self::add_stun_server);
/// - **input**: [`handle_receive`](Self::handle_receive) (STUN only; returns
///   whether the datagram was the agent's) and
///   [`handle_timeout`](Self::handle_timeout);
/// - **output**, polled in this order until empty:
///   [`poll_transmit`](Self::poll_transmit),
///   [`poll_event`](Self::poll_event),
///   [`poll_tcp_frame`](Self::poll_tcp_frame), then
///   [`poll_timeout`](Self::poll_timeout);
/// - **getters**: states, [`selected_pair`](Self::selected_pair),
///   [`is_validated`](Self::is_validated), [`stats`](Self::stats).
///
/// ```
/// use std::time::Instant;
/// use eddy::ice::{IceAgent, IceConfig, IceRole};
/// use eddy::Protocol;
///
/// let clock = Instant::now; // the runtime's clock, read outside the agent
/// let now = clock();
/// let mut agent = IceAgent::with_seed(IceConfig::default(), IceRole::Controlling, 1, now).unwrap();
/// agent.add_local_candidate("192.0.2.1:5000".parse().unwrap(), Protocol::Udp).unwrap();
/// agent.end_of_local_candidates();
/// while let Some(event) = agent.poll_event() {
///     println!("{event:?}"); // signal candidates to the peer
/// }
/// // ... set_remote_credentials, add_remote_candidate, then loop:
/// agent.handle_timeout(now);
/// while let Some(t) = agent.poll_transmit() { /* socket.send_to(..) */ let _ = t; }
/// let _next_wake_up = agent.poll_timeout();
/// ```
#[derive(Debug)]
pub struct IceAgent {
    pub(super) config: IceConfig,
    pub(super) rng: Rng,
    pub(super) role: IceRole,
    pub(super) tie_breaker: u64,
    pub(super) local_creds: OwnCredentials,
    /// During an ICE restart, the previous credentials still answer checks
    /// on the previous selected pair until a new pair is selected.
    pub(super) previous_creds: Option<OwnCredentials>,
    pub(super) remote_creds: Option<RemoteCredentials>,
    pub(super) remote_lite: bool,
    pub(super) local: Vec<Candidate>,
    pub(super) remote: Vec<Candidate>,
    pub(super) pending_mdns: Vec<(String, Candidate)>,
    /// Relayed candidates whose allocation was lost: no longer paired,
    /// checked, answered or signaled (they stay in `local` so indices stay
    /// valid). At most [`MAX_LOCAL_CANDIDATES`].
    pub(super) retired: Vec<SocketAddr>,
    pub(super) pairs: Vec<CandidatePair>,
    /// RFC 8445 §6.1.4.1: the triggered-check queue (pair indices, FIFO,
    /// no duplicates: at most [`MAX_PAIRS`] long).
    pub(super) triggered: VecDeque<usize>,
    pub(super) transactions: Vec<Transaction>,
    pub(super) stun_servers: Vec<SocketAddr>,
    /// Server-reflexive requests not yet sent: (base index, server).
    pub(super) gather_jobs: VecDeque<(usize, SocketAddr)>,
    pub(super) local_done: bool,
    /// TURN allocations under way (RFC 8445 §5.1.1.2): gathering completes
    /// once each gave a relayed candidate or failed.
    pub(super) relay_pending: usize,
    pub(super) remote_done: bool,
    pub(super) gathering_state: IceGatheringState,
    pub(super) connection_state: IceConnectionState,
    pub(super) selected: Option<Selected>,
    /// The selected pair before the last ICE restart: data arriving on it
    /// stays acceptable (it was validated, and packets are in flight).
    pub(super) previous_selected: Option<(SocketAddr, SocketAddr)>,
    /// The earliest time the next paced request (check or gathering) may go.
    pub(super) next_pace: Option<Instant>,
    pub(super) first_valid_at: Option<Instant>,
    /// In `checking`: since when without a successful check (entering the
    /// state, or the last success). `checking_timeout` after it, ICE fails.
    pub(super) checking_since: Option<Instant>,
    /// Error responses per source address (not a reflector).
    pub(super) error_limiter: super::rate_limit::RateLimiter,
    pub(super) consent: Consent,
    pub(super) transmits: VecDeque<Transmit>,
    /// Sent STUN datagrams' buffers given back (`IceAgent::recycle`), for
    /// the next ones: consent checks and their answers allocate nothing.
    pub(super) spare: SmallVec<[Vec<u8>; SPARE_BUFFERS]>,
    pub(super) events: VecDeque<IceEvent>,
    pub(super) tcp: Reassembler,
    pub(super) tcp_frames: VecDeque<TcpFrame>,
    pub(super) stats: IceStats,
    pub(crate) now: Instant,
    pub(super) deadline: Option<Instant>,
}

/// RFC 8445 §5.3: "The ufrag value MUST contain at least 24 bits of
/// randomness, and the password value MUST contain at least 128 bits of
/// randomness." Each ice-char carries 6 bits: 8 characters give 48 bits,
/// 24 characters 144 bits.
const UFRAG_LEN: usize = 8;
const PWD_LEN: usize = 24;

/// Room for any STUN message the agent writes.
const STUN_BUF: usize = 548;
/// Room for a Binding success response: see `send_success`.
const SUCCESS_BUF: usize = 76;

impl IceAgent {
    /// A new agent at `now`, drawing every random number from `rng`.
    pub(crate) fn new(
        config: IceConfig,
        role: IceRole,
        mut rng: Rng,
        now: Instant,
    ) -> Result<Self, IceError> {
        config.validate()?;
        let local_creds = OwnCredentials::new(IceCredentials {
            ufrag: rng.ice_chars(UFRAG_LEN),
            pwd: rng.ice_chars(PWD_LEN),
        });
        let tie_breaker = rng.u64();
        let error_limiter = super::rate_limit::RateLimiter::new(
            config.error_responses_per_second,
            config.error_responses_burst,
            super::rate_limit::MAX_RATE_LIMITED_SOURCES,
        );
        // RFC 8445 §6.1.1: "the lite agent MUST be controlled".
        let role = if config.lite {
            IceRole::Controlled
        } else {
            role
        };
        Ok(Self {
            config,
            rng,
            role,
            tie_breaker,
            local_creds,
            previous_creds: None,
            remote_creds: None,
            remote_lite: false,
            local: Vec::new(),
            remote: Vec::new(),
            pending_mdns: Vec::new(),
            retired: Vec::new(),
            pairs: Vec::new(),
            triggered: VecDeque::new(),
            transactions: Vec::new(),
            stun_servers: Vec::new(),
            gather_jobs: VecDeque::new(),
            local_done: false,
            relay_pending: 0,
            remote_done: false,
            gathering_state: IceGatheringState::New,
            connection_state: IceConnectionState::New,
            selected: None,
            previous_selected: None,
            next_pace: None,
            first_valid_at: None,
            checking_since: None,
            error_limiter,
            consent: Consent::default(),
            transmits: VecDeque::new(),
            spare: SmallVec::new(),
            events: VecDeque::new(),
            tcp: Reassembler::default(),
            tcp_frames: VecDeque::new(),
            stats: IceStats::default(),
            now,
            deadline: None,
        })
    }

    /// A new agent whose random numbers (credentials, tie-breaker,
    /// transaction ids, jitter) come from `seed`: reproducible, for tests
    /// and simulation.
    pub fn with_seed(
        config: IceConfig,
        role: IceRole,
        seed: u64,
        now: Instant,
    ) -> Result<Self, IceError> {
        Self::new(config, role, Rng::from_seed(seed), now)
    }

    /// A new agent seeded from OpenSSL's CSPRNG.
    pub fn with_entropy(config: IceConfig, role: IceRole, now: Instant) -> Result<Self, IceError> {
        let rng = Rng::from_entropy().map_err(|e| IceError::Entropy(e.to_string()))?;
        Self::new(config, role, rng, now)
    }

    // ---- getters -------------------------------------------------------

    /// The peer's ufrag and password, once set.
    pub(crate) fn remote_credentials(&self) -> Option<&IceCredentials> {
        self.remote_creds.as_ref().map(|r| &r.creds)
    }

    /// Our ufrag and password, to signal.
    pub fn local_credentials(&self) -> &IceCredentials {
        &self.local_creds.creds
    }

    /// The password of our current or previous ufrag `ufrag`: the key that
    /// authenticates a check naming it.
    pub(crate) fn local_password(&self, ufrag: &str) -> Option<&str> {
        self.own_credentials(ufrag).map(|c| c.creds.pwd.as_str())
    }

    /// Our current or previous credentials of ufrag `ufrag`.
    fn own_credentials(&self, ufrag: &str) -> Option<&OwnCredentials> {
        std::iter::once(&self.local_creds)
            .chain(&self.previous_creds)
            .find(|c| c.creds.ufrag == ufrag)
    }

    /// The current role.
    pub fn role(&self) -> IceRole {
        self.role
    }

    /// Whether this is an ICE-lite agent.
    pub fn is_lite(&self) -> bool {
        self.config.lite
    }

    /// W3C `iceConnectionState`.
    pub fn connection_state(&self) -> IceConnectionState {
        self.connection_state
    }

    /// W3C `iceGatheringState`.
    pub fn gathering_state(&self) -> IceGatheringState {
        self.gathering_state
    }

    /// The local candidates: host, server-reflexive, and peer-reflexive ones
    /// learned from checks (which are not signaled).
    pub fn local_candidates(&self) -> &[Candidate] {
        &self.local
    }

    /// The remote candidates, signaled and peer-reflexive.
    pub fn remote_candidates(&self) -> &[Candidate] {
        &self.remote
    }

    /// The `.local` names the runtime should resolve (then call
    /// [`resolve_remote`](Self::resolve_remote)).
    pub fn pending_mdns(&self) -> impl Iterator<Item = &str> + '_ {
        self.pending_mdns.iter().map(|(n, _)| n.as_str())
    }

    /// The selected (nominated) pair: (local socket, remote address,
    /// transport). During an ICE restart it stays the previous pair until a
    /// new one is nominated. `None` before the first nomination (data may
    /// go through a valid pair before it, [`data_pair`](Self::data_pair)),
    /// and once consent is lost (RFC 7675 §5.1: sending must stop).
    pub fn selected_pair(&self) -> Option<(SocketAddr, SocketAddr, Protocol)> {
        if matches!(
            self.connection_state,
            IceConnectionState::Failed | IceConnectionState::Closed
        ) {
            return None;
        }
        self.selected.map(|s| (s.local, s.remote, s.proto))
    }

    /// The pair data goes through: the selected pair, or before the first
    /// nomination the valid pair of highest priority. RFC 8445 §12.1: "An
    /// ICE agent MAY send data on any valid pair before selected pairs have
    /// been produced for the data stream." This is what lets DTLS start as
    /// soon as a check succeeds, half a round trip before the controlled
    /// agent hears of the nomination (libwebrtc starts DTLS on a writable
    /// connection too). A lite agent runs no checks: it waits for the
    /// nomination.
    pub fn data_pair(&self) -> Option<(SocketAddr, SocketAddr, Protocol)> {
        if let Some(selected) = self.selected_pair() {
            return Some(selected);
        }
        if self.config.lite
            || matches!(
                self.connection_state,
                IceConnectionState::Failed | IceConnectionState::Closed
            )
        {
            return None;
        }
        self.pairs
            .iter()
            .filter(|p| p.state == PairState::Succeeded)
            .filter_map(|p| {
                let (l, r) = (self.local.get(p.local)?, self.remote.get(p.remote)?);
                (!self.is_retired(l)).then_some((p.priority, (l.addr, r.addr, l.proto)))
            })
            .max_by_key(|(priority, _)| *priority)
            .map(|(_, pair)| pair)
    }

    /// Wraps `data` for the pair data goes through ([`data_pair`](Self::data_pair)):
    /// the transmit to send, RFC 4571 framed on TCP. `None` when there is no
    /// pair to send on (or the data exceeds a TCP frame).
    ///
    /// Takes the datagram by value where it can: on UDP an owned `Vec` is
    /// sent as it is, with no copy (ARCHITECTURE.md §5.6).
    pub fn transmit_data(&self, data: impl Into<Vec<u8>> + AsRef<[u8]>) -> Option<Transmit> {
        let (local, remote, proto) = self.data_pair()?;
        let contents = match proto {
            Protocol::Udp => data.into(),
            Protocol::Tcp | Protocol::Tls => tcp::frame(data.as_ref())?,
        };
        Some(Transmit {
            proto,
            source: local,
            destination: remote,
            contents,
        })
    }

    /// Whether non-STUN traffic from `remote` arriving at `local` may be
    /// accepted: true once a check on that pair succeeded (lite: once an
    /// authenticated check arrived on it), and for the selected pair of the
    /// previous session during an ICE restart. ARCHITECTURE.md §3: "Nothing but
    /// STUN is accepted from an address ICE has not validated".
    pub fn is_validated(&self, remote: SocketAddr, local: SocketAddr) -> bool {
        if self.connection_state == IceConnectionState::Closed {
            return false;
        }
        if self
            .selected
            .is_some_and(|s| s.remote == remote && s.local == local)
            || self.previous_selected == Some((local, remote))
        {
            return true;
        }
        self.pairs.iter().any(|p| {
            let (Some(l), Some(r)) = (self.local.get(p.local), self.remote.get(p.remote)) else {
                return false;
            };
            l.addr == local
                && r.addr == remote
                && (p.state == PairState::Succeeded || (self.config.lite && p.request_received))
        })
    }

    /// Counters for statistics.
    pub fn stats(&self) -> IceStats {
        self.stats
    }

    /// Per-pair statistics, in checklist order.
    pub fn pair_stats(&self) -> impl Iterator<Item = super::PairStats> + '_ {
        self.pairs.iter().filter_map(|p| {
            let l = self.local.get(p.local)?;
            let r = self.remote.get(p.remote)?;
            Some(super::PairStats {
                local: l.addr,
                remote: r.addr,
                proto: l.proto,
                state: p.state,
                nominated: p.nominated,
                priority: p.priority,
                rtt: p.rtt,
                requests_sent: p.requests_sent,
                responses_received: p.responses_received,
                requests_received: p.requests_received,
                responses_sent: p.responses_sent,
            })
        })
    }

    // ---- runtime and signaling input ----------------------------------

    /// Adds a host candidate on a socket the runtime bound. TCP candidates
    /// are passive (the runtime listens; RFC 6544). Emits
    /// [`IceEvent::LocalCandidate`] and starts server-reflexive gathering
    /// from it (UDP, full agents).
    pub fn add_local_candidate(
        &mut self,
        addr: SocketAddr,
        proto: Protocol,
    ) -> Result<(), IceError> {
        if self.connection_state == IceConnectionState::Closed {
            return Err(IceError::Closed);
        }
        if proto == Protocol::Tls {
            return Err(IceError::Limit("ICE candidates are UDP or TCP"));
        }
        if self
            .local
            .iter()
            .any(|c| c.addr == addr && c.proto == proto)
        {
            return Ok(());
        }
        if self.local.len() >= MAX_LOCAL_CANDIDATES {
            return Err(IceError::Limit("local candidates"));
        }
        let candidate = Candidate::host(addr, proto);
        self.local.push(candidate.clone());
        let base = self.local.len() - 1;
        self.set_gathering_state(IceGatheringState::Gathering);
        self.push_event(IceEvent::LocalCandidate(candidate));
        if proto == Protocol::Udp && !self.config.lite {
            for &server in &self.stun_servers {
                if server.is_ipv4() == addr.is_ipv4() {
                    self.gather_jobs.push_back((base, server));
                }
            }
        }
        for remote in 0..self.remote.len() {
            self.add_pair(base, remote);
        }
        self.after_input();
        Ok(())
    }

    /// Adds a STUN server (address resolved by the runtime) for
    /// server-reflexive gathering from every UDP host candidate of its IP
    /// family. At most [`MAX_STUN_SERVERS`].
    pub fn add_stun_server(&mut self, server: SocketAddr) -> Result<(), IceError> {
        if self.stun_servers.contains(&server) {
            return Ok(());
        }
        if self.stun_servers.len() >= MAX_STUN_SERVERS {
            return Err(IceError::Limit("STUN servers"));
        }
        self.stun_servers.push(server);
        if !self.config.lite {
            for (base, c) in self.local.iter().enumerate() {
                if c.kind == CandidateKind::Host
                    && c.proto == Protocol::Udp
                    && c.addr.is_ipv4() == server.is_ipv4()
                {
                    self.gather_jobs.push_back((base, server));
                }
            }
        }
        self.after_input();
        Ok(())
    }

    /// Brings the agent's clock to `now` without firing timers: what an
    /// API call starts (checks after new remote credentials, the checking
    /// timeout) is timed from the owner's latest time, not from the
    /// agent's last input.
    pub(crate) fn touch(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    /// Adds an active TCP host candidate (RFC 6544 §4.1): this agent opens
    /// connections to the peer's passive candidates. `base` is the address
    /// the runtime knows the connections by (a UDP socket's: the runtime
    /// connects from its IP when the first check goes out, and gives what
    /// arrives back as from the peer to `base`); it is signaled with port
    /// 9 (§4.5).
    pub fn add_local_active_tcp_candidate(&mut self, base: SocketAddr) -> Result<(), IceError> {
        if self.connection_state == IceConnectionState::Closed {
            return Err(IceError::Closed);
        }
        if self.local.iter().any(|c| {
            c.addr == base && c.proto == Protocol::Tcp && c.tcp_type == Some(TcpType::Active)
        }) {
            return Ok(());
        }
        if self.local.len() >= MAX_LOCAL_CANDIDATES {
            return Err(IceError::Limit("local candidates"));
        }
        let candidate = Candidate::host_active_tcp(base);
        self.local.push(candidate.clone());
        let base_index = self.local.len() - 1;
        self.set_gathering_state(IceGatheringState::Gathering);
        self.push_event(IceEvent::LocalCandidate(candidate));
        for remote in 0..self.remote.len() {
            self.add_pair(base_index, remote);
        }
        self.after_input();
        Ok(())
    }

    /// A TURN allocation for a relayed candidate started (the owner runs
    /// the TURN client): gathering waits for
    /// [`add_relayed_candidate`](Self::add_relayed_candidate) or
    /// [`end_relay_gathering`](Self::end_relay_gathering).
    pub fn begin_relay_gathering(&mut self) {
        if self.connection_state == IceConnectionState::Closed || self.config.lite {
            return;
        }
        self.relay_pending += 1;
        self.set_gathering_state(IceGatheringState::Gathering);
        self.after_input();
    }

    /// A TURN allocation ended without a candidate (or after giving one).
    pub fn end_relay_gathering(&mut self) {
        self.relay_pending = self.relay_pending.saturating_sub(1);
        self.after_input();
    }

    /// Adds the relayed candidate of a TURN allocation (RFC 8445 §5.1.1.2):
    /// `relayed` is the XOR-RELAYED-ADDRESS, `mapped` the server-reflexive
    /// address the TURN server saw (its related address), `server` the TURN
    /// server (for the foundation). Checks from it go out with
    /// `relayed` as their source: the owner sends them through the
    /// allocation. Ends one [`begin_relay_gathering`](Self::begin_relay_gathering).
    pub fn add_relayed_candidate(
        &mut self,
        relayed: SocketAddr,
        mapped: Option<SocketAddr>,
        server: SocketAddr,
    ) -> Result<(), IceError> {
        self.relay_pending = self.relay_pending.saturating_sub(1);
        if self.connection_state == IceConnectionState::Closed {
            return Err(IceError::Closed);
        }
        if let Some(base) = self
            .local
            .iter()
            .position(|c| c.addr == relayed && c.proto == Protocol::Udp)
        {
            // The server gave a new allocation the address of a lost one:
            // the candidate is usable again.
            if let Some(i) = self.retired.iter().position(|a| *a == relayed) {
                self.retired.swap_remove(i);
                self.push_event(IceEvent::LocalCandidate(self.local[base].clone()));
                for remote in 0..self.remote.len() {
                    self.add_pair(base, remote);
                }
            }
            self.after_input();
            return Ok(());
        }
        if self.local.len() >= MAX_LOCAL_CANDIDATES {
            self.after_input();
            return Err(IceError::Limit("local candidates"));
        }
        let candidate = Candidate::relayed(relayed, mapped, server);
        self.local.push(candidate.clone());
        let base = self.local.len() - 1;
        self.push_event(IceEvent::LocalCandidate(candidate));
        for remote in 0..self.remote.len() {
            self.add_pair(base, remote);
        }
        self.after_input();
        Ok(())
    }

    /// A relayed candidate's allocation is gone (the TURN server forgot
    /// it): its pairs fail and it is never paired, checked or signaled
    /// again (RFC 8445 §5.1.1.2: a relayed candidate lives only as long as
    /// its allocation).
    pub(crate) fn retire_relayed_candidate(&mut self, relayed: SocketAddr) {
        let Some(base) = self.local.iter().position(|c| {
            c.addr == relayed && c.proto == Protocol::Udp && c.kind == CandidateKind::Relayed
        }) else {
            return;
        };
        if !self.retired.contains(&relayed) {
            self.retired.push(relayed);
        }
        for p in self.pairs.iter_mut().filter(|p| p.local == base) {
            p.state = PairState::Failed;
        }
        self.triggered
            .retain(|&i| self.pairs.get(i).is_some_and(|p| p.local != base));
        self.after_input();
    }

    /// Whether `c` is a relayed candidate whose allocation was lost.
    pub(crate) fn is_retired(&self, c: &Candidate) -> bool {
        c.kind == CandidateKind::Relayed && self.retired.contains(&c.addr)
    }

    /// The runtime gave every host candidate: gathering completes once
    /// server-reflexive requests end.
    pub fn end_of_local_candidates(&mut self) {
        self.local_done = true;
        self.set_gathering_state(IceGatheringState::Gathering);
        self.after_input();
    }

    /// The peer's ufrag and password. Checks start once they and a remote
    /// candidate are known.
    pub fn set_remote_credentials(&mut self, ufrag: &str, pwd: &str) -> Result<(), IceError> {
        // RFC 8445 §5.3: ufrag "at least 4 characters", password "at
        // least 22 characters".
        if ufrag.len() < 4 || pwd.len() < 22 || ufrag.len() > 256 || pwd.len() > 256 {
            return Err(IceError::InvalidCredentials);
        }
        // Each description applied sets them again: the same ones keep
        // what was made of them (the username, the key's HMAC state).
        let same = self
            .remote_creds
            .as_ref()
            .is_some_and(|r| r.creds.ufrag == ufrag && r.creds.pwd == pwd);
        if same {
            self.after_input();
            return Ok(());
        }
        // Our ufrag changes only with a restart, which forgets these.
        self.remote_creds = Some(RemoteCredentials {
            creds: IceCredentials {
                ufrag: ufrag.to_owned(),
                pwd: pwd.to_owned(),
            },
            // RFC 8445 §7.2.2: "RFRAG:LFRAG" in the checks we send.
            username: format!("{ufrag}:{}", self.local_creds.creds.ufrag).into(),
            key: Key::new(pwd.as_bytes()),
        });
        self.after_input();
        Ok(())
    }

    /// The peer is an ICE-lite agent (`a=ice-lite`): RFC 8445 §6.1.1, "the
    /// full agent MUST take the controlling role".
    pub fn set_remote_ice_lite(&mut self, lite: bool) {
        self.remote_lite = lite;
        if lite && !self.config.lite && self.role != IceRole::Controlling {
            self.set_role(IceRole::Controlling);
        }
    }

    /// Sets the role before checks start (the offerer is controlling,
    /// RFC 8445 §6.1.1). A lite agent stays controlled.
    pub fn set_role(&mut self, role: IceRole) {
        if self.config.lite || self.role == role {
            return;
        }
        self.role = role;
        self.recompute_pair_priorities();
    }

    /// Adds a remote candidate (trickled or from the description). A
    /// candidate matching a known peer-reflexive one replaces it (RFC 8838
    /// §11). Candidates beyond [`MAX_REMOTE_CANDIDATES`] are dropped and
    /// counted; TCP active candidates are kept but not paired (we cannot
    /// connect out: they connect to our passive candidates).
    pub fn add_remote_candidate(&mut self, candidate: Candidate) {
        if self.connection_state == IceConnectionState::Closed {
            return;
        }
        if let Some(existing) = self
            .remote
            .iter_mut()
            .find(|c| c.addr == candidate.addr && c.proto == candidate.proto)
        {
            if existing.kind == CandidateKind::PeerReflexive {
                // Keep the pairs (and their check results); adopt the
                // signaled kind and foundation. RFC 8445 §7.3.1.3 gives the
                // prflx the PRIORITY of the check, kept when higher.
                let priority = existing.priority.max(candidate.priority);
                *existing = Candidate {
                    priority,
                    ..candidate
                };
                self.recompute_pair_priorities();
            }
            return;
        }
        if self.remote.len() >= MAX_REMOTE_CANDIDATES {
            self.stats.remote_candidates_dropped += 1;
            return;
        }
        self.remote.push(candidate);
        let remote = self.remote.len() - 1;
        for local in 0..self.local.len() {
            self.add_pair(local, remote);
        }
        self.after_input();
    }

    /// Adds a remote candidate whose address is an mDNS `.local` name: it
    /// waits (at most [`MAX_PENDING_MDNS`]) until the runtime resolves the
    /// name. `candidate.addr` gives the port; its IP is ignored.
    pub fn add_remote_mdns_candidate(&mut self, hostname: &str, candidate: Candidate) {
        if self.pending_mdns.len() >= MAX_PENDING_MDNS {
            self.stats.remote_candidates_dropped += 1;
            return;
        }
        tracing::debug!(
            hostname,
            port = candidate.addr.port(),
            "remote mDNS candidate waits for its name"
        );
        self.pending_mdns.push((hostname.to_owned(), candidate));
    }

    /// The runtime resolved an mDNS name: its candidates join the checklist.
    pub fn resolve_remote(&mut self, hostname: &str, ip: IpAddr) {
        let mut i = 0;
        while i < self.pending_mdns.len() {
            if self.pending_mdns[i].0.eq_ignore_ascii_case(hostname) {
                let (_, mut c) = self.pending_mdns.remove(i);
                c.addr = SocketAddr::new(ip, c.addr.port());
                self.add_remote_candidate(c);
            } else {
                i += 1;
            }
        }
    }

    /// The peer signaled end-of-candidates (RFC 8838 §13): once every pair
    /// failed, the state may become `failed`.
    pub fn remote_end_of_candidates(&mut self) {
        self.remote_done = true;
        self.after_input();
    }

    /// ICE restart (RFC 8445 §9): new local credentials, the checklist and
    /// remote candidates are cleared, local candidates are signaled again.
    /// The selected pair keeps carrying data (and the previous credentials
    /// keep answering the peer's checks on it) until a new pair is
    /// nominated. Give the peer's new credentials and candidates as usual.
    ///
    /// RFC 8445 §9: a restart is mutual. Call this when the application
    /// restarts ICE, and also when a remote description arrives with a new
    /// ufrag or password (the peer restarted), before
    /// [`set_remote_credentials`](Self::set_remote_credentials).
    pub fn restart(&mut self) {
        let creds = IceCredentials {
            ufrag: self.rng.ice_chars(UFRAG_LEN),
            pwd: self.rng.ice_chars(PWD_LEN),
        };
        self.restart_with(creds);
    }

    /// Uses `creds` as our credentials: the connection's signaling chose
    /// them. Before any check they simply replace the generated ones; after,
    /// this is an ICE restart (see [`restart`](Self::restart)).
    pub(crate) fn set_local_credentials(&mut self, creds: IceCredentials) {
        if creds == self.local_creds.creds {
            return;
        }
        if self.remote_creds.is_none() && self.pairs.is_empty() && self.selected.is_none() {
            self.local_creds = OwnCredentials::new(creds);
            return;
        }
        self.restart_with(creds);
    }

    fn restart_with(&mut self, creds: IceCredentials) {
        if self.connection_state == IceConnectionState::Closed {
            return;
        }
        let old = std::mem::replace(&mut self.local_creds, OwnCredentials::new(creds));
        self.previous_creds = Some(old);
        self.remote_creds = None;
        self.remote.clear();
        self.pending_mdns.clear();
        self.pairs.clear();
        self.triggered.clear();
        self.transactions
            .retain(|t| matches!(t.kind, TxKind::Gather { .. }));
        self.remote_done = false;
        self.first_valid_at = None;
        if let Some(s) = &mut self.selected {
            s.pair = None;
            self.previous_selected = Some((s.local, s.remote));
        }
        // Signal the candidates again (with the new ufrag). Peer-reflexive
        // ones are never signaled; they stay in the list so that indices
        // held by gathering transactions stay valid.
        let signaled: Vec<Candidate> = self
            .local
            .iter()
            .filter(|c| c.kind != CandidateKind::PeerReflexive && !self.is_retired(c))
            .cloned()
            .collect();
        for c in signaled {
            self.push_event(IceEvent::LocalCandidate(c));
        }
        if self.gathering_state == IceGatheringState::Complete {
            self.push_event(IceEvent::EndOfCandidates);
        }
        if self.connection_state == IceConnectionState::Failed {
            self.selected = None;
            self.set_connection_state(IceConnectionState::Checking);
        }
        self.after_input();
    }

    /// Closes the agent: nothing more is sent; the state becomes `closed`
    /// (without an event, as in the browser).
    pub fn close(&mut self) {
        self.connection_state = IceConnectionState::Closed;
        self.transactions.clear();
        self.transmits.clear();
        self.triggered.clear();
        self.gather_jobs.clear();
        self.deadline = None;
    }

    // ---- output --------------------------------------------------------

    /// The next datagram to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<IceEvent> {
        self.events.pop_front()
    }

    /// Whether [`poll_event`](Self::poll_event) has something.
    pub(crate) fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// The next non-STUN frame from an ICE-TCP connection (check
    /// [`is_validated`](Self::is_validated) before using it).
    #[must_use]
    pub fn poll_tcp_frame(&mut self) -> Option<TcpFrame> {
        self.tcp_frames.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next; `None`
    /// when nothing is scheduled. O(1): computed after each input.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    // ---- receive path ----------------------------------------------------

    /// A datagram (UDP) or stream chunk (TCP) arrived. Returns whether it
    /// was the agent's: STUN on UDP, anything on a local ICE-TCP socket
    /// (non-STUN frames come out of [`poll_tcp_frame`](Self::poll_tcp_frame)).
    /// Bad STUN is dropped and counted, never an error.
    pub fn handle_receive(&mut self, now: Instant, r: Receive<'_>) -> bool {
        self.now = self.now.max(now);
        if self.connection_state == IceConnectionState::Closed {
            return false;
        }
        let consumed = match r.proto {
            Protocol::Udp => {
                if stun::is_stun(r.contents) {
                    self.handle_stun(r.source, r.destination, Protocol::Udp, r.contents);
                    true
                } else {
                    false
                }
            }
            Protocol::Tcp
                if !self
                    .local
                    .iter()
                    .any(|c| c.addr == r.destination && c.proto == Protocol::Tcp) =>
            {
                false
            }
            Protocol::Tcp => {
                let mut frames: Vec<Vec<u8>> = Vec::new();
                self.tcp.push(r.destination, r.source, r.contents, |f| {
                    frames.push(f.to_vec())
                });
                self.stats.tcp_frames_dropped = self.tcp.evicted;
                for f in frames {
                    if stun::is_stun(&f) {
                        self.handle_stun(r.source, r.destination, Protocol::Tcp, &f);
                    } else if self.tcp_frames.len() < MAX_TCP_FRAMES {
                        self.tcp_frames.push_back(TcpFrame {
                            source: r.source,
                            destination: r.destination,
                            contents: f,
                        });
                    } else {
                        self.stats.tcp_frames_dropped += 1;
                    }
                }
                true
            }
            // TURN over TLS is the TURN client's (a later issue).
            Protocol::Tls => false,
        };
        self.after_input();
        consumed
    }

    fn handle_stun(&mut self, source: SocketAddr, dest: SocketAddr, proto: Protocol, bytes: &[u8]) {
        let Ok(msg) = StunMessage::parse(bytes) else {
            self.stats.stun_dropped += 1;
            return;
        };
        self.stats.bytes_received += bytes.len() as u64;
        match (msg.class(), msg.method()) {
            (Class::Request, Method::BINDING) => self.handle_request(&msg, source, dest, proto),
            (Class::Success | Class::Error, _) => self.handle_response(&msg, source, dest, proto),
            // RFC 8445 §11: Binding indications are keepalives: nothing to do.
            (Class::Indication, Method::BINDING) => {}
            _ => self.stats.stun_dropped += 1,
        }
    }

    /// RFC 8445 §7.3: a connectivity check arrived.
    fn handle_request(
        &mut self,
        msg: &StunMessage<'_>,
        source: SocketAddr,
        dest: SocketAddr,
        proto: Protocol,
    ) {
        let Some(local) = self.local.iter().position(|c| {
            c.addr == dest
                && c.proto == proto
                && matches!(c.kind, CandidateKind::Host | CandidateKind::Relayed)
                && !self.is_retired(c)
        }) else {
            self.stats.stun_dropped += 1;
            return;
        };
        let Some((key, is_previous)) = self.authenticate_request(msg, source, dest, proto) else {
            return;
        };
        self.stats.requests_received += 1;
        let Some(priority) = self.accept_request(msg, source, dest, proto, &key, is_previous)
        else {
            return;
        };
        self.send_success(msg, source, dest, proto, &key);
        if is_previous {
            // A check of the previous session on the old selected pair:
            // answered (consent for the traffic it still carries), nothing
            // else.
            if self
                .selected
                .is_some_and(|s| s.pair.is_none() && s.remote == source && s.local == dest)
                && self.config.lite
            {
                self.consent.last_response = Some(self.now);
            }
            return;
        }
        let Some(remote) = self.learn_peer_reflexive(source, proto, priority) else {
            return;
        };
        let Some(pair) = self.add_pair(local, remote) else {
            return;
        };
        let use_candidate = msg.has(stun::attr_type::USE_CANDIDATE);
        if self.config.lite {
            self.lite_checked(pair, use_candidate);
        } else {
            self.trigger_check(pair);
            self.nominate_on_request(pair, use_candidate);
            self.consent_alongside(pair);
        }
    }

    /// Checks a request's USERNAME and MESSAGE-INTEGRITY, answering 400 or
    /// 401 when they fail. Returns the password that authenticated it and
    /// whether it belongs to the previous session (before an ICE restart).
    fn authenticate_request(
        &mut self,
        msg: &StunMessage<'_>,
        source: SocketAddr,
        dest: SocketAddr,
        proto: Protocol,
    ) -> Option<(Key, bool)> {
        // RFC 8489 §9.1.3: a request lacking USERNAME or message integrity
        // is rejected with 400 (Bad Request).
        let Some(username) = msg.username().filter(|_| msg.has_integrity()) else {
            self.send_error(msg, source, dest, proto, ErrorCode::BAD_REQUEST, None);
            return None;
        };
        // RFC 8445 §7.3: the username is "LFRAG:RFRAG", LFRAG ours.
        let lfrag = username.split(':').next().unwrap_or("");
        let key = if let Some(own) = self.own_credentials(lfrag) {
            own.key.clone()
        } else {
            // RFC 8489 §9.1.3: a USERNAME that is not currently valid, like
            // a failed integrity check, is answered with 401.
            self.send_error(msg, source, dest, proto, ErrorCode::UNAUTHORIZED, None);
            return None;
        };
        if key.0.as_ref().map(|k| msg.check_integrity_kept(k)) != Some(Integrity::Valid) {
            self.send_error(msg, source, dest, proto, ErrorCode::UNAUTHORIZED, None);
            return None;
        }
        let is_previous = lfrag != self.local_creds.creds.ufrag;
        Some((key, is_previous))
    }

    /// The checks on an authenticated request before it is answered with
    /// success: unknown attributes (420), PRIORITY (400) and the role
    /// conflict (487), each answered with its error. Returns the request's
    /// PRIORITY when it passes.
    fn accept_request(
        &mut self,
        msg: &StunMessage<'_>,
        source: SocketAddr,
        dest: SocketAddr,
        proto: Protocol,
        key: &Key,
        is_previous: bool,
    ) -> Option<u32> {
        let refuse = |agent: &mut Self, code| {
            agent.send_error(msg, source, dest, proto, code, Some(key));
            None
        };
        // RFC 8489 §6.3.1 (after authentication): unknown
        // comprehension-required attributes are answered with 420.
        if msg.has_unknown_required() {
            return refuse(self, ErrorCode::UNKNOWN_ATTRIBUTE);
        }
        // RFC 8445 §7.1.1: checks "MUST include the PRIORITY attribute".
        let Some(priority) = msg.priority() else {
            return refuse(self, ErrorCode::BAD_REQUEST);
        };
        if !self.config.lite && !is_previous && self.role_conflict(msg) {
            return refuse(self, ErrorCode::ROLE_CONFLICT);
        }
        Some(priority)
    }

    /// The remote candidate a check came from, learning it as
    /// peer-reflexive when it is new; `None` when the table is full.
    fn learn_peer_reflexive(
        &mut self,
        source: SocketAddr,
        proto: Protocol,
        priority: u32,
    ) -> Option<usize> {
        if let Some(r) = self
            .remote
            .iter()
            .position(|c| c.addr == source && c.proto == proto)
        {
            return Some(r);
        }
        // RFC 8445 §7.3.1.3: "If the source transport address of the
        // request does not match any existing remote candidates, it
        // represents a new peer-reflexive remote candidate."
        if self.remote.len() >= MAX_REMOTE_CANDIDATES {
            self.stats.remote_candidates_dropped += 1;
            return None;
        }
        self.remote
            .push(Candidate::peer_reflexive(source, proto, priority, None));
        Some(self.remote.len() - 1)
    }

    /// Counts a check answered on `pair` and returns the pair.
    fn pair_checked(&mut self, pair: usize) -> Option<&mut CandidatePair> {
        let p = self.pairs.get_mut(pair)?;
        p.request_received = true;
        p.requests_received += 1;
        p.responses_sent += 1;
        Some(p)
    }

    /// A lite agent performs no checks: a pair is valid when the peer's
    /// check on it is answered (RFC 8445 §2.5), and selected when that
    /// check nominates it.
    fn lite_checked(&mut self, pair: usize, use_candidate: bool) {
        let now = self.now;
        let Some(p) = self.pair_checked(pair) else {
            return;
        };
        p.state = PairState::Succeeded;
        p.last_response = Some(now);
        if use_candidate {
            p.nominated = true;
        }
        if self.selected.and_then(|s| s.pair) == Some(pair) {
            self.consent.last_response = Some(now);
        }
        if use_candidate {
            self.select(pair);
        }
    }

    /// RFC 8445 §7.3.1.4, triggered checks: a check on a pair not yet
    /// succeeded queues our own check on it.
    fn trigger_check(&mut self, pair: usize) {
        let Some(p) = self.pair_checked(pair) else {
            return;
        };
        match p.state {
            PairState::Succeeded => {}
            PairState::Frozen | PairState::Waiting | PairState::Failed | PairState::InProgress => {
                if p.state != PairState::InProgress {
                    p.state = PairState::Waiting;
                }
                if !self.triggered.contains(&pair) {
                    self.triggered.push_back(pair);
                }
            }
        }
    }

    /// RFC 8445 §7.3.1.5: a controlled agent receiving USE-CANDIDATE
    /// nominates the pair if its own check on it already succeeded, and
    /// otherwise once that (triggered) check succeeds.
    fn nominate_on_request(&mut self, pair: usize, use_candidate: bool) {
        if !use_candidate || self.role != IceRole::Controlled {
            return;
        }
        let Some(p) = self.pairs.get_mut(pair) else {
            return;
        };
        if p.state == PairState::Succeeded {
            p.nominated = true;
            self.select(pair);
        } else {
            p.remote_nominated = true;
        }
    }

    /// RFC 8445 §7.3.1.1: detects and repairs a role conflict. Returns true
    /// when the request must be answered with 487.
    fn role_conflict(&mut self, msg: &StunMessage<'_>) -> bool {
        match (self.role, msg.ice_controlling(), msg.ice_controlled()) {
            (IceRole::Controlling, Some(theirs), _) => {
                // "If the agent's tiebreaker value is larger than or equal
                // to the contents of the ICE-CONTROLLING attribute, the
                // agent generates a Binding error response and includes an
                // ERROR-CODE attribute with a value of 487 [...]. Otherwise,
                // the agent switches to the controlled role."
                self.stats.role_conflicts += 1;
                if self.tie_breaker >= theirs {
                    true
                } else {
                    self.switch_role(IceRole::Controlled);
                    false
                }
            }
            (IceRole::Controlled, _, Some(theirs)) => {
                // "If the agent's tiebreaker value is larger than or equal
                // to the contents of the ICE-CONTROLLED attribute, the agent
                // switches to the controlling role. Otherwise, the agent
                // generates a Binding error response [...] 487".
                self.stats.role_conflicts += 1;
                if self.tie_breaker >= theirs {
                    self.switch_role(IceRole::Controlling);
                    false
                } else {
                    true
                }
            }
            _ => false,
        }
    }

    /// Switches role after a conflict: pair priorities change with it.
    pub(super) fn switch_role(&mut self, role: IceRole) {
        if self.config.lite || self.role == role {
            return;
        }
        self.role = role;
        self.recompute_pair_priorities();
        self.push_event(IceEvent::RoleChange(role));
    }

    /// RFC 8445 §7.3.1.2: the success response, "XOR-MAPPED-ADDRESS [...]
    /// the source transport address of the request", integrity with our
    /// password, sent back the way the request came (symmetric).
    fn send_success(
        &mut self,
        req: &StunMessage<'_>,
        source: SocketAddr,
        dest: SocketAddr,
        proto: Protocol,
        key: &Key,
    ) {
        // A success response is 20 + XOR-MAPPED-ADDRESS (≤ 24) + MI 24 +
        // FP 8 bytes: a small buffer to clear, not STUN_BUF.
        let mut buf = [0u8; SUCCESS_BUF];
        let written = (|| {
            let mut w = MessageWriter::new(
                &mut buf,
                Class::Success,
                Method::BINDING,
                req.transaction_id(),
            )?;
            w.add(&Attribute::XorMappedAddress(source))?;
            if let Some(key) = &key.0 {
                w.add_integrity_kept(key)?;
            }
            w.finish(true)
        })();
        if let Ok(n) = written {
            self.stats.responses_sent += 1;
            self.queue_stun(dest, source, proto, &buf[..n]);
        }
    }

    /// An error response. Unauthenticated errors (no `key`) go out only if
    /// no larger than the request: never an amplifier for a spoofed source.
    fn send_error(
        &mut self,
        req: &StunMessage<'_>,
        source: SocketAddr,
        dest: SocketAddr,
        proto: Protocol,
        code: u16,
        key: Option<&Key>,
    ) {
        let reason = match code {
            ErrorCode::BAD_REQUEST => "Bad Request",
            ErrorCode::UNAUTHORIZED => "Unauthorized",
            ErrorCode::UNKNOWN_ATTRIBUTE => "Unknown Attribute",
            ErrorCode::ROLE_CONFLICT => "Role Conflict",
            _ => "Error",
        };
        let unknown = req.unknown_required();
        let mut buf = [0u8; STUN_BUF];
        let written = (|| {
            let mut w = MessageWriter::new(
                &mut buf,
                Class::Error,
                Method::BINDING,
                req.transaction_id(),
            )?;
            w.add(&Attribute::ErrorCode(ErrorCode { code, reason }))?;
            if code == ErrorCode::UNKNOWN_ATTRIBUTE {
                w.add(&Attribute::UnknownAttributes(UnknownAttributes::new(
                    unknown,
                )))?;
            }
            if let Some(key) = key.and_then(|k| k.0.as_ref()) {
                w.add_integrity_kept(key)?;
            }
            w.finish(true)
        })();
        let Ok(n) = written else {
            return;
        };
        // Error responses go to any source, spoofed ones included: a token
        // bucket per source address keeps eddy from being a reflector
        // aimed at a victim (RFC 8489 §16.2.1 describes STUN used for a
        // DDoS against a target); the size check below stops amplification,
        // this bounds the rate.
        if !self.error_limiter.allow(source.ip(), self.now) {
            self.stats.error_responses_limited += 1;
            if key.is_none() {
                self.stats.stun_dropped += 1;
            }
            return;
        }
        if key.is_none() {
            self.stats.stun_dropped += 1;
            if n > req.as_bytes().len() {
                return;
            }
        }
        self.stats.responses_sent += 1;
        self.queue_stun(dest, source, proto, &buf[..n]);
    }

    /// Queues a STUN message as a transmit, framed on TCP.
    pub(super) fn queue_stun(
        &mut self,
        from: SocketAddr,
        to: SocketAddr,
        proto: Protocol,
        msg: &[u8],
    ) {
        let contents = match proto {
            Protocol::Udp => {
                let mut buf = self
                    .spare
                    .pop()
                    .unwrap_or_else(|| Vec::with_capacity(msg.len().max(STUN_ROOM)));
                buf.clear();
                buf.extend_from_slice(msg);
                buf
            }
            Protocol::Tcp | Protocol::Tls => match tcp::frame(msg) {
                Some(f) => f,
                None => return,
            },
        };
        self.stats.bytes_sent += msg.len() as u64;
        if self.transmits.len() >= MAX_TRANSMITS {
            self.stats.transmits_dropped += 1;
            return;
        }
        self.transmits.push_back(Transmit {
            proto,
            source: from,
            destination: to,
            contents,
        });
    }

    /// A response arrived: accepted only for an outstanding transaction, from
    /// where the request went (RFC 8445 §7.2.5.2.1), authenticated with the
    /// key the request used.
    fn handle_response(
        &mut self,
        msg: &StunMessage<'_>,
        source: SocketAddr,
        dest: SocketAddr,
        proto: Protocol,
    ) {
        let Some(idx) = self
            .transactions
            .iter()
            .position(|t| t.tid == msg.transaction_id())
        else {
            self.stats.stun_dropped += 1;
            return;
        };
        let tx = &self.transactions[idx];
        if tx
            .key
            .0
            .as_ref()
            .is_some_and(|k| msg.check_integrity_kept(k) != Integrity::Valid)
        {
            // RFC 8445 §7.2.5.1 (via RFC 8489 §9.1.4): a response failing
            // integrity is discarded as if never received.
            self.stats.stun_dropped += 1;
            return;
        }
        // RFC 8445 §7.2.5.2.1: "The ICE agent MUST check that the source
        // and destination transport addresses in the Binding request and
        // response are symmetric. [...] If the addresses are not symmetric,
        // the agent MUST set the candidate pair state to Failed."
        let symmetric = source == tx.remote && dest == tx.local && proto == tx.proto;
        if !symmetric && matches!(tx.kind, TxKind::Gather { .. }) {
            // An unauthenticated server response from elsewhere: spoofable,
            // so it must not end the transaction.
            self.stats.stun_dropped += 1;
            return;
        }
        let answered = Answered::of(tx);
        // Removed where it lies: the last transaction (an idle
        // connection's only one) is dropped in place, not first read out
        // whole (its request is kept inline, ~300 bytes).
        let last = self.transactions.len() - 1;
        if idx != last {
            self.transactions.swap(idx, last);
        }
        self.transactions.truncate(last);
        self.stats.responses_received += 1;
        self.on_response(answered, msg, symmetric);
    }

    // ---- internals shared with checks.rs -------------------------------

    /// Pairs `local` with `remote` if RFC 8445 §6.1.2.2 allows it (same
    /// family and transport, local is a base); returns the pair's index
    /// (existing or new). Bounded by [`MAX_PAIRS`].
    pub(super) fn add_pair(&mut self, local: usize, remote: usize) -> Option<usize> {
        if let Some(i) = self
            .pairs
            .iter()
            .position(|p| p.local == local && p.remote == remote)
        {
            return Some(i);
        }
        let l = self.local.get(local)?;
        let r = self.remote.get(remote)?;
        // RFC 8445 §6.1.2.4: reflexive locals are replaced by their base,
        // which is already paired: pair bases only.
        if !matches!(l.kind, CandidateKind::Host | CandidateKind::Relayed)
            || self.is_retired(l)
            || l.proto != r.proto
            || l.addr.is_ipv4() != r.addr.is_ipv4()
        {
            return None;
        }
        // RFC 6544 §6.2: "local candidates of TCP active type are paired
        // with remote passive ones" (we connect out); a passive local is
        // checked only with peers that connected to it (peer-reflexive
        // remotes).
        if l.proto == Protocol::Tcp {
            let ok = match l.tcp_type {
                Some(TcpType::Active) => {
                    r.tcp_type == Some(TcpType::Passive) && r.kind != CandidateKind::PeerReflexive
                }
                _ => r.kind == CandidateKind::PeerReflexive,
            };
            if !ok {
                return None;
            }
        }
        let priority = self.pair_priority(l, r);
        let state = if self.pairs.iter().any(|p| {
            matches!(p.state, PairState::Waiting | PairState::InProgress)
                && self.same_foundation(p.local, p.remote, local, remote)
        }) {
            PairState::Frozen
        } else {
            PairState::Waiting
        };
        let mut pair = CandidatePair::new(local, remote, priority);
        pair.state = state;
        if self.pairs.len() < MAX_PAIRS {
            self.pairs.push(pair);
            return Some(self.pairs.len() - 1);
        }
        // RFC 8445 §6.1.2.5: keep the highest-priority pairs. Evict the
        // lowest-priority pair that was never checked, if lower than this.
        let victim = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p.state, PairState::Frozen | PairState::Waiting))
            .min_by_key(|(_, p)| p.priority)
            .map(|(i, p)| (i, p.priority));
        self.stats.pairs_dropped += 1;
        match victim {
            Some((i, lowest)) if lowest < priority => {
                self.triggered.retain(|&t| t != i);
                self.pairs[i] = pair;
                Some(i)
            }
            _ => None,
        }
    }

    fn pair_priority(&self, l: &Candidate, r: &Candidate) -> u64 {
        match self.role {
            IceRole::Controlling => CandidatePair::compute_priority(l.priority, r.priority),
            IceRole::Controlled => CandidatePair::compute_priority(r.priority, l.priority),
        }
    }

    pub(super) fn recompute_pair_priorities(&mut self) {
        for i in 0..self.pairs.len() {
            let p = &self.pairs[i];
            let (Some(l), Some(r)) = (self.local.get(p.local), self.remote.get(p.remote)) else {
                continue;
            };
            let priority = self.pair_priority(l, r);
            self.pairs[i].priority = priority;
        }
    }

    pub(super) fn same_foundation(&self, l1: usize, r1: usize, l2: usize, r2: usize) -> bool {
        match (
            self.local.get(l1),
            self.remote.get(r1),
            self.local.get(l2),
            self.remote.get(r2),
        ) {
            (Some(a), Some(b), Some(c), Some(d)) => {
                a.foundation == c.foundation && b.foundation == d.foundation
            }
            _ => false,
        }
    }

    pub(super) fn push_event(&mut self, event: IceEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.stats.events_dropped += 1;
            tracing::warn!(?event, "ICE event queue full, event dropped");
            return;
        }
        self.events.push_back(event);
    }

    pub(super) fn set_gathering_state(&mut self, state: IceGatheringState) {
        if self.gathering_state != state {
            self.gathering_state = state;
            self.push_event(IceEvent::GatheringStateChange(state));
        }
    }

    pub(super) fn set_connection_state(&mut self, state: IceConnectionState) {
        if self.connection_state != state && self.connection_state != IceConnectionState::Closed {
            tracing::debug!(from = ?self.connection_state, to = ?state, "ICE connection state");
            self.connection_state = state;
            self.checking_since = (state == IceConnectionState::Checking).then_some(self.now);
            self.push_event(IceEvent::ConnectionStateChange(state));
        }
    }
}
