//! When a schedule runs: a [`When`] compiled against its timezone into instants.
//!
//! Cron expressions are croner's (5 fields, or 6 with seconds first), evaluated on the wall
//! clock of the schedule's timezone, so `0 8 * * *` in America/New_York is 08:00 local on
//! both sides of a daylight-saving change. A local time that does not exist (skipped by a
//! spring-forward) moves to the first instant after the gap; one that happens twice runs
//! once, at its first occurrence.

use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use qunzhu_core::schedule::When;

use super::holidays::{self, Holiday};

/// Shortest time allowed between two runs of a cron schedule: a post every few seconds to
/// every group is never what an operator meant.
pub const MIN_INTERVAL_SECS: i64 = 60;

/// A schedule's runs.
#[derive(Debug)]
pub struct Recurrence {
    tz: Tz,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Cron(Box<Cron>),
    Once(DateTime<Utc>),
    Holidays { days: Vec<NaiveDate>, time: NaiveTime },
}

/// Why a [`When`] does not compile: the key under `when` and the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhenError {
    pub key: &'static str,
    pub message: String,
}

fn error(key: &'static str, message: impl Into<String>) -> WhenError {
    WhenError { key, message: message.into() }
}

impl Recurrence {
    /// Compiles a definition in `tz`.
    ///
    /// # Errors
    /// A cron expression croner refuses (with its message), one that never runs or runs
    /// more often than once a minute; a time that does not parse; an unknown holiday.
    pub fn compile(when: &When, tz: Tz) -> Result<Self, WhenError> {
        let kind = match when {
            When::Cron { cron } => {
                let parsed = Cron::from_str(cron.trim()).map_err(|e| {
                    error("cron", format!("`{cron}` is not a cron expression: {e}; write e.g. \"0 8 * * *\" (08:00 every day)"))
                })?;
                Kind::Cron(Box::new(parsed))
            }
            When::Once { at } => Kind::Once(parse_instant(at, tz).ok_or_else(|| {
                error(
                    "at",
                    format!("`{at}` is not a time; write a local time such as \"2026-01-01T00:00\" or an instant with its offset such as \"2026-01-01T00:00:00+08:00\""),
                )
            })?),
            When::Holidays { holidays: names, time } => {
                let time = NaiveTime::parse_from_str(time.trim(), "%H:%M")
                    .map_err(|_| error("time", format!("`{time}` is not a time of day; write `HH:MM`, e.g. \"09:00\"")))?;
                let mut wanted: Vec<&'static Holiday> = Vec::new();
                for name in names {
                    let holiday = holidays::find(name).ok_or_else(|| {
                        let known: Vec<&str> = holidays::HOLIDAYS.iter().map(|h| h.zh).collect();
                        error("holidays", format!("unknown holiday `{name}`; known: {}", known.join(", ")))
                    })?;
                    wanted.push(holiday);
                }
                let days = holidays::calendar()
                    .iter()
                    .filter(|(_, h)| wanted.is_empty() || wanted.contains(h))
                    .map(|(day, _)| *day)
                    .collect::<Vec<_>>();
                let mut days = days;
                days.dedup();
                Kind::Holidays { days, time }
            }
        };
        Ok(Self { tz, kind })
    }

