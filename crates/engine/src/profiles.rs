//! Member profiles (画像): a member's profile on record (channel, tier, inviter, manual tags,
//! groups) completed with **automatic tags** and figures computed when asked, from the
//! rollups and records — nothing here is stored, so an automatic tag is never stale.
//!
//! # Automatic tags (rules)
//! Per group the member is in (on record and not left), with the group's local days
//! (`timezone` setting) and "now" from the engine's clock:
//! - **核心** (core): among the group's core members over the last [`CORE_DAYS`] days, by the
//!   engagement score of [`crate::insight::core_members`] (the analytics' core members);
//! - **沉默** (silent): posted no message in the group on the last [`SILENT_DAYS`] local days
//!   (today included), like the analytics' silent members, and joined (or was first seen)
//!   at least [`SILENT_DAYS`] days ago — a newcomer is 新人, not yet 沉默;
//! - **新人** (newcomer): joined the group less than [`NEW_DAYS`] days ago;
//! - **违规** (violation): a violation (acted on, still active) in any group of the connector
//!   less than [`VIOLATION_DAYS`] days ago — a connector-wide tag.
//!
//! A profile's automatic tags are the union over its groups (or the tags in one group when a
//! search names it). Search by tag matches manual and automatic tags alike.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use qunzhu_core::growth::{ReferralFilter, ReferralStatus};
use qunzhu_core::insight::{Granularity, Rollup, bucket_day, day_bucket};
use qunzhu_core::membership::MemberProfile;
use qunzhu_core::{ConnectorId, GroupKey, MemberId, Store, StoreError};
use serde::Serialize;

use crate::rulebook::CompiledRulebook;

/// The core-member window, in days (the analytics' default).
pub const CORE_DAYS: i64 = 28;
/// Days without a message that make a member 沉默 (the analytics' default window).
pub const SILENT_DAYS: i64 = 14;
/// Days after a join during which a member is 新人.
pub const NEW_DAYS: i64 = 7;
/// Days after a violation during which a member is 违规.
pub const VIOLATION_DAYS: i64 = 30;

/// An automatic tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum AutoTag {
    Core,
    Silent,
    New,
    Violation,
}

impl AutoTag {
    pub const ALL: [AutoTag; 4] = [Self::Core, Self::Silent, Self::New, Self::Violation];

    /// The tag as operators see and search it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Core => "核心",
            Self::Silent => "沉默",
            Self::New => "新人",
            Self::Violation => "违规",
        }
    }

    /// The automatic tag named `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// Messages and days active, over local days.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// Messages on the last 7 local days (today included).
    pub messages_7d: i64,
    /// Messages on the last 30 local days.
    pub messages_30d: i64,
    /// Days with a message among the last 30.
    pub days_active_30d: i64,
    /// Days with a message, ever (on the rollups).
    pub days_active: i64,
    /// The last local day with a message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_active: Option<NaiveDate>,
}

impl Activity {
    fn add(&mut self, other: &Activity) {
        self.messages_7d += other.messages_7d;
        self.messages_30d += other.messages_30d;
        self.days_active_30d += other.days_active_30d;
        self.days_active += other.days_active;
        self.last_active = match (self.last_active, other.last_active) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

/// One group of a profile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupFacts {
    pub group: GroupKey,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_at: Option<DateTime<Utc>>,
    /// The automatic tags in this group (none once left).
    pub auto_tags: Vec<&'static str>,
    pub activity: Activity,
}

/// Violations of the member in the connector's groups.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ViolationFacts {
    /// Active violations ever.
    pub total: u32,
    /// Active violations in the last [`VIOLATION_DAYS`] days.
    pub recent: u32,
}

/// Referrals the member made.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReferralFacts {
    /// Members they invited (every referral on record).
    pub invited: u64,
    /// Referrals that became valid (and were not reversed).
    pub validated: u64,
}

/// The member's conversions (转化).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConversionFacts {
    pub count: u64,
    pub amount_cents: i64,
}

