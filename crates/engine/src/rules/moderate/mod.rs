//! Moderation (群规): ads, spam and abuse are caught however they are spelled, explained
//! check by check, and answered by an escalating ladder that counts a member's violations
//! across every group of the connector.
//!
//! - [`assess`] — the pure part: a message and its analysis → checks with evidence, a
//!   category and a score (also what `qunzhu moderate` prints).
//! - [`settings`] — the template's settings and the penalty ladder.
//! - [`state`] — short-lived behaviour windows (flooding, spam waves).
//!
//! This module decides; the planner adapts to the platform; nothing here sends anything.

pub mod assess;
pub mod settings;
pub mod state;

use chrono::Duration;
use qunzhu_core::moderation::{BlacklistEntry, Violation, ViolationStatus};
use qunzhu_core::{
    ActionKind, Capabilities, Capability, ConnectorId, EventKind, GroupKey, Member, MemberId, Message, Segment, Store,
    StoreError,
};

pub use assess::{Assessment, Check};
pub use settings::{ModerationSettings, Scope, Step};

use crate::locale::Locale;
use crate::rules::{template_text, Proposal, RuleContext, RuleError, Verdict};

pub async fn evaluate(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    let settings = &cx.settings.moderation;
    if !settings.enabled {
        return Ok(Verdict::none());
    }
    let connector = &cx.group.key.connector;
    match &cx.event.kind {
        EventKind::MemberJoined { member, .. } => {
            let Some(entry) = cx.store.blacklisted(connector, &member.id).await? else { return Ok(Verdict::none()) };
            let why = blacklisted_reason(cx.locale, member, &entry);
            Ok(keep_out(settings, ActionKind::Ban { member: member.id.clone() }, why))
        }
        EventKind::JoinRequested { member, request_id, .. } => {
            let Some(entry) = cx.store.blacklisted(connector, &member.id).await? else { return Ok(Verdict::none()) };
            let reason = cx.locale.pick("你已被本社群拉黑", "You are banned from this community").to_owned();
            let why = blacklisted_reason(cx.locale, member, &entry);
            Ok(keep_out(settings, ActionKind::RejectJoin { request_id: request_id.clone(), member: member.id.clone(), reason }, why))
        }
        EventKind::MessagePosted { author, message } => {
            if settings.exempt_staff && author.role.is_staff() {
                return Ok(Verdict::none());
            }
            if let Some(entry) = cx.store.blacklisted(connector, &author.id).await? {
                let why = blacklisted_reason(cx.locale, author, &entry);
                let mut verdict = keep_out(settings, ActionKind::Ban { member: author.id.clone() }, why.clone());
                if !settings.dry_run {
                    verdict.proposals.insert(0, proposal(ActionKind::Delete { message_id: message.id.clone() }, why));
                }
                return Ok(verdict);
            }
            let guard = crate::rules::admission::guarded(cx).await?;
            let assessment = assess::assess_in_context(cx, author, message, guard.as_ref());
            if !assessment.flagged {
                return Ok(Verdict::none());
            }
            penalise(cx, author, message, assessment).await
        }
        _ => Ok(Verdict::none()),
    }
}

fn proposal(kind: ActionKind, explanation: String) -> Proposal {
    Proposal { kind, explanation, not_before: None, target: None }
}

fn blacklisted_reason(locale: Locale, member: &Member, entry: &BlacklistEntry) -> String {
    match locale {
        Locale::ZhCn => format!("{} 在黑名单中（{}），不得留在任何群", member.display_name(), entry.reason),
        Locale::En => format!("{} is on the blacklist ({}) and may not stay in any group", member.display_name(), entry.reason),
    }
}

/// Keeps a blacklisted member out; in dry-run only says so.
fn keep_out(settings: &ModerationSettings, kind: ActionKind, why: String) -> Verdict {
    let proposals = if settings.dry_run { Vec::new() } else { vec![proposal(kind, why.clone())] };
    Verdict { proposals, suppress_replies: true, detail: Some(serde_json::json!({ "blacklisted": why }).to_string()), ..Verdict::none() }
}

/// The step for a member's n-th violation (0-based `prior` earlier ones), moving up the
/// ladder past steps whose penalty the platform cannot perform.
pub fn effective_step(steps: &[Step], prior: u32, capabilities: &Capabilities) -> Step {
    let Some(last) = steps.len().checked_sub(1) else { return Step { delete: true, warn: true, ..Step::default() } };
    let start = (prior as usize).min(last);
    let capable = |step: &Step| {
        step.mute_secs.is_none_or(|_| capabilities.can(Capability::Mute))
            && (!step.kick || capabilities.can(Capability::Kick))
            && (!step.blacklist || capabilities.can(Capability::Ban) || capabilities.can(Capability::Kick))
    };
    steps[start..].iter().find(|step| capable(step)).unwrap_or(&steps[start]).clone()
}

