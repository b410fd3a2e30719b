//! `qunzhu.toml`, the deployment config: listen address, data directory, database,
//! connectors and their secrets.
//!
//! [`Config::from_toml`] checks a document completely before anything starts and reports
//! every problem at once — syntax errors, unknown keys, wrong types, bad values — each with
//! its key path, line and column, in the same [`Problem`] form as the rulebook.
//! [`example_toml`] writes the commented example (`qunzhu init`, `qunzhu.example.toml`) from
//! the JSON Schema of these types, so the doc comments below are what operators read.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use qunzhu_connectors::bridge::BridgeConfig;
#[cfg(feature = "matrix")]
use qunzhu_connectors::matrix::MatrixConfig;
use qunzhu_connectors::onebot::{OnebotConfig, OnebotMode};
use qunzhu_connectors::telegram::TelegramConfig;
use qunzhu_connectors::wecom::WecomConfig;
use qunzhu_connectors::secret::Secret;
use qunzhu_core::Capability;
use qunzhu_engine::problems::{Problem, serde_path};
use qunzhu_engine::{EngineConfig, Locale};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;
use toml::de::{DeTable, DeValue};

/// The deployment config. Every field has a default: qunzhu runs with no file at all.
#[derive(Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server (API, dashboard, sandbox, bridge endpoints) listens on.
    /// `0.0.0.0:8080` listens on every interface; keep `127.0.0.1` behind a reverse proxy.
    pub listen: SocketAddr,
    /// Folder for qunzhu's data; the default SQLite database `qunzhu.db` lives here.
    /// A relative path is relative to the folder qunzhu is started in.
    pub data_dir: PathBuf,
    /// Database URL. Empty: SQLite at `<data_dir>/qunzhu.db`. Or `postgres://user:pass@host/db`.
    /// Also `sqlite:<path>` for a SQLite file elsewhere.
    pub database: Option<String>,
    /// Language of messages to groups, staff tasks and the dashboard: `zh-CN` or `en`.
    pub locale: Locale,
    /// Logging. The `RUST_LOG` environment variable, when set, wins over this.
    pub log: LogConfig,
    /// How the engine spreads work over CPU cores.
    pub engine: EngineOptions,
    /// Platform connections. The sandbox is always there and needs no entry.
    pub connectors: Vec<ConnectorConfig>,
    /// The address people reach qunzhu at from outside, e.g. `https://qun.example.com`: channel
    /// invite links and QR codes (渠道活码) point to `<public_url>/i/<code>`. Empty: the
    /// listen address.
    pub public_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("qunzhu-data"),
            database: None,
            locale: Locale::ZhCn,
            log: LogConfig::default(),
            engine: EngineOptions::default(),
            connectors: Vec::new(),
            public_url: None,
        }
    }
}

/// The database URL never appears in `Debug` output with its password.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database",
                &self.database.as_deref().map(qunzhu_store::redact_url),
            )
            .field("locale", &self.locale)
            .field("log", &self.log)
            .field("engine", &self.engine)
            .field("connectors", &self.connectors)
            .field("public_url", &self.public_url)
            .finish()
    }
}

/// `[log]`: what qunzhu writes to its standard error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Level: `error`, `warn`, `info`, `debug` or `trace`, or per-module directives such as
    /// `info,qunzhu_engine=debug`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
        }
    }
}

/// `[engine]`: the worker partitions that process events (one group's events always in order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EngineOptions {
    /// Worker partitions; groups are spread over them and processed in parallel.
    /// Leave it out for 4 per CPU core.
    pub partitions: Option<usize>,
    /// Events waiting per partition before new ones are held back.
    pub queue_depth: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            partitions: None,
            queue_depth: 1024,
        }
    }
}

/// One platform connection, chosen by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConnectorConfig {
    /// The HTTP bridge (see docs/bridge.md).
    Bridge(BridgeConfig),
    /// QQ through a OneBot v11 implementation (NapCat, Lagrange.OneBot): see the README.
    Onebot(OnebotConfig),
    /// Matrix: qunzhu's own bot account on a homeserver; see the README.
    #[cfg(feature = "matrix")]
    Matrix(MatrixConfig),
    /// Telegram: a bot made with @BotFather, admin in its groups; see the README.
    Telegram(TelegramConfig),
    /// WeCom (企业微信) customer groups through a self-built app; see the README.
    Wecom(WecomConfig),
}

impl ConnectorConfig {
    /// The connector id as written in the config.
    pub fn id(&self) -> &str {
        match self {
            Self::Bridge(bridge) => &bridge.id,
            Self::Onebot(onebot) => &onebot.id,
            #[cfg(feature = "matrix")]
            Self::Matrix(matrix) => &matrix.id,
            Self::Telegram(telegram) => &telegram.id,
            Self::Wecom(wecom) => &wecom.id,
        }
    }

    /// The `type` name, e.g. `bridge`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Bridge(_) => "bridge",
            Self::Onebot(_) => "onebot",
            #[cfg(feature = "matrix")]
            Self::Matrix(_) => "matrix",
            Self::Telegram(_) => "telegram",
            Self::Wecom(_) => "wecom",
        }
    }

    /// The secret the connector authenticates with, if it has one, and its key.
    fn token(&self) -> Option<(&'static str, &Secret)> {
        match self {
            Self::Bridge(bridge) => Some(("token", &bridge.token)),
            Self::Onebot(onebot) => Some(("access_token", &onebot.access_token)),
            // Matrix credentials are the bot's own login, checked in `matrix_problems`.
            #[cfg(feature = "matrix")]
            Self::Matrix(_) => None,
            // A bot token has its own shape, checked in `TelegramConfig::problems`.
            Self::Telegram(_) => None,
            // Checked with the rest of the entry in `WecomConfig::problems`.
            Self::Wecom(_) => None,
        }
    }

    /// Declared capability names, for validation.
    fn capability_names(&self) -> &[String] {
        match self {
            Self::Bridge(bridge) => &bridge.capabilities,
            Self::Onebot(_) => &[],
            #[cfg(feature = "matrix")]
            Self::Matrix(_) => &[],
            Self::Telegram(_) => &[],
            Self::Wecom(_) => &[],
        }
    }
}

/// Why a config file could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("could not read the config file {}: {source}; check the path, or create one with `qunzhu init`", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} has {} problem(s):\n{}", path.display(), problems.len(), list(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The connector id the built-in sandbox uses; no configured connector may take it.
pub const RESERVED_CONNECTOR_ID: &str = "sandbox";

/// Token values that only say "put a real token here".
const PLACEHOLDER_TOKENS: [&str; 3] = ["change-me", "changeme", "change_me"];

/// Whether a token is one of the "put a real token here" values.
pub fn is_placeholder_token(token: &str) -> bool {
    PLACEHOLDER_TOKENS.iter().any(|p| token.trim().eq_ignore_ascii_case(p))
}

