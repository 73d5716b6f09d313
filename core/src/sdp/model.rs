//! The typed SDP model (RFC 8866) with the attributes WebRTC uses.
//!
//! Known attributes live in typed fields; every other attribute is kept
//! verbatim, in order, in `attributes`, so nothing a peer says is lost.
//! Lines other than `v o s i c b t m a` (`u e p r z k`) are kept verbatim in
//! `extra_lines` and written back, in order, after `t=`.

use super::candidate::SdpCandidate;
pub use crate::fingerprint::Fingerprint;

/// A parsed SDP session description (RFC 8866 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp {
    /// `o=`: the originator and session identifier.
    pub origin: Origin,
    /// `s=`: the session name (`-` in WebRTC).
    pub session_name: String,
    /// `i=`: session information.
    pub session_info: Option<String>,
    /// `c=`: session-level connection data.
    pub connection: Option<Connection>,
    /// `b=`: session-level bandwidth lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=`: timing (`0 0` in WebRTC). At least one is written.
    pub timing: Vec<Timing>,
    /// `u= e= p= r= z= k=` lines, verbatim: `(type letter, value)`.
    pub extra_lines: Vec<(char, String)>,
    /// Session-level attributes.
    pub attributes: SessionAttributes,
    /// The media sections, in order.
    pub media: Vec<MediaDescription>,
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Username, `-` when none.
    pub username: String,
    /// Session id (a numeric string; kept as text because peers exceed u64).
    pub session_id: String,
    /// Session version, incremented on every change.
    pub session_version: u64,
    /// Network type, `IN`.
    pub net_type: String,
    /// Address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// Unicast address (or name) of the originator.
    pub address: String,
}

/// `c=<nettype> <addrtype> <connection-address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Network type, `IN`.
    pub net_type: String,
    /// Address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// The address (with any `/ttl/count` suffix kept verbatim).
    pub address: String,
}

/// `b=<bwtype>:<bandwidth>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// `AS`, `CT`, `TIAS`, ...
    pub bw_type: String,
    /// The value (kbps for AS/CT, bps for TIAS).
    pub bandwidth: u64,
}

/// `t=<start-time> <stop-time>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Start, NTP seconds; 0 for unbounded.
    pub start: u64,
    /// Stop, NTP seconds; 0 for unbounded.
    pub stop: u64,
}

/// An attribute eddy has no typed field for: `a=name` or `a=name:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute name.
    pub name: String,
    /// The value after the first `:`, if any.
    pub value: Option<String>,
}

/// Media direction attributes (RFC 8866 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv`.
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// Parses an attribute name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "sendrecv" => Self::SendRecv,
            "sendonly" => Self::SendOnly,
            "recvonly" => Self::RecvOnly,
            "inactive" => Self::Inactive,
            _ => return None,
        })
    }

    /// Whether this direction sends.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Whether this direction receives.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// The direction with `send` and `recv` as given.
    pub fn from_flags(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Self::SendRecv,
            (true, false) => Self::SendOnly,
            (false, true) => Self::RecvOnly,
            (false, false) => Self::Inactive,
        }
    }

    /// The direction seen from the other side (sendonly <-> recvonly).
    pub fn reverse(self) -> Self {
        Self::from_flags(self.receives(), self.sends())
    }

    /// Both directions allow it.
    pub fn intersect(self, other: Self) -> Self {
        Self::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }
}

/// `a=setup` (RFC 8842 §5): the DTLS role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setup {
    /// `active`: will initiate the DTLS handshake (DTLS client).
    Active,
    /// `passive`: will accept it (DTLS server).
    Passive,
    /// `actpass`: either; the answerer picks.
    ActPass,
    /// `holdconn`: no connection for now.
    HoldConn,
}

impl Setup {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Passive => "passive",
            Self::ActPass => "actpass",
            Self::HoldConn => "holdconn",
        }
    }

    /// Parses an attribute value.
    pub fn from_value(v: &str) -> Option<Self> {
        Some(match v {
            "active" => Self::Active,
            "passive" => Self::Passive,
            "actpass" => Self::ActPass,
            "holdconn" => Self::HoldConn,
            _ => return None,
        })
    }
}

/// `a=group:<semantics> <mid>*` (RFC 5888, RFC 9143 for BUNDLE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `BUNDLE`, `LS`, ...
    pub semantics: String,
    /// The mids in the group.
    pub mids: Vec<String>,
}

