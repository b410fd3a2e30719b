//! Admission screening (入群审核) and join waves.
//!
//! - A `JoinRequested` is screened: the blacklist (moderation rejects; recorded here), the
//!   operator's rules on the name and comment (regex / words), the question's expected
//!   answers, the optional 微商 [`preset`]. The outcome is approve, reject with a reason the
//!   applicant sees, hold for a human (a staff notification, which the planner makes a staff
//!   task where the platform has no staff channel), or leave (recorded as pending). Every
//!   request and decision is an [`AdmissionWrite::Request`] committed with the event.
//! - Held requests are decided later through the API: `admission.approve <id>` /
//!   `admission.reject <id> [reason]` operator commands (see [`crate::admission`]).
//! - A `MemberJoined` is counted against the join-wave threshold: a wave puts the group in
//!   guarded mode ([`AdmissionWrite::Guard`]) and raises one staff alert. While guarded,
//!   requests not clearly fine are held, the preset is on, and moderation treats newcomers'
//!   messages strictly.

pub mod gate;
pub mod preset;
pub mod settings;

use chrono::Duration;
use qunzhu_core::admission::{AdmissionWrite, GuardRecord, JoinRequestRecord, JoinRequestStatus};
use qunzhu_core::{ActionKind, EventKind, Member, StateWrite};
use qunzhu_text::normalize::fold;
use regex::Regex;

pub use settings::{AdmissionSettings, Otherwise, Outcome, ScreenField};

use crate::locale::Locale;
use crate::rules::{RuleContext, RuleError, Verdict};

/// Operator command prefixes (see [`crate::admission`]).
pub const APPROVE: &str = "admission.approve";
pub const REJECT: &str = "admission.reject";
pub const END_GUARD: &str = "admission.end_guard";

/// A screening decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub status: JoinRequestStatus,
    /// For staff (and, for a rejection, the applicant).
    pub reason: String,
    pub checks: Vec<String>,
}

pub async fn evaluate(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    match &cx.event.kind {
        EventKind::JoinRequested { member, request_id, comment } if cx.settings.admission.enabled => {
            screen_request(cx, member, request_id, comment.as_deref().unwrap_or("")).await
        }
        EventKind::MemberJoined { member, .. } => {
            let mut verdict = join_wave(cx).await?;
            let wave_starts = verdict.writes.iter().any(|w| matches!(w, StateWrite::Admission(AdmissionWrite::Guard(_))));
            if gate::applies(cx, wave_starts).await? {
                let gated = gate::on_join(cx, member).await?;
                verdict.proposals.extend(gated.proposals);
                verdict.writes.extend(gated.writes);
            }
            Ok(verdict)
        }
        EventKind::MessagePosted { author, message } => gate::on_message(cx, author, &message.id).await,
        EventKind::MemberLeft { member, .. } => {
            let mut verdict = Verdict::none();
            if cx.store.gate_entry(&cx.group.key, &member.id).await?.is_some() {
                verdict.writes.push(StateWrite::Gate(qunzhu_core::gate::GateWrite::Clear { group: cx.group.key.clone(), member: member.id.clone() }));
            }
            Ok(verdict)
        }
        EventKind::Tick { job } if job == gate::JOB => gate::on_tick(cx).await,
        EventKind::OperatorCommand { operator, command } => match command.split_once(' ') {
            Some((gate::PASS, member)) => gate::on_pass_command(cx, operator, member).await,
            _ => operator_command(cx, operator, command).await,
        },
        _ => Ok(Verdict::none()),
    }
}

/// Whether the group is in guarded mode now.
pub async fn guarded(cx: &RuleContext<'_>) -> Result<Option<GuardRecord>, RuleError> {
    Ok(cx.store.group_guard(&cx.group.key).await?.filter(|g| g.active_at(cx.now)))
}

