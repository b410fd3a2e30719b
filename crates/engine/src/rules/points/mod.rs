//! Check-ins, points for messages, and levels — the 促活 habits — as one rule, so an event
//! that earns points in several ways is measured against the level ladder once.
//!
//! - A message that is exactly a check-in keyword checks the member in for the local day
//!   (the group's timezone): streak from yesterday's check-in, streak bonus, rank among
//!   today's check-ins; a second one the same day earns nothing and is answered kindly.
//! - A make-up keyword spends a make-up card (补签卡) on yesterday, before today's check-in.
//! - Other messages earn `per_message` points up to a daily cap.
//! - When the points earned cross a level, the promotion is announced.
//!
//! Every change is a ledger entry with a deterministic id (`<event id>/<what>`) committed
//! with the event, so a re-processed event never pays twice.

pub mod settings;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use qunzhu_core::points::{CheckIn, ItemChange, LedgerEntry, MAKEUP_CARD, PointsBalance};
use qunzhu_core::{ActionKind, EventKind, Member, Segment, StateWrite};

use crate::locale::Locale;
use crate::rules::{Proposal, RuleContext, RuleError, Verdict, template_text};
pub use settings::{CheckInSettings, Level, LevelSettings, PointsSettings, StreakBonus};

/// Ledger rule names.
pub const CHECK_IN_RULE: &str = "check_in";
pub const MESSAGE_RULE: &str = "message";

/// What a message asks of this rule.
#[derive(Debug, PartialEq, Eq)]
enum Intent {
    CheckIn,
    MakeUp,
    Balance,
    /// Redeem the item named after the prefix.
    Redeem(String),
    Chat,
}

/// Keyword matching ignores case, spaces and punctuation: "签到！", " 签 到 " and "Check-in" count.
fn squash(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

fn intent(text: &str, settings: &CheckInSettings, points: &PointsSettings) -> Intent {
    let said = squash(text);
    if said.is_empty() {
        return Intent::Chat;
    }
    let is = |words: &[String]| words.iter().any(|w| !squash(w).is_empty() && squash(w) == said);
    if settings.enabled && (is(&settings.keywords) || text.trim().eq_ignore_ascii_case("/checkin")) {
        return Intent::CheckIn;
    }
    if settings.enabled && is(&settings.makeup_keywords) {
        return Intent::MakeUp;
    }
    if is(&points.balance_keywords) {
        return Intent::Balance;
    }
    let trimmed = text.trim();
    for prefix in points.redeem_prefixes.iter().filter(|p| !p.trim().is_empty()) {
        let head = trimmed.get(..prefix.len()).filter(|h| h.eq_ignore_ascii_case(prefix));
        if let Some(rest) = head.and_then(|_| trimmed.get(prefix.len()..)) {
            let item = rest.trim_matches(|c: char| c.is_whitespace() || c == ':' || c == '：');
            if !item.is_empty() {
                return Intent::Redeem(item.to_owned());
            }
        }
    }
    Intent::Chat
}

/// Whether `text` asks for today's check-in under these settings (milestones count them).
pub fn is_check_in(text: &str, settings: &CheckInSettings) -> bool {
    matches!(intent(text, settings, &PointsSettings::default()), Intent::CheckIn)
}

/// The local day of `time` in the group's timezone.
pub fn local_day(time: DateTime<Utc>, tz: chrono_tz::Tz) -> NaiveDate {
    tz.from_utc_datetime(&time.naive_utc()).date_naive()
}

/// The UTC instant the local day `day` starts at in `tz`.
pub fn start_of_day(day: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&midnight).earliest().map_or_else(|| Utc.from_utc_datetime(&midnight), |t| t.with_timezone(&Utc))
}

