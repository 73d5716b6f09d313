//! Measures data channel echo throughput against `echo-server`.
//!
//! `cargo run --release -p eddy-examples --bin echo-client -- --url http://127.0.0.1:8080/offer
//! [--messages N] [--size BYTES] [--channels K] [--timeout SECS] [--text]`
//! (`--help` for all; `RUST_LOG=eddy=debug` for the stack's logs)
//!
//! Opens K channels (`echo-0`, `echo-1`, ...), offers them to the server
//! (non-trickle: the offer carries every candidate), sends N binary messages
//! of SIZE bytes on each (text messages with `--text`), at most a window in
//! flight, and checks every echo (content, order, and text or binary). A
//! progress bar on stderr counts the echoes when stderr is a terminal. On
//! stdout it prints one line, `echo-client: OK ...` (exit 0) or
//! `echo-client: FAIL <reason>` (exit 1).
//!
//! With `--runtime tokio` or `--runtime async-std` the connection is an
//! `eddy_tokio::Connection` or `eddy_async_std::Connection` (the shared
//! async driver, a task on that runtime) instead of a peer on an
//! `eddy_mio::Driver` (the default): the same checks and the same line,
//! without `--audio`, `--hold` and `--mdns`.
//!
//! With `--audio`, the offer also has an audio transceiver on which the
//! client sends Opus silence (a packet each 20 ms, raw RTP) for as long as
//! it runs, and it succeeds only once at least `--audio-back` RTP packets
//! came back from the server's sender on that transceiver.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use eddy::{
    ChannelId, Configuration, DataChannelInit, DataChannelState, Event, MediaKind,
    PeerConnectionState, RtpWrite, TransceiverId, TransceiverInit,
};
use eddy_examples::client;
use eddy_mio::new_peer;

/// Bytes in flight (sent, not yet echoed) over all channels. Well under
/// the server's send buffer, so an echo is never refused for room.
const WINDOW: usize = 4 * 1024 * 1024;
/// Bytes of sequence header at the start of every message: the number in
/// big-endian binary, or in 16 hex digits for text.
const HEADER: usize = 8;
const TEXT_HEADER: usize = 16;

/// Measures data channel echo throughput against echo-server (or any
/// server that answers a JSON offer POSTed to --url and echoes).
#[derive(Parser, Debug)]
#[command(version)]
struct Options {
    /// The server's offer URL, e.g. http://127.0.0.1:8080/offer.
    #[arg(long)]
    url: String,
    /// Messages per channel.
    #[arg(long, default_value_t = 100)]
    messages: u64,
    /// Bytes per message (at least 8, 16 with --text).
    #[arg(long, default_value_t = 1000)]
    size: usize,
    /// Data channels (1..=1024).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    channels: u16,
    /// Seconds for the whole run.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Send text messages instead of binary.
    #[arg(long)]
    text: bool,
    /// No progress bar (it is hidden anyway when stderr is not a terminal).
    #[arg(long)]
    quiet: bool,
    /// After the echoes, keep the connection this many seconds, sending one
    /// more message a second on the first channel (its echo must come
    /// back): the connection must live through ICE consent checks.
    #[arg(long, default_value_t = 0)]
    hold: u64,
    /// Seconds between the messages sent while holding (with a long one,
    /// the connection idles between them: SCTP heartbeats go both ways).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    hold_every: u64,
    /// Also send Opus silence on an audio transceiver (see --audio-back).
    #[arg(long)]
    audio: bool,
    /// With --audio: RTP packets that must come back on it.
    #[arg(long, default_value_t = 50)]
    audio_back: u64,
    /// A TURN server, e.g. turn:127.0.0.1:3478?transport=udp.
    #[arg(long)]
    turn: Option<String>,
    /// The TURN username.
    #[arg(long, default_value = "")]
    turn_user: String,
    /// The TURN password.
    #[arg(long, default_value = "")]
    turn_pass: String,
    /// A PEM certificate to trust for a `turns:` server (its CA, or the
    /// server's own self-signed one).
    #[arg(long)]
    turn_ca: Option<std::path::PathBuf>,
    /// iceTransportPolicy relay: relay candidates only (needs --turn).
    #[arg(long)]
    relay_only: bool,
    /// ICE over TCP only (RFC 6544): passive and active TCP host
    /// candidates, no UDP ones.
    #[arg(long)]
    ice_tcp_only: bool,
    /// With --ice-tcp-only: active TCP candidates only (eddy connects out
    /// to the peer's passive candidates).
    #[arg(long)]
    ice_tcp_active_only: bool,
    /// Signal host candidates as `<uuid>.local` names (as browsers do) and
    /// answer mDNS queries for them.
    #[arg(long)]
    mdns: bool,
    /// The runtime that drives the connection: mio (an `eddy_mio::Driver`
    /// stepped by this program), or tokio or async-std (the async driver
    /// of `eddy-tokio` / `eddy-async-std`, a task on that runtime).
    #[arg(long, value_enum, default_value_t = RuntimeKind::Mio)]
    runtime: RuntimeKind,
}

