//! The analyses stay pure: nothing under `dataflows/` may reach for I/O, clocks or Kafka.

use std::fs;
use std::path::Path;

/// Names whose presence in an analysis would mean I/O or wall-clock time at the core.
const FORBIDDEN: [&str; 7] = [
    "rdkafka",
    "tokio",
    "std::fs",
    "std::net",
    "Instant",
    "SystemTime",
    "std::io",
];

#[test]
fn dataflows_do_no_io_and_read_no_clock() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dataflows");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).expect("dataflows/ exists") {
        let path = entry.expect("a readable directory entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path).expect("a readable source file");
            for word in FORBIDDEN {
                assert!(!text.contains(word), "{} mentions `{word}`", path.display());
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 5,
        "expected the analyses under dataflows/, found {checked} files"
    );
}

#[test]
fn dataflows_import_only_timely_differential_serde_and_the_model() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dataflows");
    let allowed = [
        "timely",
        "differential_dataflow",
        "serde",
        "smol_str",
        "foldhash",
        "std",
        "super",
        "crate::model",
        "self",
    ];
    for entry in fs::read_dir(&dir).expect("dataflows/ exists") {
        let path = entry.expect("a readable directory entry").path();
        let text = fs::read_to_string(&path).expect("a readable source file");
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("use "))
        {
            let target = line.trim_start_matches("use ");
            assert!(
                allowed.iter().any(|a| target.starts_with(a)),
                "{}: `{line}` reaches outside timely, differential and the model",
                path.display()
            );
        }
    }
}
