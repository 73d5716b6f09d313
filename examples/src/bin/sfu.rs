//! A selective forwarding unit: one browser publishes its camera as
//! simulcast (three layers by RID), every other browser views it, each
//! getting the one layer it asked for.
//!
//! `cargo run --release -p eddy-examples --bin sfu -- [--listen 127.0.0.1:8090]`
//!
//! - `GET /`: a page that publishes the camera in three layers (`q`, `h`,
//!   `f`: a quarter, half and full size) and opens two viewers, one on `q`
//!   and one on `f`, side by side.
//! - `POST /offer`: non-trickle signaling as `echo-server`'s. A publisher
//!   offers `a=simulcast:send`; a viewer offers to receive video and opens
//!   a data channel labelled `layer:<rid>` to choose its layer.
//!
//! Forwarding is raw RTP (`Event::RtpPacket`): each packet of the chosen
//! layer goes out on the viewer's sender with the viewer's payload type for
//! the same codec, the layer's own sequence numbers and timestamps; eddy
//! gives it the viewer's SSRC and protects it again. A viewer's keyframe
//! request is forwarded to the publisher, and so is a new viewer's arrival.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use clap::Parser;
use eddy::endpoint::{Endpoint, PeerId};
use eddy::{
    Direction, Event, IceGatheringState, PeerConnection, PeerConnectionState, RtpPacketReceived,
    RtpWrite, TransceiverId,
};
use eddy_examples::signaling::{self, Answerer, Limits};

/// A simulcast SFU: open the printed URL in a browser.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Address of the HTTP signaling server; ICE uses UDP on its IP.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Seconds an offer waits for its answer's candidates.
    #[arg(long, default_value_t = 10)]
    answer_timeout: u64,
}

/// Who is who: the publisher (the peer whose video arrives) and each
/// viewer's layer and sending transceiver.
#[derive(Default)]
struct Room {
    publisher: Option<(PeerId, TransceiverId)>,
    viewers: BTreeMap<PeerId, Viewer>,
}

struct Viewer {
    layer: String,
    video: Option<TransceiverId>,
}

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>eddy SFU</title>
<style>video { width: 320px; height: 180px; background: #222; margin-right: 8px; }</style>
</head>
<body>
<h1>eddy SFU</h1>
<figure style="display:inline-block"><video id="v-q" autoplay muted playsinline></video><figcaption>layer q</figcaption></figure>
<figure style="display:inline-block"><video id="v-f" autoplay muted playsinline></video><figcaption>layer f</figcaption></figure>
<pre id="log"></pre>
<script src="/signaling.js"></script>
<script>
const log = (line) => {
  document.getElementById('log').textContent += line + '\n';
  (window.__log = window.__log || []).push(line);
};
const done = (ok, detail) => { if (!window.__result) window.__result = { ok, detail }; };

async function publish() {
  const pc = new RTCPeerConnection();
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
  pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly', streams: [stream],
    sendEncodings: [{ rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 },
      { rid: 'f' }] });
  await eddyConnect(pc);
  log('publishing');
}

async function view(layer) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.createDataChannel('layer:' + layer);
  pc.ontrack = (e) => { document.getElementById('v-' + layer).srcObject = new MediaStream([e.track]); };
  await eddyConnect(pc);
  log('viewing ' + layer);
  return pc;
}

// Each viewer decodes its own layer: q at a quarter of 1280, f at 1280.
async function check(viewers) {
  const deadline = Date.now() + 30000;
  let last = '';
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const seen = {};
    for (const [layer, pc] of Object.entries(viewers)) {
      const s = [...(await pc.getStats()).values()].find((x) => x.type === 'inbound-rtp') || {};
      seen[layer] = { framesDecoded: s.framesDecoded, frameWidth: s.frameWidth };
    }
    last = JSON.stringify(seen);
    if (seen.q.framesDecoded > 30 && seen.f.framesDecoded > 30 &&
        seen.q.frameWidth === 320 && seen.f.frameWidth === 1280) {
      return done(true, 'each viewer decodes its layer: ' + last);
    }
  }
  done(false, 'viewers did not decode their layers in 30 s: ' + last);
}

(async () => {
  await publish();
  const viewers = { q: await view('q'), f: await view('f') };
  await check(viewers);
})().catch((e) => { log('error: ' + e); done(false, String(e)); });
</script>
</body></html>
"#;

fn main() -> ExitCode {
    eddy_examples::logging::init();
    let args = Args::parse();
    eddy_examples::exit("sfu", run(&args))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let pages = Router::new().route("/", get(|| async { Html(PAGE) }));
    let (mut driver, answerer) = signaling::start_with(
        "sfu",
        args.listen,
        Limits::default(),
        std::time::Duration::from_secs(args.answer_timeout),
        pages,
        Some(send_to_viewers),
    )?;
    let mut room = Room::default();
    driver.run(|ep, peer, event| on_event(ep, peer, event, &answerer, &mut room))?;
    Ok(())
}

