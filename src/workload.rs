//! A seeded workload of changes: what `salesflow generate` produces and the benchmarks feed.
//!
//! Same seed, same changes: customers, products, stock counts and rates are loaded first, then
//! order changes arrive in steps with a configurable mix of new orders, corrections,
//! cancellations, deletions and dimension changes. Product popularity is skewed (a power law), so
//! rankings mean something and popular products run low on stock; a few busy ips and the odd bulk
//! order make the alert rules fire.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use smol_str::SmolStr;

use crate::model::{
    Change, Currency, Customer, CustomerId, Order, OrderId, Price, Product, ProductId, Rate,
    Status, StockCount,
};

/// Shares of each kind of change after the load, in percent; they add up to 100.
#[derive(Clone, Debug)]
pub struct Mix {
    pub new_orders: u32,
    pub order_updates: u32,
    pub cancellations_or_deletes: u32,
    pub customer_changes: u32,
    pub product_changes: u32,
    pub rate_changes: u32,
}

impl Default for Mix {
    /// 70% new orders, 15% corrections, 5% cancellations or deletes, 10% dimension and rate changes.
    fn default() -> Self {
        Mix {
            new_orders: 70,
            order_updates: 15,
            cancellations_or_deletes: 5,
            customer_changes: 5,
            product_changes: 5,
            rate_changes: 0,
        }
    }
}

/// The size and shape of a workload.
#[derive(Clone, Debug)]
pub struct WorkloadConfig {
    pub seed: u64,
    pub customers: usize,
    pub products: usize,
    /// Orders placed during the load, before any timed change.
    pub initial_orders: usize,
    /// Changes per step after the load.
    pub step_size: usize,
    pub steps: usize,
    pub mix: Mix,
}

/// Steps of changes: `load` sets the scene, `changes` is what a benchmark times.
pub struct Workload {
    pub load: Vec<Vec<Change>>,
    pub changes: Vec<Vec<Change>>,
}

/// Product categories, shared by every generator so workloads name the same ones.
pub const CATEGORIES: [&str; 12] = [
    "books",
    "electronics",
    "garden",
    "toys",
    "grocery",
    "beauty",
    "sports",
    "music",
    "office",
    "home",
    "pets",
    "auto",
];
const COUNTRIES: [&str; 10] = ["US", "DE", "FR", "GB", "JP", "CA", "BR", "IN", "ES", "IT"];
const GENDERS: [&str; 5] = ["F", "M", "female", "male", "x"];
const PAYMENT_METHODS: [&str; 4] = ["card", "paypal", "bank_transfer", "gift_card"];
/// Currencies other than the base, with rates around their real ones, in 1e-10.
const RATES: [(&str, i64); 4] = [
    ("EUR", 10_842_000_000),
    ("GBP", 12_650_000_000),
    ("JPY", 66_000_000),
    ("CAD", 7_300_000_000),
];
/// 2026-11-22T00:00:00Z: orders are spread over the following days.
const START_MS: i64 = 1_795_305_600_000;

/// Builds the workload of `config`.
pub fn workload(config: &WorkloadConfig) -> Workload {
    let mut g = Generator {
        rng: ChaCha8Rng::seed_from_u64(config.seed),
        config: config.clone(),
        live_orders: Vec::new(),
        next_order: 0,
        clock: START_MS,
    };
    let mut load = vec![
        (0..config.customers).map(|i| g.customer(i)).collect(),
        (0..config.products)
            .map(|i| g.product(i))
            .collect::<Vec<_>>(),
        (0..config.products)
            .map(|i| g.stock_count(i))
            .collect::<Vec<_>>(),
        RATES
            .iter()
            .map(|&(code, rate)| rate_change(code, rate))
            .collect(),
    ];
    let batch = config.step_size.max(1);
    let mut placed = 0;
    while placed < config.initial_orders {
        let n = batch.min(config.initial_orders - placed);
        load.push((0..n).map(|_| g.new_order()).collect());
        placed += n;
    }
    let changes = (0..config.steps)
        .map(|_| (0..config.step_size).map(|_| g.change()).collect())
        .collect();
    Workload { load, changes }
}

