//! Building offers and answers (RFC 9429 §5.2, §5.3) from the JSEP state.

use std::collections::BTreeSet;

use super::jsep::{
    is_sctp, media_type, DtlsRole, IceCredentials, Slot, MAX_MESSAGE_SIZE, RTP_PROTOCOL,
    SCTP_FORMAT, SCTP_PORT, SCTP_PROTOCOL,
};
use super::transceiver::{Transceiver, TransceiverId};
use crate::error::JsepError;
use crate::peer::{PeerConnection, SignalingState};
use crate::sdp::codec::{answer_codecs, answer_extmaps, offer_codecs, offer_extmaps};
use crate::sdp::{
    Attribute, Connection, Direction, Fingerprint, Group, IceAttributes, MediaDescription,
    MediaKind, MediaType, Msid, MsidSemantic, Origin, Rid, RidDirection, Sdp, SessionAttributes,
    SessionDescription, Setup, Simulcast, SimulcastRid, SsrcAttribute, SsrcGroup, Timing,
};

/// The result of `create_offer`, applied by `set_local_description`.
#[derive(Debug)]
pub(crate) struct OfferPlan {
    pub(crate) sdp: String,
    /// The model `sdp` was written from (what parsing `sdp` gives), until
    /// the first `set_local_description` takes it: applying the offer we
    /// just wrote need not parse it again (issue 13).
    pub(crate) model: Option<Box<Sdp>>,
    pub(crate) mlines: Vec<Slot>,
    pub(crate) mids: Vec<(TransceiverId, String)>,
    pub(crate) ice: IceCredentials,
    pub(crate) version: u64,
}

impl OfferPlan {
    /// A copy to apply, with the model taken (a later apply of the same
    /// offer parses its text).
    pub(crate) fn take_for_apply(&mut self) -> Self {
        Self {
            sdp: self.sdp.clone(),
            model: self.model.take(),
            mlines: self.mlines.clone(),
            mids: self.mids.clone(),
            ice: self.ice.clone(),
            version: self.version,
        }
    }
}

/// The result of `create_answer`.
#[derive(Debug)]
pub(crate) struct AnswerPlan {
    pub(crate) sdp: String,
    /// As [`OfferPlan::model`].
    pub(crate) model: Option<Box<Sdp>>,
    pub(crate) ice: IceCredentials,
    pub(crate) version: u64,
}

impl AnswerPlan {
    /// As [`OfferPlan::take_for_apply`].
    pub(crate) fn take_for_apply(&mut self) -> Self {
        Self {
            sdp: self.sdp.clone(),
            model: self.model.take(),
            ice: self.ice.clone(),
            version: self.version,
        }
    }

    /// The model of the answer: the one it was written from, else parsed.
    pub(crate) fn take_model(&mut self) -> Result<Box<Sdp>, JsepError> {
        model_or_parse(&mut self.model, &self.sdp)
    }
}

impl OfferPlan {
    /// As [`AnswerPlan::take_model`].
    pub(crate) fn take_model(&mut self) -> Result<Box<Sdp>, JsepError> {
        model_or_parse(&mut self.model, &self.sdp)
    }
}

/// The model written to `sdp` if still held, else `sdp` parsed.
fn model_or_parse(model: &mut Option<Box<Sdp>>, sdp: &str) -> Result<Box<Sdp>, JsepError> {
    match model.take() {
        Some(model) => {
            // The writer's contract (`sdp::write`): its text parses back to
            // the model it was written from.
            debug_assert_eq!(Sdp::parse(sdp).as_ref(), Ok(&*model));
            Ok(model)
        }
        None => Ok(Box::new(Sdp::parse(sdp)?)),
    }
}

/// `sdp` as text, and as the model applied (its spare room given back,
/// as parsing does).
fn written(mut sdp: Sdp) -> (String, Option<Box<Sdp>>) {
    let text = sdp.to_text();
    sdp.shrink_to_fit();
    (text, Some(Box::new(sdp)))
}

impl PeerConnection {
    // ---- offers ----

    /// Creates an offer (W3C `createOffer`). It is applied only by
    /// [`set_local_description`](Self::set_local_description).
    pub fn create_offer(&mut self) -> Result<SessionDescription, JsepError> {
        self.check_open()?;
        // RFC 9429 §5.2: createOffer is valid in stable and have-local-offer.
        if !matches!(
            self.jsep.signaling,
            SignalingState::Stable | SignalingState::HaveLocalOffer
        ) {
            return Err(JsepError::InvalidState(
                "createOffer needs stable or have-local-offer",
            ));
        }
        self.identity_attribute()?;
        let plan = self.build_offer();
        let desc = SessionDescription::offer(plan.sdp.clone());
        // W3C: "Set [[LastCreatedOffer]] to sdpString."
        self.jsep.last_offer = Some(plan);
        Ok(desc)
    }

