//! `qunzhu moderate`: check texts the way the moderation rule does, without a database.
//!
//! The same pure [`assess`] the engine runs on live messages, with no behaviour context
//! (no flood or wave windows, not a newcomer) and the shipped spam classifier — so what
//! it prints is what a long-standing member's message would get.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use qunzhu_core::Message;
use qunzhu_engine::rulebook::{DEFAULT_TEMPLATE, ResolvedSettings};
use qunzhu_engine::rules::moderate::assess::{Assessment, Circumstances, assess};
use qunzhu_engine::rules::moderate::category_label;
use qunzhu_engine::{CompiledRulebook, Locale, Rulebook};
use qunzhu_text::analyze::analyze;
use qunzhu_text::classifier::SpamClassifier;
use serde::Serialize;

/// `qunzhu moderate` arguments.
#[derive(Debug, Clone, Args)]
pub struct ModerateArgs {
    /// The message to check; without it, one message per line is read from standard input
    pub text: Option<String>,
    /// Print one JSON object per message (per input line) instead of a readable verdict
    #[arg(long)]
    pub json: bool,
    /// A rulebook TOML file (as `qunzhu rules export` writes it) [default: the built-in rules]
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// The rulebook template whose moderation settings to use
    #[arg(long, value_name = "NAME", default_value = DEFAULT_TEMPLATE)]
    pub template: String,
    /// The language of the readable verdict (and of the built-in rules)
    #[arg(long, value_enum, default_value_t = Lang::ZhCn)]
    pub lang: Lang,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    #[value(name = "zh-CN", alias = "zh")]
    ZhCn,
    #[value(name = "en")]
    En,
}

impl From<Lang> for Locale {
    fn from(lang: Lang) -> Self {
        match lang {
            Lang::ZhCn => Locale::ZhCn,
            Lang::En => Locale::En,
        }
    }
}

/// Assesses one text under a template's settings: the lexicon of the template, `spam_score`
/// for the classifier (skipped when the template turns the classifier off), no behaviour
/// context. Shared by the CLI and `POST /api/v1/moderate/check`.
pub fn assess_text(
    resolved: &ResolvedSettings,
    text: &str,
    spam_score: impl Fn(&str) -> f32,
) -> (Assessment, f32) {
    if text.trim().is_empty() {
        // Nothing to judge; the classifier would only answer its prior.
        return (Assessment::default(), 0.0);
    }
    let settings = &resolved.settings.moderation;
    let report = analyze(text, &resolved.matcher);
    let score = if settings.spam_threshold < 1.0 {
        spam_score(text)
    } else {
        0.0
    };
    let message = Message::text("check", text);
    let mut assessment = assess(&report, &message, settings, score, Circumstances::default());
    // An empty sum of f32 is -0.0; print 0.
    assessment.score += 0.0;
    (assessment, score)
}

/// One line of `--json` output.
#[derive(Debug, Serialize)]
struct JsonVerdict<'a> {
    text: &'a str,
    #[serde(flatten)]
    assessment: &'a Assessment,
    /// The classifier's spam probability (0 when the template turns the classifier off).
    spam_score: f32,
}

/// Runs `qunzhu moderate`.
///
/// # Errors
/// An unreadable rules file or standard input, or a failed write to standard output. A
/// rules file with problems is reported (every problem) and answered with exit code 1.
pub fn run(args: &ModerateArgs) -> anyhow::Result<ExitCode> {
    let locale = Locale::from(args.lang);
    let compiled = match load_rules(args.rules.as_deref(), locale)? {
        Ok(compiled) => compiled,
        Err(code) => return Ok(code),
    };
    let Some(resolved) = compiled.template_settings(&args.template) else {
        let names: Vec<&str> = compiled
            .rulebook
            .templates
            .keys()
            .map(String::as_str)
            .collect();
        eprintln!(
            "error: there is no template named `{}`; the rulebook has: {}",
            args.template,
            names.join(", ")
        );
        return Ok(ExitCode::FAILURE);
    };
    if !resolved.settings.moderation.enabled {
        eprintln!(
            "note: moderation is turned off in template `{}`; showing what it would decide if it were on",
            resolved.template
        );
    }
    let classifier = SpamClassifier::builtin();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let check = |text: &str, out: &mut dyn Write| -> anyhow::Result<()> {
        let (assessment, spam_score) = assess_text(&resolved, text, |t| classifier.score(t));
        if args.json {
            let line = serde_json::to_string(&JsonVerdict {
                text,
                assessment: &assessment,
                spam_score,
            })
            .context("could not write the verdict as JSON")?;
            writeln!(out, "{line}")
        } else {
            write!(out, "{}", readable(text, &assessment, spam_score, locale))
        }
        .context("could not write to standard output")
    };
    match &args.text {
        Some(text) => check(text, &mut out)?,
        None => {
            for line in std::io::stdin().lock().lines() {
                let line = line.context("could not read standard input (is it UTF-8 text?)")?;
                check(line.trim_end_matches('\r'), &mut out)?;
            }
        }
    }
    out.flush().context("could not write to standard output")?;
    Ok(ExitCode::SUCCESS)
}

