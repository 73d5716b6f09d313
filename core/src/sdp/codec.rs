//! eddy's media capabilities and the offer/answer rules for codecs, RTCP
//! feedback and header extensions (RFC 3264 §6.1, RFC 9429 §5.3.1).
//!
//! Payload types follow Chrome's, so SDP from eddy reads like a browser's.

use super::model::{Extmap, Fmtp, MediaDescription, RtcpFb, RtpMap};

/// Audio or video (W3C MediaStreamTrack.kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// Audio.
    Audio,
    /// Video.
    Video,
}

impl MediaKind {
    /// `"audio"` or `"video"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
        }
    }
}

/// A codec eddy can send and receive (W3C RTCRtpCodec, as listed by
/// `getCapabilities` and given to `setCodecPreferences`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtpCodecCapability {
    /// `audio/opus`, `video/VP8`, `video/rtx`, ...
    pub mime_type: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channels (audio), if not 1.
    pub channels: Option<u16>,
    /// The fmtp line, if any.
    pub sdp_fmtp_line: Option<String>,
}

impl RtpCodecCapability {
    /// Every codec eddy supports for `kind`, in its preference order.
    pub fn all(kind: MediaKind) -> Vec<Self> {
        let mut out = Vec::new();
        for c in LOCAL_CODECS.iter().filter(|c| c.kind == kind) {
            out.push(c.capability());
            if c.rtx_pt.is_some() {
                let cap = rtx_capability();
                if !out.contains(&cap) {
                    out.push(cap);
                }
            }
        }
        out
    }

    /// The codec part of the MIME type (`opus`).
    pub fn name(&self) -> &str {
        self.mime_type
            .split_once('/')
            .map_or(self.mime_type.as_str(), |(_, n)| n)
    }

    /// Whether this is RTX, RED, FEC or comfort noise rather than a media
    /// codec (W3C setCodecPreferences step).
    pub(crate) fn is_auxiliary(&self) -> bool {
        ["rtx", "red", "ulpfec", "flexfec-03", "cn"]
            .iter()
            .any(|n| self.name().eq_ignore_ascii_case(n))
    }
}

/// RTX (RFC 4588) is listed once; its `apt` is per codec.
fn rtx_capability() -> RtpCodecCapability {
    RtpCodecCapability {
        mime_type: "video/rtx".to_owned(),
        clock_rate: 90_000,
        channels: None,
        sdp_fmtp_line: None,
    }
}

/// RTCP feedback every video codec supports.
const VIDEO_FB: &[(&str, Option<&str>)] = &[
    ("goog-remb", None),
    ("transport-cc", None),
    ("ccm", Some("fir")),
    ("nack", None),
    ("nack", Some("pli")),
];
const OPUS_FB: &[(&str, Option<&str>)] = &[("transport-cc", None)];

/// One row of the local codec table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalCodec {
    pub(crate) kind: MediaKind,
    pub(crate) pt: u8,
    pub(crate) name: &'static str,
    pub(crate) clock_rate: u32,
    pub(crate) channels: Option<u16>,
    pub(crate) fmtp: &'static str,
    pub(crate) rtcp_fb: &'static [(&'static str, Option<&'static str>)],
    pub(crate) rtx_pt: Option<u8>,
}

impl LocalCodec {
    fn capability(&self) -> RtpCodecCapability {
        RtpCodecCapability {
            mime_type: format!("{}/{}", self.kind.as_str(), self.name),
            clock_rate: self.clock_rate,
            channels: self.channels,
            sdp_fmtp_line: (!self.fmtp.is_empty()).then(|| self.fmtp.to_owned()),
        }
    }

    fn matches_capability(&self, cap: &RtpCodecCapability) -> bool {
        let mut parts = cap.mime_type.splitn(2, '/');
        let kind_ok = parts
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case(self.kind.as_str()));
        kind_ok
            && cap.name().eq_ignore_ascii_case(self.name)
            && cap.clock_rate == self.clock_rate
            && cap.channels.unwrap_or(1) == self.channels.unwrap_or(1)
            && cap.sdp_fmtp_line.as_deref().unwrap_or("") == self.fmtp
    }
}

