//! Callback XML → normalised events, and reconciliation of what we know of each customer
//! group with what `groupchat/get` says.
//!
//! Event ids are deterministic so a callback and a reconciliation that see the same change
//! are one event to the inbox: a join is `join:<chat>:<userid>:<join unix secs>`, a leave
//! `left:<chat>:<userid>:<join unix secs of the stay it ends>`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeZone, Utc};
use qunzhu_core::platform::{Roster, RosterMember};
use qunzhu_core::{ConnectorId, Event, EventKind, GroupId, GroupKey, JoinScene, Member, Origin, Role};
use serde::Deserialize;

use super::api::{ChatMember, GroupChat};

/// The outer callback body: `<xml><ToUserName/><Encrypt/><AgentID/></xml>`.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(rename = "ToUserName", default)]
    pub to_user_name: String,
    #[serde(rename = "Encrypt")]
    pub encrypt: String,
}

/// A decrypted callback (only what qunzhu reads).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Callback {
    #[serde(rename = "CreateTime", default)]
    pub create_time: i64,
    #[serde(rename = "MsgType", default)]
    pub msg_type: String,
    #[serde(rename = "Event", default)]
    pub event: String,
    #[serde(rename = "ChatId", default)]
    pub chat_id: String,
    #[serde(rename = "ChangeType", default)]
    pub change_type: String,
    #[serde(rename = "UpdateDetail", default)]
    pub update_detail: String,
    /// 0 invited directly, 1 through an invitation link, 3 the group's QR code.
    #[serde(rename = "JoinScene", default)]
    pub join_scene: Option<i64>,
    /// 0 left, 1 removed by the owner or an admin.
    #[serde(rename = "QuitScene", default)]
    pub quit_scene: Option<i64>,
    #[serde(rename = "MemChangeList", default)]
    pub mem_change_list: Option<MemChangeList>,
    #[serde(rename = "CurMemVer", default)]
    pub cur_mem_ver: String,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct MemChangeList {
    #[serde(rename = "Item", default)]
    pub items: Vec<String>,
}

impl Callback {
    /// # Errors
    /// When the XML is not a callback.
    pub fn parse(xml: &str) -> Result<Self, quick_xml::DeError> {
        quick_xml::de::from_str(xml)
    }

    pub fn is_customer_group_change(&self) -> bool {
        self.event == "change_external_chat" && !self.chat_id.is_empty()
    }

    fn members(&self) -> &[String] {
        self.mem_change_list.as_ref().map_or(&[], |list| list.items.as_slice())
    }
}

/// One member we know to be in a group, and since when.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Known {
    join_time: i64,
    name: Option<String>,
}

/// What we know of one customer group.
#[derive(Clone, Debug, Default)]
struct Chat {
    name: Option<String>,
    owner: Option<String>,
    members: BTreeMap<String, Known>,
    /// A full member list has been read from the API (before that, a difference with the
    /// API is no evidence of a missed change).
    baseline: bool,
}

/// The member lists of every customer group of one connector.
#[derive(Debug)]
pub struct Snapshot {
    connector: ConnectorId,
    chats: HashMap<String, Chat>,
}

fn time(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_else(Utc::now)
}

/// A callback's `JoinScene`: 0 invited directly, 1 through an invitation link, 3 the group's
/// QR code (a join way's QR included).
pub fn callback_join_scene(scene: i64) -> Option<JoinScene> {
    match scene {
        0 => Some(JoinScene::Invited),
        1 => Some(JoinScene::InviteLink),
        3 => Some(JoinScene::QrCode),
        _ => None,
    }
}

/// `groupchat/get`'s `join_scene` counts from 1: 1 invited directly, 2 an invitation link,
/// 3 the group's QR code.
pub fn api_join_scene(scene: i64) -> Option<JoinScene> {
    match scene {
        1 => Some(JoinScene::Invited),
        2 => Some(JoinScene::InviteLink),
        3 => Some(JoinScene::QrCode),
        _ => None,
    }
}

fn display(member: &ChatMember) -> Option<String> {
    [&member.group_nickname, &member.name].into_iter().find(|n| !n.trim().is_empty()).cloned()
}

impl Snapshot {
    pub fn new(connector: ConnectorId) -> Self {
        Self { connector, chats: HashMap::new() }
    }

