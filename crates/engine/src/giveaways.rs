//! What operators do with sign-up lists and lotteries through the API, and the scheduler's
//! sources for them ([`signup_source`]: throttled re-posts and closings; [`lottery_source`]:
//! draws), listed in [`crate::scheduler::SOURCES`].
//!
//! Every change goes through the pipeline as an `OperatorCommand` event in the group it is
//! about (a lottery's home group), so it is ordered with that group's messages and committed
//! — records, posts, audit rows — in one transaction like any other decision. The event ids
//! are deterministic (`op:<command>:<id>`), so a repeated request is a duplicate the inbox
//! drops.

use chrono::{DateTime, Duration, Utc};
use qunzhu_core::lottery::{EntryCondition, Lottery, LotteryStatus};
use qunzhu_core::signup::Signup;
use qunzhu_core::{BoxFuture, Event, EventKind, GroupKey, Origin, PlatformEventId, Store, StoreError, StoreResult};
use thiserror::Error;

use crate::rules::lottery::draw::{self, Verification};
use crate::rules::lottery::{self, CreateCommand};
use crate::rules::signup::{self, command::MAX_LIMIT, StartCommand};
use crate::scheduler::{self, SourceRun};
use crate::{Engine, EngineError, Processed};

/// Lists and lotteries read per scan; the rest wait for the next one.
const BATCH: u32 = 500;

/// The most winners one lottery may have.
pub const MAX_WINNERS: u32 = 1000;
/// The most groups one lottery may run in.
pub const MAX_GROUPS: usize = 500;
/// The longest title, prize or keyword, in characters.
pub const MAX_TEXT_CHARS: usize = 200;

#[derive(Debug, Error)]
pub enum GiveawayError {
    /// A request field is wrong; `field` names it for the API.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("{0} does not exist")]
    NotFound(String),
    /// The state does not allow it (a list already open, a lottery already drawn…).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for GiveawayError {
    fn from(error: StoreError) -> Self {
        Self::Engine(error.into())
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> GiveawayError {
    GiveawayError::Invalid { field, message: message.into() }
}

fn random_id(prefix: &str, bytes: usize) -> Result<String, GiveawayError> {
    let seed = draw::new_seed().map_err(|e| GiveawayError::Conflict(e.to_string()))?;
    Ok(format!("{prefix}{}", seed.iter().take(bytes).map(|b| format!("{b:02x}")).collect::<String>()))
}

fn text_field(value: &str, field: &'static str, example: &str) -> Result<String, GiveawayError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(field, format!("`{field}` is required, e.g. {example}")));
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid(field, format!("`{field}` is longer than {MAX_TEXT_CHARS} characters")));
    }
    Ok(value.to_owned())
}

/// A lottery to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLottery {
    pub title: String,
    pub prize: String,
    pub winners: u32,
    /// The groups, all of one connector; the first is the home group (where it is drawn).
    pub groups: Vec<GroupKey>,
    pub keyword: Option<String>,
    pub condition: Option<EntryCondition>,
    pub draw_at: DateTime<Utc>,
    /// Post the announcement in its groups.
    pub announce: bool,
}

/// A sign-up list or lottery to act on at a time: the scheduler's tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueTick {
    pub group: GroupKey,
    /// `signup:<id>` or `lottery:<id>`.
    pub job: String,
    pub due_at: DateTime<Utc>,
}

impl DueTick {
    /// The tick: `run_id` `<job>:<due unix secs>`, so the platform event id
    /// `tick:<job>:<due unix secs>:<group>` is the same for every scan and the inbox takes
    /// each run once.
    pub fn event(&self, now: DateTime<Utc>) -> Event {
        scheduler::tick(&self.group, &self.job, &format!("{}:{}", self.job, self.due_at.timestamp()), now)
    }
}

/// The scheduler's source for sign-up lists (throttled re-posts and closings).
pub fn signup_source(engine: &Engine, now: DateTime<Utc>) -> BoxFuture<'_, Result<SourceRun, EngineError>> {
    Box::pin(async move {
        let horizon = now + Duration::seconds(scheduler::INTERVAL_SECS);
        submit_due(engine, due_signups(engine.store().as_ref(), horizon, BATCH).await?, now).await
    })
}

/// The scheduler's source for lottery draws.
pub fn lottery_source(engine: &Engine, now: DateTime<Utc>) -> BoxFuture<'_, Result<SourceRun, EngineError>> {
    Box::pin(async move {
        let horizon = now + Duration::seconds(scheduler::INTERVAL_SECS);
        submit_due(engine, due_lotteries(engine.store().as_ref(), horizon, BATCH).await?, now).await
    })
}

/// Submits the ticks due by `now`; asks to be woken for the ones due before the next scan.
async fn submit_due(engine: &Engine, due: Vec<DueTick>, now: DateTime<Utc>) -> Result<SourceRun, EngineError> {
    let mut run = SourceRun::default();
    let mut ticks = Vec::new();
    for tick in due {
        if tick.due_at > now {
            run.wake_at(tick.due_at);
        } else {
            ticks.push(tick.event(now));
        }
    }
    run.ticks = scheduler::submit_ticks(engine, ticks).await?;
    Ok(run)
}

