//! The glue between JSEP, the transport stack (`stack.rs`) and the
//! application: what the connection exposes of its transports, JSEP's
//! descriptions applied to the stack, the layers' output moved between them
//! (`pump_layers`) and turned into W3C events and the connection state.

use std::net::{IpAddr, SocketAddr};

use super::stack::{to_sdp_candidate, TransportEvent};
use super::PeerConnection;
use crate::dtls::{Certificate, DtlsFailure, DtlsTransport, DtlsTransportState};
use crate::event::Event;
use crate::ice::{CandidateKind, IceConnectionState, IceEvent, IceGatheringState, IceRole};
use crate::io::Protocol;
use crate::sctp::SctpEvent;
use crate::sdp::{IceCandidate, SdpType};
use crate::srtp::SrtpProfile;
use crate::stats::{ConnectionStats, Dropped};
use crate::timer::Timer;

/// ICE gathering events held before a local description exists.
const MAX_HELD_ICE_EVENTS: usize = 1024;

/// Gathering as the application sees it: W3C gathering starts with
/// `setLocalDescription`, so ICE's gathering events from before are held
/// and told then.
#[derive(Debug, Default)]
pub(crate) struct Gathering {
    /// A local description was applied.
    pub(crate) open: bool,
    /// ICE's gathering events from before that.
    pub(crate) held: Vec<IceEvent>,
}

impl PeerConnection {
    /// Adds a host candidate on a socket the runtime bound (UDP, or a TCP
    /// listener for passive ICE-TCP). A sans-IO core cannot list
    /// interfaces: the runtime does, and calls this for each address.
    ///
    /// A UDP socket also reaches each configured TURN server (`turn:`
    /// over UDP) for a relayed candidate. With `iceTransportPolicy: relay`
    /// host candidates are not used (W3C: only relay candidates are
    /// gathered): the socket only talks to the TURN servers.
    pub fn add_local_candidate(
        &mut self,
        addr: SocketAddr,
        proto: Protocol,
    ) -> Result<(), crate::ice::IceError> {
        let relay_only =
            self.config.ice_transport_policy == crate::config::IceTransportPolicy::Relay;
        self.stack
            .add_local_socket(self.now, addr, proto, relay_only)?;
        self.pump_layers();
        Ok(())
    }

    /// Adds an active ICE-TCP candidate (RFC 6544): connections go out from
    /// `udp_socket`'s IP to the peer's passive TCP candidates. `udp_socket`
    /// is a UDP socket the runtime bound (already given to
    /// [`add_local_candidate`](Self::add_local_candidate) or not): the
    /// runtime opens a connection when a TCP transmit from that address
    /// has none, and gives what arrives on it as received at that address
    /// (see [`Transmit`](crate::Transmit)). Signaled with port 9.
    pub fn add_local_active_tcp_candidate(
        &mut self,
        udp_socket: SocketAddr,
    ) -> Result<(), crate::ice::IceError> {
        if self.config.ice_transport_policy == crate::config::IceTransportPolicy::Relay {
            return Ok(());
        }
        self.stack.ice.add_local_active_tcp_candidate(udp_socket)?;
        self.pump_layers();
        Ok(())
    }

    /// Tells ICE that every host candidate has been added: gathering
    /// completes once server-reflexive gathering (if any) is done.
    pub fn end_of_local_candidates(&mut self) {
        self.stack.ice.end_of_local_candidates();
        self.pump_layers();
    }

    /// The candidate as signaled: with
    /// [`Configuration::mdns_host_candidates`](crate::Configuration::mdns_host_candidates),
    /// a host address becomes its `<uuid>.local` name and related
    /// addresses `0.0.0.0:0` (draft-ietf-mmusic-mdns-ice-candidates §3.1.1,
    /// §3.1.2.2: "the related address ... MUST be replaced ... 0.0.0.0").
    fn signaled_candidate(&mut self, c: &crate::ice::Candidate) -> crate::sdp::SdpCandidate {
        signaled_candidate(
            self.config.mdns_host_candidates,
            &mut self.mdns_names,
            &mut self.rng,
            c,
        )
    }

