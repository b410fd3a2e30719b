//! Similar-question matching: does a chat message ask what one of the FAQ's example questions
//! asks? Pure, no I/O.
//!
//! A text becomes weighted **features**:
//! 1. [`fold`](crate::normalize::fold)ed (NFKC, traditional → simplified, lower case), then cut
//!    into words by jieba (its built-in dictionary, HMM for unknown words);
//! 2. each word mapped to its synonym group's first word (`data/similar/synonyms.txt`: 退掉 and
//!    退回 ask about 退货, 多少钱 about 价格) — before stop words, so 时候 survives as 时间;
//! 3. stop words dropped (`data/similar/stopwords.txt`: stopwords-iso plus chat fillers such as
//!    请问, 一下, 怎么 — so 怎么报名 shares nothing with 怎么退货), and punctuation, emoji, digits;
//! 4. the remaining words count 1 each, and the character bigrams inside words of three or
//!    more Han characters 0.5 each, for robustness when jieba cuts a phrase differently
//!    (退货流程 as one word still shares 退货 and 流程).
//!
//! A [`SimilarIndex`] is built once per rulebook from every entry's example questions: it
//! weighs features by inverse document frequency over the entries (a word many entries'
//! examples use says little about which entry is meant)
//! and scores a message against each example by the cosine of their TF-IDF vectors, through
//! an inverted index — only examples sharing a feature with the message are touched. An
//! entry's score is its best example's. Scores are in `0.0..=1.0`; 1.0 is the same question.
//!
//! jieba's dictionary (350,000 words) is parsed once per process, on first use (~0.2 s);
//! [`warm_up`] does it ahead of the first message.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use jieba_rs::Jieba;
use serde::Serialize;

use crate::normalize::fold_with;

/// A word feature's weight; a character bigram's is half of it.
const WORD_WEIGHT: f32 = 1.0;
const BIGRAM_WEIGHT: f32 = 0.5;

pub(crate) fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

pub(crate) fn stop_words() -> &'static HashSet<&'static str> {
    static WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        include_str!("../data/similar/stopwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Every folded spelling → its group's canonical word.
fn synonyms() -> &'static HashMap<String, String> {
    static GROUPS: OnceLock<HashMap<String, String>> = OnceLock::new();
    GROUPS.get_or_init(|| {
        let mut map = HashMap::new();
        for line in include_str!("../data/similar/synonyms.txt").lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((canonical, variants)) = line.split_once(':') else { continue };
            let canonical = fold_word(canonical);
            for variant in variants.split_whitespace() {
                map.insert(fold_word(variant), canonical.clone());
            }
        }
        map
    })
}

fn fold_word(word: &str) -> String {
    fold_with(word.trim(), |_| false).han
}

/// Loads jieba's dictionary and the word lists now, so the first message does not wait.
pub fn warm_up() {
    let _ = (jieba(), stop_words(), synonyms());
}

/// One feature of a text and its term weight (before IDF).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Feature {
    /// A word (`退货`) or a character bigram inside a longer word, prefixed `~` (`~流程`).
    pub term: String,
    pub weight: f32,
}

/// The content words of `text`, folded, with synonyms mapped and stop words dropped, in
/// order (what matching sees; also shown when explaining a score).
pub fn words(text: &str) -> Vec<String> {
    let folded = fold_with(text, |_| false).han;
    let stops = stop_words();
    let synonyms = synonyms();
    let mut out = Vec::new();
    for token in jieba().cut(&folded, true) {
        let word = token.word;
        if !word.chars().any(char::is_alphanumeric) || word.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Some(canonical) = synonyms.get(word) {
            out.push(canonical.clone());
            continue;
        }
        if stops.contains(word) {
            continue;
        }
        let word = if word.is_ascii() { english_stem(word) } else { word };
        out.push(word.to_owned());
    }
    out
}

/// A light English stem: plural `s` off long words (`items` → `item`, not `was`, `glass`).
fn english_stem(word: &str) -> &str {
    match word.strip_suffix('s') {
        Some(stem) if stem.len() >= 3 && !stem.ends_with('s') && !stem.ends_with('u') && !stem.ends_with('i') => stem,
        _ => word,
    }
}

