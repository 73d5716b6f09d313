//! Receives files over data channels and keeps them in a folder; a browser
//! page sends them with a file picker and downloads what arrived.
//!
//! `cargo run --release -p eddy-examples --bin file-receive -- --out DIR
//! [--listen 127.0.0.1:8081]` (`--help` for all), then open the printed URL,
//! or send with `file-send --url http://127.0.0.1:8081/offer FILE`.
//!
//! - `GET /`: the page (file picker, progress, the SHA-256 check, links).
//! - `POST /offer`: JSON offer in, complete answer out (as `echo-server`).
//! - `GET /files`: the received files' names, JSON; `GET /files/NAME`: one.
//!
//! Each file comes on its own channel labelled `file` in the protocol of
//! [`eddy_examples::file`]: it is written to `NAME.part` as it arrives,
//! checked against the sender's size and SHA-256, then renamed to `NAME`
//! (a free variant of it) or deleted, and the verdict goes back on the
//! channel.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use clap::Parser;
use eddy::endpoint::{Endpoint, PeerId};
use eddy::{ChannelId, DtlsTransportState, Event, IceGatheringState, PeerConnectionState};
use eddy_examples::file::{self, Incoming, Progress, Receipt};
use eddy_examples::signaling::{self, Answerer, Limits};

/// Receives files over WebRTC data channels: open the printed URL in a
/// browser, or send with file-send.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Folder the files go to (made if missing).
    #[arg(long)]
    out: PathBuf,
    /// Address of the HTTP signaling server; ICE uses UDP on its IP.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Largest file accepted, in bytes.
    #[arg(long, default_value_t = 1 << 30)]
    max_size: u64,
    /// Most files arriving at once (over all peers).
    #[arg(long, default_value_t = 64)]
    max_transfers: usize,
}

const PAGE: &str = include_str!("file-receive.html");

fn main() -> ExitCode {
    eddy_examples::logging::init();
    let args = Args::parse();
    eddy_examples::exit("file-receive", run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot make {}: {e}", args.out.display()))?;
    let pages = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/files", get(list))
        .route("/files/{name}", get(download))
        .with_state(Arc::new(args.out.clone()));
    let (mut driver, answerer) = signaling::start(
        "file-receive",
        args.listen,
        Limits::default(),
        Duration::from_secs(10),
        pages,
    )?;
    let mut receiver = Receiver {
        folder: args.out.clone(),
        max_size: args.max_size,
        max_transfers: args.max_transfers,
        transfers: HashMap::new(),
    };
    driver.run(|ep, peer, event| receiver.on_event(ep, peer, event, &answerer))?;
    Ok(())
}

/// `GET /files`: the names of the files received, sorted.
async fn list(State(folder): State<Arc<PathBuf>>) -> Response {
    let mut names = Vec::new();
    if let Ok(mut dir) = tokio::fs::read_dir(folder.as_path()).await {
        while let Ok(Some(entry)) = dir.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = entry.file_type().await.is_ok_and(|t| t.is_file());
            if is_file && !name.ends_with(".part") && file::safe_name(&name) == name {
                names.push(name);
            }
        }
    }
    names.sort();
    axum::Json(names).into_response()
}

/// `GET /files/NAME`: one received file, as a download.
async fn download(State(folder): State<Arc<PathBuf>>, UrlPath(name): UrlPath<String>) -> Response {
    // Only names this program could have written: no paths, no partials.
    if file::safe_name(&name) != name || name.ends_with(".part") {
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    }
    match tokio::fs::read(folder.join(&name)).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", name.replace('"', "")),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no such file\n").into_response(),
    }
}

/// One file on its way in.
struct Transfer {
    incoming: Incoming<BufWriter<File>>,
    part: PathBuf,
}

/// The files arriving, by peer and channel.
struct Receiver {
    folder: PathBuf,
    max_size: u64,
    max_transfers: usize,
    transfers: HashMap<(PeerId, ChannelId), Transfer>,
}