fn matches(rule: &settings::ScreenRule, text: &str) -> bool {
    if text.is_empty() {
        return false;
    }
    let folded = fold(text);
    if !rule.regex.is_empty() {
        // Validated when the rulebook loads; an invalid one never matches.
        if let Ok(re) = Regex::new(&rule.regex) {
            if re.is_match(text) || re.is_match(&folded.han) || re.is_match(&folded.compact) {
                return true;
            }
        }
    }
    rule.words.iter().any(|word| {
        let word = fold(word);
        (!word.han.trim().is_empty() && folded.han.contains(word.han.trim()))
            || (!word.compact.is_empty() && folded.compact.contains(&word.compact))
    })
}

/// Screens a request (pure apart from the inputs): the first rule that speaks decides.
pub fn screen(settings: &AdmissionSettings, name: &str, comment: &str, guarded: bool, locale: Locale) -> Decision {
    let l = locale;
    let decided = |outcome: Outcome, reason: String, checks: Vec<String>| Decision {
        status: match outcome {
            Outcome::Reject => JoinRequestStatus::Rejected,
            Outcome::Hold => JoinRequestStatus::Held,
        },
        reason,
        checks,
    };
    for rule in &settings.rules {
        let hit = match rule.field {
            ScreenField::Name => matches(rule, name),
            ScreenField::Comment => matches(rule, comment),
            ScreenField::Either => matches(rule, name) || matches(rule, comment),
        };
        if hit {
            let check = match l {
                Locale::ZhCn => format!("命中审核规则「{}」", rule.id),
                Locale::En => format!("matched screening rule `{}`", rule.id),
            };
            let reason = if rule.reason.trim().is_empty() { check.clone() } else { rule.reason.clone() };
            return decided(rule.outcome, reason, vec![check]);
        }
    }
    if !settings.answers.is_empty() {
        let given = fold(comment).compact;
        let right = settings.answers.iter().any(|a| {
            let expected = fold(a).compact;
            !expected.is_empty() && given.contains(&expected)
        });
        if !right {
            let check = l.pick("入群问题未答对", "the question was not answered correctly").to_owned();
            let reason = match settings.wrong_answer {
                Outcome::Reject => settings.wrong_answer_reason.clone(),
                Outcome::Hold => check.clone(),
            };
            return decided(settings.wrong_answer, reason, vec![check]);
        }
    }
    if settings.weishang_preset || guarded {
        let found = preset::findings(name, comment, l);
        if !found.is_empty() {
            let reason = match l {
                Locale::ZhCn => format!("疑似微商：{}", found.join("；")),
                Locale::En => format!("looks like a seller: {}", found.join("; ")),
            };
            return decided(settings.weishang_outcome, reason, found);
        }
    }
    let otherwise = match (settings.otherwise, guarded) {
        (_, true) | (Otherwise::Hold, false) => Otherwise::Hold,
        (other, false) => other,
    };
    let checks = if settings.answers.is_empty() { Vec::new() } else { vec![l.pick("入群问题已答对", "the question was answered correctly").to_owned()] };
    match otherwise {
        Otherwise::Approve => Decision { status: JoinRequestStatus::Approved, reason: l.pick("审核通过", "passed screening").into(), checks },
        Otherwise::Hold => Decision {
            status: JoinRequestStatus::Held,
            reason: if guarded {
                l.pick("入群高峰警戒中，全部申请交人工审核", "guarded mode after a join wave: every request goes to a human").into()
            } else {
                l.pick("按设置交人工审核", "held for a human as configured").into()
            },
            checks,
        },
        Otherwise::Leave => Decision { status: JoinRequestStatus::Pending, reason: l.pick("未命中审核规则，留待平台处理", "no check spoke; left to the platform").into(), checks },
    }
}