macro_rules! codec {
    ($kind:ident, $pt:expr, $name:expr, $clock:expr, $ch:expr, $fmtp:expr, $fb:expr, $rtx:expr) => {
        LocalCodec {
            kind: MediaKind::$kind,
            pt: $pt,
            name: $name,
            clock_rate: $clock,
            channels: $ch,
            fmtp: $fmtp,
            rtcp_fb: $fb,
            rtx_pt: $rtx,
        }
    };
}

/// The codecs eddy offers, in preference order, with Chrome's payload types.
pub(crate) const LOCAL_CODECS: &[LocalCodec] = &[
    codec!(
        Audio,
        111,
        "opus",
        48_000,
        Some(2),
        "minptime=10;useinbandfec=1",
        OPUS_FB,
        None
    ),
    codec!(Audio, 9, "G722", 8_000, None, "", &[], None),
    codec!(Audio, 0, "PCMU", 8_000, None, "", &[], None),
    codec!(Audio, 8, "PCMA", 8_000, None, "", &[], None),
    codec!(Audio, 110, "telephone-event", 48_000, None, "", &[], None),
    codec!(Audio, 126, "telephone-event", 8_000, None, "", &[], None),
    codec!(Video, 96, "VP8", 90_000, None, "", VIDEO_FB, Some(97)),
    codec!(
        Video,
        98,
        "VP9",
        90_000,
        None,
        "profile-id=0",
        VIDEO_FB,
        Some(99)
    ),
    codec!(
        Video,
        102,
        "H264",
        90_000,
        None,
        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
        VIDEO_FB,
        Some(103)
    ),
    codec!(
        Video,
        108,
        "H264",
        90_000,
        None,
        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        VIDEO_FB,
        Some(109)
    ),
    // RFC 6184 §6.2 packetization-mode 0 (single NAL units), for peers
    // that take only it.
    codec!(
        Video,
        104,
        "H264",
        90_000,
        None,
        "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f",
        VIDEO_FB,
        Some(105)
    ),
    codec!(
        Video,
        106,
        "H264",
        90_000,
        None,
        "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f",
        VIDEO_FB,
        Some(107)
    ),
    codec!(Video, 45, "AV1", 90_000, None, "", VIDEO_FB, Some(46)),
];

