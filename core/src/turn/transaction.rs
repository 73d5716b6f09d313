//! Client transactions over UDP (RFC 8489 §6.2.1): a request is
//! retransmitted with a doubling RTO until a response arrives or the
//! transaction times out.

use std::time::{Duration, Instant};

use crate::stun::TransactionId;

/// RFC 8489 §6.2.1: "RTO is an estimate of the round-trip time [...] with a
/// default of 500 ms" ("The value for RTO SHOULD be cached by a client
/// after the completion of the transaction" -- eddy keeps the default).
pub const RTO: Duration = Duration::from_millis(500);
/// RFC 8489 §6.2.1: "Retransmissions continue until a response is received
/// or until a total of Rc requests have been sent. Rc SHOULD be
/// configurable and SHOULD have a default of 7."
pub const RC: u32 = 7;
/// RFC 8489 §6.2.1: "If, after the last request, a duration equal to Rm
/// times the RTO has passed without a response [...], the client SHOULD
/// consider the transaction to have failed. Rm SHOULD be configurable and
/// SHOULD have a default of 16." With the defaults a transaction gives up
/// after 39.5 s.
pub const RM: u32 = 16;

/// What a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Allocate (RFC 8656 §7.1).
    Allocate,
    /// Refresh with this LIFETIME (RFC 8656 §8.1).
    Refresh(u32),
    /// CreatePermission for a peer IP (RFC 8656 §10.1).
    Permission(std::net::IpAddr),
    /// ChannelBind of a channel number to a peer (RFC 8656 §12.1).
    Bind(u16, std::net::SocketAddr),
}

/// One outstanding request.
#[derive(Debug, Clone)]
pub(crate) struct Transaction {
    pub(crate) tid: TransactionId,
    pub(crate) purpose: Purpose,
    /// The request as sent: retransmissions are byte-identical.
    pub(crate) bytes: Vec<u8>,
    /// When the next retransmission (or the give-up) is due.
    pub(crate) next_at: Instant,
    pub(crate) rto: Duration,
    /// Requests sent so far (1 after the first).
    pub(crate) sent: u32,
}

/// What the clock does to a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tick {
    /// Not due yet.
    Wait,
    /// Send the request again.
    Retransmit,
    /// No response after Rc requests and Rm x RTO: failed.
    GiveUp,
}

impl Transaction {
    /// A transaction whose first request goes out at `now`.
    pub(crate) fn new(tid: TransactionId, purpose: Purpose, bytes: Vec<u8>, now: Instant) -> Self {
        Self {
            tid,
            purpose,
            bytes,
            next_at: now + RTO,
            rto: RTO,
            sent: 1,
        }
    }

    /// Advances the schedule at `now`.
    pub(crate) fn tick(&mut self, now: Instant) -> Tick {
        if now < self.next_at {
            return Tick::Wait;
        }
        if self.sent >= RC {
            return Tick::GiveUp;
        }
        self.sent += 1;
        // RFC 8489 §6.2.1: "the client SHOULD retransmit [...] at times 0
        // ms, 500 ms, 1500 ms, 3500 ms, 7500 ms, 15500 ms, and 31500 ms":
        // the interval doubles each time.
        self.rto = self.rto.saturating_mul(2);
        self.next_at = if self.sent >= RC {
            // After the last request, wait Rm x RTO (RTO as first set).
            now + RTO.saturating_mul(RM)
        } else {
            now + self.rto
        };
        Tick::Retransmit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_8489_schedule_and_give_up() {
        let t0 = crate::testutil::epoch();
        let mut tx = Transaction::new(TransactionId([0; 12]), Purpose::Allocate, vec![], t0);
        let mut sends = vec![Duration::ZERO];
        let now = loop {
            let now = tx.next_at;
            match tx.tick(now) {
                Tick::Retransmit => sends.push(now - t0),
                Tick::GiveUp => break now,
                Tick::Wait => unreachable!("ticked at the deadline"),
            }
        };
        let ms: Vec<u128> = sends.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 500, 1500, 3500, 7500, 15500, 31500]);
        assert_eq!((now - t0).as_millis(), 39_500);
        assert_eq!(tx.tick(t0), Tick::Wait);
    }
}
