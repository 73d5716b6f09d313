//! The congestion controller in a closed loop: sender (pacer + estimator)
//! → a FIFO bottleneck in virtual time → receiver (TWCC recorder) →
//! feedback → estimator. Plus the codecs' bad-input and bound tests.
//!
//! Set `EDDY_BWE_CSV=1` to write each scenario's trace (time, capacity,
//! estimate, queue delay) to `target/bwe-<scenario>.csv`.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::feedback::{FEEDBACK_BUFFER_LEN, MAX_HISTORY, MAX_PENDING, MAX_STATUSES_PER_FEEDBACK};
use super::pacer::QueuedPacket;
use super::*;
use crate::rtp::twcc::TransportCc;
use crate::rtp::{RtcpCompound, RtcpPacket};
use crate::testutil::epoch;

/// Runs `f` on the TWCC message in `bytes`.
fn with_feedback(bytes: &[u8], mut f: impl FnMut(&TransportCc<'_>)) {
    let compound = RtcpCompound::parse(bytes, true).expect("feedback parses");
    for packet in compound.packets() {
        if let RtcpPacket::TransportCc(cc) = packet {
            f(&cc);
        }
    }
}

/// xorshift64*: deterministic loss without a dependency.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A FIFO bottleneck: packets wait for the ones ahead, leave at the
/// capacity, then travel the base delay. Drop-tail when the queue would
/// hold more than `queue_limit`; independent random loss after it.
struct Link {
    capacity: Box<dyn Fn(Duration) -> u64>,
    base_delay: Duration,
    queue_limit: Duration,
    loss: f64,
    rng: Rng,
    busy_until: Instant,
    /// (delivery time, flow, seq, size), in delivery order.
    in_flight: VecDeque<(Instant, usize, u16, usize)>,
    queue_samples: Vec<f64>,
    dropped: u64,
}

impl Link {
    fn new(capacity: impl Fn(Duration) -> u64 + 'static, one_way: Duration, loss: f64) -> Self {
        Self {
            capacity: Box::new(capacity),
            base_delay: one_way,
            queue_limit: Duration::from_millis(300),
            loss,
            rng: Rng(0x9E37_79B9_7F4A_7C15),
            busy_until: epoch(),
            in_flight: VecDeque::new(),
            queue_samples: Vec::new(),
            dropped: 0,
        }
    }

    fn queue_delay(&self, now: Instant) -> Duration {
        self.busy_until.saturating_duration_since(now)
    }

    fn send(&mut self, now: Instant, flow: usize, seq: u16, size: usize) {
        let wait = self.queue_delay(now);
        self.queue_samples.push(wait.as_secs_f64() * 1000.0);
        if wait > self.queue_limit {
            self.dropped += 1;
            return;
        }
        let bps = (self.capacity)(now - epoch());
        let start = self.busy_until.max(now);
        let leave = start + Duration::from_secs_f64(size as f64 * 8.0 / bps as f64);
        self.busy_until = leave;
        if self.loss > 0.0 && self.rng.next_f64() < self.loss {
            return;
        }
        self.in_flight
            .push_back((leave + self.base_delay, flow, seq, size));
    }

    fn deliver(&mut self, now: Instant, mut f: impl FnMut(usize, u16, usize)) {
        while let Some(&(at, flow, seq, size)) = self.in_flight.front() {
            if at > now {
                break;
            }
            self.in_flight.pop_front();
            f(flow, seq, size);
        }
    }
}

/// One sender (video at the target rate, 30 frames a second, plus 32
/// kbit/s of audio) and its receiver.
struct Flow {
    bwe: BandwidthEstimator,
    pacer: Pacer,
    receiver: TwccReceiver,
    seq: u16,
    next_frame: Instant,
    next_audio: Instant,
    next_id: u64,
    feedback: VecDeque<(Instant, Vec<u8>)>,
    sent_bytes: u64,
    start: Instant,
}

const FRAME: Duration = Duration::from_micros(33_333);
const AUDIO: Duration = Duration::from_millis(20);
const AUDIO_SIZE: usize = 80;
const MTU: usize = 1_200;

impl Flow {
    fn new(now: Instant, start: Duration) -> Self {
        let bwe = BandwidthEstimator::new(BweConfig::default());
        let pacer = Pacer::new(PacerConfig::default(), now + start, bwe.target_bitrate());
        Self {
            bwe,
            pacer,
            receiver: TwccReceiver::new(1, 2),
            seq: 0,
            next_frame: now + start,
            next_audio: now + start,
            next_id: 0,
            feedback: VecDeque::new(),
            sent_bytes: 0,
            start: now + start,
        }
    }

    fn enqueue(&mut self, now: Instant, kind: PacketKind, size: usize) {
        let id = self.next_id;
        self.next_id += 1;
        let _ = self.pacer.enqueue(now, QueuedPacket { id, kind, size });
    }

    /// Produces media, sends what the pacer releases into `link`.
    fn send(&mut self, now: Instant, index: usize, link: &mut Link) {
        if now < self.start {
            return;
        }
        while self.next_audio <= now {
            self.enqueue(now, PacketKind::Audio, AUDIO_SIZE);
            self.next_audio += AUDIO;
        }
        while self.next_frame <= now {
            let video_bps = self.bwe.target_bitrate().saturating_sub(32_000).max(10_000);
            let mut bytes = (video_bps as f64 / 8.0 * FRAME.as_secs_f64()) as usize;
            while bytes > 0 {
                let size = bytes.min(MTU);
                self.enqueue(now, PacketKind::Video, size);
                bytes -= size;
            }
            self.next_frame += FRAME;
        }
        while let Some(bps) = self.bwe.poll_probe() {
            self.pacer.request_probe(now, bps);
        }
        while let Some(paced) = self.pacer.poll_send(now) {
            let (size, kind, probe) = match paced {
                PacedPacket::Media { packet, probe } => (packet.size, packet.kind, probe),
                PacedPacket::Padding { size, probe } => (size, PacketKind::Padding, Some(probe)),
            };
            let seq = self.seq;
            self.seq = self.seq.wrapping_add(1);
            match probe {
                Some(id) => self.bwe.on_probe_packet_sent(now, seq, size, kind, id),
                None => self.bwe.on_packet_sent(now, seq, size, kind),
            }
            self.sent_bytes += size as u64;
            link.send(now, index, seq, size);
        }
    }

    /// Writes due feedback, to arrive `delay` later.
    fn write_feedback(&mut self, now: Instant, delay: Duration) {
        let mut buf = [0u8; FEEDBACK_BUFFER_LEN];
        while let Some(n) = self.receiver.poll_feedback(now, &mut buf) {
            self.feedback.push_back((now + delay, buf[..n].to_vec()));
        }
    }

    /// Hands arrived feedback to the estimator.
    fn read_feedback(&mut self, now: Instant) {
        while self.feedback.front().is_some_and(|(at, _)| *at <= now) {
            let Some((_, bytes)) = self.feedback.pop_front() else {
                break;
            };
            let bwe = &mut self.bwe;
            with_feedback(&bytes, |cc| bwe.on_feedback(now, cc));
        }
        if let Some(target) = self.bwe.poll_estimate() {
            self.pacer.set_target(now, target);
        }
    }
}

/// One line of a trace, every 100 ms.
struct Row {
    t: f64,
    capacity: u64,
    estimates: Vec<u64>,
    queue_ms: f64,
    /// The first flow's detector threshold and trend.
    detector: (Duration, f64),
}

/// What a run measured.
struct Run {
    rows: Vec<Row>,
    queue_samples: Vec<f64>,
    link_dropped: u64,
    flows: Vec<Flow>,
}

impl Run {
    fn time_to(&self, flow: usize, share: f64) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.estimates[flow] as f64 >= share * r.capacity as f64)
            .map(|r| r.t)
    }

    fn mean_estimate(&self, flow: usize, from: f64, to: f64) -> f64 {
        let window: Vec<_> = self
            .rows
            .iter()
            .filter(|r| r.t >= from && r.t < to)
            .map(|r| r.estimates[flow] as f64)
            .collect();
        window.iter().sum::<f64>() / window.len().max(1) as f64
    }

    fn queue_stats(&self, from: f64, to: f64) -> (f64, f64) {
        let window: Vec<_> = self
            .rows
            .iter()
            .filter(|r| r.t >= from && r.t < to)
            .map(|r| r.queue_ms)
            .collect();
        let mean = window.iter().sum::<f64>() / window.len().max(1) as f64;
        let max = window.iter().copied().fold(0.0, f64::max);
        (mean, max)
    }

    fn write_csv(&self, name: &str) {
        if std::env::var_os("EDDY_BWE_CSV").is_none() {
            return;
        }
        let mut csv = String::from("time_s,capacity_bps");
        for i in 0..self.flows.len() {
            let _ = write!(csv, ",estimate{i}_bps");
        }
        csv.push_str(",queue_delay_ms,threshold_ms,trend\n");
        for r in &self.rows {
            let _ = write!(csv, "{:.1},{}", r.t, r.capacity);
            for e in &r.estimates {
                let _ = write!(csv, ",{e}");
            }
            let (threshold, trend) = r.detector;
            let threshold = threshold.as_secs_f64() * 1000.0;
            let _ = writeln!(csv, ",{:.1},{threshold:.1},{trend:.4}", r.queue_ms);
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../target");
        let _ = std::fs::create_dir_all(dir);
        let path = format!("{dir}/bwe-{name}.csv");
        std::fs::write(&path, csv).expect("write the CSV");
        eprintln!("bwe: wrote {path}");
    }
}

