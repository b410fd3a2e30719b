//! qunzhu's persistent stores: the [`Store`] contract of `qunzhu-core` on real databases.
//!
//! - [`open`] — picks the backend from a database URL (`sqlite:` or `postgres://`), connects,
//!   and brings the schema up to date; [`open_sqlite_file`] for a plain file path.
//! - [`sqlite`] — [`SqliteStore`]: one WAL-mode file, the default for one machine.
//! - [`postgres`] — [`PostgresStore`]: the shared store when qunzhu grows past one machine.
//! - `points`, `writes` — SQL written once for both backends (tables whose times are BIGINT
//!   microseconds in each): the points ledger and check-ins, the shop and inventories, and the dispatch of a commit's
//!   [`StateWrite`](qunzhu_core::StateWrite)s. New tables follow this pattern.
//! - `schedules` — scheduled posts (migration `0005_schedules`), written the same way.
//! - `content`, `faq` — the content library and auto-reply state, their SQL written once for
//!   both backends (a macro per file, instantiated for SQLite and PostgreSQL).
//! - `signup`, `lottery` — sign-up lists (接龙) and lotteries (抽奖), the same way.
//! - `growth` — referrals, invite codes, campaigns, milestones and custom counters (migration
//!   `0010`), the same way.
//! - `membership` — member counts and, as membership grows, its tables, the same way.
//! - `accounts` — dashboard accounts, sessions and API tokens (migration `0019`), the same way.
//! - `common` — codecs and the state transitions both backends share with the reference
//!   `MemoryStore`, so neither can drift from it.
//! - [`OpenError`] — why a store could not be opened, worded for the operator.
//!
//! Each backend embeds its own migrations (`migrations/sqlite`, `migrations/postgres`) at
//! compile time and runs them on open. One story test suite (`tests/story.rs`) runs against
//! the in-memory store, SQLite and PostgreSQL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use qunzhu_core::Store;
use thiserror::Error;

mod common;
mod admission;
mod lottery;
mod membership;
mod points;
mod shop;
mod schedules;
mod signup;
mod writes;
mod content;
mod faq;
mod growth;
mod gate;
mod insight;
mod care;
mod tasks;
mod life_stage;
mod digest;
mod overview;
mod accounts;
mod platform;
pub mod postgres;
pub mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Why [`open`] failed. Every message says what to check; none contains a password.
#[derive(Debug, Error)]
pub enum OpenError {
    #[error(
        "database URL `{url}` is not supported: use `sqlite:<path>` (e.g. `sqlite://data/qunzhu.db`) or \
         `postgres://user:password@host:5432/dbname`"
    )]
    UnsupportedScheme { url: String },

    #[error("database URL `{url}` is malformed: {reason}")]
    InvalidUrl { url: String, reason: String },

    #[error(
        "could not create the directory {path} for the SQLite database: {source}; check that it is writable by the user running qunzhu"
    )]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "could not open the SQLite database {path}: {source}; check the path and its permissions (the directory must be writable too, for the WAL file)"
    )]
    Sqlite { path: PathBuf, source: sqlx::Error },

    #[error(
        "could not connect to PostgreSQL at {host}:{port}: {reason}; check that the server is running and reachable from here and that the database URL `{url}` is right"
    )]
    PostgresUnreachable {
        url: String,
        host: String,
        port: u16,
        reason: String,
    },

    #[error(
        "PostgreSQL at {host}:{port} refused the login of user `{user}`: {reason}; check the user name and password in the database URL `{url}`"
    )]
    PostgresAuth {
        url: String,
        host: String,
        port: u16,
        user: String,
        reason: String,
    },

    #[error(
        "the PostgreSQL database `{database}` does not exist on {host}:{port}; create it (`createdb {database}`) or fix the database URL `{url}`"
    )]
    PostgresNoDatabase {
        url: String,
        host: String,
        port: u16,
        database: String,
    },

    #[error(
        "could not bring the {backend} schema up to date: {source}; if this database was last used by a newer qunzhu, run that version or restore a backup"
    )]
    Migrate {
        backend: &'static str,
        source: sqlx::migrate::MigrateError,
    },
}

/// Opens the store a database URL names, running its migrations.
///
/// - `sqlite:<path>`, `sqlite://<path>` (a relative path is relative to the working
///   directory), `sqlite::memory:` for a throwaway database;
/// - `postgres://…` or `postgresql://…`, as libpq understands them.
///
/// # Errors
/// [`OpenError`]: an unknown scheme, a malformed URL, a database that cannot be opened or
/// reached, or a schema that cannot be migrated.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, OpenError> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("sqlite:") {
        let options: sqlx::sqlite::SqliteConnectOptions =
            url.parse()
                .map_err(|e: sqlx::Error| OpenError::InvalidUrl {
                    url: redact_url(url),
                    reason: e.to_string(),
                })?;
        let path = options.get_filename().to_path_buf();
        let in_memory = is_in_memory(url);
        if !in_memory {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|source| OpenError::CreateDir {
                        path: parent.to_path_buf(),
                        source,
                    })?;
            }
        }
        Ok(Arc::new(SqliteStore::open_with(options, in_memory).await?))
    } else if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(OpenError::UnsupportedScheme {
            url: redact_url(url),
        })
    }
}