/// `--runtime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum RuntimeKind {
    Mio,
    Tokio,
    AsyncStd,
}

/// The peer's configuration: `--turn`, `--relay-only` and `--mdns`.
fn configuration(o: &Options) -> Configuration {
    let mut config = Configuration::default();
    if let Some(url) = &o.turn {
        config = config.with_ice_server(eddy::IceServer {
            urls: vec![url.clone()],
            username: Some(o.turn_user.clone()),
            credential: Some(o.turn_pass.clone()),
        });
    }
    if o.relay_only {
        config.ice_transport_policy = eddy::IceTransportPolicy::Relay;
    }
    config.mdns_host_candidates = o.mdns;
    if let Some(path) = &o.turn_ca {
        match std::fs::read(path) {
            Ok(pem) => config.turns_trusted_certificates.push(pem),
            Err(e) => eprintln!("echo-client: --turn-ca {}: {e}", path.display()),
        }
    }
    config
}

/// The kind (`host`, `srflx`, `prflx`, `relay`) of our candidate at
/// `local`, from the local description's candidates.
/// "; selected pair LOCAL (KIND) -> REMOTE[ over TCP]", for the OK line.
fn selected_pair(pc: &mut eddy::PeerConnection) -> Option<String> {
    let (local, remote, proto) = pc.selected_candidate_pair()?;
    let kind = local_candidate_kind(pc, local);
    let over = match proto {
        eddy::Protocol::Udp => "",
        _ => " over TCP",
    };
    Some(format!(
        "; selected pair {local} ({kind}) -> {remote}{over}"
    ))
}

fn local_candidate_kind(pc: &eddy::PeerConnection, local: std::net::SocketAddr) -> String {
    let Some(desc) = pc.local_description() else {
        return "unknown".into();
    };
    desc.sdp
        .lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .find(|f| f.len() > 7 && f[4] == local.ip().to_string() && f[5] == local.port().to_string())
        .map_or_else(|| "prflx".into(), |f| f[7].to_string())
}

/// An Opus packet of 20 ms of silence (RFC 6716 §3.1: TOC 0xF8 is CELT-only
/// fullband 20 ms, one frame; 0xFF 0xFE code it as silence).
const OPUS_SILENCE: [u8; 3] = [0xF8, 0xFF, 0xFE];
/// Opus's RTP clock ticks in 20 ms (RFC 7587 §4.1: always 48 kHz).
const OPUS_TICKS: u32 = 960;

/// The audio transceiver of `--audio`: what was sent and what came back.
struct Audio {
    id: TransceiverId,
    next_send: Option<Instant>,
    sent: u64,
    back: u64,
}

