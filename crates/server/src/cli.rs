//! The `qunzhu` command line: one enum of subcommands, each documented where it is defined
//! (the doc comments are the `--help` text), and [`run`], which carries them out.
//!
//! Every error says what to do about it; config and rulebook problems are listed one per
//! line as `key.path (line L, column C): message`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use qunzhu_core::Store;
use qunzhu_engine::problems::Problem;
use qunzhu_engine::versions::{self, RulebookError};
use qunzhu_engine::{CompiledRulebook, Rulebook};
use tracing::info;

use crate::config::{Config, example_toml};

/// The file `qunzhu init` writes and `qunzhu serve` picks up when no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "qunzhu.toml";

/// qunzhu (群主): self-hosted community operations for chat groups.
#[derive(Debug, Parser)]
#[command(name = "qunzhu", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run qunzhu: HTTP API, dashboard, sandbox and connectors (works with no config file)
    Serve(ServeArgs),
    /// Write a commented example qunzhu.toml into the current folder
    Init {
        /// Overwrite an existing qunzhu.toml
        #[arg(long)]
        force: bool,
    },
    /// Check the deployment config (qunzhu.toml)
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Export, import, list and roll back the rulebook (rule templates and group bindings)
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Check messages for ads, spam and abuse and explain the verdict (no database needed)
    Moderate(crate::moderate_cli::ModerateArgs),
    /// Activity rollups (数据管理): `--rebuild` recomputes them from the stored events
    Rollup(RollupArgs),
    /// Sentiment (negative/neutral/positive) and question detection for chat messages
    Classify(crate::classify_cli::ClassifyArgs),
    /// Dashboard accounts and API tokens: create, list, passwd, disable, token create/revoke
    #[command(subcommand)]
    Admin(crate::admin_cli::AdminCommand),
}

