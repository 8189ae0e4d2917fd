//! Business figures from valid orders: revenue, created orders counted once, statuses,
//! customers; and the compact keys of order ids.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{kept, MAX_CUSTOMERS, MAX_STATUSES, ORDER_DEDUP_WINDOW};

#[derive(Debug, Clone, Default)]
pub(super) struct CustomerTotals {
    pub(super) orders: u64,
    pub(super) revenue_cents: i64,
    /// The name the latest created order gave, if any gave one.
    pub(super) name: Option<String>,
}

impl CustomerTotals {
    fn add(&mut self, total_cents: i64, name: Option<&str>) {
        self.orders += 1;
        self.revenue_cents = self.revenue_cents.saturating_add(total_cents);
        // Compared first: the same name comes with every order, and is not copied again.
        if let Some(name) = name {
            let name = kept(name);
            if self.name.as_deref() != Some(&*name) {
                self.name = Some(name.into_owned());
            }
        }
    }
}

/// An order id's 128 bits as bytes: alignment 1, so a table entry with its 3-byte
/// [`OrderState`] takes 19 bytes instead of the 32 a `u128` key (alignment 16) needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OrderKey([u8; 16]);

impl std::hash::Hash for OrderKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u128(u128::from_le_bytes(self.0));
    }
}

type FoldBuild = std::hash::BuildHasherDefault<FoldHasher>;

/// Order ids remembered in a bounded window, oldest forgotten first.
#[derive(Debug, Default)]
pub(super) struct RecentIds {
    pub(super) order: VecDeque<OrderKey>,
    pub(super) set: HashSet<OrderKey, FoldBuild>,
}

