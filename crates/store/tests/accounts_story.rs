//! Account stories (dashboard accounts, sessions, API tokens), told to every backend (see
//! `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};

use qunzhu_core::accounts::{AccountChange, NewAccount, NewApiToken, Role, Session};
use qunzhu_core::{NewAuditEntry, Store, StoreError};

mod support;
use support::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

fn audit(kind: &str, summary: &str) -> NewAuditEntry {
    NewAuditEntry {
        time: t(0),
        actor: "operator:boss".into(),
        kind: kind.into(),
        group: None,
        event_id: None,
        action_id: None,
        rule: None,
        summary: summary.into(),
        detail: None,
    }
}

fn new_account(login: &str, role: Role) -> NewAccount {
    NewAccount {
        login: login.into(),
        display_name: format!("运营 {login}"),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1${login}"),
        role,
        created_at: t(1),
    }
}

fn session(token: &str, account: i64, expires: i64) -> Session {
    Session {
        token_hash: token.into(),
        account,
        csrf: format!("csrf-{token}"),
        created_at: t(10),
        last_seen_at: t(10),
        expires_at: t(expires),
        user_agent: Some("Mozilla/5.0 测试".into()),
    }
}

async fn the_first_account_is_created_once_and_logins_are_unique(store: Arc<dyn Store>) {
    assert_eq!(store.count_accounts().await.unwrap(), 0);
    let owner = store.create_account(&new_account("boss", Role::Owner), true, &audit("account.create", "创建 boss")).await.unwrap();
    assert_eq!(store.count_accounts().await.unwrap(), 1);
    assert_eq!(store.account(owner.id).await.unwrap(), Some(owner.clone()), "every field round-trips");
    assert_eq!(store.account_by_login("boss").await.unwrap(), Some(owner.clone()));
    assert_eq!(store.account_by_login("nobody").await.unwrap(), None);

    let second_first = store.create_account(&new_account("rival", Role::Owner), true, &audit("account.create", "x")).await;
    assert!(matches!(second_first, Err(StoreError::Conflict(_))), "{second_first:?}");
    let taken = store.create_account(&new_account("boss", Role::Viewer), false, &audit("account.create", "x")).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");

    let viewer = store.create_account(&new_account("guest", Role::Viewer), false, &audit("account.create", "创建 guest")).await.unwrap();
    assert!(viewer.id > owner.id);
    let listed = store.list_accounts().await.unwrap();
    assert_eq!(listed, vec![owner, viewer]);
    let kinds: Vec<String> = store.list_audit(None, 10).await.unwrap().into_iter().map(|a| a.entry.summary).collect();
    assert_eq!(kinds, vec!["创建 guest", "创建 boss"], "one audit row per account made, none for refusals");
}

