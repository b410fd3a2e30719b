//! `qunzhu admin …`: dashboard accounts and API tokens from the command line (the owner
//! can be created here instead of the first-run page; a forgotten password is reset here).

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use qunzhu_core::accounts::Role;
use qunzhu_core::{Store, SystemClock};

use crate::accounts::{Auth, AuthError};
use crate::cli::StoreArgs;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a dashboard account (the first one should be an owner)
    Create {
        /// The login name (letters, digits, . _ -; stored in lower case)
        name: String,
        /// What the account may do
        #[arg(long, value_enum, default_value_t = RoleArg::Owner)]
        role: RoleArg,
        /// The name shown in the dashboard [default: the login name]
        #[arg(long, value_name = "TEXT")]
        display_name: Option<String>,
        /// Read the password from the first line of standard input instead of prompting
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List dashboard accounts
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set an account's password (its sessions end)
    Passwd {
        name: String,
        /// Read the password from the first line of standard input instead of prompting
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable an account (it cannot log in; its sessions end) or enable it again
    Disable {
        name: String,
        /// Enable it instead
        #[arg(long)]
        enable: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// API tokens for automation (`Authorization: Bearer <token>`)
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (it is not stored, only its hash)
    Create {
        /// A name saying what uses it, e.g. 报表脚本
        name: String,
        #[arg(long, value_enum, default_value_t = RoleArg::Viewer)]
        role: RoleArg,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List tokens (never the tokens themselves)
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a token by its name or id
    Revoke {
        name_or_id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Owner,
    Operator,
    Viewer,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Owner => Role::Owner,
            RoleArg::Operator => Role::Operator,
            RoleArg::Viewer => Role::Viewer,
        }
    }
}

/// Runs an `admin` command.
///
/// # Errors
/// A bad name or password, a taken name, an unreachable store — worded for the operator.
pub async fn run(command: AdminCommand) -> anyhow::Result<ExitCode> {
    let store_args = match &command {
        AdminCommand::Create { store, .. }
        | AdminCommand::List { store }
        | AdminCommand::Passwd { store, .. }
        | AdminCommand::Disable { store, .. } => store.clone(),
        AdminCommand::Token(TokenCommand::Create { store, .. } | TokenCommand::List { store } | TokenCommand::Revoke { store, .. }) => {
            store.clone()
        }
    };
    let (config, _) = store_args.resolve()?;
    let store = crate::serve::open_store(&config).await?;
    let result = carry_out(command, &store).await;
    store.close().await;
    result
}

async fn carry_out(command: AdminCommand, store: &Arc<dyn Store>) -> anyhow::Result<ExitCode> {
    let auth = Auth::new(store.clone(), Arc::new(SystemClock));
    let actor = "cli";
    match command {
        AdminCommand::Create { name, role, display_name, password_stdin, .. } => {
            crate::accounts::normalize_login(&name).map_err(explain)?;
            let password = read_password(password_stdin, true)?;
            let account = auth
                .create_account(&name, display_name.as_deref().unwrap_or(""), &password, role.into(), false, actor)
                .await
                .map_err(explain)?;
            println!("created {} account `{}` (id {}); log in at /login", account.role.name(), account.login, account.id);
        }
        AdminCommand::List { .. } => {
            let accounts = store.list_accounts().await?;
            if accounts.is_empty() {
                println!("no accounts yet: create the owner with `qunzhu admin create NAME` or at /setup");
            }
            for account in accounts {
                println!(
                    "{:<4} {:<20} {:<9} {}{}  created {}",
                    account.id,
                    account.login,
                    account.role.name(),
                    account.display_name,
                    if account.disabled { "  [disabled]" } else { "" },
                    account.created_at.format("%Y-%m-%d %H:%M UTC"),
                );
            }
        }
        AdminCommand::Passwd { name, password_stdin, .. } => {
            let password = read_password(password_stdin, true)?;
            let account = auth.set_password(&name, &password, actor).await.map_err(explain)?;
            println!("password of `{}` changed; its sessions were ended", account.login);
        }
        AdminCommand::Disable { name, enable, .. } => {
            let change = qunzhu_core::accounts::AccountChange { disabled: Some(!enable), ..Default::default() };
            let account = auth.update_account(&name, change, actor).await.map_err(explain)?;
            println!("`{}` is {}", account.login, if account.disabled { "disabled" } else { "enabled" });
        }
        AdminCommand::Token(TokenCommand::Create { name, role, .. }) => {
            let (token, made) = auth.create_token(&name, role.into(), actor).await.map_err(explain)?;
            eprintln!("created {} token `{}` (id {}); it is shown once, keep it now:", made.role.name(), made.name, made.id);
            println!("{token}");
        }
        AdminCommand::Token(TokenCommand::List { .. }) => {
            for token in store.list_api_tokens().await? {
                let state = match (token.revoked_at, token.last_used_at) {
                    (Some(at), _) => format!("revoked {}", at.format("%Y-%m-%d %H:%M UTC")),
                    (None, Some(at)) => format!("last used {}", at.format("%Y-%m-%d %H:%M UTC")),
                    (None, None) => "never used".to_owned(),
                };
                println!("{:<4} {:<24} {:<9} by {:<12} {state}", token.id, token.name, token.role.name(), token.created_by);
            }
        }
        AdminCommand::Token(TokenCommand::Revoke { name_or_id, .. }) => {
            if auth.revoke_token(&name_or_id, actor).await? {
                println!("revoked `{name_or_id}`");
            } else {
                eprintln!("error: no live token named `{name_or_id}` (or with that id); `qunzhu admin token list` lists them");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn explain(error: AuthError) -> anyhow::Error {
    match error {
        AuthError::Store(e) => anyhow::Error::new(e).context("could not use the account store"),
        other => anyhow::anyhow!("{other}"),
    }
}

/// The password: the first line of standard input, or typed twice without echo.
fn read_password(from_stdin: bool, confirm: bool) -> anyhow::Result<String> {
    let password = if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("could not read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let first = rpassword::prompt_password("password: ").context("could not read the password")?;
        if confirm {
            let again = rpassword::prompt_password("again: ").context("could not read the password")?;
            if again != first {
                anyhow::bail!("the two passwords differ; nothing was changed");
            }
        }
        first
    };
    crate::accounts::check_password(&password).map_err(explain)?;
    Ok(password)
}