impl RecentIds {
    /// Remembers `id`; false when it was already there.
    pub(super) fn insert(&mut self, id: OrderKey) -> bool {
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
        let name = &*kept(name);
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

impl ProductTotals {
    fn add(&mut self, name: Option<&str>, quantity: u64) {
        self.quantity = self.quantity.saturating_add(quantity);
        self.orders += 1;
        if let Some(name) = name {
            let name = kept(name);
            if self.name != name {
                name.as_ref().clone_into(&mut self.name);
            }
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Business {
    pub(super) revenue_cents: i64,
    pub(super) created_orders: u64,
    pub(super) repeated_created: u64,
    pub(super) statuses: NameTable,
    pub(super) methods: NameTable,
    /// Per order id: where it stands (bounded by [`MAX_ORDERS_TRACKED`]).
    pub(super) orders: HashMap<OrderKey, OrderState, FoldBuild>,
    /// Orders not tracked for status because the table was full.
    pub(super) orders_not_tracked: u64,
    /// Per customer id: orders, revenue and name (bounded by [`MAX_CUSTOMERS`]).
    pub(super) customers: HashMap<String, CustomerTotals>,
    pub(super) other_customers: CustomerTotals,
    pub(super) products: HashMap<String, ProductTotals>,
    pub(super) recent_created: RecentIds,
    pub(super) currency: Option<String>,
}

/// Most orders whose furthest status is remembered (about 20 bytes each, 40 with the table's
/// spare room).
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
        // The files may hold totals no validation capped (older trackers): never wrap.
        self.revenue_cents = self.revenue_cents.saturating_add(total_cents);
        if self.currency.is_none() {
            self.currency = currency.map(|currency| kept(currency).into_owned());
        }
        let customer_id = &*kept(customer_id);
        // Looked up before inserting, so that a known customer costs no key allocation.
        if let Some(totals) = self.customers.get_mut(customer_id) {
            totals.add(total_cents, customer_name);
        } else if self.customers.len() < MAX_CUSTOMERS {
            self.customers.entry(customer_id.to_owned()).or_default().add(total_cents, customer_name);
        } else {
            // The `(others)` row has no name.
            self.other_customers.add(total_cents, None);
        }
        true
    }

    /// Counts an item of a created order counted once.
    pub(super) fn count_item(&mut self, product_id: &str, name: Option<&str>, quantity: u64) {
        let product_id = &*kept(product_id);
        // Looked up before inserting, so that a known product costs no key allocation.
        if let Some(product) = self.products.get_mut(product_id) {
            product.add(name, quantity);
        } else if self.products.len() < MAX_CUSTOMERS {
            self.products.entry(product_id.to_owned()).or_default().add(name, quantity);
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
pub(super) fn order_key(order_id: &str) -> OrderKey {
    OrderKey(order_bits(order_id).to_le_bytes())
}

fn order_bits(order_id: &str) -> u128 {
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
    fn an_order_table_entry_takes_19_bytes() {
        // One entry per order, up to MAX_ORDERS_TRACKED: with a u128 key it was 32 bytes.
        assert_eq!(std::mem::size_of::<(OrderKey, OrderState)>(), 19);
    }

    /// The counting rules written plainly (ordered maps, owned keys, one lookup per question),
    /// as the business figures were counted before the tables were made compact.
    #[derive(Default)]
    struct Reference {
        orders: std::collections::BTreeMap<String, (String, Option<String>)>,
        recent: VecDeque<String>,
        recent_set: HashSet<String>,
        customers: std::collections::BTreeMap<String, (u64, i64)>,
        names: std::collections::BTreeMap<String, String>,
        others: (u64, i64),
        products: std::collections::BTreeMap<String, (String, u64, u64)>,
    }

    impl Reference {
        fn count_status(&mut self, order_id: &str, status: &str, method: Option<&str>) {
            let entry = self.orders.entry(order_id.to_owned()).or_insert((status.to_owned(), None));
            if lifecycle_rank(status) > lifecycle_rank(&entry.0) {
                entry.0 = status.to_owned();
            }
            if entry.1.is_none() {
                entry.1 = method.map(str::to_owned);
            }
        }

        fn count_created(&mut self, order_id: &str, customer: (&str, Option<&str>), cents: i64) -> bool {
            if !self.recent_set.insert(order_id.to_owned()) {
                return false;
            }
            self.recent.push_back(order_id.to_owned());
            if self.recent.len() > ORDER_DEDUP_WINDOW {
                if let Some(oldest) = self.recent.pop_front() {
                    self.recent_set.remove(&oldest);
                }
            }
            let (id, name) = customer;
            let totals = if self.customers.contains_key(id) || self.customers.len() < MAX_CUSTOMERS {
                if let Some(name) = name {
                    self.names.insert(id.to_owned(), name.to_owned());
                }
                self.customers.entry(id.to_owned()).or_default()
            } else {
                &mut self.others
            };
            totals.0 += 1;
            totals.1 += cents;
            true
        }

        fn count_item(&mut self, product_id: &str, name: Option<&str>, quantity: u64) {
            if !self.products.contains_key(product_id) && self.products.len() >= MAX_CUSTOMERS {
                return;
            }
            let product = self.products.entry(product_id.to_owned()).or_default();
            product.1 += quantity;
            product.2 += 1;
            if let Some(name) = name {
                product.0 = name.to_owned();
            }
        }
    }

    #[test]
    fn compact_tables_count_like_the_plain_rules() {
        // A fixed pseudo-random walk: more customers and products than the caps, names given,
        // changed or left out, orders seen again in later statuses, created twice.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        let statuses = ["created", "paid", "shipped", "delivered", "cancelled", "on_hold"];
        let methods = [None, Some("card"), Some("paypal")];
        let (mut business, mut reference) = (Business::default(), Reference::default());
        for _ in 0..60_000 {
            let order = next(100_000);
            // Half UUIDs, half other ids (hashed keys).
            let order_id = if order % 2 == 0 {
                format!("{:08x}-0000-4000-8000-{:012x}", order, order * 7919)
            } else {
                format!("order-{order}")
            };
            let status = statuses[next(statuses.len() as u64) as usize];
            let method = methods[next(3) as usize];
            business.count_status(&order_id, status, method);
            reference.count_status(&order_id, status, method);
            let customer = format!("c{}", next(12_000));
            let name = [None, Some("Ann"), Some("Bob")][next(3) as usize];
            let cents = next(10_000) as i64;
            let counted = business.count_created(&order_id, (&customer, name), cents, Some("EUR"));
            assert_eq!(counted, reference.count_created(&order_id, (&customer, name), cents));
            if counted {
                let product = format!("SKU-{}", next(11_000));
                let quantity = next(4);
                business.count_item(&product, name, quantity);
                reference.count_item(&product, name, quantity);
            }
        }
        let states: std::collections::BTreeMap<u128, (String, Option<String>)> = reference
            .orders
            .iter()
            .map(|(id, (status, method))| (order_bits(id), (status.clone(), method.clone())))
            .collect();
        let compact: std::collections::BTreeMap<u128, (String, Option<String>)> = business
            .orders
            .iter()
            .map(|(key, state)| {
                let status = business.statuses.names[usize::from(state.status)].clone();
                let method = state.method.map(|index| business.methods.names[usize::from(index)].clone());
                (u128::from_le_bytes(key.0), (status, method))
            })
            .collect();
        assert_eq!(compact, states);
        assert_eq!(business.customers.len(), MAX_CUSTOMERS);
        for (id, totals) in &business.customers {
            assert_eq!(Some(&(totals.orders, totals.revenue_cents)), reference.customers.get(id), "{id}");
            assert_eq!(totals.name.as_ref(), reference.names.get(id), "{id}");
        }
        assert_eq!(
            (business.other_customers.orders, business.other_customers.revenue_cents),
            reference.others
        );
        assert!(reference.others.0 > 0, "the walk went past the customer cap");
        assert_eq!(business.products.len(), reference.products.len());
        for (id, totals) in &business.products {
            let expected = &reference.products[id];
            assert_eq!((&totals.name, totals.quantity, totals.orders), (&expected.0, expected.1, expected.2));
        }
    }

    #[test]
    fn order_keys() {
        assert_eq!(order_bits("a0a7db6b-2fd2-4c05-b5d8-87cf7729a8e9"), 0xa0a7db6b2fd24c05b5d887cf7729a8e9);
        assert_eq!(order_key("not-a-uuid"), order_key("not-a-uuid"));
        assert_ne!(order_key("x"), order_key("y"));
    }
}