    /// The group's name, when known.
    pub fn chat_name(&self, chat_id: &str) -> Option<String> {
        self.chats.get(chat_id).and_then(|c| c.name.clone())
    }

    /// Takes a stored roster as what we last knew of its group: the next reconciliation
    /// turns every difference with WeCom into joins and leaves (changes made while qunzhu was
    /// not running), instead of taking a new baseline.
    pub fn restore(&mut self, roster: &Roster) {
        let chat = self.chats.entry(roster.group.group.to_string()).or_default();
        chat.members = roster
            .members
            .iter()
            .map(|m| (m.id.to_string(), Known { join_time: m.joined_at.timestamp(), name: m.name.clone() }))
            .collect();
        chat.baseline = true;
    }

    /// The group's member list to store, once a full list was read (or restored).
    pub fn roster(&self, chat_id: &str, now: DateTime<Utc>) -> Option<Roster> {
        let chat = self.chats.get(chat_id).filter(|c| c.baseline)?;
        Some(Roster {
            group: GroupKey { connector: self.connector.clone(), group: GroupId::new(chat_id) },
            members: chat
                .members
                .iter()
                .map(|(id, k)| RosterMember { id: id.as_str().into(), joined_at: time(k.join_time), name: k.name.clone() })
                .collect(),
            updated_at: now,
        })
    }

