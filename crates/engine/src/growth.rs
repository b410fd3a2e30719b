//! What operators do with referrals and counters through the API, and the scheduler's
//! source for referral validation ([`referral_source`], listed in
//! [`crate::scheduler::SOURCES`]).
//!
//! A counter increment goes through the pipeline as an `OperatorCommand` event in its group
//! (`counter.increment {json}`, event id `op:counter.increment:<group>:<name>:<key>`), so the
//! `growth` rule decides the milestone like everything else and an idempotency key makes a
//! repeated request a duplicate the inbox drops. Invite codes and campaigns are the operator's
//! records, saved directly (campaigns with an audit row).

use chrono::{DateTime, Duration, Utc};
use qunzhu_core::growth::{Referral, ReferralCampaign, ReferralCode, ReferralFilter, ReferralStatus};
use qunzhu_core::{BoxFuture, ConnectorId, EventKind, Event, GroupKey, MemberId, NewAuditEntry, Origin, PlatformEventId, StoreError};
use serde::Serialize;
use thiserror::Error;

use crate::rules::growth::fraud::{self, FraudFlag};
use crate::rules::growth::settings::MAX_DAYS;
use crate::rules::growth::{self as rule, CounterCommand, valid_counter_name};
use crate::scheduler::{self, SourceRun};
use crate::{Engine, EngineError, Processed};

/// Referrals read per scan; the rest wait for the next one.
const BATCH: u32 = 500;
/// Referrals read for a leaderboard or the fraud flags.
pub const SCAN_LIMIT: u32 = 100_000;
/// The largest single counter increment (either sign).
pub const MAX_INCREMENT: i64 = 1_000_000_000;

#[derive(Debug, Error)]
pub enum GrowthError {
    /// A request field is wrong; `field` names it for the API.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("{0} does not exist")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for GrowthError {
    fn from(error: StoreError) -> Self {
        Self::Engine(error.into())
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> GrowthError {
    GrowthError::Invalid { field, message: message.into() }
}

/// The scheduler's source: pending referrals whose invitee spoke and stayed become ticks
/// (`referral:<id>`, run id `referral:<id>:<due unix secs>`, so each is ticked once).
pub fn referral_source(engine: &Engine, now: DateTime<Utc>) -> BoxFuture<'_, Result<SourceRun, EngineError>> {
    Box::pin(async move {
        let horizon = now + Duration::seconds(scheduler::INTERVAL_SECS);
        let mut run = SourceRun::default();
        let mut ticks = Vec::new();
        for referral in engine.store().due_referrals(horizon, BATCH).await? {
            if referral.due_at > now {
                run.wake_at(referral.due_at);
            } else {
                let job = rule::job(&referral.id);
                ticks.push(scheduler::tick(&referral.group, &job, &format!("{job}:{}", referral.due_at.timestamp()), now));
            }
        }
        run.ticks = scheduler::submit_ticks(engine, ticks).await?;
        Ok(run)
    })
}

/// An inviter's place on a referral leaderboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InviterRow {
    pub inviter: MemberId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inviter_name: Option<String>,
    pub valid: u32,
    pub pending: u32,
    pub void: u32,
    pub reversed: u32,
}

/// Inviters by valid invites, then pending ones (ties: member id).
pub fn leaderboard(referrals: &[Referral]) -> Vec<InviterRow> {
    let mut rows: std::collections::BTreeMap<&MemberId, InviterRow> = std::collections::BTreeMap::new();
    for r in referrals {
        let row = rows.entry(&r.inviter).or_insert_with(|| InviterRow { inviter: r.inviter.clone(), inviter_name: None, valid: 0, pending: 0, void: 0, reversed: 0 });
        if row.inviter_name.is_none() {
            row.inviter_name = r.inviter_name.clone();
        }
        match r.status {
            ReferralStatus::Valid => row.valid += 1,
            ReferralStatus::Pending => row.pending += 1,
            ReferralStatus::Void => row.void += 1,
            ReferralStatus::Reversed => row.reversed += 1,
        }
    }
    let mut rows: Vec<InviterRow> = rows.into_values().collect();
    rows.sort_by(|a, b| b.valid.cmp(&a.valid).then_with(|| b.pending.cmp(&a.pending)).then_with(|| a.inviter.cmp(&b.inviter)));
    rows
}

