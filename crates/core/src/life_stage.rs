//! The last life stage (生命周期) recorded per group, so a transition (into cooling) is
//! noticed once: the daily life-stage tick compares the stage now with this record and
//! commits the new one with its event ([`crate::StateWrite::LifeStage`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::GroupKey;

/// A group's recorded life stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRecord {
    pub group: GroupKey,
    /// The stage's name (`new`, `growing`, `mature`, `cooling`, `dormant`).
    pub stage: String,
    /// The group's local day of the check that wrote it.
    pub checked_on: NaiveDate,
    /// When the group entered this stage (the check that first saw it).
    pub since: DateTime<Utc>,
}
