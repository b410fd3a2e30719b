//! Sentiment of a Chinese group-chat message: negative (complaint, anger, disappointment),
//! neutral or positive, with the cues that decided it.
//!
//! A lexicon scorer written for chat, not reviews. The message's readable form (see
//! [`crate::normalize`]) is scanned left to right, longest entry first, for:
//!
//! - **sentiment words** with a weight (不错 +1.2, 满意 +1.2, 失望 −1.5, 退钱 −2 …), including
//!   chat markers (无语, 服了, 醉了, 坑, 呵呵, 什么破, 割韭菜) and complaint patterns (还没, 没人理,
//!   根本);
//! - **negators** (不, 没, 别, 不太, 不是, 并不, 一点都不 …): the next sentiment word in the same
//!   clause within four characters flips — a negated positive counts −0.8× (不太满意 is
//!   negative), a negated negative +0.5× (不是不好 is mildly positive);
//! - **degree words** (很, 非常, 太, 特别, 超, 真, 有点 …) scale the next sentiment word;
//! - **emoji**: 😡👎😤😠🤬💢🙄😞😭 count −1 each, 👍😊😄😁🥰😍🌹❤🎉👏💪🙏 +1 each;
//! - **??-runs** (`？？？`, `??`) count −1 (impatience), once per message.
//!
//! Two cheap context rules: a message with 呵呵 (or 🙂) turns its positive words negative
//! (sarcasm: 呵呵，真是好服务); a question with only positive words counts them at 0.3× (效果好吗
//! asks, it does not praise). Neutral stock replies (好的, 好吧, 没事, 没问题 …) are entries of
//! weight 0 so their characters are not read as sentiment.
//!
//! The sum *s* of weights gives `score = tanh(s / 2)` in (−1, 1); the label is negative when
//! *s* ≤ −0.7, positive when *s* ≥ 0.7, neutral otherwise.
//!
//! The word lists are the project's own (MIT OR Apache-2.0), written for parents' groups,
//! shop customer groups and course groups; no third-party lexicon is included. Quality is
//! measured on the project's labelled chat set `crates/text/data/sentiment/` (`train.tsv` used
//! to write the lists, `test.tsv` written separately and held out): see `BENCHMARKS.md`.

use std::sync::LazyLock;

use crate::question::is_question;

/// Negative, neutral or positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Polarity {
    /// Complaint, anger, disappointment, impatience.
    Negative,
    /// Neither.
    Neutral,
    /// Thanks, praise, satisfaction, joy.
    Positive,
}

impl Polarity {
    /// `negative`, `neutral` or `positive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Negative => "negative",
            Self::Neutral => "neutral",
            Self::Positive => "positive",
        }
    }

    /// The label as shown to operators.
    pub fn describe(self, zh: bool) -> &'static str {
        match (self, zh) {
            (Self::Negative, true) => "负面",
            (Self::Neutral, true) => "中性",
            (Self::Positive, true) => "正面",
            (Self::Negative, false) => "negative",
            (Self::Neutral, false) => "neutral",
            (Self::Positive, false) => "positive",
        }
    }
}

/// One piece of evidence: the text that matched and the weight it contributed.
#[derive(Clone, Debug, PartialEq)]
pub struct SentimentCue {
    /// The matched text (a word, an emoji, `??`), with its negator or degree word in front.
    pub text: String,
    /// What it added to the sum (negative below zero).
    pub weight: f32,
}

/// The sentiment of one message.
#[derive(Clone, Debug, PartialEq)]
pub struct Sentiment {
    /// The label.
    pub label: Polarity,
    /// From −1 (very negative) to 1 (very positive).
    pub score: f32,
    /// What decided it, in reading order.
    pub cues: Vec<SentimentCue>,
}

impl Sentiment {
    /// Whether the label is [`Polarity::Negative`].
    pub fn is_negative(&self) -> bool {
        self.label == Polarity::Negative
    }

    /// The cues as shown to operators, e.g. `「失望」−1.5，「😡」−1.0`.
    pub fn describe_cues(&self) -> String {
        self.cues
            .iter()
            .map(|c| format!("「{}」{:+.1}", c.text, c.weight))
            .collect::<Vec<_>>()
            .join("，")
    }
}

/// The sum at or below which a message is negative (and its opposite for positive).
pub const LABEL_THRESHOLD: f32 = 0.7;

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A sentiment word with its weight (below zero for negative words).
    Word(f32),
    /// A neutral stock phrase.
    Stock,
    /// Flips the next sentiment word.
    Negator,
    /// Scales the next sentiment word.
    Degree(f32),
}

