//! Transceivers (W3C RTCRtpTransceiver): creation, the borrowed handle,
//! direction, `stop()` and codec preferences.

use super::jsep::MAX_TRANSCEIVERS;
use crate::error::JsepError;
use crate::peer::PeerConnection;
use crate::sdp::codec::is_supported;
use crate::sdp::{Direction, MediaKind, RtpCodecCapability};

/// A transceiver's handle. Ids are never reused; once a stopped
/// transceiver is negotiated away, [`PeerConnection::transceiver`] returns `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransceiverId(u32);

/// Options of `add_transceiver` (W3C RTCRtpTransceiverInit).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransceiverInit {
    /// The direction. Defaults to sendrecv.
    pub direction: Direction,
    /// W3C `sendEncodings`: two or more make a simulcast sender (RFC 8853),
    /// one RTP stream per encoding told apart by its RID; empty (the
    /// default) or one is a single stream.
    pub send_encodings: Vec<SendEncoding>,
}

impl Default for TransceiverInit {
    fn default() -> Self {
        Self {
            direction: Direction::SendRecv,
            send_encodings: Vec::new(),
        }
    }
}

impl TransceiverInit {
    /// With `direction`.
    pub fn with_direction(direction: Direction) -> Self {
        Self {
            direction,
            ..Self::default()
        }
    }

    /// With `encodings` as `sendEncodings` (simulcast with two or more).
    pub fn with_send_encodings(mut self, encodings: Vec<SendEncoding>) -> Self {
        self.send_encodings = encodings;
        self
    }
}

/// Most simulcast encodings of one sender (as in libwebrtc).
pub const MAX_SIMULCAST_ENCODINGS: usize = 4;
/// Longest RID: it fits one one-byte header extension element (RFC 8285
/// §4.2: at most 16 bytes of data).
pub const MAX_RID_LEN: usize = 16;

/// One encoding of a simulcast sender (W3C RTCRtpEncodingParameters in
/// `sendEncodings`). eddy does not encode: the application writes each
/// encoding's frames or packets with its RID (`RtpSender::write_layer_frame`,
/// `RtpWrite::with_rid`), scaled and rate-limited as it chose.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendEncoding {
    /// Its RID (RFC 8851 `rid-id`: letters, digits, `-`, `_`; at most
    /// [`MAX_RID_LEN`]).
    pub rid: String,
    /// Whether it is sent.
    pub active: bool,
    /// The most bits per second the application means to send on it.
    pub max_bitrate: Option<u32>,
}

impl SendEncoding {
    /// An active encoding with RID `rid`.
    pub fn new(rid: impl Into<String>) -> Self {
        Self {
            rid: rid.into(),
            active: true,
            max_bitrate: None,
        }
    }

    /// With `max_bitrate` bits per second.
    pub fn with_max_bitrate(mut self, bps: u32) -> Self {
        self.max_bitrate = Some(bps);
        self
    }
}

/// Checks `sendEncodings` (W3C addTransceiver: RIDs by the RFC 8851
/// grammar, unique; eddy's bounds) for a transceiver of `kind`.
fn check_send_encodings(kind: MediaKind, encodings: &[SendEncoding]) -> Result<(), JsepError> {
    let err = |m: String| Err(JsepError::Operation(m));
    if encodings.len() > 1 && kind != MediaKind::Video {
        return err("simulcast (more than one send encoding) is for video".into());
    }
    if encodings.len() > MAX_SIMULCAST_ENCODINGS {
        return err(format!(
            "more than {MAX_SIMULCAST_ENCODINGS} send encodings"
        ));
    }
    for (i, e) in encodings.iter().enumerate() {
        // RFC 8851 §10: "rid-id = 1*(alpha-numeric / "-" / "_")".
        let ok = (1..=MAX_RID_LEN).contains(&e.rid.len())
            && e.rid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if encodings.len() > 1 && !ok {
            return err(format!("invalid rid {:?}", e.rid));
        }
        if encodings[..i].iter().any(|o| o.rid == e.rid) {
            return err(format!("rid {:?} given twice", e.rid));
        }
    }
    Ok(())
}