    pub(crate) fn next_version(&self) -> u64 {
        // RFC 9429 §5.2.2 / RFC 3264 §8: each new local description carries
        // the session version plus one.
        self.jsep.session_version.saturating_add(1)
    }

    pub(crate) fn free_mid(used: &mut BTreeSet<String>) -> String {
        let mut n = 0u32;
        loop {
            let mid = n.to_string();
            if used.insert(mid.clone()) {
                return mid;
            }
            n += 1;
        }
    }

    pub(crate) fn build_offer(&mut self) -> OfferPlan {
        let ice = self.offer_ice();
        let (slots, mids) = self.offer_slots();
        let j = &self.jsep;
        let mid_of = |s: &Slot| -> Option<String> {
            match s {
                Slot::Transceiver(id) => mids
                    .iter()
                    .find(|(i, _)| i == id)
                    .map(|(_, m)| m.clone())
                    .or_else(|| j.slot_mid(s)),
                _ => j.slot_mid(s),
            }
        };
        // Sized once: a media section is large, and a pushed-onto empty
        // vector would first take room for four.
        let mut media = Vec::with_capacity(slots.len());
        for slot in &slots {
            let mut m = self.offer_section(slot, &ice);
            m.mid = mid_of(slot);
            media.push(m);
        }
        let version = self.next_version();
        let (sdp, model) = written(self.session(version, media, None));
        OfferPlan {
            sdp,
            model,
            mlines: slots,
            mids,
            ice,
            version,
        }
    }

    /// The ICE credentials of the next offer: the current ones, or new ones
    /// for an ICE restart.
    fn offer_ice(&mut self) -> IceCredentials {
        if self.jsep.ice_restart_requested {
            // RFC 9429 §5.2.1 / RFC 8445 §9: an ICE restart uses new
            // ice-ufrag and ice-pwd values. Drawn once, reused until applied.
            let rng = &mut self.rng;
            self.jsep
                .next_ice
                .get_or_insert_with(|| super::jsep::generate_credentials(rng))
                .clone()
        } else {
            self.jsep.local_ice.clone()
        }
    }

    /// The m-lines of the next offer: the negotiated ones, with new
    /// transceivers and the data channel m-line placed in recycled or new
    /// slots, and the mids given to the new transceivers.
    fn offer_slots(&self) -> (Vec<Slot>, Vec<(TransceiverId, String)>) {
        let j = &self.jsep;
        let mut slots = j.n.mlines.clone();
        let mut used: BTreeSet<String> = slots.iter().filter_map(|s| j.slot_mid(s)).collect();
        used.extend(j.n.transceivers.iter().filter_map(|t| t.mid.clone()));
        let mut mids = Vec::new();
        let mut recycled = BTreeSet::new();
        let mut place = |slots: &mut Vec<Slot>, slot: Slot| {
            // RFC 9429 §5.2.2: "If any RtpTransceivers have been added and
            // there exists an m= section with a zero port in the current local
            // description or the current remote description, that m= section
            // MUST be recycled".
            let free = (0..slots.len()).find(|&i| {
                !recycled.contains(&i) && slots.get(i).is_some_and(|s| j.recyclable(i, s))
            });
            match free {
                Some(i) => {
                    recycled.insert(i);
                    if let Some(s) = slots.get_mut(i) {
                        *s = slot;
                    }
                }
                None => slots.push(slot),
            }
        };
        for t in j.n.transceivers.iter() {
            if t.mid.is_none() && !t.stopping && !t.stopped {
                let mid = Self::free_mid(&mut used);
                place(&mut slots, Slot::Transceiver(t.id));
                mids.push((t.id, mid));
            }
        }
        if j.data_wanted && !slots.iter().any(|s| matches!(s, Slot::Data { .. })) {
            let mid = Self::free_mid(&mut used);
            place(&mut slots, Slot::Data { mid });
        }
        (slots, mids)
    }