/// The rulebook to use: the file's (every problem reported, exit 1) or the built-in one.
fn load_rules(
    file: Option<&Path>,
    locale: Locale,
) -> anyhow::Result<Result<CompiledRulebook, ExitCode>> {
    let (rulebook, label) = match file {
        None => (Rulebook::builtin(locale), None),
        Some(path) => {
            let source = std::fs::read_to_string(path)
                .with_context(|| format!("could not read {}; check the path", path.display()))?;
            match Rulebook::from_toml(&source) {
                Ok(rulebook) => (rulebook, Some(path)),
                Err(problems) => return Ok(Err(report(path, &problems))),
            }
        }
    };
    match CompiledRulebook::compile(rulebook, 0) {
        Ok(compiled) => Ok(Ok(compiled)),
        Err(problems) => match label {
            Some(path) => Ok(Err(report(path, &problems))),
            None => anyhow::bail!("the built-in rulebook is invalid (a bug): {problems:?}"),
        },
    }
}

fn report(file: &Path, problems: &[qunzhu_engine::problems::Problem]) -> ExitCode {
    eprintln!("{} has {} problem(s):", file.display(), problems.len());
    for problem in problems {
        eprintln!("{problem}");
    }
    ExitCode::FAILURE
}

/// The verdict for people: the decision, then each check with its evidence.
fn readable(text: &str, assessment: &Assessment, spam_score: f32, locale: Locale) -> String {
    let mut out = String::new();
    out.push_str(&format!("{} {text}\n", locale.pick("消息：", "Message:")));
    let score = assessment.score;
    let category = assessment
        .category
        .as_deref()
        .map(|c| category_label(c, locale));
    let verdict = match (locale, assessment.flagged, category) {
        (Locale::ZhCn, true, Some(category)) => {
            format!("判定：违规 — {category}（得分 {score:.2}，满 1.00 即违规）")
        }
        (Locale::ZhCn, true, None) => format!("判定：违规（得分 {score:.2}，满 1.00 即违规）"),
        (Locale::ZhCn, false, _) => format!("判定：正常（得分 {score:.2}，满 1.00 才算违规）"),
        (Locale::En, true, Some(category)) => {
            format!("Verdict: FLAGGED — {category} (score {score:.2}; 1.00 flags)")
        }
        (Locale::En, true, None) => format!("Verdict: FLAGGED (score {score:.2}; 1.00 flags)"),
        (Locale::En, false, _) => format!("Verdict: not flagged (score {score:.2}; 1.00 flags)"),
    };
    out.push_str(&verdict);
    out.push('\n');
    if assessment.checks.is_empty() {
        out.push_str(locale.pick("  没有检查项命中\n", "  no check fired\n"));
    }
    for check in &assessment.checks {
        let category = category_label(&check.category, locale);
        out.push_str(&match locale {
            Locale::ZhCn => format!(
                "  - {}（{category}，权重 {:.2}）：{}\n",
                check.check, check.weight, check.evidence
            ),
            Locale::En => format!(
                "  - {} ({category}, weight {:.2}): {}\n",
                check.check, check.weight, check.evidence
            ),
        });
    }
    out.push_str(&match locale {
        Locale::ZhCn => format!("  垃圾消息分类器：{spam_score:.2}\n"),
        Locale::En => format!("  spam classifier: {spam_score:.2}\n"),
    });
    out
}
