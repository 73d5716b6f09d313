//! ICE (RFC 8445) with trickle (RFC 8838), consent freshness (RFC 7675),
//! ICE-TCP (RFC 6544, RFC 4571 framing) and ICE-lite, as a sans-IO agent.
//!
//! [`IceAgent`] owns the candidates, the checklist and the STUN
//! transactions of one ICE session (one component: WebRTC bundles and
//! multiplexes RTCP). It only speaks STUN; everything else that arrives on
//! its sockets is the caller's, who asks [`IceAgent::is_validated`] before
//! accepting it and sends through [`IceAgent::selected_pair`].
//!
//! ## Timers ([`IceConfig`] defaults) and how Chrome compares
//!
//! | what | eddy default | Chrome (libwebrtc) |
//! |---|---|---|
//! | pacing of new checks, Ta | 50 ms (RFC 8445 §14.2) | 48 ms weak ping interval |
//! | check RTO | max(500 ms, Ta x active pairs), doubling to 3 s, 7 sends (~15.5 s) | own schedule, 5 failed pings / 5 s make a pair unwritable |
//! | consent checks | every 5 s x U(0.8, 1.2) (RFC 7675), each retransmitted at 0.5/1.5/3.5 s | 2.5 s pings on a strong stable pair, 0.9 s otherwise |
//! | `disconnected` | 3 s after a consent check went unanswered (3 to 9 s after the path dies) | 2.5 s without receiving anything |
//! | `failed` | 30 s after the last response, then silent (RFC 7675) | 30 s dead-connection timeout |
//! | nomination | regular, best valid pair, at most 1 s after the first valid pair | regular nomination |

mod agent;
mod candidate;
mod checks;
mod rate_limit;
mod tcp;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::time::Duration;

use crate::io::Protocol;
/// The simulator's ICE nodes, at their old path: they live in
/// [`sim::ice_node`](crate::sim::ice_node) and
/// [`sim::stun_server`](crate::sim::stun_server).
#[cfg(feature = "sim")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim")))]
#[doc(hidden)]
pub use crate::sim::{ice_node as sim_node, stun_server};
pub use crate::state::{IceConnectionState, IceGatheringState};

pub use agent::IceAgent;
pub use candidate::{Candidate, CandidateKind, PairState, TcpType};
pub use rate_limit::{ERROR_RESPONSES_BURST, ERROR_RESPONSES_PER_SECOND, MAX_RATE_LIMITED_SOURCES};

/// The most candidate pairs in the checklist: RFC 8445 §6.1.2.5 has agents
/// limit the checklist, with 100 as the default limit. Beyond it the
/// lowest-priority pair not yet checked is evicted, or the new pair is not
/// added (either way counted in [`IceStats::pairs_dropped`]).
pub const MAX_PAIRS: usize = 100;
/// The most local candidates (host, reflexive). More are refused.
pub const MAX_LOCAL_CANDIDATES: usize = 32;
/// The most remote candidates (signaled and peer-reflexive). More are
/// dropped and counted.
pub const MAX_REMOTE_CANDIDATES: usize = 200;
/// The most `.local` (mDNS) remote candidates waiting for the runtime to
/// resolve them.
pub const MAX_PENDING_MDNS: usize = 16;
/// The most STUN transactions outstanding at once; a new check waits for
/// a slot.
pub const MAX_TRANSACTIONS: usize = 128;
/// The most events not yet polled; more are dropped and counted.
pub const MAX_EVENTS: usize = 256;
/// The most transmits not yet polled; more are dropped and counted.
pub const MAX_TRANSMITS: usize = 256;
/// The most non-STUN TCP frames not yet polled.
pub const MAX_TCP_FRAMES: usize = 64;
/// The most STUN servers used for server-reflexive gathering.
pub const MAX_STUN_SERVERS: usize = 8;

/// Default of [`IceConfig::checking_timeout`]: 30 s, the figure of the
/// consent timeout (RFC 7675 §5.1).
pub const DEFAULT_ICE_CHECKING_TIMEOUT: Duration = Duration::from_secs(30);

