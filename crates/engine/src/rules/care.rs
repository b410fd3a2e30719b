//! The `care` rule (用户思维): runs [`crate::care::CareTracker`] over the group's stored care
//! state for every message and for its scheduler ticks, and turns its signals into writes
//! (committed with the event) and proposals.
//!
//! - A member's line: stored with its sentiment (`care_lines`, the outbreak windows); a
//!   question opens a `care_questions` row; staff (Owner/Admin or `care.staff_members`)
//!   answering closes it (see the tracker for which answers count).
//! - An outbreak: one NotifyStaff alert with the messages and a suggested response, and one
//!   ticket (`outbreak`). Its time (event time) is the ticket's `opened_at`, which the cooldown
//!   reads back, so one outbreak raises one alert.
//! - The scheduler's [`source`] submits a tick (`care`) per open question when its alert or
//!   apology is due; the tick raises the NotifyStaff alert (with a link to
//!   `/api/v1/questions/{id}`) and one ticket (`unanswered_question`), or sends the apology.

use chrono::{DateTime, Duration, Utc};
use qunzhu_core::care::{CareLine, CareQuestion, CareWrite, QuestionStatus, Ticket, TicketStatus};
use qunzhu_core::{ActionKind, BoxFuture, EventKind, Member, Message, Role, Segment, StateWrite};

use super::{Proposal, RuleContext, RuleError, Verdict};
use crate::care::{CareSignal, CareTracker, ChatLine, NegativeLine, OpenQuestion, Outbreak, unanswered_alert};
use crate::locale::Locale;
use crate::scheduler::{self, SourceRun};
use crate::{Engine, EngineError};

/// The job of the care ticks.
pub const JOB: &str = "care";

/// The job prefix of a ticket's follow-up tick (`care:follow_up:<ticket id>`).
pub const FOLLOW_UP_JOB: &str = "care:follow_up:";

/// The ticket category of an outbreak.
pub const OUTBREAK: &str = "outbreak";
/// The ticket category of an unanswered question.
pub const UNANSWERED: &str = "unanswered_question";


pub async fn evaluate(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    if !cx.settings.care.enabled {
        return Ok(Verdict::none());
    }
    match &cx.event.kind {
        EventKind::MessagePosted { author, message } => on_message(cx, author, message).await,
        EventKind::Tick { job } if job == JOB => on_tick(cx).await,
        EventKind::Tick { job } => match job.strip_prefix(FOLLOW_UP_JOB) {
            Some(ticket) => on_follow_up(cx, ticket).await,
            None => Ok(Verdict::none()),
        },
        _ => Ok(Verdict::none()),
    }
}

fn question_id(cx: &RuleContext<'_>, message_id: &str) -> String {
    format!("{}:{}:{}", cx.group.key.connector.as_str(), cx.group.key.group.as_str(), message_id)
}

fn stored(cx: &RuleContext<'_>, q: &OpenQuestion) -> CareQuestion {
    CareQuestion {
        id: question_id(cx, &q.message_id),
        group: cx.group.key.clone(),
        message_id: q.message_id.clone(),
        member: q.member.clone(),
        name: q.name.clone(),
        text: q.text.clone(),
        cue: q.cue.clone(),
        asked_at: q.at,
        status: QuestionStatus::Open,
        answered_by: None,
        answered_at: None,
        alerted: q.alerted,
        apologised: q.apologised,
    }
}

fn open_question(q: &CareQuestion) -> OpenQuestion {
    OpenQuestion {
        message_id: q.message_id.clone(),
        member: q.member.clone(),
        name: q.name.clone(),
        at: q.asked_at,
        text: q.text.clone(),
        cue: q.cue.clone(),
        alerted: q.alerted,
        apologised: q.apologised,
    }
}

/// The group's tracker as stored, for one event at `at`: the outbreak window's lines, the
/// trailing 7 days as counts (no lines read for them), the open questions.
async fn tracker(cx: &RuleContext<'_>, at: DateTime<Utc>) -> Result<CareTracker, RuleError> {
    let settings = &cx.settings.care;
    let start = at - Duration::minutes(i64::from(settings.outbreak_window_minutes));
    let (before, before_negative) = cx.store.care_line_counts(&cx.group.key, start - Duration::days(7), start).await?;
    let lines = cx.store.care_lines_since(&cx.group.key, start).await?;
    let open = cx.store.care_questions(Some(&cx.group.key), Some(QuestionStatus::Open)).await?;
    let last_outbreak =
        cx.store.care_tickets(Some(&cx.group.key), None).await?.into_iter().filter(|t| t.category == OUTBREAK).map(|t| t.opened_at).max();
    let seen = lines.into_iter().filter(|l| l.at <= at).map(|l| {
        let negative = l.negative.then(|| NegativeLine {
            message_id: l.message_id.clone(),
            member: l.member.clone(),
            name: l.name.clone(),
            at: l.at,
            text: l.text.clone(),
            score: l.score,
        });
        (l.at, negative)
    });
    let baseline = (usize::try_from(before).unwrap_or(usize::MAX), usize::try_from(before_negative).unwrap_or(usize::MAX));
    Ok(CareTracker::restore_window(seen, baseline, open.iter().map(open_question).collect(), last_outbreak))
}

