//! ICE candidates as the agent sees them (RFC 8445 §5.1), and candidate
//! pairs (§6.1.2).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::io::Protocol;

pub use crate::candidate_type::{CandidateKind, TcpType};

/// A candidate (RFC 8445 §5.1): a transport address with its kind,
/// priority and foundation. The SDP `a=candidate` form is converted to and
/// from this by the signaling layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The transport address.
    pub addr: SocketAddr,
    /// UDP or TCP.
    pub proto: Protocol,
    /// Host, server-reflexive, peer-reflexive or relayed.
    pub kind: CandidateKind,
    /// The priority (RFC 8445 §5.1.2).
    pub priority: u32,
    /// The foundation: equal for candidates of the same kind, base IP,
    /// server and transport (RFC 8445 §5.1.1.3).
    pub foundation: String,
    /// For reflexive and relayed candidates, the base (or mapped) address.
    pub related: Option<SocketAddr>,
    /// For TCP candidates, the RFC 6544 role.
    pub tcp_type: Option<TcpType>,
}

impl Candidate {
    /// The component id: WebRTC multiplexes RTP and RTCP (RFC 8843, 5761),
    /// so there is only component 1.
    pub const COMPONENT: u16 = 1;

    /// RFC 8445 §5.1.2.1:
    /// `priority = (2^24)*(type preference) + (2^8)*(local preference) +
    /// (2^0)*(256 - component ID)`.
    pub fn compute_priority(kind: CandidateKind, local_preference: u16) -> u32 {
        (kind.type_preference() << 24)
            + (u32::from(local_preference) << 8)
            + (256 - u32::from(Self::COMPONENT))
    }

    /// A local preference: IPv6 before IPv4 (RFC 8421's spirit), UDP before
    /// TCP. For TCP, RFC 6544 §4.2: "local preference = (2^13) *
    /// direction-pref + other-pref", direction-pref 6 for active, 4 for
    /// passive, 2 for S-O.
    pub fn local_preference(addr: &SocketAddr, proto: Protocol, tcp_type: Option<TcpType>) -> u16 {
        let family: u16 = if addr.is_ipv6() { 1 } else { 0 };
        match proto {
            Protocol::Udp => 65_000 + family * 500,
            Protocol::Tcp | Protocol::Tls => {
                let direction: u16 = match tcp_type {
                    Some(TcpType::Active) => 6,
                    Some(TcpType::Passive) | None => 4,
                    Some(TcpType::SimultaneousOpen) => 2,
                };
                (direction << 13) + 4000 + family * 500
            }
        }
    }

    /// An active TCP host candidate on `base` (RFC 6544 §4.1).
    pub fn host_active_tcp(base: SocketAddr) -> Self {
        let tcp_type = Some(TcpType::Active);
        Self {
            tcp_type,
            priority: Self::compute_priority(
                CandidateKind::Host,
                Self::local_preference(&base, Protocol::Tcp, tcp_type),
            ),
            ..Self::host(base, Protocol::Tcp)
        }
    }

    /// A host candidate on a socket the runtime bound (TCP ones are passive:
    /// the runtime listens, RFC 6544).
    pub fn host(addr: SocketAddr, proto: Protocol) -> Self {
        let tcp_type = (proto != Protocol::Udp).then_some(TcpType::Passive);
        Self {
            addr,
            proto,
            kind: CandidateKind::Host,
            priority: Self::compute_priority(
                CandidateKind::Host,
                Self::local_preference(&addr, proto, tcp_type),
            ),
            foundation: foundation(CandidateKind::Host, addr.ip(), proto, None),
            related: None,
            tcp_type,
        }
    }

    /// A server-reflexive candidate of `base` as seen by `server`.
    pub(crate) fn server_reflexive(mapped: SocketAddr, base: &Self, server: SocketAddr) -> Self {
        let local = Self::local_preference(&base.addr, base.proto, base.tcp_type);
        Self {
            addr: mapped,
            proto: base.proto,
            kind: CandidateKind::ServerReflexive,
            priority: Self::compute_priority(CandidateKind::ServerReflexive, local),
            foundation: foundation(
                CandidateKind::ServerReflexive,
                base.addr.ip(),
                base.proto,
                Some(server.ip()),
            ),
            related: Some(base.addr),
            tcp_type: base.tcp_type,
        }
    }

