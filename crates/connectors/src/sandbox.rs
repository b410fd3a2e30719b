//! The sandbox: a built-in test chat behind the `/sandbox` page. An operator creates test
//! groups, plays members (join, leave, post, request to join) and watches the bot answer
//! through the same pipeline as on a real platform.
//!
//! The connector only translates, like every other one: the `post_*`/`join`/`leave` helpers
//! record what a member did in the group's transcript and build the normalised [`Event`] to
//! submit; [`Connector::deliver`] applies the engine's actions to the transcript. It holds no
//! feature logic (no welcome text, no moderation).
//!
//! Everything lives **in memory**: transcripts, members and groups start empty after a
//! restart (a sandbox needs no history). Each transcript is a bounded ring of
//! [`TRANSCRIPT_CAPACITY`] entries. New entries are also broadcast for live views
//! ([`SandboxConnector::subscribe`]).
//!
//! Like a real platform, the sandbox reports what the bot's actions cause: an approved join
//! request becomes a [`EventKind::MemberJoined`], a kick or ban a [`EventKind::MemberLeft`].
//! Those follow-up events go to the sink set with [`SandboxConnector::set_event_sink`]
//! (the server submits them to the engine); their event ids derive from the action id, so a
//! redelivered action produces nothing new.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use chrono::{DateTime, Duration, Utc};
use qunzhu_core::{
    Action, ActionKind, BoxFuture, Capabilities, Clock, Connector, ConnectorId, Delivery,
    DeliveryError, Event, EventKind, GroupId, Member, MemberId, Message, MessageId, Origin,
    PlatformEventId, Segment, StaffTask, SystemClock,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::broadcast;

/// The sandbox connector's id.
pub const CONNECTOR_ID: &str = "sandbox";
/// The group every fresh sandbox starts with.
pub const DEFAULT_GROUP_ID: &str = "demo";
/// Entries kept per group; older ones fall off.
pub const TRANSCRIPT_CAPACITY: usize = 500;
/// Most groups one sandbox holds.
pub const MAX_GROUPS: usize = 100;
/// Most members one sandbox group tracks.
pub const MAX_MEMBERS_PER_GROUP: usize = 500;
/// Longest group or member name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest member message, in characters (also declared as the platform's limit).
pub const MAX_MESSAGE_CHARS: usize = 4000;
/// Longest join-request comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 500;
/// Longest member id, in characters.
pub const MAX_MEMBER_ID_CHARS: usize = 64;
/// Follow-up events kept while no sink is attached.
const MAX_QUEUED_FOLLOWUPS: usize = 100;
/// Live-update buffer; a slow viewer that falls further behind reloads the transcript.
const BROADCAST_CAPACITY: usize = 256;

/// Receives events the sandbox "platform" produces on its own (see the module docs).
pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

/// What went wrong with a sandbox request. Each variant has a stable [`code`](Self::code).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SandboxError {
    #[error("no sandbox group `{0}`")]
    UnknownGroup(GroupId),
    #[error("`{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0} is muted until {1}")]
    Muted(String, DateTime<Utc>),
    #[error("{0} is not in the group; let them join first")]
    NotInGroup(String),
    #[error("{0} is already in the group")]
    AlreadyMember(String),
    #[error("{0} is banned from this group")]
    Banned(String),
    #[error("the sandbox is full ({0}); restart the server to clear it")]
    Full(&'static str),
}

impl SandboxError {
    /// A stable snake_case code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownGroup(_) => "unknown_group",
            Self::Invalid { .. } => "invalid_input",
            Self::Muted(..) => "member_muted",
            Self::NotInGroup(_) => "not_in_group",
            Self::AlreadyMember(_) => "already_member",
            Self::Banned(_) => "member_banned",
            Self::Full(_) => "sandbox_full",
        }
    }

    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// A sandbox group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxGroup {
    pub id: GroupId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// The group announcement, once the bot set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement: Option<String>,
}

/// Where a member stands in a sandbox group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// In the group (joined, approved, or already there when first seen posting).
    Joined,
    /// Asked to join; waiting for an answer.
    Requested,
    /// Left, was kicked, or was rejected.
    Out,
    /// Banned: cannot join or ask again.
    Banned,
}

/// A member of a sandbox group, as the sandbox platform sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberState {
    pub member: Member,
    pub status: MemberStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until: Option<DateTime<Utc>>,
}

/// One line of a sandbox group's transcript.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub group: GroupId,
    /// 1, 2, 3… per group, in the order things happened.
    pub seq: u64,
    pub time: DateTime<Utc>,
    #[serde(flatten)]
    pub body: EntryBody,
}

