//! The `dead_letters` record of a bad input record (SPEC §2).

use serde::Serialize;

/// Payloads are cut here, so one huge bad record cannot make a huge dead letter.
const MAX_PAYLOAD: usize = 64 * 1024;

#[derive(Serialize)]
struct DeadLetter<'a> {
    source_topic: &'a str,
    partition: i32,
    offset: i64,
    key: Option<String>,
    error: &'a str,
    payload: Option<String>,
}

/// The dead letter's message key (`topic/partition/offset`, unique) and JSON value.
pub fn dead_letter(
    source_topic: &str,
    partition: i32,
    offset: i64,
    key: Option<&[u8]>,
    error: &str,
    payload: Option<&[u8]>,
) -> (String, String) {
    let record = DeadLetter {
        source_topic,
        partition,
        offset,
        key: key.map(|k| String::from_utf8_lossy(k).into_owned()),
        error,
        payload: payload
            .map(|p| String::from_utf8_lossy(&p[..p.len().min(MAX_PAYLOAD)]).into_owned()),
    };
    let value = serde_json::to_string(&record).expect("a dead letter serializes");
    (format!("{source_topic}/{partition}/{offset}"), value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_lossy_utf8_cut_at_64_kib() {
        let mut payload = vec![b'a'; 70_000];
        payload[0] = 0xff;
        let (key, value) = dead_letter(
            "orders",
            2,
            17,
            Some(b"o-1"),
            "quantity must be at least 1",
            Some(&payload),
        );
        assert_eq!(key, "orders/2/17");
        let parsed: serde_json::Value = serde_json::from_str(&value).expect("valid JSON");
        assert_eq!(parsed["source_topic"], "orders");
        assert_eq!(parsed["offset"], 17);
        assert_eq!(parsed["key"], "o-1");
        let text = parsed["payload"].as_str().expect("a string payload");
        assert!(text.starts_with('\u{fffd}'));
        assert_eq!(text.chars().count(), 64 * 1024);
    }
}