const POSITIVE: &[(&str, f32)] = &[
    ("谢谢", 1.0), ("感谢", 1.2), ("多谢", 1.0), ("辛苦", 1.0), ("不错", 1.2), ("满意", 1.2), ("喜欢", 1.2),
    ("爱吃", 1.0), ("开心", 1.2), ("高兴", 1.2), ("棒", 1.5), ("赞", 1.2), ("点赞", 1.5), ("好评", 1.5),
    ("推荐", 1.0), ("支持", 1.0), ("精彩", 1.5), ("用心", 1.2), ("负责", 1.0), ("耐心", 1.0), ("贴心", 1.2),
    ("暖心", 1.2), ("周到", 1.2), ("靠谱", 1.2), ("放心", 1.0), ("实用", 1.0), ("有用", 1.0), ("有帮助", 1.2),
    ("帮了大忙", 1.5), ("收获", 1.0), ("学到", 1.0), ("进步", 1.0), ("优秀", 1.2), ("好样的", 1.5),
    ("漂亮", 1.2), ("干货", 1.2), ("清楚", 0.8), ("明白了", 0.8), ("听懂", 0.8), ("懂了", 0.6),
    ("通俗易懂", 1.2), ("有条理", 1.0), ("豁然开朗", 1.5), ("惊喜", 1.2), ("值了", 1.2), ("值这个价", 1.2),
    ("性价比很高", 1.5), ("实惠", 1.0), ("舒服", 1.0), ("精致", 1.2), ("好用", 1.2), ("好吃", 1.2),
    ("好看", 1.2), ("好玩", 1.2), ("好多了", 1.0), ("热心", 1.2), ("福气", 1.2), ("期待", 1.0),
    ("加油", 0.8), ("杠杠的", 1.5), ("五星", 1.2), ("回购", 1.0), ("及时", 0.8), ("很快", 0.8), ("好快", 1.0),
    ("超快", 1.0), ("解决了", 1.0), ("搞定", 0.8), ("完美", 1.5), ("厉害", 1.2), ("给力", 1.2), ("牛", 1.0),
    ("哈哈", 0.5), ("嘻嘻", 0.5), ("氛围真好", 1.5), ("好", 1.0), ("挺好", 1.2), ("太好了", 1.5), ("真好", 1.5),
    ("还好", 0.3), ("一如既往", 0.8), ("顺利", 0.8), ("成功", 0.8), ("考过", 1.0), ("拿到", 0.4),
];

