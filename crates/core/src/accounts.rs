//! Dashboard accounts (运营后台账号), their sessions and API tokens for automation.
//!
//! The store keeps only hashes: passwords as argon2id PHC strings (hashed by the server, this
//! crate does no cryptography), session and API tokens as the hex SHA-256 of the token. A
//! token itself is shown once, when it is made.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an account (or an API token) may do. Ordered: `Viewer < Operator < Owner`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Does the daily work: changes groups, rules, content, moderation.
    Operator,
    /// Everything an operator does, plus accounts and API tokens.
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Operator, Role::Viewer];

    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Owner => "owner",
        }
    }

    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

/// A stored account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: i64,
    /// The login name, unique (compared as stored; the server lower-cases it).
    pub login: String,
    pub display_name: String,
    /// argon2id PHC string; never sent to a client.
    #[serde(skip_serializing, default)]
    pub password_hash: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    /// A disabled account cannot log in; its sessions were deleted when it was disabled.
    pub disabled: bool,
}

/// An account to create (the store gives the id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAccount {
    pub login: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// Changes to an account; `None` keeps a field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountChange {
    pub display_name: Option<String>,
    pub password_hash: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// A dashboard session. The cookie holds the token; the store holds its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Hex SHA-256 of the session token.
    pub token_hash: String,
    pub account: i64,
    /// The per-session CSRF token every changing request must carry.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Sliding: moved forward as the session is used.
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
}

/// An API token for automation (`Authorization: Bearer <token>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    /// Unique among tokens not revoked.
    pub name: String,
    /// Hex SHA-256 of the token; never sent to a client.
    #[serde(skip_serializing, default)]
    pub token_hash: String,
    pub role: Role,
    /// The login of the account (or `cli`) that made it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token to create (the store gives the id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApiToken {
    pub name: String,
    pub token_hash: String,
    pub role: Role,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_from_viewer_to_owner_and_named_by_their_names() {
        assert!(Role::Owner.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Operator));
        assert!(!Role::Viewer.allows(Role::Operator));
        for role in Role::ALL {
            assert_eq!(Role::from_name(role.name()), Some(role));
        }
        assert_eq!(Role::from_name("admin"), None);
    }
}
