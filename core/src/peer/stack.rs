//! The transport stack under a `PeerConnection`: ICE, DTLS and SCTP (and
//! the SRTP keys DTLS exports), as one machine: datagrams and timeouts in
//! ([`Stack::handle_receive`], [`Stack::handle_timeout`]), datagrams out
//! ([`Stack::poll_transmit`]), the next deadline of each layer
//! ([`Stack::poll_timeout`]), and one [`Stack::apply`] of what JSEP
//! negotiated. `wire.rs` moves the layers' events between them and turns
//! them into the connection's events.
//!
//! Data path (ARCHITECTURE.md §3): a datagram is classified by its first byte
//! (RFC 7983); STUN goes to ICE; DTLS only from an address ICE validated
//! (records that race ahead of ICE are held, bounded) to the DTLS
//! transport, whose application data is SCTP; RTP/RTCP wait for the media
//! layer. Outbound, SCTP packets become DTLS records, which ICE sends on
//! the selected pair (with RFC 4571 framing on TCP).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use super::jsep::{NegotiatedTransport, RemoteCandidate};
use crate::config::Configuration;
use crate::demux::{classify, PacketKind};
use crate::dtls::{
    dtls_config, Certificate, DtlsConfigError, DtlsEvent, DtlsRole, DtlsTransport,
    DtlsTransportState, DtlsVersion, KeyAlgorithm, DEFAULT_CERTIFICATE_LIFETIME,
};
use crate::error::ConfigError;
use crate::error::MediaSendError;
use crate::ice::{
    Candidate, IceAgent, IceConfig, IceConnectionState, IceCredentials, IceEvent, IceRole,
};
use crate::io::{Protocol, Receive, Transmit};
use crate::rng::Rng;
use crate::room::FreeIfEmpty;
use crate::sctp::{SctpConfig, SctpEvent, SctpTransport};
use crate::sdp::{CandidateAddress, CandidateTransport, SdpCandidate};
use crate::srtp::{SrtpContext, SrtpCounters, SrtpProfile};
use crate::stats::{Dropped, InputCounters};
use crate::timer::Timer;

/// DTLS datagrams held while ICE has not yet validated their sender
/// (seen with Chromium: records may race ICE's "connected").
const MAX_EARLY_DTLS: usize = 32;

/// Something the stack reports to the connection, from
/// [`Stack::poll_event`]; the stack has already done its own part (DTLS
/// started on a selected pair, SCTP started or closed with DTLS, SRTP keys
/// installed).
#[derive(Debug)]
pub(crate) enum TransportEvent {
    /// An ICE event: candidates, gathering and connection states, the
    /// selected pair.
    Ice(IceEvent),
    /// The DTLS transport's state changed.
    DtlsState(DtlsTransportState),
    /// An SCTP event: the association's state, channels, messages.
    Sctp(SctpEvent),
    /// An RTP packet, SRTP-unprotected, from the selected pair.
    Rtp(Vec<u8>),
    /// An RTCP compound packet, SRTCP-unprotected, from the selected pair.
    Rtcp(Vec<u8>),
    /// A TURN server could not give (or keep) a relayed candidate (W3C
    /// `icecandidateerror`).
    IceCandidateError {
        /// The server's URL as configured.
        url: String,
        /// The STUN error code, or 701 when the server never answered.
        code: u16,
        /// The reason phrase.
        text: String,
        /// The local socket that talked to the server.
        address: Option<SocketAddr>,
    },
}

/// Datagrams and bytes through the transport, each way.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Traffic {
    pub(crate) packets_sent: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) packets_received: u64,
    pub(crate) bytes_received: u64,
    pub(crate) last_received: Option<Instant>,
}

/// The layers under one connection.
pub(crate) struct Stack {
    pub(crate) ice: IceAgent,
    pub(crate) dtls: Option<DtlsTransport>,
    pub(crate) sctp: SctpTransport,
    pub(crate) certificate: Certificate,
    /// Sending and receiving SRTP contexts, built from `srtp_keys` on
    /// first use ([`Stack::srtp_mut`]): their OpenSSL cipher contexts cost
    /// heap that a data-channel-only session never uses.
    /// Boxed: an SRTP context pair is ~1 KB that a data-channel-only
    /// connection would carry inline for nothing.
    srtp: Option<Box<(SrtpContext, SrtpContext)>>,
    /// The SRTP profile DTLS negotiated and whether this side is the DTLS
    /// client, until the contexts are built from the keying material DTLS
    /// then derives.
    srtp_keys: Option<(SrtpProfile, bool)>,
    /// Lent to the DTLS transport in deterministic mode.
    /// Boxed: absent (336 bytes inline for nothing) without a seed.
    dtls_rng: Option<Box<Rng>>,
    dtls_config: Option<Arc<dimpl::Config>>,
    early_dtls: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    /// Remote candidates already handed to ICE (bounded by JSEP's limit
    /// per m-line).
    fed_remote: Vec<SdpCandidate>,
    remote_end_fed: bool,
    /// The first offer/answer decided our ICE role.
    role_decided: bool,
    /// What arrived, by kind, and what was dropped, by reason.
    pub(crate) counters: InputCounters,
    /// Datagrams and their bytes sent and received on the transport (W3C
    /// RTCTransportStats).
    pub(crate) traffic: Traffic,
    /// Datagrams to send, in order.
    pub(super) transmits: VecDeque<Transmit>,
    /// The TURN servers of the configuration (`stack_turn.rs`).
    pub(super) turn_servers: Vec<super::stack_turn::TurnServer>,
    /// One TURN client per (TURN server, local UDP socket).
    pub(super) turn: Vec<super::stack_turn::TurnSlot>,
    /// Relayed addresses of allocations replaced after an ICE restart
    /// (`stack_turn.rs`), at most `MAX_TURN_CLIENTS`.
    pub(super) turn_retired: Vec<SocketAddr>,
    /// Lends the TURN clients their transaction-id generators: made from
    /// `turn_seed` when a TURN client is first made
    /// ([`turn_rng`](Self::turn_rng)), as most connections have none.
    turn_rng: Option<Box<Rng>>,
    turn_seed: crate::rng::ForkSeed,
    /// What the layers reported during one [`step`](Self::step), for the
    /// connection, which drains it after each step (so it holds at most
    /// what the layers' own bounded queues held).
    pub(super) events: VecDeque<TransportEvent>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("ice", &self.ice.connection_state())
            .field("dtls", &self.dtls_state())
            .field("sctp", &self.sctp.state())
            .finish()
    }
}

