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

fn hash(name: &str) -> u64 {
    let mut h = (name.len() as u64) ^ MIX;
    let mut chunks = name.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let word = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes);
        h = (h ^ word).wrapping_mul(MIX).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        for (dst, src) in word.iter_mut().zip(rest) {
            *dst = *src;
        }
        h = (h ^ u64::from_le_bytes(word))
            .wrapping_mul(MIX)
            .rotate_left(29);
    }
    h ^ (h >> 32)
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
            let mut at = (h as usize) & mask;
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
        let mut at = (h as usize) & mask;
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
