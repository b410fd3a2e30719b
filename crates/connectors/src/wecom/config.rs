use qunzhu_core::{Capabilities, Capability, ConnectorId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// WeCom (企业微信) customer groups through a self-built app (自建应用) with 客户联系
/// permissions. WeCom lets no app post, kick or mute in customer groups: qunzhu observes joins
/// and leaves, attributes them to channels, and turns actions into staff tasks sent to staff
/// by app message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WecomConfig {
    /// Connector id, used in the callback URL (`/wecom/{id}/callback`) and group keys
    /// (`{id}/{chat_id}`). Letters, digits, `-` and `_`.
    pub id: String,
    /// The company's CorpID (我的企业 → 企业信息), `ww…`. Also the receiver id every
    /// callback must carry.
    pub corp_id: String,
    /// The self-built app's AgentId (应用管理 → the app).
    pub agent_id: i64,
    /// The app's Secret; qunzhu fetches access tokens with it.
    pub secret: Secret,
    /// The callback Token (接收消息 → 设置API接收), the same as in the WeCom admin console.
    pub token: Secret,
    /// The callback EncodingAESKey (43 characters), the same as in the WeCom admin console.
    pub encoding_aes_key: Secret,
    /// WeCom staff userids that get staff tasks and alerts as app messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub staff_userids: Vec<String>,
    /// What a scheduled post becomes: `staff_task` (a task to post it by hand) or
    /// `mass_send_draft` (a group mass-send draft, 群发, that a staff member confirms in the
    /// WeCom client; sent for `sender`).
    #[serde(default)]
    pub scheduled_posts: ScheduledPosts,
    /// `mass_send_draft`: the staff userid whose customer groups receive the draft (WeCom
    /// asks this member to confirm it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// Keep the welcome rule's text as WeCom group welcome templates (入群欢迎语素材), one per
    /// rulebook template used by this connector's groups, edited whenever the rulebook's
    /// welcome text changes. WeCom sends a template to every newcomer of a group whose owner
    /// chose it (客户联系 → 加入群聊 → 入群欢迎语); staff are told by app message when a new
    /// template needs choosing. `{name}` becomes WeCom's `%NICKNAME%`; clauses with facts of
    /// one join (`{member_no}`, `{channel}`, `{tier}`, `{inviter}`) are left out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_welcome_template: bool,
    /// How often every customer group is compared with WeCom's member list, to repair lost
    /// callbacks (and after each callback for its group).
    #[serde(default = "default_reconcile_secs")]
    pub reconcile_interval_secs: u64,
    /// The WeCom API address; change it only for tests.
    #[serde(default = "default_api_base")]
    pub api_base: String,
}

/// What a scheduled post becomes on WeCom.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduledPosts {
    #[default]
    StaffTask,
    MassSendDraft,
}

fn default_reconcile_secs() -> u64 {
    3600
}

pub(crate) fn default_api_base() -> String {
    "https://qyapi.weixin.qq.com".into()
}

/// Where WeCom staff do what qunzhu cannot; task steps start "在企业微信中…".
pub const MANUAL_IN: &str = "企业微信";

impl WecomConfig {
    /// A connector with the defaults (for tests and the example config).
    pub fn new(id: &str, corp_id: &str, agent_id: i64, secret: &str, token: &str, encoding_aes_key: &str) -> Self {
        Self {
            id: id.into(),
            corp_id: corp_id.into(),
            agent_id,
            secret: Secret::new(secret),
            token: Secret::new(token),
            encoding_aes_key: Secret::new(encoding_aes_key),
            staff_userids: Vec::new(),
            scheduled_posts: ScheduledPosts::StaffTask,
            sender: None,
            keep_welcome_template: false,
            reconcile_interval_secs: default_reconcile_secs(),
            api_base: default_api_base(),
        }
    }

    pub fn connector_id(&self) -> ConnectorId {
        ConnectorId::new(self.id.clone())
    }

    /// The callback path on qunzhu's listener.
    pub fn callback_path(&self) -> String {
        format!("/wecom/{}/callback", self.id)
    }