/// A simulcast sender's encoding beyond the first (whose SSRCs are the
/// transceiver's own).
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    pub(crate) rid: std::sync::Arc<str>,
    pub(crate) ssrc: u32,
    pub(crate) rtx_ssrc: u32,
    pub(crate) active: bool,
    pub(crate) max_bitrate: Option<u32>,
}

/// One transceiver (W3C RTCRtpTransceiver) and its sender's identity.
#[derive(Debug, Clone)]
pub(crate) struct Transceiver {
    pub(crate) id: TransceiverId,
    pub(crate) kind: MediaKind,
    pub(crate) mid: Option<String>,
    pub(crate) direction: Direction,
    pub(crate) current_direction: Option<Direction>,
    pub(crate) stopping: bool,
    pub(crate) stopped: bool,
    pub(crate) codec_preferences: Vec<RtpCodecCapability>,
    /// Created by `set_remote_description`: rollback removes it.
    pub(crate) created_by_remote: bool,
    pub(crate) ssrc: u32,
    pub(crate) rtx_ssrc: u32,
    pub(crate) track_id: String,
    /// Simulcast: every encoding of `sendEncodings` (the first with the
    /// SSRCs above); empty for a single stream.
    pub(crate) layers: Vec<Layer>,
}

impl PeerConnection {
    // ---- transceivers ----

    /// Adds a transceiver (W3C `addTransceiver(kind, init)`); the returned
    /// id is its handle, see [`transceiver`](Self::transceiver).
    pub fn add_transceiver(
        &mut self,
        kind: MediaKind,
        init: TransceiverInit,
    ) -> Result<TransceiverId, JsepError> {
        self.check_open()?;
        if self.jsep.n.transceivers.len() >= MAX_TRANSCEIVERS {
            return Err(JsepError::Operation(format!(
                "more than {MAX_TRANSCEIVERS} transceivers"
            )));
        }
        check_send_encodings(kind, &init.send_encodings)?;
        let id = self.new_transceiver(kind, init.direction, None, false);
        if init.send_encodings.len() > 1 {
            let first = self
                .jsep
                .transceiver(id)
                .map_or((0, 0), |t| (t.ssrc, t.rtx_ssrc));
            let mut layers = Vec::with_capacity(init.send_encodings.len());
            for (i, e) in init.send_encodings.iter().enumerate() {
                let (ssrc, rtx_ssrc) = if i == 0 {
                    first
                } else {
                    (self.rng.u32(), self.rng.u32())
                };
                layers.push(Layer {
                    rid: e.rid.as_str().into(),
                    ssrc,
                    rtx_ssrc,
                    active: e.active,
                    max_bitrate: e.max_bitrate,
                });
            }
            if let Some(t) = self.jsep.n.transceivers.iter_mut().find(|t| t.id == id) {
                t.layers = layers;
            }
        }
        self.update_negotiation_needed();
        Ok(id)
    }

    pub(crate) fn new_transceiver(
        &mut self,
        kind: MediaKind,
        direction: Direction,
        mid: Option<String>,
        created_by_remote: bool,
    ) -> TransceiverId {
        let id = TransceiverId(self.jsep.next_transceiver_id);
        self.jsep.next_transceiver_id = self.jsep.next_transceiver_id.wrapping_add(1);
        let ssrc = self.rng.u32();
        let rtx_ssrc = self.rng.u32();
        let track_id = self.rng.ice_chars(16).replace(['+', '/'], "x");
        self.jsep.n.transceivers.push(Transceiver {
            id,
            kind,
            mid,
            direction,
            current_direction: None,
            stopping: false,
            stopped: false,
            codec_preferences: Vec::new(),
            created_by_remote,
            ssrc,
            rtx_ssrc,
            track_id,
            layers: Vec::new(),
        });
        id
    }

    /// The ids of every transceiver, in creation order (W3C `getTransceivers`).
    pub fn transceivers(&self) -> Vec<TransceiverId> {
        self.jsep.n.transceivers.iter().map(|t| t.id).collect()
    }

