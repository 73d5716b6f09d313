//! `Configuration` (W3C RTCConfiguration) and the sans-IO extras.

use std::time::{Duration, SystemTime};

use crate::dtls::{Certificate, DtlsVersion};
use crate::error::ConfigError;

/// A STUN or TURN server (W3C RTCIceServer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    /// `stun:`, `turn:` or `turns:` URLs, with `?transport=udp|tcp`.
    /// Hostnames are resolved by the runtime before they reach the core.
    pub urls: Vec<String>,
    /// TURN username.
    pub username: Option<String>,
    /// TURN password.
    pub credential: Option<String>,
}

/// Which candidates ICE may use (W3C RTCIceTransportPolicy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IceTransportPolicy {
    /// Every candidate. The default.
    #[default]
    All,
    /// Only relay (TURN) candidates.
    Relay,
}

/// How media is bundled (W3C RTCBundlePolicy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BundlePolicy {
    /// Gather per media type until the peer accepts BUNDLE. The browser default.
    #[default]
    Balanced,
    /// Gather per m-line until the peer accepts BUNDLE.
    MaxCompat,
    /// One transport for everything. eddy gathers on one transport in every
    /// policy; the policy only changes what the offer says.
    MaxBundle,
}

/// Whether RTCP may use its own port (W3C RTCRtcpMuxPolicy). Only `Require`
/// exists, as in every current browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RtcpMuxPolicy {
    /// RTP and RTCP share a port (RFC 5761). The default and only value.
    #[default]
    Require,
}

