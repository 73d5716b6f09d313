//! The HTTP side of the example clients, on ureq: any valid HTTP/1.1
//! response works (chunked or sized bodies, keep-alive or not), and an
//! error status comes back with the server's reason.
//!
//! Why ureq: a blocking client fits these programs (one request, then the
//! event loop), it is maintained, and it needs no async runtime.

use std::net::{IpAddr, ToSocketAddrs};
use std::time::Duration;

use eddy::{SdpType, SessionDescription};

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
