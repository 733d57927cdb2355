//! [`DedupeIndex`]: which dedupe keys the outbox already holds, without a second copy of
//! each key.
//!
//! Every notification ever queued keeps its key (NOT-3), so the index only grows: by one
//! entry per admin in a bulk "Require MFA". A set of the keys themselves cloned each key
//! (an allocation), and every time the set doubled it hashed every key's text again and
//! touched every key's allocation, all over memory: at 100 000 admins that set was the
//! part of a bulk whose cost per admin grew most with the store. Here a slot holds the
//! key's hash and the position of the outbox row that holds the key, 16 bytes: growing
//! moves slots by their stored hash, and a key's text is compared only when the full
//! hashes are equal.

use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

/// A set of keys, each kept as its hash and the position of the entry that holds it.
#[derive(Default)]
pub(crate) struct DedupeIndex {
    slots: HashTable<Slot>,
    hasher: RandomState,
}

#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    at: usize,
}

impl DedupeIndex {
    /// Room for `more` keys without growing.
    pub(crate) fn reserve(&mut self, more: usize) {
        self.slots.reserve(more, |slot| slot.hash);
    }

    /// Records `key` as held by the entry at position `at`, unless an entry already holds
    /// it: then `false`, and nothing changes. `key_at(n)` is the key the entry at `n`
    /// holds (entries never change their keys).
    pub(crate) fn claim<'k>(
        &mut self,
        key: &str,
        at: usize,
        key_at: impl Fn(usize) -> Option<&'k str>,
    ) -> bool {
        let hash = self.hasher.hash_one(key);
        let same = |slot: &Slot| slot.hash == hash && key_at(slot.at) == Some(key);
        match self.slots.entry(hash, same, |slot| slot.hash) {
            Entry::Occupied(_) => false,
            Entry::Vacant(vacant) => {
                vacant.insert(Slot { hash, at });
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Against a set of the keys: the same answer for every claim, whichever keys
        /// repeat. Keys are few and short, so repeats are common; a reserve now and then,
        /// as commits do, makes the table grow between claims.
        #[test]
        fn behaves_as_a_set_of_keys(keys in prop::collection::vec("[ab]{0,4}", 0..300)) {
            let mut index = DedupeIndex::default();
            let mut held: Vec<String> = Vec::new();
            let mut model = HashSet::new();
            for (n, key) in keys.into_iter().enumerate() {
                if n % 7 == 0 {
                    index.reserve(3);
                }
                let claimed = index.claim(&key, held.len(), |at| held.get(at).map(String::as_str));
                prop_assert_eq!(claimed, model.insert(key.clone()));
                if claimed {
                    held.push(key);
                }
            }
        }
    }

    /// A slot whose hash equals a key's hash but whose entry holds other text is not that
    /// key.
    #[test]
    fn equal_hashes_are_told_apart_by_the_text() {
        let held = ["y", "x"];
        let key_at = |at: usize| held.get(at).copied();
        let mut index = DedupeIndex::default();
        // The entry holding "y", filed under the hash of "x".
        let hash = index.hasher.hash_one("x");
        index
            .slots
            .insert_unique(hash, Slot { hash, at: 0 }, |slot| slot.hash);
        assert!(index.claim("x", 1, key_at));
        assert!(!index.claim("x", 2, key_at));
    }
}