/// Opens (creating it and its directory if missing) the SQLite database file at `path`.
///
/// # Errors
/// [`OpenError::CreateDir`], [`OpenError::Sqlite`] or [`OpenError::Migrate`].
pub async fn open_sqlite_file(path: &Path) -> Result<Arc<dyn Store>, OpenError> {
    Ok(Arc::new(SqliteStore::open_file(path).await?))
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// `url` with any password replaced by `***`, fit for errors and logs: both the
/// `user:password@` form and a `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = out[authority_start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| authority_start + i);
        // The last `@` ends the user info: a password may itself contain `@`.
        if let Some(at) = out[authority_start..authority_end].rfind('@') {
            let userinfo_end = authority_start + at;
            if let Some(colon) = out[authority_start..userinfo_end].find(':') {
                out.replace_range(authority_start + colon + 1..userinfo_end, "***");
            }
        }
    }
    if let Some(query_start) = out.find('?') {
        let (head, query) = out.split_at(query_start + 1);
        let query = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        out = format!("{head}{query}");
    }
    out
}

/// `text` with every occurrence of `secret` replaced, for error texts a driver may have
/// built from the URL.
pub(crate) fn scrub(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(secret) if !secret.is_empty() => text.replace(secret, "***"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_the_password_in_user_info_and_query() {
        assert_eq!(
            redact_url("postgres://qz:s3cr%40t@db.example:5432/qunzhu?sslmode=require"),
            "postgres://qz:***@db.example:5432/qunzhu?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://qz:p@ss@db/x"),
            "postgres://qz:***@db/x"
        );
        assert_eq!(
            redact_url("postgresql://db/qunzhu?user=qz&password=hunter2&sslmode=disable"),
            "postgresql://db/qunzhu?user=qz&password=***&sslmode=disable"
        );
        assert_eq!(
            redact_url("postgres://qz@db/qunzhu"),
            "postgres://qz@db/qunzhu"
        );
        assert_eq!(
            redact_url("sqlite://data/qunzhu.db"),
            "sqlite://data/qunzhu.db"
        );
    }

    #[tokio::test]
    async fn an_unknown_scheme_is_refused_without_echoing_the_password() {
        let Err(error) = open("mysql://root:hunter2@localhost/qz").await else {
            panic!("mysql URLs must be refused");
        };
        let text = error.to_string();
        assert!(
            matches!(error, OpenError::UnsupportedScheme { .. }),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("sqlite:"),
            "the message should say what is supported: {text}"
        );
    }

    #[tokio::test]
    async fn unreachable_postgres_names_the_host_and_hides_the_password() {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        let Err(error) = open("postgres://qz:hunter2@127.0.0.1:1/qunzhu").await else {
            panic!("nothing listens on port 1");
        };
        let text = error.to_string();
        assert!(
            matches!(error, OpenError::PostgresUnreachable { .. }),
            "{text}"
        );
        assert!(text.contains("127.0.0.1:1"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("check"), "{text}");
    }

    #[tokio::test]
    async fn an_in_memory_sqlite_url_keeps_its_data_across_calls() {
        let store = open("sqlite::memory:").await.unwrap();
        let key = qunzhu_core::GroupKey::new("qq", "1");
        store
            .touch_group(&key, Some("g"), chrono::Utc::now())
            .await
            .unwrap();
        let rulebook = qunzhu_core::store::NewRulebookVersion {
            parent: None,
            author: "cli".into(),
            note: "n".into(),
            changes: vec![],
            body: "{}".into(),
            time: chrono::Utc::now(),
        };
        store.rulebook_save(&rulebook).await.unwrap();
        assert_eq!(store.list_groups().await.unwrap().len(), 1);
        assert_eq!(store.list_audit(None, 10).await.unwrap().len(), 1);
        store.close().await;
    }

    #[tokio::test]
    async fn open_sqlite_file_creates_the_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/deeper/qunzhu.db");
        let store = open_sqlite_file(&path).await.unwrap();
        assert!(store.rulebook_head().await.unwrap().is_none());
        store.close().await;
        assert!(path.exists());
    }

    #[tokio::test]
    async fn a_sqlite_url_opens_a_file_store() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("sub/q.db").display());
        let store = open(&url).await.unwrap();
        assert!(store.list_groups().await.unwrap().is_empty());
        store.close().await;
        assert!(dir.path().join("sub/q.db").exists());
    }
}