/// The weighted features of `text`: content words, plus the character bigrams inside each
/// (of the synonym group's word, so 电话 and 联系方式 share their bigrams too).
pub fn features(text: &str) -> Vec<Feature> {
    let mut counts: Vec<(String, f32)> = Vec::new();
    let mut add = |term: String, weight: f32| match counts.iter_mut().find(|(t, _)| *t == term) {
        Some((_, w)) => *w += weight,
        None => counts.push((term, weight)),
    };
    for word in words(text) {
        let han: Vec<char> = word.chars().filter(|c| is_han(*c)).collect();
        if han.len() > 2 {
            for pair in han.windows(2) {
                add(format!("~{}{}", pair[0], pair[1]), BIGRAM_WEIGHT);
            }
        }
        add(word, WORD_WEIGHT);
    }
    counts.into_iter().map(|(term, weight)| Feature { term, weight }).collect()
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}' | '\u{20000}'..='\u{2ffff}')
}

/// One example question in the index.
#[derive(Clone, Debug)]
struct Doc {
    key: usize,
    /// Position among its key's examples.
    example: usize,
    norm: f32,
}

/// Example questions of many keys (FAQ entries), ready to score messages against. Build it
/// once per rulebook; scoring a message against 50 entries takes microseconds.
#[derive(Clone, Debug, Default)]
pub struct SimilarIndex {
    vocabulary: HashMap<String, u32>,
    idf: Vec<f32>,
    /// Per feature: (doc, weight × idf).
    postings: Vec<Vec<(u32, f32)>>,
    docs: Vec<Doc>,
    /// The IDF of a feature no example has.
    unseen_idf: f32,
}

/// How well a message matches one key's examples.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimilarMatch {
    pub key: usize,
    /// Which of the key's examples matched best (its position in the order given).
    pub example: usize,
    /// Cosine similarity, `0.0..=1.0`.
    pub score: f32,
}

/// A message's features, looked up in one index (compute once, score against every key).
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// (feature id in the index, or `None` when no example has it; weight × idf).
    terms: Vec<(Option<u32>, f32)>,
    norm: f32,
}

