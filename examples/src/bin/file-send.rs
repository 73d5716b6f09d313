//! Sends a file over a data channel to `file-receive`, with a progress bar,
//! and checks the receiver's SHA-256 against its own.
//!
//! `cargo run --release -p eddy-examples --bin file-send -- --url
//! http://127.0.0.1:8081/offer FILE` (`--help` for all)
//!
//! Prints one line on stdout, `file-send: OK ...` (exit 0) or
//! `file-send: FAIL <reason>` (exit 1). No resume: a broken transfer
//! starts again from the beginning.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use eddy::endpoint::PeerId;
use eddy::{Configuration, DataChannelInit, DataChannelState, Event, PeerConnectionState};
use eddy_examples::client;
use eddy_examples::file::{self, Header, Receipt, Trailer};
use eddy_mio::{new_peer, Driver};
use sha2::{Digest, Sha256};

/// Most bytes waiting in the channel's send buffer.
const HIGH_WATER: usize = 1024 * 1024;

/// Sends a file over a WebRTC data channel to file-receive.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The receiver's offer URL, e.g. http://127.0.0.1:8081/offer.
    #[arg(long)]
    url: String,
    /// The file to send.
    file: PathBuf,
    /// Seconds for the whole transfer.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// No progress bar (it is hidden anyway when stderr is not a terminal).
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    eddy_examples::logging::init();
    let args = Args::parse();
    match run(&args) {
        Ok(line) => {
            println!("file-send: OK {line}");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            println!("file-send: FAIL {reason}");
            ExitCode::FAILURE
        }
    }
}

/// The file being sent.
struct Outgoing {
    file: File,
    size: u64,
    sent: u64,
    hasher: Sha256,
    buf: Vec<u8>,
}

fn run(args: &Args) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or("the file has no name")?;
    let f = File::open(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let size = f.metadata().map_err(|e| e.to_string())?.len();
    let mut outgoing = Outgoing {
        file: f,
        size,
        sent: 0,
        hasher: Sha256::new(),
        buf: vec![0; file::CHUNK],
    };

    let mut driver = client::driver_for(&args.url)?;
    let mut pc = new_peer(Configuration::default()).map_err(|e| e.to_string())?;
    let channel = pc
        .create_data_channel(file::LABEL, &DataChannelInit::default())
        .map_err(|e| format!("create_data_channel: {e}"))?;
    let peer = client::connect(&mut driver, pc, &args.url, deadline)?;

    let progress = client::progress_bar(
        args.quiet,
        size,
        "{spinner} {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec} eta {eta}",
    );
    let mut started = None;
    let mut trailer_sent = false;
    let receipt = loop {
        client::step(&mut driver, deadline, "the transfer")?;
        let mut receipt = None;
        while let Some((_, event)) = driver.poll_event() {
            match event {
                Event::ChannelOpen(id) if id == channel => {
                    started = Some(Instant::now());
                    let header = Header {
                        name: name.clone(),
                        size,
                    };
                    let pc = driver.endpoint_mut().peer_mut(peer).ok_or("peer gone")?;
                    let mut dc = pc.data_channel(channel).ok_or("channel gone")?;
                    dc.send_text(&serde_json::to_string(&header).map_err(|e| e.to_string())?)
                        .map_err(|e| format!("send the header: {e}"))?;
                }
                Event::ChannelMessage(id, message) if id == channel && message.is_text => {
                    let r: Receipt = serde_json::from_slice(&message.data)
                        .map_err(|e| format!("bad receipt: {e}"))?;
                    receipt = Some(r);
                }
                Event::ChannelClose(id) if id == channel => {
                    return Err("the receiver closed the channel".into());
                }
                Event::ConnectionStateChange(
                    state @ (PeerConnectionState::Failed | PeerConnectionState::Closed),
                ) => return Err(format!("connection {state:?}")),
                _ => {}
            }
        }
        if let Some(r) = receipt {
            break r;
        }
        if started.is_some() && !trailer_sent {
            trailer_sent = feed(&mut driver, peer, channel, &mut outgoing)?;
            progress.set_position(outgoing.sent);
        }
    };
    progress.finish_and_clear();
    let secs = started.map_or(0.0, |t| t.elapsed().as_secs_f64()).max(1e-9);
    if let Some(pc) = driver.endpoint_mut().peer_mut(peer) {
        pc.close();
    }
    let _ = driver.poll(Some(Duration::ZERO));
    let ours = file::hex(&outgoing.hasher.finalize());
    if !receipt.ok {
        return Err(format!(
            "refused: {}",
            receipt.error.unwrap_or_else(|| "no reason given".into())
        ));
    }
    if receipt.sha256 != ours || receipt.bytes != size {
        return Err(format!(
            "the receiver has {} B with SHA-256 {}, we sent {size} B with {ours}",
            receipt.bytes, receipt.sha256
        ));
    }
    Ok(format!(
        "{name}: {size} B in {secs:.2} s ({:.1} MB/s), sha256 {ours} checked by the receiver",
        size as f64 / secs / 1e6
    ))
}

/// Sends chunks while the channel's buffer has room; the trailer after the
/// last one. True once the trailer is sent.
fn feed(
    driver: &mut Driver,
    peer: PeerId,
    channel: eddy::ChannelId,
    o: &mut Outgoing,
) -> Result<bool, String> {
    let pc = driver.endpoint_mut().peer_mut(peer).ok_or("peer gone")?;
    let mut dc = pc.data_channel(channel).ok_or("channel gone")?;
    if dc.ready_state() != DataChannelState::Open {
        return Err("the channel is not open".into());
    }
    while dc.buffered_amount() + file::CHUNK <= HIGH_WATER {
        if o.sent == o.size {
            let sha256 = file::hex(&o.hasher.clone().finalize());
            let trailer = serde_json::to_string(&Trailer { sha256 }).map_err(|e| e.to_string())?;
            dc.send_text(&trailer)
                .map_err(|e| format!("send the trailer: {e}"))?;
            return Ok(true);
        }
        let want = usize::try_from(o.size - o.sent).map_or(file::CHUNK, |n| n.min(file::CHUNK));
        let chunk = o.buf.get_mut(..want).ok_or("chunk size")?;
        o.file
            .read_exact(chunk)
            .map_err(|e| format!("read the file: {e}"))?;
        o.hasher.update(&*chunk);
        dc.send(chunk).map_err(|e| format!("send: {e}"))?;
        o.sent += want as u64;
    }
    Ok(false)
}