async fn screen_request(cx: &RuleContext<'_>, member: &Member, request_id: &str, comment: &str) -> Result<Verdict, RuleError> {
    let l = cx.locale;
    let existing = cx.store.join_request(&cx.group.key, request_id).await?;
    if existing.as_ref().is_some_and(|r| r.status.is_final()) {
        return Ok(Verdict::none());
    }
    let name = member.name.as_deref().unwrap_or("");
    let blacklisted = cx.store.blacklisted(&cx.group.key.connector, &member.id).await?;
    let guard = guarded(cx).await?;
    let (decision, act) = match &blacklisted {
        Some(entry) => {
            let reason = match l {
                Locale::ZhCn => format!("在黑名单中（{}）", entry.reason),
                Locale::En => format!("on the blacklist ({})", entry.reason),
            };
            // Moderation rejects blacklisted applicants; only when it is off does admission.
            let act = !cx.settings.moderation.enabled;
            (Decision { status: JoinRequestStatus::Rejected, reason, checks: vec![l.pick("黑名单", "blacklist").into()] }, act)
        }
        None => (screen(&cx.settings.admission, name, comment, guard.is_some(), l), true),
    };
    let who = member.display_name();
    let mut verdict = Verdict::none();
    if act {
        let explanation = match l {
            Locale::ZhCn => format!("入群申请（{who}）：{}", decision.reason),
            Locale::En => format!("join request ({who}): {}", decision.reason),
        };
        match decision.status {
            JoinRequestStatus::Approved => {
                verdict = Verdict::propose(ActionKind::ApproveJoin { request_id: request_id.into(), member: member.id.clone() }, explanation);
            }
            JoinRequestStatus::Rejected => {
                let kind = ActionKind::RejectJoin { request_id: request_id.into(), member: member.id.clone(), reason: decision.reason.clone() };
                verdict = Verdict::propose(kind, explanation);
            }
            JoinRequestStatus::Held => {
                let text = held_text(cx, who, &member.id, request_id, comment, &decision);
                verdict = Verdict::propose(ActionKind::NotifyStaff { text }, explanation);
            }
            JoinRequestStatus::Pending => {}
        }
    }
    verdict.detail = serde_json::to_string(&serde_json::json!({
        "request_id": request_id,
        "status": decision.status.name(),
        "reason": decision.reason,
        "checks": decision.checks,
        "guarded": guard.is_some(),
    }))
    .ok();
    verdict.writes.push(StateWrite::Admission(AdmissionWrite::Request(JoinRequestRecord {
        group: cx.group.key.clone(),
        request_id: request_id.into(),
        member: member.id.clone(),
        name: member.name.clone(),
        comment: Some(comment.to_owned()).filter(|c| !c.is_empty()),
        status: decision.status,
        reason: decision.reason,
        checks: decision.checks,
        requested_at: existing.map_or(cx.event.time, |r| r.requested_at),
        updated_at: cx.now,
        decided_by: "engine".into(),
    })));
    Ok(verdict)
}

fn held_text(cx: &RuleContext<'_>, who: &str, member: &qunzhu_core::MemberId, request_id: &str, comment: &str, decision: &Decision) -> String {
    let group = &cx.group.key;
    let question = &cx.settings.admission.question;
    match cx.locale {
        Locale::ZhCn => format!(
            "入群申请待人工审核：{who}（{member}）申请加入「{}」\n留言：{}\n{}原因：{}\n通过：POST /api/v1/join-requests/{request_id}/approve {{\"group\":\"{group}\",\"by\":\"…\"}}\n拒绝：POST /api/v1/join-requests/{request_id}/reject {{\"group\":\"{group}\",\"by\":\"…\",\"reason\":\"…\"}}",
            cx.group_name(),
            if comment.is_empty() { "（无）" } else { comment },
            if question.is_empty() { String::new() } else { format!("问题：{question}\n") },
            decision.reason,
        ),
        Locale::En => format!(
            "Join request held for a human: {who} ({member}) asks to join {}\nComment: {}\n{}Reason: {}\nApprove: POST /api/v1/join-requests/{request_id}/approve {{\"group\":\"{group}\",\"by\":\"…\"}}\nReject: POST /api/v1/join-requests/{request_id}/reject {{\"group\":\"{group}\",\"by\":\"…\",\"reason\":\"…\"}}",
            cx.group_name(),
            if comment.is_empty() { "(none)" } else { comment },
            if question.is_empty() { String::new() } else { format!("Question: {question}\n") },
            decision.reason,
        ),
    }
}