struct Generator {
    rng: ChaCha8Rng,
    config: WorkloadConfig,
    live_orders: Vec<(OrderId, Order)>,
    next_order: u64,
    clock: i64,
}

impl Generator {
    fn change(&mut self) -> Change {
        let m = &self.config.mix;
        let mut roll = self.rng.gen_range(0..100);
        for (share, kind) in [
            (m.new_orders, 0),
            (m.order_updates, 1),
            (m.cancellations_or_deletes, 2),
            (m.customer_changes, 3),
            (m.product_changes, 4),
        ] {
            if roll < share {
                return match kind {
                    0 => self.new_order(),
                    1 => self.order_update(),
                    2 => self.cancel_or_delete(),
                    3 => {
                        let i = self.rng.gen_range(0..self.config.customers);
                        self.customer(i)
                    }
                    _ => {
                        let i = self.rng.gen_range(0..self.config.products);
                        self.product(i)
                    }
                };
            }
            roll -= share;
        }
        let (code, rate) = RATES[self.rng.gen_range(0..RATES.len())];
        // Rates drift by up to ±2%.
        rate_change(
            code,
            rate + rate / 50 * self.rng.gen_range(-100..=100) / 100,
        )
    }

    fn customer(&mut self, i: usize) -> Change {
        let customer = Customer {
            gender: Some(SmolStr::new_static(
                GENDERS[self.rng.gen_range(0..GENDERS.len())],
            )),
            age: Some(self.rng.gen_range(16..80)),
            country: Some(SmolStr::new_static(
                COUNTRIES[self.rng.gen_range(0..COUNTRIES.len())],
            )),
            name: None,
            email: None,
        };
        Change::Customer(customer_id(i), Some(customer))
    }

    fn product(&mut self, i: usize) -> Change {
        let product = Product {
            name: Some(SmolStr::new(format!("Product {i}"))),
            category: Some(SmolStr::new_static(
                CATEGORIES[self.rng.gen_range(0..CATEGORIES.len())],
            )),
            brand: None,
            price: Some(product_price(i)),
        };
        Change::Product(product_id(i), Some(product))
    }

    /// A count at the start of the workload: the more popular the product, the more on hand,
    /// but not enough for the most popular ones to last.
    fn stock_count(&mut self, i: usize) -> Change {
        let count = StockCount {
            on_hand: self.rng.gen_range(100..2_000),
            as_of: START_MS,
            reorder_point: self.rng.gen_range(20..200),
        };
        Change::Stock(product_id(i), Some(count))
    }

    /// Most orders come from their customer's own address; one in fifty from one of a few busy
    /// ones (a bot, a shared proxy).
    fn ip(&mut self, customer: usize) -> SmolStr {
        if self.rng.gen_ratio(1, 50) {
            SmolStr::new(format!("198.51.100.{}", self.rng.gen_range(1..=3)))
        } else {
            SmolStr::new(format!(
                "10.{}.{}.{}",
                customer >> 16 & 255,
                customer >> 8 & 255,
                customer & 255
            ))
        }
    }

