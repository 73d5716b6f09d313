//! JSEP (RFC 9429) on [`PeerConnection`]: offers and answers, the W3C
//! signaling state machine, rollback, renegotiation, ICE restart,
//! transceivers and trickled remote candidates. Offers and answers are
//! built in `jsep_build.rs`; transceivers and their handle live in
//! `transceiver.rs`.
//!
//! What is negotiated is kept in [`Negotiable`]; leaving `stable` saves a
//! copy of it, and rollback restores that copy while keeping what the
//! application did meanwhile (new transceivers, directions, `stop()`).
//!
//! Integration points for the other layers (all `pub(crate)`):
//! - ICE reads [`PeerConnection::negotiated_transport`] (remote ufrag/pwd,
//!   ice-lite, trickle, end-of-candidates), [`Jsep::local_ice`] (our
//!   credentials) and [`PeerConnection::remote_candidates`] (from the SDP
//!   and `add_ice_candidate`, as [`SdpCandidate`]s with their m-line).
//! - DTLS fills `PeerConnection::local_fingerprints` from its certificate
//!   and reads the remote fingerprints and `dtls_role` from the transport.
//! - SCTP calls [`PeerConnection::ensure_data_m_line`] from
//!   `create_data_channel` and reads the remote sctp-port and
//!   max-message-size.
//!
//! Limits (ARCHITECTURE.md §5.3): at most [`MAX_TRANSCEIVERS`] transceivers, and
//! [`MAX_REMOTE_CANDIDATES_PER_MLINE`] remote candidates per m-line (more
//! are dropped and counted).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use super::jsep_build::{AnswerPlan, OfferPlan};
use super::transceiver::{Transceiver, TransceiverId};
use crate::error::JsepError;
use crate::event::Event;
use crate::peer::PeerConnection;
use crate::rng::Rng;
use crate::sdp::{
    Direction, Fingerprint, IceCandidate, MediaDescription, MediaKind, MediaType, Sdp,
    SdpCandidate, SdpType, SessionDescription, Setup,
};
use crate::state::SignalingState;

/// Most transceivers a connection holds; stopped ones count until an
/// answer negotiates them away.
pub const MAX_TRANSCEIVERS: usize = 256;
/// Most remote candidates kept per m-line; more are dropped and counted.
pub const MAX_REMOTE_CANDIDATES_PER_MLINE: usize = 100;

pub(crate) const RTP_PROTOCOL: &str = "UDP/TLS/RTP/SAVPF";
pub(crate) const SCTP_PROTOCOL: &str = "UDP/DTLS/SCTP";
pub(crate) const SCTP_FORMAT: &str = "webrtc-datachannel";
/// RFC 8841 §5: the SCTP port eddy uses (every browser uses 5000).
pub(crate) const SCTP_PORT: u16 = 5000;
/// RFC 8841 §6: the largest message eddy accepts (browsers say 262144).
pub(crate) const MAX_MESSAGE_SIZE: u64 = 262_144;

/// The DTLS role negotiated by `a=setup` (RFC 8842).
pub(crate) use crate::dtls::DtlsRole;

/// ICE username fragment and password: the ICE agent's type.
pub(crate) use crate::ice::IceCredentials;

/// Fresh credentials. RFC 8839 §5.4: ufrag "at least 24 bits" of randomness
/// (4 chars), pwd "at least 128 bits" (22 chars); we use 8 and 24.
pub(crate) fn generate_credentials(rng: &mut Rng) -> IceCredentials {
    IceCredentials {
        ufrag: rng.ice_chars(8),
        pwd: rng.ice_chars(24),
    }
}

/// What the remote description says about the transport, for the ICE, DTLS
/// and SCTP layers to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NegotiatedTransport {
    /// The BUNDLE-tag mid (or first accepted m-line) the transport is for.
    pub(crate) mid: Option<String>,
    /// Remote ICE credentials.
    pub(crate) remote_ufrag: String,
    pub(crate) remote_pwd: String,
    /// The remote agent is ICE-lite (RFC 8445 §2.5).
    pub(crate) remote_ice_lite: bool,
    /// The remote said `a=ice-options:trickle`.
    pub(crate) remote_trickle: bool,
    /// The remote said `a=end-of-candidates` (or trickled it).
    pub(crate) remote_end_of_candidates: bool,
    /// Every fingerprint the remote gave; DTLS verifies against any of them.
    pub(crate) remote_fingerprints: Vec<Fingerprint>,
    /// The remote `a=setup`.
    pub(crate) remote_setup: Option<Setup>,
    /// Our DTLS role, known once an answer is applied.
    pub(crate) dtls_role: Option<DtlsRole>,
    /// The remote `a=sctp-port`, if it negotiated data channels.
    pub(crate) remote_sctp_port: Option<u16>,
    /// The remote `a=max-message-size` (RFC 8841 §6.1: absent means 64 KiB).
    pub(crate) remote_max_message_size: Option<u64>,
}

/// A remote candidate from the SDP or `add_ice_candidate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteCandidate {
    pub(crate) mid: Option<String>,
    pub(crate) m_line_index: usize,
    pub(crate) candidate: SdpCandidate,
    pub(crate) ufrag: Option<String>,
}

/// What an m-line position holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A transceiver's media.
    Transceiver(TransceiverId),
    /// The data channel section.
    Data { mid: String },
    /// A section eddy does not use (rejected), kept so m-lines keep their
    /// positions (RFC 3264 §8: m-lines are never removed).
    Foreign {
        media_type: MediaType,
        protocol: String,
        formats: Vec<String>,
        mid: Option<String>,
    },
}

/// The negotiated state that rollback restores.
#[derive(Debug, Clone, Default)]
pub(crate) struct Negotiable {
    pub(crate) transceivers: Vec<Transceiver>,
    /// The m-lines of the latest applied description, in order.
    pub(crate) mlines: Vec<Slot>,
    pub(crate) remote_candidates: Vec<RemoteCandidate>,
    pub(crate) transport: NegotiatedTransport,
}

/// A description with its parsed model. Candidates added later (ours as
/// ICE gathers them, the peer's as they trickle) change the model only;
/// the text is written again when it is read, not once per candidate.
///
/// While unchanged, the model is what parsing the text as applied gives,
/// so an idle connection keeps the text only ([`trim`](Self::trim)) and
/// the model is parsed again, the same, when next read (issue 13: a
/// model is several times its text).
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    /// The description as applied.
    desc: SessionDescription,
    /// The model: always there once changed; else parsed from `desc` on
    /// first read after a trim. Boxed: a connection has room for four
    /// descriptions (current and pending, local and remote) and uses two
    /// once stable.
    model: OnceLock<Box<Sdp>>,
    /// The model changed since `desc`: the text is `rendered`.
    changed: bool,
    rendered: OnceLock<SessionDescription>,
}

