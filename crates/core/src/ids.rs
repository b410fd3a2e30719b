//! Newtype ids. A bare `String` never stands for a group or a member.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }
    };
}

string_id!(
    /// A configured connector instance (`[[connectors]] id = "qq"`). Never contains `/`.
    ConnectorId
);
string_id!(
    /// A group as the platform names it (QQ group number, Matrix room id, WeCom chat id…).
    GroupId
);
string_id!(
    /// A member as the platform names them (QQ number, Matrix user id, bridge user id…).
    MemberId
);
string_id!(
    /// A message as the platform names it; used to reply to or delete it.
    MessageId
);
string_id!(
    /// The platform's id of an event; the inbox drops a second event with the same one.
    PlatformEventId
);
string_id!(
    /// An action decided by the engine. Deterministic (derived from its cause), so a
    /// re-run of an interrupted event produces the same ids and the outbox stays exact.
    ActionId
);
string_id!(
    /// A staff task (待办).
    TaskId
);

/// A group across all connectors: the connector it lives on and its platform id.
///
/// Written as `connector/group` (the connector id never contains `/`; the group id may).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupKey {
    pub connector: ConnectorId,
    pub group: GroupId,
}

impl GroupKey {
    pub fn new(connector: impl Into<ConnectorId>, group: impl Into<GroupId>) -> Self {
        Self { connector: connector.into(), group: group.into() }
    }

    /// Parses `connector/group`.
    pub fn parse(text: &str) -> Option<Self> {
        let (connector, group) = text.split_once('/')?;
        if connector.is_empty() || group.is_empty() {
            return None;
        }
        Some(Self::new(connector, group))
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.connector, self.group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_key_round_trips_through_text_even_when_the_group_id_has_slashes() {
        let key = GroupKey::new("bridge", "team/a:b");
        assert_eq!(GroupKey::parse(&key.to_string()), Some(key));
        assert_eq!(GroupKey::parse("no-slash"), None);
        assert_eq!(GroupKey::parse("/g"), None);
    }
}