    /// A relayed candidate (RFC 8445 §5.1.1.2) at a TURN server's
    /// `relayed` address. RFC 8445 §5.1.2.2: "The RECOMMENDED values for
    /// type preferences are 126 for host candidates, 110 for peer-reflexive
    /// candidates, 100 for server-reflexive candidates, and 0 for relayed
    /// candidates." Its related address is the mapped address the server
    /// saw (RFC 8839 §5.1: "rel-addr and rel-port [...] for relayed
    /// candidates, the mapped address").
    pub(crate) fn relayed(
        relayed: SocketAddr,
        mapped: Option<SocketAddr>,
        server: SocketAddr,
    ) -> Self {
        let local = Self::local_preference(&relayed, Protocol::Udp, None);
        Self {
            addr: relayed,
            proto: Protocol::Udp,
            kind: CandidateKind::Relayed,
            priority: Self::compute_priority(CandidateKind::Relayed, local),
            foundation: foundation(
                CandidateKind::Relayed,
                relayed.ip(),
                Protocol::Udp,
                Some(server.ip()),
            ),
            related: mapped,
            tcp_type: None,
        }
    }

    /// A peer-reflexive candidate: local (mapped address of a check
    /// response, base `base`) or remote (source of a check, `priority` from
    /// its PRIORITY attribute).
    pub(crate) fn peer_reflexive(
        addr: SocketAddr,
        proto: Protocol,
        priority: u32,
        base: Option<SocketAddr>,
    ) -> Self {
        Self {
            addr,
            proto,
            kind: CandidateKind::PeerReflexive,
            priority,
            // RFC 8445 §7.3.1.3: "the foundation [of a remote prflx
            // candidate] is an arbitrary value, different from the
            // foundations of all other remote candidates" -- the address
            // makes it unique.
            foundation: {
                let mut folded = Fold(0x811c_9dc5);
                let _ = std::fmt::Write::write_fmt(&mut folded, format_args!("{addr}"));
                format!("p{}", folded.0)
            },
            related: base,
            tcp_type: (proto != Protocol::Udp).then_some(TcpType::Active),
        }
    }

    /// The priority this candidate's base would have as a peer-reflexive
    /// candidate: what goes in the PRIORITY attribute of a check (RFC 8445
    /// §7.1.1).
    pub(crate) fn prflx_priority(&self) -> u32 {
        let local = Self::local_preference(&self.addr, self.proto, self.tcp_type);
        Self::compute_priority(CandidateKind::PeerReflexive, local)
    }
}

/// A foundation from what RFC 8445 §5.1.1.3 says must be equal: "they have
/// the same type, base IP address, [server], and transport protocol".
fn foundation(
    kind: CandidateKind,
    base: IpAddr,
    proto: Protocol,
    server: Option<IpAddr>,
) -> String {
    // The key's text is folded as it is formatted: no String for it.
    let mut folded = Fold(0x811c_9dc5);
    let _ = std::fmt::Write::write_fmt(
        &mut folded,
        format_args!("{kind:?}/{base}/{proto:?}/{server:?}"),
    );
    folded.0.to_string()
}

/// A short stable digest (FNV-1a, 32 bit) for foundations: 1 to 32
/// ice-chars in SDP, digits are fine.
struct Fold(u32);

impl std::fmt::Write for Fold {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for b in s.bytes() {
            self.0 ^= u32::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0193);
        }
        Ok(())
    }
}

/// The state of a candidate pair (RFC 8445 §6.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PairState {
    /// Not checked, waiting for a pair of its foundation to succeed.
    Frozen,
    /// Will be checked when its turn comes.
    Waiting,
    /// A check is outstanding.
    InProgress,
    /// A check succeeded: the pair is valid.
    Succeeded,
    /// Checks failed (timeout, error, or an asymmetric response).
    Failed,
}

