//! What every adapter needs from the OS: local addresses, UDP sockets, ICE
//! server hostnames.

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV6, ToSocketAddrs, UdpSocket};
use std::time::{Instant, SystemTime};

use eddy::{Configuration, IceServer, PeerConnection, Protocol};

/// Kernel socket buffer size asked for by default: with the usual 208 KiB,
/// a burst of data channel traffic overflows the receive buffer on loopback
/// and SCTP backs off for every lost packet.
pub const DEFAULT_SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// The addresses to bind, with `port`: each of `ips`, where an unspecified
/// IP (`0.0.0.0`, `::`) stands for every interface address of its family
/// and no IP at all for every interface address. Link-local IPv6 addresses
/// (`fe80::/10`) are listed only with `link_local`.
pub fn local_addresses(ips: &[IpAddr], port: u16, link_local: bool) -> io::Result<Vec<SocketAddr>> {
    let wanted = |ip: &IpAddr| {
        ips.is_empty()
            || ips
                .iter()
                .any(|w| w.is_unspecified() && w.is_ipv4() == ip.is_ipv4())
    };
    let mut out: Vec<SocketAddr> = ips
        .iter()
        .filter(|ip| !ip.is_unspecified())
        .map(|&ip| SocketAddr::new(ip, port))
        .collect();
    if ips.is_empty() || ips.iter().any(IpAddr::is_unspecified) {
        for iface in if_addrs::get_if_addrs()? {
            let ip = iface.ip();
            let is_link_local = matches!(ip, IpAddr::V6(v6) if v6.is_unicast_link_local());
            if !wanted(&ip) || (is_link_local && !link_local) {
                continue;
            }
            let addr = match ip {
                IpAddr::V6(v6) if is_link_local => {
                    SocketAddr::V6(SocketAddrV6::new(v6, port, 0, iface.index.unwrap_or(0)))
                }
                _ => SocketAddr::new(ip, port),
            };
            out.push(addr);
        }
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "no local address to bind",
        ));
    }
    Ok(out)
}

/// A non-blocking UDP socket on `addr` with `buffer`-byte kernel buffers
/// (best effort: Linux caps them at `net.core.rmem_max` and `wmem_max`).
pub fn bind_udp(addr: SocketAddr, buffer: usize) -> io::Result<UdpSocket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // The kernel clamps a too-large request; failing is not fatal either.
    let _ = socket.set_recv_buffer_size(buffer);
    let _ = socket.set_send_buffer_size(buffer);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// A non-blocking TCP connection to `remote` from `ip` (any port), started:
/// the connect completes in the background (the socket turns writable).
pub fn connect_tcp(ip: IpAddr, remote: SocketAddr) -> io::Result<std::net::TcpStream> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(remote),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    socket.bind(&SocketAddr::new(ip, 0).into())?;
    match socket.connect(&remote.into()) {
        Ok(()) => {}
        // Linux: EINPROGRESS (115); others report WouldBlock.
        Err(e) if e.raw_os_error() == Some(115) || e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    Ok(socket.into())
}

/// Errors a UDP receive reports for an earlier datagram (ICMP port
/// unreachable...), not for the socket: ICE sees the silence.
pub fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
    )
}

/// Gives `pc` a UDP host candidate for each of `addrs`, then ends its local
/// candidates.
pub fn add_host_candidates(pc: &mut PeerConnection, addrs: &[SocketAddr]) -> io::Result<()> {
    add_candidates(pc, addrs.iter().map(|&a| (a, Protocol::Udp)))
}

/// Gives `pc` a host candidate for each `(address, transport)` (a TCP one
/// is a passive ICE-TCP listener), then ends its local candidates.
pub fn add_candidates(
    pc: &mut PeerConnection,
    candidates: impl IntoIterator<Item = (SocketAddr, Protocol)>,
) -> io::Result<()> {
    for (addr, proto) in candidates {
        pc.add_local_candidate(addr, proto)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    }
    pc.end_of_local_candidates();
    Ok(())
}

