//! `LEFT JOIN` with a default for the rows that have no match, in one join.

use differential_dataflow::difference::{Abelian, Multiply};
use differential_dataflow::{ExchangeData, Hashable, VecCollection};

use super::Time;
use crate::model::Diff;

/// Every `(key, value)` of `left` with the `right` row of its key, or with `default` when there is
/// none; a row moves as soon as its `right` row arrives, changes or leaves.
///
/// Computed as `left ⊗ default + matched ⊗ (right - default)`: the unmatched rest falls out by
/// subtraction, so `left` is arranged once and joined once.
pub fn left_join<'s, T, K, V, D, R>(
    left: VecCollection<'s, T, (K, V), R>,
    right: VecCollection<'s, T, (K, D)>,
    default: D,
    name: &str,
) -> VecCollection<'s, T, (K, V, D), R>
where
    T: Time,
    K: ExchangeData + Hashable,
    V: ExchangeData,
    D: ExchangeData,
    R: ExchangeData + Abelian + Multiply<Diff, Output = R>,
{
    let with_default = {
        let default = default.clone();
        move |(key, value): (K, V)| (key, value, default.clone())
    };
    let matched = left
        .clone()
        .arrange_by_key_named(&format!("{name}: left side"))
        .join_core(
            right.arrange_by_key_named(&format!("{name}: right side")),
            |key, value, row| Some((key.clone(), (value.clone(), row.clone()))),
        );
    let no_longer_default = matched
        .clone()
        .map(move |(key, (value, _))| (key, value, default.clone()))
        .negate();
    left.map(with_default)
        .concat(matched.map(|(key, (value, row))| (key, value, row)))
        .concat(no_longer_default)
}