/// Counts the join against the wave threshold; the first join that reaches it starts guarded
/// mode and alerts staff once (later joins of the same wave find the group guarded).
async fn join_wave(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    let wave = &cx.settings.admission.join_wave;
    if !wave.enabled || guarded(cx).await?.is_some() {
        return Ok(Verdict::none());
    }
    let since = cx.event.time - Duration::minutes(i64::from(wave.window_mins));
    // This join is logged in the same commit (by the welcome rule): count it too.
    let joins = cx.store.count_joins(&cx.group.key, since).await?.saturating_add(1);
    if joins < wave.joins {
        return Ok(Verdict::none());
    }
    let until = cx.now + Duration::minutes(i64::from(wave.guard_mins));
    let local_until = until.with_timezone(&cx.settings.timezone()).format("%H:%M");
    let reason = match cx.locale {
        Locale::ZhCn => format!("{} 分钟内 {joins} 人入群（阈值 {}），进入警戒模式至 {local_until}", wave.window_mins, wave.joins),
        Locale::En => format!("{joins} joins within {} minutes (threshold {}); guarded mode until {local_until}", wave.window_mins, wave.joins),
    };
    let text = match cx.locale {
        Locale::ZhCn => format!(
            "⚠️ 入群高峰：「{}」{reason}。警戒期间入群申请一律人工审核，新成员发言从严审核。提前结束：DELETE /api/v1/groups/{}/{}/guard",
            cx.group_name(),
            cx.group.key.connector,
            cx.group.key.group
        ),
        Locale::En => format!(
            "⚠️ Join wave in {}: {reason}. While guarded, join requests go to a human and newcomers are moderated strictly. End it early: DELETE /api/v1/groups/{}/{}/guard",
            cx.group_name(),
            cx.group.key.connector,
            cx.group.key.group
        ),
    };
    let mut verdict = Verdict::propose(ActionKind::NotifyStaff { text }, reason.clone());
    verdict.writes.push(StateWrite::Admission(AdmissionWrite::Guard(GuardRecord {
        group: cx.group.key.clone(),
        started_at: cx.now,
        until,
        joins,
        reason,
    })));
    Ok(verdict)
}

