//! Orders, units and revenue per group, for every `sales_*` topic and `orders_by_status` at once.
//!
//! Spec: `SELECT key(o), COUNT(*), SUM(qty), SUM(qty * price * rate) FROM orders o
//!        LEFT JOIN customers, products, rates GROUP BY key(o)`, over live orders (every order for
//! `orders_by_status`), one key per output topic.

use differential_dataflow::operators::CountTotal;
use differential_dataflow::{AsCollection, VecCollection};
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use timely::dataflow::operators::vec::Partition;
use timely::progress::Timestamp;

use super::groups::{GroupKey, Kind};
use super::left_join::left_join;
use super::per_time::pre_aggregate;
use super::{AnalysisConfig, Tables, Time, fx, last_hour};
use crate::model::{
    AgeBand, Currency, CustomerId, Day, Figures, Gender, Hour, Month, OutputTopic, ProductId,
    Status, dimension,
};

/// The sales outputs, one field per output topic, each row `(key, figures)` in value form.
pub struct SalesViews<'s, T: Timestamp> {
    pub sales_total: VecCollection<'s, T, ((), Figures)>,
    pub sales_by_category: VecCollection<'s, T, (SmolStr, Figures)>,
    pub sales_by_segment: VecCollection<'s, T, ((Gender, AgeBand), Figures)>,
    pub sales_by_country: VecCollection<'s, T, (SmolStr, Figures)>,
    pub sales_by_payment_method: VecCollection<'s, T, (SmolStr, Figures)>,
    pub sales_by_currency: VecCollection<'s, T, (Currency, Figures)>,
    pub sales_by_hour: VecCollection<'s, T, (Hour, Figures)>,
    pub sales_by_day: VecCollection<'s, T, (Day, Figures)>,
    pub sales_by_month: VecCollection<'s, T, (Month, Figures)>,
    pub sales_by_customer: VecCollection<'s, T, (CustomerId, Figures)>,
    pub orders_by_status: VecCollection<'s, T, (Status, Figures)>,
    /// Every product's figures over all live orders (the input of the top-product rankings).
    pub by_product: VecCollection<'s, T, (ProductId, Figures)>,
    /// Every product's figures over the live orders of the latest hour.
    pub by_product_last_hour: VecCollection<'s, T, (ProductId, Figures)>,
}