fn ticket(cx: &RuleContext<'_>, id: String, category: &str, title: String, detail: String, source: String) -> Ticket {
    let at = cx.event.time;
    Ticket {
        id,
        group: cx.group.key.clone(),
        category: category.to_owned(),
        title,
        detail,
        status: TicketStatus::Open,
        owner: None,
        due_at: None,
        follow_up_at: None,
        notes: Vec::new(),
        source: Some(source),
        opened_at: at,
        updated_at: at,
        resolved_at: None,
        followed_up_at: None,
    }
}

fn notify(text: String, explanation: String) -> Proposal {
    Proposal { kind: ActionKind::NotifyStaff { text }, explanation, not_before: None, target: None }
}

async fn on_message(cx: &RuleContext<'_>, author: &Member, message: &Message) -> Result<Verdict, RuleError> {
    let settings = &cx.settings.care;
    let text = message.plain_text();
    let staff = matches!(author.role, Role::Owner | Role::Admin) || settings.staff_members.iter().any(|m| m == author.id.as_str());
    let mut reply_to = None;
    let mut mentions = Vec::new();
    for segment in &message.segments {
        match segment {
            Segment::Reply { message_id } => reply_to = Some(message_id.as_str().to_owned()),
            Segment::Mention { member, .. } => mentions.push(member.as_str().to_owned()),
            _ => {}
        }
    }
    let at = cx.event.time;
    let line = ChatLine {
        message_id: message.id.as_str().to_owned(),
        member: author.id.as_str().to_owned(),
        name: author.display_name().to_owned(),
        at,
        text: text.clone(),
        staff,
        reply_to,
        mentions,
    };
    let mut tracker = tracker(cx, at).await?;
    let signals = tracker.observe(&line, settings);
    let mut verdict = Verdict::none();
    if !staff && !text.trim().is_empty() {
        let s = qunzhu_text::sentiment(&text);
        verdict.writes.push(StateWrite::Care(CareWrite::Line(CareLine {
            id: format!("{}:{}", question_id(cx, &line.message_id), at.timestamp_micros()),
            group: cx.group.key.clone(),
            message_id: line.message_id.clone(),
            member: line.member.clone(),
            name: line.name.clone(),
            at,
            text,
            negative: s.label == qunzhu_text::Polarity::Negative,
            score: s.score,
        })));
    }
    for signal in signals {
        match signal {
            CareSignal::Asked(q) => verdict.writes.push(StateWrite::Care(CareWrite::Question(stored(cx, &q)))),
            CareSignal::Answered { question, by, .. } => verdict.writes.push(StateWrite::Care(CareWrite::Question(CareQuestion {
                status: QuestionStatus::Answered,
                answered_by: Some(by),
                answered_at: Some(at),
                ..stored(cx, &question)
            }))),
            CareSignal::Outbreak(outbreak) => outbreak_verdict(cx, &outbreak, &mut verdict),
            CareSignal::Unanswered(_) | CareSignal::Apology(_) => {}
        }
    }
    Ok(verdict)
}

fn outbreak_verdict(cx: &RuleContext<'_>, outbreak: &Outbreak, verdict: &mut Verdict) {
    let text = outbreak.alert_text(cx.locale, cx.group_name());
    let event_id = cx.event.origin.event_id.as_str();
    let id = format!("outbreak:{}:{}:{}", cx.group.key.connector.as_str(), cx.group.key.group.as_str(), event_id);
    let title = match cx.locale {
        Locale::ZhCn => format!("负面情绪集体爆发（{} 位成员）", outbreak.members),
        Locale::En => format!("Negative outbreak ({} members)", outbreak.members),
    };
    verdict.writes.push(StateWrite::Care(CareWrite::Ticket(ticket(cx, id, OUTBREAK, title, text.clone(), event_id.to_owned()))));
    let explanation = match cx.locale {
        Locale::ZhCn => format!("{} 位成员在 {} 分钟内表达不满，提醒管理员并记入问题清单", outbreak.members, cx.settings.care.outbreak_window_minutes),
        Locale::En => format!("{} members upset within {} min: staff alerted, ticket opened", outbreak.members, cx.settings.care.outbreak_window_minutes),
    };
    verdict.proposals.push(notify(text, explanation));
}

