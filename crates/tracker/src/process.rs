//! What the tracker does with one message, without Kafka or files, beyond judging it
//! ([`deadletter::Inspection`]): spot duplicates and lifecycle events that arrive out of order. Everything here is pure and
//! unit-tested; the consumer loop calls it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;

use foldhash::fast::RandomState;
use models::OrderStatus;
use uuid::Uuid;

/// The last `capacity` keys seen, in a set with first-in-first-out eviction.
///
/// Every message looks a key up and most insert one (and evict one), so the set hashes with
/// foldhash instead of the standard SipHash (cheaper on these small keys; measured in
/// docs/benchmarks.md), still seeded at random per process, so keys chosen by whoever writes
/// to the topic cannot be aimed at one bucket in advance.
#[derive(Debug)]
pub struct BoundedSet<K> {
    capacity: usize,
    members: HashSet<K, RandomState>,
    arrival: VecDeque<K>,
}

impl<K: Eq + Hash + Clone> BoundedSet<K> {
    /// A set that remembers at most `capacity` keys; 0 remembers nothing.
    pub fn new(capacity: usize) -> Self {
        Self { capacity, members: HashSet::default(), arrival: VecDeque::new() }
    }

    /// Whether `key` is among the remembered ones.
    pub fn contains(&self, key: &K) -> bool {
        self.members.contains(key)
    }

    /// Remembers `key`, forgetting the oldest one when full.
    pub fn insert(&mut self, key: K) {
        if self.capacity == 0 || !self.members.insert(key.clone()) {
            return;
        }
        self.arrival.push_back(key);
        if self.arrival.len() > self.capacity {
            if let Some(oldest) = self.arrival.pop_front() {
                self.members.remove(&oldest);
            }
        }
    }

    /// Forgets every key.
    pub fn clear(&mut self) {
        self.members.clear();
        self.arrival.clear();
    }

    /// How many keys are remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether nothing is remembered.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// The furthest lifecycle status seen per order, for a bounded number of recent orders
/// (hashed with foldhash, like [`BoundedSet`]).
#[derive(Debug)]
pub struct OrderBook {
    capacity: usize,
    furthest: HashMap<Uuid, OrderStatus, RandomState>,
    arrival: VecDeque<Uuid>,
}

impl OrderBook {
    /// Remembers at most `capacity` orders.
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), furthest: HashMap::default(), arrival: VecDeque::new() }
    }

    /// Records `status` for `order_id`. Returns the status already reached when this one comes
    /// earlier in the lifecycle (an event that arrived out of order).
    pub fn record(&mut self, order_id: Uuid, status: &OrderStatus) -> Option<OrderStatus> {
        match self.furthest.get_mut(&order_id) {
            Some(furthest) if furthest.rank() > status.rank() => Some(furthest.clone()),
            Some(furthest) => {
                *furthest = status.clone();
                None
            }
            None => {
                self.furthest.insert(order_id, status.clone());
                self.arrival.push_back(order_id);
                if self.arrival.len() > self.capacity {
                    if let Some(oldest) = self.arrival.pop_front() {
                        self.furthest.remove(&oldest);
                    }
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn bounded_set_forgets_the_oldest() {
        let mut set = BoundedSet::new(2);
        set.insert(1);
        set.insert(2);
        set.insert(2);
        assert_eq!(set.len(), 2);
        set.insert(3);
        assert!(!set.contains(&1) && set.contains(&2) && set.contains(&3));
        let mut off = BoundedSet::new(0);
        off.insert(1);
        assert!(off.is_empty());
    }

    #[test]
    fn order_book_flags_events_that_go_back_in_the_lifecycle() {
        let mut book = OrderBook::new(10);
        let id = Uuid::from_u128(1);
        assert_eq!(book.record(id, &OrderStatus::Created), None);
        assert_eq!(book.record(id, &OrderStatus::Shipped), None);
        assert_eq!(book.record(id, &OrderStatus::Shipped), None, "a repeat is not out of order");
        assert_eq!(book.record(id, &OrderStatus::Paid), Some(OrderStatus::Shipped));
        assert_eq!(book.record(Uuid::from_u128(2), &OrderStatus::Delivered), None);
    }

    #[test]
    fn order_book_is_bounded() {
        let mut book = OrderBook::new(2);
        for n in 0..3 {
            book.record(Uuid::from_u128(n), &OrderStatus::Shipped);
        }
        assert_eq!(book.record(Uuid::from_u128(0), &OrderStatus::Created), None, "order 0 was forgotten");
        assert_eq!(book.record(Uuid::from_u128(2), &OrderStatus::Created), Some(OrderStatus::Shipped));
    }
}
