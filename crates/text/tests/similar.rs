//! Similar-question matching on real-looking group chat: paraphrases of an FAQ entry's
//! examples are matched, ordinary chat and other questions are not.
//! `cargo test -p qunzhu-text --test similar -- --nocapture` prints every score.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use qunzhu_text::similar::SimilarIndex;

/// The FAQ of a brand's fan group: (entry, example questions).
const FAQ: &[(&str, &[&str])] = &[
    ("returns", &["怎么退货", "退货流程是什么", "不合适可以退吗"]),
    ("shipping", &["什么时候发货", "下单后多久发货", "发货时间"]),
    ("support", &["客服联系方式", "怎么联系客服", "人工客服在哪"]),
    ("rules", &["群规是什么", "群里有什么规定"]),
    ("tracking", &["怎么查物流", "快递到哪了"]),
    ("signup", &["活动怎么报名", "报名入口在哪"]),
    ("returns_en", &["How do I return an item?", "What is your return policy?"]),
];

/// The score at which the default FAQ entries answer.
const THRESHOLD: f32 = 0.5;

fn index() -> SimilarIndex {
    SimilarIndex::new(FAQ.iter().enumerate().flat_map(|(key, (_, examples))| examples.iter().map(move |e| (key, *e))))
}

fn answer(index: &SimilarIndex, text: &str) -> Option<(&'static str, f32)> {
    let best = index.best(text);
    println!("{text:<28} → {best:?}");
    best.filter(|m| m.score >= THRESHOLD).map(|m| (FAQ[m.key].0, m.score))
}

#[test]
fn paraphrases_are_answered_by_their_entry() {
    let index = index();
    let cases = [
        ("怎么退货", "returns"),
        ("退货流程是什么", "returns"),
        ("我想退掉这个东西怎么办", "returns"),
        ("买的衣服不合适能退吗？", "returns"),
        ("請問怎麼退貨", "returns"),
        ("亲，退货要怎么弄", "returns"),
        ("你们一般什么时候发货呀", "shipping"),
        ("下单以后几天能发货", "shipping"),
        ("拍下以后多久能发出", "shipping"),
        ("客服电话是多少", "support"),
        ("有人知道怎么找客服吗", "support"),
        ("请问有人工客服吗", "support"),
        ("群规在哪看", "rules"),
        ("我的快递到哪里了", "tracking"),
        ("物流怎么查", "tracking"),
        ("这次活动在哪报名", "signup"),
        ("how can I return my order", "returns_en"),
        ("Return policy?", "returns_en"),
    ];
    let mut missed = Vec::new();
    for (text, entry) in cases {
        if answer(&index, text).map(|(e, _)| e) != Some(entry) {
            missed.push(text);
        }
    }
    assert!(missed.is_empty(), "not answered by their entry: {missed:?}");
}

#[test]
fn unrelated_questions_and_ordinary_chat_are_left_alone() {
    let index = index();
    let lines = [
        "怎么报到",
        "怎么退群",
        "这个怎么用啊",
        "今天天气真好",
        "群主辛苦了👍",
        "哈哈哈哈哈",
        "大家晚上好",
        "有没有人一起拼单",
        "什么时候开学",
        "这个颜色好看吗",
        "谢谢客服小姐姐，已经收到了，很满意",
        "我昨天刚买的",
        "周末有人去爬山吗",
        "怎么做红烧肉",
        "what time is it in Berlin",
        "good morning everyone",
    ];
    let mut answered = Vec::new();
    for text in lines {
        if let Some((entry, score)) = answer(&index, text) {
            answered.push(format!("{text} → {entry} ({score:.2})"));
        }
    }
    assert!(answered.is_empty(), "answered though unrelated: {answered:#?}");
}

#[test]
fn a_question_sharing_only_a_function_word_scores_zero() {
    let index = SimilarIndex::new([(0, "怎么退货"), (0, "退货流程是什么"), (0, "我想退掉这个东西怎么办")]);
    assert_eq!(index.best("怎么报名"), None);
    assert_eq!(index.best("流程是什么").map(|m| m.key), Some(0), "流程 is shared content");
}

#[test]
fn scoring_against_fifty_entries_takes_microseconds() {
    let texts: Vec<String> = (0..50).map(|i| format!("第{i}号产品的保修政策是什么")).collect();
    let index = SimilarIndex::new(texts.iter().enumerate().map(|(i, t)| (i, t.as_str())));
    let query = index.query("保修政策");
    let start = std::time::Instant::now();
    for _ in 0..100 {
        assert!(!index.matches(&query).is_empty());
    }
    // Generous for an unoptimised build on a busy machine; the bench has the real figure.
    assert!(start.elapsed() < std::time::Duration::from_millis(200), "{:?}", start.elapsed());
}