/// `admission.approve <id>`, `admission.reject <id> [reason]`, `admission.end_guard`.
async fn operator_command(cx: &RuleContext<'_>, operator: &str, command: &str) -> Result<Verdict, RuleError> {
    let l = cx.locale;
    let (verb, rest) = command.split_once(' ').unwrap_or((command, ""));
    if verb == END_GUARD {
        if guarded(cx).await?.is_none() {
            return Ok(Verdict::none());
        }
        let mut verdict = Verdict::none();
        verdict.writes.push(StateWrite::Admission(AdmissionWrite::EndGuard { group: cx.group.key.clone(), at: cx.now }));
        verdict.detail = Some(serde_json::json!({ "guard": "ended", "by": operator }).to_string());
        return Ok(verdict);
    }
    let approve = match verb {
        APPROVE => true,
        REJECT => false,
        _ => return Ok(Verdict::none()),
    };
    let (request_id, reason) = rest.trim().split_once(' ').map_or((rest.trim(), ""), |(id, r)| (id, r.trim()));
    let Some(record) = cx.store.join_request(&cx.group.key, request_id).await? else { return Ok(Verdict::none()) };
    if record.status.is_final() {
        return Ok(Verdict::none());
    }
    let who = record.name.clone().unwrap_or_else(|| record.member.to_string());
    let reason = if reason.is_empty() {
        if approve { l.pick("管理员审核通过", "approved by staff") } else { l.pick("管理员审核未通过", "rejected by staff") }.to_owned()
    } else {
        reason.to_owned()
    };
    let explanation = match l {
        Locale::ZhCn => format!("{operator} 处理入群申请（{who}）：{reason}"),
        Locale::En => format!("{operator} decided the join request of {who}: {reason}"),
    };
    let kind = if approve {
        ActionKind::ApproveJoin { request_id: record.request_id.clone(), member: record.member.clone() }
    } else {
        ActionKind::RejectJoin { request_id: record.request_id.clone(), member: record.member.clone(), reason: reason.clone() }
    };
    let mut verdict = Verdict::propose(kind, explanation);
    verdict.writes.push(StateWrite::Admission(AdmissionWrite::Request(JoinRequestRecord {
        status: if approve { JoinRequestStatus::Approved } else { JoinRequestStatus::Rejected },
        reason,
        updated_at: cx.now,
        decided_by: operator.to_owned(),
        ..record
    })));
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::settings::ScreenRule;
    use super::*;

    fn with_rule(rule: ScreenRule) -> AdmissionSettings {
        AdmissionSettings { rules: vec![rule], ..AdmissionSettings::default() }
    }

    #[test]
    fn a_word_rule_matches_across_width_case_and_traditional_spelling() {
        let settings = with_rule(ScreenRule { id: "ads".into(), words: vec!["招商".into()], reason: "广告号".into(), ..ScreenRule::default() });
        let decision = screen(&settings, "小王", "誠邀 招 商 合作", false, Locale::ZhCn);
        assert_eq!(decision.status, JoinRequestStatus::Rejected);
        assert_eq!(decision.reason, "广告号");
        assert_eq!(decision.checks, ["命中审核规则「ads」"]);
    }

    #[test]
    fn the_answer_is_compared_normalised_and_a_wrong_one_is_rejected_with_its_reason() {
        let settings = AdmissionSettings { question: "本群口令？".into(), answers: vec!["Rust".into()], ..AdmissionSettings::default() };
        assert_eq!(screen(&settings, "x", "口令是 ＲＵＳＴ", false, Locale::ZhCn).status, JoinRequestStatus::Pending);
        let wrong = screen(&settings, "x", "不知道", false, Locale::ZhCn);
        assert_eq!(wrong.status, JoinRequestStatus::Rejected);
        assert_eq!(wrong.reason, settings.wrong_answer_reason);
    }

    #[test]
    fn the_preset_is_off_by_default_and_guarded_mode_holds_everything_else() {
        let settings = AdmissionSettings::default();
        assert_eq!(screen(&settings, "AAA乐乐", "", false, Locale::ZhCn).status, JoinRequestStatus::Pending);
        let guarded = screen(&settings, "AAA乐乐", "", true, Locale::ZhCn);
        assert_eq!(guarded.status, JoinRequestStatus::Held);
        assert!(guarded.reason.starts_with("疑似微商："), "{}", guarded.reason);
        assert_eq!(screen(&settings, "张伟", "", true, Locale::ZhCn).status, JoinRequestStatus::Held);
        let approving = AdmissionSettings { otherwise: Otherwise::Approve, ..AdmissionSettings::default() };
        assert_eq!(screen(&approving, "张伟", "", false, Locale::ZhCn).status, JoinRequestStatus::Approved);
    }

    #[test]
    fn a_bad_regex_is_reported_at_its_entry() {
        let settings = with_rule(ScreenRule { id: "x".into(), regex: "([a-z".into(), reason: "r".into(), ..ScreenRule::default() });
        let problems = settings::validate(&settings, &["templates", "default", "admission"]);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path.join("."), "templates.default.admission.rules.0.regex");
    }
}
