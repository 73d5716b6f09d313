//! The W3C statistics report (webrtc-stats): [`StatsReport`] from
//! [`PeerConnection::get_stats`](crate::PeerConnection::get_stats), one
//! [`RtcStats`] per object with the browser's ids linking them
//! (`transportId`, `codecId`, `localCandidateId`, ...). With feature
//! `serde`, `serde_json` writes it as Chromium's `getStats()` reads:
//! camelCase fields, a kebab-case `type`, timestamps in milliseconds since
//! the Unix epoch.

use std::collections::BTreeMap;

#[cfg(feature = "serde")]
use serde::Serialize;

/// A stats report: every object's stats by id (W3C RTCStatsReport).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(transparent))]
pub struct StatsReport {
    /// The stats, by id.
    pub stats: BTreeMap<String, RtcStats>,
}

impl StatsReport {
    /// The stats of one id.
    pub fn get(&self, id: &str) -> Option<&RtcStats> {
        self.stats.get(id)
    }

    /// Every stats object of a type (`"inbound-rtp"`, ...).
    pub fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a RtcStats> + 'a {
        self.stats.values().filter(move |s| s.type_name() == kind)
    }

    pub(crate) fn insert(&mut self, id: String, stats: RtcStats) {
        self.stats.insert(id, stats);
    }
}

/// One object's stats (W3C RTCStats and its dictionaries), tagged by
/// `type`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(Serialize),
    serde(tag = "type", rename_all = "kebab-case")
)]
#[non_exhaustive]
pub enum RtcStats {
    /// `peer-connection`.
    PeerConnection(PeerConnectionStats),
    /// `transport`.
    Transport(TransportStats),
    /// `candidate-pair`.
    CandidatePair(CandidatePairStats),
    /// `local-candidate`.
    LocalCandidate(CandidateStats),
    /// `remote-candidate`.
    RemoteCandidate(CandidateStats),
    /// `certificate`.
    Certificate(CertificateStats),
    /// `data-channel`.
    DataChannel(DataChannelStats),
    /// `codec`.
    Codec(CodecStats),
    /// `inbound-rtp`.
    InboundRtp(InboundRtpStats),
    /// `outbound-rtp`.
    OutboundRtp(OutboundRtpStats),
    /// `remote-inbound-rtp`.
    RemoteInboundRtp(RemoteInboundRtpStats),
    /// `remote-outbound-rtp`.
    RemoteOutboundRtp(RemoteOutboundRtpStats),
}

impl RtcStats {
    /// The W3C `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::PeerConnection(_) => "peer-connection",
            Self::Transport(_) => "transport",
            Self::CandidatePair(_) => "candidate-pair",
            Self::LocalCandidate(_) => "local-candidate",
            Self::RemoteCandidate(_) => "remote-candidate",
            Self::Certificate(_) => "certificate",
            Self::DataChannel(_) => "data-channel",
            Self::Codec(_) => "codec",
            Self::InboundRtp(_) => "inbound-rtp",
            Self::OutboundRtp(_) => "outbound-rtp",
            Self::RemoteInboundRtp(_) => "remote-inbound-rtp",
            Self::RemoteOutboundRtp(_) => "remote-outbound-rtp",
        }
    }
}

/// `peer-connection` (W3C RTCPeerConnectionStats).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct PeerConnectionStats {
    pub id: String,
    pub timestamp: f64,
    pub data_channels_opened: u64,
    pub data_channels_closed: u64,
}

/// `transport` (W3C RTCTransportStats).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct TransportStats {
    pub id: String,
    pub timestamp: f64,
    pub packets_sent: u64,
    pub packets_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// `controlling` or `controlled`.
    pub ice_role: String,
    pub ice_local_username_fragment: String,
    /// W3C RTCIceTransportState, lower case.
    pub ice_state: String,
    /// W3C RTCDtlsTransportState, lower case.
    pub dtls_state: String,
    /// `client` or `server`, once known.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub dtls_role: Option<String>,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub selected_candidate_pair_id: Option<String>,
    pub selected_candidate_pair_changes: u64,
    pub local_certificate_id: String,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub remote_certificate_id: Option<String>,
    /// The SRTP profile's IANA name, once negotiated.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub srtp_cipher: Option<String>,
    /// The DTLS version in hex (`FEFD`), once negotiated.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub tls_version: Option<String>,
}

/// `candidate-pair` (W3C RTCIceCandidatePairStats).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct CandidatePairStats {
    pub id: String,
    pub timestamp: f64,
    pub transport_id: String,
    pub local_candidate_id: String,
    pub remote_candidate_id: String,
    /// W3C RTCStatsIceCandidatePairState, lower case.
    pub state: String,
    pub nominated: bool,
    pub priority: u64,
    pub packets_sent: u64,
    pub packets_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub requests_sent: u64,
    pub requests_received: u64,
    pub responses_sent: u64,
    pub responses_received: u64,
    pub consent_requests_sent: u64,
    /// Seconds.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub current_round_trip_time: Option<f64>,
    /// A check succeeded on it: data may flow (Chromium's field).
    pub writable: bool,
    /// Bits per second: the send-side estimate (on the selected pair,
    /// once there is one).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub available_outgoing_bitrate: Option<f64>,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub last_packet_received_timestamp: Option<f64>,
}

