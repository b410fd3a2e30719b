//! The auditable draw, `qunzhu-draw-v1`: the winners are a deterministic function of a
//! published random seed, the published sorted entrant list and the number of winners, so
//! anyone can recompute them. The seed is drawn from the operating system's generator at
//! draw time and recorded with everything else (see `docs/lottery-draw.md`).
//!
//! 1. **Entrants**: every entrant written `connector/member`, sorted by UTF-8 bytes, no
//!    duplicates. Their hash: SHA-256 of the entrants, each followed by `\n`.
//! 2. **Key**: `key = SHA-256(seed ‖ lottery id)` — the 32 seed bytes, then the id's UTF-8
//!    bytes. Tying the key to the lottery makes one seed useless for any other lottery.
//! 3. **Randomness**: the ChaCha20 keystream under `key` (20 rounds, nonce 0, block counter
//!    from 0 — the RFC 8439 block function), read as consecutive little-endian 64-bit words.
//! 4. **Uniform index below `n`**: take the next word `w`; if `w ≥ n × ⌊2⁶⁴ / n⌋`, discard it
//!    and take the next (rejection, so no index is favoured); else the index is `w mod n`.
//! 5. **Partial Fisher–Yates**: on a copy `a` of the sorted entrants (`n` of them), for
//!    `i = 0 … k−1` with `k = min(winners, n)`: `j = i + index below (n − i)`, swap `a[i]` and
//!    `a[j]`. The winners are `a[0 … k−1]`, in that order.

use chrono::{DateTime, Utc};
use qunzhu_core::lottery::DrawRecord;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The name recorded with every draw made by [`winners`].
pub const ALGORITHM: &str = "qunzhu-draw-v1";

#[derive(Debug, Error)]
#[error("the operating system's random generator failed: {0}")]
pub struct SeedError(String);

/// 32 bytes from the operating system's random generator.
///
/// # Errors
/// When the OS generator is unavailable.
pub fn new_seed() -> Result<[u8; 32], SeedError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| SeedError(e.to_string()))?;
    Ok(seed)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The seed from its hex form; `None` unless it is exactly 64 hex digits.
pub fn parse_seed(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(seed)
}

/// Entrants as the draw takes them: sorted by UTF-8 bytes, duplicates removed.
pub fn sorted_entrants(entrants: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut entrants: Vec<String> = entrants.into_iter().collect();
    entrants.sort_unstable();
    entrants.dedup();
    entrants
}

/// SHA-256 of the entrants, each followed by `\n`, as hex.
pub fn entrants_sha256(entrants: &[String]) -> String {
    let mut hasher = Sha256::new();
    for entrant in entrants {
        hasher.update(entrant.as_bytes());
        hasher.update(b"\n");
    }
    hex(&hasher.finalize())
}

fn keystream(seed: &[u8; 32], lottery: &str) -> ChaCha20Rng {
    let key: [u8; 32] = Sha256::new().chain_update(seed).chain_update(lottery.as_bytes()).finalize().into();
    ChaCha20Rng::from_seed(key)
}

/// A uniform index below `n` (`n > 0`), by rejection sampling on 64-bit words.
fn index_below(rng: &mut ChaCha20Rng, n: u64) -> u64 {
    let limit = (1u128 << 64) / u128::from(n) * u128::from(n);
    loop {
        let word = rng.next_u64();
        if u128::from(word) < limit {
            return word % n;
        }
    }
}

/// The winners of `lottery` among the sorted `entrants` (see the module documentation).
pub fn winners(seed: &[u8; 32], lottery: &str, entrants: &[String], count: u32) -> Vec<String> {
    let mut pool = entrants.to_vec();
    let n = pool.len();
    let k = n.min(count as usize);
    let mut rng = keystream(seed, lottery);
    for i in 0..k {
        let j = i + index_below(&mut rng, (n - i) as u64) as usize;
        pool.swap(i, j);
    }
    pool.truncate(k);
    pool
}

