//! A small open-addressing table from names to indices, for the custom roles and actions that
//! `decide` has to look up by name without allocating.

/// Maps up to a few dozen names to indices with one hash and (almost always) one string compare.
#[derive(Clone, Debug, Default)]
pub(crate) struct NameTable {
    /// `(hash, index + 1)`; `0` marks an empty slot. Length is a power of two.
    slots: Vec<(u64, u32)>,
    names: Vec<Box<str>>,
}

const EMPTY: u32 = 0;
const MIX: u64 = 0x9e37_79b9_7f4a_7c15;

/// A cheap key: the length, the first and the last eight bytes (overlapping for short names).
/// Names that differ only in the middle share a key; `get` still compares the whole name.
fn hash(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let word = |chunk: Option<&[u8]>| {
        chunk
            .and_then(|c| <[u8; 8]>::try_from(c).ok())
            .map_or(0, u64::from_le_bytes)
    };
    let (first, last) = if bytes.len() >= 8 {
        (word(bytes.get(..8)), word(bytes.get(bytes.len() - 8..)))
    } else {
        let mut padded = [0u8; 8];
        for (dst, src) in padded.iter_mut().zip(bytes) {
            *dst = *src;
        }
        (u64::from_le_bytes(padded), 0)
    };
    // Multiplication carries every input bit into the top bits; `slot` indexes by those.
    ((first ^ (bytes.len() as u64))
        .wrapping_mul(MIX)
        .rotate_left(31)
        ^ last)
        .wrapping_mul(MIX)
}

/// The home slot of a key in a table of `size` (a power of two, at least 2) slots: its top bits.
const fn slot(key: u64, size: usize) -> usize {
    (key >> (64 - size.trailing_zeros())) as usize & (size - 1)
}

impl NameTable {
    /// Builds the table; `entries` are `(name, index)` with distinct names.
    pub(crate) fn new(entries: &[(Box<str>, usize)]) -> Self {
        let size = (entries.len() * 2).next_power_of_two().max(8);
        let mut table = Self {
            slots: vec![(0, EMPTY); size],
            names: Vec::with_capacity(entries.len()),
        };
        for (name, _) in entries {
            let h = hash(name);
            let mask = size - 1;
            let mut at = slot(h, size);
            let value = u32::try_from(table.names.len() + 1).unwrap_or(u32::MAX);
            for _ in 0..size {
                match table.slots.get_mut(at) {
                    Some(slot) if slot.1 == EMPTY => {
                        *slot = (h, value);
                        break;
                    }
                    _ => at = (at + 1) & mask,
                }
            }
            table.names.push(name.clone());
        }
        table
    }

    /// The position (in the `entries` given to [`NameTable::new`]) of `name`, if present.
    pub(crate) fn get(&self, name: &str) -> Option<usize> {
        let h = hash(name);
        let mask = self.slots.len().checked_sub(1)?;
        let mut at = slot(h, self.slots.len());
        for _ in 0..self.slots.len() {
            let (key, value) = *self.slots.get(at)?;
            if value == EMPTY {
                return None;
            }
            let position = (value - 1) as usize;
            if key == h && self.names.get(position).is_some_and(|n| **n == *name) {
                return Some(position);
            }
            at = (at + 1) & mask;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_name_and_nothing_else() {
        let entries: Vec<(Box<str>, usize)> = (0..48)
            .map(|i| (format!("custom-role-{i:02}").into_boxed_str(), i + 8))
            .collect();
        let table = NameTable::new(&entries);
        for (position, (name, _)) in entries.iter().enumerate() {
            assert_eq!(table.get(name), Some(position));
        }
        for missing in ["", "custom-role-48", "custom-role-0", "x", &"a".repeat(64)] {
            assert_eq!(table.get(missing), None, "{missing}");
        }
        assert_eq!(NameTable::default().get("anything"), None);
        assert_eq!(NameTable::new(&[]).get("anything"), None);
    }
}
