//! Dashboard accounts on the server side: password hashing (argon2id), session and API
//! tokens (random, stored as SHA-256), logins with their rate limit and audit rows. The pages
//! (`dash::auth`), the API guard (`http::access`) and the CLI (`qunzhu admin`) all go
//! through [`Auth`]; the store keeps the records (`qunzhu_core::accounts`).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use qunzhu_core::accounts::{Account, AccountChange, ApiToken, NewAccount, NewApiToken, Role, Session};
use qunzhu_core::{Clock, NewAuditEntry, Store, StoreError};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "qunzhu_session";
/// How long a session lasts without use (sliding).
pub const SESSION_DAYS: i64 = 14;
/// A session's expiry is moved forward at most this often (one write per minute of use).
const TOUCH_EVERY_SECS: i64 = 60;
/// Failed logins allowed per IP and per login name within [`FAILURE_WINDOW_SECS`].
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW_SECS: i64 = 5 * 60;
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Prefix of API tokens, so a leaked one is recognisable (e.g. by secret scanners).
const API_TOKEN_PREFIX: &str = "qz_";

#[derive(Debug, Error)]
pub enum AuthError {
    #[error("登录名需 1–32 个字母、数字、汉字或 . _ - (a login name is 1–32 letters, digits, . _ or -)")]
    BadLogin,
    #[error("密码至少 {MIN_PASSWORD_CHARS} 个字符 (a password needs at least {MIN_PASSWORD_CHARS} characters)")]
    WeakPassword,
    #[error("登录名或密码不对 (wrong login name or password)")]
    WrongCredentials,
    #[error("登录失败次数太多，请 5 分钟后再试 (too many failed logins; try again in 5 minutes)")]
    RateLimited,
    #[error("已有账号，首次设置只能做一次 (an account exists already; the first-run setup happens once)")]
    AlreadySetUp,
    #[error("登录名 {0} 已被占用 (the login name {0} is taken)")]
    LoginTaken(String),
    #[error("没有账号 {0} (no account {0})")]
    UnknownAccount(String),
    #[error("至少要保留一个启用的所有者 (at least one enabled owner must remain)")]
    LastOwner,
    #[error("已有同名的有效令牌 {0} (a live token named {0} exists)")]
    TokenNameTaken(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Hashes a password as an argon2id PHC string (OWASP's parameters: 19 MiB, 2 passes).
///
/// # Errors
/// When the system has no randomness for the salt.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AuthError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether `password` matches the stored hash (a malformed hash matches nothing).
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash to verify against when the login name is unknown, so both cases take as long.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("qunzhu-decoy-password").unwrap_or_default())
}

/// 32 random bytes, URL-safe base64 (43 characters).
///
/// # Errors
/// When the system has no randomness.
pub fn random_token() -> Result<String, AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Hash(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The hex SHA-256 of a token: what the store keeps.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The login name as stored: trimmed and lower-cased.
///
/// # Errors
/// [`AuthError::BadLogin`] for an empty, long or oddly spelled name.
pub fn normalize_login(login: &str) -> Result<String, AuthError> {
    let login = login.trim().to_lowercase();
    let count = login.chars().count();
    if count == 0 || count > 32 || !login.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err(AuthError::BadLogin);
    }
    Ok(login)
}

/// # Errors
/// [`AuthError::WeakPassword`] for a password shorter than [`MIN_PASSWORD_CHARS`].
pub fn check_password(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::WeakPassword);
    }
    Ok(())
}

fn audit(time: DateTime<Utc>, actor: &str, kind: &str, summary: String, detail: Option<serde_json::Value>) -> NewAuditEntry {
    NewAuditEntry {
        time,
        actor: actor.to_owned(),
        kind: kind.to_owned(),
        group: None,
        event_id: None,
        action_id: None,
        rule: None,
        summary,
        detail: detail.map(|d| d.to_string()),
    }
}