async fn penalise(cx: &RuleContext<'_>, author: &Member, message: &Message, assessment: Assessment) -> Result<Verdict, RuleError> {
    let settings = &cx.settings.moderation;
    let locale = cx.locale;
    let key = &cx.group.key;
    let since = cx.now - Duration::days(i64::from(settings.decay_days));
    let prior = cx.store.count_violations(&key.connector, &author.id, since).await?;
    let count = prior + 1;
    let step = effective_step(&settings.steps(), prior, cx.capabilities);
    let category = assessment.category.clone().unwrap_or_else(|| "spam".into());
    let category_name = category_label(&category, locale);
    let penalty = step.describe(locale);
    let reasons = assessment.summary(locale);
    let days = settings.decay_days;
    let why = match locale {
        Locale::ZhCn => format!("{} 的消息判定为{category_name}（{reasons}）；{days} 天内第 {count} 次违规 → {penalty}", author.display_name()),
        Locale::En => format!("{}'s message is {category_name} ({reasons}); violation {count} within {days} days → {penalty}", author.display_name()),
    };

    let mut proposals = Vec::new();
    let member = author.id.clone();
    if step.delete {
        proposals.push(proposal(ActionKind::Delete { message_id: message.id.clone() }, why.clone()));
    }
    if let Some(duration_secs) = step.mute_secs {
        proposals.push(proposal(ActionKind::Mute { member: member.clone(), duration_secs }, why.clone()));
    }
    let mut blacklist = Vec::new();
    if step.blacklist {
        proposals.push(proposal(ActionKind::Ban { member: member.clone() }, why.clone()));
        let here = &cx.group.key;
        for other in groups_with_member(cx.store, &here.connector, &member, false).await?.into_iter().filter(|g| g != here) {
            let mut ban = proposal(ActionKind::Ban { member: member.clone() }, why.clone());
            ban.explanation = match locale {
                Locale::ZhCn => format!("{why}（黑名单同步到群 {}）", other.group),
                Locale::En => format!("{why} (blacklist applied to group {})", other.group),
            };
            proposals.push(ban.for_group(other));
        }
        blacklist.push(BlacklistEntry {
            connector: key.connector.clone(),
            member: member.clone(),
            member_name: author.name.clone(),
            reason: format!("{category_name}：{reasons}"),
            added_by: "engine".into(),
            added_at: cx.now,
            violation: Some(violation_id(cx)),
        });
    } else if step.kick {
        proposals.push(proposal(ActionKind::Kick { member: member.clone() }, why.clone()));
    }
    let nothing_else = !step.delete && !step.removes() && step.mute_secs.is_none();
    if step.warn || step.warn_private || nothing_else {
        let text = template_text::render(&settings.warn_text, settings::WARN_PLACEHOLDERS, |name| match name {
            "name" => vec![Segment::Mention { member: member.clone(), name: Some(author.display_name().to_owned()) }],
            "category" => vec![Segment::text(category_name.clone())],
            "count" => vec![Segment::text(count.to_string())],
            "penalty" => vec![Segment::text(penalty.clone())],
            "days" => vec![Segment::text(days.to_string())],
            _ => Vec::new(),
        });
        let kind = if step.warn_private && !step.warn {
            ActionKind::DirectMessage { member: member.clone(), segments: text }
        } else {
            ActionKind::Send { segments: text }
        };
        proposals.push(proposal(kind, why.clone()));
    }

    let detail = serde_json::json!({
        "category": category,
        "score": assessment.score,
        "newcomer": assessment.newcomer,
        "checks": assessment.checks,
        "violation": count,
        "penalty": step.to_string(),
        "dry_run": settings.dry_run,
    });
    let violation = Violation {
        id: violation_id(cx),
        group: key.clone(),
        member: member.clone(),
        member_name: author.name.clone(),
        message_id: Some(message.id.clone()),
        event_id: cx.event.origin.event_id.clone(),
        category,
        text: cx.analysis.text.clone(),
        checks: serde_json::to_string(&assessment.checks).unwrap_or_else(|_| "[]".into()),
        penalty: step.to_string(),
        actions: Vec::new(),
        dry_run: settings.dry_run,
        status: ViolationStatus::Active,
        time: cx.now,
    };
    if settings.dry_run {
        // Decide and record; act on nothing.
        proposals.clear();
        blacklist.clear();
    }
    Ok(Verdict { proposals, suppress_replies: true, violation: Some(violation), blacklist, detail: Some(detail.to_string()), writes: Vec::new() })
}

/// The violation id for this event (one verdict per event).
fn violation_id(cx: &RuleContext<'_>) -> String {
    format!("v-{}-{}", cx.event.origin.connector, cx.event.origin.event_id)
}

/// Groups of a connector where the member is (`include_left`: or was), per the member
/// records the engine keeps.
///
/// # Errors
/// A store failure.
pub async fn groups_with_member(
    store: &dyn Store,
    connector: &ConnectorId,
    member: &MemberId,
    include_left: bool,
) -> Result<Vec<GroupKey>, StoreError> {
    let mut groups = Vec::new();
    for group in store.list_groups().await? {
        if &group.key.connector != connector {
            continue;
        }
        if let Some(record) = store.member(&group.key, member).await?
            && (include_left || record.left_at.is_none())
        {
            groups.push(group.key);
        }
    }
    Ok(groups)
}

/// A category in the operator's words.
pub fn category_label(category: &str, locale: Locale) -> String {
    let (zh, en) = match category {
        "ad" => ("广告", "advertising"),
        "scam" => ("诈骗", "scam"),
        "porn" => ("色情", "pornographic"),
        "gambling" => ("赌博", "gambling"),
        "abuse" => ("辱骂", "abusive"),
        "politics" => ("敏感", "sensitive"),
        "custom" => ("违禁", "forbidden"),
        "contact" => ("引流（联系方式）", "contact-harvesting"),
        "link" => ("链接", "link"),
        "card" => ("卡片/小程序", "card"),
        "qr" => ("二维码", "QR code"),
        "mention_all" => ("@全体成员", "@all"),
        "flood" => ("刷屏", "flooding"),
        "wave" => ("群发广告", "spam-wave"),
        _ => ("垃圾", "spam"),
    };
    locale.pick(zh, en).to_owned()
}

impl Proposal {
    /// The same proposal aimed at another group (blacklist propagation).
    pub fn for_group(self, group: GroupKey) -> Proposal {
        Proposal { target: Some(group), ..self }
    }
}
