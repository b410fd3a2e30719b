//! Chinese-first text analysis, free of any platform or I/O.
//!
//! Moderation analysis of one message, in stages that each run once:
//!
//! - [`normalize`] — [`fold`] a message into its matching forms ([`Folded`]: `han`,
//!   `compact`, `pinyin`), undoing full-width, traditional, numeral and homoglyph evasions.
//! - [`lexicon`] — word lists with [`Category`]s (the built-in one ships in the binary) and
//!   the [`LexiconMatcher`] over every folded form, with allow-words.
//! - [`detect`] — links, phone numbers, WeChat and QQ ids, contact invitations, emoji and
//!   repeats, each with its evidence.
//! - [`qr`] — QR code payloads inside images.
//! - [`analyze`] — all of the above for one message: a [`TextReport`].
//! - [`classifier`] — the spam classifier.
//!
//! And for auto-replies: [`similar`] — does a message ask what an FAQ example asks
//! (jieba words, synonyms, stop words, TF-IDF cosine over an inverted index).
//!
//! For insight: [`digest`] — the daily digest (群精华): keywords and key messages by TextRank
//! over jieba words, threads by reply chains and time gaps, questions with their answers;
//! [`question`] — is a chat message a question (Chinese and English cues);
//! [`sentiment`] — negative, neutral or positive (a chat lexicon with negation and degree).

pub mod analyze;
pub mod classifier;
pub mod detect;
pub mod digest;
pub mod lexicon;
pub mod normalize;
pub mod qr;
pub mod question;
pub mod sentiment;
pub mod similar;

pub use analyze::{TextReport, analyze};
pub use detect::{ContactId, Detections, Evidence, Link, detect};
pub use lexicon::{Category, LexiconError, LexiconHit, LexiconMatcher};
pub use normalize::{Folded, Form, fold};
pub use qr::decode_qr;
pub use question::{QuestionCue, is_question, question_cue};
pub use sentiment::{Polarity, Sentiment, SentimentCue, sentiment};

/// The readable matching form of `text`: NFKC-folded (full-width → ASCII, ⑧ → 8),
/// traditional → simplified, lower-cased, runs of whitespace collapsed to one space, trimmed.
/// The same as [`Folded::han`].
pub fn normalize(text: &str) -> String {
    normalize::han_form(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_circled_digits_fold_to_ascii() {
        assert_eq!(normalize("加ＶＸ：①②③"), "加vx:123");
    }

    #[test]
    fn whitespace_runs_collapse() {
        assert_eq!(normalize("  大家\t\n好  "), "大家 好");
    }

    #[test]
    fn traditional_characters_become_simplified() {
        assert_eq!(normalize("兼職刷單"), "兼职刷单");
    }
}