impl Applied {
    /// `sdp` must be what `desc`'s text parses to.
    pub(crate) fn new(desc: SessionDescription, sdp: impl Into<Box<Sdp>>) -> Self {
        Self {
            desc,
            model: OnceLock::from(sdp.into()),
            changed: false,
            rendered: OnceLock::new(),
        }
    }

    /// The model of the description as it stands.
    pub(crate) fn sdp(&self) -> &Sdp {
        self.model.get_or_init(|| {
            // It parsed when applied, and parsing is a function of the
            // text: the error arm is never taken.
            Box::new(Sdp::parse(&self.desc.sdp).unwrap_or_else(|_| empty_sdp()))
        })
    }

    /// Whether the model is held (not dropped by [`trim`](Self::trim)).
    #[cfg(test)]
    pub(crate) fn has_model(&self) -> bool {
        self.model.get().is_some()
    }

    /// The description as it stands: as applied, or written from the model
    /// once candidates changed it.
    pub(crate) fn description(&self) -> &SessionDescription {
        if !self.changed {
            return &self.desc;
        }
        self.rendered.get_or_init(|| SessionDescription {
            sdp_type: self.desc.sdp_type,
            sdp: self.sdp().to_text(),
        })
    }

    /// The type of the description.
    pub(crate) fn sdp_type(&self) -> SdpType {
        self.desc.sdp_type
    }

    /// Changes the model with `f`; the text follows when next read.
    pub(crate) fn update(&mut self, f: impl FnOnce(&mut Sdp)) {
        self.sdp();
        if let Some(sdp) = self.model.get_mut() {
            f(sdp);
        }
        self.changed = true;
        self.rendered = OnceLock::new();
        // The text as applied is never read again: the model supersedes it.
        self.desc.sdp = String::new();
    }

    /// Drops the text written from the model (issue 13: an idle
    /// connection keeps the model, not a copy of it as text); the next
    /// read writes it again, the same.
    ///
    /// Unchanged, it drops the model instead: the text is kept, and the
    /// model is parsed from it again when next read.
    pub(crate) fn trim(&mut self) {
        if self.changed {
            self.rendered = OnceLock::new();
            // Candidates were added one by one: give back the room left.
            if let Some(sdp) = self.model.get_mut() {
                for m in &mut sdp.media {
                    m.candidates.shrink_to_fit();
                }
            }
        } else {
            self.model = OnceLock::new();
        }
    }
}

/// All JSEP state of a connection.
#[derive(Debug)]
pub(crate) struct Jsep {
    pub(crate) signaling: SignalingState,
    pub(crate) n: Negotiable,
    pub(crate) snapshot: Option<Box<Negotiable>>,
    pub(crate) current_local: Option<Applied>,
    pub(crate) pending_local: Option<Applied>,
    pub(crate) current_remote: Option<Applied>,
    pub(crate) pending_remote: Option<Applied>,
    pub(crate) last_offer: Option<OfferPlan>,
    pub(crate) last_answer: Option<AnswerPlan>,
    pub(crate) negotiation_needed: bool,
    /// `restart_ice()` was called and no local offer carried it yet.
    pub(crate) ice_restart_requested: bool,
    /// The remote offer restarted ICE: our answer restarts too.
    pub(crate) answer_restarts_ice: bool,
    /// New credentials drawn for the next local description.
    pub(crate) next_ice: Option<IceCredentials>,
    /// Our credentials before the pending local offer restarted ICE, for
    /// rollback to restore.
    pub(crate) ice_before_offer: Option<IceCredentials>,
    pub(crate) local_ice: IceCredentials,
    /// A data channel exists: offers carry an application m-line.
    pub(crate) data_wanted: bool,
    pub(crate) next_transceiver_id: u32,
    pub(crate) session_id: u64,
    pub(crate) session_version: u64,
    pub(crate) cname: String,
    /// Remote candidates dropped over the per-m-line limit.
    pub(crate) dropped_remote_candidates: u64,
}

impl Jsep {
    /// Frees what the descriptions can parse or write again
    /// ([`Applied::trim`]) and the spare room of the remote candidates.
    pub(crate) fn trim(&mut self) {
        self.n.remote_candidates.shrink_to_fit();
        for applied in [
            &mut self.current_local,
            &mut self.pending_local,
            &mut self.current_remote,
            &mut self.pending_remote,
        ]
        .into_iter()
        .flatten()
        {
            applied.trim();
        }
    }

    /// Fresh state, drawing credentials and ids from `rng`.
    pub(crate) fn new(rng: &mut Rng) -> Self {
        Self {
            signaling: SignalingState::Stable,
            n: Negotiable::default(),
            snapshot: None,
            current_local: None,
            pending_local: None,
            current_remote: None,
            pending_remote: None,
            last_offer: None,
            last_answer: None,
            negotiation_needed: false,
            ice_restart_requested: false,
            answer_restarts_ice: false,
            next_ice: None,
            ice_before_offer: None,
            local_ice: generate_credentials(rng),
            data_wanted: false,
            next_transceiver_id: 0,
            // RFC 9429 §5.2.1: the sess-id "MUST be representable by a 64-bit
            // signed integer, and the value MUST be less than (2**63)-1".
            session_id: rng.u64() % (i64::MAX as u64),
            session_version: 1,
            cname: rng.ice_chars(16),
            dropped_remote_candidates: 0,
        }
    }

    /// `close()`: the signaling state becomes closed, with no event.
    pub(crate) fn close(&mut self) {
        self.signaling = SignalingState::Closed;
    }

    pub(crate) fn transceiver(&self, id: TransceiverId) -> Option<&Transceiver> {
        self.n.transceivers.iter().find(|t| t.id == id)
    }

    pub(crate) fn transceiver_mut(&mut self, id: TransceiverId) -> Option<&mut Transceiver> {
        self.n.transceivers.iter_mut().find(|t| t.id == id)
    }

    pub(crate) fn slot_mid(&self, slot: &Slot) -> Option<String> {
        match slot {
            Slot::Transceiver(id) => self.transceiver(*id).and_then(|t| t.mid.clone()),
            Slot::Data { mid } => Some(mid.clone()),
            Slot::Foreign { mid, .. } => mid.clone(),
        }
    }

