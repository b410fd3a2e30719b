use qunzhu_core::{Capabilities, Capability, ConnectorId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::action::MAX_MUTE_SECS;
use crate::secret::Secret;

/// QQ through a OneBot v11 implementation (NapCat, Lagrange.OneBot, LLOneBot).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnebotConfig {
    /// Connector id, used in group keys (`{id}/{group}`). Letters, digits, `-` and `_`.
    pub id: String,
    /// How qunzhu and the implementation connect: `reverse_ws` (the implementation connects
    /// to qunzhu's listener at `path`; NapCat's "WebSocket client") or `forward_ws` (qunzhu
    /// connects to the implementation's WebSocket server at `url`).
    #[serde(default)]
    pub mode: OnebotMode,
    /// `reverse_ws`: the path on qunzhu's HTTP listener the implementation connects to.
    #[serde(default = "default_path")]
    pub path: String,
    /// `forward_ws`: the implementation's WebSocket address, e.g. `ws://127.0.0.1:3001`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The OneBot `access_token`, the same on both sides: checked on every incoming
    /// connection (`Authorization: Bearer …` or `?access_token=`) and sent on outgoing ones.
    pub access_token: Secret,
    /// How long to wait for the answer to one API call before retrying it later.
    #[serde(default = "default_call_timeout_secs")]
    pub call_timeout_secs: u64,
    /// `forward_ws`: the longest pause between reconnection attempts (they start at 1 s and
    /// double).
    #[serde(default = "default_reconnect_max_secs")]
    pub reconnect_max_secs: u64,
}

/// How the OneBot connection is made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnebotMode {
    #[default]
    ReverseWs,
    ForwardWs,
}

fn default_path() -> String {
    "/onebot/v11/ws".into()
}

fn default_call_timeout_secs() -> u64 {
    10
}

fn default_reconnect_max_secs() -> u64 {
    30
}

impl OnebotConfig {
    /// A reverse-WebSocket connector with the defaults.
    pub fn reverse_ws(id: &str, access_token: &str) -> Self {
        Self {
            id: id.into(),
            mode: OnebotMode::ReverseWs,
            path: default_path(),
            url: None,
            access_token: Secret::new(access_token),
            call_timeout_secs: default_call_timeout_secs(),
            reconnect_max_secs: default_reconnect_max_secs(),
        }
    }

    pub fn connector_id(&self) -> ConnectorId {
        ConnectorId::new(self.id.clone())
    }

    /// What QQ lets a group admin bot do, with QQ's limits.
    pub fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_message_chars: Some(4500),
            sends_per_minute_per_group: Some(20),
            max_mute_secs: Some(MAX_MUTE_SECS),
            ..Capabilities::new([
                Capability::Send,
                Capability::Reply,
                Capability::Mention,
                Capability::Delete,
                Capability::Mute,
                Capability::Kick,
                Capability::Ban,
                Capability::ApproveJoin,
            ])
        }
    }
}
