//! The `qunzhu` binary: CLI, deployment config, wiring, HTTP API, pages.
//!
//! - [`accounts`] — dashboard accounts: argon2id passwords, sessions, API tokens, login limit.
//! - [`admin_cli`] — `qunzhu admin`: accounts and API tokens from the command line.
//! - [`cli`] — subcommands (`serve`, `init`, `config check`, `rules …`, `moderate`).
//! - [`moderate_cli`] — `qunzhu moderate`: a text's verdict with its evidence, offline.
//! - [`config`] — `qunzhu.toml`: types, loading with every problem reported, the example.
//! - [`serve`] — wiring: store, engine, connectors, outbox workers, HTTP; graceful shutdown.
//! - [`http`] — the router: health, bridge API, staff tasks, rulebook, the sandbox page.

pub mod accounts;
pub mod admin_cli;
pub mod classify_cli;
pub mod cli;
pub mod config;
pub mod dash;
pub mod http;
pub mod moderate_cli;
pub mod serve;
pub mod wecom_welcome;
