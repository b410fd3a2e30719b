//! The group command that starts a list, parsed (pure; tested here):
//!
//! ```text
//! #接龙 <title> [限<N>人 | <N>人 | 限<N> | limit <N> | max <N>] [截止 <when> | until <when>]
//! ```
//!
//! The words may come in any order; what is neither the limit nor the closing time is the
//! title. `<when>` is a time in the group's timezone:
//! - a time of day: `20:00`, `8:30`, `20点`, `8点半`, `8点30分`, `晚上8点`, `下午3点`, `8pm`
//!   — today, or tomorrow when that time has passed;
//! - a day and a time: `今天 20:00`, `今晚8点`, `明天20:00`, `明晚8点`, `后天 9:00`,
//!   `tomorrow 18:00`, `tonight 8pm`, `6-20 20:00`, `6/20 20:00`, `6月20日20:00`,
//!   `2026-06-20 20:00`;
//! - a day alone closes at 23:59 that day.
//!
//! Full-width digits and colons (`２０：００`) are read like ASCII ones.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::locale::Locale;

/// The largest limit a list may have.
pub const MAX_LIMIT: u32 = 10_000;

/// A list to start, as the command asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartRequest {
    pub title: String,
    pub limit: Option<u32>,
    pub closes_at: Option<DateTime<Utc>>,
}

/// Why a start command could not be understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    NoTitle,
    BadLimit(String),
    PastTime(String),
}

impl CommandError {
    /// The reply, in the operator's language, with the command's form.
    pub fn message(&self, locale: Locale, command: &str) -> String {
        let usage = match locale {
            Locale::ZhCn => format!("格式：{command} 标题 [限20人] [截止 20:00]"),
            Locale::En => format!("Usage: {command} <title> [limit 20] [until 20:00]"),
        };
        let what = match (self, locale) {
            (Self::NoTitle, Locale::ZhCn) => "接龙需要一个标题".to_owned(),
            (Self::NoTitle, Locale::En) => "a sign-up needs a title".to_owned(),
            (Self::BadLimit(text), Locale::ZhCn) => format!("人数上限「{text}」应为 1 到 {MAX_LIMIT} 之间的数字"),
            (Self::BadLimit(text), Locale::En) => format!("the limit “{text}” must be a number from 1 to {MAX_LIMIT}"),
            (Self::PastTime(text), Locale::ZhCn) => format!("截止时间「{text}」已经过去了"),
            (Self::PastTime(text), Locale::En) => format!("the closing time “{text}” has passed"),
        };
        format!("{what}。{usage}").replace("。Usage", ". Usage")
    }
}

/// Parses what follows the command.
///
/// # Errors
/// No title, a limit of 0 or above [`MAX_LIMIT`], a closing time in the past.
pub fn parse_start(args: &str, now: DateTime<Utc>, tz: Tz) -> Result<StartRequest, CommandError> {
    let now_local = now.with_timezone(&tz).naive_local();
    let tokens: Vec<&str> = args.split_whitespace().collect();
    let mut title = Vec::new();
    let mut limit = None;
    let mut closes = None;
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        let folded = super::fold(token);
        if limit.is_none() {
            if let Some(n) = limit_word(&folded) {
                limit = Some(check_limit(n, token)?);
                i += 1;
                continue;
            }
            if matches!(folded.as_str(), "限" | "limit" | "max")
                && let Some(next) = tokens.get(i + 1)
                && let Some(n) = number(super::fold(next).trim_end_matches(['人', '位', '名']))
            {
                limit = Some(check_limit(n, next)?);
                i += 2;
                continue;
            }
        }
        if closes.is_none() {
            let marker = match folded.strip_prefix("截止") {
                Some(rest) => Some(rest.trim_start_matches(':').to_owned()),
                None => matches!(folded.as_str(), "until" | "closes" | "deadline").then(String::new),
            };
            if let Some(rest) = marker {
                // The rest of this word (`截止20:00`), then the next two words.
                let inline = !rest.is_empty();
                let mut candidates: Vec<String> = Vec::new();
                if inline {
                    candidates.push(rest);
                }
                candidates.extend(tokens[i + 1..].iter().take(2).map(|t| (*t).to_owned()));
                if let Some((local, used)) = when(&candidates, now_local) {
                    let at = to_utc(local, tz);
                    if at <= now {
                        return Err(CommandError::PastTime(candidates[..used].join(" ")));
                    }
                    closes = Some(at);
                    i += 1 + used - usize::from(inline);
                    continue;
                }
            }
        }
        title.push(token);
        i += 1;
    }
    let title = title.join(" ");
    if title.is_empty() {
        return Err(CommandError::NoTitle);
    }
    Ok(StartRequest { title, limit, closes_at: closes })
}

fn check_limit(n: u32, text: &str) -> Result<u32, CommandError> {
    if (1..=MAX_LIMIT).contains(&n) { Ok(n) } else { Err(CommandError::BadLimit(text.to_owned())) }
}

