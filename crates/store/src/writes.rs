//! Applies the [`StateWrite`]s of a commit inside its transaction, for both backends. Each
//! kind of record has its SQL in its own module; this is only the dispatch.

macro_rules! dispatch {
    ($backend:ident, $db:ty) => {
        pub(crate) mod $backend {
            use qunzhu_core::{StateWrite, StoreResult};

            /// Writes one record; one already there is skipped.
            pub(crate) async fn apply(conn: &mut <$db as sqlx::Database>::Connection, write: &StateWrite) -> StoreResult<()> {
                match write {
                    StateWrite::Points(entry) => {
                        crate::points::$backend::insert_entry(conn, entry).await?;
                    }
                    StateWrite::CheckIn(check_in) => crate::points::$backend::insert_check_in(conn, check_in).await?,
                    StateWrite::Item(change) => {
                        crate::shop::$backend::insert_item_change(conn, change).await?;
                    }
                    StateWrite::FaqAnswer(answer) => crate::faq::$backend::record_answer(conn, answer).await?,
                    StateWrite::Signup(write) => crate::signup::$backend::apply(conn, write).await?,
                    StateWrite::Lottery(write) => crate::lottery::$backend::apply(conn, write).await?,
                    StateWrite::Admission(write) => crate::admission::$backend::apply(conn, write).await?,
                    StateWrite::Referral(write) => crate::growth::$backend::apply_referral(conn, write).await?,
                    StateWrite::Milestone(milestone) => crate::growth::$backend::apply_milestone(conn, milestone).await?,
                    StateWrite::Counter(increment) => crate::growth::$backend::apply_counter(conn, increment).await?,
                    StateWrite::Membership(write) => crate::membership::$backend::apply(conn, write).await?,
                    StateWrite::Gate(write) => crate::gate::$backend::apply(conn, write).await?,
                    StateWrite::Insight(write) => crate::insight::$backend::apply(conn, write).await?,
                    StateWrite::Care(write) => crate::care::$backend::apply(conn, write).await?,
                    StateWrite::LifeStage(record) => crate::life_stage::$backend::apply(conn, record).await?,
                    StateWrite::Digest(record) => crate::digest::$backend::keep(conn, record).await?,
                }
                Ok(())
            }
        }
    };
}

dispatch!(sqlite, sqlx::Sqlite);
dispatch!(postgres, sqlx::Postgres);
