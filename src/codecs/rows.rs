//! Output rows as JSON: the key object (the group's key fields, in order) and the whole row.
//!
//! Money is exact up to here and rounded to cents, half away from zero, only now; it is written as
//! a JSON number with exactly two decimals (`65.02`), and averages are rounded once from the exact
//! sums, not from rounded ones.

use crate::dataflows::{Alert, Fact, Quality, StockLevel};
use crate::model::{Figures, Money, format_cents, millis_label};

/// A compact JSON object written field by field, in order.
#[derive(Default)]
pub struct JsonObject(String);

impl JsonObject {
    pub fn new() -> Self {
        JsonObject(String::from("{"))
    }

    fn name(&mut self, name: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.push_string(name);
        self.0.push(':');
    }

    fn push_string(&mut self, text: &str) {
        // serde_json escapes exactly as JSON requires; writing into a String cannot fail.
        self.0
            .push_str(&serde_json::to_string(text).expect("a str serializes"));
    }

    pub fn string(mut self, name: &str, text: &str) -> Self {
        self.name(name);
        self.push_string(text);
        self
    }

    pub fn optional_string(mut self, name: &str, text: Option<&str>) -> Self {
        self.name(name);
        match text {
            Some(text) => self.push_string(text),
            None => self.0.push_str("null"),
        }
        self
    }

    pub fn int(mut self, name: &str, value: impl Into<i128>) -> Self {
        self.name(name);
        self.0.push_str(&value.into().to_string());
        self
    }

    /// Cents as a two-decimal JSON number, or null.
    pub fn cents(mut self, name: &str, cents: Option<i128>) -> Self {
        self.name(name);
        match cents {
            Some(cents) => self.0.push_str(&format_cents(cents)),
            None => self.0.push_str("null"),
        }
        self
    }

    pub fn bool(mut self, name: &str, value: bool) -> Self {
        self.name(name);
        self.0.push_str(if value { "true" } else { "false" });
        self
    }

    /// An array of strings.
    pub fn strings<'a>(mut self, name: &str, texts: impl IntoIterator<Item = &'a str>) -> Self {
        self.name(name);
        self.0.push('[');
        for (i, text) in texts.into_iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            self.push_string(text);
        }
        self.0.push(']');
        self
    }

    /// A nested object, written whole.
    pub fn object(mut self, name: &str, object: JsonObject) -> Self {
        self.name(name);
        self.0.push_str(&object.finish());
        self
    }

    pub fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// The key fields of a row, as `(name, text)` pairs in the order the topic lists them.
pub type KeyFields<'a> = &'a [(&'static str, &'a str)];

/// The key object: the key fields alone.
pub fn key(fields: KeyFields) -> String {
    key_fields(JsonObject::new(), fields).finish()
}

fn key_fields(mut object: JsonObject, fields: KeyFields) -> JsonObject {
    for (name, text) in fields {
        object = object.string(name, text);
    }
    object
}

/// `orders, units, revenue, avg_unit_price, avg_order_value`, the figures of every sales row.
fn sales_figures(object: JsonObject, figures: &Figures) -> JsonObject {
    let revenue: Money = figures.revenue;
    object
        .int("orders", figures.orders)
        .int("units", figures.units)
        .cents("revenue", Some(revenue.cents()))
        .cents("avg_unit_price", revenue.cents_per(figures.units))
        .cents("avg_order_value", revenue.cents_per(figures.orders))
}

/// A `sales_*` row: key fields, then the sales figures.
pub fn sales(fields: KeyFields, figures: &Figures) -> String {
    sales_figures(key_fields(JsonObject::new(), fields), figures).finish()
}

/// A `sales_by_currency` row: the sales figures and the unconverted revenue.
pub fn sales_in_currency(fields: KeyFields, figures: &Figures) -> String {
    sales_figures(key_fields(JsonObject::new(), fields), figures)
        .cents("revenue_native", Some(figures.native.cents()))
        .finish()
}

