//! The DNS messages mDNS uses (RFC 1035 §4, RFC 6762 §18): questions for
//! A/AAAA records of `.local` names and answers carrying them. Parsing
//! follows compression pointers (RFC 1035 §4.1.4) backwards only, with a
//! bounded number of jumps; every error is a value.

use std::net::IpAddr;

/// RFC 1035 §3.2.2: TYPE A, a host address.
pub(crate) const TYPE_A: u16 = 1;
/// RFC 3596 §2.1: TYPE AAAA.
pub(crate) const TYPE_AAAA: u16 = 28;
/// RFC 1035 §3.2.3: QTYPE `*`, all records.
pub(crate) const TYPE_ANY: u16 = 255;
/// RFC 1035 §3.2.4: CLASS IN.
const CLASS_IN: u16 = 1;
/// RFC 6762 §5.4: the top bit of a question's class asks for a unicast
/// response (QU); §10.2: of an answer's class, "cache-flush".
pub(crate) const CLASS_TOP_BIT: u16 = 0x8000;
/// RFC 1035 §2.3.4: "names 255 octets or less".
const MAX_NAME: usize = 255;
/// RFC 1035 §2.3.4: "labels 63 octets or less".
const MAX_LABEL: usize = 63;
/// Compression pointers followed in one name, at most.
const MAX_JUMPS: usize = 16;
/// Records read from one message, at most (the rest are ignored).
const MAX_RECORDS: usize = 64;

/// A question (RFC 1035 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Question {
    pub(crate) name: String,
    pub(crate) qtype: u16,
    /// RFC 6762 §5.4: the QU bit.
    pub(crate) unicast_response: bool,
}

/// An address record of an answer (RFC 1035 §4.1.3), other types skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AddressRecord {
    pub(crate) name: String,
    pub(crate) ip: IpAddr,
    pub(crate) ttl: u32,
}

/// A parsed message: what eddy needs of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Message {
    pub(crate) id: u16,
    /// RFC 1035 §4.1.1: QR, a response.
    pub(crate) is_response: bool,
    pub(crate) questions: Vec<Question>,
    /// A and AAAA records of the answer and additional sections.
    pub(crate) addresses: Vec<AddressRecord>,
}

/// Why a message did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseError {
    Truncated,
    BadName,
    /// RFC 6762 §18.3: "Multicast DNS messages received with an OPCODE
    /// other than zero MUST be silently ignored"; §18.11 likewise RCODE.
    NotStandard,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, ParseError> {
        let b = *self.buf.get(self.pos).ok_or(ParseError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, ParseError> {
        Ok(u16::from(self.u8()?) << 8 | u16::from(self.u8()?))
    }

    fn u32(&mut self) -> Result<u32, ParseError> {
        Ok(u32::from(self.u16()?) << 16 | u32::from(self.u16()?))
    }

    fn bytes(&mut self, n: usize) -> Result<&[u8], ParseError> {
        let end = self.pos.checked_add(n).ok_or(ParseError::Truncated)?;
        let b = self.buf.get(self.pos..end).ok_or(ParseError::Truncated)?;
        self.pos = end;
        Ok(b)
    }

    /// A domain name (RFC 1035 §3.1, §4.1.4), dot-separated, without the
    /// root's trailing dot.
    fn name(&mut self) -> Result<String, ParseError> {
        let mut out = String::new();
        let mut pos = self.pos;
        let mut jumps = 0;
        // Where reading resumes: after the first pointer, or the end.
        let mut resume = None;
        loop {
            let len = usize::from(*self.buf.get(pos).ok_or(ParseError::Truncated)?);
            match len {
                0 => {
                    pos += 1;
                    break;
                }
                // "The first two bits are ones ... the OFFSET field
                // specifies an offset from the start of the message".
                l if l & 0xC0 == 0xC0 => {
                    let lo = usize::from(*self.buf.get(pos + 1).ok_or(ParseError::Truncated)?);
                    let target = (l & 0x3F) << 8 | lo;
                    // Backwards only: no loops.
                    if target >= pos || jumps >= MAX_JUMPS {
                        return Err(ParseError::BadName);
                    }
                    jumps += 1;
                    resume.get_or_insert(pos + 2);
                    pos = target;
                }
                l if l > MAX_LABEL => return Err(ParseError::BadName),
                l => {
                    let label = self
                        .buf
                        .get(pos + 1..pos + 1 + l)
                        .ok_or(ParseError::Truncated)?;
                    let label = std::str::from_utf8(label).map_err(|_| ParseError::BadName)?;
                    if label.contains('.') {
                        return Err(ParseError::BadName);
                    }
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(label);
                    if out.len() > MAX_NAME {
                        return Err(ParseError::BadName);
                    }
                    pos += 1 + l;
                }
            }
        }
        self.pos = resume.unwrap_or(pos);
        Ok(out)
    }
}

impl Message {
    /// Parses a message (RFC 1035 §4.1).
    pub(crate) fn parse(buf: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader { buf, pos: 0 };
        let id = r.u16()?;
        let flags = r.u16()?;
        // RFC 1035 §4.1.1: OPCODE bits 11..14, RCODE bits 0..3.
        if (flags >> 11) & 0xF != 0 || flags & 0xF != 0 {
            return Err(ParseError::NotStandard);
        }
        let qd = r.u16()?;
        let an = r.u16()?;
        let ns = r.u16()?;
        let ar = r.u16()?;
        let mut m = Self {
            id,
            is_response: flags & 0x8000 != 0,
            ..Self::default()
        };
        for _ in 0..qd {
            let name = r.name()?;
            let qtype = r.u16()?;
            let qclass = r.u16()?;
            if m.questions.len() < MAX_RECORDS {
                m.questions.push(Question {
                    name,
                    qtype,
                    unicast_response: qclass & CLASS_TOP_BIT != 0,
                });
            }
        }
        let records = usize::from(an) + usize::from(ns) + usize::from(ar);
        for _ in 0..records.min(MAX_RECORDS) {
            let name = r.name()?;
            let rtype = r.u16()?;
            let class = r.u16()? & !CLASS_TOP_BIT;
            let ttl = r.u32()?;
            let len = usize::from(r.u16()?);
            let data = r.bytes(len)?;
            let ip = match (rtype, class, data.len()) {
                (TYPE_A, CLASS_IN, 4) => IpAddr::from([data[0], data[1], data[2], data[3]]),
                (TYPE_AAAA, CLASS_IN, 16) => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(data);
                    IpAddr::from(a)
                }
                _ => continue,
            };
            m.addresses.push(AddressRecord { name, ip, ttl });
        }
        Ok(m)
    }
}

