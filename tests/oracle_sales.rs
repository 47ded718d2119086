//! The job's sales tables, after every step of any input stream, are exactly what a from-scratch
//! fold of the good records so far gives (`support::oracle`), on one worker and on two.
//!
//! Records go through the real JSON decoder, which must accept exactly the records generated as
//! good; the accepted changes go to the in-process runner, one step per logical time.

mod support;

use std::collections::BTreeSet;

use chrono::DateTime;
use proptest::prelude::*;
use salesflow::codecs::json::{DecodeConfig, decode};
use salesflow::model::{Change, InputTopic};
use salesflow::runner::{RunConfig, run};

use support::oracle::{self, Customer, Order, Product, State, Tables, Update, cents, id_order};
use support::streams::{self, Record, Topic};

/// Every stream runs on each of these worker counts.
const WORKERS: [usize; 2] = [1, 2];

fn input_topic(topic: Topic) -> InputTopic {
    match topic {
        Topic::Orders => InputTopic::Orders,
        Topic::Customers => InputTopic::Customers,
        Topic::Products => InputTopic::Products,
        Topic::FxRates => InputTopic::FxRates,
    }
}

/// Decodes every record, insisting the decoder accepts exactly the good ones.
fn decode_steps(steps: &[Vec<Record>]) -> Result<Vec<Vec<Change>>, TestCaseError> {
    let config = DecodeConfig::default();
    let mut decoded = Vec::with_capacity(steps.len());
    for step in steps {
        let mut changes = Vec::with_capacity(step.len());
        for record in step {
            let result = decode(
                input_topic(record.topic),
                record.key.as_deref(),
                record.value.as_deref(),
                &config,
            );
            match (result, record.update()) {
                (Ok(change), Some(_)) => changes.push(change),
                (Err(_), None) => {}
                (Ok(change), None) => {
                    return Err(TestCaseError::fail(format!(
                        "decode accepted bad input {record:?} as {change:?}"
                    )));
                }
                (Err(error), Some(_)) => {
                    return Err(TestCaseError::fail(format!(
                        "decode rejected good input {record:?}: {:?}: {}",
                        error.kind, error.message
                    )));
                }
            }
        }
        decoded.push(changes);
    }
    Ok(decoded)
}

/// The oracle's tables after each step.
fn expected_tables(steps: &[Vec<Record>]) -> Vec<Tables> {
    let mut state = State::default();
    steps
        .iter()
        .map(|step| {
            for update in step.iter().filter_map(Record::update) {
                state.apply(update);
            }
            state.tables()
        })
        .collect()
}

/// The runner's tables after each step on `workers` workers, restricted to the tables the oracle
/// knows (the job writes others too: data quality, alerts, stock).
fn actual_tables(changes: &[Vec<Change>], workers: usize) -> Vec<Tables> {
    let output = run(&RunConfig::new(workers), changes.to_vec());
    (0..changes.len() as u64)
        .map(|time| {
            let mut tables = output.tables_at(time);
            tables.retain(|topic, _| oracle::TOPICS.contains(&topic.as_str()));
            tables
        })
        .collect()
}

/// The first row (in topic, then key order) where the tables differ, described.
fn first_difference(expected: &Tables, actual: &Tables) -> Option<String> {
    let topics: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    for topic in topics {
        let expected_rows = expected.get(topic.as_str());
        let actual_rows = actual.get(topic.as_str());
        let keys: BTreeSet<&String> = expected_rows
            .into_iter()
            .chain(actual_rows)
            .flat_map(|rows| rows.keys())
            .collect();
        for key in keys {
            let want = expected_rows.and_then(|rows| rows.get(key.as_str()));
            let got = actual_rows.and_then(|rows| rows.get(key.as_str()));
            if want != got {
                let show = |row: Option<&String>| row.map_or("no row".to_owned(), String::clone);
                return Some(format!(
                    "{topic} {key}\n  expected: {}\n  actual:   {}",
                    show(want),
                    show(got)
                ));
            }
        }
    }
    None
}