/// Drives `flows` senders through `link` for `duration`, in 1 ms steps.
fn run(mut link: Link, starts: &[Duration], duration: Duration) -> Run {
    let t0 = epoch();
    let mut flows: Vec<Flow> = starts.iter().map(|&s| Flow::new(t0, s)).collect();
    let mut rows = Vec::new();
    let step = Duration::from_millis(1);
    let mut now = t0;
    let mut next_row = t0;
    while now - t0 <= duration {
        for (i, flow) in flows.iter_mut().enumerate() {
            flow.send(now, i, &mut link);
        }
        link.deliver(now, |i, seq, size| {
            flows[i].receiver.on_packet(now, seq, size);
        });
        for flow in &mut flows {
            flow.write_feedback(now, link.base_delay);
            flow.read_feedback(now);
        }
        if now >= next_row {
            rows.push(Row {
                t: (now - t0).as_secs_f64(),
                capacity: (link.capacity)(now - t0),
                estimates: flows.iter().map(|f| f.bwe.target_bitrate()).collect(),
                queue_ms: link.queue_delay(now).as_secs_f64() * 1000.0,
                detector: flows[0].bwe.detector(),
            });
            next_row += Duration::from_millis(100);
        }
        now += step;
    }
    Run {
        rows,
        queue_samples: std::mem::take(&mut link.queue_samples),
        link_dropped: link.dropped,
        flows,
    }
}

