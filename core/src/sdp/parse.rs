//! The SDP parser (RFC 8866 §5, §9).
//!
//! Lenient where peers differ (CRLF or LF, trailing spaces, blank lines,
//! unknown line types and attributes, `s=`/`t=` missing), strict where a
//! typed attribute is malformed: the error names the 1-based line and the
//! reason. It never panics and its memory is bounded by the limits below.

use thiserror::Error;

use super::candidate::{CandidateParseError, SdpCandidate};
use super::model::*;
use crate::room::push_with_first_room;

/// The largest SDP accepted, in bytes (1 MiB).
pub(crate) const MAX_SDP_LEN: usize = 1 << 20;
/// The most lines accepted.
pub(crate) const MAX_LINES: usize = 20_000;
/// The longest line accepted, in bytes (H.264 `sprop-parameter-sets` can be
/// long; nothing legitimate comes near this).
pub(crate) const MAX_LINE_LEN: usize = 16 * 1024;
/// The most media sections accepted.
pub(crate) const MAX_MEDIA_SECTIONS: usize = 512;

/// Why a line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SdpErrorReason {
    /// The SDP is longer than [`Sdp::MAX_LEN`].
    #[error("SDP longer than {MAX_SDP_LEN} bytes")]
    TooLong,
    /// More than [`Sdp::MAX_LINES`] lines.
    #[error("more than {MAX_LINES} lines")]
    TooManyLines,
    /// A line is longer than [`Sdp::MAX_LINE_LEN`].
    #[error("line longer than {MAX_LINE_LEN} bytes")]
    LineTooLong,
    /// More than [`Sdp::MAX_MEDIA_SECTIONS`] media sections.
    #[error("more than {MAX_MEDIA_SECTIONS} media sections")]
    TooManyMediaSections,
    /// A line is not `<letter>=<value>`.
    #[error("not a <type>=<value> line")]
    BadLine,
    /// The first line is not `v=0`.
    #[error("first line must be v=0")]
    Version,
    /// No `o=` line.
    #[error("missing o= line")]
    MissingOrigin,
    /// `o=` malformed.
    #[error("bad o= line")]
    Origin,
    /// `c=` malformed.
    #[error("bad c= line")]
    Connection,
    /// `b=` malformed.
    #[error("bad b= line")]
    Bandwidth,
    /// `t=` malformed.
    #[error("bad t= line")]
    Timing,
    /// `m=` malformed.
    #[error("bad m= line")]
    Media,
    /// A line type appeared where it may not (`v=` or `o=` twice, ...).
    #[error("line out of place")]
    OutOfPlace,
    /// A known attribute is malformed.
    #[error("bad a={0} attribute")]
    Attribute(&'static str),
    /// An `a=candidate` is malformed.
    #[error("bad a=candidate: {0}")]
    Candidate(CandidateParseError),
}

/// An SDP the parser rejected: where and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("SDP line {line}: {reason}")]
pub struct SdpParseError {
    /// 1-based line number (0 for whole-document limits).
    pub line: usize,
    /// What is wrong with it.
    pub reason: SdpErrorReason,
}

fn err(line: usize, reason: SdpErrorReason) -> SdpParseError {
    SdpParseError { line, reason }
}