/// The shared DTLS configuration for unseeded connections with the default
/// MTU: building one costs a crypto self-test (ARCHITECTURE.md §4), so it is
/// built once per process.
fn shared_dtls_config(mtu: usize) -> Result<Arc<dimpl::Config>, DtlsConfigError> {
    static SHARED: OnceLock<Result<Arc<dimpl::Config>, DtlsConfigError>> = OnceLock::new();
    if mtu == Configuration::default().mtu {
        SHARED.get_or_init(|| dtls_config(mtu, None)).clone()
    } else {
        dtls_config(mtu, None)
    }
}

/// `stun:HOST[:PORT]` with an IP literal host (the runtime resolves names
/// before they reach the core).
fn stun_server_addr(url: &str) -> Option<SocketAddr> {
    let rest = url.strip_prefix("stun:")?;
    let rest = rest.split('?').next()?;
    if let Ok(addr) = rest.parse::<SocketAddr>() {
        return Some(addr);
    }
    let host = rest.trim_start_matches('[').trim_end_matches(']');
    host.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, 3478))
}

/// The SDP form of one of our candidates.
pub(crate) fn to_sdp_candidate(c: &Candidate) -> SdpCandidate {
    SdpCandidate {
        foundation: c.foundation.clone(),
        component: Candidate::COMPONENT,
        transport: sdp_transport(c),
        priority: c.priority,
        address: CandidateAddress::Ip(signaled_address(c)),
        kind: c.kind,
        related_address: c.related.map(CandidateAddress::Ip),
        tcp_type: c.tcp_type,
        extensions: vec![("generation".into(), "0".into())],
    }
}

/// Whether `s` is [`to_sdp_candidate`]`(c)`, compared in place: the
/// rendered candidates are checked on every change of the agent's, and are
/// mostly the same.
pub(crate) fn is_sdp_candidate_of(s: &SdpCandidate, c: &Candidate) -> bool {
    s.foundation == c.foundation
        && s.component == Candidate::COMPONENT
        && s.transport == sdp_transport(c)
        && s.priority == c.priority
        && s.address == CandidateAddress::Ip(signaled_address(c))
        && s.kind == c.kind
        && s.related_address == c.related.map(CandidateAddress::Ip)
        && s.tcp_type == c.tcp_type
        && matches!(&s.extensions[..], [(k, v)] if k == "generation" && v == "0")
}

fn sdp_transport(c: &Candidate) -> CandidateTransport {
    match c.proto {
        Protocol::Udp => CandidateTransport::Udp,
        _ => CandidateTransport::Tcp,
    }
}

/// RFC 6544 §4.5: "the port of an active candidate MUST be set to 9, the
/// discard port".
fn signaled_address(c: &Candidate) -> SocketAddr {
    if c.tcp_type == Some(crate::ice::TcpType::Active) {
        SocketAddr::new(c.addr.ip(), 9)
    } else {
        c.addr
    }
}

/// The agent's form of a remote candidate; `None` for a name (mDNS) or a
/// component other than RTP's.
fn to_ice_candidate(c: &SdpCandidate, addr: SocketAddr) -> Candidate {
    Candidate {
        addr,
        proto: match c.transport {
            CandidateTransport::Udp => Protocol::Udp,
            CandidateTransport::Tcp => Protocol::Tcp,
        },
        kind: c.kind,
        priority: c.priority,
        foundation: c.foundation.clone(),
        related: match &c.related_address {
            Some(CandidateAddress::Ip(a)) => Some(*a),
            _ => None,
        },
        tcp_type: c.tcp_type,
    }
}

