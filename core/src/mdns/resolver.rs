//! Resolving the peer's `.local` candidate names (RFC 6762 §5.1 one-shot
//! queries), sans-IO.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::message::{self, valid_local_name, Message};

/// Names being resolved at once, at most; more are refused.
pub const MAX_PENDING_QUERIES: usize = 32;
/// When each query of a name goes out, after the first: RFC 6762 §5.2
/// "the interval between the first two queries MUST be at least one
/// second, the intervals between successive queries MUST increase by at
/// least a factor of two". After the last, [`GIVE_UP_AFTER`].
pub const QUERY_SCHEDULE: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_secs(1),
    Duration::from_secs(3),
];
/// A name with no answer this long after its first query fails.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(7);

/// What became of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MdnsResolution {
    /// An address record answered it.
    Resolved {
        /// The name, as asked.
        name: String,
        /// Its address.
        ip: IpAddr,
    },
    /// No answer came in time.
    Failed {
        /// The name, as asked.
        name: String,
    },
}

#[derive(Debug)]
struct Pending {
    name: String,
    started: Instant,
    /// Queries sent.
    sent: usize,
}

/// Resolves `.local` names: [`resolve`](Self::resolve) a name, send what
/// [`poll_transmit`](Self::poll_transmit) gives to [`MDNS_V4`](super::MDNS_V4)
/// from any UDP socket, feed what that socket receives to
/// [`handle_receive`](Self::handle_receive), and drive
/// [`poll_timeout`](Self::poll_timeout) / [`handle_timeout`](Self::handle_timeout);
/// results come from [`poll_result`](Self::poll_result).
#[derive(Debug, Default)]
pub struct MdnsResolver {
    pending: Vec<Pending>,
    out: VecDeque<Vec<u8>>,
    results: VecDeque<MdnsResolution>,
    next_id: u16,
    /// Datagrams that were not a usable answer.
    pub ignored: u64,
}

impl MdnsResolver {
    /// A resolver with nothing to do.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts resolving `name` (a query goes out at once). False if the
    /// name is not a `.local` host name or too many are pending; a name
    /// already pending is not asked twice.
    pub fn resolve(&mut self, now: Instant, name: &str) -> bool {
        if !valid_local_name(name) {
            return false;
        }
        if self
            .pending
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(name))
        {
            return true;
        }
        if self.pending.len() >= MAX_PENDING_QUERIES {
            return false;
        }
        self.pending.push(Pending {
            name: name.to_owned(),
            started: now,
            sent: 0,
        });
        self.handle_timeout(now);
        true
    }

    /// Whether `name` is being resolved.
    pub fn is_pending(&self, name: &str) -> bool {
        self.pending
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// A datagram received on the querying socket (or the mDNS port).
    pub fn handle_receive(&mut self, data: &[u8]) {
        let Ok(m) = Message::parse(data) else {
            self.ignored += 1;
            return;
        };
        // RFC 6762 §6: answers are in responses; a query is not one.
        if !m.is_response {
            self.ignored += 1;
            return;
        }
        for a in m.addresses {
            if let Some(i) = self
                .pending
                .iter()
                .position(|p| p.name.eq_ignore_ascii_case(&a.name))
            {
                let p = self.pending.swap_remove(i);
                self.results.push_back(MdnsResolution::Resolved {
                    name: p.name,
                    ip: a.ip,
                });
            }
        }
    }

    /// A query to send to the mDNS group.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    /// A name resolved or given up.
    pub fn poll_result(&mut self) -> Option<MdnsResolution> {
        self.results.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending
            .iter()
            .map(|p| match QUERY_SCHEDULE.get(p.sent) {
                Some(d) => p.started + *d,
                None => p.started + GIVE_UP_AFTER,
            })
            .min()
    }

    /// Sends the queries whose time came and gives up on names unanswered
    /// for too long.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.pending.len() {
            let p = &mut self.pending[i];
            if let Some(d) = QUERY_SCHEDULE.get(p.sent) {
                if now >= p.started + *d {
                    p.sent += 1;
                    // RFC 6762 §18.1: "In multicast query messages, the
                    // Query Identifier SHOULD be set to zero"; one-shot
                    // queriers may use any (§6.7 echoes it): a counter.
                    self.next_id = self.next_id.wrapping_add(1);
                    self.out.push_back(message::query(self.next_id, &p.name));
                }
                i += 1;
            } else if now >= p.started + GIVE_UP_AFTER {
                let p = self.pending.swap_remove(i);
                self.results
                    .push_back(MdnsResolution::Failed { name: p.name });
            } else {
                i += 1;
            }
        }
    }
}
