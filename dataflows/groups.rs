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

/// The variants of [`GroupKey`] without their data: which output a row goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Total,
    Category,
    Segment,
    Country,
    PaymentMethod,
    Currency,
    Hour,
    Day,
    Month,
    Customer,
    Status,
    Product,
    RecentProduct,
}

impl Kind {
    /// How many kinds there are.
    pub const COUNT: usize = 13;
}

impl GroupKey {
    /// Which output the group's rows go to.
    pub fn kind(&self) -> Kind {
        match self {
            GroupKey::Total => Kind::Total,
            GroupKey::Category(_) => Kind::Category,
            GroupKey::Segment(..) => Kind::Segment,
            GroupKey::Country(_) => Kind::Country,
            GroupKey::PaymentMethod(_) => Kind::PaymentMethod,
            GroupKey::Currency(_) => Kind::Currency,
            GroupKey::Hour(_) => Kind::Hour,
            GroupKey::Day(_) => Kind::Day,
            GroupKey::Month(_) => Kind::Month,
            GroupKey::Customer(_) => Kind::Customer,
            GroupKey::Status(_) => Kind::Status,
            GroupKey::Product(_) => Kind::Product,
            GroupKey::RecentProduct(_) => Kind::RecentProduct,
        }
    }

    /// Only a one-currency group has a meaningful unconverted sum.
    pub fn keeps_native(&self) -> bool {
        matches!(self, GroupKey::Currency(_))
    }
}
