//! Lotteries (抽奖): created through the API for one or more groups of a community, entered
//! by a keyword and/or a condition, drawn at their time — auditably — and announced with real
//! mentions of the winners.
//!
//! - [`draw`] — the documented draw function, the seed, verification.
//! - [`settings`] — the template's texts and who may enter.
//!
//! **Entry.** A member who sends a lottery's keyword in one of its groups enters once (a
//! second keyword changes nothing and gets no second reply); with a condition too, the
//! keyword only counts once the condition is met (the reply says how far they are). A
//! lottery with a condition and no keyword enters, at the draw, everyone who meets it.
//! Conditions count over the lottery's period, from its creation to its draw, in its groups:
//! messages (counted by this rule while the lottery is open; the keyword message counts too)
//! or check-in days (the check-in records). Staff do not enter unless `staff_may_enter`.
//! Entries close at the draw time.
//!
//! **Draw.** `Tick { job: "lottery:<id>" }` in the lottery's home group (its first) at the
//! draw time, or the operator command `lottery.draw <id>` (`POST /api/v1/lotteries/{id}/draw`):
//! a seed from the OS, the sorted entrants, the winners by [`draw::winners`]; the record is
//! committed with the draw (refused if an entry slipped in after the entrants were read, so
//! the event is judged again) and is the `detail` of the announcements' audit rows.
//!
//! Creation is the operator command `lottery.create <CreateCommand as JSON>` in the home
//! group, so the lottery and its announcements are one commit.

pub mod draw;
pub mod settings;

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use qunzhu_core::lottery::{entrant, EntryCondition, Lottery, LotteryEntry, LotteryWrite};
use qunzhu_core::{ActionKind, EventKind, GroupKey, Member, MemberId, Message, Segment, StateWrite};
use serde::{Deserialize, Serialize};

pub use settings::LotterySettings;

use crate::locale::Locale;
use crate::rules::signup::{fold, local_time};
use crate::rules::{template_text, Proposal, RuleContext, RuleError, Verdict};

/// The scheduler's job for a draw: `lottery:<id>`.
pub const JOB_PREFIX: &str = "lottery:";
/// The operator command that creates a lottery: `lottery.create <CreateCommand as JSON>`.
pub const CREATE_COMMAND: &str = "lottery.create ";
/// The operator command that draws a lottery now: `lottery.draw <id>`.
pub const DRAW_COMMAND: &str = "lottery.draw ";

/// The longest period over which check-ins are gathered for a draw by the condition alone.
const MAX_PERIOD_DAYS: i64 = 366;

/// What the API asks for when it creates a lottery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCommand {
    pub lottery: Lottery,
    /// Post `announce_text` in each of its groups.
    pub announce: bool,
}

/// The job a lottery's draw tick carries.
pub fn job(id: &str) -> String {
    format!("{JOB_PREFIX}{id}")
}

pub async fn evaluate(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    if !cx.settings.lottery.enabled {
        return Ok(Verdict::none());
    }
    match &cx.event.kind {
        EventKind::MessagePosted { author, message } => on_message(cx, author, message).await,
        EventKind::Tick { job } => match job.strip_prefix(JOB_PREFIX) {
            Some(id) => draw_lottery(cx, id, "engine", false).await,
            None => Ok(Verdict::none()),
        },
        EventKind::OperatorCommand { operator, command } => {
            if let Some(json) = command.strip_prefix(CREATE_COMMAND) {
                let Ok(create) = serde_json::from_str::<CreateCommand>(json) else { return Ok(Verdict::none()) };
                return create_lottery(cx, create).await;
            }
            if let Some(id) = command.strip_prefix(DRAW_COMMAND) {
                return draw_lottery(cx, id.trim(), operator, true).await;
            }
            Ok(Verdict::none())
        }
        _ => Ok(Verdict::none()),
    }
}

fn proposal(kind: ActionKind, explanation: String, target: Option<GroupKey>) -> Proposal {
    Proposal { kind, explanation, not_before: None, target }
}

fn mention(member: &MemberId, name: Option<&str>) -> Segment {
    Segment::Mention { member: member.clone(), name: name.map(String::from) }
}

