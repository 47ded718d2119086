//! The output topics, and how each analysis's rows become `(topic, key JSON, value JSON)`.
//!
//! Encoding happens inside the dataflow, on the worker that owns the row, so the sink (or the
//! in-process runner) only moves bytes.

use differential_dataflow::{AsCollection, VecCollection};
use timely::dataflow::operators::vec::Filter;
use timely::progress::Timestamp;

use crate::codecs::rows;
use crate::dataflows::{TopRow, Views};
pub use crate::model::OutputTopic;
use crate::model::{Figures, InputTopic, ProductId};

/// One output row: its topic, key object and whole value, each change `+1` (now) or `-1` (no more).
pub type EncodedRow = (OutputTopic, String, String);

/// The name of each input topic, in the order of `InputTopic::ALL`, as `data_quality` names them.
pub type InputNames = [String; 5];

/// The default input topic names.
pub fn default_input_names() -> InputNames {
    InputTopic::ALL.map(|topic| topic.default_name().to_string())
}

/// Every view's rows, encoded; with `after`, only their changes at later times.
pub fn encode<'s, T: Timestamp>(
    views: Views<'s, T>,
    input_names: &InputNames,
    after: Option<T>,
) -> VecCollection<'s, T, EncodedRow> {
    let s = views.sales;
    let t = views.top;
    let names = input_names.clone();
    let sales = |topic: OutputTopic, field: &'static str| {
        move |(key, figures): (String, Figures)| {
            let fields = [(field, key.as_str())];
            (topic, rows::key(&fields), rows::sales(&fields, &figures))
        }
    };
    let top =
        |topic: OutputTopic| move |(id, row): (ProductId, TopRow)| encode_top(topic, &id, &row);
    let parts = [
        changes_after(s.sales_total, &after).map(|((), f)| {
            let fields = [("scope", "all")];
            (
                OutputTopic::SalesTotal,
                rows::key(&fields),
                rows::sales(&fields, &f),
            )
        }),
        changes_after(s.sales_by_category, &after)
            .map(|(c, f)| (c.to_string(), f))
            .map(sales(OutputTopic::SalesByCategory, "category")),
        changes_after(s.sales_by_segment, &after).map(|((gender, band), f)| {
            let fields = [("gender", gender.as_str()), ("age_band", band.as_str())];
            (
                OutputTopic::SalesBySegment,
                rows::key(&fields),
                rows::sales(&fields, &f),
            )
        }),
        changes_after(s.sales_by_country, &after)
            .map(|(c, f)| (c.to_string(), f))
            .map(sales(OutputTopic::SalesByCountry, "country")),
        changes_after(s.sales_by_payment_method, &after)
            .map(|(p, f)| (p.to_string(), f))
            .map(sales(OutputTopic::SalesByPaymentMethod, "payment_method")),
        changes_after(s.sales_by_currency, &after).map(|(c, f)| {
            let fields = [("currency", c.as_str())];
            (
                OutputTopic::SalesByCurrency,
                rows::key(&fields),
                rows::sales_in_currency(&fields, &f),
            )
        }),
        changes_after(s.sales_by_hour, &after)
            .map(|(h, f)| (h.label(), f))
            .map(sales(OutputTopic::SalesByHour, "hour")),
        changes_after(s.sales_by_day, &after)
            .map(|(d, f)| (d.label(), f))
            .map(sales(OutputTopic::SalesByDay, "day")),
        changes_after(s.sales_by_month, &after)
            .map(|(m, f)| (m.label(), f))
            .map(sales(OutputTopic::SalesByMonth, "month")),
        changes_after(s.sales_by_customer, &after)
            .map(|(c, f)| (c.to_string(), f))
            .map(sales(OutputTopic::SalesByCustomer, "customer_id")),
        changes_after(s.orders_by_status, &after).map(|(status, f)| {
            let fields = [("status", status.as_str())];
            (
                OutputTopic::OrdersByStatus,
                rows::key(&fields),
                rows::status(&fields, &f),
            )
        }),
        changes_after(t.top_products_by_units, &after).map(top(OutputTopic::TopProductsByUnits)),
        changes_after(t.top_products_by_revenue, &after)
            .map(top(OutputTopic::TopProductsByRevenue)),
        changes_after(t.top_products_last_hour, &after).map(top(OutputTopic::TopProductsLastHour)),
        changes_after(views.stock_levels, &after).map(|(id, level)| {
            let fields = [("product_id", id.as_str())];
            (
                OutputTopic::StockLevels,
                rows::key(&fields),
                rows::stock_level(&fields, &level),
            )
        }),
        changes_after(views.alerts, &after).map(|alert| {
            let fields = [
                ("rule", alert.rule.as_str()),
                ("subject", alert.subject.as_str()),
            ];
            (
                OutputTopic::Alerts,
                rows::key(&fields),
                rows::alert(&fields, &alert),
            )
        }),
        changes_after(views.data_quality, &after).map(move |(topic, quality)| {
            let fields = [("source_topic", names[topic as usize].as_str())];
            (
                OutputTopic::DataQuality,
                rows::key(&fields),
                rows::quality(&fields, &quality),
            )
        }),
    ];
    let [first, rest @ ..] = parts;
    first.concatenate(rest)
}

