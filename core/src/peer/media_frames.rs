//! Frame mode of a receiver (issue 16's frame API): instead of
//! `Event::RtpPacket`, the receiver's packets go through a jitter buffer
//! (waiting about a round trip for NACK/RTX repairs) and a depacketizer of
//! their codec, and come out as [`Event::MediaFrame`]. Codecs without a
//! depacketizer, and telephone-events, stay packets.

use std::time::{Duration, Instant, SystemTime};

use crate::rtp::rtcp::SenderInfo;

use crate::codec::{CodecKind, Depacketizer, Frame, JitterBuffer};
use crate::event::Event;
use crate::stats::Dropped;

use super::{PeerConnection, RtpPacketReceived, TransceiverId};

/// Streams (SSRC and payload type) one receiver assembles at once; an
/// older one is replaced.
const MAX_FRAME_STREAMS: usize = 4;
/// The jitter buffer's wait for a missing packet while the round trip is
/// unknown (a receive-only side measures none): the NACK generator then
/// retries every 100 ms, so this covers a lost NACK or repair and its
/// retry.
const DEFAULT_WAIT: Duration = Duration::from_millis(250);
/// The shortest time between two keyframe requests of one stream while it
/// waits for a key frame (about a round trip for the request and the key
/// frame's first packets; the sender's encoder may take longer).
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(300);

/// A frame of a receiver in frame mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFrame {
    /// The frame, its RTP timestamp and key-frame flag.
    pub frame: Frame,
    /// The stream it came on.
    pub ssrc: u32,
    /// Its payload type (the codec negotiated for it).
    pub payload_type: u8,
    /// The RID of its stream (RFC 8852), for a simulcast layer: the
    /// remote's `a=rid`, seen on the stream's packets.
    pub rid: Option<String>,
    /// When the sender captured it, on the sender's wall clock: its RTP
    /// timestamp placed by the stream's latest RTCP sender report (RFC 3550
    /// §6.4.1); `None` before the first SR. Frames of the streams of one
    /// sender (audio and video) line up on it for lip sync.
    pub capture_time: Option<SystemTime>,
}

/// The wall-clock time of RTP timestamp `ts` on a stream whose latest SR
/// said `info`, at `clock_rate` Hz: the SR's NTP time moved by the
/// timestamps' (signed, wrapping) difference.
fn capture_time(info: &SenderInfo, clock_rate: u32, ts: u32) -> Option<SystemTime> {
    // RFC 5905: NTP seconds count from 1900; Unix time from 1970.
    const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
    if clock_rate == 0 {
        return None;
    }
    let secs = (info.ntp_time >> 32).checked_sub(NTP_UNIX_OFFSET)?;
    let nanos = ((info.ntp_time & 0xFFFF_FFFF) * 1_000_000_000) >> 32;
    let at = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos as u32);
    let diff = i64::from(ts.wrapping_sub(info.rtp_time) as i32);
    let offset = Duration::from_nanos(diff.unsigned_abs() * 1_000_000_000 / u64::from(clock_rate));
    if diff >= 0 {
        at.checked_add(offset)
    } else {
        at.checked_sub(offset)
    }
}

#[derive(Debug, Clone)]
struct FrameStream {
    ssrc: u32,
    payload_type: u8,
    /// The RID its packets carried (senders stop sending it once the
    /// stream is known).
    rid: Option<String>,
    jitter: JitterBuffer,
    depacketizer: Depacketizer,
    /// Video: a frame was lost, so frames that are not key frames may not
    /// decode; they are dropped until a key frame comes.
    awaiting_keyframe: bool,
    /// Frames dropped while waiting for a key frame.
    dropped_waiting: u64,
    /// When the last keyframe request for this stream went out.
    last_request: Option<Instant>,
}

/// A receiver's frame mode.
#[derive(Debug, Default, Clone)]
pub(crate) struct FrameMode {
    streams: Vec<FrameStream>,
}

