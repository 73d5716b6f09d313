//! ICE candidates as SDP writes them (RFC 8839 §5.1, RFC 6544 §4.5) and the
//! browser's `RTCIceCandidate` form.
//!
//! ```text
//! candidate-attribute = "candidate" ":" foundation SP component-id SP
//!                       transport SP priority SP connection-address SP
//!                       port SP cand-type [SP rel-addr] [SP rel-port]
//!                       *(SP cand-extension)
//! ```

use std::fmt::{self, Write};
use std::net::{IpAddr, SocketAddr};

use thiserror::Error;

use super::write::push_u64;

/// The longest candidate line accepted, in bytes.
pub(crate) const MAX_CANDIDATE_LEN: usize = 4096;
/// The most extension attributes kept per candidate.
pub(crate) const MAX_CANDIDATE_EXTENSIONS: usize = 32;

/// The transport of a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateTransport {
    /// `udp`.
    Udp,
    /// `tcp` (RFC 6544).
    Tcp,
}

impl CandidateTransport {
    /// The token as browsers write it (lowercase).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
        }
    }
}

pub use crate::candidate_type::{CandidateKind, TcpType};

/// A candidate's address: an IP, or a name such as an mDNS `.local` name
/// that the application resolves (kept as a name, not an error).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CandidateAddress {
    /// An IP address and port.
    Ip(SocketAddr),
    /// A host name and port.
    Name(String, u16),
}

impl CandidateAddress {
    /// The port.
    pub fn port(&self) -> u16 {
        match self {
            Self::Ip(a) => a.port(),
            Self::Name(_, p) => *p,
        }
    }

    /// The address or name, as written in a candidate line.
    fn write_host(&self, out: &mut String) {
        match self {
            // Writing into a `String` cannot fail.
            Self::Ip(a) => {
                let _ = write!(out, "{}", a.ip());
            }
            Self::Name(n, _) => out.push_str(n),
        }
    }

    fn parse(host: &str, port: &str) -> Result<Self, CandidateParseError> {
        let port: u16 = port.parse().map_err(|_| CandidateParseError::Port)?;
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Self::Ip(SocketAddr::new(ip, port)));
        }
        // RFC 8839 §5.1: connection-address may be an FQDN; browsers use
        // mDNS names (`<uuid>.local`).
        let is_name = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        if is_name {
            Ok(Self::Name(host.to_owned(), port))
        } else {
            Err(CandidateParseError::Address)
        }
    }
}

/// One `candidate:` attribute value, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SdpCandidate {
    /// Foundation: 1 to 32 ice-chars.
    pub foundation: String,
    /// Component id: 1 is RTP (the only one with rtcp-mux).
    pub component: u16,
    /// UDP or TCP.
    pub transport: CandidateTransport,
    /// Priority (RFC 8445 §5.1.2).
    pub priority: u32,
    /// Address and port.
    pub address: CandidateAddress,
    /// host, srflx, prflx or relay.
    pub kind: CandidateKind,
    /// `raddr`/`rport`.
    pub related_address: Option<CandidateAddress>,
    /// `tcptype`, for TCP candidates.
    pub tcp_type: Option<TcpType>,
    /// Other extension attributes (`generation 0`, `network-id 1`, ...),
    /// verbatim and in order.
    pub extensions: Vec<(String, String)>,
}

/// Why a candidate line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CandidateParseError {
    /// Longer than [`SdpCandidate::MAX_LEN`].
    #[error("candidate line too long")]
    TooLong,
    /// Does not start with `candidate:`.
    #[error("missing `candidate:` prefix")]
    Prefix,
    /// A required field is missing.
    #[error("missing field {0}")]
    Missing(&'static str),
    /// Foundation is not 1..=32 ice-chars.
    #[error("bad foundation")]
    Foundation,
    /// Component id is not 1..=256.
    #[error("bad component id")]
    Component,
    /// A transport other than UDP or TCP. RFC 8839 §5.1: such lines are
    /// ignored, so the SDP parser keeps them verbatim.
    #[error("unknown transport {0:?}")]
    UnknownTransport(String),
    /// Priority is not a 32-bit number.
    #[error("bad priority")]
    Priority,
    /// The address is neither an IP nor a host name.
    #[error("bad address")]
    Address,
    /// The port is not 0..=65535.
    #[error("bad port")]
    Port,
    /// `typ` is missing or unknown.
    #[error("bad candidate type")]
    Type,
    /// `raddr` without `rport`, bad `tcptype`, or an extension without value.
    #[error("bad extension {0:?}")]
    Extension(String),
    /// More than [`SdpCandidate::MAX_EXTENSIONS`] extensions.
    #[error("too many extensions")]
    TooManyExtensions,
}

