//! The rulebook: templates of rule settings, and which group uses which template.
//!
//! It lives in the database as JSON, versioned; operators import and export it as TOML. One
//! template serves many groups; a group may override single settings. A group not bound to
//! any template uses `default`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use qunzhu_core::GroupKey;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use qunzhu_text::lexicon::{builtin_words, Category, LexiconMatcher};

use crate::locale::Locale;
use crate::problems::{serde_path, Problem};
use crate::rules::auto_reply::{self, AutoReplySettings, CompiledFaq};
use crate::rules::growth::{self, MilestoneSettings, ReferralSettings};
use crate::rules::moderate::{self, ModerationSettings};
use crate::rules::points::{self, CheckInSettings, LevelSettings, PointsSettings};
use crate::rules::lottery::{self, LotterySettings};
use crate::rules::signup::{self, SignupSettings};
use crate::rules::welcome::{self, WelcomeSettings};

/// The template every group gets unless bound to another.
pub const DEFAULT_TEMPLATE: &str = "default";

/// The timezone groups live in unless their template says otherwise.
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";

/// The whole rulebook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rulebook {
    /// Rule templates by name. `default` must exist: it serves every group not bound to
    /// another template.
    pub templates: BTreeMap<String, TemplateSettings>,
    /// Groups bound to a template, keyed `connector/group` (e.g. `"qq/123456"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, GroupBinding>,
}

/// The settings of every rule, as one template holds them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateSettings {
    /// What this template is for, shown to operators.
    pub description: String,
    /// The group rules (群规), inserted into messages by `{rules}`.
    pub rules_text: String,
    /// The groups' timezone (IANA name): local days for check-ins, the times of schedules
    /// and lotteries.
    pub timezone: String,
    /// Keep order: ads, spam and abuse, with an escalating penalty ladder.
    pub moderation: ModerationSettings,
    /// Welcome newcomers.
    pub welcome: WelcomeSettings,
    /// Daily check-in (签到/打卡) with streaks and make-up cards.
    pub check_in: CheckInSettings,
    /// Points for taking part, and the shop and balance commands.
    pub points: PointsSettings,
    /// Levels (等级) by points earned.
    pub levels: LevelSettings,
    /// Answer the usual questions (FAQ) automatically.
    pub auto_reply: AutoReplySettings,
    /// Sign-up lists (接龙): started by a command or the API, joined by keyword, re-posted
    /// (throttled), closed when full or at their time.
    pub signup: SignupSettings,
    /// Lotteries (抽奖): entries by keyword or condition, auditable draws, winners announced.
    pub lottery: LotterySettings,
    /// Admission screening of join requests (入群审核) and join waves (guarded mode).
    pub admission: crate::rules::admission::AdmissionSettings,
    /// Referrals (裂变): who invited whom, valid after a stay and a word, rewarded in points,
    /// reversed on an early leave. Campaigns (API) override the reward and periods.
    pub referrals: ReferralSettings,
    /// Milestones (里程碑): celebrate member counts, check-in and message totals and custom
    /// counters, once per threshold per group.
    pub milestones: MilestoneSettings,
    /// Care (用户思维): staff alerts for members' questions nobody answered and for collective
    /// negative outbreaks, with tickets on the issue list (问题清单).
    pub care: crate::care::CareSettings,
    /// The group's life stage (生命周期): a daily check that alerts staff once when the group
    /// turns to cooling (冷却期).
    pub life_stage: crate::life_stage::LifeStageSettings,
    /// Insight (数据管理): the daily digest (群精华).
    pub insight: crate::digest::InsightSettings,
    /// Staff-alert routing: where staff alerts also go (a staff group on any connector, a
    /// direct message, a webhook).
    pub staff_alerts: crate::staff_alerts::StaffAlertSettings,
}

impl Default for TemplateSettings {
    fn default() -> Self {
        Self::builtin(Locale::ZhCn)
    }
}

