//! The `qunzhu` binary as an operator runs it: each test works in its own temp folder.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::process::{Command, Output};

fn qunzhu(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qunzhu"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("USER", "tester")
        .output()
        .unwrap()
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
fn help_lists_every_subcommand_with_a_description() {
    let dir = tempfile::tempdir().unwrap();
    let output = qunzhu(dir.path(), &["--help"]);
    assert_success(&output);
    let help = stdout(&output);
    for (command, words) in [
        ("serve", "Run qunzhu"),
        ("init", "example qunzhu.toml"),
        ("config", "deployment config"),
        ("rules", "rulebook"),
    ] {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(command))
            .unwrap_or_else(|| panic!("no `{command}` in:\n{help}"));
        assert!(
            line.contains(words),
            "`{command}` lacks a description: {line:?}"
        );
    }
    let rules = stdout(&qunzhu(dir.path(), &["rules", "--help"]));
    for command in ["export", "import", "history", "rollback"] {
        assert!(
            rules.lines().any(|l| l.trim_start().starts_with(command)),
            "no `rules {command}` in:\n{rules}"
        );
    }
}

#[test]
fn init_writes_the_example_and_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    assert_success(&qunzhu(dir.path(), &["init"]));
    let written = std::fs::read_to_string(dir.path().join("qunzhu.toml")).unwrap();
    assert_eq!(written, qunzhu::config::example_toml());

    std::fs::write(dir.path().join("qunzhu.toml"), "# mine\n").unwrap();
    let again = qunzhu(dir.path(), &["init"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already exists") && stderr(&again).contains("--force"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("qunzhu.toml")).unwrap(),
        "# mine\n"
    );

    assert_success(&qunzhu(dir.path(), &["init", "--force"]));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("qunzhu.toml")).unwrap(),
        written
    );
}

