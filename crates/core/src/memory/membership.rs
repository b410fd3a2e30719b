//! The reference semantics of channels, pools, the join log, leaves and member profiles for
//! [`super::MemoryStore`]. The database stores implement exactly this (the membership store
//! stories check them against it).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::ids::{ConnectorId, GroupKey, MemberId};
use crate::membership::{
    clean_tags, Channel, ChannelPool, ChannelRef, JoinCount, JoinCounts, JoinRecord, LeaveRecord, MemberProfile,
    MembershipWrite, ProfileGroup,
};
use crate::moderation::MemberRecord;
use crate::store::{StoreError, StoreResult};

/// A join in the log, and whether a leave followed it.
#[derive(Clone, Debug)]
struct LoggedJoin {
    record: JoinRecord,
    left_at: Option<DateTime<Utc>>,
}

/// What a profile keeps of its own (groups come from the member records).
#[derive(Clone, Debug)]
struct ProfileRow {
    name: Option<String>,
    first_seen: DateTime<Utc>,
    channel: Option<String>,
    tier: Option<String>,
    inviter: Option<MemberId>,
    tags: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Membership {
    channels: BTreeMap<String, Channel>,
    pools: BTreeMap<String, ChannelPool>,
    /// In log order.
    joins: Vec<LoggedJoin>,
    /// In log order.
    leaves: Vec<LeaveRecord>,
    codes: BTreeMap<(GroupKey, MemberId), String>,
    profiles: BTreeMap<(ConnectorId, MemberId), ProfileRow>,
}

fn code_taken(code: &str) -> StoreError {
    StoreError::Conflict(format!("invite code {code} is taken"))
}

impl Membership {
    pub(crate) fn create_channel(&mut self, channel: &Channel) -> StoreResult<Channel> {
        if self.channels.contains_key(&channel.id) {
            return Err(StoreError::Conflict(format!("channel {} exists", channel.id)));
        }
        if self.channels.values().any(|c| c.code == channel.code) {
            return Err(code_taken(&channel.code));
        }
        self.channels.insert(channel.id.clone(), channel.clone());
        Ok(channel.clone())
    }

    pub(crate) fn update_channel(&mut self, channel: &Channel) -> StoreResult<Channel> {
        if !self.channels.contains_key(&channel.id) {
            return Err(StoreError::NotFound(format!("channel {}", channel.id)));
        }
        if self.channels.values().any(|c| c.code == channel.code && c.id != channel.id) {
            return Err(code_taken(&channel.code));
        }
        self.channels.insert(channel.id.clone(), channel.clone());
        Ok(channel.clone())
    }

    pub(crate) fn get_channel(&self, id: &str) -> Option<Channel> {
        self.channels.get(id).cloned()
    }

    pub(crate) fn channel_by_code(&self, code: &str) -> Option<Channel> {
        self.channels.values().find(|c| c.code == code).cloned()
    }

    pub(crate) fn list_channels(&self, archived: bool) -> Vec<Channel> {
        self.channels.values().filter(|c| archived || !c.archived).cloned().collect()
    }

    pub(crate) fn save_pool(&mut self, pool: &ChannelPool) -> ChannelPool {
        self.pools.insert(pool.id.clone(), pool.clone());
        pool.clone()
    }

    pub(crate) fn get_pool(&self, id: &str) -> Option<ChannelPool> {
        self.pools.get(id).cloned()
    }

    pub(crate) fn list_pools(&self) -> Vec<ChannelPool> {
        self.pools.values().cloned().collect()
    }

    pub(crate) fn mark_pool_alerted(&mut self, id: &str, at: DateTime<Utc>) -> bool {
        match self.pools.get_mut(id) {
            Some(pool) if pool.alerted_at.is_none() => {
                pool.alerted_at = Some(at);
                true
            }
            _ => false,
        }
    }

    pub(crate) fn apply(&mut self, write: &MembershipWrite) {
        match write {
            MembershipWrite::Joined(record) => {
                if self.joins.iter().any(|j| j.record.id == record.id) {
                    return;
                }
                self.joins.push(LoggedJoin { record: record.clone(), left_at: None });
                let profile = self.profiles.entry((record.group.connector.clone(), record.member.clone())).or_insert_with(|| ProfileRow {
                    name: None,
                    first_seen: record.at,
                    channel: None,
                    tier: None,
                    inviter: None,
                    tags: Vec::new(),
                });
                if record.name.is_some() {
                    profile.name = record.name.clone();
                }
                if profile.inviter.is_none() {
                    profile.inviter = record.inviter.clone();
                }
                if let Some(channel) = &record.channel {
                    attribute(profile, channel);
                }
            }
            MembershipWrite::Left(leave) => {
                if self.leaves.iter().any(|l| l.id == leave.id) {
                    return;
                }
                self.leaves.push(leave.clone());
                for join in &mut self.joins {
                    if join.record.group == leave.group && join.record.member == leave.member && join.left_at.is_none() {
                        join.left_at = Some(leave.at);
                    }
                }
            }
            MembershipWrite::CodeSeen { group, member, code, .. } => {
                self.codes.insert((group.clone(), member.clone()), code.clone());
            }
            MembershipWrite::Attributed { group, member, channel, .. } => {
                if let Some(join) = self.joins.iter_mut().rev().find(|j| &j.record.group == group && &j.record.member == member) {
                    if join.record.channel.is_none() {
                        join.record.channel = Some(channel.clone());
                    }
                }
                if let Some(profile) = self.profiles.get_mut(&(group.connector.clone(), member.clone())) {
                    attribute(profile, channel);
                }
            }
        }
    }

