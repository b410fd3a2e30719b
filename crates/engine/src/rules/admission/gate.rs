//! The newcomer gate (入群验证), for platforms and groups without join requests: a newcomer
//! is muted and asked a question (`admission.gate`); an answer unmutes them, anything else
//! they post is deleted, and at the deadline the scheduler's tick kicks them (or asks staff,
//! or leaves them be).
//!
//! - **Join** (not staff, not a member whose join request was approved, not blacklisted):
//!   `Mute` for the timeout (a day with `on_timeout = staff_task`, so they stay muted until
//!   staff decide; the planner makes a staff task where Mute is not a capability), the
//!   question as its own message mentioning them — sent at once, so it comes before the
//!   (batched) welcome, which stays as it was — and a pending [`GateWrite::Open`] committed
//!   with the join.
//! - **Message** from a pending member: one containing an accepted answer (normalised like
//!   the join-request answer check; 不/没/未/别 right before it does not count) → `Unmute`, a
//!   short confirmation and [`GateWrite::Pass`]; anything else → `Delete`, explained, with the
//!   later rules' replies suppressed.
//! - **Tick** `gate` ([`source`]): every pending gate of the group whose deadline has come
//!   → [`GateWrite::TimeOut`] (only applied if still pending with that deadline) and the
//!   `on_timeout` action. The tick's run id is `gate:<soonest deadline µs>`, so a repeated
//!   scan or a restart submits it once, and a timed-out gate is no longer due.
//! - **Leave** → [`GateWrite::Clear`]. **`gate.pass <member>`** (staff, through the API) →
//!   unmute, confirmation, pass.
//! - **Guarded mode**: with `only_when_guarded` the gate applies only while the group is
//!   guarded after a join wave (the join that starts the wave included).

use chrono::{DateTime, Duration, Utc};
use qunzhu_core::gate::{GateEntry, GateStatus, GateWrite};
use qunzhu_core::{ActionKind, BoxFuture, Member, MemberId, MessageId, Segment, StateWrite};
use qunzhu_text::normalize::fold;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::problems::Problem;
use crate::rules::{Proposal, RuleContext, RuleError, Verdict};
use crate::scheduler::{self, SourceRun};
use crate::{Engine, EngineError};

/// The tick job of gate deadlines.
pub const JOB: &str = "gate";
/// The operator command that lets a member through (`gate.pass <member>`).
pub const PASS: &str = "gate.pass";
/// The longest timeout, in minutes (a day).
pub const MAX_TIMEOUT_MINUTES: u32 = 1440;
/// How long a member is kept muted when staff decide at the deadline.
const STAFF_MUTE_SECS: u64 = 86_400;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct GateSettings {
    /// Gate newcomers (入群验证) where join requests are not used: a newcomer is muted and
    /// asked `question`; answering unmutes them, anything else they post is deleted until
    /// then, and at the deadline `on_timeout` applies. Staff and members whose join request
    /// was approved are not gated. Off by default.
    pub enabled: bool,
    /// Gate newcomers only while the group is guarded after a join wave (needs `enabled`).
    pub only_when_guarded: bool,
    /// The question, posted mentioning the newcomer right after they join (before the
    /// batched welcome), followed by the deadline.
    pub question: String,
    /// Accepted answers: a message containing one of them passes, compared after
    /// normalisation (full/half width, case, traditional/simplified, separators); 不/没/未/别
    /// right before the answer does not count.
    pub answers: Vec<String>,
    /// Minutes a newcomer has to answer (1 to 1440).
    pub timeout_minutes: u32,
    /// At the deadline: `kick` (removed, with the reason in the audit log), `staff_task`
    /// (staff are asked to decide; the member stays muted for up to a day, pass them with
    /// `POST /api/v1/groups/{connector}/{group}/gate/{member}/pass`) or `keep` (left in the
    /// group; the mute ends with the timeout).
    pub on_timeout: OnTimeout,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    #[default]
    Kick,
    StaffTask,
    Keep,
}

impl Default for GateSettings {
    fn default() -> Self {
        Self::builtin(Locale::ZhCn)
    }
}

