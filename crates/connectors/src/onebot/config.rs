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
    /// to qunzhu's listener at `path`; NapCat's "WebSocket client"), `forward_ws` (qunzhu
    /// connects to the implementation's WebSocket server at `url`) or `http` (qunzhu calls
    /// the implementation's HTTP API at `url`; the implementation POSTs events to `path`).
    #[serde(default)]
    pub mode: OnebotMode,
    /// `reverse_ws`: the path on qunzhu's HTTP listener the implementation connects to.
    /// `http`: the path on qunzhu's listener the implementation POSTs events to, e.g.
    /// `/onebot/v11/http`.
    #[serde(default = "default_path")]
    pub path: String,
    /// `forward_ws`: the implementation's WebSocket address, e.g. `ws://127.0.0.1:3001`.
    /// `http`: the base address of the implementation's HTTP API, e.g.
    /// `http://127.0.0.1:3000` (calls go to `{url}/{action}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The OneBot `access_token`, the same on both sides: checked on every incoming
    /// connection (`Authorization: Bearer …` or `?access_token=`) and sent on outgoing ones.
    /// `http`: sent with every API call; an event POST that carries a token must carry this
    /// one, and one without a token is accepted only when its `X-Signature` checks out.
    pub access_token: Secret,
    /// `http`: the implementation's `secret` for event POSTs. When set, every event must
    /// carry `X-Signature: sha1=<HMAC-SHA1 of the body>` made with it (else 401).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
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
    /// HTTP API calls out, HTTP POST events in.
    Http,
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
            secret: None,
            call_timeout_secs: default_call_timeout_secs(),
            reconnect_max_secs: default_reconnect_max_secs(),
        }
    }

    /// An HTTP connector: calls to `url`, events POSTed to `/onebot/v11/http`.
    pub fn http(id: &str, access_token: &str, url: &str, secret: Option<&str>) -> Self {
        Self {
            mode: OnebotMode::Http,
            path: "/onebot/v11/http".into(),
            url: Some(url.into()),
            secret: secret.map(Secret::new),
            ..Self::reverse_ws(id, access_token)
        }
    }

    /// The configured event secret, when it is not empty.
    pub fn event_secret(&self) -> Option<&Secret> {
        self.secret.as_ref().filter(|s| !s.expose().is_empty())
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