/// What a transcript line shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EntryBody {
    /// A member posted.
    Message {
        author: Member,
        message_id: MessageId,
        segments: Vec<Segment>,
        #[serde(default)]
        deleted: bool,
    },
    MemberJoined {
        member: Member,
    },
    MemberLeft {
        member: Member,
        /// Removed by the bot rather than leaving on their own.
        #[serde(default)]
        removed: bool,
    },
    JoinRequested {
        member: Member,
        request_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// The bot did something: the delivered action with its rule and explanation. Sends and
    /// replies carry the id the message got in the group.
    Bot {
        action: Action,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<MessageId>,
        #[serde(default)]
        deleted: bool,
    },
    /// The engine made a staff task (待办) instead of an action.
    StaffTask {
        task: StaffTask,
    },
}

impl EntryBody {
    /// The message this line shows, if it is one (member or bot message).
    fn message_id(&self) -> Option<&MessageId> {
        match self {
            Self::Message { message_id, .. } => Some(message_id),
            Self::Bot { message_id, .. } => message_id.as_ref(),
            _ => None,
        }
    }

    fn mark_deleted(&mut self) {
        match self {
            Self::Message { deleted, .. } | Self::Bot { deleted, .. } => *deleted = true,
            _ => {}
        }
    }
}

/// A group's transcript and members.
struct GroupState {
    info: SandboxGroup,
    transcript: VecDeque<Entry>,
    next_seq: u64,
    members: BTreeMap<MemberId, MemberState>,
}

impl GroupState {
    fn new(info: SandboxGroup) -> Self {
        Self {
            info,
            transcript: VecDeque::new(),
            next_seq: 1,
            members: BTreeMap::new(),
        }
    }
}

#[derive(Default)]
struct State {
    groups: BTreeMap<GroupId, GroupState>,
    next_group: u64,
}

/// See the module documentation.
pub struct SandboxConnector {
    id: ConnectorId,
    capabilities: Capabilities,
    clock: Arc<dyn Clock>,
    /// Distinguishes this process's ids from an earlier run's (the inbox remembers those).
    instance: String,
    counter: AtomicU64,
    state: Mutex<State>,
    updates: broadcast::Sender<Entry>,
    sink: OnceLock<EventSink>,
    queued_followups: Mutex<Vec<Event>>,
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Default for SandboxConnector {
    fn default() -> Self {
        Self::new()
    }
}

impl SandboxConnector {
    /// An empty sandbox on the wall clock, with its default group.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty sandbox reading time from `clock`, with its default group.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        let now = clock.now();
        let instance = format!(
            "{:x}",
            now.timestamp_nanos_opt()
                .unwrap_or_else(|| now.timestamp_micros())
        );
        let capabilities = Capabilities {
            max_message_chars: Some(MAX_MESSAGE_CHARS as u32),
            // Generous, but enough to show throttling when a rule misbehaves.
            sends_per_minute_per_group: Some(60),
            // Matches QQ's 30-day limit so mute ladders behave as they will in production.
            max_mute_secs: Some(30 * 24 * 3600),
            ..Capabilities::all()
        };
        let (updates, _) = broadcast::channel(BROADCAST_CAPACITY);
        let sandbox = Self {
            id: ConnectorId::new(CONNECTOR_ID),
            capabilities,
            clock,
            instance,
            counter: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            updates,
            sink: OnceLock::new(),
            queued_followups: Mutex::new(Vec::new()),
            stopping: tokio::sync::watch::channel(false).0,
        };
        sandbox.state().groups.insert(
            GroupId::new(DEFAULT_GROUP_ID),
            GroupState::new(SandboxGroup {
                id: GroupId::new(DEFAULT_GROUP_ID),
                name: "测试群".into(),
                created_at: now,
                announcement: None,
            }),
        );
        sandbox
    }