pub async fn evaluate(cx: &RuleContext<'_>) -> Result<Verdict, RuleError> {
    let EventKind::MessagePosted { author, message } = &cx.event.kind else {
        return Ok(Verdict::none());
    };
    let connector = &cx.event.origin.connector;
    let mut work = Work { cx, author, writes: Vec::new(), proposals: Vec::new(), gained: 0 };
    match intent(&cx.analysis.text, &cx.settings.check_in, &cx.settings.points) {
        Intent::CheckIn => work.check_in(&message.id).await?,
        Intent::MakeUp => work.make_up(&message.id).await?,
        Intent::Balance => work.balance(&message.id).await?,
        Intent::Redeem(item) => work.redeem(&message.id, &item).await?,
        Intent::Chat => work.message_points().await?,
    }
    if work.gained > 0 && cx.settings.levels.enabled && cx.settings.levels.announce {
        let before = cx.store.points_balance(connector, &author.id).await?;
        work.announce_promotion(&before);
    }
    Ok(Verdict { proposals: work.proposals, writes: work.writes, ..Verdict::default() })
}

struct Work<'a, 'b> {
    cx: &'a RuleContext<'b>,
    author: &'a Member,
    writes: Vec<StateWrite>,
    proposals: Vec<Proposal>,
    /// Points earned by this event (the balance before it is still the stored one).
    gained: i64,
}

impl Work<'_, '_> {
    fn entry(&self, what: &str, amount: i64, rule: &str, reason: String) -> LedgerEntry {
        LedgerEntry {
            id: format!("{}/{}/{what}", self.cx.event.origin.connector, self.cx.event.origin.event_id),
            connector: self.cx.event.origin.connector.clone(),
            member: self.author.id.clone(),
            amount,
            reason,
            rule: rule.to_owned(),
            group: Some(self.cx.event.group_key()),
            cause: Some(self.cx.event.origin.event_id.clone()),
            actor: "engine".into(),
            time: self.cx.event.time,
        }
    }

    fn reply(&mut self, to: &qunzhu_core::MessageId, text: &str, allowed: &[&str], values: &Values, explanation: String) {
        let segments = template_text::render(text, allowed, |name| values.fill(name, self.author));
        self.proposals.push(Proposal { kind: ActionKind::Reply { to: to.clone(), segments }, explanation, not_before: None, target: None });
    }

    async fn check_in(&mut self, message: &qunzhu_core::MessageId) -> Result<(), RuleError> {
        let cx = self.cx;
        let settings = &cx.settings.check_in;
        let group = cx.event.group_key();
        let today = local_day(cx.event.time, cx.settings.timezone());
        let balance = cx.store.points_balance(&cx.event.origin.connector, &self.author.id).await?;
        let last = cx.store.last_check_in(&group, &self.author.id).await?;
        let level = level_title(cx, balance.earned);
        if let Some(last) = last.as_ref().filter(|c| c.day == today) {
            let rank = cx.store.check_ins_on(&group, today).await?.iter().position(|c| c.member == self.author.id).map_or(0, |i| i + 1);
            let values = Values { points: 0, streak: last.streak, rank, balance: balance.balance, level };
            let explanation = cx.locale.pick("今天已签到，不再加分", "already checked in today; nothing awarded").to_owned();
            self.reply(message, &settings.already_reply, settings::CHECK_IN_PLACEHOLDERS, &values, explanation);
            return Ok(());
        }
        let streak = match &last {
            Some(last) if Some(last.day) == today.pred_opt() => last.streak + 1,
            _ => 1,
        };
        let points = settings.points_for(streak);
        let rank = cx.store.check_ins_on(&group, today).await?.len() + 1;
        let reason = match cx.locale {
            Locale::ZhCn => format!("签到（连续 {streak} 天）"),
            Locale::En => format!("check-in (streak {streak})"),
        };
        self.writes.push(StateWrite::CheckIn(CheckIn {
            group,
            member: self.author.id.clone(),
            day: today,
            streak,
            points,
            makeup: false,
            time: cx.event.time,
        }));
        if points > 0 {
            let entry = self.entry("check_in", points, CHECK_IN_RULE, reason.clone());
            self.writes.push(StateWrite::Points(entry));
        }
        self.gained += points;
        let level = level_title(cx, balance.earned + points);
        let values = Values { points, streak, rank, balance: balance.balance + points, level };
        self.reply(message, &settings.reply, settings::CHECK_IN_PLACEHOLDERS, &values, format!("{reason} +{points}"));
        Ok(())
    }

