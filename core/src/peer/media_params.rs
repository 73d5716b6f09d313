//! What offer and answer negotiated for one transceiver's media, read once
//! per applied description: the codecs both sides listed (with their RTX
//! payload types and feedback), the header extension ids, and what the
//! remote said about its sender (SSRCs, RTX pairing, rids, msid).
//!
//! JSEP (RFC 9429 §5.3.1, RFC 3264 §6.1) makes the answerer reuse the
//! offerer's payload types and extension ids, so one table serves both
//! directions; where the two descriptions disagree anyway, what we send
//! follows the remote description (what the peer expects to receive) and
//! what we receive follows ours.

use crate::rtp::hdrext;
use crate::sdp::{Direction, MediaDescription, MediaKind, RtpMap};

/// Most SSRCs taken from one remote m-section's `a=ssrc` lines.
pub(crate) const MAX_SIGNALED_SSRCS: usize = 32;
/// Most codecs kept per m-section.
pub(crate) const MAX_CODECS: usize = 64;

/// One negotiated codec (W3C RTCRtpCodecParameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NegotiatedCodec {
    pub(crate) payload_type: u8,
    /// `audio/opus`, `video/VP8`, ...
    pub(crate) mime_type: String,
    pub(crate) clock_rate: u32,
    pub(crate) channels: Option<u16>,
    pub(crate) fmtp: Option<String>,
    /// The RTX payload type whose `apt` is this codec (RFC 4588 §8.1).
    pub(crate) rtx_payload_type: Option<u8>,
    /// `a=rtcp-fb:<pt> nack` (RFC 4585 §4.2).
    pub(crate) nack: bool,
    /// `a=rtcp-fb:<pt> nack pli`.
    pub(crate) pli: bool,
    /// `a=rtcp-fb:<pt> ccm fir` (RFC 5104 §7.1).
    pub(crate) fir: bool,
}

/// Negotiated header extension ids (RFC 8285), by what eddy reads or
/// writes; `None`: not negotiated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ExtensionIds {
    pub(crate) mid: Option<u8>,
    pub(crate) rid: Option<u8>,
    pub(crate) repaired_rid: Option<u8>,
    pub(crate) abs_send_time: Option<u8>,
    pub(crate) transport_cc: Option<u8>,
    pub(crate) audio_level: Option<u8>,
    pub(crate) csrc_audio_level: Option<u8>,
    pub(crate) video_orientation: Option<u8>,
    pub(crate) playout_delay: Option<u8>,
    pub(crate) abs_capture_time: Option<u8>,
}

impl ExtensionIds {
    /// The ids of `m`'s `a=extmap` lines whose URI `other` lists too.
    fn shared(m: &MediaDescription, other: &MediaDescription) -> Self {
        let mut ids = Self::default();
        for e in &m.extmaps {
            if !other.extmaps.iter().any(|o| o.uri == e.uri) {
                continue;
            }
            // RFC 8285 §5: ids 1..=14 (one-byte) or 1..=255 (two-byte).
            let Ok(id) = u8::try_from(e.id) else {
                continue;
            };
            if id == 0 {
                continue;
            }
            let slot = match e.uri.as_str() {
                hdrext::MID_URI => &mut ids.mid,
                hdrext::RID_URI => &mut ids.rid,
                hdrext::REPAIRED_RID_URI => &mut ids.repaired_rid,
                hdrext::ABS_SEND_TIME_URI => &mut ids.abs_send_time,
                hdrext::TRANSPORT_CC_URI => &mut ids.transport_cc,
                hdrext::SSRC_AUDIO_LEVEL_URI => &mut ids.audio_level,
                hdrext::CSRC_AUDIO_LEVEL_URI => &mut ids.csrc_audio_level,
                hdrext::VIDEO_ORIENTATION_URI => &mut ids.video_orientation,
                hdrext::PLAYOUT_DELAY_URI => &mut ids.playout_delay,
                hdrext::ABS_CAPTURE_TIME_URI => &mut ids.abs_capture_time,
                _ => continue,
            };
            *slot = Some(id);
        }
        ids
    }
}

/// RFC 8853 §5.3: the answerer "reverses" the simulcast lists; a stream of
/// our `a=simulcast:send` is sent when the remote's `recv` list keeps its
/// RID (first alternative of each stream; a paused one is still sent).
fn simulcast_taken(
    local: &MediaDescription,
    remote: &MediaDescription,
) -> Vec<std::sync::Arc<str>> {
    let (Some(ours), Some(theirs)) = (&local.simulcast, &remote.simulcast) else {
        return Vec::new();
    };
    ours.send
        .iter()
        .filter_map(|alternatives| alternatives.first())
        .filter(|r| theirs.recv.iter().flatten().any(|t| t.id == r.id))
        .map(|r| std::sync::Arc::from(r.id.as_str()))
        .collect()
}

