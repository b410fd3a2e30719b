//! `qunzhu moderate` as an operator runs it: no database, no config, just texts.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn qunzhu(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qunzhu"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

#[test]
fn a_disguised_ad_is_flagged_with_its_evidence_and_still_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let output = qunzhu(dir.path(), &["moderate", "加 🌹 微 ✨ 信 abc12345"], None);
    assert_success(&output);
    let text = stdout(&output);
    assert!(text.contains("判定：违规"), "{text}");
    assert!(
        text.contains("加微信"),
        "the evidence shows the undisguised word: {text}"
    );
    assert!(text.contains("abc12345"), "{text}");

    let output = qunzhu(
        dir.path(),
        &["moderate", "--lang", "en", "加 🌹 微 ✨ 信 abc12345"],
        None,
    );
    assert_success(&output);
    assert!(
        stdout(&output).contains("Verdict: FLAGGED"),
        "{}",
        stdout(&output)
    );

    let output = qunzhu(dir.path(), &["moderate", "今天的作业是第三页"], None);
    assert_success(&output);
    assert!(
        stdout(&output).contains("判定：正常"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn json_mode_answers_every_stdin_line_with_one_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let input = "加薇信 abc12345，兼职刷单日赚三百\n今天的作业是第三页\n老师好，明天几点到校？\n加 🌹 微 ✨ 信 abc12345\n\n";
    let output = qunzhu(dir.path(), &["moderate", "--json"], Some(input));
    assert_success(&output);
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        5,
        "one answer per input line:\n{}",
        stdout(&output)
    );
    let flagged: Vec<bool> = lines
        .iter()
        .map(|l| l["flagged"].as_bool().unwrap())
        .collect();
    assert_eq!(flagged, [true, false, false, true, false]);
    for line in &lines {
        assert!(
            line["score"].is_number() && line["checks"].is_array(),
            "{line}"
        );
        assert!(line.get("category").is_some(), "{line}");
    }
    assert_eq!(lines[0]["text"], "加薇信 abc12345，兼职刷单日赚三百");
    let evidence = |line: &Value| -> Vec<String> {
        line["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["evidence"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        evidence(&lines[0]).iter().any(|e| e.contains("刷单")),
        "{:?}",
        evidence(&lines[0])
    );
    assert!(
        evidence(&lines[3]).iter().any(|e| e.contains("加微信")),
        "{:?}",
        evidence(&lines[3])
    );
    assert_eq!(lines[1]["checks"], serde_json::json!([]));
    assert!(lines[0]["category"].is_string());
    assert!(lines[1]["category"].is_null());
}

#[test]
fn a_rules_file_template_adds_its_own_words() {
    let dir = tempfile::tempdir().unwrap();
    let rules = r#"
[templates.default]

[templates.school.moderation]
custom_words = { ad = ["代写作业"] }
allow_words = ["兼职刷单"]
"#;
    std::fs::write(dir.path().join("rules.toml"), rules).unwrap();
    let input = "代写作业联系我\n";
    let plain = qunzhu(
        dir.path(),
        &["moderate", "--json", "--rules", "rules.toml"],
        Some(input),
    );
    assert_success(&plain);
    let line: Value = serde_json::from_str(stdout(&plain).trim()).unwrap();
    assert_eq!(
        line["flagged"], false,
        "the default template does not know the word: {line}"
    );

    let school = qunzhu(
        dir.path(),
        &[
            "moderate",
            "--json",
            "--rules",
            "rules.toml",
            "--template",
            "school",
        ],
        Some(input),
    );
    assert_success(&school);
    let line: Value = serde_json::from_str(stdout(&school).trim()).unwrap();
    assert_eq!(line["flagged"], true, "{line}");
    assert!(
        line["checks"][0]["evidence"]
            .as_str()
            .unwrap()
            .contains("代写作业"),
        "{line}"
    );

    let missing = qunzhu(
        dir.path(),
        &[
            "moderate",
            "--rules",
            "rules.toml",
            "--template",
            "shop",
            "hi",
        ],
        None,
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("school"),
        "names the templates there are: {}",
        stderr(&missing)
    );
}

#[test]
fn a_bad_rules_file_lists_every_problem_and_exits_one() {
    let dir = tempfile::tempdir().unwrap();
    let rules = r#"
[templates.default.moderation]
ladder = ["delete+warn", "delete+jail"]
spam_threshold = 0.1
categories = ["ads"]
"#;
    std::fs::write(dir.path().join("bad.toml"), rules).unwrap();
    let output = qunzhu(
        dir.path(),
        &["moderate", "--rules", "bad.toml", "加微信"],
        None,
    );
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let errors = stderr(&output);
    assert!(errors.contains("3 problem(s)"), "{errors}");
    for key in [
        "moderation.ladder[1]",
        "moderation.spam_threshold",
        "moderation.categories[0]",
    ] {
        assert!(errors.contains(key), "`{key}` missing from:\n{errors}");
    }
    assert!(stdout(&output).is_empty(), "no verdict from bad rules");

    let output = qunzhu(
        dir.path(),
        &["moderate", "--rules", "nowhere.toml", "x"],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("nowhere.toml"),
        "{}",
        stderr(&output)
    );
}
