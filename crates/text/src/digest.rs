//! The daily digest (群精华) of a group's chat, extractive and free of I/O.
//!
//! [`digest`] takes one day's messages (already without spam and deleted lines) and returns
//! a [`TextDigest`]: the day's keywords, its discussion threads, its key messages and its
//! questions with their answers. The same input always gives the same output (every ranking
//! breaks ties by time, then by position).
//!
//! # How
//! - **Words**: the readable form of each message ([`crate::normalize`]) cut by jieba (HMM on),
//!   keeping words of two or more characters with a letter or Han character in them, not all
//!   digits, and not stop words (`data/similar/stopwords.txt`, stopwords-iso plus chat fillers,
//!   and `data/digest/stopwords.txt`: greetings, forms of address, time words).
//! - **Keywords**: TextRank over words (Mihalcea & Tarau 2004): an undirected graph whose edges
//!   join words co-occurring within [`WORD_WINDOW`] words of one message, weighted by how often
//!   they do, ranked by weighted PageRank (damping 0.85). A word must appear in at least two
//!   messages. Hand-rolled: no maintained crate ranks over our own tokens (jieba-rs's
//!   `textrank` feature re-cuts raw text and filters by part of speech).
//! - **Key messages**: TextRank over messages: edges weighted by the similarity of their word
//!   sets, `|A ∩ B| / (ln(1 + |A|) + ln(1 + |B|))` (the paper's, shifted so one-word messages
//!   are defined), PageRank as above. The score is then boosted by engagement:
//!   `× (1 + 0.5 · replies + 0.25 · reactions)`, replies being quote-replies to the message.
//!   Only messages with at least [`MIN_KEY_WORDS`] distinct words compete, and at most two
//!   of one thread are picked while other threads have candidates.
//! - **Threads**: a message joins the thread of the message it quote-replies to; else the
//!   thread of the latest message (within [`DigestOptions::gap_secs`]) of a member it
//!   mentions; else, among threads whose last message is within `gap_secs`, the one whose
//!   recent words it shares most with (the most recent on a tie or when it shares none —
//!   "嗯嗯", "+1" go with the conversation under way); else it starts a new thread. So a
//!   silence longer than `gap_secs` ends every conversation. A thread's score is the sum of its
//!   messages' key-message scores times the number of members taking part; the digest lists
//!   threads of at least [`MIN_THREAD_MESSAGES`] messages, best first.
//! - **Questions**: messages that are a question ([`crate::question::is_question`]) with at
//!   least one content word; answered by a later message of someone else that quote-replies
//!   to it, or mentions the asker within [`ANSWER_WINDOW_SECS`]; or, while it is the latest
//!   question of its thread, by a staff member's next message in the thread within that
//!   window, or by the first message of anyone else in the thread within
//!   [`NEXT_SPEAKER_SECS`] that has a content word and is not itself a question (group chat
//!   answers without quoting: 「水壶要带多大的？」「500毫升的就够了」). Once answered, later
//!   talk is no longer taken for an answer (quote-replies still are; two answers at most).
//!   When there are more than `max_questions`, the unanswered ones come first (up to half
//!   the list), then the answered ones, each by their key-message score.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::OnceLock;

use serde::Serialize;

use crate::normalize::fold_with;
use crate::similar::{jieba, stop_words};

/// Words either side that co-occur in the keyword graph.
pub const WORD_WINDOW: usize = 4;
/// The least distinct words a message needs to be a key message.
pub const MIN_KEY_WORDS: usize = 2;
/// The least messages a thread needs to be listed.
pub const MIN_THREAD_MESSAGES: usize = 3;
/// How long after a question a mention of the asker (or staff speaking) counts as an answer.
pub const ANSWER_WINDOW_SECS: i64 = 3600;
/// How soon another member's plain reply in the thread counts as an answer.
pub const NEXT_SPEAKER_SECS: i64 = 300;

const DAMPING: f64 = 0.85;
const ITERATIONS: usize = 60;
const TOLERANCE: f64 = 1e-9;

