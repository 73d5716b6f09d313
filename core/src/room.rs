//! Giving back the room of empty queues: an idle connection keeps none of
//! what its setup's bursts needed (ARCHITECTURE.md §5.5). Called from the
//! layers' `trim`s on timer wakeups; what is freed is allocated again when
//! traffic resumes.

use std::collections::VecDeque;

/// A collection whose room can go once it holds nothing.
pub(crate) trait FreeIfEmpty {
    /// Frees the collection's room if it is empty.
    fn free_if_empty(&mut self);
}

impl<T> FreeIfEmpty for VecDeque<T> {
    fn free_if_empty(&mut self) {
        if self.is_empty() {
            *self = Self::new();
        }
    }
}

impl<T> FreeIfEmpty for Vec<T> {
    fn free_if_empty(&mut self) {
        if self.is_empty() {
            *self = Self::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_empty_collections_give_their_room_back() {
        let mut queue: VecDeque<u8> = VecDeque::with_capacity(64);
        queue.free_if_empty();
        assert_eq!(queue.capacity(), 0);
        let mut held = Vec::with_capacity(64);
        held.push(1u8);
        held.free_if_empty();
        assert!(held.capacity() >= 64);
        held.clear();
        held.free_if_empty();
        assert_eq!(held.capacity(), 0);
    }
}
