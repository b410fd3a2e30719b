//! The spam classifier: a probability that a chat message is an ad or spam, for Chinese and
//! English group chat, that learns from operator corrections.
//!
//! # Model
//! Multinomial naive Bayes over *binarised* features (each feature counts once per message),
//! with Laplace smoothing. Chosen over logistic regression because:
//! - training is a single counting pass, so the default model is built from the shipped data at
//!   first use in a few milliseconds, with no optimiser, no epochs and no learning rate to tune;
//! - an operator correction is an exact, local update (add the message's features to one class
//!   with a weight), cheap enough to apply on every "spam" / "not spam" click, and it can be
//!   repeated until the corrected message lands on the right side of the threshold;
//! - on short texts binarised NB is as accurate as a linear model (Wang & Manning 2012).
//!
//! The raw NB log-odds are over-confident on long messages, so the score is the sigmoid of the
//! log-odds divided by [`TEMPERATURE`] · √(number of features): a long ad still scores near 1,
//! but one spam-looking bigram in a long ordinary message does not push it over the threshold.
//!
//! # Features (no segmenter needed)
//! From the matching form of the text (see [`matching_form`]: NFKC, lower case, separators,
//! emoji and punctuation removed, digits collapsed to `#`):
//! - character unigrams and bigrams (skipping pure-ASCII-letter bigrams, which words cover);
//! - English / pinyin / id word unigrams from the NFKC, lower-cased text;
//! - shape features: a run of ≥ 5 digits (Arabic, Chinese or financial numerals), a link,
//!   emoji density, characters interleaved with separators (`加 🌹 微 ✨ 信`), full-width or
//!   circled characters in the original.
//!
//! # The default model
//! [`SpamClassifier::builtin`] trains on the train split (80 %, by a stable hash of each line) of
//! `data/spam/ham.txt` and `data/spam/spam.txt`, embedded with `include_str!`. That text (a few
//! hundred kB) is smaller than a serialised table of every feature's counts would be, and
//! counting it takes about 25 ms in a release build (about 300 ms unoptimised), so startup stays
//! under 50 ms. It is built once,
//! on first use, and shared; clone it to get a copy that [`SpamClassifier::learn`]s.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

/// Score at or above which a message counts as spam. Chosen to favour precision: an honest
/// member must not be surprised; borderline messages are left to the lexicons and behaviour
/// checks, and to operators.
pub const DEFAULT_THRESHOLD: f32 = 0.8;

/// Divides the log-odds (per √feature) before the sigmoid; see the module docs.
const TEMPERATURE: f64 = 0.25;

/// Laplace smoothing added to every feature count.
const ALPHA: f64 = 0.5;
/// Number of features at which a message's evidence counts half (see `score`).
const SHORT_TEXT_FEATURES: f64 = 16.0;

/// How much one operator correction weighs, in training messages.
const CORRECTION_WEIGHT: f64 = 5.0;

/// At most this many extra correction rounds are applied while the corrected message is still
/// on the wrong side of [`DEFAULT_THRESHOLD`].
const MAX_CORRECTION_ROUNDS: usize = 40;

/// The labelled data set shipped with the crate (one message per line, `\n` escaped).
pub const HAM_DATA: &str = include_str!("../data/spam/ham.txt");
/// See [`HAM_DATA`].
pub const SPAM_DATA: &str = include_str!("../data/spam/spam.txt");
/// Hand-written ordinary group chat (also the lexicon's false-positive corpus); ham. Short
/// everyday lines (恭喜恭喜, 11月16号, +1) are what generated ham lacks most.
pub const CLEAN_CHAT: &str = include_str!("../data/corpus/clean_chat.txt");

/// A naive Bayes spam classifier. `Send + Sync`; clone the [`builtin`](Self::builtin) model to
/// get one that learns.
#[derive(Debug, Clone, Default)]
pub struct SpamClassifier {
    /// Feature hash → weighted number of (ham, spam) messages that had it.
    counts: HashMap<u64, [f64; 2], BuildHasherDefault<FeatureHasher>>,
    /// Weighted number of (ham, spam) messages seen.
    docs: [f64; 2],
    /// Weighted sum of feature occurrences per class.
    totals: [f64; 2],
}

impl SpamClassifier {
    /// An empty model (scores 0.5 for everything until it learns).
    pub fn new() -> Self {
        Self::default()
    }