impl Config {
    /// Reads and checks a config file.
    ///
    /// # Errors
    /// [`ConfigError::Read`] when the file cannot be read, [`ConfigError::Invalid`] with every
    /// problem found in it.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&source).map_err(|problems| ConfigError::Invalid {
            path: path.to_owned(),
            problems,
        })
    }

    /// Parses and checks a config document, reporting every problem at once.
    ///
    /// # Errors
    /// All problems found, each with its key path and, where known, line and column.
    pub fn from_toml(source: &str) -> Result<Self, Vec<Problem>> {
        let table: toml::Table = match toml::from_str(source) {
            Ok(table) => table,
            Err(error) => return Err(syntax_problems(source, &error)),
        };
        let value = serde_json::to_value(&table)
            .map_err(|e| vec![Problem::new(Vec::new(), e.to_string())])?;
        let Value::Object(root) = value else {
            return Err(vec![Problem::new(
                Vec::new(),
                "the config must be a TOML table",
            )]);
        };
        let mut problems = Vec::new();
        // Keys that are fine on their own; the config is built from these alone, so that the
        // checks of values below still run when some other key is broken.
        let mut good = Map::new();
        let mut connectors: Vec<(usize, ConnectorConfig)> = Vec::new();
        for (key, value) in &root {
            match (key.as_str(), value) {
                ("listen", Value::String(address)) if address.parse::<SocketAddr>().is_err() => {
                    problems.push(Problem::at(
                        &["listen"],
                        format!("`{address}` is not an IP address with a port; write e.g. \"127.0.0.1:8080\" (this machine only) or \"0.0.0.0:8080\" (every interface)"),
                    ));
                }
                ("log" | "engine", Value::Object(section)) => {
                    let path = [key.clone()];
                    let fine = if key == "log" {
                        keys_alone::<LogConfig>(
                            section,
                            &path,
                            |k, v| object([(k, v)]),
                            &mut problems,
                        )
                    } else {
                        keys_alone::<EngineOptions>(
                            section,
                            &path,
                            |k, v| object([(k, v)]),
                            &mut problems,
                        )
                    };
                    good.insert(key.clone(), Value::Object(fine));
                }
                ("connectors", Value::Array(items)) => {
                    connectors = parse_connectors(items, &mut problems);
                }
                _ => match serde_path_to_error::deserialize::<_, Config>(object([(
                    key,
                    value.clone(),
                )])) {
                    Ok(_) => {
                        good.insert(key.clone(), value.clone());
                    }
                    Err(error) => problems.push(serde_problem(&[], key, &error)),
                },
            }
        }
        let mut config = match serde_path_to_error::deserialize::<_, Config>(Value::Object(good)) {
            Ok(config) => config,
            Err(error) => {
                problems.push(serde_problem(&[], "", &error));
                Config::default()
            }
        };
        problems.extend(config.validate_settings());
        problems.extend(validate_connectors(
            connectors.iter().map(|(index, c)| (*index, c)),
            config.listen.ip().is_loopback(),
        ));
        config.connectors = connectors.into_iter().map(|(_, c)| c).collect();
        if problems.is_empty() {
            Ok(config)
        } else {
            let mut problems: Vec<Problem> =
                problems.into_iter().map(|p| p.locate_in(source)).collect();
            problems.sort_by_key(|p| (p.line.unwrap_or(usize::MAX), p.column.unwrap_or(0)));
            Err(problems)
        }
    }

    /// Checks values beyond their types (e.g. after command-line flags changed them).
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = self.validate_settings();
        problems.extend(validate_connectors(
            self.connectors.iter().enumerate(),
            self.listen.ip().is_loopback(),
        ));
        problems
    }

    fn validate_settings(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.data_dir.as_os_str().is_empty() {
            problems.push(Problem::at(
                &["data_dir"],
                "must not be empty; leave it out for ./qunzhu-data",
            ));
        }
        if let Some(url) = self
            .database
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            let lower = url.to_ascii_lowercase();
            if !["sqlite:", "postgres://", "postgresql://"]
                .iter()
                .any(|scheme| lower.starts_with(scheme))
            {
                problems.push(Problem::at(
                    &["database"],
                    format!(
                        "`{}` is not a database URL qunzhu supports; use `postgres://user:password@host:5432/dbname`, \
                         `sqlite:<path>`, or leave it out for SQLite at <data_dir>/qunzhu.db",
                        qunzhu_store::redact_url(url)
                    ),
                ));
            }
        }
        if let Some(url) = self.public_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push(Problem::at(
                    &["public_url"],
                    format!("`{url}` is not a web address; write e.g. \"https://qun.example.com\" (invite links become <public_url>/i/<code>)"),
                ));
            }
        }
        if let Some(reason) = log_level_problem(&self.log.level) {
            problems.push(Problem::at(
                &["log", "level"],
                format!("`{}` is not a log level ({reason}); use error, warn, info, debug or trace, or directives like `info,qunzhu_engine=debug`", self.log.level),
            ));
        }
        if self.engine.partitions == Some(0) {
            problems.push(Problem::at(
                &["engine", "partitions"],
                "must be at least 1; leave it out for 4 per CPU core",
            ));
        }
        if self.engine.queue_depth == 0 {
            problems.push(Problem::at(
                &["engine", "queue_depth"],
                "must be at least 1 (the default is 1024)",
            ));
        }
        problems
    }

    /// SQLite file used when no `database` URL is set.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("qunzhu.db")
    }

    /// The database URL when one is set (blank counts as unset).
    pub fn database_url(&self) -> Option<&str> {
        self.database
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
    }

    /// The engine settings this config asks for.
    pub fn engine_config(&self) -> EngineConfig {
        let defaults = EngineConfig::default();
        EngineConfig {
            locale: self.locale,
            partitions: self.engine.partitions.unwrap_or(defaults.partitions).max(1),
            queue_depth: self.engine.queue_depth.max(1),
        }
    }
}

const LOG_LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];

/// Why `level` is not a usable log filter. A bare word is taken as a level: `tracing` would
/// read `loud` as "everything from the module `loud`", which is never what was meant.
fn log_level_problem(level: &str) -> Option<String> {
    for directive in level.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        if !directive.contains('=') && !LOG_LEVELS.iter().any(|l| l.eq_ignore_ascii_case(directive))
        {
            return Some(format!(
                "`{directive}` is neither a level nor `module=level`"
            ));
        }
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(level)
        .err()
        .map(|error| error.to_string())
}