impl std::str::FromStr for Sdp {
    type Err = SdpParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Sdp {
    /// The largest SDP [`Sdp::parse`] accepts, in bytes (1 MiB).
    pub const MAX_LEN: usize = MAX_SDP_LEN;
    /// The most lines [`Sdp::parse`] accepts.
    pub const MAX_LINES: usize = MAX_LINES;
    /// The longest line [`Sdp::parse`] accepts, in bytes.
    pub const MAX_LINE_LEN: usize = MAX_LINE_LEN;
    /// The most media sections [`Sdp::parse`] accepts.
    pub const MAX_MEDIA_SECTIONS: usize = MAX_MEDIA_SECTIONS;

    /// Parses an SDP. See the module docs for what is accepted.
    pub fn parse(text: &str) -> Result<Self, SdpParseError> {
        if text.len() > MAX_SDP_LEN {
            return Err(err(0, SdpErrorReason::TooLong));
        }
        let mut parser = Parser::default();
        let mut seen_version = false;
        for (i, raw) in text.split('\n').enumerate() {
            let n = i + 1;
            if n > MAX_LINES {
                return Err(err(n, SdpErrorReason::TooManyLines));
            }
            if raw.len() > MAX_LINE_LEN {
                return Err(err(n, SdpErrorReason::LineTooLong));
            }
            // RFC 8866 §5: lines end in CRLF, but parsers should be tolerant
            // and also accept a single newline; trailing blanks are dropped.
            let line = raw.trim_end_matches(['\r', ' ', '\t']);
            if line.is_empty() {
                continue;
            }
            let bytes = line.as_bytes();
            let (kind, value) = match (bytes.first(), bytes.get(1)) {
                (Some(&k), Some(b'=')) if k.is_ascii_alphabetic() => {
                    (char::from(k), line.get(2..).unwrap_or(""))
                }
                _ => return Err(err(n, SdpErrorReason::BadLine)),
            };
            if !seen_version {
                // RFC 8866 §5.1: the description begins with `v=0`.
                if kind != 'v' || value.trim() != "0" {
                    return Err(err(n, SdpErrorReason::Version));
                }
                seen_version = true;
                continue;
            }
            parser.line(n, kind, value)?;
        }
        if !seen_version {
            return Err(err(0, SdpErrorReason::Version));
        }
        parser.finish()
    }
}

#[derive(Default)]
struct Parser {
    origin: Option<Origin>,
    session_name: Option<String>,
    session_info: Option<String>,
    connection: Option<Connection>,
    bandwidths: Vec<Bandwidth>,
    timing: Vec<Timing>,
    extra_lines: Vec<(char, String)>,
    attributes: SessionAttributes,
    media: Vec<MediaDescription>,
}

impl Parser {
    fn line(&mut self, n: usize, kind: char, value: &str) -> Result<(), SdpParseError> {
        if kind == 'm' {
            if self.media.len() >= MAX_MEDIA_SECTIONS {
                return Err(err(n, SdpErrorReason::TooManyMediaSections));
            }
            let m = parse_media_line(value).ok_or_else(|| err(n, SdpErrorReason::Media))?;
            // A data-channel-only session has one (~680 bytes each).
            push_first_exact(&mut self.media, m);
            return Ok(());
        }
        if let Some(media) = self.media.last_mut() {
            return match kind {
                'i' => {
                    media.info = Some(value.to_owned());
                    Ok(())
                }
                'c' => {
                    media.connection = Some(
                        parse_connection(value)
                            .ok_or_else(|| err(n, SdpErrorReason::Connection))?,
                    );
                    Ok(())
                }
                'b' => {
                    media.bandwidths.push(
                        parse_bandwidth(value).ok_or_else(|| err(n, SdpErrorReason::Bandwidth))?,
                    );
                    Ok(())
                }
                'a' => media_attribute(media, value).map_err(|r| err(n, r)),
                'v' | 'o' | 's' | 't' | 'r' | 'z' => Err(err(n, SdpErrorReason::OutOfPlace)),
                other => {
                    media.extra_lines.push((other, value.to_owned()));
                    Ok(())
                }
            };
        }
        match kind {
            'v' => return Err(err(n, SdpErrorReason::OutOfPlace)),
            'o' => {
                if self.origin.is_some() {
                    return Err(err(n, SdpErrorReason::OutOfPlace));
                }
                self.origin =
                    Some(parse_origin(value).ok_or_else(|| err(n, SdpErrorReason::Origin))?);
            }
            's' => self.session_name = Some(value.to_owned()),
            'i' => self.session_info = Some(value.to_owned()),
            'c' => {
                self.connection = Some(
                    parse_connection(value).ok_or_else(|| err(n, SdpErrorReason::Connection))?,
                )
            }
            'b' => self
                .bandwidths
                .push(parse_bandwidth(value).ok_or_else(|| err(n, SdpErrorReason::Bandwidth))?),
            't' => self
                .timing
                .push(parse_timing(value).ok_or_else(|| err(n, SdpErrorReason::Timing))?),
            'a' => session_attribute(&mut self.attributes, value).map_err(|r| err(n, r))?,
            other => self.extra_lines.push((other, value.to_owned())),
        }
        Ok(())
    }

