//! Business rules an order event must satisfy, checked after it parsed.
//!
//! A failure here is permanent: retrying cannot make the amounts add up, so the tracker sends
//! such a message to the dead-letter queue at once.

use thiserror::Error;

use crate::order::{EventType, OrderEvent, OrderStatus, SCHEMA_VERSION};

/// The largest amount an order may carry, in cents, for each of its unit prices, subtotal,
/// shipping, tax and total: 1,000,000.00 EUR, far above any real basket of this shop. The
/// limit keeps every figure the readers add up (revenue over millions of orders) far from
/// `i64::MAX`, and rejects the crafted totals that used to wrap it.
pub const MAX_AMOUNT_CENTS: i64 = 100_000_000;

/// Why a parsed order event is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The envelope version is not one this code understands.
    #[error("unsupported schema version {found} (supported: {SCHEMA_VERSION})")]
    UnsupportedVersion { found: u32 },
    /// The event type is not one of the known ones.
    #[error("unknown event type {0:?} (allowed: order.created, order.updated, order.cancelled)")]
    UnknownEventType(String),
    /// The order status is not one of the known ones.
    #[error("unknown order status {0:?} (allowed: created, paid, shipped, delivered, cancelled)")]
    UnknownStatus(String),
    /// The event type does not announce the order's status.
    #[error("event type {event_type} does not match order status {status}")]
    EventTypeMismatch { event_type: String, status: String },
    /// An order needs at least one item.
    #[error("order has no items")]
    NoItems,
    /// Quantities must be at least 1.
    #[error("item {product_id} has quantity {quantity}; it must be at least 1")]
    NonPositiveQuantity { product_id: String, quantity: i64 },
    /// Prices and fees cannot be negative.
    #[error("{field} is {cents} cents; it cannot be negative")]
    NegativeAmount { field: String, cents: i64 },
    /// An amount is above [`MAX_AMOUNT_CENTS`].
    #[error(
        "{field} is {cents} cents; at most {MAX_AMOUNT_CENTS} cents ({} EUR) is allowed per amount",
        euros(MAX_AMOUNT_CENTS)
    )]
    AmountTooLarge { field: String, cents: i64 },
    /// An amount does not fit in 64 bits once multiplied or added.
    #[error("amounts overflow while computing {field}")]
    AmountOverflow { field: &'static str },
    /// subtotal ≠ Σ quantity × unit price.
    #[error("subtotal is {found} cents but the items add up to {expected} cents")]
    SubtotalMismatch { expected: i64, found: i64 },
    /// total ≠ subtotal + shipping + tax.
    #[error("total is {found} cents but subtotal + shipping + tax is {expected} cents")]
    TotalMismatch { expected: i64, found: i64 },
    /// Only euros are accepted.
    #[error("currency {0:?} is not supported (allowed: EUR)")]
    UnsupportedCurrency(String),
    /// The customer's email is not of the form `local@domain.tld`.
    #[error("customer email {0:?} is not a valid address")]
    BadEmail(String),
    /// A required text field is empty.
    #[error("{0} is empty")]
    EmptyField(&'static str),
    /// `card_last4` must be exactly four digits, on card payments only.
    #[error("payment.card_last4 must be exactly four digits on a card payment, and absent otherwise")]
    BadCardDigits,
    /// The order was updated before it was created.
    #[error("updated_at is before created_at")]
    UpdatedBeforeCreated,
}

/// Checks every business rule; returns the first one broken.
pub fn validate(event: &OrderEvent) -> Result<(), ValidationError> {
    if event.version != SCHEMA_VERSION {
        return Err(ValidationError::UnsupportedVersion { found: event.version });
    }
    if let EventType::Unknown(other) = &event.event_type {
        return Err(ValidationError::UnknownEventType(other.clone()));
    }
    let order = &event.order;
    if let OrderStatus::Unknown(other) = &order.status {
        return Err(ValidationError::UnknownStatus(other.clone()));
    }
    if order.status.event_type() != event.event_type {
        return Err(ValidationError::EventTypeMismatch {
            event_type: event.event_type.to_string(),
            status: order.status.to_string(),
        });
    }
    if order.currency != "EUR" {
        return Err(ValidationError::UnsupportedCurrency(order.currency.clone()));
    }
    for (field, text) in [
        ("customer.customer_id", &order.customer.customer_id),
        ("customer.name", &order.customer.name),
        ("payment.transaction_id", &order.payment.transaction_id),
    ] {
        if text.trim().is_empty() {
            return Err(ValidationError::EmptyField(field));
        }
    }
    if !is_plausible_email(&order.customer.email) {
        return Err(ValidationError::BadEmail(order.customer.email.clone()));
    }
    let card_digits_ok = match &order.payment.card_last4 {
        Some(digits) => {
            order.payment.method.is_card() && digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit())
        }
        None => !order.payment.method.is_card(),
    };
    if !card_digits_ok {
        return Err(ValidationError::BadCardDigits);
    }
    if order.updated_at < order.created_at {
        return Err(ValidationError::UpdatedBeforeCreated);
    }
    check_amounts(event)
}