    /// The `<uuid>.local` names of our host addresses and the addresses
    /// they stand for, when
    /// [`Configuration::mdns_host_candidates`](crate::Configuration::mdns_host_candidates)
    /// is on: what the runtime's [`MdnsResponder`](crate::mdns::MdnsResponder)
    /// publishes.
    pub fn mdns_host_names(&self) -> impl Iterator<Item = (&str, IpAddr)> + '_ {
        self.mdns_names.iter().map(|(ip, n)| (n.as_str(), *ip))
    }

    /// The `.local` names of remote candidates waiting to be resolved: the
    /// runtime asks its [`MdnsResolver`](crate::mdns::MdnsResolver) and
    /// calls [`resolve_remote_candidate`](Self::resolve_remote_candidate).
    pub fn pending_mdns_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.stack.ice.pending_mdns().map(str::to_owned).collect();
        v.dedup();
        v
    }

    /// Resolves an mDNS (`.local`) remote candidate name to an address
    /// (the runtime's resolver supplies it).
    pub fn resolve_remote_candidate(&mut self, name: &str, ip: IpAddr) {
        if !super::jsep_strict::is_usable_candidate_address(ip) {
            self.stack.counters.count_drop(Dropped::UnusableCandidate);
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
        if self.gathering.open {
            self.stack.ice.gathering_state()
        } else {
            IceGatheringState::New
        }
    }

    /// The ICE connection state (W3C `iceConnectionState`).
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.stack.ice.connection_state()
    }

    /// The DTLS transport state (W3C `RTCDtlsTransport.state`).
    pub fn dtls_state(&self) -> DtlsTransportState {
        self.stack.dtls_state()
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
        let (srtp_send, srtp_receive) = self.stack.srtp_counters();
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
            pacer: self.pacer_stats(),
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
        self.stack.srtp_profile()
    }

    /// Called after every description is applied: hands what was
    /// negotiated to ICE, DTLS and SCTP.
    pub(crate) fn sync_transports(
        &mut self,
        applied_local: Option<SdpType>,
        applied_remote: Option<SdpType>,
    ) {
        self.sync_local_ice(applied_local, applied_remote);
        self.stack.apply(
            self.now,
            &self.jsep.n.transport,
            &self.jsep.n.remote_candidates,
            self.config.dtls_client_version,
        );
        self.render_local_candidates();
        self.sync_media(applied_remote.is_some());
        self.pump_layers();
    }

    /// ICE's local side after a description: our credentials, the role and
    /// the candidates held until a local description existed.
    fn sync_local_ice(&mut self, applied_local: Option<SdpType>, applied_remote: Option<SdpType>) {
        // Our credentials follow the description (ICE restart included).
        let local = self.jsep.local_ice.clone();
        self.stack.set_local_credentials(self.now, local);
        // RFC 8445 §6.1.1: "the agent that generated the offer ... is the
        // controlling agent"; a lite agent is always controlled, and a full
        // agent facing a lite one must control.
        if !self.stack.role_decided()
            && (applied_local == Some(SdpType::Offer) || applied_remote == Some(SdpType::Offer))
        {
            let mut role = if applied_local == Some(SdpType::Offer) {
                IceRole::Controlling
            } else {
                IceRole::Controlled
            };
            if self.negotiated_transport().remote_ice_lite && !self.config.ice_lite {
                role = IceRole::Controlling;
            }
            self.stack.decide_role(role);
        }
        if applied_local.is_some() && !self.gathering.open {
            self.gathering.open = true;
            let held = std::mem::take(&mut self.gathering.held);
            for e in held {
                self.on_ice_event(e);
            }
        }
    }

    /// Writes our candidates (and end-of-candidates) into the local
    /// description's first m-line, the BUNDLE tag (RFC 8843 §5): the ones
    /// ICE gathered (peer-reflexive ones are learned, never signaled). The
    /// text follows when the description is next read.
    fn render_local_candidates(&mut self) {
        // Nothing to render into; with mDNS on, rendering also names host
        // addresses (drawing from the generator), so it still runs.
        if self.jsep.pending_local.is_none()
            && self.jsep.current_local.is_none()
            && !self.config.mdns_host_candidates
        {
            return;
        }
        // Rendered from the agent's candidates in place: no copy of them.
        let ice = &self.stack.ice;
        let mdns = self.config.mdns_host_candidates;
        let complete = self.ice_gathering_state() == IceGatheringState::Complete;
        let signaled = || {
            ice.local_candidates()
                .iter()
                .filter(|c| c.kind != CandidateKind::PeerReflexive && !ice.is_retired(c))
        };
        // Mostly nothing changed: compared where they lie, without
        // rendering (with mDNS on, rendering names addresses: always done).
        let unchanged = |a: &Option<super::jsep::Applied>| {
            a.as_ref().is_none_or(|a| {
                a.sdp().media.iter().find(|m| m.port != 0).is_none_or(|m| {
                    m.end_of_candidates == complete
                        && m.candidates.len() == signaled().count()
                        && m.candidates
                            .iter()
                            .zip(signaled())
                            .all(|(s, c)| super::stack::is_sdp_candidate_of(s, c))
                })
            })
        };
        if !mdns && unchanged(&self.jsep.pending_local) && unchanged(&self.jsep.current_local) {
            return;
        }
        let (names, rng) = (&mut self.mdns_names, &mut self.rng);
        let candidates: Vec<_> = signaled()
            .map(|c| signaled_candidate(mdns, names, rng, c))
            .collect();
        for a in [&mut self.jsep.pending_local, &mut self.jsep.current_local]
            .into_iter()
            .flatten()
        {
            let Some(m) = a.sdp().media.iter().find(|m| m.port != 0) else {
                continue;
            };
            if m.candidates == candidates && m.end_of_candidates == complete {
                continue;
            }
            a.update(|sdp| {
                if let Some(m) = sdp.media.iter_mut().find(|m| m.port != 0) {
                    m.candidates.clone_from(&candidates);
                    m.end_of_candidates = complete;
                }
            });
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
            .and_then(|a| a.sdp().media.iter().find(|m| m.port != 0))
            .and_then(|m| m.mid.clone());
        (mid, Some(0))
    }

    fn on_ice_event(&mut self, e: IceEvent) {
        if !self.gathering.open
            && matches!(
                e,
                IceEvent::LocalCandidate(_)
                    | IceEvent::EndOfCandidates
                    | IceEvent::GatheringStateChange(_)
            )
        {
            // W3C: gathering starts with setLocalDescription; candidates
            // found before it are told then.
            if self.gathering.held.len() < MAX_HELD_ICE_EVENTS {
                self.gathering.held.push(e);
            }
            return;
        }
        match e {
            IceEvent::LocalCandidate(c) => {
                let sdp = self.signaled_candidate(&c);
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
                self.render_local_candidates();
                self.events.push(Event::IceGatheringStateChange(s));
            }
            IceEvent::ConnectionStateChange(s) => {
                self.events.push(Event::IceConnectionStateChange(s));
                self.update_connection_state();
            }
            IceEvent::SelectedPairChange {
                local,
                remote,
                proto,
            } => {
                self.selected_pair_changes += 1;
                self.events.push(Event::SelectedCandidatePairChange {
                    local,
                    remote,
                    proto,
                });
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
        let ice = self.stack.ice.connection_state();
        let dtls = self.stack.dtls_state();
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

    /// Moves everything between the layers until nothing moves (the stack
    /// does the moving; the connection turns what it reports into events),
    /// then refreshes the timer table.
    pub(crate) fn pump_layers(&mut self) {
        let sctp_negotiated = self.negotiated_transport().remote_sctp_port.is_some();
        let mut heartbeat_served = false;
        for _ in 0..64 {
            let mut moved = self.stack.step(self.now, sctp_negotiated);
            while let Some(e) = self.stack.poll_event() {
                self.on_transport_event(e);
            }
            // Messages come out of SCTP only while the application's queue
            // has room; the rest wait in SCTP's receive window.
            while self.events.has_room() && self.stack.receive_message() {
                moved = true;
                while let Some(e) = self.stack.poll_event() {
                    self.on_transport_event(e);
                }
            }
            if let Some(bytes) = self.stack.flush_sctp() {
                moved = true;
                self.on_data_sent(bytes);
            }
            if !moved && !heartbeat_served {
                heartbeat_served = true;
                moved = self.stack.serve_due_heartbeat(self.now);
            }
            if !moved {
                break;
            }
        }
        for timer in [Timer::Ice, Timer::Dtls, Timer::Sctp] {
            self.timers.set_opt(timer, self.stack.poll_timeout(timer));
        }
    }

    fn on_transport_event(&mut self, e: TransportEvent) {
        match e {
            TransportEvent::Ice(e) => self.on_ice_event(e),
            TransportEvent::DtlsState(s) => {
                self.events.push(Event::DtlsStateChange(s));
                self.update_connection_state();
            }
            TransportEvent::Sctp(e) => self.on_sctp_event(e),
            TransportEvent::Rtp(p) => self.on_rtp(p),
            TransportEvent::Rtcp(p) => self.on_rtcp(p),
            TransportEvent::IceCandidateError {
                url,
                code,
                text,
                address,
            } => self.events.push(Event::IceCandidateError {
                url,
                code,
                text,
                address,
            }),
        }
    }

    fn on_sctp_event(&mut self, e: SctpEvent) {
        let event = match e {
            SctpEvent::State(s) => Event::SctpStateChange(s),
            SctpEvent::DataChannel(h) => Event::DataChannel(h),
            SctpEvent::Open(h) => {
                self.channel_counts.0 += 1;
                Event::ChannelOpen(h)
            }
            SctpEvent::Message(h, m) => Event::ChannelMessage(h, m),
            SctpEvent::BufferedAmountLow(h) => Event::ChannelBufferedAmountLow(h),
            SctpEvent::Closing(h) => Event::ChannelClosing(h),
            SctpEvent::Closed(h) => {
                self.channel_counts.1 += 1;
                Event::ChannelClose(h)
            }
        };
        self.events.push(event);
    }
}

/// A random (version 4) UUID under `.local` (RFC 9562 §5.4;
/// draft-ietf-mmusic-mdns-ice-candidates §3.1.1: "a UUID [RFC4122] ...
/// the mDNS hostname").
fn uuid_local(rng: &mut crate::rng::Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}.local",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// [`PeerConnection::signaled_candidate`] on the fields it uses, so that a
/// caller can pass a candidate borrowed from the ICE agent.
fn signaled_candidate(
    mdns_host_candidates: bool,
    mdns_names: &mut Vec<(IpAddr, String)>,
    rng: &mut crate::rng::Rng,
    c: &crate::ice::Candidate,
) -> crate::sdp::SdpCandidate {
    use crate::sdp::CandidateAddress;
    let mut sdp = to_sdp_candidate(c);
    if !mdns_host_candidates {
        return sdp;
    }
    if c.kind == CandidateKind::Host {
        let ip = c.addr.ip();
        let name = match mdns_names.iter().find(|(i, _)| *i == ip) {
            Some((_, n)) => n.clone(),
            None => {
                let n = uuid_local(rng);
                mdns_names.push((ip, n.clone()));
                n
            }
        };
        sdp.address = CandidateAddress::Name(name, c.addr.port());
    } else if sdp.related_address.is_some() {
        let any = SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), 0);
        sdp.related_address = Some(CandidateAddress::Ip(any));
    }
    sdp
}
