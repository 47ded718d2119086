//! The job's upsert inputs and how a change enters them; shared by the Kafka job and the
//! in-process runner, so both build exactly the same dataflow.

use differential_dataflow::VecCollection;
use timely::dataflow::operators::Input;
use timely::dataflow::{InputHandleVec, Scope};

use crate::dataflows::{self, AnalysisConfig, analyses, upsert};
use crate::model::{
    Change, Currency, Customer, CustomerId, Order, OrderId, Product, ProductId, Rate,
};
use crate::outputs::{EncodedRow, encode};

/// Logical time: milliseconds (the job's epochs) or step numbers (tests).
pub type Time = u64;

/// One input handle per upserted table.
pub struct Inputs {
    orders: InputHandleVec<Time, (OrderId, Option<Order>, Time)>,
    customers: InputHandleVec<Time, (CustomerId, Option<Customer>, Time)>,
    products: InputHandleVec<Time, (ProductId, Option<Product>, Time)>,
    rates: InputHandleVec<Time, (Currency, Option<Rate>, Time)>,
}

impl Inputs {
    pub fn new() -> Self {
        Inputs {
            orders: InputHandleVec::new(),
            customers: InputHandleVec::new(),
            products: InputHandleVec::new(),
            rates: InputHandleVec::new(),
        }
    }

    /// The current tables of these inputs in `scope`.
    pub fn tables<'s>(&mut self, scope: Scope<'s, Time>) -> dataflows::Tables<'s, Time> {
        dataflows::Tables {
            orders: upsert::current(scope.input_from(&mut self.orders), "orders"),
            customers: upsert::current(scope.input_from(&mut self.customers), "customers"),
            products: upsert::current(scope.input_from(&mut self.products), "products"),
            rates: upsert::current(scope.input_from(&mut self.rates), "fx_rates"),
        }
    }

    /// Every analysis over these inputs, encoded as output rows.
    pub fn encoded_outputs<'s>(
        &mut self,
        scope: Scope<'s, Time>,
        config: &AnalysisConfig,
    ) -> VecCollection<'s, Time, EncodedRow> {
        encode(analyses(self.tables(scope), config))
    }

    /// Feeds one change at the current time.
    pub fn send(&mut self, change: Change) {
        self.send_at(change, self.time());
    }

    /// Feeds one change at `time`, which may be later than the inputs' time (a replay stamps the
    /// records it has already bound to a time while newer ones arrive).
    pub fn send_at(&mut self, change: Change, time: Time) {
        match change {
            Change::Order(id, order) => self.orders.send((id, order, time)),
            Change::Customer(id, customer) => self.customers.send((id, customer, time)),
            Change::Product(id, product) => self.products.send((id, product, time)),
            Change::Rate(currency, rate) => self.rates.send((currency, rate, time)),
            // Stock counts feed no analysis yet: they are decoded (bad ones dead-lettered) only.
            Change::Stock(..) => {}
        }
    }

    pub fn time(&self) -> Time {
        *self.orders.time()
    }

    pub fn advance_to(&mut self, time: Time) {
        self.orders.advance_to(time);
        self.customers.advance_to(time);
        self.products.advance_to(time);
        self.rates.advance_to(time);
    }
}

impl Default for Inputs {
    fn default() -> Self {
        Self::new()
    }
}