    /// Identifies this run; it changes on restart, when every transcript starts over.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn next_id(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{prefix}-{}-{n}", self.instance)
    }

    /// Tells live viewers waiting for entries to answer now (the server is stopping).
    pub fn begin_shutdown(&self) {
        self.stopping.send_replace(true);
    }

    /// Becomes `true` when [`begin_shutdown`](Self::begin_shutdown) was called.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// A fresh member id, for members created without one.
    pub fn new_member_id(&self) -> String {
        self.next_id("u")
    }

    /// Receives live transcript entries of every group (filter by [`Entry::group`]).
    pub fn subscribe(&self) -> broadcast::Receiver<Entry> {
        self.updates.subscribe()
    }

    /// Sets where follow-up events go (once; later calls are ignored and return `false`).
    /// Events produced before a sink was set are handed to it now.
    pub fn set_event_sink(&self, sink: EventSink) -> bool {
        if self.sink.set(sink).is_err() {
            return false;
        }
        let queued = std::mem::take(
            &mut *self
                .queued_followups
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        if let Some(sink) = self.sink.get() {
            for event in queued {
                sink(event);
            }
        }
        true
    }

    fn emit(&self, event: Event) {
        match self.sink.get() {
            Some(sink) => sink(event),
            None => {
                let mut queue = self
                    .queued_followups
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                if queue.len() < MAX_QUEUED_FOLLOWUPS {
                    queue.push(event);
                }
            }
        }
    }

    /// Takes follow-up events produced while no sink was set (for tests and tools).
    pub fn take_queued_followups(&self) -> Vec<Event> {
        std::mem::take(
            &mut *self
                .queued_followups
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        )
    }

    // ----- groups -------------------------------------------------------------------------

    /// Creates a group.
    ///
    /// # Errors
    /// A blank or too long name, or too many groups.
    pub fn create_group(&self, name: &str) -> Result<SandboxGroup, SandboxError> {
        let name = clean_name("name", name)?;
        let mut state = self.state();
        if state.groups.len() >= MAX_GROUPS {
            return Err(SandboxError::Full("groups"));
        }
        let id = loop {
            state.next_group += 1;
            let id = GroupId::new(format!("g{}", state.next_group));
            if !state.groups.contains_key(&id) {
                break id;
            }
        };
        let info = SandboxGroup {
            id: id.clone(),
            name,
            created_at: self.clock.now(),
            announcement: None,
        };
        state.groups.insert(id, GroupState::new(info.clone()));
        Ok(info)
    }

    /// Makes a group known again under its earlier id (after a restart the engine's store
    /// still knows it). Does nothing when the group exists or the sandbox is full.
    pub fn restore_group(&self, id: &GroupId, name: &str) {
        let mut state = self.state();
        if state.groups.contains_key(id) || state.groups.len() >= MAX_GROUPS {
            return;
        }
        let name = clean_name("name", name).unwrap_or_else(|_| id.to_string());
        let info = SandboxGroup {
            id: id.clone(),
            name,
            created_at: self.clock.now(),
            announcement: None,
        };
        state.groups.insert(id.clone(), GroupState::new(info));
    }

    /// All groups, by id.
    pub fn groups(&self) -> Vec<SandboxGroup> {
        self.state()
            .groups
            .values()
            .map(|g| g.info.clone())
            .collect()
    }

    /// # Errors
    /// [`SandboxError::UnknownGroup`].
    pub fn group(&self, id: &GroupId) -> Result<SandboxGroup, SandboxError> {
        self.state()
            .groups
            .get(id)
            .map(|g| g.info.clone())
            .ok_or_else(|| SandboxError::UnknownGroup(id.clone()))
    }

    /// The group's transcript entries with `seq > after`, oldest first.
    ///
    /// # Errors
    /// [`SandboxError::UnknownGroup`].
    pub fn transcript(&self, id: &GroupId, after: u64) -> Result<Vec<Entry>, SandboxError> {
        let state = self.state();
        let group = state
            .groups
            .get(id)
            .ok_or_else(|| SandboxError::UnknownGroup(id.clone()))?;
        Ok(group
            .transcript
            .iter()
            .filter(|e| e.seq > after)
            .cloned()
            .collect())
    }

    /// Members the group has seen, by id.
    ///
    /// # Errors
    /// [`SandboxError::UnknownGroup`].
    pub fn members(&self, id: &GroupId) -> Result<Vec<MemberState>, SandboxError> {
        let state = self.state();
        let group = state
            .groups
            .get(id)
            .ok_or_else(|| SandboxError::UnknownGroup(id.clone()))?;
        Ok(group.members.values().cloned().collect())
    }

    /// Shows a staff task the engine made for this group in its transcript.
    ///
    /// # Errors
    /// [`SandboxError::UnknownGroup`].
    pub fn record_task(&self, task: &StaffTask) -> Result<Entry, SandboxError> {
        let mut state = self.state();
        let group = state
            .groups
            .get_mut(&task.group.group)
            .ok_or_else(|| SandboxError::UnknownGroup(task.group.group.clone()))?;
        Ok(self.append(group, EntryBody::StaffTask { task: task.clone() }))
    }

    fn append(&self, group: &mut GroupState, body: EntryBody) -> Entry {
        let entry = Entry {
            group: group.info.id.clone(),
            seq: group.next_seq,
            time: self.clock.now(),
            body,
        };
        group.next_seq += 1;
        if group.transcript.len() >= TRANSCRIPT_CAPACITY {
            group.transcript.pop_front();
        }
        group.transcript.push_back(entry.clone());
        // Nobody watching is fine.
        let _ = self.updates.send(entry.clone());
        entry
    }

    // ----- what members do: recorded, and returned as events to submit -----------------------

    /// `member` joins the group.
    ///
    /// # Errors
    /// Unknown group, bad member, already in the group, or banned.
    pub fn join(&self, group: &GroupId, member: Member) -> Result<Event, SandboxError> {
        self.join_through(group, member, None)
    }

    /// `member` joins the group through an invite carrying `invite_code` (a channel's 活码),
    /// as a platform's named invite link reports it.
    ///
    /// # Errors
    /// As [`Self::join`].
    pub fn join_through(&self, group: &GroupId, member: Member, invite_code: Option<String>) -> Result<Event, SandboxError> {
        let member = clean_member(member)?;
        self.act(group, &member, |this, g| {
            match g.members.get(&member.id).map(|m| m.status) {
                Some(MemberStatus::Joined) => {
                    return Err(SandboxError::AlreadyMember(
                        member.display_name().to_owned(),
                    ));
                }
                Some(MemberStatus::Banned) => {
                    return Err(SandboxError::Banned(member.display_name().to_owned()));
                }
                _ => {}
            }
            set_status(g, &member, MemberStatus::Joined);
            this.append(
                g,
                EntryBody::MemberJoined {
                    member: member.clone(),
                },
            );
            Ok(EventKind::MemberJoined {
                member: member.clone(),
                inviter: None,
                invite_code: invite_code.clone(),
                join_scene: None,
            })
        })
    }

    /// `member` leaves the group on their own.
    ///
    /// # Errors
    /// Unknown group, bad member, or not in the group.
    pub fn leave(&self, group: &GroupId, member: Member) -> Result<Event, SandboxError> {
        let member = clean_member(member)?;
        self.act(group, &member, |this, g| {
            // A member never seen before counts as one who was there before the bot.
            if matches!(g.members.get(&member.id).map(|m| m.status), Some(s) if s != MemberStatus::Joined) {
                return Err(SandboxError::NotInGroup(member.display_name().to_owned()));
            }
            set_status(g, &member, MemberStatus::Out);
            this.append(g, EntryBody::MemberLeft { member: member.clone(), removed: false });
            Ok(EventKind::MemberLeft { member: member.clone(), removed_by: None })
        })
    }

    /// `member` posts `text`.
    ///
    /// # Errors
    /// Unknown group, bad member or text, not in the group, or muted.
    pub fn post_text(
        &self,
        group: &GroupId,
        member: Member,
        text: &str,
    ) -> Result<Event, SandboxError> {
        let member = clean_member(member)?;
        if text.trim().is_empty() {
            return Err(SandboxError::invalid("text", "the message is empty"));
        }
        if text.chars().count() > MAX_MESSAGE_CHARS {
            return Err(SandboxError::invalid(
                "text",
                format!("longer than {MAX_MESSAGE_CHARS} characters"),
            ));
        }
        let now = self.clock.now();
        self.act(group, &member, |this, g| {
            match g.members.get(&member.id) {
                Some(state) if state.status != MemberStatus::Joined => {
                    return Err(SandboxError::NotInGroup(member.display_name().to_owned()));
                }
                Some(MemberState {
                    muted_until: Some(until),
                    ..
                }) if *until > now => {
                    return Err(SandboxError::Muted(
                        member.display_name().to_owned(),
                        *until,
                    ));
                }
                _ => {}
            }
            set_status(g, &member, MemberStatus::Joined);
            let message = Message::text(this.next_id("m"), text);
            this.append(
                g,
                EntryBody::Message {
                    author: member.clone(),
                    message_id: message.id.clone(),
                    segments: message.segments.clone(),
                    deleted: false,
                },
            );
            Ok(EventKind::MessagePosted {
                author: member.clone(),
                message,
            })
        })
    }

    /// `member` asks to join, optionally with a comment (the answer to the group's question).
    ///
    /// # Errors
    /// Unknown group, bad member or comment, already in the group, or banned.
    pub fn request_join(
        &self,
        group: &GroupId,
        member: Member,
        comment: Option<&str>,
    ) -> Result<Event, SandboxError> {
        let member = clean_member(member)?;
        let comment = comment
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if comment
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
        {
            return Err(SandboxError::invalid(
                "comment",
                format!("longer than {MAX_COMMENT_CHARS} characters"),
            ));
        }
        self.act(group, &member, |this, g| {
            match g.members.get(&member.id).map(|m| m.status) {
                Some(MemberStatus::Joined) => {
                    return Err(SandboxError::AlreadyMember(
                        member.display_name().to_owned(),
                    ));
                }
                Some(MemberStatus::Banned) => {
                    return Err(SandboxError::Banned(member.display_name().to_owned()));
                }
                _ => {}
            }
            set_status(g, &member, MemberStatus::Requested);
            let request_id = this.next_id("r");
            this.append(
                g,
                EntryBody::JoinRequested {
                    member: member.clone(),
                    request_id: request_id.clone(),
                    comment: comment.clone(),
                },
            );
            Ok(EventKind::JoinRequested {
                member: member.clone(),
                request_id,
                comment: comment.clone(),
            })
        })
    }

    /// Runs one member action under the lock and wraps its event.
    fn act(
        &self,
        group: &GroupId,
        member: &Member,
        f: impl FnOnce(&Self, &mut GroupState) -> Result<EventKind, SandboxError>,
    ) -> Result<Event, SandboxError> {
        let mut state = self.state();
        let g = state
            .groups
            .get_mut(group)
            .ok_or_else(|| SandboxError::UnknownGroup(group.clone()))?;
        if !g.members.contains_key(&member.id) && g.members.len() >= MAX_MEMBERS_PER_GROUP {
            return Err(SandboxError::Full("members"));
        }
        let kind = f(self, g)?;
        let group_name = g.info.name.clone();
        Ok(self.event(
            group,
            group_name,
            PlatformEventId::new(self.next_id("e")),
            kind,
        ))
    }

    fn event(
        &self,
        group: &GroupId,
        group_name: String,
        event_id: PlatformEventId,
        kind: EventKind,
    ) -> Event {
        Event {
            origin: Origin {
                connector: self.id.clone(),
                group: group.clone(),
                event_id,
            },
            group_name: Some(group_name),
            time: self.clock.now(),
            kind,
        }
    }

    /// The bot as an actor in follow-up events.
    fn bot(&self) -> Member {
        Member::new("qunzhu", "qunzhu")
    }

    // ----- what the bot does ------------------------------------------------------------------

    fn apply(&self, action: &Action) -> Vec<Event> {
        let mut state = self.state();
        let group_id = action.group.group.clone();
        if state.groups.len() >= MAX_GROUPS && !state.groups.contains_key(&group_id) {
            return Vec::new();
        }
        // An action for a group this run never saw (decided before a restart) revives it.
        let g = state.groups.entry(group_id.clone()).or_insert_with(|| {
            GroupState::new(SandboxGroup {
                id: group_id.clone(),
                name: group_id.to_string(),
                created_at: self.clock.now(),
                announcement: None,
            })
        });
        // The outbox may hand over an action again after a crash; apply it once.
        if g.transcript
            .iter()
            .any(|e| matches!(&e.body, EntryBody::Bot { action: a, .. } if a.id == action.id))
        {
            return Vec::new();
        }
        let mut followups = Vec::new();
        let group_name = g.info.name.clone();
        let followup_id = |suffix: &str| PlatformEventId::new(format!("{}.{suffix}", action.id));
        let mut message_id = None;
        match &action.kind {
            ActionKind::Send { .. } | ActionKind::Reply { .. } => {
                message_id = Some(MessageId::new(self.next_id("b")))
            }
            ActionKind::Delete { message_id: target } => {
                if let Some(entry) = g
                    .transcript
                    .iter_mut()
                    .find(|e| e.body.message_id() == Some(target))
                {
                    entry.body.mark_deleted();
                }
            }
            ActionKind::Mute {
                member,
                duration_secs,
            } => {
                let until = i64::try_from(*duration_secs)
                    .ok()
                    .and_then(Duration::try_seconds)
                    .and_then(|d| self.clock.now().checked_add_signed(d))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                let state = g
                    .members
                    .entry(member.clone())
                    .or_insert_with(|| unknown_member(member));
                state.muted_until = if *duration_secs == 0 {
                    None
                } else {
                    Some(until)
                };
            }
            ActionKind::Unmute { member } => {
                if let Some(state) = g.members.get_mut(member) {
                    state.muted_until = None;
                }
            }
            ActionKind::Unban { member } => {
                if let Some(state) = g.members.get_mut(member)
                    && state.status == MemberStatus::Banned
                {
                    state.status = MemberStatus::Out;
                }
            }
            ActionKind::Kick { member } | ActionKind::Ban { member } => {
                let banned = matches!(action.kind, ActionKind::Ban { .. });
                let state = g
                    .members
                    .entry(member.clone())
                    .or_insert_with(|| unknown_member(member));
                let was_in = state.status == MemberStatus::Joined;
                state.status = if banned {
                    MemberStatus::Banned
                } else {
                    MemberStatus::Out
                };
                let gone = state.member.clone();
                if was_in {
                    followups.push(self.event(
                        &group_id,
                        group_name.clone(),
                        followup_id("left"),
                        EventKind::MemberLeft {
                            member: gone,
                            removed_by: Some(self.bot()),
                        },
                    ));
                }
            }
            ActionKind::ApproveJoin { member, .. } => {
                let state = g
                    .members
                    .entry(member.clone())
                    .or_insert_with(|| unknown_member(member));
                if state.status != MemberStatus::Joined && state.status != MemberStatus::Banned {
                    state.status = MemberStatus::Joined;
                    let joined = state.member.clone();
                    followups.push(self.event(
                        &group_id,
                        group_name.clone(),
                        followup_id("joined"),
                        EventKind::MemberJoined {
                            member: joined,
                            inviter: None,
                            invite_code: None,
                            join_scene: None,
                        },
                    ));
                }
            }
            ActionKind::RejectJoin { member, .. } => {
                let state = g
                    .members
                    .entry(member.clone())
                    .or_insert_with(|| unknown_member(member));
                if state.status == MemberStatus::Requested {
                    state.status = MemberStatus::Out;
                }
            }
            ActionKind::SetAnnouncement { text } => g.info.announcement = Some(text.clone()),
            ActionKind::DirectMessage { .. } | ActionKind::NotifyStaff { .. } | ActionKind::Webhook { .. } => {}
        }
        self.append(
            g,
            EntryBody::Bot {
                action: action.clone(),
                message_id,
                deleted: false,
            },
        );
        for event in &followups {
            // The platform shows what the action caused, as it would on QQ.
            match &event.kind {
                EventKind::MemberJoined { member, .. } => {
                    self.append(
                        g,
                        EntryBody::MemberJoined {
                            member: member.clone(),
                        },
                    );
                }
                EventKind::MemberLeft { member, .. } => {
                    self.append(
                        g,
                        EntryBody::MemberLeft {
                            member: member.clone(),
                            removed: true,
                        },
                    );
                }
                _ => {}
            }
        }
        followups
    }
}

