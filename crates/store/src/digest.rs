//! The daily digest's store side — SQL written once for both backends: a group's events over a
//! time range (read through the index of migration `0016_digest`), and a digest kept with the
//! tick that made it (`StateWrite::Digest`: the first of a group's day stays).
//!
//! The `events` table predates the BIGINT-micros convention (its `time` is INTEGER micros in
//! SQLite and TIMESTAMPTZ in PostgreSQL), so the macro takes how a time is bound; the SQL text
//! is the same.

macro_rules! queries {
    ($backend:ident, $db:ty, $bind_time:path) => {
        pub(crate) mod $backend {
            use chrono::{DateTime, Utc};
            use sqlx::Row;

            use qunzhu_core::insight::DigestRecord;
            use qunzhu_core::{Event, GroupKey, StoreResult};

            use crate::common::{backend, from_json, micros};

            type Conn = <$db as sqlx::Database>::Connection;
            type Pool = sqlx::Pool<$db>;

            pub(crate) async fn group_events(pool: &Pool, group: &GroupKey, from: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<Vec<Event>> {
                let rows = sqlx::query(
                    "SELECT body FROM events WHERE connector = $1 AND group_id = $2 AND time >= $3 AND time < $4 ORDER BY time, seq",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .bind($bind_time(from))
                .bind($bind_time(until))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        let body: String = row.try_get("body").map_err(backend)?;
                        from_json(&body, "event")
                    })
                    .collect()
            }

            /// Keeps a digest unless the group's day already has one.
            pub(crate) async fn keep(conn: &mut Conn, digest: &DigestRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO digests (connector, group_id, day, created_at, body, text) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (connector, group_id, day) DO NOTHING",
                )
                .bind(digest.group.connector.as_str())
                .bind(digest.group.group.as_str())
                .bind(digest.day.to_string())
                .bind(micros(digest.created_at))
                .bind(&digest.body)
                .bind(&digest.text)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                Ok(())
            }
        }
    };
}

fn as_is<T>(value: T) -> T {
    value
}

queries!(sqlite, sqlx::Sqlite, crate::common::micros);
queries!(postgres, sqlx::Postgres, crate::digest::as_is);
