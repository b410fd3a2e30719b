//! `qunzhu admin …` as an operator runs it, each test in its own temp folder (SQLite there).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn qunzhu(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qunzhu"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[track_caller]
fn ok(output: &Output) -> String {
    let (out, err) = text(output);
    assert!(output.status.success(), "status {:?}\nstdout:\n{out}\nstderr:\n{err}", output.status);
    out
}

#[test]
fn admin_create_list_passwd_and_disable_manage_accounts_with_the_password_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let created = ok(&qunzhu(dir.path(), &["admin", "create", "Boss", "--password-stdin"], "correct horse\n"));
    assert!(created.contains("created owner account `boss`"), "{created}");
    ok(&qunzhu(dir.path(), &["admin", "create", "guest", "--role", "viewer", "--display-name", "访客", "--password-stdin"], "guest password\n"));

    let listed = ok(&qunzhu(dir.path(), &["admin", "list"], ""));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].contains("boss") && lines[0].contains("owner"), "{listed}");
    assert!(lines[1].contains("guest") && lines[1].contains("viewer") && lines[1].contains("访客"), "{listed}");

    let changed = ok(&qunzhu(dir.path(), &["admin", "passwd", "guest", "--password-stdin"], "another password\n"));
    assert!(changed.contains("password of `guest` changed"), "{changed}");
    ok(&qunzhu(dir.path(), &["admin", "disable", "guest"], ""));
    assert!(ok(&qunzhu(dir.path(), &["admin", "list"], "")).contains("[disabled]"));

    let last_owner = qunzhu(dir.path(), &["admin", "disable", "boss"], "");
    assert!(!last_owner.status.success());
    assert!(text(&last_owner).1.contains("enabled owner"), "{:?}", text(&last_owner));
}

#[test]
fn admin_create_refuses_a_short_password_and_a_taken_name_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let short = qunzhu(dir.path(), &["admin", "create", "boss", "--password-stdin"], "short\n");
    assert!(!short.status.success());
    assert!(text(&short).1.contains("at least 8"), "{:?}", text(&short));
    assert!(ok(&qunzhu(dir.path(), &["admin", "list"], "")).contains("no accounts yet"), "nothing was created");

    ok(&qunzhu(dir.path(), &["admin", "create", "boss", "--password-stdin"], "correct horse\n"));
    let taken = qunzhu(dir.path(), &["admin", "create", "BOSS", "--password-stdin"], "correct horse\n");
    assert!(!taken.status.success());
    assert!(text(&taken).1.contains("is taken"), "{:?}", text(&taken));
}

#[test]
fn admin_token_create_prints_the_token_once_and_revoke_takes_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let made = qunzhu(dir.path(), &["admin", "token", "create", "报表脚本", "--role", "operator"], "");
    let token = ok(&made).trim().to_owned();
    assert!(token.starts_with("qz_") && token.len() > 40, "{token}");
    assert!(text(&made).1.contains("shown once"));

    let listed = ok(&qunzhu(dir.path(), &["admin", "token", "list"], ""));
    assert!(listed.contains("报表脚本") && listed.contains("operator") && listed.contains("never used"), "{listed}");
    assert!(!listed.contains(&token), "the token itself is never listed");

    ok(&qunzhu(dir.path(), &["admin", "token", "revoke", "报表脚本"], ""));
    assert!(ok(&qunzhu(dir.path(), &["admin", "token", "list"], "")).contains("revoked"));
    let again = qunzhu(dir.path(), &["admin", "token", "revoke", "报表脚本"], "");
    assert!(!again.status.success(), "a revoked token cannot be revoked again");
}