    /// The default model, trained on the train split of the shipped data set at first use.
    pub fn builtin() -> &'static SpamClassifier {
        static MODEL: OnceLock<SpamClassifier> = OnceLock::new();
        MODEL.get_or_init(SpamClassifier::from_shipped_data)
    }

    /// A new model trained on the train split of the shipped data set (what
    /// [`builtin`](Self::builtin) holds; this builds a fresh copy each call).
    pub fn from_shipped_data() -> Self {
        let mut model = SpamClassifier::new();
        for (line, is_spam) in raw_lines().filter(|(line, _)| !is_test_line(line)) {
            model.train(&unescape(line), is_spam, 1.0);
        }
        model
    }

    /// Adds one labelled message with `weight` (1.0 for a training message).
    pub fn train(&mut self, text: &str, is_spam: bool, weight: f64) {
        let class = usize::from(is_spam);
        let features = features(text);
        for f in &features {
            self.counts.entry(*f).or_insert([0.0; 2])[class] += weight;
        }
        self.docs[class] += weight;
        self.totals[class] += weight * features.len() as f64;
    }

    /// An operator's correction: `text` is (or is not) spam. Weighs as [`CORRECTION_WEIGHT`]
    /// training messages, and is repeated until the message itself scores on the corrected side
    /// of [`DEFAULT_THRESHOLD`] (spam: at or above; not spam: below half of it), so a marked
    /// false positive stops being flagged.
    pub fn learn(&mut self, text: &str, is_spam: bool) {
        self.train(text, is_spam, CORRECTION_WEIGHT);
        for _ in 0..MAX_CORRECTION_ROUNDS {
            let score = self.score(text);
            let settled = if is_spam {
                score >= DEFAULT_THRESHOLD
            } else {
                score < DEFAULT_THRESHOLD / 2.0
            };
            if settled {
                break;
            }
            self.train(text, is_spam, CORRECTION_WEIGHT);
        }
    }

    /// The probability (0..=1) that `text` is spam.
    pub fn score(&self, text: &str) -> f32 {
        let features = features(text);
        if features.is_empty() || self.docs[0] <= 0.0 || self.docs[1] <= 0.0 {
            return 0.5;
        }
        let vocab = self.counts.len().max(1) as f64;
        let denom_ham = self.totals[0] + ALPHA * vocab;
        let denom_spam = self.totals[1] + ALPHA * vocab;
        let mut llr = 0.0;
        for f in &features {
            let [ham, spam] = self.counts.get(f).copied().unwrap_or([0.0; 2]);
            llr += ((spam + ALPHA) / denom_spam).ln() - ((ham + ALPHA) / denom_ham).ln();
        }
        let prior = (self.docs[1] / self.docs[0]).ln();
        // Few features are little evidence: shrink towards the prior, so a two-word greeting
        // cannot score like an ad.
        let evidence = features.len() as f64 / (features.len() as f64 + SHORT_TEXT_FEATURES);
        let z = prior + evidence * llr / (TEMPERATURE * (features.len() as f64).sqrt()).max(1.0);
        (1.0 / (1.0 + (-z).exp())) as f32
    }

    /// Whether `text` scores at or above [`DEFAULT_THRESHOLD`].
    pub fn is_spam(&self, text: &str) -> bool {
        self.score(text) >= DEFAULT_THRESHOLD
    }
}

/// Feature keys are already FNV hashes: the map uses them as they are instead of SipHashing
/// them again (training is mostly map updates).
#[derive(Debug, Default, Clone, Copy)]
struct FeatureHasher(u64);

