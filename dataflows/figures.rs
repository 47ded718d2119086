//! `Figures` as a differential diff: sales sums ride in the diff of each update, so aggregation
//! is consolidation and a join multiplies sums instead of fanning out orders.

use differential_dataflow::difference::{Abelian, IsZero, Monoid, Multiply, Semigroup};
use serde::{Deserialize, Serialize};

use crate::model::{Diff, Figures, Money, Native, Rate};

impl IsZero for Figures {
    fn is_zero(&self) -> bool {
        *self == Figures::default()
    }
}

impl Semigroup for Figures {
    fn plus_equals(&mut self, rhs: &Self) {
        self.orders += rhs.orders;
        self.units += rhs.units;
        self.revenue.0 += rhs.revenue.0;
        self.native.0 += rhs.native.0;
    }
}

impl Monoid for Figures {
    fn zero() -> Self {
        Figures::default()
    }
}

impl Abelian for Figures {
    fn negate(&mut self) {
        self.orders = -self.orders;
        self.units = -self.units;
        self.revenue.0 = -self.revenue.0;
        self.native.0 = -self.native.0;
    }
}

/// Joining with an ordinary (counted) collection repeats the figures that many times.
impl Multiply<Diff> for Figures {
    type Output = Figures;
    fn multiply(self, rhs: &Diff) -> Figures {
        let n = *rhs as i64;
        Figures {
            orders: self.orders * n,
            units: self.units * n,
            revenue: Money(self.revenue.0 * i128::from(n)),
            native: Native(self.native.0 * i128::from(n)),
        }
    }
}

/// An exchange rate carried in the diff of a rate update, so that the join of native sums with
/// rates is their product. A rate change from r1 to r2 is the update `r2 - r1`, and the join's
/// bilinearity corrects every converted sum exactly.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct RateDiff(pub i64);

impl RateDiff {
    pub fn of(rate: Rate, diff: Diff) -> Self {
        RateDiff(rate.0 * diff as i64)
    }
}

impl IsZero for RateDiff {
    fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

impl Semigroup for RateDiff {
    fn plus_equals(&mut self, rhs: &Self) {
        self.0 += rhs.0;
    }
}

impl Monoid for RateDiff {
    fn zero() -> Self {
        RateDiff(0)
    }
}

/// Native sums times a rate: the revenue in the base currency, and nothing else (orders and units
/// do not depend on the rate and travel on their own path).
impl Multiply<RateDiff> for Figures {
    type Output = Figures;
    fn multiply(self, rhs: &RateDiff) -> Figures {
        Figures {
            orders: 0,
            units: 0,
            revenue: self.native.convert(Rate(rhs.0)),
            native: Native(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_change_is_the_difference_of_rates() {
        let sums = Figures {
            orders: 2,
            units: 3,
            revenue: Money(0),
            native: Native(10_000_000),
        };
        let mut rate = RateDiff::of(Rate(11_000_000_000), 1);
        rate.plus_equals(&RateDiff::of(Rate(11_000_000_000), -1));
        rate.plus_equals(&RateDiff::of(Rate(12_000_000_000), 1));
        assert_eq!(
            sums.multiply(&rate).revenue,
            Native(10_000_000).convert(Rate(12_000_000_000))
        );
        assert_eq!(sums.multiply(&rate).orders, 0);
    }

    #[test]
    fn figures_form_a_group() {
        let mut f = Figures {
            orders: 1,
            units: 2,
            revenue: Money(3),
            native: Native(4),
        };
        let mut g = f;
        g.negate();
        f.plus_equals(&g);
        assert!(f.is_zero());
    }
}
