//! `getStats()`: the W3C report built from what the layers already count
//! (ARCHITECTURE.md §2: one source of counters), O(objects), with
//! Chromium's id scheme so reports read alike.

use std::net::SocketAddr;
use std::time::{Instant, UNIX_EPOCH};

use super::transceiver::TransceiverId;
use crate::ice::{Candidate, PairState};
use crate::peer::PeerConnection;
use crate::sdp::MediaKind;
use crate::srtp::SrtpProfile;
use crate::stats_report::{
    CandidatePairStats, CandidateStats, CertificateStats, CodecStats, DataChannelStats,
    InboundRtpStats, OutboundRtpStats, PeerConnectionStats, RemoteInboundRtpStats,
    RemoteOutboundRtpStats, RtcStats, StatsReport, TransportStats,
};

/// The one transport's id (BUNDLE: every m-line shares it).
const TRANSPORT_ID: &str = "T01";

/// A state enum's W3C name: its variant, lower case.
fn lower(state: impl std::fmt::Debug) -> String {
    format!("{state:?}").to_ascii_lowercase()
}

fn kind_letter(kind: MediaKind) -> char {
    match kind {
        MediaKind::Audio => 'A',
        MediaKind::Video => 'V',
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn codec_id(mid: &str, pt: u8) -> String {
    format!("CO{TRANSPORT_ID}_{mid}_{pt}")
}

/// Chromium's `srtpCipher` names.
fn srtp_cipher(p: SrtpProfile) -> &'static str {
    match p {
        SrtpProfile::Aes128CmSha1_80 => "AES_CM_128_HMAC_SHA1_80",
        SrtpProfile::Aes128CmSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        SrtpProfile::AeadAes128Gcm => "AEAD_AES_128_GCM",
        SrtpProfile::AeadAes256Gcm => "AEAD_AES_256_GCM",
    }
}

fn pair_state(s: PairState) -> &'static str {
    match s {
        PairState::Frozen => "frozen",
        PairState::Waiting => "waiting",
        PairState::InProgress => "in-progress",
        PairState::Succeeded => "succeeded",
        PairState::Failed => "failed",
    }
}

fn candidate(
    c: &Candidate,
    id: String,
    remote: bool,
    ufrag: &str,
    timestamp: f64,
) -> CandidateStats {
    CandidateStats {
        id,
        timestamp,
        transport_id: TRANSPORT_ID.into(),
        address: c.addr.ip().to_string(),
        ip: c.addr.ip().to_string(),
        port: c.addr.port(),
        protocol: match c.proto {
            crate::Protocol::Udp => "udp".into(),
            _ => "tcp".into(),
        },
        candidate_type: c.kind.as_str().into(),
        priority: c.priority,
        foundation: c.foundation.clone(),
        related_address: c.related.map(|a| a.ip().to_string()),
        related_port: c.related.map(|a| a.port()),
        tcp_type: c.tcp_type.map(|t| t.as_str().into()),
        username_fragment: ufrag.into(),
        is_remote: remote,
    }
}

impl PeerConnection {
    /// W3C `getStats()`: every object's statistics at this moment, linked
    /// by id as the spec links them.
    pub fn get_stats(&self) -> StatsReport {
        let mut report = StatsReport::default();
        let ts = self.stats_timestamp(self.now);
        self.connection_stats_into(&mut report, ts);
        self.ice_stats_into(&mut report, ts);
        self.channel_stats_into(&mut report, ts);
        self.codec_stats_into(&mut report, ts);
        for r in &self.media.receivers {
            self.inbound_stats_into(&mut report, ts, r.transceiver);
        }
        for s in &self.media.senders {
            self.outbound_stats_into(&mut report, ts, s.transceiver);
        }
        report
    }