/// Timings and switches of an [`IceAgent`]. Every field states its
/// default; [`IceConfig::validate`] rejects nonsense.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IceConfig {
    /// Be an ICE-lite agent (RFC 8445 §2.5): only answer checks, never send
    /// them; always controlled. Defaults to `false`.
    pub lite: bool,
    /// Pacing of new checks and gathering requests, Ta (RFC 8445 §14.2).
    /// Defaults to 50 ms, the RFC's default.
    pub ta: Duration,
    /// Least initial retransmission timeout of a check. RFC 8445 §14.3:
    /// "RTO = MAX (500ms, Ta * (Num-Waiting + Num-In-Progress))".
    /// Defaults to 500 ms.
    pub rto_min: Duration,
    /// Largest retransmission timeout (the RTO doubles per retransmission,
    /// RFC 8489 §6.2.1, up to this). Defaults to 3 s.
    pub rto_max: Duration,
    /// Transmissions of a check before its pair fails. RFC 8489 §6.2.1:
    /// "Rc SHOULD be configurable and SHOULD have a default of 7".
    /// Defaults to 7 (about 15.5 s with the other defaults).
    pub max_check_transmits: u32,
    /// Transmissions of a server-reflexive gathering request. Defaults to 4
    /// (about 7.5 s), so gathering completes in bounded time.
    pub max_gather_transmits: u32,
    /// Controlling agent: how long after the first valid pair it waits for
    /// better pairs before nominating. Defaults to 1 s.
    pub nomination_delay: Duration,
    /// Basic period of consent checks on the selected pair (RFC 7675 §5.1),
    /// randomized to 0.8..1.2 times it. Each check is retransmitted at the
    /// check RTO (0.5, 1.5, 3.5 s) while unanswered. Defaults to 5 s (RFC
    /// 7675: "Implementations SHOULD set a default interval of 5 seconds").
    pub consent_interval: Duration,
    /// The state becomes `disconnected` when a consent check has been
    /// unanswered for this long (lite: when no check arrived for
    /// `consent_interval` + this). Defaults to 3 s; Chrome shows
    /// `disconnected` after 2.5 to 5 s without response.
    pub disconnected_timeout: Duration,
    /// RFC 7675 §5.1: consent expires 30 s after the last response; the
    /// state becomes `failed` and nothing more is sent. Defaults to 30 s.
    pub failed_timeout: Duration,
    /// ICE gives up (state `failed`) after this long in `checking` without
    /// a successful check, whether or not end-of-candidates arrived, so a
    /// peer that never answers cannot keep the agent (and its timers) alive.
    /// Defaults to [`DEFAULT_ICE_CHECKING_TIMEOUT`]; keep it above the
    /// checks' own transaction timeout (about 15.5 s with the defaults),
    /// which RFC 8863 makes the least time before failing.
    pub checking_timeout: Duration,
    /// STUN error responses (400, 401, 420, 487) one source address may get
    /// per second, sustained. Defaults to [`ERROR_RESPONSES_PER_SECOND`].
    pub error_responses_per_second: u32,
    /// STUN error responses one source address may get at once. Defaults
    /// to [`ERROR_RESPONSES_BURST`].
    pub error_responses_burst: u32,
    /// The SOFTWARE attribute in requests; `None` sends none. Defaults to
    /// `None` (saves bytes, leaks nothing).
    pub software: Option<&'static str>,
}

impl Default for IceConfig {
    fn default() -> Self {
        Self {
            lite: false,
            ta: Duration::from_millis(50),
            rto_min: Duration::from_millis(500),
            rto_max: Duration::from_secs(3),
            max_check_transmits: 7,
            max_gather_transmits: 4,
            nomination_delay: Duration::from_secs(1),
            consent_interval: Duration::from_secs(5),
            disconnected_timeout: Duration::from_secs(3),
            failed_timeout: Duration::from_secs(30),
            checking_timeout: DEFAULT_ICE_CHECKING_TIMEOUT,
            error_responses_per_second: ERROR_RESPONSES_PER_SECOND,
            error_responses_burst: ERROR_RESPONSES_BURST,
            software: None,
        }
    }
}

impl IceConfig {
    /// Checks the timings: all non-zero, `rto_min <= rto_max`,
    /// `consent_interval` at least 5 s (RFC 7675's 4-second floor after
    /// jitter),
    /// `disconnected_timeout < failed_timeout`, at least one transmission.
    pub fn validate(&self) -> Result<(), IceError> {
        let nonzero = [
            ("ta", self.ta),
            ("rto_min", self.rto_min),
            ("rto_max", self.rto_max),
            ("consent_interval", self.consent_interval),
            ("disconnected_timeout", self.disconnected_timeout),
            ("failed_timeout", self.failed_timeout),
            ("checking_timeout", self.checking_timeout),
        ];
        for (name, d) in nonzero {
            if d.is_zero() {
                return Err(IceError::InvalidConfig(name));
            }
        }
        if self.rto_min > self.rto_max {
            return Err(IceError::InvalidConfig("rto_min > rto_max"));
        }
        // RFC 7675 §5.1: "Implementations MUST NOT set the period between
        // checks to less than 4 seconds": 0.8 x the interval.
        if self.consent_interval < Duration::from_secs(5) {
            return Err(IceError::InvalidConfig("consent_interval < 5 s"));
        }
        if self.disconnected_timeout >= self.failed_timeout {
            return Err(IceError::InvalidConfig(
                "disconnected_timeout >= failed_timeout",
            ));
        }
        if self.error_responses_per_second == 0 || self.error_responses_burst == 0 {
            return Err(IceError::InvalidConfig("error response rate"));
        }
        if self.max_check_transmits == 0 || self.max_gather_transmits == 0 {
            return Err(IceError::InvalidConfig("max transmits"));
        }
        Ok(())
    }
}

