//! Membership on both backends, the SQL written once in a macro instantiated for SQLite and
//! PostgreSQL: member counts (table `members`, migration 0002).

macro_rules! membership_backend {
    ($module:ident, $db:ty) => {
        pub(crate) mod $module {
            use sqlx::Pool;

            use qunzhu_core::{GroupKey, StoreError, StoreResult};

            use crate::common::backend;

            pub(crate) async fn count_members(pool: &Pool<$db>, group: &GroupKey) -> StoreResult<u32> {
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM members WHERE connector = $1 AND group_id = $2 AND left_at IS NULL",
                )
                .bind(group.connector.as_str())
                .bind(group.group.as_str())
                .fetch_one(pool)
                .await
                .map_err(backend)?;
                u32::try_from(count).map_err(|_| StoreError::Corrupt(format!("member count {count} is out of range")))
            }
        }
    };
}

membership_backend!(sqlite, sqlx::Sqlite);
membership_backend!(postgres, sqlx::Postgres);