/// A candidate pair. `local` indexes the agent's local candidates (always a
/// base: host or relayed, RFC 8445 §6.1.2.4 replaces reflexive ones by their
/// base) and `remote` its remote candidates.
#[derive(Debug, Clone)]
pub(crate) struct CandidatePair {
    pub(crate) local: usize,
    pub(crate) remote: usize,
    pub(crate) priority: u64,
    pub(crate) state: PairState,
    /// The controlling agent sent (or, controlled, received) USE-CANDIDATE
    /// on this pair and the pair is valid.
    pub(crate) nominated: bool,
    /// Controlling: a check with USE-CANDIDATE is outstanding.
    pub(crate) nominating: bool,
    /// Controlled: USE-CANDIDATE arrived before our own check succeeded
    /// (RFC 8445 §7.3.1.5); nominate once it does.
    pub(crate) remote_nominated: bool,
    /// An authenticated request arrived on this pair.
    pub(crate) request_received: bool,
    /// The last authenticated response (or, lite, request) on this pair.
    pub(crate) last_response: Option<Instant>,
    /// Round-trip time of the latest check.
    pub(crate) rtt: Option<Duration>,
    pub(crate) requests_sent: u64,
    pub(crate) responses_received: u64,
    pub(crate) requests_received: u64,
    pub(crate) responses_sent: u64,
}

impl CandidatePair {
    pub(crate) fn new(local: usize, remote: usize, priority: u64) -> Self {
        Self {
            local,
            remote,
            priority,
            state: PairState::Frozen,
            nominated: false,
            nominating: false,
            remote_nominated: false,
            request_received: false,
            last_response: None,
            rtt: None,
            requests_sent: 0,
            responses_received: 0,
            requests_received: 0,
            responses_sent: 0,
        }
    }

    /// RFC 8445 §6.1.2.3: "pair priority = 2^32*MIN(G,D) + 2*MAX(G,D) +
    /// (G>D?1:0)" with G the controlling agent's candidate priority and D
    /// the controlled one's.
    pub(crate) fn compute_priority(controlling: u32, controlled: u32) -> u64 {
        // RFC 8445 §5.1.2: a priority is "between 1 and (2**31 - 1)": a
        // peer's larger value is clamped, so the sum cannot overflow.
        const MAX: u32 = 0x7fff_ffff;
        let (g, d) = (
            u64::from(controlling.min(MAX)),
            u64::from(controlled.min(MAX)),
        );
        (1u64 << 32) * g.min(d) + 2 * g.max(d) + u64::from(g > d)
    }

    /// Whether a check is still to come on this pair.
    pub(crate) fn is_pending(&self) -> bool {
        matches!(
            self.state,
            PairState::Frozen | PairState::Waiting | PairState::InProgress
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_follow_rfc_8445() {
        let host = Candidate::host("10.0.0.1:5000".parse().unwrap(), Protocol::Udp);
        assert_eq!(host.priority >> 24, 126);
        assert_eq!(host.priority & 0xff, 255);
        let tcp = Candidate::host("10.0.0.1:5000".parse().unwrap(), Protocol::Tcp);
        assert!(tcp.priority < host.priority, "UDP is preferred");
        assert_eq!(tcp.tcp_type, Some(TcpType::Passive));
        assert!(host.prflx_priority() >> 24 == 110);
        let v6 = Candidate::host("[::1]:5000".parse().unwrap(), Protocol::Udp);
        assert!(v6.priority > host.priority);
        // Same kind, base IP and transport: same foundation.
        let other_port = Candidate::host("10.0.0.1:6000".parse().unwrap(), Protocol::Udp);
        assert_eq!(host.foundation, other_port.foundation);
        assert_ne!(host.foundation, tcp.foundation);
    }

    #[test]
    fn pair_priority_formula() {
        // G > D: the extra 1.
        assert_eq!(
            CandidatePair::compute_priority(10, 5),
            (5u64 << 32) + 20 + 1
        );
        assert_eq!(CandidatePair::compute_priority(5, 10), (5u64 << 32) + 20);
        // Symmetric apart from the tie bit, so both agents order pairs alike.
        // Out-of-range priorities from a peer are clamped, never overflow.
        let max = u64::from(0x7fff_ffffu32);
        let a = CandidatePair::compute_priority(u32::MAX, u32::MAX);
        assert_eq!(a, (max << 32) + 2 * max);
    }
}
