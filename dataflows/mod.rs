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

pub mod figures;
pub mod fx;
pub mod groups;
pub mod last_hour;
pub mod left_join;
pub mod per_time;
pub mod sales;
pub mod top_products;
pub mod upsert;

use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use crate::model::{Currency, Customer, CustomerId, Order, OrderId, Product, ProductId, Rate};

pub use sales::{SalesViews, sales_by};
pub use top_products::{TopProductsViews, TopRow, top_products};

/// The time of every analysis: totally ordered (epochs), as the upsert and `count_total` need.
pub trait Time: Timestamp + Lattice + TotalOrder + differential_dataflow::ExchangeData {}
impl<T: Timestamp + Lattice + TotalOrder + differential_dataflow::ExchangeData> Time for T {}

/// The current input tables, after upsert.
pub struct Tables<'s, T: Timestamp> {
    pub orders: VecCollection<'s, T, (OrderId, Order)>,
    pub customers: VecCollection<'s, T, (CustomerId, Customer)>,
    pub products: VecCollection<'s, T, (ProductId, Product)>,
    pub rates: VecCollection<'s, T, (Currency, Rate)>,
}

/// Settings that change what the analyses compute.
#[derive(Clone, Debug)]
pub struct AnalysisConfig {
    /// Revenue is reported in this currency; its own rate is always 1.
    pub base_currency: Currency,
}

/// Every output of the analyses.
pub struct Views<'s, T: Timestamp> {
    pub sales: SalesViews<'s, T>,
    pub top: TopProductsViews<'s, T>,
}

/// Builds every analysis over the current input tables.
pub fn analyses<'s, T: Time>(tables: Tables<'s, T>, config: &AnalysisConfig) -> Views<'s, T> {
    let products = tables.products.clone();
    let sales = sales_by(tables, config);
    let top = top_products(&sales, products);
    Views { sales, top }
}