/// `a=msid-semantic:<semantic> <id>*` (pre-RFC 8830 browsers still send it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsidSemantic {
    /// `WMS`.
    pub semantic: String,
    /// Stream ids, or `*`.
    pub ids: Vec<String>,
}

/// The session-level attributes (`a=` lines before the first `m=`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionAttributes {
    /// `a=group`.
    pub groups: Vec<Group>,
    /// `a=msid-semantic`.
    pub msid_semantic: Option<MsidSemantic>,
    /// `a=extmap-allow-mixed` (RFC 8285 §6).
    pub extmap_allow_mixed: bool,
    /// `a=ice-lite` (RFC 8839 §5.3).
    pub ice_lite: bool,
    /// ICE credentials and options given at session level.
    pub ice: IceAttributes,
    /// `a=fingerprint` at session level.
    pub fingerprints: Vec<Fingerprint>,
    /// `a=setup` at session level.
    pub setup: Option<Setup>,
    /// `a=tls-id` at session level.
    pub tls_id: Option<String>,
    /// `a=identity` (RFC 8827).
    pub identity: Option<String>,
    /// A session-level direction attribute.
    pub direction: Option<Direction>,
    /// Session-level `a=extmap` (RFC 8285 allows them).
    pub extmaps: Vec<Extmap>,
    /// Every other attribute, verbatim, in order.
    pub other: Vec<Attribute>,
}

/// `a=ice-ufrag`, `a=ice-pwd`, `a=ice-options` (RFC 8839 §5.4, §5.6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceAttributes {
    /// `a=ice-ufrag`.
    pub ufrag: Option<String>,
    /// `a=ice-pwd`.
    pub pwd: Option<String>,
    /// `a=ice-options` tokens (`trickle`, `ice2`, ...).
    pub options: Vec<String>,
}

/// `a=rtpmap:<pt> <encoding>/<clock-rate>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name as written (`opus`, `VP8`, `H264`, `rtx`, ...).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channels (audio only).
    pub channels: Option<u16>,
}

/// `a=fmtp:<pt> <parameters>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    /// Payload type.
    pub payload_type: u8,
    /// The parameters, verbatim (`minptime=10;useinbandfec=1`).
    pub params: String,
}

impl Fmtp {
    /// The `key=value` pairs, split on `;`; keys are trimmed.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.split(';').filter_map(|p| {
            let p = p.trim();
            if p.is_empty() {
                return None;
            }
            Some(match p.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (p, ""),
            })
        })
    }

    /// The value of parameter `key` (case-insensitive key).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }
}

/// `a=rtcp-fb:<pt|*> <type> [<param>]` (RFC 4585 §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtcpFb {
    /// Payload type, `None` for `*`.
    pub payload_type: Option<u8>,
    /// `nack`, `ccm`, `goog-remb`, `transport-cc`, ...
    pub fb_type: String,
    /// `pli`, `fir`, ... and anything after, verbatim.
    pub param: Option<String>,
}

/// `a=extmap:<id>[/<direction>] <uri> [<attributes>]` (RFC 8285 §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extmap {
    /// Extension id, 1..=255 (1..=14 for one-byte headers).
    pub id: u16,
    /// Optional direction.
    pub direction: Option<Direction>,
    /// The extension URI.
    pub uri: String,
    /// Extension attributes, verbatim.
    pub attributes: Option<String>,
}

/// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrcAttribute {
    /// The SSRC.
    pub ssrc: u32,
    /// `cname`, `msid`, ...
    pub attribute: String,
    /// The value, if any.
    pub value: Option<String>,
}

/// `a=ssrc-group:<semantics> <ssrc>*` (RFC 5576 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrcGroup {
    /// `FID`, `SIM`, `FEC-FR`, ...
    pub semantics: String,
    /// The SSRCs.
    pub ssrcs: Vec<u32>,
}

/// `a=msid:<stream-id> [<track-id>]` (RFC 8830 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msid {
    /// The MediaStream id (`-` for none).
    pub stream_id: String,
    /// The track id ("appdata").
    pub track_id: Option<String>,
}

/// Direction in `a=rid` (RFC 8851 §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RidDirection {
    /// `send`.
    Send,
    /// `recv`.
    Recv,
}

/// `a=rid:<id> <send|recv> [<params>]` (RFC 8851 §10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rid {
    /// The rid.
    pub id: String,
    /// Send or receive.
    pub direction: RidDirection,
    /// `pt=...;max-width=...`, verbatim.
    pub params: Option<String>,
}

