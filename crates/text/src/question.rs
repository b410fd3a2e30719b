//! Is a chat message a question? Chinese and English, by the cues people actually type.
//!
//! Group chat rarely ends a question with "?": 「明天几点开始」「这个怎么报名」「有人知道吗」
//! are all questions, and 「？？？」 on its own is not one (it is a reaction). A message is a
//! question when, in its readable form (traditional → simplified, full-width → ASCII, see
//! [`crate::normalize`]), any clause has one of these cues:
//!
//! - a question mark (`?` or `？`) after some words;
//! - a sentence-final particle: 吗 / 么 / 嘛 at the end of a clause, 呢 after a question word or
//!   at the end of a short clause;
//! - a question word: 怎么, 如何, 为什么, 为啥, 什么, 啥, 哪, 谁, 几点, 多少, 多久, 是否 …;
//! - an A-not-A form: 能不能, 有没有, 是不是, 可不可以, 会不会, 要不要 …;
//! - a request for help: 请问, 求问, 求助, 有人知道 …;
//! - English: a clause starting with a wh-word or an auxiliary verb (what, how, can, is, does …).
//!
//! Question words inside non-questions are excluded: 没什么, 不怎么, 什么都, 怎么也, 不管 /
//! 无论 + question word, and 谁 / 哪 in 谁都 / 哪儿都. A message made only of punctuation,
//! emoji or whitespace is never a question.
//!
//! The result carries the cue it found so a rule can explain itself.

