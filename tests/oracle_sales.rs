//! The job's tables, after every step of any input stream, are exactly what a from-scratch fold of
//! the records so far gives (`support::oracle`), on one worker and on two: the sales tables, stock
//! levels, alerts (with thresholds small enough to fire often) and data quality.
//!
//! The raw records go to the in-process runner, which decodes them itself, one step per logical
//! time. The JSON decoder is also checked on its own: it must accept exactly the records
//! generated as good, and refuse each bad one with the error kind the generator meant.

mod support;

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use chrono::DateTime;
use proptest::prelude::*;
use proptest::sample::subsequence;
use salesflow::codecs::json::{DecodeConfig, decode};
use salesflow::dataflows::AlertRules;
use salesflow::model::{InputTopic, Money, OutputTopic};
use salesflow::runner::{RawRecord, RunConfig, run};

use support::oracle::{
    Customer, Order, Product, Rules, State, Stock, Tables, Update, cents, id_order,
};
use support::streams::{self, Flaw, Meaning, Record, Topic};

/// Every stream runs on each of these worker counts.
const WORKERS: [usize; 2] = [1, 2];

/// Alert thresholds small enough that the generated streams (a few dozen orders over six hours,
/// three ips, eight customers, prices up to 200.00 a unit) fire every rule in a good share of
/// cases, and stop firing it as orders are cancelled, corrected or deleted. Measured over 500
/// streams, the share of cases where each rule fires (and later stops): high_value_order 90%
/// (75%), ip_burst 44% (36%), customer_burst 31% (25%), low_stock 79% (59%).
const HIGH_VALUE_CENTS: i64 = 40_000;
const IP_BURST: usize = 3;
const CUSTOMER_BURST: usize = 3;
/// Buckets aligned to the Unix epoch but not to hours, so one spans an hour boundary (21:45 to
/// 22:30) and bucket arithmetic cannot pass by agreeing with `sales_by_hour`.
const BUCKET_MS: i64 = 45 * 60_000;

fn oracle_rules() -> Rules {
    Rules {
        high_value: rust_decimal::Decimal::new(HIGH_VALUE_CENTS, 2),
        ip_burst: IP_BURST,
        customer_burst: CUSTOMER_BURST,
        bucket_ms: BUCKET_MS,
    }
}

/// Decoding as the streams need: the size limit their too-large records are over.
fn decode_config() -> DecodeConfig {
    DecodeConfig {
        max_record_bytes: streams::MAX_RECORD_BYTES,
        ..DecodeConfig::default()
    }
}

/// The runner on `workers`, with the test's size limit and alert thresholds, maintaining
/// `selected`.
fn run_config(workers: usize, selected: &BTreeSet<OutputTopic>) -> RunConfig {
    let mut config = RunConfig::new(workers);
    config.decode = decode_config();
    config.analysis.rules = AlertRules {
        high_value: Money::from_cents(i128::from(HIGH_VALUE_CENTS)),
        ip_burst: IP_BURST as i64,
        customer_burst: CUSTOMER_BURST as i64,
        bucket_ms: BUCKET_MS,
    };
    config.analysis.selected = selected.clone();
    config
}

fn all_outputs() -> BTreeSet<OutputTopic> {
    OutputTopic::ANALYSES.into_iter().collect()
}

fn input_topic(topic: Topic) -> InputTopic {
    match topic {
        Topic::Orders => InputTopic::Orders,
        Topic::Customers => InputTopic::Customers,
        Topic::Products => InputTopic::Products,
        Topic::FxRates => InputTopic::FxRates,
        Topic::Inventory => InputTopic::Inventory,
    }
}

fn raw(record: &Record) -> RawRecord {
    RawRecord {
        topic: input_topic(record.topic),
        key: record.key.clone(),
        value: record.value.clone(),
    }
}

/// The decoder accepts exactly the good records, and refuses each bad one as the kind it is.
fn check_decoder(steps: &[Vec<Record>]) -> Result<(), TestCaseError> {
    let config = decode_config();
    for record in steps.iter().flatten() {
        let result = decode(
            input_topic(record.topic),
            record.key.as_deref(),
            record.value.as_deref(),
            &config,
        );
        match (result, record.flaw()) {
            (Ok(_), None) => {}
            (Err(error), Some(flaw)) if error.kind.as_str() == flaw.kind() => {}
            (Err(error), Some(flaw)) => {
                return Err(TestCaseError::fail(format!(
                    "decode refused {record:?} as {} ({}), not as {}",
                    error.kind.as_str(),
                    error.message,
                    flaw.kind()
                )));
            }
            (Ok(change), Some(_)) => {
                return Err(TestCaseError::fail(format!(
                    "decode accepted bad input {record:?} as {change:?}"
                )));
            }
            (Err(error), None) => {
                return Err(TestCaseError::fail(format!(
                    "decode rejected good input {record:?}: {}: {}",
                    error.kind.as_str(),
                    error.message
                )));
            }
        }
    }
    Ok(())
}

