//! DTMF (W3C RTCDTMFSender, RFC 4733 telephone-events): the tone buffer
//! played out on the media timer as telephone-event packets in the audio
//! sender's stream, `tonechange` as each tone starts; and on the receiving
//! side, telephone-events decoded into `Event::DtmfReceived`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::transceiver::TransceiverId;
use crate::error::MediaSendError;
use crate::event::Event;
use crate::media::duration_to_rtp;
use crate::peer::PeerConnection;
use crate::rtp::telephone_event::TelephoneEvent;
use crate::rtp::RtpPacket;
use crate::sdp::MediaKind;
use crate::RtpWrite;

/// W3C insertDTMF: "If duration is less than 40 ms, set it to 40 ms. If
/// duration is greater than 6000 ms, set it to 6000 ms."
const MIN_DURATION: Duration = Duration::from_millis(40);
const MAX_DURATION: Duration = Duration::from_millis(6000);
/// W3C: "If interToneGap is less than 30 ms, set it to 30 ms. If
/// interToneGap is greater than 6000 ms, set it to 6000 ms."
const MIN_GAP: Duration = Duration::from_millis(30);
const MAX_GAP: Duration = Duration::from_millis(6000);
/// W3C: a "," is "a delay of 2 seconds before processing the next character".
const COMMA_PAUSE: Duration = Duration::from_secs(2);
/// RFC 4733 §2.5.1.2: "a packetization interval of 50 ms is RECOMMENDED"
/// for event updates.
const PACKET_INTERVAL: Duration = Duration::from_millis(50);
/// RFC 4733 §2.5.1.4: the final packet "SHOULD be sent a total of three
/// times".
const END_COPIES: usize = 3;
/// The volume of the tones, −dBm0 (RFC 4733 §2.3.4: 0..=63).
const VOLUME: u8 = 10;
/// The longest tone buffer kept (characters).
pub const MAX_TONE_BUFFER: usize = 1024;

/// Why `insert_dtmf` refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DtmfError {
    /// The transceiver is stopping or does not send (W3C: InvalidStateError).
    #[error("InvalidStateError: the sender does not send")]
    InvalidState,
    /// A character is not 0–9, A–D, #, * or `,` (W3C: InvalidCharacterError).
    #[error("InvalidCharacterError: {0:?}")]
    InvalidCharacter(char),
    /// More than [`MAX_TONE_BUFFER`] characters.
    #[error("more than {MAX_TONE_BUFFER} tones")]
    TooLong,
}

/// What the playout is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Step {
    /// Nothing scheduled.
    #[default]
    Idle,
    /// The next playout task runs at this time.
    NextTone(Instant),
    /// A tone is being sent: its event, when it (its current segment)
    /// started, the segment's RTP timestamp, when the next update is due,
    /// whether the first packet went out, and when the tone ends.
    Sending {
        code: u8,
        segment_start: Instant,
        timestamp: u32,
        next_packet: Instant,
        first: bool,
        end: Instant,
    },
}

/// One sender's DTMF playout (W3C [[ToneBuffer]], [[Duration]],
/// [[InterToneGap]] and the playout task).
#[derive(Debug, Clone, Default)]
pub(crate) struct DtmfPlayout {
    buffer: VecDeque<char>,
    duration: Duration,
    gap: Duration,
    step: Step,
}

impl DtmfPlayout {
    /// When the playout next needs the timer.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        match self.step {
            Step::Idle => None,
            Step::NextTone(at) => Some(at),
            Step::Sending { next_packet, .. } => Some(next_packet),
        }
    }
}

/// What one receiver knows of the telephone-event in progress.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DtmfReceive {
    /// The event's RTP timestamp, code and whether its end was reported.
    last: Option<(u32, u8, bool)>,
    /// Ticks of earlier segments of a long event (RFC 4733 §2.5.1.3).
    carried: u32,
}

/// A borrowed handle to a sender's DTMF (W3C RTCDTMFSender), from
/// [`RtpSender::dtmf`](crate::RtpSender::dtmf).
#[derive(Debug)]
pub struct DtmfSender<'a> {
    pub(crate) pc: &'a mut PeerConnection,
    pub(crate) id: TransceiverId,
}