/// The jitter buffer's wait: two round trips (a NACK, its repair, and a
/// second try when one of them is lost) plus the NACK generator's own
/// delay, plus three times the stream's measured interarrival jitter (RFC
/// 3550 A.8: a repair, or a packet overtaken, comes that much later too),
/// between 50 and 400 ms.
fn max_wait(rtt: Option<Duration>, jitter: Duration) -> Duration {
    let repair = rtt.map_or(DEFAULT_WAIT, |r| 2 * r + Duration::from_millis(50));
    (repair + 3 * jitter).clamp(Duration::from_millis(50), Duration::from_millis(400))
}

impl FrameMode {
    /// The jitter buffer's and depacketizer's counts of the stream `ssrc`.
    pub(crate) fn stats_of(
        &self,
        ssrc: u32,
    ) -> Option<(
        crate::codec::JitterBufferStats,
        crate::codec::DepacketizerStats,
    )> {
        let s = self.streams.iter().find(|s| s.ssrc == ssrc)?;
        let mut d = s.depacketizer.stats();
        d.frames = d.frames.saturating_sub(s.dropped_waiting);
        d.frames_dropped += s.dropped_waiting;
        Some((s.jitter.stats(), d))
    }

    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.streams
            .iter()
            .filter_map(|s| s.jitter.poll_timeout())
            .min()
    }
}

impl PeerConnection {
    /// Takes the packet into frame mode if its receiver is in it and its
    /// codec has a depacketizer; gives it back otherwise.
    pub(crate) fn frame_packet(
        &mut self,
        t: TransceiverId,
        packet: RtpPacketReceived,
        kind: Option<CodecKind>,
    ) -> Option<RtpPacketReceived> {
        let Some(kind) = kind else {
            return Some(packet);
        };
        let jitter = self
            .media
            .receiver(t)
            .and_then(|r| r.streams.iter().find(|s| s.stats.ssrc() == packet.ssrc))
            .map_or(Duration::ZERO, |s| s.stats.jitter_duration());
        let wait = max_wait(self.media.rtt, jitter);
        let Some(mode) = self
            .media
            .receiver_mut(t)
            .and_then(|r| r.frames.as_deref_mut())
        else {
            return Some(packet);
        };
        let (ssrc, pt) = (packet.ssrc, packet.payload_type);
        let i = match mode
            .streams
            .iter()
            .position(|s| s.ssrc == ssrc && s.payload_type == pt)
        {
            Some(i) => i,
            None => {
                if mode.streams.len() >= MAX_FRAME_STREAMS {
                    mode.streams.remove(0);
                }
                mode.streams.push(FrameStream {
                    ssrc,
                    payload_type: pt,
                    rid: None,
                    jitter: JitterBuffer::new(wait),
                    depacketizer: Depacketizer::new(kind),
                    awaiting_keyframe: false,
                    dropped_waiting: 0,
                    last_request: None,
                });
                mode.streams.len() - 1
            }
        };
        let stream = &mut mode.streams[i];
        if stream.rid.is_none() {
            stream.rid = packet.rid().map(str::to_owned);
        }
        stream.jitter.set_max_wait(wait);
        stream.jitter.push(packet);
        self.release_frames(t);
        None
    }