    /// Honest capabilities: staff get notified by app message; posting (as mass-send drafts)
    /// only when the operator chose it. Everything else becomes a staff task.
    pub fn capabilities(&self) -> Capabilities {
        let mut actions = vec![Capability::NotifyStaff];
        if self.scheduled_posts == ScheduledPosts::MassSendDraft {
            actions.push(Capability::Send);
        }
        Capabilities { manual_in: Some(MANUAL_IN.into()), max_message_chars: Some(4000), ..Capabilities::new(actions) }
    }

    /// Every problem with this entry, as (key, message) pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let corp = self.corp_id.trim();
        if corp.is_empty() {
            problems.push(("corp_id", "must not be empty: copy the CorpID from 我的企业 → 企业信息 (it starts with `ww`)".to_owned()));
        } else if !corp.chars().all(|c| c.is_ascii_alphanumeric()) {
            problems.push(("corp_id", format!("`{corp}` is not a CorpID: it has only letters and digits, e.g. \"ww1234567890abcdef\"")));
        }
        if self.agent_id <= 0 {
            problems.push(("agent_id", format!("{} is not an AgentId: copy the number from 应用管理 → your app, e.g. 1000002", self.agent_id)));
        }
        if self.secret.expose().trim().is_empty() {
            problems.push(("secret", "must not be empty: copy the app's Secret from 应用管理 → your app".to_owned()));
        }
        let token = self.token.expose();
        if token.is_empty() || token.len() > 32 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
            problems.push(("token", "must be 1–32 letters and digits, the Token set in 接收消息 → 设置API接收 (use 随机获取 there)".to_owned()));
        }
        if super::crypto::aes_key(self.encoding_aes_key.expose()).is_err() {
            problems.push((
                "encoding_aes_key",
                "must be the 43-character EncodingAESKey from 接收消息 → 设置API接收 (use 随机获取 there)".to_owned(),
            ));
        }
        if self.staff_userids.iter().any(|u| u.trim().is_empty()) {
            problems.push(("staff_userids", "has an empty userid; list WeCom userids, e.g. [\"zhangsan\"]".to_owned()));
        }
        if self.scheduled_posts == ScheduledPosts::MassSendDraft && self.sender.as_deref().is_none_or(|s| s.trim().is_empty()) {
            problems.push((
                "sender",
                "is needed with scheduled_posts = \"mass_send_draft\": the userid of the staff member who confirms group mass sends".to_owned(),
            ));
        }
        if self.reconcile_interval_secs < 60 {
            problems.push(("reconcile_interval_secs", "must be at least 60 (WeCom limits API calls); 3600 is a good value".to_owned()));
        }
        let base = self.api_base.trim();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            problems.push(("api_base", format!("`{base}` is not an http(s) address; leave it out to use https://qyapi.weixin.qq.com")));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wecom_claims_only_staff_notices_unless_drafts_are_chosen() {
        let mut config = WecomConfig::new("wecom", "ww1", 1000002, "s", "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C");
        let caps = config.capabilities();
        assert!(caps.can(Capability::NotifyStaff));
        for cannot in [Capability::Send, Capability::Reply, Capability::Delete, Capability::Mute, Capability::Kick, Capability::Ban] {
            assert!(!caps.can(cannot), "{cannot}");
        }
        assert_eq!(caps.manual_in.as_deref(), Some("企业微信"));
        config.scheduled_posts = ScheduledPosts::MassSendDraft;
        assert!(config.capabilities().can(Capability::Send));
    }

    #[test]
    fn every_config_mistake_is_named_with_its_key() {
        let mut config = WecomConfig::new("wecom", "", 0, "", "bad token!", "short");
        config.scheduled_posts = ScheduledPosts::MassSendDraft;
        config.reconcile_interval_secs = 5;
        config.api_base = "qyapi".into();
        let keys: Vec<&str> = config.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["corp_id", "agent_id", "secret", "token", "encoding_aes_key", "sender", "reconcile_interval_secs", "api_base"]);
        let fine = WecomConfig::new("wecom", "ww1", 1000002, "s", "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C");
        assert!(fine.problems().is_empty(), "{:?}", fine.problems());
    }
}
