//! [`Blocks`]: an append-only list kept in blocks of a fixed size, for the store's audit log
//! and outbox.
//!
//! Both only ever grow, by a few entries per commit and by one per admin in a bulk change.
//! In one vector, each doubling of a large list copies it whole into a new allocation (the
//! system allocator moves a block of a few megabytes instead of remapping it), and the new
//! region's pages are first touched by that copy: a bulk "Require MFA" of 100 000 admins
//! spent a tenth of its time in those copies and page faults. Full blocks never move, and a
//! block the allocator hands back from a freed store is reused without new pages.

/// Entries per full block.
const BLOCK: usize = 4096;

/// The first block grows by doubling up to this many entries, then to [`BLOCK`] at once: a
/// store with a handful of entries keeps a handful of slots, and a store that fills its
/// first block in one large change copies it a few times while small, not up to full size.
const SMALL: usize = 256;

/// An append-only list: entry `i` is at block `i / BLOCK`, offset `i % BLOCK`. Every block
/// but the last is full.
pub(crate) struct Blocks<T> {
    blocks: Vec<Vec<T>>,
}

impl<T> Default for Blocks<T> {
    fn default() -> Self {
        Self { blocks: Vec::new() }
    }
}

impl<T> Blocks<T> {
    pub(crate) fn len(&self) -> usize {
        self.blocks
            .split_last()
            .map_or(0, |(last, full)| full.len() * BLOCK + last.len())
    }

    /// Appends `value` as entry [`len`](Self::len).
    pub(crate) fn push(&mut self, value: T) {
        match self.blocks.last_mut() {
            Some(last) if last.len() < BLOCK => {
                if last.len() == last.capacity() && last.len() >= SMALL {
                    last.reserve_exact(BLOCK - last.len());
                }
                last.push(value);
            }
            _ => {
                // The first block grows from nothing (see [`SMALL`]); every later one is
                // allocated full size once.
                let mut block = if self.blocks.is_empty() {
                    Vec::new()
                } else {
                    Vec::with_capacity(BLOCK)
                };
                block.push(value);
                self.blocks.push(block);
            }
        }
    }

    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        self.blocks
            .get(index / BLOCK)
            .and_then(|block| block.get(index % BLOCK))
    }

    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.blocks
            .get_mut(index / BLOCK)
            .and_then(|block| block.get_mut(index % BLOCK))
    }

    /// The entries from `start` on, in order (none if `start` is past the end).
    pub(crate) fn iter_from(&self, start: usize) -> impl Iterator<Item = &T> {
        let first = start / BLOCK;
        let skip = start % BLOCK;
        self.blocks
            .iter()
            .skip(first)
            .enumerate()
            .flat_map(move |(n, block)| {
                let from = if n == 0 { skip.min(block.len()) } else { 0 };
                block.get(from..).unwrap_or_default()
            })
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.iter_from(0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Against a `Vec`: the same entries, found by index and listed from any start,
        /// across block boundaries.
        #[test]
        fn behaves_as_a_vec(len in 0_usize..3 * BLOCK + 3, start in 0_usize..3 * BLOCK + 10, probe in 0_usize..3 * BLOCK + 10) {
            let mut blocks = Blocks::default();
            let mut vec = Vec::new();
            for i in 0..len {
                blocks.push(i);
                vec.push(i);
            }
            prop_assert_eq!(blocks.len(), vec.len());
            prop_assert_eq!(blocks.iter().copied().collect::<Vec<_>>(), vec.clone());
            let tail: Vec<usize> = vec.iter().skip(start).copied().collect();
            prop_assert_eq!(blocks.iter_from(start).copied().collect::<Vec<_>>(), tail);
            prop_assert_eq!(blocks.get_mut(probe).copied(), vec.get(probe).copied());
            if let Some(entry) = blocks.get_mut(probe) {
                *entry += 1;
                prop_assert_eq!(blocks.iter_from(probe).next().copied(), Some(probe + 1));
            }
        }
    }

    #[test]
    fn the_first_block_stays_small_then_takes_its_full_size_at_once() {
        let capacity = |b: &Blocks<usize>| b.blocks.first().map_or(0, Vec::capacity);
        let mut blocks = Blocks::default();
        for i in 0..3 {
            blocks.push(i);
        }
        assert!(capacity(&blocks) < SMALL);
        for i in 3..=SMALL {
            blocks.push(i);
        }
        assert_eq!(capacity(&blocks), BLOCK);
        assert_eq!(
            blocks.iter().copied().collect::<Vec<_>>(),
            (0..=SMALL).collect::<Vec<_>>()
        );
    }

    #[test]
    fn full_blocks_do_not_move() {
        let mut blocks = Blocks::default();
        for i in 0..BLOCK {
            blocks.push(i);
        }
        let first = std::ptr::from_ref(blocks.iter().next().unwrap_or(&0));
        for i in BLOCK..4 * BLOCK {
            blocks.push(i);
        }
        assert_eq!(
            std::ptr::from_ref(blocks.iter().next().unwrap_or(&0)),
            first
        );
        assert_eq!(blocks.iter_from(2 * BLOCK).next(), Some(&(2 * BLOCK)));
    }
}