impl GateSettings {
    pub fn builtin(locale: Locale) -> Self {
        Self {
            enabled: false,
            only_when_guarded: false,
            question: locale.pick("请回复「同意群规」完成入群验证", "Please reply “I agree” to the group rules to finish joining").into(),
            answers: match locale {
                Locale::ZhCn => vec!["同意群规".into(), "同意".into()],
                Locale::En => vec!["I agree".into(), "agree".into()],
            },
            timeout_minutes: 10,
            on_timeout: OnTimeout::Kick,
        }
    }
}

/// Checks the gate's settings; `path` is where they live.
pub fn validate(settings: &GateSettings, path: &[&str]) -> Vec<Problem> {
    let at = |key: &str| -> Vec<String> { path.iter().copied().chain([key]).map(str::to_owned).collect() };
    let mut problems = Vec::new();
    if settings.enabled && settings.question.trim().is_empty() {
        problems.push(Problem::new(at("question"), "the gate is enabled but its question is empty"));
    }
    if settings.enabled && settings.answers.is_empty() {
        problems.push(Problem::new(at("answers"), "the gate is enabled but no answer is accepted; list at least one"));
    }
    if settings.answers.iter().any(|a| fold(a).compact.is_empty()) {
        problems.push(Problem::new(at("answers"), "an answer is empty once normalised; write letters, digits or characters"));
    }
    if settings.timeout_minutes == 0 || settings.timeout_minutes > MAX_TIMEOUT_MINUTES {
        problems.push(Problem::new(at("timeout_minutes"), format!("use 1 to {MAX_TIMEOUT_MINUTES} minutes")));
    }
    problems
}

/// Whether `text` gives one of the answers (see [`GateSettings::answers`]).
pub fn answers(settings: &GateSettings, text: &str) -> bool {
    let given = fold(text).compact;
    settings.answers.iter().any(|answer| {
        let expected = fold(answer).compact;
        !expected.is_empty()
            && given.match_indices(expected.as_str()).any(|(at, _)| !given[..at].ends_with(['不', '没', '未', '別', '别']))
    })
}

/// Whether the gate applies to this join: enabled, and guarded if only then
/// (`wave_starts`: this very join starts a join wave).
pub async fn applies(cx: &RuleContext<'_>, wave_starts: bool) -> Result<bool, RuleError> {
    let gate = &cx.settings.admission.gate;
    if !gate.enabled {
        return Ok(false);
    }
    Ok(!gate.only_when_guarded || wave_starts || super::guarded(cx).await?.is_some())
}

fn mention(member: &MemberId, name: &str) -> Segment {
    Segment::Mention { member: member.clone(), name: Some(name.to_owned()) }
}

fn proposal(kind: ActionKind, explanation: String) -> Proposal {
    Proposal { kind, explanation, not_before: None, target: None }
}

/// A newcomer joined and the gate applies: mute, ask, open their gate.
pub async fn on_join(cx: &RuleContext<'_>, member: &Member) -> Result<Verdict, RuleError> {
    if member.role.is_staff()
        || cx.store.join_request_approved(&cx.group.key, &member.id).await?
        || cx.store.blacklisted(&cx.group.key.connector, &member.id).await?.is_some()
    {
        return Ok(Verdict::none());
    }
    let gate = &cx.settings.admission.gate;
    let l = cx.locale;
    let who = member.display_name();
    let minutes = gate.timeout_minutes;
    let timeout_secs = u64::from(minutes) * 60;
    let mute_secs = if gate.on_timeout == OnTimeout::StaffTask { STAFF_MUTE_SECS.max(timeout_secs) } else { timeout_secs };
    let deadline_note = match (l, gate.on_timeout) {
        (Locale::ZhCn, OnTimeout::Kick) => format!("（请在 {minutes} 分钟内回复，超时将被移出本群）"),
        (Locale::ZhCn, _) => format!("（请在 {minutes} 分钟内回复，验证前发言会被撤回）"),
        (Locale::En, OnTimeout::Kick) => format!(" (within {minutes} minutes, or you will be removed from the group)"),
        (Locale::En, _) => format!(" (within {minutes} minutes; messages before that are deleted)"),
    };
    let segments = vec![mention(&member.id, who), Segment::text(format!(" {}{deadline_note}", gate.question.trim()))];
    let explanation = match l {
        Locale::ZhCn => format!("新成员 {who} 入群，开启入群验证：禁言并等待回答（{minutes} 分钟）"),
        Locale::En => format!("{who} joined; newcomer gate: muted until they answer ({minutes} minutes)"),
    };
    let mut verdict = Verdict {
        proposals: vec![
            proposal(ActionKind::Mute { member: member.id.clone(), duration_secs: mute_secs }, explanation.clone()),
            proposal(ActionKind::Send { segments }, explanation),
        ],
        ..Verdict::default()
    };
    verdict.writes.push(StateWrite::Gate(GateWrite::Open(GateEntry {
        group: cx.group.key.clone(),
        member: member.id.clone(),
        name: member.name.clone(),
        status: GateStatus::Pending,
        joined_at: cx.event.time,
        deadline: cx.now + Duration::minutes(i64::from(minutes)),
        decided_at: None,
        decided_by: None,
    })));
    Ok(verdict)
}

