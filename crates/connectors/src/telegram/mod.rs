//! Telegram, through the Bot API (teloxide-core over rustls).
//!
//! - `config` — [`TelegramConfig`], the `[[connectors]] type = "telegram"` entry.
//! - [`update`] — updates → [`Event`]s (messages, `chat_member`, `chat_join_request`).
//! - [`send`] — segments → message text and entities (real mentions).
//! - `throttle` — Telegram's send limits, and the pause a 429 asks for.
//!
//! **Receiving.** In `polling` mode the connector long-polls `getUpdates` (after a
//! `deleteWebhook`, since Telegram refuses both at once), asking for `message`,
//! `chat_member` and `chat_join_request` (Telegram leaves `chat_member` out unless asked).
//! Each batch is handed to the engine in order, then the next offset is written to
//! `<data_dir>/telegram/<id>.offset`; the next `getUpdates` with that offset is what
//! confirms the batch to Telegram. A crash before the file is written redelivers the batch,
//! and the inbox drops what it has already taken (event ids are `u<update_id>`), so a
//! restart neither loses nor doubles an update. In `webhook` mode Telegram POSTs each update
//! to `/telegram/<id>/webhook` on qunzhu's listener; a POST without the configured
//! `X-Telegram-Bot-Api-Secret-Token` is refused with 401 and nothing is processed. At start
//! the connector registers the webhook (`setWebhook` with the secret) when it knows
//! qunzhu's public URL.
//!
//! **Roles.** Messages carry no role: the chat's administrators (`getChatAdministrators`)
//! are looked up and kept for ten minutes, so staff are exempt from moderation.
//!
//! **Sending.** Every call that posts a message waits for the chat's 1 message/s, the
//! group's 20/min and the bot's 30/s (governor); a 429's `retry_after` holds back that
//! chat's sends until it has passed (the outbox retries the action then). Kicks are a ban
//! followed by an unban (`only_if_banned`); mutes restrict every permission until
//! `until_date` (at least 30 s: Telegram takes shorter as forever), unmutes grant them back.
//! Join requests are answered by the requester's user id. A direct message reaches only a
//! member who has started the bot; otherwise Telegram refuses and the action fails with that
//! reason in the audit log. Staff notifications go to `staff_chat_id`.
//!
//! **Invite links.** [`TelegramConnector::create_invite_link`] makes a link named after a
//! channel's code (`createChatInviteLink`, optionally `creates_join_request`); joins through
//! it carry the name, which becomes the join's `invite_code` and so its channel.

mod config;
pub mod send;
mod throttle;
pub mod update;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, Utc};
use qunzhu_core::{
    Action, ActionKind, BoxFuture, Capabilities, Connector, ConnectorId, Delivery, DeliveryError, Event, EventKind,
    MemberId, Role,
};
use serde::Serialize;
use serde_json::Value;
use teloxide_core::prelude::*;
use teloxide_core::types::{
    AllowedUpdate, ChatPermissions, MessageId, ReplyParameters, Update,
};
use teloxide_core::{ApiError, RequestError};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

pub use config::{TelegramConfig, TelegramMode, DEFAULT_API_URL};

use crate::HealthReport;
use throttle::Throttle;

/// The updates qunzhu asks for.
const ALLOWED: [AllowedUpdate; 3] = [AllowedUpdate::Message, AllowedUpdate::ChatMember, AllowedUpdate::ChatJoinRequest];
/// How long a chat's administrator list is trusted.
const ADMINS_TTL: Duration = Duration::from_secs(600);
/// The longest restriction Telegram keeps as timed (longer is forever).
const MAX_MUTE_SECS: u64 = 366 * 24 * 3600;
/// How soon a chat whose administrators could not be read is asked again.
const ADMINS_RETRY: Duration = Duration::from_secs(60);
/// The secret header of webhook POSTs.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// A Telegram bot, as seen by `/healthz`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Health {
    pub connected: bool,
    pub mode: String,
    /// Updates received since qunzhu started.
    pub updates: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A chat's administrators' roles by user id, and when they were read.
type Admins = (Instant, HashMap<u64, Role>);

