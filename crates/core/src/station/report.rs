//! The report being sent (GetBaseReport B07, GetReport B08): one at a time.
//!
//! The station keeps which entries the report holds and how many parts are out, and renders
//! each NotifyReport part when it is its turn to go. A report waiting behind an unanswered
//! CALL therefore holds its selection only (a few bytes per entry), and a CSMS that asks for
//! reports faster than it takes them gets `Rejected` instead of a growing queue.

use std::ops::Range;

use serde_json::json;

use super::Station;
use crate::device_model::{ITEMS_PER_MESSAGE, ReportSelection, StatusInfo};
use crate::ocpp::Request;
use crate::ocpp::csms_response::{CsmsResponse, ReportStatus};

/// Entries per NotifyReport part: what the station advertises as ItemsPerMessage[GetReport].
const ENTRIES_PER_PART: usize = ITEMS_PER_MESSAGE as usize;

/// A report accepted and not fully sent.
#[derive(Debug)]
pub(super) struct ReportJob {
    request_id: i64,
    selection: ReportSelection,
    /// The seqNo of the next part.
    next_seq_no: u32,
}

impl ReportJob {
    /// The entries of the next part, and whether more parts follow it.
    fn next_part(&self) -> (Range<usize>, bool) {
        let start = (self.next_seq_no as usize).saturating_mul(ENTRIES_PER_PART);
        let end = start
            .saturating_add(ENTRIES_PER_PART)
            .min(self.selection.len());
        (start..end, end < self.selection.len())
    }
}

impl Station {
    /// Answers a report request whose entries are `selection`: `EmptyResultSet` when nothing
    /// matched, `Rejected` while another report is still being sent (at most one is kept),
    /// `Accepted` otherwise, the parts following the answer.
    pub(super) fn start_report(
        &mut self,
        request_id: i64,
        selection: ReportSelection,
    ) -> CsmsResponse {
        if selection.is_empty() {
            return report_answer(ReportStatus::EmptyResultSet, None);
        }
        if let Some(busy) = &self.report {
            return report_answer(ReportStatus::Rejected, Some(report_busy(busy.request_id)));
        }
        self.report = Some(ReportJob {
            request_id,
            selection,
            next_seq_no: 0,
        });
        report_answer(ReportStatus::Accepted, None)
    }

    /// The next NotifyReport part of the report being sent, rendered with the values of now;
    /// the report ends with its last part.
    pub(super) fn next_report_part(&mut self) -> Option<Request> {
        let job = self.report.as_ref()?;
        let (range, tbc) = job.next_part();
        let (evse_available, connector_status) = self.live_state();
        let view = self.live_view(&evse_available, &connector_status);
        let data = self.device_model.render(&job.selection, range, &view);
        let part = Request::NotifyReport {
            request_id: job.request_id,
            seq_no: job.next_seq_no,
            tbc,
            data: serde_json::to_value(data).unwrap_or_else(|_| json!([])),
        };
        if tbc {
            if let Some(job) = self.report.as_mut() {
                job.next_seq_no = job.next_seq_no.saturating_add(1);
            }
        } else {
            self.report = None;
        }
        Some(part)
    }
}

fn report_answer(status: ReportStatus, info: Option<StatusInfo>) -> CsmsResponse {
    CsmsResponse::Report { status, info }
}

/// Why a report request is refused while another one is being sent.
fn report_busy(request_id: i64) -> StatusInfo {
    StatusInfo {
        reason_code: "Unspecified".into(),
        additional_info: Some(format!(
            "report {request_id} is still being sent; ask again once its last NotifyReport is out"
        )),
    }
}