    async fn make_up(&mut self, message: &qunzhu_core::MessageId) -> Result<(), RuleError> {
        let cx = self.cx;
        let settings = &cx.settings.check_in;
        let group = cx.event.group_key();
        let connector = &cx.event.origin.connector;
        let today = local_day(cx.event.time, cx.settings.timezone());
        let Some(yesterday) = today.pred_opt() else { return Ok(()) };
        let cards = cx.store.inventory(connector, &self.author.id, MAKEUP_CARD).await?;
        let done_today = cx.store.check_in_on(&group, &self.author.id, today).await?.is_some();
        let done_yesterday = cx.store.check_in_on(&group, &self.author.id, yesterday).await?.is_some();
        if cards == 0 || done_today || done_yesterday {
            let explanation = cx.locale.pick("不能补签（无补签卡、昨天已签或今天已签）", "make-up refused (no card, yesterday counted, or checked in today)");
            let values = Values::default();
            self.reply(message, &settings.makeup_refused_reply, &["name"], &values, explanation.to_owned());
            return Ok(());
        }
        let before = yesterday.pred_opt();
        let streak = match cx.store.check_in_on(&group, &self.author.id, before.unwrap_or(yesterday)).await? {
            Some(prev) if before.is_some() => prev.streak + 1,
            _ => 1,
        };
        let points = settings.points_for(streak);
        let balance = cx.store.points_balance(connector, &self.author.id).await?;
        let reason = match cx.locale {
            Locale::ZhCn => format!("补签 {yesterday}（连续 {streak} 天）"),
            Locale::En => format!("make-up check-in for {yesterday} (streak {streak})"),
        };
        let card_id = format!("{}/{}/makeup_card", cx.event.origin.connector, cx.event.origin.event_id);
        self.writes.push(StateWrite::Item(ItemChange {
            id: card_id,
            connector: connector.clone(),
            member: self.author.id.clone(),
            item: MAKEUP_CARD.into(),
            delta: -1,
            time: cx.event.time,
        }));
        self.writes.push(StateWrite::CheckIn(CheckIn {
            group,
            member: self.author.id.clone(),
            day: yesterday,
            streak,
            points,
            makeup: true,
            time: cx.event.time,
        }));
        if points > 0 {
            self.writes.push(StateWrite::Points(self.entry("makeup", points, CHECK_IN_RULE, reason.clone())));
        }
        self.gained += points;
        let level = level_title(cx, balance.earned + points);
        let values = Values { points, streak, rank: 0, balance: balance.balance + points, level };
        self.reply(message, &settings.makeup_reply, settings::CHECK_IN_PLACEHOLDERS, &values, format!("{reason} +{points}"));
        Ok(())
    }

    async fn balance(&mut self, message: &qunzhu_core::MessageId) -> Result<(), RuleError> {
        let cx = self.cx;
        let connector = &cx.event.origin.connector;
        let balance = cx.store.points_balance(connector, &self.author.id).await?;
        let cards = cx.store.inventory(connector, &self.author.id, MAKEUP_CARD).await?;
        let level = level_title(cx, balance.earned);
        let author = self.author;
        let segments = template_text::render(&cx.settings.points.balance_reply, settings::BALANCE_PLACEHOLDERS, |name| match name {
            "name" => vec![mention(author)],
            "balance" => vec![Segment::text(balance.balance.to_string())],
            "earned" => vec![Segment::text(balance.earned.to_string())],
            "level" => vec![Segment::text(&level)],
            "cards" => vec![Segment::text(cards.to_string())],
            _ => Vec::new(),
        });
        let explanation = cx.locale.pick("查询积分", "points asked for").to_owned();
        self.proposals.push(Proposal { kind: ActionKind::Reply { to: message.clone(), segments }, explanation, not_before: None, target: None });
        Ok(())
    }