/// A profile with its automatic tags and figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    #[serde(flatten)]
    pub profile: MemberProfile,
    /// The automatic tags (see the module documentation), in [`AutoTag`] order.
    pub auto_tags: Vec<&'static str>,
    /// Activity over every group.
    pub activity: Activity,
    /// Points balance in the connector's community.
    pub points: i64,
    /// Points earned (what levels measure).
    pub points_earned: i64,
    /// The level title by the latest group's level ladder (none when levels are off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    pub violations: ViolationFacts,
    pub referrals: ReferralFacts,
    pub conversions: ConversionFacts,
    /// Per group: dates, automatic tags and activity.
    pub group_facts: Vec<GroupFacts>,
}

impl Profile {
    /// Whether the profile carries `tag` (manual or automatic); in `group` only when given
    /// (manual tags and 违规 are not per group).
    pub fn has_tag(&self, tag: &str, group: Option<&GroupKey>) -> bool {
        if self.profile.tags.iter().any(|t| t == tag) {
            return true;
        }
        match group {
            Some(g) => self.group_facts.iter().filter(|f| &f.group == g).any(|f| f.auto_tags.contains(&tag)),
            None => self.auto_tags.contains(&tag),
        }
    }
}

/// Computes profiles at one instant, remembering each group's core members.
pub struct Profiler<'a> {
    store: &'a dyn Store,
    rulebook: &'a CompiledRulebook,
    now: DateTime<Utc>,
    core: HashMap<GroupKey, BTreeSet<MemberId>>,
    conversions: Option<Vec<qunzhu_core::insight::Conversion>>,
}

fn activity(rows: &[&Rollup], today: NaiveDate) -> Activity {
    let today_bucket = day_bucket(today);
    let mut a = Activity::default();
    for row in rows.iter().filter(|r| r.counts.messages > 0) {
        let age = today_bucket - row.bucket;
        if (0..7).contains(&age) {
            a.messages_7d += row.counts.messages;
        }
        if (0..30).contains(&age) {
            a.messages_30d += row.counts.messages;
            a.days_active_30d += 1;
        }
        a.days_active += 1;
        let day = bucket_day(row.bucket);
        a.last_active = Some(a.last_active.map_or(day, |d| d.max(day)));
    }
    a
}

impl<'a> Profiler<'a> {
    pub fn new(store: &'a dyn Store, rulebook: &'a CompiledRulebook, now: DateTime<Utc>) -> Self {
        Self { store, rulebook, now, core: HashMap::new(), conversions: None }
    }

    fn today(&self, group: &GroupKey) -> NaiveDate {
        self.now.with_timezone(&self.rulebook.settings_for(group).timezone()).date_naive()
    }

    /// The group's core members now (computed once per group).
    async fn core_of(&mut self, group: &GroupKey) -> Result<&BTreeSet<MemberId>, StoreError> {
        if !self.core.contains_key(group) {
            let today = self.today(group);
            let from = day_bucket(today - Duration::days(CORE_DAYS - 1));
            let rows = self.store.insight_rollups(group, Granularity::Day, from, day_bucket(today) + 1).await?;
            let core = crate::insight::core_members(&rows).into_iter().map(|e| e.member).collect();
            self.core.insert(group.clone(), core);
        }
        Ok(self.core.entry(group.clone()).or_default())
    }

