//! Output changes as Kafka message values, in the envelope a run chooses (SPEC §4).
//!
//! The analyses emit rows in value form; after consolidation one (topic, key, time) holds at most
//! the row that left and the row that arrived, which is exactly what every envelope needs.

use crate::config::Envelope;

/// What happened to one key at one time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyChange<'a> {
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

/// The message values for one key's change at `time` (ms), in order. `None` is a tombstone.
pub fn encode(envelope: Envelope, change: &KeyChange<'_>, time: u64) -> Vec<Option<String>> {
    match envelope {
        Envelope::Upsert => vec![change.after.map(str::to_string)],
        Envelope::Debezium => {
            let op = match (change.before, change.after) {
                (None, _) => "c",
                (_, None) => "d",
                _ => "u",
            };
            vec![Some(format!(
                r#"{{"before":{},"after":{},"op":"{op}","ts_ms":{time}}}"#,
                change.before.unwrap_or("null"),
                change.after.unwrap_or("null"),
            ))]
        }
        // The retraction goes first, so a consumer summing the stream never sees both rows at once.
        Envelope::Diff => [(change.before, -1), (change.after, 1)]
            .into_iter()
            .filter_map(|(row, diff)| {
                row.map(|row| Some(format!(r#"{{"row":{row},"diff":{diff},"time":{time}}}"#)))
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"{"scope":"all","orders":1}"#;
    const NEW: &str = r#"{"scope":"all","orders":2}"#;

    #[test]
    fn upsert_writes_the_new_row_or_a_tombstone() {
        let update = KeyChange {
            before: Some(OLD),
            after: Some(NEW),
        };
        assert_eq!(
            encode(Envelope::Upsert, &update, 5),
            vec![Some(NEW.to_string())]
        );
        let delete = KeyChange {
            before: Some(OLD),
            after: None,
        };
        assert_eq!(encode(Envelope::Upsert, &delete, 5), vec![None]);
    }

    #[test]
    fn debezium_names_the_operation() {
        let create = KeyChange {
            before: None,
            after: Some(NEW),
        };
        assert_eq!(
            encode(Envelope::Debezium, &create, 7),
            vec![Some(format!(
                r#"{{"before":null,"after":{NEW},"op":"c","ts_ms":7}}"#
            ))]
        );
        let delete = KeyChange {
            before: Some(OLD),
            after: None,
        };
        assert!(
            encode(Envelope::Debezium, &delete, 7)[0]
                .as_deref()
                .is_some_and(|v| v.contains(r#""op":"d""#))
        );
    }

    #[test]
    fn diff_retracts_before_it_inserts() {
        let update = KeyChange {
            before: Some(OLD),
            after: Some(NEW),
        };
        assert_eq!(
            encode(Envelope::Diff, &update, 9),
            vec![
                Some(format!(r#"{{"row":{OLD},"diff":-1,"time":9}}"#)),
                Some(format!(r#"{{"row":{NEW},"diff":1,"time":9}}"#)),
            ]
        );
    }
}
