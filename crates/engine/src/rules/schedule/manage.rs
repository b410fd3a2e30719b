//! What operators do with schedules: create, change, pause, resume, delete, preview — and
//! set a group's announcement now. Every definition is validated up front (every problem at
//! once, with its key path); every change is audited by the store in its transaction.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use qunzhu_core::schedule::{NewSchedule, Schedule, ScheduleChange, ScheduleDef, ScheduleId, ScheduleUpdate, Target, When};
use qunzhu_core::{Event, EventKind, GroupKey, Origin, PlatformEventId, StoreError};
use serde::Serialize;
use thiserror::Error;

use super::holidays;
use super::when::{Recurrence, WhenError};
use super::{template_text, Command, PLACEHOLDERS};
use crate::problems::Problem;
use crate::rulebook::DEFAULT_TEMPLATE;
use crate::{Engine, EngineError, Processed};

/// Longest post or announcement text, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// Longest schedule name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Highest `groups_per_minute` (a per-connector send rate no platform tolerates anyway).
pub const MAX_GROUPS_PER_MINUTE: u32 = 1000;
/// Most runs a preview lists.
pub const MAX_PREVIEW: usize = 50;

#[derive(Debug, Error)]
pub enum ScheduleError {
    #[error("the schedule has {} problem(s)", .0.len())]
    Invalid(Vec<Problem>),
    #[error("no schedule #{0}")]
    NotFound(ScheduleId),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for ScheduleError {
    fn from(error: StoreError) -> Self {
        Self::Engine(error.into())
    }
}

/// A schedule's next runs and who would get them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Preview {
    pub timezone: String,
    pub paused: bool,
    pub runs: Vec<PreviewRun>,
    /// The groups a run would post to now, `connector/group`.
    pub groups: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PreviewRun {
    pub at: DateTime<Utc>,
    /// The same instant in the schedule's timezone (RFC 3339 with its offset).
    pub local: String,
    /// Holidays on that local day.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
}

impl Engine {
    /// Validates and saves a new schedule; its first run is the first one after now.
    ///
    /// # Errors
    /// [`ScheduleError::Invalid`] with every problem, or a store failure.
    pub async fn create_schedule(&self, def: ScheduleDef, paused: bool, by: &str) -> Result<Schedule, ScheduleError> {
        let now = self.clock().now();
        let (def, recurrence) = self.check_schedule(def, now)?;
        let new = NewSchedule { detail: detail(&def), def, paused, next_run: recurrence.next_after(now), by: by.to_owned(), at: now };
        let schedule = self.store().create_schedule(&new).await?;
        self.wake_scheduler();
        Ok(schedule)
    }

    /// Replaces a schedule's definition; its runs start again from now (a paused schedule
    /// stays paused).
    ///
    /// # Errors
    /// Unknown id, every problem of the definition, or a store failure.
    pub async fn update_schedule(&self, id: ScheduleId, def: ScheduleDef, by: &str) -> Result<Schedule, ScheduleError> {
        let now = self.clock().now();
        let current = self.existing_schedule(id).await?;
        let (def, recurrence) = self.check_schedule(def, now)?;
        let update = ScheduleUpdate {
            detail: detail(&def),
            def,
            paused: current.paused,
            next_run: recurrence.next_after(now),
            change: ScheduleChange::Update,
            by: by.to_owned(),
            at: now,
        };
        self.save_change(id, &update).await
    }

    /// Pauses a schedule: nothing is posted until it is resumed.
    ///
    /// # Errors
    /// Unknown id, or a store failure.
    pub async fn pause_schedule(&self, id: ScheduleId, by: &str) -> Result<Schedule, ScheduleError> {
        let current = self.existing_schedule(id).await?;
        let update = ScheduleUpdate {
            def: current.def,
            paused: true,
            next_run: current.next_run,
            change: ScheduleChange::Pause,
            by: by.to_owned(),
            at: self.clock().now(),
            detail: None,
        };
        self.save_change(id, &update).await
    }

    /// Resumes a schedule from the first run after now: runs that fell while it was paused
    /// are not posted.
    ///
    /// # Errors
    /// Unknown id, a stored definition that no longer compiles, or a store failure.
    pub async fn resume_schedule(&self, id: ScheduleId, by: &str) -> Result<Schedule, ScheduleError> {
        let current = self.existing_schedule(id).await?;
        let now = self.clock().now();
        let recurrence = compile_stored(&current).map_err(|e| ScheduleError::Invalid(vec![Problem::at(&["when", e.key], e.message)]))?;
        let update = ScheduleUpdate {
            def: current.def,
            paused: false,
            next_run: recurrence.next_after(now),
            change: ScheduleChange::Resume,
            by: by.to_owned(),
            at: now,
            detail: None,
        };
        self.save_change(id, &update).await
    }

    /// Deletes a schedule and returns it as it was.
    ///
    /// # Errors
    /// Unknown id, or a store failure.
    pub async fn delete_schedule(&self, id: ScheduleId, by: &str) -> Result<Schedule, ScheduleError> {
        match self.store().delete_schedule(id, by, self.clock().now()).await {
            Err(StoreError::NotFound(_)) => Err(ScheduleError::NotFound(id)),
            other => Ok(other?),
        }
    }