/// The configured connector.
pub struct TelegramConnector {
    config: TelegramConfig,
    id: ConnectorId,
    capabilities: Capabilities,
    bot: Bot,
    events: mpsc::Sender<Event>,
    health: Mutex<Health>,
    closing: watch::Sender<bool>,
    /// Where the next `getUpdates` offset is kept across restarts.
    state_file: Option<PathBuf>,
    /// `<public_url>/telegram/<id>/webhook`, registered at start in webhook mode.
    webhook_url: Option<String>,
    throttle: Throttle,
    /// Administrators per chat, with when they were read.
    admins: Mutex<HashMap<i64, Admins>>,
    /// Names seen, for mentions that carry none.
    names: Mutex<HashMap<String, String>>,
    /// Serialises webhook POSTs, so updates reach the engine in the order they arrive.
    webhook_order: tokio::sync::Mutex<()>,
}

/// A poisoned lock only means another task panicked mid-update; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How [`delivery_error`] words Telegram's refusal to open a private chat.
const NOT_STARTED: &str = "has not started the bot";

/// What a failed Bot API call means for the outbox.
fn delivery_error(what: &str, error: RequestError) -> DeliveryError {
    match error {
        RequestError::RetryAfter(secs) => DeliveryError::Temporary {
            message: format!("{what}: Telegram asks to wait {} s (429)", secs.seconds()),
            retry_after_secs: Some(u64::from(secs.seconds())),
        },
        RequestError::Network(_) | RequestError::Io(_) | RequestError::InvalidJson { .. } => {
            DeliveryError::Temporary { message: format!("{what}: {error}"), retry_after_secs: None }
        }
        RequestError::Api(ApiError::CantInitiateConversation | ApiError::BotBlocked) => DeliveryError::Permanent(format!(
            "{what}: the member {NOT_STARTED} (or blocked it), so Telegram refuses a direct message"
        )),
        // Telegram words these refusals in more ways than teloxide knows.
        RequestError::Api(ApiError::Unknown(text)) if text.contains("initiate conversation") || text.contains("blocked by the user") => {
            DeliveryError::Permanent(format!(
                "{what}: the member {NOT_STARTED} (or blocked it), so Telegram refuses a direct message ({text})"
            ))
        }
        RequestError::Api(_) | RequestError::MigrateToChatId(_) => DeliveryError::Permanent(format!("{what}: {error}")),
    }
}

/// The staff task for a direct message Telegram refused (the member never started the bot).
fn direct_message_by_hand(member: &str, name: Option<&str>, segments: &[qunzhu_core::Segment], reason: String) -> DeliveryError {
    let who = name.map_or_else(|| member.to_owned(), |n| format!("{n}（{member}）"));
    let text = qunzhu_core::Message { id: "".into(), segments: segments.to_vec() }.plain_text();
    DeliveryError::NeedsStaff {
        reason,
        title: format!("私聊 {who}（对方未启动机器人）"),
        step: format!(
            "在 Telegram 中用你自己的账号私聊 {who}（打开 tg://user?id={member}），发送：\n{text}\n\
             原因：对方从未启动过机器人（或已屏蔽），Telegram 不允许机器人先发起私聊；也可请对方先私聊机器人并发送 /start。"
        ),
    }
}

fn chat_of(group: &str) -> Result<ChatId, DeliveryError> {
    group
        .parse::<i64>()
        .map(ChatId)
        .map_err(|_| DeliveryError::Permanent(format!("`{group}` is not a Telegram chat id")))
}

fn user_of(member: &MemberId) -> Result<UserId, DeliveryError> {
    member
        .as_str()
        .parse::<u64>()
        .map(UserId)
        .map_err(|_| DeliveryError::Permanent(format!("`{member}` is not a Telegram user id")))
}

fn message_of(id: &str) -> Result<MessageId, DeliveryError> {
    id.parse::<i32>()
        .map(MessageId)
        .map_err(|_| DeliveryError::Permanent(format!("`{id}` is not a Telegram message id")))
}

