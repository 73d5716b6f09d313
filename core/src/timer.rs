//! The one timer table (ARCHITECTURE.md §5.5): every deadline the core keeps is a
//! slot here, and the next timeout is the minimum over the slots.

use std::time::Instant;

/// Everything in the core that may want to wake up. The slot a deadline is
/// kept in doubles as the *reason* for the next wake-up, which makes timer
/// storms debuggable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Timer {
    /// ICE: the next connectivity check, consent check or gathering step.
    Ice = 0,
    /// DTLS: handshake retransmission.
    Dtls = 1,
    /// SCTP: retransmission, delayed SACK, heartbeat.
    Sctp = 2,
    /// RTP/RTCP: reports, NACK, pacing.
    Media = 3,
}

impl Timer {
    /// Every timer, in table order.
    pub(crate) const ALL: [Self; 4] = [Self::Ice, Self::Dtls, Self::Sctp, Self::Media];
    const COUNT: usize = Self::ALL.len();
}

/// Deadlines indexed by [`Timer`]. "Never" is `None`, not a far-future
/// sentinel.
#[derive(Debug, Default, Clone)]
pub(crate) struct TimerTable {
    slots: [Option<Instant>; Timer::COUNT],
}

impl TimerTable {
    /// Arms `timer` to fire at `at`, replacing any earlier deadline.
    #[cfg(test)]
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.slots[timer as usize] = Some(at);
    }

    /// Disarms `timer`.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.slots[timer as usize] = None;
    }

    /// Sets or clears `timer` from an optional deadline.
    pub(crate) fn set_opt(&mut self, timer: Timer, at: Option<Instant>) {
        self.slots[timer as usize] = at;
    }

    /// The deadline of `timer`, if armed.
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.slots[timer as usize]
    }

    /// The earliest deadline and its reason.
    /// On a tie, the first in table order. (A plain loop: this runs at the
    /// end of every `poll_output`.)
    pub(crate) fn next(&self) -> Option<(Timer, Instant)> {
        let mut next: Option<(Timer, Instant)> = None;
        for t in Timer::ALL {
            if let Some(at) = self.slots[t as usize] {
                if next.is_none_or(|(_, earliest)| at < earliest) {
                    next = Some((t, at));
                }
            }
        }
        next
    }

    /// Disarms and returns the timers due at `now`, in table order.
    pub(crate) fn take_expired(&mut self, now: Instant) -> impl Iterator<Item = Timer> {
        let mut due = [false; Timer::COUNT];
        for t in Timer::ALL {
            if self.get(t).is_some_and(|at| at <= now) {
                self.stop(t);
                due[t as usize] = true;
            }
        }
        Timer::ALL.into_iter().filter(move |t| due[*t as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn next_is_the_minimum_and_expired_are_taken_once() {
        let t0 = crate::testutil::epoch();
        let mut table = TimerTable::default();
        assert_eq!(table.next(), None);
        table.set(Timer::Sctp, t0 + Duration::from_millis(30));
        table.set(Timer::Ice, t0 + Duration::from_millis(50));
        table.set(Timer::Dtls, t0 + Duration::from_millis(10));
        assert_eq!(
            table.next(),
            Some((Timer::Dtls, t0 + Duration::from_millis(10)))
        );
        let due: Vec<_> = table.take_expired(t0 + Duration::from_millis(30)).collect();
        assert_eq!(due, vec![Timer::Dtls, Timer::Sctp]);
        assert_eq!(
            table.next(),
            Some((Timer::Ice, t0 + Duration::from_millis(50)))
        );
        assert_eq!(
            table.take_expired(t0 + Duration::from_millis(30)).count(),
            0
        );
        table.stop(Timer::Ice);
        assert_eq!(table.next(), None);
    }
}
