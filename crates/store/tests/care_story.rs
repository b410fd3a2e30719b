//! Care (用户思维) stories — questions, sentiment lines, tickets — told to every backend (see
//! `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};

use qunzhu_core::care::{CareLine, CareQuestion, CareWrite, QuestionStatus, Ticket, TicketNote, TicketStatus};
use qunzhu_core::store::Commit;
use qunzhu_core::{GroupKey, StateWrite, Store};

mod support;
use support::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn qq(group: &str) -> GroupKey {
    GroupKey::new("qq", group)
}

fn question(group: &str, message: &str, at: i64) -> CareQuestion {
    CareQuestion {
        id: format!("qq:{group}:{message}"),
        group: qq(group),
        message_id: message.into(),
        member: "parent1".into(),
        name: "家长\"小王\" 🙂".into(),
        text: "作业什么时候交？".into(),
        cue: "问号".into(),
        asked_at: t(at),
        status: QuestionStatus::Open,
        answered_by: None,
        answered_at: None,
        alerted: false,
        apologised: false,
    }
}

fn line(group: &str, id: &str, at: i64, negative: bool) -> CareLine {
    CareLine {
        id: id.into(),
        group: qq(group),
        message_id: id.into(),
        member: "parent1".into(),
        name: "小王".into(),
        at: t(at),
        text: "太坑了，退钱".into(),
        negative,
        score: if negative { -0.8 } else { 0.0 },
    }
}

fn ticket(group: &str, id: &str, at: i64) -> Ticket {
    Ticket {
        id: id.into(),
        group: qq(group),
        category: "outbreak".into(),
        title: "负面情绪集体爆发".into(),
        detail: "三位家长投诉".into(),
        status: TicketStatus::Open,
        owner: None,
        due_at: None,
        follow_up_at: None,
        notes: Vec::new(),
        source: Some("e1".into()),
        opened_at: t(at),
        updated_at: t(at),
        resolved_at: None,
        followed_up_at: None,
    }
}

fn care(writes: Vec<CareWrite>) -> Commit {
    Commit { writes: writes.into_iter().map(StateWrite::Care).collect(), ..Commit::default() }
}

async fn questions_are_replaced_by_id_and_filtered_by_group_and_status(store: Arc<dyn Store>) {
    let open = question("1", "m1", 10);
    store.commit(&care(vec![CareWrite::Question(open.clone()), CareWrite::Question(question("1", "m2", 20)), CareWrite::Question(question("2", "m3", 5))])).await.unwrap();
    let answered = CareQuestion { status: QuestionStatus::Answered, answered_by: Some("teacher".into()), answered_at: Some(t(60)), ..open.clone() };
    store.commit(&care(vec![CareWrite::Question(answered.clone())])).await.unwrap();

    assert_eq!(store.care_question(&open.id).await.unwrap(), Some(answered.clone()));
    let ids = |qs: Vec<CareQuestion>| qs.into_iter().map(|q| q.message_id).collect::<Vec<_>>();
    assert_eq!(ids(store.care_questions(Some(&qq("1")), Some(QuestionStatus::Open)).await.unwrap()), ["m2"]);
    assert_eq!(ids(store.care_questions(Some(&qq("1")), Some(QuestionStatus::Answered)).await.unwrap()), ["m1"]);
    assert_eq!(ids(store.care_questions(None, Some(QuestionStatus::Open)).await.unwrap()), ["m3", "m2"]);
    assert_eq!(store.care_question("qq:9:none").await.unwrap(), None);
}

async fn lines_are_kept_once_and_read_since_a_time_in_order(store: Arc<dyn Store>) {
    store.commit(&care(vec![CareWrite::Line(line("1", "e2", 20, true)), CareWrite::Line(line("1", "e1", 10, false)), CareWrite::Line(line("2", "e3", 30, true))])).await.unwrap();
    // A re-run of the same event changes nothing.
    store.commit(&care(vec![CareWrite::Line(CareLine { negative: false, ..line("1", "e2", 20, true) })])).await.unwrap();
    let lines = store.care_lines_since(&qq("1"), t(0)).await.unwrap();
    assert_eq!(lines, vec![line("1", "e1", 10, false), line("1", "e2", 20, true)]);
    assert_eq!(store.care_lines_since(&qq("1"), t(15)).await.unwrap().len(), 1);
}

async fn tickets_are_saved_replaced_and_filtered(store: Arc<dyn Store>) {
    store.commit(&care(vec![CareWrite::Ticket(ticket("1", "t1", 10))])).await.unwrap();
    store.save_ticket(&ticket("2", "t2", 20)).await.unwrap();
    let noted = Ticket {
        status: TicketStatus::InProgress,
        owner: Some("alice".into()),
        notes: vec![TicketNote { at: t(30), by: Some("alice".into()), text: "已私聊三位家长".into() }],
        updated_at: t(30),
        ..ticket("1", "t1", 10)
    };
    store.save_ticket(&noted).await.unwrap();
    assert_eq!(store.care_ticket("t1").await.unwrap(), Some(noted));
    let ids = |ts: Vec<Ticket>| ts.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(store.care_tickets(None, None).await.unwrap()), ["t1", "t2"]);
    assert_eq!(ids(store.care_tickets(Some(&qq("1")), Some(TicketStatus::Open)).await.unwrap()), Vec::<String>::new());
    assert_eq!(ids(store.care_tickets(None, Some(TicketStatus::Open)).await.unwrap()), ["t2"]);
}

stories! {
    any store:
        questions_are_replaced_by_id_and_filtered_by_group_and_status,
        lines_are_kept_once_and_read_since_a_time_in_order,
        tickets_are_saved_replaced_and_filtered;
    reopened:
}