#[test]
fn config_check_accepts_the_example_and_lists_every_problem_of_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    assert_success(&qunzhu(dir.path(), &["init"]));
    let ok = qunzhu(dir.path(), &["config", "check", "qunzhu.toml"]);
    assert_success(&ok);
    assert!(
        stdout(&ok).starts_with("OK: qunzhu.toml is valid"),
        "{}",
        stdout(&ok)
    );

    let bad = "listen = \"localhost\"\ncolour = true\n\n[[connectors]]\ntype = \"bridge\"\nid = \"shop\"\ntoken = \"change-me\"\ncapabilities = [\"send\", \"fly\"]\n";
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let output = qunzhu(dir.path(), &["config", "check", "bad.toml"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "bad.toml has 3 problem(s):", "{err}");
    assert!(
        lines[1].starts_with("listen (line 1, column 1): `localhost` is not an IP address"),
        "{err}"
    );
    assert!(
        lines[2].starts_with("colour (line 2, column 1): unknown field `colour`"),
        "{err}"
    );
    assert!(lines[3].starts_with("connectors[0].capabilities[1] (line 8, column 25): unknown capability `fly`; allowed: send,"), "{err}");
    assert!(
        !err.contains("change-me"),
        "a token must never be echoed: {err}"
    );

    let missing = qunzhu(dir.path(), &["config", "check", "nope.toml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("nope.toml") && stderr(&missing).contains("qunzhu init"),
        "{}",
        stderr(&missing)
    );
}

/// `rules export` with its header comment lines removed, so two exports compare equal.
fn exported(dir: &Path, data: &str) -> String {
    let output = qunzhu(dir, &["rules", "export", "--data-dir", data]);
    assert_success(&output);
    let text = stdout(&output);
    assert!(text.starts_with("# qunzhu rulebook, version "), "{text}");
    text.lines()
        .filter(|l| !l.starts_with("# "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn rules_round_trip_through_export_edit_and_import_and_a_bad_import_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = "data";

    // Export to a file, change one setting, import it: a new version with that change.
    assert_success(&qunzhu(
        dir.path(),
        &["rules", "export", "rules.toml", "--data-dir", data],
    ));
    let original = std::fs::read_to_string(dir.path().join("rules.toml")).unwrap();
    assert!(
        original.starts_with("# qunzhu rulebook, version 1, exported "),
        "{original}"
    );
    let mut book: toml::Table = toml::from_str(&original).unwrap();
    book["templates"]["default"]
        .as_table_mut()
        .unwrap()
        .insert("rules_text".into(), "只聊咖啡".into());
    let edited = toml::to_string(&book).unwrap();
    std::fs::write(dir.path().join("rules.toml"), &edited).unwrap();
    let import = qunzhu(
        dir.path(),
        &[
            "rules",
            "import",
            "rules.toml",
            "--data-dir",
            data,
            "--note",
            "coffee only",
        ],
    );
    assert_success(&import);
    assert!(
        stdout(&import).starts_with("saved rulebook version 2 (1 change(s)):"),
        "{}",
        stdout(&import)
    );
    assert!(
        stdout(&import).contains("templates.default.rules_text"),
        "{}",
        stdout(&import)
    );
    let after_import = exported(dir.path(), data);
    assert!(
        after_import.contains("rules_text = \"只聊咖啡\""),
        "{after_import}"
    );

    // A file with three mistakes: every one reported with its line; nothing saved.
    let bad = "[templates.default]\nrules_txt = \"typo\"\n\n[templates.default.welcome]\nenabled = \"yes\"\n\n[groups.\"shop/g1\"]\ntemplate = \"missing\"\n";
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let rejected = qunzhu(
        dir.path(),
        &["rules", "import", "bad.toml", "--data-dir", data],
    );
    assert_eq!(rejected.status.code(), Some(1));
    let err = stderr(&rejected);
    assert!(
        err.starts_with("bad.toml has 3 problem(s); nothing was changed:"),
        "{err}"
    );
    assert!(
        err.contains("templates.default.rules_txt (line 2, column 1): unknown field `rules_txt`"),
        "{err}"
    );
    assert!(
        err.contains("templates.default.welcome.enabled (line 5, column 1)"),
        "{err}"
    );
    assert!(
        err.contains("groups.\"shop/g1\".template (line 8, column 1): no template named `missing`"),
        "{err}"
    );
    assert_eq!(
        exported(dir.path(), data),
        after_import,
        "a rejected import must change nothing"
    );

    // Importing the same file again saves nothing new.
    let same = qunzhu(
        dir.path(),
        &["rules", "import", "rules.toml", "--data-dir", data],
    );
    assert_success(&same);
    assert!(
        stdout(&same).contains("nothing to save"),
        "{}",
        stdout(&same)
    );

    // History names who changed what; rollback brings version 1 back as version 3.
    let history = stdout(&qunzhu(
        dir.path(),
        &["rules", "history", "--data-dir", data],
    ));
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 2, "{history}");
    assert!(
        lines[0].starts_with("v2")
            && lines[0].contains("tester")
            && lines[0].contains("coffee only"),
        "{history}"
    );
    assert!(
        lines[0].contains("templates.default.rules_text"),
        "{history}"
    );
    assert_success(&qunzhu(
        dir.path(),
        &["rules", "rollback", "1", "--data-dir", data],
    ));
    let rolled_back = exported(dir.path(), data);
    assert!(!rolled_back.contains("只聊咖啡"), "{rolled_back}");
    let unknown = qunzhu(dir.path(), &["rules", "rollback", "42", "--data-dir", data]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("no rulebook version 42"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn rules_commands_use_the_config_file_in_the_current_folder_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("qunzhu.toml"),
        "data_dir = \"from-config\"\nlocale = \"en\"\n",
    )
    .unwrap();
    assert_success(&qunzhu(dir.path(), &["rules", "export"]));
    assert!(dir.path().join("from-config/qunzhu.db").exists());
    let english = stdout(&qunzhu(dir.path(), &["rules", "export"]));
    assert!(
        english.contains("Default template"),
        "the config's locale seeds the rulebook: {english}"
    );

    assert_success(&qunzhu(
        dir.path(),
        &["rules", "export", "--data-dir", "from-flag"],
    ));
    assert!(dir.path().join("from-flag/qunzhu.db").exists());

    let url = format!("sqlite://{}", dir.path().join("by-url/q.db").display());
    assert_success(&qunzhu(
        dir.path(),
        &["rules", "export", "--database", &url],
    ));
    assert!(dir.path().join("by-url/q.db").exists());
}

#[test]
fn a_broken_config_file_stops_every_command_with_its_problems() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("qunzhu.toml"), "listen = 8080\n").unwrap();
    for args in [&["rules", "export"][..], &["serve"][..]] {
        let output = qunzhu(dir.path(), args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let err = stderr(&output);
        assert!(
            err.contains("qunzhu.toml has 1 problem(s)")
                && err.contains("listen (line 1, column 1): invalid type: integer `8080`"),
            "{err}"
        );
    }
}

#[test]
fn serve_without_any_config_file_answers_health_checks_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_qunzhu"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            "data",
        ])
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut healthy = false;
    for _ in 0..100 {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).unwrap();
            healthy =
                response.starts_with("HTTP/1.1 200") && response.contains("\"status\":\"ok\"");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SIGTERM, by the child's own pid.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let output = child.wait_with_output().unwrap();
    let err = stderr(&output);
    assert!(healthy, "no healthy answer on port {port}:\n{err}");
    assert!(output.status.success(), "{:?}\n{err}", output.status);
    assert!(err.contains("no config file: using the defaults"), "{err}");
    assert!(dir.path().join("data/qunzhu.db").exists());
}