impl Audio {
    /// Sends the packets due by `now` (one per 20 ms once connected).
    fn send_due(&mut self, pc: &mut eddy::PeerConnection, now: Instant) -> Result<(), String> {
        let Some(mut sender) = pc.sender(self.id) else {
            return Err("the audio transceiver is gone".into());
        };
        let Some(pt) = sender
            .get_parameters()
            .codecs
            .iter()
            .find(|c| c.mime_type.eq_ignore_ascii_case("audio/opus"))
            .map(|c| c.payload_type)
        else {
            return Ok(()); // not negotiated (yet)
        };
        let due = self.next_send.get_or_insert(now);
        while *due <= now {
            let seq = self.sent as u16;
            let ts = (self.sent as u32).wrapping_mul(OPUS_TICKS);
            match sender.write_rtp(RtpWrite::new(pt, seq, ts, &OPUS_SILENCE)) {
                Ok(()) => self.sent += 1,
                // Not connected yet: try again next time.
                Err(eddy::MediaSendError::NotConnected) => return Ok(()),
                Err(e) => return Err(format!("audio: {e}")),
            }
            *due += Duration::from_millis(20);
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    eddy_examples::logging::init();
    let options = Options::parse();
    let header = if options.text { TEXT_HEADER } else { HEADER };
    if options.size < header {
        eprintln!("echo-client: --size must be at least {header}");
        return ExitCode::from(2);
    }
    let result = match options.runtime {
        RuntimeKind::Mio => run(&options),
        RuntimeKind::Tokio => async_client::run_tokio(&options),
        RuntimeKind::AsyncStd => async_client::run_async_std(&options),
    };
    match result {
        Ok(line) => {
            println!("echo-client: OK {line}");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            println!("echo-client: FAIL {reason}");
            ExitCode::FAILURE
        }
    }
}

/// Message `seq` of channel `index`: the sequence number, then a pattern
/// that depends on both (every byte value; lower-case letters for text).
fn fill(buf: &mut [u8], index: usize, seq: u64, text: bool) {
    // `--size` was checked against the header length.
    let tail = if text {
        let (head, tail) = buf.split_at_mut(TEXT_HEADER);
        head.copy_from_slice(format!("{seq:016x}").as_bytes());
        tail
    } else {
        let (head, tail) = buf.split_at_mut(HEADER);
        head.copy_from_slice(&seq.to_be_bytes());
        tail
    };
    let salt = (index as u64).wrapping_mul(0x9e37_79b9).wrapping_add(seq);
    for (i, b) in tail.iter_mut().enumerate() {
        let x = (salt.wrapping_add(i as u64).wrapping_mul(31) >> 3) as u8;
        *b = if text { b'a' + x % 26 } else { x };
    }
}

/// One channel's progress.
struct Channel {
    id: ChannelId,
    open: bool,
    /// Messages to send (`--messages`, plus one a second while holding).
    target: u64,
    sent: u64,
    echoed: u64,
}

fn run(o: &Options) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(o.timeout);
    let mut driver = if o.ice_tcp_only {
        client::driver_builder_for(&o.url)?
            .ice_tcp(true)
            .tcp_only(true)
            .tcp_passive(!o.ice_tcp_active_only)
            .build()
            .map_err(|e| format!("cannot bind: {e}"))?
    } else {
        client::driver_for(&o.url)?
    };
    if o.relay_only && o.turn.is_none() {
        return Err("--relay-only needs --turn".into());
    }
    let mut pc = new_peer(configuration(o)).map_err(|e| e.to_string())?;
    let channel_count = usize::from(o.channels);
    let mut channels = Vec::with_capacity(channel_count);
    for i in 0..channel_count {
        let id = pc
            .create_data_channel(&format!("echo-{i}"), &DataChannelInit::default())
            .map_err(|e| format!("create_data_channel: {e}"))?;
        channels.push(Channel {
            id,
            open: false,
            target: o.messages,
            sent: 0,
            echoed: 0,
        });
    }
    let mut audio = if o.audio {
        let id = pc
            .add_transceiver(MediaKind::Audio, TransceiverInit::default())
            .map_err(|e| format!("add_transceiver: {e}"))?;
        Some(Audio {
            id,
            next_send: None,
            sent: 0,
            back: 0,
        })
    } else {
        None
    };
    let peer = client::connect(&mut driver, pc, &o.url, deadline)?;

    let mut started: Option<Instant> = None;
    let mut message = vec![0u8; o.size];
    let mut expected = vec![0u8; o.size];
    let window = (WINDOW / channel_count / o.size).max(2) as u64;
    let mut hold_until: Option<Instant> = None;
    let mut next_hold_message: Option<Instant> = None;
    let progress = client::progress_bar(
        o.quiet,
        channel_count as u64 * o.messages,
        "{spinner} {pos}/{len} echoes [{bar:30}] {per_sec} eta {eta}",
    );
    loop {
        client::step(&mut driver, deadline, "the echoes")?;
        while let Some((_, event)) = driver.poll_event() {
            match event {
                Event::ChannelOpen(id) => {
                    if let Some(c) = channels.iter_mut().find(|c| c.id == id) {
                        c.open = true;
                        started.get_or_insert_with(Instant::now);
                    }
                }
                Event::ChannelMessage(id, echo) => {
                    let (index, c) = channels
                        .iter_mut()
                        .enumerate()
                        .find(|(_, c)| c.id == id)
                        .ok_or("an echo on an unknown channel")?;
                    if echo.is_text != o.text {
                        return Err(format!(
                            "echo-{index}: echo {} came back as {}",
                            c.echoed,
                            if echo.is_text { "text" } else { "binary" }
                        ));
                    }
                    fill(&mut expected, index, c.echoed, o.text);
                    if echo.data != expected {
                        return Err(format!(
                            "echo-{index}: echo {} differs ({} bytes back, {} sent)",
                            c.echoed,
                            echo.data.len(),
                            o.size
                        ));
                    }
                    c.echoed += 1;
                    progress.inc(1);
                    if c.echoed > c.sent {
                        return Err(format!("echo-{index}: more echoes than messages"));
                    }
                }
                Event::IceCandidateError {
                    url, code, text, ..
                } => eprintln!("echo-client: icecandidateerror {url}: {code} {text}"),
                Event::RtpPacket { transceiver, .. } => {
                    if let Some(a) = audio.as_mut().filter(|a| a.id == transceiver) {
                        a.back += 1;
                    }
                }
                Event::ConnectionStateChange(
                    state @ (PeerConnectionState::Failed | PeerConnectionState::Closed),
                ) => return Err(format!("connection {state:?}")),
                Event::ChannelClose(id) | Event::ChannelClosing(id)
                    if channels.iter().any(|c| c.id == id && c.echoed < c.target) =>
                {
                    return Err("a channel closed before its echoes".into());
                }
                _ => {}
            }
        }
        let audio_done = audio.as_ref().is_none_or(|a| a.back >= o.audio_back);
        if channels.iter().all(|c| c.echoed == c.target) && audio_done {
            let now = Instant::now();
            let end = *hold_until.get_or_insert(now + Duration::from_secs(o.hold));
            if now >= end {
                break;
            }
            // Holding: one more message every `hold_every` seconds on the
            // first channel.
            if let Some(first) = channels.first_mut() {
                if next_hold_message.is_none_or(|at| now >= at) {
                    first.target += 1;
                    next_hold_message = Some(now + Duration::from_secs(o.hold_every));
                }
            }
        }
        let pc = driver.endpoint_mut().peer_mut(peer).ok_or("peer gone")?;
        if let Some(a) = audio.as_mut() {
            a.send_due(pc, Instant::now())?;
        }
        for (index, c) in channels.iter_mut().enumerate() {
            let Some(mut dc) = pc.data_channel(c.id) else {
                return Err(format!("echo-{index}: channel gone"));
            };
            if !c.open || dc.ready_state() != DataChannelState::Open {
                continue;
            }
            let room = window as usize * o.size;
            while c.sent < c.target
                && c.sent - c.echoed < window
                && dc.buffered_amount() + o.size <= room
            {
                fill(&mut message, index, c.sent, o.text);
                let sent = match std::str::from_utf8(&message) {
                    Ok(text) if o.text => dc.send_text(text),
                    _ => dc.send(&message),
                };
                sent.map_err(|e| format!("echo-{index}: send {}: {e}", c.sent))?;
                c.sent += 1;
            }
        }
    }
    // The transfer ended when the hold began.
    let transfer_end =
        hold_until.map_or_else(Instant::now, |end| end - Duration::from_secs(o.hold));
    let secs = started
        .map_or(Duration::ZERO, |t| {
            transfer_end.saturating_duration_since(t)
        })
        .as_secs_f64()
        .max(1e-9);
    progress.finish_and_clear();
    let total = channel_count as u64 * o.messages * o.size as u64;
    // The selected pair's local candidate kind (`relay` through TURN).
    let selected = driver
        .endpoint_mut()
        .peer_mut(peer)
        .and_then(selected_pair)
        .unwrap_or_default();
    // Say goodbye so the server forgets the peer now, not at consent loss.
    if let Some(pc) = driver.endpoint_mut().peer_mut(peer) {
        pc.close();
    }
    let _ = driver.poll(Some(Duration::ZERO));
    let holding = match (o.hold, channels.first()) {
        (0, _) | (_, None) => String::new(),
        (n, Some(first)) => format!(
            "; held {n} s with {} more echoes",
            first.echoed - o.messages
        ),
    };
    let audio = audio.map_or(String::new(), |a| {
        format!("; audio: {} RTP packets sent, {} came back", a.sent, a.back)
    });
    Ok(format!(
        "{} channels x {} messages of {} B = {total} B in {secs:.2} s ({:.1} MB/s){holding}{audio}{selected}",
        o.channels,
        o.messages,
        o.size,
        total as f64 / secs / 1e6
    ))
}

/// `--runtime tokio` and `--runtime async-std`: the same run on the shared
/// async driver (`eddy_runtime_common::Connection<R>`).
mod async_client {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::Poll;
    use std::time::{Duration, Instant};

