//! What operators do about admission through the API: decide held join requests and end
//! guarded mode. Like [`crate::giveaways`], each change is an `OperatorCommand` event in the
//! group concerned (`admission.approve <id>`, `admission.reject <id> [reason]`,
//! `admission.end_guard`), judged by the admission rule and committed with its action and
//! audit rows; the event ids are deterministic, so a repeated request is a duplicate.
//! Staff also let newcomers through the gate (`gate.pass <member>`, see
//! [`crate::rules::admission::gate`]).

use qunzhu_core::admission::{GuardRecord, JoinRequestRecord};
use qunzhu_core::gate::{GateEntry, GateStatus};
use qunzhu_core::{Event, EventKind, GroupKey, MemberId, Origin, PlatformEventId, StoreError};
use thiserror::Error;

use crate::rules::admission::gate::PASS as GATE_PASS;
use crate::rules::admission::{APPROVE, END_GUARD, REJECT};
use crate::{Engine, EngineError, Processed};

#[derive(Debug, Error)]
pub enum AdmissionError {
    #[error("{0} does not exist")]
    NotFound(String),
    /// Already decided.
    #[error("{0}")]
    Conflict(String),
    /// A request field is wrong.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for AdmissionError {
    fn from(error: StoreError) -> Self {
        Self::Engine(error.into())
    }
}

/// The longest reason an operator may give, in characters.
pub const MAX_REASON_CHARS: usize = 200;

impl Engine {
    fn admission_event(&self, group: &GroupKey, event_id: String, operator: &str, command: String) -> Event {
        Event {
            origin: Origin { connector: group.connector.clone(), group: group.group.clone(), event_id: PlatformEventId::new(event_id) },
            group_name: None,
            time: self.clock().now(),
            kind: EventKind::OperatorCommand { operator: operator.to_owned(), command },
        }
    }

    /// Approves or rejects a join request (held, pending or left to the platform); returns it
    /// as recorded afterwards, with what was decided (the approve/reject action).
    ///
    /// # Errors
    /// `NotFound` for an unknown request, `Conflict` for one already decided, `Invalid` for a
    /// bad reason, or an engine failure.
    pub async fn decide_join_request(
        &self,
        group: &GroupKey,
        request_id: &str,
        approve: bool,
        operator: &str,
        reason: Option<&str>,
    ) -> Result<(JoinRequestRecord, Processed), AdmissionError> {
        let reason = reason.map(str::trim).unwrap_or("");
        if reason.chars().count() > MAX_REASON_CHARS || reason.contains('\n') {
            return Err(AdmissionError::Invalid { field: "reason", message: format!("one line of at most {MAX_REASON_CHARS} characters") });
        }
        let store = self.store();
        let Some(record) = store.join_request(group, request_id).await? else {
            return Err(AdmissionError::NotFound(format!("join request {request_id} in {group}")));
        };
        if record.status.is_final() {
            return Err(AdmissionError::Conflict(format!("join request {request_id} is already {}", record.status.name())));
        }
        let verb = if approve { APPROVE } else { REJECT };
        let command = if reason.is_empty() { format!("{verb} {request_id}") } else { format!("{verb} {request_id} {reason}") };
        let event = self.admission_event(group, format!("op:{verb}:{request_id}"), operator, command);
        let processed = self.submit(event).await?;
        let record = store
            .join_request(group, request_id)
            .await?
            .ok_or_else(|| AdmissionError::NotFound(format!("join request {request_id} in {group}")))?;
        Ok((record, processed))
    }

    /// The group's guard while it is active.
    ///
    /// # Errors
    /// A store failure.
    pub async fn active_guard(&self, group: &GroupKey) -> Result<Option<GuardRecord>, StoreError> {
        let now = self.clock().now();
        Ok(self.store().group_guard(group).await?.filter(|g| g.active_at(now)))
    }

    /// Ends the group's guarded mode now; returns the guard that was ended.
    ///
    /// # Errors
    /// `NotFound` when the group is not guarded, or an engine failure.
    pub async fn end_guard(&self, group: &GroupKey, operator: &str) -> Result<GuardRecord, AdmissionError> {
        let Some(guard) = self.active_guard(group).await? else {
            return Err(AdmissionError::NotFound(format!("guarded mode in {group}")));
        };
        let event_id = format!("op:{END_GUARD}:{}", guard.started_at.timestamp_micros());
        self.submit(self.admission_event(group, event_id, operator, END_GUARD.to_owned())).await?;
        Ok(guard)
    }

    /// The newcomers waiting at the group's gate, soonest deadline first.
    ///
    /// # Errors
    /// A store failure.
    pub async fn gate_pending(&self, group: &GroupKey, limit: u32) -> Result<Vec<GateEntry>, StoreError> {
        self.store().gate_entries(Some(group), GateStatus::Pending, limit).await
    }

    /// Lets a member waiting at the gate (or timed out there) through: unmuted, confirmed,
    /// marked passed by `operator`. Returns the gate as recorded afterwards.
    ///
    /// # Errors
    /// `NotFound` when the member has no gate in the group, `Conflict` when they already
    /// passed, or an engine failure.
    pub async fn pass_gate(&self, group: &GroupKey, member: &MemberId, operator: &str) -> Result<(GateEntry, Processed), AdmissionError> {
        let store = self.store();
        let Some(entry) = store.gate_entry(group, member).await? else {
            return Err(AdmissionError::NotFound(format!("a newcomer gate for {member} in {group}")));
        };
        if entry.status == GateStatus::Passed {
            return Err(AdmissionError::Conflict(format!("{member} already passed the gate of {group}")));
        }
        let event_id = format!("op:{GATE_PASS}:{member}:{}", entry.joined_at.timestamp_micros());
        let processed = self.submit(self.admission_event(group, event_id, operator, format!("{GATE_PASS} {member}"))).await?;
        let entry = store
            .gate_entry(group, member)
            .await?
            .ok_or_else(|| AdmissionError::NotFound(format!("a newcomer gate for {member} in {group}")))?;
        Ok((entry, processed))
    }
}
