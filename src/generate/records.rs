//! The seeded stream of input records `salesflow generate` produces: what each record is (SPEC §1),
//! decided by one ChaCha8 stream, so the same seed and shape give the same bytes on every machine.
//!
//! ```text
//!   load:    customers, products (names, brands, categories, prices), stock counts, fx rates
//!   changes: new orders (Zipf-popular products; some late, orphaned, foreign, from busy ips,
//!            high-value), corrections, cancellations, returns, deletes, dimension and rate
//!            changes, bad records of every kind, and the customers and products that orphaned
//!            orders were waiting for
//! ```
//!
//! Records are written straight into reused buffers (see [`super::json`]): the generator has to
//! outrun the embedded broker, so nothing is allocated per record.

use std::collections::VecDeque;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::bad;
use super::json::{Catalog, LiveOrder, StockRow};
use crate::model::InputTopic;

/// Shares are parts per million, drawn as integers: no float rounding decides a record.
pub const PPM: u32 = 1_000_000;

/// How often each kind of record appears, in parts per million.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shares {
    /// Of the records after the load: corrections of a live order (quantity or status).
    pub updates: u32,
    /// Of the records after the load: tombstones of live orders.
    pub deletes: u32,
    /// Of the records after the load: live orders set to `cancelled`.
    pub cancellations: u32,
    /// Of the records after the load: live orders set to `returned`.
    pub returns: u32,
    /// Of the records after the load: a customer, product or stock count changes.
    pub dimension_changes: u32,
    /// Of the records after the load: an exchange rate drifts.
    pub rate_changes: u32,
    /// Of the records after the load: bad input, every kind of SPEC §2 in turn.
    pub bad: u32,
    /// Of new orders: `ts` up to `late_hours` before the generator's clock.
    pub late: u32,
    /// Of new orders: placed by a customer or for a product that does not exist yet (it follows
    /// a few hundred records later).
    pub orphans: u32,
    /// Of new orders: priced in EUR, GBP, JPY or CAD instead of USD.
    pub foreign_currency: u32,
    /// Of new orders: from one of three shared addresses, so `ip_burst` alerts fire.
    pub busy_ips: u32,
    /// Of new orders: a bulk purchase worth at least 5,000.00 USD (`high_value_order`).
    pub high_value: u32,
}

/// Everything that decides the records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadSpec {
    pub seed: u64,
    pub customers: usize,
    pub products: usize,
    /// Records after the load; `None` runs until stopped.
    pub count: Option<u64>,
    pub late_hours: u32,
    pub shares: Shares,
    /// The job's `--max-record-bytes`: a too-large bad record is one byte over it.
    pub max_record_bytes: usize,
}

/// One record in reused buffers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub topic: Option<InputTopic>,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub tombstone: bool,
}

impl Record {
    /// The value as Kafka sees it: `None` is a tombstone.
    pub fn value(&self) -> Option<&[u8]> {
        (!self.tombstone).then_some(&self.value[..])
    }

    fn start(&mut self, topic: InputTopic) {
        self.topic = Some(topic);
        self.key.clear();
        self.value.clear();
        self.tombstone = false;
    }
}

/// 2026-11-22T00:00:00Z: the generator's clock starts here, so event times repeat too.
pub const START_MS: i64 = 1_795_305_600_000;

/// A dimension an orphaned order waits for, and the change-record number it arrives at.
enum Pending {
    Customer(usize),
    Product(usize),
}

/// The seeded record stream.
pub struct Records {
    spec: WorkloadSpec,
    rng: ChaCha8Rng,
    catalog: Catalog,
    /// Cumulative Zipf weights by popularity rank, and the product at each rank.
    popularity: Vec<u64>,
    by_rank: Vec<u32>,
    live: Vec<LiveOrder>,
    next_order: u64,
    clock: i64,
    loaded: u64,
    changes: u64,
    pending: VecDeque<(u64, Pending)>,
    bad_made: u64,
}

