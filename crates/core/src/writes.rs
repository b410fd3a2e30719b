//! State a rule decides to write, committed in the same transaction as the event that caused
//! it (see [`crate::store::Commit::writes`]). One variant per kind of record; each backend
//! applies them in its commit, and a write whose id is already stored is skipped, so a
//! re-processed event changes nothing twice.

use serde::{Deserialize, Serialize};

use crate::admission::AdmissionWrite;
use crate::care::CareWrite;
use crate::faq::FaqAnswer;
use crate::growth::{CounterIncrement, Milestone, ReferralWrite};
use crate::membership::MembershipWrite;
use crate::points::{CheckIn, ItemChange, LedgerEntry};
use crate::lottery::LotteryWrite;
use crate::signup::SignupWrite;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StateWrite {
    /// A points ledger entry (the balance moves with it).
    Points(LedgerEntry),
    /// A check-in; a second one for the same group, member and day is skipped.
    CheckIn(CheckIn),
    /// A change of a member's inventory (make-up cards…).
    Item(ItemChange),
    /// An auto-reply given: a hit for its FAQ entry, and the start of its cooldowns.
    FaqAnswer(FaqAnswer),
    /// A change to a sign-up list (接龙); see [`SignupWrite`] for which are refused.
    Signup(SignupWrite),
    /// A change to a lottery (抽奖); see [`LotteryWrite`] for which are refused.
    Lottery(LotteryWrite),
    /// Admission and welcome state: join requests, the join log, guarded mode.
    Admission(AdmissionWrite),
    /// A change to a referral (裂变); see [`ReferralWrite`].
    Referral(ReferralWrite),
    /// A milestone reached: refused with a conflict when another event already reached the
    /// same threshold (the event is judged again and sees it), skipped on a re-run of its own.
    Milestone(Milestone),
    /// A custom counter's increment; skipped when its id is already stored.
    Counter(CounterIncrement),
    /// The join log, leaves, remembered invite codes and member profiles.
    Membership(MembershipWrite),
    /// The newcomer gate (入群验证); see [`GateWrite`](crate::gate::GateWrite).
    Gate(crate::gate::GateWrite),
    /// Activity rollups (see [`crate::insight`]); a tally already stored is skipped.
    Insight(crate::insight::InsightWrite),
    /// Care (用户思维): questions, sentiment lines and tickets; see [`CareWrite`].
    Care(CareWrite),
    /// A group's life stage as checked (replaces the group's record).
    LifeStage(crate::life_stage::StageRecord),
    /// A daily digest (群精华), kept with the tick that made it; a digest already stored for
    /// the group's day is kept and this one skipped (one digest per group and day).
    Digest(crate::insight::DigestRecord),
}
