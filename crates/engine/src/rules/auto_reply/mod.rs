//! Auto-reply (FAQ): members' usual questions answered from the template's FAQ, as a reply
//! quoting the question. A question no entry matches is left for people.
//!
//! - [`settings`] — entries, triggers, cooldowns, quiet hours; their checks; the built-in FAQ.
//! - [`matcher`] — the FAQ compiled once per rulebook; which entry a text matches and why.
//!
//! The rule runs after moderation: a message moderation deletes gets no answer (the pipeline
//! drops the reply and its state write). An answer is committed with its event as a
//! [`StateWrite::FaqAnswer`]: one hit for the entry's statistics, and the start of its
//! cooldowns (per group and per member).

pub mod matcher;
pub mod settings;

use chrono::{DateTime, Duration, Utc};
use qunzhu_core::content::ContentItem;
use qunzhu_core::faq::{FaqAnswer, FaqLastAnswers};
use qunzhu_core::{ActionKind, Capability, EventKind, Member, Message, Segment, StateWrite};

pub use matcher::{CompiledFaq, FaqMatch, TriggerKind};
pub use settings::{AutoReplySettings, FaqEntry, QuietHours, Triggers};

use crate::locale::Locale;
use crate::rules::content::{self, Fill};
use crate::rules::{template_text, Proposal, RuleContext, RuleError, Verdict};

pub async fn evaluate(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    let EventKind::MessagePosted { author, message } = &cx.event.kind else { return Ok(Verdict::none()) };
    let settings = &cx.settings.auto_reply;
    if !settings.enabled || cx.faq.is_empty() || (author.role.is_staff() && !settings.answer_staff) {
        return Ok(Verdict::none());
    }
    if cx.analysis.text.trim().is_empty() || in_quiet_hours(settings, cx.settings.timezone(), cx.now) {
        return Ok(Verdict::none());
    }
    let Some(hit) = cx.faq.best(&cx.analysis.text) else { return Ok(Verdict::none()) };
    let Some(entry) = settings.entries.get(&hit.entry) else { return Ok(Verdict::none()) };
    let last = cx.store.faq_last_answers(&cx.group.key, &hit.entry, &author.id).await?;
    if let Some(until) = cooling_down(entry, &last, cx.now) {
        tracing::debug!(group = %cx.group.key, entry = %hit.entry, %until, "FAQ entry cooling down; not answered");
        return Ok(Verdict::none());
    }
    let fill = Fill { member: Some(author), group: cx.group_name(), rules: &cx.settings.rules_text };
    let (kind, why) = match entry.content {
        None => (answer_kind(cx, message, template_text::render(&entry.answer, settings::PLACEHOLDERS, |p| fill.placeholder(p))), None),
        Some(id) => match cx.store.content_get(id).await? {
            Some(item) => (answer_kind(cx, message, content::render(&item.body, &fill)), Some(item)),
            None => (ActionKind::NotifyStaff { text: missing_content(cx.locale, cx.template, &hit.entry, id) }, None),
        },
    };
    let explanation = explain(cx.locale, author, &cx.analysis.text, &hit, why.as_ref());
    let local_day = cx.now.with_timezone(&cx.settings.timezone()).date_naive();
    let answer = FaqAnswer {
        id: format!("{}/{}", cx.event.origin.connector, cx.event.origin.event_id),
        group: cx.group.key.clone(),
        template: cx.template.to_owned(),
        entry: hit.entry.clone(),
        member: author.id.clone(),
        day: local_day,
        at: cx.now,
    };
    let detail = serde_json::json!({ "faq": hit, "content": entry.content });
    Ok(Verdict {
        proposals: vec![Proposal { kind, explanation, not_before: None, target: None }],
        writes: vec![StateWrite::FaqAnswer(answer)],
        detail: Some(detail.to_string()),
        ..Verdict::none()
    })
}

/// Whether auto-replies are off at `now` in the group's timezone.
pub fn in_quiet_hours(settings: &AutoReplySettings, timezone: chrono_tz::Tz, now: DateTime<Utc>) -> bool {
    match QuietHours::parse(&settings.quiet_hours) {
        Ok(Some(quiet)) => quiet.contains(now.with_timezone(&timezone).time()),
        _ => false,
    }
}

