//! Changes as the input records producers send (SPEC §1): what `salesflow generate` writes.
//! The inverse of `json::decode` for every change it produces.

use serde_json::{Value, json};

use crate::model::{Change, InputTopic, Price, Rate};

/// The topic, key and value (`None`: tombstone) of a change.
pub fn encode(change: &Change) -> (InputTopic, String, Option<String>) {
    match change {
        Change::Order(id, order) => (
            InputTopic::Orders,
            id.to_string(),
            order.as_ref().map(|o| {
                let mut value = json!({
                    "order_id": id.as_str(),
                    "ts": o.ts,
                    "customer_id": o.customer_id.as_str(),
                    "product_id": o.product_id.as_str(),
                    "quantity": o.quantity,
                    "price": decimal(o.price.0, Price::SCALE),
                    "currency": o.currency.as_str(),
                    "status": o.status.as_str(),
                });
                optional(&mut value, "payment_method", o.payment_method.as_deref());
                optional(&mut value, "ip", o.ip.as_deref());
                value.to_string()
            }),
        ),
        Change::Customer(id, customer) => (
            InputTopic::Customers,
            id.to_string(),
            customer.as_ref().map(|c| {
                let mut value = json!({"customer_id": id.as_str()});
                optional(&mut value, "gender", c.gender.as_deref());
                if let (Some(age), Some(object)) = (c.age, value.as_object_mut()) {
                    object.insert("age".into(), age.into());
                }
                optional(&mut value, "country", c.country.as_deref());
                optional(&mut value, "name", c.name.as_deref());
                optional(&mut value, "email", c.email.as_deref());
                value.to_string()
            }),
        ),
        Change::Product(id, product) => (
            InputTopic::Products,
            id.to_string(),
            product.as_ref().map(|p| {
                let mut value = json!({"product_id": id.as_str()});
                optional(&mut value, "name", p.name.as_deref());
                optional(&mut value, "category", p.category.as_deref());
                optional(&mut value, "brand", p.brand.as_deref());
                if let (Some(price), Some(object)) = (p.price, value.as_object_mut()) {
                    object.insert("price".into(), decimal(price.0, Price::SCALE).into());
                }
                value.to_string()
            }),
        ),
        Change::Rate(currency, rate) => (
            InputTopic::FxRates,
            currency.to_string(),
            rate.map(|r| json!({"currency": currency.as_str(), "rate": decimal(r.0, Rate::SCALE)}).to_string()),
        ),
        Change::Stock(id, stock) => (
            InputTopic::Inventory,
            id.to_string(),
            stock.as_ref().map(|s| {
                json!({"product_id": id.as_str(), "on_hand": s.on_hand, "as_of": s.as_of, "reorder_point": s.reorder_point})
                    .to_string()
            }),
        ),
    }
}

fn optional(value: &mut Value, field: &str, text: Option<&str>) {
    if let (Some(text), Some(object)) = (text, value.as_object_mut()) {
        object.insert(field.into(), Value::String(text.into()));
    }
}

/// A fixed-point integer as exact decimal text, as a JSON string so no reader rounds it.
fn decimal(units: i64, scale: u32) -> String {
    let divisor = 10i128.pow(scale);
    let (whole, fraction) = (
        i128::from(units).abs() / divisor,
        i128::from(units).abs() % divisor,
    );
    let sign = if units < 0 { "-" } else { "" };
    let fraction = format!("{fraction:0width$}", width = scale as usize);
    match fraction.trim_end_matches('0') {
        "" => format!("{sign}{whole}"),
        digits => format!("{sign}{whole}.{digits}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codecs::json::{DecodeConfig, decode};
    use crate::workload::{Mix, WorkloadConfig, workload};

    #[test]
    fn every_generated_change_decodes_back_to_itself() {
        let w = workload(&WorkloadConfig {
            seed: 3,
            customers: 20,
            products: 10,
            initial_orders: 50,
            step_size: 50,
            steps: 10,
            mix: Mix::default(),
        });
        for change in w.load.iter().chain(&w.changes).flatten() {
            let (topic, key, value) = encode(change);
            let decoded = decode(
                topic,
                Some(key.as_bytes()),
                value.as_deref().map(str::as_bytes),
                &DecodeConfig::default(),
            );
            assert_eq!(decoded.as_ref(), Ok(change), "{key} {value:?}");
        }
    }

    #[test]
    fn decimals_are_exact_text() {
        assert_eq!(decimal(19_990_000, 6), "19.99");
        assert_eq!(decimal(10_842_000_000, 10), "1.0842");
        assert_eq!(decimal(5_000_000, 6), "5");
    }
}