fn object<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
    Value::Object(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

/// A syntax error, plus any further ones the recovering parser finds after it.
fn syntax_problems(source: &str, error: &toml::de::Error) -> Vec<Problem> {
    let mut problems = vec![Problem::from_toml_error(source, error)];
    let (_, errors) = DeTable::parse_recoverable(source);
    for error in &errors {
        let problem = Problem::from_toml_error(source, error);
        if !problems.iter().any(|p| p.line == problem.line) {
            problems.push(problem);
        }
    }
    problems.sort_by_key(|p| (p.line, p.column));
    problems
}

/// A serde error as a problem under `base`, naming `key` when serde could not say where.
fn serde_problem(
    base: &[String],
    key: &str,
    error: &serde_path_to_error::Error<serde_json::Error>,
) -> Problem {
    let mut path: Vec<String> = base.to_vec();
    let inner = serde_path(error.path());
    if inner.first().map(String::as_str) == Some(key) || key.is_empty() {
        path.extend(inner);
    } else {
        path.push(key.to_owned());
    }
    Problem::new(path, error.inner().to_string())
}

/// Checks every key of `table` alone as part of a `T` (built by `candidate`), so that each
/// bad key is reported rather than only the first. Returns the keys that are fine.
fn keys_alone<T: DeserializeOwned>(
    table: &Map<String, Value>,
    base: &[String],
    candidate: impl Fn(&str, Value) -> Value,
    problems: &mut Vec<Problem>,
) -> Map<String, Value> {
    let mut fine = Map::new();
    for (key, value) in table {
        match serde_path_to_error::deserialize::<_, T>(candidate(key, value.clone())) {
            // A required field other than this one is missing: this key itself is fine.
            Err(error) if !error.inner().to_string().starts_with("missing field") => {
                problems.push(serde_problem(base, key, &error));
            }
            _ => {
                fine.insert(key.clone(), value.clone());
            }
        }
    }
    fine
}

/// Parses each `[[connectors]]` entry on its own, every key on its own; returns the entries
/// that parsed, with their index in the file.
fn parse_connectors(items: &[Value], problems: &mut Vec<Problem>) -> Vec<(usize, ConnectorConfig)> {
    let mut parsed = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let base = vec!["connectors".to_owned(), format!("[{index}]")];
        let Value::Object(table) = item else {
            problems.push(Problem::new(
                base,
                "each connector is a table: write it as `[[connectors]]` followed by its keys",
            ));
            continue;
        };
        let kinds = connector_kinds().join(", ");
        let kind = match table.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            Some(_) => {
                problems.push(Problem::new(
                    [base.clone(), vec!["type".into()]].concat(),
                    format!("must be a string; allowed: {kinds}"),
                ));
                continue;
            }
            None => {
                problems.push(Problem::new(
                    base,
                    format!("missing `type`: say which kind of connector this is ({kinds})"),
                ));
                continue;
            }
        };
        if let Err(error) = serde_json::from_value::<ConnectorConfig>(object([(
            "type",
            Value::String(kind.clone()),
        )])) && !error.to_string().starts_with("missing field")
        {
            problems.push(Problem::new(
                [base.clone(), vec!["type".into()]].concat(),
                format!("unknown connector type `{kind}`; allowed: {kinds}"),
            ));
            continue;
        }
        let mut fields = table.clone();
        fields.remove("type");
        let before = problems.len();
        let candidate =
            |key: &str, value: Value| object([("type", Value::String(kind.clone())), (key, value)]);
        let mut fine = keys_alone::<ConnectorConfig>(&fields, &base, candidate, problems);
        let keys_were_fine = problems.len() == before;
        fine.insert("type".into(), Value::String(kind.clone()));
        match serde_path_to_error::deserialize::<_, ConnectorConfig>(Value::Object(fine)) {
            Ok(connector) => parsed.push((index, connector)),
            // Only say what is missing when the keys given were fine, or a misspelt key
            // would be reported twice (as unknown, and its real name as missing).
            Err(error) if keys_were_fine => {
                let message = error.inner().to_string();
                let message = match message.strip_prefix("missing field ") {
                    Some(field) => format!("missing {field}, required for a `{kind}` connector"),
                    None => message,
                };
                problems.push(Problem::new(base, message));
            }
            Err(_) => {}
        }
    }
    parsed
}