/// Everything a [`PeerConnection`](crate::PeerConnection) is built with.
///
/// The W3C fields come first; the sans-IO extras (seed, MTU, limits) after.
/// Build one with `Configuration::default()` and change what you need;
/// [`Configuration::validate`] (called by `PeerConnection::new`) rejects
/// invalid values with an error.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Configuration {
    /// STUN and TURN servers. Defaults to none.
    pub ice_servers: Vec<IceServer>,
    /// Candidate policy. Defaults to `All`.
    pub ice_transport_policy: IceTransportPolicy,
    /// Bundle policy. Defaults to `Balanced`.
    pub bundle_policy: BundlePolicy,
    /// RTCP mux policy. Defaults to `Require`.
    pub rtcp_mux_policy: RtcpMuxPolicy,
    /// Size of the pre-gathered candidate pool, 0..=255. Defaults to 0.
    /// Accepted for compatibility; it changes nothing, since eddy's host
    /// candidates come from the runtime's sockets whenever it adds them.
    pub ice_candidate_pool_size: u8,
    /// The DTLS identity (W3C `certificates`): the first one is used.
    /// Defaults to none: a fresh ECDSA P-256 certificate is generated
    /// (from the seed, when one is given). Keep one across restarts with
    /// [`Certificate::to_pem`] so peers see the same fingerprint.
    pub certificates: Vec<Certificate>,
    /// Seed for every random number the connection draws. `Some`: the run is
    /// reproducible, cryptographic keys included — for tests and simulation
    /// only, never in production. Defaults to `None` (OpenSSL's CSPRNG).
    pub seed: Option<u64>,
    /// Largest datagram the core will send, 576..=9000 bytes. Defaults to
    /// 1200 bytes, which fits every path seen in practice.
    pub mtu: usize,
    /// Be an ICE-lite agent (RFC 8445 §2.5): for servers with public
    /// addresses. Defaults to `false`.
    pub ice_lite: bool,
    /// DTLS versions when eddy is the DTLS client. Defaults to DTLS 1.2,
    /// what browsers negotiate today; `Auto` offers 1.2 and 1.3. As DTLS
    /// server eddy always takes either.
    pub dtls_client_version: DtlsVersion,
    /// Wall-clock time at the `Instant` given to `PeerConnection::new`: the
    /// anchor from which RTCP NTP timestamps and certificate validity are
    /// derived. Defaults to `None`, read as the UNIX epoch so a seeded run
    /// stays reproducible; runtimes set it from the system clock.
    pub wall_clock: Option<SystemTime>,
    /// Most events held for the application: at this count eddy stops taking
    /// data channel messages out of SCTP (they wait there, and the peer's
    /// sending stalls on the closed receive window) and coalesces state
    /// changes; nothing is dropped. Defaults to
    /// [`DEFAULT_MAX_QUEUED_EVENTS`].
    pub max_queued_events: usize,
    /// Most bytes of events held for the application (message payloads plus
    /// one `Event` each), with the same effect as `max_queued_events`; the
    /// queue can pass it by one message at most. Defaults to
    /// [`DEFAULT_MAX_QUEUED_EVENT_BYTES`].
    pub max_queued_event_bytes: usize,
    /// How long ICE stays in `checking` without a successful check before it
    /// gives up (ICE and connection state `failed`), whether or not
    /// end-of-candidates arrived. Defaults to
    /// [`DEFAULT_ICE_CHECKING_TIMEOUT`](crate::ice::DEFAULT_ICE_CHECKING_TIMEOUT)
    /// (30 s, the consent timeout's figure).
    ///
    /// With it, a connection that never gets a remote description arms no
    /// timer at all (its `poll_timeout` is `None`) once server-reflexive
    /// gathering ended (about 7.5 s) and, if a peer's checks put ICE in
    /// `checking`, once this timeout passed.
    pub ice_checking_timeout: Duration,
    /// STUN error responses (400, 401, 420, 487) one source address may get
    /// per second, so a flood of bad requests with a spoofed source does not
    /// make eddy a reflector. Defaults to
    /// [`ERROR_RESPONSES_PER_SECOND`](crate::ice::ERROR_RESPONSES_PER_SECOND)
    /// (5); at most
    /// [`MAX_RATE_LIMITED_SOURCES`](crate::ice::MAX_RATE_LIMITED_SOURCES)
    /// sources are tracked.
    pub stun_error_responses_per_second: u32,
    /// STUN error responses one source address may get at once. Defaults to
    /// [`ERROR_RESPONSES_BURST`](crate::ice::ERROR_RESPONSES_BURST) (10).
    pub stun_error_responses_burst: u32,
    /// The identity the peer must prove (W3C `peerIdentity`): a remote
    /// description without a validated `a=identity` naming it is refused.
    /// Needs [`PeerConnection::set_identity_provider`](crate::PeerConnection::set_identity_provider).
    /// Defaults to `None`.
    pub peer_identity: Option<String>,
    /// Signal host candidates as `<uuid>.local` names instead of their
    /// addresses, and server-reflexive and relayed ones with a related
    /// address of `0.0.0.0:0`, as browsers do by default
    /// (draft-ietf-mmusic-mdns-ice-candidates): the peer resolves the
    /// names with mDNS, which the runtime answers for
    /// ([`PeerConnection::mdns_host_names`](crate::PeerConnection::mdns_host_names)
    /// feeds its [`MdnsResponder`](crate::mdns::MdnsResponder)). For
    /// clients on a LAN that should not reveal their addresses; a server
    /// with a public address leaves it off. Defaults to `false`.
    pub mdns_host_candidates: bool,
    /// Certificates (PEM) trusted for `turns:` servers besides the
    /// system's roots: a private TURN deployment's CA, or its self-signed
    /// certificate. The server's certificate must also name its IP
    /// address. Defaults to none.
    pub turns_trusted_certificates: Vec<Vec<u8>>,
    /// Whether RTP leaves through the pacer where transport-wide feedback
    /// was negotiated (as a browser's does): spread at 2.5 times the
    /// bandwidth estimate, audio first, with probes. With `false` a packet
    /// leaves when it is written (an application that paces itself, or
    /// forwards over a link it knows); the estimate is computed either
    /// way. Defaults to `true`.
    pub pacing: bool,
}

/// Default of [`Configuration::max_queued_events`]: 10,000 events.
pub const DEFAULT_MAX_QUEUED_EVENTS: usize = 10_000;

/// Default of [`Configuration::max_queued_event_bytes`]: 16 MiB, room for
/// 64 messages of the 256 KiB that eddy announces as `max-message-size`.
pub const DEFAULT_MAX_QUEUED_EVENT_BYTES: usize = 16 * 1024 * 1024;

impl Default for Configuration {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            ice_transport_policy: IceTransportPolicy::All,
            bundle_policy: BundlePolicy::Balanced,
            rtcp_mux_policy: RtcpMuxPolicy::Require,
            ice_candidate_pool_size: 0,
            certificates: Vec::new(),
            seed: None,
            mtu: 1200,
            ice_lite: false,
            dtls_client_version: DtlsVersion::Dtls12,
            wall_clock: None,
            max_queued_events: DEFAULT_MAX_QUEUED_EVENTS,
            max_queued_event_bytes: DEFAULT_MAX_QUEUED_EVENT_BYTES,
            ice_checking_timeout: crate::ice::DEFAULT_ICE_CHECKING_TIMEOUT,
            stun_error_responses_per_second: crate::ice::ERROR_RESPONSES_PER_SECOND,
            stun_error_responses_burst: crate::ice::ERROR_RESPONSES_BURST,
            peer_identity: None,
            mdns_host_candidates: false,
            turns_trusted_certificates: Vec::new(),
            pacing: true,
        }
    }
}

