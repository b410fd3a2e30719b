//! WeCom (企业微信) customer groups: observe and assist. WeCom lets no app post, kick or mute
//! in customer groups, so this connector observes joins and leaves, attributes them to
//! channels (join-way `state`), alerts staff by app message, and leaves the rest to staff
//! tasks (see [`WecomConfig::capabilities`]).
//!
//! - [`crypto`] — WXBizMsgCrypt (signature, AES-256-CBC, 32-byte PKCS#7), replay guard.
//! - `config` — [`WecomConfig`], the `[[connectors]] type = "wecom"` entry.
//! - [`event`] — callback XML → events; reconciliation against `groupchat/get`.
//! - [`api`] — the WeCom API client (cached access token, retries, rate-limit backoff).
//!
//! The callback (`/wecom/{id}/callback`) answers at once: a verified, decrypted callback is
//! queued for the worker ([`WecomConnector::run`]), which reads the group from the API,
//! turns the callback into events and reconciles the member list. When WeCom cannot be
//! reached the callback's own events still go in, and the group is reconciled again later
//! (backoff up to five minutes); every group is reconciled every `reconcile_interval_secs`.
//!
//! Each group's member list, as last reconciled, is kept in the store (`Store::save_roster`)
//! and restored at start, so the first reconciliation after a restart records the joins and
//! leaves made while qunzhu was down (joins with their join scene) instead of taking a new
//! baseline. Event ids are deterministic, so a change seen twice is one event.

pub mod api;
mod config;
pub mod crypto;
pub mod event;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use qunzhu_core::{
    Action, ActionKind, BoxFuture, Capabilities, Clock, Connector, ConnectorId, Delivery, DeliveryError, Event, Store,
    TaskStatus,
};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

pub use config::{MANUAL_IN, ScheduledPosts, WecomConfig};

use self::api::{Api, ApiError, JoinWay};
use self::crypto::{MsgCrypt, ReplayGuard};
use self::event::{Callback, Envelope, Snapshot};
use crate::HealthReport;

/// How far a callback's timestamp may be from our clock, and how long nonces are kept.
pub const REPLAY_WINDOW_SECS: i64 = 300;
/// The longest pause between attempts to reconcile a group WeCom would not give us.
const RETRY_MAX_SECS: u64 = 300;

/// The WeCom connection, as seen by `/healthz`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Health {
    /// The last WeCom API call succeeded.
    pub connected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_reconciled_at: Option<DateTime<Utc>>,
    /// Groups waiting to be reconciled again (WeCom could not be reached).
    pub reconcile_pending: usize,
    /// Callbacks refused (bad signature, replay…) since start.
    pub refused_callbacks: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

enum Job {
    Callback(Callback),
}

struct Inner {
    snapshot: Snapshot,
    /// chat id → (attempts so far, next attempt).
    retry: BTreeMap<String, (u32, DateTime<Utc>)>,
    health: Health,
    notified: HashSet<String>,
}

/// A poisoned lock only means another task panicked mid-update; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What [`WecomConnector::keep_welcome_template`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeptTemplate {
    /// WeCom already has this text.
    Unchanged,
    /// A new template (its id); staff were asked to choose it for the groups.
    Added(String),
    /// The template (its id) got the new text.
    Edited(String),
}

/// Why a welcome template could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum KeepError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("the store: {0}")]
    Store(#[from] qunzhu_core::StoreError),
    #[error("this connector keeps nothing without a store")]
    NoStore,
}

/// The WeCom template kept for one rulebook template (connector value `welcome_template:<key>`).
#[derive(serde::Deserialize, Serialize)]
struct KeptWelcome {
    template_id: String,
    text: String,
}

/// The configured connector.
pub struct WecomConnector {
    id: ConnectorId,
    config: WecomConfig,
    capabilities: Capabilities,
    crypt: Option<MsgCrypt>,
    replay: ReplayGuard,
    api: Api,
    clock: Arc<dyn Clock>,
    events: mpsc::Sender<Event>,
    /// Where rosters are kept between runs (none in connector-only tests).
    store: Option<Arc<dyn Store>>,
    jobs: mpsc::UnboundedSender<Job>,
    queued: Mutex<Option<mpsc::UnboundedReceiver<Job>>>,
    inner: Mutex<Inner>,
    closing: watch::Sender<bool>,
    started_at: DateTime<Utc>,
}

