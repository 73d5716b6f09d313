//! The one seeded random generator of a connection (ARCHITECTURE.md §5.2).

use std::time::Duration;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Every random number a connection uses comes from here: ICE credentials
/// and tie-breakers, SSRCs, sequence number starts, DTLS and SCTP seeds,
/// jitter on timers.
///
/// Seeded from [`Configuration::seed`](crate::Configuration::seed) when
/// given (tests, simulation: the run is reproducible), otherwise from
/// OpenSSL's CSPRNG.
/// The operating system gave no random bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub(crate) struct EntropyError;

#[derive(Debug, Clone)]
pub(crate) struct Rng {
    inner: ChaCha20Rng,
    /// Whether this generator was seeded by the user (deterministic mode).
    deterministic: bool,
}

/// A child generator not made yet ([`Rng::fork_seed`]).
#[derive(Debug, Clone)]
pub(crate) struct ForkSeed {
    seed: [u8; 32],
    deterministic: bool,
}

impl ForkSeed {
    /// The generator [`Rng::fork`] would have given.
    pub(crate) fn rng(&self) -> Rng {
        Rng {
            inner: ChaCha20Rng::from_seed(self.seed),
            deterministic: self.deterministic,
        }
    }
}

impl Rng {
    /// A generator from a user seed: same seed, same numbers.
    pub(crate) fn from_seed(seed: u64) -> Self {
        Self {
            inner: ChaCha20Rng::seed_from_u64(seed),
            deterministic: true,
        }
    }

    /// A generator seeded from the operating system's CSPRNG (ring's
    /// `SystemRandom`: `getrandom(2)` on Linux), about 1.4 µs against
    /// OpenSSL's `RAND_bytes` 3.6 µs per connection here.
    pub(crate) fn from_entropy() -> Result<Self, EntropyError> {
        let mut seed = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed)
            .map_err(|_| EntropyError)?;
        Ok(Self {
            inner: ChaCha20Rng::from_seed(seed),
            deterministic: false,
        })
    }

    /// True when the user gave a seed.
    pub(crate) fn is_deterministic(&self) -> bool {
        self.deterministic
    }

    /// A uniformly random `u32`.
    pub(crate) fn u32(&mut self) -> u32 {
        self.inner.next_u32()
    }

    /// A uniformly random `u64`.
    pub(crate) fn u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Fills `buf` with random bytes.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        self.inner.fill_bytes(buf);
    }

    #[cfg_attr(not(feature = "sim"), allow(dead_code))] // the simulator draws with it
    /// A uniformly random integer in `0..n` (`n > 0`; returns 0 for 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Rejection sampling keeps the distribution exactly uniform.
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.u64();
            if v < zone {
                return v % n;
            }
        }
    }

    /// A uniformly random part of `span`, in `[0, span)` to the
    /// nanosecond, in integers (a float's trip through `Duration` costs more
    /// than the draw itself on the consent path).
    pub(crate) fn part_of(&mut self, span: Duration) -> Duration {
        let nanos = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
        // The top 64 bits of a 64 × 64-bit product: floor(nanos * u / 2^64).
        let part = (u128::from(nanos) * u128::from(self.u64())) >> 64;
        Duration::from_nanos(u64::try_from(part).unwrap_or(u64::MAX))
    }

    /// A uniformly random float in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A child generator for a sub-component (DTLS, SCTP) that wants its own
    /// stream, drawn from this one so the whole tree follows the one seed.
    pub(crate) fn fork(&mut self) -> Self {
        let mut seed = [0u8; 32];
        self.fill(&mut seed);
        Self {
            inner: ChaCha20Rng::from_seed(seed),
            deterministic: self.deterministic,
        }
    }

    /// What [`fork`](Self::fork) would draw, kept for a child generator
    /// made later (or never): 33 bytes instead of a generator's 336.
    pub(crate) fn fork_seed(&mut self) -> ForkSeed {
        let mut seed = [0u8; 32];
        self.fill(&mut seed);
        ForkSeed {
            seed,
            deterministic: self.deterministic,
        }
    }

    /// Random characters from the ICE alphabet (RFC 8839 `ice-char`:
    /// ALPHA / DIGIT / "+" / "/"), for ufrag and pwd.
    pub(crate) fn ice_chars(&mut self, len: usize) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..len)
            .map(|_| char::from(ALPHABET[(self.u32() & 63) as usize]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_other_seed_other_numbers() {
        let mut a = Rng::from_seed(7);
        let mut b = Rng::from_seed(7);
        let mut c = Rng::from_seed(8);
        let va: Vec<u64> = (0..8).map(|_| a.u64()).collect();
        let vb: Vec<u64> = (0..8).map(|_| b.u64()).collect();
        let vc: Vec<u64> = (0..8).map(|_| c.u64()).collect();
        assert_eq!(va, vb);
        assert_ne!(va, vc);
        assert_eq!(a.fork().u64(), b.fork().u64());
    }

    #[test]
    fn below_and_unit_stay_in_range() {
        let mut r = Rng::from_seed(1);
        for n in 1..100 {
            assert!(r.below(n) < n);
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
        assert_eq!(r.below(0), 0);
        // A part of a span stays below it, and the draws spread over it: a
        // tenth of 2,000 draws of a 2 s span falls in each 0.2 s, give or
        // take 60 (≈ 4.5 standard deviations).
        let span = Duration::from_secs(2);
        let mut tenths = [0u32; 10];
        for _ in 0..2000 {
            let d = r.part_of(span);
            assert!(d < span, "{d:?}");
            tenths[(d.as_nanos() / 200_000_000) as usize] += 1;
        }
        assert!(tenths.iter().all(|&n| n.abs_diff(200) < 60), "{tenths:?}");
        assert_eq!(r.part_of(Duration::ZERO), Duration::ZERO);
        let s = r.ice_chars(24);
        assert_eq!(s.len(), 24);
        assert!(s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'));
    }

    #[test]
    fn entropy_generators_differ() {
        let mut a = Rng::from_entropy().unwrap();
        let mut b = Rng::from_entropy().unwrap();
        assert!(!a.is_deterministic());
        assert_ne!(a.u64(), b.u64());
    }
}