/// The connection's certificate: the configured one, or a new ECDSA P-256
/// one (from the generator in deterministic mode).
fn connection_certificate(
    config: &Configuration,
    rng: &mut Rng,
) -> Result<Certificate, ConfigError> {
    match config.certificates.first() {
        Some(c) => Ok(c.clone()),
        None if rng.is_deterministic() => Certificate::generate_seeded(
            KeyAlgorithm::EcdsaP256,
            config.wall_clock_anchor(),
            DEFAULT_CERTIFICATE_LIFETIME,
            rng,
        ),
        None => Certificate::generate(
            KeyAlgorithm::EcdsaP256,
            config.wall_clock_anchor(),
            DEFAULT_CERTIFICATE_LIFETIME,
        ),
    }
    .map_err(|e| ConfigError::Crypto(e.to_string()))
}

/// The ICE agent, with our credentials and the configuration's STUN
/// servers.
fn ice_agent(
    config: &Configuration,
    rng: &mut Rng,
    credentials: IceCredentials,
    now: Instant,
) -> Result<IceAgent, ConfigError> {
    let ice_config = IceConfig {
        lite: config.ice_lite,
        checking_timeout: config.ice_checking_timeout,
        error_responses_per_second: config.stun_error_responses_per_second,
        error_responses_burst: config.stun_error_responses_burst,
        ..IceConfig::default()
    };
    let mut ice = IceAgent::new(ice_config, IceRole::Controlling, rng.fork(), now)
        .map_err(|e| ConfigError::Crypto(e.to_string()))?;
    ice.set_local_credentials(credentials);
    for server in &config.ice_servers {
        for url in &server.urls {
            match stun_server_addr(url) {
                Some(addr) => {
                    if let Err(e) = ice.add_stun_server(addr) {
                        tracing::warn!(%url, %e, "STUN server refused");
                    }
                }
                // TURN URLs are the TURN clients' (`stack_turn.rs`).
                None if url.starts_with("turn") => {}
                None => {
                    tracing::warn!(%url, "ICE server not used: hostnames must be resolved by the runtime")
                }
            }
        }
    }
    Ok(ice)
}

impl Stack {
    /// The layers of a new connection.
    pub(crate) fn new(
        config: &Configuration,
        rng: &mut Rng,
        credentials: IceCredentials,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        let certificate = connection_certificate(config, rng)?;
        let ice = ice_agent(config, rng, credentials, now)?;
        let turn_servers = super::stack_turn::turn_servers(config);
        let turn_seed = rng.fork_seed();
        let sctp = SctpTransport::new(
            SctpConfig {
                mtu: config.mtu.saturating_sub(SctpConfig::DTLS_OVERHEAD),
                ..SctpConfig::default()
            },
            rng.fork(),
            now,
        );
        let (dtls_rng, dtls_cfg) = if rng.is_deterministic() {
            let seed = rng.u64();
            (
                Some(Box::new(rng.fork())),
                dtls_config(config.mtu, Some(seed)),
            )
        } else {
            (None, shared_dtls_config(config.mtu))
        };
        let dtls_cfg = dtls_cfg.map_err(|e| ConfigError::Crypto(e.to_string()))?;
        Ok(Self {
            ice,
            dtls: None,
            sctp,
            certificate,
            srtp: None,
            srtp_keys: None,
            dtls_rng,
            dtls_config: Some(dtls_cfg),
            early_dtls: VecDeque::new(),
            fed_remote: Vec::new(),
            remote_end_fed: false,
            role_decided: false,
            counters: InputCounters::default(),
            traffic: Traffic::default(),
            transmits: VecDeque::new(),
            turn_servers,
            turn: Vec::new(),
            turn_retired: Vec::new(),
            turn_rng: None,
            turn_seed,
            events: VecDeque::new(),
        })
    }

    /// Gives back the storage of the stack's queues that are empty (called
    /// on timer wakeups, so an idle connection does not keep the room
    /// its setup needed).
    pub(crate) fn trim(&mut self) {
        // Room for a consent exchange's two datagrams (a check's answer and
        // the check that goes with it) and the heartbeat record that may go
        // with them, once ICE has a pair: kept, so that an idle
        // connection's wakeups take no allocation for them (each slot is
        // ~96 bytes of every idle peer's heap).
        self.transmits
            .keep_if_empty(3 * usize::from(self.ice.selected_pair().is_some()));
        self.events.free_if_empty();
        self.early_dtls.free_if_empty();
        self.fed_remote.shrink_to_fit();
        self.ice.trim();
        if let Some(dtls) = self.dtls.as_mut() {
            dtls.trim();
        }
        self.sctp.trim();
    }

    /// Routes a received datagram (ARCHITECTURE.md §3). True when it was a
    /// STUN message over UDP that only ICE saw (see
    /// [`pump_ice_only`](Self::pump_ice_only)).
    pub(crate) fn handle_receive(&mut self, now: Instant, r: Receive<'_>) -> bool {
        self.traffic.packets_received += 1;
        self.traffic.bytes_received += r.contents.len() as u64;
        self.traffic.last_received = Some(now);
        self.turn_touch(now);
        if r.proto == Protocol::Tcp
            && self.turn_receive_stream(now, r.source, r.destination, r.contents)
        {
            return false;
        }
        if r.proto != Protocol::Udp {
            // ICE-TCP: ICE owns the stream and hands back the non-STUN
            // frames.
            self.ice.handle_receive(now, r);
            while let Some(f) = self.ice.poll_tcp_frame() {
                self.route_datagram(now, f.source, f.destination, &f.contents);
            }
            return false;
        }
        self.route_datagram(now, r.source, r.destination, r.contents)
    }