/// One chat message as the digest sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChatMessage {
    /// The platform's message id (quote-replies point at it).
    pub id: String,
    pub author: String,
    /// The author's display name.
    pub name: String,
    /// Unix seconds.
    pub at: i64,
    /// The plain text.
    pub text: String,
    /// The id of the message this one quote-replies to.
    pub reply_to: Option<String>,
    /// Members mentioned.
    pub mentions: Vec<String>,
    /// Reactions the message received.
    pub reactions: u32,
    /// Written by the owner, an admin or a listed staff member.
    pub staff: bool,
    /// Shown elsewhere in the digest (an announcement): ranked and threaded like any other
    /// message, but never listed as a key message.
    pub pinned: bool,
}

/// Limits of a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestOptions {
    pub max_keywords: usize,
    pub max_threads: usize,
    pub max_messages: usize,
    pub max_questions: usize,
    /// A silence this long (seconds) ends a conversation.
    pub gap_secs: i64,
}

impl Default for DigestOptions {
    fn default() -> Self {
        Self { max_keywords: 8, max_threads: 3, max_messages: 5, max_questions: 8, gap_secs: 20 * 60 }
    }
}

/// A keyword and its TextRank score (the scores of a day sum to the number of words ranked).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Keyword {
    pub word: String,
    pub score: f64,
}

/// A message picked for the digest: its index in the input and its score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ranked {
    pub index: usize,
    pub score: f64,
}

/// A discussion thread.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Thread {
    /// Indices of its messages, in time order.
    pub messages: Vec<usize>,
    /// Its best keywords (the day's ranking, restricted to words used in the thread).
    pub keywords: Vec<String>,
    /// Distinct authors.
    pub participants: usize,
    /// Its best message (the index of the highest key-message score).
    pub key_message: usize,
    pub score: f64,
}

/// A question and the messages answering it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuestionAnswers {
    pub question: usize,
    /// Indices of answers, in time order (at most two).
    pub answers: Vec<usize>,
}

/// What [`digest`] finds in a day of chat; indices point into its input.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TextDigest {
    pub keywords: Vec<Keyword>,
    pub threads: Vec<Thread>,
    pub key_messages: Vec<Ranked>,
    pub questions: Vec<QuestionAnswers>,
}