fn number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `限20人`, `限20`, `20人`, `20位`, `20名` → 20.
fn limit_word(folded: &str) -> Option<u32> {
    if let Some(rest) = folded.strip_prefix('限') {
        return number(rest.trim_end_matches(['人', '位', '名']));
    }
    let digits = folded.strip_suffix('人').or_else(|| folded.strip_suffix('位')).or_else(|| folded.strip_suffix('名'))?;
    number(digits)
}

fn to_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    // A time skipped by a daylight-saving change is read as the hour after.
    tz.from_local_datetime(&local)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(local + Duration::hours(1))).earliest())
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

/// A closing time from the first one or two of `tokens`, with how many it used.
fn when(tokens: &[String], now: NaiveDateTime) -> Option<(NaiveDateTime, usize)> {
    let first = super::fold(tokens.first()?);
    if let Some((date, rest, evening)) = day(&first, now.date()) {
        if !rest.is_empty() {
            return Some((date.and_time(time_of_day(&rest, evening)?), 1));
        }
        if let Some(time) = tokens.get(1).and_then(|t| time_of_day(&super::fold(t), evening)) {
            return Some((date.and_time(time), 2));
        }
        return Some((date.and_time(NaiveTime::from_hms_opt(23, 59, 0)?), 1));
    }
    let time = time_of_day(&first, false)?;
    let today = now.date().and_time(time);
    Some((if today > now { today } else { today + Duration::days(1) }, 1))
}

/// A day at the start of `text`: (the date, the rest, whether it said evening).
fn day(text: &str, today: NaiveDate) -> Option<(NaiveDate, String, bool)> {
    const WORDS: [(&str, i64, bool); 9] = [
        ("今天", 0, false),
        ("今晚", 0, true),
        ("明天", 1, false),
        ("明晚", 1, true),
        ("后天", 2, false),
        ("today", 0, false),
        ("tonight", 0, true),
        ("tomorrow", 1, false),
        ("tmr", 1, false),
    ];
    for (word, days, evening) in WORDS {
        if let Some(rest) = text.strip_prefix(word) {
            return Some((today + Duration::days(days), rest.to_owned(), evening));
        }
    }
    // 6月20日…, 6月20号…
    if let Some((month, after)) = text.split_once('月')
        && let Some(end) = after.find(['日', '号'])
        && let (Some(m), Some(d)) = (number(month), number(&after[..end]))
    {
        let rest = &after[end + '日'.len_utf8()..];
        return Some((upcoming(today, m, d)?, rest.to_owned(), false));
    }
    // 2026-06-20, 6-20, 6/20 (the whole word)
    let parts: Vec<&str> = text.split(['-', '/']).collect();
    match parts.as_slice() {
        [y, m, d] => Some((NaiveDate::from_ymd_opt(i32::try_from(number(y)?).ok()?, number(m)?, number(d)?)?, String::new(), false)),
        [m, d] => Some((upcoming(today, number(m)?, number(d)?)?, String::new(), false)),
        _ => None,
    }
}

/// Month and day in this year, or the next if that day has passed.
fn upcoming(today: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    let this_year = NaiveDate::from_ymd_opt(today.year(), month, day)?;
    if this_year >= today { Some(this_year) } else { NaiveDate::from_ymd_opt(today.year() + 1, month, day) }
}