fn check_amounts(event: &OrderEvent) -> Result<(), ValidationError> {
    let order = &event.order;
    if order.items.is_empty() {
        return Err(ValidationError::NoItems);
    }
    let mut expected_subtotal: i64 = 0;
    for item in &order.items {
        if item.quantity < 1 {
            return Err(ValidationError::NonPositiveQuantity {
                product_id: item.product_id.clone(),
                quantity: item.quantity,
            });
        }
        if item.unit_price_cents < 0 {
            return Err(ValidationError::NegativeAmount {
                field: format!("unit_price_cents of {}", item.product_id),
                cents: item.unit_price_cents,
            });
        }
        if item.unit_price_cents > MAX_AMOUNT_CENTS {
            return Err(ValidationError::AmountTooLarge {
                field: format!("unit_price_cents of {}", item.product_id),
                cents: item.unit_price_cents,
            });
        }
        expected_subtotal = item
            .line_total_cents()
            .and_then(|line| expected_subtotal.checked_add(line))
            .ok_or(ValidationError::AmountOverflow { field: "subtotal_cents" })?;
    }
    for (field, cents) in [("shipping_cents", order.shipping_cents), ("tax_cents", order.tax_cents)] {
        if cents < 0 {
            return Err(ValidationError::NegativeAmount { field: field.to_owned(), cents });
        }
    }
    for (field, cents) in [
        ("shipping_cents", order.shipping_cents),
        ("tax_cents", order.tax_cents),
        ("subtotal_cents", order.subtotal_cents),
        ("total_cents", order.total_cents),
    ] {
        if cents > MAX_AMOUNT_CENTS {
            return Err(ValidationError::AmountTooLarge { field: field.to_owned(), cents });
        }
    }
    if order.subtotal_cents != expected_subtotal {
        return Err(ValidationError::SubtotalMismatch {
            expected: expected_subtotal,
            found: order.subtotal_cents,
        });
    }
    let expected_total = order
        .subtotal_cents
        .checked_add(order.shipping_cents)
        .and_then(|sum| sum.checked_add(order.tax_cents))
        .ok_or(ValidationError::AmountOverflow { field: "total_cents" })?;
    if order.total_cents != expected_total {
        return Err(ValidationError::TotalMismatch { expected: expected_total, found: order.total_cents });
    }
    Ok(())
}