/// Lets a member through: unmute, confirm, mark passed.
fn pass(cx: &RuleContext<'_>, member: &MemberId, name: &str, by: &str, explanation: String) -> Verdict {
    let confirmation = vec![mention(member, name), Segment::text(cx.locale.pick(" 验证通过，欢迎入群！", " you're verified — welcome!"))];
    let mut verdict = Verdict {
        proposals: vec![
            proposal(ActionKind::Unmute { member: member.clone() }, explanation.clone()),
            proposal(ActionKind::Send { segments: confirmation }, explanation),
        ],
        ..Verdict::default()
    };
    verdict.writes.push(StateWrite::Gate(GateWrite::Pass { group: cx.group.key.clone(), member: member.clone(), at: cx.now, by: by.to_owned() }));
    verdict
}

/// A message from a member: passes a pending gate with an answer, else deletes it.
pub async fn on_message(cx: &RuleContext<'_>, author: &Member, message: &MessageId) -> Result<Verdict, RuleError> {
    if author.role.is_staff() {
        return Ok(Verdict::none());
    }
    let Some(entry) = cx.store.gate_entry(&cx.group.key, &author.id).await? else { return Ok(Verdict::none()) };
    if entry.status != GateStatus::Pending {
        return Ok(Verdict::none());
    }
    let gate = &cx.settings.admission.gate;
    let who = author.display_name();
    if answers(gate, &cx.analysis.text) {
        let explanation = match cx.locale {
            Locale::ZhCn => format!("{who} 回答正确，通过入群验证，解除禁言"),
            Locale::En => format!("{who} answered the gate's question; unmuted"),
        };
        return Ok(pass(cx, &author.id, who, "engine", explanation));
    }
    let answer = gate.answers.first().map_or("", |a| a.trim());
    let explanation = match cx.locale {
        Locale::ZhCn => format!("{who} 尚未完成入群验证（需回复「{answer}」），验证前的发言已撤回"),
        Locale::En => format!("{who} has not passed the newcomer gate yet (answer: “{answer}”); their message was deleted"),
    };
    let mut verdict = Verdict::propose(ActionKind::Delete { message_id: message.clone() }, explanation);
    verdict.suppress_replies = true;
    verdict.detail = Some(serde_json::json!({ "gate": "pending", "deadline": entry.deadline }).to_string());
    Ok(verdict)
}

