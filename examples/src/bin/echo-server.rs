//! A data channel echo server with non-trickle HTTP signaling.
//!
//! `cargo run --release -p eddy-examples --bin echo-server -- [--listen 127.0.0.1:8080]`
//! (`--help` lists every option; `RUST_LOG=eddy=debug` shows the stack's logs)
//!
//! - `GET /`: a page that opens a data channel and shows the echoes.
//! - `POST /offer` `{"type":"offer","sdp":...}`: answers
//!   `{"type":"answer","sdp":...}` with every candidate in it.
//! - `OPTIONS`: CORS preflight. Every reply allows any origin.
//!
//! Every message on every channel the browser opens comes back on that
//! channel, text as text, binary as binary. ICE uses UDP on the IP of
//! `--listen` (`0.0.0.0`: every interface). Signaling runs on axum with the
//! limits of [`eddy_examples::signaling::Limits`] (slow clients, big
//! bodies and connection floods are cut off).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use clap::Parser;
use eddy::endpoint::{Endpoint, PeerId};
use eddy::{DtlsTransportState, Event, IceGatheringState, PeerConnectionState};
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
}

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>eddy echo</title></head>
<body>
<h1>eddy echo</h1>
<form id="form"><input id="text" size="50" autofocus> <button>Send</button></form>
<pre id="log"></pre>
<script src="/signaling.js"></script>
<script>
const log = (line) => { document.getElementById('log').textContent += line + '\n'; };
window.__echoes = [];
// With ?selftest the page checks itself (the interop suite opens it so):
// once open it sends one message and reports the echo in window.__result.
const selftest = new URLSearchParams(location.search).has('selftest');
const SELFTEST = 'selftest \u2713';
const pc = new RTCPeerConnection();
const dc = pc.createDataChannel('echo');
dc.binaryType = 'arraybuffer';
dc.onopen = () => {
  log('channel open');
  if (selftest) { dc.send(SELFTEST); log('sent: ' + SELFTEST); }
};
dc.onclose = () => log('channel closed');
dc.onmessage = (e) => {
  const text = typeof e.data === 'string' ? e.data : '[' + e.data.byteLength + ' bytes]';
  window.__echoes.push(text);
  log('echo: ' + text);
  if (selftest) {
    window.__result = text === SELFTEST
      ? { ok: true, detail: 'the page echoed through echo-server' }
      : { ok: false, detail: 'unexpected echo: ' + text };
  }
};
pc.onconnectionstatechange = () => log('connection: ' + pc.connectionState);
document.getElementById('form').onsubmit = (e) => {
  e.preventDefault();
  const input = document.getElementById('text');
  if (dc.readyState !== 'open') { log('channel not open'); return; }
  dc.send(input.value);
  log('sent: ' + input.value);
  input.value = '';
};
eddyConnect(pc).catch((e) => {
  log('error: ' + e);
  if (selftest) window.__result = { ok: false, detail: String(e) };
});
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
    let (mut driver, answerer) =
        signaling::start("echo-server", args.listen, limits, answer_timeout, pages)?;
    driver.run(|ep, peer, event| on_event(ep, peer, event, &answerer))?;
    Ok(())
}

/// Reacts to one peer's event: answers pending offers, echoes messages,
/// forgets dead peers.
fn on_event(ep: &mut Endpoint, peer: PeerId, event: Event, answerer: &Answerer) {
    match event {
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
        Event::ConnectionStateChange(state) => {
            tracing::info!("peer {peer:?}: {state:?}");
            if matches!(
                state,
                PeerConnectionState::Failed | PeerConnectionState::Closed
            ) {
                answerer.forget(ep, peer);
            }
        }
        // The peer said goodbye (DTLS close_notify): nothing more can come.
        Event::DtlsStateChange(DtlsTransportState::Closed | DtlsTransportState::Failed) => {
            tracing::info!("peer {peer:?}: DTLS closed");
            answerer.forget(ep, peer);
        }
        _ => {}
    }
}
