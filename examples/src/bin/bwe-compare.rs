//! Congestion control against a browser, both ways: eddy's estimate as a
//! sender, and the browser's, on the same link.
//!
//! `cargo run --release -p eddy-examples --bin bwe-compare -- --csv eddy.csv`
//! then open the printed URL: `?dir=eddy-sends` (the default) or
//! `?dir=chromium-sends`, `&seconds=N` for the page's run.
//!
//! - `GET /`: a page that either receives eddy's video, or sends video
//!   that wants far more than any link (a canvas of faint random noise,
//!   `captureStream()`, `maxBitrate` 5 Mbit/s), polling its own
//!   `getStats()` every 250 ms: the candidate pair's
//!   `availableOutgoingBitrate`, the round trip
//!   (`remote-inbound-rtp.roundTripTime`, else the candidate pair's
//!   `currentRoundTripTime`) and what it sent, logged as `cc: ` CSV rows;
//! - `POST /offer`: the usual non-trickle signaling (eddy answers with
//!   send and receive on each transceiver: it sends when the browser
//!   receives and receives what the browser sends, with transport-wide
//!   feedback for every packet).
//!
//! When eddy sends, an encoder stand-in follows eddy's own estimate: every
//! 33⅓ ms one VP8 frame (synthetic bytes: decoding is not the point, the
//! browser's transport-wide feedback covers every packet) of
//! `estimate / 30 / 8` bytes, the estimate held within `--min-kbps` and
//! `--max-kbps`, written with `write_frame`. Every `--interval-ms` it
//! records `time_s,estimate_bps,rtt_ms,sent_bps` (the candidate pair's
//! `availableOutgoingBitrate`, `remote-inbound-rtp.roundTripTime`, else
//! the pair's `currentRoundTripTime`, and the rate written since the last
//! row) to `--csv`, or to stdout. The time counts from the connection.
//!
//! The UDP address eddy uses is printed at start (`bwe-compare: udp
//! ADDRESS`), so a rate limit can be put on that port alone
//! (`interop/run`'s `cc-*-shaped` cases).

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use clap::Parser;
use eddy::endpoint::{Endpoint, PeerId};
use eddy::stats_report::RtcStats;
use eddy::{
    Direction, DtlsTransportState, Event, IceGatheringState, MediaKind, PeerConnection,
    PeerConnectionState, TransceiverId,
};
use eddy_examples::signaling::{self, Answerer, Limits};

/// Sends video that follows eddy's bandwidth estimate to the browser that
/// opens the page (or receives the browser's), and records the estimate
/// and the round trip as CSV: open the printed URL.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Address of the HTTP signaling server; ICE uses UDP on its IP.
    #[arg(long, default_value = "127.0.0.1:8084")]
    listen: SocketAddr,
    /// Where the rows `time_s,estimate_bps,rtt_ms,sent_bps` go (stdout if
    /// not given).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Stop sending and recording this many seconds after connecting (0:
    /// never).
    #[arg(long, default_value_t = 0)]
    seconds: u64,
    /// Milliseconds between two rows (100 to 1000).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(100..=1000))]
    interval_ms: u64,
    /// The encoder's floor, kbit/s.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    min_kbps: u64,
    /// The encoder's ceiling, kbit/s.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    max_kbps: u64,
    /// The share of the estimate the encoder stand-in sends, percent (a
    /// browser's encoder sends less than its target: Chromium's about 80%
    /// on this link).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(10..=100))]
    encoder_share: u64,
    /// Seconds an offer waits for its answer's candidates.
    #[arg(long, default_value_t = 10)]
    answer_timeout: u64,
}

const PAGE: &str = include_str!("bwe-compare.html");
/// 30 frames a second.
const FRAME: Duration = Duration::from_nanos(1_000_000_000 / 30);
/// VP8's RTP clock.
const CLOCK: u64 = 90_000;

/// The one connection being measured (the newest).
struct Session {
    peer: PeerId,
    connected: Instant,
    /// eddy sends on this transceiver with this VP8 payload type, if the
    /// browser receives.
    video: Option<(TransceiverId, u8)>,
    /// Frames written, and the next one's due time.
    frames: u64,
    next_frame: Instant,
    next_row: Instant,
    /// The latest `Event::BandwidthEstimate`.
    event_estimate: Option<u64>,
    /// Bytes written since the last row.
    bytes: u64,
    last_row: Instant,
    rows: u64,
    /// Frames written over 20 ms after their time (the process was not
    /// scheduled in time), and the most late.
    late: u64,
    latest: Duration,
    done: bool,
}

struct Recorder {
    args: Args,
    out: Box<dyn Write>,
    session: Option<Session>,
}