const NEGATIVE: &[(&str, f32)] = &[
    ("失望", 1.5), ("不好", 1.2), ("不满意", 1.5), ("不满", 1.2), ("生气", 1.5), ("气死", 2.0), ("气人", 1.5), ("愤怒", 2.0),
    ("无语", 1.5), ("服了", 1.2), ("醉了", 1.2), ("坑", 1.2), ("呵呵", 1.0), ("退钱", 2.0), ("骗", 1.5),
    ("骗子", 2.0), ("上当", 1.5), ("假货", 2.0), ("垃圾", 2.0), ("差评", 2.0), ("差劲", 1.5), ("差", 1.2),
    ("最差", 2.0), ("太差", 1.5), ("烂", 1.5), ("破", 0.6), ("什么破", 1.5), ("坏", 1.2), ("坏了", 1.2),
    ("碎了", 1.2), ("错", 0.8), ("出错", 1.0), ("错误", 1.0), ("报错", 1.0), ("写错", 1.0), ("发错", 1.0),
    ("开错", 1.0), ("讲错", 1.0), ("烦", 1.2), ("烦死", 1.8), ("麻烦死", 1.5), ("心累", 1.5), ("心寒", 1.8),
    ("寒心", 1.8), ("心疼", 0.8), ("后悔", 1.5), ("投诉", 1.5), ("离谱", 1.5), ("过分", 1.5), ("敷衍", 1.5),
    ("刁难", 1.5), ("耍人", 1.8), ("割韭菜", 2.0), ("浪费", 1.2), ("白请", 1.0), ("白跑", 1.2), ("放鸽子", 1.5),
    ("不负责", 1.5), ("不尊重", 1.5), ("不合理", 1.5), ("不透明", 1.2), ("不准", 1.0), ("不一样", 0.8),
    ("不是一回事", 1.0), ("不理", 1.2), ("没人理", 1.5), ("没人回", 1.5), ("没人管", 1.5), ("没人通知", 1.2),
    ("没人接", 1.2), ("没人说", 1.0), ("没人维持", 1.0), ("没人回复", 1.5), ("一直没人", 1.0), ("根本", 1.0),
    ("到底", 0.8), ("凭什么", 1.5), ("什么意思", 1.2), ("什么情况", 1.0), ("又", 0.4), ("还没", 0.8),
    ("乱", 1.0), ("太乱", 1.2), ("乱七八糟", 1.5), ("太慢", 1.2), ("慢", 0.6), ("卡了", 1.0), ("跟不上", 1.0),
    ("听不懂", 1.0), ("听不到", 1.0), ("打不开", 1.0), ("下载不了", 1.0), ("登录不上", 1.0), ("交不了", 1.0),
    ("穿不了", 1.0), ("吃不饱", 1.0), ("受不了", 1.5), ("头疼", 1.2), ("急死", 1.5), ("堪忧", 1.5),
    ("太贵", 1.2), ("这么贵", 1.2), ("贵", 0.6), ("降价", 0.6), ("缺货", 0.6), ("掉色", 1.2), ("开胶", 1.2),
    ("丢件", 1.2), ("漏了", 1.0), ("洒了", 1.0), ("凉了", 0.8), ("压扁", 1.0), ("失效", 1.0), ("迟到", 1.0),
    ("延期", 1.0), ("取消", 0.6), ("清零", 1.0), ("驳回", 1.2), ("推来推去", 1.5), ("拖", 1.0), ("欺负", 1.5),
    ("冻着", 1.0), ("刷屏", 1.0), ("广告", 0.6), ("太水", 1.5), ("难吃", 1.5), ("念ppt", 1.0),
    ("学了个寂寞", 2.0), ("寂寞", 0.8), ("不指望", 1.5), ("算了", 0.8), ("退群", 1.2), ("哎", 0.6),
    ("无奈", 1.2), ("一次比一次差", 2.0), ("前后矛盾", 1.5), ("内定", 1.2), ("说法", 0.6), ("说好的", 0.6), ("说好", 0.4), ("合理", -1.0), ("出问题", 1.2), ("给个说法", 1.5),
    ("说了等于没说", 1.8), ("管管", 1.0), ("重视", 0.6), ("不爽", 1.5), ("不行", 1.0), ("不怎么样", 1.5),
    ("问了三遍", 1.2), ("问了三次", 1.2), ("敷衍了事", 1.5), ("机器人回复", 1.0), ("急", 0.6), ("白白", 0.8),
    ("不想再说", 1.2), ("不给", 0.8), ("临时", 0.6), ("这么晚", 0.8), ("来不及", 0.8), ("老是", 0.6),
    ("总是", 0.4), ("每次都", 0.8), ("不是第一次", 1.2), ("线头", 0.8), ("旧款", 0.6), ("发的是别的", 1.0),
];

/// Neutral stock phrases: matched so their characters are not read as sentiment.
const NEUTRAL: &[&str] = &[
    "好的", "好吧", "好了", "好久", "好多", "好像", "好几", "只好", "好不好", "正好", "没事", "没问题",
    "不用", "不知道", "不清楚", "不是很清楚", "没有问题", "不会", "问题", "差不多", "还差", "相差",
    "不要", "错过", "不错过", "破解", "水平", "坑位", "又名", "好友", "好处", "最好", "拖鞋", "乱码",
    "收到", "麻烦", "能不能", "是不是", "有没有", "要不要", "会不会", "可不可以",
];

const NEGATORS: &[&str] = &[
    "不", "没", "没有", "别", "不太", "不是", "不是很", "不怎么", "并不", "并没有", "一点都不", "一点也不",
    "从不", "从来不", "从来没", "毫不", "不够", "无法", "未",
];

const DEGREES: &[(&str, f32)] = &[
    ("很", 1.3), ("非常", 1.5), ("太", 1.5), ("特别", 1.5), ("超", 1.4), ("超级", 1.5), ("真", 1.3),
    ("真的", 1.3), ("真心", 1.3), ("十分", 1.5), ("极其", 1.8), ("极", 1.6), ("巨", 1.5), ("最", 1.5),
    ("挺", 1.1), ("比较", 1.0), ("有点", 0.8), ("有些", 0.8), ("稍微", 0.6), ("越来越", 1.3), ("简直", 1.5),
    ("这么", 1.2), ("那么", 1.2), ("好", 1.3),
];