fn is_ice_char(b: u8) -> bool {
    // RFC 8839 §5.1: ice-char = ALPHA / DIGIT / "+" / "/"
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

impl SdpCandidate {
    /// The longest candidate line [`SdpCandidate::parse`] accepts, in bytes.
    pub const MAX_LEN: usize = MAX_CANDIDATE_LEN;
    /// The most extension attributes kept per candidate.
    pub const MAX_EXTENSIONS: usize = MAX_CANDIDATE_EXTENSIONS;

    /// Parses `candidate:...` (an `a=` prefix is accepted and ignored).
    pub fn parse(s: &str) -> Result<Self, CandidateParseError> {
        if s.len() > MAX_CANDIDATE_LEN {
            return Err(CandidateParseError::TooLong);
        }
        let s = s.trim();
        let s = s.strip_prefix("a=").unwrap_or(s);
        let rest = s
            .strip_prefix("candidate:")
            .ok_or(CandidateParseError::Prefix)?;
        let mut it = rest.split_ascii_whitespace();
        let mut next = |what| it.next().ok_or(CandidateParseError::Missing(what));
        let foundation = next("foundation")?;
        if foundation.is_empty() || foundation.len() > 32 || !foundation.bytes().all(is_ice_char) {
            return Err(CandidateParseError::Foundation);
        }
        // RFC 8839 §5.1: component-id = 1*3DIGIT, "between 1 and 256".
        let component: u16 = next("component")?
            .parse()
            .map_err(|_| CandidateParseError::Component)?;
        if !(1..=256).contains(&component) {
            return Err(CandidateParseError::Component);
        }
        let transport_token = next("transport")?;
        // RFC 8839 §5.1: transport is case-insensitive ("UDP" / extension).
        let transport = if transport_token.eq_ignore_ascii_case("udp") {
            CandidateTransport::Udp
        } else if transport_token.eq_ignore_ascii_case("tcp") {
            CandidateTransport::Tcp
        } else {
            return Err(CandidateParseError::UnknownTransport(
                transport_token.to_owned(),
            ));
        };
        let priority: u32 = next("priority")?
            .parse()
            .map_err(|_| CandidateParseError::Priority)?;
        let host = next("address")?;
        let port = next("port")?;
        let address = CandidateAddress::parse(host, port)?;
        if next("typ")? != "typ" {
            return Err(CandidateParseError::Type);
        }
        let kind = CandidateKind::from_token(next("type")?).ok_or(CandidateParseError::Type)?;
        let mut candidate = Self {
            foundation: foundation.to_owned(),
            component,
            transport,
            priority,
            address,
            kind,
            related_address: None,
            tcp_type: None,
            extensions: Vec::new(),
        };
        candidate.parse_extensions(it)?;
        Ok(candidate)
    }

    /// The `name value` pairs after the type: `raddr`/`rport`, `tcptype`,
    /// and up to [`MAX_EXTENSIONS`](Self::MAX_EXTENSIONS) others, kept.
    fn parse_extensions<'a>(
        &mut self,
        mut it: impl Iterator<Item = &'a str>,
    ) -> Result<(), CandidateParseError> {
        let mut raddr: Option<&str> = None;
        while let Some(name) = it.next() {
            let value = it
                .next()
                .ok_or_else(|| CandidateParseError::Extension(name.to_owned()))?;
            match name {
                "raddr" => raddr = Some(value),
                "rport" => {
                    let host = raddr
                        .take()
                        .ok_or_else(|| CandidateParseError::Extension(name.to_owned()))?;
                    self.related_address = Some(CandidateAddress::parse(host, value)?);
                }
                "tcptype" => {
                    self.tcp_type = Some(match value {
                        "active" => TcpType::Active,
                        "passive" => TcpType::Passive,
                        "so" => TcpType::SimultaneousOpen,
                        _ => return Err(CandidateParseError::Extension(name.to_owned())),
                    });
                }
                _ => {
                    if self.extensions.len() >= MAX_CANDIDATE_EXTENSIONS {
                        return Err(CandidateParseError::TooManyExtensions);
                    }
                    self.extensions.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        if raddr.is_some() {
            // RFC 8839 §5.1: rel-addr and rel-port come together.
            return Err(CandidateParseError::Extension("raddr".to_owned()));
        }
        Ok(())
    }
}

impl SdpCandidate {
    /// `candidate:...` (without `a=`), the `Display` text, appended to
    /// `out` piece by piece: the SDP writer's path, without a formatter
    /// per field or a string per address.
    pub(crate) fn write_to(&self, out: &mut String) {
        out.push_str("candidate:");
        out.push_str(&self.foundation);
        out.push(' ');
        push_u64(out, u64::from(self.component));
        out.push(' ');
        out.push_str(self.transport.as_str());
        out.push(' ');
        push_u64(out, u64::from(self.priority));
        out.push(' ');
        self.address.write_host(out);
        out.push(' ');
        push_u64(out, u64::from(self.address.port()));
        out.push_str(" typ ");
        out.push_str(self.kind.as_str());
        if let Some(r) = &self.related_address {
            out.push_str(" raddr ");
            r.write_host(out);
            out.push_str(" rport ");
            push_u64(out, u64::from(r.port()));
        }
        if let Some(t) = self.tcp_type {
            out.push_str(" tcptype ");
            out.push_str(t.as_str());
        }
        for (k, v) in &self.extensions {
            out.push(' ');
            out.push_str(k);
            out.push(' ');
            out.push_str(v);
        }
    }
}

impl fmt::Display for SdpCandidate {
    /// Writes `candidate:...` (without `a=`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(96);
        self.write_to(&mut out);
        f.write_str(&out)
    }
}

/// W3C RTCIceCandidate: a candidate plus the m-line it belongs to.
///
/// `candidate: None` is the end-of-candidates indication (the browser's
/// empty `candidate` string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCandidate {
    /// The candidate, or `None` for end-of-candidates.
    pub candidate: Option<SdpCandidate>,
    /// The `a=mid` of its media section.
    pub sdp_mid: Option<String>,
    /// The index of its media section.
    pub sdp_m_line_index: Option<u16>,
    /// The ICE ufrag it belongs to.
    pub username_fragment: Option<String>,
}

impl IceCandidate {
    /// Builds one from the browser's fields; an empty `candidate` is
    /// end-of-candidates.
    pub fn new(
        candidate: &str,
        sdp_mid: Option<&str>,
        sdp_m_line_index: Option<u16>,
    ) -> Result<Self, CandidateParseError> {
        let candidate = if candidate.trim().is_empty() {
            None
        } else {
            Some(SdpCandidate::parse(candidate)?)
        };
        Ok(Self {
            candidate,
            sdp_mid: sdp_mid.map(str::to_owned),
            sdp_m_line_index,
            username_fragment: None,
        })
    }

    /// The browser's `candidate` string (`candidate:...`, or empty).
    pub fn candidate_string(&self) -> String {
        self.candidate
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use super::IceCandidate;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Json {
        candidate: String,
        #[serde(default)]
        sdp_mid: Option<String>,
        #[serde(default, rename = "sdpMLineIndex")]
        sdp_m_line_index: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username_fragment: Option<String>,
    }

    impl Serialize for IceCandidate {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            Json {
                candidate: self.candidate_string(),
                sdp_mid: self.sdp_mid.clone(),
                sdp_m_line_index: self.sdp_m_line_index,
                username_fragment: self.username_fragment.clone(),
            }
            .serialize(s)
        }
    }

    impl<'de> Deserialize<'de> for IceCandidate {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let j = Json::deserialize(d)?;
            let mut c = Self::new(&j.candidate, j.sdp_mid.as_deref(), j.sdp_m_line_index)
                .map_err(serde::de::Error::custom)?;
            c.username_fragment = j.username_fragment;
            Ok(c)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_transport_round_trips() {
        for line in [
            "candidate:583445391 1 udp 2122260223 127.0.0.1 57011 typ host generation 0 network-id 1 network-cost 50",
            "candidate:3698097947 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 network-id 1 network-cost 50",
            "candidate:842163049 1 udp 1677729535 203.0.113.7 40001 typ srflx raddr 10.0.0.2 rport 50000 generation 0",
            "candidate:1 1 udp 1845501695 198.51.100.1 3478 typ prflx raddr 0.0.0.0 rport 0",
            "candidate:2 1 udp 41885439 192.0.2.9 61234 typ relay raddr 203.0.113.7 rport 40001",
            "candidate:3 1 tcp 1518214911 ::1 9 typ host tcptype passive",
            "candidate:4 2 udp 2122194687 2001:db8::5 5000 typ host",
            "candidate:5 1 udp 2122260223 1f2e3d4c-aaaa-bbbb-cccc-0123456789ab.local 56565 typ host generation 0",
            "candidate:6 1 tcp 1 host.example.com 443 typ relay raddr a.local rport 1 tcptype so",
        ] {
            let c = SdpCandidate::parse(line).unwrap();
            assert_eq!(c.to_string(), line);
            assert_eq!(SdpCandidate::parse(&c.to_string()).unwrap(), c);
        }
    }

    #[test]
    fn fields_are_typed() {
        let c = SdpCandidate::parse(
            "a=candidate:x 1 UDP 7 8b2c.local 9 typ srflx raddr 10.0.0.1 rport 5 ufrag abc",
        )
        .unwrap();
        assert_eq!(c.transport, CandidateTransport::Udp);
        assert_eq!(c.kind, CandidateKind::ServerReflexive);
        assert_eq!(c.address, CandidateAddress::Name("8b2c.local".into(), 9));
        assert_eq!(
            c.related_address,
            Some(CandidateAddress::Ip("10.0.0.1:5".parse().unwrap()))
        );
        assert_eq!(c.extensions, vec![("ufrag".into(), "abc".into())]);
    }

    #[test]
    fn bad_lines_say_why() {
        use CandidateParseError as E;
        for (line, err) in [
            ("foo", E::Prefix),
            ("candidate:", E::Missing("foundation")),
            ("candidate:1 0 udp 1 1.2.3.4 5 typ host", E::Component),
            (
                "candidate:1 1 sctp 1 1.2.3.4 5 typ host",
                E::UnknownTransport("sctp".into()),
            ),
            ("candidate:1 1 udp x 1.2.3.4 5 typ host", E::Priority),
            ("candidate:1 1 udp 1 1.2.3.4 70000 typ host", E::Port),
            ("candidate:1 1 udp 1 1.2.3.4 5 type host", E::Type),
            ("candidate:1 1 udp 1 1.2.3.4 5 typ bogus", E::Type),
            (
                "candidate:1 1 udp 1 1.2.3.4 5 typ host raddr",
                E::Extension("raddr".into()),
            ),
            (
                "candidate:1 1 udp 1 1.2.3.4 5 typ host raddr 1.1.1.1",
                E::Extension("raddr".into()),
            ),
            (
                "candidate:1 1 udp 1 1.2.3.4 5 typ host tcptype x",
                E::Extension("tcptype".into()),
            ),
            ("candidate:1 1 udp 1 [::1] 5 typ host", E::Address),
            ("candidate:a-b 1 udp 1 1.1.1.1 5 typ host", E::Foundation),
        ] {
            assert_eq!(SdpCandidate::parse(line), Err(err), "{line}");
        }
        assert_eq!(
            SdpCandidate::parse(&"x".repeat(MAX_CANDIDATE_LEN + 1)),
            Err(E::TooLong)
        );
    }

    #[test]
    fn empty_candidate_is_end_of_candidates() {
        let c = IceCandidate::new("", Some("0"), None).unwrap();
        assert!(c.candidate.is_none());
        assert_eq!(c.candidate_string(), "");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn json_shape_is_the_browsers() {
        let json = r#"{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"}"#;
        let c: IceCandidate = serde_json::from_str(json).unwrap();
        assert_eq!(c.sdp_mid.as_deref(), Some("0"));
        assert_eq!(c.sdp_m_line_index, Some(0));
        assert_eq!(c.username_fragment.as_deref(), Some("abcd"));
        assert_eq!(serde_json::to_string(&c).unwrap(), json);
        let end: IceCandidate =
            serde_json::from_str(r#"{"candidate":"","sdpMid":null,"sdpMLineIndex":1}"#).unwrap();
        assert!(end.candidate.is_none());
        assert!(serde_json::from_str::<IceCandidate>(r#"{"candidate":"junk"}"#).is_err());
    }
}
