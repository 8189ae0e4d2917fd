//! Business figures from valid orders: revenue, created orders counted once, statuses,
//! customers; and the compact keys of order ids.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{MAX_CUSTOMERS, MAX_STATUSES, ORDER_DEDUP_WINDOW};

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CustomerTotals {
    pub(super) orders: u64,
    pub(super) revenue_cents: i64,
}

/// Order ids remembered in a bounded window, oldest forgotten first.
#[derive(Debug, Default)]
pub(super) struct RecentIds {
    pub(super) order: VecDeque<u128>,
    pub(super) set: HashSet<u128, std::hash::BuildHasherDefault<FoldHasher>>,
}

impl RecentIds {
    /// Remembers `id`; false when it was already there.
    pub(super) fn insert(&mut self, id: u128) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > ORDER_DEDUP_WINDOW {
            if let Some(oldest) = self.order.pop_front() {
                self.set.remove(&oldest);
            }
        }
        true
    }
}

/// Names interned in a small table (statuses, payment methods), capped; further names share
/// the `(other)` entry.
#[derive(Debug, Default)]
pub(super) struct NameTable {
    pub(super) names: Vec<String>,
}

impl NameTable {
    pub(super) fn index(&mut self, name: &str) -> u8 {
        if let Some(index) = self.names.iter().position(|known| known == name) {
            return index as u8;
        }
        if self.names.len() < MAX_STATUSES {
            self.names.push(name.to_owned());
            return (self.names.len() - 1) as u8;
        }
        match self.names.iter().position(|known| known == "(other)") {
            Some(index) => index as u8,
            None => {
                self.names.push("(other)".to_owned());
                (self.names.len() - 1) as u8
            }
        }
    }
}

/// Where an order stands: the furthest status seen and its payment method.
#[derive(Debug, Clone, Copy)]
pub(super) struct OrderState {
    pub(super) status: u8,
    pub(super) method: Option<u8>,
}

/// Place of a status in the order lifecycle; unknown statuses come last.
pub fn lifecycle_rank(status: &str) -> u8 {
    match status {
        "created" => 0,
        "paid" => 1,
        "shipped" => 2,
        "delivered" => 3,
        "cancelled" => 4,
        _ => 5,
    }
}

/// A product of the created orders.
#[derive(Debug, Clone, Default)]
pub(super) struct ProductTotals {
    pub(super) name: String,
    pub(super) quantity: u64,
    pub(super) orders: u64,
}

#[derive(Debug, Default)]
pub(super) struct Business {
    pub(super) revenue_cents: i64,
    pub(super) created_orders: u64,
    pub(super) repeated_created: u64,
    pub(super) statuses: NameTable,
    pub(super) methods: NameTable,
    /// Per order id: where it stands (bounded by [`MAX_ORDERS_TRACKED`]).
    pub(super) orders: HashMap<u128, OrderState, std::hash::BuildHasherDefault<FoldHasher>>,
    /// Orders not tracked for status because the table was full.
    pub(super) orders_not_tracked: u64,
    pub(super) customers: HashMap<String, CustomerTotals>,
    pub(super) customer_names: HashMap<String, String>,
    pub(super) other_customers: CustomerTotals,
    pub(super) products: HashMap<String, ProductTotals>,
    pub(super) recent_created: RecentIds,
    pub(super) currency: Option<String>,
}

/// Most orders whose furthest status is remembered (about 24 bytes each).
pub const MAX_ORDERS_TRACKED: usize = 4_000_000;

impl Business {
    /// Records a valid event of an order: its furthest status and first payment method.
    pub(super) fn count_status(&mut self, order_id: &str, status: &str, method: Option<&str>) {
        let key = order_key(order_id);
        let status_index = self.statuses.index(status);
        let method_index = method.map(|method| self.methods.index(method));
        let full = self.orders.len() >= MAX_ORDERS_TRACKED;
        match self.orders.get_mut(&key) {
            Some(state) => {
                let current = &self.statuses.names[usize::from(state.status)];
                if lifecycle_rank(status) > lifecycle_rank(current) {
                    state.status = status_index;
                }
                if state.method.is_none() {
                    state.method = method_index;
                }
            }
            None if full => self.orders_not_tracked += 1,
            None => {
                self.orders.insert(key, OrderState { status: status_index, method: method_index });
            }
        }
    }

    /// Counts a created order; false when this order id was already counted.
    pub(super) fn count_created(
        &mut self,
        order_id: &str,
        customer: (&str, Option<&str>),
        total_cents: i64,
        currency: Option<&str>,
    ) -> bool {
        let (customer_id, customer_name) = customer;
        if !self.recent_created.insert(order_key(order_id)) {
            self.repeated_created += 1;
            return false;
        }
        self.created_orders += 1;
        self.revenue_cents += total_cents;
        if self.currency.is_none() {
            self.currency = currency.map(str::to_owned);
        }
        let known = self.customers.contains_key(customer_id);
        let totals = if known || self.customers.len() < MAX_CUSTOMERS {
            if let Some(name) = customer_name {
                self.customer_names.insert(customer_id.to_owned(), name.to_owned());
            }
            self.customers.entry(customer_id.to_owned()).or_default()
        } else {
            &mut self.other_customers
        };
        totals.orders += 1;
        totals.revenue_cents += total_cents;
        true
    }

    /// Counts an item of a created order counted once.
    pub(super) fn count_item(&mut self, product_id: &str, name: Option<&str>, quantity: u64) {
        if !self.products.contains_key(product_id) && self.products.len() >= MAX_CUSTOMERS {
            return;
        }
        let product = self.products.entry(product_id.to_owned()).or_default();
        product.quantity += quantity;
        product.orders += 1;
        if let Some(name) = name {
            if product.name != name {
                name.clone_into(&mut product.name);
            }
        }
    }
}

/// Hashes keys that are already uniformly random (UUID v4 bits) by folding them.
#[derive(Default)]
pub(super) struct FoldHasher(u64);

impl std::hash::Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn write_u128(&mut self, value: u128) {
        // Truncations keep the low and high halves on purpose.
        self.0 = ((value as u64) ^ ((value >> 64) as u64)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A UUID as 128 bits, or a hash of the text when it is not one.
pub(super) fn order_key(order_id: &str) -> u128 {
    let mut value: u128 = 0;
    let mut digits = 0;
    for byte in order_id.bytes() {
        if byte == b'-' {
            continue;
        }
        let Some(digit) = (byte as char).to_digit(16) else { return hash_key(order_id) };
        value = (value << 4) | u128::from(digit);
        digits += 1;
    }
    if digits == 32 {
        value
    } else {
        hash_key(order_id)
    }
}

pub(super) fn hash_key(text: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    // DefaultHasher::new() uses fixed keys, so the same text always gives the same key.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    u128::from(hasher.finish()) | (1 << 127)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys() {
        assert_eq!(order_key("a0a7db6b-2fd2-4c05-b5d8-87cf7729a8e9"), 0xa0a7db6b2fd24c05b5d887cf7729a8e9);
        assert_eq!(order_key("not-a-uuid"), order_key("not-a-uuid"));
        assert_ne!(order_key("x"), order_key("y"));
    }
}