    /// Redeems right away in the store (stock and points are checked in one transaction
    /// there); the redemption id comes from the event, so a re-processed command is refused
    /// as a duplicate and answered with nothing.
    async fn redeem(&mut self, message: &qunzhu_core::MessageId, wanted: &str) -> Result<(), RuleError> {
        let cx = self.cx;
        let items = cx.store.shop_items().await?;
        let item = items.iter().find(|i| i.id.eq_ignore_ascii_case(wanted) || i.name == wanted);
        let outcome = match item {
            Some(item) => {
                let request = crate::shop::RedeemRequest {
                    id: format!("{}/{}", cx.event.origin.connector, cx.event.origin.event_id),
                    item,
                    connector: &cx.event.origin.connector,
                    member: self.author,
                    group: &cx.event.group_key(),
                    group_name: cx.group_name(),
                    cause: Some(&cx.event.origin.event_id),
                    actor: "engine",
                    locale: cx.locale,
                    now: cx.event.time,
                };
                crate::shop::redeem(cx.store, &request).await?
            }
            None => Err(qunzhu_core::shop::Refusal::UnknownItem),
        };
        let author = self.author;
        let item_name = item.map_or(wanted, |i| i.name.as_str());
        let (text, allowed, explanation, values): (&str, &[&str], String, Vec<(&str, String)>) = match outcome {
            Ok(done) => {
                let balance = cx.store.points_balance(&cx.event.origin.connector, &author.id).await?;
                (
                    &cx.settings.points.redeem_reply,
                    settings::REDEEM_PLACEHOLDERS,
                    format!("{} {item_name} (-{})", cx.locale.pick("兑换", "redeemed"), done.cost),
                    vec![("cost", done.cost.to_string()), ("balance", balance.balance.to_string())],
                )
            }
            Err(qunzhu_core::shop::Refusal::Duplicate) => return Ok(()),
            Err(refusal) => (
                &cx.settings.points.redeem_refused_reply,
                settings::REDEEM_REFUSED_PLACEHOLDERS,
                format!("{} {item_name}: {}", cx.locale.pick("兑换未成功", "redemption refused"), refusal.code()),
                vec![("reason", crate::shop::refusal_text(refusal, cx.locale).to_owned())],
            ),
        };
        let segments = template_text::render(text, allowed, |name| match name {
            "name" => vec![mention(author)],
            "item" => vec![Segment::text(item_name)],
            other => values.iter().find(|(k, _)| *k == other).map(|(_, v)| vec![Segment::text(v)]).unwrap_or_default(),
        });
        self.proposals.push(Proposal { kind: ActionKind::Reply { to: message.clone(), segments }, explanation, not_before: None, target: None });
        Ok(())
    }

    async fn message_points(&mut self) -> Result<(), RuleError> {
        let cx = self.cx;
        let settings = &cx.settings.points;
        if !settings.enabled || settings.per_message <= 0 {
            return Ok(());
        }
        let chars = cx.analysis.text.chars().filter(|c| !c.is_whitespace()).count();
        if chars < settings.min_message_chars {
            return Ok(());
        }
        let tz = cx.settings.timezone();
        let since = start_of_day(local_day(cx.event.time, tz), tz);
        let today = cx.store.points_by_rule_since(&cx.event.origin.connector, &self.author.id, MESSAGE_RULE, since).await?;
        let amount = settings.per_message.min(settings.message_daily_cap - today);
        if amount <= 0 {
            return Ok(());
        }
        let reason = cx.locale.pick("发言", "message").to_owned();
        self.writes.push(StateWrite::Points(self.entry("message", amount, MESSAGE_RULE, reason)));
        self.gained += amount;
        Ok(())
    }

    /// Announces the level the points of this event reach, if it is a new one.
    fn announce_promotion(&mut self, before: &PointsBalance) {
        let levels = &self.cx.settings.levels;
        let after = before.earned + self.gained;
        let (Some(old), Some(new)) = (levels.level_for(before.earned), levels.level_for(after)) else { return };
        if new.min_points <= old.min_points {
            return;
        }
        let author = self.author;
        let segments = template_text::render(&levels.announce_text, settings::LEVEL_PLACEHOLDERS, |name| match name {
            "name" => vec![mention(author)],
            "level" => vec![Segment::text(&new.title)],
            "earned" => vec![Segment::text(after.to_string())],
            _ => Vec::new(),
        });
        let explanation = match self.cx.locale {
            Locale::ZhCn => format!("{} 累计 {after} 积分，由「{}」升级为「{}」", author.display_name(), old.title, new.title),
            Locale::En => format!("{} reached {after} points: {} → {}", author.display_name(), old.title, new.title),
        };
        self.proposals.push(Proposal { kind: ActionKind::Send { segments }, explanation, not_before: None, target: None });
    }
}

