//! Plays files to browsers: an IVF (VP8, VP9, AV1), Annex-B H.264 or
//! Ogg/Opus file, sent frame by frame in real time, looping.
//!
//! `cargo run --release -p eddy-examples --bin media-play -- video.ivf [audio.ogg]`
//! then open the printed URL.
//!
//! - `GET /`: a page that receives the tracks and shows the video, with
//!   the decoder's counts from `getStats()`;
//! - `GET /info`: the tracks on offer (`{"tracks":[{"kind","codec"}]}`);
//!   the page asks for exactly those codecs (`setCodecPreferences`);
//! - `POST /offer`: the usual non-trickle signaling (eddy answers
//!   send-only).
//!
//! Each peer gets its own playback from the file's start once connected.
//! Frames leave at their time: the IVF time base, 90 kHz steps of `--fps`
//! for H.264 (its byte stream has no timestamps), the Opus packets'
//! durations (RFC 6716 TOC) for Ogg; a pass ends one frame after its last
//! frame and the next starts there, the RTP timestamps running on.
//! `RtpSender::write_frame` packetizes each frame at the MTU.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use clap::Parser;
use eddy::endpoint::{Endpoint, PeerId};
use eddy::{
    Direction, DtlsTransportState, Event, IceGatheringState, MediaKind, PeerConnection,
    PeerConnectionState, TransceiverId,
};
use eddy_examples::media_file::{FileCodec, MediaFile};
use eddy_examples::signaling::{self, Answerer, Limits};

/// Sends IVF (VP8/VP9/AV1), Annex-B H.264 or Ogg/Opus files to whoever
/// connects, in real time, looping: open the printed URL.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The files: at most one video (.ivf, .h264) and one audio (.ogg).
    #[arg(required = true, num_args = 1..=2)]
    files: Vec<PathBuf>,
    /// Address of the HTTP signaling server; ICE uses UDP on its IP.
    #[arg(long, default_value = "127.0.0.1:8083")]
    listen: SocketAddr,
    /// Frames per second of an H.264 file (Annex-B has no timestamps).
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// Seconds an offer waits for its answer's candidates.
    #[arg(long, default_value_t = 10)]
    answer_timeout: u64,
}

const PAGE: &str = include_str!("media-play.html");

/// A file sent on one transceiver of one peer.
struct Stream {
    transceiver: TransceiverId,
    file: usize,
    payload_type: u8,
    /// When the file's time 0 of the current pass is (wall clock).
    start: Instant,
    /// The next frame, and the passes done.
    next: usize,
    pass: u64,
    /// The random start of the RTP timestamps (RFC 3550 §5.1).
    base: u32,
    sent: u64,
}

struct Player {
    files: Vec<MediaFile>,
    playing: HashMap<PeerId, Vec<Stream>>,
}

fn main() -> ExitCode {
    eddy_examples::logging::init();
    let args = Args::parse();
    eddy_examples::exit("media-play", run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut files = Vec::new();
    for path in &args.files {
        let f = MediaFile::read(path, args.fps).map_err(|e| format!("{}: {e}", path.display()))?;
        println!(
            "media-play: {} is {}, {} frames, {:.2} s a pass",
            path.display(),
            f.codec.name(),
            f.frames.len(),
            f.duration as f64 / f64::from(f.codec.clock_rate())
        );
        if files
            .iter()
            .any(|g: &MediaFile| g.codec.is_video() == f.codec.is_video())
        {
            return Err("give at most one video file and one audio file".into());
        }
        files.push(f);
    }
    let tracks: Vec<serde_json::Value> = files
        .iter()
        .map(|f| {
            let kind = if f.codec.is_video() { "video" } else { "audio" };
            serde_json::json!({ "kind": kind, "codec": f.codec.name() })
        })
        .collect();
    let info = serde_json::json!({ "tracks": tracks });
    let pages = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/info",
            get(move || {
                let info = info.clone();
                async move { axum::Json(info) }
            }),
        );
    let (mut driver, answerer) = signaling::start_with(
        "media-play",
        args.listen,
        Limits::default(),
        Duration::from_secs(args.answer_timeout),
        pages,
        Some(send_only),
    )?;
    let mut player = Player {
        files,
        playing: HashMap::new(),
    };
    while !driver.is_stopped() {
        let wait = player
            .next_due()
            .map(|at| at.saturating_duration_since(Instant::now()));
        driver.poll(Some(wait.unwrap_or(Duration::from_millis(100))))?;
        while let Some((peer, event)) = driver.poll_event() {
            on_event(driver.endpoint_mut(), peer, event, &answerer, &mut player);
        }
        player.send_due(driver.endpoint_mut(), Instant::now());
    }
    Ok(())
}

/// Before answering: eddy only sends.
fn send_only(pc: &mut PeerConnection) {
    for t in pc.transceivers() {
        if let Some(mut t) = pc.transceiver(t) {
            if let Err(e) = t.set_direction(Direction::SendOnly) {
                tracing::warn!("cannot make a transceiver send-only: {e}");
            }
        }
    }
}

