//! Rules: one module per feature. Every rule sees every event, reads the shared
//! [`Analysis`], and returns a [`Verdict`]. Rules never send anything themselves.
//!
//! The registry is closed: adding a rule is one module plus one [`Rule`] variant.

pub mod admission;
pub mod auto_reply;
pub mod care;
pub mod content;
pub mod digest;
pub mod growth;
pub mod insight;
pub mod lottery;
pub mod moderate;
pub mod points;
pub mod schedule;
pub mod signup;
pub mod template_text;
pub mod welcome;

use chrono::{DateTime, Utc};
use qunzhu_core::moderation::{BlacklistEntry, MemberRecord, Violation};
use qunzhu_core::store::GroupRecord;
use qunzhu_core::{ActionKind, Capabilities, Event, Store};
use thiserror::Error;

use crate::analysis::Analysis;
use crate::locale::Locale;
use crate::rulebook::TemplateSettings;

/// What a rule reads.
pub struct RuleContext<'a> {
    pub event: &'a Event,
    pub analysis: &'a Analysis,
    /// The group's resolved settings (template plus overrides).
    pub settings: &'a TemplateSettings,
    /// The name of the template the group uses.
    pub template: &'a str,
    /// The group's FAQ, compiled once per rulebook (see [`auto_reply::CompiledFaq`]).
    pub faq: &'a auto_reply::CompiledFaq,
    pub group: &'a GroupRecord,
    /// The acting member's record in this group, as it was before this event.
    pub member: Option<&'a MemberRecord>,
    /// For a join: the newcomer's number and channel, learnt once by the pipeline.
    pub join: Option<&'a qunzhu_core::membership::JoinFacts>,
    /// What the group's connector can do.
    pub capabilities: &'a Capabilities,
    /// Long-lived rule state (behaviour windows, the spam classifier).
    pub tools: &'a RuleTools,
    pub locale: Locale,
    pub now: DateTime<Utc>,
    /// Rule state (counters, streaks…) lives in the store.
    pub store: &'a dyn Store,
}

impl RuleContext<'_> {
    /// The group's name for messages: its display name, else its id.
    pub fn group_name(&self) -> &str {
        self.group.name.as_deref().unwrap_or(self.group.key.group.as_str())
    }
}

/// An action a rule proposes, before the planner checks it against the platform.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    pub kind: ActionKind,
    /// Why, in the operator's language.
    pub explanation: String,
    pub not_before: Option<DateTime<Utc>>,
    /// Another group of the same connector to act in (e.g. a blacklist applied
    /// everywhere); `None` is the event's own group.
    pub target: Option<qunzhu_core::GroupKey>,
}

/// A rule's answer to one event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdict {
    pub proposals: Vec<Proposal>,
    /// Drop the sends and replies of the rules after this one (a deleted spam message gets
    /// no auto-reply).
    pub suppress_replies: bool,
    /// A moderation verdict to record; the pipeline fills in the ids of the actions taken.
    pub violation: Option<Violation>,
    /// Members to blacklist.
    pub blacklist: Vec<BlacklistEntry>,
    /// Structured evidence for the audit log (JSON text).
    pub detail: Option<String>,
    /// Rule state to write with the event (points, check-ins…), in the same transaction.
    pub writes: Vec<qunzhu_core::StateWrite>,
}

/// State that outlives one event, shared by all rules.
pub struct RuleTools {
    pub behaviour: moderate::state::BehaviourState,
    pub classifier: std::sync::RwLock<qunzhu_text::classifier::SpamClassifier>,
}

impl Default for RuleTools {
    /// Empty behaviour windows and the built-in spam model.
    fn default() -> Self {
        Self {
            behaviour: moderate::state::BehaviourState::default(),
            classifier: std::sync::RwLock::new(qunzhu_text::classifier::SpamClassifier::builtin().clone()),
        }
    }
}

