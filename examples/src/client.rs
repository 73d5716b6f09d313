//! The HTTP side of the example clients, on ureq: any valid HTTP/1.1
//! response works (chunked or sized bodies, keep-alive or not), and an
//! error status comes back with the server's reason.
//!
//! Also the steps both clients take with their `eddy_mio` driver: bind
//! for a server, offer and apply the answer, step until a deadline.
//!
//! Why ureq: a blocking client fits these programs (one request, then the
//! event loop), it is maintained, and it needs no async runtime.

use std::net::{IpAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use eddy::endpoint::PeerId;
use eddy::{IceGatheringState, PeerConnection, SdpType, SessionDescription};
use eddy_mio::Driver;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Largest answer accepted (an SDP answer is a few kilobytes).
const MAX_ANSWER: u64 = 1024 * 1024;

/// The IP address `url`'s host resolves to (the first one).
pub fn server_ip(url: &str) -> Result<IpAddr, String> {
    let uri: ureq::http::Uri = url.parse().map_err(|e| format!("bad URL {url:?}: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("{url}: only http:// URLs are supported"));
    }
    let host = uri.host().ok_or(format!("{url}: no host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .map(|a| a.ip())
        .ok_or(format!("{host} has no address"))
}

/// POSTs `offer` as JSON to `url` and returns the server's answer; the
/// whole exchange must be over within `timeout`.
pub fn post_offer(
    url: &str,
    offer: &SessionDescription,
    timeout: Duration,
) -> Result<SessionDescription, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let body = serde_json::to_vec(offer).map_err(|e| e.to_string())?;
    let mut reply = agent
        .post(url)
        .header("content-type", "application/json")
        .send(&body[..])
        .map_err(|e| format!("POST {url}: {e}"))?;
    let status = reply.status();
    let body = reply
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER)
        .read_to_vec()
        .map_err(|e| format!("POST {url}: reading the reply: {e}"))?;
    if status != 200 {
        return Err(format!(
            "POST {url}: status {}: {}",
            status.as_u16(),
            String::from_utf8_lossy(&body).trim()
        ));
    }
    let answer: SessionDescription =
        serde_json::from_slice(&body).map_err(|e| format!("bad answer JSON: {e}"))?;
    if answer.sdp_type != SdpType::Answer {
        return Err(format!("expected an answer, got {:?}", answer.sdp_type));
    }
    Ok(answer)
}

/// A driver for talking to the server at `url`: on the server's IP only
/// when it is a loopback address (ICE stays on loopback), else on every
/// interface.
pub fn driver_for(url: &str) -> Result<Driver, String> {
    driver_builder_for(url)?
        .build()
        .map_err(|e| format!("cannot bind: {e}"))
}

/// The [`eddy_mio::Builder`] of [`driver_for`], for more options.
pub fn driver_builder_for(url: &str) -> Result<eddy_mio::Builder, String> {
    let server = server_ip(url)?;
    let builder = eddy_mio::Builder::default();
    Ok(if server.is_loopback() {
        builder.ip(server)
    } else {
        builder
    })
}

/// Offers `pc` (its channels made) to the server at `url`, non-trickle:
/// waits for every local candidate, POSTs the offer, applies the answer.
/// The connection then comes up as the driver is polled.
pub fn connect(
    driver: &mut Driver,
    mut pc: PeerConnection,
    url: &str,
    deadline: Instant,
) -> Result<PeerId, String> {
    let offer = pc
        .create_offer()
        .map_err(|e| format!("create_offer: {e}"))?;
    pc.set_local_description(offer)
        .map_err(|e| format!("set_local_description: {e}"))?;
    let peer = driver
        .add_peer(pc)
        .map_err(|e| format!("add candidates: {e}"))?;
    let gathering = |driver: &Driver| {
        driver
            .endpoint()
            .peer(peer)
            .map(PeerConnection::ice_gathering_state)
            .ok_or("peer gone")
    };
    while gathering(driver)? != IceGatheringState::Complete {
        step(driver, deadline, "ICE gathering")?;
        while driver.poll_event().is_some() {}
    }
    let offer = driver
        .endpoint()
        .peer(peer)
        .and_then(|pc| pc.local_description().cloned())
        .ok_or("no local description")?;
    let left = deadline.saturating_duration_since(Instant::now());
    let answer = post_offer(url, &offer, left.max(Duration::from_millis(1)))?;
    driver
        .endpoint_mut()
        .peer_mut(peer)
        .ok_or("peer gone")?
        .set_remote_description(answer)
        .map_err(|e| format!("bad answer: {e}"))?;
    Ok(peer)
}

/// One driver step (at most 100 ms), failing once `deadline` has passed.
pub fn step(driver: &mut Driver, deadline: Instant, waiting_for: &str) -> Result<(), String> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(format!("timed out waiting for {waiting_for}"));
    }
    driver
        .poll(Some(left.min(Duration::from_millis(100))))
        .map_err(|e| format!("poll: {e}"))
}

/// A progress bar to `total` on stderr with indicatif's `template`; it
/// draws only when stderr is a terminal, never when `quiet`.
pub fn progress_bar(quiet: bool, total: u64, template: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
