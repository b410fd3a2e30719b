//! Secrets (tokens, passwords) that never appear in logs, `Debug` or error messages.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is checked or sent to the platform.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the first difference is.
    pub fn matches(&self, candidate: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), candidate.as_bytes());
        let mut diff = a.len() ^ b.len();
        for (i, byte) in b.iter().enumerate() {
            diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ byte);
        }
        diff == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret_and_matching_is_exact() {
        let secret = Secret::new("change-me");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert!(secret.matches("change-me"));
        assert!(!secret.matches("change-m"));
        assert!(!secret.matches("change-me!"));
        assert!(!secret.matches(""));
    }
}