fn matches_oracle_after_every_step(steps: &[Vec<Record>]) -> Result<(), TestCaseError> {
    let changes = decode_steps(steps)?;
    let expected = expected_tables(steps);
    for workers in WORKERS {
        let actual = actual_tables(&changes, workers);
        for (time, (expected, actual)) in expected.iter().zip(&actual).enumerate() {
            if let Some(difference) = first_difference(expected, actual) {
                return Err(TestCaseError::fail(format!(
                    "after step {time} on {workers} worker(s): {difference}"
                )));
            }
        }
    }
    Ok(())
}

/// 500 cases, or `PROPTEST_CASES`. Failures are reported shrunk, not persisted to files.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(500);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_table_matches_a_from_scratch_fold_after_every_step(steps in streams::stream()) {
        matches_oracle_after_every_step(&steps)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-written scenarios: the runner and the oracle both produce the tables written out here.

/// The tables after each step, as each source computes them: the oracle, then the runner on
/// every worker count.
fn scenario(steps: &[Vec<Update>]) -> Vec<Vec<(String, Tables)>> {
    let records: Vec<Vec<Record>> = steps
        .iter()
        .map(|step| step.iter().map(streams::plain_record).collect())
        .collect();
    let changes = decode_steps(&records).expect("scenario records are good");
    let mut sources = vec![("oracle".to_owned(), expected_tables(&records))];
    for workers in WORKERS {
        let name = format!("runner on {workers} worker(s)");
        sources.push((name, actual_tables(&changes, workers)));
    }
    (0..steps.len())
        .map(|time| {
            sources
                .iter()
                .map(|(name, tables)| (name.clone(), tables[time].clone()))
                .collect()
        })
        .collect()
}

/// Every source has exactly `rows` (key, value) in `topic`.
fn assert_rows(at: &[(String, Tables)], topic: &str, rows: &[(&str, &str)]) {
    for (source, tables) in at {
        let actual: Vec<(&str, &str)> = tables
            .get(topic)
            .into_iter()
            .flatten()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        let mut expected = rows.to_vec();
        expected.sort();
        assert_eq!(actual, expected, "{topic} from the {source}");
    }
}

fn ts(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("a valid RFC 3339 time")
        .timestamp_millis()
}

/// A placed order in USD at 2026-11-30T21:15:00Z.
fn order(customer_id: &str, product_id: &str, quantity: u32, price: &str) -> Order {
    Order {
        ts_ms: ts("2026-11-30T21:15:00Z"),
        customer_id: customer_id.to_owned(),
        product_id: product_id.to_owned(),
        quantity,
        price: price.parse().expect("a decimal price"),
        currency: None,
        status: None,
        payment_method: None,
    }
}

fn put_order(id: &str, order: Order) -> Update {
    Update::Order(id.to_owned(), Some(order))
}

fn rate(currency: &str, rate: Option<&str>) -> Update {
    let rate = rate.map(|rate| rate.parse().expect("a decimal rate"));
    Update::Rate(currency.to_owned(), rate)
}