    /// The offer's m-section for `slot`, without its mid.
    fn offer_section(&self, slot: &Slot, ice: &IceCredentials) -> MediaDescription {
        let j = &self.jsep;
        match slot {
            Slot::Transceiver(id) => match j.transceiver(*id) {
                Some(t) if !t.stopping && !t.stopped => {
                    let mut m = self.rtp_section(t, t.direction, ice, Setup::ActPass);
                    for c in offer_codecs(t.kind, &t.codec_preferences) {
                        c.write_into(&mut m);
                    }
                    m.extmaps = offer_extmaps(t.kind);
                    self.add_sender(&mut m, t, t.direction);
                    if t.layers.len() > 1 && t.direction.sends() {
                        offer_simulcast(&mut m, t);
                    }
                    m
                }
                Some(t) => rejected_section(media_type(t.kind), RTP_PROTOCOL, vec!["0".into()]),
                None => rejected_section(MediaType::Audio, RTP_PROTOCOL, vec!["0".into()]),
            },
            Slot::Data { .. } => self.data_section(ice, Setup::ActPass),
            Slot::Foreign {
                media_type,
                protocol,
                formats,
                ..
            } => rejected_section(media_type.clone(), protocol, formats.clone()),
        }
    }

    pub(crate) fn session(
        &self,
        version: u64,
        media: Vec<MediaDescription>,
        bundle: Option<Vec<String>>,
    ) -> Sdp {
        // RFC 8843 §7: one BUNDLE group of every accepted m-line (eddy always
        // gathers on one transport).
        // Both lists sized exactly: the model is kept (`written` gives back
        // spare room, a reallocation per list grown by the default four).
        let mids = bundle.unwrap_or_else(|| {
            let bundled = media.iter().filter(|m| m.port != 0 && m.mid.is_some());
            let mut mids = Vec::with_capacity(bundled.clone().count());
            mids.extend(bundled.filter_map(|m| m.mid.clone()));
            mids
        });
        let groups = if mids.is_empty() {
            Vec::new()
        } else {
            vec![Group {
                semantics: "BUNDLE".into(),
                mids,
            }]
        };
        Sdp {
            // RFC 9429 §5.2.1: the username "SHOULD be "-"" and the address
            // a non-meaningful one "such as IN IP4 0.0.0.0", to leak nothing.
            origin: Origin {
                username: "-".into(),
                session_id: self.jsep.session_id.to_string(),
                session_version: version,
                net_type: "IN".into(),
                addr_type: "IP4".into(),
                address: "0.0.0.0".into(),
            },
            session_name: "-".into(),
            session_info: None,
            connection: None,
            bandwidths: Vec::new(),
            timing: vec![Timing { start: 0, stop: 0 }],
            extra_lines: Vec::new(),
            attributes: SessionAttributes {
                groups,
                msid_semantic: Some(MsidSemantic {
                    semantic: "WMS".into(),
                    ids: vec!["*".into()],
                }),
                ice_lite: self.config.ice_lite,
                // RFC 8827 §7.4 / webrtc-identity: the assertion over our
                // fingerprints, made by `identity_attribute` just before.
                identity: self.identity.cached_value(),
                ..SessionAttributes::default()
            },
            media,
        }
    }

    /// The transport attributes every accepted section carries.
    pub(crate) fn add_transport(
        &self,
        m: &mut MediaDescription,
        ice: &IceCredentials,
        setup: Setup,
    ) {
        // RFC 9429 §5.2.1: port 9 and c=IN IP4 0.0.0.0 until candidates are
        // known (trickle ICE, RFC 8840).
        m.connection = Some(Connection {
            net_type: "IN".into(),
            addr_type: "IP4".into(),
            address: "0.0.0.0".into(),
        });
        m.ice = IceAttributes {
            ufrag: Some(ice.ufrag.clone()),
            pwd: Some(ice.pwd.clone()),
            options: vec!["trickle".into()],
        };
        m.fingerprints = self
            .local_fingerprints
            .iter()
            .map(|(hash, bytes)| Fingerprint {
                hash: hash.clone(),
                bytes: bytes.clone(),
            })
            .collect();
        m.setup = Some(setup);
    }

    pub(crate) fn rtp_section(
        &self,
        t: &Transceiver,
        direction: Direction,
        ice: &IceCredentials,
        setup: Setup,
    ) -> MediaDescription {
        let mut m = MediaDescription::new(media_type(t.kind), 9, RTP_PROTOCOL, Vec::new());
        self.add_transport(&mut m, ice, setup);
        m.other.push(Attribute {
            name: "rtcp".into(),
            value: Some("9 IN IP4 0.0.0.0".into()),
        });
        m.direction = Some(direction);
        // RFC 9429 §5.2.1: "a=rtcp-mux" and "a=rtcp-rsize" are always offered.
        m.rtcp_mux = true;
        m.rtcp_rsize = true;
        m
    }

