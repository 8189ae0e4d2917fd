//! A seedable generator of realistic orders and of their later lifecycle states.
//!
//! The same seed gives the same orders (ids included), which keeps tests and benchmark
//! datasets reproducible. Card data never goes beyond the last four digits.

use std::sync::LazyLock;

use chrono::{DateTime, SubsecRound, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::event_json::OrderEventRef;
use crate::order::{
    Address, Customer, LineItem, Order, OrderEvent, OrderStatus, Payment, PaymentMethod, PaymentStatus,
    SCHEMA_VERSION,
};

/// Number of distinct customers, `client01` .. `client50`.
pub const CUSTOMER_COUNT: usize = 50;
/// Most lines in one generated basket.
pub const MAX_ITEMS: usize = 5;
/// French VAT, in percent of the subtotal.
const VAT_PERCENT: i64 = 20;
/// Orders from this subtotal on ship for free.
const FREE_SHIPPING_FROM_CENTS: i64 = 5000;
/// Delivery fee below that.
const SHIPPING_FEE_CENTS: i64 = 490;

/// The product catalogue: id, name, unit price in cents.
pub const CATALOGUE: &[(&str, &str, i64)] = &[
    ("SKU-1001", "Wireless mouse", 2499),
    ("SKU-1002", "Mechanical keyboard", 8990),
    ("SKU-1003", "27-inch monitor", 24900),
    ("SKU-1004", "USB-C hub", 3950),
    ("SKU-1005", "Noise-cancelling headphones", 19999),
    ("SKU-1006", "Laptop stand", 3490),
    ("SKU-1007", "Webcam 1080p", 5900),
    ("SKU-1008", "External SSD 1 TB", 10995),
    ("SKU-1009", "Desk lamp", 2745),
    ("SKU-1010", "Ergonomic chair", 32900),
    ("SKU-1011", "Cotton T-shirt", 1599),
    ("SKU-1012", "Running shoes", 7995),
    ("SKU-1013", "Coffee beans 1 kg", 2250),
    ("SKU-1014", "French press", 3100),
    ("SKU-1015", "Paperback novel", 890),
    ("SKU-1016", "Board game", 4499),
    ("SKU-1017", "Water bottle", 1249),
    ("SKU-1018", "Backpack", 6400),
    ("SKU-1019", "Phone case", 999),
    ("SKU-1020", "Smart watch", 17900),
];

const FIRST_NAMES: &[&str] = &[
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Jade", "Louise", "Emma", "Alice", "Lina", "Lucas", "Hugo",
    "Louis", "Gabriel", "Arthur", "Jules", "Adam", "Raphaël", "Nathan", "Théo",
];
const LAST_NAMES: &[&str] = &[
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
];
const STREETS: &[&str] = &[
    "rue de la République",
    "avenue Jean Jaurès",
    "boulevard Victor Hugo",
    "rue Pasteur",
    "place de la Mairie",
    "rue du Moulin",
    "allée des Tilleuls",
    "chemin des Vignes",
    "rue Nationale",
    "avenue de la Gare",
];
const CITIES: &[(&str, &str)] = &[
    ("75011", "Paris"),
    ("69003", "Lyon"),
    ("13001", "Marseille"),
    ("31000", "Toulouse"),
    ("06000", "Nice"),
    ("44000", "Nantes"),
    ("67000", "Strasbourg"),
    ("34000", "Montpellier"),
    ("33000", "Bordeaux"),
    ("59000", "Lille"),
    ("35000", "Rennes"),
    ("51100", "Reims"),
];
const PAYMENT_METHODS: &[PaymentMethod] = &[
    PaymentMethod::CreditCard,
    PaymentMethod::CreditCard,
    PaymentMethod::DebitCard,
    PaymentMethod::Paypal,
    PaymentMethod::BankTransfer,
    PaymentMethod::ApplePay,
];

/// Produces orders and their lifecycle. Not thread-safe; give each task its own.
#[derive(Debug, Clone)]
pub struct OrderGenerator {
    rng: StdRng,
    /// Share of lifecycle steps that cancel instead of moving forward (0..=1).
    cancel_share: f64,
}

impl OrderGenerator {
    /// A generator whose output depends only on `seed`.
    pub fn seeded(seed: u64) -> Self {
        Self { rng: StdRng::seed_from_u64(seed), cancel_share: 0.1 }
    }

    /// A generator seeded from the operating system.
    pub fn from_entropy() -> Self {
        Self { rng: StdRng::from_os_rng(), cancel_share: 0.1 }
    }

    /// Sets the share of lifecycle steps that cancel a created or paid order (clamped to 0..=1).
    pub fn with_cancel_share(mut self, share: f64) -> Self {
        self.cancel_share = share.clamp(0.0, 1.0);
        self
    }

    /// Gives access to the random source, e.g. to decide what to emit next.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// A random UUID v4 drawn from this generator (reproducible under a seed).
    pub fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    /// A new order placed at `now`, status `created`, payment pending.
    pub fn new_order(&mut self, now: DateTime<Utc>) -> Order {
        let now = now.trunc_subsecs(3);
        let customer_number = self.rng.random_range(1..=CUSTOMER_COUNT);
        let customer = CUSTOMERS[customer_number - 1].clone();
        let item_count = self.rng.random_range(1..=MAX_ITEMS);
        let mut items: Vec<LineItem> = Vec::with_capacity(item_count);
        while items.len() < item_count {
            let (product_id, name, price) = CATALOGUE[self.rng.random_range(0..CATALOGUE.len())];
            if items.iter().any(|item| item.product_id == product_id) {
                continue;
            }
            items.push(LineItem {
                product_id: product_id.to_owned(),
                name: name.to_owned(),
                quantity: self.rng.random_range(1..=3),
                unit_price_cents: price,
            });
        }
        let subtotal_cents: i64 = items.iter().map(|item| item.quantity * item.unit_price_cents).sum();
        let shipping_cents = if subtotal_cents >= FREE_SHIPPING_FROM_CENTS { 0 } else { SHIPPING_FEE_CENTS };
        // VAT rounded half up to the cent, in integers.
        let tax_cents = (subtotal_cents * VAT_PERCENT + 50) / 100;
        let method = PAYMENT_METHODS[self.rng.random_range(0..PAYMENT_METHODS.len())];
        let card_last4 = method.is_card().then(|| four_digits(self.rng.random_range(0..10_000)));
        let shipping_address = self.address();
        // Most people get the invoice where the parcel goes.
        let billing_address =
            if self.rng.random_bool(0.8) { shipping_address.clone() } else { self.address() };
        Order {
            order_id: self.uuid(),
            status: OrderStatus::Created,
            customer,
            items,
            currency: "EUR".to_owned(),
            subtotal_cents,
            shipping_cents,
            tax_cents,
            total_cents: subtotal_cents + shipping_cents + tax_cents,
            payment: Payment {
                method,
                status: PaymentStatus::Pending,
                transaction_id: transaction_id(self.rng.random::<u64>()),
                card_last4,
            },
            shipping_address,
            billing_address,
            created_at: now,
            updated_at: now,
        }
    }

    /// The next state of `order` at `now`: paid, shipped, delivered, or cancelled (from created
    /// or paid, with the configured share). `None` once the order is delivered or cancelled.
    pub fn advance(&mut self, order: &Order, now: DateTime<Utc>) -> Option<Order> {
        let mut next = order.clone();
        self.advance_in_place(&mut next, now).then_some(next)
    }

    /// [`OrderGenerator::advance`] without a copy: moves `order` itself to its next state;
    /// false (and `order` unchanged) once it is delivered or cancelled. Draws the same random
    /// numbers as `advance`.
    pub fn advance_in_place(&mut self, order: &mut Order, now: DateTime<Utc>) -> bool {
        let cancel = self.rng.random_bool(self.cancel_share);
        let status = match order.status {
            OrderStatus::Created | OrderStatus::Paid if cancel => OrderStatus::Cancelled,
            OrderStatus::Created => OrderStatus::Paid,
            OrderStatus::Paid => OrderStatus::Shipped,
            OrderStatus::Shipped => OrderStatus::Delivered,
            OrderStatus::Delivered | OrderStatus::Cancelled | OrderStatus::Unknown(_) => return false,
        };
        order.payment.status = match (&status, order.payment.status) {
            (OrderStatus::Paid, _) => PaymentStatus::Captured,
            (OrderStatus::Cancelled, PaymentStatus::Captured) => PaymentStatus::Refunded,
            (OrderStatus::Cancelled, _) => PaymentStatus::Voided,
            (_, unchanged) => unchanged,
        };
        order.status = status;
        order.updated_at = now.trunc_subsecs(3).max(order.updated_at);
        true
    }

    /// Wraps `order` in an event envelope with a fresh event id.
    pub fn event(&mut self, order: Order, sequence: u64, now: DateTime<Utc>) -> OrderEvent {
        let OrderEventRef { event_id, event_type, version, timestamp, sequence, .. } =
            self.event_ref(&order, sequence, now);
        OrderEvent { event_id, event_type, version, timestamp, sequence, order }
    }

    /// [`OrderGenerator::event`] borrowing `order`: draws the same event id.
    pub fn event_ref<'a>(
        &mut self,
        order: &'a Order,
        sequence: u64,
        now: DateTime<Utc>,
    ) -> OrderEventRef<'a> {
        OrderEventRef {
            event_id: self.uuid(),
            event_type: order.status.event_type(),
            version: SCHEMA_VERSION,
            timestamp: now.trunc_subsecs(3),
            sequence,
            order,
        }
    }

    /// A valid `order.created` event at the current time, sequence 0. Handy in tests.
    pub fn new_order_event(&mut self) -> OrderEvent {
        let now = Utc::now();
        let order = self.new_order(now);
        self.event(order, 0, now)
    }

    fn address(&mut self) -> Address {
        let (postal_code, city) = CITIES[self.rng.random_range(0..CITIES.len())];
        let street = STREETS[self.rng.random_range(0..STREETS.len())];
        Address {
            street: street_line(self.rng.random_range(1..=150), street),
            postal_code: postal_code.to_owned(),
            city: city.to_owned(),
            country: "FR".to_owned(),
        }
    }
}

