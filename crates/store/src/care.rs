//! Care (用户思维) records — questions, sentiment lines, tickets — SQL written once for both
//! backends (migration `0014_care`: times as BIGINT microseconds, records as JSON `body` with
//! the filtered columns beside it; [`queries!`] instantiates them for SQLite and PostgreSQL).
//! Questions and tickets are replaced by id (a write is the record as it now is); a line
//! already stored is skipped.

macro_rules! queries {
    ($backend:ident, $db:ty) => {
        pub(crate) mod $backend {
            use chrono::{DateTime, Utc};
            use sqlx::Row;

            use qunzhu_core::care::{CareLine, CareQuestion, CareWrite, QuestionStatus, Ticket, TicketStatus};
            use qunzhu_core::{GroupKey, StoreResult};

            use crate::common::{backend, from_json, micros, to_json};

            type Conn = <$db as sqlx::Database>::Connection;
            type Pool = sqlx::Pool<$db>;

            /// Writes one care record inside the event's transaction.
            pub(crate) async fn apply(conn: &mut Conn, write: &CareWrite) -> StoreResult<()> {
                match write {
                    CareWrite::Line(line) => {
                        sqlx::query(
                            "INSERT INTO care_lines (id, connector, group_id, at, body, negative) VALUES ($1, $2, $3, $4, $5, $6) \
                             ON CONFLICT (id) DO NOTHING",
                        )
                        .bind(&line.id)
                        .bind(line.group.connector.as_str())
                        .bind(line.group.group.as_str())
                        .bind(micros(line.at))
                        .bind(to_json(line, "care line")?)
                        .bind(i64::from(line.negative))
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    }
                    CareWrite::Question(q) => {
                        sqlx::query(
                            "INSERT INTO care_questions (id, connector, group_id, status, asked_at, body) VALUES ($1, $2, $3, $4, $5, $6) \
                             ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body",
                        )
                        .bind(&q.id)
                        .bind(q.group.connector.as_str())
                        .bind(q.group.group.as_str())
                        .bind(q.status.name())
                        .bind(micros(q.asked_at))
                        .bind(to_json(q, "care question")?)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend)?;
                    }
                    CareWrite::Ticket(ticket) => save_ticket_on(conn, ticket).await?,
                }
                Ok(())
            }

            async fn save_ticket_on(conn: &mut Conn, t: &Ticket) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO care_tickets (id, connector, group_id, status, opened_at, body) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body",
                )
                .bind(&t.id)
                .bind(t.group.connector.as_str())
                .bind(t.group.group.as_str())
                .bind(t.status.name())
                .bind(micros(t.opened_at))
                .bind(to_json(t, "ticket")?)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
                Ok(())
            }

            pub(crate) async fn save_ticket(pool: &Pool, t: &Ticket) -> StoreResult<()> {
                let mut conn = pool.acquire().await.map_err(backend)?;
                save_ticket_on(&mut conn, t).await
            }

            pub(crate) async fn questions(pool: &Pool, group: Option<&GroupKey>, status: Option<QuestionStatus>) -> StoreResult<Vec<CareQuestion>> {
                let rows = sqlx::query(
                    "SELECT body FROM care_questions WHERE ($1 IS NULL OR connector = $1) AND ($2 IS NULL OR group_id = $2) \
                     AND ($3 IS NULL OR status = $3) ORDER BY asked_at, id",
                )
                .bind(group.map(|g| g.connector.as_str().to_owned()))
                .bind(group.map(|g| g.group.as_str().to_owned()))
                .bind(status.map(|s| s.name().to_owned()))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(|row| from_json(&row.try_get::<String, _>("body").map_err(backend)?, "care question")).collect()
            }

            pub(crate) async fn question(pool: &Pool, id: &str) -> StoreResult<Option<CareQuestion>> {
                let body: Option<String> =
                    sqlx::query_scalar("SELECT body FROM care_questions WHERE id = $1").bind(id).fetch_optional(pool).await.map_err(backend)?;
                body.map(|b| from_json(&b, "care question")).transpose()
            }

            pub(crate) async fn lines_since(pool: &Pool, group: &GroupKey, since: DateTime<Utc>) -> StoreResult<Vec<CareLine>> {
                let rows = sqlx::query("SELECT body FROM care_lines WHERE connector = $1 AND group_id = $2 AND at >= $3 ORDER BY at, id")
                    .bind(group.connector.as_str())
                    .bind(group.group.as_str())
                    .bind(micros(since))
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?;
                rows.iter().map(|row| from_json(&row.try_get::<String, _>("body").map_err(backend)?, "care line")).collect()
            }

            pub(crate) async fn tickets(pool: &Pool, group: Option<&GroupKey>, status: Option<TicketStatus>) -> StoreResult<Vec<Ticket>> {
                let rows = sqlx::query(
                    "SELECT body FROM care_tickets WHERE ($1 IS NULL OR connector = $1) AND ($2 IS NULL OR group_id = $2) \
                     AND ($3 IS NULL OR status = $3) ORDER BY opened_at, id",
                )
                .bind(group.map(|g| g.connector.as_str().to_owned()))
                .bind(group.map(|g| g.group.as_str().to_owned()))
                .bind(status.map(|s| s.name().to_owned()))
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.iter().map(|row| from_json(&row.try_get::<String, _>("body").map_err(backend)?, "ticket")).collect()
            }

            pub(crate) async fn ticket(pool: &Pool, id: &str) -> StoreResult<Option<Ticket>> {
                let body: Option<String> =
                    sqlx::query_scalar("SELECT body FROM care_tickets WHERE id = $1").bind(id).fetch_optional(pool).await.map_err(backend)?;
                body.map(|b| from_json(&b, "ticket")).transpose()
            }
        }
    };
}

queries!(sqlite, sqlx::Sqlite);
queries!(postgres, sqlx::Postgres);