    /// Checks a cron schedule from `now` on: it must run again, and never twice within
    /// [`MIN_INTERVAL_SECS`] (over its next ten runs).
    ///
    /// # Errors
    /// A cron expression that never runs or runs more than once a minute.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), WhenError> {
        let Kind::Cron(cron) = &self.kind else { return Ok(()) };
        let mut runs = cron.iter_after(now.with_timezone(&self.tz)).take(10);
        let Some(mut previous) = runs.next() else {
            return Err(error("cron", format!("`{}` never runs", cron.pattern)));
        };
        for run in runs {
            if (run - previous).num_seconds() < MIN_INTERVAL_SECS {
                return Err(error("cron", format!("`{}` runs more than once a minute; the shortest allowed interval is one minute", cron.pattern)));
            }
            previous = run;
        }
        Ok(())
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first run strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Cron(cron) => cron.find_next_occurrence(&t.with_timezone(&self.tz), false).ok().map(|d| d.with_timezone(&Utc)),
            Kind::Once(at) => (*at > t).then_some(*at),
            Kind::Holidays { days, time } => days.iter().filter_map(|day| self.local(day.and_time(*time))).find(|run| *run > t),
        }
    }

    /// The latest run at or before `t`.
    pub fn latest_until(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Cron(cron) => cron.find_previous_occurrence(&t.with_timezone(&self.tz), true).ok().map(|d| d.with_timezone(&Utc)),
            Kind::Once(at) => (*at <= t).then_some(*at),
            Kind::Holidays { days, time } => days.iter().rev().filter_map(|day| self.local(day.and_time(*time))).find(|run| *run <= t),
        }
    }

    /// The next `count` runs after `t`.
    pub fn upcoming(&self, t: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let mut runs = Vec::with_capacity(count);
        let mut from = t;
        while runs.len() < count {
            let Some(run) = self.next_after(from) else { break };
            runs.push(run);
            from = run;
        }
        runs
    }

    /// How many runs fall in `[from, until)`, counting at most `cap`.
    pub fn count_between(&self, from: DateTime<Utc>, until: DateTime<Utc>, cap: usize) -> usize {
        let mut count = 0;
        let mut run = (from < until).then_some(from);
        while let Some(at) = run.filter(|at| *at < until) {
            count += 1;
            if count >= cap {
                break;
            }
            run = self.next_after(at);
        }
        count
    }

    /// A local wall-clock time as an instant: the first of two, or the end of a gap.
    fn local(&self, time: NaiveDateTime) -> Option<DateTime<Utc>> {
        local_instant(self.tz, time)
    }
}

fn local_instant(tz: Tz, time: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&time) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        // In a spring-forward gap: the first whole minute after it.
        LocalResult::None => (1..=180).find_map(|m| tz.from_local_datetime(&(time + chrono::Duration::minutes(m))).earliest()).map(|t| t.with_timezone(&Utc)),
    }
}

