//! Bad order records, one of each kind SPEC §2 lists, so a run shows the job dead-lettering
//! every kind while keeping the earlier good version of the key.

use super::records::Record;

/// Every kind of bad input the generator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadKind {
    NotJson,
    InvalidUtf8,
    TooLarge,
    MissingField,
    NotCoercible,
    QuantityBelowOne,
    NegativePrice,
    UnparseableTs,
    KeyMismatch,
}

pub const KINDS: [BadKind; 9] = [
    BadKind::NotJson,
    BadKind::InvalidUtf8,
    BadKind::TooLarge,
    BadKind::MissingField,
    BadKind::NotCoercible,
    BadKind::QuantityBelowOne,
    BadKind::NegativePrice,
    BadKind::UnparseableTs,
    BadKind::KeyMismatch,
];

/// Writes a bad record of `kind` for order `o{id}`; a too-large one is one byte over
/// `max_record_bytes`, counting the key as the job does.
pub fn write(kind: BadKind, id: u64, ts: i64, max_record_bytes: usize, out: &mut Record) {
    let key = format!("o{id}");
    out.key.extend_from_slice(key.as_bytes());
    let good = |quantity: &str, price: &str, ts: &str| {
        format!(
            r#"{{"order_id":"{key}","ts":{ts},"customer_id":"1","product_id":"p1","quantity":{quantity},"price":{price}}}"#
        )
    };
    let ts = ts.to_string();
    let value = match kind {
        // Cut off mid-record, as a crashed producer leaves it.
        BadKind::NotJson => format!(r#"{{"order_id":"{key}","ts":{ts},"quant"#),
        BadKind::InvalidUtf8 => {
            let mut bytes = good("1", r#""1.00""#, &ts).into_bytes();
            // A Latin-1 "é" in the middle of a string.
            let at = bytes.len() - 2;
            bytes.insert(at, 0xe9);
            return out.value.extend_from_slice(&bytes);
        }
        BadKind::TooLarge => {
            let head = good("1", r#""1.00""#, &ts);
            let filler = "x".repeat(
                (max_record_bytes + 1)
                    .saturating_sub(head.len() + key.len() + r#","note":"""#.len()),
            );
            format!(r#"{},"note":"{filler}"}}"#, &head[..head.len() - 1])
        }
        BadKind::MissingField => {
            format!(
                r#"{{"order_id":"{key}","ts":{ts},"product_id":"p1","quantity":1,"price":"1.00"}}"#
            )
        }
        BadKind::NotCoercible => good(r#""two""#, r#""1.00""#, &ts),
        BadKind::QuantityBelowOne => good("0", r#""1.00""#, &ts),
        BadKind::NegativePrice => good("1", r#""-1.00""#, &ts),
        BadKind::UnparseableTs => good("1", r#""1.00""#, r#""yesterday at noon""#),
        BadKind::KeyMismatch => {
            format!(
                r#"{{"order_id":"x{id}","ts":{ts},"customer_id":"1","product_id":"p1","quantity":1,"price":"1.00"}}"#
            )
        }
    };
    out.value.extend_from_slice(value.as_bytes());
}
