//! Where connector statuses come from.
//!
//! The station core learns each connector's state through [`ConnectorUpdate`]s on a channel. The
//! charge-controller bridge is one source; without a controller the connectors stay
//! `Unavailable`, because nothing on the station can vouch for them.

use tokio::sync::mpsc;

use crate::ocpp::ConnectorStatus;

/// Connector `connector` (1-based) is now `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorUpdate {
    /// Connector number, from 1.
    pub connector: u32,
    /// Its status as the operator must see it.
    pub status: ConnectorStatus,
}

/// A source of connector statuses.
pub trait StatusSource: Send {
    /// What every connector is reported as before the source has said anything.
    fn initial_status(&self) -> ConnectorStatus;

    /// Starts the source; updates arrive on the returned channel. A closed channel means the
    /// source will say nothing more.
    fn start(self: Box<Self>) -> mpsc::Receiver<ConnectorUpdate>;
}

/// No charge controller configured: every connector is Unavailable, for good.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoController;

impl StatusSource for NoController {
    fn initial_status(&self) -> ConnectorStatus {
        ConnectorStatus::Unavailable
    }

    fn start(self: Box<Self>) -> mpsc::Receiver<ConnectorUpdate> {
        // The sender is dropped at once: the channel is closed and stays silent.
        let (_sender, receiver) = mpsc::channel(1);
        receiver
    }
}