    /// The next `count` runs (at most [`MAX_PREVIEW`]) in the schedule's timezone, and the
    /// groups a run would post to now.
    ///
    /// # Errors
    /// Unknown id, a stored definition that no longer compiles, or a store failure.
    pub async fn preview_schedule(&self, id: ScheduleId, count: usize) -> Result<Preview, ScheduleError> {
        let schedule = self.existing_schedule(id).await?;
        let recurrence = compile_stored(&schedule).map_err(|e| ScheduleError::Invalid(vec![Problem::at(&["when", e.key], e.message)]))?;
        let tz = recurrence.timezone();
        let runs = recurrence
            .upcoming(self.clock().now(), count.clamp(1, MAX_PREVIEW))
            .into_iter()
            .map(|at| {
                let local = at.with_timezone(&tz);
                PreviewRun {
                    at,
                    local: local.to_rfc3339(),
                    holidays: holidays::on(local.date_naive()).map(|h| self.locale().pick(h.zh, h.en).to_owned()).collect(),
                }
            })
            .collect();
        let groups = self.schedule_targets(&schedule.def.target).await?.iter().map(ToString::to_string).collect();
        Ok(Preview { timezone: tz.name().to_owned(), paused: schedule.paused, runs, groups })
    }

    /// The groups a target means now, in key order: the listed ones, every group bound to a
    /// template (for `default`, every group not bound to another), or every group of a
    /// connector — only on configured connectors.
    ///
    /// # Errors
    /// A store failure.
    pub async fn schedule_targets(&self, target: &Target) -> Result<Vec<GroupKey>, StoreError> {
        let known = || async { self.store().list_groups().await.map(|groups| groups.into_iter().map(|g| g.key).collect::<Vec<_>>()) };
        let groups: BTreeSet<GroupKey> = match target {
            Target::Groups { groups } => groups.iter().cloned().collect(),
            Target::Connector { connector } => known().await?.into_iter().filter(|key| &key.connector == connector).collect(),
            Target::Template { template } => {
                let rulebook = self.rulebook();
                let bound = rulebook.rulebook.groups.keys().filter_map(|key| GroupKey::parse(key));
                known().await?.into_iter().chain(bound).filter(|key| &rulebook.settings_for(key).template == template).collect()
            }
        };
        Ok(groups.into_iter().filter(|key| self.capabilities(&key.connector).is_some()).collect())
    }