impl Connector for SandboxConnector {
    fn id(&self) -> &ConnectorId {
        &self.id
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn deliver<'a>(&'a self, action: &'a Action) -> BoxFuture<'a, Result<Delivery, DeliveryError>> {
        let followups = self.apply(action);
        for event in followups {
            self.emit(event);
        }
        Box::pin(std::future::ready(Ok(Delivery::Done)))
    }
}

fn set_status(group: &mut GroupState, member: &Member, status: MemberStatus) {
    let state = group
        .members
        .entry(member.id.clone())
        .or_insert_with(|| MemberState {
            member: member.clone(),
            status,
            muted_until: None,
        });
    // Names change on real platforms too; keep the latest.
    state.member = member.clone();
    state.status = status;
}

fn unknown_member(id: &MemberId) -> MemberState {
    MemberState {
        member: Member {
            id: id.clone(),
            name: None,
            role: Default::default(),
        },
        status: MemberStatus::Joined,
        muted_until: None,
    }
}

fn clean_name(field: &'static str, name: &str) -> Result<String, SandboxError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(SandboxError::invalid(field, "the name is empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(SandboxError::invalid(
            field,
            format!("longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(SandboxError::invalid(field, "contains control characters"));
    }
    Ok(name.to_owned())
}

fn clean_member(mut member: Member) -> Result<Member, SandboxError> {
    let id = member.id.as_str();
    if id.is_empty() || id.chars().count() > MAX_MEMBER_ID_CHARS {
        return Err(SandboxError::invalid(
            "member.id",
            format!("must be 1 to {MAX_MEMBER_ID_CHARS} characters"),
        ));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(SandboxError::invalid(
            "member.id",
            "use letters, digits, `-` and `_` only",
        ));
    }
    let name = clean_name("member.name", member.name.as_deref().unwrap_or_default())?;
    member.name = Some(name);
    Ok(member)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use qunzhu_core::{GroupKey, ManualClock, TaskId, TaskStatus};

    use super::*;

    fn sandbox() -> (Arc<ManualClock>, SandboxConnector) {
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap(),
        ));
        let sandbox = SandboxConnector::with_clock(clock.clone());
        (clock, sandbox)
    }

    fn demo() -> GroupId {
        GroupId::new(DEFAULT_GROUP_ID)
    }

    fn action(id: &str, kind: ActionKind) -> Action {
        Action {
            id: id.into(),
            group: GroupKey::new(CONNECTOR_ID, DEFAULT_GROUP_ID),
            kind,
            rule: "welcome".into(),
            cause: None,
            explanation: "因为测试".into(),
            not_before: None,
            created_at: Utc::now(),
        }
    }

    async fn deliver(sandbox: &SandboxConnector, action: &Action) {
        assert_eq!(sandbox.deliver(action).await, Ok(Delivery::Done));
    }

    #[test]
    fn a_fresh_sandbox_has_the_default_group_and_declares_every_capability() {
        let (_, sandbox) = sandbox();
        assert_eq!(sandbox.id().as_str(), "sandbox");
        assert_eq!(sandbox.groups().len(), 1);
        assert_eq!(sandbox.groups()[0].id, demo());
        for capability in qunzhu_core::Capability::ALL {
            assert!(sandbox.capabilities().can(capability), "{capability}");
        }
        assert!(sandbox.capabilities().max_message_chars.is_some());
    }

    #[test]
    fn member_actions_build_events_with_unique_ids_and_land_in_the_transcript() {
        let (_, sandbox) = sandbox();
        let group = sandbox.create_group("粉丝1群").unwrap();
        let joined = sandbox.join(&group.id, Member::new("u1", "小王")).unwrap();
        let posted = sandbox
            .post_text(&group.id, Member::new("u1", "小王"), "大家好")
            .unwrap();
        let asked = sandbox
            .request_join(&group.id, Member::new("u2", "小李"), Some("朋友推荐"))
            .unwrap();
        let left = sandbox.leave(&group.id, Member::new("u1", "小王")).unwrap();

        let ids: std::collections::HashSet<_> = [&joined, &posted, &asked, &left]
            .iter()
            .map(|e| e.origin.event_id.clone())
            .collect();
        assert_eq!(ids.len(), 4, "event ids are unique");
        assert_eq!(joined.origin.connector.as_str(), "sandbox");
        assert_eq!(joined.group_name.as_deref(), Some("粉丝1群"));
        assert!(
            matches!(&posted.kind, EventKind::MessagePosted { message, .. } if message.plain_text() == "大家好")
        );
        assert!(
            matches!(&asked.kind, EventKind::JoinRequested { comment: Some(c), .. } if c == "朋友推荐")
        );

        let transcript = sandbox.transcript(&group.id, 0).unwrap();
        let kinds: Vec<_> = transcript
            .iter()
            .map(|e| {
                serde_json::to_value(e).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            kinds,
            ["member_joined", "message", "join_requested", "member_left"]
        );
        assert_eq!(
            transcript.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(sandbox.transcript(&group.id, 3).unwrap().len(), 1);
    }

    #[test]
    fn the_sandbox_refuses_what_a_platform_would_refuse() {
        let (_, sandbox) = sandbox();
        let g = demo();
        assert_eq!(
            sandbox
                .join(&GroupId::new("nope"), Member::new("u1", "A"))
                .unwrap_err()
                .code(),
            "unknown_group"
        );
        assert_eq!(
            sandbox
                .join(&g, Member::new("u 1", "A"))
                .unwrap_err()
                .code(),
            "invalid_input"
        );
        assert_eq!(
            sandbox.join(&g, Member::new("u1", " ")).unwrap_err().code(),
            "invalid_input"
        );
        assert_eq!(
            sandbox
                .post_text(&g, Member::new("u1", "A"), "  ")
                .unwrap_err()
                .code(),
            "invalid_input"
        );
        assert_eq!(
            sandbox.create_group("").unwrap_err().code(),
            "invalid_input"
        );
        sandbox.join(&g, Member::new("u1", "A")).unwrap();
        assert_eq!(
            sandbox.join(&g, Member::new("u1", "A")).unwrap_err().code(),
            "already_member"
        );
        sandbox.leave(&g, Member::new("u1", "A")).unwrap();
        assert_eq!(
            sandbox
                .post_text(&g, Member::new("u1", "A"), "hi")
                .unwrap_err()
                .code(),
            "not_in_group"
        );
        // Someone never seen before was there before the bot: they may post right away.
        sandbox
            .post_text(&g, Member::new("old", "老成员"), "hi")
            .unwrap();
    }

    #[tokio::test]
    async fn delivered_sends_show_as_bot_messages_with_their_explanation() {
        let (_, sandbox) = sandbox();
        let mention = Segment::Mention {
            member: "u1".into(),
            name: Some("小王".into()),
        };
        let send = action(
            "e1.0",
            ActionKind::Send {
                segments: vec![Segment::text("欢迎 "), mention.clone()],
            },
        );
        deliver(&sandbox, &send).await;
        let transcript = sandbox.transcript(&demo(), 0).unwrap();
        assert_eq!(transcript.len(), 1);
        let EntryBody::Bot {
            action,
            message_id,
            deleted,
        } = &transcript[0].body
        else {
            panic!("{transcript:?}")
        };
        assert_eq!(action.explanation, "因为测试");
        assert!(
            matches!(&action.kind, ActionKind::Send { segments } if segments.contains(&mention))
        );
        assert!(message_id.is_some());
        assert!(!deleted);

        // A redelivery (the outbox retrying after a crash) is applied once.
        deliver(&sandbox, &send).await;
        assert_eq!(sandbox.transcript(&demo(), 0).unwrap().len(), 1);
    }

    #[tokio::test]
    async fn delete_marks_the_message_deleted_and_mute_blocks_posting_until_it_ends() {
        let (clock, sandbox) = sandbox();
        let posted = sandbox
            .post_text(&demo(), Member::new("u1", "小王"), "加V信")
            .unwrap();
        let EventKind::MessagePosted { message, .. } = &posted.kind else {
            panic!()
        };
        deliver(
            &sandbox,
            &action(
                "e2.0",
                ActionKind::Delete {
                    message_id: message.id.clone(),
                },
            ),
        )
        .await;
        deliver(
            &sandbox,
            &action(
                "e2.1",
                ActionKind::Mute {
                    member: "u1".into(),
                    duration_secs: 600,
                },
            ),
        )
        .await;

        let transcript = sandbox.transcript(&demo(), 0).unwrap();
        assert!(matches!(
            &transcript[0].body,
            EntryBody::Message { deleted: true, .. }
        ));
        assert!(
            matches!(&transcript[1].body, EntryBody::Bot { action, .. } if action.kind.name() == "delete")
        );
        assert!(
            matches!(&transcript[2].body, EntryBody::Bot { action, .. } if action.kind.name() == "mute")
        );
        assert_eq!(
            sandbox
                .post_text(&demo(), Member::new("u1", "小王"), "?")
                .unwrap_err()
                .code(),
            "member_muted"
        );
        clock.advance(Duration::seconds(601));
        sandbox
            .post_text(&demo(), Member::new("u1", "小王"), "好的")
            .unwrap();
    }

    #[tokio::test]
    async fn approving_a_request_lets_the_member_in_and_reports_the_join_once() {
        let (_, sandbox) = sandbox();
        let asked = sandbox
            .request_join(&demo(), Member::new("u2", "小李"), None)
            .unwrap();
        let EventKind::JoinRequested { request_id, .. } = asked.kind else {
            panic!()
        };
        let approve = action(
            "e3.0",
            ActionKind::ApproveJoin {
                request_id,
                member: "u2".into(),
            },
        );
        deliver(&sandbox, &approve).await;
        deliver(&sandbox, &approve).await;

        let followups = sandbox.take_queued_followups();
        assert_eq!(followups.len(), 1);
        assert_eq!(followups[0].origin.event_id.as_str(), "e3.0.joined");
        assert!(
            matches!(&followups[0].kind, EventKind::MemberJoined { member, .. } if member.display_name() == "小李")
        );
        let members = sandbox.members(&demo()).unwrap();
        assert_eq!(members[0].status, MemberStatus::Joined);
        let last = sandbox.transcript(&demo(), 0).unwrap().pop().unwrap();
        assert!(matches!(last.body, EntryBody::MemberJoined { .. }));
    }

    #[tokio::test]
    async fn kicks_and_bans_remove_the_member_and_a_ban_keeps_them_out() {
        let (_, sandbox) = sandbox();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink_seen = seen.clone();
        assert!(
            sandbox.set_event_sink(Arc::new(move |e: Event| sink_seen.lock().unwrap().push(e)))
        );
        sandbox.join(&demo(), Member::new("u3", "广告哥")).unwrap();
        deliver(
            &sandbox,
            &action(
                "e4.0",
                ActionKind::Ban {
                    member: "u3".into(),
                },
            ),
        )
        .await;
        assert_eq!(
            sandbox
                .join(&demo(), Member::new("u3", "广告哥"))
                .unwrap_err()
                .code(),
            "member_banned"
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert!(matches!(
            &seen[0].kind,
            EventKind::MemberLeft {
                removed_by: Some(_),
                ..
            }
        ));
    }

    #[tokio::test]
    async fn live_viewers_receive_member_and_bot_entries() {
        let (_, sandbox) = sandbox();
        let mut updates = sandbox.subscribe();
        sandbox.join(&demo(), Member::new("u1", "小王")).unwrap();
        deliver(
            &sandbox,
            &action(
                "e5.0",
                ActionKind::NotifyStaff {
                    text: "有人入群".into(),
                },
            ),
        )
        .await;
        let first = updates.recv().await.unwrap();
        let second = updates.recv().await.unwrap();
        assert!(matches!(first.body, EntryBody::MemberJoined { .. }));
        assert!(
            matches!(second.body, EntryBody::Bot { ref action, .. } if action.kind.name() == "notify_staff")
        );
        assert_eq!(second.seq, first.seq + 1);
    }

    #[test]
    fn the_transcript_keeps_only_the_newest_entries() {
        let (_, sandbox) = sandbox();
        for i in 0..TRANSCRIPT_CAPACITY + 20 {
            sandbox
                .post_text(&demo(), Member::new("u1", "小王"), &format!("第 {i} 条"))
                .unwrap();
        }
        let transcript = sandbox.transcript(&demo(), 0).unwrap();
        assert_eq!(transcript.len(), TRANSCRIPT_CAPACITY);
        assert_eq!(transcript[0].seq, 21);
        assert_eq!(
            transcript.last().unwrap().seq,
            (TRANSCRIPT_CAPACITY + 20) as u64
        );
    }

    #[test]
    fn staff_tasks_show_in_the_transcript() {
        let (_, sandbox) = sandbox();
        let task = StaffTask {
            id: TaskId::new("t1"),
            group: GroupKey::new(CONNECTOR_ID, DEFAULT_GROUP_ID),
            title: "移出成员".into(),
            step: "将 小王 移出群".into(),
            action: action(
                "e6.0",
                ActionKind::Kick {
                    member: "u1".into(),
                },
            ),
            status: TaskStatus::Open,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            updated_by: None,
        };
        let entry = sandbox.record_task(&task).unwrap();
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["type"], "staff_task");
        assert_eq!(json["task"]["step"], "将 小王 移出群");
    }

    #[test]
    fn ids_of_two_runs_differ_so_the_inbox_never_mistakes_new_events_for_old_ones() {
        let (clock, first) = sandbox();
        clock.advance(Duration::seconds(5));
        let second = SandboxConnector::with_clock(clock.clone());
        let a = first.join(&demo(), Member::new("u1", "A")).unwrap();
        let b = second.join(&demo(), Member::new("u1", "A")).unwrap();
        assert_ne!(a.origin.event_id, b.origin.event_id);
    }
}
