//! Which seqNos of a 2.0.1 transaction have arrived, to show the gaps (a lost event) and tell
//! a repeat (an event sent twice) from a new event. Kept as disjoint ranges: a transaction without gaps costs one
//! range however long it runs, and a broken station cannot grow it past [`MAX_RANGES`].

/// The most disjoint ranges kept for one transaction; a seqNo that would need another range is
/// counted as received but not placed, and the gaps are then marked incomplete.
pub const MAX_RANGES: usize = 64;

/// The seqNos seen, as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeqNos {
    ranges: Vec<(u64, u64)>,
    untracked: u64,
}

/// What one seqNo was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Not seen before.
    New,
    /// Seen before: the event came twice.
    Repeat,
}

impl SeqNos {
    /// Records `seq`.
    pub fn record(&mut self, seq: u64) -> Arrival {
        // The first range that ends at or after `seq - 1`: the only one `seq` can join.
        let at = self
            .ranges
            .partition_point(|&(_, end)| end.saturating_add(1) < seq);
        let joins_next = |ranges: &[(u64, u64)], index: usize| {
            ranges
                .get(index)
                .is_some_and(|&(start, _)| seq.checked_add(1) == Some(start))
        };
        match self.ranges.get(at).copied() {
            Some((start, end)) if start <= seq && seq <= end => return Arrival::Repeat,
            // Just after range `at`: extend it, and join the next one when that closes a gap.
            Some((start, end)) if end.checked_add(1) == Some(seq) => {
                if joins_next(&self.ranges, at.saturating_add(1)) {
                    let next_end = self
                        .ranges
                        .get(at.saturating_add(1))
                        .map_or(seq, |&(_, e)| e);
                    self.ranges.remove(at.saturating_add(1));
                    if let Some(range) = self.ranges.get_mut(at) {
                        *range = (start, next_end);
                    }
                } else if let Some(range) = self.ranges.get_mut(at) {
                    *range = (start, seq);
                }
                return Arrival::New;
            }
            // Just before range `at`: extend it downwards.
            Some(_) if joins_next(&self.ranges, at) => {
                if let Some(range) = self.ranges.get_mut(at) {
                    range.0 = seq;
                }
                return Arrival::New;
            }
            _ => {}
        }
        if self.ranges.len() < MAX_RANGES {
            self.ranges.insert(at, (seq, seq));
        } else {
            self.untracked = self.untracked.saturating_add(1);
        }
        Arrival::New
    }

    /// The highest seqNo placed.
    pub fn highest(&self) -> Option<u64> {
        self.ranges.last().map(|&(_, end)| end)
    }

    /// The missing ranges between 0 and the highest seqNo placed, inclusive, lowest first.
    pub fn gaps(&self) -> Vec<(u64, u64)> {
        let mut gaps = Vec::new();
        let mut expected = 0u64;
        for &(start, end) in &self.ranges {
            if start > expected {
                gaps.push((expected, start.saturating_sub(1)));
            }
            expected = end.saturating_add(1);
        }
        gaps
    }

    /// How many seqNos the gaps hold.
    pub fn missing(&self) -> u64 {
        self.gaps().iter().fold(0u64, |sum, &(start, end)| {
            sum.saturating_add(end.saturating_sub(start).saturating_add(1))
        })
    }

    /// How many seqNos could not be placed (more than [`MAX_RANGES`] ranges): the gaps shown
    /// are then an upper bound.
    pub fn untracked(&self) -> u64 {
        self.untracked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(seqs: &[u64]) -> SeqNos {
        let mut seen = SeqNos::default();
        for &seq in seqs {
            seen.record(seq);
        }
        seen
    }

    #[test]
    fn an_unbroken_run_is_one_range_without_gaps() {
        let seen = of(&(0..1000).collect::<Vec<_>>());
        assert_eq!(seen.ranges, [(0, 999)]);
        assert_eq!(seen.highest(), Some(999));
        assert!(seen.gaps().is_empty());
        assert_eq!(seen.missing(), 0);
    }

    #[test]
    fn gaps_are_the_missing_ranges_from_zero_to_the_highest() {
        let seen = of(&[0, 1, 4, 5, 9]);
        assert_eq!(seen.gaps(), [(2, 3), (6, 8)]);
        assert_eq!(seen.missing(), 5);
        // The lab started after the first events: they are missing too.
        let late = of(&[3, 4]);
        assert_eq!(late.gaps(), [(0, 2)]);
    }

    #[test]
    fn late_events_close_their_gap() {
        let mut seen = of(&[0, 2, 4]);
        assert_eq!(seen.record(1), Arrival::New);
        assert_eq!(seen.ranges, [(0, 2), (4, 4)]);
        assert_eq!(seen.record(3), Arrival::New);
        assert_eq!(seen.ranges, [(0, 4)]);
        assert!(seen.gaps().is_empty());
        let mut backwards = of(&[5, 4, 3, 2, 1, 0]);
        assert_eq!(backwards.ranges, [(0, 5)]);
        assert_eq!(backwards.record(6), Arrival::New);
        assert_eq!(backwards.ranges, [(0, 6)]);
    }

    #[test]
    fn a_repeat_is_told_and_changes_nothing() {
        let mut seen = of(&[0, 1, 2, 5]);
        assert_eq!(seen.record(1), Arrival::Repeat);
        assert_eq!(seen.record(0), Arrival::Repeat);
        assert_eq!(seen.record(5), Arrival::Repeat);
        assert_eq!(seen.ranges, [(0, 2), (5, 5)]);
    }

    #[test]
    fn extreme_seq_nos_neither_overflow_nor_panic() {
        let mut seen = of(&[0, u64::MAX]);
        assert_eq!(seen.record(u64::MAX), Arrival::Repeat);
        assert_eq!(seen.record(u64::MAX - 1), Arrival::New);
        assert_eq!(seen.gaps(), [(1, u64::MAX - 2)]);
        assert_eq!(seen.missing(), u64::MAX - 2);
    }

    #[test]
    fn a_station_that_only_makes_gaps_cannot_grow_the_record() {
        let seen = of(&(0..1000).map(|n| n * 2).collect::<Vec<_>>());
        assert_eq!(seen.ranges.len(), MAX_RANGES);
        assert_eq!(seen.untracked(), 1000 - MAX_RANGES as u64);
        assert_eq!(seen.highest(), Some(2 * (MAX_RANGES as u64 - 1)));
    }
}