async fn the_last_enabled_owner_cannot_be_demoted_or_disabled(store: Arc<dyn Store>) {
    let owner = store.create_account(&new_account("boss", Role::Owner), true, &audit("a", "a")).await.unwrap();
    let demote = AccountChange { role: Some(Role::Operator), ..AccountChange::default() };
    assert!(matches!(store.update_account(owner.id, &demote, &audit("a", "a")).await, Err(StoreError::Conflict(_))));
    let disable = AccountChange { disabled: Some(true), ..AccountChange::default() };
    assert!(matches!(store.update_account(owner.id, &disable, &audit("a", "a")).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.account(owner.id).await.unwrap(), Some(owner.clone()), "a refused change changes nothing");
    assert!(matches!(store.update_account(999, &demote, &audit("a", "a")).await, Err(StoreError::NotFound(_))));

    let second = store.create_account(&new_account("deputy", Role::Owner), false, &audit("a", "a")).await.unwrap();
    let demoted = store.update_account(owner.id, &demote, &audit("account.update", "降级 boss")).await.unwrap();
    assert_eq!(demoted.role, Role::Operator);
    let renamed = store
        .update_account(second.id, &AccountChange { display_name: Some("副手".into()), ..AccountChange::default() }, &audit("a", "a"))
        .await
        .unwrap();
    assert_eq!(store.account(second.id).await.unwrap(), Some(renamed.clone()));
    assert_eq!(renamed.display_name, "副手");
}

async fn sessions_expire_slide_and_end_with_logout_disabling_or_a_new_password(store: Arc<dyn Store>) {
    let owner = store.create_account(&new_account("boss", Role::Owner), true, &audit("a", "a")).await.unwrap();
    let guest = store.create_account(&new_account("guest", Role::Viewer), false, &audit("a", "a")).await.unwrap();
    store.create_session(&session("s1", owner.id, 100), &audit("account.login", "boss 登录")).await.unwrap();
    let (found, account) = store.session("s1", t(50)).await.unwrap().unwrap();
    assert_eq!(found, session("s1", owner.id, 100), "every field round-trips");
    assert_eq!(account, owner);
    assert_eq!(store.session("s1", t(100)).await.unwrap(), None, "expired at its expiry");
    assert_eq!(store.session("nope", t(50)).await.unwrap(), None);

    store.touch_session("s1", t(90), t(200)).await.unwrap();
    let (slid, _) = store.session("s1", t(150)).await.unwrap().unwrap();
    assert_eq!((slid.last_seen_at, slid.expires_at), (t(90), t(200)));

    assert!(store.delete_session("s1").await.unwrap());
    assert!(!store.delete_session("s1").await.unwrap());
    assert_eq!(store.session("s1", t(150)).await.unwrap(), None);

    store.create_session(&session("g1", guest.id, 500), &audit("a", "a")).await.unwrap();
    store.create_session(&session("g2", guest.id, 500), &audit("a", "a")).await.unwrap();
    store.create_session(&session("b1", owner.id, 500), &audit("a", "a")).await.unwrap();
    store.update_account(guest.id, &AccountChange { disabled: Some(true), ..AccountChange::default() }, &audit("a", "a")).await.unwrap();
    assert_eq!(store.session("g1", t(150)).await.unwrap(), None, "disabling ends the sessions");
    assert!(!store.delete_session("g2").await.unwrap(), "both of them");
    store.update_account(owner.id, &AccountChange { password_hash: Some("new".into()), ..AccountChange::default() }, &audit("a", "a")).await.unwrap();
    assert_eq!(store.session("b1", t(150)).await.unwrap(), None, "a new password ends the sessions");

    store.create_session(&session("old", owner.id, 100), &audit("a", "a")).await.unwrap();
    store.create_session(&session("new", owner.id, 300), &audit("a", "a")).await.unwrap();
    assert_eq!(store.delete_expired_sessions(t(200)).await.unwrap(), 1);
    assert!(store.session("new", t(200)).await.unwrap().is_some());
}

async fn api_tokens_are_found_by_hash_until_revoked_and_names_are_unique_among_live_ones(store: Arc<dyn Store>) {
    let token = |name: &str, hash: &str| NewApiToken {
        name: name.into(),
        token_hash: hash.into(),
        role: Role::Viewer,
        created_by: "boss".into(),
        created_at: t(5),
    };
    let made = store.create_api_token(&token("报表脚本", "h1"), &audit("token.create", "t")).await.unwrap();
    assert_eq!(store.api_token("h1").await.unwrap(), Some(made.clone()), "every field round-trips");
    let again = store.create_api_token(&token("报表脚本", "h2"), &audit("token.create", "t")).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

    store.touch_api_token(made.id, t(30)).await.unwrap();
    assert_eq!(store.api_token("h1").await.unwrap().unwrap().last_used_at, Some(t(30)));

    assert!(store.revoke_api_token(made.id, t(40), &audit("token.revoke", "撤销")).await.unwrap());
    assert!(!store.revoke_api_token(made.id, t(41), &audit("token.revoke", "again")).await.unwrap());
    assert_eq!(store.api_token("h1").await.unwrap(), None, "a revoked token is not found");
    let renewed = store.create_api_token(&token("报表脚本", "h2"), &audit("token.create", "t")).await.unwrap();
    let listed = store.list_api_tokens().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].revoked_at, Some(t(40)));
    assert_eq!(listed[1], renewed);
    let summaries: Vec<String> = store.list_audit(None, 10).await.unwrap().into_iter().map(|a| a.entry.summary).collect();
    assert!(!summaries.contains(&"again".to_owned()), "no audit row for a refused revoke");
}

async fn an_audit_row_can_be_appended_on_its_own(store: Arc<dyn Store>) {
    store.append_audit(&audit("account.login_failed", "登录失败：boss")).await.unwrap();
    let rows = store.list_audit(None, 5).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entry, audit("account.login_failed", "登录失败：boss"));
}

stories! {
    any store:
        the_first_account_is_created_once_and_logins_are_unique,
        the_last_enabled_owner_cannot_be_demoted_or_disabled,
        sessions_expire_slide_and_end_with_logout_disabling_or_a_new_password,
        api_tokens_are_found_by_hash_until_revoked_and_names_are_unique_among_live_ones,
        an_audit_row_can_be_appended_on_its_own;
    reopened:
}