const NEGATIVE_EMOJI: &[char] = &['😡', '👎', '😤', '😠', '🤬', '💢', '🙄', '😞', '😭', '😒', '😩', '😫', '💔', '😑'];
const POSITIVE_EMOJI: &[char] = &[
    '👍', '😊', '😄', '😁', '🥰', '😍', '🌹', '❤', '🎉', '👏', '💪', '🙏', '😀', '😃', '💯', '🌸', '🤗', '✌', '🥳',
];
const SARCASM: &[&str] = &["呵呵", "🙂"];

struct Entry {
    /// In the readable form the text is scanned in (the fold maps some characters, 呵 → 嗬).
    word: String,
    kind: Kind,
}

/// Every entry, longest first so the longest match wins at each position.
static ENTRIES: LazyLock<Vec<Entry>> = LazyLock::new(|| {
    let mut v: Vec<Entry> = Vec::new();
    let e = |word: &str, kind| Entry { word: crate::normalize(word), kind };
    v.extend(POSITIVE.iter().map(|&(word, w)| e(word, Kind::Word(w))));
    v.extend(NEGATIVE.iter().map(|&(word, w)| e(word, Kind::Word(-w))));
    v.extend(NEUTRAL.iter().map(|&word| e(word, Kind::Stock)));
    v.extend(NEGATORS.iter().map(|&word| e(word, Kind::Negator)));
    v.extend(DEGREES.iter().filter(|(w, _)| *w != "好").map(|&(word, f)| e(word, Kind::Degree(f))));
    // Longest first; among equals a sentiment word before a negator or degree word.
    v.sort_by_key(|e| (std::cmp::Reverse(e.word.chars().count()), !matches!(e.kind, Kind::Word(_) | Kind::Stock)));
    v
});

fn is_clause_break(c: char) -> bool {
    matches!(c, ',' | '.' | '!' | ';' | ':' | '，' | '。' | '！' | '；' | '：' | '\n' | ' ' | '~' | '、' | '…')
}

fn longest_at(rest: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| rest.starts_with(e.word.as_str()))
}

