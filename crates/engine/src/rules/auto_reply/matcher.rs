//! The FAQ of one template (with a group's overrides), compiled once per rulebook: folded
//! triggers, compiled regexes and the similar-question index (built on first use, so jieba's
//! dictionary is loaded only where similar triggers are used). Pure.

use std::sync::OnceLock;

use qunzhu_text::similar::{Query, SimilarIndex};
use serde::Serialize;

use super::settings::{compile_regex, AutoReplySettings};

/// The similarity a message that does not read like a question (no question word, no
/// question mark: 收到，谢谢 / 发货了) needs to answer: statements resemble questions.
pub const STATEMENT_THRESHOLD: f32 = 0.8;

/// Which trigger matched, in the order ties are broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    Exact,
    Contains,
    AllOf,
    AnyOf,
    Regex,
    Similar,
}

/// Why an entry matches a message.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaqMatch {
    /// The entry's id.
    pub entry: String,
    pub trigger: TriggerKind,
    /// 1.0 for exact, contains, keyword and regex triggers; the similarity for `similar`.
    pub score: f32,
    /// The threshold the score had to reach: 1.0 except for `similar`, whose threshold is
    /// the entry's, raised to [`STATEMENT_THRESHOLD`] for a message that does not read like a
    /// question.
    pub threshold: f32,
    /// The phrase, keyword(s), pattern or example question that matched.
    pub matched: String,
}

impl FaqMatch {
    /// Whether the entry answers (the score reached its threshold).
    pub fn answers(&self) -> bool {
        self.score >= self.threshold
    }
}

struct Keyword {
    text: String,
    /// Latin letters or digits at an end: match only at word boundaries there.
    word_start: bool,
    word_end: bool,
}

impl Keyword {
    fn new(raw: &str) -> Self {
        let text = qunzhu_text::normalize(raw);
        let word_start = text.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        let word_end = text.chars().last().is_some_and(|c| c.is_ascii_alphanumeric());
        Self { text, word_start, word_end }
    }

    fn found_in(&self, folded: &str) -> bool {
        folded.match_indices(&self.text).any(|(i, _)| {
            let before = folded[..i].chars().next_back();
            let after = folded[i + self.text.len()..].chars().next();
            let glued_before = self.word_start && before.is_some_and(|c| c.is_ascii_alphanumeric());
            let glued_after = self.word_end && after.is_some_and(|c| c.is_ascii_alphanumeric());
            !glued_before && !glued_after
        })
    }
}

struct CompiledEntry {
    id: String,
    exact: Vec<String>,
    contains: Vec<String>,
    all_of: Vec<Keyword>,
    any_of: Vec<Keyword>,
    regex: Vec<regex::Regex>,
    similar: Vec<String>,
    threshold: f32,
}

/// The compiled FAQ; see the module documentation.
#[derive(Default)]
pub struct CompiledFaq {
    entries: Vec<CompiledEntry>,
    index: OnceLock<SimilarIndex>,
}

impl std::fmt::Debug for CompiledFaq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledFaq").field("entries", &self.entries.len()).finish_non_exhaustive()
    }
}

/// The text `exact` compares: folded, without punctuation or spaces at either end.
fn exact_form(text: &str) -> String {
    qunzhu_text::normalize(text).trim_matches(|c: char| !c.is_alphanumeric()).to_owned()
}

