//! The WeCom server API: an access token fetched with the app's secret, cached until shortly
//! before it expires and fetched again when WeCom calls it expired or invalid (the call is
//! retried once); rate-limit answers are retried after a short backoff, then reported so the
//! caller can come back later.
//!
//! Every answer is `{"errcode": 0, "errmsg": "ok", …}`; `errcode != 0` is an error.

use std::time::{Duration, Instant};

use reqwest_tls as reqwest;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thiserror::Error;
use tokio::sync::Mutex;

use crate::secret::Secret;

/// Tokens WeCom no longer takes: 40001 invalid credential, 40014 invalid token, 42001 expired.
const TOKEN_ERRORS: [i64; 3] = [40001, 40014, 42001];
/// Frequency limits and "system busy": worth another try later.
const RATE_ERRORS: [i64; 5] = [-1, 45009, 45011, 45033, 45035];
/// Retries of a rate-limited call inside one request, before giving up for now.
const RATE_RETRIES: u32 = 2;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ApiError {
    /// No answer (network, timeout, HTTP 5xx).
    #[error("WeCom is unreachable: {0}")]
    Unreachable(String),
    /// WeCom asks us to slow down.
    #[error("WeCom rate limit (errcode {errcode}); try again later")]
    RateLimited { errcode: i64 },
    /// WeCom refused the call.
    #[error("WeCom refused {path}: errcode {errcode}, {errmsg}")]
    Refused { path: String, errcode: i64, errmsg: String },
}

impl ApiError {
    /// Network trouble and rate limits pass; a refusal will not.
    pub fn is_temporary(&self) -> bool {
        !matches!(self, Self::Refused { .. })
    }
}

/// One customer group as `groupchat/get` returns it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct GroupChat {
    pub chat_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub member_list: Vec<ChatMember>,
    #[serde(default)]
    pub admin_list: Vec<UserRef>,
}

/// One member of a customer group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ChatMember {
    pub userid: String,
    /// 1 a staff member (企业成员), 2 an external contact.
    #[serde(default, rename = "type")]
    pub kind: i64,
    #[serde(default)]
    pub join_time: i64,
    /// 1 direct invitation, 2 invitation link, 3 the group's QR code.
    #[serde(default)]
    pub join_scene: i64,
    #[serde(default)]
    pub invitor: Option<UserRef>,
    #[serde(default)]
    pub group_nickname: String,
    #[serde(default)]
    pub name: String,
    /// The `state` of the join way (渠道活码) the member came through.
    #[serde(default)]
    pub state: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct UserRef {
    #[serde(default)]
    pub userid: String,
}

/// A join way (加入群聊) made by `add_join_way`: its id and QR code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JoinWay {
    pub config_id: String,
    pub qr_code: Option<String>,
}

/// The API client of one self-built app.
pub struct Api {
    http: reqwest::Client,
    base: String,
    corp_id: String,
    secret: Secret,
    token: Mutex<Option<(String, Instant)>>,
    backoff: Duration,
}

