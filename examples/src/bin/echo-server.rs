//! A data channel and media echo server with non-trickle HTTP signaling.
//!
//! `cargo run --release -p eddy-examples --bin echo-server -- [--listen 127.0.0.1:8080]`
//! (`--help` lists every option; `RUST_LOG=eddy=debug` shows the stack's logs)
//!
//! - `GET /`: a page that opens a data channel and shows the echoes; with
//!   the camera button (or `?media=1`) it also sends your camera and
//!   microphone and shows them back through the server beside the preview.
//! - `POST /offer` `{"type":"offer","sdp":...}`: answers
//!   `{"type":"answer","sdp":...}` with every candidate in it.
//! - `OPTIONS`: CORS preflight. Every reply allows any origin.
//!
//! Every message on every channel the browser opens comes back on that
//! channel, text as text, binary as binary. Every RTP packet of every track
//! the browser sends comes back on the same transceiver (raw RTP: eddy
//! gives it the transceiver's own SSRC and protects it again), and the
//! browser's keyframe requests are forwarded to its own sender. DTMF the
//! browser sends is reported back on its data channel as `dtmf:<tone>:<ms>`.
//! A simulcast sender's layers (RFC 8853) all arrive, each with its RID on
//! every packet; only the `--layer` one is echoed, as an SFU forwards one
//! layer to a viewer (`?simulcast=1` sends three). ICE uses UDP on the IP of
//! `--listen` (`0.0.0.0`: every interface). Signaling runs on axum with the
//! limits of [`eddy_examples::signaling::Limits`] (slow clients, big
//! bodies and connection floods are cut off).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use clap::Parser;
use eddy::endpoint::{Endpoint, PeerId};
use eddy::{
    ChannelId, Direction, DtlsTransportState, Event, IceGatheringState, PeerConnection,
    PeerConnectionState, RtpPacketReceived, RtpWrite, TransceiverId,
};
use eddy_examples::signaling::{self, Answerer, Limits};

/// A WebRTC data channel echo server: open the printed URL in a browser.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Address of the HTTP signaling server; ICE uses UDP on its IP
    /// (0.0.0.0: every interface).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Seconds an offer waits for its answer's candidates.
    #[arg(long, default_value_t = 10)]
    answer_timeout: u64,
    /// Seconds a request's head may take to arrive (slow clients are cut off).
    #[arg(long, default_value_t = 5)]
    header_timeout: u64,
    /// Seconds a request's body and answer may take (then 408).
    #[arg(long, default_value_t = 15)]
    request_timeout: u64,
    /// Most signaling connections at once (then 503).
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Most signaling connections at once from one IP address (then 503).
    #[arg(long, default_value_t = 256)]
    max_per_ip: usize,
    /// Echo media frame by frame instead of packet by packet: receivers in
    /// frame mode (`RtpReceiver::set_frame_mode`: jitter buffer, then
    /// depacketizer) give `Event::MediaFrame`, sent back with
    /// `write_frame`, packetized anew (codecs without a packetizer are
    /// echoed as packets).
    #[arg(long)]
    frames: bool,
    /// Of a simulcast sender's layers, the RID echoed (the others are
    /// received and counted, not sent back: an SFU's choice for a viewer).
    #[arg(long, default_value = "h")]
    layer: String,
}

