//! The charge controller as people see it, in the status file and the `--once` report: what
//! the controller itself says (the port task's [`ControllerSnapshot`]) and why its connector is
//! Faulted, read from the station core, which owns the connector's status.

use serde::Serialize;

use super::port::{ControllerSnapshot, SnapshotHandle};
use crate::ocpp::ConnectorStatus;

/// The `controller` object of `status.json` and of the `--once` report.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ControllerView {
    /// Port, device, link and the state the controller last sent.
    #[serde(flatten)]
    pub controller: ControllerSnapshot,
    /// Why the controller's connector is Faulted (a power-board fault, or why the link is
    /// down); `None` when it is not.
    pub fault: Option<String>,
}

impl ControllerView {
    /// The controller's snapshot beside `status`, what the charge controller last said of its
    /// connector as the station core holds it (`Station::controller_status`).
    pub fn new(snapshot: &SnapshotHandle, status: Option<&ConnectorStatus>) -> Self {
        // A poisoned lock only means another thread panicked mid-edit; the data is still usable.
        let controller = snapshot.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Self {
            controller,
            fault: status.and_then(ConnectorStatus::fault_cause),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::esp32::state;

    #[test]
    fn the_fault_comes_from_the_connector_status_beside_the_controllers_own_fields() {
        let snapshot = Arc::new(Mutex::new(ControllerSnapshot {
            port: "auto".into(),
            ..ControllerSnapshot::default()
        }));
        let lost = ControllerView::new(&snapshot, Some(&state::link_lost()));
        assert_eq!(
            serde_json::to_value(&lost).unwrap(),
            serde_json::json!({
                "port": "auto",
                "device": null,
                "link_up": false,
                "state": null,
                "state_name": null,
                "fault": "charge controller link lost",
            })
        );
        let fine = ControllerView::new(&snapshot, Some(&ConnectorStatus::Charging));
        assert_eq!(fine.fault, None);
        assert_eq!(ControllerView::new(&snapshot, None).fault, None);
    }
}