#[derive(Debug, Args)]
pub struct RollupArgs {
    /// Forget the rollups and recompute them from every processed event in the store
    #[arg(long)]
    rebuild: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a config file and list every problem in it (exit 1 when there is any)
    Check {
        /// The config file, e.g. qunzhu.toml
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Write the rulebook in force as TOML, to FILE or to standard output
    Export {
        /// Where to write it; standard output when left out
        file: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Check a rulebook TOML file and save it as a new version (nothing changes on any error)
    Import {
        /// The rulebook file, as `qunzhu rules export` writes it
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
        /// Why it changed, kept in the version history
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// Who changed it (default: the USER environment variable)
        #[arg(long, value_name = "NAME")]
        author: Option<String>,
    },
    /// List rulebook versions, newest first
    History {
        /// How many versions to show
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Put an earlier rulebook version back in force (saved as a new version)
    Rollback {
        /// The version to go back to (see `qunzhu rules history`)
        #[arg(id = "to_version", value_name = "VERSION")]
        to: i64,
        #[command(flatten)]
        store: StoreArgs,
        /// Who rolled back (default: the USER environment variable)
        #[arg(long, value_name = "NAME")]
        author: Option<String>,
    },
}

/// Which config and database to use; flags override the config file.
#[derive(Debug, Clone, Default, Args)]
pub struct StoreArgs {
    /// Config file [default: ./qunzhu.toml when it exists, else built-in defaults]
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL: postgres://user:password@host/db or sqlite:<path> [default: SQLite in the data folder]
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Data folder; the SQLite database is DIR/qunzhu.db [default: ./qunzhu-data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on, e.g. 0.0.0.0:8080 [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
}

/// Where the config came from, to tell the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// `--config FILE`.
    Given(PathBuf),
    /// `./qunzhu.toml`, found in the current folder.
    Found(PathBuf),
    /// No file: built-in defaults.
    Defaults,
}

impl StoreArgs {
    /// The config file (given, or `./qunzhu.toml` when present, or the defaults) with the
    /// flags applied and checked again.
    ///
    /// # Errors
    /// An unreadable or invalid config file, or a flag with a bad value.
    pub fn resolve(&self) -> anyhow::Result<(Config, ConfigSource)> {
        let found = Path::new(DEFAULT_CONFIG_FILE);
        let (mut config, source) = match &self.config {
            Some(path) => (Config::load(path)?, ConfigSource::Given(path.clone())),
            None if found.is_file() => {
                (Config::load(found)?, ConfigSource::Found(found.to_owned()))
            }
            None => (Config::default(), ConfigSource::Defaults),
        };
        if let Some(database) = &self.database {
            config.database = Some(database.clone());
        }
        if let Some(data_dir) = &self.data_dir {
            config.data_dir = data_dir.clone();
        }
        let problems = config.validate();
        if !problems.is_empty() {
            bail!(
                "the configuration (file and flags) has {} problem(s):\n{}",
                problems.len(),
                lines(&problems)
            );
        }
        Ok((config, source))
    }
}

fn lines(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Carries out a command.
///
/// # Errors
/// Anything that stops the command, worded for the operator; the caller prints it and exits 1.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init { force } => init(Path::new(DEFAULT_CONFIG_FILE), force),
        Command::Config(ConfigCommand::Check { file }) => check(&file),
        Command::Serve(args) => {
            let (mut config, source) = args.store.resolve()?;
            if let Some(listen) = args.listen {
                config.listen = listen;
            }
            init_logging(&config.log.level);
            runtime()?.block_on(serve(config, source))
        }
        Command::Rules(command) => {
            init_logging("warn");
            runtime()?.block_on(rules(command))
        }
        Command::Moderate(args) => {
            init_logging("warn");
            crate::moderate_cli::run(&args)
        }
        Command::Rollup(args) => {
            init_logging("warn");
            runtime()?.block_on(rollup(args))
        }
        Command::Classify(args) => crate::classify_cli::run(&args),
        Command::Admin(command) => {
            init_logging("warn");
            runtime()?.block_on(crate::admin_cli::run(command))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")
}

/// Logs to standard error; `RUST_LOG` wins over the configured level.
fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Fails only when a subscriber is already set (tests calling `run` twice): keep that one.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn init(path: &Path, force: bool) -> anyhow::Result<ExitCode> {
    if path.exists() && !force {
        eprintln!(
            "error: {} already exists here; keep it, or overwrite it with `qunzhu init --force`",
            path.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    std::fs::write(path, example_toml()).with_context(|| {
        format!(
            "could not write {}; check that this folder is writable",
            path.display()
        )
    })?;
    println!(
        "wrote {0}: every key is documented in it and optional. Check it with `qunzhu config check {0}`, then run `qunzhu serve`.",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let source = std::fs::read_to_string(path).with_context(|| {
        format!(
            "could not read {}; check the path (create a config with `qunzhu init`)",
            path.display()
        )
    })?;
    match Config::from_toml(&source) {
        Ok(config) => {
            println!("OK: {} is valid", path.display());
            println!("  listen:     {}", config.listen);
            match config.database_url() {
                Some(url) => println!("  database:   {}", qunzhu_store::redact_url(url)),
                None => println!("  database:   SQLite at {}", config.sqlite_path().display()),
            }
            println!("  locale:     {}", config.locale.tag());
            let connectors: Vec<String> = config
                .connectors
                .iter()
                .map(|c| format!("{} ({})", c.id(), c.kind()))
                .collect();
            println!(
                "  connectors: {}",
                if connectors.is_empty() {
                    "none besides the sandbox".to_owned()
                } else {
                    connectors.join(", ")
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            eprintln!("{} has {} problem(s):", path.display(), problems.len());
            for problem in &problems {
                eprintln!("{problem}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn serve(config: Config, source: ConfigSource) -> anyhow::Result<ExitCode> {
    match &source {
        ConfigSource::Given(path) => info!(file = %path.display(), "using the config file"),
        ConfigSource::Found(path) => {
            info!(file = %path.display(), "using the config file found in the current folder (pass --config to use another)")
        }
        ConfigSource::Defaults => info!(
            "no config file: using the defaults (`qunzhu init` writes an example qunzhu.toml)"
        ),
    }
    let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| {
        format!(
            "could not listen on {}; is another program (another qunzhu?) using that port? Pick another with --listen or `listen` in the config",
            config.listen
        )
    })?;
    crate::serve::run(config, listener, crate::serve::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn rules(command: RulesCommand) -> anyhow::Result<ExitCode> {
    match command {
        RulesCommand::Export { file, store } => {
            let (config, _) = store.resolve()?;
            let (store, current) = open(&config).await?;
            let head = store.rulebook_version(current.version).await?;
            store.close().await;
            let body = current
                .rulebook
                .to_toml()
                .context("the rulebook could not be written as TOML")?;
            let mut text = format!(
                "# qunzhu rulebook, version {}, exported {}\n",
                current.version,
                Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
            );
            if let Some(head) = head {
                text.push_str(&format!(
                    "# version {} saved {} by {}: {}\n",
                    head.version,
                    head.time.format("%Y-%m-%d %H:%M:%S UTC"),
                    head.author,
                    head.note
                ));
            }
            text.push_str(
                "# Edit it, then save it as a new version with `qunzhu rules import FILE`.\n\n",
            );
            text.push_str(&body);
            match file {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("could not write {}", path.display()))?;
                    eprintln!(
                        "wrote rulebook version {} to {}",
                        current.version,
                        path.display()
                    );
                }
                None => std::io::stdout()
                    .write_all(text.as_bytes())
                    .context("could not write to standard output")?,
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Import {
            file,
            store,
            note,
            author,
        } => {
            let source = std::fs::read_to_string(&file)
                .with_context(|| format!("could not read {}; check the path", file.display()))?;
            // Checked before the database is even opened: a bad file changes nothing.
            let rulebook = match Rulebook::from_toml(&source) {
                Ok(rulebook) => rulebook,
                Err(problems) => return Ok(report_rulebook_problems(&file, &problems)),
            };
            let (config, _) = store.resolve()?;
            let (store, current) = open(&config).await?;
            if rulebook == current.rulebook {
                store.close().await;
                println!(
                    "{} is the same as rulebook version {}; nothing to save",
                    file.display(),
                    current.version
                );
                return Ok(ExitCode::SUCCESS);
            }
            let changes = rulebook.changes_from(&current.rulebook);
            let note = note.unwrap_or_else(|| format!("imported from {}", file.display()));
            let saved = versions::save(
                store.as_ref(),
                &current,
                rulebook,
                &author_or_user(author),
                &note,
                Utc::now(),
            )
            .await;
            store.close().await;
            match saved {
                Ok(saved) => {
                    println!(
                        "saved rulebook version {} ({} change(s)):",
                        saved.version,
                        changes.len()
                    );
                    for change in changes {
                        println!("  {change}");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(RulebookError::Invalid(problems)) => {
                    Ok(report_rulebook_problems(&file, &problems))
                }
                Err(error) => Err(rulebook_error(error)),
            }
        }
        RulesCommand::History { limit, store } => {
            let (config, _) = store.resolve()?;
            let (store, _) = open(&config).await?;
            let listed = store.rulebook_versions(limit).await;
            store.close().await;
            for version in listed? {
                let changes = if version.changes.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", version.changes.join(", "))
                };
                println!(
                    "v{:<4} {}  {}  {}{changes}",
                    version.version,
                    version.time.format("%Y-%m-%d %H:%M:%S UTC"),
                    version.author,
                    version.note
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Rollback {
            to: version,
            store,
            author,
        } => {
            let (config, _) = store.resolve()?;
            let (store, current) = open(&config).await?;
            let saved = versions::rollback(
                store.as_ref(),
                &current,
                version,
                &author_or_user(author),
                config.locale,
                Utc::now(),
            )
            .await;
            store.close().await;
            let saved = saved.map_err(rulebook_error)?;
            println!(
                "saved rulebook version {} with the content of version {version}",
                saved.version
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Opens the configured store and loads the rulebook in force (a fresh database gets the
/// built-in one as version 1).
async fn open(config: &Config) -> anyhow::Result<(Arc<dyn Store>, CompiledRulebook)> {
    let store = crate::serve::open_store(config).await?;
    match versions::load(store.as_ref(), config.locale, Utc::now()).await {
        Ok(current) => Ok((store, current)),
        Err(error) => {
            store.close().await;
            Err(rulebook_error(error))
        }
    }
}

fn rulebook_error(error: RulebookError) -> anyhow::Error {
    match error {
        RulebookError::Invalid(problems) => {
            anyhow::anyhow!(
                "the stored rulebook is invalid ({} problem(s)):\n{}",
                problems.len(),
                lines(&problems)
            )
        }
        RulebookError::UnknownVersion(version) => {
            anyhow::anyhow!(
                "there is no rulebook version {version}; `qunzhu rules history` lists them"
            )
        }
        RulebookError::Store(qunzhu_core::StoreError::Conflict(_)) => {
            anyhow::anyhow!(
                "someone saved the rulebook at the same time; export it again, redo your change and import it"
            )
        }
        other => anyhow::Error::new(other).context("could not use the rulebook store"),
    }
}

fn report_rulebook_problems(file: &Path, problems: &[Problem]) -> ExitCode {
    eprintln!(
        "{} has {} problem(s); nothing was changed:",
        file.display(),
        problems.len()
    );
    for problem in problems {
        eprintln!("{problem}");
    }
    ExitCode::FAILURE
}

fn author_or_user(author: Option<String>) -> String {
    author
        .or_else(|| std::env::var("USER").ok())
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "cli".to_owned())
}

/// `qunzhu rollup --rebuild`.
async fn rollup(args: RollupArgs) -> anyhow::Result<ExitCode> {
    if !args.rebuild {
        anyhow::bail!("say what to do: `qunzhu rollup --rebuild` recomputes the rollups from the stored events");
    }
    let (config, _) = args.store.resolve()?;
    let (store, rulebook) = open(&config).await?;
    let report = qunzhu_engine::insight::rebuild(store.as_ref(), &rulebook).await;
    store.close().await;
    let report = report.context("the rollups could not be rebuilt")?;
    println!("rollups rebuilt: {} events read, {} tallies counted", report.events, report.tallies);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_override_the_config_and_are_checked() {
        let args = StoreArgs {
            config: None,
            database: Some("mysql://x".into()),
            data_dir: Some("/tmp/x".into()),
        };
        let error = args.resolve().unwrap_err().to_string();
        assert!(
            error.contains("database") && error.contains("postgres://"),
            "{error}"
        );
    }
}

