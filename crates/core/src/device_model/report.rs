//! What a report holds: the entries of a GetBaseReport (B07) or GetReport (B08), chosen when
//! the report is asked for and rendered as NotifyReport data one part at a time.
//!
//! A selection is a list of (variable, place) pairs, a few bytes each. Values are read when a
//! part is rendered, so a report that waits for its turn holds almost no memory, and each part
//! shows the values of the moment it is sent.

use std::ops::Range;

use super::variables::{self, Place, VARIABLES, VarSpec};
use super::wire::{ComponentCriterion, ComponentVariable, CustomReport, Evse, ReportBase};
use super::{DeviceModel, LiveView, ReportData};

/// The entries of one report, in report order.
#[derive(Debug, Clone, Default)]
pub struct ReportSelection {
    entries: Vec<(&'static VarSpec, Place)>,
}

impl ReportSelection {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Nothing matched: the answer is EmptyResultSet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl DeviceModel {
    /// The entries of GetBaseReportRequest `base`: ConfigurationInventory = the variables the
    /// CSMS can set, FullInventory = all, SummaryInventory = availability and problems of the
    /// station, its EVSEs and connectors.
    pub fn select_base(&self, base: ReportBase) -> ReportSelection {
        let entries = self
            .every_variable()
            .into_iter()
            .filter(|(spec, _)| match base {
                ReportBase::FullInventory => true,
                ReportBase::ConfigurationInventory => spec.setting.is_some(),
                ReportBase::SummaryInventory => spec.summary,
            })
            .collect();
        ReportSelection { entries }
    }

    /// The entries of a GetReportRequest: those any `componentVariable` names (all when there
    /// is none), of components that meet at least one of the `criteria` (all when there is
    /// none). The criteria are judged against `view`, at the time of the request.
    pub fn select_custom(&self, request: &CustomReport, view: &LiveView) -> ReportSelection {
        let entries = self
            .every_variable()
            .into_iter()
            .filter(|&(spec, place)| {
                request.component_variables.is_empty()
                    || request
                        .component_variables
                        .iter()
                        .any(|cv| names(cv, spec, place))
            })
            .filter(|&(spec, place)| {
                request.criteria.is_empty()
                    || request
                        .criteria
                        .iter()
                        .any(|&criterion| self.meets(spec.component, place, criterion, view))
            })
            .collect();
        ReportSelection { entries }
    }

    /// The NotifyReport data of the entries at `range` of `selection` (cut to its end). A
    /// write-only or unmeasured variable is listed without a value.
    pub fn render(
        &self,
        selection: &ReportSelection,
        range: Range<usize>,
        view: &LiveView,
    ) -> Vec<ReportData> {
        let end = range.end.min(selection.entries.len());
        selection
            .entries
            .get(range.start.min(end)..end)
            .unwrap_or_default()
            .iter()
            .map(|&(spec, place)| self.report_entry(spec, place, view))
            .collect()
    }

    /// The whole NotifyReport data of GetBaseReportRequest `base`, at once.
    pub fn base_report(&self, base: ReportBase, view: &LiveView) -> Vec<ReportData> {
        let selection = self.select_base(base);
        self.render(&selection, 0..selection.len(), view)
    }

    fn every_variable(&self) -> Vec<(&'static VarSpec, Place)> {
        variables::all(self.connectors, self.serial_number.is_some())
    }

    /// The component `component` at `place` meets `criterion` (B08.FR.07-10): its `Active`,
    /// `Available` or `Enabled` is true or it has no such variable; its `Problem` is true.
    fn meets(
        &self,
        component: &str,
        place: Place,
        criterion: ComponentCriterion,
        view: &LiveView,
    ) -> bool {
        let (name, when_absent) = match criterion {
            ComponentCriterion::Active => ("Active", true),
            ComponentCriterion::Available => ("Available", true),
            ComponentCriterion::Enabled => ("Enabled", true),
            ComponentCriterion::Problem => ("Problem", false),
        };
        let variable = VARIABLES
            .iter()
            .find(|v| v.component == component && v.name == name && v.instance.is_none());
        match variable {
            None => when_absent,
            Some(spec) => self.value(spec, place, view).as_deref() == Some("true"),
        }
    }
}

/// `cv` names the variable `spec` at `place`. Names and instances match without regard to case.
/// Without `evse` the component stands for all its instances; with an EVSE but no connectorId,
/// for that EVSE's connectors too. Without a variable it stands for all its variables; a
/// variable without an instance stands for all its instances.
fn names(cv: &ComponentVariable, spec: &VarSpec, place: Place) -> bool {
    fn given(text: &Option<String>) -> Option<&str> {
        text.as_deref().filter(|t| !t.is_empty())
    }
    if !spec.component.eq_ignore_ascii_case(&cv.component.name)
        // No component of the station has instances.
        || given(&cv.component.instance).is_some()
        || !at(cv.component.evse, place)
    {
        return false;
    }
    let Some(variable) = &cv.variable else {
        return true;
    };
    spec.name.eq_ignore_ascii_case(&variable.name)
        && match given(&variable.instance) {
            None => true,
            Some(wanted) => spec
                .instance
                .is_some_and(|have| have.eq_ignore_ascii_case(wanted)),
        }
}

/// The EVSE (and connector) a request names is `place`, or contains it.
fn at(evse: Option<Evse>, place: Place) -> bool {
    let is = |id: i32, n: u32| i64::from(id) == i64::from(n);
    match (evse, place) {
        (None, _) => true,
        (Some(_), Place::Station) => false,
        (Some(e), Place::Evse(n)) => is(e.id, n) && e.connector_id.is_none(),
        // Each EVSE has connector 1 only.
        (Some(e), Place::Connector(n)) => is(e.id, n) && e.connector_id.is_none_or(|c| c == 1),
    }
}
