//! Measures data channel echo throughput against `echo-server`.
//!
//! `cargo run --release -p eddy-examples --bin echo-client -- --url http://127.0.0.1:8080/offer
//! [--messages N] [--size BYTES] [--channels K] [--timeout SECS] [--text]`
//!
//! Opens K channels (`echo-0`, `echo-1`, ...), offers them to the server
//! (non-trickle: the offer carries every candidate), sends N binary messages
//! of SIZE bytes on each (text messages with `--text`), at most a window in
//! flight, and checks every echo (content, order, and text or binary). Prints one line, `echo-client: OK ...` (exit 0) or
//! `echo-client: FAIL <reason>` (exit 1).

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use eddy::endpoint::PeerId;
use eddy::{
    ChannelId, Configuration, DataChannelInit, DataChannelState, Event, IceGatheringState,
    PeerConnectionState, SdpType, SessionDescription,
};
use eddy_examples::http::{self, Url};
use eddy_mio::{new_peer, Driver};

/// Bytes in flight (sent, not yet echoed) over all channels. Well under
/// the server's send buffer, so an echo is never refused for room.
const WINDOW: usize = 4 * 1024 * 1024;
/// Bytes of sequence header at the start of every message: the number in
/// big-endian binary, or in 16 hex digits for text.
const HEADER: usize = 8;
const TEXT_HEADER: usize = 16;

struct Options {
    url: Url,
    messages: u64,
    size: usize,
    channels: usize,
    timeout: Duration,
    text: bool,
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("echo-client: {e}");
            eprintln!(
                "usage: echo-client --url http://HOST:PORT/offer [--messages N] [--size BYTES] \
                 [--channels K] [--timeout SECS] [--text]"
            );
            return ExitCode::from(2);
        }
    };
    match run(&options) {
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

fn parse_args() -> Result<Options, String> {
    let mut url = None;
    let mut text = false;
    let (mut messages, mut size, mut channels, mut timeout) = (100u64, 1000usize, 1usize, 60u64);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|_| format!("bad number {v:?}"));
        match arg.as_str() {
            "--url" => url = Some(Url::parse(&value()?)?),
            "--messages" => messages = number(value()?)?,
            "--size" => size = number(value()?)? as usize,
            "--channels" => channels = number(value()?)? as usize,
            "--timeout" => timeout = number(value()?)?,
            "--text" => text = true,
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    let header = if text { TEXT_HEADER } else { HEADER };
    if size < header {
        return Err(format!("--size must be at least {header}"));
    }
    if !(1..=1024).contains(&channels) {
        return Err("--channels must be 1..=1024".into());
    }
    Ok(Options {
        url: url.ok_or("--url is required")?,
        messages,
        size,
        channels,
        timeout: Duration::from_secs(timeout),
        text,
    })
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
    sent: u64,
    echoed: u64,
}

fn run(o: &Options) -> Result<String, String> {
    let deadline = Instant::now() + o.timeout;
    let server = o
        .url
        .socket_addr()
        .map_err(|e| format!("cannot resolve {}: {e}", o.url.host))?;
    // Loopback server: ICE on that loopback IP only; otherwise everywhere.
    let ips: Vec<IpAddr> = if server.ip().is_loopback() {
        vec![server.ip()]
    } else {
        Vec::new()
    };
    let mut driver = Driver::bind(&ips).map_err(|e| format!("cannot bind: {e}"))?;

    let mut pc = new_peer(Configuration::default()).map_err(|e| e.to_string())?;
    let mut channels = Vec::with_capacity(o.channels);
    for i in 0..o.channels {
        let id = pc
            .create_data_channel(&format!("echo-{i}"), &DataChannelInit::default())
            .map_err(|e| format!("create_data_channel: {e}"))?;
        channels.push(Channel {
            id,
            open: false,
            sent: 0,
            echoed: 0,
        });
    }
    let offer = pc
        .create_offer()
        .map_err(|e| format!("create_offer: {e}"))?;
    pc.set_local_description(offer)
        .map_err(|e| format!("set_local_description: {e}"))?;
    let peer = driver
        .add_peer(pc)
        .map_err(|e| format!("add candidates: {e}"))?;

    // Non-trickle: wait until the offer has every candidate.
    while gathering(&driver, peer)? != IceGatheringState::Complete {
        step(&mut driver, deadline, "ICE gathering")?;
        while driver.poll_event().is_some() {}
    }
    let offer = driver
        .endpoint()
        .peer(peer)
        .and_then(|pc| pc.local_description().cloned())
        .ok_or("no local description")?;
    let answer = signal(o, &offer, deadline)?;
    driver
        .endpoint_mut()
        .peer_mut(peer)
        .ok_or("peer gone")?
        .set_remote_description(answer)
        .map_err(|e| format!("bad answer: {e}"))?;

    let mut started: Option<Instant> = None;
    let mut message = vec![0u8; o.size];
    let mut expected = vec![0u8; o.size];
    let window = (WINDOW / o.channels / o.size).max(2) as u64;
    loop {
        step(&mut driver, deadline, "the echoes")?;
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
                    if c.echoed > c.sent {
                        return Err(format!("echo-{index}: more echoes than messages"));
                    }
                }
                Event::ConnectionStateChange(
                    state @ (PeerConnectionState::Failed | PeerConnectionState::Closed),
                ) => return Err(format!("connection {state:?}")),
                Event::ChannelClose(id) | Event::ChannelClosing(id)
                    if channels.iter().any(|c| c.id == id && c.echoed < o.messages) =>
                {
                    return Err("a channel closed before its echoes".into());
                }
                _ => {}
            }
        }
        if channels.iter().all(|c| c.echoed == o.messages) {
            break;
        }
        let pc = driver.endpoint_mut().peer_mut(peer).ok_or("peer gone")?;
        for (index, c) in channels.iter_mut().enumerate() {
            let Some(mut dc) = pc.data_channel(c.id) else {
                return Err(format!("echo-{index}: channel gone"));
            };
            if !c.open || dc.ready_state() != DataChannelState::Open {
                continue;
            }
            let room = window as usize * o.size;
            while c.sent < o.messages
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
    let secs = started
        .map_or(Duration::ZERO, |t| t.elapsed())
        .as_secs_f64()
        .max(1e-9);
    let total = o.channels as u64 * o.messages * o.size as u64;
    // Say goodbye so the server forgets the peer now, not at consent loss.
    if let Some(pc) = driver.endpoint_mut().peer_mut(peer) {
        pc.close();
    }
    let _ = driver.poll(Some(Duration::ZERO));
    Ok(format!(
        "{} channels x {} messages of {} B = {total} B in {secs:.2} s ({:.1} MB/s)",
        o.channels,
        o.messages,
        o.size,
        total as f64 / secs / 1e6
    ))
}