/// The deadline tick: every pending gate of the group that is due times out.
pub async fn on_tick(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    let gate = &cx.settings.admission.gate;
    let l = cx.locale;
    let mut verdict = Verdict::none();
    for entry in cx.store.gate_entries(Some(&cx.group.key), GateStatus::Pending, BATCH).await? {
        if entry.deadline > cx.now {
            break;
        }
        let who = entry.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| entry.member.to_string());
        let minutes = gate.timeout_minutes;
        let group = &cx.group.key;
        match gate.on_timeout {
            OnTimeout::Kick => {
                let reason = match l {
                    Locale::ZhCn => format!("{who} 未在 {minutes} 分钟内完成入群验证，移出本群"),
                    Locale::En => format!("{who} did not answer the newcomer gate within {minutes} minutes; removed"),
                };
                verdict.proposals.push(proposal(ActionKind::Kick { member: entry.member.clone() }, reason));
            }
            OnTimeout::StaffTask => {
                let text = match l {
                    Locale::ZhCn => format!(
                        "入群验证超时：{who}（{}）加入「{}」后 {minutes} 分钟内未回答，仍在禁言中。请人工确认：放行 POST /api/v1/groups/{}/{}/gate/{}/pass，或将其移出。",
                        entry.member, cx.group_name(), group.connector, group.group, entry.member
                    ),
                    Locale::En => format!(
                        "Newcomer gate timed out: {who} ({}) joined {} and did not answer within {minutes} minutes; still muted. Decide: let them in with POST /api/v1/groups/{}/{}/gate/{}/pass, or remove them.",
                        entry.member, cx.group_name(), group.connector, group.group, entry.member
                    ),
                };
                let explanation = match l {
                    Locale::ZhCn => format!("{who} 入群验证超时，交管理员处理"),
                    Locale::En => format!("{who} timed out at the newcomer gate; staff decide"),
                };
                verdict.proposals.push(proposal(ActionKind::NotifyStaff { text }, explanation));
            }
            OnTimeout::Keep => {}
        }
        verdict.writes.push(StateWrite::Gate(GateWrite::TimeOut { group: group.clone(), member: entry.member.clone(), deadline: entry.deadline, at: cx.now }));
    }
    if !verdict.writes.is_empty() {
        verdict.detail = Some(serde_json::json!({ "gate": "timed_out", "on_timeout": gate.on_timeout, "members": verdict.writes.len() }).to_string());
    }
    Ok(verdict)
}

/// `gate.pass <member>` from staff: lets a pending or timed-out member through.
pub async fn on_pass_command(cx: &RuleContext<'_>, operator: &str, member: &str) -> Result<Verdict, RuleError> {
    let member = MemberId::new(member.trim());
    let Some(entry) = cx.store.gate_entry(&cx.group.key, &member).await? else { return Ok(Verdict::none()) };
    if entry.status == GateStatus::Passed {
        return Ok(Verdict::none());
    }
    let who = entry.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| member.to_string());
    let explanation = match cx.locale {
        Locale::ZhCn => format!("{operator} 手动放行 {who}（入群验证），解除禁言"),
        Locale::En => format!("{operator} let {who} through the newcomer gate; unmuted"),
    };
    Ok(pass(cx, &member, &who, operator, explanation))
}

/// Gates read per scan; the rest wait for the next one.
const BATCH: u32 = 500;

/// The scheduler's source (listed in [`crate::scheduler::SOURCES`]): for every group with a
/// pending gate whose deadline has come, one tick with run id `gate:<soonest deadline µs>`.
pub fn source(engine: &Engine, now: DateTime<Utc>) -> BoxFuture<'_, Result<SourceRun, EngineError>> {
    Box::pin(async move {
        let mut run = SourceRun::default();
        let mut ticks = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for entry in engine.store().gate_entries(None, GateStatus::Pending, BATCH).await? {
            if entry.deadline > now {
                run.wake_at(entry.deadline);
                break;
            }
            if seen.insert(entry.group.clone()) {
                let run_id = format!("{JOB}:{}", entry.deadline.timestamp_micros());
                ticks.push(scheduler::tick(&entry.group, JOB, &run_id, now));
            }
        }
        run.ticks = scheduler::submit_ticks(engine, ticks).await?;
        Ok(run)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_counts_normalised_inside_a_sentence_but_not_negated() {
        let gate = GateSettings::default();
        assert!(answers(&gate, "同意群规"));
        assert!(answers(&gate, "好的，我同意！"));
        assert!(answers(&gate, "同 意 群 規"));
        assert!(!answers(&gate, "不同意"));
        assert!(!answers(&gate, "你好"));
    }

    #[test]
    fn the_gate_is_off_by_default_and_bad_settings_are_reported_at_their_keys() {
        assert!(!GateSettings::default().enabled);
        let settings = GateSettings { enabled: true, answers: Vec::new(), timeout_minutes: 0, ..GateSettings::default() };
        let paths: Vec<String> = validate(&settings, &["templates", "default", "admission", "gate"]).iter().map(|p| p.path.join(".")).collect();
        assert_eq!(paths, ["templates.default.admission.gate.answers", "templates.default.admission.gate.timeout_minutes"]);
        assert!(validate(&GateSettings::default(), &[]).is_empty());
    }
}