    /// Every group we know, by chat id.
    pub fn chat_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.chats.keys().cloned().collect();
        ids.sort();
        ids
    }

    pub fn member_count(&self, chat_id: &str) -> usize {
        self.chats.get(chat_id).map_or(0, |c| c.members.len())
    }

    fn event(&self, chat_id: &str, event_id: String, at: DateTime<Utc>, kind: EventKind) -> Event {
        Event {
            origin: Origin { connector: self.connector.clone(), group: GroupId::new(chat_id), event_id: event_id.into() },
            group_name: self.chat_name(chat_id),
            time: at,
            kind,
        }
    }

    /// A join; its scene from the group as the API read it, else from the callback.
    fn join(&self, chat_id: &str, userid: &str, join_time: i64, real: Option<&ChatMember>, callback_scene: Option<i64>) -> Event {
        let name = real.and_then(display);
        let role = if self.chats.get(chat_id).and_then(|c| c.owner.as_deref()) == Some(userid) { Role::Owner } else { Role::Member };
        let inviter = real
            .and_then(|m| m.invitor.as_ref())
            .filter(|i| !i.userid.is_empty())
            .map(|i| Member { id: i.userid.clone().into(), name: None, role: Role::Member });
        let invite_code = real.map(|m| m.state.trim().to_owned()).filter(|s| !s.is_empty());
        let join_scene = real.and_then(|m| api_join_scene(m.join_scene)).or_else(|| callback_scene.and_then(callback_join_scene));
        self.event(
            chat_id,
            format!("join:{chat_id}:{userid}:{join_time}"),
            time(join_time),
            EventKind::MemberJoined { member: Member { id: userid.into(), name, role }, inviter, invite_code, join_scene },
        )
    }

    fn leave(&self, chat_id: &str, userid: &str, stay_from: i64, at: DateTime<Utc>, removed: bool) -> Event {
        let name = self.chats.get(chat_id).and_then(|c| c.members.get(userid)).and_then(|k| k.name.clone());
        let owner = self.chats.get(chat_id).and_then(|c| c.owner.clone()).unwrap_or_else(|| "owner".into());
        let removed_by = removed.then(|| Member { id: owner.into(), name: None, role: Role::Owner });
        self.event(
            chat_id,
            format!("left:{chat_id}:{userid}:{stay_from}"),
            at,
            EventKind::MemberLeft { member: Member { id: userid.into(), name, role: Role::Member }, removed_by },
        )
    }

    /// The events a callback stands for, using the group as `groupchat/get` read it just
    /// after (when WeCom could be reached) for names and join-way `state`s.
    pub fn apply_callback(&mut self, callback: &Callback, real: Option<&GroupChat>) -> Vec<Event> {
        let chat_id = callback.chat_id.clone();
        let at = time(callback.create_time);
        if let Some(real) = real {
            let chat = self.chats.entry(chat_id.clone()).or_default();
            chat.name = Some(real.name.clone()).filter(|n| !n.is_empty()).or(chat.name.take());
            chat.owner = Some(real.owner.clone()).filter(|o| !o.is_empty()).or(chat.owner.take());
        }
        let find = |userid: &str| real.and_then(|r| r.member_list.iter().find(|m| m.userid == userid));
        let mut events = Vec::new();
        match (callback.change_type.as_str(), callback.update_detail.as_str()) {
            ("update", "add_member") => {
                for userid in callback.members() {
                    if self.chats.get(&chat_id).is_some_and(|c| c.members.contains_key(userid)) {
                        continue;
                    }
                    let member = find(userid);
                    let join_time = member.map_or(callback.create_time, |m| m.join_time);
                    events.push(self.join(&chat_id, userid, join_time, member, callback.join_scene));
                    let name = member.and_then(display);
                    self.chats.entry(chat_id.clone()).or_default().members.insert(userid.clone(), Known { join_time, name });
                }
            }
            ("update", "del_member") => {
                let removed = callback.quit_scene == Some(1);
                for userid in callback.members() {
                    let stay_from = self
                        .chats
                        .get(&chat_id)
                        .and_then(|c| c.members.get(userid))
                        .map_or(callback.create_time, |k| k.join_time);
                    events.push(self.leave(&chat_id, userid, stay_from, at, removed));
                    if let Some(chat) = self.chats.get_mut(&chat_id) {
                        chat.members.remove(userid);
                    }
                }
            }
            ("dismiss", _) => {
                let members: Vec<(String, i64)> = self
                    .chats
                    .get(&chat_id)
                    .map(|c| c.members.iter().map(|(u, k)| (u.clone(), k.join_time)).collect())
                    .unwrap_or_default();
                let owner = self.chats.get(&chat_id).and_then(|c| c.owner.clone());
                for (userid, stay_from) in members {
                    if owner.as_deref() != Some(userid.as_str()) {
                        events.push(self.leave(&chat_id, &userid, stay_from, at, true));
                    }
                }
                self.chats.remove(&chat_id);
            }
            (change, detail) => {
                self.chats.entry(chat_id.clone()).or_default();
                let version = if callback.cur_mem_ver.is_empty() { callback.create_time.to_string() } else { callback.cur_mem_ver.clone() };
                let what = if detail.is_empty() { change } else { detail };
                events.push(self.event(
                    &chat_id,
                    format!("chat:{chat_id}:{what}:{version}:{}", callback.create_time),
                    at,
                    EventKind::GroupUpdated { name: self.chat_name(&chat_id) },
                ));
            }
        }
        events
    }

    /// Brings our member list of a group in line with WeCom's: members we missed joined,
    /// members no longer there left. The first full list of a group is taken as it is.
    pub fn reconcile(&mut self, real: &GroupChat, now: DateTime<Utc>) -> Vec<Event> {
        let chat_id = real.chat_id.clone();
        let chat = self.chats.entry(chat_id.clone()).or_default();
        chat.name = Some(real.name.clone()).filter(|n| !n.is_empty()).or(chat.name.take());
        chat.owner = Some(real.owner.clone()).filter(|o| !o.is_empty()).or(chat.owner.take());
        let baseline = chat.baseline;
        let known = chat.members.clone();
        let mut events = Vec::new();
        if baseline {
            for member in &real.member_list {
                let missed = known.get(&member.userid).is_none_or(|k| k.join_time < member.join_time && k.join_time != 0);
                if missed {
                    if let Some(old) = known.get(&member.userid) {
                        // Left and came back between two looks: the old stay ended.
                        events.push(self.leave(&chat_id, &member.userid, old.join_time, now, false));
                    }
                    events.push(self.join(&chat_id, &member.userid, member.join_time, Some(member), None));
                }
            }
            for (userid, k) in &known {
                if !real.member_list.iter().any(|m| &m.userid == userid) {
                    events.push(self.leave(&chat_id, userid, k.join_time, now, false));
                }
            }
        }
        let chat = self.chats.entry(chat_id).or_default();
        chat.members = real
            .member_list
            .iter()
            .map(|m| (m.userid.clone(), Known { join_time: m.join_time, name: display(m) }))
            .collect();
        chat.baseline = true;
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wecom::api::UserRef;

    fn add_member_xml(users: &[&str], ts: i64) -> String {
        let items: String = users.iter().map(|u| format!("<Item><![CDATA[{u}]]></Item>")).collect();
        format!(
            "<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>{ts}</CreateTime>\
             <MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[wrOgAAA]]></ChatId>\
             <ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[add_member]]></UpdateDetail><JoinScene>3</JoinScene>\
             <MemChangeCnt>{}</MemChangeCnt><MemChangeList>{items}</MemChangeList><LastMemVer>v1</LastMemVer><CurMemVer>v2</CurMemVer></xml>",
            users.len()
        )
    }

    fn member(userid: &str, join_time: i64, state: &str) -> ChatMember {
        ChatMember { userid: userid.into(), kind: 2, join_time, join_scene: 3, name: format!("客户{userid}"), state: state.into(), ..ChatMember::default() }
    }

    fn chat(members: Vec<ChatMember>) -> GroupChat {
        GroupChat { chat_id: "wrOgAAA".into(), name: "粉丝1群".into(), owner: "zhangsan".into(), member_list: members, admin_list: vec![] }
    }

    #[test]
    fn a_callback_xml_is_read_with_its_member_list() {
        let callback = Callback::parse(&add_member_xml(&["wmA", "wmB"], 1_700_000_000)).unwrap();
        assert!(callback.is_customer_group_change());
        assert_eq!((callback.change_type.as_str(), callback.update_detail.as_str()), ("update", "add_member"));
        assert_eq!(callback.join_scene, Some(3));
        assert_eq!(callback.members(), ["wmA", "wmB"]);
    }

    #[test]
    fn joins_carry_the_join_way_state_as_invite_code_and_the_inviter() {
        let mut snapshot = Snapshot::new("wecom".into());
        let callback = Callback::parse(&add_member_xml(&["wmA"], 1_700_000_005)).unwrap();
        let mut a = member("wmA", 1_700_000_004, "QZ7K2M");
        a.invitor = Some(UserRef { userid: "zhangsan".into() });
        let events = snapshot.apply_callback(&callback, Some(&chat(vec![a])));
        let [event] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(event.origin.event_id.as_str(), "join:wrOgAAA:wmA:1700000004");
        assert_eq!(event.group_name.as_deref(), Some("粉丝1群"));
        let EventKind::MemberJoined { member, inviter, invite_code, .. } = &event.kind else { panic!() };
        assert_eq!((member.name.as_deref(), invite_code.as_deref()), (Some("客户wmA"), Some("QZ7K2M")));
        assert_eq!(inviter.as_ref().map(|i| i.id.as_str()), Some("zhangsan"));
    }

    #[test]
    fn the_join_scene_comes_from_groupchat_get_else_from_the_callback_each_in_its_own_numbering() {
        let mut snapshot = Snapshot::new("wecom".into());
        let callback = Callback::parse(&add_member_xml(&["wmA"], 1_700_000_005)).unwrap();
        let mut a = member("wmA", 1_700_000_004, "");
        a.join_scene = 2;
        let with_api = snapshot.apply_callback(&callback, Some(&chat(vec![a])));
        let EventKind::MemberJoined { join_scene, .. } = &with_api[0].kind else { panic!() };
        assert_eq!(*join_scene, Some(JoinScene::InviteLink), "groupchat/get: 2 is an invitation link");
        let callback = Callback::parse(&add_member_xml(&["wmB"], 1_700_000_006)).unwrap();
        let without_api = snapshot.apply_callback(&callback, None);
        let EventKind::MemberJoined { join_scene, .. } = &without_api[0].kind else { panic!() };
        assert_eq!(*join_scene, Some(JoinScene::QrCode), "the callback's JoinScene 3 is the QR code");
        assert_eq!((callback_join_scene(0), callback_join_scene(1), api_join_scene(1)), (Some(JoinScene::Invited), Some(JoinScene::InviteLink), Some(JoinScene::Invited)));
    }

    #[test]
    fn a_restored_roster_makes_the_next_look_record_what_changed_meanwhile() {
        let mut before = Snapshot::new("wecom".into());
        before.reconcile(&chat(vec![member("wmA", 100, ""), member("wmB", 200, "")]), time(300));
        let roster = before.roster("wrOgAAA", time(300)).unwrap();
        assert_eq!(roster.members.len(), 2);
        let mut after = Snapshot::new("wecom".into());
        after.restore(&roster);
        let events = after.reconcile(&chat(vec![member("wmB", 200, ""), member("wmC", 400, "QZ7K2M")]), time(500));
        let ids: Vec<&str> = events.iter().map(|e| e.origin.event_id.as_str()).collect();
        assert_eq!(ids, ["join:wrOgAAA:wmC:400", "left:wrOgAAA:wmA:100"]);
        assert!(Snapshot::new("wecom".into()).roster("wrOgAAA", time(0)).is_none(), "no roster before a full list");
    }

    #[test]
    fn removals_name_the_owner_and_plain_leaves_do_not() {
        let mut snapshot = Snapshot::new("wecom".into());
        snapshot.reconcile(&chat(vec![member("wmA", 100, ""), member("wmB", 200, "")]), time(300));
        let xml = |user: &str, scene: i64| {
            format!("<xml><CreateTime>400</CreateTime><Event>change_external_chat</Event><ChatId>wrOgAAA</ChatId><ChangeType>update</ChangeType>\
                     <UpdateDetail>del_member</UpdateDetail><QuitScene>{scene}</QuitScene><MemChangeList><Item>{user}</Item></MemChangeList></xml>")
        };
        let removed = snapshot.apply_callback(&Callback::parse(&xml("wmA", 1)).unwrap(), None);
        let EventKind::MemberLeft { removed_by, .. } = &removed[0].kind else { panic!() };
        assert_eq!(removed_by.as_ref().map(|m| m.id.as_str()), Some("zhangsan"));
        assert_eq!(removed[0].origin.event_id.as_str(), "left:wrOgAAA:wmA:100");
        let left = snapshot.apply_callback(&Callback::parse(&xml("wmB", 0)).unwrap(), None);
        assert!(matches!(&left[0].kind, EventKind::MemberLeft { removed_by: None, .. }));
    }

    #[test]
    fn reconciliation_repairs_missed_joins_and_leaves_and_agrees_with_callback_ids() {
        let mut snapshot = Snapshot::new("wecom".into());
        assert!(snapshot.reconcile(&chat(vec![member("wmA", 100, "")]), time(150)).is_empty(), "the first look is a baseline");
        let events = snapshot.reconcile(&chat(vec![member("wmB", 200, "QZ7K2M")]), time(300));
        let ids: Vec<&str> = events.iter().map(|e| e.origin.event_id.as_str()).collect();
        assert_eq!(ids, ["join:wrOgAAA:wmB:200", "left:wrOgAAA:wmA:100"]);
        assert!(snapshot.reconcile(&chat(vec![member("wmB", 200, "QZ7K2M")]), time(400)).is_empty(), "nothing twice");
    }

    #[test]
    fn name_changes_and_dismissals_become_group_updates_and_leaves() {
        let mut snapshot = Snapshot::new("wecom".into());
        snapshot.reconcile(&chat(vec![member("zhangsan", 1, ""), member("wmA", 100, "")]), time(300));
        let rename = Callback::parse("<xml><CreateTime>500</CreateTime><Event>change_external_chat</Event><ChatId>wrOgAAA</ChatId><ChangeType>update</ChangeType><UpdateDetail>change_name</UpdateDetail></xml>").unwrap();
        let mut renamed = chat(vec![]);
        renamed.name = "粉丝2群".into();
        let events = snapshot.apply_callback(&rename, Some(&renamed));
        assert_eq!(events[0].kind, EventKind::GroupUpdated { name: Some("粉丝2群".into()) });
        let dismiss = Callback::parse("<xml><CreateTime>600</CreateTime><Event>change_external_chat</Event><ChatId>wrOgAAA</ChatId><ChangeType>dismiss</ChangeType></xml>").unwrap();
        let events = snapshot.apply_callback(&dismiss, None);
        let ids: Vec<&str> = events.iter().map(|e| e.origin.event_id.as_str()).collect();
        assert_eq!(ids, ["left:wrOgAAA:wmA:100"]);
    }
}