const ONE_WAY: Duration = Duration::from_millis(25);

#[test]
fn ramps_up_to_a_1mbps_bottleneck() {
    let run = run(
        Link::new(|_| 1_000_000, ONE_WAY, 0.0),
        &[Duration::ZERO],
        Duration::from_secs(20),
    );
    run.write_csv("rampup");
    let t85 = run.time_to(0, 0.85);
    let (mean_queue, max_queue) = run.queue_stats(0.0, 20.0);
    let mean_sample = run.queue_samples.iter().sum::<f64>() / run.queue_samples.len() as f64;
    let steady = run.mean_estimate(0, 10.0, 20.0);
    eprintln!(
        "bwe rampup: 85% of 1 Mbit/s at {t85:?} s; queue delay mean {mean_queue:.1} ms \
         (per packet {mean_sample:.1} ms), max {max_queue:.1} ms; estimate 10-20 s mean \
         {steady:.0} bit/s; link drops {}; counters {:?}",
        run.link_dropped,
        run.flows[0].bwe.counters()
    );
    assert!(t85.is_some_and(|t| t <= 5.0), "85% reached at {t85:?} s");
    assert!(max_queue < 100.0, "queue delay reached {max_queue:.1} ms");
}

#[test]
fn follows_a_capacity_drop() {
    let run = run(
        Link::new(
            |t| {
                if t < Duration::from_secs(20) {
                    1_000_000
                } else {
                    300_000
                }
            },
            ONE_WAY,
            0.0,
        ),
        &[Duration::ZERO],
        Duration::from_secs(30),
    );
    run.write_csv("drop");
    let followed = run
        .rows
        .iter()
        .find(|r| r.t >= 20.0 && r.estimates[0] as f64 <= 1.1 * 300_000.0)
        .map(|r| r.t - 20.0);
    let drained = run
        .rows
        .iter()
        .find(|r| r.t >= 20.5 && r.queue_ms < 10.0)
        .map(|r| r.t - 20.0);
    let after = run.mean_estimate(0, 23.0, 30.0);
    let (mean_queue, max_queue) = run.queue_stats(22.0, 30.0);
    eprintln!(
        "bwe drop: estimate ≤ 330 kbit/s {followed:?} s after the drop, queue under 10 ms \
         {drained:?} s after; 23-30 s mean {after:.0} bit/s; queue delay 22-30 s mean \
         {mean_queue:.1} ms, max {max_queue:.1} ms"
    );
    assert!(
        followed.is_some_and(|t| t <= 2.0),
        "followed after {followed:?} s"
    );
    assert!(
        after >= 0.6 * 300_000.0,
        "collapsed to {after:.0} after the drop"
    );
}