/// Header extensions eddy understands, with Chrome's ids: `(kind, id, uri)`.
pub(crate) const LOCAL_EXTENSIONS: &[(MediaKind, u16, &str)] = &[
    (
        MediaKind::Audio,
        1,
        "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    ),
    (
        MediaKind::Audio,
        2,
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    ),
    (
        MediaKind::Audio,
        3,
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    ),
    (MediaKind::Audio, 4, "urn:ietf:params:rtp-hdrext:sdes:mid"),
    (
        MediaKind::Video,
        2,
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    ),
    (
        MediaKind::Video,
        3,
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    ),
    (MediaKind::Video, 4, "urn:ietf:params:rtp-hdrext:sdes:mid"),
    (
        MediaKind::Video,
        10,
        "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    ),
    (
        MediaKind::Video,
        11,
        "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
    ),
];

/// Whether `cap` is one of eddy's capabilities for `kind`.
pub(crate) fn is_supported(kind: MediaKind, cap: &RtpCodecCapability) -> bool {
    RtpCodecCapability::all(kind).contains(cap)
}

/// One codec of an m-section: its rtpmap, fmtp and feedback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SectionCodec {
    pub(crate) rtpmap: RtpMap,
    pub(crate) fmtp: Option<Fmtp>,
    pub(crate) rtcp_fb: Vec<RtcpFb>,
}

impl SectionCodec {
    /// Writes this codec into `m` (format list, rtpmap, fmtp, rtcp-fb).
    pub(crate) fn write_into(self, m: &mut MediaDescription) {
        m.formats.push(self.rtpmap.payload_type.to_string());
        m.rtpmaps.push(self.rtpmap);
        m.rtcp_fbs.extend(self.rtcp_fb);
        m.fmtps.extend(self.fmtp);
    }
}

fn fb_list(pt: u8, fbs: &[(&str, Option<&str>)]) -> Vec<RtcpFb> {
    fbs.iter()
        .map(|(t, p)| RtcpFb {
            payload_type: Some(pt),
            fb_type: (*t).to_owned(),
            param: p.map(str::to_owned),
        })
        .collect()
}

fn local_section_codec(c: &LocalCodec) -> SectionCodec {
    SectionCodec {
        rtpmap: RtpMap {
            payload_type: c.pt,
            encoding: c.name.to_owned(),
            clock_rate: c.clock_rate,
            channels: c.channels,
        },
        fmtp: (!c.fmtp.is_empty()).then(|| Fmtp {
            payload_type: c.pt,
            params: c.fmtp.to_owned(),
        }),
        rtcp_fb: fb_list(c.pt, c.rtcp_fb),
    }
}

fn rtx_section_codec(rtx: u8, apt: u8) -> SectionCodec {
    SectionCodec {
        rtpmap: RtpMap {
            payload_type: rtx,
            encoding: "rtx".to_owned(),
            clock_rate: 90_000,
            channels: None,
        },
        fmtp: Some(Fmtp {
            payload_type: rtx,
            params: format!("apt={apt}"),
        }),
        rtcp_fb: Vec::new(),
    }
}

/// The codecs of an offered m-section of `kind`: every local codec, or the
/// preferred ones in preference order (W3C setCodecPreferences). RTX goes
/// with its codec when RTX is preferred too (or no preference is set).
pub(crate) fn offer_codecs(kind: MediaKind, prefs: &[RtpCodecCapability]) -> Vec<SectionCodec> {
    let mut out = Vec::new();
    let ordered: Vec<&LocalCodec> = if prefs.is_empty() {
        LOCAL_CODECS.iter().filter(|c| c.kind == kind).collect()
    } else {
        prefs
            .iter()
            .filter_map(|p| {
                LOCAL_CODECS
                    .iter()
                    .find(|c| c.kind == kind && c.matches_capability(p))
            })
            .collect()
    };
    let want_rtx = prefs.is_empty() || prefs.iter().any(|p| p.name().eq_ignore_ascii_case("rtx"));
    for c in ordered {
        out.push(local_section_codec(c));
        if let (Some(rtx), true) = (c.rtx_pt, want_rtx) {
            out.push(rtx_section_codec(rtx, c.pt));
        }
    }
    out
}

/// The header extensions of an offered m-section of `kind`.
pub(crate) fn offer_extmaps(kind: MediaKind) -> Vec<Extmap> {
    LOCAL_EXTENSIONS
        .iter()
        .filter(|(k, _, _)| *k == kind)
        .map(|(_, id, uri)| Extmap {
            id: *id,
            direction: None,
            uri: (*uri).to_owned(),
            attributes: None,
        })
        .collect()
}

/// The rtpmap of `pt`, or the RFC 3551 static one for 0, 8 and 9.
fn rtpmap_or_static(m: &MediaDescription, pt: u8) -> Option<RtpMap> {
    if let Some(r) = m.rtpmap(pt) {
        return Some(r.clone());
    }
    // RFC 3551 §6: static payload types need no rtpmap.
    let (name, clock) = match pt {
        0 => ("PCMU", 8_000),
        8 => ("PCMA", 8_000),
        9 => ("G722", 8_000),
        _ => return None,
    };
    Some(RtpMap {
        payload_type: pt,
        encoding: name.to_owned(),
        clock_rate: clock,
        channels: None,
    })
}

fn param<'a>(fmtp: Option<&'a Fmtp>, key: &str) -> Option<&'a str> {
    fmtp.and_then(|f| f.get(key))
}

fn local_fmtp(c: &LocalCodec) -> Fmtp {
    Fmtp {
        payload_type: c.pt,
        params: c.fmtp.to_owned(),
    }
}

/// The H.264 profile of a `profile-level-id` (RFC 6184 §8.1): `profile_idc`
/// plus the constraint flags that change the profile (constrained baseline
/// is baseline with constraint_set1).
fn h264_profile(profile_level_id: &str) -> Option<(u8, bool)> {
    if profile_level_id.len() != 6 {
        return None;
    }
    let idc = u8::from_str_radix(profile_level_id.get(0..2)?, 16).ok()?;
    let iop = u8::from_str_radix(profile_level_id.get(2..4)?, 16).ok()?;
    let constrained = match idc {
        0x42 | 0x4d | 0x58 => iop & 0x40 != 0 || (idc == 0x4d && iop & 0x80 != 0),
        0x64 => iop & 0x0c == 0x0c,
        _ => false,
    };
    Some((idc, constrained))
}