    /// After a STUN datagram only ICE saw (a consent check or its answer,
    /// most of what an idle connection receives), on a connection past its
    /// set-up with no TURN client: nothing but ICE's datagrams and its
    /// timer can have moved, so those go out and the other layers are not
    /// polled. False, with nothing done, when more may have: ICE has
    /// events for the layers above, DTLS is not connected or a TURN client
    /// runs; the caller then pumps every layer ([`step`](Self::step)).
    ///
    /// A due SCTP heartbeat is not served here but by the next timer
    /// wakeup or DTLS datagram: the peer's consent check comes first in a
    /// wakeup that carries its HEARTBEAT too, and the answer to that
    /// HEARTBEAT then carries ours (dcSCTP's EDDY-PATCH 16: three records
    /// instead of four).
    pub(crate) fn pump_ice_only(&mut self, now: Instant) -> bool {
        let settled = self
            .dtls
            .as_ref()
            .is_some_and(|d| d.state() == DtlsTransportState::Connected);
        if !settled || self.ice.has_events() || !self.turn.is_empty() {
            return false;
        }
        self.ice.touch(now);
        while let Some(t) = self.ice.poll_transmit() {
            self.push_transmit(t);
        }
        true
    }

    /// As [`pump_ice_only`](Self::pump_ice_only), after ICE's timer alone
    /// fired (an idle connection's consent check), unless an SCTP heartbeat
    /// is due: a timer wakeup serves it (`serve_due_heartbeat`, through
    /// the caller's full pump).
    pub(crate) fn pump_ice_only_on_timer(&mut self, now: Instant) -> bool {
        !self.sctp.heartbeat_due(now) && self.pump_ice_only(now)
    }