    /// A handle to transceiver `id`.
    pub fn transceiver(&mut self, id: TransceiverId) -> Option<RtpTransceiver<'_>> {
        self.jsep.transceiver(id)?;
        Some(RtpTransceiver { pc: self, id })
    }
}

/// A borrowed handle to one transceiver (W3C RTCRtpTransceiver).
#[derive(Debug)]
pub struct RtpTransceiver<'a> {
    pc: &'a mut PeerConnection,
    id: TransceiverId,
}

impl RtpTransceiver<'_> {
    pub(crate) fn get(&self) -> Option<&Transceiver> {
        self.pc.jsep.transceiver(self.id)
    }

    /// Its id.
    pub fn id(&self) -> TransceiverId {
        self.id
    }

    /// Audio or video.
    pub fn kind(&self) -> Option<MediaKind> {
        self.get().map(|t| t.kind)
    }

    /// Its mid, once negotiated (W3C `mid`).
    pub fn mid(&self) -> Option<&str> {
        self.get().and_then(|t| t.mid.as_deref())
    }

    /// The preferred direction (W3C `direction`).
    pub fn direction(&self) -> Option<Direction> {
        self.get().map(|t| t.direction)
    }

    /// The negotiated direction (W3C `currentDirection`); `None` before
    /// negotiation and once stopped.
    pub fn current_direction(&self) -> Option<Direction> {
        self.get().and_then(|t| t.current_direction)
    }

    /// Whether `stop()` was called or its m-line was rejected.
    pub fn is_stopping(&self) -> bool {
        self.get().is_some_and(|t| t.stopping)
    }

    /// Whether it is stopped for good (its m-line is rejected).
    pub fn is_stopped(&self) -> bool {
        self.get().is_some_and(|t| t.stopped)
    }

    /// Sets the preferred direction (W3C `direction` setter).
    pub fn set_direction(&mut self, direction: Direction) -> Result<(), JsepError> {
        self.pc.check_open()?;
        let Some(t) = self.pc.jsep.transceiver_mut(self.id) else {
            return Err(JsepError::InvalidState("no such transceiver"));
        };
        // W3C: "If transceiver.[[Stopping]] is true, throw an
        // InvalidStateError."
        if t.stopping {
            return Err(JsepError::InvalidState("the transceiver is stopping"));
        }
        if t.direction != direction {
            t.direction = direction;
            self.pc.update_negotiation_needed();
        }
        Ok(())
    }

    /// Stops it (W3C `stop()`): the next offer rejects its m-line.
    pub fn stop(&mut self) {
        if self.pc.check_open().is_err() {
            return;
        }
        if let Some(t) = self.pc.jsep.transceiver_mut(self.id) {
            if t.stopping {
                return;
            }
            t.stopping = true;
            t.current_direction = None;
            // An unnegotiated transceiver has nothing to tell the peer.
            if t.mid.is_none() {
                t.stopped = true;
            }
        }
        self.pc.update_negotiation_needed();
    }

    /// Sets the codecs to offer and accept, in order (W3C
    /// `setCodecPreferences`); an empty list restores the default.
    pub fn set_codec_preferences(
        &mut self,
        codecs: &[RtpCodecCapability],
    ) -> Result<(), JsepError> {
        let Some(kind) = self.kind() else {
            return Err(JsepError::InvalidState("no such transceiver"));
        };
        // W3C: "If any codec in codecs is not in the list of codecs from
        // RTCRtpReceiver.getCapabilities(kind), throw InvalidModificationError";
        // "If ... codecs only contains entries for RTX, RED, FEC or Comfort
        // Noise ..., throw InvalidModificationError."
        if codecs.iter().any(|c| !is_supported(kind, c)) {
            return Err(JsepError::InvalidModification("a codec is not supported"));
        }
        if !codecs.is_empty() && codecs.iter().all(RtpCodecCapability::is_auxiliary) {
            return Err(JsepError::InvalidModification("only RTX/RED/FEC/CN codecs"));
        }
        if let Some(t) = self.pc.jsep.transceiver_mut(self.id) {
            t.codec_preferences = codecs.to_vec();
        }
        Ok(())
    }
}