    /// The stats of the objects one transceiver's sender (`sending`) or
    /// receiver uses: its RTP streams, their codecs and the transport
    /// (W3C `getStats(selector)`).
    pub(crate) fn get_stats_for(&self, t: TransceiverId, sending: bool) -> StatsReport {
        let all = self.get_stats();
        let mut report = StatsReport::default();
        let keep = |id: &str, all: &StatsReport, report: &mut StatsReport| {
            if let Some(s) = all.get(id) {
                report.insert(id.to_owned(), s.clone());
            }
        };
        let ts = self.stats_timestamp(self.now);
        let mut streams = StatsReport::default();
        if sending {
            self.outbound_stats_into(&mut streams, ts, t);
        } else {
            self.inbound_stats_into(&mut streams, ts, t);
        }
        for (id, s) in streams.stats {
            match &s {
                RtcStats::InboundRtp(x) => keep(&x.codec_id, &all, &mut report),
                RtcStats::OutboundRtp(x) => keep(&x.codec_id, &all, &mut report),
                _ => {}
            }
            report.insert(id, s);
        }
        keep(TRANSPORT_ID, &all, &mut report);
        report
    }

    /// Milliseconds since the Unix epoch at `at`, on the connection's wall
    /// clock (W3C DOMHighResTimeStamp).
    fn stats_timestamp(&self, at: Instant) -> f64 {
        self.wall_clock_at(at)
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }

    /// `peer-connection`, `transport` and `certificate`.
    fn connection_stats_into(&self, report: &mut StatsReport, timestamp: f64) {
        let (opened, closed) = self.channel_counts;
        report.insert(
            "P".into(),
            RtcStats::PeerConnection(PeerConnectionStats {
                id: "P".into(),
                timestamp,
                data_channels_opened: opened,
                data_channels_closed: closed,
            }),
        );
        let local_fp = self.stack.certificate.fingerprint();
        let local_id = format!("CF{}", hex(&local_fp.bytes).replace(':', ""));
        report.insert(
            local_id.clone(),
            RtcStats::Certificate(CertificateStats {
                id: local_id.clone(),
                timestamp,
                fingerprint: hex(&local_fp.bytes),
                fingerprint_algorithm: local_fp.hash.clone(),
                base64_certificate: openssl::base64::encode_block(self.stack.certificate.der()),
            }),
        );
        let remote_id = self.remote_certificate().and_then(|der| {
            let digest = openssl::hash::hash(openssl::hash::MessageDigest::sha256(), der).ok()?;
            let id = format!("CF{}", hex(&digest).replace(':', ""));
            report.insert(
                id.clone(),
                RtcStats::Certificate(CertificateStats {
                    id: id.clone(),
                    timestamp,
                    fingerprint: hex(&digest),
                    fingerprint_algorithm: "sha-256".into(),
                    base64_certificate: openssl::base64::encode_block(der),
                }),
            );
            Some(id)
        });
        let traffic = self.stack.traffic;
        let selected = self
            .selected_candidate_pair()
            .and_then(|(l, r, _)| self.pair_id(l, r));
        report.insert(
            TRANSPORT_ID.into(),
            RtcStats::Transport(TransportStats {
                id: TRANSPORT_ID.into(),
                timestamp,
                packets_sent: traffic.packets_sent,
                packets_received: traffic.packets_received,
                bytes_sent: traffic.bytes_sent,
                bytes_received: traffic.bytes_received,
                ice_role: lower(self.stack.ice.role()),
                ice_local_username_fragment: self.stack.ice.local_credentials().ufrag.clone(),
                ice_state: lower(self.ice_connection_state()),
                dtls_state: lower(self.dtls_state()),
                dtls_role: self
                    .stack
                    .dtls
                    .as_ref()
                    .map(|d| lower(crate::dtls::DtlsTransport::role(d))),
                selected_candidate_pair_id: selected,
                selected_candidate_pair_changes: self.selected_pair_changes,
                local_certificate_id: local_id,
                remote_certificate_id: remote_id,
                srtp_cipher: self.srtp_profile().map(|p| srtp_cipher(p).into()),
                tls_version: self
                    .stack
                    .dtls
                    .as_ref()
                    .and_then(|d| d.tls_version())
                    .map(str::to_owned),
            }),
        );
    }

