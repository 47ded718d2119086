//! The job's upsert inputs and how a change enters them; shared by the Kafka job and the
//! in-process runner, so both build exactly the same dataflow.

use std::sync::Arc;

use differential_dataflow::{AsCollection, VecCollection};
use timely::dataflow::operators::Input;
use timely::dataflow::{InputHandleVec, Scope};

use crate::dataflows::{self, AnalysisConfig, Counter, analyses, upsert};
use crate::model::{
    Change, Currency, Customer, CustomerId, Diff, InputTopic, OrderId, Product, ProductId, Rate,
    SharedOrder, StockCount,
};
use crate::outputs::{EncodedRow, InputNames, encode};

/// Logical time: milliseconds (the job's epochs) or step numbers (tests).
pub type Time = u64;

/// One input handle per upserted table.
pub struct Inputs {
    orders: InputHandleVec<Time, (OrderId, Option<SharedOrder>, Time)>,
    customers: InputHandleVec<Time, (CustomerId, Option<Customer>, Time)>,
    products: InputHandleVec<Time, (ProductId, Option<Product>, Time)>,
    rates: InputHandleVec<Time, (Currency, Option<Rate>, Time)>,
    stock: InputHandleVec<Time, (ProductId, Option<StockCount>, Time)>,
    /// Counters of the records as they were read, with how many in the diff.
    counted: InputHandleVec<Time, ((InputTopic, Counter), Time, Diff)>,
}

impl Inputs {
    pub fn new() -> Self {
        Inputs {
            orders: InputHandleVec::new(),
            customers: InputHandleVec::new(),
            products: InputHandleVec::new(),
            rates: InputHandleVec::new(),
            stock: InputHandleVec::new(),
            counted: InputHandleVec::new(),
        }
    }

    /// The current tables of these inputs in `scope`.
    pub fn tables<'s>(&mut self, scope: Scope<'s, Time>) -> dataflows::Tables<'s, Time> {
        let orders = upsert::current(scope.input_from(&mut self.orders), "orders");
        let customers = upsert::current(scope.input_from(&mut self.customers), "customers");
        let products = upsert::current(scope.input_from(&mut self.products), "products");
        let rates = upsert::current(scope.input_from(&mut self.rates), "fx_rates");
        let stock = upsert::current(scope.input_from(&mut self.stock), "inventory");
        let duplicates = |topic: InputTopic, duplicates: VecCollection<'s, Time, ()>| {
            duplicates.map(move |()| (topic, Counter::Duplicate))
        };
        let counted = scope
            .input_from(&mut self.counted)
            .as_collection()
            .concatenate([
                duplicates(InputTopic::Orders, orders.duplicates),
                duplicates(InputTopic::Customers, customers.duplicates),
                duplicates(InputTopic::Products, products.duplicates),
                duplicates(InputTopic::FxRates, rates.duplicates),
                duplicates(InputTopic::Inventory, stock.duplicates),
            ]);
        dataflows::Tables {
            orders: orders.current,
            customers: customers.current,
            products: products.current,
            rates: rates.current,
            stock: stock.current,
            counted,
        }
    }

    /// Every analysis over these inputs, encoded as output rows; with `after`, only the changes
    /// at later times.
    pub fn encoded_outputs<'s>(
        &mut self,
        scope: Scope<'s, Time>,
        config: &AnalysisConfig,
        input_names: &InputNames,
        after: Option<Time>,
    ) -> VecCollection<'s, Time, EncodedRow> {
        encode(analyses(self.tables(scope), config), input_names, after)
    }

    /// Feeds one change at the current time.
    pub fn send(&mut self, change: Change) {
        self.send_at(change, self.time());
    }

    /// Feeds one change at `time`, which may be later than the inputs' time (a replay stamps the
    /// records it has already bound to a time while newer ones arrive).
    pub fn send_at(&mut self, change: Change, time: Time) {
        match change {
            Change::Order(id, order) => self.orders.send((id, order.map(Arc::new), time)),
            Change::Customer(id, customer) => self.customers.send((id, customer, time)),
            Change::Product(id, product) => self.products.send((id, product, time)),
            Change::Rate(currency, rate) => self.rates.send((currency, rate, time)),
            Change::Stock(id, count) => self.stock.send((id, count, time)),
        }
    }

    /// Adds `count` to a counter of `topic` at `time`.
    pub fn count_at(&mut self, topic: InputTopic, counter: Counter, count: u64, time: Time) {
        self.counted.send(((topic, counter), time, count as Diff));
    }

    pub fn time(&self) -> Time {
        *self.orders.time()
    }

    pub fn advance_to(&mut self, time: Time) {
        self.orders.advance_to(time);
        self.customers.advance_to(time);
        self.products.advance_to(time);
        self.rates.advance_to(time);
        self.stock.advance_to(time);
        self.counted.advance_to(time);
    }
}

impl Default for Inputs {
    fn default() -> Self {
        Self::new()
    }
}