    fn finish(self) -> Result<Sdp, SdpParseError> {
        let origin = self
            .origin
            .ok_or_else(|| err(0, SdpErrorReason::MissingOrigin))?;
        let mut timing = self.timing;
        if timing.is_empty() {
            // Lenient: RFC 8866 requires t=, WebRTC always means `t=0 0`.
            timing.push(Timing { start: 0, stop: 0 });
        }
        let mut sdp = Sdp {
            origin,
            session_name: self.session_name.unwrap_or_else(|| "-".to_owned()),
            session_info: self.session_info,
            connection: self.connection,
            bandwidths: self.bandwidths,
            timing,
            extra_lines: self.extra_lines,
            attributes: self.attributes,
            media: self.media,
        };
        sdp.shrink_to_fit();
        Ok(sdp)
    }
}

fn parse_origin(v: &str) -> Option<Origin> {
    let mut it = v.split_ascii_whitespace();
    let o = Origin {
        username: it.next()?.to_owned(),
        session_id: it.next()?.to_owned(),
        session_version: it.next()?.parse().ok()?,
        net_type: it.next()?.to_owned(),
        addr_type: it.next()?.to_owned(),
        address: it.next()?.to_owned(),
    };
    it.next().is_none().then_some(o)
}

fn parse_connection(v: &str) -> Option<Connection> {
    let mut it = v.split_ascii_whitespace();
    let c = Connection {
        net_type: it.next()?.to_owned(),
        addr_type: it.next()?.to_owned(),
        address: it.next()?.to_owned(),
    };
    it.next().is_none().then_some(c)
}

fn parse_bandwidth(v: &str) -> Option<Bandwidth> {
    let (t, b) = v.split_once(':')?;
    let t = t.trim();
    if t.is_empty() || t.contains(char::is_whitespace) {
        return None;
    }
    Some(Bandwidth {
        bw_type: t.to_owned(),
        bandwidth: b.trim().parse().ok()?,
    })
}

fn parse_timing(v: &str) -> Option<Timing> {
    let mut it = v.split_ascii_whitespace();
    let t = Timing {
        start: it.next()?.parse().ok()?,
        stop: it.next()?.parse().ok()?,
    };
    it.next().is_none().then_some(t)
}

fn parse_media_line(v: &str) -> Option<MediaDescription> {
    let mut it = v.split_ascii_whitespace();
    let media_type = MediaType::from_token(it.next()?);
    let port_field = it.next()?;
    let (port, port_count) = match port_field.split_once('/') {
        Some((p, c)) => (p.parse().ok()?, Some(c.parse().ok()?)),
        None => (port_field.parse().ok()?, None),
    };
    let protocol = it.next()?;
    let formats = owned_words(it);
    let mut m = MediaDescription::new(media_type, port, protocol, formats);
    m.port_count = port_count;
    Some(m)
}

/// `words` as owned strings, in a list of exactly their number: parsing
/// gives back a list's spare room at the end ([`Sdp::shrink_to_fit`]), a
/// reallocation for each list collected with the default room of four
/// (the words are counted first, a second pass over a short value).
fn owned_words<'a>(words: impl Iterator<Item = &'a str> + Clone) -> Vec<String> {
    let mut out = Vec::with_capacity(words.clone().count());
    out.extend(words.map(str::to_owned));
    out
}

/// Pushes `item`, with room for exactly one in a list that had none
/// ([`push_with_first_room`]): parsing gives back a list's spare room at
/// the end ([`Sdp::shrink_to_fit`]).
fn push_first_exact<T>(list: &mut Vec<T>, item: T) {
    push_with_first_room(list, 1, item);
}

/// A token: non-empty, no whitespace.
fn token(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty() && !v.contains(char::is_whitespace)).then(|| v.to_owned())
}

fn parse_fingerprint(v: &str) -> Option<Fingerprint> {
    // RFC 8122 §5: fingerprint-attribute = "fingerprint" ":" hash-func SP fingerprint
    let (hash, fp) = v.trim().split_once(' ')?;
    // `XX:XX:...`: pairs of hex digits at every third byte, each but the
    // last followed by ':', at most 64 (SHA-512), read by position rather
    // than split (a search for ':' per byte of digest). Sized once: no
    // excess for a well-formed value (the model is kept).
    let fp = fp.trim().as_bytes();
    if fp.len() % 3 != 2 || fp.len() / 3 >= 64 {
        return None;
    }
    let mut bytes = Vec::with_capacity(fp.len().div_ceil(3));
    for chunk in fp.chunks(3) {
        if chunk.get(2).is_some_and(|c| *c != b':') {
            return None;
        }
        bytes.push(hex_pair(chunk.get(..2)?)?);
    }
    Some(Fingerprint {
        hash: token(hash)?.to_ascii_lowercase(),
        bytes,
    })
}