    /// The id of the pair from `local` to `remote`.
    fn pair_id(&self, local: SocketAddr, remote: SocketAddr) -> Option<String> {
        let ice = &self.stack.ice;
        let l = ice
            .local_candidates()
            .iter()
            .position(|c| c.addr == local)?;
        let r = ice
            .remote_candidates()
            .iter()
            .position(|c| c.addr == remote)?;
        Some(format!("CPIL{l}_IR{r}"))
    }

    /// `local-candidate`, `remote-candidate` and `candidate-pair`.
    fn ice_stats_into(&self, report: &mut StatsReport, timestamp: f64) {
        let ice = &self.stack.ice;
        let local_ufrag = ice.local_credentials().ufrag.clone();
        let remote_ufrag = ice
            .remote_credentials()
            .map(|c| c.ufrag.clone())
            .unwrap_or_default();
        for (i, c) in ice.local_candidates().iter().enumerate() {
            let id = format!("IL{i}");
            let stats = candidate(c, id.clone(), false, &local_ufrag, timestamp);
            report.insert(id, RtcStats::LocalCandidate(stats));
        }
        for (i, c) in ice.remote_candidates().iter().enumerate() {
            let id = format!("IR{i}");
            let stats = candidate(c, id.clone(), true, &remote_ufrag, timestamp);
            report.insert(id, RtcStats::RemoteCandidate(stats));
        }
        let selected = self.selected_candidate_pair();
        let stats = ice.stats();
        for p in ice.pair_stats() {
            let Some(id) = self.pair_id(p.local, p.remote) else {
                continue;
            };
            let on_it = selected.is_some_and(|(l, r, _)| l == p.local && r == p.remote);
            let traffic = if on_it {
                self.stack.traffic
            } else {
                Default::default()
            };
            let (local_id, remote_id) = id
                .strip_prefix("CP")
                .and_then(|rest| rest.split_once('_'))
                .map(|(l, r)| (l.to_owned(), r.to_owned()))
                .unwrap_or_default();
            report.insert(
                id.clone(),
                RtcStats::CandidatePair(CandidatePairStats {
                    id,
                    timestamp,
                    transport_id: TRANSPORT_ID.into(),
                    local_candidate_id: local_id,
                    remote_candidate_id: remote_id,
                    state: pair_state(p.state).into(),
                    nominated: p.nominated,
                    priority: p.priority,
                    packets_sent: traffic.packets_sent,
                    packets_received: traffic.packets_received,
                    bytes_sent: traffic.bytes_sent,
                    bytes_received: traffic.bytes_received,
                    requests_sent: p.requests_sent,
                    requests_received: p.requests_received,
                    responses_sent: p.responses_sent,
                    responses_received: p.responses_received,
                    consent_requests_sent: if on_it {
                        stats.consent_requests_sent
                    } else {
                        0
                    },
                    current_round_trip_time: p.rtt.map(|d| d.as_secs_f64()),
                    writable: p.state == PairState::Succeeded,
                    available_outgoing_bitrate: self
                        .available_outgoing_bitrate()
                        .filter(|_| on_it)
                        .map(|b| b as f64),
                    last_packet_received_timestamp: traffic
                        .last_received
                        .map(|at| self.stats_timestamp(at)),
                }),
            );
        }
    }

    /// `data-channel`.
    fn channel_stats_into(&self, report: &mut StatsReport, timestamp: f64) {
        for (h, c) in self.stack.sctp.channels() {
            let id = format!("D{}", h.0);
            report.insert(
                id.clone(),
                RtcStats::DataChannel(DataChannelStats {
                    id,
                    timestamp,
                    label: c.label.clone(),
                    protocol: c.protocol.clone(),
                    data_channel_identifier: c.stream,
                    state: lower(c.state),
                    messages_sent: c.messages_sent,
                    bytes_sent: c.bytes_sent,
                    messages_received: c.messages_received,
                    bytes_received: c.bytes_received,
                }),
            );
        }
    }