fn on_event(
    ep: &mut Endpoint,
    peer: PeerId,
    event: Event,
    answerer: &Answerer,
    player: &mut Player,
) {
    match event {
        Event::IceGatheringStateChange(IceGatheringState::Complete) => {
            answerer.gathering_complete(ep, peer);
        }
        Event::ConnectionStateChange(PeerConnectionState::Connected) => {
            tracing::info!("peer {peer:?}: connected");
            if let Some(pc) = ep.peer_mut(peer) {
                player.start(peer, pc);
            }
        }
        Event::ConnectionStateChange(
            state @ (PeerConnectionState::Failed | PeerConnectionState::Closed),
        ) => {
            tracing::info!("peer {peer:?}: {state:?}");
            player.stop(peer);
            answerer.forget(ep, peer);
        }
        Event::DtlsStateChange(DtlsTransportState::Closed | DtlsTransportState::Failed) => {
            player.stop(peer);
            answerer.forget(ep, peer);
        }
        // A file cannot make a key frame on demand: the next one comes
        // when the file has one (or at the loop).
        Event::KeyframeRequest { .. } => tracing::debug!("peer {peer:?}: key frame asked for"),
        _ => {}
    }
}

/// The payload type the browser accepted for `codec` on this sender.
fn payload_type(pc: &mut PeerConnection, t: TransceiverId, codec: FileCodec) -> Option<u8> {
    let params = pc.sender(t)?.get_parameters();
    params
        .codecs
        .iter()
        .filter(|c| FileCodec::from_mime(&c.mime_type) == Some(codec))
        // H.264 in packetization-mode 1 (RFC 6184 §6.3): mode 0 cannot carry
        // a NAL unit larger than a packet, and key frames have them.
        .find(|c| {
            codec != FileCodec::H264
                || c.sdp_fmtp_line
                    .as_deref()
                    .is_some_and(|f| f.contains("packetization-mode=1"))
        })
        .map(|c| c.payload_type)
}

impl Player {
    /// Starts every file on the transceiver of its kind.
    fn start(&mut self, peer: PeerId, pc: &mut PeerConnection) {
        let now = Instant::now();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut streams = Vec::new();
        for t in pc.transceivers() {
            let Some(kind) = pc.transceiver(t).and_then(|t| t.kind()) else {
                continue;
            };
            let video = kind == MediaKind::Video;
            let Some(file) = self.files.iter().position(|f| f.codec.is_video() == video) else {
                continue;
            };
            if streams.iter().any(|s: &Stream| s.file == file) {
                continue;
            }
            let codec = self.files[file].codec;
            let Some(pt) = payload_type(pc, t, codec) else {
                tracing::warn!("peer {peer:?}: the browser did not accept {}", codec.name());
                continue;
            };
            println!("media-play: sending {} to peer {peer:?}", codec.name());
            streams.push(Stream {
                transceiver: t,
                file,
                payload_type: pt,
                start: now,
                next: 0,
                pass: 0,
                base: nanos.wrapping_mul(2_654_435_761).wrapping_add(file as u32),
                sent: 0,
            });
        }
        self.playing.insert(peer, streams);
    }

    fn stop(&mut self, peer: PeerId) {
        if let Some(streams) = self.playing.remove(&peer) {
            for s in streams {
                println!(
                    "media-play: sent {} frames of {} to peer {peer:?}",
                    s.sent,
                    self.files[s.file].codec.name()
                );
            }
        }
    }

    /// The media time of a stream's next frame, in its clock's ticks.
    fn media_time(&self, s: &Stream) -> u64 {
        let f = &self.files[s.file];
        s.pass * f.duration + f.frames[s.next].timestamp
    }

    fn due(&self, s: &Stream) -> Instant {
        let ticks = self.media_time(s);
        let rate = u64::from(self.files[s.file].codec.clock_rate());
        s.start + Duration::from_nanos(ticks * 1_000_000_000 / rate)
    }

    /// When the next frame of any stream is due.
    fn next_due(&self) -> Option<Instant> {
        self.playing.values().flatten().map(|s| self.due(s)).min()
    }

    /// Sends every frame that is due by `now`.
    fn send_due(&mut self, ep: &mut Endpoint, now: Instant) {
        let mut playing = std::mem::take(&mut self.playing);
        for (peer, streams) in &mut playing {
            for s in streams.iter_mut() {
                // Far behind (the process was stopped, say): start again
                // from here rather than send a burst.
                if self.due(s) + Duration::from_millis(500) < now {
                    let behind = now - self.due(s);
                    s.start += behind;
                }
                while self.due(s) <= now {
                    let f = &self.files[s.file];
                    let timestamp = s.base.wrapping_add(self.media_time(s) as u32);
                    let data = &f.frames[s.next].data;
                    let Some(mut sender) =
                        ep.peer_mut(*peer).and_then(|pc| pc.sender(s.transceiver))
                    else {
                        break;
                    };
                    match sender.write_frame(s.payload_type, timestamp, data) {
                        Ok(()) => s.sent += 1,
                        Err(e) => tracing::debug!("peer {peer:?}: frame not sent: {e}"),
                    }
                    s.next += 1;
                    if s.next == f.frames.len() {
                        s.next = 0;
                        s.pass += 1;
                    }
                }
            }
        }
        self.playing = playing;
    }
}