/// Draws `count` winners among `entrants` with a fresh seed, and returns the record to publish.
///
/// # Errors
/// When the OS random generator is unavailable.
pub fn draw(
    lottery: &str,
    entrants: impl IntoIterator<Item = String>,
    count: u32,
    drawn_at: DateTime<Utc>,
    drawn_by: &str,
) -> Result<DrawRecord, SeedError> {
    Ok(record_with_seed(&new_seed()?, lottery, entrants, count, drawn_at, drawn_by))
}

/// The record of a draw with a given seed (what [`draw`] does after picking the seed).
pub fn record_with_seed(
    seed: &[u8; 32],
    lottery: &str,
    entrants: impl IntoIterator<Item = String>,
    count: u32,
    drawn_at: DateTime<Utc>,
    drawn_by: &str,
) -> DrawRecord {
    let entrants = sorted_entrants(entrants);
    DrawRecord {
        algorithm: ALGORITHM.to_owned(),
        seed: hex(seed),
        entrants_sha256: entrants_sha256(&entrants),
        winners: winners(seed, lottery, &entrants, count),
        entrants,
        drawn_at,
        drawn_by: drawn_by.to_owned(),
    }
}

/// What recomputing a published draw found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Every check passed.
    pub valid: bool,
    /// The record names the algorithm this code implements.
    pub algorithm_known: bool,
    /// The published entrants are sorted without duplicates (as the draw takes them).
    pub entrants_sorted: bool,
    /// The published hash is the hash of the published entrants.
    pub entrants_hash_matches: bool,
    /// The published entrants are exactly the entries stored for the lottery.
    pub entrants_match_entries: bool,
    /// The winners recomputed from the seed equal the published ones.
    pub winners_match: bool,
    pub recomputed_entrants_sha256: String,
    pub recomputed_winners: Vec<String>,
}