impl TemplateSettings {
    /// The timezone, or Asia/Shanghai if it does not parse (validation reports that).
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// The built-in default: sensible behaviour with zero configuration.
    pub fn builtin(locale: Locale) -> Self {
        Self {
            description: locale.pick("默认模板：所有未单独绑定的群都使用它", "Default template: used by every group not bound to another").into(),
            rules_text: locale
                .pick(
                    "1. 友善交流，互相尊重\n2. 禁止广告、刷屏和拉人\n3. 有问题直接在群里问，管理员会尽快回复",
                    "1. Be kind and respectful\n2. No ads, flooding or recruiting\n3. Ask your questions here; the admins answer soon",
                )
                .into(),
            timezone: DEFAULT_TIMEZONE.into(),
            moderation: ModerationSettings::builtin(locale),
            welcome: WelcomeSettings::builtin(locale),
            check_in: CheckInSettings::builtin(locale),
            points: PointsSettings::builtin(locale),
            levels: LevelSettings::builtin(locale),
            auto_reply: AutoReplySettings::builtin(locale),
            signup: SignupSettings::builtin(locale),
            lottery: LotterySettings::builtin(locale),
            admission: crate::rules::admission::AdmissionSettings::builtin(locale),
            referrals: ReferralSettings::builtin(locale),
            milestones: MilestoneSettings::builtin(locale),
            care: crate::care::CareSettings::default(),
            life_stage: crate::life_stage::LifeStageSettings::default(),
            insight: crate::digest::InsightSettings::default(),
            staff_alerts: crate::staff_alerts::StaffAlertSettings::default(),
        }
    }
}

/// A group's binding to a template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupBinding {
    /// The template this group uses.
    #[serde(default = "default_template_name")]
    pub template: String,
    /// Single settings that differ from the template, e.g. `welcome.text = "…"`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub overrides: Map<String, Value>,
}

fn default_template_name() -> String {
    DEFAULT_TEMPLATE.to_owned()
}

impl Rulebook {
    /// The rulebook a fresh installation starts with.
    pub fn builtin(locale: Locale) -> Self {
        Self {
            templates: BTreeMap::from([(DEFAULT_TEMPLATE.to_owned(), TemplateSettings::builtin(locale))]),
            groups: BTreeMap::new(),
        }
    }

    /// Parses and validates operator-written TOML, reporting every problem at once.
    ///
    /// # Errors
    /// All problems found, each with its key path and line/column.
    pub fn from_toml(source: &str) -> Result<Self, Vec<Problem>> {
        let table: toml::Table = toml::from_str(source).map_err(|e| vec![Problem::from_toml_error(source, &e)])?;
        let value = serde_json::to_value(&table).map_err(|e| vec![Problem::new(Vec::new(), e.to_string())])?;
        Self::from_json_value(value).map_err(|problems| problems.into_iter().map(|p| p.locate_in(source)).collect())
    }

    /// Parses and validates a JSON document (the API and the database form).
    ///
    /// # Errors
    /// All problems found, each with its key path.
    pub fn from_json_value(value: Value) -> Result<Self, Vec<Problem>> {
        let Value::Object(root) = value else {
            return Err(vec![Problem::new(Vec::new(), "the rulebook must be a table")]);
        };
        let mut problems = Vec::new();
        for key in root.keys() {
            if key != "templates" && key != "groups" {
                problems.push(Problem::at(&[key], "unknown key; allowed: templates, groups"));
            }
        }
        let mut templates = BTreeMap::new();
        match root.get("templates") {
            Some(Value::Object(map)) => {
                for (name, settings) in map {
                    match parse_fields::<TemplateSettings>(settings, &["templates", name]) {
                        Ok(settings) => {
                            templates.insert(name.clone(), settings);
                        }
                        Err(mut found) => problems.append(&mut found),
                    }
                }
            }
            Some(_) => problems.push(Problem::at(&["templates"], "must be a table of templates")),
            None => problems.push(Problem::at(&["templates"], "missing; at least `[templates.default]` is required")),
        }
        let mut groups = BTreeMap::new();
        match root.get("groups") {
            Some(Value::Object(map)) => {
                for (key, binding) in map {
                    match parse_fields::<GroupBinding>(binding, &["groups", key]) {
                        Ok(binding) => {
                            groups.insert(key.clone(), binding);
                        }
                        Err(mut found) => problems.append(&mut found),
                    }
                }
            }
            Some(_) => problems.push(Problem::at(&["groups"], "must be a table of group bindings")),
            None => {}
        }
        let rulebook = Self { templates, groups };
        problems.extend(rulebook.validate());
        if problems.is_empty() { Ok(rulebook) } else { Err(problems) }
    }