/// When the entry may answer again, if it is still cooling down (for the group, or for
/// this member).
pub fn cooling_down(entry: &FaqEntry, last: &FaqLastAnswers, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Longer cooldowns than ten years are ten years (and never overflow a time).
    const MAX_SECS: u64 = 10 * 366 * 24 * 3600;
    let until = |at: Option<DateTime<Utc>>, secs: u64| {
        let length = Duration::seconds(i64::try_from(secs.min(MAX_SECS)).unwrap_or(0));
        at.and_then(|at| at.checked_add_signed(length)).filter(|until| *until > now)
    };
    until(last.in_group, entry.cooldown_secs).max(until(last.to_member, entry.member_cooldown_secs))
}

/// A reply quoting the question where the platform can reply; a plain message otherwise.
fn answer_kind(cx: &RuleContext<'_>, question: &Message, segments: Vec<Segment>) -> ActionKind {
    if cx.capabilities.can(Capability::Reply) || !cx.capabilities.can(Capability::Send) {
        ActionKind::Reply { to: question.id.clone(), segments }
    } else {
        ActionKind::Send { segments }
    }
}

fn quote(text: &str) -> String {
    let short: String = text.chars().take(30).collect();
    if short.chars().count() < text.chars().count() { format!("{short}…") } else { short }
}

fn explain(locale: Locale, author: &Member, question: &str, hit: &FaqMatch, item: Option<&ContentItem>) -> String {
    let question = quote(question.trim());
    let how = match (hit.trigger, locale) {
        (TriggerKind::Similar, Locale::ZhCn) => format!("与例句「{}」相似度 {:.2}", hit.matched, hit.score),
        (TriggerKind::Similar, Locale::En) => format!("similarity {:.2} to “{}”", hit.score, hit.matched),
        (TriggerKind::Exact, Locale::ZhCn) => format!("完全匹配「{}」", hit.matched),
        (TriggerKind::Contains, Locale::ZhCn) => format!("包含「{}」", hit.matched),
        (TriggerKind::AllOf, Locale::ZhCn) => format!("包含全部关键词「{}」", hit.matched),
        (TriggerKind::AnyOf, Locale::ZhCn) => format!("包含关键词「{}」", hit.matched),
        (TriggerKind::Regex, Locale::ZhCn) => format!("匹配正则 {}", hit.matched),
        (trigger, Locale::En) => format!("{} trigger “{}”", serde_json::to_value(trigger).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(), hit.matched),
    };
    let source = match (item, locale) {
        (Some(item), Locale::ZhCn) => format!("，用素材 #{}「{}」回答", item.id, item.title),
        (Some(item), Locale::En) => format!(", answered with content item #{} “{}”", item.id, item.title),
        (None, _) => String::new(),
    };
    match locale {
        Locale::ZhCn => format!("{} 问「{question}」→ FAQ「{}」（{how}）自动回复{source}", author.display_name(), hit.entry),
        Locale::En => format!("{} asked “{question}” → FAQ `{}` ({how}) auto-reply{source}", author.display_name(), hit.entry),
    }
}

fn missing_content(locale: Locale, template: &str, entry: &str, id: i64) -> String {
    match locale {
        Locale::ZhCn => format!(
            "FAQ「{entry}」（模板「{template}」）要用素材 #{id} 回答，但素材库里没有它（可能已删除）。请在规则手册里改用其他素材或直接写 answer。"
        ),
        Locale::En => format!(
            "FAQ `{entry}` (template `{template}`) answers with content item #{id}, which is not in the content library (deleted?). Point it at another item or write an `answer` in the rulebook."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooldowns_hold_until_the_later_of_group_and_member() {
        let entry = FaqEntry { cooldown_secs: 60, member_cooldown_secs: 600, ..FaqEntry::default() };
        let t0 = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let last = FaqLastAnswers { in_group: Some(t0), to_member: None };
        assert_eq!(cooling_down(&entry, &last, t0 + Duration::seconds(30)), Some(t0 + Duration::seconds(60)));
        assert_eq!(cooling_down(&entry, &last, t0 + Duration::seconds(60)), None);
        let last = FaqLastAnswers { in_group: Some(t0), to_member: Some(t0) };
        assert_eq!(cooling_down(&entry, &last, t0 + Duration::seconds(61)), Some(t0 + Duration::seconds(600)));
        assert_eq!(cooling_down(&entry, &FaqLastAnswers::default(), t0), None);
    }
}