impl Records {
    pub fn new(spec: &WorkloadSpec) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let catalog = Catalog::new(spec.customers, spec.products, &mut rng);
        // Zipf with exponent 1: the product at rank k sells in proportion to 1/k. Integer
        // weights keep the draw identical on every platform.
        let mut total = 0u64;
        let popularity = (1..=spec.products as u64)
            .map(|k| {
                total += (1u64 << 40) / k;
                total
            })
            .collect();
        // Popular products are spread over the catalogue, not the first ids.
        let mut by_rank: Vec<u32> = (0..spec.products as u32).collect();
        by_rank.shuffle(&mut rng);
        Records {
            spec: spec.clone(),
            rng,
            catalog,
            popularity,
            by_rank,
            live: Vec::new(),
            next_order: 0,
            clock: START_MS,
            loaded: 0,
            changes: 0,
            pending: VecDeque::new(),
            bad_made: 0,
        }
    }

    /// Records of the load, before the changes: customers, products, stock counts and rates.
    pub fn load_len(&self) -> u64 {
        (self.spec.customers + 2 * self.spec.products + Catalog::RATES.len()) as u64
    }

    /// Every record this stream will write, or `None` when it runs until stopped.
    pub fn total(&self) -> Option<u64> {
        self.spec.count.map(|count| self.load_len() + count)
    }

    /// Writes the next record into `out`; `false` once `count` changes are written.
    pub fn next_into(&mut self, out: &mut Record) -> bool {
        if self.loaded < self.load_len() {
            self.load(self.loaded as usize, out);
            self.loaded += 1;
            return true;
        }
        if self.spec.count.is_some_and(|count| self.changes >= count) {
            return false;
        }
        self.change(out);
        self.changes += 1;
        true
    }

    fn load(&mut self, i: usize, out: &mut Record) {
        let (customers, products) = (self.spec.customers, self.spec.products);
        if i < customers {
            self.customer(i, out);
        } else if i < customers + products {
            self.product(i - customers, out);
        } else if i < customers + 2 * products {
            self.stock(i - customers - products, START_MS, out);
        } else {
            let (code, rate) = Catalog::RATES[i - customers - 2 * products];
            out.start(InputTopic::FxRates);
            super::json::rate(code, rate, out);
        }
    }

    fn change(&mut self, out: &mut Record) {
        if let Some(&(due, _)) = self.pending.front()
            && due <= self.changes
            && let Some((_, pending)) = self.pending.pop_front()
        {
            return match pending {
                Pending::Customer(i) => self.customer(i, out),
                Pending::Product(i) => self.product(i, out),
            };
        }
        let s = &self.spec.shares;
        let mut roll = self.rng.gen_range(0..PPM);
        for (share, kind) in [
            (s.bad, Kind::Bad),
            (s.updates, Kind::Update),
            (s.deletes, Kind::Delete),
            (s.cancellations, Kind::Cancel),
            (s.returns, Kind::Return),
            (s.dimension_changes, Kind::Dimension),
            (s.rate_changes, Kind::Rate),
        ] {
            if roll < share {
                return self.write(kind, out);
            }
            roll -= share;
        }
        self.new_order(out)
    }

    fn write(&mut self, kind: Kind, out: &mut Record) {
        match kind {
            Kind::Bad => self.bad(out),
            Kind::Update => self.update(out),
            Kind::Delete => match self.take_live() {
                Some(order) => {
                    out.start(InputTopic::Orders);
                    order.write_key(&mut out.key);
                    out.tombstone = true;
                }
                None => self.new_order(out),
            },
            Kind::Cancel | Kind::Return => match self.take_live() {
                Some(mut order) => {
                    order.status = if kind == Kind::Cancel {
                        LiveOrder::CANCELLED
                    } else {
                        LiveOrder::RETURNED
                    };
                    out.start(InputTopic::Orders);
                    order.write(&self.catalog, out);
                }
                None => self.new_order(out),
            },
            Kind::Dimension => match self.rng.gen_range(0..10) {
                // Customers move and age, products are re-categorised, stock is recounted.
                0..=3 => {
                    let i = self.rng.gen_range(0..self.spec.customers);
                    self.catalog.customers[i].change(&mut self.rng);
                    self.customer(i, out);
                }
                4..=7 => {
                    let i = self.rng.gen_range(0..self.spec.products);
                    self.catalog.products[i].change(&mut self.rng);
                    self.product(i, out);
                }
                _ => {
                    let i = self.rng.gen_range(0..self.spec.products);
                    self.stock(i, self.clock, out);
                }
            },
            Kind::Rate => {
                let i = self.rng.gen_range(0..Catalog::RATES.len());
                let (code, base) = Catalog::RATES[i];
                // Rates drift by up to ±2% around their starting value.
                let rate = base + base / 50 * self.rng.gen_range(-100..=100) / 100;
                out.start(InputTopic::FxRates);
                super::json::rate(code, rate, out);
            }
        }
    }

    fn customer(&mut self, i: usize, out: &mut Record) {
        out.start(InputTopic::Customers);
        self.catalog.write_customer(i, out);
    }

    fn product(&mut self, i: usize, out: &mut Record) {
        out.start(InputTopic::Products);
        self.catalog.write_product(i, out);
    }

    fn stock(&mut self, i: usize, as_of: i64, out: &mut Record) {
        let row = StockRow {
            product: i,
            // Popular products sell out: a count lasts a few thousand orders at best.
            on_hand: self.rng.gen_range(100..2_000),
            as_of,
            reorder_point: self.rng.gen_range(20..200),
        };
        out.start(InputTopic::Inventory);
        row.write(out);
    }

    fn chance(&mut self, share: u32) -> bool {
        share > 0 && self.rng.gen_range(0..PPM) < share
    }

    fn popular_product(&mut self) -> usize {
        let total = self.popularity.last().copied().unwrap_or(1);
        let draw = self.rng.gen_range(0..total);
        let rank = self.popularity.partition_point(|&c| c <= draw);
        self.by_rank[rank.min(self.by_rank.len() - 1)] as usize
    }

    fn new_order(&mut self, out: &mut Record) {
        let s = self.spec.shares.clone();
        // Time moves forward ~20 ms per order.
        self.clock += self.rng.gen_range(0..40);
        let mut ts = self.clock;
        if self.chance(s.late) {
            ts -= self
                .rng
                .gen_range(0..i64::from(self.spec.late_hours.max(1)) * 3_600_000);
        }
        let mut customer = self.rng.gen_range(0..self.spec.customers);
        let mut product = self.popular_product();
        if self.chance(s.orphans) {
            // The missing dimension arrives a few hundred records later and the order moves.
            let due = self.changes + self.rng.gen_range(50..500);
            if self.rng.gen_bool(0.5) {
                customer = self.catalog.add_customer(&mut self.rng);
                self.pending.push_back((due, Pending::Customer(customer)));
            } else {
                product = self.catalog.add_product(&mut self.rng);
                self.pending.push_back((due, Pending::Product(product)));
            }
        }
        let mut currency = 0;
        if self.chance(s.foreign_currency) {
            currency = self.rng.gen_range(1..=Catalog::RATES.len() as u8);
        }
        let list_price = self.catalog.products[product].price_cents;
        let quantity = if self.chance(s.high_value) {
            // Enough units of this product to pass 5,000.00 in the base currency.
            currency = 0;
            (500_000 / list_price.max(1)) as u32 + self.rng.gen_range(1..4)
        } else {
            self.rng.gen_range(1..=5)
        };
        let ip = if self.chance(s.busy_ips) {
            LiveOrder::busy_ip(self.rng.gen_range(1..=3))
        } else {
            LiveOrder::customer_ip(customer)
        };
        let order = LiveOrder {
            id: self.next_order,
            ts,
            customer: customer as u32,
            product: product as u32,
            quantity,
            price_cents: Catalog::native_cents(list_price, currency),
            currency,
            status: self.rng.gen_range(0..2),
            payment: self.rng.gen_range(0..Catalog::PAYMENT_METHODS.len() as u8),
            ip,
        };
        self.next_order += 1;
        out.start(InputTopic::Orders);
        order.write(&self.catalog, out);
        self.live.push(order);
    }

    /// A correction: the order moves on in its life, or its quantity is fixed.
    fn update(&mut self, out: &mut Record) {
        if self.live.is_empty() {
            return self.new_order(out);
        }
        let i = self.rng.gen_range(0..self.live.len());
        let advance = self.rng.gen_bool(0.5);
        let quantity = self.rng.gen_range(1..=5);
        let order = &mut self.live[i];
        if advance && order.status < LiveOrder::DELIVERED {
            order.status += 1;
        } else if order.quantity <= 5 {
            order.quantity = quantity;
        } else {
            order.status = order.status.max(1);
        }
        out.start(InputTopic::Orders);
        order.write(&self.catalog, out);
    }

    fn take_live(&mut self) -> Option<LiveOrder> {
        if self.live.is_empty() {
            return None;
        }
        let i = self.rng.gen_range(0..self.live.len());
        Some(self.live.swap_remove(i))
    }

    /// A bad record under a live order's key when there is one, so that the job has to keep the
    /// earlier good version; the kinds take turns.
    fn bad(&mut self, out: &mut Record) {
        let kind = bad::KINDS[(self.bad_made % bad::KINDS.len() as u64) as usize];
        self.bad_made += 1;
        let id = if self.live.is_empty() {
            self.next_order += 1;
            self.next_order - 1
        } else {
            self.live[self.rng.gen_range(0..self.live.len())].id
        };
        out.start(InputTopic::Orders);
        bad::write(kind, id, self.clock, self.spec.max_record_bytes, out);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bad,
    Update,
    Delete,
    Cancel,
    Return,
    Dimension,
    Rate,
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};

    use super::*;
    use crate::codecs::json::{DecodeConfig, ErrorKind, decode};
    use crate::model::{Change, Status};

    fn spec(seed: u64, count: u64) -> WorkloadSpec {
        WorkloadSpec {
            seed,
            customers: 2_000,
            products: 500,
            count: Some(count),
            late_hours: 6,
            shares: Shares {
                updates: 150_000,
                deletes: 25_000,
                cancellations: 25_000,
                returns: 10_000,
                dimension_changes: 100_000,
                rate_changes: 1_000,
                bad: 20_000,
                late: 100_000,
                orphans: 10_000,
                foreign_currency: 300_000,
                busy_ips: 20_000,
                high_value: 5_000,
            },
            max_record_bytes: 4_096,
        }
    }

    fn all(spec: &WorkloadSpec) -> Vec<Record> {
        let mut stream = Records::new(spec);
        let mut records = Vec::new();
        let mut record = Record::default();
        while stream.next_into(&mut record) {
            records.push(record.clone());
        }
        records
    }

    #[test]
    fn same_seed_same_bytes_and_another_seed_other_bytes() {
        let (a, b) = (all(&spec(7, 20_000)), all(&spec(7, 20_000)));
        assert_eq!(
            a.len() as u64,
            Records::new(&spec(7, 20_000)).total().unwrap_or(0)
        );
        assert!(a == b, "two runs of seed 7 differ");
        let c = all(&spec(8, 20_000));
        let differing = a.iter().zip(&c).filter(|(x, y)| x != y).count();
        assert!(
            differing > a.len() / 2,
            "seeds 7 and 8 share {differing} records"
        );
    }

    /// What a consumer can count in the records, decoded the way the job decodes them.
    #[derive(Default)]
    struct Counts {
        changes: u64,
        new_orders: u64,
        updates: u64,
        deletes: u64,
        cancellations: u64,
        returns: u64,
        dimension_changes: u64,
        rate_changes: u64,
        bad: BTreeMap<ErrorKind, u64>,
        late: u64,
        orphans: u64,
        foreign: u64,
        busy_ips: u64,
        high_value: u64,
        units_by_product: HashMap<String, u64>,
        orphans_resolved: u64,
    }

    fn count(spec: &WorkloadSpec) -> Counts {
        let config = DecodeConfig {
            max_record_bytes: spec.max_record_bytes,
            ..DecodeConfig::default()
        };
        let load = Records::new(spec).load_len() as usize;
        let mut c = Counts::default();
        let (mut customers, mut products) = (HashSet::new(), HashSet::new());
        let mut orders = HashSet::new();
        let mut waiting: HashSet<String> = HashSet::new();
        let mut latest_ts = i64::MIN;
        for (i, record) in all(spec).iter().enumerate() {
            let topic = record.topic.unwrap_or(InputTopic::Orders);
            let decoded = decode(topic, Some(&record.key), record.value(), &config);
            let after_load = i >= load;
            c.changes += u64::from(after_load);
            let change = match decoded {
                Ok(change) => change,
                Err(error) => {
                    assert!(
                        after_load,
                        "record {i} of the load is bad: {}",
                        error.message
                    );
                    *c.bad.entry(error.kind).or_default() += 1;
                    continue;
                }
            };
            match change {
                Change::Customer(id, _) => {
                    c.dimension_changes += u64::from(after_load);
                    c.orphans_resolved += u64::from(waiting.remove(&format!("c{id}")));
                    customers.insert(id.to_string());
                }
                Change::Product(id, _) => {
                    c.dimension_changes += u64::from(after_load);
                    c.orphans_resolved += u64::from(waiting.remove(&format!("p{id}")));
                    products.insert(id.to_string());
                }
                Change::Stock(..) => c.dimension_changes += u64::from(after_load),
                Change::Rate(..) => c.rate_changes += u64::from(after_load),
                Change::Order(_, None) => c.deletes += 1,
                Change::Order(id, Some(order)) => {
                    if order.status == Status::Cancelled {
                        c.cancellations += 1;
                    } else if order.status == Status::Returned {
                        c.returns += 1;
                    } else if !orders.insert(id.to_string()) {
                        c.updates += 1;
                    } else {
                        c.new_orders += 1;
                        c.late += u64::from(order.ts < latest_ts);
                        latest_ts = latest_ts.max(order.ts);
                        let (customer, product) =
                            (order.customer_id.to_string(), order.product_id.to_string());
                        if !customers.contains(&customer) || !products.contains(&product) {
                            c.orphans += 1;
                            if !customers.contains(&customer) {
                                waiting.insert(format!("c{customer}"));
                            } else {
                                waiting.insert(format!("p{product}"));
                            }
                        }
                        c.foreign += u64::from(order.currency.as_str() != "USD");
                        let ip = order.ip.as_deref().unwrap_or_default();
                        c.busy_ips += u64::from(ip.starts_with("198.51.100."));
                        // A bulk purchase (other orders are of 1 to 5 units) worth 5,000.00 USD
                        // or more; prices are in millionths.
                        let usd = order.currency.as_str() == "USD";
                        let value = order.quantity * order.price.0;
                        c.high_value +=
                            u64::from(usd && order.quantity > 5 && value >= 5_000_000_000);
                        *c.units_by_product.entry(product).or_default() += order.quantity as u64;
                    }
                }
            }
        }
        c
    }

    /// `measured / total` is within 12% of `ppm` (relative), or within 0.05 points for shares
    /// too small to measure that closely.
    fn assert_share(what: &str, measured: u64, total: u64, ppm: u32) {
        let share = measured as f64 / total as f64;
        let expected = f64::from(ppm) / f64::from(PPM);
        let tolerance = (expected * 0.12).max(0.0005);
        assert!(
            (share - expected).abs() <= tolerance,
            "{what}: {measured} of {total} is {:.4}%, expected {:.4}%",
            share * 100.0,
            expected * 100.0
        );
    }

    #[test]
    fn generated_records_have_the_configured_shares() {
        let spec = spec(3, 200_000);
        let c = count(&spec);
        let s = &spec.shares;
        let bad: u64 = c.bad.values().sum();
        assert_share("corrections", c.updates, c.changes, s.updates);
        assert_share("deletes", c.deletes, c.changes, s.deletes);
        assert_share("cancellations", c.cancellations, c.changes, s.cancellations);
        assert_share("returns", c.returns, c.changes, s.returns);
        assert_share("bad records", bad, c.changes, s.bad);
        assert_share("fx changes", c.rate_changes, c.changes, s.rate_changes);
        // Dimension changes include the customers and products orphans were waiting for.
        assert_share(
            "dimension changes",
            c.dimension_changes - c.orphans_resolved,
            c.changes,
            s.dimension_changes,
        );
        assert_share("late orders", c.late, c.new_orders, s.late);
        assert_share("orphaned orders", c.orphans, c.new_orders, s.orphans);
        assert!(
            c.orphans_resolved * 100 >= c.orphans * 95,
            "only {} of {} orphans got their customer or product",
            c.orphans_resolved,
            c.orphans
        );
        assert_share(
            "foreign orders",
            c.foreign,
            c.new_orders,
            s.foreign_currency * 99 / 100,
        );
        assert_share("busy-ip orders", c.busy_ips, c.new_orders, s.busy_ips);
        assert_share(
            "high-value orders",
            c.high_value,
            c.new_orders,
            s.high_value,
        );
    }

    #[test]
    fn bad_records_cover_every_kind_and_popularity_is_skewed() {
        let c = count(&spec(5, 100_000));
        for kind in [
            ErrorKind::NotJson,
            ErrorKind::InvalidUtf8,
            ErrorKind::TooLarge,
            ErrorKind::MissingField,
            ErrorKind::BadField,
            ErrorKind::KeyMismatch,
        ] {
            assert!(
                c.bad.get(&kind).copied().unwrap_or(0) > 50,
                "{kind:?}: {:?}",
                c.bad
            );
        }
        // Four of the nine bad kinds are bad fields (uncoercible, quantity, price, ts).
        let fields = c.bad.get(&ErrorKind::BadField).copied().unwrap_or(0);
        let missing = c.bad.get(&ErrorKind::MissingField).copied().unwrap_or(1);
        assert!((3..=5).contains(&(fields / missing)), "{:?}", c.bad);
        // Zipf over 500 products: the top 1% sell about a third of the units.
        let mut units: Vec<u64> = c.units_by_product.values().copied().collect();
        units.sort_unstable_by(|a, b| b.cmp(a));
        let top: u64 = units.iter().take(5).sum();
        let all: u64 = units.iter().sum();
        assert!(
            top * 100 / all >= 25,
            "the top 5 products sell {top} of {all} units"
        );
    }
}