/// The sentiment of one chat message. See the module docs for how it is decided.
pub fn sentiment(text: &str) -> Sentiment {
    let t = crate::normalize(text);
    let mut cues: Vec<SentimentCue> = Vec::new();
    // Pending modifiers: (text, char position where it ended).
    let mut negator: Option<(&'static str, usize)> = None;
    let sarcastic = SARCASM.iter().any(|s| t.contains(crate::normalize(s).as_str()));
    let mut degree: Option<(&'static str, f32)> = None;
    let mut question_marks = false;
    let mut pos = 0usize; // char position
    let mut i = 0usize; // byte offset
    while i < t.len() {
        let rest = &t[i..];
        let Some(c) = rest.chars().next() else { break };
        if c == '?' {
            let run = rest.chars().take_while(|&c| c == '?').count();
            if run >= 2 && !question_marks {
                question_marks = true;
                cues.push(SentimentCue { text: "?".repeat(run), weight: -1.0 });
            }
            negator = None;
            degree = None;
            i += run;
            pos += run;
            continue;
        }
        if is_clause_break(c) {
            negator = None;
            degree = None;
            i += c.len_utf8();
            pos += 1;
            continue;
        }
        if NEGATIVE_EMOJI.contains(&c) || POSITIVE_EMOJI.contains(&c) {
            let weight = if NEGATIVE_EMOJI.contains(&c) { -1.0 } else { 1.0 };
            cues.push(SentimentCue { text: c.to_string(), weight });
            i += c.len_utf8();
            pos += 1;
            continue;
        }
        let Some(entry) = longest_at(rest) else {
            i += c.len_utf8();
            pos += 1;
            continue;
        };
        let len = entry.word.chars().count();
        let after = &rest[entry.word.len()..];
        match entry.kind {
            Kind::Negator => negator = Some((entry.word.as_str(), pos + len)),
            Kind::Degree(f) => degree = Some((entry.word.as_str(), f)),
            Kind::Stock => {
                negator = None;
                degree = None;
            }
            Kind::Word(w) => {
                // 好 before another sentiment word is a degree word (好难吃, 好开心).
                if entry.word == "好" && longest_at(after).is_some_and(|e| matches!(e.kind, Kind::Word(_))) {
                    degree = Some(("好", 1.3));
                    i += entry.word.len();
                    pos += len;
                    continue;
                }
                let mut weight = w;
                let mut shown = String::new();
                if let Some((n, end)) = negator.take()
                    && pos.saturating_sub(end) <= 4
                {
                    weight = if w > 0.0 { -0.8 * w } else { -0.5 * w };
                    shown.push_str(n);
                }
                if let Some((d, f)) = degree.take() {
                    weight *= f;
                    shown.push_str(d);
                }
                shown.push_str(&entry.word);
                cues.push(SentimentCue { text: shown, weight });
            }
        }
        i += entry.word.len();
        pos += len;
    }

    if sarcastic {
        for cue in cues.iter_mut().filter(|c| c.weight > 0.0) {
            cue.weight = -cue.weight;
        }
    }
    if !cues.iter().any(|c| c.weight < 0.0) && is_question(text) {
        for cue in cues.iter_mut() {
            cue.weight *= 0.3;
        }
    }
    // `+ 0.0`: an empty float sum is −0.0.
    let sum: f32 = cues.iter().map(|c| c.weight).sum::<f32>() + 0.0;
    let label = if sum <= -LABEL_THRESHOLD {
        Polarity::Negative
    } else if sum >= LABEL_THRESHOLD {
        Polarity::Positive
    } else {
        Polarity::Neutral
    };
    Sentiment { label, score: (sum / 2.0).tanh(), cues }
}

/// The project's labelled chat set: `(polarity, message)` from `train.tsv` (used to write the
/// word lists) or `test.tsv` (held out).
pub fn labelled_chat(held_out: bool) -> impl Iterator<Item = (Polarity, &'static str)> {
    let data = if held_out { TEST_DATA } else { TRAIN_DATA };
    data.lines().filter_map(|line| {
        let (label, text) = line.split_once('\t')?;
        let label = match label {
            "neg" => Polarity::Negative,
            "neu" => Polarity::Neutral,
            "pos" => Polarity::Positive,
            _ => return None,
        };
        Some((label, text))
    })
}

const TRAIN_DATA: &str = include_str!("../data/sentiment/train.tsv");
const TEST_DATA: &str = include_str!("../data/sentiment/test.tsv");

#[cfg(test)]
mod tests {
    use super::*;

    fn label(text: &str) -> Polarity {
        sentiment(text).label
    }

    #[test]
    fn praise_is_positive_and_complaints_negative() {
        assert_eq!(label("不错"), Polarity::Positive);
        assert_eq!(label("老师辛苦了"), Polarity::Positive);
        assert_eq!(label("太失望了"), Polarity::Negative);
        assert_eq!(label("退钱"), Polarity::Negative);
    }

    #[test]
    fn negation_flips_the_next_word() {
        assert_eq!(label("不好"), Polarity::Negative);
        assert_eq!(label("不太满意"), Polarity::Negative);
        assert_eq!(label("不是不好，是挺好的"), Polarity::Positive);
        assert!(sentiment("不是不好").score > 0.0);
    }

    #[test]
    fn chat_markers_and_emoji_count() {
        assert_eq!(label("？？？"), Polarity::Negative);
        assert_eq!(label("无语"), Polarity::Negative);
        assert_eq!(label("服了"), Polarity::Negative);
        assert_eq!(label("😡"), Polarity::Negative);
        assert_eq!(label("👍"), Polarity::Positive);
    }

    #[test]
    fn sarcasm_turns_praise_negative() {
        assert_eq!(label("呵呵，服务真好"), Polarity::Negative);
    }

    #[test]
    fn stock_replies_and_questions_are_neutral() {
        for text in ["好的", "收到", "明天几点到校？", "这个好用吗", "没问题", "?"] {
            assert_eq!(label(text), Polarity::Neutral, "{text}");
        }
        assert!(sentiment("明天几点到校").score.is_sign_positive(), "no −0.0 in JSON");
    }

    #[test]
    fn degree_words_scale() {
        assert!(sentiment("非常满意").score > sentiment("满意").score);
        assert!(sentiment("有点失望").score > sentiment("太失望了").score);
    }

    #[test]
    fn cues_explain_the_label() {
        let s = sentiment("太失望了😡");
        assert_eq!(s.cues.len(), 2);
        assert!(s.describe_cues().contains("太失望"));
    }
}
