#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Cross-check of the WeCom callback crypto against wechatpy (PyPI), an independent
//! implementation: qunzhu decrypts what wechatpy encrypts, and wechatpy decrypts what qunzhu
//! encrypts. The venv comes from `scripts/wecom-wechatpy-venv.sh` (`scripts/test.sh` makes
//! it); without it the test is skipped with a message, except under CI (`CI=true`).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use qunzhu_connectors::wecom::crypto::MsgCrypt;
use serde_json::{Value, json};

const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "wx5823bf96d3bd56c7";

const SCRIPT: &str = r#"
import json, sys
try:
    from wechatpy.work.crypto import WeChatCrypto
except ImportError:
    from wechatpy.enterprise.crypto import WeChatCrypto
req = json.load(sys.stdin)
crypto = WeChatCrypto(req["token"], req["key"], req["corp"])
if req["op"] == "encrypt":
    import re
    xml = crypto.encrypt_message(req["msg"], req["nonce"], req["timestamp"])
    pick = lambda tag: re.search("<%s>(?:<!\\[CDATA\\[)?(.*?)(?:\\]\\]>)?</%s>" % (tag, tag), xml).group(1)
    print(json.dumps({"encrypt": pick("Encrypt"), "signature": pick("MsgSignature")}))
else:
    xml = "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt><AgentID><![CDATA[1]]></AgentID></xml>" % (req["corp"], req["encrypt"])
    msg = crypto.decrypt_message(xml, req["signature"], req["timestamp"], req["nonce"])
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8")
    print(json.dumps({"msg": msg}))
"#;

fn python() -> Option<PathBuf> {
    let venv = std::env::var_os("QUNZHU_WECHATPY_VENV").map_or_else(|| PathBuf::from("/var/cache/qunzhu-venvs/wechatpy"), PathBuf::from);
    let python = venv.join("bin/python");
    let works = Command::new(&python).args(["-c", "import wechatpy"]).output().is_ok_and(|o| o.status.success());
    if works {
        return Some(python);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true: wechatpy is required for the WeCom crypto cross-check; make the venv with scripts/wecom-wechatpy-venv.sh"
    );
    eprintln!("SKIPPED: no wechatpy venv at {} (run scripts/wecom-wechatpy-venv.sh or set QUNZHU_WECHATPY_VENV)", venv.display());
    None
}

fn wechatpy(python: &PathBuf, request: Value) -> Value {
    let mut child = Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(request.to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "wechatpy failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn qunzhu_and_wechatpy_decrypt_each_others_callbacks() {
    let Some(python) = python() else { return };
    let crypt = MsgCrypt::new(TOKEN, KEY, CORP).unwrap();
    let messages = [
        "<xml><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[wrOgAAA]]></ChatId></xml>".to_owned(),
        "新成员 小王 入群 🎉".to_owned(),
        "x".repeat(31),
        // random16 + len4 + msg + corp fills two blocks exactly: a whole block of padding.
        "y".repeat(64 - 20 - CORP.len()),
    ];
    for (n, msg) in messages.iter().enumerate() {
        let (timestamp, nonce) = (format!("17000000{n:02}"), format!("nonce{n}"));
        let sealed = wechatpy(&python, json!({"op": "encrypt", "token": TOKEN, "key": KEY, "corp": CORP, "msg": msg, "nonce": nonce, "timestamp": timestamp}));
        let opened = crypt
            .open(sealed["signature"].as_str().unwrap(), &timestamp, &nonce, sealed["encrypt"].as_str().unwrap())
            .unwrap();
        assert_eq!(&opened, msg, "qunzhu decrypts wechatpy");

        let (encrypt, signature) = crypt.seal(msg, &timestamp, &nonce);
        let opened = wechatpy(
            &python,
            json!({"op": "decrypt", "token": TOKEN, "key": KEY, "corp": CORP, "encrypt": encrypt, "signature": signature, "nonce": nonce, "timestamp": timestamp}),
        );
        assert_eq!(opened["msg"].as_str(), Some(msg.as_str()), "wechatpy decrypts qunzhu");
    }
}
