//! `qunzhu.toml`, the deployment config (being written by the config/CLI engineer).

use std::net::SocketAddr;
use std::path::PathBuf;

use qunzhu_connectors::bridge::BridgeConfig;
use qunzhu_engine::Locale;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The deployment config. Every field has a default: qunzhu runs with no file at all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server (API, dashboard, sandbox, bridge endpoints) listens on.
    pub listen: SocketAddr,
    /// Folder for qunzhu's data; the default SQLite database `qunzhu.db` lives here.
    pub data_dir: PathBuf,
    /// Database URL. Empty: SQLite at `<data_dir>/qunzhu.db`. Or `postgres://user:pass@host/db`.
    pub database: Option<String>,
    /// Language of messages to groups, staff tasks and the dashboard: `zh-CN` or `en`.
    pub locale: Locale,
    /// Platform connections. The sandbox is always there and needs no entry.
    pub connectors: Vec<ConnectorConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("qunzhu-data"),
            database: None,
            locale: Locale::ZhCn,
            connectors: Vec::new(),
        }
    }
}

/// One platform connection, chosen by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConnectorConfig {
    /// The HTTP bridge (see docs/bridge.md).
    Bridge(BridgeConfig),
}
