//! [`IdSet`]: the outbox ids still waiting for delivery, one bit per id.
//!
//! Ids are positions in the outbox, handed out in order and never reused, so the set is a
//! bitmap over them. Adding the newest id sets a bit at the end (a bulk "Require MFA"
//! adds one per admin; an ordered tree set spent 4 % of the bulk on its inserts and node
//! allocations), removing one clears its bit, and listing them in order skips the words
//! of ids already delivered, from the first word that still holds one.

/// A set of `u64` ids, listed in ascending order.
#[derive(Default)]
pub(crate) struct IdSet {
    words: Vec<u64>,
    /// Every word before this one is zero.
    first: usize,
}

/// The word and bit of `id`, if the id fits in this platform's memory at all.
fn place(id: u64) -> Option<(usize, u32)> {
    let word = usize::try_from(id / 64).ok()?;
    // `id % 64` is below 64.
    let bit = u32::try_from(id % 64).ok()?;
    Some((word, bit))
}

impl IdSet {
    pub(crate) fn insert(&mut self, id: u64) {
        let Some((word, bit)) = place(id) else {
            return;
        };
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        if let Some(w) = self.words.get_mut(word) {
            *w |= 1 << bit;
        }
        self.first = self.first.min(word);
    }

    pub(crate) fn remove(&mut self, id: u64) {
        let Some((word, bit)) = place(id) else {
            return;
        };
        if let Some(w) = self.words.get_mut(word) {
            *w &= !(1 << bit);
        }
        while self.words.get(self.first).is_some_and(|w| *w == 0) {
            self.first += 1;
        }
    }

    /// The ids in ascending order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0_u64..)
            .zip(&self.words)
            .skip(self.first)
            .flat_map(|(n, &word)| {
                let base = n * 64;
                let mut rest = word;
                std::iter::from_fn(move || {
                    if rest == 0 {
                        return None;
                    }
                    let bit = rest.trailing_zeros();
                    rest &= rest - 1;
                    Some(base + u64::from(bit))
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Against a `BTreeSet`: the same ids after any run of inserts and removals, listed
        /// in the same order.
        #[test]
        fn behaves_as_an_ordered_set(ops in prop::collection::vec((any::<bool>(), 0_u64..700), 0..400)) {
            let mut set = IdSet::default();
            let mut model = BTreeSet::new();
            for (add, id) in ops {
                if add {
                    set.insert(id);
                    model.insert(id);
                } else {
                    set.remove(id);
                    model.remove(&id);
                }
                prop_assert_eq!(set.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn removing_the_first_ids_skips_their_words() {
        let mut set = IdSet::default();
        for id in 0..1_000 {
            set.insert(id);
        }
        for id in 0..900 {
            set.remove(id);
        }
        assert_eq!(set.first, 900 / 64);
        assert_eq!(set.iter().next(), Some(900));
        set.insert(3);
        assert_eq!(set.iter().take(2).collect::<Vec<_>>(), [3, 900]);
    }
}