    pub(crate) fn join_counts(&self, from: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> JoinCounts {
        let mut by_channel: BTreeMap<Option<String>, (u64, u64)> = BTreeMap::new();
        let mut by_tier: BTreeMap<Option<String>, (u64, u64)> = BTreeMap::new();
        let joins = self
            .joins
            .iter()
            .filter(|j| from.is_none_or(|from| j.record.at >= from) && until.is_none_or(|until| j.record.at < until));
        for join in joins {
            let stays = u64::from(join.left_at.is_none());
            let channel = join.record.channel.as_ref();
            for (map, key) in [(&mut by_channel, channel.map(|c| c.id.clone())), (&mut by_tier, channel.map(|c| c.tier.clone()))] {
                let count = map.entry(key).or_default();
                count.0 += 1;
                count.1 += stays;
            }
        }
        let list = |map: BTreeMap<Option<String>, (u64, u64)>| {
            map.into_iter().map(|(key, (joins, stays))| JoinCount { key, joins, stays }).collect()
        };
        JoinCounts { by_channel: list(by_channel), by_tier: list(by_tier) }
    }

    pub(crate) fn latest_join(&self, group: &GroupKey, member: &MemberId) -> Option<JoinRecord> {
        self.joins.iter().rev().find(|j| &j.record.group == group && &j.record.member == member).map(|j| j.record.clone())
    }

    pub(crate) fn remembered_code(&self, group: &GroupKey, member: &MemberId) -> Option<String> {
        self.codes.get(&(group.clone(), member.clone())).cloned()
    }

    pub(crate) fn profile(
        &self,
        connector: &ConnectorId,
        member: &MemberId,
        members: &BTreeMap<(GroupKey, MemberId), MemberRecord>,
    ) -> Option<MemberProfile> {
        let records: Vec<&MemberRecord> =
            members.values().filter(|r| &r.group.connector == connector && &r.member == member).collect();
        let row = self.profiles.get(&(connector.clone(), member.clone()));
        let first_seen = records.iter().map(|r| r.first_seen).chain(row.map(|r| r.first_seen)).min()?;
        let name = row.and_then(|r| r.name.clone()).or_else(|| records.iter().find_map(|r| r.name.clone()));
        Some(MemberProfile {
            connector: connector.clone(),
            member: member.clone(),
            name,
            first_seen,
            channel: row.and_then(|r| r.channel.clone()),
            tier: row.and_then(|r| r.tier.clone()),
            inviter: row.and_then(|r| r.inviter.clone()),
            tags: row.map(|r| r.tags.clone()).unwrap_or_default(),
            groups: records
                .iter()
                .map(|r| ProfileGroup {
                    group: r.group.clone(),
                    joined_at: r.joined_at,
                    left_at: r.left_at,
                    join_scene: self.latest_join(&r.group, member).and_then(|j| j.join_scene),
                })
                .collect(),
        })
    }

    pub(crate) fn search(
        &self,
        tag: Option<&str>,
        query: Option<&str>,
        limit: u32,
        members: &BTreeMap<(GroupKey, MemberId), MemberRecord>,
    ) -> Vec<MemberProfile> {
        self.profiles
            .iter()
            .filter(|(_, row)| tag.is_none_or(|tag| row.tags.iter().any(|t| t == tag)))
            .filter(|((_, member), row)| {
                query.is_none_or(|q| {
                    member.as_str() == q || row.name.as_deref().is_some_and(|name| name.to_lowercase().contains(&q.to_lowercase()))
                })
            })
            .take(limit as usize)
            .filter_map(|((connector, member), _)| self.profile(connector, member, members))
            .collect()
    }

    pub(crate) fn tag(&mut self, connector: &ConnectorId, member: &MemberId, add: &[String], remove: &[String]) -> StoreResult<()> {
        let Some(row) = self.profiles.get_mut(&(connector.clone(), member.clone())) else {
            return Err(StoreError::NotFound(format!("profile of {connector}/{member}")));
        };
        let mut tags = clean_tags(row.tags.iter().chain(add));
        let remove = clean_tags(remove);
        tags.retain(|t| !remove.contains(t));
        row.tags = tags;
        Ok(())
    }

    pub(crate) fn churn(&self, group: &GroupKey, limit: u32) -> Vec<LeaveRecord> {
        self.leaves.iter().rev().filter(|l| &l.group == group).take(limit as usize).cloned().collect()
    }
}

/// A channel for a profile: its channel and tier when none is known, its tags added.
fn attribute(profile: &mut ProfileRow, channel: &ChannelRef) {
    if profile.channel.is_none() {
        profile.channel = Some(channel.id.clone());
        profile.tier = Some(channel.tier.clone());
    }
    profile.tags = clean_tags(profile.tags.iter().chain(&channel.tags));
}