/// Each peer's first channel (for the DTMF reports), `--frames` and
/// `--layer`.
#[derive(Default)]
struct Echo {
    channels: HashMap<PeerId, ChannelId>,
    frames: bool,
    layer: String,
}

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>eddy echo</title>
<style>video { width: 320px; height: 240px; background: #222; margin-right: 8px; }</style>
</head>
<body>
<h1>eddy echo</h1>
<form id="form"><input id="text" size="50" autofocus> <button>Send</button></form>
<p><button id="camera">Camera and microphone through the server</button></p>
<div id="videos" hidden>
  <figure style="display:inline-block"><video id="local" autoplay muted playsinline></video><figcaption>your camera</figcaption></figure>
  <figure style="display:inline-block"><video id="remote" autoplay muted playsinline></video><figcaption>back through eddy</figcaption></figure>
</div>
<pre id="log"></pre>
<script src="/signaling.js"></script>
<script>
const log = (line) => {
  document.getElementById('log').textContent += line + '\n';
  // The interop harness prints window.__log.
  (window.__log = window.__log || []).push(line);
};
window.__echoes = [];
// With ?selftest the page checks itself (the interop suite opens it so):
// once open it sends one message and reports the echo in window.__result;
// with ?media=1 as well, it also waits until the echoed camera decodes
// and the echoed microphone arrives, and reports getStats() values.
const params = new URLSearchParams(location.search);
const selftest = params.has('selftest');
const simulcast = params.get('simulcast') === '1';
const SELFTEST = 'selftest \u2713';
let pc, dc;
const done = (ok, detail) => { if (selftest && !window.__result) window.__result = { ok, detail }; };

async function mediaStats() {
  const out = {};
  for (const s of (await pc.getStats()).values()) {
    if (s.type === 'inbound-rtp') {
      out['inbound-' + s.kind] = { packetsReceived: s.packetsReceived, packetsLost: s.packetsLost,
        framesDecoded: s.framesDecoded, nackCount: s.nackCount, jitter: s.jitter };
    }
    if (s.type === 'outbound-rtp') {
      out['outbound-' + s.kind] = { packetsSent: s.packetsSent, nackCount: s.nackCount,
        pliCount: s.pliCount, retransmittedPacketsSent: s.retransmittedPacketsSent };
    }
  }
  return out;
}

async function checkMedia() {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const st = await mediaStats();
    const v = st['inbound-video'], a = st['inbound-audio'];
    if (v && a && v.framesDecoded > 30 && a.packetsReceived > 50) {
      await new Promise((r) => setTimeout(r, 2000));
      const final = await mediaStats();
      log('stats: ' + JSON.stringify(final));
      const nacks = (final['outbound-video'] || {}).nackCount || 0;
      const sent = (final['outbound-video'] || {}).packetsSent || 1;
      if (nacks > sent / 10) return done(false, 'NACK storm: ' + JSON.stringify(final));
      return checkDtmf(final);
    }
  }
  done(false, 'echoed media did not decode in 30 s: ' + JSON.stringify(await mediaStats()));
}

// Simulcast: Chromium's three layers each reach eddy (three inbound-rtp
// video streams in eddy's getStats, each with packets), and the one layer
// echoed decodes here at its own size.
async function checkSimulcast() {
  const deadline = Date.now() + 30000;
  let last = '';
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const eddy = Object.values(await fetch('/stats').then((r) => r.json()))[0] || {};
    const layers = Object.values(eddy).filter((s) => s.type === 'inbound-rtp' && s.kind === 'video');
    const mine = [...(await pc.getStats()).values()];
    const sent = mine.filter((s) => s.type === 'outbound-rtp' && s.kind === 'video')
      .map((s) => ({ rid: s.rid, packetsSent: s.packetsSent, frameWidth: s.frameWidth }));
    const back = mine.find((s) => s.type === 'inbound-rtp' && s.kind === 'video') || {};
    last = JSON.stringify({ eddyInbound: layers.map((s) => ({ ssrc: s.ssrc, packetsReceived: s.packetsReceived })),
      chromiumSent: sent, echoed: { framesDecoded: back.framesDecoded, frameWidth: back.frameWidth } });
    const arriving = layers.filter((s) => s.packetsReceived > 50).length;
    if (arriving >= 3 && back.framesDecoded > 30) {
      log('simulcast: ' + last);
      if (back.frameWidth !== 640) return done(false, 'echoed layer is not h (640 wide): ' + last);
      return done(true, 'three simulcast layers reached eddy, layer h echoed and decoded: ' + last);
    }
  }
  done(false, 'simulcast layers did not all arrive in 30 s: ' + last);
}