/// The customers, formatted once: `CUSTOMERS[n - 1]` is `customer(n)`.
static CUSTOMERS: LazyLock<Vec<Customer>> = LazyLock::new(|| (1..=CUSTOMER_COUNT).map(customer).collect());

// The generator's strings, formatted without `format!` (whose machinery cost more than the
// rest of a new order's fields); the tests hold them to the `format!` spelling.

/// `txn_` and 16 lower-case hex digits.
fn transaction_id(value: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(20);
    text.push_str("txn_");
    for shift in (0..16).rev() {
        text.push(char::from(HEX[((value >> (shift * 4)) & 0xf) as usize]));
    }
    text
}

/// `value` (from 0 to 9,999; `i32` like the draws `format!` took) as four digits, zeros in
/// front.
fn four_digits(value: i32) -> String {
    let value = value.unsigned_abs();
    let digits = [value / 1000 % 10, value / 100 % 10, value / 10 % 10, value % 10];
    digits.iter().filter_map(|&digit| char::from_digit(digit, 10)).collect()
}

/// `number street`.
fn street_line(number: i32, street: &str) -> String {
    let mut buffer = itoa::Buffer::new();
    let number = buffer.format(number);
    let mut text = String::with_capacity(number.len() + 1 + street.len());
    text.push_str(number);
    text.push(' ');
    text.push_str(street);
    text
}