impl CompiledFaq {
    /// Compiles the enabled entries (validated settings; a pattern that does not compile is
    /// skipped with a warning).
    pub fn new(settings: &AutoReplySettings) -> Self {
        let fold_all = |list: &[String]| list.iter().map(|s| qunzhu_text::normalize(s)).collect::<Vec<_>>();
        let entries = settings
            .entries
            .iter()
            .filter(|(_, entry)| entry.enabled)
            .map(|(id, entry)| {
                let t = &entry.triggers;
                CompiledEntry {
                    id: id.clone(),
                    exact: t.exact.iter().map(|s| exact_form(s)).collect(),
                    contains: fold_all(&t.contains),
                    all_of: t.all_of.iter().map(|k| Keyword::new(k)).collect(),
                    any_of: t.any_of.iter().map(|k| Keyword::new(k)).collect(),
                    regex: t
                        .regex
                        .iter()
                        .filter_map(|p| {
                            compile_regex(p).map_err(|e| tracing::warn!(entry = %id, error = %e, "FAQ regex skipped")).ok()
                        })
                        .collect(),
                    similar: t.similar.clone(),
                    threshold: t.similar_threshold,
                }
            })
            .collect();
        Self { entries, index: OnceLock::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn index(&self) -> &SimilarIndex {
        self.index.get_or_init(|| {
            SimilarIndex::new(self.entries.iter().enumerate().flat_map(|(key, e)| e.similar.iter().map(move |q| (key, q.as_str()))))
        })
    }

    /// Every entry the message matches or comes close to (`similar` scores below the
    /// threshold included, for explanations), the one that answers first.
    pub fn candidates(&self, text: &str) -> Vec<FaqMatch> {
        let folded = qunzhu_text::normalize(text);
        let exact = exact_form(text);
        let mut found = Vec::new();
        for entry in &self.entries {
            if let Some(m) = rule_match(entry, &folded, &exact) {
                found.push(m);
            }
        }
        if self.entries.iter().any(|e| !e.similar.is_empty()) {
            let index = self.index();
            let query: Query = index.query(text);
            let question = qunzhu_text::is_question(text);
            for m in index.matches(&query) {
                let entry = &self.entries[m.key];
                if found.iter().any(|f: &FaqMatch| f.entry == entry.id && f.answers()) {
                    continue;
                }
                found.push(FaqMatch {
                    entry: entry.id.clone(),
                    trigger: TriggerKind::Similar,
                    score: m.score,
                    threshold: if question { entry.threshold } else { entry.threshold.max(STATEMENT_THRESHOLD) },
                    matched: entry.similar[m.example].clone(),
                });
            }
        }
        let position = |id: &str| self.entries.iter().position(|e| e.id == id).unwrap_or(usize::MAX);
        found.sort_by(|a, b| {
            b.answers()
                .cmp(&a.answers())
                .then(b.score.total_cmp(&a.score))
                .then(a.trigger.cmp(&b.trigger))
                .then(position(&a.entry).cmp(&position(&b.entry)))
        });
        found
    }

    /// The entry that answers the message, if any.
    pub fn best(&self, text: &str) -> Option<FaqMatch> {
        self.candidates(text).into_iter().next().filter(FaqMatch::answers)
    }
}

fn rule_match(entry: &CompiledEntry, folded: &str, exact: &str) -> Option<FaqMatch> {
    let hit = |trigger, matched: String| Some(FaqMatch { entry: entry.id.clone(), trigger, score: 1.0, threshold: 1.0, matched });
    if let Some(e) = entry.exact.iter().find(|e| !e.is_empty() && e.as_str() == exact) {
        return hit(TriggerKind::Exact, e.clone());
    }
    if let Some(c) = entry.contains.iter().find(|c| !c.is_empty() && folded.contains(c.as_str())) {
        return hit(TriggerKind::Contains, c.clone());
    }
    if !entry.all_of.is_empty() && entry.all_of.iter().all(|k| k.found_in(folded)) {
        return hit(TriggerKind::AllOf, entry.all_of.iter().map(|k| k.text.as_str()).collect::<Vec<_>>().join(" + "));
    }
    if let Some(k) = entry.any_of.iter().find(|k| k.found_in(folded)) {
        return hit(TriggerKind::AnyOf, k.text.clone());
    }
    if let Some(r) = entry.regex.iter().find(|r| r.is_match(folded)) {
        return hit(TriggerKind::Regex, r.as_str().to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::settings::{FaqEntry, Triggers};
    use super::*;

    fn faq(entries: &[(&str, Triggers)]) -> CompiledFaq {
        let entries: BTreeMap<String, FaqEntry> = entries
            .iter()
            .map(|(id, t)| ((*id).to_owned(), FaqEntry { triggers: t.clone(), answer: "a".into(), ..FaqEntry::default() }))
            .collect();
        CompiledFaq::new(&AutoReplySettings { entries, ..AutoReplySettings::default() })
    }

    #[test]
    fn exact_ignores_width_case_and_surrounding_punctuation_but_not_extra_words() {
        let f = faq(&[("rules", Triggers { exact: vec!["群规".into(), "Rules".into()], ..Triggers::default() })]);
        assert_eq!(f.best("群规？").unwrap().trigger, TriggerKind::Exact);
        assert!(f.best(" ＲＵＬＥＳ! ").is_some());
        assert!(f.best("群规太严了").is_none());
    }

    #[test]
    fn latin_keywords_match_whole_words_and_all_of_needs_every_keyword() {
        let f = faq(&[
            ("pay", Triggers { any_of: vec!["pay".into()], ..Triggers::default() }),
            ("invoice", Triggers { all_of: vec!["发票".into(), "怎么开".into()], ..Triggers::default() }),
        ]);
        assert_eq!(f.best("can I pay by card").unwrap().entry, "pay");
        assert!(f.best("paypal ok?").is_none());
        assert_eq!(f.best("發票怎麼開").unwrap().trigger, TriggerKind::AllOf);
        assert!(f.best("发票收到了").is_none());
    }

    #[test]
    fn a_rule_trigger_beats_a_similar_one_and_near_misses_are_still_listed() {
        let f = faq(&[
            ("returns", Triggers { similar: vec!["怎么退货".into(), "退货流程是什么".into()], ..Triggers::default() }),
            ("tracking", Triggers { regex: vec![r"单号|物流".into()], ..Triggers::default() }),
        ]);
        let best = f.best("退货以后物流单号在哪看").unwrap();
        assert_eq!((best.entry.as_str(), best.trigger), ("tracking", TriggerKind::Regex));
        let candidates = f.candidates("退货以后物流单号在哪看");
        assert_eq!(candidates.len(), 2);
        assert_eq!(candidates[1].entry, "returns");
        assert!(f.best("怎么报名").is_none());
    }

    #[test]
    fn a_statement_needs_a_closer_match_than_a_question() {
        let f = faq(&[("shipping", Triggers { similar: vec!["发货时间".into(), "什么时候发货".into()], ..Triggers::default() })]);
        assert!(f.best("发货时间").is_some(), "the example itself, typed as a search");
        let statement = f.candidates("发货了");
        assert_eq!(statement[0].threshold, STATEMENT_THRESHOLD);
        assert!(!statement[0].answers(), "{statement:?}");
        assert!(f.best("发货了吗").is_some(), "the same words asked");
    }

    #[test]
    fn disabled_entries_never_answer() {
        let mut settings = AutoReplySettings::default();
        for entry in settings.entries.values_mut() {
            entry.enabled = false;
        }
        let f = CompiledFaq::new(&settings);
        assert!(f.is_empty());
        assert!(f.best("怎么退货").is_none());
    }
}