impl RuleTools {
    /// The spam probability of a text under the current (corrected) model.
    pub fn spam_score(&self, text: &str) -> f32 {
        self.classifier.read().unwrap_or_else(|poisoned| poisoned.into_inner()).score(text)
    }
}

impl Verdict {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn propose(kind: ActionKind, explanation: impl Into<String>) -> Self {
        Self { proposals: vec![Proposal { kind, explanation: explanation.into(), not_before: None, target: None }], ..Self::default() }
    }
}

#[derive(Debug, Error)]
pub enum RuleError {
    #[error("rule state unavailable: {0}")]
    Store(#[from] qunzhu_core::StoreError),
    #[error(transparent)]
    Random(#[from] lottery::draw::SeedError),
}

/// Every rule, in evaluation order (rules that may suppress come first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    Moderate,
    /// Admission screening and join waves; right after moderation (which rejects
    /// blacklisted applicants: admission records that without acting again).
    Admission,
    Welcome,
    Points,
    Schedule,
    /// Lotteries (抽奖); after moderation, so spam never enters. Before sign-up lists: a
    /// keyword a list took (and suppressed replies for) still counts as a message here.
    Lottery,
    /// Sign-up lists (接龙); after moderation, so a deleted message never joins a list.
    Signup,
    /// Last: a command another rule answered (and suppressed replies for) is not also an
    /// FAQ question.
    AutoReply,
    /// Referrals (裂变) and milestones (里程碑). Evaluated right after the welcome (see
    /// [`Rule::ALL`]): before any rule that suppresses replies for a command, so an invitee's
    /// first message counts as speaking whatever it says (spam excepted), and a member-count
    /// celebration follows the newcomer's welcome.
    Growth,
    /// Activity rollups (数据管理). Last, and its tally is kept whoever suppressed the
    /// others: every message counts, deleted spam included (also as a violation).
    Insight,
    /// Care (用户思维): questions waiting for staff, negative outbreaks, tickets. After every
    /// acting rule (only insight's tally follows): it watches every member line, whatever
    /// other rules did with it.
    Care,
    /// The daily life-stage check and its cooling alert (see [`crate::life_stage`]); ticks only.
    LifeStage,
    /// The daily digest (群精华) on its tick; after everything, it only reads.
    Digest,
}

impl Rule {
    pub const ALL: &'static [Rule] =
        &[Rule::Moderate, Rule::Admission, Rule::Welcome, Rule::Growth, Rule::Points, Rule::Schedule, Rule::Lottery, Rule::Signup, Rule::AutoReply, Rule::Care, Rule::Insight, Rule::LifeStage, Rule::Digest];

    pub fn name(self) -> &'static str {
        match self {
            Self::Moderate => "moderate",
            Self::Admission => "admission",
            Self::Welcome => "welcome",
            Self::Points => "points",
            Self::Schedule => "schedule",
            Self::AutoReply => "auto_reply",
            Self::Signup => "signup",
            Self::Lottery => "lottery",
            Self::Growth => "growth",
            Self::Insight => "insight",
            Self::Care => "care",
            Self::LifeStage => "life_stage",
            Self::Digest => "digest",
        }
    }

    /// # Errors
    /// When state the rule needs cannot be read.
    pub async fn evaluate(self, cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
        match self {
            Self::Moderate => moderate::evaluate(cx).await,
            Self::Admission => admission::evaluate(cx).await,
            Self::Welcome => welcome::evaluate(cx).await,
            Self::Points => points::evaluate(cx).await,
            Self::Schedule => schedule::evaluate(cx).await,
            Self::AutoReply => auto_reply::evaluate(cx).await,
            Self::Signup => signup::evaluate(cx).await,
            Self::Lottery => lottery::evaluate(cx).await,
            Self::Growth => growth::evaluate(cx).await,
            Self::Insight => insight::evaluate(cx).await,
            Self::Care => care::evaluate(cx).await,
            Self::LifeStage => crate::life_stage::evaluate(cx).await,
            Self::Digest => digest::evaluate(cx).await,
        }
    }
}
