//! A data channel echo server with non-trickle HTTP signaling.
//!
//! `cargo run --release -p eddy-examples --bin echo-server -- [--listen 127.0.0.1:8080]`
//!
//! - `GET /`: a page that opens a data channel and shows the echoes.
//! - `POST /offer` `{"type":"offer","sdp":...}`: answers
//!   `{"type":"answer","sdp":...}` with every candidate in it.
//! - `OPTIONS`: CORS preflight. Every reply allows any origin.
//!
//! Every message on every channel the browser opens comes back on that
//! channel, text as text, binary as binary. ICE uses UDP on the IP of
//! `--listen` (`0.0.0.0`: every interface).

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use eddy::endpoint::{Endpoint, PeerId};
use eddy::{
    Configuration, DtlsTransportState, Event, IceGatheringState, PeerConnection,
    PeerConnectionState, SdpType, SessionDescription,
};
use eddy_examples::http::{self, Message};
use eddy_mio::{add_host_candidates, new_peer, Driver, Handle};

/// How long `POST /offer` waits for the answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// Read and write timeout of a signaling connection.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Most signaling connections served at once; more get a 503.
const MAX_HTTP_CONNECTIONS: usize = 64;

/// What `POST /offer` gets back: the answer, or (status, reason).
type AnswerResult = Result<SessionDescription, (u16, String)>;
/// Answers waiting for their peer's ICE gathering to complete.
type Pending = Arc<Mutex<HashMap<PeerId, mpsc::Sender<AnswerResult>>>>;

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>eddy echo</title></head>
<body>
<h1>eddy echo</h1>
<form id="form"><input id="text" size="50" autofocus> <button>Send</button></form>
<pre id="log"></pre>
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
(async () => {
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') {
    await new Promise((done) => {
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') done(); };
    });
  }
  const reply = await fetch('/offer', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(pc.localDescription),
  });
  if (!reply.ok) { log('signaling failed: ' + await reply.text()); return; }
  await pc.setRemoteDescription(await reply.json());
})().catch((e) => {
  log('error: ' + e);
  if (selftest) window.__result = { ok: false, detail: String(e) };
});
</script>
</body></html>
"#;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut listen: SocketAddr = "127.0.0.1:8080".parse()?;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                let value = args.next().ok_or("--listen needs an address")?;
                listen = value
                    .parse()
                    .map_err(|e| format!("bad --listen {value:?}: {e}"))?;
            }
            _ => {
                return Err(format!(
                    "unknown argument {arg:?}; usage: echo-server [--listen IP:PORT]"
                )
                .into())
            }
        }
    }
    let listener = TcpListener::bind(listen)?;
    let bound = listener.local_addr()?;
    let mut driver = Driver::bind(&[listen.ip()])?;
    let pending: Pending = Arc::default();
    {
        let handle = driver.handle();
        let pending = pending.clone();
        std::thread::Builder::new()
            .name("http".into())
            .spawn(move || serve_http(listener, &handle, &pending))?;
    }
    let mut out = std::io::stdout();
    writeln!(out, "echo-server listening on http://{bound}/")?;
    out.flush()?;
    driver.run(|ep, peer, event| on_event(ep, peer, event, &pending))?;
    Ok(())
}

/// Reacts to one peer's event: answers pending offers, echoes messages,
/// forgets dead peers.
fn on_event(ep: &mut Endpoint, peer: PeerId, event: Event, pending: &Pending) {
    match event {
        Event::IceGatheringStateChange(IceGatheringState::Complete) => {
            let waiting = lock(pending).remove(&peer);
            if let (Some(reply), Some(pc)) = (waiting, ep.peer(peer)) {
                let _ = reply.send(local_answer(pc));
            }
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
                eprintln!("echo-server: peer {peer:?}: echo dropped: {e}");
            }
        }
        Event::ConnectionStateChange(state) => {
            eprintln!("echo-server: peer {peer:?}: {state:?}");
            if matches!(
                state,
                PeerConnectionState::Failed | PeerConnectionState::Closed
            ) {
                forget(ep, peer, pending);
            }
        }
        // The peer said goodbye (DTLS close_notify): nothing more can come.
        Event::DtlsStateChange(DtlsTransportState::Closed | DtlsTransportState::Failed) => {
            eprintln!("echo-server: peer {peer:?}: DTLS closed");
            forget(ep, peer, pending);
        }
        _ => {}
    }
}