impl DtmfSender<'_> {
    /// W3C `canInsertDTMF`: the transceiver sends and telephone-event was
    /// negotiated.
    pub fn can_insert_dtmf(&self) -> bool {
        self.pc.dtmf_payload_type(self.id).is_some()
    }

    /// W3C `toneBuffer`: the tones not yet played.
    pub fn tone_buffer(&self) -> String {
        self.pc
            .media
            .sender(self.id)
            .map(|s| s.dtmf.buffer.iter().collect())
            .unwrap_or_default()
    }

    /// W3C `insertDTMF(tones, duration, interToneGap)`: replaces the tone
    /// buffer; duration is clamped to 40..=6000 ms and the gap to
    /// 30..=6000 ms. Tones play out from the next media timer on, each
    /// announced by `Event::ToneChange`.
    pub fn insert_dtmf(
        &mut self,
        tones: &str,
        duration: Duration,
        inter_tone_gap: Duration,
    ) -> Result<(), DtmfError> {
        if !self.can_insert_dtmf() {
            return Err(DtmfError::InvalidState);
        }
        if tones.chars().count() > MAX_TONE_BUFFER {
            return Err(DtmfError::TooLong);
        }
        let upper: VecDeque<char> = tones.chars().map(|c| c.to_ascii_uppercase()).collect();
        if let Some(&bad) = upper
            .iter()
            .find(|&&c| c != ',' && TelephoneEvent::dtmf_code(c).is_none())
        {
            return Err(DtmfError::InvalidCharacter(bad));
        }
        let now = self.pc.now;
        let Some(s) = self.pc.media.sender_mut(self.id) else {
            return Err(DtmfError::InvalidState);
        };
        s.dtmf.buffer = upper;
        s.dtmf.duration = duration.clamp(MIN_DURATION, MAX_DURATION);
        s.dtmf.gap = inter_tone_gap.clamp(MIN_GAP, MAX_GAP);
        // W3C: "If a Playout task is scheduled to be run, abort these
        // steps; otherwise queue a task that runs the following steps".
        if s.dtmf.step == Step::Idle && !s.dtmf.buffer.is_empty() {
            s.dtmf.step = Step::NextTone(now);
        }
        self.pc.arm_media_timer();
        Ok(())
    }
}

impl PeerConnection {
    /// The negotiated telephone-event payload type of an audio sender that
    /// sends, matching the clock of its first audio codec if it can.
    pub(crate) fn dtmf_payload_type(&self, t: TransceiverId) -> Option<(u8, u32)> {
        let n = self.media.section(t)?;
        let tr = self.jsep.transceiver(t)?;
        if n.kind != MediaKind::Audio || !n.direction.sends() || tr.stopping {
            return None;
        }
        let is_te = |c: &&super::media_params::NegotiatedCodec| {
            c.mime_type.eq_ignore_ascii_case("audio/telephone-event")
        };
        let audio_clock = n.codecs.iter().find(|c| !is_te(c)).map(|c| c.clock_rate);
        let te = n
            .codecs
            .iter()
            .filter(is_te)
            .find(|c| Some(c.clock_rate) == audio_clock)
            .or_else(|| n.codecs.iter().find(is_te))?;
        Some((te.payload_type, te.clock_rate))
    }

    /// Runs every sender's DTMF playout that is due.
    pub(crate) fn play_dtmf(&mut self, now: Instant) {
        let due: smallvec::SmallVec<[TransceiverId; 2]> = self
            .media
            .senders
            .iter()
            .filter(|s| s.dtmf.next_timeout().is_some_and(|at| at <= now))
            .map(|s| s.transceiver)
            .collect();
        for t in due {
            // Each call advances one step; a step never schedules itself
            // at or before `now` twice, so this ends.
            for _ in 0..4 {
                let Some(s) = self.media.sender(t) else { break };
                if s.dtmf.next_timeout().is_none_or(|at| at > now) {
                    break;
                }
                self.dtmf_step(t, now);
            }
        }
    }

    /// One step of sender `t`'s playout.
    fn dtmf_step(&mut self, t: TransceiverId, now: Instant) {
        let Some(s) = self.media.sender(t) else {
            return;
        };
        match s.dtmf.step {
            Step::Idle => {}
            Step::NextTone(_) => self.next_tone(t, now),
            Step::Sending { .. } => self.send_tone_update(t, now),
        }
    }

    /// The W3C playout task: takes the next tone, fires `tonechange`.
    fn next_tone(&mut self, t: TransceiverId, now: Instant) {
        let payload = self.dtmf_payload_type(t);
        let timestamp = self.current_rtp_timestamp(t, now);
        let Some(s) = self.media.sender_mut(t) else {
            return;
        };
        // W3C: "If transceiver.[[Stopping]] is true, abort these steps";
        // "If the [[ToneBuffer]] slot contains the empty string, fire an
        // event named tonechange ... with an empty string".
        let next = if payload.is_some() {
            s.dtmf.buffer.pop_front()
        } else {
            s.dtmf.buffer.clear();
            None
        };
        let Some(tone) = next else {
            s.dtmf.step = Step::Idle;
            self.events.push(Event::ToneChange {
                transceiver: t,
                tone: String::new(),
            });
            return;
        };
        match TelephoneEvent::dtmf_code(tone) {
            // ",": "delay for 2000 ms" before the next tone.
            None => s.dtmf.step = Step::NextTone(now + COMMA_PAUSE),
            Some(code) => {
                s.dtmf.step = Step::Sending {
                    code,
                    segment_start: now,
                    timestamp,
                    next_packet: now + PACKET_INTERVAL.min(s.dtmf.duration),
                    first: true,
                    end: now + s.dtmf.duration,
                };
            }
        }
        self.events.push(Event::ToneChange {
            transceiver: t,
            tone: tone.to_string(),
        });
    }