/// Whether an offered codec (`rtpmap`, `fmtp`) is local codec `c`.
pub(crate) fn codec_matches(c: &LocalCodec, rtpmap: &RtpMap, fmtp: Option<&Fmtp>) -> bool {
    // RFC 3264 §6.1: codecs match by encoding name (case-insensitive), clock
    // rate and encoding parameters (channels, default 1).
    if !rtpmap.encoding.eq_ignore_ascii_case(c.name)
        || rtpmap.clock_rate != c.clock_rate
        || rtpmap.channels.unwrap_or(1) != c.channels.unwrap_or(1)
    {
        return false;
    }
    let local = local_fmtp(c);
    let local = Some(&local);
    match c.name {
        "H264" => {
            // RFC 6184 §8.2.2: offer and answer use the same
            // packetization-mode and profile; the level may differ
            // (level-asymmetry-allowed).
            let pm = |f| param(f, "packetization-mode").unwrap_or("0");
            let plid = |f| param(f, "profile-level-id").unwrap_or("42000a");
            pm(fmtp) == pm(local)
                && h264_profile(plid(fmtp)).is_some()
                && h264_profile(plid(fmtp)) == h264_profile(plid(local))
        }
        // VP9 RTP payload format §6: profile-id defaults to 0.
        "VP9" => {
            param(fmtp, "profile-id").unwrap_or("0") == param(local, "profile-id").unwrap_or("0")
        }
        // AV1 RTP spec §7.2: profile defaults to 0.
        "AV1" => param(fmtp, "profile").unwrap_or("0") == param(local, "profile").unwrap_or("0"),
        _ => true,
    }
}

/// The codecs an answer accepts from offered m-section `offer` of `kind`:
/// the offerer's payload types and fmtp (RFC 3264 §6.1: "the answerer MUST
/// use the same payload type numbers"), feedback limited to what both
/// support, RTX kept for accepted codecs only. Ordered by `prefs` when set,
/// else in the offer's order.
pub(crate) fn answer_codecs(
    offer: &MediaDescription,
    kind: MediaKind,
    prefs: &[RtpCodecCapability],
) -> Vec<SectionCodec> {
    // (preference rank, codec, local row)
    let mut accepted: Vec<(usize, SectionCodec, &LocalCodec)> = Vec::new();
    for (pos, pt) in offer.payload_types().enumerate() {
        let Some(rtpmap) = rtpmap_or_static(offer, pt) else {
            continue;
        };
        if accepted.iter().any(|(_, a, _)| a.rtpmap.payload_type == pt) {
            continue;
        }
        let fmtp = offer.fmtp(pt);
        let Some(local) = LOCAL_CODECS
            .iter()
            .find(|c| c.kind == kind && codec_matches(c, &rtpmap, fmtp))
        else {
            continue;
        };
        let rank = if prefs.is_empty() {
            pos
        } else {
            match prefs.iter().position(|p| local.matches_capability(p)) {
                Some(r) => r,
                None => continue,
            }
        };
        let rtcp_fb = offer
            .rtcp_fbs_for(pt)
            .filter(|fb| {
                local
                    .rtcp_fb
                    .iter()
                    .any(|(t, p)| *t == fb.fb_type && p.as_deref() == fb.param.as_deref())
            })
            .map(|fb| RtcpFb {
                payload_type: Some(pt),
                ..fb.clone()
            })
            .collect();
        accepted.push((
            rank,
            SectionCodec {
                rtpmap,
                fmtp: fmtp.cloned(),
                rtcp_fb,
            },
            local,
        ));
    }
    accepted.sort_by_key(|(rank, _, _)| *rank);
    let want_rtx = prefs.is_empty() || prefs.iter().any(|p| p.name().eq_ignore_ascii_case("rtx"));
    let mut out = Vec::new();
    for (_, codec, local) in accepted {
        let primary = codec.rtpmap.payload_type;
        out.push(codec);
        if local.rtx_pt.is_none() || !want_rtx {
            continue;
        }
        // RFC 4588 §8.1: the rtx payload type names its codec with apt.
        let rtx = offer.rtpmaps.iter().find(|r| {
            r.encoding.eq_ignore_ascii_case("rtx")
                && param(offer.fmtp(r.payload_type), "apt") == Some(primary.to_string().as_str())
        });
        if let Some(r) = rtx {
            out.push(SectionCodec {
                rtpmap: r.clone(),
                fmtp: offer.fmtp(r.payload_type).cloned(),
                rtcp_fb: Vec::new(),
            });
        }
    }
    out
}

