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

/// A frame of a receiver in frame mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFrame {
    /// The frame, its RTP timestamp and key-frame flag.
    pub frame: Frame,
    /// The stream it came on.
    pub ssrc: u32,
    /// Its payload type (the codec negotiated for it).
    pub payload_type: u8,
}

#[derive(Debug, Clone)]
struct FrameStream {
    ssrc: u32,
    payload_type: u8,
    jitter: JitterBuffer,
    depacketizer: Depacketizer,
}

/// A receiver's frame mode.
#[derive(Debug, Default, Clone)]
pub(crate) struct FrameMode {
    streams: Vec<FrameStream>,
}

/// The jitter buffer's wait: two round trips (a NACK, its repair, and a
/// second try when one of them is lost) plus the NACK generator's own
/// delay, between 50 and 400 ms.
fn max_wait(rtt: Option<Duration>) -> Duration {
    rtt.map_or(DEFAULT_WAIT, |r| {
        (2 * r + Duration::from_millis(50))
            .clamp(Duration::from_millis(50), Duration::from_millis(400))
    })
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
        Some((s.jitter.stats(), s.depacketizer.stats()))
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
        let wait = max_wait(self.media.rtt);
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
                    jitter: JitterBuffer::new(wait),
                    depacketizer: Depacketizer::new(kind),
                });
                mode.streams.len() - 1
            }
        };
        mode.streams[i].jitter.set_max_wait(wait);
        mode.streams[i].jitter.push(packet);
        self.release_frames(t);
        None
    }

    /// Moves what the receiver's jitter buffers release through their
    /// depacketizers, queueing the frames.
    pub(crate) fn release_frames(&mut self, t: TransceiverId) {
        let now = self.now;
        let mut out: Vec<MediaFrame> = Vec::new();
        if let Some(mode) = self
            .media
            .receiver_mut(t)
            .and_then(|r| r.frames.as_deref_mut())
        {
            for s in &mut mode.streams {
                while let Some(p) = s.jitter.poll(now) {
                    if let Some(frame) = s.depacketizer.push_packet(&p) {
                        out.push(MediaFrame {
                            frame,
                            ssrc: s.ssrc,
                            payload_type: s.payload_type,
                        });
                    }
                }
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