/// The topic of every change of every view, unencoded: counting output without paying for JSON.
pub fn topics<'s, T: Timestamp>(views: Views<'s, T>) -> VecCollection<'s, T, OutputTopic> {
    let (s, t) = (views.sales, views.top);
    let parts = [
        s.sales_total.map(|_| OutputTopic::SalesTotal),
        s.sales_by_category.map(|_| OutputTopic::SalesByCategory),
        s.sales_by_segment.map(|_| OutputTopic::SalesBySegment),
        s.sales_by_country.map(|_| OutputTopic::SalesByCountry),
        s.sales_by_payment_method
            .map(|_| OutputTopic::SalesByPaymentMethod),
        s.sales_by_currency.map(|_| OutputTopic::SalesByCurrency),
        s.sales_by_hour.map(|_| OutputTopic::SalesByHour),
        s.sales_by_day.map(|_| OutputTopic::SalesByDay),
        s.sales_by_month.map(|_| OutputTopic::SalesByMonth),
        s.sales_by_customer.map(|_| OutputTopic::SalesByCustomer),
        s.orders_by_status.map(|_| OutputTopic::OrdersByStatus),
        t.top_products_by_units
            .map(|_| OutputTopic::TopProductsByUnits),
        t.top_products_by_revenue
            .map(|_| OutputTopic::TopProductsByRevenue),
        t.top_products_last_hour
            .map(|_| OutputTopic::TopProductsLastHour),
        views.stock_levels.map(|_| OutputTopic::StockLevels),
        views.alerts.map(|_| OutputTopic::Alerts),
        views.data_quality.map(|_| OutputTopic::DataQuality),
    ];
    let [first, rest @ ..] = parts;
    first.concatenate(rest)
}

/// The changes of `rows` at times after `after`, or all of them. A restart's replay rebuilds the
/// state the previous run already wrote: its changes need no encoding unless some are repaired.
fn changes_after<'s, T: Timestamp, D: differential_dataflow::Data>(
    rows: VecCollection<'s, T, D>,
    after: &Option<T>,
) -> VecCollection<'s, T, D> {
    match after.clone() {
        None => rows,
        Some(after) => rows
            .inner
            .filter(move |(_, time, _)| !time.less_equal(&after))
            .as_collection(),
    }
}

fn encode_top(topic: OutputTopic, id: &ProductId, row: &TopRow) -> EncodedRow {
    let fields = [("product_id", id.as_str())];
    let value = rows::top_product(
        &fields,
        row.rank,
        row.name.as_deref(),
        &row.category,
        &row.figures,
    );
    (topic, rows::key(&fields), value)
}