    /// The profile of a member on record, completed.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn complete(&mut self, profile: MemberProfile) -> Result<Profile, StoreError> {
        let (connector, member) = (profile.connector.clone(), profile.member.clone());
        let days = self.store.insight_member_days(&connector, &member).await?;
        let mut by_group: BTreeMap<GroupKey, Vec<&Rollup>> = BTreeMap::new();
        for row in &days {
            by_group.entry(row.group.clone()).or_default().push(row);
        }
        let violations = ViolationFacts {
            total: self.store.count_violations(&connector, &member, DateTime::<Utc>::MIN_UTC).await?,
            recent: self.store.count_violations(&connector, &member, self.now - Duration::days(VIOLATION_DAYS)).await?,
        };
        let mut group_facts = Vec::new();
        let mut total = Activity::default();
        let mut auto: BTreeSet<AutoTag> = BTreeSet::new();
        for g in &profile.groups {
            let today = self.today(&g.group);
            let rows = by_group.get(&g.group).map(Vec::as_slice).unwrap_or_default();
            let act = activity(rows, today);
            total.add(&act);
            let mut tags = BTreeSet::new();
            if g.left_at.is_none() {
                let record = self.store.member(&g.group, &member).await?;
                let since = g.joined_at.or(record.as_ref().map(|r| r.first_seen));
                if self.core_of(&g.group).await?.contains(&member) {
                    tags.insert(AutoTag::Core);
                }
                let spoke = act.last_active.is_some_and(|d| (today - d).num_days() < SILENT_DAYS);
                if !spoke && since.is_some_and(|s| self.now - s >= Duration::days(SILENT_DAYS)) {
                    tags.insert(AutoTag::Silent);
                }
                if g.joined_at.is_some_and(|j| self.now - j < Duration::days(NEW_DAYS)) {
                    tags.insert(AutoTag::New);
                }
                if violations.recent > 0 {
                    tags.insert(AutoTag::Violation);
                }
            }
            auto.extend(tags.iter().copied());
            group_facts.push(GroupFacts {
                group: g.group.clone(),
                joined_at: g.joined_at,
                left_at: g.left_at,
                auto_tags: tags.into_iter().map(AutoTag::name).collect(),
                activity: act,
            });
        }
        if violations.recent > 0 {
            auto.insert(AutoTag::Violation);
        }
        let balance = self.store.points_balance(&connector, &member).await?;
        let latest = profile.groups.iter().filter(|g| g.left_at.is_none()).max_by_key(|g| g.joined_at).or(profile.groups.first());
        let level = latest.and_then(|g| {
            self.rulebook.settings_for(&g.group).settings.levels.level_for(balance.earned).map(|l| l.title.clone())
        });
        let filter = ReferralFilter { inviter: Some(member.clone()), ..ReferralFilter::default() };
        let mut referrals = ReferralFacts::default();
        for r in self.store.list_referrals(&filter, 100_000).await?.iter().filter(|r| r.group.connector == connector) {
            referrals.invited += 1;
            if r.status == ReferralStatus::Valid {
                referrals.validated += 1;
            }
        }
        if self.conversions.is_none() {
            self.conversions = Some(self.store.list_conversions().await?);
        }
        let mut conversions = ConversionFacts::default();
        for c in self.conversions.iter().flatten().filter(|c| c.connector == connector && c.member == member) {
            conversions.count += 1;
            conversions.amount_cents += c.amount_cents;
        }
        Ok(Profile {
            profile,
            auto_tags: auto.into_iter().map(AutoTag::name).collect(),
            activity: total,
            points: balance.balance,
            points_earned: balance.earned,
            level,
            violations,
            referrals,
            conversions,
            group_facts,
        })
    }

    /// One member's completed profile; `None` when they have no profile on record.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn profile(&mut self, connector: &ConnectorId, member: &MemberId) -> Result<Option<Profile>, StoreError> {
        match self.store.member_profile(connector, member).await? {
            Some(p) => Ok(Some(self.complete(p).await?)),
            None => Ok(None),
        }
    }

    /// Members across groups (or in `group`) carrying `tag` (manual or automatic) and whose
    /// id is `query` or whose name contains it, by connector and member id: the page
    /// `[offset, offset + limit)` and the number of matches.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn search(
        &mut self,
        tag: Option<&str>,
        group: Option<&GroupKey>,
        query: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Profile>, usize), StoreError> {
        // A manual tag can be searched in the store; an automatic one is computed per member.
        let store_tag = tag.filter(|t| AutoTag::from_name(t).is_none());
        let candidates = self.store.search_profiles(store_tag, query, 100_000).await?;
        let mut matched = Vec::new();
        let mut total = 0;
        for p in candidates {
            if group.is_some_and(|g| !p.groups.iter().any(|pg| &pg.group == g)) {
                continue;
            }
            let complete = self.complete(p).await?;
            if tag.is_some_and(|t| !complete.has_tag(t, group)) {
                continue;
            }
            if total >= offset && matched.len() < limit {
                matched.push(complete);
            }
            total += 1;
        }
        Ok((matched, total))
    }
}