    fn new_order(&mut self) -> Change {
        let id = OrderId::new(format!("o{}", self.next_order));
        self.next_order += 1;
        // Time moves forward ~20 ms per order; one in ten orders arrives up to 6 hours late.
        self.clock += self.rng.gen_range(0..40);
        let late = if self.rng.gen_ratio(1, 10) {
            self.rng.gen_range(0..6 * 3_600_000)
        } else {
            0
        };
        // A power law over products: a few sell most.
        let product = (self.config.products as f64 * self.rng.r#gen::<f64>().powi(3)) as usize;
        let currency = if self.rng.gen_ratio(7, 10) {
            "USD"
        } else {
            RATES[self.rng.gen_range(0..RATES.len())].0
        };
        let customer = self.rng.gen_range(0..self.config.customers);
        // One order in a thousand is a bulk purchase, worth thousands for a pricey product.
        let quantity = if self.rng.gen_ratio(1, 1_000) {
            self.rng.gen_range(20..=60)
        } else {
            self.rng.gen_range(1..=5)
        };
        let order = Order {
            ts: self.clock - late,
            customer_id: customer_id(customer),
            product_id: product_id(product),
            quantity,
            price: product_price(product),
            currency: currency_code(currency),
            status: [
                Status::Placed,
                Status::Paid,
                Status::Shipped,
                Status::Delivered,
            ]
            .choose(&mut self.rng)
            .cloned()
            .unwrap_or(Status::Placed),
            payment_method: Some(SmolStr::new_static(
                PAYMENT_METHODS[self.rng.gen_range(0..PAYMENT_METHODS.len())],
            )),
            ip: Some(self.ip(customer)),
        };
        self.live_orders.push((id.clone(), order.clone()));
        Change::Order(id, Some(order))
    }

    fn order_update(&mut self) -> Change {
        if self.live_orders.is_empty() {
            return self.new_order();
        }
        let i = self.rng.gen_range(0..self.live_orders.len());
        let quantity = self.rng.gen_range(1..=5);
        let (id, order) = &mut self.live_orders[i];
        order.quantity = quantity;
        Change::Order(id.clone(), Some(order.clone()))
    }

    fn cancel_or_delete(&mut self) -> Change {
        if self.live_orders.is_empty() {
            return self.new_order();
        }
        let i = self.rng.gen_range(0..self.live_orders.len());
        let (id, mut order) = self.live_orders.swap_remove(i);
        if self.rng.gen_bool(0.5) {
            order.status = Status::Cancelled;
            Change::Order(id, Some(order))
        } else {
            Change::Order(id, None)
        }
    }
}

fn customer_id(i: usize) -> CustomerId {
    CustomerId::new(i.to_string())
}

fn product_id(i: usize) -> ProductId {
    ProductId::new(format!("p{i}"))
}

/// Prices from 1.99 to 200.99, fixed per product.
fn product_price(i: usize) -> Price {
    Price(((i % 200) as i64 + 1) * 1_000_000 + 990_000)
}

fn currency_code(code: &str) -> Currency {
    Currency::parse(code).expect("the generator's currency codes are valid")
}

fn rate_change(code: &str, rate: i64) -> Change {
    Change::Rate(currency_code(code), Some(Rate(rate)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> WorkloadConfig {
        WorkloadConfig {
            seed,
            customers: 50,
            products: 20,
            initial_orders: 100,
            step_size: 100,
            steps: 20,
            mix: Mix::default(),
        }
    }

    #[test]
    fn same_seed_same_changes() {
        let (a, b) = (workload(&small(7)), workload(&small(7)));
        assert_eq!(a.load, b.load);
        assert_eq!(a.changes, b.changes);
        assert_ne!(workload(&small(8)).changes, a.changes);
    }

    #[test]
    fn the_load_counts_every_product_and_some_orders_come_from_busy_ips() {
        let w = workload(&WorkloadConfig {
            initial_orders: 5_000,
            ..small(3)
        });
        let load: Vec<&Change> = w.load.iter().flatten().collect();
        let counts = load
            .iter()
            .filter(|c| matches!(c, Change::Stock(_, Some(_))))
            .count();
        assert_eq!(counts, 20);
        let busy = load
            .iter()
            .filter(|c| {
                matches!(c, Change::Order(_, Some(o)) if o.ip.as_deref().is_some_and(|ip| ip.starts_with("198.51.100.")))
            })
            .count();
        assert!((50..=150).contains(&busy), "{busy} orders from busy ips");
    }

    #[test]
    fn the_mix_is_roughly_as_configured() {
        let w = workload(&small(1));
        let changes: Vec<&Change> = w.changes.iter().flatten().collect();
        let orders = changes
            .iter()
            .filter(|c| matches!(c, Change::Order(..)))
            .count();
        let deletes = changes
            .iter()
            .filter(|c| matches!(c, Change::Order(_, None)))
            .count();
        let share = |n: usize| n * 100 / changes.len();
        assert!(
            (85..=95).contains(&share(orders)),
            "orders {}%",
            share(orders)
        );
        assert!(
            (1..=5).contains(&share(deletes)),
            "deletes {}%",
            share(deletes)
        );
    }
}