/// Sign-up lists with a throttled re-post or their closing due by `now`.
///
/// # Errors
/// A store failure.
pub async fn due_signups(store: &dyn Store, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<DueTick>> {
    Ok(store
        .due_signups(now, limit)
        .await?
        .into_iter()
        .filter_map(|s| Some(DueTick { due_at: s.due_at()?, job: signup::job(&s.id), group: s.group }))
        .collect())
}

/// Lotteries whose draw time has come by `now` (ticked in their home group).
///
/// # Errors
/// A store failure.
pub async fn due_lotteries(store: &dyn Store, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<DueTick>> {
    Ok(store
        .due_lotteries(now, limit)
        .await?
        .into_iter()
        .filter_map(|l| Some(DueTick { group: l.home_group()?.clone(), job: lottery::job(&l.id), due_at: l.draw_at }))
        .collect())
}

impl Engine {
    fn operator_event(&self, group: &GroupKey, event_id: String, operator: &str, command: String) -> Event {
        Event {
            origin: Origin { connector: group.connector.clone(), group: group.group.clone(), event_id: PlatformEventId::new(event_id) },
            group_name: None,
            time: self.clock().now(),
            kind: EventKind::OperatorCommand { operator: operator.to_owned(), command },
        }
    }

    fn require_connector(&self, group: &GroupKey, field: &'static str) -> Result<(), GiveawayError> {
        match self.capabilities(&group.connector) {
            Some(_) => Ok(()),
            None => Err(invalid(field, format!("no connector named `{}` is configured", group.connector))),
        }
    }

    /// Starts a sign-up list in a group (posting it there).
    ///
    /// # Errors
    /// A bad title, limit or closing time (`Invalid`), a list already open in the group
    /// (`Conflict`), or an engine failure.
    pub async fn start_signup(
        &self,
        group: &GroupKey,
        title: &str,
        limit: Option<u32>,
        closes_at: Option<DateTime<Utc>>,
        by: &str,
    ) -> Result<(Signup, Processed), GiveawayError> {
        self.require_connector(group, "group")?;
        let title = text_field(title, "title", "\"周六羽毛球\"")?;
        if let Some(limit) = limit.filter(|l| !(1..=MAX_LIMIT).contains(l)) {
            return Err(invalid("limit", format!("the limit {limit} must be from 1 to {MAX_LIMIT}")));
        }
        let now = self.clock().now();
        if closes_at.is_some_and(|at| at <= now) {
            return Err(invalid("closes_at", "the closing time has passed; give a time in the future (RFC 3339, e.g. 2026-06-20T20:00:00+08:00)"));
        }
        if let Some(open) = self.store().open_signup(group).await? {
            return Err(GiveawayError::Conflict(format!("group {group} already has an open sign-up list `{}` ({}); close it first", open.id, open.title)));
        }
        let id = random_id("sg-", 6)?;
        let start = StartCommand { id: id.clone(), title, limit, closes_at };
        let json = serde_json::to_string(&start).map_err(|e| GiveawayError::Conflict(e.to_string()))?;
        let event = self.operator_event(group, format!("op:signup.start:{id}"), by, format!("{}{json}", signup::START_COMMAND));
        let processed = self.submit(event).await?;
        if closes_at.is_some() {
            // Its closing is due work the scheduler should know of before its next scan.
            self.wake_scheduler();
        }
        match self.store().get_signup(&id).await? {
            Some(signup) => Ok((signup, processed)),
            None => Err(GiveawayError::Conflict(format!(
                "the sign-up list was not started: group {group} has another open list, or sign-up lists are disabled in its template"
            ))),
        }
    }

    /// Closes a sign-up list now, with its final post.
    ///
    /// # Errors
    /// An unknown list (`NotFound`), one already closed (`Conflict`), or an engine failure.
    pub async fn close_signup(&self, id: &str, by: &str) -> Result<(Signup, Processed), GiveawayError> {
        let signup = self.store().get_signup(id).await?.ok_or_else(|| GiveawayError::NotFound(format!("sign-up list `{id}`")))?;
        if !signup.is_open() {
            return Err(GiveawayError::Conflict(format!("sign-up list `{id}` is already closed")));
        }
        let event = self.operator_event(&signup.group, format!("op:signup.close:{id}"), by, format!("{}{id}", signup::CLOSE_COMMAND));
        let processed = self.submit(event).await?;
        let signup = self.store().get_signup(id).await?.ok_or_else(|| GiveawayError::NotFound(format!("sign-up list `{id}`")))?;
        if signup.is_open() {
            return Err(GiveawayError::Conflict(format!("sign-up list `{id}` was not closed: sign-up lists are disabled in its group's template")));
        }
        Ok((signup, processed))
    }

    /// Creates a lottery (announcing it in its groups when asked).
    ///
    /// # Errors
    /// A bad field (`Invalid`, naming it), or an engine failure.
    pub async fn create_lottery(&self, new: NewLottery, by: &str) -> Result<(Lottery, Processed), GiveawayError> {
        let title = text_field(&new.title, "title", "\"周末抽奖\"")?;
        let prize = text_field(&new.prize, "prize", "\"保温杯\"")?;
        if !(1..=MAX_WINNERS).contains(&new.winners) {
            return Err(invalid("winners", format!("the number of winners must be from 1 to {MAX_WINNERS}")));
        }
        let Some(home) = new.groups.first().cloned() else {
            return Err(invalid("groups", "at least one group is required, e.g. [\"qq/123456\"]"));
        };
        if new.groups.len() > MAX_GROUPS {
            return Err(invalid("groups", format!("at most {MAX_GROUPS} groups")));
        }
        if new.groups.iter().any(|g| g.connector != home.connector) {
            return Err(invalid("groups", "a lottery runs in the groups of one connector (one community): its entrants are counted per connector"));
        }
        let mut groups: Vec<GroupKey> = Vec::new();
        for group in new.groups {
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
        self.require_connector(&home, "groups")?;
        let keyword = new.keyword.as_deref().map(str::trim).filter(|k| !k.is_empty()).map(|k| text_field(k, "keyword", "\"抽奖\"")).transpose()?;
        if keyword.is_none() && new.condition.is_none() {
            return Err(invalid("keyword", "give a `keyword` to enter by, a `condition`, or both"));
        }
        if new.condition.is_some_and(|c| c.at_least() == 0) {
            return Err(invalid("condition", "`at_least` must be at least 1"));
        }
        let now = self.clock().now();
        if new.draw_at <= now {
            return Err(invalid("draw_at", "the draw time has passed; give a time in the future (RFC 3339, e.g. 2026-06-20T20:00:00+08:00)"));
        }
        let id = random_id("lt-", 8)?;
        let lottery = Lottery {
            id: id.clone(),
            title,
            prize,
            winners: new.winners,
            groups,
            keyword,
            condition: new.condition,
            draw_at: new.draw_at,
            created_by: by.to_owned(),
            created_at: now,
            status: LotteryStatus::Open,
            draw: None,
        };
        let json = serde_json::to_string(&CreateCommand { lottery, announce: new.announce }).map_err(|e| GiveawayError::Conflict(e.to_string()))?;
        let event = self.operator_event(&home, format!("op:lottery.create:{id}"), by, format!("{}{json}", lottery::CREATE_COMMAND));
        let processed = self.submit(event).await?;
        self.wake_scheduler();
        match self.store().get_lottery(&id).await? {
            Some(lottery) => Ok((lottery, processed)),
            None => Err(GiveawayError::Conflict(format!("the lottery was not created: lotteries are disabled in the template of {home}"))),
        }
    }

    /// Draws a lottery now instead of at its time.
    ///
    /// # Errors
    /// An unknown lottery (`NotFound`), one already drawn (`Conflict`), or an engine failure.
    pub async fn draw_lottery(&self, id: &str, by: &str) -> Result<(Lottery, Processed), GiveawayError> {
        let lottery = self.store().get_lottery(id).await?.ok_or_else(|| GiveawayError::NotFound(format!("lottery `{id}`")))?;
        if !lottery.is_open() {
            return Err(GiveawayError::Conflict(format!("lottery `{id}` is already drawn")));
        }
        let home = lottery.home_group().cloned().ok_or_else(|| GiveawayError::NotFound(format!("the groups of lottery `{id}`")))?;
        let event = self.operator_event(&home, format!("op:lottery.draw:{id}"), by, format!("{}{id}", lottery::DRAW_COMMAND));
        let processed = self.submit(event).await?;
        let lottery = self.store().get_lottery(id).await?.ok_or_else(|| GiveawayError::NotFound(format!("lottery `{id}`")))?;
        if lottery.is_open() {
            return Err(GiveawayError::Conflict(format!("lottery `{id}` was not drawn: lotteries are disabled in the template of {home}")));
        }
        Ok((lottery, processed))
    }

    /// Recomputes a drawn lottery's winners from its published record and checks the record
    /// against the stored entries.
    ///
    /// # Errors
    /// An unknown lottery (`NotFound`), one not drawn yet (`Conflict`), a store failure.
    pub async fn verify_lottery(&self, id: &str) -> Result<(Lottery, Verification), GiveawayError> {
        let lottery = self.store().get_lottery(id).await?.ok_or_else(|| GiveawayError::NotFound(format!("lottery `{id}`")))?;
        let Some(record) = &lottery.draw else {
            return Err(GiveawayError::Conflict(format!("lottery `{id}` has not been drawn yet")));
        };
        let stored: Vec<String> = self.store().lottery_entries(id).await?.iter().map(|e| e.entrant()).collect();
        let verification = draw::verify(id, lottery.winners, record, &stored);
        Ok((lottery, verification))
    }
}