fn main() -> ExitCode {
    eddy_examples::logging::init();
    let args = Args::parse();
    eddy_examples::exit("bwe-compare", run(args))
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    if args.min_kbps > args.max_kbps {
        return Err("--min-kbps must be at most --max-kbps".into());
    }
    let out: Box<dyn Write> = match &args.csv {
        Some(path) => Box::new(File::create(path).map_err(|e| format!("{}: {e}", path.display()))?),
        None => Box::new(std::io::stdout()),
    };
    let pages = Router::new().route("/", get(|| async { Html(PAGE) }));
    let (mut driver, answerer) = signaling::start_with(
        "bwe-compare",
        args.listen,
        Limits::default(),
        Duration::from_secs(args.answer_timeout),
        pages,
        Some(send_and_receive),
    )?;
    for addr in driver.local_addrs() {
        println!("bwe-compare: udp {addr}");
    }
    let mut rec = Recorder {
        args,
        out,
        session: None,
    };
    rec.out
        .write_all(b"time_s,estimate_bps,rtt_ms,sent_bps\n")?;
    rec.out.flush()?;
    while !driver.is_stopped() {
        let wait = rec.next_due().map_or(Duration::from_millis(100), |at| {
            at.saturating_duration_since(Instant::now())
        });
        driver.poll(Some(wait))?;
        while let Some((peer, event)) = driver.poll_event() {
            rec.on_event(driver.endpoint_mut(), peer, event, &answerer);
        }
        rec.tick(driver.endpoint_mut(), Instant::now())?;
    }
    Ok(())
}

/// Before answering: send and receive, so the answer sends where the
/// browser receives and receives where it sends.
fn send_and_receive(pc: &mut PeerConnection) {
    for t in pc.transceivers() {
        if let Some(mut t) = pc.transceiver(t) {
            if let Err(e) = t.set_direction(Direction::SendRecv) {
                tracing::warn!("cannot make a transceiver send and receive: {e}");
            }
        }
    }
}

/// The video transceiver eddy sends on, with its VP8 payload type.
fn video_sender(pc: &mut PeerConnection) -> Option<(TransceiverId, u8)> {
    for t in pc.transceivers() {
        let Some(tr) = pc.transceiver(t) else {
            continue;
        };
        let sends = matches!(
            tr.current_direction(),
            Some(Direction::SendOnly | Direction::SendRecv)
        );
        if tr.kind() != Some(MediaKind::Video) || !sends {
            continue;
        }
        let pt = pc
            .sender(t)?
            .get_parameters()
            .codecs
            .iter()
            .find(|c| c.mime_type.eq_ignore_ascii_case("video/VP8"))
            .map(|c| c.payload_type);
        if let Some(pt) = pt {
            return Some((t, pt));
        }
    }
    None
}

/// The estimate (`availableOutgoingBitrate`) and the round trip in
/// milliseconds, from `get_stats()`.
fn estimate_and_rtt(pc: &PeerConnection) -> (Option<f64>, Option<f64>) {
    let report = pc.get_stats();
    let (mut estimate, mut pair_rtt, mut rtp_rtt) = (None, None, None);
    for s in report.of_type("candidate-pair") {
        if let RtcStats::CandidatePair(p) = s {
            if p.available_outgoing_bitrate.is_some() {
                estimate = p.available_outgoing_bitrate;
                pair_rtt = p.current_round_trip_time;
            }
        }
    }
    for s in report.of_type("remote-inbound-rtp") {
        if let RtcStats::RemoteInboundRtp(r) = s {
            if r.kind == "video" && r.round_trip_time.is_some() {
                rtp_rtt = r.round_trip_time;
            }
        }
    }
    (estimate, rtp_rtt.or(pair_rtt).map(|s| s * 1000.0))
}

impl Recorder {
    fn on_event(&mut self, ep: &mut Endpoint, peer: PeerId, event: Event, answerer: &Answerer) {
        match event {
            Event::IceGatheringStateChange(IceGatheringState::Complete) => {
                answerer.gathering_complete(ep, peer);
            }
            Event::ConnectionStateChange(PeerConnectionState::Connected) => {
                let Some(pc) = ep.peer_mut(peer) else {
                    return;
                };
                let video = video_sender(pc);
                let now = Instant::now();
                match video {
                    Some(_) => println!("bwe-compare: peer {peer:?} connected: eddy sends VP8"),
                    None => println!("bwe-compare: peer {peer:?} connected: eddy receives"),
                }
                self.session = Some(Session {
                    peer,
                    connected: now,
                    video,
                    frames: 0,
                    next_frame: now,
                    next_row: now,
                    event_estimate: None,
                    bytes: 0,
                    last_row: now,
                    rows: 0,
                    late: 0,
                    latest: Duration::ZERO,
                    done: false,
                });
            }
            Event::ConnectionStateChange(
                state @ (PeerConnectionState::Failed | PeerConnectionState::Closed),
            ) => {
                println!("bwe-compare: peer {peer:?} {state:?}");
                self.end(peer);
                answerer.forget(ep, peer);
            }
            Event::DtlsStateChange(DtlsTransportState::Closed | DtlsTransportState::Failed) => {
                self.end(peer);
                answerer.forget(ep, peer);
            }
            Event::BandwidthEstimate { bitrate } => {
                tracing::debug!("peer {peer:?}: estimate {bitrate} bit/s");
                if let Some(s) = self.session.as_mut().filter(|s| s.peer == peer) {
                    s.event_estimate = Some(bitrate);
                }
            }
            Event::KeyframeRequest { .. } => tracing::trace!("peer {peer:?}: key frame asked for"),
            _ => {}
        }
    }