    /// `codec`: one per negotiated codec of each m-line.
    fn codec_stats_into(&self, report: &mut StatsReport, timestamp: f64) {
        for (_, n) in &self.media.sections {
            for c in &n.codecs {
                let id = codec_id(&n.mid, c.payload_type);
                report.insert(
                    id.clone(),
                    RtcStats::Codec(CodecStats {
                        id,
                        timestamp,
                        transport_id: TRANSPORT_ID.into(),
                        payload_type: c.payload_type,
                        mime_type: c.mime_type.clone(),
                        clock_rate: c.clock_rate,
                        channels: c.channels,
                        sdp_fmtp_line: c.fmtp.clone(),
                    }),
                );
            }
        }
    }

    /// `inbound-rtp` and `remote-outbound-rtp` of receiver `t`'s streams.
    fn inbound_stats_into(&self, report: &mut StatsReport, timestamp: f64, t: TransceiverId) {
        let (Some(r), Some(n)) = (self.media.receiver(t), self.media.section(t)) else {
            return;
        };
        let k = kind_letter(n.kind);
        for s in &r.streams {
            let ssrc = s.stats.ssrc();
            let counters = s.stats.counters();
            let id = format!("I{TRANSPORT_ID}{k}{ssrc}");
            let remote_id = format!("RO{k}{ssrc}");
            let codec = codec_id(&n.mid, s.payload_type);
            let clock = n.codec(s.payload_type).map_or(90_000, |c| c.clock_rate);
            if let Some((info, at)) = s.sender_report {
                report.insert(
                    remote_id.clone(),
                    RtcStats::RemoteOutboundRtp(RemoteOutboundRtpStats {
                        id: remote_id.clone(),
                        timestamp: self.stats_timestamp(at),
                        ssrc,
                        kind: n.kind.as_str().into(),
                        media_type: n.kind.as_str().into(),
                        transport_id: TRANSPORT_ID.into(),
                        codec_id: codec.clone(),
                        local_id: id.clone(),
                        packets_sent: u64::from(info.packet_count),
                        bytes_sent: u64::from(info.octet_count),
                        remote_timestamp: ntp_to_unix_ms(info.ntp_time),
                        reports_sent: s.sender_reports,
                    }),
                );
            }
            let nack = s.nack.as_ref().map(|g| g.counters());
            let frames = r.frames.as_ref().and_then(|f| f.stats_of(ssrc));
            report.insert(
                id.clone(),
                RtcStats::InboundRtp(InboundRtpStats {
                    id,
                    timestamp,
                    ssrc,
                    kind: n.kind.as_str().into(),
                    media_type: n.kind.as_str().into(),
                    transport_id: TRANSPORT_ID.into(),
                    codec_id: codec,
                    mid: n.mid.clone(),
                    track_identifier: r.track.id.clone(),
                    packets_received: counters.packets,
                    bytes_received: counters.payload_bytes,
                    header_bytes_received: counters.header_bytes,
                    packets_lost: i64::from(counters.cumulative_lost),
                    jitter: f64::from(s.stats.jitter()) / f64::from(clock.max(1)),
                    last_packet_received_timestamp: counters
                        .last_arrival
                        .map(|at| self.stats_timestamp(at)),
                    nack_count: nack.map_or(0, |c| c.nacks_sent),
                    pli_count: r.plis_sent,
                    fir_count: r.firs_sent,
                    packets_discarded: counters.duplicates,
                    retransmitted_packets_received: s.repaired_packets,
                    retransmitted_bytes_received: s.repaired_bytes,
                    rtx_ssrc: n
                        .remote
                        .ssrcs
                        .iter()
                        .find(|(m, _)| *m == ssrc)
                        .and_then(|(_, rtx)| *rtx),
                    remote_id: s.sender_report.map(|_| remote_id),
                    jitter_buffer_delay: frames.map(|f| f.0.delay.as_secs_f64()),
                    jitter_buffer_emitted_count: frames.map(|f| f.0.emitted),
                    frames_received: frames.map(|f| f.1.frames),
                    frames_dropped: frames.map(|f| f.1.frames_dropped),
                }),
            );
        }
    }

