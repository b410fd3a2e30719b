//! WeCom end to end: `serve::run` with a wecom connector whose `api_base` is a local peer that
//! answers like the WeCom API (errcode/errmsg, access tokens); encrypted callbacks POSTed the
//! way WeCom does. Joins become events (welcomes become staff tasks, sent to staff by app
//! message), a lost callback is repaired by reconciliation, forged and replayed callbacks are
//! refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use qunzhu::config::{Config, ConnectorConfig};
use qunzhu::serve;
use qunzhu_connectors::wecom::WecomConfig;
use qunzhu_connectors::wecom::crypto::MsgCrypt;
use serde_json::{Value, json};
use tokio::sync::oneshot;

const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "ww5823bf96d3bd56c7";
const CHAT: &str = "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA";

#[derive(Default)]
struct Peer {
    members: Vec<Value>,
    sent: Vec<String>,
    list_calls: u32,
    tokens: u32,
    /// Welcome template calls: (add | edit, body).
    templates: Vec<(String, Value)>,
}

fn member(userid: &str, join_time: i64, state: &str) -> Value {
    json!({"userid": userid, "type": 2, "join_time": join_time, "join_scene": 3, "name": format!("客户{userid}"), "state": state, "group_nickname": ""})
}

async fn start_peer() -> (String, Arc<Mutex<Peer>>) {
    let peer = Arc::new(Mutex::new(Peer { members: vec![json!({"userid": "zhangsan", "type": 1, "join_time": 1_600_000_000, "join_scene": 0})], ..Peer::default() }));
    let token_ok = |q: &std::collections::HashMap<String, String>| q.get("access_token").map(String::as_str) == Some("tok-1");
    let app = Router::new()
        .route(
            "/cgi-bin/gettoken",
            get(|State(p): State<Arc<Mutex<Peer>>>, Query(q): Query<std::collections::HashMap<String, String>>| async move {
                if q.get("corpid").map(String::as_str) != Some(CORP) || q.get("corpsecret").map(String::as_str) != Some("app-secret") {
                    return Json(json!({"errcode": 40013, "errmsg": "invalid corpid"}));
                }
                p.lock().unwrap().tokens += 1;
                Json(json!({"errcode": 0, "errmsg": "ok", "access_token": "tok-1", "expires_in": 7200}))
            }),
        )
        .route(
            "/cgi-bin/externalcontact/groupchat/list",
            post(move |State(p): State<Arc<Mutex<Peer>>>, Query(q): Query<std::collections::HashMap<String, String>>| async move {
                if !token_ok(&q) {
                    return Json(json!({"errcode": 40014, "errmsg": "invalid access_token"}));
                }
                p.lock().unwrap().list_calls += 1;
                Json(json!({"errcode": 0, "errmsg": "ok", "group_chat_list": [{"chat_id": CHAT, "status": 0}], "next_cursor": ""}))
            }),
        )
        .route(
            "/cgi-bin/externalcontact/groupchat/get",
            post(move |State(p): State<Arc<Mutex<Peer>>>, Query(q): Query<std::collections::HashMap<String, String>>, Json(body): Json<Value>| async move {
                if !token_ok(&q) {
                    return Json(json!({"errcode": 40014, "errmsg": "invalid access_token"}));
                }
                assert_eq!(body["chat_id"], CHAT);
                let members = p.lock().unwrap().members.clone();
                Json(json!({"errcode": 0, "errmsg": "ok", "group_chat": {"chat_id": CHAT, "name": "粉丝1群", "owner": "zhangsan", "create_time": 1_600_000_000, "member_list": members, "admin_list": []}}))
            }),
        )
        .route(
            "/cgi-bin/message/send",
            post(move |State(p): State<Arc<Mutex<Peer>>>, Query(q): Query<std::collections::HashMap<String, String>>, Json(body): Json<Value>| async move {
                if !token_ok(&q) {
                    return Json(json!({"errcode": 40014, "errmsg": "invalid access_token"}));
                }
                assert_eq!(body["touser"], "zhangsan|lisi");
                assert_eq!(body["agentid"], 1_000_002);
                p.lock().unwrap().sent.push(body["text"]["content"].as_str().unwrap().to_owned());
                Json(json!({"errcode": 0, "errmsg": "ok", "invaliduser": ""}))
            }),
        )
        .route(
            "/cgi-bin/externalcontact/group_welcome_template/add",
            post(move |State(p): State<Arc<Mutex<Peer>>>, Query(q): Query<std::collections::HashMap<String, String>>, Json(body): Json<Value>| async move {
                if !token_ok(&q) {
                    return Json(json!({"errcode": 40014, "errmsg": "invalid access_token"}));
                }
                let mut p = p.lock().unwrap();
                p.templates.push(("add".into(), body));
                Json(json!({"errcode": 0, "errmsg": "ok", "template_id": format!("msgXXXXXXX{}", p.templates.len())}))
            }),
        )
        .route(
            "/cgi-bin/externalcontact/group_welcome_template/edit",
            post(move |State(p): State<Arc<Mutex<Peer>>>, Query(q): Query<std::collections::HashMap<String, String>>, Json(body): Json<Value>| async move {
                if !token_ok(&q) {
                    return Json(json!({"errcode": 40014, "errmsg": "invalid access_token"}));
                }
                p.lock().unwrap().templates.push(("edit".into(), body));
                Json(json!({"errcode": 0, "errmsg": "ok"}))
            }),
        )
        .with_state(peer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, peer)
}