/// Customer `clientNN` (1-based), with a stable name and email.
pub fn customer(number: usize) -> Customer {
    let first = FIRST_NAMES[number % FIRST_NAMES.len()];
    let last = LAST_NAMES[(number * 7) % LAST_NAMES.len()];
    Customer {
        customer_id: format!("client{number:02}"),
        name: format!("{first} {last}"),
        email: format!("client{number:02}@example.com"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::validate::validate;

    #[test]
    fn strings_are_spelled_as_format_spells_them() {
        for value in [0, 1, 0xab, u64::MAX, 0x0123_4567_89ab_cdef, 1 << 63] {
            assert_eq!(transaction_id(value), format!("txn_{value:016x}"));
        }
        for value in [0, 7, 42, 999, 1000, 9999] {
            assert_eq!(four_digits(value), format!("{value:04}"));
        }
        for number in [1, 9, 10, 150] {
            assert_eq!(street_line(number, "rue Pasteur"), format!("{number} rue Pasteur"));
        }
        for number in 1..=CUSTOMER_COUNT {
            assert_eq!(CUSTOMERS[number - 1], customer(number));
        }
    }

    #[test]
    fn same_seed_same_orders() {
        let now = Utc::now();
        let mut a = OrderGenerator::seeded(42);
        let mut b = OrderGenerator::seeded(42);
        for _ in 0..100 {
            assert_eq!(a.new_order(now), b.new_order(now));
        }
    }

    #[test]
    fn thousands_of_orders_hold_the_invariants() {
        let mut generator = OrderGenerator::seeded(1);
        let now = Utc::now();
        let mut customers = HashSet::new();
        let mut ids = HashSet::new();
        for sequence in 0..5_000 {
            let order = generator.new_order(now);
            assert!((1..=MAX_ITEMS).contains(&order.items.len()));
            let items: i64 = order.items.iter().map(|i| i.quantity * i.unit_price_cents).sum();
            assert_eq!(order.subtotal_cents, items);
            assert_eq!(order.total_cents, order.subtotal_cents + order.shipping_cents + order.tax_cents);
            if let Some(digits) = &order.payment.card_last4 {
                assert_eq!(digits.len(), 4);
            }
            customers.insert(order.customer.customer_id.clone());
            assert!(ids.insert(order.order_id), "order ids are unique");
            let event = generator.event(order, sequence, now);
            assert_eq!(validate(&event), Ok(()), "{event:?}");
        }
        assert_eq!(customers.len(), CUSTOMER_COUNT);
        assert!(customers.contains("client01") && customers.contains("client50"));
    }

    #[test]
    fn lifecycles_move_forward_and_stay_valid() {
        let mut generator = OrderGenerator::seeded(3).with_cancel_share(0.2);
        let now = Utc::now();
        let mut seen_final = HashSet::new();
        for _ in 0..1_000 {
            let mut order = generator.new_order(now);
            let mut steps = 0;
            while let Some(next) = generator.advance(&order, now) {
                assert!(next.status.rank() > order.status.rank(), "{:?} -> {:?}", order.status, next.status);
                assert_eq!(next.order_id, order.order_id);
                assert_eq!(next.total_cents, order.total_cents);
                let event = generator.event(next.clone(), 0, now);
                assert_eq!(validate(&event), Ok(()));
                order = next;
                steps += 1;
            }
            assert!(order.status.is_final());
            assert!(steps <= 3);
            seen_final.insert(order.status.to_string());
            if order.status == OrderStatus::Cancelled {
                assert!(matches!(order.payment.status, PaymentStatus::Refunded | PaymentStatus::Voided));
            }
        }
        assert_eq!(seen_final.len(), 2, "both delivered and cancelled happen");
    }

    #[test]
    fn json_round_trip() {
        let mut generator = OrderGenerator::seeded(9);
        for _ in 0..200 {
            let event = generator.new_order_event();
            let json = event.to_json();
            assert_eq!(OrderEvent::from_slice(&json).ok(), Some(event));
        }
    }

    #[test]
    fn json_uses_snake_case_and_cents() {
        let event = OrderGenerator::seeded(5).new_order_event();
        let value: serde_json::Value = serde_json::from_slice(&event.to_json()).unwrap();
        for field in ["event_id", "event_type", "version", "timestamp", "sequence", "order"] {
            assert!(value.get(field).is_some(), "{field}");
        }
        let order = &value["order"];
        for field in [
            "order_id",
            "subtotal_cents",
            "shipping_cents",
            "tax_cents",
            "total_cents",
            "shipping_address",
            "billing_address",
            "created_at",
            "updated_at",
        ] {
            assert!(order.get(field).is_some(), "{field}");
        }
        assert_eq!(value["event_type"], "order.created");
        assert_eq!(order["status"], "created");
        assert!(value["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