impl Hasher for FeatureHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The shipped data set as `(line, is_spam)` pairs, lines as stored (newlines escaped as `\n`;
/// [`is_test_line`] takes this form). [`unescape`] gives the message.
pub fn raw_lines() -> impl Iterator<Item = (&'static str, bool)> {
    let ham = HAM_DATA.lines().chain(CLEAN_CHAT.lines()).map(|l| (l, false));
    let spam = SPAM_DATA.lines().map(|l| (l, true));
    ham.chain(spam).filter(|(l, _)| !l.trim().is_empty())
}

/// The shipped data set as `(message, is_spam)` pairs, newlines unescaped.
pub fn labelled_data() -> impl Iterator<Item = (String, bool)> {
    raw_lines().map(|(l, s)| (unescape(l), s))
}

/// Whether a stored line belongs to the held-out 20 % (stable: FNV-1a of the line's bytes).
pub fn is_test_line(line: &str) -> bool {
    fnv1a(line.as_bytes()) % 5 == 0
}

/// A stored data line as a message: `\n` becomes a newline.
pub fn unescape(line: &str) -> String {
    line.replace("\\n", "\n")
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn hash_feature(tag: u8, s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(tag);
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// NFKC + lower case. The one place to swap in the text crate's richer fold (traditional →
/// simplified, homophones) when it lands.
fn fold(text: &str) -> String {
    text.nfkc().flat_map(char::to_lowercase).collect()
}

/// The compact matching form: [`fold`], then only letters and digits kept (separators, emoji
/// and punctuation between characters removed), Chinese numerals and digits collapsed to `#`.
fn matching_form(folded: &str) -> String {
    folded
        .chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| if is_digitish(c) { '#' } else { c })
        .collect()
}

fn is_cjk_numeral(c: char) -> bool {
    "零〇一二三四五六七八九壹贰叁肆伍陆柒捌玖貳參陸".contains(c)
}

fn is_digitish(c: char) -> bool {
    c.is_ascii_digit() || "零〇壹贰叁肆伍陆柒捌玖貳參陸".contains(c)
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0xFE0F | 0x200D | 0x3297 | 0x3299 | 0x203C | 0x2049)
}

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// The distinct feature hashes of `text`.
fn features(text: &str) -> Vec<u64> {
    let folded = fold(text);
    let compact = matching_form(&folded);
    let mut out: Vec<u64> = Vec::with_capacity(compact.chars().count() * 2 + 8);

    // Character unigrams and bigrams of the compact form.
    let chars: Vec<char> = compact.chars().collect();
    let mut buf = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphabetic() {
            buf.clear();
            buf.push(c);
            out.push(hash_feature(1, &buf));
        }
        if let Some(&next) = chars.get(i + 1) {
            if !(c.is_ascii_alphanumeric() && next.is_ascii_alphanumeric())
                || c == '#'
                || next == '#'
            {
                buf.clear();
                buf.push(c);
                buf.push(next);
                out.push(hash_feature(2, &buf));
            }
        }
    }

    // Words: runs of ASCII letters/digits in the folded text (English, pinyin, ids).
    for word in folded.split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        if word.chars().any(|c| c.is_ascii_digit()) {
            let shape: String = word
                .chars()
                .map(|c| if c.is_ascii_digit() { '#' } else { 'a' })
                .collect();
            out.push(hash_feature(4, &shape));
            let letters: String = word.chars().filter(char::is_ascii_alphabetic).collect();
            if letters.len() >= 2 {
                out.push(hash_feature(3, &letters));
            }
        } else {
            out.push(hash_feature(3, word));
        }
    }

    // Shape features.
    let mut run = 0usize;
    let mut longest = 0usize;
    for c in folded.chars() {
        if c.is_ascii_digit() || is_cjk_numeral(c) {
            run += 1;
            longest = longest.max(run);
        } else if !(c.is_whitespace() || c == '-' || is_emoji(c)) {
            run = 0;
        }
    }
    if longest >= 5 {
        out.push(hash_feature(5, "digits5"));
    }
    if longest >= 9 {
        out.push(hash_feature(5, "digits9"));
    }
    if folded.contains("http")
        || folded.contains("www.")
        || folded.contains("t.me/")
        || [".com", ".cn", ".cc", ".vip", ".xyz", ".top", ".ly/", ".kz"]
            .iter()
            .any(|s| folded.contains(s))
    {
        out.push(hash_feature(5, "link"));
    }
    let total = text.chars().filter(|c| !c.is_whitespace()).count();
    let emoji = text.chars().filter(|&c| is_emoji(c)).count();
    if total > 0 && emoji * 5 >= total && emoji >= 2 {
        out.push(hash_feature(5, "emoji_dense"));
    }
    // Han characters interleaved with separators: 加 🌹 微 ✨ 信, 兼-职 (sentence punctuation
    // between clauses does not count).
    let mut interleaved = 0;
    let mut gap = 0usize;
    let mut after_han = false;
    let mut punct = false;
    for c in folded.chars() {
        if is_han(c) {
            if after_han && gap > 0 && !punct {
                interleaved += 1;
            }
            after_han = true;
            gap = 0;
            punct = false;
        } else if c.is_alphanumeric() {
            after_han = false;
        } else {
            gap += 1;
            punct |= "，。！？、：；,.!?:;~～…()（）【】「」\"'".contains(c);
        }
    }
    if interleaved >= 3 {
        out.push(hash_feature(5, "interleaved"));
    }
    if text
        .chars()
        .any(|c| matches!(c as u32, 0xFF01..=0xFF5E | 0x2460..=0x24FF | 0x2776..=0x2793))
    {
        out.push(hash_feature(5, "fullwidth"));
    }

    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_form_drops_separators_and_collapses_digits() {
        assert_eq!(
            matching_form(&fold("加 🌹 微 ✨ 信：ＡＢ１２③")),
            "加微信ab###"
        );
    }

    #[test]
    fn empty_model_is_undecided() {
        assert!((SpamClassifier::new().score("你好") - 0.5).abs() < 1e-6);
    }
}
