//! The engine: events in, decisions out. No platform types, no SQL, no sockets.
//!
//! - [`rules`] — one module per feature; every rule sees every event.
//! - [`analysis`] — the shared per-event analysis.
//! - [`planner`] — actions against capabilities; the rest become staff tasks.
//! - [`rulebook`] — templates and group bindings; [`versions`] saves and rolls them back.
//! - [`shop`] — the points shop and manual points (commands and the API share it).
//! - [`problems`] — precise, located errors for operator-written TOML.
//! - [`giveaways`] — sign-up lists and lotteries from the API, and their due ticks.
//! - [`growth`] — referral codes, campaigns, leaderboards, fraud flags and counters from the
//!   API, and the referral validation ticks.
//! - `pipeline` — one event through the rules to a committed decision.
//! - `dispatcher` — events of one group in order, groups in parallel.
//! - [`scheduler`] — time-based work (scheduled posts…) as `Tick` events; [`Engine::run_due`].
//!
//! [`Engine::start`] wires it up; [`Engine::submit`] is the one way events come in.

pub mod admission;
pub mod analysis;
pub mod care;
pub mod digest;
mod dispatcher;
pub mod giveaways;
pub mod growth;
pub mod insight;
pub mod life_stage;
pub mod locale;
pub mod membership;
pub mod operations;
mod pipeline;
pub mod reference;
pub mod planner;
pub mod problems;
pub mod profiles;
pub mod platform_welcome;
pub mod rulebook;
pub mod rules;
pub mod shop;
pub mod scheduler;
pub mod staff_alerts;
pub mod versions;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use qunzhu_core::store::{Accepted, GroupRecord, RulebookVersion};
use qunzhu_core::{Action, Capabilities, Clock, ConnectorId, Event, GroupKey, StaffTask, Store, StoreError};
use thiserror::Error;
use tokio::sync::{oneshot, watch};
use tracing::{info, warn};

pub use crate::locale::Locale;
pub use crate::rulebook::{CompiledRulebook, Rulebook};
pub use crate::rules::RuleTools;
pub use crate::versions::RulebookError;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("no connector named `{0}` is configured")]
    UnknownConnector(ConnectorId),
    #[error("the engine is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rulebook(#[from] RulebookError),
}

/// How the engine runs.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub locale: Locale,
    /// Worker partitions; groups are spread over them, each processed in order.
    pub partitions: usize,
    /// Events waiting per partition before `submit` waits.
    pub queue_depth: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self { locale: Locale::ZhCn, partitions: (cores * 4).max(4), queue_depth: 1024 }
    }
}

/// What processing one event decided.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Processed {
    /// The event had been seen before; nothing new was decided.
    pub duplicate: bool,
    pub actions: Vec<Action>,
    pub tasks: Vec<StaffTask>,
    /// Moderation verdicts recorded because of it.
    pub violations: Vec<qunzhu_core::moderation::Violation>,
}

/// State shared by the dispatcher's workers.
pub(crate) struct Core {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) connectors: HashMap<ConnectorId, Capabilities>,
    pub(crate) locale: Locale,
    rulebook: RwLock<Arc<CompiledRulebook>>,
    pub(crate) outbox_changed: watch::Sender<u64>,
    /// Groups recently written to the store, so a busy group costs one write a minute, not
    /// one per message.
    groups: Mutex<HashMap<GroupKey, GroupRecord>>,
    pub(crate) tools: RuleTools,
    /// Bumped when due work may have changed (a schedule saved), to wake the scheduler loop.
    pub(crate) scheduler_wake: watch::Sender<u64>,
}

/// How stale a group's `last_seen` may get before it is written again.
const GROUP_TOUCH_INTERVAL_SECS: i64 = 60;