/// `5 messages` / `发言满 5 条` — what the condition asks.
pub fn condition_text(condition: EntryCondition, locale: Locale) -> String {
    match (condition, locale) {
        (EntryCondition::Messages { at_least }, Locale::ZhCn) => format!("活动期间发言满 {at_least} 条"),
        (EntryCondition::Messages { at_least }, Locale::En) => format!("{at_least} messages during the lottery"),
        (EntryCondition::CheckIns { at_least }, Locale::ZhCn) => format!("活动期间签到满 {at_least} 天"),
        (EntryCondition::CheckIns { at_least }, Locale::En) => format!("{at_least} check-in days during the lottery"),
    }
}

/// How to enter, for the announcement.
pub fn how_to_enter(lottery: &Lottery, locale: Locale) -> String {
    let condition = lottery.condition.map(|c| condition_text(c, locale));
    match (&lottery.keyword, condition, locale) {
        (Some(keyword), None, Locale::ZhCn) => format!("在群里发送「{keyword}」"),
        (Some(keyword), None, Locale::En) => format!("send “{keyword}” in the group"),
        (Some(keyword), Some(condition), Locale::ZhCn) => format!("{condition}后，在群里发送「{keyword}」"),
        (Some(keyword), Some(condition), Locale::En) => format!("send “{keyword}” in the group once you have {condition}"),
        (None, Some(condition), Locale::ZhCn) => format!("{condition}即自动参与"),
        (None, Some(condition), Locale::En) => format!("everyone with {condition} is entered"),
        (None, None, _) => String::new(),
    }
}

async fn on_message(cx: &RuleContext<'_>, author: &Member, message: &Message) -> Result<Verdict, RuleError> {
    let settings = &cx.settings.lottery;
    if author.role.is_staff() && !settings.staff_may_enter {
        return Ok(Verdict::none());
    }
    let key = &cx.group.key;
    let lotteries = cx.store.open_lotteries_in(key).await?;
    if lotteries.is_empty() {
        return Ok(Verdict::none());
    }
    let said = fold(&cx.analysis.text);
    let mut verdict = Verdict::none();
    for lottery in lotteries.iter().filter(|l| cx.now < l.draw_at) {
        if matches!(lottery.condition, Some(EntryCondition::Messages { .. })) {
            verdict.writes.push(StateWrite::Lottery(LotteryWrite::CountMessage {
                lottery: lottery.id.clone(),
                group: key.clone(),
                member: author.id.clone(),
                name: author.name.clone(),
            }));
        }
        if lottery.keyword.as_deref().is_none_or(|k| fold(k) != said) {
            continue;
        }
        // The keyword is this rule's: not also an FAQ question.
        verdict.suppress_replies = true;
        if cx.store.lottery_entry(&lottery.id, &key.connector, &author.id).await?.is_some() {
            continue;
        }
        let name = Some(author.display_name().to_owned());
        if let Some(condition) = lottery.condition {
            let progress = progress(cx, lottery, &author.id, condition).await?;
            if progress < condition.at_least() {
                let condition_words = condition_text(condition, cx.locale);
                let segments = template_text::render(&settings.not_eligible_text, settings::NOT_ELIGIBLE_PLACEHOLDERS, |p| match p {
                    "name" => vec![mention(&author.id, name.as_deref())],
                    "title" => vec![Segment::text(&lottery.title)],
                    "condition" => vec![Segment::text(&condition_words)],
                    "progress" => vec![Segment::text(format!("{progress}/{}", condition.at_least()))],
                    _ => Vec::new(),
                });
                let why = match cx.locale {
                    Locale::ZhCn => format!("{} 尚不满足抽奖「{}」的条件（{progress}/{}）", author.display_name(), lottery.title, condition.at_least()),
                    Locale::En => format!("{} does not meet the “{}” condition yet ({progress}/{})", author.display_name(), lottery.title, condition.at_least()),
                };
                verdict.proposals.push(proposal(ActionKind::Reply { to: message.id.clone(), segments }, why, None));
                continue;
            }
        }
        verdict.writes.push(StateWrite::Lottery(LotteryWrite::Enter(LotteryEntry {
            lottery: lottery.id.clone(),
            connector: key.connector.clone(),
            member: author.id.clone(),
            group: key.clone(),
            name: author.name.clone(),
            entered_at: cx.now,
        })));
        if settings.reply_on_entry {
            let draw_at = local_time(lottery.draw_at, cx.settings.timezone(), cx.locale);
            let segments = template_text::render(&settings.entered_text, settings::ENTERED_PLACEHOLDERS, |p| match p {
                "name" => vec![mention(&author.id, name.as_deref())],
                "title" => vec![Segment::text(&lottery.title)],
                "draw_at" => vec![Segment::text(&draw_at)],
                _ => Vec::new(),
            });
            let why = match cx.locale {
                Locale::ZhCn => format!("{} 参与抽奖「{}」", author.display_name(), lottery.title),
                Locale::En => format!("{} entered the “{}” lottery", author.display_name(), lottery.title),
            };
            verdict.proposals.push(proposal(ActionKind::Reply { to: message.id.clone(), segments }, why, None));
        }
    }
    Ok(verdict)
}