impl Api {
    pub fn new(base: &str, corp_id: &str, secret: Secret) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_else(|_| reqwest::Client::new()),
            base: base.trim_end_matches('/').to_owned(),
            corp_id: corp_id.to_owned(),
            secret,
            token: Mutex::new(None),
            backoff: Duration::from_secs(1),
        }
    }

    /// The pause before retrying a rate-limited call (doubled each time).
    #[must_use]
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    async fn send(&self, path: &str, query: &[(&str, &str)], body: Option<&Value>) -> Result<Value, ApiError> {
        let url = format!("{}{path}", self.base);
        let request = match body {
            Some(body) => self.http.post(&url).query(query).json(body),
            None => self.http.get(&url).query(query),
        };
        let response = request.send().await.map_err(|e| ApiError::Unreachable(e.without_url().to_string()))?;
        if response.status().is_server_error() {
            return Err(ApiError::Unreachable(format!("HTTP {}", response.status().as_u16())));
        }
        let value: Value = response.json().await.map_err(|e| ApiError::Unreachable(format!("the answer is not JSON: {e}")))?;
        let errcode = value.get("errcode").and_then(Value::as_i64).unwrap_or(0);
        if errcode == 0 {
            return Ok(value);
        }
        if RATE_ERRORS.contains(&errcode) {
            return Err(ApiError::RateLimited { errcode });
        }
        let errmsg = value.get("errmsg").and_then(Value::as_str).unwrap_or("").to_owned();
        Err(ApiError::Refused { path: path.to_owned(), errcode, errmsg })
    }

    async fn access_token(&self, refresh: bool) -> Result<String, ApiError> {
        let mut cached = self.token.lock().await;
        if !refresh && let Some((token, until)) = &*cached && Instant::now() < *until {
            return Ok(token.clone());
        }
        let answer = self
            .send("/cgi-bin/gettoken", &[("corpid", &self.corp_id), ("corpsecret", self.secret.expose())], None)
            .await?;
        let token = answer.get("access_token").and_then(Value::as_str).unwrap_or_default().to_owned();
        let expires = answer.get("expires_in").and_then(Value::as_u64).unwrap_or(7200);
        // Refresh five minutes early (or halfway, for short lifetimes).
        let margin = (expires / 2).min(300);
        *cached = Some((token.clone(), Instant::now() + Duration::from_secs(expires - margin)));
        Ok(token)
    }

    /// One authenticated call: POST with a JSON body, or GET without.
    ///
    /// # Errors
    /// [`ApiError`]; an expired token is refreshed and the call retried once, a rate limit
    /// is retried after a backoff before it is reported.
    pub async fn call(&self, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        let mut refreshed = false;
        let mut rate_tries = 0;
        loop {
            let token = self.access_token(false).await?;
            match self.send(path, &[("access_token", &token)], body).await {
                Err(ApiError::Refused { errcode, .. }) if TOKEN_ERRORS.contains(&errcode) && !refreshed => {
                    refreshed = true;
                    self.access_token(true).await?;
                }
                Err(ApiError::RateLimited { .. }) if rate_tries < RATE_RETRIES => {
                    tokio::time::sleep(self.backoff * 2u32.pow(rate_tries)).await;
                    rate_tries += 1;
                }
                other => return other,
            }
        }
    }

    /// Every customer group's id (`groupchat/list`, all pages).
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn group_chat_ids(&self) -> Result<Vec<String>, ApiError> {
        let mut ids = Vec::new();
        let mut cursor = String::new();
        loop {
            let body = json!({"status_filter": 0, "limit": 1000, "cursor": cursor});
            let answer = self.call("/cgi-bin/externalcontact/groupchat/list", Some(&body)).await?;
            for chat in answer.get("group_chat_list").and_then(Value::as_array).into_iter().flatten() {
                if let Some(id) = chat.get("chat_id").and_then(Value::as_str) {
                    ids.push(id.to_owned());
                }
            }
            cursor = answer.get("next_cursor").and_then(Value::as_str).unwrap_or_default().to_owned();
            if cursor.is_empty() {
                return Ok(ids);
            }
        }
    }

    /// One customer group with its members (`groupchat/get`, with names).
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn group_chat(&self, chat_id: &str) -> Result<GroupChat, ApiError> {
        let body = json!({"chat_id": chat_id, "need_name": 1});
        let answer = self.call("/cgi-bin/externalcontact/groupchat/get", Some(&body)).await?;
        serde_json::from_value(answer.get("group_chat").cloned().unwrap_or(Value::Null)).map_err(|e| ApiError::Refused {
            path: "groupchat/get".into(),
            errcode: 0,
            errmsg: format!("unexpected answer: {e}"),
        })
    }

    /// A join way (渠道活码) for customer groups whose joins carry `state` (the channel's
    /// invite code), with its QR code.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn add_join_way(&self, chat_ids: &[String], state: &str, remark: &str) -> Result<JoinWay, ApiError> {
        let body = json!({"scene": 2, "remark": remark, "auto_create_room": 0, "chat_id_list": chat_ids, "state": state});
        let answer = self.call("/cgi-bin/externalcontact/groupchat/add_join_way", Some(&body)).await?;
        let config_id = answer.get("config_id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let got = self.call("/cgi-bin/externalcontact/groupchat/get_join_way", Some(&json!({"config_id": config_id}))).await?;
        let qr_code = got.pointer("/join_way/qr_code").and_then(Value::as_str).map(str::to_owned);
        Ok(JoinWay { config_id, qr_code })
    }

    /// An app message (text) to staff members.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn send_app_text(&self, agent_id: i64, userids: &[String], text: &str) -> Result<(), ApiError> {
        let body = json!({"touser": userids.join("|"), "msgtype": "text", "agentid": agent_id, "text": {"content": text}});
        self.call("/cgi-bin/message/send", Some(&body)).await.map(|_| ())
    }

    /// A group mass-send draft (`add_msg_template`, `chat_type: group`) that `sender`
    /// confirms in the WeCom client. Returns its msgid.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn add_group_msg_template(&self, sender: &str, chat_ids: &[String], text: &str) -> Result<String, ApiError> {
        let body = json!({"chat_type": "group", "sender": sender, "chat_id_list": chat_ids, "text": {"content": text}});
        let answer = self.call("/cgi-bin/externalcontact/add_msg_template", Some(&body)).await?;
        Ok(answer.get("msgid").and_then(Value::as_str).unwrap_or_default().to_owned())
    }

    /// Adds a group welcome template (入群欢迎语素材); returns its id.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn add_welcome_template(&self, agent_id: i64, text: &str) -> Result<String, ApiError> {
        let body = json!({"text": {"content": text}, "agentid": agent_id, "notify": 1});
        let answer = self.call("/cgi-bin/externalcontact/group_welcome_template/add", Some(&body)).await?;
        Ok(answer.get("template_id").and_then(Value::as_str).unwrap_or_default().to_owned())
    }

    /// Changes a group welcome template's text.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn edit_welcome_template(&self, agent_id: i64, template_id: &str, text: &str) -> Result<(), ApiError> {
        let body = json!({"template_id": template_id, "text": {"content": text}, "agentid": agent_id});
        self.call("/cgi-bin/externalcontact/group_welcome_template/edit", Some(&body)).await.map(|_| ())
    }

    /// A group welcome template's text.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn get_welcome_template(&self, template_id: &str) -> Result<String, ApiError> {
        let answer = self
            .call("/cgi-bin/externalcontact/group_welcome_template/get", Some(&json!({"template_id": template_id})))
            .await?;
        Ok(answer.pointer("/text/content").and_then(Value::as_str).unwrap_or_default().to_owned())
    }

    /// Deletes a group welcome template.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn delete_welcome_template(&self, agent_id: i64, template_id: &str) -> Result<(), ApiError> {
        let body = json!({"template_id": template_id, "agentid": agent_id});
        self.call("/cgi-bin/externalcontact/group_welcome_template/del", Some(&body)).await.map(|_| ())
    }
}