/// What the remote's m-section says about the stream it sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RemoteSender {
    /// `(media SSRC, its RTX SSRC)` from `a=ssrc` and `a=ssrc-group:FID`.
    pub(crate) ssrcs: Vec<(u32, Option<u32>)>,
    /// `a=rid` values the remote sends (simulcast layers).
    pub(crate) rids: Vec<String>,
    /// Stream ids of `a=msid` (none for `-`).
    pub(crate) stream_ids: Vec<String>,
    /// The track id of `a=msid`, if given.
    pub(crate) track_id: Option<String>,
}

/// Everything negotiated for one transceiver's m-section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NegotiatedMedia {
    pub(crate) mid: String,
    pub(crate) kind: MediaKind,
    /// Codecs both descriptions list, in the local description's order;
    /// RTX entries are folded into their codec.
    pub(crate) codecs: Vec<NegotiatedCodec>,
    /// Extension ids to write on what we send (the remote's mapping).
    pub(crate) send_ext: ExtensionIds,
    /// Extension ids to read on what we receive (our mapping).
    pub(crate) recv_ext: ExtensionIds,
    /// The negotiated direction, from our side.
    pub(crate) direction: Direction,
    pub(crate) remote: RemoteSender,
    /// The remote accepts reduced-size RTCP (RFC 5506 `a=rtcp-rsize`).
    pub(crate) rtcp_rsize: bool,
    /// Our simulcast streams the remote takes (RFC 8853: the RIDs of our
    /// `a=simulcast:send` its description lists to receive), in our
    /// order; empty without simulcast.
    pub(crate) send_rids: Vec<std::sync::Arc<str>>,
}

impl NegotiatedMedia {
    /// The negotiated media of a transceiver whose local section is
    /// `local` and remote section `remote`, with `direction` as
    /// negotiated from our side.
    pub(crate) fn new(
        kind: MediaKind,
        local: &MediaDescription,
        remote: &MediaDescription,
        direction: Direction,
    ) -> Option<Self> {
        let mid = local.mid.clone()?;
        Some(Self {
            mid,
            kind,
            codecs: shared_codecs(kind, local, remote),
            send_ext: ExtensionIds::shared(remote, local),
            recv_ext: ExtensionIds::shared(local, remote),
            direction,
            remote: remote_sender(remote),
            rtcp_rsize: remote.rtcp_rsize && local.rtcp_rsize,
            send_rids: simulcast_taken(local, remote),
        })
    }

    /// The codec of payload type `pt`.
    pub(crate) fn codec(&self, pt: u8) -> Option<&NegotiatedCodec> {
        self.codecs.iter().find(|c| c.payload_type == pt)
    }

    /// The codec whose RTX payload type is `pt`.
    pub(crate) fn codec_of_rtx(&self, pt: u8) -> Option<&NegotiatedCodec> {
        self.codecs.iter().find(|c| c.rtx_payload_type == Some(pt))
    }
}

fn is_rtx(r: &RtpMap) -> bool {
    r.encoding.eq_ignore_ascii_case("rtx")
}

/// The `apt` of an RTX payload type.
fn apt(m: &MediaDescription, rtx_pt: u8) -> Option<u8> {
    m.fmtp(rtx_pt)?.get("apt")?.parse().ok()
}

/// Codecs in `local` that `remote` lists with the same payload type,
/// encoding and clock rate, each with its RTX payload type if both list
/// one.
fn shared_codecs(
    kind: MediaKind,
    local: &MediaDescription,
    remote: &MediaDescription,
) -> Vec<NegotiatedCodec> {
    let same = |r: &RtpMap| {
        remote.rtpmap(r.payload_type).is_some_and(|o| {
            o.encoding.eq_ignore_ascii_case(&r.encoding) && o.clock_rate == r.clock_rate
        })
    };
    let mut out = Vec::new();
    for r in local.rtpmaps.iter().filter(|r| !is_rtx(r) && same(r)) {
        if out.len() >= MAX_CODECS {
            break;
        }
        let pt = r.payload_type;
        let rtx_payload_type = local
            .rtpmaps
            .iter()
            .filter(|x| is_rtx(x) && same(x))
            .map(|x| x.payload_type)
            .find(|&x| apt(local, x) == Some(pt) && apt(remote, x) == Some(pt));
        // RFC 4585 §4.2: feedback applies when both sides list it.
        let fb = |t: &str, p: Option<&str>| {
            let has = |m: &MediaDescription| {
                m.rtcp_fbs_for(pt)
                    .any(|f| f.fb_type == t && f.param.as_deref() == p)
            };
            has(local) && has(remote)
        };
        out.push(NegotiatedCodec {
            payload_type: pt,
            mime_type: format!("{}/{}", kind.as_str(), r.encoding),
            clock_rate: r.clock_rate,
            channels: r.channels,
            fmtp: local.fmtp(pt).map(|f| f.params.clone()),
            rtx_payload_type,
            nack: fb("nack", None),
            pli: fb("nack", Some("pli")),
            fir: fb("ccm", Some("fir")),
        });
    }
    out
}