/// Two bytes read as `u8::from_str_radix(pair, 16)` reads them: two hex
/// digits of either case, or `+` and one.
fn hex_pair(pair: &[u8]) -> Option<u8> {
    let digit = |b: &u8| char::from(*b).to_digit(16);
    let value = match pair {
        [b'+', low] => digit(low)?,
        [high, low] => digit(high)? * 16 + digit(low)?,
        _ => return None,
    };
    u8::try_from(value).ok()
}

fn parse_extmap(v: &str) -> Option<Extmap> {
    let mut it = v.trim().splitn(3, ' ');
    let head = it.next()?;
    let (id, direction) = match head.split_once('/') {
        Some((id, d)) => (id, Some(Direction::from_name(d)?)),
        None => (head, None),
    };
    let id: u16 = id.parse().ok()?;
    // RFC 8285 §5: ids 1-14 (one-byte), 1-255 (two-byte); 4096-4351 are
    // used in offers to propose a direction.
    if id == 0 || id > 4351 {
        return None;
    }
    let uri = token(it.next()?)?;
    let attributes = it
        .next()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    Some(Extmap {
        id,
        direction,
        uri,
        attributes,
    })
}

fn parse_simulcast(v: &str) -> Option<Simulcast> {
    // RFC 8853 §5.1: sc-value = ( sc-send [SP sc-recv] ) / ( sc-recv [SP sc-send] )
    let mut sim = Simulcast::default();
    let mut it = v.split_ascii_whitespace();
    while let Some(dir) = it.next() {
        let list = it.next()?;
        let mut streams = Vec::new();
        for stream in list.split(';') {
            let mut alts = Vec::new();
            for alt in stream.split(',') {
                let (paused, id) = match alt.strip_prefix('~') {
                    Some(id) => (true, id),
                    None => (false, alt),
                };
                if id.is_empty() {
                    return None;
                }
                alts.push(SimulcastRid {
                    id: id.to_owned(),
                    paused,
                });
            }
            streams.push(alts);
        }
        let slot = match dir {
            "send" => &mut sim.send,
            "recv" => &mut sim.recv,
            _ => return None,
        };
        if !slot.is_empty() {
            return None;
        }
        *slot = streams;
    }
    (!sim.send.is_empty() || !sim.recv.is_empty()).then_some(sim)
}

fn split_name(attr: &str) -> (&str, Option<&str>) {
    match attr.split_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (attr, None),
    }
}

fn other(attr: &str) -> Attribute {
    let (name, value) = split_name(attr);
    Attribute {
        name: name.to_owned(),
        value: value.map(str::to_owned),
    }
}

/// Shared by session and media level: ICE, DTLS, direction.
/// `Ok(true)` if handled.
fn common_attribute(
    name: &str,
    value: Option<&str>,
    ice: &mut IceAttributes,
    fingerprints: &mut Vec<Fingerprint>,
    setup: &mut Option<Setup>,
    tls_id: &mut Option<String>,
    direction: &mut Option<Direction>,
) -> Result<bool, SdpErrorReason> {
    use SdpErrorReason::Attribute as A;
    match (name, value) {
        ("ice-ufrag", Some(v)) => ice.ufrag = Some(token(v).ok_or(A("ice-ufrag"))?),
        ("ice-pwd", Some(v)) => ice.pwd = Some(token(v).ok_or(A("ice-pwd"))?),
        ("ice-options", Some(v)) => ice.options = owned_words(v.split_ascii_whitespace()),
        ("fingerprint", Some(v)) => {
            if fingerprints.len() >= 16 {
                return Err(A("fingerprint"));
            }
            push_first_exact(fingerprints, parse_fingerprint(v).ok_or(A("fingerprint"))?)
        }
        ("setup", Some(v)) => *setup = Some(Setup::from_value(v.trim()).ok_or(A("setup"))?),
        ("tls-id", Some(v)) => *tls_id = Some(token(v).ok_or(A("tls-id"))?),
        (d, None) if Direction::from_name(d).is_some() => *direction = Direction::from_name(d),
        _ => return Ok(false),
    }
    Ok(true)
}