/// The lottery's period in local days of the group: its creation day to today.
fn period(cx: &RuleContext<'_>, lottery: &Lottery) -> (NaiveDate, NaiveDate) {
    let tz = cx.settings.timezone();
    let from = lottery.created_at.with_timezone(&tz).date_naive();
    let to = cx.now.with_timezone(&tz).date_naive().max(from);
    (from.max(to - Duration::days(MAX_PERIOD_DAYS)), to)
}

/// How far a member is towards the condition, this event included.
async fn progress(cx: &RuleContext<'_>, lottery: &Lottery, member: &MemberId, condition: EntryCondition) -> Result<u32, RuleError> {
    match condition {
        EntryCondition::Messages { .. } => {
            let counted = cx.store.lottery_message_count(&lottery.id, &cx.group.key.connector, member).await?;
            // This message is counted in the same commit.
            Ok(counted.saturating_add(1))
        }
        EntryCondition::CheckIns { .. } => {
            let (from, to) = period(cx, lottery);
            let mut days = 0u32;
            for group in &lottery.groups {
                days = days.saturating_add(cx.store.count_check_ins(group, member, from, to).await?);
            }
            Ok(days)
        }
    }
}

/// Everyone who meets the condition (for a lottery without a keyword), not yet entered.
async fn qualified(cx: &RuleContext<'_>, lottery: &Lottery, condition: EntryCondition, entered: &[LotteryEntry]) -> Result<Vec<LotteryEntry>, RuleError> {
    let is_entered = |member: &MemberId| entered.iter().any(|e| &e.member == member);
    let entry = |group: &GroupKey, member: &MemberId, name: Option<String>| LotteryEntry {
        lottery: lottery.id.clone(),
        connector: group.connector.clone(),
        member: member.clone(),
        group: group.clone(),
        name,
        entered_at: cx.now,
    };
    let mut found = Vec::new();
    match condition {
        EntryCondition::Messages { at_least } => {
            for count in cx.store.lottery_message_counts(&lottery.id, at_least).await? {
                if !is_entered(&count.member) {
                    found.push(entry(&count.group, &count.member, count.name));
                }
            }
        }
        EntryCondition::CheckIns { at_least } => {
            let (from, to) = period(cx, lottery);
            // Who checked in at all during the period, then how many days each.
            let mut candidates: BTreeMap<MemberId, GroupKey> = BTreeMap::new();
            for group in &lottery.groups {
                let mut day = from;
                while day <= to {
                    for check_in in cx.store.check_ins_on(group, day).await? {
                        candidates.entry(check_in.member).or_insert_with(|| group.clone());
                    }
                    day += Duration::days(1);
                }
            }
            for (member, group) in candidates {
                if is_entered(&member) {
                    continue;
                }
                let mut days = 0u32;
                for g in &lottery.groups {
                    days = days.saturating_add(cx.store.count_check_ins(g, &member, from, to).await?);
                }
                if days >= at_least {
                    let name = cx.store.member(&group, &member).await?.and_then(|m| m.name);
                    found.push(entry(&group, &member, name));
                }
            }
        }
    }
    Ok(found)
}