    /// The RTP timestamp of sender `t`'s stream at `now`, extrapolated from
    /// its last packet (the event shares the audio's timeline, RFC 4733
    /// §2.5.1.2), or random before any.
    fn current_rtp_timestamp(&mut self, t: TransceiverId, now: Instant) -> u32 {
        let last = self
            .media
            .sender(t)
            .and_then(|s| s.stats.as_ref()?.last_sent());
        let clock = self.dtmf_payload_type(t).map_or(8_000, |(_, c)| c);
        match last {
            Some((ts, at)) => {
                ts.wrapping_add(duration_to_rtp(now.saturating_duration_since(at), clock))
            }
            None => self.rng.u32(),
        }
    }

    /// Sends the tone's next update (or, at its end, the final packet three
    /// times, then schedules the gap).
    fn send_tone_update(&mut self, t: TransceiverId, now: Instant) {
        let Some((pt, clock)) = self.dtmf_payload_type(t) else {
            if let Some(s) = self.media.sender_mut(t) {
                s.dtmf.step = Step::NextTone(now);
            }
            return;
        };
        let Some(s) = self.media.sender_mut(t) else {
            return;
        };
        let Step::Sending {
            code,
            mut segment_start,
            mut timestamp,
            next_packet,
            first,
            end,
        } = s.dtmf.step
        else {
            return;
        };
        let at = next_packet.min(end);
        let ended = at >= end;
        // RFC 4733 §2.5.1.3: a duration past 0xFFFF starts a new segment
        // whose timestamp is the old one plus 0xFFFF.
        let mut ticks = duration_to_rtp(at.saturating_duration_since(segment_start), clock);
        let mut marker = first;
        if ticks > 0xFFFF {
            timestamp = timestamp.wrapping_add(0xFFFF);
            segment_start += Duration::from_nanos(0xFFFF * 1_000_000_000 / u64::from(clock.max(1)));
            ticks = duration_to_rtp(at.saturating_duration_since(segment_start), clock);
            marker = false;
        }
        let event = TelephoneEvent {
            event: code,
            end: ended,
            volume: VOLUME,
            duration: ticks.min(0xFFFF) as u16,
        };
        let gap = s.dtmf.gap;
        s.dtmf.step = if ended {
            Step::NextTone(end + gap)
        } else {
            Step::Sending {
                code,
                segment_start,
                timestamp,
                next_packet: (at + PACKET_INTERVAL).min(end),
                first: false,
                end,
            }
        };
        let copies = if ended { END_COPIES } else { 1 };
        for _ in 0..copies {
            if let Err(e) = self.send_inserted(t, pt, timestamp, marker, &event.to_bytes()) {
                tracing::debug!(%e, "DTMF packet not sent");
            }
        }
    }

    /// Sends a packet eddy inserts into sender `t`'s stream: the next
    /// sequence number on the wire, the application's later ones shifted.
    fn send_inserted(
        &mut self,
        t: TransceiverId,
        pt: u8,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Result<(), MediaSendError> {
        let seq = match self.media.sender(t).and_then(|s| s.last_sequence) {
            Some(last) => last.wrapping_add(1),
            None => self.rng.u32() as u16,
        };
        let w = RtpWrite::new(pt, seq, timestamp, payload).with_marker(marker);
        self.send_rtp(t, &w)?;
        if let Some(s) = self.media.sender_mut(t) {
            s.sequence_offset = s.sequence_offset.wrapping_add(1);
        }
        Ok(())
    }

    /// A received telephone-event packet of receiver `t` whose codec's
    /// clock is `clock`: reports each event once, at its end.
    pub(crate) fn on_telephone_event(&mut self, t: TransceiverId, p: &RtpPacket<'_>, clock: u32) {
        let Ok(e) = TelephoneEvent::parse(p.payload) else {
            return;
        };
        let Some(tone) = TelephoneEvent::dtmf_char(e.event) else {
            return;
        };
        let Some(r) = self.media.receiver_mut(t) else {
            return;
        };
        let d = &mut r.dtmf;
        match d.last {
            Some((ts, code, _)) if ts == p.timestamp && code == e.event => {}
            // The next segment of a long event.
            Some((ts, code, false))
                if code == e.event && p.timestamp == ts.wrapping_add(0xFFFF) =>
            {
                d.carried += 0xFFFF;
            }
            _ => d.carried = 0,
        }
        let reported =
            matches!(d.last, Some((ts, code, true)) if ts == p.timestamp && code == e.event);
        d.last = Some((p.timestamp, e.event, reported || e.end));
        if e.end && !reported {
            if !self.events.has_room() {
                // A peer's events are not held past the queue's bound.
                self.stack
                    .counters
                    .count_drop(crate::stats::Dropped::MediaQueueFull);
                return;
            }
            let ticks = u64::from(d.carried) + u64::from(e.duration);
            let duration = Duration::from_nanos(ticks * 1_000_000_000 / u64::from(clock.max(1)));
            self.events.push(Event::DtmfReceived {
                transceiver: t,
                tone,
                duration,
            });
        }
    }
}
