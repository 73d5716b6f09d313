//! Multicast DNS for ICE candidates (RFC 6762,
//! draft-ietf-mmusic-mdns-ice-candidates), sans-IO: an [`MdnsResolver`]
//! that asks for the addresses of the peer's `<uuid>.local` host
//! candidates, and an [`MdnsResponder`] that answers for ours when
//! [`Configuration::mdns_host_candidates`](crate::Configuration::mdns_host_candidates)
//! hides them (as browsers do by default).
//!
//! The runtimes own the sockets: the resolver's queries go from an
//! ordinary UDP socket to [`MDNS_V4`] (one-shot queries, RFC 6762 §5.1,
//! answered by unicast to the querier's port, §6.7), and the responder
//! listens on port 5353 in the multicast group.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

mod message;
mod resolver;
mod responder;
#[cfg(test)]
mod tests;

pub use message::valid_local_name;
pub use resolver::{
    MdnsResolution, MdnsResolver, GIVE_UP_AFTER, MAX_PENDING_QUERIES, QUERY_SCHEDULE,
};
pub use responder::{MdnsResponder, MAX_PUBLISHED_NAMES};

/// RFC 6762 §3: "224.0.0.251" port 5353.
pub const MDNS_V4: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 251)), 5353);
/// RFC 6762 §3: "FF02::FB" port 5353.
pub const MDNS_V6: SocketAddr = SocketAddr::new(
    IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb)),
    5353,
);
/// The mDNS port.
pub const MDNS_PORT: u16 = 5353;