/// The `type` names of connectors, from the schema so a new variant is listed by itself.
fn connector_kinds() -> Vec<String> {
    let schema = schemars::schema_for!(ConnectorConfig);
    let variants = schema
        .as_value()
        .get("oneOf")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    variants
        .iter()
        .filter_map(|v| {
            v.pointer("/properties/type/const")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect()
}

/// `loopback`: qunzhu listens on a loopback address only, where a placeholder token is
/// tolerated (a local trial; `serve` warns) — anywhere else it would let anyone in.
fn validate_connectors<'a>(
    connectors: impl Iterator<Item = (usize, &'a ConnectorConfig)>,
    loopback: bool,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut reverse_paths: Vec<(String, usize)> = Vec::new();
    let allowed = Capability::ALL
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ");
    for (index, connector) in connectors {
        let at = |keys: &[&str]| -> Vec<String> {
            ["connectors".to_owned(), format!("[{index}]")]
                .into_iter()
                .chain(keys.iter().map(|k| (*k).to_owned()))
                .collect()
        };
        let id = connector.id();
        if id.is_empty() {
            problems.push(Problem::new(
                at(&["id"]),
                "must not be empty; use letters, digits, `-` and `_`, e.g. \"shop\"",
            ));
        } else if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            problems.push(Problem::new(
                at(&["id"]),
                format!("`{id}` has characters a connector id cannot have; use only letters a-z A-Z, digits, `-` and `_`"),
            ));
        } else if id.eq_ignore_ascii_case(RESERVED_CONNECTOR_ID) {
            problems.push(Problem::new(
                at(&["id"]),
                "`sandbox` is reserved for the built-in sandbox; choose another id",
            ));
        }
        if let Some((_, first)) = seen.iter().find(|(other, _)| other == id) {
            problems.push(Problem::new(
                at(&["id"]),
                format!("duplicate connector id `{id}`: connectors[{first}] already uses it; every connector needs its own"),
            ));
        } else {
            seen.push((id.to_owned(), index));
        }
        if let Some((key, token)) = connector.token() {
            let token = token.expose().trim();
            let peer = match connector {
                ConnectorConfig::Bridge(_) => "the bridge",
                ConnectorConfig::Onebot(_) => "NapCat / Lagrange (its `token` / `AccessToken`)",
                #[cfg(feature = "matrix")]
                ConnectorConfig::Matrix(_) => "the homeserver",
                ConnectorConfig::Telegram(_) => "Telegram",
                ConnectorConfig::Wecom(_) => "the WeCom admin console",
            };
            if token.is_empty() {
                problems.push(Problem::new(
                    at(&[key]),
                    format!("must not be empty: set a long random secret (e.g. the output of `openssl rand -hex 32`) and give the same to {peer}"),
                ));
            } else if is_placeholder_token(token) && !loopback {
                problems.push(Problem::new(
                    at(&[key]),
                    format!("must be changed before listening beyond 127.0.0.1: set a long random secret (e.g. the output of `openssl rand -hex 32`) and give the same to {peer}"),
                ));
            }
        }
        if let ConnectorConfig::Onebot(onebot) = connector {
            problems.extend(onebot_problems(onebot, &mut reverse_paths, index, &at));
        }
        #[cfg(feature = "matrix")]
        if let ConnectorConfig::Matrix(matrix) = connector {
            problems.extend(matrix_problems(matrix, &at));
        }
        if let ConnectorConfig::Telegram(telegram) = connector {
            problems.extend(telegram.problems().into_iter().map(|(key, message)| Problem::new(at(&[key]), message)));
        }
        if let ConnectorConfig::Wecom(wecom) = connector {
            problems.extend(wecom.problems().into_iter().map(|(key, message)| Problem::new(at(&[key]), message)));
        }
        for (position, name) in connector.capability_names().iter().enumerate() {
            if Capability::from_name(name).is_none() {
                problems.push(Problem::new(
                    at(&["capabilities", &format!("[{position}]")]),
                    format!("unknown capability `{name}`; allowed: {allowed}"),
                ));
            }
        }
    }
    problems
}

/// Paths of qunzhu's own HTTP surface, which a reverse-WebSocket path must stay out of.
const OWN_PATHS: [&str; 4] = ["/api/", "/healthz", "/sandbox", "/dashboard"];

fn onebot_problems(
    onebot: &OnebotConfig,
    reverse_paths: &mut Vec<(String, usize)>,
    index: usize,
    at: &dyn Fn(&[&str]) -> Vec<String>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    match onebot.mode {
        OnebotMode::ReverseWs | OnebotMode::Http => {
            let path = onebot.path.as_str();
            let (example, scheme) = if onebot.mode == OnebotMode::Http {
                ("/onebot/v11/http", "http")
            } else {
                ("/onebot/v11/ws", "ws")
            };
            if !path.starts_with('/') || path.len() < 2 || path.contains(['?', '#', '{', '}', ' ']) {
                problems.push(Problem::new(
                    at(&["path"]),
                    format!("`{path}` is not a URL path; write it like \"{example}\" (NapCat's URL is then {scheme}://<qunzhu>:<port>{example})"),
                ));
            } else if OWN_PATHS.iter().any(|own| path.starts_with(own) || own.trim_end_matches('/') == path) {
                problems.push(Problem::new(
                    at(&["path"]),
                    format!("`{path}` collides with qunzhu's own pages and API; use e.g. \"{example}\""),
                ));
            } else if let Some((_, first)) = reverse_paths.iter().find(|(other, _)| other == path) {
                problems.push(Problem::new(
                    at(&["path"]),
                    format!("connectors[{first}] already listens on `{path}`; give every OneBot connector its own path, e.g. \"{example}/2\""),
                ));
            } else {
                reverse_paths.push((path.to_owned(), index));
            }
            if onebot.mode == OnebotMode::Http {
                match onebot.url.as_deref().map(str::trim) {
                    None | Some("") => problems.push(Problem::new(
                        at(&["url"]),
                        "`http` needs the implementation's HTTP API address, e.g. url = \"http://127.0.0.1:3000\"",
                    )),
                    // The OneBot clients are built without TLS: implementations run beside
                    // qunzhu (same host or private network), and a URL that can never connect
                    // is better refused here than retried for ever.
                    Some(url) if url.starts_with("https://") => problems.push(Problem::new(
                        at(&["url"]),
                        format!("`{url}`: https is not supported for OneBot; run the implementation beside qunzhu and use http://, e.g. \"http://127.0.0.1:3000\""),
                    )),
                    Some(url) if !url.starts_with("http://") => problems.push(Problem::new(
                        at(&["url"]),
                        format!("`{url}` is not an HTTP address; it starts with http://, e.g. \"http://127.0.0.1:3000\""),
                    )),
                    Some(_) => {}
                }
            }
        }
        OnebotMode::ForwardWs => match onebot.url.as_deref().map(str::trim) {
            None | Some("") => problems.push(Problem::new(
                at(&["url"]),
                "`forward_ws` needs the implementation's WebSocket address, e.g. url = \"ws://127.0.0.1:3001\"",
            )),
            Some(url) if url.starts_with("wss://") => problems.push(Problem::new(
                at(&["url"]),
                format!("`{url}`: wss is not supported for OneBot; run the implementation beside qunzhu and use ws://, e.g. \"ws://127.0.0.1:3001\""),
            )),
            Some(url) if !url.starts_with("ws://") => problems.push(Problem::new(
                at(&["url"]),
                format!("`{url}` is not a WebSocket address; it starts with ws://, e.g. \"ws://127.0.0.1:3001\""),
            )),
            Some(_) => {}
        },
    }
    if onebot.call_timeout_secs == 0 {
        problems.push(Problem::new(at(&["call_timeout_secs"]), "must be at least 1 (the default is 10)"));
    }
    if onebot.reconnect_max_secs == 0 {
        problems.push(Problem::new(at(&["reconnect_max_secs"]), "must be at least 1 (the default is 30)"));
    }
    problems
}

#[cfg(feature = "matrix")]
fn matrix_problems(matrix: &MatrixConfig, at: &dyn Fn(&[&str]) -> Vec<String>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let homeserver = matrix.homeserver.trim();
    if !(homeserver.starts_with("http://") || homeserver.starts_with("https://")) || homeserver.len() < "http://x".len() {
        problems.push(Problem::new(
            at(&["homeserver"]),
            format!("`{homeserver}` is not the homeserver's address; write it like \"https://matrix.example.org\" or \"http://127.0.0.1:8008\""),
        ));
    }
    let user = matrix.user.trim();
    let well_formed = user
        .strip_prefix('@')
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(local, server)| !local.is_empty() && !server.is_empty());
    if !well_formed {
        problems.push(Problem::new(
            at(&["user"]),
            format!("`{user}` is not a full Matrix user id; write it like \"@qunzhu:example.org\""),
        ));
    }
    let set = |secret: &Option<Secret>| secret.as_ref().is_some_and(|s| !s.expose().trim().is_empty());
    match (set(&matrix.password), set(&matrix.access_token)) {
        (false, false) => problems.push(Problem::new(
            at(&["password"]),
            "the bot account needs `password` or `access_token` to log in",
        )),
        (true, true) => problems.push(Problem::new(
            at(&["access_token"]),
            "set `password` or `access_token`, not both",
        )),
        _ => {}
    }
    if matrix.reconnect_max_secs == 0 {
        problems.push(Problem::new(at(&["reconnect_max_secs"]), "must be at least 1 (the default is 30)"));
    }
    problems
}

