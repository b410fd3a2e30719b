//! Telegram as a conformance peer: the spec-faithful local Bot API peer
//! (`crates/connectors/tests/support/telegram_peer.rs`) that qunzhu long-polls. No real
//! Telegram runs here (a bot token and Telegram's servers would be needed), so this peer is
//! test-only: it serves updates in the documented shapes (built from the recorded payloads in
//! `crates/connectors/tests/fixtures/telegram/`), confirms them by `offset` like Telegram, and
//! logs every Bot API call. "Down" is an outage: every call answers 502 Bad Gateway while
//! updates wait in the queue, as they do at Telegram.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use qunzhu::config::ConnectorConfig;
use qunzhu_connectors::telegram::TelegramConfig;
use qunzhu_core::Capabilities;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::harness::{Did, Peer, Server};
use crate::tg_peer::{CHAT, TOKEN, TelegramPeer, fixture};

fn user_id(n: u32) -> i64 {
    300_000_000 + i64::from(n)
}

fn user(n: u32) -> Value {
    json!({"id": user_id(n), "is_bot": false, "first_name": format!("成员{n}")})
}

fn chat() -> Value {
    json!({"id": CHAT, "title": "qunzhu 测试群", "type": "supergroup"})
}

fn config(peer: &TelegramPeer) -> TelegramConfig {
    let mut telegram = TelegramConfig::polling("tg", TOKEN);
    telegram.api_url = peer.url.clone();
    telegram.poll_timeout_secs = 1;
    telegram.reconnect_max_secs = 2;
    telegram
}

pub struct Telegram {
    server: Server,
    peer: TelegramPeer,
    next_update: AtomicI64,
}

impl Telegram {
    async fn boot(dir: &Path, down: bool) -> Self {
        let peer = TelegramPeer::start().await;
        peer.set_down(down);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server::start(listener, dir, ConnectorConfig::Telegram(config(&peer))).await;
        Self { server, peer, next_update: AtomicI64::new(900_000_001) }
    }

    fn push(&self, field: &str, mut body: Value) {
        let update_id = self.next_update.fetch_add(1, Ordering::Relaxed);
        body["chat"] = chat();
        body["date"] = json!(chrono::Utc::now().timestamp());
        self.peer.push_update(json!({"update_id": update_id, field: body}));
    }

    /// A `chat_member` update: `member` goes from `from_status` to `to_status`, done by `by`.
    fn member_change(&self, member: u32, by: u32, from_status: &str, to_status: &str) {
        let mut new = json!({"user": user(member), "status": to_status});
        if to_status == "kicked" {
            // Required for a banned member (0: for ever).
            new["until_date"] = json!(0);
        }
        self.push(
            "chat_member",
            json!({
                "from": user(by),
                "old_chat_member": {"user": user(member), "status": from_status},
                "new_chat_member": new,
            }),
        );
    }
}

impl Peer for Telegram {
    async fn start(dir: &Path) -> Self {
        Self::boot(dir, false).await
    }

    async fn start_down(dir: &Path) -> Option<Self> {
        Some(Self::boot(dir, true).await)
    }

    async fn come_up(&mut self) {
        self.peer.set_down(false);
    }

    fn server(&self) -> &Server {
        &self.server
    }

    fn connector(&self) -> &'static str {
        "tg"
    }

    fn capabilities(&self) -> Capabilities {
        config(&self.peer).capabilities()
    }

    fn member(&self, n: u32) -> String {
        user_id(n).to_string()
    }

    fn message(&self, n: u32) -> String {
        n.to_string()
    }

    async fn join(&self, member: u32) {
        self.member_change(member, member, "left", "member");
    }

    async fn leave(&self, member: u32, kicked_by: Option<u32>) {
        match kicked_by {
            Some(by) => self.member_change(member, by, "member", "kicked"),
            None => self.member_change(member, member, "member", "left"),
        }
    }

    async fn join_request(&self, member: u32) -> bool {
        let mut request = fixture("chat_join_request")["chat_join_request"].clone();
        request["from"] = user(member);
        request["user_chat_id"] = json!(user_id(member));
        request.as_object_mut().unwrap().remove("invite_link");
        self.push("chat_join_request", request);
        true
    }

    async fn say(&self, member: u32, id: u32, text: &str, mention: Option<u32>, reply_to: Option<u32>) {
        let mut message = json!({"message_id": id, "from": user(member), "text": text});
        if let Some(m) = mention {
            // A text mention of a member without a username, as Telegram sends it.
            let name = format!("成员{m}");
            let offset = text.encode_utf16().count() + 1;
            message["text"] = json!(format!("{text} {name}"));
            message["entities"] =
                json!([{"type": "text_mention", "offset": offset, "length": name.encode_utf16().count(), "user": user(m)}]);
        }
        if let Some(reply) = reply_to {
            message["reply_to_message"] = json!({"message_id": reply, "from": user(member), "chat": chat(), "date": 0, "text": "…"});
        }
        message["chat"] = chat();
        message["date"] = json!(chrono::Utc::now().timestamp());
        let update_id = self.next_update.fetch_add(1, Ordering::Relaxed);
        self.peer.push_update(json!({"update_id": update_id, "message": message}));
    }

    async fn done(&self) -> Vec<(Instant, Did)> {
        let calls = self.peer.calls();
        let id = |v: &Value| v.as_i64().map(|n| n.to_string()).or_else(|| v.as_str().map(str::to_owned)).unwrap_or_default();
        calls
            .iter()
            .enumerate()
            .filter_map(|(i, call)| {
                let p = &call.params;
                let did = match call.method.as_str() {
                    "sendMessage" if p["chat_id"] == CHAT => Did::Send {
                        mentions: p["entities"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter(|e| e["type"] == "text_mention")
                            .map(|e| id(&e["user"]["id"]))
                            .collect(),
                        reply_to: p["reply_parameters"]["message_id"].as_i64().map(|m| m.to_string()),
                    },
                    "deleteMessage" => Did::Delete { message: id(&p["message_id"]) },
                    "restrictChatMember" => Did::Mute {
                        member: id(&p["user_id"]),
                        secs: p["until_date"].as_i64().map(|until| u64::try_from(until - call.unix).unwrap_or(0)),
                    },
                    // A kick is a ban lifted at once (only_if_banned), so the member may rejoin.
                    "banChatMember" => {
                        let member = id(&p["user_id"]);
                        let lifted = calls[i + 1..].iter().any(|c| c.method == "unbanChatMember" && id(&c.params["user_id"]) == member && c.params["only_if_banned"] == true);
                        if lifted { Did::Kick { member } } else { Did::Ban { member } }
                    }
                    "approveChatJoinRequest" => Did::AnswerJoin { member: id(&p["user_id"]), approve: true },
                    "declineChatJoinRequest" => Did::AnswerJoin { member: id(&p["user_id"]), approve: false },
                    _ => return None,
                };
                Some((call.at, did))
            })
            .collect()
    }

    async fn restart_during(&mut self, during: impl AsyncFnOnce(&Self)) -> bool {
        // An outage of the Bot API: polls and sends fail (502) while updates queue up; once it
        // is over, the queue is served from the last confirmed offset.
        self.peer.set_down(true);
        during(self).await;
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        self.peer.set_down(false);
        true
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}