    /// Returns whether the datagram was STUN for ICE.
    pub(super) fn route_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) -> bool {
        // From a TURN server to the socket of its allocation: the TURN
        // client's (responses; relayed data comes back here unwrapped, as
        // if received on the relayed address).
        if self.turn_receive(now, source, destination, contents) {
            return false;
        }
        match classify(contents) {
            Some(PacketKind::Stun) => {
                self.counters.stun += 1;
                let r = Receive {
                    proto: Protocol::Udp,
                    source,
                    destination,
                    contents,
                };
                self.ice.handle_receive(now, r);
                return true;
            }
            Some(PacketKind::Dtls) => {
                self.counters.dtls += 1;
                let validated = self.ice.is_validated(source, destination);
                match self.dtls.as_mut() {
                    Some(d) if validated => d.handle_receive(now, contents),
                    _ => {
                        // Before ICE validated the sender (or before the
                        // answer gave us a DTLS role): hold a few.
                        if self.early_dtls.len() < MAX_EARLY_DTLS {
                            self.early_dtls
                                .push_back((source, destination, contents.to_vec()));
                        } else {
                            self.counters.count_drop(Dropped::DtlsEarly);
                        }
                    }
                }
            }
            Some(kind @ (PacketKind::Rtp | PacketKind::Rtcp)) => {
                let rtp = kind == PacketKind::Rtp;
                if rtp {
                    self.counters.rtp += 1;
                } else {
                    self.counters.rtcp += 1;
                }
                self.receive_srtp(rtp, source, destination, contents);
            }
            Some(PacketKind::TurnChannelData) => {
                // ChannelData not from one of our TURN servers (those went
                // to `turn_receive` above): dropped, and counted here.
                self.counters.turn_channel_data += 1;
            }
            Some(PacketKind::Zrtp) => {
                self.counters.count_drop(Dropped::Zrtp);
                tracing::debug!(%source, "ZRTP datagram dropped");
            }
            None => {
                self.counters.count_drop(Dropped::UnknownProtocol);
                tracing::debug!(%source, len = contents.len(), "datagram of no known protocol dropped");
            }
        }
        false
    }

    /// Awake anyway (a timer, a datagram, an API call): a due SCTP
    /// heartbeat goes now rather than on a wakeup of its own. Once per
    /// wakeup, after what came in was handled: the peer's HEARTBEAT, if
    /// that is what came, then carries ours in its answer (dcSCTP's
    /// EDDY-PATCH 16). True if SCTP was woken.
    pub(crate) fn serve_due_heartbeat(&mut self, now: Instant) -> bool {
        let due = self.sctp.heartbeat_due(now);
        if due {
            self.sctp.handle_timeout(now);
        }
        due
    }

    /// Moves what each layer has for the next once, in the order ICE,
    /// DTLS, SCTP: ICE's events and datagrams, DTLS's events (acted on:
    /// SCTP starts when DTLS connects if `sctp_negotiated`, and closes with
    /// it; SRTP keys are installed; records go to SCTP) and records, SCTP's
    /// events. What the connection must know is queued for
    /// [`poll_event`](Self::poll_event). Returns whether anything moved.
    pub(crate) fn step(&mut self, now: Instant, sctp_negotiated: bool) -> bool {
        self.ice.touch(now);
        self.turn_touch(now);
        let mut moved = self.pump_turn();
        while let Some(e) = self.ice.poll_event() {
            moved = true;
            let selected = matches!(e, IceEvent::SelectedPairChange { .. });
            self.events.push_back(TransportEvent::Ice(e));
            if selected {
                self.on_writable(now);
                self.maybe_start_sctp(now, sctp_negotiated);
            }
        }
        // A check succeeded: DTLS need not wait for the nomination (the
        // controlled agent hears of it half a round trip later).
        if self
            .dtls
            .as_ref()
            .is_some_and(|d| d.state() == DtlsTransportState::New)
            && self.ice.data_pair().is_some()
        {
            self.on_writable(now);
        }
        while let Some(t) = self.ice.poll_transmit() {
            moved = true;
            self.push_transmit(t);
        }
        while let Some(e) = self.dtls.as_mut().and_then(DtlsTransport::poll_event) {
            moved = true;
            self.on_dtls_event(now, e, sctp_negotiated);
        }
        while let Some(r) = self.dtls.as_mut().and_then(DtlsTransport::poll_transmit) {
            moved = true;
            match self.ice.transmit_data(r) {
                Some(t) => self.push_transmit(t),
                None => self.counters.count_drop(Dropped::DtlsNoRoute),
            }
        }
        while let Some(e) = self.sctp.poll_event() {
            moved = true;
            self.events.push_back(TransportEvent::Sctp(e));
        }
        moved |= self.pump_turn();
        moved
    }

    fn on_dtls_event(&mut self, now: Instant, e: DtlsEvent, sctp_negotiated: bool) {
        match e {
            DtlsEvent::State(s) => {
                self.events.push_back(TransportEvent::DtlsState(s));
                if s == DtlsTransportState::Connected {
                    self.maybe_start_sctp(now, sctp_negotiated);
                }
                if matches!(s, DtlsTransportState::Closed | DtlsTransportState::Failed) {
                    self.sctp.close();
                }
            }
            DtlsEvent::FalseStart => self.maybe_start_sctp(now, sctp_negotiated),
            DtlsEvent::SrtpReady(profile) => {
                let is_client =
                    self.dtls.as_ref().map(DtlsTransport::role) == Some(DtlsRole::Client);
                self.srtp = None;
                self.srtp_keys = Some((profile, is_client));
            }
            DtlsEvent::Data(d) => {
                // The record's plaintext buffer goes to SCTP, whose DATA
                // chunks keep views of it (ARCHITECTURE.md §5.6); DTLS
                // gets a buffer back for the next record.
                if let Some(back) = self.sctp.handle_packet_owned(now, d) {
                    if let Some(dtls) = self.dtls.as_mut() {
                        dtls.recycle(back);
                    }
                }
            }
        }
    }

    /// Starts SCTP (if negotiated) once DTLS carries its packets and ICE
    /// selected a pair.
    ///
    /// DTLS carries them once connected, or, for the client, from its
    /// Finished on (DTLS False Start): its INIT then goes with its
    /// Finished and the server reads it as soon as its handshake completes,
    /// a round trip before an INIT sent after the server's Finished.
    ///
    /// DTLS itself may run on a valid pair before the nomination (RFC 8445
    /// §12.1), but SCTP waits for the selected pair, so that a channel
    /// never opens before the connection is `connected` (ICE selected,
    /// DTLS connected: the client's DTLS connects before any SCTP packet of
    /// the server's, which follow the server's Finished). With the usual
    /// timing this costs nothing: each side selects before its DTLS can
    /// carry data.
    fn maybe_start_sctp(&mut self, now: Instant, sctp_negotiated: bool) {
        if !sctp_negotiated || self.ice.selected_pair().is_none() {
            return;
        }
        if let Some(d) = self.dtls.as_ref() {
            if d.state() == DtlsTransportState::Connected || d.false_start() {
                let role = d.role();
                self.sctp.start(now, role);
            }
        }
    }

    /// The DTLS transport's state (W3C `RTCDtlsTransport.state`): `new`
    /// until the answer gave a role, and `closed` once the connection
    /// closed (W3C close(): every transport's state becomes "closed",
    /// even a failed one's).
    pub(crate) fn dtls_state(&self) -> DtlsTransportState {
        match &self.dtls {
            None => DtlsTransportState::New,
            Some(_) if self.ice.connection_state() == IceConnectionState::Closed => {
                DtlsTransportState::Closed
            }
            Some(d) => d.state(),
        }
    }

    /// Unprotects an SRTP or SRTCP packet and queues it for the media
    /// layer. RFC 7983 and ARCHITECTURE.md §3: media is accepted only from
    /// an address ICE validated, and only once DTLS exported keys (that is,
    /// after it verified the peer's certificate).
    fn receive_srtp(
        &mut self,
        rtp: bool,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) {
        if !self.ice.is_validated(source, destination) {
            self.counters.count_drop(Dropped::MediaUnvalidated);
            return;
        }
        let Some((_, rx)) = self.srtp_mut() else {
            self.counters.count_drop(Dropped::MediaBeforeKeys);
            return;
        };
        let mut packet = contents.to_vec();
        let result = if rtp {
            rx.unprotect_rtp(&mut packet)
        } else {
            rx.unprotect_rtcp(&mut packet)
        };
        match result {
            // The SRTP context counts each failure by kind.
            Err(e) => tracing::trace!(%e, rtp, "SRTP packet dropped"),
            Ok(()) if rtp => self.events.push_back(TransportEvent::Rtp(packet)),
            Ok(()) => self.events.push_back(TransportEvent::Rtcp(packet)),
        }
    }

    /// Protects an RTP (`rtp`) or RTCP packet in place and queues it on the
    /// selected pair.
    pub(crate) fn send_srtp(
        &mut self,
        rtp: bool,
        mut packet: Vec<u8>,
    ) -> Result<(), MediaSendError> {
        let Some((tx, _)) = self.srtp_mut() else {
            return Err(MediaSendError::NotConnected);
        };
        let result = if rtp {
            tx.protect_rtp(&mut packet)
        } else {
            tx.protect_rtcp(&mut packet)
        };
        result.map_err(MediaSendError::Srtp)?;
        let t = self
            .ice
            .transmit_data(packet)
            .ok_or(MediaSendError::NotConnected)?;
        self.push_transmit(t);
        Ok(())
    }

    /// The generator the TURN clients' generators are forked from.
    pub(super) fn turn_rng(&mut self) -> &mut Rng {
        let seed = &self.turn_seed;
        self.turn_rng.get_or_insert_with(|| Box::new(seed.rng()))
    }

    /// The SRTP contexts (sending, receiving), built on the first call
    /// after DTLS exported keys. The media layer's way in.
    pub(crate) fn srtp_mut(&mut self) -> Option<&mut (SrtpContext, SrtpContext)> {
        if let Some((profile, is_client)) = self.srtp_keys.take() {
            let material = self
                .dtls
                .as_mut()
                .and_then(DtlsTransport::srtp_keying_material);
            match material {
                Some(material) => {
                    match SrtpContext::pair_from_dtls(profile, &material, is_client) {
                        Ok(pair) => self.srtp = Some(Box::new(pair)),
                        Err(e) => tracing::warn!(%e, "SRTP keys refused"),
                    }
                }
                None => tracing::warn!("DTLS gave no SRTP keying material"),
            }
        }
        self.srtp.as_deref_mut()
    }

    /// Whether the SRTP contexts were built, and so DTLS's keying material
    /// derived.
    #[cfg(all(test, feature = "sim"))]
    pub(crate) fn srtp_built(&self) -> bool {
        self.srtp.is_some()
    }

    /// The SRTP profile DTLS negotiated, whether or not the contexts were
    /// built yet.
    pub(crate) fn srtp_profile(&self) -> Option<SrtpProfile> {
        match &self.srtp_keys {
            Some((profile, ..)) => Some(*profile),
            None => self.srtp.as_deref().map(|(tx, _)| tx.profile()),
        }
    }

    /// The SRTP contexts' counters (sending, receiving); zero before the
    /// contexts are built, as they would be in new ones.
    pub(crate) fn srtp_counters(&self) -> (SrtpCounters, SrtpCounters) {
        self.srtp
            .as_deref()
            .map(|(tx, rx)| (tx.counters(), rx.counters()))
            .unwrap_or_default()
    }

    /// Takes one message out of SCTP, if one is ready (the connection asks
    /// only while the application's queue has room); its events follow in
    /// [`poll_event`](Self::poll_event).
    pub(crate) fn receive_message(&mut self) -> bool {
        if !self.sctp.receive_one() {
            return false;
        }
        while let Some(e) = self.sctp.poll_event() {
            self.events.push_back(TransportEvent::Sctp(e));
        }
        true
    }

    /// Hands SCTP's packets to DTLS. Returns their bytes (the pacer's
    /// budget is charged with them), `None` if there were none.
    pub(crate) fn flush_sctp(&mut self) -> Option<usize> {
        let mut moved = None;
        while let Some(p) = self.sctp.poll_transmit() {
            *moved.get_or_insert(0) += p.len().saturating_sub(SctpConfig::DTLS_HEADROOM);
            match self.dtls.as_mut() {
                // Sealed in its own buffer, which leaves as the datagram;
                // given back if DTLS copied it instead.
                Some(d) => match d.send_packet(p, SctpConfig::DTLS_HEADROOM) {
                    Ok(None) => {}
                    Ok(Some(p)) => {
                        let _ = self.sctp.recycle(p);
                    }
                    Err(e) => tracing::debug!(%e, "SCTP packet not sent"),
                },
                None => tracing::debug!("SCTP packet before DTLS"),
            }
        }
        moved
    }

    /// The next thing the connection must know.
    pub(crate) fn poll_event(&mut self) -> Option<TransportEvent> {
        let e = self.events.pop_front();
        // Drained after a burst (a thousand channels opening): give
        // the room back at once, small queues wait for `trim`.
        if e.is_none() && self.events.capacity() > 16 {
            self.events.shrink_to_fit();
        }
        e
    }

    /// ICE has a pair to send on (a valid one, then the selected one):
    /// DTLS may start, and the records that raced ahead of ICE are replayed
    /// (or dropped if their source is still not validated).
    fn on_writable(&mut self, now: Instant) {
        if let Some(d) = self.dtls.as_mut() {
            d.start(now);
        }
        self.replay_early_dtls(now);
    }

    /// Our ICE credentials, from the local description. A new ufrag (an
    /// ICE restart) forgets the remote candidates handed to ICE: they are
    /// handed over again (those of the new session come from the same
    /// lists).
    ///
    /// TURN allocations not carrying the selected pair are made again, as
    /// browsers gather new relayed candidates on a restart: that is how a
    /// connection recovers from a TURN server that lost its allocations.
    pub(crate) fn set_local_credentials(&mut self, now: Instant, credentials: IceCredentials) {
        // A restart arms ICE's timers from its clock: bring it to now first.
        self.ice.touch(now);
        let before = self.ice.local_credentials().ufrag.clone();
        // Before the restart, so that the new session's gathering waits for
        // the new allocations (no early end-of-candidates).
        if credentials.ufrag != before && self.ice.remote_credentials().is_some() {
            self.turn_reallocate(now);
        }
        self.ice.set_local_credentials(credentials);
        if self.ice.local_credentials().ufrag != before {
            self.fed_remote.clear();
            self.remote_end_fed = false;
        }
    }

    /// Sets ICE's role, once: from the first offer/answer (a role conflict
    /// repairs it later, inside ICE).
    pub(crate) fn decide_role(&mut self, role: IceRole) {
        if !self.role_decided {
            self.role_decided = true;
            self.ice.set_role(role);
        }
    }

    /// Whether [`decide_role`](Self::decide_role) was called.
    pub(crate) fn role_decided(&self) -> bool {
        self.role_decided
    }

    /// The next datagram to send.
    pub(crate) fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// A sent datagram's buffer, for a later one (see
    /// `PeerConnection::recycle_transmit`).
    pub(crate) fn recycle_transmit(&mut self, buf: Vec<u8>) {
        // Small ones first to ICE: an idle connection's consent checks and
        // answers then reuse theirs (issue 13). Then SCTP: data channel
        // datagrams leave in the buffer SCTP built the packet in
        // (ARCHITECTURE.md §5.6), so its pool refills from here; DTLS's
        // (handshake, small records' copies) takes the rest.
        let Some(buf) = self.ice.recycle(buf) else {
            return;
        };
        let Some(buf) = self.sctp.recycle(buf) else {
            return;
        };
        if let Some(dtls) = self.dtls.as_mut() {
            dtls.recycle_transmit(buf);
        }
    }

    /// When each layer's timer is due.
    pub(crate) fn poll_timeout(&self, timer: Timer) -> Option<Instant> {
        match timer {
            // The TURN clients share ICE's slot (they are ICE's gathering
            // and its relay).
            Timer::Ice => match (self.ice.poll_timeout(), self.turn_timeout()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            Timer::Dtls => self.dtls.as_ref().and_then(DtlsTransport::poll_timeout),
            Timer::Sctp => self.sctp.poll_timeout(),
            // No media layer arms it yet.
            Timer::Media => None,
        }
    }

    fn replay_early_dtls(&mut self, now: Instant) {
        let held: Vec<_> = self.early_dtls.drain(..).collect();
        for (source, destination, d) in held {
            if self.ice.is_validated(source, destination) {
                if let Some(t) = self.dtls.as_mut() {
                    t.handle_receive(now, &d);
                }
            } else {
                self.counters.count_drop(Dropped::DtlsUnvalidated);
            }
        }
    }

    /// Wakes the layer behind `timer`; `pump_layers` then re-arms every
    /// slot.
    pub(crate) fn handle_timeout(&mut self, now: Instant, timer: Timer) {
        match timer {
            Timer::Ice => {
                self.ice.handle_timeout(now);
                self.turn_handle_timeout(now);
            }
            Timer::Dtls => {
                // No record either way for a while: SCTP gives back what it
                // keeps for traffic too (its packets are DTLS's records).
                if self.dtls.as_mut().is_some_and(|d| d.handle_timeout(now)) {
                    self.sctp.trim_idle();
                }
            }
            Timer::Sctp => self.sctp.handle_timeout(now),
            // The connection's media layer owns it (`media_rtcp.rs`).
            Timer::Media => {}
        }
    }

    pub(crate) fn push_transmit(&mut self, t: Transmit) {
        self.traffic.packets_sent += 1;
        self.traffic.bytes_sent += t.contents.len() as u64;
        // From a relayed candidate: through its TURN allocation.
        if self.turn_send(&t) {
            return;
        }
        self.transmits.push_back(t);
    }

    /// Applies what JSEP negotiated (after each local or remote
    /// description, and after a trickled candidate): the peer's ICE
    /// credentials and candidates, DTLS (created once our role is known,
    /// with the fingerprints to check) and SCTP.
    pub(crate) fn apply(
        &mut self,
        now: Instant,
        t: &NegotiatedTransport,
        remote_candidates: &[RemoteCandidate],
        dtls_client_version: DtlsVersion,
    ) {
        self.ice.touch(now);
        self.apply_remote_ice(t, remote_candidates);
        self.apply_dtls(now, t, dtls_client_version);
        self.apply_sctp(now, t);
    }

    /// ICE's remote side: the peer's credentials, candidates and
    /// end-of-candidates.
    fn apply_remote_ice(&mut self, t: &NegotiatedTransport, remote: &[RemoteCandidate]) {
        if !t.remote_ufrag.is_empty() {
            if self
                .ice
                .remote_credentials()
                .is_some_and(|c| c.ufrag != t.remote_ufrag || c.pwd != t.remote_pwd)
            {
                // The peer restarted ICE (RFC 8445 §9: restarts are mutual):
                // forget what was fed from its old session.
                self.fed_remote.clear();
                self.remote_end_fed = false;
            }
            if let Err(e) = self
                .ice
                .set_remote_credentials(&t.remote_ufrag, &t.remote_pwd)
            {
                tracing::warn!(%e, "remote ICE credentials refused");
            }
            self.ice.set_remote_ice_lite(t.remote_ice_lite);
        }
        self.feed_remote_candidates(remote);
        if t.remote_end_of_candidates && !self.remote_end_fed {
            self.remote_end_fed = true;
            self.ice.remote_end_of_candidates();
        }
    }

    /// Feeds remote candidates ICE has not seen yet.
    fn feed_remote_candidates(&mut self, remote: &[RemoteCandidate]) {
        let new: Vec<SdpCandidate> = remote
            .iter()
            .filter(|rc| rc.candidate.component == Candidate::COMPONENT)
            .map(|rc| rc.candidate.clone())
            .filter(|c| !self.fed_remote.contains(c))
            .collect();
        for c in new {
            match &c.address {
                CandidateAddress::Ip(addr)
                    if !super::jsep_strict::is_usable_candidate_address(addr.ip()) =>
                {
                    self.counters.count_drop(Dropped::UnusableCandidate);
                    tracing::debug!(%addr, "remote candidate at a non-unicast address dropped");
                }
                CandidateAddress::Ip(addr) => {
                    self.ice.add_remote_candidate(to_ice_candidate(&c, *addr))
                }
                CandidateAddress::Name(name, port) => {
                    let placeholder = SocketAddr::new(IpAddr::from([0, 0, 0, 0]), *port);
                    self.ice
                        .add_remote_mdns_candidate(name, to_ice_candidate(&c, placeholder));
                }
            }
            self.fed_remote.push(c);
        }
    }

    /// DTLS: created once our role is known, with the fingerprints to
    /// check (updated by later descriptions).
    fn apply_dtls(&mut self, now: Instant, t: &NegotiatedTransport, client_version: DtlsVersion) {
        let Some(role) = t.dtls_role else {
            return;
        };
        if self.dtls.is_none() {
            let version = match role {
                DtlsRole::Server => DtlsVersion::Auto,
                DtlsRole::Client => client_version,
            };
            if let Some(cfg) = self.dtls_config.take() {
                let mut dtls = DtlsTransport::new(
                    cfg,
                    &self.certificate,
                    role,
                    version,
                    self.dtls_rng.take().map(|rng| *rng),
                    now,
                );
                dtls.set_remote_fingerprints(t.remote_fingerprints.clone());
                self.dtls = Some(dtls);
            }
        } else if let Some(d) = self.dtls.as_mut() {
            d.set_remote_fingerprints(t.remote_fingerprints.clone());
        }
    }

    /// SCTP: the peer's port and message size, and a start when data
    /// channels were negotiated after DTLS came up.
    fn apply_sctp(&mut self, now: Instant, t: &NegotiatedTransport) {
        let Some(port) = t.remote_sctp_port else {
            return;
        };
        let max = t.remote_max_message_size.unwrap_or(65536);
        self.sctp
            .set_remote(port, usize::try_from(max).unwrap_or(usize::MAX));
        // Data channels negotiated after DTLS came up (a renegotiation
        // added the application m-line): start SCTP now.
        if self.dtls_state() == DtlsTransportState::Connected {
            if let Some(role) = self.dtls.as_ref().map(DtlsTransport::role) {
                self.sctp.start(now, role);
            }
        }
    }

    /// Tears every layer down, telling the peer (W3C `close()`: SCTP ABORT,
    /// DTLS close_notify).
    pub(crate) fn close(&mut self) {
        self.sctp.close();
        while let Some(p) = self.sctp.poll_transmit() {
            if let Some(d) = self.dtls.as_mut() {
                let _ = d.send_packet(p, SctpConfig::DTLS_HEADROOM);
            }
        }
        let mut records = Vec::new();
        if let Some(d) = self.dtls.as_mut() {
            d.close();
            while let Some(r) = d.poll_transmit() {
                records.push(r);
            }
        }
        for r in records {
            if let Some(t) = self.ice.transmit_data(r) {
                self.push_transmit(t);
            }
        }
        // RFC 8656 §7: deallocate (after the close_notify went through).
        self.close_turn();
        // W3C close(): "Set connection's [[IceConnectionState]] slot to
        // "closed"" (and each RTCDtlsTransport's state, see `dtls_state`),
        // without firing events: the layers' own state events are never
        // polled after this.
        self.ice.close();
        // The browser's close() fires no events.
        while self.sctp.poll_event().is_some() {}
    }
}
