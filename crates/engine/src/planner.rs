//! The planner: holds every proposed action against the connector's capabilities. What the
//! platform can do stays an action (adapted to its limits); what it cannot becomes a staff
//! task with the exact manual step. Nothing is silently dropped.

use chrono::{DateTime, Utc};
use qunzhu_core::{Action, ActionKind, Capabilities, Capability, Event, MemberId, Segment, StaffTask, TaskId, TaskStatus};

use crate::locale::Locale;

/// What became of one action.
#[derive(Clone, Debug, PartialEq)]
pub enum Planned {
    Action(Action),
    Task(StaffTask),
}

pub struct Planner<'a> {
    pub capabilities: &'a Capabilities,
    pub locale: Locale,
    /// The group's name, for task texts.
    pub group_name: &'a str,
    /// The cause, to name members in task texts.
    pub event: Option<&'a Event>,
    pub now: DateTime<Utc>,
}

impl Planner<'_> {
    /// Plans one action; a long message may become several sends.
    pub fn plan(&self, mut action: Action) -> Vec<Planned> {
        if !self.capabilities.can(action.kind.required_capability()) {
            return vec![Planned::Task(self.task_for(action))];
        }
        match &mut action.kind {
            ActionKind::Send { segments } | ActionKind::Reply { segments, .. } | ActionKind::DirectMessage { segments, .. }
                if !self.capabilities.can(Capability::Mention) =>
            {
                *segments = mentions_as_text(std::mem::take(segments));
            }
            ActionKind::Mute { duration_secs, .. } => {
                if let Some(max) = self.capabilities.max_mute_secs
                    && *duration_secs > max
                {
                    *duration_secs = max;
                    action.explanation.push_str(self.locale.pick(
                        &format!("（平台上限，禁言时长已缩短为 {}）", human_duration(max, self.locale)),
                        &format!(" (shortened to the platform's maximum of {})", human_duration(max, self.locale)),
                    ));
                }
            }
            _ => {}
        }
        match self.capabilities.max_message_chars {
            Some(max) => split_long(action, max as usize).into_iter().map(Planned::Action).collect(),
            None => vec![Planned::Action(action)],
        }
    }

    fn member(&self, id: &MemberId) -> String {
        let name = self
            .event
            .and_then(Event::actor)
            .filter(|m| &m.id == id)
            .and_then(|m| m.name.clone())
            .filter(|n| !n.trim().is_empty());
        match name {
            Some(name) => format!("{name}（{id}）"),
            None => id.to_string(),
        }
    }

    fn task_for(&self, action: Action) -> StaffTask {
        let l = self.locale;
        let group = self.group_name;
        let (title, step) = match &action.kind {
            ActionKind::Send { segments } => (
                l.pick("代发群消息", "Post a message").to_owned(),
                format!("{}{}", l.pick(&format!("在群「{group}」中发送：\n"), &format!("In group “{group}”, post:\n")), plain(segments)),
            ),
            ActionKind::Reply { to, segments } => (
                l.pick("代回复消息", "Reply to a message").to_owned(),
                format!(
                    "{}{}",
                    l.pick(&format!("在群「{group}」中回复消息 {to}：\n"), &format!("In group “{group}”, reply to message {to}:\n")),
                    plain(segments)
                ),
            ),
            ActionKind::Delete { message_id } => (
                l.pick("撤回消息", "Delete a message").to_owned(),
                l.pick(&format!("在群「{group}」中撤回消息 {message_id}"), &format!("In group “{group}”, delete message {message_id}")).to_owned(),
            ),
            ActionKind::Mute { member, duration_secs } => {
                let who = self.member(member);
                let length = human_duration(*duration_secs, l);
                (
                    l.pick("禁言成员", "Mute a member").to_owned(),
                    l.pick(&format!("在群「{group}」中将 {who} 禁言 {length}"), &format!("In group “{group}”, mute {who} for {length}")).to_owned(),
                )
            }
            ActionKind::Unmute { member } => {
                let who = self.member(member);
                (l.pick("解除禁言", "Unmute a member").to_owned(), l.pick(&format!("在群「{group}」中解除 {who} 的禁言"), &format!("In group “{group}”, unmute {who}")).to_owned())
            }
            ActionKind::Unban { member } => {
                let who = self.member(member);
                (
                    l.pick("解除拉黑", "Unban a member").to_owned(),
                    l.pick(&format!("允许 {who} 重新加入群「{group}」（从黑名单移除）"), &format!("Let {who} rejoin “{group}” (remove the ban)")).to_owned(),
                )
            }
            ActionKind::Kick { member } => {
                let who = self.member(member);
                (l.pick("移出成员", "Remove a member").to_owned(), l.pick(&format!("将 {who} 移出群「{group}」"), &format!("Remove {who} from group “{group}”")).to_owned())
            }
            ActionKind::Ban { member } => {
                let who = self.member(member);
                (
                    l.pick("移出并拉黑", "Ban a member").to_owned(),
                    l.pick(&format!("将 {who} 移出群「{group}」并拒绝其再次加入"), &format!("Remove {who} from group “{group}” and block them from rejoining")).to_owned(),
                )
            }
            ActionKind::ApproveJoin { member, .. } => {
                let who = self.member(member);
                (l.pick("通过入群申请", "Approve a join request").to_owned(), l.pick(&format!("通过 {who} 加入群「{group}」的申请"), &format!("Approve {who}'s request to join “{group}”")).to_owned())
            }
            ActionKind::RejectJoin { member, reason, .. } => {
                let who = self.member(member);
                (
                    l.pick("拒绝入群申请", "Reject a join request").to_owned(),
                    l.pick(&format!("拒绝 {who} 加入群「{group}」的申请，理由：{reason}"), &format!("Reject {who}'s request to join “{group}”, reason: {reason}")).to_owned(),
                )
            }
            ActionKind::SetAnnouncement { text } => (
                l.pick("修改群公告", "Set the announcement").to_owned(),
                format!("{}{text}", l.pick(&format!("将群「{group}」的群公告改为：\n"), &format!("Set the announcement of “{group}” to:\n"))),
            ),
            ActionKind::DirectMessage { member, segments } => {
                let who = self.member(member);
                (l.pick("私聊成员", "Message a member").to_owned(), format!("{}{}", l.pick(&format!("私聊 {who}：\n"), &format!("Send {who} a private message:\n")), plain(segments)))
            }
            ActionKind::NotifyStaff { text } | ActionKind::Webhook { text, .. } => (l.pick("通知", "Notice").to_owned(), text.clone()),
        };
        let step = match self.capabilities.manual_in.as_deref().map(str::trim).filter(|app| !app.is_empty()) {
            // Staff act in another app than the chat (WeCom customer groups): say where, and
            // keep the step and its reason on one line, as staff read it in an app message.
            Some(app) => {
                let step = match step.strip_prefix("在群「") {
                    Some(rest) if l == Locale::ZhCn => format!("在{app}群「{rest}"),
                    _ => format!("{}{step}", l.pick(&format!("在{app}中"), &format!("In {app}: "))),
                };
                format!("{step}{}{}", l.pick("，原因：", "; reason: "), action.explanation)
            }
            None => format!("{step}\n{}{}", l.pick("原因：", "Reason: "), action.explanation),
        };
        StaffTask {
            id: TaskId::new(format!("task-{}", action.id)),
            group: action.group.clone(),
            title,
            step,
            action,
            status: TaskStatus::Open,
            created_at: self.now,
            updated_at: self.now,
            updated_by: None,
        }
    }
}