    /// msid (RFC 8830) and SSRCs (RFC 5576) of a sending transceiver.
    pub(crate) fn add_sender(
        &self,
        m: &mut MediaDescription,
        t: &Transceiver,
        direction: Direction,
    ) {
        // W3C negotiation-needed: a transceiver whose [[Direction]] sends has
        // "a single "a=msid" line" in its m-section, whatever was negotiated.
        if t.direction.sends() {
            m.msids.push(Msid {
                stream_id: "-".into(),
                track_id: Some(t.track_id.clone()),
            });
        }
        // SSRCs only when the negotiated direction actually sends.
        if !direction.sends() {
            return;
        }
        let has_rtx = m
            .rtpmaps
            .iter()
            .any(|r| r.encoding.eq_ignore_ascii_case("rtx"));
        let mut ssrcs = vec![t.ssrc];
        if has_rtx {
            ssrcs.push(t.rtx_ssrc);
            // RFC 5576 §4.2 with RFC 4588: the RTX SSRC is grouped with its
            // media SSRC as "FID <media ssrc> <rtx ssrc>".
            m.ssrc_groups.push(SsrcGroup {
                semantics: "FID".into(),
                ssrcs: ssrcs.clone(),
            });
        }
        for ssrc in ssrcs {
            m.ssrcs.push(SsrcAttribute {
                ssrc,
                attribute: "cname".into(),
                value: Some(self.jsep.cname.clone()),
            });
        }
    }

    pub(crate) fn data_section(&self, ice: &IceCredentials, setup: Setup) -> MediaDescription {
        // RFC 8841 §4.1: "m=application <port> UDP/DTLS/SCTP webrtc-datachannel".
        let mut m = MediaDescription::new(
            MediaType::Application,
            9,
            SCTP_PROTOCOL,
            vec![SCTP_FORMAT.into()],
        );
        self.add_transport(&mut m, ice, setup);
        m.sctp_port = Some(SCTP_PORT);
        m.max_message_size = Some(MAX_MESSAGE_SIZE);
        m
    }

    // ---- answers ----

    /// Creates an answer to the remote offer (W3C `createAnswer`).
    pub fn create_answer(&mut self) -> Result<SessionDescription, JsepError> {
        self.check_open()?;
        // W3C: "If connection.[[SignalingState]] is neither
        // "have-remote-offer" nor "have-local-pranswer", return a promise
        // rejected with a newly created InvalidStateError."
        if !matches!(
            self.jsep.signaling,
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
        ) {
            return Err(JsepError::InvalidState(
                "createAnswer needs have-remote-offer or have-local-pranswer",
            ));
        }
        self.identity_attribute()?;
        let plan = self.build_answer()?;
        let desc = SessionDescription::answer(plan.sdp.clone());
        self.jsep.last_answer = Some(plan);
        Ok(desc)
    }

    /// Our `a=setup` in an answer to an offer that said `offered`.
    pub(crate) fn answer_setup(&self, offered: Option<Setup>) -> Setup {
        match offered {
            // RFC 8842 §5.2: an answerer to "active" must be "passive", and
            // to "passive" must be "active".
            Some(Setup::Active) => Setup::Passive,
            Some(Setup::Passive) => Setup::Active,
            // RFC 8842 §5.3: to "actpass" the answerer picks; keep an
            // established association's role, else "active" as browsers do.
            _ => match self.jsep.n.transport.dtls_role {
                Some(DtlsRole::Server) => Setup::Passive,
                _ => Setup::Active,
            },
        }
    }