struct App {
    base: String,
    client: reqwest::Client,
    crypt: MsgCrypt,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    dir: tempfile::TempDir,
}

impl App {
    async fn start(api_base: &str) -> Self {
        Self::start_in(api_base, tempfile::tempdir().unwrap(), |_| {}).await
    }

    /// Starts over the data in `dir` (a restart when it holds a previous run's).
    async fn start_in(api_base: &str, dir: tempfile::TempDir, tweak: impl FnOnce(&mut WecomConfig)) -> Self {
        let mut wecom = WecomConfig::new("wecom", CORP, 1_000_002, "app-secret", TOKEN, KEY);
        wecom.api_base = api_base.into();
        wecom.staff_userids = vec!["zhangsan".into(), "lisi".into()];
        tweak(&mut wecom);
        let config = Config { data_dir: dir.path().to_path_buf(), connectors: vec![ConnectorConfig::Wecom(wecom)], ..Config::default() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve::run(config, listener, async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { base, client, crypt: MsgCrypt::new(TOKEN, KEY, CORP).unwrap(), stop: Some(stop), task, dir }
    }

    /// POSTs `xml` encrypted as WeCom does; returns the status and body.
    async fn callback(&self, xml: &str, nonce: &str) -> (u16, String) {
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let (encrypt, signature) = self.crypt.seal(xml, &timestamp, nonce);
        self.post(&encrypt, &signature, &timestamp, nonce).await
    }

    async fn post(&self, encrypt: &str, signature: &str, timestamp: &str, nonce: &str) -> (u16, String) {
        let body = format!("<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>");
        let response = self
            .client
            .post(format!("{}/wecom/wecom/callback", self.base))
            .query(&[("msg_signature", signature), ("timestamp", timestamp), ("nonce", nonce)])
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn tasks(&self) -> String {
        self.client.get(format!("{}/api/v1/tasks", self.base)).send().await.unwrap().text().await.unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        self.client.get(format!("{}{path}", self.base)).send().await.unwrap().json().await.unwrap()
    }

    /// Rows of qunzhu's database (read-only, beside the running app).
    async fn query(&self, sql: &str) -> Vec<String> {
        let url = format!("sqlite://{}?mode=ro", self.dir.path().join("qunzhu.db").display());
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    }

    /// The stored events of the connector, as JSON.
    async fn events(&self) -> Vec<Value> {
        self.query("SELECT body FROM events WHERE connector = 'wecom' ORDER BY seq").await.iter().map(|b| serde_json::from_str(b).unwrap()).collect()
    }

    async fn stop(mut self) -> tempfile::TempDir {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(20), self.task).await.unwrap().unwrap().unwrap();
        self.dir
    }
}

fn add_member(userid: &str, ts: i64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>{ts}</CreateTime>\
         <MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[{CHAT}]]></ChatId>\
         <ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[add_member]]></UpdateDetail><JoinScene>3</JoinScene>\
         <MemChangeCnt>1</MemChangeCnt><MemChangeList><Item><![CDATA[{userid}]]></Item></MemChangeList></xml>"
    )
}