/// Errors of the agent's API (never of input: bad packets are dropped and
/// counted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IceError {
    /// A configuration value is out of range.
    #[error("invalid ICE configuration: {0}")]
    InvalidConfig(&'static str),
    /// A bound was reached (candidates, servers).
    #[error("limit reached: {0}")]
    Limit(&'static str),
    /// Credentials that RFC 8445 §5.3 does not allow (ufrag at least 4
    /// characters, password at least 22).
    #[error("invalid ICE credentials")]
    InvalidCredentials,
    /// The agent is closed.
    #[error("ICE agent closed")]
    Closed,
    /// OpenSSL's CSPRNG could not be read.
    #[error("no entropy: {0}")]
    Entropy(String),
}

/// Username fragment and password (RFC 8445 §5.3). `Debug` does not show
/// the password.
#[derive(Clone, PartialEq, Eq)]
pub struct IceCredentials {
    /// `ice-ufrag`.
    pub ufrag: String,
    /// `ice-pwd`.
    pub pwd: String,
}

impl std::fmt::Debug for IceCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceCredentials")
            .field("ufrag", &self.ufrag)
            .field("pwd", &"<redacted>")
            .finish()
    }
}

/// The role of the agent (RFC 8445 §6.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceRole {
    /// Nominates pairs.
    Controlling,
    /// Follows the controlling agent's nomination.
    Controlled,
}

/// Something the agent tells its owner, from [`IceAgent::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IceEvent {
    /// A new local candidate to signal (trickle, RFC 8838).
    LocalCandidate(Candidate),
    /// Local gathering finished: signal end-of-candidates.
    EndOfCandidates,
    /// The gathering state changed.
    GatheringStateChange(IceGatheringState),
    /// The connection state changed.
    ConnectionStateChange(IceConnectionState),
    /// The selected pair changed: send through it from now on.
    SelectedPairChange {
        /// Local address (the socket to send from).
        local: SocketAddr,
        /// Remote address.
        remote: SocketAddr,
        /// Transport.
        proto: Protocol,
    },
    /// The agent switched role after a role conflict (RFC 8445 §7.3.1.1).
    RoleChange(IceRole),
}

/// Counters for `getStats()` (W3C RTCIceCandidatePairStats and
/// RTCIceTransportStats) and for debugging.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IceStats {
    /// Binding requests sent (checks and consent, retransmissions included).
    pub requests_sent: u64,
    /// Authenticated binding requests received.
    pub requests_received: u64,
    /// Binding responses sent (success and error).
    pub responses_sent: u64,
    /// Accepted binding responses received.
    pub responses_received: u64,
    /// Consent requests sent.
    pub consent_requests_sent: u64,
    /// STUN bytes sent.
    pub bytes_sent: u64,
    /// STUN bytes received.
    pub bytes_received: u64,
    /// Round-trip time of the latest response on the selected pair.
    pub current_rtt: Option<Duration>,
    /// Pairs not added (or evicted) because of [`MAX_PAIRS`].
    pub pairs_dropped: u64,
    /// Remote candidates dropped because of [`MAX_REMOTE_CANDIDATES`] or
    /// [`MAX_PENDING_MDNS`].
    pub remote_candidates_dropped: u64,
    /// STUN messages dropped: malformed, failed authentication, unknown
    /// transaction, unknown local address.
    pub stun_dropped: u64,
    /// Role conflicts resolved (RFC 8445 §7.3.1.1).
    pub role_conflicts: u64,
    /// Events dropped because nobody polled them.
    pub events_dropped: u64,
    /// Transmits dropped because nobody polled them.
    pub transmits_dropped: u64,
    /// TCP frames dropped (queue full, connection evicted mid-frame).
    pub tcp_frames_dropped: u64,
    /// Times ICE gave up after [`IceConfig::checking_timeout`] in
    /// `checking` without a successful check.
    pub checking_timeouts: u64,
    /// STUN error responses (400, 401, 420, 487) not sent because their
    /// destination exceeded its rate ([`ERROR_RESPONSES_PER_SECOND`]).
    pub error_responses_limited: u64,
}

/// A non-STUN frame reassembled from an ICE-TCP stream (DTLS, RTP...), from
/// [`IceAgent::poll_tcp_frame`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpFrame {
    /// The remote end of the connection.
    pub source: SocketAddr,
    /// The local end.
    pub destination: SocketAddr,
    /// The frame, without its RFC 4571 length.
    pub contents: Vec<u8>,
}

/// Statistics of one candidate pair (W3C RTCIceCandidatePairStats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PairStats {
    /// Local address (the base).
    pub local: SocketAddr,
    /// Remote address.
    pub remote: SocketAddr,
    /// Transport.
    pub proto: Protocol,
    /// Check state.
    pub state: PairState,
    /// Nominated (selected or selectable).
    pub nominated: bool,
    /// RFC 8445 §6.1.2.3 priority.
    pub priority: u64,
    /// Latest round-trip time.
    pub rtt: Option<Duration>,
    /// Requests sent on it.
    pub requests_sent: u64,
    /// Responses received on it.
    pub responses_received: u64,
    /// Requests received on it.
    pub requests_received: u64,
    /// Responses sent on it.
    pub responses_sent: u64,
}