/// A campaign to save.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignDraft {
    pub name: String,
    pub groups: Vec<GroupKey>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reward_points: i64,
    pub stay_days: u32,
    pub early_leave_days: u32,
}

/// What an increment did.
#[derive(Clone, Debug, PartialEq)]
pub struct Incremented {
    /// The counter's value after it.
    pub value: i64,
    /// The idempotency key was seen before: nothing changed.
    pub duplicate: bool,
    pub processed: Processed,
}

fn random_hex(bytes: usize) -> Result<String, GrowthError> {
    let seed = crate::rules::lottery::draw::new_seed().map_err(|e| GrowthError::Conflict(e.to_string()))?;
    Ok(seed.iter().take(bytes).map(|b| format!("{b:02X}")).collect())
}

/// Letters a code is made of: no digits (the spam model reads letter-digit strings as contact
/// ids, and a newcomer's first message would be deleted), no I or O (read as 1 and 0).
const CODE_LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";

/// A personal invite code: six letters, e.g. `KQWZMT`.
fn random_code() -> Result<String, GrowthError> {
    let seed = crate::rules::lottery::draw::new_seed().map_err(|e| GrowthError::Conflict(e.to_string()))?;
    Ok(seed.iter().take(6).map(|b| char::from(CODE_LETTERS[usize::from(*b) % CODE_LETTERS.len()])).collect())
}