/// The header extensions an answer accepts: offered ones eddy knows, with
/// the offerer's ids (RFC 8285 §6: the answerer uses the offered mapping).
pub(crate) fn answer_extmaps(offer: &MediaDescription, kind: MediaKind) -> Vec<Extmap> {
    offer
        .extmaps
        .iter()
        .filter(|e| e.id <= 255)
        .filter(|e| {
            LOCAL_EXTENSIONS
                .iter()
                .any(|(k, _, uri)| *k == kind && *uri == e.uri)
        })
        .map(|e| Extmap {
            id: e.id,
            direction: None,
            uri: e.uri.clone(),
            attributes: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::model::MediaType;

    fn section(lines: &[&str]) -> MediaDescription {
        let text = format!(
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n{}",
            lines.iter().map(|l| format!("{l}\r\n")).collect::<String>()
        );
        crate::sdp::Sdp::parse(&text).unwrap().media.remove(0)
    }

    #[test]
    fn h264_matches_profile_and_packetization_mode() {
        let m = section(&[
            "m=video 9 UDP/TLS/RTP/SAVPF 100 101 102 103 104",
            "a=rtpmap:100 H264/90000",
            "a=fmtp:100 packetization-mode=0;profile-level-id=42e01f",
            "a=rtpmap:101 h264/90000",
            "a=fmtp:101 packetization-mode=1;profile-level-id=42e034",
            "a=rtpmap:102 H264/90000",
            "a=fmtp:102 packetization-mode=1;profile-level-id=4d001f",
            "a=rtpmap:103 rtx/90000",
            "a=fmtp:103 apt=101",
            "a=rtpmap:104 rtx/90000",
            "a=fmtp:104 apt=100",
            "a=rtcp-fb:* nack",
            "a=rtcp-fb:101 goog-lntf",
        ]);
        let a = answer_codecs(&m, MediaKind::Video, &[]);
        let pts: Vec<u8> = a.iter().map(|c| c.rtpmap.payload_type).collect();
        // pm=0 constrained baseline is taken (single NAL units); 42e034 is
        // constrained baseline at a higher level: accepted with the
        // offerer's fmtp; each rtx follows its codec; Main is refused.
        assert_eq!(pts, vec![100, 104, 101, 103]);
        assert_eq!(
            a[2].fmtp.as_ref().unwrap().params,
            "packetization-mode=1;profile-level-id=42e034"
        );
        assert_eq!(a[2].rtcp_fb.len(), 1);
        assert_eq!(a[2].rtcp_fb[0].payload_type, Some(101));
    }

    #[test]
    fn audio_matches_name_clock_channels_and_static_types() {
        let m = section(&[
            "m=audio 9 UDP/TLS/RTP/SAVPF 96 97 0 13",
            "a=rtpmap:96 OPUS/48000/2",
            "a=rtpmap:97 opus/48000",
            "a=rtpmap:13 CN/8000",
        ]);
        let a = answer_codecs(&m, MediaKind::Audio, &[]);
        let pts: Vec<u8> = a.iter().map(|c| c.rtpmap.payload_type).collect();
        assert_eq!(pts, vec![96, 0]);
        assert_eq!(m.media_type, MediaType::Audio);
    }

    #[test]
    fn preferences_order_and_filter_answers_and_offers() {
        let m = section(&[
            "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8",
            "a=rtpmap:111 opus/48000/2",
        ]);
        let pcma = RtpCodecCapability {
            mime_type: "audio/PCMA".into(),
            clock_rate: 8000,
            channels: None,
            sdp_fmtp_line: None,
        };
        let pcmu = RtpCodecCapability {
            mime_type: "audio/PCMU".into(),
            ..pcma.clone()
        };
        let prefs = [pcma, pcmu];
        let pts: Vec<u8> = answer_codecs(&m, MediaKind::Audio, &prefs)
            .iter()
            .map(|c| c.rtpmap.payload_type)
            .collect();
        assert_eq!(pts, vec![8, 0]);
        let pts: Vec<u8> = offer_codecs(MediaKind::Audio, &prefs)
            .iter()
            .map(|c| c.rtpmap.payload_type)
            .collect();
        assert_eq!(pts, vec![8, 0]);
        assert!(RtpCodecCapability::all(MediaKind::Video)
            .iter()
            .all(|c| is_supported(MediaKind::Video, c)));
    }
}