impl Core {
    pub(crate) fn rulebook(&self) -> Arc<CompiledRulebook> {
        self.rulebook.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The group's record, writing it to the store when it is new, renamed, or its
    /// `last_seen` is more than a minute old.
    pub(crate) async fn touch_group(&self, key: &GroupKey, event: &Event) -> Result<GroupRecord, StoreError> {
        let name = event.group_name.as_deref();
        let cached = self.groups.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(key).cloned();
        if let Some(group) = cached {
            let renamed = name.is_some_and(|n| group.name.as_deref() != Some(n));
            let fresh = event.time - group.last_seen < chrono::Duration::seconds(GROUP_TOUCH_INTERVAL_SECS);
            if !renamed && fresh {
                return Ok(group);
            }
        }
        let group = self.store.touch_group(key, name, event.time).await?;
        self.groups.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(key.clone(), group.clone());
        Ok(group)
    }

    fn set_rulebook(&self, compiled: CompiledRulebook) {
        *self.rulebook.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(compiled);
    }
}

/// A running engine. Cheap to clone; every clone drives the same workers.
#[derive(Clone)]
pub struct Engine {
    core: Arc<Core>,
    dispatcher: Arc<dispatcher::Dispatcher>,
    closing: Arc<AtomicBool>,
    /// Serialises rulebook saves within this process.
    rulebook_edit: Arc<tokio::sync::Mutex<()>>,
}

impl Engine {
    /// Loads the rulebook (seeding the built-in one on a fresh database), starts the workers
    /// and re-runs events that were accepted but not finished before the last stop.
    ///
    /// # Errors
    /// When the store cannot be read or its rulebook is invalid.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        connectors: HashMap<ConnectorId, Capabilities>,
        config: EngineConfig,
    ) -> Result<Self, EngineError> {
        let rulebook = versions::load(store.as_ref(), config.locale, clock.now()).await?;
        let (outbox_changed, _) = watch::channel(0);
        let core = Arc::new(Core {
            store,
            clock,
            connectors,
            locale: config.locale,
            rulebook: RwLock::new(Arc::new(rulebook)),
            outbox_changed,
            groups: Mutex::default(),
            tools: RuleTools::default(),
            scheduler_wake: watch::channel(0).0,
        });
        let corrections = core.store.list_corrections().await?;
        if !corrections.is_empty() {
            let mut classifier = core.tools.classifier.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            for correction in &corrections {
                classifier.learn(&correction.text, correction.is_spam);
            }
            info!(count = corrections.len(), "spam classifier caught up with operator corrections");
        }
        let dispatcher = Arc::new(dispatcher::Dispatcher::start(core.clone(), config.partitions, config.queue_depth));
        let engine = Self { core, dispatcher, closing: Arc::new(AtomicBool::new(false)), rulebook_edit: Arc::default() };
        engine.recover().await?;
        Ok(engine)
    }

    /// Re-dispatches events accepted but never committed (after a crash or a store hiccup).
    async fn recover(&self) -> Result<(), EngineError> {
        let pending = self.core.store.pending_events(u32::MAX).await?;
        if !pending.is_empty() {
            info!(count = pending.len(), "re-running events left unfinished by the last run");
        }
        for (seq, event) in pending {
            if !self.core.connectors.contains_key(&event.origin.connector) {
                warn!(connector = %event.origin.connector, seq, "pending event's connector is no longer configured; left pending");
                continue;
            }
            self.dispatcher.dispatch(seq, event, None).await?;
        }
        Ok(())
    }

    /// Accepts an event into the inbox and processes it in its group's order. Returns what
    /// was decided because of it; a redelivered event returns `duplicate` and nothing new.
    ///
    /// # Errors
    /// Unknown connector, shutdown, or a store failure. When the event was accepted but its
    /// processing failed, it stays in the inbox and is re-run on the next start.
    pub async fn submit(&self, event: Event) -> Result<Processed, EngineError> {
        if self.closing.load(Ordering::SeqCst) {
            return Err(EngineError::ShuttingDown);
        }
        if !self.core.connectors.contains_key(&event.origin.connector) {
            return Err(EngineError::UnknownConnector(event.origin.connector.clone()));
        }
        let seq = match self.core.store.accept_event(&event).await? {
            Accepted::Duplicate { .. } => return Ok(Processed { duplicate: true, ..Processed::default() }),
            Accepted::New { seq } => seq,
        };
        let (reply, answer) = oneshot::channel();
        self.dispatcher.dispatch(seq, event, Some(reply)).await?;
        answer.await.map_err(|_| EngineError::ShuttingDown)?
    }