/// Appends `name` as labels (no compression). `name` must be valid
/// ([`valid_local_name`]).
fn write_name(out: &mut Vec<u8>, name: &str) {
    for label in name.split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

fn header(out: &mut Vec<u8>, id: u16, flags: u16, qd: u16, an: u16) {
    for v in [id, flags, qd, an, 0, 0] {
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// A query (RFC 6762 §5.1, "one-shot") for the A and AAAA records of
/// `name`.
pub(crate) fn query(id: u16, name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + 2 * (name.len() + 6));
    header(&mut out, id, 0, 2, 0);
    for qtype in [TYPE_A, TYPE_AAAA] {
        write_name(&mut out, name);
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
    }
    out
}

/// A response with one address record per `(name, ip)`; `question`
/// repeats the query's question (RFC 6762 §6.7, legacy unicast).
pub(crate) fn response(
    id: u16,
    question: Option<&Question>,
    answers: &[(&str, IpAddr)],
    ttl: u32,
    cache_flush: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    // RFC 6762 §18.2: QR set; §18.4: "AA bit MUST be set to one" in
    // responses.
    header(
        &mut out,
        id,
        0x8400,
        u16::from(question.is_some()),
        answers.len() as u16,
    );
    if let Some(q) = question {
        write_name(&mut out, &q.name);
        out.extend_from_slice(&q.qtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
    }
    for (name, ip) in answers {
        write_name(&mut out, name);
        let (rtype, data): (u16, Vec<u8>) = match ip {
            IpAddr::V4(v4) => (TYPE_A, v4.octets().to_vec()),
            IpAddr::V6(v6) => (TYPE_AAAA, v6.octets().to_vec()),
        };
        out.extend_from_slice(&rtype.to_be_bytes());
        let class = CLASS_IN | if cache_flush { CLASS_TOP_BIT } else { 0 };
        out.extend_from_slice(&class.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(&data);
    }
    out
}

/// Whether `name` is a name eddy resolves or publishes: labels of letters,
/// digits and hyphens under `.local` (RFC 6762 §3), within the RFC 1035
/// limits. The draft (draft-ietf-mmusic-mdns-ice-candidates §3.1.1) names
/// candidates `<UUID>.local`.
pub fn valid_local_name(name: &str) -> bool {
    let Some(host) = name
        .strip_suffix(".local")
        .or_else(|| name.strip_suffix(".LOCAL"))
    else {
        return false;
    };
    name.len() <= MAX_NAME
        && !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= MAX_LABEL
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}
