//! Checks the OneBot test peer against a real OneBot v11 application: NoneBot2 with
//! nonebot-adapter-onebot (PyPI), in the venv made by `scripts/onebot-nonebot-venv.sh`.
//! NoneBot must accept the peer's handshake, parse its events (string and array forms,
//! escaping included) and answer with a well-formed `send_group_msg` call.
//!
//! Without the venv the test is skipped with a notice; with `CI` set it fails instead.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[path = "support/onebot_peer.rs"]
mod onebot_peer;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use onebot_peer::{Peer, PeerOptions, events};
use serde_json::{Value, json};

const TOKEN: &str = "nonebot-check-token";

fn venv_python() -> Option<PathBuf> {
    let venv = std::env::var_os("QUNZHU_NONEBOT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/qunzhu-venvs/nonebot"));
    let python = venv.join("bin/python");
    python.exists().then_some(python)
}

/// Kills NoneBot when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

#[tokio::test]
async fn nonebot_accepts_the_peer_parses_its_events_and_answers_with_send_group_msg() {
    let Some(python) = venv_python() else {
        let message = "the NoneBot venv is missing: run `bash scripts/onebot-nonebot-venv.sh` (scripts/test.sh does)";
        if std::env::var_os("CI").is_some() {
            panic!("{message}");
        }
        eprintln!("SKIPPED nonebot check: {message}");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile_dir();
    let seen = dir.join("seen.jsonl");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/onebot/nonebot_check.py");
    let child = Command::new(&python)
        .arg(&script)
        .arg(port.to_string())
        .arg(TOKEN)
        .arg(&seen)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(dir.join("nonebot.log")).unwrap()))
        .spawn()
        .unwrap();
    let _nonebot = Killed(child);

    let mut options = PeerOptions::new(format!("ws://127.0.0.1:{port}/onebot/v11/ws"), Some(TOKEN));
    options.reconnect = Duration::from_millis(300);
    let peer = Peer::start(options);
    let log = dir.join("nonebot.log");
    let connected = tokio::time::timeout(Duration::from_secs(60), async {
        peer.wait_connected().await;
    });
    if connected.await.is_err() {
        panic!("NoneBot never accepted the peer; its log:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
    }

    // The string form, with an at of the bot, an escaped bracket and a face.
    peer.send(events::group_message(
        peer.self_id(),
        123_456,
        20_001,
        7001,
        json!("[CQ:at,qq=10000] 你好 &#91;测试&#93; &amp; 再见[CQ:face,id=14]"),
        "admin",
    ));
    let call = peer.wait_for("send_group_msg").await;
    assert_eq!(call["params"]["group_id"], 123_456, "{call}");
    assert!(call.get("echo").is_some(), "{call}");
    let segments = call["params"]["message"].as_array().expect("an array message");
    assert_eq!(segments[0], json!({"type": "at", "data": {"qq": "20001"}}), "{call}");
    let text: String = segments.iter().filter_map(|s| s["data"]["text"].as_str()).collect();
    assert_eq!(text, " 收到：你好 [测试] & 再见", "{call}");

    // The array form.
    peer.send(events::group_message(
        peer.self_id(),
        123_456,
        20_002,
        7002,
        json!([{"type": "text", "data": {"text": "数组 [形式], 好"}}, {"type": "at", "data": {"qq": "20001"}}]),
        "member",
    ));
    peer.wait_for_calls(2, |c| c["action"] == "send_group_msg").await;

    let seen = read_lines(&seen);
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert_eq!(seen[0]["message_id"], 7001);
    assert_eq!(seen[0]["role"], "admin");
    assert_eq!(seen[0]["to_me"], true, "NoneBot saw the at of the bot: {seen:#?}");
    assert_eq!(seen[0]["plain_text"], "你好 [测试] & 再见");
    assert!(seen[0]["segments"].to_string().contains("\"face\""), "{seen:#?}");
    assert_eq!(seen[1]["user_id"], 20_002);
    assert_eq!(seen[1]["plain_text"], "数组 [形式], 好");
    assert_eq!(seen[1]["segments"][1], json!({"type": "at", "data": {"qq": "20001"}}));
    // NoneBot read the peer's answers (message ids) back without complaint. It writes each
    // answer after our peer has replied, so wait for the second one rather than race it.
    let answers_file = dir.join("seen.jsonl.answers");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while read_lines(&answers_file).len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let answers = read_lines(&answers_file);
    assert_eq!(answers.len(), 2, "{answers:#?}");
    assert!(answers.iter().all(|a| a["message_id"].is_i64()), "{answers:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qunzhu-nonebot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
