//! Owns nonce-count replay memory (RFC 7616 §3.4: the server "should" check
//! that nc increases per nonce). Must not touch nonce syntax or MACs; it is
//! handed already-authenticated `NonceId`s.
//!
//! Memory is bounded two ways, so a flood of valid challenges cannot grow it:
//! entries whose nonce has expired are dropped (an expired nonce is refused
//! as stale before we get here, so its counter is useless), and beyond `cap`
//! the oldest-issued entries are evicted. Eviction must not re-open a replay
//! window, so we remember the newest evicted id as a floor: a nonce at or
//! below the floor that is not in the map might have been evicted, and is
//! answered `Stale` (the client re-challenges transparently) instead of
//! being treated as first use. This works because ids are ordered by issue
//! time and we always evict from the bottom, so everything above the floor
//! that was ever recorded is still present.

use std::collections::BTreeMap;

use super::error::AuthError;
use super::nonce::NonceId;

/// Highest accepted nonce-count per nonce, bounded.
#[derive(Debug)]
pub(crate) struct NonceCounts {
    highest: BTreeMap<NonceId, u32>,
    cap: usize,
    floor: Option<NonceId>,
}

impl NonceCounts {
    pub fn new(cap: usize) -> Self {
        NonceCounts {
            highest: BTreeMap::new(),
            cap: cap.max(1),
            floor: None,
        }
    }

    pub fn len(&self) -> usize {
        self.highest.len()
    }

    /// Drops entries for nonces issued before `oldest_live` (unix seconds).
    /// Cost is proportional to what is removed, thanks to the ordering.
    pub fn purge_issued_before(&mut self, oldest_live: u64) {
        while let Some(entry) = self.highest.first_entry() {
            if entry.key().issued >= oldest_live {
                break;
            }
            entry.remove();
        }
    }

    /// Accepts `nc` for `id` if it is greater than any accepted before, and
    /// remembers it. Call only after the response hash has verified, so only
    /// authenticated requests can create entries.
    pub fn check_and_record(&mut self, id: NonceId, nc: u32) -> Result<(), AuthError> {
        if let Some(prev) = self.highest.get_mut(&id) {
            if nc <= *prev {
                return Err(AuthError::Replay);
            }
            *prev = nc;
            return Ok(());
        }
        if self.floor.is_some_and(|floor| id <= floor) {
            return Err(AuthError::Stale);
        }
        self.highest.insert(id, nc);
        while self.highest.len() > self.cap {
            match self.highest.pop_first() {
                // Popping in ascending order means the last pop is the max.
                Some((evicted, _)) => self.floor = Some(evicted),
                None => break,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(issued: u64, salt: u64) -> NonceId {
        NonceId { issued, salt }
    }

    #[test]
    fn increasing_nc_accepted_replay_refused() {
        let mut t = NonceCounts::new(10);
        assert_eq!(t.check_and_record(id(1, 1), 1), Ok(()));
        assert_eq!(t.check_and_record(id(1, 1), 2), Ok(()));
        assert_eq!(t.check_and_record(id(1, 1), 2), Err(AuthError::Replay));
        assert_eq!(t.check_and_record(id(1, 1), 1), Err(AuthError::Replay));
        // Gaps are fine (a lost request is not an attack).
        assert_eq!(t.check_and_record(id(1, 1), 9), Ok(()));
        // Other nonces are independent.
        assert_eq!(t.check_and_record(id(1, 2), 1), Ok(()));
    }

    #[test]
    fn cap_holds_and_evicted_nonces_go_stale_not_fresh() {
        let mut t = NonceCounts::new(100);
        for i in 0..10_000 {
            assert_eq!(t.check_and_record(id(i, 0), 1), Ok(()));
            assert!(t.len() <= 100);
        }
        assert_eq!(t.len(), 100);
        // An evicted nonce must not be accepted again with nc=1.
        assert_eq!(t.check_and_record(id(5, 0), 1), Err(AuthError::Stale));
        // A retained one still replay-checks.
        assert_eq!(t.check_and_record(id(9_999, 0), 1), Err(AuthError::Replay));
        // A genuinely new nonce above the floor is fine.
        assert_eq!(t.check_and_record(id(20_000, 0), 1), Ok(()));
        assert_eq!(t.len(), 100);
    }

    #[test]
    fn purge_drops_only_old_issues() {
        let mut t = NonceCounts::new(100);
        for i in 0..10 {
            t.check_and_record(id(i * 10, 0), 1).unwrap();
        }
        t.purge_issued_before(50);
        assert_eq!(t.len(), 5);
        t.purge_issued_before(1_000);
        assert_eq!(t.len(), 0);
    }
}