#[test]
fn finds_capacity_that_appears() {
    let run = run(
        Link::new(
            |t| {
                if t < Duration::from_secs(20) {
                    300_000
                } else {
                    1_000_000
                }
            },
            ONE_WAY,
            0.0,
        ),
        &[Duration::ZERO],
        Duration::from_secs(50),
    );
    run.write_csv("rise");
    let t85 = run
        .rows
        .iter()
        .find(|r| r.t >= 20.0 && r.estimates[0] as f64 >= 0.85 * 1_000_000.0)
        .map(|r| r.t - 20.0);
    let (mean_queue, max_queue) = run.queue_stats(20.0, 50.0);
    eprintln!(
        "bwe rise: 85% of the new 1 Mbit/s {t85:?} s after it appeared; queue delay 20-50 s \
         mean {mean_queue:.1} ms, max {max_queue:.1} ms"
    );
    // Multiplicative increase at 8%/s from 0.3 to 0.85 Mbit/s: ln(2.8)/ln(1.08).
    assert!(t85.is_some_and(|t| t <= 15.0), "found after {t85:?} s");
}

#[test]
fn random_loss_does_not_collapse_the_rate() {
    let run = run(
        Link::new(|_| 1_000_000, ONE_WAY, 0.02),
        &[Duration::ZERO],
        Duration::from_secs(30),
    );
    run.write_csv("loss");
    let mean = run.mean_estimate(0, 10.0, 30.0);
    let min = run
        .rows
        .iter()
        .filter(|r| r.t >= 10.0)
        .map(|r| r.estimates[0])
        .min()
        .unwrap_or(0);
    eprintln!(
        "bwe loss 2%: estimate 10-30 s mean {mean:.0} bit/s, min {min} bit/s; loss estimate {:.0}",
        run.flows[0].bwe.loss_estimate()
    );
    assert!(mean >= 700_000.0, "mean estimate {mean:.0}");
}

#[test]
fn two_flows_share_the_link() {
    // The second flow joins at 10 s, when the first holds the whole link.
    let run = run(
        Link::new(|_| 2_000_000, ONE_WAY, 0.0),
        &[Duration::ZERO, Duration::from_secs(10)],
        Duration::from_secs(70),
    );
    run.write_csv("share");
    for from in [10.0, 20.0, 30.0] {
        let a = run.mean_estimate(0, from, from + 10.0);
        let b = run.mean_estimate(1, from, from + 10.0);
        eprintln!(
            "bwe share: {from}-{} s mean estimates {a:.0} and {b:.0} bit/s",
            from + 10.0
        );
    }
    let a = run.mean_estimate(0, 40.0, 70.0);
    let b = run.mean_estimate(1, 40.0, 70.0);
    let fair = 1_000_000.0;
    let (mean_queue, max_queue) = run.queue_stats(40.0, 70.0);
    eprintln!(
        "bwe share: 40-70 s mean estimates {a:.0} and {b:.0} bit/s (fair {fair:.0}); \
         queue delay mean {mean_queue:.1} ms, max {max_queue:.1} ms"
    );
    for x in [a, b] {
        assert!(
            (x - fair).abs() <= 0.2 * fair,
            "{a:.0} / {b:.0} against {fair:.0}"
        );
    }
}

// ---- The estimator's other inputs and outputs ----

/// Sends `count` packets of `size` bytes `gap` apart from `seq`, all
/// arriving `one_way` later without queueing, and feeds back each 50 ms.
fn clean_path(
    bwe: &mut BandwidthEstimator,
    start: Instant,
    seq: &mut u16,
    count: u32,
    size: usize,
    gap: Duration,
) -> Instant {
    let mut receiver = TwccReceiver::new(1, 2);
    let mut now = start;
    let mut buf = [0u8; FEEDBACK_BUFFER_LEN];
    for _ in 0..count {
        bwe.on_packet_sent(now, *seq, size, PacketKind::Video);
        receiver.on_packet(now + ONE_WAY, *seq, size);
        *seq = seq.wrapping_add(1);
        now += gap;
        let fb_time = now + ONE_WAY;
        if let Some(n) = receiver.poll_feedback(now, &mut buf) {
            with_feedback(&buf[..n], |cc| bwe.on_feedback(fb_time, cc));
        }
    }
    now
}