/// An RFC 3339 instant, or a local date and time (`2026-01-01T00:00[:00]`, a space instead
/// of `T` works too) read in `tz`.
pub fn parse_instant(text: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant.with_timezone(&Utc));
    }
    let naive = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())?;
    local_instant(tz, naive)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn cron(text: &str, tz: Tz) -> Recurrence {
        Recurrence::compile(&When::Cron { cron: text.into() }, tz).unwrap()
    }

    #[test]
    fn daily_eight_oclock_in_new_york_follows_the_wall_clock_across_both_dst_changes() {
        let daily = cron("0 8 * * *", chrono_tz::America::New_York);
        // 2026-03-08: clocks go forward (EST −5 → EDT −4).
        assert_eq!(
            daily.upcoming(utc(2026, 3, 6, 14, 0), 3),
            vec![utc(2026, 3, 7, 13, 0), utc(2026, 3, 8, 12, 0), utc(2026, 3, 9, 12, 0)]
        );
        // 2026-11-01: clocks go back (EDT −4 → EST −5).
        assert_eq!(
            daily.upcoming(utc(2026, 10, 31, 0, 0), 3),
            vec![utc(2026, 10, 31, 12, 0), utc(2026, 11, 1, 13, 0), utc(2026, 11, 2, 13, 0)]
        );
        assert_eq!(daily.latest_until(utc(2026, 3, 8, 12, 0)), Some(utc(2026, 3, 8, 12, 0)));
        assert_eq!(daily.latest_until(utc(2026, 3, 8, 11, 59)), Some(utc(2026, 3, 7, 13, 0)));
    }

    #[test]
    fn a_time_skipped_by_spring_forward_runs_at_the_end_of_the_gap_and_a_doubled_one_runs_once() {
        let half_past_two = cron("30 2 * * *", chrono_tz::America::New_York);
        // 02:30 does not exist on 2026-03-08: it runs at the end of the gap, 03:00 EDT
        // (07:00 UTC), once; the next day is back to 02:30 EDT.
        let runs = half_past_two.upcoming(utc(2026, 3, 7, 12, 0), 2);
        assert_eq!(runs, vec![utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)]);
        let one_thirty = cron("30 1 * * *", chrono_tz::America::New_York);
        // 01:30 happens twice on 2026-11-01; it runs once.
        let runs = one_thirty.upcoming(utc(2026, 10, 31, 12, 0), 3);
        assert_eq!(runs, vec![utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30)]);
    }

    #[test]
    fn midnight_launches_and_late_cutoffs_in_shanghai_are_at_the_right_utc_instants() {
        let launch = cron("0 0 * * *", chrono_tz::Asia::Shanghai);
        let cutoff = cron("0 23 * * *", chrono_tz::Asia::Shanghai);
        let from = utc(2026, 11, 22, 3, 0); // 11:00 in Shanghai
        assert_eq!(launch.next_after(from), Some(utc(2026, 11, 22, 16, 0)));
        assert_eq!(cutoff.next_after(from), Some(utc(2026, 11, 22, 15, 0)));
    }

    #[test]
    fn bad_definitions_say_what_is_wrong() {
        let shanghai = chrono_tz::Asia::Shanghai;
        let bad = Recurrence::compile(&When::Cron { cron: "0 25 * * *".into() }, shanghai).unwrap_err();
        assert_eq!(bad.key, "cron");
        assert!(bad.message.starts_with("`0 25 * * *` is not a cron expression: "), "{}", bad.message);
        let now = utc(2026, 1, 1, 0, 0);
        let often = Recurrence::compile(&When::Cron { cron: "*/5 * * * * *".into() }, shanghai).unwrap().check(now).unwrap_err();
        assert!(often.message.contains("more than once a minute"), "{}", often.message);
        let never = Recurrence::compile(&When::Cron { cron: "0 0 31 2 *".into() }, shanghai).unwrap().check(now).unwrap_err();
        assert!(never.message.contains("never runs"), "{}", never.message);
        let at = Recurrence::compile(&When::Once { at: "tomorrow".into() }, shanghai).unwrap_err();
        assert_eq!(at.key, "at");
        let holiday = Recurrence::compile(&When::Holidays { holidays: vec!["圣诞".into()], time: "09:00".into() }, shanghai).unwrap_err();
        assert!(holiday.message.contains("unknown holiday `圣诞`") && holiday.message.contains("春节"), "{}", holiday.message);
        let time = Recurrence::compile(&When::Holidays { holidays: vec![], time: "9点".into() }, shanghai).unwrap_err();
        assert_eq!(time.key, "time");
    }

    #[test]
    fn a_one_off_reads_local_times_in_its_timezone_and_instants_with_their_offset() {
        let shanghai = chrono_tz::Asia::Shanghai;
        assert_eq!(parse_instant("2026-01-01T00:00", shanghai), Some(utc(2025, 12, 31, 16, 0)));
        assert_eq!(parse_instant("2026-01-01 08:30:00", shanghai), Some(utc(2026, 1, 1, 0, 30)));
        assert_eq!(parse_instant("2026-01-01T00:00:00Z", shanghai), Some(utc(2026, 1, 1, 0, 0)));
        let once = Recurrence::compile(&When::Once { at: "2026-01-01T00:00:00+08:00".into() }, shanghai).unwrap();
        assert_eq!(once.next_after(utc(2025, 12, 1, 0, 0)), Some(utc(2025, 12, 31, 16, 0)));
        assert_eq!(once.next_after(utc(2025, 12, 31, 16, 0)), None);
        assert_eq!(once.latest_until(utc(2026, 6, 1, 0, 0)), Some(utc(2025, 12, 31, 16, 0)));
    }

    #[test]
    fn holiday_greetings_run_on_the_named_days_at_local_time() {
        let shanghai = chrono_tz::Asia::Shanghai;
        let festive = Recurrence::compile(&When::Holidays { holidays: vec!["春节".into(), "中秋节".into()], time: "09:00".into() }, shanghai).unwrap();
        assert_eq!(
            festive.upcoming(utc(2026, 1, 1, 0, 0), 3),
            vec![utc(2026, 2, 17, 1, 0), utc(2026, 9, 25, 1, 0), utc(2027, 2, 6, 1, 0)]
        );
        assert_eq!(festive.next_after(utc(2035, 12, 31, 0, 0)), None, "the calendar ends with 2035");
        let all = Recurrence::compile(&When::Holidays { holidays: vec![], time: "08:00".into() }, shanghai).unwrap();
        assert_eq!(all.next_after(utc(2026, 1, 1, 0, 0)), Some(utc(2026, 1, 26, 0, 0)), "腊八 2026");
    }

    #[test]
    fn runs_in_a_window_are_counted_up_to_a_cap() {
        let hourly = cron("0 * * * *", chrono_tz::Asia::Shanghai);
        assert_eq!(hourly.count_between(utc(2026, 1, 1, 0, 0), utc(2026, 1, 1, 5, 0), 100), 5);
        assert_eq!(hourly.count_between(utc(2026, 1, 1, 0, 0), utc(2026, 3, 1, 0, 0), 100), 100);
        assert_eq!(hourly.count_between(utc(2026, 1, 1, 5, 0), utc(2026, 1, 1, 5, 0), 100), 0);
    }
}
