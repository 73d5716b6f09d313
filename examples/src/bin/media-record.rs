//! Records what a browser sends to files: VP8, VP9 and AV1 to IVF, H.264
//! to an Annex-B `.h264` stream, Opus to Ogg.
//!
//! `cargo run --release -p eddy-examples --bin media-record -- --out DIR`
//! then open the printed URL (`?codec=VP9` picks the browser's video codec
//! with `setCodecPreferences`; VP8 if not given).
//!
//! - `GET /`: a page that sends the camera and microphone;
//! - `POST /offer`: the usual non-trickle signaling (eddy answers
//!   receive-only);
//! - `GET /recorded`: what was written so far, as JSON.
//!
//! Each received track is put in frame mode
//! (`RtpReceiver::set_frame_mode`: jitter buffer, then depacketizer) and
//! every `Event::MediaFrame` is appended to the track's file, named
//! `<peer>-<codec>.<ext>` in `--out` (a simulcast layer's
//! `<peer>-<rid>-<codec>.<ext>`: `?simulcast=1` sends three). Video before the first key frame is
//! skipped (nothing could decode it). A file is finished (IVF frame count,
//! the Ogg stream's last page) when its peer closes or fails; until then
//! it is flushed frame by frame (Ogg: page by page, a second each) and
//! plays as it is.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use clap::Parser;
use eddy::endpoint::{Endpoint, PeerId};
use eddy::{
    Direction, DtlsTransportState, Event, IceGatheringState, PeerConnection, PeerConnectionState,
    TransceiverId,
};
use eddy_examples::media_file::{FileCodec, FileWriter};
use eddy_examples::signaling::{self, Answerer, Limits};
use serde::Serialize;

/// Records the tracks a browser sends to IVF, Annex-B H.264 and Ogg/Opus
/// files: open the printed URL.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Address of the HTTP signaling server; ICE uses UDP on its IP.
    #[arg(long, default_value = "127.0.0.1:8082")]
    listen: SocketAddr,
    /// Folder the files go to (made if missing).
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Seconds an offer waits for its answer's candidates.
    #[arg(long, default_value_t = 10)]
    answer_timeout: u64,
}

/// One recorded track, as `GET /recorded` shows it.
#[derive(Debug, Clone, Serialize)]
struct Summary {
    path: String,
    codec: &'static str,
    /// The simulcast layer, when the track is one.
    rid: Option<String>,
    frames: u64,
    skipped: u64,
    finished: bool,
}

/// What every track has written, shared with the HTTP thread.
type Shared = Arc<Mutex<Vec<Summary>>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Vec<Summary>> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A track being written.
struct Track {
    writer: FileWriter,
    /// Its row in the shared summaries.
    row: usize,
}

/// The recorder's state on the driver's thread.
struct Recorder {
    out: PathBuf,
    shared: Shared,
    /// Each peer's number (for file names) in order of arrival.
    numbers: HashMap<PeerId, usize>,
    /// Tracks by peer and transceiver; `None`: a codec not recorded.
    /// Per track and simulcast layer (RID).
    tracks: HashMap<(PeerId, TransceiverId, Option<String>), Option<Track>>,
}

const PAGE: &str = include_str!("media-record.html");

fn main() -> ExitCode {
    eddy_examples::logging::init();
    let args = Args::parse();
    eddy_examples::exit("media-record", run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&args.out)?;
    let shared = Shared::default();
    let listing = shared.clone();
    let pages = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/recorded",
            get(move || {
                let all = lock(&listing).clone();
                async move { axum::Json(all) }
            }),
        );
    let (mut driver, answerer) = signaling::start_with(
        "media-record",
        args.listen,
        Limits::default(),
        Duration::from_secs(args.answer_timeout),
        pages,
        Some(receive_only),
    )?;
    let mut recorder = Recorder {
        out: args.out.clone(),
        shared,
        numbers: HashMap::new(),
        tracks: HashMap::new(),
    };
    driver.run(|ep, peer, event| on_event(ep, peer, event, &answerer, &mut recorder))?;
    Ok(())
}

/// Before answering: eddy only receives.
fn receive_only(pc: &mut PeerConnection) {
    for t in pc.transceivers() {
        if let Some(mut t) = pc.transceiver(t) {
            if let Err(e) = t.set_direction(Direction::RecvOnly) {
                tracing::warn!("cannot make a transceiver receive-only: {e}");
            }
        }
    }
}