async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wecom_callbacks_become_joins_staff_tasks_and_app_messages_and_reconciliation_repairs_a_lost_one() {
    let (api, peer) = start_peer().await;
    let app = App::start(&api).await;
    eventually("the first reconciliation round lists the groups", || {
        let peer = peer.clone();
        async move { peer.lock().unwrap().list_calls > 0 }
    })
    .await;

    // URL verification answers the decrypted echo.
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let (echo, signature) = app.crypt.seal("9876543210", &timestamp, "verify-1");
    let verified = app
        .client
        .get(format!("{}/wecom/wecom/callback", app.base))
        .query(&[("msg_signature", signature.as_str()), ("timestamp", timestamp.as_str()), ("nonce", "verify-1"), ("echostr", echo.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(verified.text().await.unwrap(), "9876543210");

    // A member joins through a channel code: the callback is answered "success" at once.
    let now = chrono::Utc::now().timestamp();
    peer.lock().unwrap().members.push(member("wmB", now, "QZ7K2M"));
    assert_eq!(app.callback(&add_member("wmB", now), "n-1").await, (200, "success".into()));
    eventually("the welcome for 客户wmB becomes a WeCom staff task", || {
        let app = &app;
        async move { app.tasks().await.contains("客户wmB") }
    })
    .await;
    assert!(app.tasks().await.contains("在企业微信"), "{}", app.tasks().await);
    eventually("staff get the task as an app message", || {
        let peer = peer.clone();
        async move { peer.lock().unwrap().sent.iter().any(|m| m.contains("待办") && m.contains("客户wmB")) }
    })
    .await;

    // A join whose callback was lost: the next callback of the group reconciles it.
    peer.lock().unwrap().members.push(member("wmC", now + 1, ""));
    let rename = format!("<xml><CreateTime>{}</CreateTime><Event>change_external_chat</Event><ChatId>{CHAT}</ChatId><ChangeType>update</ChangeType><UpdateDetail>change_name</UpdateDetail></xml>", now + 2);
    assert_eq!(app.callback(&rename, "n-2").await.0, 200);
    eventually("the missed join of 客户wmC is repaired", || {
        let app = &app;
        async move { app.tasks().await.contains("客户wmC") }
    })
    .await;

    // Forged and replayed callbacks are refused and change nothing.
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let (encrypt, signature) = app.crypt.seal(&add_member("wmEvil", now), &timestamp, "n-3");
    assert_eq!(app.post(&encrypt, "0000000000000000000000000000000000000000", &timestamp, "n-3").await.0, 403);
    assert_eq!(app.post(&encrypt, &signature, &timestamp, "n-3").await.0, 200);
    assert_eq!(app.post(&encrypt, &signature, &timestamp, "n-3").await.0, 403, "a replay is refused");
    let stale = (chrono::Utc::now().timestamp() - 3600).to_string();
    let (encrypt, signature) = app.crypt.seal(&add_member("wmOld", now), &stale, "n-4");
    assert_eq!(app.post(&encrypt, &signature, &stale, "n-4").await.0, 403, "a stale timestamp is refused");
    let other = MsgCrypt::new(TOKEN, KEY, "wwSomeoneElse").unwrap();
    let (encrypt, signature) = other.seal(&add_member("wmX", now), &timestamp, "n-5");
    assert_eq!(app.post(&encrypt, &signature, &timestamp, "n-5").await.0, 403, "another receiver id is refused");
    assert_eq!(peer.lock().unwrap().tokens, 1, "the access token is cached");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_wecom_api_still_gets_callbacks_answered_and_their_joins_recorded() {
    // Nothing listens here.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = App::start(&api).await;
    let now = chrono::Utc::now().timestamp();
    let started = std::time::Instant::now();
    assert_eq!(app.callback(&add_member("wmQ", now), "u-1").await, (200, "success".into()));
    assert!(started.elapsed() < Duration::from_secs(2), "answered at once");
    eventually("the callback's join is processed without the API", || {
        let app = &app;
        async move { app.tasks().await.contains("wmQ") }
    })
    .await;
    let health: Value = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap().json().await.unwrap();
    assert!(health.to_string().contains("reconcile_pending"), "{health}");
    app.stop().await;
}

fn member_with_scene(userid: &str, join_time: i64, join_scene: i64) -> Value {
    let mut m = member(userid, join_time, "");
    m["join_scene"] = json!(join_scene);
    m
}

fn events_of<'a>(events: &'a [Value], kind: &str, userid: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"]["type"] == kind && e["kind"]["member"]["id"] == userid).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_and_leaves_made_while_qunzhu_was_down_are_recorded_once_after_a_restart() {
    let (api, peer) = start_peer().await;
    let now = chrono::Utc::now().timestamp();
    peer.lock().unwrap().members.push(member_with_scene("wmA", now - 100, 1));
    let app = App::start(&api).await;
    eventually("the first reconciliation keeps the group's member list", || {
        let app = &app;
        async move { app.query("SELECT members FROM platform_rosters").await.iter().any(|m| m.contains("wmA")) }
    })
    .await;
    assert!(app.events().await.is_empty(), "the first look at a group is a baseline, not joins");
    let dir = app.stop().await;

    // While qunzhu is down, wmA leaves and wmD joins through an invitation link.
    {
        let mut peer = peer.lock().unwrap();
        peer.members.retain(|m| m["userid"] != "wmA");
        peer.members.push(member_with_scene("wmD", now - 10, 2));
    }
    let app = App::start_in(&api, dir, |_| {}).await;
    eventually("the join and the leave made meanwhile are recorded", || {
        let app = &app;
        async move {
            let events = app.events().await;
            !events_of(&events, "member_joined", "wmD").is_empty() && !events_of(&events, "member_left", "wmA").is_empty()
        }
    })
    .await;
    let events = app.events().await;
    let joined = events_of(&events, "member_joined", "wmD");
    assert_eq!(joined[0]["kind"]["join_scene"], "invite_link", "groupchat/get's join_scene 2 is an invitation link: {}", joined[0]);
    assert_eq!(joined[0]["time"], chrono::DateTime::from_timestamp(now - 10, 0).unwrap().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    eventually("the join is in the member's profile with its scene", || {
        let app = &app;
        async move { app.get("/api/v1/members/wecom/wmD").await["member"]["groups"][0]["join_scene"] == "invite_link" }
    })
    .await;
    let churn = app.get(&format!("/api/v1/groups/wecom/{CHAT}/churn")).await;
    assert_eq!(churn["leaves"].as_array().unwrap().len(), 1, "{churn}");
    assert_eq!(churn["leaves"][0]["member"], "wmA", "{churn}");

    // The next reconciliation (after a callback of the group) records nothing again.
    let rename = format!("<xml><CreateTime>{now}</CreateTime><Event>change_external_chat</Event><ChatId>{CHAT}</ChatId><ChangeType>update</ChangeType><UpdateDetail>change_name</UpdateDetail></xml>");
    assert_eq!(app.callback(&rename, "r-1").await.0, 200);
    eventually("the rename is recorded", || {
        let app = &app;
        async move { app.events().await.iter().any(|e| e["kind"]["type"] == "group_updated") }
    })
    .await;
    let dir = app.stop().await;
    let app = App::start_in(&api, dir, |_| {}).await;
    eventually("the restarted app reconciled again", || {
        let app = &app;
        async move { app.get("/healthz").await.to_string().contains("last_reconciled_at") }
    })
    .await;
    let events = app.events().await;
    assert_eq!(events_of(&events, "member_joined", "wmD").len(), 1, "{events:#?}");
    assert_eq!(events_of(&events, "member_left", "wmA").len(), 1, "{events:#?}");
    assert!(events_of(&events, "member_joined", "zhangsan").is_empty(), "members who never changed are no joins: {events:#?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_welcome_text_is_kept_as_the_wecom_group_welcome_template_and_follows_the_rulebook() {
    let (api, peer) = start_peer().await;
    let app = App::start_in(&api, tempfile::tempdir().unwrap(), |w| w.keep_welcome_template = true).await;
    eventually("the welcome becomes a WeCom group welcome template", || {
        let peer = peer.clone();
        async move { !peer.lock().unwrap().templates.is_empty() }
    })
    .await;
    let (call, body) = peer.lock().unwrap().templates[0].clone();
    assert_eq!(call, "add");
    let text = body["text"]["content"].as_str().unwrap();
    assert!(text.starts_with("欢迎 %NICKNAME% 加入「本群」！"), "{{name}} is WeCom's nickname token: {text}");
    assert!(!text.contains('{') && !text.contains("位成员"), "no per-join facts in a template: {text}");
    assert_eq!(body["agentid"], 1_000_002);
    eventually("staff are asked to choose it for the group", || {
        let peer = peer.clone();
        async move { peer.lock().unwrap().sent.iter().any(|m| m.contains("入群欢迎语") && m.contains("粉丝1群") && m.contains("msgXXXXXXX1")) }
    })
    .await;

    // The operator changes the welcome: the same template is edited.
    let mut rulebook = app.get("/api/v1/rulebook").await["rulebook"].clone();
    rulebook["templates"]["default"]["welcome"]["text"] = json!("欢迎 {name}！你是第{member_no}位。有问题找群主。");
    let saved = app.client.put(format!("{}/api/v1/rulebook?author=alice&note=welcome", app.base)).json(&rulebook).send().await.unwrap();
    assert!(saved.status().is_success(), "{}", saved.text().await.unwrap());
    eventually("the template follows the rulebook", || {
        let peer = peer.clone();
        async move { peer.lock().unwrap().templates.len() >= 2 }
    })
    .await;
    let (call, body) = peer.lock().unwrap().templates[1].clone();
    assert_eq!(call, "edit");
    assert_eq!(body["template_id"], "msgXXXXXXX1");
    assert_eq!(body["text"]["content"], "欢迎 %NICKNAME%！有问题找群主。");

    // After a restart the kept template is recognised: nothing is added or edited again.
    let dir = app.stop().await;
    let app = App::start_in(&api, dir, |w| w.keep_welcome_template = true).await;
    eventually("the restarted app reconciled", || {
        let app = &app;
        async move { app.get("/healthz").await.to_string().contains("last_reconciled_at") }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(peer.lock().unwrap().templates.len(), 2, "{:?}", peer.lock().unwrap().templates);
    app.stop().await;
}
