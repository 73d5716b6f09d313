//! Giving back the room of empty queues: an idle connection keeps none of
//! what its setup's bursts needed (ARCHITECTURE.md §5.5). Called from the
//! layers' `trim`s on timer wakeups a second or more after the last
//! datagram (`PeerConnection::handle_timeout`: not at the timers of a setup
//! still exchanging datagrams); what is freed is allocated again when
//! traffic resumes.

use std::collections::VecDeque;

/// A collection whose room can go once it holds nothing.
pub(crate) trait FreeIfEmpty {
    /// Frees the collection's room if it is empty.
    fn free_if_empty(&mut self) {
        self.keep_if_empty(0);
    }

    /// If it is empty, gives back all but room for `n` items: what an idle
    /// connection's periodic traffic needs each time, kept so that it
    /// allocates nothing per wakeup (issue 13).
    fn keep_if_empty(&mut self, n: usize);
}

impl<T> FreeIfEmpty for VecDeque<T> {
    fn keep_if_empty(&mut self, n: usize) {
        // Shrinking an empty one to 0 frees it. Checked first: most calls
        // (each timer wakeup's trims) find nothing to give back.
        if self.is_empty() && self.capacity() > n {
            self.shrink_to(n);
        }
    }
}

impl<T> FreeIfEmpty for Vec<T> {
    fn keep_if_empty(&mut self, n: usize) {
        // Shrinking an empty one to 0 frees it. Checked first: most calls
        // (each timer wakeup's trims) find nothing to give back.
        if self.is_empty() && self.capacity() > n {
            self.shrink_to(n);
        }
    }
}

/// Pushes `item`, giving a list that had no room exactly `first` slots:
/// for lists that nearly always hold that many (a BUNDLE group, a
/// fingerprint, an SDP's one media section, a pair's check and its
/// nomination), which would otherwise take the default first room of
/// four, give it back at a shrink, or for items of a few hundred bytes
/// take an allocation past the allocator's small-size caches. More items
/// grow the list as usual.
pub(crate) fn push_with_first_room<T>(list: &mut Vec<T>, first: usize, item: T) {
    if list.capacity() == 0 {
        list.reserve_exact(first);
    }
    list.push(item);
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

    #[test]
    fn a_list_without_room_gets_the_first_room_asked() {
        let mut list: Vec<[u8; 600]> = Vec::new();
        push_with_first_room(&mut list, 2, [0; 600]);
        assert_eq!(list.capacity(), 2);
        push_with_first_room(&mut list, 2, [1; 600]);
        push_with_first_room(&mut list, 2, [2; 600]);
        assert_eq!(list.len(), 3);
        assert!(list.capacity() >= 3, "grown as usual");
    }

    #[test]
    fn keep_if_empty_keeps_room_for_n() {
        let mut queue: VecDeque<u64> = VecDeque::with_capacity(64);
        queue.push_back(1);
        queue.keep_if_empty(2);
        assert!(queue.capacity() >= 64, "not empty: kept whole");
        queue.clear();
        queue.keep_if_empty(2);
        assert!((2..64).contains(&queue.capacity()));
        let mut held: Vec<u64> = Vec::with_capacity(1);
        held.keep_if_empty(2);
        assert_eq!(held.capacity(), 1, "never grown");
    }
}
