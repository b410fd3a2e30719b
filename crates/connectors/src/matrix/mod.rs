//! Matrix, through matrix-sdk (client-server API, no end-to-end encryption: the bot moderates
//! unencrypted rooms; its state store is in memory).
//!
//! - `config` — [`MatrixConfig`], the `[[connectors]] type = "matrix"` entry.
//! - [`message`] — `m.room.message` content ⇄ qunzhu segments (pills ⇄ mentions, replies).
//! - [`event`] — timeline events → [`Event`]s (messages, joins, leaves, kicks, bans, redactions).
//!
//! The sync loop logs in (password or access token), long-polls `/sync`, and on any failure
//! waits (1 s, doubling up to `reconnect_max_secs`) and tries again, reporting itself
//! unhealthy meanwhile; it never stops qunzhu. Within one run the sync token is kept, so a
//! dropped connection loses nothing. The history a room shows the bot when it joins is
//! skipped rather than replayed.
//!
//! Across restarts: the SDK's state store is in memory (its SQLite store, matrix-sdk-sqlite
//! 0.18, needs libsqlite3-sys 0.35 through rusqlite 0.37 while sqlx 0.8 links 0.30, and only
//! one crate may `links = "sqlite3"`), so only the sync token is persisted, in a small file under
//! the data dir (`<data_dir>/matrix/<id>.sync-token`, see [`MatrixConnector::with_state_file`]),
//! rewritten after every sync whose events were handed to the engine. On start with a token,
//! a first full sync (its timelines skipped) fills the room state (members, power levels),
//! then a sync *from the stored token* delivers what happened while qunzhu was down. Events
//! are forwarded before the token that covers them is saved, so a crash in between redelivers
//! them; the engine's inbox drops an event it has already processed (by event id), so every
//! event is processed exactly once. A stored token the homeserver refuses is discarded (that
//! downtime is then not replayed); a long downtime may come back as a `limited` timeline,
//! in which case only its latest events are processed (what Synapse returns for a gap).
//! Without a token (first start, or no state file) the rooms' past timelines are skipped.
//!
//! Roles come from the room's power levels through the SDK (`RoomMember::power_level`), which
//! knows room v12's creators (unlimited power, absent from `power_levels.users`): unlimited
//! or ≥ 100 → owner; enough to kick, ban or redact others → admin.
//!
//! Mutes: Matrix has none; the connector lowers the member's power level below what sending
//! a message needs (`events["m.room.message"]`, else `events_default`), and unmute sets it back
//! to `users_default`. A timed mute is lifted by a timer inside the connector. That timer is
//! not persisted: if qunzhu restarts before it fires, the member stays muted until staff
//! unmute them (the dashboard's undo, or a power-level change in their client).