async fn create_lottery(cx: &RuleContext<'_>, create: CreateCommand) -> Result<Verdict, RuleError> {
    let lottery = create.lottery;
    if lottery.home_group() != Some(&cx.group.key) || cx.store.get_lottery(&lottery.id).await?.is_some() {
        return Ok(Verdict::none());
    }
    let mut verdict = Verdict::none();
    if create.announce {
        let settings = &cx.settings.lottery;
        let how = how_to_enter(&lottery, cx.locale);
        let draw_at = local_time(lottery.draw_at, cx.settings.timezone(), cx.locale);
        for group in &lottery.groups {
            let segments = template_text::render(&settings.announce_text, settings::ANNOUNCE_PLACEHOLDERS, |p| match p {
                "title" => vec![Segment::text(&lottery.title)],
                "prize" => vec![Segment::text(&lottery.prize)],
                "winners" => vec![Segment::text(lottery.winners.to_string())],
                "how" => vec![Segment::text(&how)],
                "draw_at" => vec![Segment::text(&draw_at)],
                _ => Vec::new(),
            });
            let why = format!("{}「{}」", cx.locale.pick("发布抽奖", "lottery announced"), lottery.title);
            verdict.proposals.push(proposal(ActionKind::Send { segments }, why, target(cx, group)));
        }
    }
    verdict.detail = Some(serde_json::json!({ "lottery": lottery }).to_string());
    verdict.writes.push(StateWrite::Lottery(LotteryWrite::Create(lottery)));
    Ok(verdict)
}

/// `None` for the event's own group.
fn target(cx: &RuleContext<'_>, group: &GroupKey) -> Option<GroupKey> {
    (group != &cx.group.key).then(|| group.clone())
}

async fn draw_lottery(cx: &RuleContext<'_>, id: &str, by: &str, now_rather_than_at_its_time: bool) -> Result<Verdict, RuleError> {
    let Some(lottery) = cx.store.get_lottery(id).await? else { return Ok(Verdict::none()) };
    if !lottery.is_open() || lottery.home_group() != Some(&cx.group.key) {
        return Ok(Verdict::none());
    }
    if !now_rather_than_at_its_time && cx.now < lottery.draw_at {
        return Ok(Verdict::none());
    }
    let entries = cx.store.lottery_entries(id).await?;
    let added = match (&lottery.keyword, lottery.condition) {
        (None, Some(condition)) => qualified(cx, &lottery, condition, &entries).await?,
        _ => Vec::new(),
    };
    let everyone: Vec<&LotteryEntry> = entries.iter().chain(&added).collect();
    let record = draw::draw(id, everyone.iter().map(|e| e.entrant()), lottery.winners, cx.now, by)?;

    let settings = &cx.settings.lottery;
    let mut verdict = Verdict::none();
    for group in &lottery.groups {
        let segments = if record.entrants.is_empty() {
            template_text::render(&settings.no_entrants_text, settings::NO_ENTRANTS_PLACEHOLDERS, |p| match p {
                "title" => vec![Segment::text(&lottery.title)],
                _ => Vec::new(),
            })
        } else {
            template_text::render(&settings.winners_text, settings::WINNERS_PLACEHOLDERS, |p| match p {
                "title" => vec![Segment::text(&lottery.title)],
                "prize" => vec![Segment::text(&lottery.prize)],
                "winners" => winner_mentions(&record.winners, &everyone, cx.locale),
                "entrants" => vec![Segment::text(record.entrants.len().to_string())],
                "seed" => vec![Segment::text(&record.seed[..16])],
                "hash" => vec![Segment::text(&record.entrants_sha256[..16])],
                "id" => vec![Segment::text(&lottery.id)],
                _ => Vec::new(),
            })
        };
        let why = match cx.locale {
            Locale::ZhCn => format!("抽奖「{}」开奖：{} 人参与，{} 人中奖", lottery.title, record.entrants.len(), record.winners.len()),
            Locale::En => format!("the “{}” draw: {} entered, {} won", lottery.title, record.entrants.len(), record.winners.len()),
        };
        verdict.proposals.push(proposal(ActionKind::Send { segments }, why, target(cx, group)));
    }
    verdict.detail = Some(serde_json::json!({ "lottery": lottery.id, "draw": record }).to_string());
    verdict.writes.push(StateWrite::Lottery(LotteryWrite::Draw {
        lottery: lottery.id.clone(),
        record,
        keyword_entries: entries.len() as u64,
        added,
    }));
    Ok(verdict)
}

/// The winners as real mentions, separated as the language writes lists.
fn winner_mentions(winners: &[String], entries: &[&LotteryEntry], locale: Locale) -> Vec<Segment> {
    let mut segments = Vec::new();
    for (i, winner) in winners.iter().enumerate() {
        if i > 0 {
            segments.push(Segment::text(locale.pick("、", ", ")));
        }
        match entries.iter().find(|e| &entrant(&e.connector, &e.member) == winner) {
            Some(entry) => segments.push(mention(&entry.member, entry.name.as_deref())),
            None => segments.push(Segment::text(winner)),
        }
    }
    segments
}
