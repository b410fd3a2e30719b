//! The content library (素材库) on both backends: the SQL is written once, in a macro
//! instantiated for SQLite and for PostgreSQL. Times are BIGINT microseconds in both
//! (`common::micros`); the body and the tags are JSON text (NUL-safe on PostgreSQL).
//!
//! Tables: `content_items` (one row per item) and `content_tags` (one row per tag, for the
//! `?tag=` filter), from migration 0004.

use qunzhu_core::content::{ContentBody, ContentDraft, ContentItem};
use qunzhu_core::{StoreError, StoreResult};

use crate::common::{from_json, from_micros, to_json};

const COLUMNS: &str = "id, title, body, tags, author, created_at, updated_at, updated_by";

fn item(
    id: i64,
    title: String,
    body: &str,
    tags: &str,
    author: String,
    (created_at, updated_at): (i64, i64),
    updated_by: String,
) -> StoreResult<ContentItem> {
    Ok(ContentItem {
        id,
        title,
        body: from_json::<ContentBody>(body, "content body")?,
        tags: from_json(tags, "content tags")?,
        author,
        created_at: from_micros(created_at, "content created_at")?,
        updated_at: from_micros(updated_at, "content updated_at")?,
        updated_by,
    })
}

fn not_found(id: i64) -> StoreError {
    StoreError::NotFound(format!("content item #{id}"))
}

macro_rules! content_backend {
    ($module:ident, $db:ty, $row:ty, $insert_audit:path) => {
        pub(crate) mod $module {
            use chrono::{DateTime, Utc};
            use sqlx::{Pool, Row, Transaction};

            use qunzhu_core::content::{content_audit, ContentChange, ContentDraft, ContentItem};
            use qunzhu_core::StoreResult;

            use super::{item, not_found, COLUMNS};
            use crate::common::{backend, micros};

            fn from_row(row: &$row) -> StoreResult<ContentItem> {
                let get_text = |column: &str| row.try_get::<String, _>(column).map_err(backend);
                let get_int = |column: &str| row.try_get::<i64, _>(column).map_err(backend);
                item(
                    get_int("id")?,
                    get_text("title")?,
                    &get_text("body")?,
                    &get_text("tags")?,
                    get_text("author")?,
                    (get_int("created_at")?, get_int("updated_at")?),
                    get_text("updated_by")?,
                )
            }

            async fn write_tags(tx: &mut Transaction<'static, $db>, id: i64, tags: &[String]) -> StoreResult<()> {
                sqlx::query("DELETE FROM content_tags WHERE item_id = $1").bind(id).execute(&mut **tx).await.map_err(backend)?;
                for tag in tags {
                    sqlx::query("INSERT INTO content_tags (item_id, tag) VALUES ($1, $2)")
                        .bind(id)
                        .bind(tag)
                        .execute(&mut **tx)
                        .await
                        .map_err(backend)?;
                }
                Ok(())
            }

            pub(crate) async fn create(mut tx: Transaction<'static, $db>, draft: &ContentDraft) -> StoreResult<ContentItem> {
                let (body, tags) = super::encode(draft)?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO content_items (title, kind, body, tags, author, created_at, updated_at, updated_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(&draft.title)
                .bind(draft.body.kind())
                .bind(&body)
                .bind(&tags)
                .bind(&draft.by)
                .bind(micros(draft.at))
                .bind(micros(draft.at))
                .bind(&draft.by)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
                let created = draft.created(id);
                write_tags(&mut tx, id, &created.tags).await?;
                $insert_audit(&mut *tx, &content_audit(ContentChange::Created, &created, &draft.by, draft.at)).await?;
                tx.commit().await.map_err(backend)?;
                Ok(created)
            }

            pub(crate) async fn update(
                mut tx: Transaction<'static, $db>,
                id: i64,
                draft: &ContentDraft,
            ) -> StoreResult<ContentItem> {
                let row = sqlx::query(&format!("SELECT {COLUMNS} FROM content_items WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
                let existing = match row {
                    Some(row) => from_row(&row)?,
                    None => return Err(not_found(id)),
                };
                let updated = draft.applied_to(&existing);
                let (body, tags) = super::encode(draft)?;
                sqlx::query(
                    "UPDATE content_items SET title = $1, kind = $2, body = $3, tags = $4, updated_at = $5, updated_by = $6 \
                     WHERE id = $7",
                )
                .bind(&updated.title)
                .bind(updated.body.kind())
                .bind(&body)
                .bind(&tags)
                .bind(micros(updated.updated_at))
                .bind(&updated.updated_by)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                write_tags(&mut tx, id, &updated.tags).await?;
                $insert_audit(&mut *tx, &content_audit(ContentChange::Updated, &updated, &draft.by, draft.at)).await?;
                tx.commit().await.map_err(backend)?;
                Ok(updated)
            }

            pub(crate) async fn get(pool: &Pool<$db>, id: i64) -> StoreResult<Option<ContentItem>> {
                let row = sqlx::query(&format!("SELECT {COLUMNS} FROM content_items WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .map_err(backend)?;
                row.as_ref().map(from_row).transpose()
            }

            pub(crate) async fn list(pool: &Pool<$db>, tag: Option<&str>, limit: u32) -> StoreResult<Vec<ContentItem>> {
                let rows = match tag {
                    Some(tag) => sqlx::query(&format!(
                        "SELECT {COLUMNS} FROM content_items \
                         WHERE id IN (SELECT item_id FROM content_tags WHERE tag = $1) ORDER BY id DESC LIMIT $2"
                    ))
                    .bind(tag)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await,
                    None => sqlx::query(&format!("SELECT {COLUMNS} FROM content_items ORDER BY id DESC LIMIT $1"))
                        .bind(i64::from(limit))
                        .fetch_all(pool)
                        .await,
                }
                .map_err(backend)?;
                rows.iter().map(from_row).collect()
            }

            pub(crate) async fn delete(
                mut tx: Transaction<'static, $db>,
                id: i64,
                by: &str,
                at: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let row = sqlx::query(&format!("SELECT {COLUMNS} FROM content_items WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
                let Some(row) = row else { return Ok(false) };
                let existing = from_row(&row)?;
                sqlx::query("DELETE FROM content_tags WHERE item_id = $1").bind(id).execute(&mut *tx).await.map_err(backend)?;
                sqlx::query("DELETE FROM content_items WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(backend)?;
                $insert_audit(&mut *tx, &content_audit(ContentChange::Deleted, &existing, by, at)).await?;
                tx.commit().await.map_err(backend)?;
                Ok(true)
            }
        }
    };
}

/// The body and the cleaned tags as stored.
fn encode(draft: &ContentDraft) -> StoreResult<(String, String)> {
    Ok((to_json(&draft.body, "content body")?, to_json(&draft.clean_tags(), "content tags")?))
}

content_backend!(sqlite, sqlx::Sqlite, sqlx::sqlite::SqliteRow, crate::sqlite::insert_audit);
content_backend!(postgres, sqlx::Postgres, sqlx::postgres::PgRow, crate::postgres::insert_audit);
