//! `qunzhu classify`: sentiment and question detection for chat messages, without a database.
//!
//! The same [`qunzhu_text::sentiment`] and [`qunzhu_text::question_cue`] the engine runs on
//! live messages (the care rule's outbreak and unanswered-question checks).

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use qunzhu_text::{question_cue, sentiment};
use serde::Serialize;

/// `qunzhu classify` arguments.
#[derive(Debug, Clone, Args)]
pub struct ClassifyArgs {
    /// The message to classify; without it, one message per line is read from standard input
    pub text: Option<String>,
    /// Print one JSON object per message (per input line) instead of a readable line
    #[arg(long)]
    pub json: bool,
}

/// One message's classification as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Classification {
    /// The message as given.
    pub text: String,
    /// `negative`, `neutral` or `positive`.
    pub sentiment: &'static str,
    /// From −1 (very negative) to 1 (very positive).
    pub score: f32,
    /// The words, emoji and markers that decided the sentiment, with their weights.
    pub cues: Vec<CueJson>,
    /// Whether the message asks something.
    pub is_question: bool,
    /// Why it was taken for a question (zh-CN), when it was.
    pub question_cue: Option<String>,
}

/// One sentiment cue.
#[derive(Debug, Serialize)]
pub struct CueJson {
    /// The matched text.
    pub text: String,
    /// Its contribution (below zero: negative).
    pub weight: f32,
}

/// Classifies one message.
pub fn classify(text: &str) -> Classification {
    let s = sentiment(text);
    let cue = question_cue(text);
    Classification {
        text: text.to_owned(),
        sentiment: s.label.as_str(),
        score: (s.score * 1000.0).round() / 1000.0,
        cues: s.cues.iter().map(|c| CueJson { text: c.text.clone(), weight: c.weight }).collect(),
        is_question: cue.is_some(),
        question_cue: cue.map(|c| c.describe(true)),
    }
}

/// Runs `qunzhu classify`.
pub fn run(args: &ClassifyArgs) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut emit = |text: &str| -> anyhow::Result<()> {
        let c = classify(text);
        if args.json {
            serde_json::to_writer(&mut out, &c).context("could not write JSON")?;
            writeln!(out)?;
        } else {
            let question = match &c.question_cue {
                Some(cue) => format!("问题（{cue}）"),
                None => "非问题".to_owned(),
            };
            let cues = sentiment(text).describe_cues();
            writeln!(out, "{}\t{:+.2}\t{question}\t{cues}\t{}", c.sentiment, c.score, c.text)?;
        }
        Ok(())
    };
    match &args.text {
        Some(text) => emit(text)?,
        None => {
            for line in std::io::stdin().lock().lines() {
                let line = line.context("could not read standard input")?;
                emit(&line)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