/// `20:00`, `8点`, `8点半`, `8点30分`, `晚上8点`, `下午3点`, `8pm`, `8:30am`.
fn time_of_day(text: &str, evening: bool) -> Option<NaiveTime> {
    let mut pm = evening;
    let mut am = false;
    let mut rest = text;
    for (word, afternoon) in [("晚上", true), ("下午", true), ("傍晚", true), ("上午", false), ("早上", false), ("中午", false)] {
        if let Some(r) = rest.strip_prefix(word) {
            pm = afternoon;
            am = !afternoon && word != "中午";
            rest = r;
        }
    }
    let mut suffix = false;
    if let Some(r) = rest.strip_suffix("pm") {
        (pm, suffix, rest) = (true, true, r);
    } else if let Some(r) = rest.strip_suffix("am") {
        (am, suffix, rest) = (true, true, r);
    }
    let (hour, minute) = if let Some((h, m)) = rest.split_once(':') {
        (number(h)?, number(m).filter(|_| m.len() == 2)?)
    } else if let Some((h, m)) = rest.split_once('点') {
        let minute = match m.trim_end_matches('分') {
            "" => 0,
            "半" => 30,
            "一刻" => 15,
            digits => number(digits)?,
        };
        (number(h)?, minute)
    } else {
        // A bare hour only with am/pm (`8pm`): a bare number is not a time.
        if !suffix {
            return None;
        }
        (number(rest)?, 0)
    };
    let hour = match hour {
        12 if am => 0,
        h if pm && h < 12 => h + 12,
        h => h,
    };
    NaiveTime::from_hms_opt(hour, minute, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-06-18 10:00 in Shanghai (a Thursday).
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 18, 2, 0, 0).unwrap()
    }

    fn shanghai(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
    }

    fn parse(args: &str) -> Result<StartRequest, CommandError> {
        parse_start(args, now(), chrono_tz::Asia::Shanghai)
    }

    #[test]
    fn title_limit_and_closing_time_in_chinese() {
        let request = parse("周六羽毛球 限20人 截止 20:00").unwrap();
        assert_eq!(request, StartRequest { title: "周六羽毛球".into(), limit: Some(20), closes_at: Some(shanghai(2026, 6, 18, 20, 0)) });
        assert_eq!(parse("周六 羽毛球 20人").unwrap().title, "周六 羽毛球");
        assert_eq!(parse("周六羽毛球 20人").unwrap().limit, Some(20));
        assert_eq!(parse("限 15 周六羽毛球").unwrap().limit, Some(15));
        assert_eq!(parse("周六羽毛球 限１２人").unwrap().limit, Some(12), "full-width digits");
        assert_eq!(parse("周六羽毛球").unwrap(), StartRequest { title: "周六羽毛球".into(), limit: None, closes_at: None });
    }

    #[test]
    fn the_closing_time_forms() {
        let closes = |args: &str| parse(&format!("t {args}")).unwrap().closes_at;
        assert_eq!(closes("截止 20:00"), Some(shanghai(2026, 6, 18, 20, 0)));
        assert_eq!(closes("截止20点"), Some(shanghai(2026, 6, 18, 20, 0)));
        assert_eq!(closes("截止 9:30"), Some(shanghai(2026, 6, 19, 9, 30)), "a time passed today is tomorrow's");
        assert_eq!(closes("截止 晚上8点半"), Some(shanghai(2026, 6, 18, 20, 30)));
        assert_eq!(closes("截止 今晚8点"), Some(shanghai(2026, 6, 18, 20, 0)));
        assert_eq!(closes("截止 明天 20:00"), Some(shanghai(2026, 6, 19, 20, 0)));
        assert_eq!(closes("截止明天20:00"), Some(shanghai(2026, 6, 19, 20, 0)));
        assert_eq!(closes("截止：明晚8点"), Some(shanghai(2026, 6, 19, 20, 0)));
        assert_eq!(closes("截止 后天"), Some(shanghai(2026, 6, 20, 23, 59)));
        assert_eq!(closes("截止 6月20日20:00"), Some(shanghai(2026, 6, 20, 20, 0)));
        assert_eq!(closes("截止 6-20 18:30"), Some(shanghai(2026, 6, 20, 18, 30)));
        assert_eq!(closes("截止 6/1 8点"), Some(shanghai(2027, 6, 1, 8, 0)), "a day passed this year is next year's");
        assert_eq!(closes("截止 2026-07-01 12:00"), Some(shanghai(2026, 7, 1, 12, 0)));
        assert_eq!(closes("截止 ２０：００"), Some(shanghai(2026, 6, 18, 20, 0)), "full-width");
    }

    #[test]
    fn the_english_forms() {
        let request = parse("Badminton Saturday limit 20 until tomorrow 18:00").unwrap();
        assert_eq!(request.title, "Badminton Saturday");
        assert_eq!(request.limit, Some(20));
        assert_eq!(request.closes_at, Some(shanghai(2026, 6, 19, 18, 0)));
        assert_eq!(parse("Picnic max 8 until 8pm").unwrap().closes_at, Some(shanghai(2026, 6, 18, 20, 0)));
        assert_eq!(parse("Picnic until tonight 9pm").unwrap().closes_at, Some(shanghai(2026, 6, 18, 21, 0)));
        assert_eq!(parse("Stay until the end").unwrap().title, "Stay until the end", "`until` not followed by a time is title");
    }

    #[test]
    fn mistakes_are_explained() {
        assert_eq!(parse(""), Err(CommandError::NoTitle));
        assert_eq!(parse("限20人 截止 20:00"), Err(CommandError::NoTitle));
        assert_eq!(parse("t 限0人"), Err(CommandError::BadLimit("限0人".into())));
        assert_eq!(parse("t limit 99999"), Err(CommandError::BadLimit("99999".into())));
        assert_eq!(parse("t 截止 2026-06-01 12:00"), Err(CommandError::PastTime("2026-06-01 12:00".into())));
        let message = CommandError::NoTitle.message(Locale::ZhCn, "#接龙");
        assert_eq!(message, "接龙需要一个标题。格式：#接龙 标题 [限20人] [截止 20:00]");
        let message = CommandError::BadLimit("0".into()).message(Locale::En, "#signup");
        assert!(message.starts_with("the limit “0” must be a number from 1 to 10000. Usage: #signup"), "{message}");
    }

    #[test]
    fn a_bare_number_is_not_a_time_and_times_are_checked() {
        assert_eq!(time_of_day("20", false), None);
        assert_eq!(time_of_day("25:00", false), None);
        assert_eq!(time_of_day("8:5", false), None);
        assert_eq!(time_of_day("12am", false), NaiveTime::from_hms_opt(0, 0, 0));
        assert_eq!(time_of_day("下午3点一刻", false), NaiveTime::from_hms_opt(15, 15, 0));
    }
}
