//! Short-lived behaviour memory: recent message times per member (flooding) and recent
//! texts across groups (spam waves). In memory only: after a restart the windows simply
//! start empty, which can only make moderation more lenient for a few seconds.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use qunzhu_core::{GroupKey, MemberId};

/// Bounds, so a flood of distinct members or texts cannot grow memory without end.
const MAX_TRACKED: usize = 50_000;

/// Post times per member of a group.
type Posts = HashMap<(GroupKey, MemberId), VecDeque<DateTime<Utc>>>;
/// Who posted a text (by hash of its matching form), where and when.
type Texts = HashMap<u64, VecDeque<(DateTime<Utc>, GroupKey, MemberId)>>;

#[derive(Default)]
pub struct BehaviourState {
    posts: Mutex<Posts>,
    texts: Mutex<Texts>,
}

impl BehaviourState {
    /// Records a post and returns how many posts the member made in this group within
    /// `window` (including this one).
    pub fn record_post(&self, group: &GroupKey, member: &MemberId, at: DateTime<Utc>, window: Duration) -> usize {
        let mut posts = self.posts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if posts.len() >= MAX_TRACKED {
            posts.retain(|_, times| times.back().is_some_and(|t| at - *t < window));
            if posts.len() >= MAX_TRACKED {
                posts.clear();
            }
        }
        let times = posts.entry((group.clone(), member.clone())).or_default();
        times.push_back(at);
        while times.front().is_some_and(|t| at - *t >= window) {
            times.pop_front();
        }
        times.len()
    }

    /// Records a text (its matching form) and returns the distinct members who posted the
    /// same text, in any group, within `window` (including this one) and the groups.
    pub fn record_text(
        &self,
        matching_form: &str,
        group: &GroupKey,
        member: &MemberId,
        at: DateTime<Utc>,
        window: Duration,
    ) -> (usize, usize) {
        let mut hasher = DefaultHasher::new();
        matching_form.hash(&mut hasher);
        let key = hasher.finish();
        let mut texts = self.texts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if texts.len() >= MAX_TRACKED {
            texts.retain(|_, seen| seen.back().is_some_and(|(t, _, _)| at - *t < window));
            if texts.len() >= MAX_TRACKED {
                texts.clear();
            }
        }
        let seen = texts.entry(key).or_default();
        seen.push_back((at, group.clone(), member.clone()));
        while seen.front().is_some_and(|(t, _, _)| at - *t >= window) {
            seen.pop_front();
        }
        let members: HashSet<&MemberId> = seen.iter().map(|(_, _, m)| m).collect();
        let groups: HashSet<&GroupKey> = seen.iter().map(|(_, g, _)| g).collect();
        (members.len(), groups.len())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn posts_outside_the_window_are_forgotten() {
        let state = BehaviourState::default();
        let g = GroupKey::new("c", "g");
        let m = MemberId::new("u");
        let t0 = Utc.timestamp_opt(1_000, 0).unwrap();
        let window = Duration::seconds(10);
        for i in 0..5 {
            assert_eq!(state.record_post(&g, &m, t0 + Duration::seconds(i), window), i as usize + 1);
        }
        assert_eq!(state.record_post(&g, &m, t0 + Duration::seconds(9), window), 6);
        assert_eq!(state.record_post(&g, &m, t0 + Duration::seconds(14), window), 2, "only the posts at 9 s and 14 s are within 10 s");
    }

    #[test]
    fn the_same_text_from_several_members_across_groups_is_counted_once_per_member() {
        let state = BehaviourState::default();
        let t0 = Utc.timestamp_opt(1_000, 0).unwrap();
        let w = Duration::seconds(300);
        assert_eq!(state.record_text("加v123", &GroupKey::new("c", "g1"), &"u1".into(), t0, w), (1, 1));
        assert_eq!(state.record_text("加v123", &GroupKey::new("c", "g1"), &"u1".into(), t0, w), (1, 1));
        assert_eq!(state.record_text("加v123", &GroupKey::new("c", "g2"), &"u2".into(), t0, w), (2, 2));
        assert_eq!(state.record_text("别的", &GroupKey::new("c", "g2"), &"u3".into(), t0, w), (1, 1));
        assert_eq!(state.record_text("加v123", &GroupKey::new("c", "g3"), &"u3".into(), t0 + Duration::seconds(400), w), (1, 1));
    }
}