/// An `orders_by_status` row: `orders, units, value`.
pub fn status(fields: KeyFields, figures: &Figures) -> String {
    key_fields(JsonObject::new(), fields)
        .int("orders", figures.orders)
        .int("units", figures.units)
        .cents("value", Some(figures.revenue.cents()))
        .finish()
}

/// A `top_products_*` row: `product_id, rank, name, category`, then the sales figures.
pub fn top_product(
    fields: KeyFields,
    rank: u32,
    name: Option<&str>,
    category: &str,
    figures: &Figures,
) -> String {
    let object = key_fields(JsonObject::new(), fields)
        .int("rank", rank)
        .optional_string("name", name)
        .string("category", category);
    sales_figures(object, figures).finish()
}

/// A `stock_levels` row.
pub fn stock_level(fields: KeyFields, level: &StockLevel) -> String {
    key_fields(JsonObject::new(), fields)
        .int("on_hand", level.on_hand)
        .string("as_of", &millis_label(level.as_of))
        .int("reorder_point", level.reorder_point)
        .int("sold_since", level.sold_since)
        .int("available", level.available)
        .bool("low_stock", level.low_stock)
        .finish()
}

/// An `alerts` row: `rule, subject, reason`, then the rule's facts in its order.
pub fn alert(fields: KeyFields, alert: &Alert) -> String {
    let mut object = key_fields(JsonObject::new(), fields).string("reason", &alert.reason);
    for (name, fact) in &alert.facts {
        object = match fact {
            Fact::Text(text) => object.string(name, text),
            Fact::Count(count) => object.int(name, *count),
            Fact::Money(money) => object.cents(name, Some(money.cents())),
            Fact::Ids(ids) => object.strings(name, ids.iter().map(|id| id.as_str())),
        };
    }
    object.finish()
}

/// A `data_quality` row.
pub fn quality(fields: KeyFields, quality: &Quality) -> String {
    let errors = quality
        .errors
        .iter()
        .fold(JsonObject::new(), |errors, (kind, count)| {
            errors.int(kind, *count)
        });
    let object = key_fields(JsonObject::new(), fields)
        .int("consumed", quality.consumed)
        .int("applied", quality.applied)
        .int("dead_lettered", quality.dead_lettered)
        .int("tombstones", quality.tombstones)
        .int("duplicates", quality.duplicates)
        .object("errors", errors);
    match quality.live_orders {
        Some((orphans, unpriced)) => object.int("orphans", orphans).int("unpriced", unpriced),
        None => object,
    }
    .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Native, Price, Rate};

    #[test]
    fn sales_rows_round_once_at_the_end() {
        // 3 x 19.99 EUR at 1.0842 = 65.019558; per unit 21.673186; per order 65.019558.
        let figures = Figures {
            orders: 1,
            units: 3,
            revenue: Native::of(3, Price(19_990_000)).convert(Rate(10_842_000_000)),
            native: Native::of(3, Price(19_990_000)),
        };
        assert_eq!(key(&[("currency", "EUR")]), r#"{"currency":"EUR"}"#);
        assert_eq!(
            sales_in_currency(&[("currency", "EUR")], &figures),
            r#"{"currency":"EUR","orders":1,"units":3,"revenue":65.02,"avg_unit_price":21.67,"avg_order_value":65.02,"revenue_native":59.97}"#
        );
    }

    #[test]
    fn strings_are_escaped_and_names_may_be_null() {
        let row = top_product(
            &[("product_id", "p\"1")],
            1,
            None,
            "tools",
            &Figures::default(),
        );
        assert!(row.starts_with(
            r#"{"product_id":"p\"1","rank":1,"name":null,"category":"tools","orders":0"#
        ));
        assert!(row.ends_with(r#""avg_unit_price":null,"avg_order_value":null}"#));
    }
}