    /// Semantic checks beyond the types: references resolve, texts are well-formed.
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if !self.templates.contains_key(DEFAULT_TEMPLATE) && !self.templates.is_empty() {
            problems.push(Problem::at(&["templates"], "a template named `default` is required: it serves every group not bound to another"));
        }
        for (name, settings) in &self.templates {
            if name.trim().is_empty() {
                problems.push(Problem::at(&["templates", name], "a template name cannot be empty"));
            }
            problems.extend(validate_settings(settings, &["templates", name]));
        }
        let names: Vec<&str> = self.templates.keys().map(String::as_str).collect();
        for (key, binding) in &self.groups {
            if GroupKey::parse(key).is_none() {
                problems.push(Problem::at(&["groups", key], "a group is written `connector/group`, e.g. \"qq/123456\""));
            }
            let Some(template) = self.templates.get(&binding.template) else {
                problems.push(Problem::at(
                    &["groups", key, "template"],
                    format!("no template named `{}`; templates: {}", binding.template, names.join(", ")),
                ));
                continue;
            };
            match merged(template, &binding.overrides, &["groups", key, "overrides"]) {
                Ok(settings) => problems.extend(validate_settings(&settings, &["groups", key, "overrides"])),
                Err(mut found) => problems.append(&mut found),
            }
        }
        problems
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The rulebook as TOML, as `qunzhu rules export` writes it.
    ///
    /// # Errors
    /// Only if a value cannot be written as TOML (e.g. a `null` in an override).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }

    /// The key paths that differ between two rulebooks, for the version history.
    pub fn changes_from(&self, before: &Rulebook) -> Vec<String> {
        let mut changes = Vec::new();
        diff_paths(&before.to_json(), &self.to_json(), &mut Vec::new(), &mut changes);
        changes
    }
}

fn validate_settings(settings: &TemplateSettings, path: &[&str]) -> Vec<Problem> {
    let under = |key: &'static str| -> Vec<&str> { path.iter().copied().chain([key]).collect() };
    let mut problems = moderate::settings::validate(&settings.moderation, &under("moderation"));
    if settings.timezone.parse::<chrono_tz::Tz>().is_err() {
        problems.push(Problem::at(
            &under("timezone"),
            format!("`{}` is not a timezone; write an IANA name such as \"Asia/Shanghai\" or \"Europe/Berlin\"", settings.timezone),
        ));
    }
    problems.extend(welcome::validate(&settings.welcome, &under("welcome")));
    problems.extend(points::settings::validate_check_in(&settings.check_in, &under("check_in")));
    problems.extend(points::settings::validate_points(&settings.points, &under("points")));
    problems.extend(points::settings::validate_levels(&settings.levels, &under("levels")));
    problems.extend(auto_reply::settings::validate(&settings.auto_reply, &under("auto_reply")));
    problems.extend(signup::settings::validate(&settings.signup, &under("signup")));
    problems.extend(lottery::settings::validate(&settings.lottery, &under("lottery")));
    problems.extend(crate::rules::admission::settings::validate(&settings.admission, &under("admission")));
    problems.extend(growth::settings::validate_referrals(&settings.referrals, &under("referrals")));
    problems.extend(growth::settings::validate_milestones(&settings.milestones, &under("milestones")));
    problems.extend(crate::care::validate(&settings.care, &under("care")));
    problems.extend(crate::life_stage::validate(&settings.life_stage, &under("life_stage")));
    problems.extend(crate::digest::validate(&settings.insight, &under("insight")));
    problems.extend(crate::staff_alerts::validate(&settings.staff_alerts, &under("staff_alerts")));
    problems
}

/// Deserializes `value` as `T`, checking each top-level key on its own so that every bad
/// key is reported, not only the first.
fn parse_fields<T: DeserializeOwned>(value: &Value, path: &[&str]) -> Result<T, Vec<Problem>> {
    let base: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
    let with_base = |inner: Vec<String>| base.iter().cloned().chain(inner).collect::<Vec<_>>();
    let Value::Object(map) = value else {
        return Err(vec![Problem::new(base.clone(), "must be a table")]);
    };
    let mut problems = Vec::new();
    for (key, field) in map {
        let single = Value::Object(Map::from_iter([(key.clone(), field.clone())]));
        if let Err(error) = serde_path_to_error::deserialize::<_, T>(single) {
            let mut inner = serde_path(error.path());
            if inner.is_empty() {
                inner.push(key.clone());
            }
            problems.push(Problem::new(with_base(inner), error.inner().to_string()));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    serde_path_to_error::deserialize::<_, T>(value.clone())
        .map_err(|error| vec![Problem::new(with_base(serde_path(error.path())), error.inner().to_string())])
}

/// A template's settings with a group's overrides applied.
fn merged(template: &TemplateSettings, overrides: &Map<String, Value>, path: &[&str]) -> Result<TemplateSettings, Vec<Problem>> {
    let mut value = serde_json::to_value(template).unwrap_or(Value::Null);
    merge(&mut value, &Value::Object(overrides.clone()));
    parse_fields(&value, path)
}

fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

fn diff_paths(before: &Value, after: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                path.push(key.clone());
                diff_paths(a.get(key).unwrap_or(&Value::Null), b.get(key).unwrap_or(&Value::Null), path, out);
                path.pop();
            }
        }
        (a, b) if a != b => out.push(crate::problems::dotted(path)),
        _ => {}
    }
}