impl WecomConnector {
    /// `events` receives the normalised events of every customer group; `store` keeps the
    /// groups' member lists between runs.
    pub fn new(config: WecomConfig, events: mpsc::Sender<Event>, clock: Arc<dyn Clock>, store: Option<Arc<dyn Store>>) -> Arc<Self> {
        let crypt = MsgCrypt::new(config.token.expose(), config.encoding_aes_key.expose(), &config.corp_id)
            .inspect_err(|error| warn!(connector = %config.id, %error, "WeCom callbacks cannot be checked"))
            .ok();
        let (jobs, queued) = mpsc::unbounded_channel();
        let api = Api::new(&config.api_base, &config.corp_id, config.secret.clone());
        let id = config.connector_id();
        Arc::new(Self {
            capabilities: config.capabilities(),
            crypt,
            replay: ReplayGuard::new(REPLAY_WINDOW_SECS),
            api,
            events,
            store,
            jobs,
            queued: Mutex::new(Some(queued)),
            inner: Mutex::new(Inner {
                snapshot: Snapshot::new(id.clone()),
                retry: BTreeMap::new(),
                health: Health::default(),
                notified: HashSet::new(),
            }),
            closing: watch::channel(false).0,
            started_at: clock.now(),
            clock,
            id,
            config,
        })
    }

    pub fn config(&self) -> &WecomConfig {
        &self.config
    }

    pub fn api(&self) -> &Api {
        &self.api
    }

    pub fn health(&self) -> Health {
        lock(&self.inner).health.clone()
    }