    pub(crate) fn remote(&self) -> Option<&Applied> {
        self.pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())
    }

    /// Applies an answer (`local`: ours, else the peer's) to the m-lines.
    fn apply_answer_sections(&mut self, answer: &Sdp, final_answer: bool, local: bool) {
        for (i, m) in answer.media.iter().enumerate() {
            match self.n.mlines.get(i).cloned() {
                Some(Slot::Transceiver(id)) => {
                    let Some(t) = self.transceiver_mut(id) else {
                        continue;
                    };
                    if m.port == 0 {
                        // W3C: "If the media description is rejected, and
                        // transceiver is not already stopped, stop the
                        // RTCRtpTransceiver transceiver."
                        t.stopping = true;
                        t.stopped = final_answer || t.stopped;
                        t.current_direction = None;
                    } else {
                        // W3C: set [[CurrentDirection]] to the answer's
                        // direction, reversed when the answer is the peer's.
                        let d = m.direction_or_default();
                        t.current_direction = Some(if local { d } else { d.reverse() });
                    }
                }
                Some(Slot::Data { mid }) if m.port == 0 && final_answer => {
                    // The peer refused data channels: stop asking (else every
                    // return to stable would need negotiation again).
                    self.data_wanted = false;
                    if let Some(slot) = self.n.mlines.get_mut(i) {
                        *slot = Slot::Foreign {
                            media_type: MediaType::Application,
                            protocol: SCTP_PROTOCOL.to_owned(),
                            formats: vec![SCTP_FORMAT.to_owned()],
                            mid: Some(mid),
                        };
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether m-line `i` is rejected in the current local or remote
    /// description, so it may be recycled (RFC 9429 §5.2.2).
    pub(crate) fn recyclable(&self, i: usize, slot: &Slot) -> bool {
        let stopped = match slot {
            Slot::Transceiver(id) => self.transceiver(*id).is_none_or(|t| t.stopped),
            Slot::Data { .. } => false,
            Slot::Foreign { .. } => true,
        };
        let rejected_in = |a: &Option<Applied>| {
            a.as_ref()
                .and_then(|a| a.sdp().media.get(i))
                .is_some_and(|m| m.port == 0)
        };
        stopped && (rejected_in(&self.current_local) || rejected_in(&self.current_remote))
    }
}

/// A model with no section, for [`Applied::sdp`]'s error arm.
fn empty_sdp() -> Sdp {
    Sdp {
        origin: crate::sdp::Origin {
            username: "-".to_owned(),
            session_id: "0".to_owned(),
            session_version: 0,
            net_type: "IN".to_owned(),
            addr_type: "IP4".to_owned(),
            address: "0.0.0.0".to_owned(),
        },
        session_name: "-".to_owned(),
        session_info: None,
        connection: None,
        bandwidths: Vec::new(),
        timing: Vec::new(),
        extra_lines: Vec::new(),
        attributes: Default::default(),
        media: Vec::new(),
    }
}

pub(crate) fn parse_description(desc: &SessionDescription) -> Result<Sdp, JsepError> {
    // W3C: "If the content of description is not valid SDP syntax, then
    // reject p with an RTCError (with errorDetail set to "sdp-syntax-error"
    // and the sdpLineNumber attribute set to the line number ...)".
    Ok(Sdp::parse(&desc.sdp)?)
}

pub(crate) fn invalid_access(msg: impl Into<String>) -> JsepError {
    JsepError::InvalidAccess(msg.into())
}

pub(crate) fn media_kind(t: &MediaType) -> Option<MediaKind> {
    match t {
        MediaType::Audio => Some(MediaKind::Audio),
        MediaType::Video => Some(MediaKind::Video),
        _ => None,
    }
}

pub(crate) fn media_type(kind: MediaKind) -> MediaType {
    match kind {
        MediaKind::Audio => MediaType::Audio,
        MediaKind::Video => MediaType::Video,
    }
}

/// ICE credentials of a section, falling back to session level.
pub(crate) fn section_ice<'a>(
    sdp: &'a Sdp,
    m: &'a MediaDescription,
) -> (Option<&'a str>, Option<&'a str>) {
    let ufrag = m
        .ice
        .ufrag
        .as_deref()
        .or(sdp.attributes.ice.ufrag.as_deref());
    let pwd = m.ice.pwd.as_deref().or(sdp.attributes.ice.pwd.as_deref());
    (ufrag, pwd)
}

pub(crate) fn section_fingerprints<'a>(sdp: &'a Sdp, m: &'a MediaDescription) -> &'a [Fingerprint] {
    if m.fingerprints.is_empty() {
        &sdp.attributes.fingerprints
    } else {
        &m.fingerprints
    }
}

pub(crate) fn is_ice_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// Checks what every remote description must carry (W3C: "If the content
/// of description is invalid, then reject p with a newly created
/// InvalidAccessError").
pub(crate) fn validate_remote(sdp: &Sdp, desc: &SessionDescription) -> Result<(), JsepError> {
    super::jsep_strict::check_security(sdp, desc)?;
    let mut mids = BTreeSet::new();
    for (i, m) in sdp.media.iter().enumerate() {
        if let Some(mid) = &m.mid {
            // RFC 5888 §4: "the identification-tag MUST be unique".
            if !mids.insert(mid.as_str()) {
                return Err(invalid_access(format!("duplicate a=mid:{mid}")));
            }
        }
        if m.is_rejected() {
            continue;
        }
        if m.mid.is_none() {
            // RFC 9429 §5.8: JSEP implementations need a=mid to bundle.
            return Err(invalid_access(format!("m-line {i} has no a=mid")));
        }
        let (ufrag, pwd) = section_ice(sdp, m);
        // RFC 8839 §5.4: ice-ufrag is 4..=256 ice-chars, ice-pwd 22..=256.
        match (ufrag, pwd) {
            (Some(u), Some(p))
                if (4..=256).contains(&u.len())
                    && (22..=256).contains(&p.len())
                    && is_ice_chars(u)
                    && is_ice_chars(p) => {}
            _ => {
                return Err(invalid_access(format!(
                    "m-line {i} lacks valid ICE credentials"
                )))
            }
        }
        // RFC 8842 §5.1 / RFC 8122 §5: a DTLS-based section carries at
        // least one a=fingerprint, or the certificate cannot be verified.
        if section_fingerprints(sdp, m).is_empty() {
            return Err(invalid_access(format!("m-line {i} has no a=fingerprint")));
        }
    }
    for g in sdp.bundle_groups() {
        for mid in &g.mids {
            if !mids.contains(mid.as_str()) {
                return Err(invalid_access(format!("BUNDLE names unknown mid {mid}")));
            }
        }
    }
    Ok(())
}

/// The section that carries the transport: the BUNDLE tag (RFC 8843
/// §7.2.1: the first mid of the group) or else the first accepted one.
pub(crate) fn transport_section(sdp: &Sdp) -> Option<&MediaDescription> {
    sdp.bundle_groups()
        .filter_map(|g| g.mids.first())
        .filter_map(|mid| sdp.media_by_mid(mid).map(|(_, m)| m))
        .find(|m| !m.is_rejected())
        .or_else(|| sdp.media.iter().find(|m| !m.is_rejected()))
}

/// The m-section of `d` associated with transceiver `t`.
pub(crate) fn section_of<'a>(d: Option<&'a Sdp>, t: &Transceiver) -> Option<&'a MediaDescription> {
    let mid = t.mid.as_deref()?;
    d?.media_by_mid(mid).map(|(_, m)| m)
}

impl PeerConnection {
    pub(crate) fn check_open(&self) -> Result<(), JsepError> {
        // W3C: "If connection.[[IsClosed]] is true, throw an InvalidStateError."
        if self.jsep.signaling == SignalingState::Closed {
            return Err(JsepError::InvalidState("the connection is closed"));
        }
        Ok(())
    }

    pub(crate) fn set_signaling_state(&mut self, s: SignalingState) {
        if self.jsep.signaling != s {
            self.jsep.signaling = s;
            self.events.push(Event::SignalingStateChange(s));
        }
    }

    /// The signaling state (W3C `signalingState`).
    pub fn signaling_state(&self) -> SignalingState {
        self.jsep.signaling
    }

    /// The pending local description if any, else the current one (W3C
    /// `localDescription`).
    pub fn local_description(&self) -> Option<&SessionDescription> {
        self.pending_local_description()
            .or(self.current_local_description())
    }

    /// The local description of the last completed negotiation.
    pub fn current_local_description(&self) -> Option<&SessionDescription> {
        self.jsep.current_local.as_ref().map(Applied::description)
    }

    /// The local description of the negotiation in progress.
    pub fn pending_local_description(&self) -> Option<&SessionDescription> {
        self.jsep.pending_local.as_ref().map(Applied::description)
    }

    /// The pending remote description if any, else the current one (W3C
    /// `remoteDescription`).
    pub fn remote_description(&self) -> Option<&SessionDescription> {
        self.pending_remote_description()
            .or(self.current_remote_description())
    }

    /// Whether the peer accepts trickled candidates (W3C
    /// `canTrickleIceCandidates`): `None` until a remote description is
    /// applied, then whether it said `a=ice-options:trickle`.
    pub fn can_trickle_ice_candidates(&self) -> Option<bool> {
        self.jsep
            .remote()
            .map(|_| self.jsep.n.transport.remote_trickle)
    }

    /// The remote description of the last completed negotiation.
    pub fn current_remote_description(&self) -> Option<&SessionDescription> {
        self.jsep.current_remote.as_ref().map(Applied::description)
    }

    /// The remote description of the negotiation in progress.
    pub fn pending_remote_description(&self) -> Option<&SessionDescription> {
        self.jsep.pending_remote.as_ref().map(Applied::description)
    }

    /// Declares that a data channel exists: offers from now on carry an
    /// `application` m-line. The SCTP layer's `create_data_channel` calls it.
    #[cfg_attr(not(test), allow(dead_code))] // called by the SCTP layer
    pub(crate) fn ensure_data_m_line(&mut self) -> Result<(), JsepError> {
        self.check_open()?;
        if !self.jsep.data_wanted {
            self.jsep.data_wanted = true;
            self.update_negotiation_needed();
        }
        Ok(())
    }

    /// Asks for an ICE restart in the next offer (W3C `restartIce()`).
    pub fn restart_ice(&mut self) {
        if self.check_open().is_err() {
            return;
        }
        self.jsep.ice_restart_requested = true;
        self.update_negotiation_needed();
    }

    // ---- negotiation-needed (W3C §4.7.3) ----

    pub(crate) fn is_negotiation_needed(&self) -> bool {
        let j = &self.jsep;
        // W3C "check if negotiation is needed" step: "If any implementation-
        // specific negotiation is required ... return true" (restartIce).
        if j.ice_restart_requested {
            return true;
        }
        let local = j.current_local.as_ref().map(|a| a.sdp());
        let remote = j.current_remote.as_ref().map(|a| a.sdp());
        // "If the length of the [[DataChannels]] slot of connection is
        // greater than 0, and no m= section in description has been
        // negotiated yet for RTCDataChannels, return true."
        let has_data = |d: Option<&Sdp>| {
            d.is_some_and(|d| {
                d.media
                    .iter()
                    .any(|m| m.media_type == MediaType::Application && !m.is_rejected())
            })
        };
        // Negotiated = accepted in both the local and the remote description.
        if j.data_wanted && !(has_data(local) && has_data(remote)) {
            return true;
        }
        j.n.transceivers
            .iter()
            .any(|t| self.transceiver_needs_negotiation(t, local, remote))
    }

    /// The transceiver steps of the W3C "check if negotiation is needed"
    /// against the current descriptions.
    fn transceiver_needs_negotiation(
        &self,
        t: &Transceiver,
        local: Option<&Sdp>,
        remote: Option<&Sdp>,
    ) -> bool {
        // "If transceiver.[[Stopping]] is true and transceiver.[[Stopped]]
        // is false, return true."
        if t.stopping && !t.stopped {
            return true;
        }
        let (lm, rm) = (section_of(local, t), section_of(remote, t));
        if t.stopped {
            // "If transceiver is stopped and is associated with an m=
            // section, but the associated m= section is not yet rejected in
            // connection.[[CurrentLocalDescription]] or
            // connection.[[CurrentRemoteDescription]], return true."
            return t.mid.is_some()
                && (lm.is_some_and(|m| m.port != 0) || rm.is_some_and(|m| m.port != 0));
        }
        // "If transceiver isn't stopped and isn't yet associated with an
        // m= section in description, return true."
        let Some(lm) = lm else {
            return true;
        };
        // "If transceiver.[[Direction]] is "sendrecv" or "sendonly", and
        // the associated m= section in description doesn't contain a
        // single "a=msid" line, return true."
        if t.direction.sends() && lm.msids.len() != 1 {
            return true;
        }
        let local_is_offer = self
            .jsep
            .current_local
            .as_ref()
            .is_some_and(|a| a.sdp_type() == SdpType::Offer);
        if local_is_offer {
            // "... and the direction of the associated m= section in
            // neither connection.[[CurrentLocalDescription]] nor
            // connection.[[CurrentRemoteDescription]] matches
            // transceiver.[[Direction]], return true." (remote reversed)
            let remote_dir = rm.map(|m| m.direction_or_default().reverse());
            if lm.direction_or_default() != t.direction && remote_dir != Some(t.direction) {
                return true;
            }
        } else {
            // "If description is of type "answer", and the direction of
            // the associated m= section in the description does not match
            // transceiver.[[Direction]] intersected with the offered
            // direction (as described in [RFC9429] (section 5.3.1.)),
            // return true."
            let offered = rm.map_or(Direction::SendRecv, |m| m.direction_or_default());
            if lm.direction_or_default() != t.direction.intersect(offered.reverse()) {
                return true;
            }
        }
        false
    }

    /// W3C "update the negotiation-needed flag".
    pub(crate) fn update_negotiation_needed(&mut self) {
        // "If connection.[[IsClosed]] is true, abort these steps." and "If
        // connection's signaling state is not "stable", abort these steps."
        // (the flag is updated again when the state returns to stable).
        if self.jsep.signaling != SignalingState::Stable {
            return;
        }
        // "If the result of checking if negotiation is needed is false, clear
        // the negotiation-needed flag ... and abort these steps."
        if !self.is_negotiation_needed() {
            self.jsep.negotiation_needed = false;
            return;
        }
        // "If connection.[[NegotiationNeeded]] is already true, abort."
        if self.jsep.negotiation_needed {
            return;
        }
        self.jsep.negotiation_needed = true;
        self.events.push(Event::NegotiationNeeded);
    }

    /// After a description made the state stable: W3C "If connection's
    /// signaling state is now "stable", update the negotiation-needed flag.
    /// If connection.\[\[NegotiationNeeded\]\] was true both before and after
    /// this update, queue a task ... fire an event named negotiationneeded".
    pub(crate) fn after_stable(&mut self) {
        let before = self.jsep.negotiation_needed;
        self.update_negotiation_needed();
        if before && self.jsep.negotiation_needed {
            self.events.push(Event::NegotiationNeeded);
        }
    }

    // ---- applying descriptions ----

    /// Applies a local description (W3C `setLocalDescription(description)`).
    ///
    /// An offer or answer must be the last one created (an empty `sdp` means
    /// that one); rollback is accepted in have-local-offer and
    /// have-remote-offer. On error nothing changes.
    pub fn set_local_description(&mut self, desc: SessionDescription) -> Result<(), JsepError> {
        let sdp_type = desc.sdp_type;
        self.set_local_description_inner(desc)?;
        self.sync_transports(Some(sdp_type), None);
        Ok(())
    }

    fn set_local_description_inner(&mut self, desc: SessionDescription) -> Result<(), JsepError> {
        self.check_open()?;
        use SignalingState as S;
        match (desc.sdp_type, self.jsep.signaling) {
            (SdpType::Rollback, _) => self.rollback(),
            (SdpType::Offer, S::Stable | S::HaveLocalOffer) => self.apply_local_offer(desc),
            (SdpType::Answer | SdpType::Pranswer, S::HaveRemoteOffer | S::HaveLocalPranswer) => {
                self.apply_local_answer(desc)
            }
            _ => Err(JsepError::InvalidState(
                "description type is invalid in this signaling state",
            )),
        }
    }

    /// W3C `setLocalDescription()` with no argument: creates the right
    /// description (an offer in stable or have-local-offer, else an answer)
    /// and applies it. Returns what was applied.
    pub fn set_local_description_implicit(&mut self) -> Result<SessionDescription, JsepError> {
        self.check_open()?;
        // W3C: "If type is undefined: if signalingState is stable,
        // have-local-offer or have-remote-pranswer, set type to offer,
        // otherwise answer".
        let desc = match self.jsep.signaling {
            SignalingState::Stable
            | SignalingState::HaveLocalOffer
            | SignalingState::HaveRemotePranswer => self.create_offer()?,
            _ => self.create_answer()?,
        };
        self.set_local_description(desc.clone())?;
        Ok(desc)
    }

    pub(crate) fn apply_local_offer(&mut self, desc: SessionDescription) -> Result<(), JsepError> {
        if self.jsep.last_offer.is_none() && desc.sdp.is_empty() {
            self.identity_attribute()?;
            self.jsep.last_offer = Some(self.build_offer());
        }
        let mut plan = match &mut self.jsep.last_offer {
            // W3C: "If sdp is the empty string, set sdp to [[LastCreatedOffer]]."
            Some(p) if desc.sdp.is_empty() || desc.sdp == p.sdp => p.take_for_apply(),
            // W3C: "If description.type is "offer" and description.sdp is not
            // equal to connection.[[LastCreatedOffer]], reject ... with a newly
            // created InvalidModificationError".
            _ => {
                return Err(JsepError::InvalidModification(
                    "the offer is not the last one created",
                ))
            }
        };
        let sdp = plan.take_model()?;
        if self.jsep.signaling == SignalingState::Stable {
            self.jsep.snapshot = Some(Box::new(self.jsep.n.clone()));
        }
        let j = &mut self.jsep;
        for (id, mid) in &plan.mids {
            if let Some(t) = j.transceiver_mut(*id) {
                t.mid = Some(mid.clone());
            }
        }
        j.n.mlines = plan.mlines.clone();
        if plan.ice != j.local_ice {
            let old = std::mem::replace(&mut j.local_ice, plan.ice.clone());
            j.ice_before_offer.get_or_insert(old);
            j.next_ice = None;
            j.ice_restart_requested = false;
        }
        j.session_version = plan.version;
        j.pending_local = Some(Applied::new(SessionDescription::offer(plan.sdp), sdp));
        self.set_signaling_state(SignalingState::HaveLocalOffer);
        Ok(())
    }

    pub(crate) fn apply_local_answer(&mut self, desc: SessionDescription) -> Result<(), JsepError> {
        // W3C: with an empty sdp and no answer created yet, one is created.
        if self.jsep.last_answer.is_none() && desc.sdp.is_empty() {
            self.identity_attribute()?;
            self.jsep.last_answer = Some(self.build_answer()?);
        }
        let mut plan = match &mut self.jsep.last_answer {
            Some(p) if desc.sdp.is_empty() || desc.sdp == p.sdp => p.take_for_apply(),
            // W3C: "If description.type is "answer" or "pranswer" and
            // description.sdp is not equal to [[LastCreatedAnswer]], reject
            // ... InvalidModificationError".
            _ => {
                return Err(JsepError::InvalidModification(
                    "the answer is not the last one created",
                ))
            }
        };
        let sdp = plan.take_model()?;
        let final_answer = desc.sdp_type == SdpType::Answer;
        let j = &mut self.jsep;
        if plan.ice != j.local_ice {
            j.local_ice = plan.ice.clone();
            j.next_ice = None;
            j.answer_restarts_ice = false;
        }
        j.session_version = plan.version;
        // Our a=setup in the answer fixes our DTLS role (RFC 8842 §5.3).
        if let Some(m) = transport_section(&sdp) {
            j.n.transport.dtls_role = match m.setup {
                Some(Setup::Active) => Some(DtlsRole::Client),
                Some(Setup::Passive) => Some(DtlsRole::Server),
                _ => j.n.transport.dtls_role,
            };
        }
        j.apply_answer_sections(&sdp, final_answer, true);
        let applied = Applied::new(SessionDescription::new(desc.sdp_type, plan.sdp), sdp);
        if final_answer {
            j.current_local = Some(applied);
            j.pending_local = None;
            j.current_remote = j.pending_remote.take();
            self.finish_negotiation();
        } else {
            j.pending_local = Some(applied);
            self.set_signaling_state(SignalingState::HaveLocalPranswer);
        }
        Ok(())
    }

    /// Applies a remote description (W3C `setRemoteDescription`). A remote
    /// offer in have-local-offer rolls the local offer back first (W3C
    /// implicit rollback, for perfect negotiation). On error nothing changes.
    pub fn set_remote_description(&mut self, desc: SessionDescription) -> Result<(), JsepError> {
        let sdp_type = desc.sdp_type;
        // webrtc-identity: an `a=identity` is validated before the
        // description is applied; the identity is adopted once it is.
        let identity = if sdp_type != SdpType::Rollback
            && (desc.sdp.contains("a=identity:") || self.config.peer_identity.is_some())
        {
            self.check_open()?;
            let sdp = parse_description(&desc)?;
            self.check_remote_identity(&sdp)?
        } else {
            None
        };
        self.set_remote_description_inner(desc)?;
        self.adopt_peer_identity(identity);
        self.sync_transports(None, Some(sdp_type));
        Ok(())
    }

    fn set_remote_description_inner(&mut self, desc: SessionDescription) -> Result<(), JsepError> {
        self.check_open()?;
        use SignalingState as S;
        match (desc.sdp_type, self.jsep.signaling) {
            (SdpType::Rollback, _) => self.rollback(),
            (SdpType::Offer, S::Stable | S::HaveRemoteOffer) => self.apply_remote_offer(desc),
            (SdpType::Offer, S::HaveLocalOffer) => {
                // W3C: "If description.type is "offer" and is invalid for the
                // current signaling state of connection ... then: Let p be the
                // result of setting the local session description indicated by
                // {type: "rollback"}" — done only if the offer itself is valid.
                let sdp = parse_description(&desc)?;
                validate_remote(&sdp, &desc)?;
                self.check_offer_fits(&sdp, self.jsep.snapshot.as_deref().map(|n| &n.mlines[..]))?;
                self.rollback()?;
                self.apply_remote_offer(desc)
            }
            (SdpType::Answer | SdpType::Pranswer, S::HaveLocalOffer | S::HaveRemotePranswer) => {
                self.apply_remote_answer(desc)
            }
            _ => Err(JsepError::InvalidState(
                "description type is invalid in this signaling state",
            )),
        }
    }

    /// Checks a remote offer against the m-lines negotiated so far
    /// (`mlines`), without changing anything.
    pub(crate) fn check_offer_fits(
        &self,
        sdp: &Sdp,
        mlines: Option<&[Slot]>,
    ) -> Result<(), JsepError> {
        let mlines = mlines.unwrap_or(&self.jsep.n.mlines[..]);
        // RFC 3264 §8: m-lines are never removed from a session, so a new
        // offer has at least as many as before.
        if sdp.media.len() < mlines.len() {
            return Err(invalid_access("the offer has fewer m-lines than before"));
        }
        for (i, (slot, m)) in mlines.iter().zip(&sdp.media).enumerate() {
            let ours = self.jsep.slot_mid(slot);
            if ours.is_some() && m.mid.is_some() && ours != m.mid && !self.jsep.recyclable(i, slot)
            {
                // RFC 9429 §5.10: a mid of an m-line in use never changes.
                return Err(invalid_access(format!("m-line {i} changed its mid")));
            }
        }
        Ok(())
    }

    pub(crate) fn remote_transport(&self, sdp: &Sdp) -> NegotiatedTransport {
        let mut t = NegotiatedTransport {
            dtls_role: self.jsep.n.transport.dtls_role,
            ..NegotiatedTransport::default()
        };
        t.remote_ice_lite = sdp.attributes.ice_lite;
        if let Some(m) = transport_section(sdp) {
            let (u, p) = section_ice(sdp, m);
            t.mid = m.mid.clone();
            t.remote_ufrag = u.unwrap_or_default().to_owned();
            t.remote_pwd = p.unwrap_or_default().to_owned();
            t.remote_trickle = m
                .ice
                .options
                .iter()
                .chain(&sdp.attributes.ice.options)
                .any(|o| o == "trickle");
            t.remote_end_of_candidates = m.end_of_candidates;
            t.remote_fingerprints = section_fingerprints(sdp, m).to_vec();
            t.remote_setup = m.setup.or(sdp.attributes.setup);
        }
        if let Some(m) = sdp
            .media
            .iter()
            .find(|m| m.media_type == MediaType::Application && !m.is_rejected())
        {
            // RFC 8841 §5.2: "If the SDP sctp-port attribute is not present,
            // the default value is 5000."
            t.remote_sctp_port = Some(m.sctp_port.unwrap_or(SCTP_PORT));
            t.remote_max_message_size = m.max_message_size;
        }
        t
    }

    pub(crate) fn collect_remote_candidates(&mut self, sdp: &Sdp) -> Vec<RemoteCandidate> {
        let mut out = Vec::new();
        for (i, m) in sdp.media.iter().enumerate() {
            let ufrag = section_ice(sdp, m).0.map(str::to_owned);
            for (n, c) in m.candidates.iter().enumerate() {
                if n >= MAX_REMOTE_CANDIDATES_PER_MLINE {
                    self.jsep.dropped_remote_candidates += 1;
                    continue;
                }
                out.push(RemoteCandidate {
                    mid: m.mid.clone(),
                    m_line_index: i,
                    candidate: c.clone(),
                    ufrag: ufrag.clone(),
                });
            }
        }
        out
    }

    pub(crate) fn apply_remote_offer(&mut self, desc: SessionDescription) -> Result<(), JsepError> {
        let sdp = parse_description(&desc)?;
        validate_remote(&sdp, &desc)?;
        self.check_offer_fits(&sdp, None)?;
        let new_remote_kinds = sdp
            .media
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                media_kind(&m.media_type).is_some()
                    && !m.is_rejected()
                    && self
                        .jsep
                        .n
                        .mlines
                        .get(*i)
                        .is_none_or(|s| self.jsep.slot_mid(s) != m.mid)
            })
            .count();
        if self.jsep.n.transceivers.len() + new_remote_kinds > MAX_TRANSCEIVERS {
            return Err(JsepError::Operation(format!(
                "more than {MAX_TRANSCEIVERS} transceivers"
            )));
        }
        // Everything is checked; from here on the offer is applied.
        if self.jsep.signaling == SignalingState::Stable {
            self.jsep.snapshot = Some(Box::new(self.jsep.n.clone()));
        }
        // RFC 8445 §9 / RFC 8839: an offer with new ice-ufrag/ice-pwd
        // restarts ICE, and the answer carries new credentials too.
        let transport = self.remote_transport(&sdp);
        let previous = self
            .jsep
            .current_remote
            .as_ref()
            .map(|a| self.remote_transport(a.sdp()));
        if previous.is_some_and(|p| {
            p.remote_ufrag != transport.remote_ufrag || p.remote_pwd != transport.remote_pwd
        }) {
            self.jsep.answer_restarts_ice = true;
        }
        for (i, m) in sdp.media.iter().enumerate() {
            let existing = self.jsep.n.mlines.get(i).cloned();
            let same = existing
                .as_ref()
                .is_some_and(|s| self.jsep.slot_mid(s) == m.mid);
            let slot = match (existing, same) {
                (Some(s), true) => s,
                _ => self.slot_for_remote(m),
            };
            if let Slot::Transceiver(id) = &slot {
                if m.is_rejected() {
                    if let Some(t) = self.jsep.transceiver_mut(*id) {
                        // W3C: "If the media description is rejected, and
                        // transceiver is not already stopped, stop the
                        // RTCRtpTransceiver transceiver."
                        t.stopping = true;
                        t.stopped = true;
                        t.current_direction = None;
                    }
                }
            }
            match self.jsep.n.mlines.get_mut(i) {
                Some(s) => *s = slot,
                None => self.jsep.n.mlines.push(slot),
            }
        }
        self.jsep.n.remote_candidates = self.collect_remote_candidates(&sdp);
        self.jsep.n.transport = transport;
        self.jsep.pending_remote = Some(Applied::new(desc, sdp));
        self.jsep.last_answer = None;
        self.set_signaling_state(SignalingState::HaveRemoteOffer);
        Ok(())
    }

    /// The slot a new remote m-line takes.
    pub(crate) fn slot_for_remote(&mut self, m: &MediaDescription) -> Slot {
        let foreign = || Slot::Foreign {
            media_type: m.media_type.clone(),
            protocol: m.protocol.clone(),
            formats: m.formats.clone(),
            mid: m.mid.clone(),
        };
        if m.is_rejected() {
            return foreign();
        }
        match (media_kind(&m.media_type), &m.mid) {
            (Some(kind), Some(mid)) => {
                // W3C: "If transceiver is unset, create an RTCRtpTransceiver
                // ... with direction "recvonly"", with the offered mid.
                let id = self.new_transceiver(kind, Direction::RecvOnly, Some(mid.clone()), true);
                Slot::Transceiver(id)
            }
            (None, Some(mid)) if m.media_type == MediaType::Application && is_sctp(m) => {
                Slot::Data { mid: mid.clone() }
            }
            _ => foreign(),
        }
    }

    pub(crate) fn apply_remote_answer(
        &mut self,
        desc: SessionDescription,
    ) -> Result<(), JsepError> {
        let sdp = parse_description(&desc)?;
        validate_remote(&sdp, &desc)?;
        let offer = match &self.jsep.pending_local {
            Some(a) => a.sdp(),
            None => return Err(JsepError::InvalidState("no local offer")),
        };
        // RFC 3264 §6: "The answer MUST contain exactly the same number of
        // "m=" lines as the offer", RFC 5888 §9.1 with the same mids.
        if sdp.media.len() != offer.media.len() {
            return Err(invalid_access(
                "the answer's m-lines differ from the offer's",
            ));
        }
        for (i, (a, o)) in sdp.media.iter().zip(&offer.media).enumerate() {
            if a.port != 0 && a.mid != o.mid {
                return Err(invalid_access(format!(
                    "m-line {i} of the answer has another mid"
                )));
            }
        }
        let mut transport = self.remote_transport(&sdp);
        // RFC 8842 §5.3: the answerer "MUST" use active or passive.
        let role = match transport.remote_setup {
            Some(Setup::Active) => Some(DtlsRole::Server),
            Some(Setup::Passive) => Some(DtlsRole::Client),
            None if sdp.media.iter().all(|m| m.is_rejected()) => transport.dtls_role,
            _ => {
                return Err(invalid_access(
                    "the answer's a=setup must be active or passive",
                ))
            }
        };
        transport.dtls_role = role;
        let final_answer = desc.sdp_type == SdpType::Answer;
        let candidates = self.collect_remote_candidates(&sdp);
        let j = &mut self.jsep;
        j.apply_answer_sections(&sdp, final_answer, false);
        j.n.remote_candidates = candidates;
        j.n.transport = transport;
        let applied = Applied::new(desc, sdp);
        if final_answer {
            j.current_remote = Some(applied);
            j.ice_before_offer = None;
            j.pending_remote = None;
            j.current_local = j.pending_local.take();
            self.finish_negotiation();
        } else {
            j.pending_remote = Some(applied);
            self.set_signaling_state(SignalingState::HaveRemotePranswer);
        }
        Ok(())
    }

    /// A final answer was applied (either side): the offer/answer exchange is
    /// over, nothing is left to roll back, and the state becomes stable.
    fn finish_negotiation(&mut self) {
        self.jsep.snapshot = None;
        self.jsep.last_offer = None;
        // Read only by an answer applied in have-remote-offer or
        // have-local-pranswer, and a new remote offer clears it first: in
        // stable it is idle heap (issue 13).
        self.jsep.last_answer = None;
        self.prune_stopped();
        self.set_signaling_state(SignalingState::Stable);
        self.after_stable();
    }

    /// Once an answer makes the state stable, stopped transceivers leave the
    /// connection (W3C: a stopped transceiver is removed from the set of
    /// transceivers); their m-lines stay, rejected, keeping their mids, and
    /// may be recycled. This keeps the transceiver list bounded by live ones.
    fn prune_stopped(&mut self) {
        let j = &mut self.jsep;
        for slot in j.n.mlines.iter_mut() {
            let Slot::Transceiver(id) = slot else {
                continue;
            };
            if let Some(t) = j.n.transceivers.iter().find(|t| t.id == *id && t.stopped) {
                *slot = Slot::Foreign {
                    media_type: media_type(t.kind),
                    protocol: RTP_PROTOCOL.to_owned(),
                    formats: vec!["0".to_owned()],
                    mid: t.mid.clone(),
                };
            }
        }
        j.n.transceivers.retain(|t| !t.stopped);
    }

    /// Rollback (RFC 9429 §4.1.10.2, W3C): back to the last stable state,
    /// keeping what the application did meanwhile.
    pub(crate) fn rollback(&mut self) -> Result<(), JsepError> {
        // W3C (webrtc-pc issue 2235): rollback from stable or a pranswer state
        // is an InvalidStateError.
        if !matches!(
            self.jsep.signaling,
            SignalingState::HaveLocalOffer | SignalingState::HaveRemoteOffer
        ) {
            return Err(JsepError::InvalidState(
                "rollback needs have-local-offer or have-remote-offer",
            ));
        }
        let j = &mut self.jsep;
        if let Some(saved) = j.snapshot.take() {
            let live = std::mem::replace(&mut j.n, *saved);
            for t in live.transceivers {
                match j.n.transceivers.iter_mut().find(|s| s.id == t.id) {
                    Some(s) => {
                        s.direction = t.direction;
                        s.stopping |= t.stopping && !t.stopped;
                        s.codec_preferences = t.codec_preferences;
                    }
                    // W3C: a transceiver created by the rolled-back remote
                    // offer is removed; one the application added stays,
                    // unassociated.
                    None if !t.created_by_remote => j.n.transceivers.push(Transceiver {
                        mid: None,
                        current_direction: None,
                        ..t
                    }),
                    None => {}
                }
            }
        }
        j.pending_local = None;
        j.pending_remote = None;
        j.last_answer = None;
        j.answer_restarts_ice = false;
        if let Some(old) = j.ice_before_offer.take() {
            // The restart was not negotiated: it is still wanted.
            j.next_ice = Some(std::mem::replace(&mut j.local_ice, old));
            j.ice_restart_requested = true;
        }
        self.set_signaling_state(SignalingState::Stable);
        self.after_stable();
        Ok(())
    }

    // ---- trickle ----

    /// Adds a remote candidate (W3C `addIceCandidate`); an empty candidate
    /// marks end-of-candidates.
    pub fn add_ice_candidate(&mut self, candidate: IceCandidate) -> Result<(), JsepError> {
        self.add_ice_candidate_inner(candidate)?;
        self.sync_transports(None, None);
        Ok(())
    }

    fn add_ice_candidate_inner(&mut self, candidate: IceCandidate) -> Result<(), JsepError> {
        let index = self.candidate_m_line(&candidate)?;
        let Some(c) = candidate.candidate else {
            self.remote_end_of_candidates(index);
            return Ok(());
        };
        if let Some(i) = index {
            self.add_remote_candidate(i, c, candidate.username_fragment);
        }
        Ok(())
    }

    /// The W3C checks of `addIceCandidate` on the candidate's m-line, which
    /// it returns (`None` for an end-of-candidates of every m-line).
    fn candidate_m_line(&self, candidate: &IceCandidate) -> Result<Option<usize>, JsepError> {
        self.check_open()?;
        // W3C: "If remoteDescription is null return a promise rejected with a
        // newly created InvalidStateError."
        let Some(remote) = self.jsep.remote() else {
            return Err(JsepError::InvalidState("no remote description"));
        };
        // W3C: "If candidate.candidate is not an empty string and both
        // candidate.sdpMid and candidate.sdpMLineIndex are null, return a
        // promise rejected with a newly created TypeError."
        if candidate.candidate.is_some()
            && candidate.sdp_mid.is_none()
            && candidate.sdp_m_line_index.is_none()
        {
            return Err(JsepError::Type("sdpMid and sdpMLineIndex are both null"));
        }
        let media = &remote.sdp().media;
        let index = match (&candidate.sdp_mid, candidate.sdp_m_line_index) {
            // W3C: "If candidate.sdpMid is not null ... If candidate.sdpMid is
            // not equal to the mid of any media description in
            // remoteDescription, reject ... OperationError."
            (Some(mid), _) => Some(
                remote
                    .sdp()
                    .media_by_mid(mid)
                    .map(|(i, _)| i)
                    .ok_or_else(|| JsepError::Operation(format!("no m-line with mid {mid}")))?,
            ),
            // W3C: "Else, if candidate.sdpMLineIndex is not null ... If
            // candidate.sdpMLineIndex is equal to or larger than the number of
            // media descriptions in remoteDescription, reject ... OperationError."
            (None, Some(i)) => {
                let i = usize::from(i);
                if i >= media.len() {
                    return Err(JsepError::Operation(format!("no m-line {i}")));
                }
                Some(i)
            }
            (None, None) => None,
        };
        // W3C: "If candidate.usernameFragment is not null, and is not equal to
        // any username fragment present in the corresponding media description
        // of an applied remote description, reject ... OperationError."
        if let (Some(u), Some(i)) = (&candidate.username_fragment, index) {
            let known = [&self.jsep.pending_remote, &self.jsep.current_remote]
                .into_iter()
                .flatten()
                .filter_map(|a| a.sdp().media.get(i).map(|m| section_ice(a.sdp(), m).0))
                .any(|ufrag| ufrag == Some(u.as_str()));
            if !known {
                return Err(JsepError::Operation(format!("unknown ufrag {u}")));
            }
        }
        Ok(index)
    }

    /// End-of-candidates, for one m-line or all.
    fn remote_end_of_candidates(&mut self, index: Option<usize>) {
        self.jsep.n.transport.remote_end_of_candidates = true;
        self.update_remote_sdp(|sdp| {
            for (i, m) in sdp.media.iter_mut().enumerate() {
                if index.is_none_or(|x| x == i) {
                    m.end_of_candidates = true;
                }
            }
        });
    }

    /// Adds remote candidate `c` of m-line `i` (with the ufrag it was given
    /// with, if any), up to [`MAX_REMOTE_CANDIDATES_PER_MLINE`] per m-line.
    fn add_remote_candidate(&mut self, i: usize, c: SdpCandidate, ufrag: Option<String>) {
        // W3C: candidates for a stopped transceiver's m-line are ignored.
        if let Some(Slot::Transceiver(id)) = self.jsep.n.mlines.get(i) {
            if self.jsep.transceiver(*id).is_some_and(|t| t.stopped) {
                return;
            }
        }
        let remote = self.jsep.remote();
        let mid = remote
            .and_then(|a| a.sdp().media.get(i))
            .and_then(|m| m.mid.clone());
        let ufrag = ufrag.or_else(|| {
            remote.and_then(|a| {
                a.sdp()
                    .media
                    .get(i)
                    .and_then(|m| section_ice(a.sdp(), m).0.map(str::to_owned))
            })
        });
        let count = self
            .jsep
            .n
            .remote_candidates
            .iter()
            .filter(|r| r.m_line_index == i)
            .count();
        if count >= MAX_REMOTE_CANDIDATES_PER_MLINE {
            self.jsep.dropped_remote_candidates += 1;
            tracing::warn!(
                m_line = i,
                "remote candidate limit reached, candidate dropped"
            );
            return;
        }
        if self
            .jsep
            .n
            .remote_candidates
            .iter()
            .any(|r| r.m_line_index == i && r.candidate == c)
        {
            return;
        }
        self.jsep.n.remote_candidates.push(RemoteCandidate {
            mid,
            m_line_index: i,
            candidate: c.clone(),
            ufrag,
        });
        // W3C: the candidate is added to the remote description(s).
        self.update_remote_sdp(|sdp| {
            if let Some(m) = sdp.media.get_mut(i) {
                m.candidates.push(c.clone());
            }
        });
    }

    pub(crate) fn update_remote_sdp(&mut self, f: impl Fn(&mut Sdp)) {
        for a in [&mut self.jsep.pending_remote, &mut self.jsep.current_remote]
            .into_iter()
            .flatten()
        {
            a.update(&f);
        }
    }

    /// The remote candidates accepted so far (from the SDP and trickled).
    #[cfg_attr(not(test), allow(dead_code))] // read by the ICE integration
    pub(crate) fn remote_candidates(&self) -> &[RemoteCandidate] {
        &self.jsep.n.remote_candidates
    }

    /// What the remote description says about ICE, DTLS and SCTP.
    #[cfg_attr(not(test), allow(dead_code))] // read by ICE, DTLS and SCTP
    pub(crate) fn negotiated_transport(&self) -> &NegotiatedTransport {
        &self.jsep.n.transport
    }
}

pub(crate) fn is_sctp(m: &MediaDescription) -> bool {
    m.protocol.ends_with("DTLS/SCTP") && m.formats.iter().any(|f| f == SCTP_FORMAT)
}
