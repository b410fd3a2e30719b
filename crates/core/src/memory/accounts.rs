//! The reference semantics of accounts, sessions and API tokens for [`super::MemoryStore`];
//! the database stores implement exactly this (checked by the accounts store stories).

use chrono::{DateTime, Utc};

use crate::accounts::{Account, AccountChange, ApiToken, NewAccount, NewApiToken, Role, Session};
use crate::store::{StoreError, StoreResult};

#[derive(Clone, Debug, Default)]
pub(crate) struct Accounts {
    accounts: Vec<Account>,
    sessions: Vec<Session>,
    tokens: Vec<ApiToken>,
    last_account_id: i64,
    last_token_id: i64,
}

impl Accounts {
    pub(crate) fn count(&self) -> u64 {
        self.accounts.len() as u64
    }

    pub(crate) fn create(&mut self, new: &NewAccount, first: bool) -> StoreResult<Account> {
        if first && !self.accounts.is_empty() {
            return Err(StoreError::Conflict("an account exists already".into()));
        }
        if self.accounts.iter().any(|a| a.login == new.login) {
            return Err(StoreError::Conflict(format!("login {} is taken", new.login)));
        }
        self.last_account_id += 1;
        let account = Account {
            id: self.last_account_id,
            login: new.login.clone(),
            display_name: new.display_name.clone(),
            password_hash: new.password_hash.clone(),
            role: new.role,
            created_at: new.created_at,
            disabled: false,
        };
        self.accounts.push(account.clone());
        Ok(account)
    }

    pub(crate) fn get(&self, id: i64) -> Option<Account> {
        self.accounts.iter().find(|a| a.id == id).cloned()
    }

    pub(crate) fn by_login(&self, login: &str) -> Option<Account> {
        self.accounts.iter().find(|a| a.login == login).cloned()
    }

    pub(crate) fn list(&self) -> Vec<Account> {
        self.accounts.clone()
    }

    pub(crate) fn update(&mut self, id: i64, change: &AccountChange) -> StoreResult<Account> {
        let Some(index) = self.accounts.iter().position(|a| a.id == id) else {
            return Err(StoreError::NotFound(format!("account {id}")));
        };
        let mut account = self.accounts[index].clone();
        if let Some(name) = &change.display_name {
            account.display_name = name.clone();
        }
        if let Some(hash) = &change.password_hash {
            account.password_hash = hash.clone();
        }
        if let Some(role) = change.role {
            account.role = role;
        }
        if let Some(disabled) = change.disabled {
            account.disabled = disabled;
        }
        let owners_left = self
            .accounts
            .iter()
            .map(|a| if a.id == id { &account } else { a })
            .filter(|a| a.role == Role::Owner && !a.disabled)
            .count();
        if owners_left == 0 {
            return Err(StoreError::Conflict("no enabled owner would be left".into()));
        }
        self.accounts[index] = account.clone();
        if change.disabled == Some(true) || change.password_hash.is_some() {
            self.sessions.retain(|s| s.account != id);
        }
        Ok(account)
    }

    pub(crate) fn create_session(&mut self, session: &Session) {
        self.sessions.retain(|s| s.token_hash != session.token_hash);
        self.sessions.push(session.clone());
    }

    pub(crate) fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Option<(Session, Account)> {
        let session = self.sessions.iter().find(|s| s.token_hash == token_hash && s.expires_at > now)?;
        let account = self.accounts.iter().find(|a| a.id == session.account && !a.disabled)?;
        Some((session.clone(), account.clone()))
    }

    pub(crate) fn touch_session(&mut self, token_hash: &str, seen: DateTime<Utc>, expires_at: DateTime<Utc>) {
        if let Some(session) = self.sessions.iter_mut().find(|s| s.token_hash == token_hash) {
            session.last_seen_at = seen;
            session.expires_at = expires_at;
        }
    }

    pub(crate) fn delete_session(&mut self, token_hash: &str) -> bool {
        let before = self.sessions.len();
        self.sessions.retain(|s| s.token_hash != token_hash);
        self.sessions.len() < before
    }

    pub(crate) fn delete_expired(&mut self, now: DateTime<Utc>) -> u64 {
        let before = self.sessions.len();
        self.sessions.retain(|s| s.expires_at > now);
        (before - self.sessions.len()) as u64
    }

    pub(crate) fn create_token(&mut self, new: &NewApiToken) -> StoreResult<ApiToken> {
        if self.tokens.iter().any(|t| t.name == new.name && t.revoked_at.is_none()) {
            return Err(StoreError::Conflict(format!("a token named {} exists", new.name)));
        }
        self.last_token_id += 1;
        let token = ApiToken {
            id: self.last_token_id,
            name: new.name.clone(),
            token_hash: new.token_hash.clone(),
            role: new.role,
            created_by: new.created_by.clone(),
            created_at: new.created_at,
            last_used_at: None,
            revoked_at: None,
        };
        self.tokens.push(token.clone());
        Ok(token)
    }

    pub(crate) fn token(&self, token_hash: &str) -> Option<ApiToken> {
        self.tokens.iter().find(|t| t.token_hash == token_hash && t.revoked_at.is_none()).cloned()
    }

    pub(crate) fn tokens(&self) -> Vec<ApiToken> {
        self.tokens.clone()
    }

    pub(crate) fn revoke_token(&mut self, id: i64, at: DateTime<Utc>) -> bool {
        match self.tokens.iter_mut().find(|t| t.id == id && t.revoked_at.is_none()) {
            Some(token) => {
                token.revoked_at = Some(at);
                true
            }
            None => false,
        }
    }

    pub(crate) fn touch_token(&mut self, id: i64, at: DateTime<Utc>) {
        if let Some(token) = self.tokens.iter_mut().find(|t| t.id == id) {
            token.last_used_at = Some(at);
        }
    }
}