fn on_event(
    ep: &mut Endpoint,
    peer: PeerId,
    event: Event,
    answerer: &Answerer,
    recorder: &mut Recorder,
) {
    match event {
        Event::IceGatheringStateChange(IceGatheringState::Complete) => {
            answerer.gathering_complete(ep, peer);
        }
        Event::Track { transceiver, track } => {
            if let Some(mut r) = ep.peer_mut(peer).and_then(|pc| pc.receiver(transceiver)) {
                r.set_frame_mode(true);
            }
            tracing::info!("peer {peer:?}: {} track", track.kind.as_str());
        }
        Event::MediaFrame { transceiver, frame } => {
            recorder.frame(ep, peer, transceiver, &frame);
        }
        Event::ConnectionStateChange(state) => {
            tracing::info!("peer {peer:?}: {state:?}");
            if matches!(
                state,
                PeerConnectionState::Failed | PeerConnectionState::Closed
            ) {
                recorder.finish(peer);
                answerer.forget(ep, peer);
            }
        }
        Event::DtlsStateChange(DtlsTransportState::Closed | DtlsTransportState::Failed) => {
            recorder.finish(peer);
            answerer.forget(ep, peer);
        }
        _ => {}
    }
}

impl Recorder {
    /// Appends a frame to its track's file, creating the file at the
    /// track's first frame (the payload type names the codec).
    fn frame(
        &mut self,
        ep: &mut Endpoint,
        peer: PeerId,
        transceiver: TransceiverId,
        frame: &eddy::MediaFrame,
    ) {
        let next = self.numbers.len() + 1;
        let number = *self.numbers.entry(peer).or_insert(next);
        let key = (peer, transceiver, frame.rid.clone());
        let track = self.tracks.entry(key).or_insert_with(|| {
            let mime = ep
                .peer_mut(peer)
                .and_then(|pc| pc.receiver(transceiver))
                .and_then(|r| {
                    r.get_parameters()
                        .codecs
                        .into_iter()
                        .find(|c| c.payload_type == frame.payload_type)
                })
                .map(|c| c.mime_type)
                .unwrap_or_default();
            let Some(codec) = FileCodec::from_mime(&mime) else {
                tracing::warn!("peer {peer:?}: {mime:?} is not recorded");
                return None;
            };
            // A simulcast layer's file is named with its RID too.
            let layer = frame
                .rid
                .as_deref()
                .map_or(String::new(), |r| format!("{r}-"));
            let name = format!(
                "{number}-{layer}{}.{}",
                codec.name().to_lowercase(),
                codec.extension()
            );
            let path = self.out.join(name);
            match FileWriter::create(&path, codec) {
                Ok(writer) => {
                    let mut rows = lock(&self.shared);
                    rows.push(Summary {
                        path: path.display().to_string(),
                        codec: codec.name(),
                        rid: frame.rid.clone(),
                        frames: 0,
                        skipped: 0,
                        finished: false,
                    });
                    tracing::info!(
                        "peer {peer:?}: recording {} to {}",
                        codec.name(),
                        path.display()
                    );
                    Some(Track {
                        writer,
                        row: rows.len() - 1,
                    })
                }
                Err(e) => {
                    tracing::error!("cannot create {}: {e}", path.display());
                    None
                }
            }
        });
        let Some(track) = track else { return };
        let f = &frame.frame;
        if let Err(e) = track.writer.write_frame(&f.data, f.timestamp, f.keyframe) {
            tracing::error!("peer {peer:?}: write failed: {e}");
        }
        if let Some(row) = lock(&self.shared).get_mut(track.row) {
            row.frames = track.writer.frames();
            row.skipped = track.writer.skipped();
        }
    }

    /// Finishes every file of `peer`.
    fn finish(&mut self, peer: PeerId) {
        let keys: Vec<_> = self
            .tracks
            .keys()
            .filter(|k| k.0 == peer)
            .cloned()
            .collect();
        for key in keys {
            let Some(Some(track)) = self.tracks.remove(&key) else {
                continue;
            };
            let frames = track.writer.frames();
            let skipped = track.writer.skipped();
            let row = track.row;
            let done = track.writer.finish();
            let mut rows = lock(&self.shared);
            let Some(summary) = rows.get_mut(row) else {
                continue;
            };
            match done {
                Ok(()) => {
                    summary.finished = true;
                    println!(
                        "media-record: wrote {} ({}, {frames} frames, {skipped} skipped before the first key frame)",
                        summary.path, summary.codec
                    );
                }
                Err(e) => tracing::error!("cannot finish {}: {e}", summary.path),
            }
        }
    }
}
