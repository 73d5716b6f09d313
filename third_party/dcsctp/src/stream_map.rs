//! Maps and sets keyed by stream id with a cheap hash (EDDY-PATCH 11).
//!
//! The std `HashMap`'s SipHash was about 2% of a data channel transfer:
//! every sent and received chunk looks its stream up. A stream id is a
//! `u16` bounded by the negotiated stream count, so flooding a table with
//! colliding keys is bounded too; a multiplicative hash is enough.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::api::StreamId;

/// Fibonacci hashing: the golden-ratio multiplier spreads consecutive ids.
const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

/// A multiplicative hasher for small integer keys.
#[derive(Default, Clone, Copy)]
pub(crate) struct StreamIdHasher(u64);

impl Hasher for StreamIdHasher {
    fn finish(&self) -> u64 {
        // Folds the well-mixed high half into the low bits the table
        // indexes with.
        self.0 ^ (self.0 >> 32)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(MULTIPLIER);
        }
    }

    fn write_u16(&mut self, n: u16) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(MULTIPLIER);
    }
}

/// A `HashMap` keyed by stream id.
pub(crate) type StreamMap<V> = HashMap<StreamId, V, BuildHasherDefault<StreamIdHasher>>;

/// A `HashSet` of stream ids.
pub(crate) type StreamSet = HashSet<StreamId, BuildHasherDefault<StreamIdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_ids_spread_over_the_low_bits() {
        let buckets: HashSet<u64> = (0..64u16)
            .map(|id| {
                let mut h = StreamIdHasher::default();
                std::hash::Hash::hash(&StreamId(id), &mut h);
                h.finish() & 63
            })
            .collect();
        assert!(buckets.len() > 32, "{} buckets of 64", buckets.len());
    }

    #[test]
    fn maps_work_as_maps() {
        let mut m: StreamMap<u32> = StreamMap::default();
        for id in 0..1000u16 {
            m.insert(StreamId(id), u32::from(id) * 2);
        }
        assert_eq!(m.len(), 1000);
        assert!((0..1000u16).all(|id| m[&StreamId(id)] == u32::from(id) * 2));
    }
}