    /// Sets a group's announcement (群公告) now, through the engine: an `OperatorCommand`
    /// event the `schedule` rule turns into a `SetAnnouncement` (a staff task where the
    /// platform cannot). The text may use `{group}`, `{date}`, `{weekday}`, `{holiday}`.
    ///
    /// # Errors
    /// [`ScheduleError::Invalid`] for an empty, too long or malformed text (key `text`);
    /// an unknown connector, shutdown or a store failure.
    pub async fn set_announcement(&self, group: &GroupKey, text: &str, by: &str) -> Result<Processed, ScheduleError> {
        let problems = check_text(text, &["text"]);
        if !problems.is_empty() {
            return Err(ScheduleError::Invalid(problems));
        }
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let now = self.clock().now();
        let event = Event {
            origin: Origin {
                connector: group.connector.clone(),
                group: group.group.clone(),
                event_id: PlatformEventId::new(format!(
                    "operator:announcement:{}:{}",
                    now.timestamp_micros(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                )),
            },
            group_name: None,
            time: now,
            kind: EventKind::OperatorCommand {
                operator: by.to_owned(),
                command: Command::SetAnnouncement { text: text.to_owned() }.to_json(),
            },
        };
        Ok(self.submit(event).await?)
    }

    async fn existing_schedule(&self, id: ScheduleId) -> Result<Schedule, ScheduleError> {
        self.store().get_schedule(id).await?.ok_or(ScheduleError::NotFound(id))
    }

    async fn save_change(&self, id: ScheduleId, update: &ScheduleUpdate) -> Result<Schedule, ScheduleError> {
        match self.store().update_schedule(id, update).await {
            Err(StoreError::NotFound(_)) => Err(ScheduleError::NotFound(id)),
            Err(other) => Err(other.into()),
            Ok(schedule) => {
                self.wake_scheduler();
                Ok(schedule)
            }
        }
    }

    /// Every problem of a definition, or the definition completed (timezone filled in from
    /// the target's template, holiday names made canonical) with its runs.
    fn check_schedule(&self, mut def: ScheduleDef, now: DateTime<Utc>) -> Result<(ScheduleDef, Recurrence), ScheduleError> {
        let mut problems = Vec::new();
        def.name = def.name.trim().to_owned();
        if def.name.is_empty() {
            problems.push(Problem::at(&["name"], "a name is required, e.g. \"早报\""));
        } else if def.name.chars().count() > MAX_NAME_CHARS {
            problems.push(Problem::at(&["name"], format!("the name is longer than {MAX_NAME_CHARS} characters")));
        }
        problems.extend(self.check_target(&def.target));
        let tz = match def.timezone.as_deref().map(str::trim) {
            Some(name) => name.parse::<Tz>().unwrap_or_else(|_| {
                problems.push(Problem::at(
                    &["timezone"],
                    format!("`{name}` is not a timezone; write an IANA name such as \"Asia/Shanghai\" or \"America/New_York\""),
                ));
                chrono_tz::Asia::Shanghai
            }),
            None => self.target_timezone(&def.target),
        };
        def.timezone = Some(tz.name().to_owned());
        if let When::Holidays { holidays: names, .. } = &mut def.when {
            for name in names.iter_mut() {
                if let Some(holiday) = holidays::find(name) {
                    *name = holiday.zh.to_owned();
                }
            }
        }
        let recurrence = match Recurrence::compile(&def.when, tz).and_then(|r| r.check(now).map(|()| r)) {
            Ok(recurrence) => Some(recurrence),
            Err(WhenError { key, message }) => {
                problems.push(Problem::at(&["when", key], message));
                None
            }
        };
        if let Some(recurrence) = &recurrence
            && recurrence.next_after(now).is_none()
        {
            problems.push(match &def.when {
                When::Once { at } => Problem::at(&["when", "at"], format!("`{at}` has already passed; pick a time after {}", now.with_timezone(&tz).format("%Y-%m-%d %H:%M"))),
                When::Holidays { .. } => Problem::at(&["when", "holidays"], format!("no date left in the holiday calendar (it covers {})", holidays::coverage())),
                When::Cron { .. } => Problem::at(&["when", "cron"], "this expression never runs again"),
            });
        }
        problems.extend(check_text(&def.post.text, &["post", "text"]));
        if def.groups_per_minute > MAX_GROUPS_PER_MINUTE {
            problems.push(Problem::at(&["groups_per_minute"], format!("at most {MAX_GROUPS_PER_MINUTE}; 0 posts to every group at once")));
        }
        match recurrence {
            Some(recurrence) if problems.is_empty() => Ok((def, recurrence)),
            _ => Err(ScheduleError::Invalid(problems)),
        }
    }

    fn check_target(&self, target: &Target) -> Vec<Problem> {
        let configured = || {
            let mut names: Vec<String> = self.core.connectors.keys().map(ToString::to_string).collect();
            names.sort();
            names.join(", ")
        };
        match target {
            Target::Groups { groups } if groups.is_empty() => {
                vec![Problem::at(&["target", "groups"], "list at least one group, e.g. [\"qq/123456\"]")]
            }
            Target::Groups { groups } => groups
                .iter()
                .enumerate()
                .filter(|(_, key)| self.capabilities(&key.connector).is_none())
                .map(|(i, key)| {
                    Problem::new(
                        vec!["target".into(), "groups".into(), i.to_string()],
                        format!("no connector named `{}` is configured; configured: {}", key.connector, configured()),
                    )
                })
                .collect(),
            Target::Template { template } => {
                let rulebook = self.rulebook();
                if rulebook.rulebook.templates.contains_key(template) {
                    Vec::new()
                } else {
                    let names: Vec<&str> = rulebook.rulebook.templates.keys().map(String::as_str).collect();
                    vec![Problem::at(&["target", "template"], format!("no template named `{template}`; templates: {}", names.join(", ")))]
                }
            }
            Target::Connector { connector } if self.capabilities(connector).is_none() => vec![Problem::at(
                &["target", "connector"],
                format!("no connector named `{connector}` is configured; configured: {}", configured()),
            )],
            Target::Connector { .. } => Vec::new(),
        }
    }

    /// The timezone of the template a target uses: the named template, the first listed
    /// group's, or `default`'s.
    fn target_timezone(&self, target: &Target) -> Tz {
        let rulebook = self.rulebook();
        match target {
            Target::Template { template } => rulebook.template_settings(template).map(|s| s.timezone()),
            Target::Groups { groups } => groups.first().map(|key| rulebook.settings_for(key).timezone()),
            Target::Connector { .. } => rulebook.template_settings(DEFAULT_TEMPLATE).map(|s| s.timezone()),
        }
        .unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

/// A stored schedule's runs (its timezone was validated when it was saved).
pub(crate) fn compile_stored(schedule: &Schedule) -> Result<Recurrence, WhenError> {
    let tz = schedule.def.timezone.as_deref().and_then(|t| t.parse::<Tz>().ok()).unwrap_or(chrono_tz::Asia::Shanghai);
    Recurrence::compile(&schedule.def.when, tz)
}

fn check_text(text: &str, path: &[&str]) -> Vec<Problem> {
    let mut problems = Vec::new();
    if text.trim().is_empty() {
        problems.push(Problem::at(path, "the text is empty"));
    } else if text.chars().count() > MAX_TEXT_CHARS {
        problems.push(Problem::at(path, format!("the text is longer than {MAX_TEXT_CHARS} characters")));
    }
    if let Err(message) = template_text::check(text, PLACEHOLDERS) {
        problems.push(Problem::at(path, message));
    }
    problems
}

fn detail(def: &ScheduleDef) -> Option<String> {
    serde_json::to_string(def).ok()
}