/// Drops the peer (closing it first, so it tells the other side).
fn forget(ep: &mut Endpoint, peer: PeerId, pending: &Pending) {
    lock(pending).remove(&peer);
    if let Some(mut pc) = ep.remove_peer(peer) {
        pc.close();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The peer's answer with its candidates, once gathering is complete.
fn local_answer(pc: &PeerConnection) -> AnswerResult {
    pc.local_description()
        .cloned()
        .ok_or((500, "no local description".to_owned()))
}

/// Accepts signaling connections, one thread each.
fn serve_http(listener: TcpListener, handle: &Handle, pending: &Pending) {
    let active = Arc::new(());
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        // Each connection thread holds a clone of `active`.
        if Arc::strong_count(&active) > MAX_HTTP_CONNECTIONS {
            let _ = http::write_response(&mut stream, 503, "text/plain", b"busy\n");
            continue;
        }
        let (handle, pending, token) = (handle.clone(), pending.clone(), active.clone());
        let spawned = std::thread::Builder::new()
            .name("http-conn".into())
            .spawn(move || {
                let _token = token;
                if let Err(e) = serve_connection(&mut stream, &handle, &pending) {
                    eprintln!("echo-server: http: {e}");
                }
            });
        if let Err(e) = spawned {
            eprintln!("echo-server: http: cannot spawn: {e}");
        }
    }
}

fn serve_connection(
    stream: &mut TcpStream,
    handle: &Handle,
    pending: &Pending,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
    let request = match http::read_message(stream, false) {
        Ok(r) => r,
        Err(e) => {
            let body = format!("{}\n", e.reason);
            return http::write_response(stream, e.status, "text/plain", body.as_bytes());
        }
    };
    let (status, content_type, body) = route(&request, handle, pending);
    http::write_response(stream, status, content_type, &body)
}

fn route(request: &Message, handle: &Handle, pending: &Pending) -> (u16, &'static str, Vec<u8>) {
    let text = |status, reason: String| (status, "text/plain", format!("{reason}\n").into_bytes());
    match (request.method(), request.path()) {
        ("OPTIONS", _) => (204, "text/plain", Vec::new()),
        ("GET", "/") => (200, "text/html; charset=utf-8", PAGE.as_bytes().to_vec()),
        ("POST", "/offer") => match answer(&request.body, handle, pending) {
            Ok(answer) => match serde_json::to_vec(&answer) {
                Ok(json) => (200, "application/json", json),
                Err(e) => text(500, format!("cannot encode the answer: {e}")),
            },
            Err((status, reason)) => text(status, reason),
        },
        (_, "/" | "/offer") => text(405, format!("{} not allowed", request.method())),
        (_, path) => text(404, format!("no {path}")),
    }
}

/// Makes a peer for the offer in `body` and waits for its complete answer.
fn answer(body: &[u8], handle: &Handle, pending: &Pending) -> AnswerResult {
    let offer: SessionDescription =
        serde_json::from_slice(body).map_err(|e| (400, format!("bad offer JSON: {e}")))?;
    if offer.sdp_type != SdpType::Offer {
        return Err((400, format!("expected an offer, got {:?}", offer.sdp_type)));
    }
    let addrs = handle.host_candidates().to_vec();
    let (reply, answer) = mpsc::channel();
    let pending = pending.clone();
    handle
        .execute(move |ep, _now| {
            // The peer is made here, on the driver's thread: a
            // `PeerConnection` never crosses threads.
            let ready = (|| {
                let mut pc =
                    new_peer(Configuration::default()).map_err(|e| (500, e.to_string()))?;
                add_host_candidates(&mut pc, &addrs).map_err(|e| (500, e.to_string()))?;
                pc.set_remote_description(offer)
                    .map_err(|e| (400, format!("bad offer: {e}")))?;
                let answer = pc
                    .create_answer()
                    .map_err(|e| (400, format!("cannot answer: {e}")))?;
                pc.set_local_description(answer)
                    .map_err(|e| (500, format!("cannot apply the answer: {e}")))?;
                Ok(pc)
            })();
            match ready {
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
                Ok(pc) => {
                    let complete = pc.ice_gathering_state() == IceGatheringState::Complete;
                    let answer = complete.then(|| local_answer(&pc));
                    let peer = match ep.add_peer(pc) {
                        Ok(peer) => peer,
                        Err(e) => {
                            let _ = reply.send(Err((503, e.to_string())));
                            return;
                        }
                    };
                    match answer {
                        Some(a) => {
                            let _ = reply.send(a);
                        }
                        None => {
                            lock(&pending).insert(peer, reply);
                        }
                    }
                }
            }
        })
        .map_err(|e| (503, e.to_string()))?;
    answer
        .recv_timeout(ANSWER_TIMEOUT)
        .map_err(|_| (500, "ICE gathering did not complete".to_owned()))?
}