async fn on_tick(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    let settings = &cx.settings.care;
    let at = cx.event.time;
    let mut tracker = tracker(cx, at).await?;
    let mut verdict = Verdict::none();
    for signal in tracker.due(at, settings) {
        match signal {
            CareSignal::Unanswered(q) => {
                let record = stored(cx, &q);
                let link = format!("/api/v1/questions/{}", record.id);
                let waited = (at - q.at).num_minutes();
                let text = unanswered_alert(&q, cx.locale, cx.group_name(), waited, &link);
                let title = match cx.locale {
                    Locale::ZhCn => format!("问题未回复：{}", q.text),
                    Locale::En => format!("Unanswered question: {}", q.text),
                };
                let ticket = ticket(cx, format!("question:{}", record.id), UNANSWERED, title, text.clone(), record.id.clone());
                verdict.writes.push(StateWrite::Care(CareWrite::Question(record)));
                verdict.writes.push(StateWrite::Care(CareWrite::Ticket(ticket)));
                let explanation = match cx.locale {
                    Locale::ZhCn => format!("{} 的问题 {waited} 分钟无人回复，提醒管理员", q.name),
                    Locale::En => format!("{}'s question unanswered for {waited} min: staff alerted", q.name),
                };
                verdict.proposals.push(notify(text, explanation));
            }
            CareSignal::Apology(q) => {
                let segments = super::template_text::render(&settings.apology_text, &["name"], |_| {
                    vec![Segment::Mention { member: q.member.as_str().into(), name: Some(q.name.clone()) }]
                });
                verdict.writes.push(StateWrite::Care(CareWrite::Question(stored(cx, &q))));
                let explanation = match cx.locale {
                    Locale::ZhCn => format!("{} 的问题仍未回复，向其致歉", q.name),
                    Locale::En => format!("{}'s question still unanswered: apology sent", q.name),
                };
                verdict.proposals.push(Proposal { kind: ActionKind::Send { segments }, explanation, not_before: None, target: None });
            }
            CareSignal::Asked(_) | CareSignal::Answered { .. } | CareSignal::Outbreak(_) => {}
        }
    }
    Ok(verdict)
}

/// A ticket's follow-up (回访) is due: remind staff once per `follow_up_at`.
async fn on_follow_up(cx: &RuleContext<'_>, id: &str) -> Result<Verdict, RuleError> {
    let Some(ticket) = cx.store.care_ticket(id).await? else {
        return Ok(Verdict::none());
    };
    let Some(due) = ticket.follow_up_at.filter(|due| *due <= cx.event.time && ticket.status.is_open() && ticket.followed_up_at != Some(*due))
    else {
        return Ok(Verdict::none());
    };
    let text = match cx.locale {
        Locale::ZhCn => format!("📌 回访提醒：{}（问题清单 {}，负责人：{}）", ticket.title, ticket.id, ticket.owner.as_deref().unwrap_or("未指派")),
        Locale::En => format!("📌 Follow up: {} (ticket {}, owner: {})", ticket.title, ticket.id, ticket.owner.as_deref().unwrap_or("unassigned")),
    };
    let explanation = cx.locale.pick("问题清单的回访时间到了，提醒管理员", "A ticket's follow-up is due: staff reminded").to_owned();
    let mut verdict = Verdict::none();
    verdict.writes.push(StateWrite::Care(CareWrite::Ticket(Ticket { followed_up_at: Some(due), ..ticket })));
    verdict.proposals.push(notify(text, explanation));
    Ok(verdict)
}

/// The scheduler's source (listed in [`crate::scheduler::SOURCES`]): for every open question
/// whose alert (or apology) is due, a tick for its group; for every open ticket whose
/// `follow_up_at` has come and was not yet reminded of, a follow-up tick. The run id names the question and the
/// stage, so the inbox takes each once; the tick marks it alerted (apologised) with the event.
pub fn source(engine: &Engine, now: DateTime<Utc>) -> BoxFuture<'_, Result<SourceRun, EngineError>> {
    Box::pin(async move {
        let rulebook = engine.rulebook();
        let mut run = SourceRun::default();
        let mut ticks = Vec::new();
        for q in engine.store().care_questions(None, Some(QuestionStatus::Open)).await? {
            let settings = &rulebook.settings_for(&q.group).settings.care;
            if !settings.enabled {
                continue;
            }
            let mut stages = Vec::new();
            if !q.alerted {
                stages.push(("alert", settings.unanswered_minutes));
            }
            if settings.apology_minutes > 0 && !q.apologised {
                stages.push(("apology", settings.apology_minutes));
            }
            for (stage, minutes) in stages {
                let due_at = q.asked_at + Duration::minutes(i64::from(minutes));
                if due_at > now {
                    run.wake_at(due_at);
                } else {
                    ticks.push(scheduler::tick(&q.group, JOB, &format!("{JOB}:{}:{stage}", q.id), now));
                }
            }
        }
        for t in engine.store().care_tickets(None, None).await? {
            let Some(due) = t.follow_up_at.filter(|due| t.status.is_open() && t.followed_up_at != Some(*due)) else {
                continue;
            };
            if due > now {
                run.wake_at(due);
            } else {
                let job = format!("{FOLLOW_UP_JOB}{}", t.id);
                ticks.push(scheduler::tick(&t.group, &job, &format!("care-follow-up:{}:{}", t.id, due.timestamp_micros()), now));
            }
        }
        run.ticks = scheduler::submit_ticks(engine, ticks).await?;
        Ok(run)
    })
}