/// The oracle's tables after each step.
fn expected_tables(steps: &[Vec<Record>]) -> Vec<Tables> {
    let mut state = State::new(oracle_rules());
    steps
        .iter()
        .map(|step| {
            for record in step {
                record.feed(&mut state);
            }
            state.tables()
        })
        .collect()
}

/// Runs take turns. Each run's timely workers spin while they wait for one another, and two runs
/// at once (cargo runs tests in parallel) on a machine with few cores spend most of their time
/// descheduled: the two property tests take four times as long together as one after the other.
static RUNS: Mutex<()> = Mutex::new(());

/// The runner's tables after each step.
fn actual_tables(steps: &[Vec<Record>], config: &RunConfig) -> Vec<Tables> {
    let raw_steps = steps
        .iter()
        .map(|step| step.iter().map(raw).collect())
        .collect();
    let output = {
        let _turn = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
        run(config, raw_steps)
    };
    (0..steps.len() as u64)
        .map(|time| output.tables_at(time))
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

/// On every worker count, after every step, the `selected` tables equal the oracle's and no
/// other table has a row.
fn matches_oracle_after_every_step(
    steps: &[Vec<Record>],
    selected: &BTreeSet<OutputTopic>,
) -> Result<(), TestCaseError> {
    check_decoder(steps)?;
    let names: BTreeSet<&str> = selected.iter().map(|topic| topic.name()).collect();
    let mut expected = expected_tables(steps);
    for tables in &mut expected {
        tables.retain(|topic, _| names.contains(topic.as_str()));
    }
    for (workers, pipelined) in WORKERS.into_iter().flat_map(|w| [(w, false), (w, true)]) {
        let mut config = run_config(workers, selected);
        config.pipelined = pipelined;
        let actual = actual_tables(steps, &config);
        for (time, (expected, actual)) in expected.iter().zip(&actual).enumerate() {
            if let Some(difference) = first_difference(expected, actual) {
                return Err(TestCaseError::fail(format!(
                    "after step {time} on {workers} worker(s), pipelined {pipelined}: {difference}"
                )));
            }
        }
    }
    Ok(())
}

/// 500 cases, or `PROPTEST_CASES`, divided by `share`. Failures are reported shrunk, not
/// persisted to files.
fn config(share: u32) -> ProptestConfig {
    let cases: u32 = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(500);
    ProptestConfig {
        cases: (cases / share).max(1),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(1))]

    #[test]
    fn every_table_matches_a_from_scratch_fold_after_every_step(steps in streams::stream()) {
        matches_oracle_after_every_step(&steps, &all_outputs())?;
    }
}

