//! Staff-task assignment (待办指派) on both backends: the SQL is written once, in a macro
//! instantiated for SQLite and PostgreSQL (migration `0020_task_assignments`: BIGINT
//! microseconds). The task itself stays in `staff_tasks` as the planner wrote it; the
//! assignment lives beside it and changes with its audit row in one transaction.

macro_rules! task_backend {
    ($module:ident, $db:ty, $insert_audit:path) => {
        pub(crate) mod $module {
            use chrono::{DateTime, Utc};
            use sqlx::{Pool, Row, Transaction};

            use qunzhu_core::task::{assignment_audit, TaskAssignment};
            use qunzhu_core::{StaffTask, StoreError, StoreResult, TaskId, TaskStatus};

            use crate::common::{backend, from_json, from_micros, micros};

            pub(crate) async fn assign(
                mut tx: Transaction<'static, $db>,
                id: &TaskId,
                assignee: Option<&str>,
                by: &str,
                at: DateTime<Utc>,
            ) -> StoreResult<Option<TaskAssignment>> {
                let json: Option<String> = sqlx::query_scalar("SELECT task FROM staff_tasks WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
                let Some(json) = json else {
                    return Err(StoreError::NotFound(format!("task {id}")));
                };
                let task: StaffTask = from_json(&json, "staff task")?;
                let assignment = match assignee {
                    Some(name) => {
                        sqlx::query(
                            "INSERT INTO task_assignments (task_id, assignee, assigned_at, assigned_by) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (task_id) DO UPDATE SET assignee = excluded.assignee, assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by",
                        )
                        .bind(id.as_str())
                        .bind(name)
                        .bind(micros(at))
                        .bind(by)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                        Some(TaskAssignment { task: id.clone(), assignee: name.to_owned(), assigned_at: at, assigned_by: by.to_owned() })
                    }
                    None => {
                        sqlx::query("DELETE FROM task_assignments WHERE task_id = $1")
                            .bind(id.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?;
                        None
                    }
                };
                $insert_audit(&mut *tx, &assignment_audit(&task, assignee, by, at)).await?;
                tx.commit().await.map_err(backend)?;
                Ok(assignment)
            }

            pub(crate) async fn list(pool: &Pool<$db>, status: Option<TaskStatus>, limit: u32) -> StoreResult<Vec<TaskAssignment>> {
                const SELECT: &str = "SELECT a.task_id, a.assignee, a.assigned_at, a.assigned_by, t.seq FROM task_assignments a JOIN staff_tasks t ON t.id = a.task_id";
                let rows = match status {
                    Some(status) => {
                        sqlx::query(&format!(
                            "{SELECT} WHERE a.task_id IN (SELECT id FROM staff_tasks WHERE status = $1 ORDER BY seq DESC LIMIT $2) ORDER BY t.seq DESC"
                        ))
                        .bind(status.name())
                        .bind(i64::from(limit))
                        .fetch_all(pool)
                        .await
                    }
                    None => {
                        sqlx::query(&format!(
                            "{SELECT} WHERE a.task_id IN (SELECT id FROM staff_tasks ORDER BY seq DESC LIMIT $1) ORDER BY t.seq DESC"
                        ))
                        .bind(i64::from(limit))
                        .fetch_all(pool)
                        .await
                    }
                }
                .map_err(backend)?;
                rows.iter()
                    .map(|row| {
                        Ok(TaskAssignment {
                            task: TaskId::new(row.try_get::<String, _>("task_id").map_err(backend)?),
                            assignee: row.try_get("assignee").map_err(backend)?,
                            assigned_at: from_micros(row.try_get("assigned_at").map_err(backend)?, "task assigned_at")?,
                            assigned_by: row.try_get("assigned_by").map_err(backend)?,
                        })
                    })
                    .collect()
            }
        }
    };
}

task_backend!(sqlite, sqlx::Sqlite, crate::sqlite::insert_audit);
task_backend!(postgres, sqlx::Postgres, crate::postgres::insert_audit);
