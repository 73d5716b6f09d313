//! Answering for our `.local` candidate names (RFC 6762 §6), sans-IO.

use std::net::{IpAddr, SocketAddr};

use super::message::{self, valid_local_name, Message, TYPE_A, TYPE_AAAA, TYPE_ANY};
use super::{MDNS_PORT, MDNS_V4, MDNS_V6};

/// Names one responder publishes, at most.
pub const MAX_PUBLISHED_NAMES: usize = 64;
/// RFC 6762 §10: "the recommended TTL value for ... host name records is
/// ... 120 seconds".
const HOST_TTL: u32 = 120;
/// RFC 6762 §6.7: in legacy unicast responses "the TTL ... SHOULD NOT be
/// greater than ten seconds".
const LEGACY_TTL: u32 = 10;

/// Answers queries for the names it publishes: feed it what arrives on
/// port 5353 of the mDNS group with [`handle_query`](Self::handle_query)
/// and send what it returns.
#[derive(Debug, Default, Clone)]
pub struct MdnsResponder {
    names: Vec<(String, IpAddr)>,
    /// Queries answered.
    pub answered: u64,
}

impl MdnsResponder {
    /// A responder publishing nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Publishes `name` for `ip`; false if the name is not a `.local` host
    /// name or too many are published. Publishing a name again replaces
    /// its address.
    pub fn publish(&mut self, name: &str, ip: IpAddr) -> bool {
        if !valid_local_name(name) {
            return false;
        }
        if let Some(e) = self
            .names
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            e.1 = ip;
            return true;
        }
        if self.names.len() >= MAX_PUBLISHED_NAMES {
            return false;
        }
        self.names.push((name.to_owned(), ip));
        true
    }

    /// Stops publishing `name`.
    pub fn unpublish(&mut self, name: &str) {
        self.names.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The published names.
    pub fn names(&self) -> &[(String, IpAddr)] {
        &self.names
    }

    /// A datagram from `source` on the mDNS port: the answer and where to
    /// send it, if it asked for one of our names.
    pub fn handle_query(
        &mut self,
        data: &[u8],
        source: SocketAddr,
    ) -> Option<(Vec<u8>, SocketAddr)> {
        let m = Message::parse(data).ok()?;
        if m.is_response {
            return None;
        }
        let mut answers: Vec<(&str, IpAddr)> = Vec::new();
        let mut matched = None;
        let mut unicast = false;
        for q in &m.questions {
            for (name, ip) in &self.names {
                let family = match q.qtype {
                    TYPE_A => ip.is_ipv4(),
                    TYPE_AAAA => ip.is_ipv6(),
                    TYPE_ANY => true,
                    _ => false,
                };
                if family && name.eq_ignore_ascii_case(&q.name) {
                    if !answers.iter().any(|(n, i)| n == name && i == ip) {
                        answers.push((name, *ip));
                    }
                    matched.get_or_insert(q);
                    unicast |= q.unicast_response;
                }
            }
        }
        let question = matched?;
        self.answered += 1;
        if source.port() != MDNS_PORT {
            // RFC 6762 §6.7: a one-shot querier ("source port other than
            // 5353") gets a unicast response that "MUST repeat the query
            // ID and the question given in the query message", with no
            // cache-flush bit.
            let reply = message::response(m.id, Some(question), &answers, LEGACY_TTL, false);
            return Some((reply, source));
        }
        // RFC 6762 §6: multicast (or, for a QU question, unicast)
        // responses carry ID zero and no questions; host records are
        // unique, so "cache-flush" is set (§10.2).
        let reply = message::response(0, None, &answers, HOST_TTL, true);
        let group = if source.is_ipv4() { MDNS_V4 } else { MDNS_V6 };
        Some((reply, if unicast { source } else { group }))
    }
}