/// Reads the stored offset (none when missing or unreadable).
async fn read_offset(path: &Path) -> Option<i32> {
    match tokio::fs::read_to_string(path).await {
        Ok(text) => text.trim().parse().ok(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => {
            warn!(path = %path.display(), %error, "could not read the stored Telegram offset; Telegram's own confirmation is used");
            None
        }
    }
}

/// Stores the offset atomically (a temp file renamed over the old one).
async fn write_offset(path: &Path, offset: i32) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let temp = path.with_extension("offset.tmp");
    tokio::fs::write(&temp, offset.to_string().as_bytes()).await?;
    tokio::fs::rename(&temp, path).await
}

impl TelegramConnector {
    /// `events` receives every group update in the order Telegram sent them.
    pub fn new(config: TelegramConfig, events: mpsc::Sender<Event>) -> Arc<Self> {
        Self::build(config, events, None, None)
    }

    /// Like [`new`](Self::new), keeping the polling offset in `state_file` and registering
    /// `webhook_url` in webhook mode (see the module docs).
    pub fn build(
        config: TelegramConfig,
        events: mpsc::Sender<Event>,
        state_file: Option<PathBuf>,
        webhook_url: Option<String>,
    ) -> Arc<Self> {
        // Long polls outlast reqwest's usual timeout: give them theirs plus a margin.
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(u64::from(config.poll_timeout_secs) + 15))
            .build()
            .unwrap_or_default();
        let mut bot = Bot::with_client(config.token.expose(), client);
        match reqwest::Url::parse(config.api_url.trim()) {
            Ok(url) => bot = bot.set_api_url(url),
            Err(error) => warn!(connector = %config.id, %error, "api_url is not a URL; using {DEFAULT_API_URL}"),
        }
        let health = Health {
            mode: match config.mode {
                TelegramMode::Polling => "polling".into(),
                TelegramMode::Webhook => "webhook".into(),
            },
            ..Health::default()
        };
        Arc::new(Self {
            id: config.connector_id(),
            capabilities: config.capabilities(),
            config,
            bot,
            events,
            health: Mutex::new(health),
            closing: watch::channel(false).0,
            state_file,
            webhook_url,
            throttle: Throttle::new(),
            admins: Mutex::new(HashMap::new()),
            names: Mutex::new(HashMap::new()),
            webhook_order: tokio::sync::Mutex::new(()),
        })
    }

    /// The file under `data_dir` that keeps connector `id`'s polling offset.
    pub fn state_file_in(data_dir: &Path, id: &str) -> PathBuf {
        data_dir.join("telegram").join(format!("{id}.offset"))
    }

    pub fn config(&self) -> &TelegramConfig {
        &self.config
    }

    pub fn health(&self) -> Health {
        lock(&self.health).clone()
    }

    /// Stops polling (shutdown).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    fn healthy(&self) {
        let mut health = lock(&self.health);
        if !health.connected {
            info!(connector = %self.id, "Telegram connected");
        }
        health.connected = true;
        health.last_error = None;
    }

    fn unhealthy(&self, reason: String) {
        let mut health = lock(&self.health);
        if health.connected || health.last_error.as_deref() != Some(&reason) {
            warn!(connector = %self.id, %reason, "Telegram not reachable");
        }
        health.connected = false;
        health.last_error = Some(reason);
    }

    /// Receives updates until [`close`](Self::close): polls in polling mode; in webhook mode
    /// registers the webhook (when the public URL is known) and waits. Never gives up: an
    /// unreachable Bot API is retried with backoff and reported unhealthy.
    pub async fn run(&self) {
        let max = Duration::from_secs(self.config.reconnect_max_secs.max(1));
        let mut delay = Duration::from_secs(1);
        let mut closing = self.closing.subscribe();
        let mut offset = match &self.state_file {
            Some(path) => read_offset(path).await,
            None => None,
        };
        let mut prepared = false;
        loop {
            if *closing.borrow_and_update() {
                return;
            }
            let outcome = if prepared {
                match self.config.mode {
                    TelegramMode::Polling => tokio::select! {
                        outcome = self.poll(&mut offset) => outcome,
                        _ = closing.changed() => continue,
                    },
                    TelegramMode::Webhook => {
                        let _ = closing.changed().await;
                        continue;
                    }
                }
            } else {
                tokio::select! {
                    outcome = self.prepare() => outcome.map(|()| prepared = true),
                    _ = closing.changed() => continue,
                }
            };
            let wait = match outcome {
                Ok(()) => {
                    delay = Duration::from_secs(1);
                    continue;
                }
                Err(RequestError::RetryAfter(secs)) => secs.duration(),
                Err(error) => {
                    self.unhealthy(error.to_string());
                    let wait = delay;
                    delay = (delay * 2).min(max);
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = closing.changed() => {}
            }
        }
    }

    /// Polling needs no webhook; webhook mode registers it with the secret.
    async fn prepare(&self) -> Result<(), RequestError> {
        match self.config.mode {
            TelegramMode::Polling => {
                self.bot.delete_webhook().send().await?;
            }
            TelegramMode::Webhook => {
                let Some(url) = &self.webhook_url else {
                    info!(connector = %self.id, "webhook mode without a public_url: register the webhook yourself (see the README)");
                    return Ok(());
                };
                let url = reqwest::Url::parse(url).map_err(|e| {
                    RequestError::Api(ApiError::Unknown(format!("the webhook URL {url} is not a URL: {e}")))
                })?;
                let mut request = self.bot.set_webhook(url).allowed_updates(ALLOWED);
                if let Some(secret) = &self.config.webhook_secret {
                    request = request.secret_token(secret.expose().to_owned());
                }
                request.send().await?;
                info!(connector = %self.id, "Telegram webhook registered");
            }
        }
        self.healthy();
        Ok(())
    }

    /// One `getUpdates`: forwards the batch, then stores the offset that confirms it.
    async fn poll(&self, offset: &mut Option<i32>) -> Result<(), RequestError> {
        let mut request = self
            .bot
            .get_updates()
            .timeout(self.config.poll_timeout_secs)
            .allowed_updates(ALLOWED);
        if let Some(offset) = *offset {
            request = request.offset(offset);
        }
        let updates = request.send().await?;
        self.healthy();
        let Some(last) = updates.iter().map(|u| u.id.0).max() else { return Ok(()) };
        for update in &updates {
            self.forward(update).await;
        }
        let next = i32::try_from(last).unwrap_or(i32::MAX).saturating_add(1);
        *offset = Some(next);
        if let Some(path) = &self.state_file
            && let Err(error) = write_offset(path, next).await
        {
            warn!(connector = %self.id, path = %path.display(), %error, "could not store the Telegram offset; a restart gets the last batch again (deduplicated)");
        }
        Ok(())
    }

    /// Hands one update to the engine (when it means something in a group).
    pub async fn forward(&self, update: &Update) {
        lock(&self.health).updates += 1;
        let Some(mut event) = update::decode(&self.id, update) else {
            debug!(connector = %self.id, update = update.id.0, "Telegram update skipped");
            return;
        };
        if let EventKind::MessagePosted { author, .. } = &mut event.kind
            && let Ok(chat) = event.origin.group.as_str().parse::<i64>()
            && let Ok(user) = author.id.as_str().parse::<u64>()
        {
            author.role = self.role_of(chat, user).await;
        }
        if let Some(actor) = event.actor()
            && let Some(name) = &actor.name
        {
            lock(&self.names).insert(actor.id.to_string(), name.clone());
        }
        lock(&self.health).last_event_at = Some(Utc::now());
        debug!(connector = %self.id, event = %event.origin.event_id, kind = event.kind.name(), "Telegram event");
        if self.events.send(event).await.is_err() {
            warn!(connector = %self.id, "the engine no longer takes events; event dropped");
        }
    }

    /// A member's role from the chat's administrators (read at most every ten minutes;
    /// a member when they cannot be read).
    async fn role_of(&self, chat: i64, user: u64) -> Role {
        let cached = lock(&self.admins)
            .get(&chat)
            .filter(|(at, _)| at.elapsed() < ADMINS_TTL)
            .map(|(_, roles)| roles.get(&user).copied().unwrap_or(Role::Member));
        if let Some(role) = cached {
            return role;
        }
        match self.bot.get_chat_administrators(ChatId(chat)).send().await {
            Ok(admins) => {
                let roles: HashMap<u64, Role> = admins
                    .iter()
                    .map(|a| (a.user.id.0, if a.kind.is_owner() { Role::Owner } else { Role::Admin }))
                    .collect();
                let role = roles.get(&user).copied().unwrap_or(Role::Member);
                lock(&self.admins).insert(chat, (Instant::now(), roles));
                role
            }
            Err(error) => {
                // Asked again in a minute, not at every message while Telegram refuses.
                debug!(connector = %self.id, chat, %error, "could not read the chat's administrators");
                let retry_at = Instant::now().checked_sub(ADMINS_TTL - ADMINS_RETRY).unwrap_or_else(Instant::now);
                lock(&self.admins).insert(chat, (retry_at, HashMap::new()));
                Role::Member
            }
        }
    }

    /// The webhook route, `POST /telegram/<id>/webhook`.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new().route(&self.config.webhook_path(), post(webhook)).with_state(self.clone())
    }

    /// Makes an invite link for `group` named `name` (a channel's code), so joins through
    /// it are attributed; with `creates_join_request`, joining asks first.
    ///
    /// # Errors
    /// When Telegram refuses (the bot lacks the "invite users" right) or is unreachable.
    pub async fn create_invite_link(
        &self,
        group: &str,
        name: &str,
        creates_join_request: bool,
    ) -> Result<String, DeliveryError> {
        let mut request = self.bot.create_chat_invite_link(chat_of(group)?).name(name.to_owned());
        if creates_join_request {
            request = request.creates_join_request(true);
        }
        let link = request.send().await.map_err(|e| delivery_error("createChatInviteLink failed", e))?;
        Ok(link.invite_link)
    }

    async fn send_to(&self, chat: ChatId, group_limit: bool, segments: &[qunzhu_core::Segment], reply_to: Option<&str>) -> Result<(), DeliveryError> {
        let names = lock(&self.names).clone();
        let out = send::outgoing(segments, &|m| names.get(m.as_str()).cloned());
        if out.text.trim().is_empty() {
            return Err(DeliveryError::Permanent("nothing to send: the message has no text Telegram can show".into()));
        }
        self.throttle.wait(chat.0, group_limit).await.map_err(|secs| DeliveryError::Temporary {
            message: format!("Telegram asked to wait before sending to {chat} again"),
            retry_after_secs: Some(secs),
        })?;
        let mut request = self.bot.send_message(chat, out.text);
        if !out.entities.is_empty() {
            request = request.entities(out.entities);
        }
        let reply = match reply_to {
            Some(id) => Some(message_of(id)?),
            None => out.reply_to.map(MessageId),
        };
        if let Some(reply) = reply {
            request = request.reply_parameters(ReplyParameters { allow_sending_without_reply: Some(true), ..ReplyParameters::new(reply) });
        }
        match request.send().await {
            Err(RequestError::RetryAfter(secs)) => {
                self.throttle.hold(chat.0, secs.duration());
                Err(delivery_error("sendMessage failed", RequestError::RetryAfter(secs)))
            }
            other => other.map(|_| ()).map_err(|e| delivery_error("sendMessage failed", e)),
        }
    }

    async fn execute(&self, action: &Action) -> Result<(), DeliveryError> {
        let chat = chat_of(action.group.group.as_str())?;
        let call = |what: &'static str| move |e: RequestError| delivery_error(what, e);
        match &action.kind {
            ActionKind::Send { segments } => self.send_to(chat, true, segments, None).await,
            ActionKind::Reply { to, segments } => self.send_to(chat, true, segments, Some(to.as_str())).await,
            ActionKind::DirectMessage { member, segments } => {
                let user = user_of(member)?;
                self.send_to(ChatId(i64::try_from(user.0).unwrap_or(i64::MAX)), false, segments, None).await.map_err(|error| match error {
                    // A bot may not write first: a person can (from their own account).
                    DeliveryError::Permanent(reason) if reason.contains(NOT_STARTED) => {
                        let name = lock(&self.names).get(member.as_str()).cloned();
                        direct_message_by_hand(member.as_str(), name.as_deref(), segments, reason)
                    }
                    other => other,
                })
            }
            ActionKind::NotifyStaff { text } => {
                let staff = self
                    .config
                    .staff_chat_id
                    .ok_or_else(|| DeliveryError::Permanent("no staff_chat_id is configured".into()))?;
                let group = action.group.group.as_str();
                let segments = [qunzhu_core::Segment::text(format!("[{group}] {text}"))];
                self.send_to(ChatId(staff), staff < 0, &segments, None).await
            }
            ActionKind::Delete { message_id } => {
                self.bot.delete_message(chat, message_of(message_id.as_str())?).send().await.map_err(call("deleteMessage failed"))?;
                Ok(())
            }
            ActionKind::Mute { member, duration_secs } => {
                let mut request = self
                    .bot
                    .restrict_chat_member(chat, user_of(member)?, ChatPermissions::empty())
                    .use_independent_chat_permissions(true);
                // 0 is "until lifted" (no until_date); Telegram takes under 30 s as forever, so
                // a short mute lasts 30 s, and the planner clamps to 366 days.
                if *duration_secs > 0 {
                    let secs = i64::try_from((*duration_secs).clamp(30, MAX_MUTE_SECS)).unwrap_or(30);
                    request = request.until_date(Utc::now() + chrono::Duration::seconds(secs));
                }
                request.send().await.map_err(call("restrictChatMember failed"))?;
                Ok(())
            }
            ActionKind::Unmute { member } => {
                self.bot
                    .restrict_chat_member(chat, user_of(member)?, ChatPermissions::all())
                    .send()
                    .await
                    .map_err(call("restrictChatMember failed"))?;
                Ok(())
            }
            ActionKind::Ban { member } => {
                self.bot.ban_chat_member(chat, user_of(member)?).send().await.map_err(call("banChatMember failed"))?;
                Ok(())
            }
            ActionKind::Unban { member } => {
                self.bot
                    .unban_chat_member(chat, user_of(member)?)
                    .only_if_banned(true)
                    .send()
                    .await
                    .map_err(call("unbanChatMember failed"))?;
                Ok(())
            }
            ActionKind::Kick { member } => {
                let user = user_of(member)?;
                self.bot.ban_chat_member(chat, user).send().await.map_err(call("banChatMember failed"))?;
                self.bot.unban_chat_member(chat, user).only_if_banned(true).send().await.map_err(call("unbanChatMember failed"))?;
                Ok(())
            }
            ActionKind::ApproveJoin { request_id, member } => {
                let user = request_id.parse::<u64>().map(UserId).or_else(|_| user_of(member))?;
                self.bot.approve_chat_join_request(chat, user).send().await.map_err(call("approveChatJoinRequest failed"))?;
                Ok(())
            }
            ActionKind::RejectJoin { request_id, member, .. } => {
                let user = request_id.parse::<u64>().map(UserId).or_else(|_| user_of(member))?;
                self.bot.decline_chat_join_request(chat, user).send().await.map_err(call("declineChatJoinRequest failed"))?;
                Ok(())
            }
            other => Err(DeliveryError::Permanent(format!("Telegram cannot {}", other.name()))),
        }
    }
}