/// Every sales figure of the current tables.
pub fn sales_by<'s, T: Time>(tables: Tables<'s, T>, config: &AnalysisConfig) -> SalesViews<'s, T> {
    let Tables {
        orders,
        customers,
        products,
        rates,
        ..
    } = tables;

    let wanted = wanted_kinds(config);
    let wants = move |kind: Kind| wanted[kind as usize];

    // The latest-hour window is anchored on every current order, live or not.
    let timestamps = orders.clone().map(|(_, order)| order.ts);
    // Each order's figures ride in the diff from here on; summing is consolidation.
    let all_orders = orders.explode(|(_, order)| {
        let figures = Figures::of_order(&order);
        Some(((order.status.is_live(), order), figures))
    });
    let live = all_orders
        .clone()
        .filter(|(live, _)| *live)
        .map(|(_, order)| order);

    // The keys an order determines by itself, summed per cell of them before they are spread
    // over the groups: a batch has few cells and many orders. A late order lands in its own hour.
    let cell_kinds = [
        Kind::Status,
        Kind::Total,
        Kind::PaymentMethod,
        Kind::Currency,
        Kind::Hour,
        Kind::Day,
        Kind::Month,
    ];
    let any_cell_kind = cell_kinds.into_iter().any(wants);
    let cells = pre_aggregate(
        all_orders
            .filter(move |_| any_cell_kind)
            .map(|(live, order)| Cell {
                live,
                status: order.status.clone(),
                payment_method: dimension(order.payment_method.as_ref()),
                currency: order.currency,
                hour: Hour::of(order.ts),
            }),
        "sums per cell",
    );
    let from_cells = cells.flat_map(move |cell| {
        let currency = cell.currency;
        let hour = cell.hour;
        let live_groups = cell.live.then(|| {
            [
                GroupKey::Total,
                GroupKey::PaymentMethod(cell.payment_method),
                GroupKey::Currency(currency),
                GroupKey::Hour(hour),
                GroupKey::Day(Day::of(hour.start())),
                GroupKey::Month(Month::of(hour.start())),
            ]
        });
        std::iter::once(GroupKey::Status(cell.status))
            .chain(live_groups.into_iter().flatten())
            .filter(move |group| wants(group.kind()))
            .map(move |group| (group, currency))
    });

    let mut parts = Vec::new();

    // Sums per customer and per product, shared by their own groups and by the joins that find
    // their segment, country and category.
    if wants(Kind::Customer) || wants(Kind::Segment) || wants(Kind::Country) {
        let by_customer = pre_aggregate(
            live.clone()
                .map(|order| (order.customer_id.clone(), order.currency)),
            "live sums per customer",
        );
        if wants(Kind::Customer) {
            parts.push(
                by_customer
                    .clone()
                    .map(|(customer, currency)| (GroupKey::Customer(customer), currency)),
            );
        }
        // An order of an unknown customer counts under `unknown` until the customer arrives.
        if wants(Kind::Segment) || wants(Kind::Country) {
            parts.push(
                left_join(
                    by_customer,
                    customers.map(|(id, customer)| {
                        let segment = GroupKey::Segment(
                            Gender::of(customer.gender.as_deref()),
                            AgeBand::of(customer.age),
                        );
                        (
                            id,
                            (
                                segment,
                                GroupKey::Country(dimension(customer.country.as_ref())),
                            ),
                        )
                    }),
                    (
                        GroupKey::Segment(Gender::Unknown, AgeBand::Unknown),
                        GroupKey::Country(unknown()),
                    ),
                    "orders by customer",
                )
                .flat_map(move |(_, currency, (segment, country))| {
                    [(segment, currency), (country, currency)]
                        .into_iter()
                        .filter(move |(group, _)| wants(group.kind()))
                }),
            );
        }
    }
    if wants(Kind::Product) || wants(Kind::Category) {
        let by_product = pre_aggregate(
            live.clone()
                .map(|order| (order.product_id.clone(), order.currency)),
            "live sums per product",
        );
        if wants(Kind::Product) {
            parts.push(
                by_product
                    .clone()
                    .map(|(product, currency)| (GroupKey::Product(product), currency)),
            );
        }
        if wants(Kind::Category) {
            parts.push(
                left_join(
                    by_product,
                    products.map(|(id, product)| {
                        (id, GroupKey::Category(dimension(product.category.as_ref())))
                    }),
                    GroupKey::Category(unknown()),
                    "orders by product",
                )
                .map(|(_, currency, category)| (category, currency)),
            );
        }
    }
    if wants(Kind::RecentProduct) {
        parts.push(last_hour::recent_products(timestamps, live));
    }

    // The groups of one batch collapse here, before any exchange; so do the left joins'
    // `unknown` rows and their retractions.
    let native = pre_aggregate(from_cells.concatenate(parts), "sums per group");

    let rows = fx::convert(native, rates, config.base_currency).count_total();
    // Each row goes to its output once, instead of every output scanning every row.
    let parts: Vec<_> = rows
        .inner
        .partition(Kind::COUNT as u64, |update| {
            (update.0.0.kind() as u64, update)
        })
        .into_iter()
        .map(AsCollection::as_collection)
        .collect();
    let part = |kind: Kind| parts[kind as usize].clone();

    SalesViews {
        sales_total: pick(part(Kind::Total), |g| {
            matches!(g, GroupKey::Total).then_some(())
        }),
        sales_by_category: pick(part(Kind::Category), |g| match g {
            GroupKey::Category(c) => Some(c.clone()),
            _ => None,
        }),
        sales_by_segment: pick(part(Kind::Segment), |g| match g {
            GroupKey::Segment(gender, band) => Some((*gender, *band)),
            _ => None,
        }),
        sales_by_country: pick(part(Kind::Country), |g| match g {
            GroupKey::Country(c) => Some(c.clone()),
            _ => None,
        }),
        sales_by_payment_method: pick(part(Kind::PaymentMethod), |g| match g {
            GroupKey::PaymentMethod(p) => Some(p.clone()),
            _ => None,
        }),
        sales_by_currency: pick(part(Kind::Currency), |g| match g {
            GroupKey::Currency(c) => Some(*c),
            _ => None,
        }),
        sales_by_hour: pick(part(Kind::Hour), |g| match g {
            GroupKey::Hour(h) => Some(*h),
            _ => None,
        }),
        sales_by_day: pick(part(Kind::Day), |g| match g {
            GroupKey::Day(d) => Some(*d),
            _ => None,
        }),
        sales_by_month: pick(part(Kind::Month), |g| match g {
            GroupKey::Month(m) => Some(*m),
            _ => None,
        }),
        sales_by_customer: pick(part(Kind::Customer), |g| match g {
            GroupKey::Customer(c) => Some(c.clone()),
            _ => None,
        }),
        orders_by_status: pick(part(Kind::Status), |g| match g {
            GroupKey::Status(s) => Some(s.clone()),
            _ => None,
        }),
        by_product: pick(part(Kind::Product), |g| match g {
            GroupKey::Product(p) => Some(p.clone()),
            _ => None,
        }),
        by_product_last_hour: pick(part(Kind::RecentProduct), |g| match g {
            GroupKey::RecentProduct(p) => Some(p.clone()),
            _ => None,
        }),
    }
}