/// A validated rulebook with every group's settings resolved, ready for the hot path.
pub struct CompiledRulebook {
    pub version: i64,
    pub rulebook: Rulebook,
    templates: HashMap<String, ResolvedSettings>,
    groups: HashMap<GroupKey, ResolvedSettings>,
}

impl std::fmt::Debug for CompiledRulebook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledRulebook").field("version", &self.version).field("rulebook", &self.rulebook).finish_non_exhaustive()
    }
}

/// The settings one group runs with.
#[derive(Clone)]
pub struct ResolvedSettings {
    pub template: String,
    pub settings: Arc<TemplateSettings>,
    /// The built-in lexicon plus the settings' custom words, minus their allow-words.
    pub matcher: Matcher,
    /// The FAQ, compiled (its similar-question index is built on first use).
    pub faq: Arc<CompiledFaq>,
}

/// The lexicon a group is checked against: the shared built-in one, or a template's own.
#[derive(Clone)]
pub enum Matcher {
    Builtin,
    Custom(Arc<LexiconMatcher>),
}

impl std::ops::Deref for Matcher {
    type Target = LexiconMatcher;

    fn deref(&self) -> &LexiconMatcher {
        match self {
            Self::Builtin => LexiconMatcher::builtin(),
            Self::Custom(matcher) => matcher,
        }
    }
}

impl ResolvedSettings {
    /// The group's timezone (validated when the rulebook was compiled).
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.settings.timezone()
    }

    pub(crate) fn new(template: &str, settings: TemplateSettings) -> Self {
        let moderation = &settings.moderation;
        let matcher = if moderation.custom_words.is_empty() && moderation.allow_words.is_empty() {
            Matcher::Builtin
        } else {
            let custom = moderation.custom_words.iter().flat_map(|(category, words)| {
                let category = Category::from_name(category).unwrap_or(Category::Custom);
                words.iter().map(move |w| (w.clone(), category))
            });
            let words = builtin_words().map(|(w, c)| (w.to_owned(), c)).chain(custom);
            match LexiconMatcher::new(words, moderation.allow_words.iter().cloned()) {
                Ok(matcher) => Matcher::Custom(Arc::new(matcher)),
                Err(error) => {
                    tracing::warn!(template, %error, "custom lexicon could not be built; using the built-in one");
                    Matcher::Builtin
                }
            }
        };
        let faq = Arc::new(CompiledFaq::new(&settings.auto_reply));
        Self { template: template.to_owned(), settings: Arc::new(settings), matcher, faq }
    }
}

impl CompiledRulebook {
    /// # Errors
    /// The rulebook's problems, if it does not validate.
    pub fn compile(rulebook: Rulebook, version: i64) -> Result<Self, Vec<Problem>> {
        let problems = rulebook.validate();
        if !problems.is_empty() {
            return Err(problems);
        }
        let templates: HashMap<String, ResolvedSettings> =
            rulebook.templates.iter().map(|(name, s)| (name.clone(), ResolvedSettings::new(name, s.clone()))).collect();
        let mut groups = HashMap::new();
        for (key, binding) in &rulebook.groups {
            let (Some(key), Some(template)) = (GroupKey::parse(key), rulebook.templates.get(&binding.template)) else {
                continue;
            };
            if binding.overrides.is_empty()
                && let Some(shared) = templates.get(&binding.template)
            {
                groups.insert(key, shared.clone());
                continue;
            }
            let settings = merged(template, &binding.overrides, &[])?;
            groups.insert(key, ResolvedSettings::new(&binding.template, settings));
        }
        Ok(Self { version, rulebook, templates, groups })
    }

    /// The settings of a template by name (its own lexicon included), e.g. for checking a
    /// text against a template no group is bound to.
    pub fn template_settings(&self, name: &str) -> Option<ResolvedSettings> {
        self.templates.get(name).cloned()
    }