    /// Stops taking events, lets every queued event finish, and waits for the workers.
    pub async fn shutdown(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.dispatcher.stop().await;
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.core.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.core.clock
    }

    pub fn locale(&self) -> Locale {
        self.core.locale
    }

    /// Capabilities of a configured connector.
    pub fn capabilities(&self, connector: &ConnectorId) -> Option<&Capabilities> {
        self.core.connectors.get(connector)
    }

    /// Bumped whenever new actions or tasks are committed; outbox workers and long polls wait
    /// on it.
    pub fn outbox_changes(&self) -> watch::Receiver<u64> {
        self.core.outbox_changed.subscribe()
    }

    /// Wakes outbox waiters (e.g. after a retry became due).
    pub fn notify_outbox(&self) {
        self.core.outbox_changed.send_modify(|generation| *generation += 1);
    }

    /// Teaches the spam classifier one correction (already stored by the caller).
    pub(crate) fn learn(&self, text: &str, is_spam: bool) {
        self.core.tools.classifier.write().unwrap_or_else(|poisoned| poisoned.into_inner()).learn(text, is_spam);
    }

    /// The spam probability of a text under the current (corrected) model.
    pub fn spam_score(&self, text: &str) -> f32 {
        self.core.tools.spam_score(text)
    }

    /// The rulebook in force.
    pub fn rulebook(&self) -> Arc<CompiledRulebook> {
        self.core.rulebook()
    }

    /// Validates and saves a new rulebook version, then puts it in force.
    ///
    /// # Errors
    /// Every validation problem at once, or a store failure/conflict.
    pub async fn save_rulebook(&self, rulebook: Rulebook, author: &str, note: &str) -> Result<Arc<CompiledRulebook>, RulebookError> {
        self.save_rulebook_over(None, rulebook, author, note).await
    }

    /// Like [`Engine::save_rulebook`], but only while the rulebook in force is still
    /// `base_version` (the one the author edited), when given: an optimistic check, so two
    /// operators editing at once cannot silently undo each other.
    ///
    /// # Errors
    /// As `save_rulebook`; a [`StoreError::Conflict`] when the rulebook moved on.
    pub async fn save_rulebook_over(&self, base_version: Option<i64>, rulebook: Rulebook, author: &str, note: &str) -> Result<Arc<CompiledRulebook>, RulebookError> {
        let _edit = self.rulebook_edit.lock().await;
        let current = self.core.rulebook();
        if let Some(base) = base_version
            && base != current.version
        {
            return Err(RulebookError::Store(StoreError::Conflict(format!("the rulebook is at version {}, not {base}", current.version))));
        }
        let saved = versions::save(self.core.store.as_ref(), &current, rulebook, author, note, self.core.clock.now()).await?;
        self.core.set_rulebook(saved);
        Ok(self.core.rulebook())
    }

    /// Puts an earlier version back in force (as a new version).
    ///
    /// # Errors
    /// Unknown version, or a store failure.
    pub async fn rollback_rulebook(&self, version: i64, author: &str) -> Result<Arc<CompiledRulebook>, RulebookError> {
        let _edit = self.rulebook_edit.lock().await;
        let current = self.core.rulebook();
        let saved = versions::rollback(self.core.store.as_ref(), &current, version, author, self.core.locale, self.core.clock.now()).await?;
        self.core.set_rulebook(saved);
        Ok(self.core.rulebook())
    }

    /// Picks up a version saved by another process (e.g. `qunzhu rules import`).
    ///
    /// # Errors
    /// A store failure, or an invalid stored head.
    pub async fn reload_rulebook(&self) -> Result<bool, RulebookError> {
        let _edit = self.rulebook_edit.lock().await;
        let Some(head) = self.core.store.rulebook_head().await? else { return Ok(false) };
        if head.version == self.core.rulebook().version {
            return Ok(false);
        }
        self.core.set_rulebook(versions::compile_version(&head)?);
        Ok(true)
    }

    /// Version history, newest first.
    ///
    /// # Errors
    /// A store failure.
    pub async fn rulebook_versions(&self, limit: u32) -> Result<Vec<RulebookVersion>, StoreError> {
        self.core.store.rulebook_versions(limit).await
    }
}
