//! The group of every sales row, as one key type, so that all `sales_*` analyses share one
//! currency conversion and one final aggregation.

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use crate::model::{AgeBand, Currency, CustomerId, Day, Gender, Hour, Month, ProductId, Status};

/// Which row of which output a sum belongs to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GroupKey {
    Total,
    Category(SmolStr),
    Segment(Gender, AgeBand),
    Country(SmolStr),
    PaymentMethod(SmolStr),
    Currency(Currency),
    Hour(Hour),
    Day(Day),
    Month(Month),
    Customer(CustomerId),
    /// Over every order, live or not.
    Status(Status),
    /// A product's figures over all live orders, for the top-product rankings.
    Product(ProductId),
    /// A product's figures over the live orders of the latest hour.
    RecentProduct(ProductId),
}

impl GroupKey {
    /// How many kinds of group (variants) there are.
    pub const KINDS: usize = 13;

    /// The variant's position, to route each row to its output once.
    pub fn kind(&self) -> usize {
        match self {
            GroupKey::Total => 0,
            GroupKey::Category(_) => 1,
            GroupKey::Segment(..) => 2,
            GroupKey::Country(_) => 3,
            GroupKey::PaymentMethod(_) => 4,
            GroupKey::Currency(_) => 5,
            GroupKey::Hour(_) => 6,
            GroupKey::Day(_) => 7,
            GroupKey::Month(_) => 8,
            GroupKey::Customer(_) => 9,
            GroupKey::Status(_) => 10,
            GroupKey::Product(_) => 11,
            GroupKey::RecentProduct(_) => 12,
        }
    }

    /// Only a one-currency group has a meaningful unconverted sum.
    pub fn keeps_native(&self) -> bool {
        matches!(self, GroupKey::Currency(_))
    }
}