    /// The callback route (`GET` verification, `POST` events), to merge into qunzhu's router.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(&self.config.callback_path(), get(verify_url).post(receive))
            .with_state(self.clone())
    }

    /// Stops [`run`](Self::run).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// A join way (渠道活码) for `chat_ids` whose joins are attributed to the channel with
    /// `invite_code`.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn join_way(&self, chat_ids: &[String], invite_code: &str) -> Result<JoinWay, ApiError> {
        self.api.add_join_way(chat_ids, invite_code, &format!("qunzhu {invite_code}")).await
    }

    /// Keeps `text` as the WeCom group welcome template for `key` (a rulebook template):
    /// added the first time (staff are told by app message to choose it for `groups`, by chat
    /// id), edited when the text changed, left alone otherwise. The template id is kept in
    /// the store.
    ///
    /// # Errors
    /// [`KeepError`]; nothing is recorded, so the next call tries again.
    pub async fn keep_welcome_template(&self, key: &str, text: &str, groups: &[String]) -> Result<KeptTemplate, KeepError> {
        let store = self.store.as_ref().ok_or(KeepError::NoStore)?;
        let name = format!("welcome_template:{key}");
        let kept: Option<KeptWelcome> = store.connector_value(&self.id, &name).await?.and_then(|v| serde_json::from_str(&v).ok());
        let agent = self.config.agent_id;
        let (template_id, change) = match kept {
            Some(kept) if kept.text == text => return Ok(KeptTemplate::Unchanged),
            Some(kept) => {
                let edited = self.api.edit_welcome_template(agent, &kept.template_id, text).await;
                self.reached(&edited.clone());
                edited?;
                info!(connector = %self.id, template = key, "WeCom group welcome template updated from the rulebook");
                (kept.template_id.clone(), KeptTemplate::Edited(kept.template_id))
            }
            None => {
                let added = self.api.add_welcome_template(agent, text).await;
                self.reached(&added.as_ref().map(|_| ()).map_err(Clone::clone));
                let id = added?;
                info!(connector = %self.id, template = key, "WeCom group welcome template added from the rulebook");
                (id.clone(), KeptTemplate::Added(id))
            }
        };
        let value = serde_json::to_string(&KeptWelcome { template_id: template_id.clone(), text: text.to_owned() }).unwrap_or_default();
        store.set_connector_value(&self.id, &name, &value, self.clock.now()).await?;
        if matches!(change, KeptTemplate::Added(_)) && !self.config.staff_userids.is_empty() {
            let names: Vec<String> = {
                let inner = lock(&self.inner);
                groups.iter().map(|g| inner.snapshot.chat_name(g).unwrap_or_else(|| g.clone())).collect()
            };
            let notice = format!(
                "【qunzhu 待办】已在企业微信新建入群欢迎语素材（规则模板「{key}」，素材 ID {template_id}）。\n\
                 请群主在企业微信中打开各群 → 群聊设置 → 入群欢迎语，选用这条素材：{}\n内容：\n{text}",
                names.join("、")
            );
            if let Err(error) = self.api.send_app_text(agent, &self.config.staff_userids, &notice).await {
                warn!(connector = %self.id, %error, "welcome template added, but staff could not be told");
            }
        }
        Ok(change)
    }

    /// The groups this connector knows (by chat id), for the welcome templates.
    pub fn chat_ids(&self) -> Vec<String> {
        lock(&self.inner).snapshot.chat_ids()
    }

    fn reached(&self, result: &Result<(), ApiError>) {
        let mut inner = lock(&self.inner);
        match result {
            Ok(()) => {
                inner.health.connected = true;
                inner.health.last_error = None;
            }
            Err(error) => {
                if inner.health.connected {
                    warn!(connector = %self.id, %error, "WeCom API unreachable");
                }
                inner.health.connected = false;
                inner.health.last_error = Some(error.to_string());
            }
        }
    }

    async fn emit(&self, events: Vec<Event>) {
        for event in events {
            debug!(connector = %self.id, event = %event.origin.event_id, kind = event.kind.name(), "WeCom event");
            if self.events.send(event).await.is_err() {
                warn!(connector = %self.id, "the engine no longer takes events; event dropped");
            }
        }
    }

    /// Reads one group and reconciles it; on failure it is queued for another try.
    async fn reconcile_chat(&self, chat_id: &str) {
        let fetched = self.api.group_chat(chat_id).await;
        self.reached(&fetched.as_ref().map(|_| ()).map_err(Clone::clone));
        let events = {
            let mut inner = lock(&self.inner);
            match &fetched {
                Ok(chat) => {
                    inner.retry.remove(chat_id);
                    inner.health.last_reconciled_at = Some(self.clock.now());
                    inner.snapshot.reconcile(chat, self.clock.now())
                }
                Err(_) => {
                    self.queue_retry(&mut inner, chat_id);
                    Vec::new()
                }
            }
        };
        if !events.is_empty() {
            info!(connector = %self.id, chat = chat_id, repaired = events.len(), "WeCom reconciliation repaired missed changes");
        }
        self.emit(events).await;
        if fetched.is_ok() {
            self.keep_roster(chat_id).await;
        }
    }

    /// Stores the group's member list as we now know it (after its events were handed on,
    /// so a crash in between repeats events, which the inbox drops, rather than losing them).
    async fn keep_roster(&self, chat_id: &str) {
        let Some(store) = &self.store else { return };
        let roster = lock(&self.inner).snapshot.roster(chat_id, self.clock.now());
        let result = match roster {
            Some(roster) => store.save_roster(&roster).await,
            None => store.delete_roster(&qunzhu_core::GroupKey::new(self.id.as_str(), chat_id)).await,
        };
        if let Err(error) = result {
            warn!(connector = %self.id, chat = chat_id, %error, "could not keep the group's member list; a restart will take a new baseline for it");
        }
    }

    /// The member lists kept by the previous run.
    async fn restore_rosters(&self) {
        let Some(store) = &self.store else { return };
        match store.rosters(&self.id).await {
            Ok(rosters) => {
                let mut inner = lock(&self.inner);
                for roster in &rosters {
                    inner.snapshot.restore(roster);
                }
                if !rosters.is_empty() {
                    info!(connector = %self.id, groups = rosters.len(), "WeCom member lists restored; changes made meanwhile will be recorded");
                }
            }
            Err(error) => warn!(connector = %self.id, %error, "could not read the kept member lists; the first reconciliation takes a new baseline"),
        }
    }

    fn queue_retry(&self, inner: &mut Inner, chat_id: &str) {
        let attempts = inner.retry.get(chat_id).map_or(0, |(a, _)| *a) + 1;
        let pause = 2u64.saturating_pow(attempts.min(16)).min(RETRY_MAX_SECS);
        let at = self.clock.now() + chrono::Duration::seconds(i64::try_from(pause).unwrap_or(300));
        inner.retry.insert(chat_id.to_owned(), (attempts, at));
        inner.health.reconcile_pending = inner.retry.len();
    }

    async fn handle_callback(&self, callback: Callback) {
        if !callback.is_customer_group_change() {
            debug!(connector = %self.id, event = %callback.event, "WeCom callback ignored (not a customer-group change)");
            return;
        }
        let chat_id = callback.chat_id.clone();
        let fetched = if callback.change_type == "dismiss" { None } else { Some(self.api.group_chat(&chat_id).await) };
        if let Some(result) = &fetched {
            self.reached(&result.as_ref().map(|_| ()).map_err(Clone::clone));
        }
        let real = fetched.as_ref().and_then(|r| r.as_ref().ok());
        let events = {
            let mut inner = lock(&self.inner);
            inner.health.last_event_at = Some(self.clock.now());
            let mut events = inner.snapshot.apply_callback(&callback, real);
            match &fetched {
                Some(Ok(chat)) => {
                    inner.retry.remove(&chat_id);
                    events.extend(inner.snapshot.reconcile(chat, self.clock.now()));
                }
                Some(Err(_)) => self.queue_retry(&mut inner, &chat_id),
                None => {}
            }
            inner.health.reconcile_pending = inner.retry.len();
            events
        };
        self.emit(events).await;
        if callback.change_type == "dismiss" || matches!(fetched, Some(Ok(_))) {
            self.keep_roster(&chat_id).await;
        }
    }

    /// Every group: listed, then reconciled one by one.
    async fn reconcile_all(&self) {
        match self.api.group_chat_ids().await {
            Ok(ids) => {
                self.reached(&Ok(()));
                for id in ids {
                    self.reconcile_chat(&id).await;
                }
            }
            Err(error) => {
                self.reached(&Err(error.clone()));
                warn!(connector = %self.id, %error, "could not list WeCom customer groups; trying again at the next round");
            }
        }
    }

    /// The worker: queued callbacks, retries of groups WeCom would not give us, and the
    /// periodic reconciliation of every group (the first one at start). Runs until
    /// [`close`](Self::close).
    pub async fn run(&self) {
        let Some(mut jobs) = lock(&self.queued).take() else { return };
        self.restore_rosters().await;
        let mut closing = self.closing.subscribe();
        let period = Duration::from_secs(self.config.reconcile_interval_secs.max(1));
        let mut round = tokio::time::interval(period);
        round.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut retry = tokio::time::interval(Duration::from_millis(500));
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if *closing.borrow() {
                return;
            }
            tokio::select! {
                _ = closing.changed() => return,
                job = jobs.recv() => match job {
                    Some(Job::Callback(callback)) => self.handle_callback(callback).await,
                    None => return,
                },
                _ = round.tick() => self.reconcile_all().await,
                _ = retry.tick() => {
                    let now = self.clock.now();
                    let due: Vec<String> = lock(&self.inner).retry.iter().filter(|(_, (_, at))| *at <= now).map(|(id, _)| id.clone()).collect();
                    for chat_id in due {
                        self.reconcile_chat(&chat_id).await;
                    }
                }
            }
        }
    }

    /// Sends open staff tasks of this connector's groups to the staff as app messages, once
    /// each (tasks made since this start), every `every` until [`close`](Self::close).
    pub async fn notify_tasks(&self, store: Arc<dyn Store>, every: Duration) {
        if self.config.staff_userids.is_empty() {
            return;
        }
        let mut closing = self.closing.subscribe();
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = closing.changed() => return,
                _ = ticker.tick() => {}
            }
            let tasks = match store.list_tasks(Some(TaskStatus::Open), 500).await {
                Ok(tasks) => tasks,
                Err(error) => {
                    warn!(connector = %self.id, %error, "could not read staff tasks to notify");
                    continue;
                }
            };
            for task in tasks {
                if task.group.connector != self.id || task.created_at < self.started_at || lock(&self.inner).notified.contains(task.id.as_str()) {
                    continue;
                }
                let group = lock(&self.inner).snapshot.chat_name(task.group.group.as_str()).unwrap_or_else(|| task.group.group.to_string());
                let text = format!("【qunzhu 待办】{}（群「{group}」）\n{}", task.title, task.step);
                let sent = self.api.send_app_text(self.config.agent_id, &self.config.staff_userids, &text).await;
                self.reached(&sent.clone());
                match sent {
                    Ok(()) => {
                        lock(&self.inner).notified.insert(task.id.to_string());
                    }
                    Err(error) => warn!(connector = %self.id, task = %task.id, %error, "could not notify staff of a task; trying again"),
                }
            }
        }
    }

    fn refuse(&self, reason: &str, error: &dyn std::fmt::Display) -> Response {
        lock(&self.inner).health.refused_callbacks += 1;
        warn!(connector = %self.id, %error, "WeCom callback refused: {reason}");
        (StatusCode::FORBIDDEN, format!("refused: {error}")).into_response()
    }

    /// Signature, replay window, decryption — the checks both routes share.
    fn open(&self, query: &HashMap<String, String>, encrypt: &str) -> Result<String, Box<Response>> {
        let Some(crypt) = &self.crypt else {
            return Err(Box::new((StatusCode::SERVICE_UNAVAILABLE, "the WeCom token / encoding_aes_key are not set up").into_response()));
        };
        let param = |key: &str| query.get(key).map(String::as_str).unwrap_or_default();
        let (signature, timestamp, nonce) = (param("msg_signature"), param("timestamp"), param("nonce"));
        if let Err(error) = crypt.verify(signature, timestamp, nonce, encrypt) {
            return Err(Box::new(self.refuse("bad signature", &error)));
        }
        if let Err(error) = self.replay.check(timestamp, nonce, self.clock.now().timestamp()) {
            return Err(Box::new(self.refuse("stale or replayed", &error)));
        }
        crypt.decrypt(encrypt).map_err(|error| Box::new(self.refuse("cannot decrypt", &error)))
    }
}

