//! Links: one direction of a wire, with delay, jitter, loss, reordering,
//! duplication, bandwidth with a tail-drop queue, and an MTU.

use std::time::Duration;

use crate::rng::Rng;

/// How a link loses packets.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Loss {
    /// Nothing is lost. The default.
    #[default]
    None,
    /// Each packet is lost independently with this probability (0.0..=1.0).
    Random(f64),
    /// The Gilbert–Elliott two-state model: bursts of loss. Each packet first
    /// moves the chain (good→bad with `p`, bad→good with `r`), then is lost
    /// with the loss probability of the state it is in. The mean burst
    /// length is `1 / r` packets; the stationary share of time in the bad
    /// state is `p / (p + r)`.
    GilbertElliott {
        /// Probability of moving from good to bad, per packet.
        p: f64,
        /// Probability of moving from bad to good, per packet.
        r: f64,
        /// Loss probability in the good state (often 0).
        loss_good: f64,
        /// Loss probability in the bad state (often 1).
        loss_bad: f64,
    },
}

/// One direction of a link. `LinkConfig::default()` is a perfect wire: no
/// delay, no loss, unlimited bandwidth, no MTU.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LinkConfig {
    /// Fixed one-way propagation delay.
    pub delay: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` per packet. Packets stay
    /// in order unless `reorder` says otherwise (like a real queue).
    pub jitter: Duration,
    /// How packets are lost.
    pub loss: Loss,
    /// Probability that a packet is held back by `reorder_delay` and so
    /// overtaken by the packets behind it.
    pub reorder: f64,
    /// How long a reordered packet is held back. Defaults to zero; set it
    /// when `reorder` is set.
    pub reorder_delay: Duration,
    /// Probability that a packet is delivered twice.
    pub duplicate: f64,
    /// Bandwidth in bits per second; `None` is unlimited.
    pub bandwidth_bps: Option<u64>,
    /// Bytes that may wait for the wire before new packets are tail-dropped
    /// (only with a bandwidth). `0` means 64 KiB.
    pub queue_bytes: usize,
    /// Largest packet (payload bytes, as the node sent them) the link
    /// carries; larger ones are dropped. `None` is no limit.
    pub mtu: Option<usize>,
}

impl LinkConfig {
    /// A link with this one-way delay and nothing else.
    pub fn with_delay(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::default()
        }
    }
}

/// The two directions of a node's (or NAT's) attachment to its network.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Link {
    /// From the node towards the network.
    pub up: LinkConfig,
    /// From the network towards the node.
    pub down: LinkConfig,
}

impl Link {
    /// The same configuration in both directions.
    pub fn symmetric(config: LinkConfig) -> Self {
        Self {
            up: config,
            down: config,
        }
    }
}

/// Why a packet did not make it across a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkDrop {
    Lost,
    QueueFull,
    TooBig,
}

/// The state of one direction.
#[derive(Debug)]
pub(crate) struct LinkState {
    pub(crate) config: LinkConfig,
    /// When the wire is free again (bandwidth).
    busy_until: Duration,
    /// The latest arrival scheduled, to keep jittered packets in order.
    last_arrival: Duration,
    /// Gilbert–Elliott state: true when bad.
    bad: bool,
}

impl LinkState {
    pub(crate) fn new(config: LinkConfig) -> Self {
        Self {
            config,
            busy_until: Duration::ZERO,
            last_arrival: Duration::ZERO,
            bad: false,
        }
    }

    /// Sends `size` bytes at `now`: the arrival time(s) (two when
    /// duplicated) or why it was dropped.
    pub(crate) fn transmit(
        &mut self,
        now: Duration,
        size: usize,
        rng: &mut Rng,
    ) -> Result<[Option<Duration>; 2], LinkDrop> {
        let c = self.config;
        if c.mtu.is_some_and(|mtu| size > mtu) {
            return Err(LinkDrop::TooBig);
        }
        let mut departure = now;
        if let Some(bps) = c.bandwidth_bps.filter(|&b| b > 0) {
            let limit = if c.queue_bytes == 0 {
                64 * 1024
            } else {
                c.queue_bytes
            };
            let start = self.busy_until.max(now);
            let backlog_bytes =
                ((start - now).as_nanos() * u128::from(bps) / 8_000_000_000) as usize;
            if backlog_bytes + size > limit {
                return Err(LinkDrop::QueueFull);
            }
            let serialization =
                Duration::from_nanos((size as u128 * 8 * 1_000_000_000 / u128::from(bps)) as u64);
            departure = start + serialization;
            self.busy_until = departure;
        }
        if self.lose(rng) {
            return Err(LinkDrop::Lost);
        }
        let mut arrival = departure + c.delay + jitter(c.jitter, rng);
        if c.reorder > 0.0 && rng.unit() < c.reorder {
            arrival += c.reorder_delay;
        } else {
            arrival = arrival.max(self.last_arrival);
            self.last_arrival = arrival;
        }
        let dup = (c.duplicate > 0.0 && rng.unit() < c.duplicate)
            .then(|| arrival + jitter(c.jitter, rng));
        Ok([Some(arrival), dup])
    }

    fn lose(&mut self, rng: &mut Rng) -> bool {
        match self.config.loss {
            Loss::None => false,
            Loss::Random(p) => p > 0.0 && rng.unit() < p,
            Loss::GilbertElliott {
                p,
                r,
                loss_good,
                loss_bad,
            } => {
                let flip = if self.bad { r } else { p };
                if rng.unit() < flip {
                    self.bad = !self.bad;
                }
                let loss = if self.bad { loss_bad } else { loss_good };
                loss > 0.0 && rng.unit() < loss
            }
        }
    }
}

fn jitter(max: Duration, rng: &mut Rng) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    Duration::from_nanos(rng.below(max.as_nanos() as u64 + 1))
}