#[test]
fn remb_caps_the_target_and_changes_are_reported_past_five_percent() {
    let t0 = epoch();
    let mut bwe = BandwidthEstimator::new(BweConfig::default());
    assert_eq!(bwe.poll_estimate(), Some(300_000), "the first call reports");
    assert_eq!(bwe.poll_estimate(), None);
    bwe.on_remb(290_000);
    assert_eq!(bwe.target_bitrate(), 290_000);
    assert_eq!(bwe.poll_estimate(), None, "3% is not worth telling");
    bwe.on_remb(200_000);
    assert_eq!(bwe.poll_estimate(), Some(200_000));
    // A clean path at 1 Mbit/s: the delay-based estimate grows, REMB
    // holds the target.
    let mut seq = 0;
    clean_path(
        &mut bwe,
        t0,
        &mut seq,
        500,
        1_200,
        Duration::from_micros(9_600),
    );
    assert!(bwe.delay_estimate() > 200_000.0);
    assert_eq!(bwe.target_bitrate(), 200_000);
}

#[test]
fn an_application_limited_sender_does_not_grow_the_estimate() {
    let t0 = epoch();
    let mut bwe = BandwidthEstimator::new(BweConfig {
        initial_bps: 1_000_000,
        ..BweConfig::default()
    });
    // 100 kbit/s against a 1 Mbit/s target, for 4 s.
    let mut seq = 0;
    clean_path(&mut bwe, t0, &mut seq, 400, 125, Duration::from_millis(10));
    assert!(bwe.in_alr());
    assert_eq!(bwe.target_bitrate(), 1_000_000, "neither grown nor decayed");
    assert_eq!(bwe.poll_probe(), None);
    // 5 s into the region the estimator asks for a probe at twice the
    // target, then not again for 5 s.
    let mut now = t0 + Duration::from_secs(4);
    now = clean_path(&mut bwe, now, &mut seq, 200, 125, Duration::from_millis(10));
    assert_eq!(bwe.poll_probe(), Some(2_000_000));
    clean_path(&mut bwe, now, &mut seq, 200, 125, Duration::from_millis(10));
    assert_eq!(bwe.poll_probe(), None);
    // Sending the target again leaves the region.
    clean_path(
        &mut bwe,
        t0 + Duration::from_secs(8),
        &mut seq,
        500,
        1_250,
        Duration::from_millis(10),
    );
    assert!(!bwe.in_alr());
}

// ---- The feedback codec's two ends, bad input and bounds ----

/// Writes a feedback message for `statuses` from `base`.
fn feedback_bytes(base: u16, reference: i32, count: u8, statuses: &[Option<i16>]) -> Vec<u8> {
    let mut buf = vec![0u8; 200_000];
    let n = TransportCc::write(1, 2, base, reference, count, statuses, &mut buf).expect("fits");
    buf[..n].to_vec()
}

fn history_with(packets: u16, now: Instant) -> SendHistory {
    let mut history = SendHistory::new();
    for seq in 0..packets {
        let at = now + Duration::from_millis(u64::from(seq));
        history.on_packet_sent(at, seq, 1000, PacketKind::Video, None);
    }
    history
}

fn feed(history: &mut SendHistory, now: Instant, bytes: &[u8]) -> Vec<feedback::PacketResult> {
    let mut out = Vec::new();
    with_feedback(bytes, |cc| history.on_feedback(now, cc, &mut out));
    out
}

#[test]
fn receiver_feedback_round_trips_arrivals_and_losses() {
    let t0 = epoch();
    let mut receiver = TwccReceiver::new(7, 8);
    // Seqs 65533..=2 across the wrap; 65535 lost; arrivals 3 ms apart.
    let seqs = [65533u16, 65534, 0, 1, 2];
    for (i, seq) in seqs.iter().enumerate() {
        receiver.on_packet(t0 + Duration::from_millis(3 * i as u64), *seq, 500);
    }
    assert_eq!(
        receiver.poll_timeout(),
        Some(t0 + Duration::from_millis(100))
    );
    let mut buf = [0u8; FEEDBACK_BUFFER_LEN];
    assert_eq!(
        receiver.poll_feedback(t0 + Duration::from_millis(99), &mut buf),
        None
    );
    let n = receiver
        .poll_feedback(t0 + Duration::from_millis(100), &mut buf)
        .expect("feedback due");
    let mut statuses = Vec::new();
    with_feedback(&buf[..n], |cc| {
        assert_eq!(cc.base_sequence, 65533);
        statuses.extend(cc.statuses());
    });
    let received: Vec<_> = statuses.iter().map(|s| s.delta.is_some()).collect();
    assert_eq!(received, [true, true, false, true, true, true]);
    // 3 ms = 12 ticks between received packets (the lost one in between
    // makes 6 ms).
    let deltas: Vec<_> = statuses.iter().skip(1).filter_map(|s| s.delta).collect();
    assert_eq!(deltas, [12, 12, 12, 12]);
    assert_eq!(receiver.pending(), 0);
    assert_eq!(receiver.poll_timeout(), None);
}

