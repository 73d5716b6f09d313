//! Frame mode of a receiver (issue 16's frame API): instead of
//! `Event::RtpPacket`, the receiver's packets go through a jitter buffer
//! (waiting about a round trip for NACK/RTX repairs) and a depacketizer of
//! their codec, and come out as [`Event::MediaFrame`]. Codecs without a
//! depacketizer, and telephone-events, stay packets.

use std::time::{Duration, Instant};

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
        if let Some(mode) = self
            .media
            .receiver_mut(t)
            .and_then(|r| r.frames.as_deref_mut())
        {
            for s in &mut mode.streams {
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
}