    /// The settings for a group: its binding, or the default template.
    pub fn settings_for(&self, group: &GroupKey) -> ResolvedSettings {
        if let Some(resolved) = self.groups.get(group) {
            return resolved.clone();
        }
        self.templates
            .get(DEFAULT_TEMPLATE)
            .cloned()
            .unwrap_or_else(|| ResolvedSettings::new(DEFAULT_TEMPLATE, TemplateSettings::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_rulebook_validates_and_round_trips_through_toml() {
        for locale in [Locale::ZhCn, Locale::En] {
            let book = Rulebook::builtin(locale);
            assert!(book.validate().is_empty());
            let text = book.to_toml().unwrap();
            assert_eq!(Rulebook::from_toml(&text).unwrap(), book);
        }
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_line() {
        let source = r#"
[templates.default]
rules_txt = "typo"

[templates.default.welcome]
enabled = "yes"

[templates.vip]
description = 3

[groups."shop/g1"]
template = "missing"
"#;
        let problems = Rulebook::from_toml(source).unwrap_err();
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 4, "{shown:#?}");
        assert!(shown[0].starts_with("templates.default.rules_txt (line 3, column 1): unknown field `rules_txt`"), "{shown:#?}");
        assert!(shown[1].starts_with("templates.default.welcome.enabled (line 6"), "{shown:#?}");
        assert!(shown[2].starts_with("templates.vip.description (line 9"), "{shown:#?}");
        assert!(shown[3].contains("no template named `missing`"), "{shown:#?}");
        assert!(shown[3].starts_with("groups.\"shop/g1\".template (line 12"), "{shown:#?}");
    }

    #[test]
    fn a_toml_syntax_error_names_its_line() {
        let problems = Rulebook::from_toml("[templates.default\nx = 1").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, Some(1));
        assert!(problems[0].message.starts_with("TOML syntax error"));
        assert!(problems[0].to_string().starts_with("line 1, column "), "{}", problems[0]);
    }

    #[test]
    fn groups_fall_back_to_default_and_overrides_change_only_what_they_name() {
        let mut book = Rulebook::builtin(Locale::ZhCn);
        book.groups.insert(
            "shop/g1".into(),
            GroupBinding { template: DEFAULT_TEMPLATE.into(), overrides: Map::from_iter([("rules_text".into(), Value::from("只聊咖啡"))]) },
        );
        let compiled = CompiledRulebook::compile(book.clone(), 1).unwrap();
        let bound = compiled.settings_for(&GroupKey::new("shop", "g1"));
        assert_eq!(bound.settings.rules_text, "只聊咖啡");
        assert_eq!(bound.settings.welcome, book.templates[DEFAULT_TEMPLATE].welcome);
        let other = compiled.settings_for(&GroupKey::new("shop", "g2"));
        assert_eq!(other.template, DEFAULT_TEMPLATE);
        assert_eq!(other.settings.rules_text, book.templates[DEFAULT_TEMPLATE].rules_text);
    }

    #[test]
    fn an_unknown_timezone_is_reported_with_an_example() {
        let mut book = Rulebook::builtin(Locale::ZhCn);
        book.templates.get_mut(DEFAULT_TEMPLATE).unwrap().timezone = "Beijing".into();
        let problems = book.validate();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].dotted_path(), "templates.default.timezone");
        assert!(problems[0].message.contains("Asia/Shanghai"), "{}", problems[0]);
        book.templates.get_mut(DEFAULT_TEMPLATE).unwrap().timezone = "America/New_York".into();
        assert!(book.validate().is_empty());
        assert_eq!(book.templates[DEFAULT_TEMPLATE].timezone(), chrono_tz::America::New_York);
    }

    #[test]
    fn a_bad_override_is_reported_under_the_group() {
        let mut book = Rulebook::builtin(Locale::ZhCn);
        book.groups.insert(
            "shop/g1".into(),
            GroupBinding { template: DEFAULT_TEMPLATE.into(), overrides: Map::from_iter([("welcom".into(), Value::from(1))]) },
        );
        let problems = book.validate();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].dotted_path(), "groups.\"shop/g1\".overrides.welcom");
    }

    #[test]
    fn changes_list_the_paths_that_differ() {
        let before = Rulebook::builtin(Locale::ZhCn);
        let mut after = before.clone();
        after.templates.get_mut(DEFAULT_TEMPLATE).unwrap().welcome.text = "hi {name}".into();
        assert_eq!(after.changes_from(&before), vec!["templates.default.welcome.text"]);
    }
}