// Chromium's DTMF sender plays "123#"; echo-server reports each tone it
// decoded on the channel as dtmf:<tone>:<ms>.
const dtmfReports = [];
async function checkDtmf(stats) {
  const sender = pc.getSenders().find((s) => s.track && s.track.kind === 'audio');
  sender.dtmf.insertDTMF('123#', 100, 70);
  const deadline = Date.now() + 5000;
  while (dtmfReports.length < 4 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const tones = dtmfReports.map((r) => r.tone).join('');
  // The RFC 4733 duration on the wire: Chromium's end packet counts the
  // 20 ms audio frame in which the tone ended (100 ms tones say 120 ms).
  const bad = dtmfReports.filter((r) => r.ms < 100 || r.ms > 125);
  log('dtmf reports: ' + JSON.stringify(dtmfReports));
  if (tones !== '123#' || bad.length) {
    return done(false, 'DTMF: echo-server heard ' + JSON.stringify(dtmfReports));
  }
  compareStats('media echoed through echo-server: ' + JSON.stringify(stats) +
    '; DTMF 123# heard by echo-server: ' + JSON.stringify(dtmfReports));
}

// Fields of Chromium's report that eddy does not have, each with why.
// Anything else Chromium reports for an object eddy also reports must be in
// eddy's report too (the interop case fails otherwise).
// - capture, encoding, decoding and playout: eddy never touches pixels or
//   samples (the application does), so media-source, media-playout and the
//   frame, sample, codec-implementation and jitter-buffer fields are the
//   browser's alone;
const DECODE = ['audioLevel', 'concealedSamples', 'concealmentEvents',
  'insertedSamplesForDeceleration', 'jitterBufferDelay', 'jitterBufferEmittedCount',
  'jitterBufferMinimumDelay', 'jitterBufferTargetDelay', 'playoutId',
  'removedSamplesForAcceleration', 'silentConcealedSamples', 'totalAudioEnergy',
  'totalProcessingDelay', 'totalSamplesDuration', 'totalSamplesReceived',
  'decoderImplementation', 'frameHeight', 'frameWidth', 'framesDecoded', 'framesDropped',
  'framesPerSecond', 'freezeCount', 'keyFramesDecoded', 'pauseCount', 'powerEfficientDecoder',
  'qpSum', 'totalAssemblyTime', 'totalDecodeTime', 'totalFreezesDuration',
  'totalInterFrameDelay', 'totalPausesDuration', 'totalSquaredInterFrameDelay'];
const ENCODE = ['mediaSourceId', 'encoderImplementation', 'frameHeight', 'frameWidth',
  'framesEncoded', 'framesPerSecond', 'framesSent', 'hugeFramesSent', 'keyFramesEncoded',
  'powerEfficientEncoder', 'qpSum', 'qualityLimitationDurations', 'qualityLimitationReason',
  'qualityLimitationResolutionChanges', 'scalabilityMode', 'totalEncodeTime',
  'totalEncodedBytesTarget'];
// - not built yet in eddy (listed as missing in the README): frames from
//   packets (media II), FEC, congestion control and pacing, RTCP XR RTT
//   from the receiver's side, ECN marks (no runtime reads them), the DTLS
//   cipher name (dimpl does not report it), per-pair RTT totals and send
//   timestamps, discards on send (eddy returns send errors instead);
const NOT_YET = {
  'inbound-rtp': ['framesReceived', 'framesAssembledFromMultiplePackets', 'fecPacketsDiscarded',
    'fecPacketsReceived', 'packetsReceivedWithCe', 'packetsReceivedWithEct1'],
  'outbound-rtp': ['targetBitrate', 'totalPacketSendDelay', 'packetsSentWithEct1'],
  'remote-outbound-rtp': ['roundTripTimeMeasurements', 'totalRoundTripTime'],
  'candidate-pair': ['totalRoundTripTime', 'lastPacketSentTimestamp',
    'bytesDiscardedOnSend', 'packetsDiscardedOnSend'],
  'transport': ['dtlsCipher'],
  // - Chromium's own: networkType (deprecated, non-standard); tcpType only
  //   on TCP candidates, which echo-server does not gather.
  'local-candidate': ['networkType', 'tcpType'],
};
const BROWSER_ONLY_TYPES = ['media-source', 'media-playout'];
const BROWSER_ONLY = {
  'inbound-rtp': DECODE.concat(NOT_YET['inbound-rtp']),
  'outbound-rtp': ENCODE.concat(NOT_YET['outbound-rtp']),
  'remote-outbound-rtp': NOT_YET['remote-outbound-rtp'],
  'candidate-pair': NOT_YET['candidate-pair'],
  'transport': NOT_YET.transport,
  'local-candidate': NOT_YET['local-candidate'],
};

// Chromium's and eddy's reports at the same moment: the counters agree
// (within what is in flight), RTT within 10 ms, and eddy has every field
// Chromium has but the browser-only ones.
async function compareStats(summary) {
  const [mine, theirs] = await Promise.all([pc.getStats(), fetch('/stats').then((r) => r.json())]);
  const eddy = Object.values(theirs)[0] || {};
  const chrome = {};
  mine.forEach((s) => { chrome[s.id] = s; });
  log('chromium stats: ' + JSON.stringify(chrome));
  log('eddy stats: ' + JSON.stringify(eddy));
  const fields = (report) => {
    const m = {};
    for (const s of Object.values(report)) {
      m[s.type] = m[s.type] || new Set();
      Object.keys(s).forEach((k) => m[s.type].add(k));
    }
    return m;
  };
  const cf = fields(chrome), ef = fields(eddy);
  const missing = [];
  for (const [type, set] of Object.entries(cf)) {
    if (BROWSER_ONLY_TYPES.includes(type)) continue;
    if (!ef[type]) { missing.push(type); continue; }
    for (const f of set) {
      if (!ef[type].has(f) && !(BROWSER_ONLY[type] || []).includes(f)) missing.push(type + '.' + f);
    }
  }
  log('missing from eddy: ' + JSON.stringify(missing));
  const one = (report, type, kind) =>
    Object.values(report).find((s) => s.type === type && (!kind || s.kind === kind));
  const problems = [];
  for (const kind of ['audio', 'video']) {
    const sent = one(chrome, 'outbound-rtp', kind), got = one(eddy, 'inbound-rtp', kind);
    if (!sent || !got) { problems.push('no ' + kind + ' streams to compare'); continue; }
    if (Math.abs(sent.packetsSent - got.packetsReceived) > 50) {
      problems.push(kind + ': chromium sent ' + sent.packetsSent + ', eddy received ' + got.packetsReceived);
    }
    if (Math.abs(sent.bytesSent - got.bytesReceived) > 50 * 1200) {
      problems.push(kind + ': chromium sent ' + sent.bytesSent + ' B, eddy received ' + got.bytesReceived);
    }
  }
  const rtt = (report) => (one(report, 'remote-inbound-rtp', 'video') || {}).roundTripTime;
  if (rtt(eddy) === undefined || rtt(chrome) === undefined ||
      Math.abs(rtt(eddy) - rtt(chrome)) > 0.010) {
    problems.push('RTT: chromium ' + rtt(chrome) + ' s, eddy ' + rtt(eddy) + ' s');
  }
  const cdc = one(chrome, 'data-channel'), edc = one(eddy, 'data-channel');
  if (!cdc || !edc || cdc.messagesSent !== edc.messagesReceived || cdc.messagesReceived !== edc.messagesSent) {
    problems.push('data channel: chromium ' + JSON.stringify(cdc) + ', eddy ' + JSON.stringify(edc));
  }
  if (missing.length) problems.push('fields missing from eddy: ' + missing.join(', '));
  if (problems.length) return done(false, problems.join('; '));
  done(true, summary + '; stats agree (eddy ' + Object.keys(eddy).length + ' objects)');
}

async function connect(withMedia) {
  if (pc) pc.close();
  pc = new RTCPeerConnection();
  dc = pc.createDataChannel('echo');
  dc.binaryType = 'arraybuffer';
  dc.onopen = () => {
    log('channel open');
    if (selftest) { dc.send(SELFTEST); log('sent: ' + SELFTEST); }
  };
  dc.onclose = () => log('channel closed');
  dc.onmessage = (e) => {
    const text = typeof e.data === 'string' ? e.data : '[' + e.data.byteLength + ' bytes]';
    if (text.startsWith('dtmf:')) {
      const [, tone, ms] = text.split(':');
      dtmfReports.push({ tone, ms: Number(ms) });
      log('echo-server heard DTMF ' + tone + ' (' + ms + ' ms)');
      return;
    }
    window.__echoes.push(text);
    log('echo: ' + text);
    if (!selftest) return;
    if (text !== SELFTEST) return done(false, 'unexpected echo: ' + text);
    if (simulcast) checkSimulcast();
    else if (withMedia) checkMedia(); else done(true, 'the page echoed through echo-server');
  };
  pc.onconnectionstatechange = () => log('connection: ' + pc.connectionState);
  if (simulcast) {
    // Three layers of a 1280x720 camera (RFC 8853); echo-server sends back
    // the "h" one (640x360).
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
    pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendrecv', streams: [stream],
      sendEncodings: [{ rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 },
        { rid: 'f' }] });
    document.getElementById('local').srcObject = stream;
    const back = new MediaStream();
    document.getElementById('remote').srcObject = back;
    pc.ontrack = (e) => { back.addTrack(e.track); log('track back: ' + e.track.kind); };
    document.getElementById('videos').hidden = false;
  } else if (withMedia) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
    document.getElementById('local').srcObject = stream;
    const back = new MediaStream();
    document.getElementById('remote').srcObject = back;
    pc.ontrack = (e) => { back.addTrack(e.track); log('track back: ' + e.track.kind); };
    document.getElementById('videos').hidden = false;
  }
  await eddyConnect(pc);
}

