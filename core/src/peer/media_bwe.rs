//! Congestion control on the connection (issue 18): the transport-wide
//! sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01) on
//! every RTP packet eddy sends where the extension was negotiated,
//! transport-wide feedback generated for what arrives, and the sender's
//! estimate (`bwe/`, GCC) fed by the peer's feedback, REMB and RTT, given
//! to the application as [`Event::BandwidthEstimate`] and W3C
//! `availableOutgoingBitrate`.
//!
//! eddy sends what the application writes when it writes it: there is no
//! pacer on the send path yet, so the application keeps its encoder at
//! the estimate (as a browser's encoder follows its target).

use std::time::{Duration, Instant};

use crate::bwe::{BandwidthEstimator, BweConfig, PacketKind, TwccReceiver};
use crate::event::Event;
use crate::rtp::twcc::TransportCc;
use crate::sdp::MediaKind;

use super::PeerConnection;

/// A feedback message's buffer: at most 400 statuses fit in it.
const FEEDBACK_BUFFER: usize = 1200;

/// The connection's congestion-control state, made when a section first
/// negotiates transport-wide feedback.
#[derive(Debug)]
pub(crate) struct Bwe {
    /// The next transport-wide sequence number we send.
    next_seq: u16,
    estimator: BandwidthEstimator,
    /// Feedback for what we receive (the peer's sender estimates from it).
    receiver: Option<TwccReceiver>,
}

impl Bwe {
    fn new() -> Self {
        Self {
            next_seq: 0,
            estimator: BandwidthEstimator::new(BweConfig::default()),
            receiver: None,
        }
    }

    /// The estimate, bits per second.
    pub(crate) fn target_bitrate(&self) -> u64 {
        self.estimator.target_bitrate()
    }
}

impl PeerConnection {
    /// The transport-wide sequence number of the next packet of `kind`
    /// that transceiver `t` sends, if the extension was negotiated there:
    /// (extension id, sequence number).
    pub(crate) fn next_transport_seq(&mut self, t: super::TransceiverId) -> Option<(u8, u16)> {
        let id = self.media.section(t)?.send_ext.transport_cc?;
        let bwe = self.media.bwe.get_or_insert_with(|| Box::new(Bwe::new()));
        let seq = bwe.next_seq;
        bwe.next_seq = seq.wrapping_add(1);
        Some((id, seq))
    }

    /// A packet with transport-wide sequence number `seq` went out: the
    /// estimator keeps it until its feedback.
    pub(crate) fn on_transport_seq_sent(
        &mut self,
        seq: u16,
        size: usize,
        kind: MediaKind,
        rtx: bool,
    ) {
        let now = self.now;
        if let Some(bwe) = self.media.bwe.as_mut() {
            let kind = match (rtx, kind) {
                (true, _) => PacketKind::Retransmission,
                (false, MediaKind::Audio) => PacketKind::Audio,
                (false, _) => PacketKind::Video,
            };
            bwe.estimator.on_packet_sent(now, seq, size, kind);
        }
    }

    /// A packet of `size` bytes from `ssrc` arrived with transport-wide
    /// sequence number `seq`: it goes into our feedback.
    pub(crate) fn note_transport_seq(&mut self, seq: u16, size: usize, ssrc: u32) {
        let (now, ours) = (self.now, self.rtcp_ssrc());
        let bwe = self.media.bwe.get_or_insert_with(|| Box::new(Bwe::new()));
        bwe.receiver
            .get_or_insert_with(|| TwccReceiver::new(ours, ssrc))
            .on_packet(now, seq, size);
    }

    /// When our next feedback is due.
    pub(crate) fn bwe_timeout(&self) -> Option<Instant> {
        self.media.bwe.as_ref()?.receiver.as_ref()?.poll_timeout()
    }

    /// Sends the feedback that is due (RTCP transport-wide feedback, alone
    /// or in a compound as negotiated).
    pub(crate) fn send_transport_feedback(&mut self, now: Instant) {
        let mut buf = [0u8; FEEDBACK_BUFFER];
        loop {
            let Some(receiver) = self.media.bwe.as_mut().and_then(|b| b.receiver.as_mut()) else {
                return;
            };
            let Some(n) = receiver.poll_feedback(now, &mut buf) else {
                return;
            };
            let rsize = self.media.sections.iter().all(|(_, s)| s.rtcp_rsize);
            if let Err(e) = self.send_rtcp_feedback(rsize, &buf[..n]) {
                tracing::debug!(%e, "transport-wide feedback not sent");
                return;
            }
        }
    }

    /// Transport-wide feedback from the peer about what we sent.
    pub(crate) fn on_transport_feedback(&mut self, feedback: &TransportCc<'_>) {
        let now = self.now;
        if let Some(bwe) = self.media.bwe.as_mut() {
            bwe.estimator.on_feedback(now, feedback);
        }
        self.report_estimate();
    }

    /// REMB from the peer: a cap on the estimate.
    pub(crate) fn on_remb(&mut self, bps: u64) {
        let bwe = self.media.bwe.get_or_insert_with(|| Box::new(Bwe::new()));
        bwe.estimator.on_remb(bps);
        self.report_estimate();
    }

    /// A round trip measured from a report block.
    pub(crate) fn bwe_rtt(&mut self, rtt: Duration) {
        if let Some(bwe) = self.media.bwe.as_mut() {
            bwe.estimator.on_rtt(rtt);
        }
    }

    fn report_estimate(&mut self) {
        if let Some(bitrate) = self
            .media
            .bwe
            .as_mut()
            .and_then(|b| b.estimator.poll_estimate())
        {
            // Coalesced in the queue: the newest estimate replaces a
            // pending one.
            self.events.push(Event::BandwidthEstimate { bitrate });
        }
    }

    /// W3C `availableOutgoingBitrate`: the estimate, once there is one.
    pub(crate) fn available_outgoing_bitrate(&self) -> Option<u64> {
        self.media.bwe.as_ref().map(|b| b.target_bitrate())
    }
}
