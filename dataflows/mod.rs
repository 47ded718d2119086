//! The analyses of salesflow as pure functions from collections to collections.
//!
//! ```text
//!  orders ─upsert─┬─ group keys ────────────────────────────┐
//!                 ├─ by customer ⋈ customers (left) ──────────┤
//!                 ├─ by product  ⋈ products  (left) ──────────┼─ (group, currency) ─ fx ─ count_total ─┬─ sales_* / orders_by_status
//!                 └─ by hour ⋈ window of the latest hour ─────┘                                         └─ top_products_*
//! ```
//!
//! Orders are never joined one by one. Every figure is a sum over orders, and sums commute with
//! the joins: the figures of the orders of one customer (or product, or hour) are summed first, in
//! the diff of the update, and only those sums meet the dimension tables and the exchange rates.
//! A customer changing country therefore moves one pre-summed row, not each of its orders.
//!
//! No I/O happens here: `tests/layering.rs` keeps it that way.

pub mod alerts;
pub mod figures;
pub mod fx;
pub mod groups;
pub mod last_hour;
pub mod left_join;
pub mod per_time;
pub mod quality;
pub mod sales;
pub mod stock;
pub mod top_products;
pub mod upsert;

use std::collections::BTreeSet;

use differential_dataflow::lattice::Lattice;
use differential_dataflow::{AsCollection, Data, VecCollection};
use timely::dataflow::operators::vec::ToStream;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use crate::model::{
    Currency, Customer, CustomerId, InputTopic, OrderId, OutputTopic, Product, ProductId, Rate,
    SharedOrder, StockCount,
};

pub use alerts::{Alert, AlertRules, Fact};
pub use quality::{Counter, Quality};
pub use sales::{SalesViews, sales_by};
pub use stock::StockLevel;
pub use top_products::{TopProductsViews, TopRow, top_products};

/// The time of every analysis: totally ordered (epochs), as the upsert and `count_total` need.
pub trait Time: Timestamp + Lattice + TotalOrder + differential_dataflow::ExchangeData {}
impl<T: Timestamp + Lattice + TotalOrder + differential_dataflow::ExchangeData> Time for T {}

/// The current input tables, after upsert, and what was counted on the way in.
pub struct Tables<'s, T: Timestamp> {
    pub orders: VecCollection<'s, T, (OrderId, SharedOrder)>,
    pub customers: VecCollection<'s, T, (CustomerId, Customer)>,
    pub products: VecCollection<'s, T, (ProductId, Product)>,
    pub rates: VecCollection<'s, T, (Currency, Rate)>,
    pub stock: VecCollection<'s, T, (ProductId, StockCount)>,
    /// Counters of the input records (consumed, dead-lettered, duplicates, ...), summed in diffs.
    pub counted: VecCollection<'s, T, (InputTopic, Counter)>,
}

/// Settings that change what the analyses compute.
#[derive(Clone, Debug)]
pub struct AnalysisConfig {
    /// Revenue is reported in this currency; its own rate is always 1.
    pub base_currency: Currency,
    pub rules: AlertRules,
    /// The outputs to maintain; the others are not computed and keep no state.
    pub selected: BTreeSet<OutputTopic>,
}

impl AnalysisConfig {
    /// Every analysis, with the default alert thresholds.
    pub fn all(base_currency: Currency) -> Self {
        AnalysisConfig {
            base_currency,
            rules: AlertRules::default(),
            selected: OutputTopic::ANALYSES.into_iter().collect(),
        }
    }

    pub fn wants(&self, topic: OutputTopic) -> bool {
        self.selected.contains(&topic)
    }
}

/// Every output of the analyses; an output that is not selected is empty.
pub struct Views<'s, T: Timestamp> {
    pub sales: SalesViews<'s, T>,
    pub top: TopProductsViews<'s, T>,
    pub stock_levels: VecCollection<'s, T, (ProductId, StockLevel)>,
    pub alerts: VecCollection<'s, T, Alert>,
    pub data_quality: VecCollection<'s, T, (InputTopic, Quality)>,
}

/// Builds the selected analyses over the current input tables.
pub fn analyses<'s, T: Time>(tables: Tables<'s, T>, config: &AnalysisConfig) -> Views<'s, T> {
    let scope = tables.orders.inner.scope();
    let live = tables
        .orders
        .clone()
        .filter(|(_, order)| order.status.is_live());
    let stock_levels =
        if config.wants(OutputTopic::StockLevels) || config.wants(OutputTopic::Alerts) {
            stock::stock_levels(live.clone(), tables.stock.clone())
        } else {
            empty(scope)
        };
    let alerts = if config.wants(OutputTopic::Alerts) {
        let evidence = alerts::Evidence {
            live: live.clone(),
            rates: tables.rates.clone(),
            base_currency: config.base_currency,
            stock: stock_levels.clone(),
        };
        alerts::alerts(&evidence, &config.rules)
    } else {
        empty(scope)
    };
    let data_quality = if config.wants(OutputTopic::DataQuality) {
        let live_tables = quality::LiveTables {
            live,
            customers: tables.customers.clone(),
            products: tables.products.clone(),
            rates: tables.rates.clone(),
            base_currency: config.base_currency,
        };
        quality::data_quality(tables.counted.clone(), live_tables)
    } else {
        empty(scope)
    };
    let products = tables.products.clone();
    let sales = sales_by(tables, config);
    let top = top_products(&sales, products, config);
    Views {
        sales,
        top,
        stock_levels: if config.wants(OutputTopic::StockLevels) {
            stock_levels
        } else {
            empty(scope)
        },
        alerts,
        data_quality,
    }
}

/// A collection that never changes: what an output that is not selected holds.
fn empty<'s, T: Time, D: Data>(scope: timely::dataflow::Scope<'s, T>) -> VecCollection<'s, T, D> {
    Vec::<(D, T, crate::model::Diff)>::new()
        .to_stream(scope)
        .as_collection()
}
