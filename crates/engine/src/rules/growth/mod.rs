//! Growth: referrals (裂变) and milestones (里程碑).
//!
//! **Referrals.** A join is attributed to an inviter — the owner of a personal invite code
//! given with the join (`invite_code`) or as the newcomer's first message, else the platform's
//! inviter — and recorded as a pending [`Referral`] (once per invitee and group: a rejoin is
//! not a new invite). The invitee's first message sets `spoke_at`; once they have stayed the
//! stay days, the scheduler's [`crate::growth::referral_source`] ticks `referral:<id>` (or,
//! when the stay is already over, the first message itself does it) and the rule makes it
//! valid, pays the inviter (a ledger entry, reason 邀请奖励, id
//! `referral:<id>:reward`) and thanks them. A leave while pending voids it; a leave inside the
//! early-leave window after validation reverses it with a negative entry
//! (`referral:<id>:reversal`, so once). Campaigns running for the group at the join fix the
//! reward, stay and window; otherwise the template's `referrals` settings do.
//!
//! **Milestones.** A join crossing a member count (`JoinFacts::member_no`), a message or a
//! check-in crossing the group's totals, and an operator's counter increment
//! (`counter.increment {json}`, from [`crate::Engine::increment_counter`]) crossing a
//! threshold: the rule sends the celebration and returns a [`Milestone`] write. The store
//! keeps one row per threshold and group and refuses a second from another event, so a
//! celebration goes out once, even if two engines raced.

pub mod fraud;
pub mod settings;

use chrono::{DateTime, Duration, Utc};
use qunzhu_core::growth::{CounterIncrement, Milestone, MilestoneKind, Referral, ReferralSource, ReferralStatus, ReferralWrite, referral_id};
use qunzhu_core::points::LedgerEntry;
use qunzhu_core::{ActionKind, EventKind, GroupKey, Member, MemberId, Message, Segment, StateWrite};
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::rules::{RuleContext, RuleError, Verdict, template_text};

pub use settings::{MilestoneSettings, ReferralSettings};

/// The tick job that validates a referral: `referral:<id>`.
pub const JOB_PREFIX: &str = "referral:";
/// The operator command of a counter increment: `counter.increment {json}`.
pub const COUNTER_COMMAND: &str = "counter.increment ";
/// The rule name on ledger entries.
pub const LEDGER_RULE: &str = "referral";

/// The job of a referral's validation tick.
pub fn job(id: &str) -> String {
    format!("{JOB_PREFIX}{id}")
}

/// A counter name: 1–40 letters, digits, `_`, `-` or `.` (it appears in URLs).
pub fn valid_counter_name(name: &str) -> bool {
    (1..=40).contains(&name.chars().count()) && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// An increment of a custom counter, as the engine submits it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterCommand {
    /// The increment's id (unique per group and idempotency key).
    pub id: String,
    pub name: String,
    pub amount: i64,
}

pub async fn evaluate(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    let mut verdict = Verdict::none();
    match &cx.event.kind {
        EventKind::MemberJoined { member, inviter, invite_code, .. } => {
            if cx.settings.referrals.enabled {
                on_join(cx, member, inviter.as_ref(), invite_code.as_deref(), &mut verdict).await?;
            }
            if let Some(join) = cx.join {
                let after = i64::from(join.member_no);
                let thresholds = cx.settings.milestones.member_counts.clone();
                milestone(cx, MilestoneKind::Members, "", &thresholds, after - 1, after, Some(member), &mut verdict).await?;
            }
        }
        EventKind::MessagePosted { author, message } => on_message(cx, author, message, &mut verdict).await?,
        EventKind::MemberLeft { member, .. } => on_leave(cx, &member.id, &mut verdict).await?,
        EventKind::Tick { job } => {
            if let Some(id) = job.strip_prefix(JOB_PREFIX) {
                validation_tick(cx, id, &mut verdict).await?;
            }
        }
        EventKind::OperatorCommand { command, .. } => {
            if let Some(json) = command.strip_prefix(COUNTER_COMMAND)
                && let Ok(command) = serde_json::from_str::<CounterCommand>(json)
            {
                on_counter(cx, &command, &mut verdict).await?;
            }
        }
        _ => {}
    }
    Ok(verdict)
}