// ---------------------------------------------------------------------------------------
// The example config

/// Everything a config can hold, with example values for what is left out by default; the
/// example shows these commented out.
fn sample() -> Config {
    Config {
        database: Some("postgres://qunzhu:password@localhost:5432/qunzhu".into()),
        public_url: Some("https://qun.example.com".into()),
        engine: EngineOptions {
            partitions: Some(16),
            ..EngineOptions::default()
        },
        connectors: vec![ConnectorConfig::Bridge(BridgeConfig {
            id: "shop".into(),
            token: Secret::new("change-me"),
            capabilities: ["send", "reply", "delete", "mute", "kick", "approve_join"]
                .map(String::from)
                .to_vec(),
        }), ConnectorConfig::Onebot(OnebotConfig::reverse_ws("qq", "change-me")),
        #[cfg(feature = "matrix")]
        ConnectorConfig::Matrix(MatrixConfig::with_password("matrix", "http://127.0.0.1:8008", "@qunzhu:localhost", "change-me")),
        ConnectorConfig::Telegram(TelegramConfig::polling("telegram", "123456:change-me")),
        ConnectorConfig::Wecom(WecomConfig {
            staff_userids: vec!["zhangsan".into()],
            ..WecomConfig::new("wecom", "ww1234567890abcdef", 1000002, "change-me", "changeme", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")
        })],
        ..Config::default()
    }
}

const EXAMPLE_HEADER: &str = "\
# qunzhu.toml — the deployment config of qunzhu (群主).
#
# Generated from qunzhu's code (`qunzhu init`); the comments are the documentation of each
# key. Every key is optional: qunzhu runs with no file at all. Lines starting with `# key =`
# show settings that are off by default; remove the `# ` to use them.
# Check a file with `qunzhu config check qunzhu.toml`.
#
# Rules, templates and groups are not configured here: they live in the database, edited
# in the dashboard or with `qunzhu rules export` / `qunzhu rules import`.

";

/// The commented example `qunzhu.toml`: every key of [`Config`] with its doc comment, set
/// to its default, and the settings that are off by default (a PostgreSQL URL, a bridge
/// connector…) commented out. It parses to [`Config::default`].
pub fn example_toml() -> String {
    let schema = schemars::schema_for!(Config);
    let schema = schema.as_value();
    let defaults = serde_json::to_value(Config::default()).unwrap_or(Value::Null);
    let sample = sample();
    let sample_value = serde_json::to_value(&sample).unwrap_or(Value::Null);
    let order = toml::to_string(&sample)
        .map(|text| key_order(&text))
        .unwrap_or_default();
    let mut out = String::from(EXAMPLE_HEADER);
    let writer = ExampleWriter {
        defs: schema.get("$defs"),
    };
    writer.table(
        &mut out,
        &[],
        schema,
        Some(&defaults),
        &sample_value,
        &order,
        false,
    );
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Key order of a TOML document, table by table (the serializer writes struct fields in
/// declaration order; the schema's maps are sorted, so the order is taken from here).
#[derive(Debug, Default)]
struct KeyOrder(Vec<(String, KeyOrder)>);

fn key_order(text: &str) -> KeyOrder {
    fn of_table(table: &DeTable<'_>) -> KeyOrder {
        let mut keys: Vec<_> = table.iter().collect();
        keys.sort_by_key(|(key, _)| key.span().start);
        KeyOrder(
            keys.into_iter()
                .map(|(key, value)| (key.get_ref().to_string(), of_value(value.get_ref())))
                .collect(),
        )
    }
    fn of_value(value: &DeValue<'_>) -> KeyOrder {
        match value {
            DeValue::Table(table) => of_table(table),
            // Every key of every element (connectors of different types have different
            // keys), in the order first seen.
            DeValue::Array(items) => {
                let mut keys: Vec<(String, KeyOrder)> = Vec::new();
                for table in items.iter().filter_map(|item| item.get_ref().as_table()) {
                    for (key, inner) in of_table(table).0 {
                        if !keys.iter().any(|(k, _)| *k == key) {
                            keys.push((key, inner));
                        }
                    }
                }
                KeyOrder(keys)
            }
            _ => KeyOrder::default(),
        }
    }
    DeTable::parse(text)
        .map(|root| of_table(root.get_ref()))
        .unwrap_or_default()
}

struct ExampleWriter<'a> {
    defs: Option<&'a Value>,
}

impl ExampleWriter<'_> {
    /// Follows a `$ref` into `$defs`.
    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .and_then(|name| self.defs.and_then(|defs| defs.get(name)))
            .unwrap_or(schema)
    }

    /// Writes the keys of one table. `defaults` is `None` when the whole table is an
    /// example (commented out); then every line is commented.
    #[allow(clippy::too_many_arguments)]
    fn table(
        &self,
        out: &mut String,
        path: &[String],
        schema: &Value,
        defaults: Option<&Value>,
        sample: &Value,
        order: &KeyOrder,
        commented: bool,
    ) {
        let properties = self.resolve(schema).get("properties");
        let property = |key: &str| properties.and_then(|p| p.get(key)).unwrap_or(&Value::Null);
        let comment = if commented { "# " } else { "" };
        let is_tables = |v: &Value| {
            v.as_array()
                .is_some_and(|items| items.first().is_some_and(Value::is_object))
        };
        // TOML wants plain keys before the tables of a table.
        for (key, _) in &order.0 {
            let Some(example) = sample.get(key) else {
                continue;
            };
            if example.is_object() || is_tables(example) {
                continue;
            }
            describe(out, comment, property(key));
            match defaults.and_then(|d| d.get(key)).filter(|v| !v.is_null()) {
                Some(value) if !commented => out.push_str(&key_value(key, value)),
                _ => {
                    out.push_str("# ");
                    out.push_str(&key_value(key, example));
                }
            }
            // A commented-out table stays one block, so it can be uncommented at once.
            out.push_str(if commented { "\n" } else { "\n\n" });
        }
        for (key, inner_order) in &order.0 {
            let Some(example) = sample.get(key) else {
                continue;
            };
            let mut inner_path = path.to_vec();
            inner_path.push(key.clone());
            let header = inner_path.join(".");
            if example.is_object() {
                let inner_defaults = defaults.and_then(|d| d.get(key)).filter(|v| v.is_object());
                let commented = commented || inner_defaults.is_none();
                describe(out, comment, property(key));
                out.push_str(&format!(
                    "{}[{header}]\n",
                    if commented { "# " } else { comment }
                ));
                self.table(
                    out,
                    &inner_path,
                    property(key),
                    inner_defaults,
                    example,
                    inner_order,
                    commented,
                );
            } else if is_tables(example) {
                describe(out, comment, property(key));
                // Arrays of tables are examples here: the defaults have none.
                let items = self.resolve(property(key).get("items").unwrap_or(&Value::Null));
                for element in example.as_array().into_iter().flatten() {
                    let kind = element.get("type").and_then(Value::as_str);
                    let variant = items
                        .get("oneOf")
                        .and_then(Value::as_array)
                        .and_then(|variants| {
                            variants.iter().find(|v| {
                                v.pointer("/properties/type/const").and_then(Value::as_str) == kind
                            })
                        })
                        .unwrap_or(items);
                    out.push_str(&format!("#\n# [[{header}]]\n"));
                    describe(out, "# ", variant);
                    self.table(out, &inner_path, variant, None, element, inner_order, true);
                }
            }
        }
    }
}