fn digest_stop_words() -> &'static HashSet<&'static str> {
    static WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        include_str!("../data/digest/stopwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Loads jieba's dictionary and the stop words now.
pub fn warm_up() {
    let _ = (jieba(), stop_words(), digest_stop_words());
}

/// The content words of a message, in order (repeats kept).
pub fn content_words(text: &str) -> Vec<String> {
    let folded = fold_with(text, |_| false).han;
    let (stops, extra) = (stop_words(), digest_stop_words());
    jieba()
        .cut(&folded, true)
        .into_iter()
        .map(|t| t.word)
        .filter(|w| {
            w.chars().count() >= 2
                && w.chars().any(char::is_alphanumeric)
                && !w.chars().all(|c| c.is_ascii_digit())
                && !stops.contains(w)
                && !extra.contains(w)
        })
        .map(str::to_owned)
        .collect()
}

/// Weighted PageRank over an undirected graph given as adjacency lists (`(neighbour,
/// weight)`); nodes without edges keep `1 − d`. Fixed iteration order: deterministic.
fn pagerank(adjacency: &[Vec<(usize, f64)>]) -> Vec<f64> {
    let n = adjacency.len();
    let out: Vec<f64> = adjacency.iter().map(|edges| edges.iter().map(|(_, w)| w).sum()).collect();
    let mut score = vec![1.0; n];
    for _ in 0..ITERATIONS {
        let mut next = vec![1.0 - DAMPING; n];
        for (i, edges) in adjacency.iter().enumerate() {
            for &(j, w) in edges {
                if out[j] > 0.0 {
                    next[i] += DAMPING * w / out[j] * score[j];
                }
            }
        }
        let change: f64 = next.iter().zip(&score).map(|(a, b)| (a - b).abs()).sum();
        score = next;
        if change < TOLERANCE {
            break;
        }
    }
    score
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The day's keywords by TextRank over words (see the module docs), best first, ties by word.
fn keywords(words: &[Vec<String>], limit: usize) -> Vec<Keyword> {
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    let mut messages_with: Vec<usize> = Vec::new();
    for message in words {
        let distinct: BTreeSet<&str> = message.iter().map(String::as_str).collect();
        for word in distinct {
            let next = ids.len();
            let id = *ids.entry(word).or_insert(next);
            if id == messages_with.len() {
                messages_with.push(0);
            }
            messages_with[id] += 1;
        }
    }
    let mut edges: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    for message in words {
        let ids: Vec<usize> = message.iter().filter_map(|w| ids.get(w.as_str()).copied()).collect();
        for (i, &a) in ids.iter().enumerate() {
            for &b in ids.iter().skip(i + 1).take(WORD_WINDOW) {
                if a != b {
                    *edges.entry((a.min(b), a.max(b))).or_insert(0.0) += 1.0;
                }
            }
        }
    }
    let mut adjacency = vec![Vec::new(); ids.len()];
    for (&(a, b), &w) in &edges {
        adjacency[a].push((b, w));
        adjacency[b].push((a, w));
    }
    let score = pagerank(&adjacency);
    let mut ranked: Vec<(&str, f64)> = ids.iter().filter(|(_, id)| messages_with[**id] >= 2).map(|(w, id)| (*w, score[*id])).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ranked.into_iter().take(limit).map(|(word, score)| Keyword { word: word.to_owned(), score: round3(score) }).collect()
}

/// Key-message scores (TextRank times engagement) of every message; 0 for messages with
/// fewer than [`MIN_KEY_WORDS`] distinct words.
fn message_scores(messages: &[ChatMessage], sets: &[BTreeSet<&str>]) -> Vec<f64> {
    let candidates: Vec<usize> = (0..messages.len()).filter(|&i| sets[i].len() >= MIN_KEY_WORDS).collect();
    let mut index: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (node, &i) in candidates.iter().enumerate() {
        for word in &sets[i] {
            index.entry(word).or_default().push(node);
        }
    }
    let mut shared: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for nodes in index.values() {
        for (k, &a) in nodes.iter().enumerate() {
            for &b in &nodes[k + 1..] {
                *shared.entry((a, b)).or_insert(0) += 1;
            }
        }
    }
    let mut adjacency = vec![Vec::new(); candidates.len()];
    for (&(a, b), &n) in &shared {
        let (la, lb) = (sets[candidates[a]].len() as f64, sets[candidates[b]].len() as f64);
        let w = n as f64 / ((1.0 + la).ln() + (1.0 + lb).ln());
        adjacency[a].push((b, w));
        adjacency[b].push((a, w));
    }
    let rank = pagerank(&adjacency);
    let position: BTreeMap<&str, usize> = messages.iter().enumerate().map(|(i, m)| (m.id.as_str(), i)).collect();
    let mut replies = vec![0u32; messages.len()];
    for m in messages {
        if let Some(i) = m.reply_to.as_deref().and_then(|id| position.get(id)) {
            replies[*i] += 1;
        }
    }
    let mut scores = vec![0.0; messages.len()];
    for (node, &i) in candidates.iter().enumerate() {
        let boost = 1.0 + 0.5 * f64::from(replies[i]) + 0.25 * f64::from(messages[i].reactions);
        scores[i] = rank[node] * boost;
    }
    scores
}

/// Thread number of each message (see the module docs).
fn threads_of(messages: &[ChatMessage], sets: &[BTreeSet<&str>], gap_secs: i64) -> Vec<usize> {
    let position: BTreeMap<&str, usize> = messages.iter().enumerate().map(|(i, m)| (m.id.as_str(), i)).collect();
    let mut thread_of: Vec<usize> = Vec::with_capacity(messages.len());
    // Per thread: last message index and its recent words (the last few messages').
    let mut last: Vec<usize> = Vec::new();
    let mut recent: Vec<Vec<usize>> = Vec::new();
    let mut latest_by_author: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, m) in messages.iter().enumerate() {
        let by_reply = m.reply_to.as_deref().and_then(|id| position.get(id)).filter(|&&j| j < i).map(|&j| thread_of[j]);
        let by_mention = || {
            m.mentions
                .iter()
                .filter_map(|member| latest_by_author.get(member.as_str()))
                .filter(|&&j| m.at - messages[j].at <= gap_secs)
                .max()
                .map(|&j| thread_of[j])
        };
        let by_words = || {
            let open = (0..last.len()).filter(|&t| m.at - messages[last[t]].at <= gap_secs);
            open.map(|t| {
                let overlap = recent[t].iter().flat_map(|&j| sets[j].iter()).collect::<BTreeSet<_>>().intersection(&sets[i].iter().collect()).count();
                (overlap, last[t], t)
            })
            .max()
            .map(|(_, _, t)| t)
        };
        let thread = match by_reply.or_else(by_mention).or_else(by_words) {
            Some(t) => t,
            None => {
                last.push(i);
                recent.push(Vec::new());
                last.len() - 1
            }
        };
        last[thread] = i;
        recent[thread].push(i);
        if recent[thread].len() > 6 {
            recent[thread].remove(0);
        }
        thread_of.push(thread);
        latest_by_author.insert(m.author.as_str(), i);
    }
    thread_of
}

fn questions(messages: &[ChatMessage], sets: &[BTreeSet<&str>], thread_of: &[usize]) -> Vec<QuestionAnswers> {
    // Once per message: the question test folds the text.
    let asks: Vec<bool> = messages.iter().zip(sets).map(|(m, set)| !set.is_empty() && crate::question::is_question(&m.text)).collect();
    let mut out = Vec::new();
    for (q, asked) in messages.iter().enumerate() {
        if !asks[q] {
            continue;
        }
        let mut answers = Vec::new();
        let mut open_in_thread = true;
        for (j, m) in messages.iter().enumerate().skip(q + 1) {
            if m.at - asked.at > ANSWER_WINDOW_SECS && m.reply_to.is_none() {
                break;
            }
            if m.author == asked.author {
                continue;
            }
            let replies = m.reply_to.as_deref() == Some(asked.id.as_str());
            let within = m.at - asked.at <= ANSWER_WINDOW_SECS;
            let mentions = within && m.mentions.contains(&asked.author);
            let same_thread = thread_of[j] == thread_of[q] && m.reply_to.is_none();
            let asks = asks[j];
            let staff_next = within && open_in_thread && m.staff && same_thread;
            let next_speaker = open_in_thread && same_thread && !asks && !sets[j].is_empty() && m.at - asked.at <= NEXT_SPEAKER_SECS;
            if thread_of[j] == thread_of[q] && asks {
                // Someone else's question in the thread: the next speakers answer that one.
                open_in_thread = false;
            }
            if replies || mentions || staff_next || next_speaker {
                answers.push(j);
                // Answered: later talk in the thread is no longer taken for an answer.
                open_in_thread = false;
                if answers.len() == 2 {
                    break;
                }
            }
        }
        out.push(QuestionAnswers { question: q, answers });
    }
    out
}

/// The digest of one day's messages (in time order; see the module docs).
pub fn digest(messages: &[ChatMessage], options: &DigestOptions) -> TextDigest {
    let words: Vec<Vec<String>> = messages.iter().map(|m| content_words(&m.text)).collect();
    let sets: Vec<BTreeSet<&str>> = words.iter().map(|w| w.iter().map(String::as_str).collect()).collect();
    let keywords = keywords(&words, options.max_keywords.max(20));
    let scores = message_scores(messages, &sets);
    let thread_of = threads_of(messages, &sets, options.gap_secs);

    let mut by_thread: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &t) in thread_of.iter().enumerate() {
        by_thread.entry(t).or_default().push(i);
    }
    let better = |a: usize, b: usize| scores[a].total_cmp(&scores[b]).then_with(|| b.cmp(&a));
    let mut threads: Vec<Thread> = by_thread
        .into_values()
        .filter(|ms| ms.len() >= MIN_THREAD_MESSAGES)
        .filter_map(|ms| {
            let participants = ms.iter().map(|&i| messages[i].author.as_str()).collect::<BTreeSet<_>>().len();
            // Its best message, an announcement only when nothing else was said.
            let key_message =
                ms.iter().copied().filter(|&i| !messages[i].pinned).max_by(|&a, &b| better(a, b)).or_else(|| ms.iter().copied().max_by(|&a, &b| better(a, b)))?;
            let used: BTreeSet<&str> = ms.iter().flat_map(|&i| sets[i].iter().copied()).collect();
            let keywords = keywords.iter().filter(|k| used.contains(k.word.as_str())).take(3).map(|k| k.word.clone()).collect();
            let score = round3(ms.iter().map(|&i| scores[i]).sum::<f64>() * participants as f64);
            Some(Thread { messages: ms, keywords, participants, key_message, score })
        })
        .collect();
    threads.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.messages[0].cmp(&b.messages[0])));
    threads.truncate(options.max_threads);

    // Best first, at most two per thread while others have candidates (a day of several
    // topics is not quoted from one), then the rest by score.
    let mut key: Vec<usize> = (0..messages.len()).filter(|&i| scores[i] > 0.0 && !messages[i].pinned).collect();
    key.sort_by(|&a, &b| better(b, a));
    let mut picked: Vec<usize> = Vec::new();
    let mut per_thread: BTreeMap<usize, usize> = BTreeMap::new();
    for &i in &key {
        let n = per_thread.entry(thread_of[i]).or_insert(0);
        if *n < 2 && picked.len() < options.max_messages {
            *n += 1;
            picked.push(i);
        }
    }
    for &i in &key {
        if picked.len() >= options.max_messages {
            break;
        }
        if !picked.contains(&i) {
            picked.push(i);
        }
    }
    picked.sort_by(|&a, &b| better(b, a));
    let key_messages = picked.into_iter().map(|index| Ranked { index, score: round3(scores[index]) }).collect();

    let mut questions = questions(messages, &sets, &thread_of);
    if questions.len() > options.max_questions {
        // Unanswered ones first (up to half the list: staff should see them), then answered
        // ones, each by key-message score (earlier first on a tie); shown in time order.
        let by_score = |a: &&QuestionAnswers, b: &&QuestionAnswers| better(b.question, a.question);
        let mut unanswered: Vec<&QuestionAnswers> = questions.iter().filter(|q| q.answers.is_empty()).collect();
        let mut answered: Vec<&QuestionAnswers> = questions.iter().filter(|q| !q.answers.is_empty()).collect();
        unanswered.sort_by(by_score);
        answered.sort_by(by_score);
        let half = options.max_questions.div_ceil(2);
        let mut keep: BTreeSet<usize> = unanswered.iter().take(half).map(|q| q.question).collect();
        let room = options.max_questions - keep.len();
        keep.extend(answered.iter().take(room).map(|q| q.question));
        let room = options.max_questions - keep.len();
        keep.extend(unanswered.iter().skip(half).take(room).map(|q| q.question));
        questions.retain(|q| keep.contains(&q.question));
    }

    let mut keywords = keywords;
    keywords.truncate(options.max_keywords);
    TextDigest { keywords, threads, key_messages, questions }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, author: &str, at: i64, text: &str) -> ChatMessage {
        ChatMessage { id: id.into(), author: author.into(), name: author.into(), at, text: text.into(), ..ChatMessage::default() }
    }

    #[test]
    fn content_words_drop_stop_words_fillers_and_single_characters() {
        let words = content_words("哈哈哈 谢谢老师！明天春游几点集合呀");
        assert!(words.contains(&"春游".to_owned()), "{words:?}");
        assert!(words.contains(&"集合".to_owned()), "{words:?}");
        for filler in ["哈哈哈", "谢谢", "老师", "明天", "呀"] {
            assert!(!words.contains(&filler.to_owned()), "{filler} in {words:?}");
        }
    }

    #[test]
    fn the_word_most_talked_about_is_the_first_keyword() {
        let messages = vec![
            msg("1", "a", 0, "春游带什么零食好"),
            msg("2", "b", 60, "春游要带水壶和零食"),
            msg("3", "c", 120, "春游的大巴几点出发"),
            msg("4", "d", 180, "春游那天会下雨吗"),
            msg("5", "e", 240, "作业本在哪里买"),
        ];
        let d = digest(&messages, &DigestOptions::default());
        assert_eq!(d.keywords[0].word, "春游", "{:?}", d.keywords);
        assert!(d.keywords.iter().all(|k| k.word != "作业本"), "a word of one message is not a keyword");
    }

    #[test]
    fn a_quote_reply_answers_a_question_and_joins_its_thread() {
        let mut answer = msg("3", "teacher", 4000, "八点在学校门口集合");
        answer.reply_to = Some("1".into());
        let messages = vec![msg("1", "a", 0, "春游几点集合？"), msg("2", "b", 3000, "作业本在哪里买"), answer];
        let d = digest(&messages, &DigestOptions { gap_secs: 3600, ..DigestOptions::default() });
        let q = d.questions.iter().find(|q| q.question == 0).unwrap();
        assert_eq!(q.answers, vec![2]);
    }

    #[test]
    fn a_question_nobody_answers_has_no_answers() {
        // Others talk on, but only after the next-speaker window.
        let messages = vec![msg("1", "a", 0, "春游要不要带雨伞？"), msg("2", "a", 60, "春游我也想去"), msg("3", "b", 600, "春游好开心")];
        let d = digest(&messages, &DigestOptions::default());
        assert_eq!(d.questions, vec![QuestionAnswers { question: 0, answers: vec![] }]);
    }

    #[test]
    fn staff_speaking_next_in_the_thread_answers_the_open_question() {
        let mut staff = msg("2", "owner", 120, "带一把折叠伞就行");
        staff.staff = true;
        let messages = vec![msg("1", "a", 0, "春游要不要带雨伞？"), staff];
        let d = digest(&messages, &DigestOptions::default());
        assert_eq!(d.questions[0].answers, vec![1]);
    }

    #[test]
    fn the_next_member_speaking_in_the_thread_answers_but_not_with_thanks_or_a_question() {
        let messages = vec![
            msg("1", "a", 0, "水壶要带多大的？"),
            msg("2", "b", 20, "收到谢谢"),
            msg("3", "c", 40, "500毫升的水壶就够了"),
            msg("4", "d", 60, "春游几点出发？"),
            msg("5", "e", 80, "八点出发"),
        ];
        let d = digest(&messages, &DigestOptions::default());
        assert_eq!(d.questions, vec![QuestionAnswers { question: 0, answers: vec![2] }, QuestionAnswers { question: 3, answers: vec![4] }]);
    }

    #[test]
    fn a_long_silence_starts_a_new_thread() {
        let messages = vec![
            msg("1", "a", 0, "春游带什么零食"),
            msg("2", "b", 60, "春游带水果零食"),
            msg("3", "c", 120, "零食少带点"),
            msg("4", "a", 7200, "周末数学作业好难"),
            msg("5", "b", 7260, "数学作业第三题不会"),
            msg("6", "c", 7320, "第三题要画图"),
        ];
        let d = digest(&messages, &DigestOptions::default());
        assert_eq!(d.threads.len(), 2);
        let mut spans: Vec<Vec<usize>> = d.threads.iter().map(|t| t.messages.clone()).collect();
        spans.sort();
        assert_eq!(spans, vec![vec![0, 1, 2], vec![3, 4, 5]]);
    }

    #[test]
    fn replies_and_reactions_lift_a_message_among_equals() {
        let mut messages = vec![msg("1", "a", 0, "春游路线定了去植物园"), msg("2", "b", 60, "春游路线定了去动物园"), msg("3", "c", 120, "植物园动物园都行")];
        messages[1].reactions = 4;
        let d = digest(&messages, &DigestOptions::default());
        assert_eq!(d.key_messages[0].index, 1, "{:?}", d.key_messages);
    }

    #[test]
    fn the_same_input_gives_the_same_digest() {
        let messages: Vec<ChatMessage> =
            (0..40).map(|i| msg(&i.to_string(), &format!("m{}", i % 7), i * 50, ["春游零食清单", "大巴出发时间", "雨伞水壶帽子"][i as usize % 3])).collect();
        let a = digest(&messages, &DigestOptions::default());
        let b = digest(&messages, &DigestOptions::default());
        assert_eq!(a, b);
    }
}
