//! A token bucket per source address for STUN error responses, so that
//! eddy is not a reflector: a spoofed flood of bad binding requests gets a
//! trickle of answers, not one each.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Default of [`IceConfig::error_responses_per_second`](super::IceConfig::error_responses_per_second):
/// error responses one source address may get per second, sustained.
pub const ERROR_RESPONSES_PER_SECOND: u32 = 5;
/// Default of [`IceConfig::error_responses_burst`](super::IceConfig::error_responses_burst):
/// error responses one source address may get at once (the bucket's size).
pub const ERROR_RESPONSES_BURST: u32 = 10;
/// Source addresses tracked at once. Beyond it, buckets that have refilled
/// (their source went quiet) are forgotten; if none has, a new source gets
/// no error response until one does.
pub const MAX_RATE_LIMITED_SOURCES: usize = 1024;

/// Token buckets keyed by source IP address, bounded in number.
#[derive(Debug)]
pub(super) struct RateLimiter {
    per_second: u32,
    burst: u32,
    max_sources: usize,
    /// Tokens left and when they were counted, per source.
    buckets: BTreeMap<IpAddr, (u32, Instant)>,
    /// The last sweep of full buckets, so a full map is swept at most once
    /// per refill period, not per packet.
    last_sweep: Option<Instant>,
}

impl RateLimiter {
    pub(super) fn new(per_second: u32, burst: u32, max_sources: usize) -> Self {
        Self {
            per_second: per_second.max(1),
            burst: burst.max(1),
            max_sources,
            buckets: BTreeMap::new(),
            last_sweep: None,
        }
    }

    /// The bucket of `source` after refilling for the time since its count.
    fn refill(&self, tokens: u32, since: Instant, now: Instant) -> (u32, Instant) {
        let per_token = Duration::from_secs(1) / self.per_second;
        let elapsed = now.saturating_duration_since(since);
        let earned = (elapsed.as_nanos() / per_token.as_nanos().max(1)).min(u128::from(self.burst));
        // `earned <= burst`, a u32.
        let earned = earned as u32;
        if tokens.saturating_add(earned) >= self.burst {
            (self.burst, now)
        } else {
            (tokens + earned, since + per_token * earned)
        }
    }

    /// Whether `source` may get one more error response at `now` (and
    /// takes the token if so).
    pub(super) fn allow(&mut self, source: IpAddr, now: Instant) -> bool {
        let (tokens, since) = match self.buckets.get(&source) {
            Some(&(tokens, since)) => self.refill(tokens, since, now),
            None => {
                if self.buckets.len() >= self.max_sources && !self.sweep(now) {
                    return false;
                }
                (self.burst, now)
            }
        };
        if tokens == 0 {
            self.buckets.insert(source, (0, since));
            return false;
        }
        self.buckets.insert(source, (tokens - 1, since));
        true
    }

    /// Forgets sources whose bucket is full again. Returns whether there is
    /// room now.
    fn sweep(&mut self, now: Instant) -> bool {
        let period = Duration::from_secs(1) / self.per_second * self.burst;
        if self.last_sweep.is_some_and(|t| now < t + period) {
            return self.buckets.len() < self.max_sources;
        }
        self.last_sweep = Some(now);
        let burst = self.burst;
        let full: Vec<IpAddr> = self
            .buckets
            .iter()
            .filter(|(_, &(tokens, since))| self.refill(tokens, since, now).0 >= burst)
            .map(|(ip, _)| *ip)
            .collect();
        for ip in full {
            self.buckets.remove(&ip);
        }
        self.buckets.len() < self.max_sources
    }

    /// Sources tracked now.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::epoch;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let mut r = RateLimiter::new(5, 10, 16);
        let t0 = epoch();
        let allowed = (0..100).filter(|_| r.allow(ip(1), t0)).count();
        assert_eq!(allowed, 10);
        // One second later: five more.
        let t1 = t0 + Duration::from_secs(1);
        let allowed = (0..100).filter(|_| r.allow(ip(1), t1)).count();
        assert_eq!(allowed, 5);
        // Another source has its own bucket.
        assert!(r.allow(ip(2), t1));
        // Quiet for long: the bucket refills to the burst, no more.
        let t2 = t1 + Duration::from_secs(3600);
        let allowed = (0..100).filter(|_| r.allow(ip(1), t2)).count();
        assert_eq!(allowed, 10);
    }

    #[test]
    fn the_map_stays_bounded_and_quiet_sources_make_room() {
        let mut r = RateLimiter::new(5, 10, 16);
        let t0 = epoch();
        for n in 0..1000 {
            r.allow(ip(n), t0);
        }
        assert_eq!(r.len(), 16);
        // A new source is refused while every tracked one is recent...
        assert!(!r.allow(ip(5000), t0));
        // ...and admitted once the tracked ones refilled.
        let later = t0 + Duration::from_secs(3);
        assert!(r.allow(ip(5000), later));
        assert!(r.len() <= 16);
    }
}
