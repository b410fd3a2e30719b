//! The reference semantics of rosters and connector values (see [`crate::platform`]).

use std::collections::BTreeMap;

use crate::ids::{ConnectorId, GroupKey};
use crate::platform::Roster;

#[derive(Default)]
pub(super) struct Platform {
    rosters: BTreeMap<GroupKey, Roster>,
    values: BTreeMap<(ConnectorId, String), String>,
}

impl Platform {
    pub(super) fn save_roster(&mut self, roster: &Roster) {
        self.rosters.insert(roster.group.clone(), roster.clone());
    }

    pub(super) fn rosters(&self, connector: &ConnectorId) -> Vec<Roster> {
        self.rosters.values().filter(|r| &r.group.connector == connector).cloned().collect()
    }

    pub(super) fn delete_roster(&mut self, group: &GroupKey) {
        self.rosters.remove(group);
    }

    pub(super) fn value(&self, connector: &ConnectorId, key: &str) -> Option<String> {
        self.values.get(&(connector.clone(), key.to_owned())).cloned()
    }

    pub(super) fn set_value(&mut self, connector: &ConnectorId, key: &str, value: &str) {
        self.values.insert((connector.clone(), key.to_owned()), value.to_owned());
    }
}