/// Builds a peer for a runtime: resolves the ICE server hostnames of
/// `config` ([`resolve_ice_servers`]), sets its wall clock to now when unset,
/// and creates the connection at `Instant::now()`.
pub fn new_peer(mut config: Configuration) -> io::Result<PeerConnection> {
    config.ice_servers = resolve_ice_servers(&config.ice_servers)?;
    if config.wall_clock.is_none() {
        config.wall_clock = Some(SystemTime::now());
    }
    PeerConnection::new(config, Instant::now())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
}

/// `servers` with every hostname in their URLs replaced by its first
/// address (`std::net::ToSocketAddrs`, so the system resolver, blocking).
/// `stun:stun.example.org?transport=udp` becomes
/// `stun:203.0.113.7:3478?transport=udp`; IP literals are kept as they are.
/// The default port is 3478, 5349 for `stuns:` and `turns:`.
pub fn resolve_ice_servers(servers: &[IceServer]) -> io::Result<Vec<IceServer>> {
    servers
        .iter()
        .map(|server| {
            let urls = server
                .urls
                .iter()
                .map(|url| resolve_url(url))
                .collect::<io::Result<Vec<_>>>()?;
            Ok(IceServer {
                urls,
                ..server.clone()
            })
        })
        .collect()
}

/// One `stun:`/`turn:` URL with its host resolved.
fn resolve_url(url: &str) -> io::Result<String> {
    let bad = || io::Error::new(io::ErrorKind::InvalidInput, format!("bad ICE URL {url:?}"));
    let (scheme, rest) = url.split_once(':').ok_or_else(bad)?;
    let (hostport, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    let default_port = if scheme.ends_with('s') { 5349 } else { 3478 };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if after.is_empty() => default_port,
            None => return Err(bad()),
        };
        (host, port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| bad())?),
            None => (hostport, default_port),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    if host.parse::<IpAddr>().is_ok() {
        return Ok(url.to_owned());
    }
    let addr = (host, port).to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host} has no address ({url})"),
        )
    })?;
    Ok(match query {
        Some(q) => format!("{scheme}:{addr}?{q}"),
        None => format!("{scheme}:{addr}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_resolved_and_literals_kept() {
        // `localhost` may resolve to either loopback address first.
        let loopback = |url: String, v4: &str, v6: &str| url == v4 || url == v6;
        let url = resolve_url("stun:localhost:3478?transport=udp").unwrap_or_default();
        assert!(
            loopback(
                url.clone(),
                "stun:127.0.0.1:3478?transport=udp",
                "stun:[::1]:3478?transport=udp"
            ),
            "{url}"
        );
        let url = resolve_url("turns:localhost").unwrap_or_default();
        assert!(
            loopback(url.clone(), "turns:127.0.0.1:5349", "turns:[::1]:5349"),
            "{url}"
        );
        assert_eq!(
            resolve_url("stun:[::1]:1234").unwrap_or_default(),
            "stun:[::1]:1234"
        );
        assert!(resolve_url("stun:").is_err());
        assert!(resolve_url("stun:host:notaport").is_err());
        assert!(resolve_url("nocolon").is_err());
    }

    #[test]
    fn a_new_peer_gets_resolved_ice_servers_and_a_wall_clock() {
        let mut config = Configuration::default();
        config.ice_servers.push(IceServer {
            urls: vec!["stun:localhost:3478".into(), "stun:192.0.2.1".into()],
            username: None,
            credential: None,
        });
        let pc = new_peer(config).expect("peer");
        let urls = &pc.configuration().ice_servers[0].urls;
        assert!(
            urls[0] == "stun:127.0.0.1:3478" || urls[0] == "stun:[::1]:3478",
            "{urls:?}"
        );
        assert_eq!(urls[1], "stun:192.0.2.1");
        assert!(pc.configuration().wall_clock.is_some());
    }

    #[test]
    fn explicit_ips_are_kept_and_unspecified_lists_interfaces() {
        let lo = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
        let addrs = local_addresses(&[lo], 0, false).expect("addresses");
        assert_eq!(addrs, vec![SocketAddr::new(lo, 0)]);
        let all = local_addresses(&[IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)], 7, false)
            .expect("interfaces");
        assert!(all.iter().all(|a| a.is_ipv4() && a.port() == 7), "{all:?}");
    }
}
