//! Packet index estimation and the replay window (RFC 3711 §3.3.1, §3.3.2,
//! Appendix A).

/// Replay window size in packets; at least 64 per RFC 3711 §3.3.2, and 128
/// like libsrtp's default for SRTP.
pub(crate) const WINDOW: u64 = 128;

/// Why an index is refused by the replay window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Seen before.
    Duplicate,
    /// Older than the window.
    TooOld,
}

/// A sliding window over the highest index seen.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReplayWindow {
    /// Highest index accepted, if any.
    top: Option<u64>,
    /// Bit `i` set: index `top - i` was accepted.
    bits: u128,
}

impl ReplayWindow {
    /// Whether `index` may be accepted (does not change the window).
    pub(crate) fn check(&self, index: u64) -> Result<(), Replay> {
        let Some(top) = self.top else {
            return Ok(());
        };
        if index > top {
            return Ok(());
        }
        let age = top - index;
        if age >= WINDOW {
            return Err(Replay::TooOld);
        }
        if self.bits & (1u128 << age) != 0 {
            return Err(Replay::Duplicate);
        }
        Ok(())
    }

    /// Records `index` as accepted. Call only after `check` and
    /// authentication passed.
    pub(crate) fn accept(&mut self, index: u64) {
        match self.top {
            None => {
                self.top = Some(index);
                self.bits = 1;
            }
            Some(top) if index > top => {
                let shift = index - top;
                self.bits = if shift >= WINDOW {
                    0
                } else {
                    self.bits << shift
                };
                self.bits |= 1;
                self.top = Some(index);
            }
            Some(top) => {
                let age = top - index;
                if age < WINDOW {
                    self.bits |= 1u128 << age;
                }
            }
        }
    }

    /// The highest index accepted.
    pub(crate) fn top(&self) -> Option<u64> {
        self.top
    }
}

/// The rollover counter guess `v` for sequence number `seq`, given the
/// current ROC and the highest sequence number `s_l` (RFC 3711 Appendix A).
/// `None` when the guess would be before the first cycle.
pub(crate) fn estimate_roc(roc: u32, s_l: u16, seq: u16) -> Option<u32> {
    // RFC 3711 Appendix A:
    //   if (s_l < 2^15)
    //       if (SEQ - s_l > 2^15) v = ROC - 1 else v = ROC
    //   else
    //       if (s_l - 2^15 > SEQ) v = ROC + 1 else v = ROC
    let (s_l, seq) = (i32::from(s_l), i32::from(seq));
    if s_l < 32768 {
        if seq - s_l > 32768 {
            roc.checked_sub(1)
        } else {
            Some(roc)
        }
    } else if s_l - 32768 > seq {
        roc.checked_add(1)
    } else {
        Some(roc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_accepts_new_rejects_duplicates_and_old() {
        let mut w = ReplayWindow::default();
        assert_eq!(w.check(1000), Ok(()));
        w.accept(1000);
        assert_eq!(w.check(1000), Err(Replay::Duplicate));
        assert_eq!(w.check(999), Ok(()));
        w.accept(999);
        assert_eq!(w.check(999), Err(Replay::Duplicate));
        assert_eq!(w.check(1000 - 127), Ok(()));
        assert_eq!(w.check(1000 - 128), Err(Replay::TooOld));
        w.accept(1200);
        assert_eq!(w.top(), Some(1200));
        assert_eq!(w.check(1000), Err(Replay::TooOld));
        assert_eq!(w.check(1199), Ok(()));
        w.accept(1199);
        assert_eq!(w.check(1199), Err(Replay::Duplicate));
        w.accept(5000);
        assert_eq!(w.check(4999), Ok(()));
    }

    #[test]
    fn roc_estimate_follows_appendix_a() {
        assert_eq!(estimate_roc(0, 100, 101), Some(0));
        assert_eq!(estimate_roc(0, 65535, 0), Some(1));
        assert_eq!(estimate_roc(0, 65500, 10), Some(1));
        assert_eq!(estimate_roc(1, 10, 65500), Some(0));
        assert_eq!(estimate_roc(0, 10, 65500), None);
        assert_eq!(estimate_roc(5, 40000, 39000), Some(5));
        assert_eq!(estimate_roc(u32::MAX, 65535, 0), None);
    }
}
