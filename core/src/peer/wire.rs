//! The transport stack under a `PeerConnection`: ICE, DTLS and SCTP (and
//! the SRTP keys DTLS exports), glued to JSEP and to each other.
//!
//! Data path (ARCHITECTURE.md §3): a datagram is classified by its first byte
//! (RFC 7983); STUN goes to ICE; DTLS only from an address ICE validated
//! (records that race ahead of ICE are held, bounded) to the DTLS
//! transport, whose application data is SCTP; RTP/RTCP wait for the media
//! layer. Outbound, SCTP packets become DTLS records, which ICE sends on
//! the selected pair (with RFC 4571 framing on TCP).

use std::collections::{BTreeSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use super::jsep::NegotiatedTransport;
use super::PeerConnection;
use crate::config::Configuration;
use crate::demux::{classify, PacketKind};
use crate::dtls::{
    dtls_config, Certificate, DtlsConfigError, DtlsEvent, DtlsFailure, DtlsRole, DtlsTransport,
    DtlsTransportState, DtlsVersion, KeyAlgorithm, DEFAULT_CERTIFICATE_LIFETIME,
};
use crate::error::ConfigError;
use crate::event::Event;
use crate::ice::{
    Candidate, CandidateKind as IceKind, IceAgent, IceConfig, IceConnectionState, IceCredentials,
    IceEvent, IceGatheringState, IceRole, TcpType as IceTcpType,
};
use crate::io::{Protocol, Receive, Transmit};
use crate::rng::Rng;
use crate::sctp::{SctpConfig, SctpEvent, SctpTransport};
use crate::sdp::{
    CandidateAddress, CandidateKind, CandidateTransport, IceCandidate, SdpCandidate, SdpType,
    TcpType,
};
use crate::srtp::{SrtpContext, SrtpProfile};
use crate::stats::{ConnectionStats, Dropped};
use crate::timer::Timer;

/// DTLS datagrams held while ICE has not yet validated their sender
/// (seen with Chromium: records may race ICE's "connected").
const MAX_EARLY_DTLS: usize = 32;

/// The layers under one connection.
pub(crate) struct Stack {
    pub(crate) ice: IceAgent,
    pub(crate) dtls: Option<DtlsTransport>,
    pub(crate) sctp: SctpTransport,
    pub(crate) certificate: Certificate,
    /// Sending and receiving SRTP contexts, once DTLS exported keys.
    pub(crate) srtp: Option<(SrtpContext, SrtpContext)>,
    /// Lent to the DTLS transport in deterministic mode.
    dtls_rng: Option<Rng>,
    dtls_config: Option<Arc<dimpl::Config>>,
    early_dtls: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    /// Remote candidate lines already handed to ICE.
    fed_remote: BTreeSet<String>,
    remote_end_fed: bool,
    /// The first offer/answer decided our ICE role.
    role_decided: bool,
    /// A local description exists: candidate events flow to the app.
    gathering_open: bool,
    held_ice_events: Vec<IceEvent>,
    /// Our candidates, for the local description.
    pub(crate) local_candidates: Vec<SdpCandidate>,
    pub(crate) gathering_state: IceGatheringState,
    pub(crate) ice_state: IceConnectionState,
    pub(crate) dtls_state: DtlsTransportState,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("ice", &self.ice_state)
            .field("dtls", &self.dtls_state)
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

pub(crate) fn ice_credentials(c: &super::jsep::IceCredentials) -> IceCredentials {
    IceCredentials {
        ufrag: c.ufrag.clone(),
        pwd: c.pwd.clone(),
    }
}

/// The SDP form of one of our candidates.
pub(crate) fn to_sdp_candidate(c: &Candidate) -> SdpCandidate {
    SdpCandidate {
        foundation: c.foundation.clone(),
        component: Candidate::COMPONENT,
        transport: match c.proto {
            Protocol::Udp => CandidateTransport::Udp,
            _ => CandidateTransport::Tcp,
        },
        priority: c.priority,
        address: CandidateAddress::Ip(c.addr),
        kind: match c.kind {
            IceKind::Host => CandidateKind::Host,
            IceKind::ServerReflexive => CandidateKind::ServerReflexive,
            IceKind::PeerReflexive => CandidateKind::PeerReflexive,
            IceKind::Relayed => CandidateKind::Relay,
        },
        related_address: c.related.map(CandidateAddress::Ip),
        tcp_type: c.tcp_type.map(|t| match t {
            IceTcpType::Active => TcpType::Active,
            IceTcpType::Passive => TcpType::Passive,
            IceTcpType::SimultaneousOpen => TcpType::So,
        }),
        extensions: vec![("generation".into(), "0".into())],
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
        kind: match c.kind {
            CandidateKind::Host => IceKind::Host,
            CandidateKind::ServerReflexive => IceKind::ServerReflexive,
            CandidateKind::PeerReflexive => IceKind::PeerReflexive,
            CandidateKind::Relay => IceKind::Relayed,
        },
        priority: c.priority,
        foundation: c.foundation.clone(),
        related: match &c.related_address {
            Some(CandidateAddress::Ip(a)) => Some(*a),
            _ => None,
        },
        tcp_type: c.tcp_type.map(|t| match t {
            TcpType::Active => IceTcpType::Active,
            TcpType::Passive => IceTcpType::Passive,
            TcpType::So => IceTcpType::SimultaneousOpen,
        }),
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
                None => {
                    tracing::warn!(%url, "ICE server not used: TURN is not built yet, and hostnames must be resolved by the runtime")
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
            (Some(rng.fork()), dtls_config(config.mtu, Some(seed)))
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
            dtls_rng,
            dtls_config: Some(dtls_cfg),
            early_dtls: VecDeque::new(),
            fed_remote: BTreeSet::new(),
            remote_end_fed: false,
            role_decided: false,
            gathering_open: false,
            held_ice_events: Vec::new(),
            local_candidates: Vec::new(),
            gathering_state: IceGatheringState::New,
            ice_state: IceConnectionState::New,
            dtls_state: DtlsTransportState::New,
        })
    }
}

impl PeerConnection {
    /// Adds a host candidate on a socket the runtime bound (UDP, or a TCP
    /// listener for passive ICE-TCP). A sans-IO core cannot list
    /// interfaces: the runtime does, and calls this for each address.
    ///
    /// With `iceTransportPolicy: relay` host candidates are not used (W3C:
    /// only relay candidates are gathered); eddy has no TURN client yet, so
    /// such a connection gathers nothing.
    pub fn add_local_candidate(
        &mut self,
        addr: SocketAddr,
        proto: Protocol,
    ) -> Result<(), crate::ice::IceError> {
        if self.config.ice_transport_policy == crate::config::IceTransportPolicy::Relay {
            tracing::debug!(%addr, "host candidate not used: iceTransportPolicy is relay");
            return Ok(());
        }
        self.stack.ice.add_local_candidate(addr, proto)?;
        self.pump_layers();
        Ok(())
    }

    /// Tells ICE that every host candidate has been added: gathering
    /// completes once server-reflexive gathering (if any) is done.
    pub fn end_of_local_candidates(&mut self) {
        self.stack.ice.end_of_local_candidates();
        self.pump_layers();
    }

    /// Resolves an mDNS (`.local`) remote candidate name to an address
    /// (the runtime's resolver supplies it).
    pub fn resolve_remote_candidate(&mut self, name: &str, ip: IpAddr) {
        if !super::jsep_strict::is_usable_candidate_address(ip) {
            self.counters.count_drop(Dropped::UnusableCandidate);
            tracing::debug!(%ip, name, "mDNS name resolved to a non-unicast address: dropped");
            return;
        }
        self.stack.ice.resolve_remote(name, ip);
        self.pump_layers();
    }

    /// Our ICE ufrags: the current one, and the previous one while an ICE
    /// restart is in progress (the endpoint routes by them).
    pub(crate) fn local_ice_ufrags(&self) -> Vec<String> {
        let mut v = vec![self.stack.ice.local_credentials().ufrag.clone()];
        if self.jsep.local_ice.ufrag != v[0] {
            v.push(self.jsep.local_ice.ufrag.clone());
        }
        v
    }

    /// The ICE gathering state (W3C `iceGatheringState`).
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.stack.gathering_state
    }

    /// The ICE connection state (W3C `iceConnectionState`).
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.stack.ice_state
    }

    /// The DTLS transport state (W3C `RTCDtlsTransport.state`).
    pub fn dtls_state(&self) -> DtlsTransportState {
        self.stack.dtls_state
    }

    /// The peer's DTLS certificate in DER, once the handshake showed it
    /// (W3C `getRemoteCertificates()`).
    pub fn remote_certificate(&self) -> Option<&[u8]> {
        self.stack
            .dtls
            .as_ref()
            .and_then(DtlsTransport::remote_certificate)
    }

    /// Why DTLS failed (a handshake error or a fingerprint mismatch), if
    /// it did.
    pub fn dtls_failure(&self) -> Option<&DtlsFailure> {
        self.stack.dtls.as_ref().and_then(DtlsTransport::failure)
    }

    /// Every counter of the connection and its transports in one place:
    /// what arrived and was dropped, ICE, DTLS, SCTP, SRTP and the event
    /// queue.
    pub fn connection_stats(&self) -> ConnectionStats {
        let (srtp_send, srtp_receive) = self
            .stack
            .srtp
            .as_ref()
            .map(|(tx, rx)| (tx.counters(), rx.counters()))
            .unwrap_or_default();
        ConnectionStats {
            input: self.counters(),
            ice: self.stack.ice.stats(),
            dtls: self
                .stack
                .dtls
                .as_ref()
                .map(DtlsTransport::stats)
                .unwrap_or_default(),
            sctp: self.stack.sctp.counters(),
            srtp_send,
            srtp_receive,
            event_queue: self.event_queue_usage(),
        }
    }

    /// The certificate this connection authenticates with.
    pub fn certificate(&self) -> &Certificate {
        &self.stack.certificate
    }

    /// The selected candidate pair: `(local, remote, transport)`.
    pub fn selected_candidate_pair(&self) -> Option<(SocketAddr, SocketAddr, Protocol)> {
        self.stack.ice.selected_pair()
    }

    /// The SRTP profile DTLS negotiated, once connected.
    pub fn srtp_profile(&self) -> Option<SrtpProfile> {
        self.stack.srtp.as_ref().map(|(tx, _)| tx.profile())
    }

    /// Called after every description is applied: hands what was
    /// negotiated to ICE, DTLS and SCTP.
    pub(crate) fn sync_transports(
        &mut self,
        applied_local: Option<SdpType>,
        applied_remote: Option<SdpType>,
    ) {
        self.sync_local_ice(applied_local, applied_remote);
        let t = self.negotiated_transport().clone();
        self.sync_remote_ice(&t);
        self.sync_dtls(&t);
        self.sync_sctp(&t);
        self.render_local_candidates();
        self.pump_layers();
    }

    /// ICE's local side after a description: our credentials, the role and
    /// the candidates held until a local description existed.
    fn sync_local_ice(&mut self, applied_local: Option<SdpType>, applied_remote: Option<SdpType>) {
        // Our credentials follow the description (ICE restart included).
        let local = ice_credentials(&self.jsep.local_ice);
        let before = self.stack.ice.local_credentials().ufrag.clone();
        self.stack.ice.set_local_credentials(local);
        if self.stack.ice.local_credentials().ufrag != before {
            // An ICE restart forgets the remote candidates: hand them over
            // again (those of the new session come from the same lists).
            self.stack.fed_remote.clear();
            self.stack.remote_end_fed = false;
        }
        // RFC 8445 §6.1.1: "the agent that generated the offer ... is the
        // controlling agent"; a lite agent is always controlled, and a full
        // agent facing a lite one must control.
        if !self.stack.role_decided
            && (applied_local == Some(SdpType::Offer) || applied_remote == Some(SdpType::Offer))
        {
            self.stack.role_decided = true;
            let mut role = if applied_local == Some(SdpType::Offer) {
                IceRole::Controlling
            } else {
                IceRole::Controlled
            };
            if self.negotiated_transport().remote_ice_lite && !self.config.ice_lite {
                role = IceRole::Controlling;
            }
            self.stack.ice.set_role(role);
        }
        if applied_local.is_some() && !self.stack.gathering_open {
            self.stack.gathering_open = true;
            let held = std::mem::take(&mut self.stack.held_ice_events);
            for e in held {
                self.on_ice_event(e);
            }
        }
    }

    /// ICE's remote side: the peer's credentials, candidates and
    /// end-of-candidates.
    fn sync_remote_ice(&mut self, t: &NegotiatedTransport) {
        if !t.remote_ufrag.is_empty() {
            if self
                .stack
                .ice
                .remote_credentials()
                .is_some_and(|c| c.ufrag != t.remote_ufrag || c.pwd != t.remote_pwd)
            {
                // The peer restarted ICE (RFC 8445 §9: restarts are mutual):
                // forget what was fed from its old session.
                self.stack.fed_remote.clear();
                self.stack.remote_end_fed = false;
            }
            if let Err(e) = self
                .stack
                .ice
                .set_remote_credentials(&t.remote_ufrag, &t.remote_pwd)
            {
                tracing::warn!(%e, "remote ICE credentials refused");
            }
            self.stack.ice.set_remote_ice_lite(t.remote_ice_lite);
        }
        self.feed_remote_candidates();
        if t.remote_end_of_candidates && !self.stack.remote_end_fed {
            self.stack.remote_end_fed = true;
            self.stack.ice.remote_end_of_candidates();
        }
    }

    /// DTLS: created once our role is known, with the fingerprints to
    /// check (updated by later descriptions).
    fn sync_dtls(&mut self, t: &NegotiatedTransport) {
        let Some(role) = t.dtls_role else {
            return;
        };
        if self.stack.dtls.is_none() {
            let version = match role {
                DtlsRole::Server => DtlsVersion::Auto,
                DtlsRole::Client => self.config.dtls_client_version,
            };
            if let Some(cfg) = self.stack.dtls_config.take() {
                let mut dtls = DtlsTransport::new(
                    cfg,
                    &self.stack.certificate,
                    role,
                    version,
                    self.stack.dtls_rng.take(),
                    self.now,
                );
                dtls.set_remote_fingerprints(t.remote_fingerprints.clone());
                self.stack.dtls = Some(dtls);
            }
        } else if let Some(d) = self.stack.dtls.as_mut() {
            d.set_remote_fingerprints(t.remote_fingerprints.clone());
        }
    }

    /// SCTP: the peer's port and message size, and a start when data
    /// channels were negotiated after DTLS came up.
    fn sync_sctp(&mut self, t: &NegotiatedTransport) {
        let Some(port) = t.remote_sctp_port else {
            return;
        };
        let max = t.remote_max_message_size.unwrap_or(65536);
        self.stack
            .sctp
            .set_remote(port, usize::try_from(max).unwrap_or(usize::MAX));
        // Data channels negotiated after DTLS came up (a renegotiation
        // added the application m-line): start SCTP now.
        if self.stack.dtls_state == DtlsTransportState::Connected {
            if let Some(role) = self.stack.dtls.as_ref().map(DtlsTransport::role) {
                self.stack.sctp.start(self.now, role);
            }
        }
    }

    /// Feeds remote candidates ICE has not seen yet.
    pub(crate) fn feed_remote_candidates(&mut self) {
        let new: Vec<SdpCandidate> = self
            .remote_candidates()
            .iter()
            .filter(|rc| rc.candidate.component == Candidate::COMPONENT)
            .map(|rc| rc.candidate.clone())
            .filter(|c| !self.stack.fed_remote.contains(&c.to_string()))
            .collect();
        for c in new {
            self.stack.fed_remote.insert(c.to_string());
            match &c.address {
                CandidateAddress::Ip(addr)
                    if !super::jsep_strict::is_usable_candidate_address(addr.ip()) =>
                {
                    self.counters.count_drop(Dropped::UnusableCandidate);
                    tracing::debug!(%addr, "remote candidate at a non-unicast address dropped");
                }
                CandidateAddress::Ip(addr) => self
                    .stack
                    .ice
                    .add_remote_candidate(to_ice_candidate(&c, *addr)),
                CandidateAddress::Name(name, port) => {
                    let placeholder = SocketAddr::new(IpAddr::from([0, 0, 0, 0]), *port);
                    self.stack
                        .ice
                        .add_remote_mdns_candidate(name, to_ice_candidate(&c, placeholder));
                }
            }
        }
    }

    /// Writes our candidates (and end-of-candidates) into the local
    /// description's first m-line, the BUNDLE tag (RFC 8843 §5).
    fn render_local_candidates(&mut self) {
        let candidates = self.stack.local_candidates.clone();
        let complete = self.stack.gathering_state == IceGatheringState::Complete;
        for a in [&mut self.jsep.pending_local, &mut self.jsep.current_local]
            .into_iter()
            .flatten()
        {
            let Some(m) = a.sdp.media.iter_mut().find(|m| m.port != 0) else {
                continue;
            };
            if m.candidates == candidates && m.end_of_candidates == complete {
                continue;
            }
            m.candidates = candidates.clone();
            m.end_of_candidates = complete;
            a.desc.sdp = a.sdp.to_string();
        }
    }

    /// The mid and index candidates are signaled under.
    fn candidate_mid(&self) -> (Option<String>, Option<u16>) {
        let local = self
            .jsep
            .pending_local
            .as_ref()
            .or(self.jsep.current_local.as_ref());
        let mid = local
            .and_then(|a| a.sdp.media.iter().find(|m| m.port != 0))
            .and_then(|m| m.mid.clone());
        (mid, Some(0))
    }

    fn on_ice_event(&mut self, e: IceEvent) {
        if !self.stack.gathering_open
            && matches!(
                e,
                IceEvent::LocalCandidate(_)
                    | IceEvent::EndOfCandidates
                    | IceEvent::GatheringStateChange(_)
            )
        {
            // W3C: gathering starts with setLocalDescription; candidates
            // found before it are told then.
            if self.stack.held_ice_events.len() < 1024 {
                self.stack.held_ice_events.push(e);
            }
            return;
        }
        match e {
            IceEvent::LocalCandidate(c) => {
                let sdp = to_sdp_candidate(&c);
                if !self.stack.local_candidates.contains(&sdp) {
                    self.stack.local_candidates.push(sdp.clone());
                }
                let (mid, index) = self.candidate_mid();
                self.events.push(Event::IceCandidate(IceCandidate {
                    candidate: Some(sdp),
                    sdp_mid: mid,
                    sdp_m_line_index: index,
                    username_fragment: Some(self.jsep.local_ice.ufrag.clone()),
                }));
                self.render_local_candidates();
            }
            IceEvent::EndOfCandidates => {
                let (mid, index) = self.candidate_mid();
                self.events.push(Event::IceCandidate(IceCandidate {
                    candidate: None,
                    sdp_mid: mid,
                    sdp_m_line_index: index,
                    username_fragment: Some(self.jsep.local_ice.ufrag.clone()),
                }));
            }
            IceEvent::GatheringStateChange(s) => {
                if self.stack.gathering_state != s {
                    self.stack.gathering_state = s;
                    self.render_local_candidates();
                    self.events.push(Event::IceGatheringStateChange(s));
                }
            }
            IceEvent::ConnectionStateChange(s) => {
                self.stack.ice_state = s;
                self.events.push(Event::IceConnectionStateChange(s));
                self.update_connection_state();
            }
            IceEvent::SelectedPairChange {
                local,
                remote,
                proto,
            } => {
                self.events.push(Event::SelectedCandidatePairChange {
                    local,
                    remote,
                    proto,
                });
                let now = self.now;
                if let Some(d) = self.stack.dtls.as_mut() {
                    d.start(now);
                }
                self.replay_early_dtls();
            }
            IceEvent::RoleChange(role) => {
                tracing::debug!(?role, "ICE role changed after a conflict")
            }
        }
    }

    /// The aggregate state (W3C "update the connection state").
    pub(crate) fn update_connection_state(&mut self) {
        use IceConnectionState as I;
        if self.state == super::PeerConnectionState::Closed {
            return;
        }
        let ice = self.stack.ice_state;
        let dtls = self.stack.dtls_state;
        // W3C RTCPeerConnectionState, checked in the spec's order: failed,
        // disconnected, new (every transport new or closed), connecting
        // (any new, checking or connecting), else connected (every
        // transport connected, completed or closed).
        let next = if ice == I::Failed || dtls == DtlsTransportState::Failed {
            super::PeerConnectionState::Failed
        } else if ice == I::Disconnected {
            super::PeerConnectionState::Disconnected
        } else if matches!(ice, I::New | I::Closed)
            && matches!(dtls, DtlsTransportState::New | DtlsTransportState::Closed)
        {
            super::PeerConnectionState::New
        } else if matches!(ice, I::New | I::Checking)
            || matches!(
                dtls,
                DtlsTransportState::New | DtlsTransportState::Connecting
            )
        {
            super::PeerConnectionState::Connecting
        } else {
            super::PeerConnectionState::Connected
        };
        if next != self.state {
            self.state = next;
            self.events.push(Event::ConnectionStateChange(next));
        }
    }

    fn replay_early_dtls(&mut self) {
        let now = self.now;
        let held: Vec<_> = self.stack.early_dtls.drain(..).collect();
        for (source, destination, d) in held {
            if self.stack.ice.is_validated(source, destination) {
                if let Some(t) = self.stack.dtls.as_mut() {
                    t.handle_receive(now, &d);
                }
            } else {
                self.counters.count_drop(Dropped::DtlsUnvalidated);
            }
        }
    }

    /// Routes a received datagram (ARCHITECTURE.md §3).
    pub(crate) fn route_receive(&mut self, r: Receive<'_>) {
        let now = self.now;
        if r.proto != Protocol::Udp {
            // ICE-TCP: ICE owns the stream and hands back the non-STUN
            // frames.
            self.stack.ice.handle_receive(now, r);
            while let Some(f) = self.stack.ice.poll_tcp_frame() {
                self.route_datagram(f.source, f.destination, &f.contents);
            }
            self.pump_layers();
            return;
        }
        self.route_datagram(r.source, r.destination, r.contents);
        self.pump_layers();
    }

    fn route_datagram(&mut self, source: SocketAddr, destination: SocketAddr, contents: &[u8]) {
        let now = self.now;
        match classify(contents) {
            Some(PacketKind::Stun) => {
                self.counters.stun += 1;
                let r = Receive {
                    proto: Protocol::Udp,
                    source,
                    destination,
                    contents,
                };
                self.stack.ice.handle_receive(now, r);
            }
            Some(PacketKind::Dtls) => {
                self.counters.dtls += 1;
                let validated = self.stack.ice.is_validated(source, destination);
                match self.stack.dtls.as_mut() {
                    Some(d) if validated => d.handle_receive(now, contents),
                    _ => {
                        // Before ICE validated the sender (or before the
                        // answer gave us a DTLS role): hold a few.
                        if self.stack.early_dtls.len() < MAX_EARLY_DTLS {
                            self.stack.early_dtls.push_back((
                                source,
                                destination,
                                contents.to_vec(),
                            ));
                        } else {
                            self.counters.count_drop(Dropped::DtlsEarly);
                        }
                    }
                }
            }
            Some(PacketKind::Rtp) => {
                self.counters.rtp += 1;
                self.counters.count_drop(Dropped::Media);
            }
            Some(PacketKind::Rtcp) => {
                self.counters.rtcp += 1;
                self.counters.count_drop(Dropped::Media);
            }
            Some(PacketKind::TurnChannelData) => {
                // No TURN client yet: nothing allocated a channel, so
                // every one is dropped (and counted here).
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
    }

    /// Wakes the layer behind `timer`; `pump_layers` then re-arms every
    /// slot.
    pub(crate) fn layer_timeout(&mut self, timer: Timer) {
        let now = self.now;
        match timer {
            Timer::Ice => self.stack.ice.handle_timeout(now),
            Timer::Dtls => {
                if let Some(d) = self.stack.dtls.as_mut() {
                    d.handle_timeout(now);
                }
            }
            Timer::Sctp => self.stack.sctp.handle_timeout(now),
            // No media layer arms it yet.
            Timer::Media => {}
        }
    }

    /// Moves everything between the layers until nothing moves, then
    /// refreshes the timer table.
    pub(crate) fn pump_layers(&mut self) {
        let now = self.now;
        for _ in 0..64 {
            let mut moved = false;
            while let Some(e) = self.stack.ice.poll_event() {
                moved = true;
                self.on_ice_event(e);
            }
            while let Some(t) = self.stack.ice.poll_transmit() {
                moved = true;
                self.push_transmit(t);
            }
            while let Some(e) = self.stack.dtls.as_mut().and_then(DtlsTransport::poll_event) {
                moved = true;
                self.on_dtls_event(e);
            }
            while let Some(r) = self
                .stack
                .dtls
                .as_mut()
                .and_then(DtlsTransport::poll_transmit)
            {
                moved = true;
                match self.stack.ice.transmit_data(&r) {
                    Some(t) => self.push_transmit(t),
                    None => self.counters.count_drop(Dropped::DtlsNoRoute),
                }
            }
            while let Some(e) = self.stack.sctp.poll_event() {
                moved = true;
                self.on_sctp_event(e);
            }
            // Messages come out of SCTP only while the application's queue
            // has room; the rest wait in SCTP's receive window.
            while self.events.has_room() && self.stack.sctp.receive_one() {
                moved = true;
                while let Some(e) = self.stack.sctp.poll_event() {
                    self.on_sctp_event(e);
                }
            }
            while let Some(p) = self.stack.sctp.poll_transmit() {
                moved = true;
                match self.stack.dtls.as_mut() {
                    Some(d) => {
                        if let Err(e) = d.send(&p) {
                            tracing::debug!(%e, "SCTP packet not sent");
                        }
                    }
                    None => tracing::debug!("SCTP packet before DTLS"),
                }
            }
            if !moved {
                break;
            }
        }
        let _ = now;
        self.timers
            .set_opt(Timer::Ice, self.stack.ice.poll_timeout());
        self.timers.set_opt(
            Timer::Dtls,
            self.stack
                .dtls
                .as_ref()
                .and_then(DtlsTransport::poll_timeout),
        );
        self.timers
            .set_opt(Timer::Sctp, self.stack.sctp.poll_timeout());
    }

    fn push_transmit(&mut self, t: Transmit) {
        self.transmits.push_back(t);
    }

    fn on_dtls_event(&mut self, e: DtlsEvent) {
        let now = self.now;
        match e {
            DtlsEvent::State(s) => {
                self.stack.dtls_state = s;
                self.events.push(Event::DtlsStateChange(s));
                if s == DtlsTransportState::Connected {
                    if let Some(role) = self.stack.dtls.as_ref().map(DtlsTransport::role) {
                        if self.negotiated_transport().remote_sctp_port.is_some() {
                            self.stack.sctp.start(now, role);
                        }
                    }
                }
                if matches!(s, DtlsTransportState::Closed | DtlsTransportState::Failed) {
                    self.stack.sctp.close();
                }
                self.update_connection_state();
            }
            DtlsEvent::Keys(profile, material) => {
                let is_client =
                    self.stack.dtls.as_ref().map(DtlsTransport::role) == Some(DtlsRole::Client);
                match SrtpContext::pair_from_dtls(profile, &material, is_client) {
                    Ok(pair) => self.stack.srtp = Some(pair),
                    Err(e) => tracing::warn!(%e, "SRTP keys refused"),
                }
            }
            DtlsEvent::Data(d) => self.stack.sctp.handle_packet(now, &d),
        }
    }

    fn on_sctp_event(&mut self, e: SctpEvent) {
        let event = match e {
            SctpEvent::State(s) => Event::SctpStateChange(s),
            SctpEvent::DataChannel(h) => Event::DataChannel(h),
            SctpEvent::Open(h) => Event::ChannelOpen(h),
            SctpEvent::Message(h, m) => Event::ChannelMessage(h, m),
            SctpEvent::BufferedAmountLow(h) => Event::ChannelBufferedAmountLow(h),
            SctpEvent::Closing(h) => Event::ChannelClosing(h),
            SctpEvent::Closed(h) => Event::ChannelClose(h),
        };
        self.events.push(event);
    }

    /// Tears every layer down, telling the peer (W3C `close()`: SCTP ABORT,
    /// DTLS close_notify).
    pub(crate) fn close_layers(&mut self) {
        self.stack.sctp.close();
        while let Some(p) = self.stack.sctp.poll_transmit() {
            if let Some(d) = self.stack.dtls.as_mut() {
                let _ = d.send(&p);
            }
        }
        if let Some(d) = self.stack.dtls.as_mut() {
            d.close();
            while let Some(r) = d.poll_transmit() {
                if let Some(t) = self.stack.ice.transmit_data(&r) {
                    self.transmits.push_back(t);
                }
            }
        }
        self.stack.ice.close();
        // The browser's close() fires no events.
        while self.stack.sctp.poll_event().is_some() {}
    }
}