/// Recomputes a published draw of `lottery` with `count` winners and compares it with the
/// record and with the entries stored for the lottery (`stored`: `connector/member`, any
/// order).
pub fn verify(lottery: &str, count: u32, record: &DrawRecord, stored: &[String]) -> Verification {
    let algorithm_known = record.algorithm == ALGORITHM;
    let entrants_sorted = record.entrants.windows(2).all(|w| w[0] < w[1]);
    let recomputed_entrants_sha256 = entrants_sha256(&record.entrants);
    let entrants_hash_matches = recomputed_entrants_sha256 == record.entrants_sha256;
    let entrants_match_entries = sorted_entrants(stored.iter().cloned()) == record.entrants;
    let recomputed_winners = match parse_seed(&record.seed) {
        Some(seed) => winners(&seed, lottery, &record.entrants, count),
        None => Vec::new(),
    };
    let winners_match = parse_seed(&record.seed).is_some() && recomputed_winners == record.winners;
    Verification {
        valid: algorithm_known && entrants_sorted && entrants_hash_matches && entrants_match_entries && winners_match,
        algorithm_known,
        entrants_sorted,
        entrants_hash_matches,
        entrants_match_entries,
        winners_match,
        recomputed_entrants_sha256,
        recomputed_winners,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000, 0).unwrap()
    }

    fn people(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("qq/{}", 10_000 + i)).collect()
    }

    #[test]
    fn the_randomness_is_the_standard_chacha20_keystream_read_as_little_endian_words() {
        // RFC 8439 §2.3.2 / the zero-key ChaCha20 test vector: the keystream starts
        // 76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28.
        let mut rng = ChaCha20Rng::from_seed([0; 32]);
        assert_eq!(rng.next_u64(), 0x903d_f1a0_ade0_b876);
        assert_eq!(rng.next_u64(), 0x28bd_8653_e56a_5d40);
    }

    #[test]
    fn a_fixed_seed_gives_fixed_winners_for_anyone_reimplementing_the_draw() {
        // The vector published in docs/lottery-draw.md.
        let seed = parse_seed(&"00".repeat(31).chars().chain("01".chars()).collect::<String>()).unwrap();
        let record = record_with_seed(&seed, "lt-demo", ["qq/3", "qq/1", "qq/2", "qq/5", "qq/4"].map(String::from), 2, at(), "engine");
        assert_eq!(record.entrants, ["qq/1", "qq/2", "qq/3", "qq/4", "qq/5"]);
        // Recomputed independently by scripts/verify-draw.py (plain Python, no ChaCha library).
        assert_eq!(record.winners, ["qq/3", "qq/1"], "the draw function changed: bump ALGORITHM and the doc");
        assert_eq!(record.entrants_sha256, "f1188b54b67e100895a8941ad6e60a0380bd99a521abf9f0c37ff72293fbb6de");
    }

    #[test]
    fn the_same_inputs_give_the_same_winners_and_another_lottery_id_others() {
        let seed = [7u8; 32];
        let entrants = people(50);
        let a = winners(&seed, "lt-a", &entrants, 5);
        assert_eq!(a, winners(&seed, "lt-a", &entrants, 5));
        assert_eq!(a.len(), 5);
        assert_eq!(sorted_entrants(a.clone()).len(), 5, "no one wins twice");
        assert!(a.iter().all(|w| entrants.contains(w)));
        assert_ne!(a, winners(&seed, "lt-b", &entrants, 5));
        assert_eq!(winners(&seed, "lt-a", &entrants, 3), a[..3], "more winners extend the same draw");
    }

    #[test]
    fn fewer_entrants_than_prizes_all_win_and_nobody_wins_an_empty_draw() {
        let seed = [1u8; 32];
        let mut all = winners(&seed, "lt", &people(3), 10);
        all.sort();
        assert_eq!(all, people(3));
        assert!(winners(&seed, "lt", &[], 3).is_empty());
        assert!(winners(&seed, "lt", &people(3), 0).is_empty());
    }

    #[test]
    fn every_entrant_is_equally_likely_to_win() {
        // 6 entrants, 1 winner, 60,000 seeds: each should win about 10,000 times.
        let entrants = people(6);
        let mut wins = [0u32; 6];
        for s in 0..60_000u32 {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&s.to_le_bytes());
            let winner = &winners(&seed, "lt", &entrants, 1)[0];
            wins[entrants.iter().position(|e| e == winner).unwrap()] += 1;
        }
        for count in wins {
            assert!((9_400..=10_600).contains(&count), "{wins:?}");
        }
    }

    #[test]
    fn a_recomputed_draw_matches_and_a_tampered_one_does_not() {
        let record = draw("lt-1", people(20), 3, at(), "engine").unwrap();
        assert_eq!(record.seed.len(), 64);
        let stored = people(20);
        let verdict = verify("lt-1", 3, &record, &stored);
        assert!(verdict.valid, "{verdict:?}");
        assert_eq!(verdict.recomputed_winners, record.winners);

        // Someone swapped an entrant for a friend, hash and all.
        let mut tampered = record.clone();
        tampered.entrants[0] = "qq/friend".into();
        tampered.entrants = sorted_entrants(tampered.entrants);
        tampered.entrants_sha256 = entrants_sha256(&tampered.entrants);
        let verdict = verify("lt-1", 3, &tampered, &stored);
        assert!(!verdict.valid);
        assert!(!verdict.entrants_match_entries);

        // Someone changed a winner.
        let mut tampered = record.clone();
        tampered.winners[0] = record.entrants.iter().find(|e| !record.winners.contains(e)).unwrap().clone();
        let verdict = verify("lt-1", 3, &tampered, &stored);
        assert!(!verdict.valid && !verdict.winners_match);

        // Someone changed the seed.
        let mut tampered = record.clone();
        tampered.seed = "ff".repeat(32);
        assert!(!verify("lt-1", 3, &tampered, &stored).winners_match);
        assert!(!verify("lt-1", 3, &record, &people(19)).valid, "an entry missing from the record");
    }

    #[test]
    fn seeds_parse_only_from_64_hex_digits() {
        assert_eq!(parse_seed(&"0a".repeat(32)), Some([10u8; 32]));
        assert_eq!(parse_seed("0a"), None);
        assert_eq!(parse_seed(&"zz".repeat(32)), None);
        assert_ne!(new_seed().unwrap(), new_seed().unwrap());
    }
}