fn plain(segments: &[Segment]) -> String {
    qunzhu_core::Message { id: "".into(), segments: segments.to_vec() }.plain_text()
}

fn mentions_as_text(segments: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for segment in segments {
        let segment = match segment {
            Segment::Mention { member, name } => Segment::text(format!("@{}", name.unwrap_or(member.0))),
            other => other,
        };
        match (out.last_mut(), segment) {
            (Some(Segment::Text { text }), Segment::Text { text: more }) => text.push_str(&more),
            (_, segment) => out.push(segment),
        }
    }
    out
}

/// Splits a send whose text exceeds `max` characters into several, at line breaks where
/// possible. Ids get a `.1`, `.2`… suffix so they stay deterministic.
fn split_long(action: Action, max: usize) -> Vec<Action> {
    let ActionKind::Send { segments } = &action.kind else { return vec![action] };
    let total: usize = segments.iter().map(segment_len).sum();
    if max == 0 || total <= max || segments.iter().any(|s| !matches!(s, Segment::Text { .. } | Segment::Mention { .. })) {
        return vec![action];
    }
    let mut chunks: Vec<Vec<Segment>> = vec![Vec::new()];
    let mut used = 0;
    for segment in segments {
        let pieces = match segment {
            Segment::Text { text } => text.split_inclusive('\n').flat_map(|line| chunk_chars(line, max)).map(Segment::text).collect(),
            other => vec![other.clone()],
        };
        for piece in pieces {
            let len = segment_len(&piece);
            if used + len > max && used > 0 {
                chunks.push(Vec::new());
                used = 0;
            }
            used += len;
            if let Some(chunk) = chunks.last_mut() {
                chunk.push(piece);
            }
        }
    }
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, segments)| Action {
            id: qunzhu_core::ActionId::new(format!("{}.{}", action.id, i + 1)),
            kind: ActionKind::Send { segments },
            ..action.clone()
        })
        .collect()
}