/// `local-candidate` and `remote-candidate` (W3C RTCIceCandidateStats).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct CandidateStats {
    pub id: String,
    pub timestamp: f64,
    pub transport_id: String,
    pub address: String,
    /// The same as `address` (its deprecated name, which browsers still
    /// report).
    pub ip: String,
    pub port: u16,
    /// `udp` or `tcp`.
    pub protocol: String,
    /// `host`, `srflx`, `prflx` or `relay`.
    pub candidate_type: String,
    pub priority: u32,
    pub foundation: String,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub related_address: Option<String>,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub related_port: Option<u16>,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub tcp_type: Option<String>,
    pub username_fragment: String,
    pub is_remote: bool,
}

/// `certificate` (W3C RTCCertificateStats).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct CertificateStats {
    pub id: String,
    pub timestamp: f64,
    /// Colon-separated upper-case hex, as in `a=fingerprint`.
    pub fingerprint: String,
    pub fingerprint_algorithm: String,
    pub base64_certificate: String,
}

/// `data-channel` (W3C RTCDataChannelStats).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct DataChannelStats {
    pub id: String,
    pub timestamp: f64,
    pub label: String,
    pub protocol: String,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub data_channel_identifier: Option<u16>,
    /// W3C RTCDataChannelState, lower case.
    pub state: String,
    pub messages_sent: u64,
    pub bytes_sent: u64,
    pub messages_received: u64,
    pub bytes_received: u64,
}

/// `codec` (W3C RTCCodecStats).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct CodecStats {
    pub id: String,
    pub timestamp: f64,
    pub transport_id: String,
    pub payload_type: u8,
    pub mime_type: String,
    pub clock_rate: u32,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub channels: Option<u16>,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub sdp_fmtp_line: Option<String>,
}

/// `inbound-rtp` (W3C RTCInboundRtpStreamStats).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct InboundRtpStats {
    pub id: String,
    pub timestamp: f64,
    pub ssrc: u32,
    /// `audio` or `video`.
    pub kind: String,
    /// The same as `kind` (its deprecated name, which browsers still report).
    pub media_type: String,
    pub transport_id: String,
    pub codec_id: String,
    pub mid: String,
    pub track_identifier: String,
    pub packets_received: u64,
    pub bytes_received: u64,
    pub header_bytes_received: u64,
    pub packets_lost: i64,
    /// Seconds.
    pub jitter: f64,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub last_packet_received_timestamp: Option<f64>,
    pub nack_count: u64,
    pub pli_count: u64,
    pub fir_count: u64,
    pub packets_discarded: u64,
    pub retransmitted_packets_received: u64,
    /// Payload bytes of the packets that came by RTX.
    pub retransmitted_bytes_received: u64,
    /// The SSRC of the RTX stream repairing it, if known.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub rtx_ssrc: Option<u32>,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub remote_id: Option<String>,
    /// Frame mode only: seconds the packets released waited in the jitter
    /// buffer, summed.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub jitter_buffer_delay: Option<f64>,
    /// Frame mode only: packets the jitter buffer released.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub jitter_buffer_emitted_count: Option<u64>,
    /// Frame mode only: frames put back together.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub frames_received: Option<u64>,
    /// Frame mode only: frames dropped (a packet lost for good).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub frames_dropped: Option<u64>,
}

/// `outbound-rtp` (W3C RTCOutboundRtpStreamStats).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct OutboundRtpStats {
    pub id: String,
    pub timestamp: f64,
    pub ssrc: u32,
    pub kind: String,
    /// The same as `kind` (its deprecated name, which browsers still report).
    pub media_type: String,
    pub transport_id: String,
    pub codec_id: String,
    pub mid: String,
    pub packets_sent: u64,
    pub bytes_sent: u64,
    pub header_bytes_sent: u64,
    /// The encoding's index in the sender's parameters (one: 0).
    pub encoding_index: u32,
    /// A simulcast encoding's RID.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub rid: Option<String>,
    pub retransmitted_packets_sent: u64,
    pub retransmitted_bytes_sent: u64,
    pub nack_count: u64,
    pub pli_count: u64,
    pub fir_count: u64,
    pub active: bool,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub rtx_ssrc: Option<u32>,
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub remote_id: Option<String>,
}

/// `remote-inbound-rtp` (W3C RTCRemoteInboundRtpStreamStats): what the
/// peer's receiver reports about our stream.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct RemoteInboundRtpStats {
    pub id: String,
    pub timestamp: f64,
    pub ssrc: u32,
    pub kind: String,
    /// The same as `kind` (its deprecated name, which browsers still report).
    pub media_type: String,
    pub transport_id: String,
    pub codec_id: String,
    pub local_id: String,
    pub packets_lost: i64,
    pub fraction_lost: f64,
    /// Seconds.
    pub jitter: f64,
    /// Seconds.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub round_trip_time: Option<f64>,
    pub total_round_trip_time: f64,
    pub round_trip_time_measurements: u64,
}

/// `remote-outbound-rtp` (W3C RTCRemoteOutboundRtpStreamStats): what the
/// peer's sender reports (RTCP SR) about the stream we receive.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct RemoteOutboundRtpStats {
    pub id: String,
    pub timestamp: f64,
    pub ssrc: u32,
    pub kind: String,
    /// The same as `kind` (its deprecated name, which browsers still report).
    pub media_type: String,
    pub transport_id: String,
    pub codec_id: String,
    pub local_id: String,
    pub packets_sent: u64,
    pub bytes_sent: u64,
    /// The SR's NTP time, in milliseconds since the Unix epoch.
    pub remote_timestamp: f64,
    pub reports_sent: u64,
}