impl Query {
    /// The message had no content words at all (only stop words, emoji, punctuation).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

impl SimilarIndex {
    /// Indexes `(key, example question)` pairs; a key may have many examples. Examples with no
    /// content words (only stop words) match nothing.
    pub fn new<'a>(examples: impl IntoIterator<Item = (usize, &'a str)>) -> Self {
        let mut index = Self::default();
        let mut per_key: HashMap<usize, usize> = HashMap::new();
        let mut doc_terms: Vec<Vec<(u32, f32)>> = Vec::new();
        // Document frequency counts keys, not examples: a word every example of one entry
        // repeats is that entry's topic, not a common word.
        let mut df: Vec<u32> = Vec::new();
        let mut seen: std::collections::HashSet<(u32, usize)> = std::collections::HashSet::new();
        for (key, text) in examples {
            let position = per_key.entry(key).or_insert(0);
            let example = *position;
            *position += 1;
            let mut terms = Vec::new();
            for feature in features(text) {
                let next = u32::try_from(index.vocabulary.len()).unwrap_or(u32::MAX);
                let id = *index.vocabulary.entry(feature.term).or_insert(next);
                if id as usize == df.len() {
                    df.push(0);
                }
                if seen.insert((id, key)) {
                    df[id as usize] += 1;
                }
                terms.push((id, feature.weight));
            }
            index.docs.push(Doc { key, example, norm: 0.0 });
            doc_terms.push(terms);
        }
        let n = per_key.len() as f32;
        index.idf = df.iter().map(|&d| idf(n, d as f32)).collect();
        index.unseen_idf = idf(n, 0.0);
        index.postings = vec![Vec::new(); index.vocabulary.len()];
        for (doc, terms) in doc_terms.into_iter().enumerate() {
            let mut norm = 0.0f32;
            for (id, weight) in terms {
                let w = weight * index.idf[id as usize];
                norm += w * w;
                index.postings[id as usize].push((u32::try_from(doc).unwrap_or(u32::MAX), w));
            }
            index.docs[doc].norm = norm.sqrt();
        }
        index
    }

    /// How many example questions are indexed.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Tokenises a message for scoring against this index.
    pub fn query(&self, text: &str) -> Query {
        let mut terms = Vec::new();
        let mut norm = 0.0f32;
        for feature in features(text) {
            let id = self.vocabulary.get(&feature.term).copied();
            let w = feature.weight * id.map_or(self.unseen_idf, |id| self.idf[id as usize]);
            norm += w * w;
            terms.push((id, w));
        }
        Query { terms, norm: norm.sqrt() }
    }

    /// Each key whose examples share anything with the query, with its best example's score,
    /// best first (ties: the key given first).
    pub fn matches(&self, query: &Query) -> Vec<SimilarMatch> {
        if query.norm == 0.0 || self.docs.is_empty() {
            return Vec::new();
        }
        let mut dots: HashMap<u32, f32> = HashMap::new();
        for (id, w) in &query.terms {
            let Some(id) = id else { continue };
            for (doc, dw) in &self.postings[*id as usize] {
                *dots.entry(*doc).or_insert(0.0) += w * dw;
            }
        }
        let mut best: HashMap<usize, SimilarMatch> = HashMap::new();
        for (doc, dot) in dots {
            let d = &self.docs[doc as usize];
            if d.norm == 0.0 {
                continue;
            }
            let score = (dot / (query.norm * d.norm)).clamp(0.0, 1.0);
            let candidate = SimilarMatch { key: d.key, example: d.example, score };
            match best.get(&d.key) {
                Some(current) if current.score > score || (current.score == score && current.example < d.example) => {}
                _ => {
                    best.insert(d.key, candidate);
                }
            }
        }
        let mut out: Vec<SimilarMatch> = best.into_values().collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.key.cmp(&b.key)));
        out
    }

    /// Tokenises `text` and returns its best match, if any feature is shared.
    pub fn best(&self, text: &str) -> Option<SimilarMatch> {
        self.matches(&self.query(text)).into_iter().next()
    }
}

/// Smoothed inverse document frequency.
fn idf(docs: f32, df: f32) -> f32 {
    1.0 + ((docs + 1.0) / (df + 1.0)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_words_are_dropped_and_synonyms_share_one_word() {
        assert_eq!(words("怎么退货"), vec!["退货"]);
        assert_eq!(words("我想退掉这个东西怎么办"), vec!["退货"]);
        assert_eq!(words("怎么报名？"), vec!["报名"]);
        assert_eq!(words("什么时候发货呀"), vec!["时间", "发货"]);
        assert_eq!(words("請問退貨流程"), vec!["退货", "流程"]);
    }

    #[test]
    fn english_words_are_stemmed_and_mapped() {
        assert_eq!(words("How do I return my items?"), vec!["return", "item"]);
        assert_eq!(words("When do you ship?"), vec!["时间", "ship"]);
    }

    #[test]
    fn an_index_scores_the_same_question_one_and_an_unrelated_one_nothing() {
        let index = SimilarIndex::new([(0, "怎么退货"), (0, "退货流程是什么"), (1, "怎么报名")]);
        let same = index.best("怎么退货").unwrap();
        assert_eq!((same.key, same.example), (0, 0));
        assert!((same.score - 1.0).abs() < 1e-4, "{same:?}");
        assert_eq!(index.best("今天天气不错").map(|m| m.key), None);
        let signup = index.best("请问怎么报名").unwrap();
        assert_eq!(signup.key, 1);
        assert!(index.matches(&index.query("怎么报名")).iter().all(|m| m.key == 1));
    }

    #[test]
    fn a_message_of_stop_words_only_is_an_empty_query() {
        let index = SimilarIndex::new([(0, "怎么退货")]);
        assert!(index.query("请问怎么办呀？？").is_empty());
        assert!(index.matches(&index.query("🙂🙂")).is_empty());
    }
}