#[test]
fn an_order_moves_to_its_segment_when_its_customer_arrives_and_back_when_it_leaves() {
    let ada = Customer {
        gender: Some("Female".to_owned()),
        age: Some(30),
        country: Some("DE".to_owned()),
    };
    let at = scenario(&[
        vec![put_order("1", order("c-1", "p-1", 2, "10.00"))],
        vec![Update::Customer("c-1".to_owned(), Some(ada))],
        vec![Update::Customer("c-1".to_owned(), None)],
    ]);
    let figures =
        r#""orders":1,"units":2,"revenue":20.00,"avg_unit_price":10.00,"avg_order_value":20.00"#;
    let unknown_segment = [(
        r#"{"gender":"unknown","age_band":"unknown"}"#,
        &*format!(r#"{{"gender":"unknown","age_band":"unknown",{figures}}}"#),
    )];
    let unknown_country = [(
        r#"{"country":"unknown"}"#,
        &*format!(r#"{{"country":"unknown",{figures}}}"#),
    )];
    assert_rows(&at[0], "sales_by_segment", &unknown_segment);
    assert_rows(&at[0], "sales_by_country", &unknown_country);

    assert_rows(
        &at[1],
        "sales_by_segment",
        &[(
            r#"{"gender":"F","age_band":"25-34"}"#,
            &format!(r#"{{"gender":"F","age_band":"25-34",{figures}}}"#),
        )],
    );
    assert_rows(
        &at[1],
        "sales_by_country",
        &[(
            r#"{"country":"DE"}"#,
            &format!(r#"{{"country":"DE",{figures}}}"#),
        )],
    );

    assert_rows(&at[2], "sales_by_segment", &unknown_segment);
    assert_rows(&at[2], "sales_by_country", &unknown_country);
}

#[test]
fn a_cancellation_tombstones_the_groups_only_it_was_in() {
    let card = Order {
        payment_method: Some("card".to_owned()),
        ..order("c-1", "p-1", 2, "10.00")
    };
    let paypal = Order {
        payment_method: Some("paypal".to_owned()),
        ..order("c-2", "p-2", 1, "5.00")
    };
    let cancelled = Order {
        status: Some("Cancelled".to_owned()),
        ..paypal.clone()
    };
    let at = scenario(&[
        vec![put_order("1", card), put_order("2", paypal)],
        vec![put_order("2", cancelled)],
    ]);
    let card_figures =
        r#""orders":1,"units":2,"revenue":20.00,"avg_unit_price":10.00,"avg_order_value":20.00"#;
    let paypal_figures =
        r#""orders":1,"units":1,"revenue":5.00,"avg_unit_price":5.00,"avg_order_value":5.00"#;
    let card_row = (
        r#"{"payment_method":"card"}"#,
        &*format!(r#"{{"payment_method":"card",{card_figures}}}"#),
    );
    let paypal_row = (
        r#"{"payment_method":"paypal"}"#,
        &*format!(r#"{{"payment_method":"paypal",{paypal_figures}}}"#),
    );
    assert_rows(&at[0], "sales_by_payment_method", &[card_row, paypal_row]);
    assert_rows(
        &at[0],
        "orders_by_status",
        &[(
            r#"{"status":"placed"}"#,
            r#"{"status":"placed","orders":2,"units":3,"value":25.00}"#,
        )],
    );

    assert_rows(&at[1], "sales_by_payment_method", &[card_row]);
    assert_rows(
        &at[1],
        "sales_by_customer",
        &[(
            r#"{"customer_id":"c-1"}"#,
            &format!(r#"{{"customer_id":"c-1",{card_figures}}}"#),
        )],
    );
    assert_rows(
        &at[1],
        "top_products_by_units",
        &[(
            r#"{"product_id":"p-1"}"#,
            &format!(
                r#"{{"product_id":"p-1","rank":1,"name":null,"category":"unknown",{card_figures}}}"#
            ),
        )],
    );
    assert_rows(
        &at[1],
        "orders_by_status",
        &[
            (
                r#"{"status":"placed"}"#,
                r#"{"status":"placed","orders":1,"units":2,"value":20.00}"#,
            ),
            (
                r#"{"status":"cancelled"}"#,
                r#"{"status":"cancelled","orders":1,"units":1,"value":5.00}"#,
            ),
        ],
    );
}

#[test]
fn a_rate_arriving_prices_an_unpriced_order_and_a_rate_leaving_unprices_it() {
    let in_euros = |quantity, price| Order {
        currency: Some("EUR".to_owned()),
        ..order("c-1", "p-1", quantity, price)
    };
    let at = scenario(&[
        vec![put_order("1", in_euros(3, "19.99"))],
        vec![rate("EUR", Some("1.0842"))],
        // 0.10 EUR at 1.05 is 0.105 USD: a midpoint, rounded away from zero.
        vec![
            rate("EUR", Some("1.05")),
            put_order("2", in_euros(1, "0.10")),
        ],
        vec![rate("EUR", None)],
    ]);
    let eur = r#"{"currency":"EUR"}"#;
    assert_rows(
        &at[0],
        "sales_by_currency",
        &[(
            eur,
            r#"{"currency":"EUR","orders":1,"units":3,"revenue":0.00,"avg_unit_price":0.00,"avg_order_value":0.00,"revenue_native":59.97}"#,
        )],
    );
    // 3 x 19.99 x 1.0842 = 65.019558; per unit 21.673186.
    assert_rows(
        &at[1],
        "sales_by_currency",
        &[(
            eur,
            r#"{"currency":"EUR","orders":1,"units":3,"revenue":65.02,"avg_unit_price":21.67,"avg_order_value":65.02,"revenue_native":59.97}"#,
        )],
    );
    assert_rows(
        &at[1],
        "sales_total",
        &[(
            r#"{"scope":"all"}"#,
            r#"{"scope":"all","orders":1,"units":3,"revenue":65.02,"avg_unit_price":21.67,"avg_order_value":65.02}"#,
        )],
    );
    // 62.9685 + 0.105 = 63.0735; per unit 15.768375; per order 31.53675.
    assert_rows(
        &at[2],
        "sales_by_currency",
        &[(
            eur,
            r#"{"currency":"EUR","orders":2,"units":4,"revenue":63.07,"avg_unit_price":15.77,"avg_order_value":31.54,"revenue_native":60.07}"#,
        )],
    );
    assert_rows(
        &at[2],
        "orders_by_status",
        &[(
            r#"{"status":"placed"}"#,
            r#"{"status":"placed","orders":2,"units":4,"value":63.07}"#,
        )],
    );
    assert_rows(
        &at[3],
        "sales_by_currency",
        &[(
            eur,
            r#"{"currency":"EUR","orders":2,"units":4,"revenue":0.00,"avg_unit_price":0.00,"avg_order_value":0.00,"revenue_native":60.07}"#,
        )],
    );
}

#[test]
fn a_product_overtaken_in_units_leaves_the_top_10() {
    // Products 1..=10 sell 2 units each, product 11 one: 11 is out, and among equals smaller
    // ids rank first, numerically ("9" before "10").
    let mut first = vec![Update::Product(
        "11".to_owned(),
        Some(Product {
            name: Some("Mug".to_owned()),
            category: Some("kitchen".to_owned()),
        }),
    )];
    for product in 1..=10 {
        first.push(put_order(
            &product.to_string(),
            order("c-1", &product.to_string(), 2, "1.00"),
        ));
    }
    first.push(put_order("11", order("c-1", "11", 1, "1.00")));
    let at = scenario(&[first, vec![put_order("11", order("c-1", "11", 3, "1.00"))]]);

    let row = |product: &str, rank: u32, units: u32| {
        let key = format!(r#"{{"product_id":"{product}"}}"#);
        let (name, category) = match product {
            "11" => (r#""Mug""#, "kitchen"),
            _ => ("null", "unknown"),
        };
        let value = format!(
            r#"{{"product_id":"{product}","rank":{rank},"name":{name},"category":"{category}","orders":1,"units":{units},"revenue":{units}.00,"avg_unit_price":1.00,"avg_order_value":{units}.00}}"#
        );
        (key, value)
    };
    let before: Vec<_> = (1..=10).map(|p| row(&p.to_string(), p, 2)).collect();
    let mut after = vec![row("11", 1, 3)];
    after.extend((1..=9).map(|p| row(&p.to_string(), p + 1, 2)));
    for (tables, rows) in [(&at[0], before), (&at[1], after)] {
        let rows: Vec<(&str, &str)> = rows.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_rows(tables, "top_products_by_units", &rows);
    }
}

#[test]
fn the_oracle_rounds_half_away_from_zero_and_orders_ids_numbers_first() {
    let decimal = |text: &str| text.parse().expect("a decimal");
    assert_eq!(cents(decimal("0.105")), "0.11");
    assert_eq!(cents(decimal("0.5")), "0.50");
    assert_eq!(cents(decimal("12")), "12.00");
    assert_eq!(cents(decimal("65.019558")), "65.02");
    let mut ids = ["p10", "10", "9", "p9", "0", "007", "a"];
    ids.sort_by(|a, b| id_order(a, b));
    assert_eq!(ids, ["0", "9", "10", "007", "a", "p10", "p9"]);
}
