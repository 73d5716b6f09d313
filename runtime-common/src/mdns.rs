//! The two sockets of mDNS for ICE candidates (RFC 6762): one that sends
//! one-shot queries for the peer's `.local` names and reads the unicast
//! answers, and one on port 5353 in the multicast group that answers for
//! our names. The protocol is `eddy::mdns`; the runtimes poll these.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};

use eddy::mdns::MDNS_PORT;

/// RFC 6762 §11: "All Multicast DNS responses (including responses sent
/// via unicast) SHOULD be sent with IP TTL set to 255".
const MDNS_TTL: u32 = 255;

/// A non-blocking IPv4 UDP socket on a free port for one-shot queries
/// (RFC 6762 §5.1: "sent from a port other than 5353", answered by
/// unicast to it).
pub fn query_socket() -> io::Result<UdpSocket> {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    socket.set_multicast_ttl_v4(MDNS_TTL)?;
    // A responder on this host answers too.
    socket.set_multicast_loop_v4(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)).into())?;
    Ok(socket.into())
}

/// A non-blocking socket on port 5353 (shared with other responders on the
/// host: `SO_REUSEADDR`/`SO_REUSEPORT`) in the group 224.0.0.251 on each
/// of `interfaces` (IPv4 addresses of local interfaces).
pub fn responder_socket(interfaces: &[Ipv4Addr]) -> io::Result<UdpSocket> {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    socket.set_reuse_address(true)?;
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    socket.set_reuse_port(true)?;
    socket.set_multicast_ttl_v4(MDNS_TTL)?;
    socket.set_multicast_loop_v4(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, MDNS_PORT)).into())?;
    let group = Ipv4Addr::new(224, 0, 0, 251);
    let mut joined = 0;
    for iface in interfaces {
        match socket.join_multicast_v4(&group, iface) {
            Ok(()) => joined += 1,
            // Joined already through another address of the interface.
            Err(e) if e.raw_os_error() == Some(98) => joined += 1,
            Err(e) => tracing::debug!(%iface, %e, "mDNS group not joined"),
        }
    }
    if joined == 0 {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "no interface joined the mDNS group",
        ));
    }
    Ok(socket.into())
}