/// `GET ?msg_signature&timestamp&nonce&echostr`: WeCom checks the URL; we answer the
/// decrypted echo.
async fn verify_url(State(connector): State<Arc<WecomConnector>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let echostr = query.get("echostr").cloned().unwrap_or_default();
    match connector.open(&query, &echostr) {
        Ok(plain) => {
            info!(connector = %connector.id, "WeCom callback URL verified");
            plain.into_response()
        }
        Err(response) => *response,
    }
}

/// `POST`: an encrypted event. Answered "success" at once; the work is queued.
async fn receive(State(connector): State<Arc<WecomConnector>>, Query(query): Query<HashMap<String, String>>, body: String) -> Response {
    let envelope: Envelope = match quick_xml::de::from_str(&body) {
        Ok(envelope) => envelope,
        Err(error) => {
            debug!(connector = %connector.id, %error, "WeCom callback body is not the expected XML");
            return (StatusCode::BAD_REQUEST, "the body is not a WeCom callback (<xml><Encrypt>…)").into_response();
        }
    };
    let plain = match connector.open(&query, &envelope.encrypt) {
        Ok(plain) => plain,
        Err(response) => return *response,
    };
    match Callback::parse(&plain) {
        Ok(callback) => {
            lock(&connector.inner).health.last_event_at = Some(connector.clock.now());
            if connector.jobs.send(Job::Callback(callback)).is_err() {
                warn!(connector = %connector.id, "the WeCom worker has stopped; callback dropped");
            }
        }
        Err(error) => debug!(connector = %connector.id, %error, "WeCom callback XML not understood; ignored"),
    }
    "success".into_response()
}

