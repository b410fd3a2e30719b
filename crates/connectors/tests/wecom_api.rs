//! The WeCom API client against a local peer that answers with the documented shapes
//! (`{"errcode": 0, "errmsg": "ok", …}`; 42001 for an expired token, 45009 for a rate limit),
//! and records every call: token refresh, rate-limit backoff, join ways, mass-send drafts and
//! group welcome templates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use qunzhu_connectors::secret::Secret;
use qunzhu_connectors::wecom::api::{Api, ApiError};
use serde_json::{Value, json};

#[derive(Default)]
struct Peer {
    tokens_issued: u32,
    /// Answer 42001 to calls made with this token.
    expired: Option<String>,
    /// Answer 42001 to every call.
    expire_all: bool,
    /// Answer 45009 to this many calls.
    rate_limited: u32,
    /// (path, token, body) of every call after `gettoken`.
    calls: Vec<(String, String, Value)>,
    templates: HashMap<String, String>,
}

type Shared = Arc<Mutex<Peer>>;

async fn gettoken(State(peer): State<Shared>, Query(query): Query<HashMap<String, String>>) -> Json<Value> {
    assert_eq!(query.get("corpid").map(String::as_str), Some("ww-test"));
    assert_eq!(query.get("corpsecret").map(String::as_str), Some("s3cret"));
    let mut peer = peer.lock().unwrap();
    peer.tokens_issued += 1;
    Json(json!({"errcode": 0, "errmsg": "ok", "access_token": format!("t{}", peer.tokens_issued), "expires_in": 7200}))
}

async fn api(
    State(peer): State<Shared>,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let mut peer = peer.lock().unwrap();
    let token = query.get("access_token").cloned().unwrap_or_default();
    peer.calls.push((path.clone(), token.clone(), body.clone()));
    if peer.expire_all || peer.expired.as_deref() == Some(token.as_str()) {
        return Json(json!({"errcode": 42001, "errmsg": "access_token expired"}));
    }
    if peer.rate_limited > 0 {
        peer.rate_limited -= 1;
        return Json(json!({"errcode": 45009, "errmsg": "api freq out of limit"}));
    }
    let ok = |extra: Value| {
        let mut answer = json!({"errcode": 0, "errmsg": "ok"});
        answer.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        Json(answer)
    };
    match path.as_str() {
        "externalcontact/groupchat/get" => ok(json!({"group_chat": {
            "chat_id": body["chat_id"], "name": "粉丝1群", "owner": "zhangsan",
            "member_list": [{"userid": "wm_1", "type": 2, "join_time": 1_700_000_000, "join_scene": 3, "state": "fans"}],
            "admin_list": []}})),
        "externalcontact/groupchat/add_join_way" => ok(json!({"config_id": "cfg-1"})),
        "externalcontact/groupchat/get_join_way" => ok(json!({"join_way": {
            "config_id": body["config_id"], "scene": 2, "state": "fans", "qr_code": "https://wework.qpic.cn/qr-cfg-1.png"}})),
        "externalcontact/add_msg_template" => ok(json!({"fail_list": [], "msgid": "msg-1"})),
        "externalcontact/group_welcome_template/add" => {
            let id = format!("tpl-{}", peer.templates.len() + 1);
            peer.templates.insert(id.clone(), body["text"]["content"].as_str().unwrap().to_owned());
            ok(json!({"template_id": id}))
        }
        "externalcontact/group_welcome_template/edit" => {
            let id = body["template_id"].as_str().unwrap().to_owned();
            let text = body["text"]["content"].as_str().unwrap().to_owned();
            match peer.templates.get_mut(&id) {
                Some(slot) => {
                    *slot = text;
                    ok(json!({}))
                }
                None => Json(json!({"errcode": 41063, "errmsg": "invalid template_id"})),
            }
        }
        "externalcontact/group_welcome_template/get" => {
            match peer.templates.get(body["template_id"].as_str().unwrap()) {
                Some(text) => ok(json!({"text": {"content": text}})),
                None => Json(json!({"errcode": 41063, "errmsg": "invalid template_id"})),
            }
        }
        "externalcontact/group_welcome_template/del" => {
            peer.templates.remove(body["template_id"].as_str().unwrap());
            ok(json!({}))
        }
        "message/send" => ok(json!({"invaliduser": ""})),
        other => Json(json!({"errcode": 404, "errmsg": format!("no such api: {other}")})),
    }
}

async fn start(peer: Peer) -> (Api, Shared) {
    let shared: Shared = Arc::new(Mutex::new(peer));
    let app = Router::new()
        .route("/cgi-bin/gettoken", get(gettoken))
        .route("/cgi-bin/{*path}", post(api))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let api = Api::new(&base, "ww-test", Secret::new("s3cret")).with_backoff(Duration::from_millis(20));
    (api, shared)
}