/// One rid in an `a=simulcast` list; `paused` is the `~` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulcastRid {
    /// The rid.
    pub id: String,
    /// Written with a leading `~`.
    pub paused: bool,
}

/// `a=simulcast:[send <list>] [recv <list>]` (RFC 8853 §5.1). Each list is
/// `;`-separated streams, each a `,`-separated set of alternative rids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Simulcast {
    /// The send streams.
    pub send: Vec<Vec<SimulcastRid>>,
    /// The receive streams.
    pub recv: Vec<Vec<SimulcastRid>>,
}

/// The `m=` media type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `application` (data channels).
    Application,
    /// Anything else (`text`, `message`, ...), verbatim.
    Other(String),
}

impl MediaType {
    /// The token as written in `m=`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Application => "application",
            Self::Other(s) => s,
        }
    }

    /// Parses an `m=` token.
    pub fn from_token(s: &str) -> Self {
        match s {
            "audio" => Self::Audio,
            "video" => Self::Video,
            "application" => Self::Application,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A media section: `m=` and everything up to the next `m=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// Media type.
    pub media_type: MediaType,
    /// Port; 0 marks a rejected (or bundle-only) section.
    pub port: u16,
    /// `/<number of ports>`, if given.
    pub port_count: Option<u16>,
    /// `UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP`, ...
    pub protocol: String,
    /// Format tokens: payload types for RTP, `webrtc-datachannel` for SCTP.
    pub formats: Vec<String>,
    /// `i=`.
    pub info: Option<String>,
    /// `c=`.
    pub connection: Option<Connection>,
    /// `b=`.
    pub bandwidths: Vec<Bandwidth>,
    /// `k=` (and any other unknown line type), verbatim.
    pub extra_lines: Vec<(char, String)>,
    /// `a=mid` (RFC 5888).
    pub mid: Option<String>,
    /// ICE credentials and options.
    pub ice: IceAttributes,
    /// `a=candidate` lines that parsed.
    pub candidates: Vec<SdpCandidate>,
    /// `a=end-of-candidates` (RFC 8840).
    pub end_of_candidates: bool,
    /// `a=fingerprint`.
    pub fingerprints: Vec<Fingerprint>,
    /// `a=setup`.
    pub setup: Option<Setup>,
    /// `a=tls-id` (RFC 8842 §5.2).
    pub tls_id: Option<String>,
    /// Direction; `None` means the default, sendrecv.
    pub direction: Option<Direction>,
    /// `a=rtcp-mux` (RFC 5761).
    pub rtcp_mux: bool,
    /// `a=rtcp-rsize` (RFC 5506).
    pub rtcp_rsize: bool,
    /// `a=rtpmap`, in order.
    pub rtpmaps: Vec<RtpMap>,
    /// `a=fmtp`, in order.
    pub fmtps: Vec<Fmtp>,
    /// `a=rtcp-fb`, in order.
    pub rtcp_fbs: Vec<RtcpFb>,
    /// `a=extmap`, in order.
    pub extmaps: Vec<Extmap>,
    /// `a=ssrc-group`.
    pub ssrc_groups: Vec<SsrcGroup>,
    /// `a=ssrc`.
    pub ssrcs: Vec<SsrcAttribute>,
    /// `a=msid`.
    pub msids: Vec<Msid>,
    /// `a=rid`.
    pub rids: Vec<Rid>,
    /// `a=simulcast`.
    pub simulcast: Option<Simulcast>,
    /// `a=sctp-port` (RFC 8841 §5).
    pub sctp_port: Option<u16>,
    /// `a=max-message-size` (RFC 8841 §6).
    pub max_message_size: Option<u64>,
    /// Every other attribute, verbatim, in order.
    pub other: Vec<Attribute>,
}

impl SessionAttributes {
    /// Gives back the spare capacity of its lists (issue 13: a connection
    /// keeps its current descriptions' models).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.groups.shrink_to_fit();
        for g in &mut self.groups {
            g.mids.shrink_to_fit();
        }
        if let Some(m) = self.msid_semantic.as_mut() {
            m.ids.shrink_to_fit();
        }
        self.ice.options.shrink_to_fit();
        self.fingerprints.shrink_to_fit();
        self.extmaps.shrink_to_fit();
        self.other.shrink_to_fit();
    }
}

impl Sdp {
    /// Gives back the spare capacity of its lists, as parsing does: the
    /// model outlives the parse (a connection keeps its current local and
    /// remote descriptions), and capacity left over by growth is idle heap,
    /// ~2 KB per description for one m-line (issue 13).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.attributes.shrink_to_fit();
        self.media.shrink_to_fit();
        for m in &mut self.media {
            m.shrink_to_fit();
        }
    }
}

impl MediaDescription {
    /// Gives back the spare capacity of its lists.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.ice.options.shrink_to_fit();
        self.formats.shrink_to_fit();
        self.bandwidths.shrink_to_fit();
        self.extra_lines.shrink_to_fit();
        self.candidates.shrink_to_fit();
        self.fingerprints.shrink_to_fit();
        self.rtpmaps.shrink_to_fit();
        self.fmtps.shrink_to_fit();
        self.rtcp_fbs.shrink_to_fit();
        self.extmaps.shrink_to_fit();
        self.ssrc_groups.shrink_to_fit();
        self.ssrcs.shrink_to_fit();
        self.msids.shrink_to_fit();
        self.rids.shrink_to_fit();
        self.other.shrink_to_fit();
    }
}

impl MediaDescription {
    /// An empty section with the given `m=` line.
    pub fn new(media_type: MediaType, port: u16, protocol: &str, formats: Vec<String>) -> Self {
        Self {
            media_type,
            port,
            port_count: None,
            protocol: protocol.to_owned(),
            formats,
            info: None,
            connection: None,
            bandwidths: Vec::new(),
            extra_lines: Vec::new(),
            mid: None,
            ice: IceAttributes::default(),
            candidates: Vec::new(),
            end_of_candidates: false,
            fingerprints: Vec::new(),
            setup: None,
            tls_id: None,
            direction: None,
            rtcp_mux: false,
            rtcp_rsize: false,
            rtpmaps: Vec::new(),
            fmtps: Vec::new(),
            rtcp_fbs: Vec::new(),
            extmaps: Vec::new(),
            ssrc_groups: Vec::new(),
            ssrcs: Vec::new(),
            msids: Vec::new(),
            rids: Vec::new(),
            simulcast: None,
            sctp_port: None,
            max_message_size: None,
            other: Vec::new(),
        }
    }

    /// Whether the section is rejected (port 0 without `a=bundle-only`,
    /// RFC 8843 §7.3.3 / RFC 3264 §6).
    pub fn is_rejected(&self) -> bool {
        self.port == 0 && !self.other.iter().any(|a| a.name == "bundle-only")
    }

    /// The direction, defaulting to sendrecv (RFC 3264 §5.1).
    pub fn direction_or_default(&self) -> Direction {
        self.direction.unwrap_or(Direction::SendRecv)
    }

    /// The `a=rtpmap` of payload type `pt`.
    pub fn rtpmap(&self, pt: u8) -> Option<&RtpMap> {
        self.rtpmaps.iter().find(|r| r.payload_type == pt)
    }

    /// The `a=fmtp` of payload type `pt`.
    pub fn fmtp(&self, pt: u8) -> Option<&Fmtp> {
        self.fmtps.iter().find(|f| f.payload_type == pt)
    }

    /// The `a=rtcp-fb` lines for `pt`, including `*` ones.
    pub fn rtcp_fbs_for(&self, pt: u8) -> impl Iterator<Item = &RtcpFb> {
        self.rtcp_fbs
            .iter()
            .filter(move |f| f.payload_type.is_none_or(|p| p == pt))
    }

    /// The payload types in the `m=` line that are numbers.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse().ok())
    }

    /// The first verbatim attribute named `name`.
    pub fn other_attribute(&self, name: &str) -> Option<&Attribute> {
        self.other.iter().find(|a| a.name == name)
    }
}

impl Sdp {
    /// The `a=group:BUNDLE` groups.
    pub fn bundle_groups(&self) -> impl Iterator<Item = &Group> {
        self.attributes
            .groups
            .iter()
            .filter(|g| g.semantics == "BUNDLE")
    }

    /// The media section with `a=mid:mid`.
    pub fn media_by_mid(&self, mid: &str) -> Option<(usize, &MediaDescription)> {
        self.media
            .iter()
            .enumerate()
            .find(|(_, m)| m.mid.as_deref() == Some(mid))
    }
}
