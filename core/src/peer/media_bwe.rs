//! Congestion control on the connection (issue 18): the transport-wide
//! sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01) on
//! every RTP packet eddy sends where the extension was negotiated,
//! transport-wide feedback generated for what arrives, and the sender's
//! estimate (`bwe/`, GCC) fed by the peer's feedback, REMB and RTT, given
//! to the application as [`Event::BandwidthEstimate`] and W3C
//! `availableOutgoingBitrate`.
//!
//! What the application writes leaves through the pacer
//! (`media_pacing.rs`) at a multiple of the estimate; the application
//! still keeps its encoder at the estimate (as a browser's encoder follows
//! its target), or the pacer's queue grows to its 2 s bound.

use std::time::{Duration, Instant};

use crate::bwe::{BandwidthEstimator, BweConfig, TwccReceiver};
use crate::event::Event;
use crate::rtp::twcc::TransportCc;

use super::PeerConnection;

/// A feedback message's buffer: at most 400 statuses fit in it.
const FEEDBACK_BUFFER: usize = 1200;

/// The connection's congestion-control state, made when a section first
/// negotiates transport-wide feedback.
#[derive(Debug)]
pub(crate) struct Bwe {
    /// The next transport-wide sequence number we send.
    next_seq: u16,
    pub(crate) estimator: BandwidthEstimator,
    /// Feedback for what we receive (the peer's sender estimates from it).
    receiver: Option<TwccReceiver>,
    /// The pacer, from the first packet sent with transport-wide feedback.
    pub(crate) pacing: Option<Box<super::media_pacing::Pacing>>,
}

impl Bwe {
    fn new() -> Self {
        Self {
            next_seq: 0,
            estimator: BandwidthEstimator::new(BweConfig::default()),
            receiver: None,
            pacing: None,
        }
    }

    /// The next transport-wide sequence number.
    pub(crate) fn take_transport_seq(&mut self) -> u16 {
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        seq
    }

    /// The estimate, bits per second.
    pub(crate) fn target_bitrate(&self) -> u64 {
        self.estimator.target_bitrate()
    }
}

impl PeerConnection {
    /// The congestion-control state, made on first use.
    pub(crate) fn bwe_mut(&mut self) -> &mut Bwe {
        self.media.bwe.get_or_insert_with(|| Box::new(Bwe::new()))
    }

    /// The id of the transport-wide sequence number extension in what
    /// transceiver `t` sends, if it was negotiated there (its packets then
    /// go through the pacer).
    pub(crate) fn transport_cc_id(&self, t: super::TransceiverId) -> Option<u8> {
        self.media.section(t)?.send_ext.transport_cc
    }

    /// A packet of `size` bytes from `ssrc` arrived with transport-wide
    /// sequence number `seq`: it goes into our feedback.
    pub(crate) fn note_transport_seq(&mut self, seq: u16, size: usize, ssrc: u32) {
        let (now, ours) = (self.now, self.rtcp_ssrc());
        let bwe = self.bwe_mut();
        bwe.receiver
            .get_or_insert_with(|| TwccReceiver::new(ours, ssrc))
            .on_packet(now, seq, size);
    }

    /// When our next feedback is due, or the pacer has something to send.
    pub(crate) fn bwe_timeout(&self) -> Option<Instant> {
        let bwe = self.media.bwe.as_ref()?;
        let feedback = bwe.receiver.as_ref().and_then(TwccReceiver::poll_timeout);
        let pacer = bwe.pacing.as_ref().and_then(|p| p.poll_timeout());
        feedback.into_iter().chain(pacer).min()
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
        let bwe = self.bwe_mut();
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
        let now = self.now;
        if let Some(bwe) = self.media.bwe.as_mut() {
            let target = bwe.estimator.target_bitrate();
            if let Some(p) = bwe.pacing.as_mut() {
                p.set_target(now, target);
            }
        }
        // The estimator may ask for a probe after feedback.
        self.pace();
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