fn send(verdict: &mut Verdict, segments: Vec<Segment>, explanation: String) {
    verdict.proposals.push(crate::rules::Proposal { kind: ActionKind::Send { segments }, explanation, not_before: None, target: None });
}

fn mention(member: &MemberId, name: Option<&str>) -> Segment {
    Segment::Mention { member: member.clone(), name: name.map(String::from) }
}

/// A campaign's or the template's terms for a join into `group` at `at`.
async fn terms(cx: &RuleContext<'_>, group: &GroupKey, at: DateTime<Utc>) -> Result<(Option<String>, i64, u32, u32), RuleError> {
    let campaigns = cx.store.referral_campaigns().await?;
    // The latest-starting campaign covering the join wins when several overlap.
    match campaigns.iter().rev().find(|c| c.covers(group, at)) {
        Some(c) => Ok((Some(c.id.clone()), c.reward_points, c.stay_days, c.early_leave_days)),
        None => {
            let s = &cx.settings.referrals;
            Ok((None, s.reward_points, s.stay_days, s.early_leave_days))
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn invite(
    cx: &RuleContext<'_>,
    invitee: &MemberId,
    invitee_name: Option<String>,
    inviter: &MemberId,
    inviter_name: Option<String>,
    source: ReferralSource,
    code: Option<String>,
    joined_at: DateTime<Utc>,
    verdict: &mut Verdict,
) -> Result<(), RuleError> {
    let group = cx.event.group_key();
    let (campaign, reward_points, stay_days, early_leave_days) = terms(cx, &group, joined_at).await?;
    let referral = Referral {
        id: referral_id(&group, invitee),
        group,
        inviter: inviter.clone(),
        inviter_name,
        invitee: invitee.clone(),
        invitee_name,
        source,
        code,
        campaign,
        reward_points,
        joined_at,
        due_at: joined_at + Duration::days(i64::from(stay_days)),
        early_leave_secs: i64::from(early_leave_days) * 86_400,
        cause: cx.event.origin.event_id.clone(),
        status: ReferralStatus::Pending,
        spoke_at: None,
        validated_at: None,
        left_at: None,
    };
    verdict.writes.push(StateWrite::Referral(ReferralWrite::Invited(Box::new(referral))));
    Ok(())
}

/// Personal codes are kept upper-case; members type them any way.
pub fn normalize_code(text: &str) -> Option<String> {
    let code: String = text.trim().to_uppercase();
    let plausible = (4..=16).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric());
    plausible.then_some(code)
}

async fn on_join(
    cx: &RuleContext<'_>,
    member: &Member,
    inviter: Option<&Member>,
    invite_code: Option<&str>,
    verdict: &mut Verdict,
) -> Result<(), RuleError> {
    let group = cx.event.group_key();
    if cx.store.referral(&referral_id(&group, &member.id)).await?.is_some() {
        // A rejoin is not a new invite.
        return Ok(());
    }
    if let Some(code) = invite_code.and_then(normalize_code)
        && let Some(owner) = cx.store.referral_code(&group.connector, &code).await?
        && owner.member != member.id
    {
        let name = Some(member.display_name().to_owned());
        return invite(cx, &member.id, name, &owner.member, owner.member_name, ReferralSource::Code, Some(code), cx.event.time, verdict).await;
    }
    if let Some(inviter) = inviter.filter(|i| i.id != member.id) {
        let (name, inviter_name) = (Some(member.display_name().to_owned()), Some(inviter.display_name().to_owned()));
        return invite(cx, &member.id, name, &inviter.id, inviter_name, ReferralSource::Platform, None, cx.event.time, verdict).await;
    }
    Ok(())
}

async fn on_message(cx: &RuleContext<'_>, author: &Member, message: &Message, verdict: &mut Verdict) -> Result<(), RuleError> {
    let group = cx.event.group_key();
    if cx.settings.referrals.enabled
        && let Some(record) = cx.member
        && let Some(joined_at) = record.joined_at
    {
        let id = referral_id(&group, &author.id);
        match cx.store.referral(&id).await? {
            Some(mut referral) if referral.status == ReferralStatus::Pending && referral.spoke_at.is_none() => {
                verdict.writes.push(StateWrite::Referral(ReferralWrite::Spoke { id, at: cx.event.time }));
                // Someone whose stay is already over counts the moment they speak.
                referral.spoke_at = Some(cx.event.time);
                validate(cx, &referral, verdict);
            }
            Some(_) => {}
            None => {
                // A personal code as the first message since the join attributes the join.
                let first = record.last_message_at.is_none_or(|last| last < joined_at);
                if first
                    && let Some(code) = normalize_code(&message.plain_text())
                    && let Some(owner) = cx.store.referral_code(&group.connector, &code).await?
                    && owner.member != author.id
                {
                    let name = Some(author.display_name().to_owned());
                    invite(cx, &author.id, name, &owner.member, owner.member_name, ReferralSource::Code, Some(code), joined_at, verdict).await?;
                }
            }
        }
    }
    let settings = &cx.settings.milestones;
    if !settings.enabled {
        return Ok(());
    }
    if !settings.message_totals.is_empty() {
        let before = cx.store.group_message_total(&group).await?;
        let thresholds = settings.message_totals.clone();
        milestone(cx, MilestoneKind::Messages, "", &thresholds, before, before + 1, Some(author), verdict).await?;
    }
    if !settings.check_in_totals.is_empty()
        && crate::rules::points::is_check_in(&message.plain_text(), &cx.settings.check_in)
    {
        let today = crate::rules::points::local_day(cx.event.time, cx.settings.timezone());
        if cx.store.check_in_on(&group, &author.id, today).await?.is_none() {
            let before = cx.store.group_check_in_total(&group).await?;
            let thresholds = settings.check_in_totals.clone();
            milestone(cx, MilestoneKind::CheckIns, "", &thresholds, before, before + 1, Some(author), verdict).await?;
        }
    }
    Ok(())
}

async fn on_leave(cx: &RuleContext<'_>, member: &MemberId, verdict: &mut Verdict) -> Result<(), RuleError> {
    let id = referral_id(&cx.event.group_key(), member);
    let Some(referral) = cx.store.referral(&id).await? else { return Ok(()) };
    let at = cx.event.time;
    match referral.status {
        ReferralStatus::Pending => verdict.writes.push(StateWrite::Referral(ReferralWrite::Voided { id, at })),
        ReferralStatus::Valid
            if referral.validated_at.is_some_and(|v| at <= v + Duration::seconds(referral.early_leave_secs)) =>
        {
            if referral.reward_points > 0 {
                let reason = cx.locale.pick("邀请奖励撤回（被邀请人提前退群）", "referral reward reversed (the invitee left early)");
                verdict.writes.push(StateWrite::Points(ledger(cx, &referral, "reversal", -referral.reward_points, reason)));
            }
            verdict.writes.push(StateWrite::Referral(ReferralWrite::Reversed { id, at }));
        }
        _ if referral.left_at.is_none() => verdict.writes.push(StateWrite::Referral(ReferralWrite::Left { id, at })),
        _ => {}
    }
    Ok(())
}

fn ledger(cx: &RuleContext<'_>, referral: &Referral, what: &str, amount: i64, reason: &str) -> LedgerEntry {
    LedgerEntry {
        id: format!("referral:{}:{what}", referral.id),
        connector: referral.group.connector.clone(),
        member: referral.inviter.clone(),
        amount,
        reason: reason.to_owned(),
        rule: LEDGER_RULE.to_owned(),
        group: Some(referral.group.clone()),
        cause: Some(cx.event.origin.event_id.clone()),
        actor: "engine".into(),
        time: cx.now,
    }
}

/// The validation tick for referral `id`.
async fn validation_tick(cx: &RuleContext<'_>, id: &str, verdict: &mut Verdict) -> Result<(), RuleError> {
    if let Some(referral) = cx.store.referral(id).await? {
        validate(cx, &referral, verdict);
    }
    Ok(())
}

/// Pending, spoken, stayed → valid, paid, thanked; anything else is left as it is.
fn validate(cx: &RuleContext<'_>, referral: &Referral, verdict: &mut Verdict) {
    if referral.status != ReferralStatus::Pending || referral.spoke_at.is_none() || referral.due_at > cx.now {
        return;
    }
    verdict.writes.push(StateWrite::Referral(ReferralWrite::Validated { id: referral.id.clone(), at: cx.now }));
    if referral.reward_points > 0 {
        verdict.writes.push(StateWrite::Points(ledger(cx, referral, "reward", referral.reward_points, cx.locale.pick("邀请奖励", "referral reward"))));
    }
    let settings = &cx.settings.referrals;
    if settings.thank_inviter {
        let invitee = referral.invitee_name.clone().unwrap_or_else(|| referral.invitee.to_string());
        let segments = template_text::render(&settings.thanks_text, settings::THANKS_PLACEHOLDERS, |name| match name {
            "inviter" => vec![mention(&referral.inviter, referral.inviter_name.as_deref())],
            "invitee" => vec![Segment::text(invitee.clone())],
            "group" => vec![Segment::text(cx.group_name())],
            "points" => vec![Segment::text(referral.reward_points.to_string())],
            _ => Vec::new(),
        });
        let explanation = match cx.locale {
            Locale::ZhCn => format!("{} 邀请的 {} 已满足留存与发言条件，邀请生效", referral.inviter, invitee),
            Locale::En => format!("the invite of {} by {} counts: they stayed and spoke", invitee, referral.inviter),
        };
        send(verdict, segments, explanation);
    }
}

async fn on_counter(cx: &RuleContext<'_>, command: &CounterCommand, verdict: &mut Verdict) -> Result<(), RuleError> {
    let group = cx.event.group_key();
    let before = cx.store.counter_value(&group, &command.name).await?;
    verdict.writes.push(StateWrite::Counter(CounterIncrement {
        id: command.id.clone(),
        group,
        name: command.name.clone(),
        amount: command.amount,
        at: cx.event.time,
    }));
    let thresholds = cx.settings.milestones.counter_thresholds(&command.name).to_vec();
    milestone(cx, MilestoneKind::Counter, &command.name, &thresholds, before, before + command.amount, None, verdict).await
}

/// Records every threshold in (`before`, `after`] not reached yet and celebrates the highest.
#[allow(clippy::too_many_arguments)]
async fn milestone(
    cx: &RuleContext<'_>,
    kind: MilestoneKind,
    name: &str,
    thresholds: &[i64],
    before: i64,
    after: i64,
    member: Option<&Member>,
    verdict: &mut Verdict,
) -> Result<(), RuleError> {
    let settings = &cx.settings.milestones;
    if !settings.enabled {
        return Ok(());
    }
    let group = cx.event.group_key();
    let mut highest = None;
    for &threshold in thresholds.iter().filter(|t| before < **t && **t <= after) {
        if cx.store.milestone_reached(&group, kind, name, threshold).await? {
            continue;
        }
        verdict.writes.push(StateWrite::Milestone(Milestone {
            group: group.clone(),
            kind,
            name: name.to_owned(),
            threshold,
            count: after,
            member: member.map(|m| m.id.clone()),
            cause: cx.event.origin.event_id.clone(),
            reached_at: cx.event.time,
        }));
        highest = highest.max(Some(threshold));
    }
    let Some(threshold) = highest else { return Ok(()) };
    let text = match kind {
        MilestoneKind::Members => &settings.members_text,
        MilestoneKind::CheckIns => &settings.check_ins_text,
        MilestoneKind::Messages => &settings.messages_text,
        MilestoneKind::Counter => &settings.counter_text,
    };
    let segments = template_text::render(text, settings::MILESTONE_PLACEHOLDERS, |placeholder| match placeholder {
        "group" => vec![Segment::text(cx.group_name())],
        "count" => vec![Segment::text(after.to_string())],
        "milestone" => vec![Segment::text(threshold.to_string())],
        "name" => member.map(|m| vec![mention(&m.id, Some(m.display_name()))]).unwrap_or_default(),
        "counter" => vec![Segment::text(name)],
        _ => Vec::new(),
    });
    let explanation = match cx.locale {
        Locale::ZhCn => format!("里程碑：{} {name} 达到 {threshold}", kind.name()),
        Locale::En => format!("milestone: {} {name} reached {threshold}", kind.name()),
    };
    send(verdict, segments, explanation);
    Ok(())
}