    fn end(&mut self, peer: PeerId) {
        if let Some(s) = self.session.as_mut().filter(|s| s.peer == peer) {
            if !s.done {
                println!(
                    "bwe-compare: peer {peer:?} ended: {} frames written, {} rows",
                    s.frames, s.rows
                );
            }
            s.done = true;
        }
    }

    /// When the next frame or row is due.
    fn next_due(&self) -> Option<Instant> {
        let s = self.session.as_ref().filter(|s| !s.done)?;
        Some(match s.video {
            Some(_) => s.next_frame.min(s.next_row),
            None => s.next_row,
        })
    }

    /// Writes the frames and rows due by `now`.
    fn tick(&mut self, ep: &mut Endpoint, now: Instant) -> std::io::Result<()> {
        let (min, max) = (self.args.min_kbps * 1000, self.args.max_kbps * 1000);
        let limit = Duration::from_secs(self.args.seconds);
        let interval = Duration::from_millis(self.args.interval_ms);
        let Some(s) = self.session.as_mut().filter(|s| !s.done) else {
            return Ok(());
        };
        let Some(pc) = ep.peer_mut(s.peer) else {
            s.done = true;
            return Ok(());
        };
        if !limit.is_zero() && now >= s.connected + limit {
            s.done = true;
            println!(
                "bwe-compare: {} s done: {} frames written ({} over 20 ms late, the latest by {} ms), {} rows",
                limit.as_secs(),
                s.frames,
                s.late,
                s.latest.as_millis(),
                s.rows
            );
            return Ok(());
        }
        if now >= s.next_row {
            let (estimate, rtt) = estimate_and_rtt(pc);
            let estimate = estimate.or(s.event_estimate.map(|b| b as f64));
            let span = now.duration_since(s.last_row).as_secs_f64().max(1e-3);
            let sent = s.bytes as f64 * 8.0 / span;
            let t = now.duration_since(s.connected).as_secs_f64();
            let field = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.0}"));
            let rtt = rtt.map_or(String::new(), |v| format!("{v:.1}"));
            writeln!(self.out, "{t:.3},{},{rtt},{sent:.0}", field(estimate))?;
            self.out.flush()?;
            s.rows += 1;
            s.bytes = 0;
            s.last_row = now;
            s.next_row += interval;
            if s.next_row <= now {
                s.next_row = now + interval;
            }
        }
        let Some((transceiver, pt)) = s.video else {
            return Ok(());
        };
        // Far behind (the process was stopped, say): no burst.
        if s.next_frame + Duration::from_millis(500) < now {
            s.next_frame = now;
        }
        while s.next_frame <= now {
            let late = now - s.next_frame;
            if late > Duration::from_millis(20) {
                s.late += 1;
                s.latest = s.latest.max(late);
            }
            let estimate = s
                .event_estimate
                .or_else(|| estimate_and_rtt(pc).0.map(|b| b as u64))
                .unwrap_or(300_000)
                .clamp(min, max);
            let size = (estimate * self.args.encoder_share / 100 / 30 / 8).max(1) as usize;
            let frame = synthetic_vp8(size, s.frames);
            let timestamp = (s.frames * CLOCK / 30) as u32;
            match pc.sender(transceiver) {
                Some(mut sender) => match sender.write_frame(pt, timestamp, &frame) {
                    Ok(()) => s.bytes += size as u64,
                    Err(e) => tracing::debug!("frame not sent: {e}"),
                },
                None => {
                    s.done = true;
                    return Ok(());
                }
            }
            s.frames += 1;
            s.next_frame += FRAME;
        }
        Ok(())
    }
}

/// `size` bytes that start like a VP8 inter frame (RFC 6386 §9.1: frame
/// type 1, shown); the rest is filler. Nothing decodes it: only its size
/// and timing matter here.
fn synthetic_vp8(size: usize, n: u64) -> Vec<u8> {
    let mut frame = vec![0u8; size];
    let mut x = n.wrapping_mul(6_364_136_223_846_793_005) | 1;
    for b in frame.iter_mut() {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *b = (x >> 56) as u8;
    }
    if let Some(first) = frame.first_mut() {
        *first = 0x11; // inter frame, version 0, show_frame
    }
    frame
}