/// What `remote` says about its sender.
fn remote_sender(remote: &MediaDescription) -> RemoteSender {
    let mut out = RemoteSender::default();
    // RFC 5576 §4.2 with RFC 4588 §8.2: "FID <media ssrc> <rtx ssrc>".
    let rtx_of = |ssrc: u32| {
        remote
            .ssrc_groups
            .iter()
            .filter(|g| g.semantics.eq_ignore_ascii_case("FID") && g.ssrcs.len() == 2)
            .find(|g| g.ssrcs[0] == ssrc)
            .map(|g| g.ssrcs[1])
    };
    let is_repair = |ssrc: u32| {
        remote
            .ssrc_groups
            .iter()
            .any(|g| g.semantics.eq_ignore_ascii_case("FID") && g.ssrcs.get(1) == Some(&ssrc))
    };
    for a in &remote.ssrcs {
        if out.ssrcs.len() >= MAX_SIGNALED_SSRCS {
            break;
        }
        if is_repair(a.ssrc) || out.ssrcs.iter().any(|(s, _)| *s == a.ssrc) {
            continue;
        }
        out.ssrcs.push((a.ssrc, rtx_of(a.ssrc)));
    }
    out.rids = remote
        .rids
        .iter()
        .filter(|r| r.direction == crate::sdp::RidDirection::Send)
        .take(MAX_SIGNALED_SSRCS)
        .map(|r| r.id.clone())
        .collect();
    if let Some(msid) = remote.msids.first() {
        if msid.stream_id != "-" {
            out.stream_ids.push(msid.stream_id.clone());
        }
        out.track_id = msid.track_id.clone();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::Sdp;

    fn section(lines: &[&str]) -> MediaDescription {
        let text = format!(
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n{}",
            lines.iter().map(|l| format!("{l}\r\n")).collect::<String>()
        );
        Sdp::parse(&text).unwrap().media.remove(0)
    }

    #[test]
    fn codecs_rtx_feedback_extensions_and_remote_ssrcs() {
        let local = section(&[
            "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98",
            "a=mid:0",
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
            "a=extmap:9 urn:3gpp:video-orientation",
            "a=rtpmap:96 VP8/90000",
            "a=rtcp-fb:96 nack",
            "a=rtcp-fb:96 nack pli",
            "a=rtcp-fb:96 ccm fir",
            "a=rtpmap:97 rtx/90000",
            "a=fmtp:97 apt=96",
            "a=rtpmap:98 H264/90000",
            "a=rtcp-rsize",
        ]);
        let remote = section(&[
            "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
            "a=mid:0",
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
            "a=rtpmap:96 VP8/90000",
            "a=rtcp-fb:96 nack",
            "a=rtcp-fb:96 nack pli",
            "a=rtpmap:97 rtx/90000",
            "a=fmtp:97 apt=96",
            "a=msid:stream track",
            "a=ssrc-group:FID 11 12",
            "a=ssrc:11 cname:x",
            "a=ssrc:12 cname:x",
            "a=rtcp-rsize",
        ]);
        let n =
            NegotiatedMedia::new(MediaKind::Video, &local, &remote, Direction::SendRecv).unwrap();
        assert_eq!(n.codecs.len(), 1);
        let c = &n.codecs[0];
        assert_eq!((c.payload_type, c.rtx_payload_type), (96, Some(97)));
        assert_eq!(c.mime_type, "video/VP8");
        assert!(c.nack && c.pli && !c.fir);
        assert_eq!(n.send_ext.mid, Some(4));
        assert_eq!(n.recv_ext.video_orientation, None);
        assert_eq!(n.remote.ssrcs, vec![(11, Some(12))]);
        assert_eq!(n.remote.stream_ids, vec!["stream".to_owned()]);
        assert_eq!(n.remote.track_id.as_deref(), Some("track"));
        assert!(n.rtcp_rsize);
        assert_eq!(n.codec_of_rtx(97).map(|c| c.payload_type), Some(96));
    }
}