proptest! {
    #![proptest_config(config(5))]

    /// An analysis computes the same alone as with the others (alerts need stock levels, which
    /// are then computed but not output), and an analysis not selected writes nothing.
    #[test]
    fn any_selection_of_outputs_matches_the_oracle_and_writes_nothing_else(
        steps in streams::stream(),
        selected in subsequence(OutputTopic::ANALYSES.to_vec(), 1..=OutputTopic::ANALYSES.len()),
    ) {
        matches_oracle_after_every_step(&steps, &selected.into_iter().collect())?;
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-written scenarios: the runner and the oracle both produce the tables written out here.

/// The tables after each step of `records`, as each source computes them: the oracle, then the
/// runner on every worker count.
fn scenario_of_records(steps: &[Vec<Record>]) -> Vec<Vec<(String, Tables)>> {
    check_decoder(steps).expect("scenario records decode as meant");
    let mut sources = vec![("oracle".to_owned(), expected_tables(steps))];
    for workers in WORKERS {
        let name = format!("runner on {workers} worker(s)");
        sources.push((
            name,
            actual_tables(steps, &run_config(workers, &all_outputs())),
        ));
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

/// The same, for steps of good records in their plainest form.
fn scenario(steps: &[Vec<Update>]) -> Vec<Vec<(String, Tables)>> {
    let records: Vec<Vec<Record>> = steps
        .iter()
        .map(|step| step.iter().map(streams::plain_record).collect())
        .collect();
    scenario_of_records(&records)
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
        ip: None,
    }
}

fn put_order(id: &str, order: Order) -> Update {
    Update::Order(id.to_owned(), Some(order))
}

fn cancelled(order: &Order) -> Order {
    Order {
        status: Some("cancelled".to_owned()),
        ..order.clone()
    }
}

fn rate(currency: &str, rate: Option<&str>) -> Update {
    let rate = rate.map(|rate| rate.parse().expect("a decimal rate"));
    Update::Rate(currency.to_owned(), rate)
}

fn customer() -> Customer {
    Customer {
        gender: None,
        age: None,
        country: None,
        name: None,
        email: None,
    }
}

fn product() -> Product {
    Product {
        name: None,
        category: None,
        brand: None,
        price: None,
    }
}

#[test]
fn an_order_moves_to_its_segment_when_its_customer_arrives_and_back_when_it_leaves() {
    let ada = Customer {
        gender: Some("Female".to_owned()),
        age: Some(30),
        country: Some("DE".to_owned()),
        ..customer()
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
            ..product()
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

#[test]
fn stock_counts_only_live_orders_since_the_count_and_alerts_while_low() {
    let count = Stock {
        on_hand: 10,
        as_of_ms: ts("2026-11-30T21:00:00Z"),
        reorder_point: Some(3),
    };
    let second = order("c-2", "p-1", 4, "1.00");
    let before_the_count = Order {
        ts_ms: ts("2026-11-30T20:59:59.999Z"),
        ..order("c-3", "p-1", 5, "1.00")
    };
    let at = scenario(&[
        vec![
            Update::Stock("p-1".to_owned(), Some(count)),
            put_order("1", order("c-1", "p-1", 4, "1.00")),
            put_order("2", second.clone()),
            put_order("3", before_the_count),
        ],
        vec![put_order("2", cancelled(&second))],
        vec![Update::Stock("p-1".to_owned(), None)],
    ]);
    let key = r#"{"product_id":"p-1"}"#;
    assert_rows(
        &at[0],
        "stock_levels",
        &[(
            key,
            r#"{"product_id":"p-1","on_hand":10,"as_of":"2026-11-30T21:00:00.000Z","reorder_point":3,"sold_since":8,"available":2,"low_stock":true}"#,
        )],
    );
    assert_rows(
        &at[0],
        "alerts",
        &[(
            r#"{"rule":"low_stock","subject":"p-1"}"#,
            r#"{"rule":"low_stock","subject":"p-1","reason":"product p-1 has 2 units available (10 on hand at 2026-11-30T21:00:00.000Z, 8 sold since), at or below its reorder point of 3","product_id":"p-1","on_hand":10,"sold_since":8,"available":2,"reorder_point":3}"#,
        )],
    );

    assert_rows(
        &at[1],
        "stock_levels",
        &[(
            key,
            r#"{"product_id":"p-1","on_hand":10,"as_of":"2026-11-30T21:00:00.000Z","reorder_point":3,"sold_since":4,"available":6,"low_stock":false}"#,
        )],
    );
    assert_rows(&at[1], "alerts", &[]);

    assert_rows(&at[2], "stock_levels", &[]);
}

#[test]
fn a_high_value_order_and_an_ip_burst_alert_until_their_facts_change() {
    // Buckets are 45 minutes from the Unix epoch: 21:00, 21:45, 22:30, ...
    let from_ip = |customer_id: &str, time: &str| Order {
        ts_ms: ts(&format!("2026-11-30T{time}Z")),
        ip: Some("10.0.0.1".to_owned()),
        ..order(customer_id, "p-2", 1, "5.00")
    };
    let big = order("c-1", "p-1", 5, "1250.00");
    let at = scenario(&[
        vec![
            put_order("7", big.clone()),
            put_order("o-7", from_ip("c-2", "22:29:59.999")),
            put_order("2", from_ip("c-3", "21:45:00")),
            put_order("o-3", from_ip("c-4", "22:00:00")),
            put_order("1", from_ip("c-5", "21:50:00")),
            // The bucket before: not part of the burst.
            put_order("4", from_ip("c-6", "21:44:59.999")),
        ],
        vec![
            put_order(
                "7",
                Order {
                    price: "10.00".parse().expect("a decimal"),
                    ..big
                },
            ),
            put_order("o-3", cancelled(&from_ip("c-4", "22:00:00"))),
        ],
        vec![Update::Order("2".to_owned(), None)],
    ]);
    let high_value = (
        r#"{"rule":"high_value_order","subject":"7"}"#,
        r#"{"rule":"high_value_order","subject":"7","reason":"order 7 is worth 6250.00 USD, at or above the limit of 400.00 USD","order_id":"7","customer_id":"c-1","product_id":"p-1","value":6250.00}"#,
    );
    let burst_key = r#"{"rule":"ip_burst","subject":"10.0.0.1@2026-11-30T21:45:00Z"}"#;
    assert_rows(
        &at[0],
        "alerts",
        &[
            high_value,
            (
                burst_key,
                r#"{"rule":"ip_burst","subject":"10.0.0.1@2026-11-30T21:45:00Z","reason":"4 live orders from ip 10.0.0.1 between 2026-11-30T21:45:00Z and 2026-11-30T22:30:00Z, at or above the limit of 3","ip":"10.0.0.1","bucket":"2026-11-30T21:45:00Z","orders":4,"order_ids":["1","2","o-3","o-7"]}"#,
            ),
        ],
    );
    assert_rows(
        &at[1],
        "alerts",
        &[(
            burst_key,
            r#"{"rule":"ip_burst","subject":"10.0.0.1@2026-11-30T21:45:00Z","reason":"3 live orders from ip 10.0.0.1 between 2026-11-30T21:45:00Z and 2026-11-30T22:30:00Z, at or above the limit of 3","ip":"10.0.0.1","bucket":"2026-11-30T21:45:00Z","orders":3,"order_ids":["1","2","o-7"]}"#,
        )],
    );
    assert_rows(&at[2], "alerts", &[]);
}

#[test]
fn data_quality_counts_every_record_and_judges_the_live_orders() {
    let in_euros = Order {
        currency: Some("EUR".to_owned()),
        ..order("c-1", "p-1", 1, "2.50")
    };
    let plain = |update: Update| streams::plain_record(&update);
    let bad = |key: &str, value: &str, flaw: Flaw| Record {
        topic: Topic::Orders,
        key: Some(key.as_bytes().to_vec()),
        value: Some(value.as_bytes().to_vec()),
        meaning: Meaning::Bad(flaw),
    };
    let at = scenario_of_records(&[
        vec![
            plain(put_order("1", in_euros.clone())),
            // The same order again, with its price written differently: a duplicate.
            Record {
                value: Some(
                    br#"{"order_id":"1","ts":"2026-11-30T22:15:00+01:00","customer_id":"c-1","product_id":"p-1","quantity":"1","price":2.5,"currency":"eur","status":"Placed"}"#
                        .to_vec(),
                ),
                ..plain(put_order("1", in_euros))
            },
            // Deleting an order that is not there changes nothing either.
            plain(Update::Order("9".to_owned(), None)),
            bad("2", "{\"order_id\":\"2\",", Flaw::NotJson),
            bad("2", r#"{"order_id":"2","ts":0,"customer_id":"c-1","product_id":"p-1","quantity":0,"price":1}"#, Flaw::ZeroQuantity),
            plain(Update::Customer("c-1".to_owned(), Some(customer()))),
        ],
        vec![
            plain(Update::Product("p-1".to_owned(), Some(product()))),
            plain(rate("EUR", Some("1.10"))),
        ],
    ]);
    assert_rows(
        &at[0],
        "data_quality",
        &[
            (
                r#"{"source_topic":"orders"}"#,
                r#"{"source_topic":"orders","consumed":5,"applied":3,"dead_lettered":2,"tombstones":1,"duplicates":2,"errors":{"bad_field":1,"not_json":1},"orphans":1,"unpriced":1}"#,
            ),
            (
                r#"{"source_topic":"customers"}"#,
                r#"{"source_topic":"customers","consumed":1,"applied":1,"dead_lettered":0,"tombstones":0,"duplicates":0,"errors":{}}"#,
            ),
        ],
    );
    assert_rows(
        &at[1],
        "data_quality",
        &[
            (
                r#"{"source_topic":"orders"}"#,
                r#"{"source_topic":"orders","consumed":5,"applied":3,"dead_lettered":2,"tombstones":1,"duplicates":2,"errors":{"bad_field":1,"not_json":1},"orphans":0,"unpriced":0}"#,
            ),
            (
                r#"{"source_topic":"customers"}"#,
                r#"{"source_topic":"customers","consumed":1,"applied":1,"dead_lettered":0,"tombstones":0,"duplicates":0,"errors":{}}"#,
            ),
            (
                r#"{"source_topic":"products"}"#,
                r#"{"source_topic":"products","consumed":1,"applied":1,"dead_lettered":0,"tombstones":0,"duplicates":0,"errors":{}}"#,
            ),
            (
                r#"{"source_topic":"fx_rates"}"#,
                r#"{"source_topic":"fx_rates","consumed":1,"applied":1,"dead_lettered":0,"tombstones":0,"duplicates":0,"errors":{}}"#,
            ),
        ],
    );
}