    use eddy::{DataChannelInit, Event, PeerConnectionState};
    use eddy_examples::client;
    use eddy_runtime_common::{Connection, DataChannel, Runtime};

    use super::{configuration, fill, selected_pair, Options, WINDOW};

    pub(super) fn run_tokio(o: &Options) -> Result<String, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(o.timeout), run::<eddy_tokio::Tokio>(o))
                .await
                .unwrap_or_else(|_| Err("timed out".into()))
        })
    }

    pub(super) fn run_async_std(o: &Options) -> Result<String, String> {
        eddy_async_std::async_io::block_on(futures_lite::future::or(
            run::<eddy_async_std::AsyncIo>(o),
            async {
                eddy_async_std::async_io::Timer::after(Duration::from_secs(o.timeout)).await;
                Err("timed out".into())
            },
        ))
    }

    /// A channel's echo loop.
    type EchoFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

    /// Runs every future to its end; the first error wins.
    async fn join_all(mut futures: Vec<EchoFuture<'_>>) -> Result<(), String> {
        std::future::poll_fn(|cx| {
            let mut i = 0;
            while i < futures.len() {
                match futures[i].as_mut().poll(cx) {
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Ready(Ok(())) => drop(futures.swap_remove(i)),
                    Poll::Pending => i += 1,
                }
            }
            if futures.is_empty() {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// Sends `--messages` on channel `index`, at most `window` unanswered,
    /// and checks every echo.
    async fn echo(
        o: &Options,
        index: usize,
        mut channel: DataChannel,
        window: u64,
    ) -> Result<(), String> {
        let (mut sent, mut echoed) = (0u64, 0u64);
        let mut message = vec![0u8; o.size];
        let mut expected = vec![0u8; o.size];
        while echoed < o.messages {
            while sent < o.messages && sent - echoed < window {
                fill(&mut message, index, sent, o.text);
                let result = match std::str::from_utf8(&message) {
                    Ok(text) if o.text => channel.send_text(text).await,
                    _ => channel.send(&message).await,
                };
                result.map_err(|e| format!("echo-{index}: send {sent}: {e}"))?;
                sent += 1;
            }
            let echo = channel.recv().await.ok_or(format!(
                "echo-{index}: the channel closed before its echoes"
            ))?;
            if echo.is_text != o.text {
                return Err(format!(
                    "echo-{index}: echo {echoed} came back as the other kind"
                ));
            }
            fill(&mut expected, index, echoed, o.text);
            if echo.data != expected {
                return Err(format!(
                    "echo-{index}: echo {echoed} differs ({} bytes back, {} sent)",
                    echo.data.len(),
                    o.size
                ));
            }
            echoed += 1;
        }
        Ok(())
    }

    async fn run<R: Runtime>(o: &Options) -> Result<String, String> {
        if o.audio || o.hold > 0 || o.mdns {
            return Err("--audio, --hold and --mdns need --runtime mio".into());
        }
        if o.relay_only && o.turn.is_none() {
            return Err("--relay-only needs --turn".into());
        }
        let server = client::server_ip(&o.url)?;
        let mut builder = Connection::<R>::builder(configuration(o));
        if server.is_loopback() {
            builder = builder.ip(server);
        }
        if o.ice_tcp_only {
            builder = builder
                .ice_tcp(true)
                .tcp_only(true)
                .tcp_passive(!o.ice_tcp_active_only);
        }
        let pc = builder.build().map_err(|e| format!("cannot bind: {e}"))?;
        let mut channels = Vec::new();
        for i in 0..o.channels {
            let channel = pc
                .create_data_channel(&format!("echo-{i}"), DataChannelInit::default())
                .await
                .map_err(|e| format!("create_data_channel: {e}"))?;
            channels.push(channel);
        }
        let offer = pc
            .create_offer()
            .await
            .map_err(|e| format!("create_offer: {e}"))?;
        pc.set_local_description(offer)
            .await
            .map_err(|e| format!("set_local_description: {e}"))?;
        pc.gathering_complete().await.map_err(|e| e.to_string())?;
        let offer = pc
            .local_description()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no local description")?;
        let url = o.url.clone();
        let timeout = Duration::from_secs(o.timeout);
        // ureq blocks: on a thread of its own, so the runtime runs on.
        let (tx, rx) = async_channel::bounded(1);
        std::thread::spawn(move || {
            let _ = tx.send_blocking(client::post_offer(&url, &offer, timeout));
        });
        let answer = rx.recv().await.map_err(|e| e.to_string())??;
        pc.set_remote_description(answer)
            .await
            .map_err(|e| format!("bad answer: {e}"))?;
        let started = Instant::now();
        let window = (WINDOW / channels.len() / o.size).max(2) as u64;
        let echoes = join_all(
            channels
                .into_iter()
                .enumerate()
                .map(|(i, c)| Box::pin(echo(o, i, c, window)) as EchoFuture<'_>)
                .collect(),
        );
        let mut events = pc.events();
        let watch = async move {
            while let Some(event) = events.recv().await {
                match event {
                    Event::IceCandidateError {
                        url, code, text, ..
                    } => {
                        eprintln!("echo-client: icecandidateerror {url}: {code} {text}");
                    }
                    Event::ConnectionStateChange(
                        state @ (PeerConnectionState::Failed | PeerConnectionState::Closed),
                    ) => return Err(format!("connection {state:?}")),
                    _ => {}
                }
            }
            std::future::pending().await
        };
        futures_lite::future::or(echoes, watch).await?;
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let selected = pc
            .with(selected_pair)
            .await
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        pc.close().await;
        let total = u64::from(o.channels) * o.messages * o.size as u64;
        let runtime = match o.runtime {
            super::RuntimeKind::Tokio => "tokio",
            _ => "async-std",
        };
        Ok(format!(
            "{} channels x {} messages of {} B = {total} B in {secs:.2} s ({:.1} MB/s); runtime {runtime}{selected}",
            o.channels,
            o.messages,
            o.size,
            total as f64 / secs / 1e6
        ))
    }
}
