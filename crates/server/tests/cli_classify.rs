//! `qunzhu classify` as an operator runs it: no database, no config, one message per line.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

fn classify_json(input: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_qunzhu"))
        .args(["classify", "--json"])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn classify_json_prints_one_object_per_input_line_with_sentiment_score_and_question() {
    let rows = classify_json("老师辛苦了，谢谢👍\n买了三天还没发货，太失望了😡\n明天几点到校\n");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["sentiment"], "positive");
    assert!(rows[0]["score"].as_f64().unwrap() > 0.0);
    assert_eq!(rows[0]["is_question"], false);
    assert_eq!(rows[1]["sentiment"], "negative");
    assert!(rows[1]["score"].as_f64().unwrap() < 0.0);
    assert_eq!(rows[2]["sentiment"], "neutral");
    assert_eq!(rows[2]["is_question"], true);
    assert_eq!(rows[2]["text"], "明天几点到校");
}