/// The schema's description as `# ` lines, after `prefix` (`"# "` inside a commented-out
/// table, so that uncommenting the table keeps its descriptions as comments).
fn describe(out: &mut String, prefix: &str, schema: &Value) {
    if let Some(description) = schema.get("description").and_then(Value::as_str) {
        for line in description.lines() {
            out.push_str(format!("{prefix}# {line}").trim_end());
            out.push('\n');
        }
    }
}

/// `key = value` as TOML writes it.
fn key_value(key: &str, value: &Value) -> String {
    let mut table = toml::Table::new();
    if let Ok(value) = toml::Value::try_from(value) {
        table.insert(key.to_owned(), value);
    }
    toml::to_string(&table)
        .unwrap_or_default()
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shown(problems: &[Problem]) -> Vec<String> {
        problems.iter().map(ToString::to_string).collect()
    }

    fn problems_of(source: &str) -> Vec<String> {
        shown(&Config::from_toml(source).unwrap_err())
    }

    #[test]
    fn an_empty_file_is_the_default_config() {
        assert_eq!(Config::from_toml("").unwrap(), Config::default());
    }

    #[test]
    fn onebot_urls_that_need_tls_are_refused_with_what_to_do() {
        let source = "[[connectors]]\ntype = \"onebot\"\nid = \"qq\"\naccess_token = \"s3cret-token\"\nmode = \"forward_ws\"\nurl = \"wss://qq.example.com\"\n\n[[connectors]]\ntype = \"onebot\"\nid = \"qq2\"\naccess_token = \"s3cret-token\"\nmode = \"http\"\npath = \"/onebot/v11/http\"\nurl = \"https://qq.example.com\"\n";
        let problems = problems_of(source);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].starts_with("connectors[0].url") && problems[0].contains("use ws://"), "{problems:#?}");
        assert!(problems[1].starts_with("connectors[1].url") && problems[1].contains("use http://"), "{problems:#?}");
    }

    #[test]
    fn a_config_with_several_mistakes_reports_every_one_with_its_line() {
        let source = r#"listn = "127.0.0.1:9000"
locale = "fr"
data_dir = 3

[log]
level = "loud"
colour = true

[engine]
partitions = "many"
queue_depth = -1

[[connectors]]
type = "bridge"
id = "shop"
token = "change-me"
capabilities = ["send", "teleport"]

[[connectors]]
type = "bridge"
id = "shop"
token = ""
"#;
        let problems = problems_of(source);
        let expected = [
            "listn (line 1, column 1): unknown field `listn`",
            "locale (line 2, column 1): unknown variant `fr`, expected `zh-CN` or `en`",
            "data_dir (line 3, column 1): invalid type: integer `3`",
            "log.colour (line 7, column 1): unknown field `colour`",
            "engine.partitions (line 10, column 1): invalid type: string \"many\"",
            "engine.queue_depth (line 11, column 1): invalid value: integer `-1`",
            "log.level (line 6, column 1): `loud` is not a log level",
            "connectors[0].capabilities[1] (line 17, column 25): unknown capability `teleport`; allowed: send, reply, mention,",
            "connectors[1].id (line 21, column 1): duplicate connector id `shop`: connectors[0] already uses it",
            "connectors[1].token (line 22, column 1): must not be empty",
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
        for want in expected {
            assert!(
                problems.iter().any(|p| p.starts_with(want)),
                "missing {want:?} in {problems:#?}"
            );
        }
    }

    #[test]
    fn unknown_keys_name_the_allowed_ones() {
        let problems = problems_of("listn = \"127.0.0.1:1\"\n");
        assert!(
            problems[0].contains("expected one of `listen`, `data_dir`"),
            "{problems:#?}"
        );
    }

    #[test]
    fn every_bad_key_of_one_connector_is_reported_on_its_own() {
        let source = "[[connectors]]\ntype = \"bridge\"\nid = \"a b\"\ntokn = \"x\"\ncapabilities = \"send\"\nurl = 1\n";
        let problems = problems_of(source);
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("connectors[0].tokn (line 4, column 1): unknown field `tokn`, expected one of `id`, `token`"), "{problems:#?}");
        assert!(problems[1].starts_with("connectors[0].capabilities (line 5, column 1): invalid type: string \"send\", expected a sequence"), "{problems:#?}");
        assert!(
            problems[2].starts_with("connectors[0].url (line 6, column 1): unknown field `url`"),
            "{problems:#?}"
        );
    }

    #[test]
    fn a_connector_without_a_required_key_or_type_says_what_is_missing() {
        let problems = problems_of(
            "[[connectors]]\ntype = \"bridge\"\nid = \"shop\"\n\n[[connectors]]\nid = \"b\"\n\n[[connectors]]\ntype = \"telegraph\"\n",
        );
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(
            problems[0].starts_with("connectors[0] (line 1"),
            "{problems:#?}"
        );
        assert!(
            problems[0].contains("missing `token`, required for a `bridge` connector"),
            "{problems:#?}"
        );
        assert!(
            problems[1].starts_with("connectors[1] (line 5"),
            "{problems:#?}"
        );
        assert!(
            problems[1].contains("missing `type`") && problems[1].contains("bridge"),
            "{problems:#?}"
        );
        assert!(problems[2].starts_with("connectors[2].type (line 9, column 1): unknown connector type `telegraph`; allowed: bridge"), "{problems:#?}");
    }

    #[test]
    fn connector_ids_are_restricted_and_sandbox_is_reserved() {
        let source = "[[connectors]]\ntype = \"bridge\"\nid = \"shop/1\"\ntoken = \"s3cret-token\"\n\n[[connectors]]\ntype = \"bridge\"\nid = \"Sandbox\"\ntoken = \"s3cret-token\"\n\n[[connectors]]\ntype = \"bridge\"\nid = \"\"\ntoken = \"s3cret-token\"\n";
        let problems = problems_of(source);
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(
            problems[0].starts_with("connectors[0].id (line 3, column 1): `shop/1` has characters"),
            "{problems:#?}"
        );
        assert!(
            problems[1].starts_with("connectors[1].id (line 8, column 1): `sandbox` is reserved"),
            "{problems:#?}"
        );
        assert!(
            problems[2].starts_with("connectors[2].id (line 13, column 1): must not be empty"),
            "{problems:#?}"
        );
    }

    #[test]
    fn a_bad_listen_address_and_database_scheme_say_what_to_write() {
        let problems = problems_of(
            "listen = \"localhost:8080\"\ndatabase = \"mysql://root:hunter2@db/qunzhu\"\n",
        );
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].starts_with("listen (line 1, column 1): `localhost:8080` is not an IP address with a port; write e.g. \"127.0.0.1:8080\""), "{problems:#?}");
        assert!(
            problems[1].starts_with(
                "database (line 2, column 1): `mysql://root:***@db/qunzhu` is not a database URL"
            ),
            "{problems:#?}"
        );
        assert!(
            problems[1].contains("postgres://") && !problems[1].contains("hunter2"),
            "{problems:#?}"
        );
    }

    #[test]
    fn a_valid_config_with_a_bridge_parses() {
        let source = "listen = \"0.0.0.0:9000\"\ndatabase = \"postgres://q:pw@db/q\"\n[engine]\npartitions = 2\n[[connectors]]\ntype = \"bridge\"\nid = \"shop-1\"\ntoken = \"0123456789abcdef\"\ncapabilities = [\"send\", \"delete\"]\n";
        let config = Config::from_toml(source).unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.connectors.len(), 1);
        assert_eq!(config.connectors[0].id(), "shop-1");
        assert_eq!(config.engine_config().partitions, 2);
        assert_eq!(config.database_url(), Some("postgres://q:pw@db/q"));
    }

    #[test]
    fn toml_syntax_errors_name_their_line() {
        let problems =
            Config::from_toml("listen = \"127.0.0.1:80\"\n[log\nlevel = \"info\"\n").unwrap_err();
        assert!(!problems.is_empty());
        assert_eq!(problems[0].line, Some(2), "{:#?}", shown(&problems));
        assert!(
            problems[0].message.starts_with("TOML syntax error"),
            "{:#?}",
            shown(&problems)
        );
    }

    #[test]
    fn debug_output_hides_tokens_and_database_passwords() {
        let source = "database = \"postgres://q:hunter2@db/q\"\n[[connectors]]\ntype = \"bridge\"\nid = \"shop\"\ntoken = \"very-secret-token\"\n";
        let debug = format!("{:?}", Config::from_toml(source).unwrap());
        assert!(
            !debug.contains("hunter2") && !debug.contains("very-secret-token"),
            "{debug}"
        );
        assert!(debug.contains("shop"), "{debug}");
    }

    #[test]
    fn a_missing_file_says_how_to_make_one() {
        let error = Config::load(Path::new("/nonexistent/qunzhu.toml")).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("/nonexistent/qunzhu.toml") && text.contains("qunzhu init"),
            "{text}"
        );
    }

    #[test]
    fn the_example_parses_back_to_the_defaults() {
        assert_eq!(
            Config::from_toml(&example_toml()).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn the_example_documents_every_key() {
        let example = example_toml();
        for key in [
            "listen =",
            "data_dir =",
            "# database =",
            "locale =",
            "[log]",
            "level =",
            "[engine]",
            "# partitions =",
            "queue_depth =",
            "# [[connectors]]",
            "# type = \"bridge\"",
            "# id =",
            "# token =",
            "# capabilities =",
        ] {
            assert!(
                example.contains(key),
                "the example lacks {key:?}:\n{example}"
            );
        }
    }

    #[test]
    fn the_example_bridge_works_locally_and_its_placeholder_token_is_refused_beyond_loopback() {
        let example = example_toml();
        let (head, block) = example.split_at(example.find("# [[connectors]]").unwrap());
        let block: String = block
            .lines()
            .map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l)))
            .collect();
        let local = format!("{head}{block}");
        assert_eq!(Config::from_toml(&local).unwrap().connectors[0].kind(), "bridge");

        let public = local.replace("listen = \"127.0.0.1:8080\"", "listen = \"0.0.0.0:8080\"");
        let problems = Config::from_toml(&public).unwrap_err();
        assert_eq!(problems.len(), 2, "{:#?}", shown(&problems));
        assert_eq!(problems[0].dotted_path(), "connectors[0].token");
        assert_eq!(problems[1].dotted_path(), "connectors[1].access_token");
        assert!(problems.iter().all(|p| p.message.starts_with("must be changed")));
        assert!(problems[1].message.contains("NapCat"));
        let fixed = public.replace("token = \"change-me\"", "token = \"a-real-secret\"");
        let fixed = Config::from_toml(&fixed).unwrap();
        assert_eq!(fixed.connectors[0].kind(), "bridge");
        assert_eq!(fixed.connectors[1].kind(), "onebot");
    }

    #[test]
    fn telegram_connectors_are_checked_and_each_mistake_named() {
        let source = "[[connectors]]\ntype = \"telegram\"\nid = \"tg\"\ntoken = \"oops\"\nmode = \"webhook\"\n\n\
            [[connectors]]\ntype = \"telegram\"\nid = \"tg2\"\ntoken = \"123456:ABC-DEF\"\nmode = \"webhook\"\nwebhook_secret = \"has spaces\"\napi_url = \"nowhere\"\n";
        let problems = Config::from_toml(source).unwrap_err();
        let mut paths: Vec<String> = problems.iter().map(Problem::dotted_path).collect();
        paths.sort();
        assert_eq!(
            paths,
            ["connectors[0].token", "connectors[0].webhook_secret", "connectors[1].api_url", "connectors[1].webhook_secret"],
            "{problems:#?}"
        );
        let fine = "[[connectors]]\ntype = \"telegram\"\nid = \"tg\"\ntoken = \"123456:ABC-DEF\"\nstaff_chat_id = -100123\n";
        let config = Config::from_toml(fine).unwrap();
        let ConnectorConfig::Telegram(telegram) = &config.connectors[0] else { panic!() };
        assert_eq!((telegram.mode, telegram.api_url.as_str()), (qunzhu_connectors::telegram::TelegramMode::Polling, "https://api.telegram.org"));
    }

    #[test]
    fn onebot_paths_and_urls_are_checked_and_each_mistake_named() {
        let source = "[[connectors]]\ntype = \"onebot\"\nid = \"qq\"\naccess_token = \"s3cret-token\"\npath = \"/api/v1/ws\"\n\n\
            [[connectors]]\ntype = \"onebot\"\nid = \"qq2\"\naccess_token = \"\"\nmode = \"forward_ws\"\nurl = \"http://x\"\ncall_timeout_secs = 0\n\n\
            [[connectors]]\ntype = \"onebot\"\nid = \"qq3\"\naccess_token = \"s3cret-token\"\nmode = \"http\"\npath = \"/onebot/v11/http\"\nurl = \"ws://x\"\n\n\
            [[connectors]]\ntype = \"onebot\"\nid = \"qq4\"\naccess_token = \"s3cret-token\"\nmode = \"http\"\npath = \"/onebot/v11/http\"\n\n\
            [[connectors]]\ntype = \"onebot\"\nid = \"qq5\"\naccess_token = \"s3cret-token\"\nmode = \"magic\"\n";
        let problems = problems_of(source);
        assert_eq!(problems.len(), 8, "{problems:#?}");
        assert!(problems[0].starts_with("connectors[0].path") && problems[0].contains("collides"), "{problems:#?}");
        assert!(problems.iter().any(|p| p.starts_with("connectors[1].access_token") && p.contains("must not be empty")), "{problems:#?}");
        assert!(problems.iter().any(|p| p.starts_with("connectors[1].url") && p.contains("ws://")), "{problems:#?}");
        assert!(problems.iter().any(|p| p.starts_with("connectors[1].call_timeout_secs")), "{problems:#?}");
        assert!(problems.iter().any(|p| p.starts_with("connectors[2].url") && p.contains("http://")), "{problems:#?}");
        assert!(problems.iter().any(|p| p.starts_with("connectors[3].path") && p.contains("connectors[2] already listens")), "{problems:#?}");
        assert!(problems.iter().any(|p| p.starts_with("connectors[3].url") && p.contains("HTTP API")), "{problems:#?}");
        assert!(problems.iter().any(|p| p.starts_with("connectors[4].mode") && p.contains("http")), "{problems:#?}");
        let http = "[[connectors]]\ntype = \"onebot\"\nid = \"qq\"\naccess_token = \"s3cret-token\"\nmode = \"http\"\n\
            path = \"/onebot/v11/http\"\nurl = \"http://127.0.0.1:3000\"\nsecret = \"sign-me\"\n";
        let config = Config::from_toml(http).unwrap();
        let ConnectorConfig::Onebot(onebot) = &config.connectors[0] else { panic!() };
        assert_eq!((onebot.mode, onebot.event_secret().map(Secret::expose)), (OnebotMode::Http, Some("sign-me")));
        let fine = "[[connectors]]\ntype = \"onebot\"\nid = \"qq\"\naccess_token = \"s3cret-token\"\n";
        let config = Config::from_toml(fine).unwrap();
        let ConnectorConfig::Onebot(onebot) = &config.connectors[0] else { panic!() };
        assert_eq!((onebot.path.as_str(), onebot.mode), ("/onebot/v11/ws", OnebotMode::ReverseWs));
    }

    #[test]
    fn wecom_connectors_read_as_in_the_issue_and_each_mistake_is_named() {
        let fine = "[[connectors]]\nid = \"wecom\"\ntype = \"wecom\"\ncorp_id = \"ww1234567890abcdef\"\nagent_id = 1000002\n\
            secret = \"app-secret\"\ntoken = \"QDG6eK\"\nencoding_aes_key = \"jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C\"\n";
        let config = Config::from_toml(fine).unwrap();
        let ConnectorConfig::Wecom(wecom) = &config.connectors[0] else { panic!() };
        assert_eq!((wecom.agent_id, wecom.api_base.as_str()), (1000002, "https://qyapi.weixin.qq.com"));
        let bad = "[[connectors]]\nid = \"wecom\"\ntype = \"wecom\"\ncorp_id = \"\"\nagent_id = 0\n\
            secret = \"app-secret\"\ntoken = \"QDG6eK\"\nencoding_aes_key = \"too-short\"\n";
        let error: Vec<String> = Config::from_toml(bad).unwrap_err().iter().map(ToString::to_string).collect();
        let error = error.join("\n");
        for key in ["connectors[0].corp_id", "connectors[0].agent_id", "connectors[0].encoding_aes_key"] {
            assert!(error.contains(key), "{key} in {error}");
        }
        assert!(error.contains("43-character EncodingAESKey"), "{error}");
    }

    #[test]
    fn the_committed_example_is_up_to_date() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../qunzhu.example.toml");
        let fresh = example_toml();
        if std::env::var_os("UPDATE_EXAMPLE").is_some() {
            std::fs::write(&path, &fresh).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "qunzhu.example.toml is stale (the config types or their doc comments changed); \
             regenerate it with `UPDATE_EXAMPLE=1 cargo test -p qunzhu example` and commit it"
        );
    }

    /// Small edits of the example: deletions, insertions of TOML-ish fragments, swapped lines.
    fn mutated_example() -> impl Strategy<Value = String> {
        let example: Vec<char> = example_toml().chars().collect();
        let len = example.len();
        let fragment = prop_oneof![
            Just("=".to_owned()),
            Just("[".to_owned()),
            Just("]]".to_owned()),
            Just("\"".to_owned()),
            Just("\n[[connectors]]\n".to_owned()),
            Just("\ntype = \"bridge\"\n".to_owned()),
            Just("\nid = \"sandbox\"\n".to_owned()),
            Just("\n[log]\n".to_owned()),
            Just("1979-05-27T07:32:00Z".to_owned()),
            Just("{ a = 1 }".to_owned()),
            "[ -~\u{4e00}-\u{4e10}\n]{0,12}",
        ];
        proptest::collection::vec((0..=len, 0..4usize, fragment), 1..6).prop_map(move |edits| {
            let mut text = example.clone();
            for (at, removed, insert) in edits {
                let at = at.min(text.len());
                let end = (at + removed).min(text.len());
                text.splice(at..end, insert.chars());
            }
            text.into_iter().collect()
        })
    }

    proptest! {
        #[test]
        fn from_toml_never_panics_on_arbitrary_text(source in "\\PC{0,200}") {
            let _ = Config::from_toml(&source);
        }

        #[test]
        fn from_toml_never_panics_on_mutations_of_the_example(source in mutated_example()) {
            if let Err(problems) = Config::from_toml(&source) {
                prop_assert!(!problems.is_empty());
                for problem in problems {
                    prop_assert!(!problem.message.is_empty());
                }
            }
        }

        #[test]
        fn from_toml_never_panics_on_uncommented_examples(lines in proptest::collection::vec(any::<bool>(), 80)) {
            let source: String = example_toml()
                .lines()
                .zip(lines.iter().cycle())
                .map(|(line, uncomment)| format!("{}\n", if *uncomment { line.strip_prefix("# ").unwrap_or(line) } else { line }))
                .collect();
            let _ = Config::from_toml(&source);
        }
    }
}
