//! The ten best-selling products by units, by revenue, and by units in the latest hour.
//!
//! Spec: rank 1..=10 by the figure, ties by smaller `product_id`; a product that leaves the ten
//! leaves the output. Rows carry the product's current name and category.

use differential_dataflow::{Hashable, VecCollection};
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use timely::progress::Timestamp;

use super::left_join::left_join;
use super::{AnalysisConfig, SalesViews, Time};
use crate::model::{Figures, OutputTopic, Product, ProductId, ReadingOrder, dimension};

/// How many products a ranking holds.
pub const TOP: usize = 10;

/// Candidates are first ranked within this many buckets of products, so a change re-ranks one
/// bucket's products and then only the buckets' leaders, not every product.
const BUCKETS: u64 = 16;

/// One row of a top-products output.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopRow {
    pub rank: u32,
    pub name: Option<SmolStr>,
    pub category: SmolStr,
    pub figures: Figures,
}

/// The top-product outputs, one field per output topic.
pub struct TopProductsViews<'s, T: Timestamp> {
    pub top_products_by_units: VecCollection<'s, T, (ProductId, TopRow)>,
    pub top_products_by_revenue: VecCollection<'s, T, (ProductId, TopRow)>,
    pub top_products_last_hour: VecCollection<'s, T, (ProductId, TopRow)>,
}

/// Ranks the per-product figures of `sales` and names the products.
pub fn top_products<'s, T: Time>(
    sales: &SalesViews<'s, T>,
    products: VecCollection<'s, T, (ProductId, Product)>,
    config: &AnalysisConfig,
) -> TopProductsViews<'s, T> {
    let scope = products.inner.scope();
    let labels =
        products.map(|(id, product)| (id, (product.name, dimension(product.category.as_ref()))));
    let by_units = |f: &Figures| i128::from(f.units);
    let by_revenue = |f: &Figures| f.revenue.0;
    let named = |topic: OutputTopic,
                 ranked: &dyn Fn() -> VecCollection<'s, T, (ProductId, (u32, Figures))>,
                 name| {
        if !config.wants(topic) {
            return super::empty(scope);
        }
        left_join(
            ranked(),
            labels.clone(),
            (None, SmolStr::new_static("unknown")),
            name,
        )
        .map(|(id, (rank, figures), (name, category))| {
            (
                id,
                TopRow {
                    rank,
                    name,
                    category,
                    figures,
                },
            )
        })
    };
    TopProductsViews {
        top_products_by_units: named(
            OutputTopic::TopProductsByUnits,
            &|| top_k(sales.by_product.clone(), by_units, "top by units"),
            "top by units",
        ),
        top_products_by_revenue: named(
            OutputTopic::TopProductsByRevenue,
            &|| top_k(sales.by_product.clone(), by_revenue, "top by revenue"),
            "top by revenue",
        ),
        top_products_last_hour: named(
            OutputTopic::TopProductsLastHour,
            &|| {
                top_k(
                    sales.by_product_last_hour.clone(),
                    by_units,
                    "top in the last hour",
                )
            },
            "top in the last hour",
        ),
    }
}

/// The `TOP` products with the largest `score`, ties by smaller id, each with its rank.
fn top_k<'s, T: Time>(
    figures: VecCollection<'s, T, (ProductId, Figures)>,
    score: impl Fn(&Figures) -> i128 + 'static,
    name: &str,
) -> VecCollection<'s, T, (ProductId, (u32, Figures))> {
    // Sorted ascending, `(-score, id)` puts the best first and breaks ties by the smaller id.
    figures
        .map(move |(id, f)| (id.hashed() % BUCKETS, (-score(&f), ReadingOrder(id), f)))
        .reduce_named(&format!("{name}: per bucket"), |_, input, output| {
            output.extend(
                input
                    .iter()
                    .take(TOP)
                    .map(|(candidate, _)| ((*candidate).clone(), 1)),
            );
        })
        .map(|(_, candidate)| ((), candidate))
        .reduce_named(&format!("{name}: overall"), |_, input, output| {
            output.extend(
                input
                    .iter()
                    .take(TOP)
                    .zip(1..)
                    .map(|((candidate, _), rank)| ((rank, (*candidate).clone()), 1)),
            );
        })
        .map(|((), (rank, (_, ReadingOrder(id), f)))| (id, (rank, f)))
}