#[test]
fn sender_matches_feedback_and_ignores_what_it_never_sent() {
    let t0 = epoch();
    let mut history = history_with(10, t0);
    let bytes = feedback_bytes(0, 0, 0, &[Some(0), Some(4), None, Some(8)]);
    let results = feed(&mut history, t0 + Duration::from_millis(60), &bytes);
    assert_eq!(results.len(), 4);
    assert_eq!(results[1].arrival, Some(1_000));
    assert_eq!(results[2].arrival, None);
    assert_eq!(results[3].arrival, Some(3_000));

    // The same feedback again: every status a duplicate.
    let again = feed(&mut history, t0 + Duration::from_millis(61), &bytes);
    assert!(again.is_empty());
    assert_eq!(history.counters().duplicates, 4);

    // Feedback for sequence numbers never sent.
    let unknown = feedback_bytes(5000, 0, 1, &[Some(0), Some(4), Some(4)]);
    assert!(feed(&mut history, t0 + Duration::from_millis(62), &unknown).is_empty());
    assert_eq!(history.counters().unknown, 3);

    // A lost packet reported received later is taken (feedback crossing).
    let late = feedback_bytes(2, 0, 2, &[Some(30)]);
    let results = feed(&mut history, t0 + Duration::from_millis(63), &late);
    assert_eq!(results.len(), 1);
    assert!(results[0].arrival.is_some());
}

#[test]
fn absurd_arrival_times_are_ignored_then_followed() {
    let t0 = epoch();
    let mut history = history_with(200, t0);
    let normal = feedback_bytes(0, 0, 0, &[Some(0), Some(4)]);
    assert_eq!(feed(&mut history, t0, &normal).len(), 2);
    // Two deltas of +8 s inside one message: the second packet's arrival
    // jumps 16 s against its send time.
    let jump = feedback_bytes(2, 0, 1, &[Some(8), Some(32_000), Some(32_000), Some(4)]);
    let results = feed(&mut history, t0, &jump);
    assert_eq!(results.len(), 1, "only the packet before the jump");
    assert_eq!(history.counters().absurd, 3);

    // The receiver's reference time leaps by an hour, three messages in a
    // row: ignored three times, then taken as the new time base.
    let hour = 3_600_000 / 64;
    for (i, seq) in [10u16, 20, 30, 40].iter().enumerate() {
        let bytes = feedback_bytes(*seq, hour, 3 + i as u8, &[Some(0), Some(4)]);
        let results = feed(&mut history, t0 + Duration::from_millis(i as u64), &bytes);
        let expect = if i < 3 { 0 } else { 2 };
        assert_eq!(results.len(), expect, "message {i}");
    }
}

#[test]
fn feedback_floods_are_ignored_and_counted() {
    let t0 = epoch();
    let mut history = history_with(10, t0);
    let bytes = feedback_bytes(0, 0, 0, &[Some(0)]);
    for _ in 0..1_000 {
        let _ = feed(&mut history, t0, &bytes);
    }
    let c = history.counters();
    assert_eq!(c.feedback, 20, "the burst allowance");
    assert_eq!(c.flood, 980);
    // A second later the bucket has refilled.
    let _ = feed(&mut history, t0 + Duration::from_secs(1), &bytes);
    assert_eq!(history.counters().feedback, 21);
}

