//! What a probe cluster measured: the rate its packets left at against
//! the rate they arrived at.

use std::collections::BTreeMap;
use std::time::Instant;

use super::ProbeId;

/// Clusters tracked at once; the oldest is forgotten first.
const MAX_CLUSTERS: usize = 8;
/// Results are computed once this many probe packets arrived.
pub(crate) const MIN_PROBE_PACKETS: u32 = 5;
/// Received slower than this share of the send rate, the link limited the
/// probe: its capacity is the receive rate (Chrome's 0.9), of which this
/// share is taken (0.95) to leave the queue room to drain.
const SATURATED_RATIO: f64 = 0.9;
const TARGET_UTILISATION: f64 = 0.95;
/// Spans longer than this are not one cluster any more.
const MAX_SPAN_US: i64 = 1_000_000;

#[derive(Debug, Clone, Copy)]
struct Cluster {
    sent: u32,
    sent_bytes: u64,
    first_send: Instant,
    last_send: Instant,
    last_send_size: u32,
    received: u32,
    lost: u32,
    received_bytes: u64,
    first_arrival: i64,
    first_arrival_size: u32,
    last_arrival: i64,
}

/// A probe's outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ProbeResult {
    /// The cluster.
    pub(crate) id: ProbeId,
    /// The rate the path carried, bit/s.
    pub(crate) estimate: f64,
    /// The rate the probe was sent at, bit/s.
    pub(crate) send_rate: f64,
}

/// Per-cluster send and receive accounting.
#[derive(Debug, Default)]
pub(crate) struct ProbeEstimator {
    clusters: BTreeMap<ProbeId, Cluster>,
}

impl ProbeEstimator {
    /// A probe packet of `size` bytes sent at `now`.
    pub(crate) fn on_sent(&mut self, id: ProbeId, now: Instant, size: u32) {
        if !self.clusters.contains_key(&id) && self.clusters.len() >= MAX_CLUSTERS {
            self.clusters.pop_first();
        }
        let c = self.clusters.entry(id).or_insert(Cluster {
            sent: 0,
            sent_bytes: 0,
            first_send: now,
            last_send: now,
            last_send_size: 0,
            received: 0,
            lost: 0,
            received_bytes: 0,
            first_arrival: 0,
            first_arrival_size: 0,
            last_arrival: 0,
        });
        c.sent += 1;
        c.sent_bytes += u64::from(size);
        c.last_send = now;
        c.last_send_size = size;
    }

    /// A probe packet reported received at `arrival` (µs, receiver clock).
    pub(crate) fn on_received(&mut self, id: ProbeId, arrival: i64, size: u32) {
        let Some(c) = self.clusters.get_mut(&id) else {
            return;
        };
        if c.received == 0 || arrival < c.first_arrival {
            c.first_arrival = arrival;
            c.first_arrival_size = size;
        }
        c.last_arrival = c.last_arrival.max(arrival);
        c.received += 1;
        c.received_bytes += u64::from(size);
    }

    /// A probe packet reported lost.
    pub(crate) fn on_lost(&mut self, id: ProbeId) {
        if let Some(c) = self.clusters.get_mut(&id) {
            c.lost += 1;
        }
    }

    /// Whether every packet of cluster `id` was reported.
    pub(crate) fn complete(&self, id: ProbeId) -> bool {
        self.clusters
            .get(&id)
            .is_some_and(|c| c.received + c.lost >= c.sent)
    }

    /// The result of cluster `id`, once enough of it arrived.
    pub(crate) fn result(&self, id: ProbeId) -> Option<ProbeResult> {
        let c = self.clusters.get(&id)?;
        if c.received < MIN_PROBE_PACKETS || c.sent < MIN_PROBE_PACKETS {
            return None;
        }
        let send_span = c
            .last_send
            .saturating_duration_since(c.first_send)
            .as_micros() as i64;
        let receive_span = c.last_arrival - c.first_arrival;
        if send_span <= 0 || receive_span <= 0 || send_span > MAX_SPAN_US {
            return None;
        }
        if receive_span > MAX_SPAN_US {
            return None;
        }
        // The last packet's bytes left after the send span ended, the
        // first's arrived before the receive span began.
        let send_rate =
            (c.sent_bytes - u64::from(c.last_send_size)) as f64 * 8e6 / send_span as f64;
        let receive_rate =
            (c.received_bytes - u64::from(c.first_arrival_size)) as f64 * 8e6 / receive_span as f64;
        let estimate = if receive_rate < SATURATED_RATIO * send_rate {
            TARGET_UTILISATION * receive_rate
        } else {
            send_rate.min(receive_rate)
        };
        Some(ProbeResult {
            id,
            estimate,
            send_rate,
        })
    }

    /// Forgets cluster `id` (its result was used).
    pub(crate) fn finish(&mut self, id: ProbeId) {
        self.clusters.remove(&id);
    }
}