impl HealthReport for WecomConnector {
    fn health(&self) -> Value {
        serde_json::to_value(WecomConnector::health(self)).unwrap_or(Value::Null)
    }
}

fn delivery_error(error: ApiError) -> DeliveryError {
    match error {
        ApiError::Refused { .. } => DeliveryError::Permanent(error.to_string()),
        ApiError::RateLimited { .. } => DeliveryError::Temporary { message: error.to_string(), retry_after_secs: Some(60) },
        ApiError::Unreachable(_) => DeliveryError::Temporary { message: error.to_string(), retry_after_secs: None },
    }
}

impl Connector for WecomConnector {
    fn id(&self) -> &ConnectorId {
        &self.id
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn deliver<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, Result<Delivery, DeliveryError>> {
        Box::pin(async move {
            let chat_id = action.group.group.to_string();
            let group = lock(&self.inner).snapshot.chat_name(&chat_id).unwrap_or_else(|| chat_id.clone());
            let staff = &self.config.staff_userids;
            let result = match &action.kind {
                ActionKind::NotifyStaff { text } => {
                    if staff.is_empty() {
                        return Err(DeliveryError::Permanent("no staff_userids are configured for this WeCom connector".into()));
                    }
                    self.api.send_app_text(self.config.agent_id, staff, &format!("【qunzhu】群「{group}」：{text}")).await
                }
                ActionKind::Send { segments } if self.config.scheduled_posts == ScheduledPosts::MassSendDraft => {
                    let text = qunzhu_core::Message { id: "".into(), segments: segments.clone() }.plain_text();
                    let sender = self.config.sender.clone().unwrap_or_default();
                    let drafted = self.api.add_group_msg_template(&sender, std::slice::from_ref(&chat_id), &text).await;
                    if drafted.is_ok() && !staff.is_empty() {
                        let notice = format!("【qunzhu】已为群「{group}」创建群发草稿，请 {sender} 在企业微信中确认发送：\n{text}");
                        if let Err(error) = self.api.send_app_text(self.config.agent_id, staff, &notice).await {
                            warn!(connector = %self.id, %error, "draft made, but staff could not be told");
                        }
                    }
                    drafted.map(|_| ())
                }
                other => {
                    return Err(DeliveryError::Permanent(format!("WeCom customer groups do not allow `{}` by an app", other.name())));
                }
            };
            self.reached(&result.clone());
            result.map(|()| Delivery::Done).map_err(delivery_error)
        })
    }
}