fn level_title(cx: &RuleContext<'_>, earned: i64) -> String {
    cx.settings.levels.level_for(earned).map(|l| l.title.clone()).unwrap_or_default()
}

fn mention(member: &Member) -> Segment {
    Segment::Mention { member: member.id.clone(), name: Some(member.display_name().to_owned()) }
}

#[derive(Default)]
struct Values {
    points: i64,
    streak: u32,
    rank: usize,
    balance: i64,
    level: String,
}

impl Values {
    fn fill(&self, name: &str, member: &Member) -> Vec<Segment> {
        match name {
            "name" => vec![mention(member)],
            "points" => vec![Segment::text(self.points.to_string())],
            "streak" => vec![Segment::text(self.streak.to_string())],
            "rank" => vec![Segment::text(self.rank.to_string())],
            "balance" => vec![Segment::text(self.balance.to_string())],
            "level" => vec![Segment::text(&self.level)],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn keywords_ignore_case_spaces_and_punctuation_but_not_extra_words() {
        let settings = CheckInSettings::builtin(Locale::ZhCn);
        let points = PointsSettings::builtin(Locale::ZhCn);
        assert_eq!(intent("签到", &settings, &points), Intent::CheckIn);
        assert_eq!(intent(" 签 到！", &settings, &points), Intent::CheckIn);
        assert_eq!(intent("打卡~", &settings, &points), Intent::CheckIn);
        assert_eq!(intent("/checkin", &settings, &points), Intent::CheckIn);
        assert_eq!(intent("补签", &settings, &points), Intent::MakeUp);
        assert_eq!(intent("我的积分", &settings, &points), Intent::Balance);
        assert_eq!(intent("兑换 补签卡", &settings, &points), Intent::Redeem("补签卡".into()));
        assert_eq!(intent("兑换：mug", &settings, &points), Intent::Redeem("mug".into()));
        assert_eq!(intent("兑换", &settings, &points), Intent::Chat);
        assert_eq!(intent("今天签到了吗", &settings, &points), Intent::Chat);
        assert_eq!(intent("签到", &CheckInSettings { enabled: false, ..settings }, &points), Intent::Chat);
    }

    #[test]
    fn the_largest_reached_streak_bonus_applies() {
        let settings = CheckInSettings::builtin(Locale::ZhCn);
        assert_eq!(settings.points_for(1), 5);
        assert_eq!(settings.points_for(3), 7);
        assert_eq!(settings.points_for(8), 10);
        assert_eq!(settings.points_for(45), 15);
    }

    #[test]
    fn local_days_follow_the_groups_timezone() {
        let tz = chrono_tz::Asia::Shanghai;
        let just_before = DateTime::parse_from_rfc3339("2026-11-23T15:59:59Z").unwrap().with_timezone(&Utc);
        assert_eq!(local_day(just_before, tz), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
        assert_eq!(local_day(just_before + Duration::seconds(1), tz), NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
        assert_eq!(start_of_day(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(), tz), just_before + Duration::seconds(1));
    }

    #[test]
    fn levels_go_by_earned_points_and_the_first_step_is_the_floor() {
        let levels = LevelSettings::builtin(Locale::ZhCn);
        assert_eq!(levels.level_for(0).unwrap().title, "新人");
        assert_eq!(levels.level_for(49).unwrap().title, "新人");
        assert_eq!(levels.level_for(50).unwrap().title, "活跃");
        assert_eq!(levels.level_for(5000).unwrap().title, "元老");
        assert!(LevelSettings { enabled: false, ..levels }.level_for(100).is_none());
    }
}