impl Engine {
    /// A member's personal invite code (created on first request, the same one afterwards).
    ///
    /// # Errors
    /// An unknown connector (`Invalid`), or a store failure.
    pub async fn referral_code(&self, connector: &ConnectorId, member: &MemberId, name: Option<String>) -> Result<ReferralCode, GrowthError> {
        if self.capabilities(connector).is_none() {
            return Err(invalid("connector", format!("no connector named `{connector}` is configured")));
        }
        if member.as_str().trim().is_empty() {
            return Err(invalid("member", "`member` is required: the platform id of the member the code is for"));
        }
        // A clash with another member's code is unlikely (24^6 codes); try a few.
        for _ in 0..5 {
            let code = ReferralCode {
                code: random_code()?,
                connector: connector.clone(),
                member: member.clone(),
                member_name: name.clone(),
                created_at: self.clock().now(),
            };
            match self.store().save_referral_code(&code).await {
                Ok(held) => return Ok(held),
                Err(StoreError::Conflict(_)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(GrowthError::Conflict("could not find a free invite code; try again".into()))
    }

    /// Referrals passing `filter`, newest first.
    ///
    /// # Errors
    /// A store failure.
    pub async fn referrals(&self, filter: &ReferralFilter, limit: u32) -> Result<Vec<Referral>, GrowthError> {
        Ok(self.store().list_referrals(filter, limit).await?)
    }

    /// The leaderboard of the referrals passing `filter` (a group, a campaign).
    ///
    /// # Errors
    /// A store failure.
    pub async fn referral_leaderboard(&self, filter: &ReferralFilter) -> Result<Vec<InviterRow>, GrowthError> {
        Ok(leaderboard(&self.store().list_referrals(filter, SCAN_LIMIT).await?))
    }

    /// Fraud flags over the referrals passing `filter`, with each group's settings.
    ///
    /// # Errors
    /// A store failure.
    pub async fn referral_flags(&self, filter: &ReferralFilter) -> Result<Vec<FraudFlag>, GrowthError> {
        let referrals = self.store().list_referrals(filter, SCAN_LIMIT).await?;
        let rulebook = self.rulebook();
        Ok(fraud::flags(&referrals, |group| rulebook.settings_for(group).settings.referrals.clone(), self.clock().now(), self.locale()))
    }

    /// Creates (`id` `None`) or replaces a campaign.
    ///
    /// # Errors
    /// A bad field (`Invalid`), an unknown id to replace (`NotFound`), a store failure.
    pub async fn save_campaign(&self, id: Option<&str>, draft: CampaignDraft, by: &str) -> Result<ReferralCampaign, GrowthError> {
        let name = draft.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("name", "`name` is required (at most 100 characters), e.g. \"国庆拉新\""));
        }
        if draft.ends_at <= draft.starts_at {
            return Err(invalid("ends_at", "the campaign must end after it starts"));
        }
        if draft.reward_points < 0 {
            return Err(invalid("reward_points", "the reward cannot be negative; write 0 for none"));
        }
        if draft.stay_days > MAX_DAYS || draft.early_leave_days > MAX_DAYS {
            return Err(invalid("stay_days", format!("stay and early-leave periods are at most {MAX_DAYS} days")));
        }
        let now = self.clock().now();
        let (id, created_at, created_by) = match id {
            Some(id) => {
                let campaigns = self.store().referral_campaigns().await?;
                let existing = campaigns.into_iter().find(|c| c.id == id).ok_or_else(|| GrowthError::NotFound(format!("campaign `{id}`")))?;
                (existing.id, existing.created_at, existing.created_by)
            }
            None => (format!("rc-{}", random_hex(6)?.to_lowercase()), now, by.to_owned()),
        };
        let campaign = ReferralCampaign {
            id,
            name,
            groups: draft.groups,
            starts_at: draft.starts_at,
            ends_at: draft.ends_at,
            reward_points: draft.reward_points,
            stay_days: draft.stay_days,
            early_leave_days: draft.early_leave_days,
            created_by,
            created_at,
        };
        let audit = self.growth_audit("referral.campaign.save", by, format!("{}{}（{}）", self.locale().pick("保存裂变活动 ", "saved referral campaign "), campaign.name, campaign.id));
        self.store().save_referral_campaign(&campaign, &audit).await?;
        Ok(campaign)
    }

    /// Deletes a campaign.
    ///
    /// # Errors
    /// An unknown id (`NotFound`), a store failure.
    pub async fn delete_campaign(&self, id: &str, by: &str) -> Result<(), GrowthError> {
        let audit = self.growth_audit("referral.campaign.delete", by, format!("{}{id}", self.locale().pick("删除裂变活动 ", "deleted referral campaign ")));
        if self.store().delete_referral_campaign(id, &audit).await? { Ok(()) } else { Err(GrowthError::NotFound(format!("campaign `{id}`"))) }
    }

    fn growth_audit(&self, kind: &str, by: &str, summary: String) -> NewAuditEntry {
        NewAuditEntry {
            time: self.clock().now(),
            actor: by.to_owned(),
            kind: kind.to_owned(),
            group: None,
            event_id: None,
            action_id: None,
            rule: Some("growth".into()),
            summary,
            detail: None,
        }
    }

    /// Adds `amount` to a group's custom counter through the pipeline; the `growth` rule
    /// celebrates a threshold it crosses. With an idempotency `key`, a repeated call is a
    /// duplicate that changes nothing.
    ///
    /// # Errors
    /// A bad name, amount or key (`Invalid`), an unknown connector, an engine failure.
    pub async fn increment_counter(&self, group: &GroupKey, name: &str, amount: i64, key: Option<&str>, by: &str) -> Result<Incremented, GrowthError> {
        if self.capabilities(&group.connector).is_none() {
            return Err(invalid("group", format!("no connector named `{}` is configured", group.connector)));
        }
        if !valid_counter_name(name) {
            return Err(invalid("name", "a counter name is 1–40 letters, digits, `_`, `-` or `.`, e.g. `orders`"));
        }
        if amount == 0 || amount.abs() > MAX_INCREMENT {
            return Err(invalid("amount", format!("`amount` must be non-zero and at most {MAX_INCREMENT} either way")));
        }
        let key = match key.map(str::trim) {
            Some(k) if k.is_empty() || k.chars().count() > 100 => {
                return Err(invalid("idempotency_key", "the idempotency key is 1–100 characters"));
            }
            Some(k) => k.to_owned(),
            None => random_hex(8)?,
        };
        let command = CounterCommand { id: format!("counter:{group}:{name}:{key}"), name: name.to_owned(), amount };
        let json = serde_json::to_string(&command).map_err(|e| GrowthError::Conflict(e.to_string()))?;
        let event = Event {
            origin: Origin {
                connector: group.connector.clone(),
                group: group.group.clone(),
                event_id: PlatformEventId::new(format!("op:counter.increment:{}:{name}:{key}", group.group)),
            },
            group_name: None,
            time: self.clock().now(),
            kind: EventKind::OperatorCommand { operator: by.to_owned(), command: format!("{}{json}", rule::COUNTER_COMMAND) },
        };
        let processed = self.submit(event).await?;
        let value = self.store().counter_value(group, name).await?;
        Ok(Incremented { value, duplicate: processed.duplicate, processed })
    }
}