impl Configuration {
    /// The smallest MTU accepted: the IPv4 minimum reassembly size.
    pub const MIN_MTU: usize = 576;
    /// The largest MTU accepted: a jumbo frame.
    pub const MAX_MTU: usize = 9000;

    /// Sets the seed (builder style). See [`Configuration::seed`].
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sets the MTU (builder style). See [`Configuration::mtu`].
    pub fn with_mtu(mut self, mtu: usize) -> Self {
        self.mtu = mtu;
        self
    }

    /// Adds an ICE server (builder style).
    pub fn with_ice_server(mut self, server: IceServer) -> Self {
        self.ice_servers.push(server);
        self
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(Self::MIN_MTU..=Self::MAX_MTU).contains(&self.mtu) {
            return Err(ConfigError::Mtu(self.mtu));
        }
        if self.max_queued_events == 0 {
            return Err(ConfigError::ZeroLimit("max_queued_events"));
        }
        if self.max_queued_event_bytes == 0 {
            return Err(ConfigError::ZeroLimit("max_queued_event_bytes"));
        }
        if self.ice_checking_timeout.is_zero() {
            return Err(ConfigError::ZeroLimit("ice_checking_timeout"));
        }
        if self.stun_error_responses_per_second == 0 {
            return Err(ConfigError::ZeroLimit("stun_error_responses_per_second"));
        }
        if self.stun_error_responses_burst == 0 {
            return Err(ConfigError::ZeroLimit("stun_error_responses_burst"));
        }
        for server in &self.ice_servers {
            if server.urls.is_empty() {
                return Err(ConfigError::IceServerUrl(String::new()));
            }
            for url in &server.urls {
                let scheme = url.split(':').next().unwrap_or("");
                match scheme {
                    "stun" | "stuns" => {}
                    "turn" | "turns" => {
                        // W3C RTCConfiguration: "If scheme name is turn or turns,
                        // and either of server.username or server.credential do
                        // not exist, then throw an InvalidAccessError."
                        if server.username.is_none() || server.credential.is_none() {
                            return Err(ConfigError::TurnCredentials(url.clone()));
                        }
                    }
                    _ => return Err(ConfigError::IceServerUrl(url.clone())),
                }
            }
        }
        Ok(())
    }

    /// The wall-clock anchor, with the documented default.
    pub(crate) fn wall_clock_anchor(&self) -> SystemTime {
        self.wall_clock.unwrap_or(SystemTime::UNIX_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_values_are_named() {
        assert!(Configuration::default().validate().is_ok());
        assert_eq!(
            Configuration::default().with_mtu(100).validate(),
            Err(ConfigError::Mtu(100))
        );
        let turn = IceServer {
            urls: vec!["turn:127.0.0.1:3478".into()],
            username: None,
            credential: None,
        };
        assert!(matches!(
            Configuration::default().with_ice_server(turn).validate(),
            Err(ConfigError::TurnCredentials(_))
        ));
        for (name, mut c) in [
            ("max_queued_event_bytes", Configuration::default()),
            ("ice_checking_timeout", Configuration::default()),
            ("stun_error_responses_per_second", Configuration::default()),
            ("stun_error_responses_burst", Configuration::default()),
        ] {
            match name {
                "max_queued_event_bytes" => c.max_queued_event_bytes = 0,
                "ice_checking_timeout" => c.ice_checking_timeout = Duration::ZERO,
                "stun_error_responses_per_second" => c.stun_error_responses_per_second = 0,
                _ => c.stun_error_responses_burst = 0,
            }
            assert_eq!(c.validate(), Err(ConfigError::ZeroLimit(name)));
        }
        let bad = IceServer {
            urls: vec!["http://x".into()],
            username: None,
            credential: None,
        };
        assert!(matches!(
            Configuration::default().with_ice_server(bad).validate(),
            Err(ConfigError::IceServerUrl(_))
        ));
    }
}
