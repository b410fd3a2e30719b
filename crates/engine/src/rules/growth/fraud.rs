//! Fraud flags on referrals, shown to staff (`GET /api/v1/referrals/flags`): patterns of
//! fake invites that practitioners watch for. Pure functions over the referrals; nothing is
//! decided automatically.
//!
//! - **Quick leaves**: invitees who left within hours of joining (bought or borrowed
//!   accounts leave once counted).
//! - **Look-alike names**: a burst of invitees of one inviter whose names share a prefix with
//!   different digits (`小号01`, `小号02`…) or are nearly the same (edit distance, `strsim`).
//! - **Never spoke**: invitees who stayed the whole stay but never said a word.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use qunzhu_core::growth::Referral;
use qunzhu_core::{GroupKey, MemberId};
use serde::Serialize;

use super::settings::ReferralSettings;
use crate::locale::Locale;

/// Which pattern a flag found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    QuickLeave,
    LookalikeNames,
    NeverSpoke,
}

/// One inviter's referrals that match a pattern.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FraudFlag {
    pub kind: FlagKind,
    pub group: GroupKey,
    pub inviter: MemberId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inviter_name: Option<String>,
    pub invitees: Vec<MemberId>,
    /// The referrals' ids.
    pub referrals: Vec<String>,
    /// What was found, in the operator's language.
    pub detail: String,
}

/// Names that differ only in their trailing digits (`小号01` / `小号17`).
fn same_prefix_other_digits(a: &str, b: &str) -> bool {
    let split = |s: &str| -> (String, String) {
        let digits: String = s.chars().rev().take_while(char::is_ascii_digit).collect();
        let prefix: String = s.chars().take(s.chars().count() - digits.chars().count()).collect();
        (prefix, digits)
    };
    let ((pa, da), (pb, db)) = (split(a), split(b));
    !pa.trim().is_empty() && pa == pb && !da.is_empty() && !db.is_empty()
}

/// Whether two invitee names look alike.
pub fn look_alike(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() || b.is_empty() {
        return false;
    }
    same_prefix_other_digits(a, b) || (a.chars().count().min(b.chars().count()) >= 3 && strsim::normalized_levenshtein(a, b) >= 0.75)
}

/// Groups of indexes whose names are linked by [`look_alike`] (union-find over pairs).
fn clusters(names: &[&str]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..names.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..names.len() {
        for j in i + 1..names.len() {
            if look_alike(names[i], names[j]) {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                parent[ri] = rj;
            }
        }
    }
    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..names.len() {
        let r = root(&mut parent, i);
        by_root.entry(r).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = by_root.into_values().collect();
    out.sort();
    out
}

fn flag(kind: FlagKind, referrals: &[&Referral], detail: String) -> Option<FraudFlag> {
    let first = referrals.first()?;
    Some(FraudFlag {
        kind,
        group: first.group.clone(),
        inviter: first.inviter.clone(),
        inviter_name: first.inviter_name.clone(),
        invitees: referrals.iter().map(|r| r.invitee.clone()).collect(),
        referrals: referrals.iter().map(|r| r.id.clone()).collect(),
        detail,
    })
}

/// The flags over `referrals` at `now`; `settings` gives each group's referral settings.
pub fn flags(
    referrals: &[Referral],
    settings: impl Fn(&GroupKey) -> ReferralSettings,
    now: DateTime<Utc>,
    locale: Locale,
) -> Vec<FraudFlag> {
    let mut by_inviter: BTreeMap<(&GroupKey, &MemberId), Vec<&Referral>> = BTreeMap::new();
    for referral in referrals {
        by_inviter.entry((&referral.group, &referral.inviter)).or_default().push(referral);
    }
    let mut found = Vec::new();
    for ((group, _), mut invites) in by_inviter {
        invites.sort_by(|a, b| a.joined_at.cmp(&b.joined_at).then_with(|| a.id.cmp(&b.id)));
        let settings = settings(group);
        let hours = i64::from(settings.quick_leave_hours);
        let quick: Vec<&Referral> = invites
            .iter()
            .copied()
            .filter(|r| r.left_at.is_some_and(|left| left - r.joined_at < Duration::hours(hours)))
            .collect();
        let detail = match locale {
            Locale::ZhCn => format!("{} 位被邀请人在入群 {hours} 小时内退群", quick.len()),
            Locale::En => format!("{} invitees left within {hours} hours of joining", quick.len()),
        };
        found.extend(flag(FlagKind::QuickLeave, &quick, detail));

        let names: Vec<&str> = invites.iter().map(|r| r.invitee_name.as_deref().unwrap_or("")).collect();
        for cluster in clusters(&names) {
            if cluster.len() >= settings.lookalike_min as usize {
                let members: Vec<&Referral> = cluster.iter().map(|&i| invites[i]).collect();
                let shown: Vec<&str> = cluster.iter().map(|&i| names[i]).collect();
                let detail = match locale {
                    Locale::ZhCn => format!("{} 个相似昵称：{}", shown.len(), shown.join("、")),
                    Locale::En => format!("{} look-alike names: {}", shown.len(), shown.join(", ")),
                };
                found.extend(flag(FlagKind::LookalikeNames, &members, detail));
            }
        }

        let silent: Vec<&Referral> =
            invites.iter().copied().filter(|r| r.spoke_at.is_none() && r.left_at.is_none() && r.due_at <= now).collect();
        let detail = match locale {
            Locale::ZhCn => format!("{} 位被邀请人已满留存期仍从未发言", silent.len()),
            Locale::En => format!("{} invitees stayed the whole period without a word", silent.len()),
        };
        found.extend(flag(FlagKind::NeverSpoke, &silent, detail));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_and_nearly_equal_names_look_alike_but_different_names_do_not() {
        assert!(look_alike("小号01", "小号17"));
        assert!(look_alike("user123", "user9"));
        assert!(look_alike("阳光明媚的日子", "阳光明媚的曰子"));
        assert!(!look_alike("小王", "老李"));
        assert!(!look_alike("123", "456"), "digits alone share no prefix");
        assert_eq!(clusters(&["a01", "b", "a02", "a03"]), vec![vec![0, 2, 3], vec![1]]);
    }
}