document.getElementById('form').onsubmit = (e) => {
  e.preventDefault();
  const input = document.getElementById('text');
  if (!dc || dc.readyState !== 'open') { log('channel not open'); return; }
  dc.send(input.value);
  log('sent: ' + input.value);
  input.value = '';
};
const start = (withMedia) => connect(withMedia).catch((e) => { log('error: ' + e); done(false, String(e)); });
document.getElementById('camera').onclick = () => start(true);
start(params.get('media') === '1' || simulcast);
</script>
</body></html>
"#;

fn main() -> ExitCode {
    eddy_examples::logging::init();
    let args = Args::parse();
    eddy_examples::exit("echo-server", run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let limits = Limits {
        header_timeout: Duration::from_secs(args.header_timeout),
        request_timeout: Duration::from_secs(args.request_timeout),
        max_connections: args.max_connections,
        max_per_ip: args.max_per_ip,
        ..Limits::default()
    };
    let pages = Router::new().route("/", get(|| async { Html(PAGE) }));
    let answer_timeout = Duration::from_secs(args.answer_timeout);
    let (mut driver, answerer) = signaling::start_with(
        "echo-server",
        args.listen,
        limits,
        answer_timeout,
        pages,
        Some(send_back),
    )?;
    let mut echo = Echo {
        frames: args.frames,
        layer: args.layer.clone(),
        ..Echo::default()
    };
    driver.run(|ep, peer, event| on_event(ep, peer, event, &answerer, &mut echo))?;
    Ok(())
}

/// Before answering: every transceiver the offer made sends too, so each
/// track can come back on the transceiver it arrived on.
fn send_back(pc: &mut PeerConnection) {
    for t in pc.transceivers() {
        if let Some(mut t) = pc.transceiver(t) {
            if let Err(e) = t.set_direction(Direction::SendRecv) {
                tracing::warn!("cannot send back on a transceiver: {e}");
            }
        }
    }
}

/// Sends a received packet back on the same transceiver: same payload type
/// (both directions of one m-line share the negotiated table), sequence
/// number, timestamp, marker, CSRCs and audio level; eddy sets the
/// transceiver's own SSRC.
fn echo_rtp(pc: &mut PeerConnection, t: TransceiverId, p: &RtpPacketReceived) {
    let Some(mut sender) = pc.sender(t) else {
        return;
    };
    let csrcs: Vec<u32> = p.csrcs().collect();
    let mut w = RtpWrite::new(p.payload_type, p.sequence_number, p.timestamp, p.payload())
        .with_marker(p.marker)
        .with_csrcs(&csrcs);
    if let Some(level) = p.audio_level {
        w = w.with_audio_level(level);
    }
    if let Err(e) = sender.write_rtp(w) {
        tracing::debug!("RTP not echoed: {e}");
    }
}

/// Reacts to one peer's event: answers pending offers, echoes messages and
/// media, forwards keyframe requests, forgets dead peers.
fn on_event(ep: &mut Endpoint, peer: PeerId, event: Event, answerer: &Answerer, echo: &mut Echo) {
    let channels = &mut echo.channels;
    match event {
        Event::DataChannel(channel) => {
            channels.entry(peer).or_insert(channel);
        }
        Event::IceGatheringStateChange(IceGatheringState::Complete) => {
            answerer.gathering_complete(ep, peer);
        }
        Event::ChannelMessage(channel, message) => {
            let Some(pc) = ep.peer_mut(peer) else { return };
            let Some(mut dc) = pc.data_channel(channel) else {
                return;
            };
            let sent = match std::str::from_utf8(&message.data) {
                Ok(text) if message.is_text => dc.send_text(text),
                _ => dc.send(&message.data),
            };
            if let Err(e) = sent {
                tracing::warn!("peer {peer:?}: echo dropped: {e}");
            }
        }
        Event::RtpPacket {
            transceiver,
            packet,
        } => {
            // One layer of a simulcast sender goes back.
            if packet.rid().is_some_and(|rid| rid != echo.layer) {
                return;
            }
            if let Some(pc) = ep.peer_mut(peer) {
                echo_rtp(pc, transceiver, &packet);
            }
        }
        Event::MediaFrame { transceiver, frame } => {
            if frame.rid.as_ref().is_some_and(|rid| *rid != echo.layer) {
                return;
            }
            let Some(mut sender) = ep.peer_mut(peer).and_then(|pc| pc.sender(transceiver)) else {
                return;
            };
            let f = &frame.frame;
            if let Err(e) = sender.write_frame(frame.payload_type, f.timestamp, &f.data) {
                tracing::debug!("frame not echoed: {e}");
            }
        }
        // Tell the page which tones arrived, on its channel.
        Event::DtmfReceived { tone, duration, .. } => {
            tracing::info!("peer {peer:?}: DTMF {tone} for {duration:?}");
            let (Some(pc), Some(&channel)) = (ep.peer_mut(peer), channels.get(&peer)) else {
                return;
            };
            if let Some(mut dc) = pc.data_channel(channel) {
                let text = format!("dtmf:{tone}:{}", duration.as_millis());
                if let Err(e) = dc.send_text(&text) {
                    tracing::debug!("DTMF report dropped: {e}");
                }
            }
        }
        Event::Track { transceiver, track } => {
            if echo.frames {
                if let Some(mut r) = ep.peer_mut(peer).and_then(|pc| pc.receiver(transceiver)) {
                    r.set_frame_mode(true);
                }
            }
            tracing::info!(
                "peer {peer:?}: {} track on {transceiver:?}",
                track.kind.as_str()
            );
        }
        // The browser's receiver wants a keyframe of what we echo: only its
        // own sender can make one.
        Event::KeyframeRequest { transceiver, .. } => {
            let Some(pc) = ep.peer_mut(peer) else { return };
            if let Some(mut r) = pc.receiver(transceiver) {
                if let Err(e) = r.request_keyframe() {
                    tracing::debug!("keyframe request not forwarded: {e}");
                }
            }
        }
        Event::ConnectionStateChange(state) => {
            tracing::info!("peer {peer:?}: {state:?}");
            if matches!(
                state,
                PeerConnectionState::Failed | PeerConnectionState::Closed
            ) {
                answerer.forget(ep, peer);
                channels.remove(&peer);
            }
        }
        // The peer said goodbye (DTLS close_notify): nothing more can come.
        Event::DtlsStateChange(DtlsTransportState::Closed | DtlsTransportState::Failed) => {
            tracing::info!("peer {peer:?}: DTLS closed");
            answerer.forget(ep, peer);
            channels.remove(&peer);
        }
        _ => {}
    }
}
