//! TURN URIs (RFC 7065): `turn:` / `turns:` host, port and transport.
//!
//! ```text
//! turnURI   = scheme ":" host [ ":" port ] [ "?transport=" transport ]
//! scheme    = "turn" / "turns"
//! transport = "udp" / "tcp" / transport-ext
//! ```
//!
//! The core takes IP literals only: runtimes resolve host names before the
//! configuration reaches it (`eddy_runtime_common::resolve_ice_servers`).

use std::net::{IpAddr, SocketAddr};

/// RFC 7065 §3: "The <port> part, if present, denotes the port on which the
/// TURN server is awaiting connection requests. If it is absent, the
/// default port is 3478 for both UDP and TCP. The default port for TURN
/// over TLS is 5349."
pub const DEFAULT_PORT: u16 = 3478;
/// The default port of `turns:`.
pub const DEFAULT_TLS_PORT: u16 = 5349;

/// The transport to the TURN server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnTransport {
    /// `turn:` with no transport or `?transport=udp`.
    Udp,
    /// `turn:...?transport=tcp`.
    Tcp,
    /// `turns:` (TLS over TCP).
    Tls,
}

/// A parsed TURN URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnUrl {
    /// The server's address.
    pub server: SocketAddr,
    /// How to reach it.
    pub transport: TurnTransport,
}

/// Why a URI is not a usable TURN URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TurnUrlError {
    /// Not `turn:` or `turns:`.
    #[error("not a TURN URI")]
    NotTurn,
    /// The host is a name (the runtime resolves names) or malformed.
    #[error("TURN host is not an IP literal")]
    Host,
    /// The port is not a number.
    #[error("bad TURN port")]
    Port,
    /// A transport other than udp or tcp, or `turns:` with udp.
    #[error("unknown TURN transport")]
    Transport,
}

/// Parses `url`.
pub fn parse(url: &str) -> Result<TurnUrl, TurnUrlError> {
    let (secure, rest) = if let Some(r) = url.strip_prefix("turns:") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("turn:") {
        (false, r)
    } else {
        return Err(TurnUrlError::NotTurn);
    };
    let (hostport, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    let transport = match query {
        None => None,
        Some(q) => Some(
            q.strip_prefix("transport=")
                .ok_or(TurnUrlError::Transport)?,
        ),
    };
    let transport = match (secure, transport) {
        (false, None | Some("udp")) => TurnTransport::Udp,
        (false, Some("tcp")) => TurnTransport::Tcp,
        (true, None | Some("tcp")) => TurnTransport::Tls,
        _ => return Err(TurnUrlError::Transport),
    };
    let default_port = if secure {
        DEFAULT_TLS_PORT
    } else {
        DEFAULT_PORT
    };
    let server = if let Ok(addr) = hostport.parse::<SocketAddr>() {
        addr
    } else if let Some(v6) = hostport.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let ip = v6.parse::<IpAddr>().map_err(|_| TurnUrlError::Host)?;
        SocketAddr::new(ip, default_port)
    } else if let Ok(ip) = hostport.parse::<std::net::Ipv4Addr>() {
        SocketAddr::new(IpAddr::V4(ip), default_port)
    } else {
        let (host, _port) = hostport.rsplit_once(':').unwrap_or((hostport, ""));
        if host.parse::<IpAddr>().is_ok() || host.starts_with('[') {
            return Err(TurnUrlError::Port);
        }
        return Err(TurnUrlError::Host);
    };
    Ok(TurnUrl { server, transport })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_ports_and_transports() {
        let u = parse("turn:192.0.2.1").unwrap();
        assert_eq!(u.server, "192.0.2.1:3478".parse().unwrap());
        assert_eq!(u.transport, TurnTransport::Udp);
        let u = parse("turn:192.0.2.1:9000?transport=udp").unwrap();
        assert_eq!(u.server, "192.0.2.1:9000".parse().unwrap());
        let u = parse("turn:[2001:db8::1]?transport=tcp").unwrap();
        assert_eq!(u.server, "[2001:db8::1]:3478".parse().unwrap());
        assert_eq!(u.transport, TurnTransport::Tcp);
        let u = parse("turns:[2001:db8::1]:443").unwrap();
        assert_eq!(u.server, "[2001:db8::1]:443".parse().unwrap());
        assert_eq!(u.transport, TurnTransport::Tls);
        assert_eq!(
            parse("turns:192.0.2.1").unwrap().server.port(),
            DEFAULT_TLS_PORT
        );
    }

    #[test]
    fn refused() {
        assert_eq!(parse("stun:192.0.2.1"), Err(TurnUrlError::NotTurn));
        assert_eq!(parse("turn:turn.example.org"), Err(TurnUrlError::Host));
        assert_eq!(parse("turn:192.0.2.1:x"), Err(TurnUrlError::Port));
        assert_eq!(
            parse("turn:192.0.2.1?transport=sctp"),
            Err(TurnUrlError::Transport)
        );
        assert_eq!(
            parse("turns:192.0.2.1?transport=udp"),
            Err(TurnUrlError::Transport)
        );
        assert_eq!(parse("turn:192.0.2.1?foo"), Err(TurnUrlError::Transport));
    }
}
