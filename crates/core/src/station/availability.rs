//! Operator availability (ChangeAvailability): which connectors the CSMS took out of service,
//! and the changes waiting for a session to end. Persisted across restarts by the shell.

use std::collections::BTreeSet;

/// What ChangeAvailability set, and what waits for a session to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    station_operative: bool,
    inoperative: BTreeSet<u32>,
    /// Targets (`None`: the station) to take out of service once the connectors they touch
    /// are idle.
    scheduled: Vec<Option<u32>>,
}

impl Availability {
    /// As restored from disk: the station's own flag, the connectors taken out of service and
    /// the changes still waiting for a session to end.
    pub fn new(
        station_operative: bool,
        inoperative: BTreeSet<u32>,
        scheduled: Vec<Option<u32>>,
    ) -> Self {
        Self {
            station_operative,
            inoperative,
            scheduled,
        }
    }

    /// What waits for a session to end: targets to take out of service (`None`: the station).
    pub fn scheduled(&self) -> &[Option<u32>] {
        &self.scheduled
    }

    /// The station as a whole is in service.
    pub fn station_operative(&self) -> bool {
        self.station_operative
    }

    /// The connectors taken out of service one by one.
    pub fn inoperative(&self) -> &BTreeSet<u32> {
        &self.inoperative
    }

    /// The operator made this connector Unavailable (itself or the whole station).
    pub fn is_unavailable(&self, connector: u32) -> bool {
        !self.station_operative || self.inoperative.contains(&connector)
    }

    /// Whether `target` (`None`: the station) is already as asked.
    pub fn is(&self, target: Option<u32>, operative: bool) -> bool {
        match target {
            None => self.station_operative == operative,
            Some(c) => self.inoperative.contains(&c) != operative,
        }
    }

    /// Applies a change now; a later change to the same target replaces a scheduled one.
    pub fn apply(&mut self, target: Option<u32>, operative: bool) {
        self.scheduled.retain(|t| *t != target);
        match target {
            None => self.station_operative = operative,
            Some(c) if operative => {
                self.inoperative.remove(&c);
            }
            Some(c) => {
                self.inoperative.insert(c);
            }
        }
    }

    /// Takes `target` out of service once the connectors it touches are idle.
    pub fn schedule_inoperative(&mut self, target: Option<u32>) {
        self.scheduled.retain(|t| *t != target);
        self.scheduled.push(target);
    }

    /// Applies every scheduled change whose connectors are idle; true when any was.
    pub fn apply_due(&mut self, connectors: u32, in_use: impl Fn(u32) -> bool) -> bool {
        let due: Vec<Option<u32>> = self
            .scheduled
            .iter()
            .copied()
            .filter(|target| match target {
                None => (1..=connectors).all(|c| !in_use(c)),
                Some(c) => !in_use(*c),
            })
            .collect();
        for target in due.iter().copied() {
            self.apply(target, false);
        }
        !due.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn station_and_connector_flags_combine() {
        let mut a = Availability::new(true, BTreeSet::new(), Vec::new());
        assert!(!a.is_unavailable(1));
        a.apply(Some(2), false);
        assert!(a.is_unavailable(2) && !a.is_unavailable(1));
        a.apply(None, false);
        assert!(a.is_unavailable(1));
        a.apply(None, true);
        assert!(!a.is_unavailable(1) && a.is_unavailable(2));
        assert!(a.is(Some(2), false) && a.is(None, true));
    }

    #[test]
    fn a_scheduled_change_waits_for_its_connectors() {
        let mut a = Availability::new(true, BTreeSet::new(), Vec::new());
        a.schedule_inoperative(None);
        assert!(!a.apply_due(2, |c| c == 1));
        assert!(a.apply_due(2, |_| false));
        assert!(a.is_unavailable(1));
        assert!(!a.apply_due(2, |_| false), "applied once");
    }

    #[test]
    fn an_immediate_change_cancels_a_scheduled_one() {
        let mut a = Availability::new(true, BTreeSet::new(), Vec::new());
        a.schedule_inoperative(Some(1));
        a.apply(Some(1), true);
        assert!(!a.apply_due(1, |_| false));
        assert!(!a.is_unavailable(1));
    }
}
