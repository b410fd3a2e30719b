//! The backends every store story is told to: the in-memory reference store, SQLite (a file
//! in a temp dir) and PostgreSQL (a fresh database per test on the server
//! `QUNZHU_TEST_POSTGRES_URL` names; `eval "$(scripts/postgres-test-server.sh)"` starts one).
//! Without that variable the PostgreSQL tests say so and pass — unless `CI` is set, where
//! they fail, so CI cannot skip them silently.
//!
//! A story file does `mod support; use support::*;` and lists its stories in `stories!`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

use qunzhu_core::Store;
use qunzhu_core::memory::MemoryStore;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Opens the same database again and again.
#[derive(Clone)]
pub struct Reopenable {
    pub open: Arc<dyn Fn() -> BoxFuture<Arc<dyn Store>> + Send + Sync>,
}

impl Reopenable {
    pub async fn open(&self) -> Arc<dyn Store> {
        (self.open)().await
    }
}

pub async fn on_memory<F: Future<Output = ()>>(story: impl FnOnce(Arc<dyn Store>) -> F) {
    story(Arc::new(MemoryStore::new())).await;
}

pub fn sqlite_file(dir: &tempfile::TempDir) -> Reopenable {
    let path = dir.path().join("data/qunzhu.db");
    Reopenable {
        open: Arc::new(move || {
            let path = path.clone();
            Box::pin(async move { qunzhu_store::open_sqlite_file(&path).await.unwrap() })
        }),
    }
}

pub async fn on_sqlite<F: Future<Output = ()>>(story: impl FnOnce(Arc<dyn Store>) -> F) {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_file(&dir).open().await;
    story(store.clone()).await;
    store.close().await;
}

pub async fn on_sqlite_reopened<F: Future<Output = ()>>(story: impl FnOnce(Reopenable) -> F) {
    let dir = tempfile::tempdir().unwrap();
    story(sqlite_file(&dir)).await;
}

/// A database of its own on the test server, so PostgreSQL tests run in parallel.
pub struct TestDatabase {
    pub server_url: String,
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    /// `None` (after saying why) when no server is configured outside CI.
    pub async fn create() -> Option<Self> {
        let Ok(server_url) = std::env::var("QUNZHU_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "QUNZHU_TEST_POSTGRES_URL is not set, and CI must not skip the PostgreSQL stories: \
                 run `eval \"$(scripts/postgres-test-server.sh)\"` first"
            );
            eprintln!(
                "SKIPPED: PostgreSQL story (QUNZHU_TEST_POSTGRES_URL is not set; \
                 `eval \"$(scripts/postgres-test-server.sh)\"` starts a server)"
            );
            return None;
        };
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "qz_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = sqlx::PgConnection::connect(&server_url).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let url = with_database(&server_url, &name);
        Some(Self {
            server_url,
            name,
            url,
        })
    }

    pub async fn drop_database(self) {
        let mut admin = sqlx::PgConnection::connect(&self.server_url).await.unwrap();
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await
        .unwrap();
        admin.close().await.unwrap();
    }

    pub fn reopenable(&self) -> Reopenable {
        let url = self.url.clone();
        Reopenable {
            open: Arc::new(move || {
                let url = url.clone();
                Box::pin(async move { qunzhu_store::open(&url).await.unwrap() })
            }),
        }
    }
}

/// `url` pointing at database `name` instead (query parameters kept).
pub fn with_database(url: &str, name: &str) -> String {
    let authority_start = url.find("://").unwrap() + 3;
    let path_start = url[authority_start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| authority_start + i);
    let query = url[path_start..]
        .find('?')
        .map_or("", |i| &url[path_start + i..]);
    format!("{}/{name}{query}", &url[..path_start])
}

/// Runs the story in its own task so a failing story still drops its database.
pub async fn on_postgres_with<F>(story: impl FnOnce(Reopenable) -> F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let outcome = tokio::spawn(story(database.reopenable())).await;
    database.drop_database().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

pub async fn on_postgres<F>(story: impl FnOnce(Arc<dyn Store>) -> F + Send + 'static)
where
    F: Future<Output = ()> + Send + 'static,
{
    on_postgres_with(|backend| async move {
        let store = backend.open().await;
        story(store.clone()).await;
        store.close().await;
    })
    .await;
}

pub async fn on_postgres_reopened<F>(story: impl FnOnce(Reopenable) -> F)
where
    F: Future<Output = ()> + Send + 'static,
{
    on_postgres_with(story).await;
}

#[macro_export]
macro_rules! stories {
    (any store: $($story:ident),* $(,)?; reopened: $($durable:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $story() {
                    super::on_memory(super::$story).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $story() {
                    super::on_sqlite(super::$story).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $durable() {
                    super::on_sqlite_reopened(super::$durable).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $story() {
                    super::on_postgres(super::$story).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $durable() {
                    super::on_postgres_reopened(super::$durable).await;
                }
            )*
        }
    };
}