#[test]
fn the_sender_history_and_receiver_window_stay_bounded() {
    let t0 = epoch();
    let mut history = SendHistory::new();
    for i in 0..100_000u32 {
        let at = t0 + Duration::from_micros(u64::from(i) * 100);
        history.on_packet_sent(at, i as u16, 1200, PacketKind::Video, None);
    }
    assert_eq!(history.len(), MAX_HISTORY);
    assert_eq!(history.counters().forgotten, 100_000 - MAX_HISTORY as u64);
    // A message covering 65535 packets is walked only as far as useful.
    let all = vec![Some(1i16); 65_535];
    let bytes = feedback_bytes(0, 0, 0, &all);
    let results = feed(&mut history, t0 + Duration::from_secs(11), &bytes);
    assert!(results.len() <= MAX_HISTORY);

    // The receiver never polled, sequence numbers jumping: bounded, and
    // what was pushed out is counted.
    let mut receiver = TwccReceiver::new(1, 2);
    let mut seq = 0u16;
    for i in 0..100_000u64 {
        receiver.on_packet(t0 + Duration::from_micros(i * 50), seq, 1200);
        seq = seq.wrapping_add(if i % 100 == 0 { 3_000 } else { 1 });
    }
    assert!(receiver.pending() <= MAX_PENDING);
    let c = receiver.counters();
    assert!(c.dropped > 0);
    assert_eq!(c.received + c.duplicates + c.late, 100_000);
    // Flushing writes full messages of at most MAX_STATUSES_PER_FEEDBACK
    // back to back; the remainder waits for the next interval.
    let mut buf = [0u8; FEEDBACK_BUFFER_LEN];
    let mut messages = 0;
    for now in [t0 + Duration::from_secs(10), t0 + Duration::from_secs(11)] {
        while let Some(n) = receiver.poll_feedback(now, &mut buf) {
            with_feedback(&buf[..n], |cc| {
                assert!(usize::from(cc.status_count) <= MAX_STATUSES_PER_FEEDBACK);
            });
            messages += 1;
            assert!(messages <= MAX_PENDING, "the flush ends");
        }
    }
    assert_eq!(receiver.pending(), 0);
    assert_eq!(receiver.counters().write_errors, 0);
}

#[test]
fn seq_unwrapper_crosses_the_wrap_both_ways() {
    let mut u = SeqUnwrapper::default();
    assert_eq!(u.unwrap(65_534), 65_534);
    assert_eq!(u.unwrap(1), 65_537);
    assert_eq!(u.unwrap(65_535), 65_535);
    assert_eq!(u.unwrap(0), 65_536);
}

// ---- The pacer ----

fn video(id: u64) -> QueuedPacket {
    QueuedPacket {
        id,
        kind: PacketKind::Video,
        size: 1_000,
    }
}

fn no_probes() -> PacerConfig {
    PacerConfig {
        startup_probes: false,
        ..PacerConfig::default()
    }
}

#[test]
fn pacer_spreads_video_at_two_and_a_half_times_the_target() {
    let t0 = epoch();
    let mut pacer = Pacer::new(no_probes(), t0, 400_000);
    for id in 0..200 {
        assert!(pacer.enqueue(t0, video(id)));
    }
    let mut sent = 0usize;
    let mut now = t0;
    while now < t0 + Duration::from_secs(1) {
        while let Some(p) = pacer.poll_send(now) {
            if let PacedPacket::Media { packet, .. } = p {
                sent += packet.size;
            }
        }
        now = pacer.poll_timeout().expect("queue not empty").max(now);
        now += Duration::from_micros(1);
    }
    // 2.5 × 400 kbit/s = 125 000 bytes a second (one packet of slack).
    assert!((124_000..=126_000).contains(&sent), "sent {sent}");
}

#[test]
fn a_long_queue_raises_the_pacing_rate_to_drain_in_two_seconds() {
    let t0 = epoch();
    let mut pacer = Pacer::new(no_probes(), t0, 100_000);
    // 500 kB at 250 kbit/s would take 16 s.
    for id in 0..500 {
        assert!(pacer.enqueue(t0, video(id)));
    }
    assert_eq!(pacer.pacing_bps(), 2_000_000, "500 kB in 2 s");
    let mut now = t0;
    while pacer.queued() > 0 && now < t0 + Duration::from_secs(10) {
        while pacer.poll_send(now).is_some() {}
        now += Duration::from_millis(1);
    }
    let drained = (now - t0).as_secs_f64();
    // Each packet leaves by the oldest's deadline: 2 s, not 16.
    assert!(drained <= 2.1, "drained in {drained:.2} s");
    assert_eq!(pacer.pacing_bps(), 250_000);
}

