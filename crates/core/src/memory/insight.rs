//! The reference semantics of insight rollups, conversions and digests for
//! [`super::MemoryStore`]; the database stores implement exactly this (the insight stories
//! check them against it).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};

use crate::ids::{ConnectorId, GroupKey, MemberId, MessageId};
use crate::insight::{Conversion, Counts, DigestRecord, Granularity, InsightWrite, Rollup, day_bucket, hour_bucket};

/// (group, granularity, bucket, member or "" for the group's row).
type RollupKey = (GroupKey, Granularity, i64, String);

#[derive(Clone, Debug, Default)]
pub(crate) struct Insight {
    rollups: BTreeMap<RollupKey, Counts>,
    tallies: HashSet<String>,
    /// (group, message) → (asker, time).
    questions: BTreeMap<(GroupKey, MessageId), (MemberId, DateTime<Utc>)>,
    conversions: Vec<Conversion>,
    digests: BTreeMap<(GroupKey, NaiveDate), DigestRecord>,
}

impl Insight {
    pub(crate) fn apply(&mut self, write: &InsightWrite) {
        match write {
            InsightWrite::Tally(tally) => {
                if !self.tallies.insert(tally.id.clone()) {
                    return;
                }
                let member = tally.member.as_ref().map(|m| m.as_str().to_owned());
                let buckets = [(Granularity::Hour, hour_bucket(tally.at)), (Granularity::Day, day_bucket(tally.day))];
                for (granularity, bucket) in buckets {
                    let mut rows = vec![String::new()];
                    rows.extend(member.clone());
                    for who in rows {
                        self.rollups.entry((tally.group.clone(), granularity, bucket, who)).or_default().add(&tally.counts);
                    }
                }
                if let (Some(message), Some(asker)) = (&tally.question, &tally.member) {
                    self.questions.entry((tally.group.clone(), message.clone())).or_insert((asker.clone(), tally.at));
                }
            }
        }
    }

    pub(crate) fn question_asker(&self, group: &GroupKey, message: &MessageId) -> Option<MemberId> {
        self.questions.get(&(group.clone(), message.clone())).map(|(asker, _)| asker.clone())
    }

    pub(crate) fn asked_between(&self, group: &GroupKey, member: &MemberId, since: DateTime<Utc>, until: DateTime<Utc>) -> bool {
        self.questions.iter().any(|((g, _), (asker, at))| g == group && asker == member && *at >= since && *at < until)
    }

    pub(crate) fn rollups(&self, group: &GroupKey, granularity: Granularity, from: i64, until: i64) -> Vec<Rollup> {
        self.rollups
            .range((group.clone(), granularity, from, String::new())..(group.clone(), granularity, until, String::new()))
            .map(|((group, granularity, bucket, member), counts)| Rollup {
                group: group.clone(),
                member: (!member.is_empty()).then(|| MemberId::new(member.clone())),
                granularity: *granularity,
                bucket: *bucket,
                counts: *counts,
            })
            .collect()
    }

    /// Every group's own day rows in `[from, until)`, by group then bucket.
    pub(crate) fn group_days(&self, from: i64, until: i64) -> Vec<Rollup> {
        let mut rows: Vec<Rollup> = self
            .rollups
            .iter()
            .filter(|((_, granularity, bucket, who), _)| *granularity == Granularity::Day && who.is_empty() && *bucket >= from && *bucket < until)
            .map(|((group, granularity, bucket, _), counts)| Rollup { group: group.clone(), member: None, granularity: *granularity, bucket: *bucket, counts: *counts })
            .collect();
        rows.sort_by(|a, b| (a.group.connector.as_str(), a.group.group.as_str(), a.bucket).cmp(&(b.group.connector.as_str(), b.group.group.as_str(), b.bucket)));
        rows
    }

    /// Each group's first day bucket with a row of its own, by group.
    pub(crate) fn first_days(&self) -> Vec<(GroupKey, i64)> {
        let mut first: BTreeMap<(String, String), (GroupKey, i64)> = BTreeMap::new();
        for (group, granularity, bucket, who) in self.rollups.keys() {
            if *granularity != Granularity::Day || !who.is_empty() {
                continue;
            }
            let entry = first.entry((group.connector.as_str().to_owned(), group.group.as_str().to_owned())).or_insert((group.clone(), *bucket));
            entry.1 = entry.1.min(*bucket);
        }
        first.into_values().collect()
    }

    pub(crate) fn member_days(&self, connector: &ConnectorId, member: &MemberId) -> Vec<Rollup> {
        self.rollups
            .iter()
            .filter(|((group, granularity, _, who), _)| {
                &group.connector == connector && *granularity == Granularity::Day && who == member.as_str()
            })
            .map(|((group, granularity, bucket, _), counts)| Rollup {
                group: group.clone(),
                member: Some(member.clone()),
                granularity: *granularity,
                bucket: *bucket,
                counts: *counts,
            })
            .collect()
    }

    pub(crate) fn reset(&mut self) {
        self.rollups.clear();
        self.tallies.clear();
        self.questions.clear();
    }

    pub(crate) fn record_conversion(&mut self, conversion: &Conversion) -> (Conversion, bool) {
        if let Some(existing) = self.conversions.iter().find(|c| c.id == conversion.id) {
            return (existing.clone(), false);
        }
        self.conversions.push(conversion.clone());
        (conversion.clone(), true)
    }

    pub(crate) fn conversions(&self) -> Vec<Conversion> {
        self.conversions.clone()
    }

    pub(crate) fn save_digest(&mut self, digest: &DigestRecord) {
        self.digests.insert((digest.group.clone(), digest.day), digest.clone());
    }

    /// A digest committed with its tick: the first of the group's day is kept.
    pub(crate) fn keep_digest(&mut self, digest: &DigestRecord) {
        self.digests.entry((digest.group.clone(), digest.day)).or_insert_with(|| digest.clone());
    }

    pub(crate) fn digest(&self, group: &GroupKey, day: NaiveDate) -> Option<DigestRecord> {
        self.digests.get(&(group.clone(), day)).cloned()
    }

    pub(crate) fn digests(&self, group: &GroupKey, limit: u32) -> Vec<DigestRecord> {
        self.digests.values().rev().filter(|d| &d.group == group).take(limit as usize).cloned().collect()
    }
}
