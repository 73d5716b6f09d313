//! Per-connection randomness for a provider made of statics.
//!
//! dimpl's `CryptoProvider` is a table of `&'static` trait objects with no
//! per-connection state, so a seeded connection lends its generator to the
//! current thread for the duration of each call into dimpl
//! ([`with_rng`]). While lent, every random byte the provider draws —
//! handshake randoms, ephemeral keys — comes from it; otherwise from the
//! operating system's generator ([`fill`]) or OpenSSL's. This is how a
//! seeded handshake becomes byte-for-byte reproducible (ARCHITECTURE.md
//! §5.2) without a global generator.

use std::cell::RefCell;

use crate::rng::Rng;

thread_local! {
    static LENT: RefCell<Option<Rng>> = const { RefCell::new(None) };
}

/// Runs `f` with `rng` lent to the provider (if `Some`), then takes it back.
pub(crate) fn with_rng<R>(rng: &mut Option<Rng>, f: impl FnOnce() -> R) -> R {
    let Some(lent) = rng.take() else {
        return f();
    };
    LENT.with(|slot| *slot.borrow_mut() = Some(lent));
    let out = f();
    *rng = LENT.with(|slot| slot.borrow_mut().take());
    out
}

/// Fills `buf` from the lent generator; false when none is lent.
pub(crate) fn fill_lent(buf: &mut [u8]) -> bool {
    LENT.with(|slot| match slot.borrow_mut().as_mut() {
        Some(rng) => {
            rng.fill(buf);
            true
        }
        None => false,
    })
}

/// True while a seeded generator is lent (deterministic mode).
pub(crate) fn is_deterministic() -> bool {
    LENT.with(|slot| slot.borrow().is_some())
}

/// Fills `buf` with random bytes: from the lent generator, or the operating
/// system's (`getrandom(2)`, through ring): ~0.35 µs for 32 bytes here,
/// against ~0.7 µs from OpenSSL's generator, whose per-call locking and
/// reseed bookkeeping cost more than the system call (a handshake draws
/// its random, an X25519 key and, for a new certificate, a serial).
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), openssl::error::ErrorStack> {
    if fill_lent(buf) {
        return Ok(());
    }
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), buf)
        .map_err(|_| openssl::error::ErrorStack::get())
}