/// Before answering: a transceiver the browser offered only to receive on
/// (a viewer's) is one the SFU sends a layer on.
fn send_to_viewers(pc: &mut PeerConnection) {
    let Some(offer) = pc.remote_description().and_then(|d| d.parse().ok()) else {
        return;
    };
    for t in pc.transceivers() {
        let Some(mut t) = pc.transceiver(t) else {
            continue;
        };
        let viewer = t
            .mid()
            .and_then(|mid| offer.media_by_mid(mid))
            .is_some_and(|(_, m)| m.direction_or_default() == Direction::RecvOnly);
        if viewer {
            if let Err(e) = t.set_direction(Direction::SendOnly) {
                tracing::warn!("cannot send to a viewer: {e}");
            }
        }
    }
}

/// Sends one packet of the publisher's layer to every viewer of it, with
/// the viewer's payload type for the same codec.
fn forward(
    ep: &mut Endpoint,
    room: &Room,
    from: PeerId,
    pub_t: TransceiverId,
    p: &RtpPacketReceived,
) {
    let Some(rid) = p.rid() else { return };
    let Some(mime) = ep
        .peer_mut(from)
        .and_then(|pc| pc.receiver(pub_t))
        .and_then(|r| {
            r.get_parameters()
                .codecs
                .into_iter()
                .find(|c| c.payload_type == p.payload_type)
        })
        .map(|c| c.mime_type)
    else {
        return;
    };
    for (&peer, v) in &room.viewers {
        let Some(t) = v.video.filter(|_| v.layer == rid) else {
            continue;
        };
        let Some(mut sender) = ep.peer_mut(peer).and_then(|pc| pc.sender(t)) else {
            continue;
        };
        let Some(pt) = sender
            .get_parameters()
            .codecs
            .into_iter()
            .find(|c| c.mime_type.eq_ignore_ascii_case(&mime))
            .map(|c| c.payload_type)
        else {
            continue;
        };
        let w =
            RtpWrite::new(pt, p.sequence_number, p.timestamp, p.payload()).with_marker(p.marker);
        if let Err(e) = sender.write_rtp(w) {
            tracing::debug!("not forwarded to {peer:?}: {e}");
        }
    }
}

/// The publisher's encoder is asked for a key frame (a new viewer, or a
/// viewer's decoder that lost one).
fn ask_publisher(ep: &mut Endpoint, room: &Room) {
    let Some((peer, t)) = room.publisher else {
        return;
    };
    if let Some(mut r) = ep.peer_mut(peer).and_then(|pc| pc.receiver(t)) {
        if let Err(e) = r.request_keyframe() {
            tracing::debug!("keyframe request not sent: {e}");
        }
    }
}

fn on_event(ep: &mut Endpoint, peer: PeerId, event: Event, answerer: &Answerer, room: &mut Room) {
    match event {
        Event::IceGatheringStateChange(IceGatheringState::Complete) => {
            answerer.gathering_complete(ep, peer);
        }
        // A viewer says which layer it wants.
        Event::DataChannel(channel) => {
            let label = ep
                .peer_mut(peer)
                .and_then(|pc| pc.data_channel(channel).map(|c| c.label().to_owned()));
            if let Some(layer) = label.as_deref().and_then(|l| l.strip_prefix("layer:")) {
                tracing::info!("peer {peer:?} views layer {layer}");
                let video = ep.peer_mut(peer).and_then(|pc| {
                    pc.transceivers().into_iter().find(|&t| {
                        pc.transceiver(t)
                            .is_some_and(|t| t.direction() == Some(Direction::SendOnly))
                    })
                });
                room.viewers.insert(
                    peer,
                    Viewer {
                        layer: layer.to_owned(),
                        video,
                    },
                );
                ask_publisher(ep, room);
            }
        }
        Event::Track { transceiver, track } => {
            tracing::info!(
                "peer {peer:?} publishes {} on {transceiver:?}",
                track.kind.as_str()
            );
            room.publisher = Some((peer, transceiver));
        }
        Event::RtpPacket {
            transceiver,
            packet,
        } if room.publisher == Some((peer, transceiver)) => {
            forward(ep, room, peer, transceiver, &packet);
        }
        Event::KeyframeRequest { .. } => ask_publisher(ep, room),
        Event::ConnectionStateChange(state) => {
            if matches!(
                state,
                PeerConnectionState::Failed | PeerConnectionState::Closed
            ) {
                answerer.forget(ep, peer);
                room.viewers.remove(&peer);
                if room.publisher.is_some_and(|(p, _)| p == peer) {
                    room.publisher = None;
                }
            }
        }
        _ => {}
    }
}