#[test]
fn audio_is_never_held_behind_data_or_video() {
    let t0 = epoch();
    let mut pacer = Pacer::new(no_probes(), t0, 300_000);
    pacer.on_data_sent(t0, 1_000_000);
    assert!(pacer.enqueue(t0, video(1)));
    assert_eq!(
        pacer.poll_send(t0),
        None,
        "video waits for the data's budget"
    );
    let audio = QueuedPacket {
        id: 2,
        kind: PacketKind::Audio,
        size: 100,
    };
    assert!(pacer.enqueue(t0, audio));
    assert_eq!(
        pacer.poll_send(t0),
        Some(PacedPacket::Media {
            packet: audio,
            probe: None
        })
    );
    // The data's debt is capped at 500 ms of pacing: video leaves by then.
    let at = pacer.poll_timeout().expect("video queued");
    assert!(at <= t0 + Duration::from_millis(501), "{:?}", at - t0);
    assert_eq!(pacer.counters().data_bytes, 1_000_000);
}

#[test]
fn a_full_queue_drops_the_lowest_class_first() {
    let t0 = epoch();
    let config = PacerConfig {
        max_queue_packets: 10,
        ..no_probes()
    };
    let mut pacer = Pacer::new(config, t0, 300_000);
    for id in 0..20 {
        let _ = pacer.enqueue(t0, video(id));
    }
    assert_eq!(pacer.queued(), 10);
    assert_eq!(pacer.counters().dropped, 10);
    let rtx = QueuedPacket {
        id: 99,
        kind: PacketKind::Retransmission,
        size: 1_000,
    };
    assert!(pacer.enqueue(t0, rtx), "pushes out the oldest video");
    assert_eq!(pacer.queued(), 10);
    assert_eq!(pacer.counters().dropped, 11);
    let first = pacer.poll_send(t0);
    assert_eq!(
        first,
        Some(PacedPacket::Media {
            packet: rtx,
            probe: None
        })
    );
}

#[test]
fn startup_probes_go_at_three_and_six_times_the_initial_rate() {
    let t0 = epoch();
    let mut pacer = Pacer::new(PacerConfig::default(), t0, 300_000);
    let mut sends: Vec<(Instant, ProbeId, usize)> = Vec::new();
    let mut now = t0;
    while now < t0 + Duration::from_millis(500) {
        while let Some(p) = pacer.poll_send(now) {
            if let PacedPacket::Padding { size, probe } = p {
                sends.push((now, probe, size));
            }
        }
        now += Duration::from_micros(100);
    }
    for (id, factor) in [(0, 3.0), (1, 6.0)] {
        let cluster: Vec<_> = sends.iter().filter(|s| s.1 == ProbeId(id)).collect();
        assert!(
            cluster.len() >= 5,
            "cluster {id}: {} packets",
            cluster.len()
        );
        let span = (cluster[cluster.len() - 1].0 - cluster[0].0).as_secs_f64();
        let bytes: usize = cluster[..cluster.len() - 1].iter().map(|s| s.2).sum();
        let rate = bytes as f64 * 8.0 / span;
        let want = 300_000.0 * factor;
        assert!(
            (rate - want).abs() < 0.05 * want,
            "cluster {id} at {rate:.0}"
        );
    }
    // A probe asked for later goes out too.
    pacer.request_probe(now, 2_000_000);
    assert!(matches!(
        pacer.poll_send(now),
        Some(PacedPacket::Padding {
            probe: ProbeId(2),
            ..
        })
    ));
}

#[test]
fn absurd_settings_and_round_trips_do_not_panic() {
    let t0 = epoch();
    let config = PacerConfig {
        pacing_factor: f64::NAN,
        max_queue_packets: 0,
        max_debt: Duration::MAX,
        max_queue_time: Duration::MAX,
        padding_size: 0,
        startup_probes: true,
    };
    let mut pacer = Pacer::new(config, t0, 0);
    assert!(pacer.enqueue(t0, video(1)));
    pacer.on_data_sent(t0, usize::MAX / 2);
    let mut now = t0;
    for _ in 0..100 {
        while pacer.poll_send(now).is_some() {}
        now = pacer.poll_timeout().unwrap_or(now).max(now) + Duration::from_millis(1);
    }
    let mut bwe = BandwidthEstimator::new(BweConfig {
        initial_bps: 0,
        min_bps: 0,
        max_bps: 0,
    });
    bwe.on_rtt(Duration::MAX);
    bwe.on_remb(0);
    let mut seq = 0;
    clean_path(&mut bwe, t0, &mut seq, 100, 1_200, Duration::from_millis(1));
    assert_eq!(
        bwe.target_bitrate(),
        1,
        "the bounds were ordered, not refused"
    );
}