    pub(crate) fn build_answer(&mut self) -> Result<AnswerPlan, JsepError> {
        let ice = if self.jsep.answer_restarts_ice || self.jsep.ice_restart_requested {
            let rng = &mut self.rng;
            self.jsep
                .next_ice
                .get_or_insert_with(|| super::jsep::generate_credentials(rng))
                .clone()
        } else {
            self.jsep.local_ice.clone()
        };
        let offer = match &self.jsep.pending_remote {
            Some(a) => a.sdp(),
            None => return Err(JsepError::InvalidState("no remote offer")),
        };
        let mut media = Vec::with_capacity(offer.media.len());
        for (i, om) in offer.media.iter().enumerate() {
            let setup = self.answer_setup(om.setup.or(offer.attributes.setup));
            let slot = self.jsep.n.mlines.get(i).cloned();
            let m = match slot {
                Some(Slot::Transceiver(id)) => self.answer_rtp(om, id, &ice, setup),
                Some(Slot::Data { .. }) if !om.is_rejected() && is_sctp(om) => {
                    Some(self.data_section(&ice, setup))
                }
                _ => None,
            };
            let mut m = m.unwrap_or_else(|| {
                rejected_section(om.media_type.clone(), &om.protocol, om.formats.clone())
            });
            // RFC 3264 §6: the answer keeps the offer's m-lines in order;
            // RFC 5888 §9.1: with the same mids.
            m.mid = om.mid.clone();
            media.push(m);
        }
        // RFC 8843 §7.3.1: the answer's BUNDLE group lists the accepted mids
        // of the offered group.
        let bundle: Vec<String> = offer
            .bundle_groups()
            .next()
            .map(|g| {
                g.mids
                    .iter()
                    .filter(|mid| {
                        media
                            .iter()
                            .any(|m| m.mid.as_ref() == Some(*mid) && m.port != 0)
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let version = self.next_version();
        let (sdp, model) = written(self.session(version, media, Some(bundle)));
        Ok(AnswerPlan {
            sdp,
            model,
            ice,
            version,
        })
    }

    pub(crate) fn answer_rtp(
        &self,
        om: &MediaDescription,
        id: TransceiverId,
        ice: &IceCredentials,
        setup: Setup,
    ) -> Option<MediaDescription> {
        let t = self.jsep.transceiver(id)?;
        if om.is_rejected() || t.stopping || t.stopped {
            return None;
        }
        // RFC 8827 §6.5: "All media channels MUST be secured via SRTP and
        // SRTCP"; eddy keys SRTP with DTLS only.
        if !om.protocol.ends_with("RTP/SAVPF") || !om.protocol.contains("TLS") {
            return None;
        }
        // RFC 9429 §5.3.1 / W3C rtcpMuxPolicy "require": an m-section
        // without a=rtcp-mux cannot be accepted, so it is rejected.
        if !om.rtcp_mux {
            return None;
        }
        let codecs = answer_codecs(om, t.kind, &t.codec_preferences);
        if codecs.is_empty() {
            return None;
        }
        // RFC 3264 §6.1: sendonly is answered recvonly and so on; W3C: the
        // transceiver's direction intersected with the offer's, reversed.
        let direction = t.direction.intersect(om.direction_or_default().reverse());
        let mut m = self.rtp_section(t, direction, ice, setup);
        m.rtcp_rsize = om.rtcp_rsize;
        for c in codecs {
            c.write_into(&mut m);
        }
        m.extmaps = answer_extmaps(om, t.kind);
        // RFC 8853 §5.3: the answer reverses the offered rid directions and
        // simulcast lists.
        if t.kind == MediaKind::Video && direction.receives() {
            m.rids = om
                .rids
                .iter()
                .filter(|r| r.direction == RidDirection::Send)
                .map(|r| Rid {
                    id: r.id.clone(),
                    direction: RidDirection::Recv,
                    params: None,
                })
                .collect();
            m.simulcast = om
                .simulcast
                .as_ref()
                .filter(|s| !s.send.is_empty())
                .map(|s| Simulcast {
                    send: Vec::new(),
                    recv: s.send.clone(),
                });
        }
        self.add_sender(&mut m, t, direction);
        Some(m)
    }
}

/// A simulcast sender's offer (RFC 8853 §5.2): `a=rid:<rid> send` per
/// encoding and `a=simulcast:send <rid>;<rid>;...`, each a stream of its
/// own. Its streams are told apart by RID, so no SSRCs are signaled (as
/// browsers do).
fn offer_simulcast(m: &mut MediaDescription, t: &Transceiver) {
    m.rids = t
        .layers
        .iter()
        .map(|l| Rid {
            id: l.rid.to_string(),
            direction: RidDirection::Send,
            params: None,
        })
        .collect();
    m.simulcast = Some(Simulcast {
        send: t
            .layers
            .iter()
            .map(|l| {
                vec![SimulcastRid {
                    id: l.rid.to_string(),
                    paused: !l.active,
                }]
            })
            .collect(),
        recv: Vec::new(),
    });
    m.ssrcs.clear();
    m.ssrc_groups.clear();
}

/// A rejected section (port 0) with the given `m=` line.
pub(crate) fn rejected_section(
    media_type: MediaType,
    protocol: &str,
    formats: Vec<String>,
) -> MediaDescription {
    // RFC 3264 §6: "To reject an offered stream, the port number in the
    // corresponding stream in the answer MUST be set to zero."
    let formats = if formats.is_empty() {
        vec!["0".into()]
    } else {
        formats
    };
    let mut m = MediaDescription::new(media_type, 0, protocol, formats);
    m.connection = Some(Connection {
        net_type: "IN".into(),
        addr_type: "IP4".into(),
        address: "0.0.0.0".into(),
    });
    m
}