/// Failed logins in a sliding window, per key (`ip:…`, `login:…`), in memory: a restart
/// forgets them, which only gives an attacker five more tries.
#[derive(Default)]
struct Failures {
    by_key: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl Failures {
    fn blocked(&self, keys: &[String], now: DateTime<Utc>) -> bool {
        let mut map = self.by_key.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let since = now - Duration::seconds(FAILURE_WINDOW_SECS);
        keys.iter().any(|key| {
            map.get_mut(key).is_some_and(|times| {
                times.retain(|t| *t > since);
                times.len() >= MAX_FAILURES
            })
        })
    }

    fn record(&self, keys: &[String], now: DateTime<Utc>) {
        let mut map = self.by_key.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let since = now - Duration::seconds(FAILURE_WINDOW_SECS);
        if map.len() > 10_000 {
            map.retain(|_, times| times.back().is_some_and(|t| *t > since));
        }
        for key in keys {
            let times = map.entry(key.clone()).or_default();
            times.retain(|t| *t > since);
            times.push_back(now);
        }
    }

    fn clear(&self, key: &str) {
        self.by_key.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key);
    }
}

/// A new session: the token for the cookie (never stored) and the stored record.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub token: String,
    pub session: Session,
    pub account: Account,
}

/// Who is asking, once a session cookie or an API token was recognised.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The account (a session), or `None` for an API token.
    pub account: Option<Account>,
    pub role: Role,
    /// `operator:<login>` or `token:<name>`: the actor of audit rows.
    pub actor: String,
    /// The session's CSRF token; `None` for an API token (exempt: no ambient credential).
    pub csrf: Option<String>,
    /// The session's token hash, for logout.
    pub session_hash: Option<String>,
    /// Set when the session's expiry slid: the cookie is sent again with a new max-age.
    pub refreshed_token: Option<String>,
}

/// Accounts, sessions, tokens and the login limit. Cheap to share (`Arc`).
pub struct Auth {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    failures: Failures,
    /// Accounts are never deleted: once one exists, this stays true without asking the store.
    some_account: AtomicBool,
}