    /// `outbound-rtp` and `remote-inbound-rtp` of sender `t`'s streams
    /// (one per simulcast encoding).
    fn outbound_stats_into(&self, report: &mut StatsReport, timestamp: f64, t: TransceiverId) {
        let (Some(n), Some(tr)) = (self.media.section(t), self.jsep.transceiver(t)) else {
            return;
        };
        for s in self.media.senders.iter().filter(|s| s.transceiver == t) {
            let index = tr
                .layers
                .iter()
                .position(|l| Some(&l.rid) == s.rid.as_ref())
                .unwrap_or(0);
            encoding_stats_into(report, timestamp, n, s, index as u32);
        }
    }
}

/// `outbound-rtp` and `remote-inbound-rtp` of one encoding `s` of a sender
/// whose negotiated media is `n`.
fn encoding_stats_into(
    report: &mut StatsReport,
    timestamp: f64,
    n: &super::media_params::NegotiatedMedia,
    s: &super::media::SenderState,
    encoding_index: u32,
) {
    let Some(stats) = s.stats.as_ref() else {
        return;
    };
    let k = kind_letter(n.kind);
    let ssrc = s.ssrc;
    let id = format!("O{TRANSPORT_ID}{k}{ssrc}");
    let remote_id = format!("RI{k}{ssrc}");
    let codec = n
        .codecs
        .first()
        .map(|c| codec_id(&n.mid, c.payload_type))
        .unwrap_or_default();
    let clock = n.codecs.first().map_or(90_000, |c| c.clock_rate);
    let (packets, bytes) = stats.counts();
    let history = s.history.as_ref().map(|h| h.counters());
    let rtx = n.codecs.iter().any(|c| c.rtx_payload_type.is_some());
    if let Some(block) = stats.last_report() {
        report.insert(
            remote_id.clone(),
            RtcStats::RemoteInboundRtp(RemoteInboundRtpStats {
                id: remote_id.clone(),
                timestamp,
                ssrc,
                kind: n.kind.as_str().into(),
                media_type: n.kind.as_str().into(),
                transport_id: TRANSPORT_ID.into(),
                codec_id: codec.clone(),
                local_id: id.clone(),
                packets_lost: i64::from(block.cumulative_lost),
                fraction_lost: f64::from(block.fraction_lost) / 256.0,
                jitter: f64::from(block.jitter) / f64::from(clock.max(1)),
                round_trip_time: stats.rtt().map(|d| d.as_secs_f64()),
                total_round_trip_time: stats.total_rtt().as_secs_f64(),
                round_trip_time_measurements: stats.rtt_samples(),
            }),
        );
    }
    report.insert(
        id.clone(),
        RtcStats::OutboundRtp(OutboundRtpStats {
            id,
            timestamp,
            ssrc,
            kind: n.kind.as_str().into(),
            media_type: n.kind.as_str().into(),
            transport_id: TRANSPORT_ID.into(),
            codec_id: codec,
            mid: n.mid.clone(),
            packets_sent: packets,
            bytes_sent: bytes,
            header_bytes_sent: s.header_bytes_sent,
            encoding_index,
            rid: s.rid.as_deref().map(str::to_owned),
            retransmitted_packets_sent: history.map_or(0, |h| h.resent),
            retransmitted_bytes_sent: history.map_or(0, |h| h.resent_bytes),
            nack_count: s.nacks_received,
            pli_count: s.plis_received,
            fir_count: s.firs_received,
            active: s.active,
            rtx_ssrc: rtx.then_some(s.rtx_ssrc),
            remote_id: stats.last_report().map(|_| remote_id),
        }),
    );
}

/// A 64-bit NTP timestamp as milliseconds since the Unix epoch.
fn ntp_to_unix_ms(ntp: u64) -> f64 {
    const NTP_UNIX_OFFSET: f64 = 2_208_988_800.0;
    let secs = (ntp >> 32) as f64 + (ntp & 0xFFFF_FFFF) as f64 / 4_294_967_296.0;
    (secs - NTP_UNIX_OFFSET) * 1000.0
}