/// `1234.56` from cents (non-negative amounts).
fn euros(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// `local@domain.tld` with no spaces: enough to catch corrupted data, not an RFC 5322 parser.
fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !email.chars().any(char::is_whitespace)
        && !domain.contains('@')
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::OrderGenerator;
    use crate::order::PaymentMethod;

    fn valid_event() -> OrderEvent {
        OrderGenerator::seeded(7).new_order_event()
    }

    fn assert_rejects(change: impl FnOnce(&mut OrderEvent), expected: ValidationError) {
        let mut event = valid_event();
        assert_eq!(validate(&event), Ok(()));
        change(&mut event);
        assert_eq!(validate(&event), Err(expected));
    }

    #[test]
    fn unsupported_version() {
        assert_rejects(|e| e.version = 2, ValidationError::UnsupportedVersion { found: 2 });
    }

    #[test]
    fn unknown_event_type() {
        assert_rejects(
            |e| e.event_type = EventType::parse("order.teleported"),
            ValidationError::UnknownEventType("order.teleported".into()),
        );
    }

    #[test]
    fn unknown_status() {
        assert_rejects(
            |e| e.order.status = OrderStatus::parse("lost"),
            ValidationError::UnknownStatus("lost".into()),
        );
    }

    #[test]
    fn event_type_must_match_status() {
        assert_rejects(
            |e| e.order.status = OrderStatus::Shipped,
            ValidationError::EventTypeMismatch {
                event_type: "order.created".into(),
                status: "shipped".into(),
            },
        );
    }

    #[test]
    fn no_items() {
        assert_rejects(|e| e.order.items.clear(), ValidationError::NoItems);
    }

    #[test]
    fn non_positive_quantity() {
        let product_id = valid_event().order.items[0].product_id.clone();
        assert_rejects(
            |e| e.order.items[0].quantity = 0,
            ValidationError::NonPositiveQuantity { product_id, quantity: 0 },
        );
    }

    #[test]
    fn negative_unit_price() {
        let product_id = valid_event().order.items[0].product_id.clone();
        assert_rejects(
            |e| e.order.items[0].unit_price_cents = -5,
            ValidationError::NegativeAmount { field: format!("unit_price_cents of {product_id}"), cents: -5 },
        );
    }

    #[test]
    fn negative_shipping() {
        assert_rejects(
            |e| e.order.shipping_cents = -1,
            ValidationError::NegativeAmount { field: "shipping_cents".into(), cents: -1 },
        );
    }

    #[test]
    fn overflowing_amounts() {
        assert_rejects(
            |e| {
                e.order.items[0].quantity = i64::MAX;
                e.order.items[0].unit_price_cents = 2;
            },
            ValidationError::AmountOverflow { field: "subtotal_cents" },
        );
    }

    #[test]
    fn amounts_above_the_business_limit_are_rejected_with_the_limit_named() {
        // Amounts that add up exactly, each far above any real order: two of them used to wrap
        // the monitor's revenue to a negative figure.
        let huge = i64::MAX / 4;
        let mut event = valid_event();
        event.order.items.truncate(1);
        event.order.items[0].quantity = 1;
        event.order.items[0].unit_price_cents = huge;
        event.order.subtotal_cents = huge;
        event.order.shipping_cents = 0;
        event.order.tax_cents = 0;
        event.order.total_cents = huge;
        let error = validate(&event).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "unit_price_cents of {} is {huge} cents; at most 100000000 cents (1000000.00 EUR) \
                 is allowed per amount",
                event.order.items[0].product_id
            )
        );
        // At the limit exactly: accepted.
        let mut at_limit = valid_event();
        at_limit.order.items.truncate(1);
        at_limit.order.items[0].quantity = 1;
        at_limit.order.items[0].unit_price_cents = 100_000_000;
        at_limit.order.subtotal_cents = 100_000_000;
        at_limit.order.shipping_cents = 0;
        at_limit.order.tax_cents = 0;
        at_limit.order.total_cents = 100_000_000;
        assert_eq!(validate(&at_limit), Ok(()));
        // Each item under the limit, their sum over it.
        let mut summed = at_limit.clone();
        summed.order.items[0].quantity = 2;
        summed.order.subtotal_cents = 2 * 100_000_000;
        summed.order.total_cents = 2 * 100_000_000;
        assert_eq!(
            validate(&summed).map_err(|e| e.to_string()),
            Err("subtotal_cents is 200000000 cents; at most 100000000 cents (1000000.00 EUR) is allowed per amount"
                .to_owned())
        );
        let mut shipping = at_limit;
        shipping.order.shipping_cents = 1;
        shipping.order.total_cents += 1;
        assert_eq!(
            validate(&shipping).map_err(|e| e.to_string()),
            Err("total_cents is 100000001 cents; at most 100000000 cents (1000000.00 EUR) is allowed per amount"
                .to_owned())
        );
    }

    #[test]
    fn subtotal_must_match_items() {
        let event = valid_event();
        let expected = event.order.subtotal_cents;
        assert_rejects(
            |e| e.order.subtotal_cents += 1,
            ValidationError::SubtotalMismatch { expected, found: expected + 1 },
        );
    }

    #[test]
    fn total_must_add_up() {
        let event = valid_event();
        let expected = event.order.total_cents;
        assert_rejects(
            |e| e.order.total_cents -= 1,
            ValidationError::TotalMismatch { expected, found: expected - 1 },
        );
    }

    #[test]
    fn currency_must_be_euro() {
        assert_rejects(
            |e| e.order.currency = "USD".into(),
            ValidationError::UnsupportedCurrency("USD".into()),
        );
    }

    #[test]
    fn bad_emails() {
        for email in [
            "",
            "no-at-sign",
            "two@@example.com",
            "@example.com",
            "a@localhost",
            "a b@example.com",
            "a@example.",
        ] {
            assert_rejects(
                |e| e.order.customer.email = email.into(),
                ValidationError::BadEmail(email.into()),
            );
        }
    }

    #[test]
    fn empty_customer_id() {
        assert_rejects(
            |e| e.order.customer.customer_id = " ".into(),
            ValidationError::EmptyField("customer.customer_id"),
        );
    }

    #[test]
    fn card_digits_are_four_digits_on_cards_only() {
        let card = |e: &mut OrderEvent| e.order.payment.method = PaymentMethod::CreditCard;
        assert_rejects(
            |e| {
                card(e);
                e.order.payment.card_last4 = Some("4111111111111111".into());
            },
            ValidationError::BadCardDigits,
        );
        assert_rejects(
            |e| {
                card(e);
                e.order.payment.card_last4 = Some("12a4".into());
            },
            ValidationError::BadCardDigits,
        );
        assert_rejects(
            |e| {
                card(e);
                e.order.payment.card_last4 = None;
            },
            ValidationError::BadCardDigits,
        );
        assert_rejects(
            |e| {
                e.order.payment.method = PaymentMethod::Paypal;
                e.order.payment.card_last4 = Some("1234".into());
            },
            ValidationError::BadCardDigits,
        );
    }

    #[test]
    fn updated_before_created() {
        assert_rejects(
            |e| e.order.updated_at = e.order.created_at - chrono::Duration::seconds(1),
            ValidationError::UpdatedBeforeCreated,
        );
    }
}