fn session_attribute(s: &mut SessionAttributes, attr: &str) -> Result<(), SdpErrorReason> {
    use SdpErrorReason::Attribute as A;
    let (name, value) = split_name(attr);
    if common_attribute(
        name,
        value,
        &mut s.ice,
        &mut s.fingerprints,
        &mut s.setup,
        &mut s.tls_id,
        &mut s.direction,
    )? {
        return Ok(());
    }
    match (name, value) {
        ("group", Some(v)) => {
            let mut it = v.split_ascii_whitespace();
            let semantics = it.next().ok_or(A("group"))?.to_owned();
            push_first_exact(
                &mut s.groups,
                Group {
                    semantics,
                    mids: owned_words(it),
                },
            );
        }
        ("msid-semantic", Some(v)) => {
            let mut it = v.split_ascii_whitespace();
            let semantic = it.next().ok_or(A("msid-semantic"))?.to_owned();
            s.msid_semantic = Some(MsidSemantic {
                semantic,
                ids: owned_words(it),
            });
        }
        ("extmap-allow-mixed", None) => s.extmap_allow_mixed = true,
        ("ice-lite", None) => s.ice_lite = true,
        ("identity", Some(v)) => s.identity = Some(v.trim().to_owned()),
        ("extmap", Some(v)) => s.extmaps.push(parse_extmap(v).ok_or(A("extmap"))?),
        _ => s.other.push(other(attr)),
    }
    Ok(())
}

fn parse_pt(v: &str) -> Option<u8> {
    // RFC 3550 §5.1: the payload type is 7 bits.
    v.parse::<u8>().ok().filter(|pt| *pt < 128)
}