/// Why a message was taken for a question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuestionCue {
    /// A question mark after some words.
    QuestionMark,
    /// A sentence-final particle (吗, 呢, 么, 嘛).
    Particle(&'static str),
    /// A question word (怎么, 如何, 什么 …).
    Word(&'static str),
    /// An A-not-A form (能不能, 有没有 …).
    ANotA(&'static str),
    /// A request for help (请问, 求助 …).
    Request(&'static str),
    /// An English clause starting with a wh-word or an auxiliary verb.
    English(&'static str),
}

impl QuestionCue {
    /// The cue as shown to operators, e.g. `疑问词「怎么」`.
    pub fn describe(&self, zh: bool) -> String {
        match (self, zh) {
            (Self::QuestionMark, true) => "问号".to_owned(),
            (Self::QuestionMark, false) => "a question mark".to_owned(),
            (Self::Particle(p), true) => format!("句末语气词「{p}」"),
            (Self::Particle(p), false) => format!("the final particle “{p}”"),
            (Self::Word(w), true) => format!("疑问词「{w}」"),
            (Self::Word(w), false) => format!("the question word “{w}”"),
            (Self::ANotA(w), true) => format!("正反问「{w}」"),
            (Self::ANotA(w), false) => format!("the A-not-A form “{w}”"),
            (Self::Request(w), true) => format!("求助「{w}」"),
            (Self::Request(w), false) => format!("the request “{w}”"),
            (Self::English(w), true) => format!("英文疑问句「{w} …」"),
            (Self::English(w), false) => format!("an English question “{w} …”"),
        }
    }
}

const REQUESTS: &[&str] = &["请问", "求问", "求助", "有人知道", "谁知道", "有谁知道", "想问", "问一下", "问下", "咨询一下", "请教"];

const A_NOT_A: &[&str] = &[
    "能不能", "可不可以", "可以不可以", "有没有", "是不是", "会不会", "要不要", "行不行", "对不对", "好不好", "用不用",
    "需不需要", "该不该", "算不算", "去不去", "来不来", "在不在", "买不买", "收不收", "退不退", "包不包", "还有没有",
];

/// Question words, longest first where one contains another.
const WORDS: &[&str] = &[
    "为什么", "为啥", "怎么办", "怎么样", "怎么", "怎样", "咋办", "咋样", "咋", "如何", "什么时候", "什么", "啥时候", "啥",
    "哪里", "哪儿", "哪个", "哪些", "哪天", "哪位", "几点", "几号", "几天", "几个", "多少", "多久", "多长时间", "多大",
    "谁", "是否", "有无", "何时", "几时", "哪",
];

/// Words that make a question word part of a statement (没什么, 什么都 …).
const NOT_QUESTION: &[&str] = &[
    "没什么", "没啥", "不怎么", "没怎么", "什么都", "什么也", "啥都", "啥也", "怎么都", "怎么也", "谁都", "谁也", "哪儿都",
    "哪里都", "哪都", "多少有点", "多少也", "随便", "为什么呢我也", "不知道为什么", "不知为何",
    "知道为什么", "这就是为什么", "说什么", "干什么都", "哪怕", "哪里哪里",
];

/// Concessive openers: 不管怎么样 / 无论什么 is a statement whatever follows.
const CONCESSIVE: &[&str] = &["不管", "无论", "不论"];

const WH_WORDS: &[&str] = &["what", "how", "why", "when", "where", "who", "which", "whose", "any", "anyone", "anybody"];

const ENGLISH_OPENERS: &[&str] = &[
    "what", "how", "why", "when", "where", "who", "which", "whose", "can", "could", "is", "are", "am", "do", "does",
    "did", "will", "would", "should", "shall", "may", "anyone", "anybody", "any", "have", "has", "was", "were",
];

/// The cue that makes `text` a question, or `None` when it is not one.
pub fn question_cue(text: &str) -> Option<QuestionCue> {
    let form = crate::normalize(text);
    if !form.chars().any(is_wordy) {
        return None;
    }
    if form.contains('?') && form.split('?').next().is_some_and(|before| before.chars().any(is_wordy)) {
        return Some(QuestionCue::QuestionMark);
    }
    form.split(is_clause_break).map(str::trim).filter(|c| !c.is_empty()).find_map(clause_cue)
}

/// Whether `text` is a question (see the module docs for the cues).
pub fn is_question(text: &str) -> bool {
    question_cue(text).is_some()
}

fn clause_cue(clause: &str) -> Option<QuestionCue> {
    if let Some(w) = REQUESTS.iter().find(|w| clause.contains(**w)) {
        return Some(QuestionCue::Request(w));
    }
    if let Some(w) = A_NOT_A.iter().find(|w| clause.contains(**w)) {
        return Some(QuestionCue::ANotA(w));
    }
    let core = clause.trim_end_matches(|c: char| !is_wordy(c) || matches!(c, '啊' | '呀' | '哈' | '哇' | '~'));
    for particle in ["吗", "么", "嘛"] {
        if core.ends_with(particle) && !core.ends_with("什么") && !core.ends_with("怎么") && !core.ends_with("那么") && !core.ends_with("这么") && !core.ends_with("多么") {
            return Some(QuestionCue::Particle(particle));
        }
    }
    let masked = NOT_QUESTION.iter().fold(clause.to_owned(), |acc, w| acc.replace(w, "　"));
    let concessive = CONCESSIVE.iter().any(|w| clause.contains(*w));
    let word = WORDS.iter().find(|w| !concessive && masked.contains(**w));
    if let Some(w) = word {
        return Some(QuestionCue::Word(w));
    }
    if core.ends_with('呢') && core.chars().count() <= 8 && !core.ends_with("着呢") {
        return Some(QuestionCue::Particle("呢"));
    }
    let first = clause.split(|c: char| !c.is_ascii_alphabetic() && c != '\'').find(|w| !w.is_empty())?;
    let starts_clause = clause.trim_start().to_ascii_lowercase().starts_with(&first.to_ascii_lowercase());
    let lower = first.to_ascii_lowercase();
    let english_words = clause.split_whitespace().filter(|w| w.chars().any(|c| c.is_ascii_alphabetic())).count();
    // A wh-word opens a question in two words ("what time"); an auxiliary needs a longer
    // clause, since "is" or "can" alone often start a statement fragment.
    let needed = if WH_WORDS.contains(&lower.as_str()) { 2 } else { 3 };
    ENGLISH_OPENERS
        .iter()
        .find(|o| **o == lower)
        .filter(|_| starts_clause && english_words >= needed)
        .map(|o| QuestionCue::English(o))
}

fn is_wordy(c: char) -> bool {
    c.is_alphanumeric()
}

fn is_clause_break(c: char) -> bool {
    matches!(c, '。' | '!' | '！' | ',' | '，' | ';' | '；' | '\n' | '.' | '…' | '~' | '～')
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUESTIONS: &[&str] = &[
        "明天几点开始",
        "这个怎么报名",
        "有人知道吗",
        "请问退款多久到账",
        "能不能便宜点",
        "有没有人一起拼单",
        "老师，作业是哪一页",
        "孩子发烧了可以请假吗",
        "你们发货了么",
        "为啥我的积分没了",
        "那我的呢",
        "链接在哪里呀",
        "这周末活动还办不办？",
        "Is the meetup still on tomorrow",
        "how do I get the invite link",
        "anyone here tried the new version?",
        "what time",
        "咋整啊",
        "是否需要提前预约",
        "收到了吗？谢谢",
        "謝謝，請問怎麼退貨",
        "退货流程是什么",
        "几天能到",
        "請問客服在哪",
        "退货？",
        "How do I return it",
        "any discount",
    ];

    const STATEMENTS: &[&str] = &[
        "？？？",
        "???",
        "😂😂",
        "",
        "好的收到",
        "没什么，随便聊聊",
        "什么都可以",
        "谁都知道这个",
        "今天天气不错",
        "我不怎么喜欢这个",
        "不管怎么样都要去",
        "等着呢",
        "This is great, thanks everyone",
        "I can do it tomorrow",
        "哈哈哈哈",
        "明天见",
        "收到，谢谢老师",
        "发货了",
        "退货流程",
        "thanks a lot",
        "I returned it",
    ];

    #[test]
    fn chat_questions_are_recognised_without_a_question_mark() {
        let missed: Vec<_> = QUESTIONS.iter().filter(|q| !is_question(q)).collect();
        assert!(missed.is_empty(), "not taken for questions: {missed:?}");
    }

    #[test]
    fn statements_and_bare_punctuation_are_not_questions() {
        let wrong: Vec<_> = STATEMENTS.iter().filter(|s| is_question(s)).map(|s| (s, question_cue(s))).collect();
        assert!(wrong.is_empty(), "taken for questions: {wrong:?}");
    }

    #[test]
    fn the_cue_says_why() {
        assert_eq!(question_cue("这个怎么报名"), Some(QuestionCue::Word("怎么")));
        assert_eq!(question_cue("有人知道吗"), Some(QuestionCue::Request("有人知道")));
        assert_eq!(question_cue("可以请假吗"), Some(QuestionCue::Particle("吗")));
        assert_eq!(question_cue("能不能便宜点"), Some(QuestionCue::ANotA("能不能")));
        assert_eq!(question_cue("开始了？"), Some(QuestionCue::QuestionMark));
        assert_eq!(QuestionCue::Word("怎么").describe(true), "疑问词「怎么」");
    }
}