fn chunk_chars(text: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(max.max(1)).map(|c| c.iter().collect()).collect()
}

fn segment_len(segment: &Segment) -> usize {
    match segment {
        Segment::Text { text } => text.chars().count(),
        Segment::Mention { member, name } => 1 + name.as_deref().unwrap_or(member.as_str()).chars().count(),
        _ => 0,
    }
}

/// "10 分钟", "2 小时", "1 天" — or English.
pub fn human_duration(secs: u64, locale: Locale) -> String {
    let (n, zh, en) = match secs {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "天", "day"),
        s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "小时", "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "分钟", "minute"),
        s => (s, "秒", "second"),
    };
    match locale {
        Locale::ZhCn => format!("{n} {zh}"),
        Locale::En if n == 1 => format!("1 {en}"),
        Locale::En => format!("{n} {en}s"),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use qunzhu_core::{EventKind, GroupKey, Member, Origin};

    use super::*;

    fn action(kind: ActionKind) -> Action {
        Action {
            id: "a1-0".into(),
            group: GroupKey::new("shop", "g1"),
            kind,
            rule: "test".into(),
            cause: None,
            explanation: "发广告".into(),
            not_before: None,
            created_at: Utc.timestamp_opt(0, 0).unwrap(),
        }
    }

    fn event() -> Event {
        Event {
            origin: Origin { connector: "shop".into(), group: "g1".into(), event_id: "e1".into() },
            group_name: None,
            time: Utc.timestamp_opt(0, 0).unwrap(),
            kind: EventKind::MessagePosted { author: Member::new("u7", "广告哥"), message: qunzhu_core::Message::text("m1", "加V") },
        }
    }

    fn planner<'a>(capabilities: &'a Capabilities, event: &'a Event) -> Planner<'a> {
        Planner { capabilities, locale: Locale::ZhCn, group_name: "粉丝1群", event: Some(event), now: Utc.timestamp_opt(0, 0).unwrap() }
    }

    #[test]
    fn an_action_the_platform_cannot_do_becomes_a_task_with_the_exact_step() {
        let caps = Capabilities::new([Capability::Send]);
        let event = event();
        let planned = planner(&caps, &event).plan(action(ActionKind::Mute { member: "u7".into(), duration_secs: 600 }));
        let [Planned::Task(task)] = planned.as_slice() else { panic!("{planned:?}") };
        assert_eq!(task.step, "在群「粉丝1群」中将 广告哥（u7） 禁言 10 分钟\n原因：发广告");
        assert_eq!(task.id.as_str(), "task-a1-0");
        assert_eq!(task.status, TaskStatus::Open);
    }

    #[test]
    fn a_capable_platform_gets_the_action_and_mentions_degrade_without_the_capability() {
        let event = event();
        let send = ActionKind::Send { segments: vec![Segment::text("欢迎 "), Segment::Mention { member: "u1".into(), name: Some("小王".into()) }, Segment::text("！")] };
        let with = Capabilities::new([Capability::Send, Capability::Mention]);
        assert_eq!(planner(&with, &event).plan(action(send.clone())), vec![Planned::Action(action(send.clone()))]);
        let without = Capabilities::new([Capability::Send]);
        let planned = planner(&without, &event).plan(action(send));
        let [Planned::Action(sent)] = planned.as_slice() else { panic!("{planned:?}") };
        assert_eq!(sent.kind, ActionKind::Send { segments: vec![Segment::text("欢迎 @小王！")] });
    }

    #[test]
    fn on_wecom_tasks_say_to_act_in_the_wecom_app_with_the_reason_on_the_same_line() {
        let event = event();
        let caps = Capabilities { manual_in: Some("企业微信".into()), ..Capabilities::new([Capability::NotifyStaff]) };
        let planned = planner(&caps, &event).plan(action(ActionKind::Kick { member: "u7".into() }));
        let [Planned::Task(task)] = planned.as_slice() else { panic!("{planned:?}") };
        assert_eq!(task.step, "在企业微信中将 广告哥（u7） 移出群「粉丝1群」，原因：发广告");
        let planned = planner(&caps, &event).plan(action(ActionKind::Delete { message_id: "m1".into() }));
        let [Planned::Task(task)] = planned.as_slice() else { panic!("{planned:?}") };
        assert_eq!(task.step, "在企业微信群「粉丝1群」中撤回消息 m1，原因：发广告");
    }

    #[test]
    fn a_platform_that_bans_but_cannot_lift_a_ban_gets_a_task_to_let_them_back() {
        let event = event();
        let caps = Capabilities::new([Capability::Send, Capability::Ban]);
        let planned = planner(&caps, &event).plan(action(ActionKind::Unban { member: "u7".into() }));
        let [Planned::Task(task)] = planned.as_slice() else { panic!("{planned:?}") };
        assert!(task.step.starts_with("允许 广告哥（u7） 重新加入群「粉丝1群」"), "{}", task.step);
    }

    #[test]
    fn mutes_are_clamped_to_the_platform_maximum_and_say_so() {
        let event = event();
        let caps = Capabilities { max_mute_secs: Some(30 * 86_400), ..Capabilities::all() };
        let planned = planner(&caps, &event).plan(action(ActionKind::Mute { member: "u7".into(), duration_secs: 90 * 86_400 }));
        let [Planned::Action(muted)] = planned.as_slice() else { panic!("{planned:?}") };
        assert_eq!(muted.kind, ActionKind::Mute { member: "u7".into(), duration_secs: 30 * 86_400 });
        assert!(muted.explanation.contains("30 天"), "{}", muted.explanation);
    }

    #[test]
    fn long_messages_are_split_with_deterministic_ids() {
        let event = event();
        let caps = Capabilities { max_message_chars: Some(5), ..Capabilities::all() };
        let planned = planner(&caps, &event).plan(action(ActionKind::Send { segments: vec![Segment::text("一二三\n四五六七八九")] }));
        let texts: Vec<(String, String)> = planned
            .iter()
            .map(|p| match p {
                Planned::Action(a) => (a.id.to_string(), plain(match &a.kind { ActionKind::Send { segments } => segments, _ => unreachable!() })),
                Planned::Task(_) => unreachable!(),
            })
            .collect();
        assert_eq!(texts, vec![("a1-0.1".into(), "一二三\n".into()), ("a1-0.2".into(), "四五六七八".into()), ("a1-0.3".into(), "九".into())]);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(600, Locale::ZhCn), "10 分钟");
        assert_eq!(human_duration(86_400, Locale::En), "1 day");
        assert_eq!(human_duration(7_200, Locale::En), "2 hours");
        assert_eq!(human_duration(61, Locale::ZhCn), "61 秒");
    }
}