/// RFC 8866 §6.6:
/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`.
fn parse_rtpmap(v: &str) -> Result<RtpMap, SdpErrorReason> {
    use SdpErrorReason::Attribute as A;
    let (pt, rest) = v.trim().split_once(' ').ok_or(A("rtpmap"))?;
    let payload_type = parse_pt(pt).ok_or(A("rtpmap"))?;
    let mut parts = rest.trim().split('/');
    let encoding = token(parts.next().unwrap_or("")).ok_or(A("rtpmap"))?;
    let clock_rate = parts
        .next()
        .and_then(|c| c.trim().parse().ok())
        .ok_or(A("rtpmap"))?;
    let channels = match parts.next() {
        Some(c) => Some(c.trim().parse().map_err(|_| A("rtpmap"))?),
        None => None,
    };
    if parts.next().is_some() {
        return Err(A("rtpmap"));
    }
    Ok(RtpMap {
        payload_type,
        encoding,
        clock_rate,
        channels,
    })
}

/// RFC 4585 §4.2: `a=rtcp-fb`.
fn parse_rtcp_fb(v: &str) -> Result<RtcpFb, SdpErrorReason> {
    use SdpErrorReason::Attribute as A;
    let mut it = v.trim().splitn(3, ' ');
    let payload_type = match it.next() {
        Some("*") => None,
        Some(pt) => Some(parse_pt(pt).ok_or(A("rtcp-fb"))?),
        None => return Err(A("rtcp-fb")),
    };
    let fb_type = token(it.next().unwrap_or("")).ok_or(A("rtcp-fb"))?;
    let param = it
        .next()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    Ok(RtcpFb {
        payload_type,
        fb_type,
        param,
    })
}

/// RFC 5576 §4.1: `a=ssrc:<ssrc-id> <attribute>[:<value>]`.
fn parse_ssrc(v: &str) -> Result<SsrcAttribute, SdpErrorReason> {
    use SdpErrorReason::Attribute as A;
    let (id, rest) = v.trim().split_once(' ').ok_or(A("ssrc"))?;
    let ssrc = id.parse().map_err(|_| A("ssrc"))?;
    let (attribute, value) = split_name(rest.trim());
    Ok(SsrcAttribute {
        ssrc,
        attribute: token(attribute).ok_or(A("ssrc"))?,
        value: value.map(str::to_owned),
    })
}

/// RFC 8830 §2: `a=msid`.
fn parse_msid(v: &str) -> Result<Msid, SdpErrorReason> {
    use SdpErrorReason::Attribute as A;
    let mut it = v.split_ascii_whitespace();
    let stream_id = it.next().ok_or(A("msid"))?.to_owned();
    let track_id = it.next().map(str::to_owned);
    if it.next().is_some() {
        return Err(A("msid"));
    }
    Ok(Msid {
        stream_id,
        track_id,
    })
}

/// RFC 8851 §4: `a=rid`.
fn parse_rid(v: &str) -> Result<Rid, SdpErrorReason> {
    use SdpErrorReason::Attribute as A;
    let mut it = v.trim().splitn(3, ' ');
    let id = token(it.next().unwrap_or("")).ok_or(A("rid"))?;
    let direction = match it.next() {
        Some("send") => RidDirection::Send,
        Some("recv") => RidDirection::Recv,
        _ => return Err(A("rid")),
    };
    let params = it
        .next()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    Ok(Rid {
        id,
        direction,
        params,
    })
}

fn media_attribute(m: &mut MediaDescription, attr: &str) -> Result<(), SdpErrorReason> {
    use SdpErrorReason::Attribute as A;
    let (name, value) = split_name(attr);
    if common_attribute(
        name,
        value,
        &mut m.ice,
        &mut m.fingerprints,
        &mut m.setup,
        &mut m.tls_id,
        &mut m.direction,
    )? {
        return Ok(());
    }
    match (name, value) {
        ("mid", Some(v)) => m.mid = Some(token(v).ok_or(A("mid"))?),
        ("candidate", Some(_)) => match SdpCandidate::parse(attr) {
            Ok(c) => m.candidates.push(c),
            // RFC 8839 §5.1: candidates with a transport the agent does not
            // understand are ignored; the line is kept verbatim.
            Err(CandidateParseError::UnknownTransport(_)) => m.other.push(other(attr)),
            Err(e) => return Err(SdpErrorReason::Candidate(e)),
        },
        ("end-of-candidates", None) => m.end_of_candidates = true,
        ("rtcp-mux", None) => m.rtcp_mux = true,
        ("rtcp-rsize", None) => m.rtcp_rsize = true,
        ("rtpmap", Some(v)) => m.rtpmaps.push(parse_rtpmap(v)?),
        ("fmtp", Some(v)) => {
            let v = v.trim();
            let (pt, params) = v.split_once(' ').unwrap_or((v, ""));
            match parse_pt(pt) {
                Some(payload_type) => m.fmtps.push(Fmtp {
                    payload_type,
                    params: params.trim().to_owned(),
                }),
                // A non-RTP format (e.g. `webrtc-datachannel`): verbatim.
                None => m.other.push(other(attr)),
            }
        }
        ("rtcp-fb", Some(v)) => m.rtcp_fbs.push(parse_rtcp_fb(v)?),
        ("extmap", Some(v)) => m.extmaps.push(parse_extmap(v).ok_or(A("extmap"))?),
        ("ssrc", Some(v)) => m.ssrcs.push(parse_ssrc(v)?),
        ("ssrc-group", Some(v)) => {
            let mut it = v.split_ascii_whitespace();
            let semantics = it.next().ok_or(A("ssrc-group"))?.to_owned();
            let ssrcs = it
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| A("ssrc-group"))?;
            m.ssrc_groups.push(SsrcGroup { semantics, ssrcs });
        }
        ("msid", Some(v)) => m.msids.push(parse_msid(v)?),
        ("rid", Some(v)) => m.rids.push(parse_rid(v)?),
        ("simulcast", Some(v)) => m.simulcast = Some(parse_simulcast(v).ok_or(A("simulcast"))?),
        ("sctp-port", Some(v)) => m.sctp_port = Some(v.trim().parse().map_err(|_| A("sctp-port"))?),
        ("max-message-size", Some(v)) => {
            m.max_message_size = Some(v.trim().parse().map_err(|_| A("max-message-size"))?)
        }
        _ => m.other.push(other(attr)),
    }
    Ok(())
}