mod config;
pub mod event;
pub mod message;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use matrix_sdk::authentication::SessionTokens;
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::events::room::power_levels::UserPowerLevel;
use matrix_sdk::ruma::{EventId, Int, OwnedDeviceId, RoomId, UserId};
use matrix_sdk::room::RoomMember;
use matrix_sdk::{Client, Room, SessionMeta};
use qunzhu_core::{
    Action, ActionKind, BoxFuture, Capabilities, Connector, ConnectorId, Delivery, DeliveryError, Event, MemberId, Role,
    Segment,
};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{OnceCell, mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

pub use config::MatrixConfig;

use crate::HealthReport;

/// How long one `/sync` long poll waits on the server.
const SYNC_TIMEOUT: Duration = Duration::from_secs(25);

/// A Matrix connection, as seen by `/healthz`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Health {
    pub connected: bool,
    pub user: String,
    pub homeserver: String,
    /// Successful syncs since qunzhu started.
    pub syncs: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_since: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The configured connector.
pub struct MatrixConnector {
    config: MatrixConfig,
    id: ConnectorId,
    capabilities: Capabilities,
    events: mpsc::Sender<Event>,
    client: OnceCell<Client>,
    health: Mutex<Health>,
    closing: watch::Sender<bool>,
    /// Timers lifting timed mutes, by (room, member).
    unmutes: Mutex<HashMap<(String, String), JoinHandle<()>>>,
    /// Where the sync token is kept across restarts (none: each start syncs afresh).
    state_file: Option<PathBuf>,
}

/// Reads a stored sync token (none when the file is missing, empty or unreadable).
async fn read_token(path: &Path) -> Option<String> {
    match tokio::fs::read_to_string(path).await {
        Ok(text) => Some(text.trim().to_owned()).filter(|t| !t.is_empty()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => {
            warn!(path = %path.display(), %error, "could not read the stored Matrix sync token; syncing afresh");
            None
        }
    }
}

/// Stores a sync token atomically (a temp file renamed over the old one).
async fn write_token(path: &Path, token: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let temp = path.with_extension("sync-token.tmp");
    tokio::fs::write(&temp, token.as_bytes()).await?;
    tokio::fs::rename(&temp, path).await
}

/// A failed sync: why, and whether the homeserver refused the `since` token itself.
struct SyncFailure {
    reason: String,
    token_refused: bool,
}

impl From<String> for SyncFailure {
    fn from(reason: String) -> Self {
        Self { reason, token_refused: false }
    }
}

/// A poisoned lock only means another task panicked mid-update; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn temporary(message: impl Into<String>) -> DeliveryError {
    DeliveryError::Temporary { message: message.into(), retry_after_secs: None }
}

/// A failed platform call: rate limits and server trouble are retried, refusals are final.
fn delivery_error(what: &str, status: Option<u16>, error: &dyn std::fmt::Display) -> DeliveryError {
    let message = format!("{what}: {error}");
    match status {
        Some(429) => DeliveryError::Temporary { message, retry_after_secs: Some(5) },
        Some(status) if (400..500).contains(&status) => DeliveryError::Permanent(message),
        _ => temporary(message),
    }
}

fn sdk_error(what: &str, error: &matrix_sdk::Error) -> DeliveryError {
    delivery_error(what, error.as_client_api_error().map(|e| e.status_code.as_u16()), error)
}

fn http_error(what: &str, error: &matrix_sdk::HttpError) -> DeliveryError {
    delivery_error(what, error.as_client_api_error().map(|e| e.status_code.as_u16()), error)
}

/// A member's standing from the room's power levels (see the module docs).
fn role_of(member: &RoomMember) -> Role {
    match member.power_level() {
        UserPowerLevel::Infinite => Role::Owner,
        UserPowerLevel::Int(level) if level >= Int::from(100) => Role::Owner,
        _ if member.can_kick() || member.can_ban() || member.can_redact_other() => Role::Admin,
        _ => Role::Member,
    }
}

impl MatrixConnector {
    /// `events` receives every room event in the order it was synced.
    pub fn new(config: MatrixConfig, events: mpsc::Sender<Event>) -> Arc<Self> {
        let health = Health {
            user: config.user.clone(),
            homeserver: config.homeserver.clone(),
            ..Health::default()
        };
        Arc::new(Self {
            id: config.connector_id(),
            capabilities: config.capabilities(),
            config,
            events,
            client: OnceCell::new(),
            health: Mutex::new(health),
            closing: watch::channel(false).0,
            unmutes: Mutex::new(HashMap::new()),
            state_file: None,
        })
    }

    /// Like [`new`](Self::new), keeping the sync token in `state_file` so a restart resumes
    /// where the last run stopped (see the module docs).
    pub fn with_state_file(config: MatrixConfig, events: mpsc::Sender<Event>, state_file: PathBuf) -> Arc<Self> {
        let mut connector = Self::new(config, events);
        if let Some(this) = Arc::get_mut(&mut connector) {
            this.state_file = Some(state_file);
        }
        connector
    }

    /// The file under `data_dir` that keeps connector `id`'s sync token.
    pub fn state_file_in(data_dir: &Path, id: &str) -> PathBuf {
        data_dir.join("matrix").join(format!("{id}.sync-token"))
    }

    pub fn config(&self) -> &MatrixConfig {
        &self.config
    }

    pub fn health(&self) -> Health {
        lock(&self.health).clone()
    }

    /// Stops syncing (shutdown).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    fn unhealthy(&self, reason: String) {
        let mut health = lock(&self.health);
        if health.connected || health.last_error.as_deref() != Some(&reason) {
            warn!(connector = %self.id, %reason, "Matrix not connected");
        }
        health.connected = false;
        health.connected_since = None;
        health.last_error = Some(reason);
    }

    /// Logs in and syncs until [`close`](Self::close). Never gives up: an unreachable
    /// homeserver or a failed login is retried with backoff and reported unhealthy.
    pub async fn run(&self) {
        let max = Duration::from_secs(self.config.reconnect_max_secs.max(1));
        let mut delay = Duration::from_secs(1);
        let mut closing = self.closing.subscribe();
        let mut token: Option<String> = None;
        // A token of the last run: caught up from once the room state is loaded.
        let mut resume = match &self.state_file {
            Some(path) => read_token(path).await,
            None => None,
        };
        loop {
            if *closing.borrow_and_update() {
                return;
            }
            let outcome = if let (Some(_), Some(since)) = (&token, &resume) {
                // Room state is loaded (first sync): deliver what happened while qunzhu was down.
                tokio::select! {
                    outcome = self.catch_up(since) => outcome.map(|()| None),
                    _ = closing.changed() => continue,
                }
            } else {
                tokio::select! {
                    outcome = self.sync_once(token.as_deref()) => outcome.map(Some),
                    _ = closing.changed() => continue,
                }
            };
            match outcome {
                Ok(next) => {
                    if token.is_some() {
                        resume = None;
                    }
                    if let Some(next) = next {
                        token = Some(next);
                    }
                    // Until the catch-up is done, the stored token is the one to resume from.
                    if resume.is_none()
                        && let Some(token) = &token
                    {
                        self.save_token(token).await;
                    }
                    delay = Duration::from_secs(1);
                    continue;
                }
                Err(failure) => {
                    if failure.token_refused && resume.take().is_some() {
                        warn!(connector = %self.id, reason = %failure.reason, "the homeserver refused the stored sync token; what happened while qunzhu was down is skipped");
                    }
                    self.unhealthy(failure.reason);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = closing.changed() => {}
            }
            delay = (delay * 2).min(max);
        }
    }

    async fn save_token(&self, token: &str) {
        let Some(path) = &self.state_file else { return };
        if let Err(error) = write_token(path, token).await {
            warn!(connector = %self.id, path = %path.display(), %error, "could not store the Matrix sync token; a restart would skip what happens meanwhile");
        }
    }

    /// The logged-in client, logging in first if needed.
    async fn client(&self) -> Result<&Client, String> {
        self.client.get_or_try_init(|| self.login()).await
    }

    async fn login(&self) -> Result<Client, String> {
        let config = &self.config;
        let client = Client::builder()
            .homeserver_url(&config.homeserver)
            .build()
            .await
            .map_err(|e| format!("could not reach the homeserver {}: {e}", config.homeserver))?;
        let user = UserId::parse(config.user.as_str()).map_err(|e| format!("`{}` is not a Matrix user id: {e}", config.user))?;
        match (&config.access_token, &config.password) {
            (Some(token), _) if !token.expose().is_empty() => {
                let session = MatrixSession {
                    meta: SessionMeta { user_id: user.clone(), device_id: OwnedDeviceId::from("QUNZHU") },
                    tokens: SessionTokens { access_token: token.expose().to_owned(), refresh_token: None },
                };
                client.restore_session(session).await.map_err(|e| format!("could not use the access token: {e}"))?;
                let whoami = client.whoami().await.map_err(|e| format!("the access token was refused: {e}"))?;
                if whoami.user_id != user {
                    return Err(format!("the access token belongs to {}, not {}", whoami.user_id, config.user));
                }
            }
            (_, Some(password)) => {
                client
                    .matrix_auth()
                    .login_username(&user, password.expose())
                    .initial_device_display_name("qunzhu")
                    .send()
                    .await
                    .map_err(|e| format!("login as {} failed: {e}", config.user))?;
            }
            _ => return Err("neither `password` nor `access_token` is set".into()),
        }
        info!(connector = %self.id, user = %config.user, "logged in to Matrix");
        Ok(client)
    }

    /// One `/sync`: joins invited rooms, forwards new timeline events (not on the first sync
    /// of a run, without `since`: it only loads the room state). Returns the next token.
    async fn sync_once(&self, since: Option<&str>) -> Result<String, SyncFailure> {
        let client = self.client().await?;
        let mut settings = SyncSettings::default().timeout(if since.is_some() { SYNC_TIMEOUT } else { Duration::ZERO });
        if let Some(since) = since {
            settings = settings.token(since.to_owned());
        }
        let response = client.sync_once(settings).await.map_err(|e| format!("sync failed: {e}"))?;
        {
            let mut health = lock(&self.health);
            if !health.connected {
                info!(connector = %self.id, "Matrix connected");
                health.connected = true;
                health.connected_since = Some(Utc::now());
            }
            health.syncs += 1;
            health.last_sync_at = Some(Utc::now());
            health.last_error = None;
        }
        if since.is_some() {
            for (room_id, update) in &response.rooms.joined {
                let Some(room) = client.get_room(room_id) else { continue };
                let timeline: Vec<Value> = update
                    .timeline
                    .events
                    .iter()
                    .filter_map(|e| serde_json::from_str(e.raw().json().get()).ok())
                    .collect();
                self.forward_timeline(&room, &timeline).await;
            }
        }
        if self.config.auto_join {
            for room_id in response.rooms.invited.keys() {
                match client.join_room_by_id(room_id).await {
                    Ok(_) => info!(connector = %self.id, room = %room_id, "joined a room the bot was invited to"),
                    Err(error) => warn!(connector = %self.id, room = %room_id, %error, "could not join a room the bot was invited to"),
                }
            }
        }
        Ok(response.next_batch)
    }

    /// Forwards a room's timeline slice, skipping the history a room shows the bot when it
    /// has just joined (it happened before the bot came).
    async fn forward_timeline(&self, room: &Room, timeline: &[Value]) {
        let own = self.config.user.as_str();
        let start = timeline
            .iter()
            .rposition(|raw| {
                raw["type"] == "m.room.member"
                    && raw["state_key"] == own
                    && raw["content"]["membership"] == "join"
                    && raw.pointer("/unsigned/prev_content/membership").and_then(Value::as_str) != Some("join")
            })
            .map_or(0, |at| at + 1);
        for raw in &timeline[start..] {
            self.forward(room, raw).await;
        }
    }

    /// Delivers the timelines from `since` (the last run's token) to now. The SDK would take
    /// this answer for one it already has (the first sync of the run ended at the same
    /// token) and drop it, so the request is sent raw; its state is already in the store.
    /// Events it shares with the next regular sync are forwarded twice and processed once
    /// (the inbox deduplicates by event id).
    async fn catch_up(&self, since: &str) -> Result<(), SyncFailure> {
        use matrix_sdk::ruma::api::client::sync::sync_events::v3 as sync;
        let client = self.client().await?;
        let mut request = sync::Request::new();
        request.since = Some(since.to_owned());
        request.timeout = Some(Duration::ZERO);
        let response = client.send(request).await.map_err(|e| SyncFailure {
            reason: format!("catching up from the stored sync token failed: {e}"),
            token_refused: e.as_client_api_error().is_some_and(|api| {
                let status = api.status_code.as_u16();
                (400..500).contains(&status) && status != 401 && status != 429
            }),
        })?;
        let mut count = 0;
        for (room_id, joined) in &response.rooms.join {
            let Some(room) = client.get_room(room_id) else { continue };
            let timeline: Vec<Value> = joined
                .timeline
                .events
                .iter()
                .filter_map(|e| serde_json::from_str(e.json().get()).ok())
                .collect();
            count += timeline.len();
            if joined.timeline.limited {
                warn!(connector = %self.id, room = %room_id, "the homeserver returned only the latest part of the downtime (a gap); older events are skipped");
            }
            self.forward_timeline(&room, &timeline).await;
        }
        info!(connector = %self.id, events = count, "caught up with what happened while qunzhu was down");
        Ok(())
    }

    async fn forward(&self, room: &Room, raw: &Value) {
        let mut known: HashMap<String, (Option<String>, Role)> = HashMap::new();
        for key in ["sender", "state_key"] {
            let Some(user) = raw.get(key).and_then(Value::as_str).and_then(|u| UserId::parse(u).ok()) else { continue };
            if let Ok(Some(member)) = room.get_member_no_sync(&user).await {
                known.insert(user.to_string(), (member.display_name().map(str::to_owned), role_of(&member)));
            }
        }
        let lookup = |id: &str| known.get(id).cloned().unwrap_or((None, Role::Member));
        let Some(mut event) = event::decode(&self.id, room.room_id().as_str(), raw, &self.config.user, &lookup) else {
            return;
        };
        event.group_name = room.name();
        lock(&self.health).last_event_at = Some(Utc::now());
        debug!(connector = %self.id, event = %event.origin.event_id, kind = event.kind.name(), "Matrix event");
        if self.events.send(event).await.is_err() {
            warn!(connector = %self.id, "the engine no longer takes events; event dropped");
        }
    }

    async fn room(&self, group: &str) -> Result<Room, DeliveryError> {
        let client = self.client.get().ok_or_else(|| temporary("not logged in to Matrix yet"))?;
        let room_id = RoomId::parse(group).map_err(|e| DeliveryError::Permanent(format!("`{group}` is not a room id: {e}")))?;
        client
            .get_room(&room_id)
            .ok_or_else(|| temporary(format!("the bot has not synced room {group} (not joined?)")))
    }

    async fn display_name(room: &Room, user: &str) -> Option<String> {
        let user = UserId::parse(user).ok()?;
        room.get_member_no_sync(&user).await.ok().flatten()?.display_name().map(str::to_owned)
    }

    async fn send(&self, room: &Room, segments: &[Segment], reply_to: Option<&str>) -> Result<(), DeliveryError> {
        let mut names: HashMap<String, String> = HashMap::new();
        for segment in segments {
            if let Segment::Mention { member, name: None } = segment
                && let Some(name) = Self::display_name(room, member.as_str()).await
            {
                names.insert(member.to_string(), name);
            }
        }
        let content = message::content_of(segments, reply_to, &|id| names.get(id).cloned());
        room.send_raw("m.room.message", content)
            .await
            .map_err(|e| sdk_error("sending failed", &e))?;
        Ok(())
    }

    /// Sets a member's power level (mute/unmute).
    async fn set_power(room: &Room, member: &MemberId, mute: bool) -> Result<(), DeliveryError> {
        let user = UserId::parse(member.as_str())
            .map_err(|e| DeliveryError::Permanent(format!("`{member}` is not a Matrix user id: {e}")))?;
        let levels = room.power_levels().await.map_err(|e| temporary(format!("could not read the power levels: {e}")))?;
        let level = if mute {
            let needed = levels
                .events
                .get(&matrix_sdk::ruma::events::TimelineEventType::RoomMessage)
                .copied()
                .unwrap_or(levels.events_default);
            let below = needed.saturating_sub(Int::from(1));
            below.min(levels.users_default.min(below))
        } else {
            levels.users_default
        };
        room.update_power_levels(vec![(&user, level)])
            .await
            .map_err(|e| sdk_error("could not change the power levels", &e))?;
        Ok(())
    }

    fn cancel_unmute(&self, room: &str, member: &str) {
        if let Some(timer) = lock(&self.unmutes).remove(&(room.to_owned(), member.to_owned())) {
            timer.abort();
        }
    }

    async fn execute(&self, action: &Action) -> Result<(), DeliveryError> {
        let group = action.group.group.as_str();
        let room = self.room(group).await?;
        let user = |member: &MemberId| {
            UserId::parse(member.as_str()).map_err(|e| DeliveryError::Permanent(format!("`{member}` is not a Matrix user id: {e}")))
        };
        let reason = Some(action.explanation.as_str()).filter(|r| !r.is_empty());
        match &action.kind {
            ActionKind::Send { segments } => self.send(&room, segments, None).await,
            ActionKind::Reply { to, segments } => self.send(&room, segments, Some(to.as_str())).await,
            ActionKind::Delete { message_id } => {
                let event_id = EventId::parse(message_id.as_str())
                    .map_err(|e| DeliveryError::Permanent(format!("`{message_id}` is not an event id: {e}")))?;
                room.redact(&event_id, reason, None).await.map_err(|e| http_error("redaction failed", &e))?;
                Ok(())
            }
            ActionKind::Kick { member } => {
                room.kick_user(&user(member)?, reason).await.map_err(|e| sdk_error("kick failed", &e))
            }
            ActionKind::Ban { member } => {
                room.ban_user(&user(member)?, reason).await.map_err(|e| sdk_error("ban failed", &e))
            }
            ActionKind::Unban { member } => {
                room.unban_user(&user(member)?, reason).await.map_err(|e| sdk_error("unban failed", &e))
            }
            ActionKind::Mute { member, duration_secs } => {
                Self::set_power(&room, member, true).await?;
                self.cancel_unmute(group, member.as_str());
                if *duration_secs > 0 {
                    let (timer_room, timer_member, id) = (room.clone(), member.clone(), self.id.clone());
                    let wait = Duration::from_secs(*duration_secs);
                    let timer = tokio::spawn(async move {
                        tokio::time::sleep(wait).await;
                        if let Err(error) = Self::set_power(&timer_room, &timer_member, false).await {
                            warn!(connector = %id, member = %timer_member, %error, "could not lift a timed mute; staff must unmute");
                        }
                    });
                    lock(&self.unmutes).insert((group.to_owned(), member.to_string()), timer);
                }
                Ok(())
            }
            ActionKind::Unmute { member } => {
                self.cancel_unmute(group, member.as_str());
                Self::set_power(&room, member, false).await
            }
            other => Err(DeliveryError::Permanent(format!("Matrix cannot {}", other.name()))),
        }
    }
}

impl HealthReport for MatrixConnector {
    fn health(&self) -> Value {
        serde_json::to_value(MatrixConnector::health(self)).unwrap_or(Value::Null)
    }
}

impl Connector for MatrixConnector {
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