impl Receiver {
    fn on_event(&mut self, ep: &mut Endpoint, peer: PeerId, event: Event, answerer: &Answerer) {
        match event {
            Event::IceGatheringStateChange(IceGatheringState::Complete) => {
                answerer.gathering_complete(ep, peer);
            }
            Event::ChannelOpen(channel) => self.open(ep, peer, channel),
            Event::ChannelMessage(channel, message) => {
                let Some(transfer) = self.transfers.get_mut(&(peer, channel)) else {
                    return;
                };
                let verdict = match transfer.incoming.on_message(message.is_text, &message.data) {
                    Ok(Progress::Started(header)) if header.size > self.max_size => {
                        Some(refusal(format!(
                            "{} bytes is over the limit of {}",
                            header.size, self.max_size
                        )))
                    }
                    Ok(Progress::Started(_) | Progress::Bytes(_)) => None,
                    Ok(Progress::Done(receipt)) => Some(receipt),
                    Err(e) => Some(refusal(e)),
                };
                if let Some(receipt) = verdict {
                    self.finish(ep, peer, channel, &receipt);
                }
            }
            Event::ChannelClose(channel) => {
                if let Some(transfer) = self.transfers.remove(&(peer, channel)) {
                    tracing::warn!("peer {peer:?}: channel closed mid-file");
                    let _ = std::fs::remove_file(&transfer.part);
                }
            }
            Event::ConnectionStateChange(
                PeerConnectionState::Failed | PeerConnectionState::Closed,
            )
            | Event::DtlsStateChange(DtlsTransportState::Closed | DtlsTransportState::Failed) => {
                self.drop_peer(peer);
                answerer.forget(ep, peer);
            }
            _ => {}
        }
    }

    /// A new channel: a file transfer if it is labelled so and there is room.
    fn open(&mut self, ep: &mut Endpoint, peer: PeerId, channel: ChannelId) {
        let Some(pc) = ep.peer_mut(peer) else { return };
        let Some(mut dc) = pc.data_channel(channel) else {
            return;
        };
        if dc.label() != file::LABEL {
            return;
        }
        if self.transfers.len() >= self.max_transfers {
            let _ = dc.send_text(&receipt_json(&refusal("too many transfers at once".into())));
            dc.close();
            return;
        }
        let part = self.folder.join(format!(
            "incoming-{}-{}.part",
            digits(peer),
            digits(channel)
        ));
        match File::create(&part) {
            Ok(f) => {
                let incoming = Incoming::new(BufWriter::new(f));
                self.transfers
                    .insert((peer, channel), Transfer { incoming, part });
            }
            Err(e) => {
                let _ = dc.send_text(&receipt_json(&refusal(format!("cannot store: {e}"))));
                dc.close();
            }
        }
    }

    /// Keeps (or deletes) the file and sends the verdict.
    fn finish(&mut self, ep: &mut Endpoint, peer: PeerId, channel: ChannelId, receipt: &Receipt) {
        let Some(transfer) = self.transfers.remove(&(peer, channel)) else {
            return;
        };
        let mut receipt = receipt.clone();
        let name = transfer.incoming.header().map(|h| file::safe_name(&h.name));
        drop(transfer.incoming);
        match (receipt.ok, name) {
            (true, Some(name)) => {
                let path = free_path(&self.folder, &name);
                if let Err(e) = std::fs::rename(&transfer.part, &path) {
                    receipt.ok = false;
                    receipt.error = Some(format!("cannot keep the file: {e}"));
                    let _ = std::fs::remove_file(&transfer.part);
                } else {
                    println!(
                        "file-receive: {} ({} B, sha256 {})",
                        path.display(),
                        receipt.bytes,
                        receipt.sha256
                    );
                }
            }
            _ => {
                tracing::warn!("peer {peer:?}: file refused: {:?}", receipt.error);
                let _ = std::fs::remove_file(&transfer.part);
            }
        }
        if let Some(mut dc) = ep.peer_mut(peer).and_then(|pc| pc.data_channel(channel)) {
            if let Err(e) = dc.send_text(&receipt_json(&receipt)) {
                tracing::warn!("peer {peer:?}: cannot send the receipt: {e}");
            }
        }
    }

    fn drop_peer(&mut self, peer: PeerId) {
        self.transfers.retain(|(p, _), transfer| {
            if *p == peer {
                let _ = std::fs::remove_file(&transfer.part);
            }
            *p != peer
        });
    }
}

fn refusal(error: String) -> Receipt {
    Receipt {
        ok: false,
        bytes: 0,
        sha256: String::new(),
        error: Some(error),
    }
}

fn receipt_json(receipt: &Receipt) -> String {
    serde_json::to_string(receipt).unwrap_or_else(|_| r#"{"ok":false}"#.to_owned())
}

/// The digits of an id's debug form, for file names.
fn digits(id: impl std::fmt::Debug) -> String {
    format!("{id:?}")
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// `folder/name`, or `folder/name-1`, `-2`... if taken.
fn free_path(folder: &Path, name: &str) -> PathBuf {
    let first = folder.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    (1..)
        .map(|n| folder.join(format!("{stem}-{n}{ext}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}