#[tokio::test]
async fn a_token_is_fetched_once_and_reused_across_calls() {
    let (api, peer) = start(Peer::default()).await;
    api.group_chat("wr1").await.unwrap();
    api.group_chat("wr2").await.unwrap();
    let peer = peer.lock().unwrap();
    assert_eq!(peer.tokens_issued, 1);
    assert!(peer.calls.iter().all(|(_, token, _)| token == "t1"), "{:?}", peer.calls);
}

#[tokio::test]
async fn an_expired_token_is_fetched_again_and_the_call_retried_once() {
    let (api, peer) = start(Peer { expired: Some("t1".into()), ..Peer::default() }).await;
    let chat = api.group_chat("wr1").await.unwrap();
    assert_eq!(chat.member_list[0].state, "fans");
    {
        let peer = peer.lock().unwrap();
        assert_eq!(peer.tokens_issued, 2, "one refresh after 42001");
        let tokens: Vec<&str> = peer.calls.iter().map(|(_, token, _)| token.as_str()).collect();
        assert_eq!(tokens, ["t1", "t2"]);
    }
    // A token WeCom keeps refusing is refreshed once per call, not in a loop.
    peer.lock().unwrap().expire_all = true;
    let error = api.group_chat("wr1").await.unwrap_err();
    assert!(matches!(error, ApiError::Refused { errcode: 42001, .. }), "{error:?}");
    assert_eq!(peer.lock().unwrap().tokens_issued, 3, "exactly one more refresh");
}

#[tokio::test]
async fn a_rate_limit_is_retried_after_a_backoff_and_reported_as_temporary_when_it_persists() {
    let (api, peer) = start(Peer { rate_limited: 2, ..Peer::default() }).await;
    let started = std::time::Instant::now();
    api.group_chat("wr1").await.unwrap();
    // Backoff 20 ms, then 40 ms.
    assert!(started.elapsed() >= Duration::from_millis(60), "{:?}", started.elapsed());
    assert_eq!(peer.lock().unwrap().calls.len(), 3);

    peer.lock().unwrap().rate_limited = 100;
    let error = api.group_chat("wr1").await.unwrap_err();
    assert_eq!(error, ApiError::RateLimited { errcode: 45009 });
    assert!(error.is_temporary());
    assert_eq!(peer.lock().unwrap().calls.len(), 6, "three tries, then reported");
}

#[tokio::test]
async fn a_join_way_carries_the_channel_code_as_state_and_comes_back_with_its_qr_code() {
    let (api, peer) = start(Peer::default()).await;
    let way = api.add_join_way(&["wr1".into(), "wr2".into()], "fans", "粉丝渠道").await.unwrap();
    assert_eq!(way.config_id, "cfg-1");
    assert_eq!(way.qr_code.as_deref(), Some("https://wework.qpic.cn/qr-cfg-1.png"));
    let peer = peer.lock().unwrap();
    let (path, _, body) = &peer.calls[0];
    assert_eq!(path, "externalcontact/groupchat/add_join_way");
    assert_eq!(body["state"], "fans");
    assert_eq!(body["scene"], 2);
    assert_eq!(body["chat_id_list"], json!(["wr1", "wr2"]));
    assert_eq!(peer.calls[1].0, "externalcontact/groupchat/get_join_way");
    assert_eq!(peer.calls[1].2["config_id"], "cfg-1");
}

#[tokio::test]
async fn mass_send_drafts_app_messages_and_welcome_templates_take_the_documented_shapes() {
    let (api, peer) = start(Peer::default()).await;
    let msgid = api.add_group_msg_template("zhangsan", &["wr1".into()], "今晚八点直播").await.unwrap();
    assert_eq!(msgid, "msg-1");
    api.send_app_text(1_000_002, &["zhangsan".into(), "lisi".into()], "有新的待办").await.unwrap();

    let id = api.add_welcome_template(1_000_002, "欢迎加入！").await.unwrap();
    assert_eq!(api.get_welcome_template(&id).await.unwrap(), "欢迎加入！");
    api.edit_welcome_template(1_000_002, &id, "欢迎新朋友！").await.unwrap();
    assert_eq!(api.get_welcome_template(&id).await.unwrap(), "欢迎新朋友！");
    api.delete_welcome_template(1_000_002, &id).await.unwrap();
    let gone = api.get_welcome_template(&id).await.unwrap_err();
    assert!(matches!(gone, ApiError::Refused { errcode: 41063, .. }), "{gone:?}");
    assert!(!gone.is_temporary());

    let peer = peer.lock().unwrap();
    let draft = &peer.calls[0].2;
    assert_eq!(draft["chat_type"], "group");
    assert_eq!(draft["sender"], "zhangsan");
    assert_eq!(draft["chat_id_list"], json!(["wr1"]));
    assert_eq!(draft["text"]["content"], "今晚八点直播");
    let message = &peer.calls[1].2;
    assert_eq!(message["touser"], "zhangsan|lisi");
    assert_eq!(message["msgtype"], "text");
    assert_eq!(message["agentid"], 1_000_002);
}