fn gathering(driver: &Driver, peer: PeerId) -> Result<IceGatheringState, String> {
    Ok(driver
        .endpoint()
        .peer(peer)
        .ok_or("peer gone")?
        .ice_gathering_state())
}

/// One driver step, bounded by the overall deadline.
fn step(driver: &mut Driver, deadline: Instant, waiting_for: &str) -> Result<(), String> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(format!("timed out waiting for {waiting_for}"));
    }
    driver
        .poll(Some(left.min(Duration::from_millis(100))))
        .map_err(|e| format!("poll: {e}"))
}

/// POSTs the offer, returns the server's answer.
fn signal(
    o: &Options,
    offer: &SessionDescription,
    deadline: Instant,
) -> Result<SessionDescription, String> {
    let body = serde_json::to_vec(offer).map_err(|e| e.to_string())?;
    let left = deadline.saturating_duration_since(Instant::now());
    let reply = http::request(
        &o.url,
        "POST",
        Some("application/json"),
        &body,
        left.max(Duration::from_millis(1)),
    )
    .map_err(|e| format!("POST {}: {e}", o.url.path))?;
    if reply.status() != Some(200) {
        return Err(format!(
            "POST {}: status {:?}: {}",
            o.url.path,
            reply.status(),
            String::from_utf8_lossy(&reply.body).trim()
        ));
    }
    let answer: SessionDescription =
        serde_json::from_slice(&reply.body).map_err(|e| format!("bad answer JSON: {e}"))?;
    if answer.sdp_type != SdpType::Answer {
        return Err(format!("expected an answer, got {:?}", answer.sdp_type));
    }
    Ok(answer)
}