    /// Moves what the receiver's jitter buffers release through their
    /// depacketizers, queueing the frames. A video stream that lost a frame
    /// delivers no more until a key frame, and asks for one.
    pub(crate) fn release_frames(&mut self, t: TransceiverId) {
        let now = self.now;
        let mut out: Vec<MediaFrame> = Vec::new();
        let mut want_keyframe: smallvec::SmallVec<[u32; 4]> = smallvec::SmallVec::new();
        if let Some(r) = self.media.receiver_mut(t) {
            let Some(mode) = r.frames.as_deref_mut() else {
                return;
            };
            let received = &r.streams;
            for s in &mut mode.streams {
                // RFC 3550 §6.4.1: the SR relates the stream's RTP
                // timestamps to the sender's wall clock.
                let sr = received
                    .iter()
                    .find(|x| x.stats.ssrc() == s.ssrc)
                    .and_then(|x| Some((x.sender_report?.0, x.stats.clock_rate())));
                let video = !s.depacketizer.kind().is_audio();
                let dropped_before = s.depacketizer.stats().frames_dropped;
                while let Some(p) = s.jitter.poll(now) {
                    let Some(mut frame) = s.depacketizer.push_packet(&p) else {
                        continue;
                    };
                    if video && frame.after_loss && !frame.keyframe {
                        s.awaiting_keyframe = true;
                    }
                    if frame.keyframe && s.awaiting_keyframe {
                        // The frames dropped while waiting were lost to
                        // the application too.
                        s.awaiting_keyframe = false;
                        frame.after_loss = true;
                    }
                    if s.awaiting_keyframe {
                        s.dropped_waiting += 1;
                        continue;
                    }
                    out.push(MediaFrame {
                        capture_time: sr
                            .and_then(|(info, clock)| capture_time(&info, clock, frame.timestamp)),
                        frame,
                        ssrc: s.ssrc,
                        payload_type: s.payload_type,
                        rid: s.rid.clone(),
                    });
                }
                // A frame dropped at its end (its last packets lost) is
                // known before the next one arrives: wait from now.
                if video && s.depacketizer.stats().frames_dropped > dropped_before {
                    s.awaiting_keyframe = true;
                }
                let due = s.last_request.is_none_or(|at| {
                    now.saturating_duration_since(at) >= KEYFRAME_REQUEST_INTERVAL
                });
                if s.awaiting_keyframe && due {
                    s.last_request = Some(now);
                    want_keyframe.push(s.ssrc);
                }
            }
        }
        if !want_keyframe.is_empty() {
            // RFC 4585 §6.3.1: "With the Picture Loss Indication message, a
            // decoder informs the encoder about the loss of an undefined
            // amount of coded video data belonging to one or more
            // pictures." Counted in pliCount (or firCount).
            if let Err(e) = self.request_keyframe_of(t, &want_keyframe) {
                tracing::debug!("keyframe request not sent: {e}");
            }
        }
        for frame in out {
            if self.events.has_room() {
                self.events.push(Event::MediaFrame {
                    transceiver: t,
                    frame,
                });
            } else {
                self.stack.counters.count_drop(Dropped::MediaQueueFull);
            }
        }
    }

    /// The media timer fired: every receiver in frame mode releases what
    /// waited long enough.
    pub(crate) fn release_all_frames(&mut self) {
        let ids: smallvec::SmallVec<[TransceiverId; 4]> = self
            .media
            .receivers
            .iter()
            .filter(|r| r.frames.is_some())
            .map(|r| r.transceiver)
            .collect();
        for t in ids {
            self.release_frames(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_follows_round_trip_and_jitter_within_bounds() {
        let ms = Duration::from_millis;
        assert_eq!(max_wait(Some(ms(50)), ms(0)), ms(150));
        assert_eq!(max_wait(Some(ms(50)), ms(40)), ms(270));
        assert_eq!(max_wait(Some(ms(1)), ms(0)), ms(52));
        assert_eq!(max_wait(Some(ms(0)), ms(0)), ms(50));
        assert_eq!(max_wait(Some(ms(300)), ms(0)), ms(400));
        assert_eq!(max_wait(None, ms(0)), DEFAULT_WAIT);
        assert_eq!(max_wait(None, ms(100)), ms(400));
    }

    #[test]
    fn capture_times_come_from_the_sender_report() {
        // An SR at Unix time 1,000,000,000.5 s with RTP time 90,000.
        let ntp = ((1_000_000_000u64 + 2_208_988_800) << 32) | (1u64 << 31);
        let info = SenderInfo {
            ntp_time: ntp,
            rtp_time: 90_000,
            ..SenderInfo::default()
        };
        let unix = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        let at = |ts| unix(capture_time(&info, 90_000, ts).unwrap());
        assert_eq!(at(90_000), Duration::from_millis(1_000_000_000_500));
        assert_eq!(at(180_000), Duration::from_millis(1_000_000_001_500));
        assert_eq!(at(45_000), Duration::from_millis(1_000_000_000_000));
        // Across the timestamp wrap.
        let wrapped = SenderInfo {
            rtp_time: u32::MAX - 8_999,
            ..info
        };
        assert_eq!(
            unix(capture_time(&wrapped, 90_000, 81_000).unwrap()),
            Duration::from_millis(1_000_000_001_500)
        );
        assert_eq!(capture_time(&info, 0, 1), None);
        assert_eq!(capture_time(&SenderInfo::default(), 90_000, 1), None);
    }
}