/// The keys of the groups an order determines by itself, with whether it is live.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
struct Cell {
    live: bool,
    status: Status,
    payment_method: SmolStr,
    currency: Currency,
    hour: Hour,
}

/// Which group kinds the selected outputs need, by `Kind as usize`.
fn wanted_kinds(config: &AnalysisConfig) -> [bool; Kind::COUNT] {
    let mut wanted = [false; Kind::COUNT];
    for topic in &config.selected {
        let kind = match topic {
            OutputTopic::SalesTotal => Kind::Total,
            OutputTopic::SalesByCategory => Kind::Category,
            OutputTopic::SalesBySegment => Kind::Segment,
            OutputTopic::SalesByCountry => Kind::Country,
            OutputTopic::SalesByPaymentMethod => Kind::PaymentMethod,
            OutputTopic::SalesByCurrency => Kind::Currency,
            OutputTopic::SalesByHour => Kind::Hour,
            OutputTopic::SalesByDay => Kind::Day,
            OutputTopic::SalesByMonth => Kind::Month,
            OutputTopic::SalesByCustomer => Kind::Customer,
            OutputTopic::OrdersByStatus => Kind::Status,
            OutputTopic::TopProductsByUnits | OutputTopic::TopProductsByRevenue => Kind::Product,
            OutputTopic::TopProductsLastHour => Kind::RecentProduct,
            OutputTopic::StockLevels
            | OutputTopic::Alerts
            | OutputTopic::DataQuality
            | OutputTopic::DeadLetters => continue,
        };
        wanted[kind as usize] = true;
    }
    wanted
}

fn unknown() -> SmolStr {
    SmolStr::new_static("unknown")
}

/// The typed rows of one output, out of the rows routed to it.
fn pick<'s, T: Time, K: differential_dataflow::Data>(
    rows: VecCollection<'s, T, (GroupKey, Figures)>,
    key: impl Fn(&GroupKey) -> Option<K> + 'static,
) -> VecCollection<'s, T, (K, Figures)> {
    rows.flat_map(move |(group, figures)| key(&group).map(|k| (k, figures)))
}
