//! Loading and saving the rulebook through the store: every save is a new version with its
//! author, note and changed keys; rollback saves an old version again.

use chrono::{DateTime, Utc};
use qunzhu_core::store::{NewRulebookVersion, RulebookVersion};
use qunzhu_core::{Store, StoreError};
use thiserror::Error;

use crate::locale::Locale;
use crate::problems::Problem;
use crate::rulebook::{CompiledRulebook, Rulebook};

#[derive(Debug, Error)]
pub enum RulebookError {
    #[error("the rulebook has {} problem(s)", .0.len())]
    Invalid(Vec<Problem>),
    #[error("no rulebook version {0}")]
    UnknownVersion(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The current rulebook; a fresh database gets the built-in one saved as version 1.
///
/// # Errors
/// A store failure, or a stored head that no longer validates.
pub async fn load(store: &dyn Store, locale: Locale, now: DateTime<Utc>) -> Result<CompiledRulebook, RulebookError> {
    match store.rulebook_head().await? {
        Some(head) => compile_version(&head),
        None => {
            let builtin = Rulebook::builtin(locale);
            let note = locale.pick("内置默认规则", "built-in defaults");
            let saved = store
                .rulebook_save(&NewRulebookVersion {
                    parent: None,
                    author: "system".into(),
                    note: note.into(),
                    changes: Vec::new(),
                    body: builtin.to_json().to_string(),
                    time: now,
                })
                .await;
            match saved {
                Ok(version) => compile_version(&version),
                // Another process seeded it first: use theirs.
                Err(StoreError::Conflict(_)) => match store.rulebook_head().await? {
                    Some(head) => compile_version(&head),
                    None => Err(RulebookError::Store(StoreError::NotFound("rulebook".into()))),
                },
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Validates and compiles a stored version.
///
/// # Errors
/// When its body is not a valid rulebook.
pub fn compile_version(version: &RulebookVersion) -> Result<CompiledRulebook, RulebookError> {
    let value: serde_json::Value = serde_json::from_str(&version.body)
        .map_err(|e| RulebookError::Store(StoreError::Corrupt(format!("rulebook v{}: {e}", version.version))))?;
    let rulebook = Rulebook::from_json_value(value).map_err(RulebookError::Invalid)?;
    CompiledRulebook::compile(rulebook, version.version).map_err(RulebookError::Invalid)
}

/// Saves `rulebook` as the version after `current`.
///
/// # Errors
/// [`RulebookError::Invalid`] with every problem; a store conflict when someone saved first.
pub async fn save(
    store: &dyn Store,
    current: &CompiledRulebook,
    rulebook: Rulebook,
    author: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<CompiledRulebook, RulebookError> {
    let problems = rulebook.validate();
    if !problems.is_empty() {
        return Err(RulebookError::Invalid(problems));
    }
    let changes = rulebook.changes_from(&current.rulebook);
    let saved = store
        .rulebook_save(&NewRulebookVersion {
            parent: Some(current.version),
            author: author.into(),
            note: note.into(),
            changes,
            body: rulebook.to_json().to_string(),
            time: now,
        })
        .await?;
    CompiledRulebook::compile(rulebook, saved.version).map_err(RulebookError::Invalid)
}

/// Saves the content of an earlier version as the newest one.
///
/// # Errors
/// An unknown version, or a store failure.
pub async fn rollback(
    store: &dyn Store,
    current: &CompiledRulebook,
    version: i64,
    author: &str,
    locale: Locale,
    now: DateTime<Utc>,
) -> Result<CompiledRulebook, RulebookError> {
    let old = store.rulebook_version(version).await?.ok_or(RulebookError::UnknownVersion(version))?;
    let rulebook = compile_version(&old)?.rulebook;
    let note = match locale {
        Locale::ZhCn => format!("回滚到 v{version}"),
        Locale::En => format!("rolled back to v{version}"),
    };
    save(store, current, rulebook, author, &note, now).await
}