/// `POST /telegram/<id>/webhook`: checks the secret, hands the update to the engine. A body
/// that is not an update is answered 200 (and logged), or Telegram would resend it forever.
async fn webhook(State(connector): State<Arc<TelegramConnector>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let given = headers.get(SECRET_HEADER).and_then(|v| v.to_str().ok());
    let allowed = match (&connector.config.webhook_secret, given) {
        (Some(secret), Some(given)) => secret.matches(given),
        (None, _) => connector.config.mode == TelegramMode::Webhook,
        _ => false,
    };
    if !allowed || connector.config.mode != TelegramMode::Webhook {
        warn!(connector = %connector.id, "webhook POST without the right secret token; refused");
        return StatusCode::UNAUTHORIZED;
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(error) => {
            warn!(connector = %connector.id, %error, "webhook body is not a Telegram update; ignored");
            return StatusCode::OK;
        }
    };
    let _order = connector.webhook_order.lock().await;
    connector.healthy();
    connector.forward(&update).await;
    StatusCode::OK
}

impl HealthReport for TelegramConnector {
    fn health(&self) -> Value {
        serde_json::to_value(TelegramConnector::health(self)).unwrap_or(Value::Null)
    }
}

impl Connector for TelegramConnector {
    fn id(&self) -> &ConnectorId {
        &self.id
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn deliver<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, Result<Delivery, DeliveryError>> {
        Box::pin(async move {
            self.execute(action).await?;
            Ok(Delivery::Done)
        })
    }
}
