//! The kind and TCP role of an ICE candidate: one definition that the ICE
//! agent and the SDP codec both use (ARCHITECTURE.md §2: a root module that
//! imports nothing of the crate).

/// The kind of a candidate (RFC 8445 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CandidateKind {
    /// An address of a local interface (`host`).
    Host,
    /// The address a NAT mapped a host candidate to, learned from a STUN
    /// server (`srflx`).
    ServerReflexive,
    /// The address a NAT mapped a host candidate to, learned from a
    /// connectivity check (`prflx`).
    PeerReflexive,
    /// An address on a TURN server (`relay`).
    Relayed,
}

impl CandidateKind {
    /// RFC 8445 §5.1.2.2: "The RECOMMENDED values for type preferences are
    /// 126 for host candidates, 110 for peer-reflexive candidates, 100 for
    /// server-reflexive candidates, and 0 for relayed candidates."
    pub fn type_preference(self) -> u32 {
        match self {
            Self::Host => 126,
            Self::PeerReflexive => 110,
            Self::ServerReflexive => 100,
            Self::Relayed => 0,
        }
    }

    /// The SDP `typ` token (RFC 8839 §5.1).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::ServerReflexive => "srflx",
            Self::PeerReflexive => "prflx",
            Self::Relayed => "relay",
        }
    }

    /// The kind of a `typ` token.
    pub(crate) fn from_token(s: &str) -> Option<Self> {
        Some(match s {
            "host" => Self::Host,
            "srflx" => Self::ServerReflexive,
            "prflx" => Self::PeerReflexive,
            "relay" => Self::Relayed,
            _ => return None,
        })
    }
}

/// The role of a TCP candidate (RFC 6544 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TcpType {
    /// Opens connections, never accepts (port 9 in SDP).
    Active,
    /// Accepts connections, never opens.
    Passive,
    /// Simultaneous open (`so`).
    SimultaneousOpen,
}

impl TcpType {
    /// The SDP `tcptype` token.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Passive => "passive",
            Self::SimultaneousOpen => "so",
        }
    }
}
