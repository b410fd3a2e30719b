//! Admission settings: screening rules, the question, the 微商 preset and join waves.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::problems::Problem;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AdmissionSettings {
    /// Screen join requests (where the platform has them). Every request is recorded with
    /// its decision (`GET /api/v1/join-requests`). The blacklist is checked by moderation
    /// (its rejection is recorded here, not repeated); platforms give no account facts (age
    /// of the account, level) in join events yet, so none are checked.
    pub enabled: bool,
    /// Screening rules on the applicant's name or request comment, checked in order; the
    /// first one that matches decides.
    pub rules: Vec<ScreenRule>,
    /// The question applicants answer in their request comment (set the same question on
    /// the platform); shown to staff with held requests.
    pub question: String,
    /// Accepted answers to `question`. The comment must contain one of them, compared after
    /// normalisation (full/half width, case, traditional/simplified, separators). Empty: no
    /// answer check.
    pub answers: Vec<String>,
    /// What a missing or wrong answer leads to: `reject` or `hold`.
    pub wrong_answer: Outcome,
    /// The reason an applicant with a wrong answer is rejected with (they see it).
    pub wrong_answer_reason: String,
    /// The practitioners' 微商 heuristics (names starting with A / AAA, "XX姐", reduplicated
    /// names like 乐乐, phone numbers or WeChat ids in names, 代理/招商/微商/兼职 in the name or
    /// comment). Off by default: they also catch honest people. Each finding is explained.
    /// Guarded mode turns them on.
    pub weishang_preset: bool,
    /// What a preset finding leads to: `hold` (a human looks) or `reject`.
    pub weishang_outcome: Outcome,
    /// Requests no check speaks against: `leave` (recorded as pending, decided on the
    /// platform as before), `approve`, or `hold` (a staff task each). In guarded mode
    /// `leave` and `approve` become `hold`.
    pub otherwise: Otherwise,
    /// A join wave (many joins in a short time) puts the group in guarded mode.
    pub join_wave: JoinWaveSettings,
    /// The newcomer gate (入群验证) for groups without join requests: newcomers are muted
    /// until they answer a question within a deadline. Off by default.
    pub gate: super::gate::GateSettings,
}

impl Default for AdmissionSettings {
    fn default() -> Self {
        Self::builtin(Locale::ZhCn)
    }
}

impl AdmissionSettings {
    pub fn builtin(locale: Locale) -> Self {
        Self {
            enabled: true,
            rules: Vec::new(),
            question: String::new(),
            answers: Vec::new(),
            wrong_answer: Outcome::Reject,
            wrong_answer_reason: locale
                .pick("入群问题回答不正确，请看清问题后再申请", "The answer to the question was not right; please read it and apply again")
                .into(),
            weishang_preset: false,
            weishang_outcome: Outcome::Hold,
            otherwise: Otherwise::Leave,
            join_wave: JoinWaveSettings::default(),
            gate: super::gate::GateSettings::builtin(locale),
        }
    }
}

/// One screening rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ScreenRule {
    /// A short name, shown in decisions and the audit log.
    pub id: String,
    /// What it looks at: `name`, `comment` or `either`.
    pub field: ScreenField,
    /// A regular expression (Rust `regex` syntax) matched against the text as written and
    /// its normalised form; empty: none.
    pub regex: String,
    /// Words, matched after normalisation (width, case, traditional/simplified); any one
    /// matches.
    pub words: Vec<String>,
    /// `reject` or `hold`.
    pub outcome: Outcome,
    /// The reason, in the applicant's language for a rejection (they see it).
    pub reason: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScreenField {
    Name,
    Comment,
    #[default]
    Either,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    #[default]
    Reject,
    Hold,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Otherwise {
    #[default]
    Leave,
    Approve,
    Hold,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct JoinWaveSettings {
    /// Detect join waves.
    pub enabled: bool,
    /// This many joins (or more) …
    pub joins: u32,
    /// … within this many minutes make a wave.
    pub window_mins: u32,
    /// How long guarded mode lasts, in minutes (staff may end it early:
    /// `DELETE /api/v1/groups/{connector}/{group}/guard`). In guarded mode join requests not
    /// clearly fine are held, the 微商 preset is on, and newcomers' messages are moderated
    /// strictly.
    pub guard_mins: u32,
}

impl Default for JoinWaveSettings {
    fn default() -> Self {
        Self { enabled: true, joins: 10, window_mins: 5, guard_mins: 30 }
    }
}

/// Checks the settings; regexes are compiled here, so a bad one is reported at its entry.
pub fn validate(settings: &AdmissionSettings, path: &[&str]) -> Vec<Problem> {
    let at = |keys: &[&str]| -> Vec<String> { path.iter().chain(keys).map(|s| (*s).to_owned()).collect() };
    let mut problems = Vec::new();
    for (i, rule) in settings.rules.iter().enumerate() {
        let index = i.to_string();
        if rule.regex.trim().is_empty() && rule.words.iter().all(|w| w.trim().is_empty()) {
            problems.push(Problem::new(at(&["rules", &index]), "the rule has neither `regex` nor `words`; it would never match"));
        }
        if !rule.regex.is_empty() {
            if let Err(error) = regex::Regex::new(&rule.regex) {
                problems.push(Problem::new(at(&["rules", &index, "regex"]), format!("not a valid regular expression: {error}")));
            }
        }
        if rule.outcome == Outcome::Reject && rule.reason.trim().is_empty() {
            problems.push(Problem::new(at(&["rules", &index, "reason"]), "a rejecting rule needs a reason (the applicant sees it)"));
        }
    }
    if !settings.answers.is_empty() && settings.answers.iter().any(|a| qunzhu_text::normalize::fold(a).compact.is_empty()) {
        problems.push(Problem::new(at(&["answers"]), "an answer is empty once normalised; write letters, digits or characters"));
    }
    if settings.wrong_answer == Outcome::Reject && !settings.answers.is_empty() && settings.wrong_answer_reason.trim().is_empty() {
        problems.push(Problem::new(at(&["wrong_answer_reason"]), "rejecting wrong answers needs a reason (the applicant sees it)"));
    }
    let wave = &settings.join_wave;
    if wave.enabled {
        if wave.joins < 2 {
            problems.push(Problem::new(at(&["join_wave", "joins"]), "a wave needs at least 2 joins"));
        }
        if wave.window_mins == 0 || wave.window_mins > 1440 {
            problems.push(Problem::new(at(&["join_wave", "window_mins"]), "use 1 to 1440 minutes"));
        }
        if wave.guard_mins == 0 || wave.guard_mins > 10_080 {
            problems.push(Problem::new(at(&["join_wave", "guard_mins"]), "use 1 to 10080 minutes (a week)"));
        }
    }
    problems.extend(super::gate::validate(&settings.gate, &path.iter().copied().chain(["gate"]).collect::<Vec<_>>()));
    problems
}