impl Auth {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock, failures: Failures::default(), some_account: AtomicBool::new(false) }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Whether any account exists (then the API and the dashboard need credentials).
    ///
    /// # Errors
    /// When the store cannot say.
    pub async fn accounts_exist(&self) -> Result<bool, StoreError> {
        if self.some_account.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let exists = self.store.count_accounts().await? > 0;
        if exists {
            self.some_account.store(true, Ordering::Relaxed);
        }
        Ok(exists)
    }

    /// Creates an account. `first` is the first-run page: refused once any account exists.
    ///
    /// # Errors
    /// A bad login name or password, a taken name, [`AuthError::AlreadySetUp`].
    pub async fn create_account(
        &self,
        login: &str,
        display_name: &str,
        password: &str,
        role: Role,
        first: bool,
        actor: &str,
    ) -> Result<Account, AuthError> {
        let login = normalize_login(login)?;
        check_password(password)?;
        let now = self.now();
        let display_name = match display_name.trim() {
            "" => login.clone(),
            name => name.chars().take(64).collect(),
        };
        let new = NewAccount { login: login.clone(), display_name, password_hash: hash_password(password)?, role, created_at: now };
        let summary = format!("创建账号 {login}（{}）", role.name());
        let entry = audit(now, actor, "account.create", summary, Some(serde_json::json!({"login": login, "role": role.name(), "first_run": first})));
        match self.store.create_account(&new, first, &entry).await {
            Ok(account) => {
                self.some_account.store(true, Ordering::Relaxed);
                Ok(account)
            }
            Err(StoreError::Conflict(_)) if first => Err(AuthError::AlreadySetUp),
            Err(StoreError::Conflict(_)) => Err(AuthError::LoginTaken(login)),
            Err(other) => Err(other.into()),
        }
    }

    /// Changes an account (role, disabled, password, name) with its audit row.
    ///
    /// # Errors
    /// An unknown account, a weak password, [`AuthError::LastOwner`].
    pub async fn update_account(&self, login: &str, change: AccountChange, actor: &str) -> Result<Account, AuthError> {
        let login = normalize_login(login)?;
        let Some(account) = self.store.account_by_login(&login).await? else {
            return Err(AuthError::UnknownAccount(login));
        };
        let mut parts = Vec::new();
        if let Some(role) = change.role {
            parts.push(format!("角色 {}", role.name()));
        }
        if let Some(disabled) = change.disabled {
            parts.push(if disabled { "停用".to_owned() } else { "启用".to_owned() });
        }
        if change.password_hash.is_some() {
            parts.push("重设密码".to_owned());
        }
        if change.display_name.is_some() {
            parts.push("改名".to_owned());
        }
        let detail = serde_json::json!({
            "login": login,
            "role": change.role.map(Role::name),
            "disabled": change.disabled,
            "password_changed": change.password_hash.is_some(),
        });
        let entry = audit(self.now(), actor, "account.update", format!("账号 {login}：{}", parts.join("，")), Some(detail));
        match self.store.update_account(account.id, &change, &entry).await {
            Ok(account) => Ok(account),
            Err(StoreError::Conflict(_)) => Err(AuthError::LastOwner),
            Err(StoreError::NotFound(_)) => Err(AuthError::UnknownAccount(login)),
            Err(other) => Err(other.into()),
        }
    }

    /// Sets an account's password (its sessions end).
    ///
    /// # Errors
    /// As [`Auth::update_account`], and a weak password.
    pub async fn set_password(&self, login: &str, password: &str, actor: &str) -> Result<Account, AuthError> {
        check_password(password)?;
        let change = AccountChange { password_hash: Some(hash_password(password)?), ..AccountChange::default() };
        self.update_account(login, change, actor).await
    }

    /// Checks a login and opens a session; every outcome is audited. Refused while the IP or
    /// the login name has [`MAX_FAILURES`] failures in the last five minutes.
    ///
    /// # Errors
    /// [`AuthError::RateLimited`], [`AuthError::WrongCredentials`] (also for a disabled
    /// account), a store failure.
    pub async fn login(&self, login: &str, password: &str, ip: Option<IpAddr>, user_agent: Option<&str>) -> Result<NewSession, AuthError> {
        let now = self.now();
        let login = login.trim().to_lowercase();
        let ip_text = ip.map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".to_owned());
        let login_key = format!("login:{login}");
        let keys = [format!("ip:{ip_text}"), login_key.clone()];
        let detail = serde_json::json!({"login": login, "ip": ip_text});
        let actor = format!("login:{login}");
        if self.failures.blocked(&keys, now) {
            let entry = audit(now, &actor, "account.login_limited", format!("登录尝试过多，已拒绝：{login}（{ip_text}）"), Some(detail));
            self.store.append_audit(&entry).await?;
            return Err(AuthError::RateLimited);
        }
        let account = self.store.account_by_login(&login).await?;
        let ok = match &account {
            Some(account) => verify_password(&account.password_hash, password) && !account.disabled,
            None => {
                verify_password(decoy_hash(), password);
                false
            }
        };
        let Some(account) = account.filter(|_| ok) else {
            self.failures.record(&keys, now);
            let entry = audit(now, &actor, "account.login_failed", format!("登录失败：{login}（{ip_text}）"), Some(detail));
            self.store.append_audit(&entry).await?;
            return Err(AuthError::WrongCredentials);
        };
        self.failures.clear(&login_key);
        let token = random_token()?;
        let session = Session {
            token_hash: token_hash(&token),
            account: account.id,
            csrf: random_token()?,
            created_at: now,
            last_seen_at: now,
            expires_at: now + Duration::days(SESSION_DAYS),
            user_agent: user_agent.map(|ua| ua.chars().take(200).collect()),
        };
        let entry = audit(now, &format!("operator:{}", account.login), "account.login", format!("{} 登录（{ip_text}）", account.login), Some(detail));
        self.store.create_session(&session, &entry).await?;
        Ok(NewSession { token, session, account })
    }

    /// The principal behind a session cookie; slides the expiry (at most once a minute).
    ///
    /// # Errors
    /// A store failure.
    pub async fn session_principal(&self, token: &str) -> Result<Option<Principal>, StoreError> {
        let now = self.now();
        let hash = token_hash(token);
        let Some((session, account)) = self.store.session(&hash, now).await? else {
            return Ok(None);
        };
        let mut refreshed = None;
        if now - session.last_seen_at >= Duration::seconds(TOUCH_EVERY_SECS) {
            self.store.touch_session(&hash, now, now + Duration::days(SESSION_DAYS)).await?;
            refreshed = Some(token.to_owned());
        }
        Ok(Some(Principal {
            role: account.role,
            actor: format!("operator:{}", account.login),
            account: Some(account),
            csrf: Some(session.csrf),
            session_hash: Some(hash),
            refreshed_token: refreshed,
        }))
    }

    /// The principal behind an API token (its last use recorded).
    ///
    /// # Errors
    /// A store failure.
    pub async fn token_principal(&self, token: &str) -> Result<Option<Principal>, StoreError> {
        let Some(found) = self.store.api_token(&token_hash(token)).await? else {
            return Ok(None);
        };
        self.store.touch_api_token(found.id, self.now()).await?;
        Ok(Some(Principal {
            account: None,
            role: found.role,
            actor: format!("token:{}", found.name),
            csrf: None,
            session_hash: None,
            refreshed_token: None,
        }))
    }

    /// Ends a session (logout), audited.
    ///
    /// # Errors
    /// A store failure.
    pub async fn logout(&self, principal: &Principal) -> Result<(), StoreError> {
        if let Some(hash) = &principal.session_hash {
            self.store.delete_session(hash).await?;
            let entry = audit(self.now(), &principal.actor, "account.logout", format!("{} 退出登录", principal.actor), None);
            self.store.append_audit(&entry).await?;
        }
        Ok(())
    }

    /// Makes an API token; the token itself is returned once and never stored.
    ///
    /// # Errors
    /// An empty name, a live token with the same name, a store failure.
    pub async fn create_token(&self, name: &str, role: Role, created_by: &str) -> Result<(String, ApiToken), AuthError> {
        let name: String = name.trim().chars().take(64).collect();
        if name.is_empty() {
            return Err(AuthError::TokenNameTaken(String::new()));
        }
        let token = format!("{API_TOKEN_PREFIX}{}", random_token()?);
        let now = self.now();
        let new = NewApiToken { name: name.clone(), token_hash: token_hash(&token), role, created_by: created_by.to_owned(), created_at: now };
        let entry = audit(now, created_by, "token.create", format!("创建 API 令牌 {name}（{}）", role.name()), None);
        match self.store.create_api_token(&new, &entry).await {
            Ok(made) => Ok((token, made)),
            Err(StoreError::Conflict(_)) => Err(AuthError::TokenNameTaken(name)),
            Err(other) => Err(other.into()),
        }
    }

    /// Revokes the live token with this id or name; whether there was one.
    ///
    /// # Errors
    /// A store failure.
    pub async fn revoke_token(&self, id_or_name: &str, actor: &str) -> Result<bool, StoreError> {
        let tokens = self.store.list_api_tokens().await?;
        let target = tokens.iter().filter(|t| t.revoked_at.is_none()).find(|t| t.name == id_or_name || t.id.to_string() == id_or_name);
        let Some(target) = target else { return Ok(false) };
        let now = self.now();
        let entry = audit(now, actor, "token.revoke", format!("撤销 API 令牌 {}", target.name), None);
        self.store.revoke_api_token(target.id, now, &entry).await
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "correct hors"));
        assert!(!verify_password("not a hash", "correct horse"));
        assert_ne!(hash, hash_password("correct horse").unwrap(), "salted");
    }

    #[test]
    fn tokens_are_random_and_stored_as_their_sha256() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn login_names_are_lower_cased_and_checked() {
        assert_eq!(normalize_login("  Boss.Li ").unwrap(), "boss.li");
        assert_eq!(normalize_login("小王").unwrap(), "小王");
        assert!(normalize_login("").is_err());
        assert!(normalize_login("a b").is_err());
        assert!(normalize_login(&"x".repeat(33)).is_err());
    }

    #[test]
    fn five_failures_in_five_minutes_block_and_old_ones_expire() {
        let failures = Failures::default();
        let t0 = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let keys = ["ip:1.2.3.4".to_owned(), "login:boss".to_owned()];
        for i in 0..4 {
            failures.record(&keys, t0 + Duration::seconds(i));
        }
        assert!(!failures.blocked(&keys, t0 + Duration::seconds(10)));
        failures.record(&keys, t0 + Duration::seconds(10));
        assert!(failures.blocked(&keys, t0 + Duration::seconds(11)));
        assert!(failures.blocked(&["login:boss".to_owned()], t0 + Duration::seconds(11)), "the name alone is blocked");
        assert!(!failures.blocked(&keys, t0 + Duration::seconds(FAILURE_WINDOW_SECS + 1)), "a window later");
    }
}
