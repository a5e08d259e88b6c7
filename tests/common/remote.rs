//! Drives the test CSMS (`tests/csms/csms.py`, started with `"control": true`) from a test:
//! CALLs to the station and control commands through the CSMS's control port.

#![allow(
    dead_code,
    reason = "each test binary compiles this module and uses a different part of it"
)]

use std::io::Write;
use std::net::TcpStream;

use serde_json::{Value, json};

use crate::common::{Csms, DEADLINE, dump, is_call};

/// Sends CALLs (and other commands) through the CSMS's control port.
pub struct Remote<'a> {
    pub csms: &'a Csms,
    control: TcpStream,
    commands: u32,
    calls: u32,
}

/// The station's answer to one CALL of the CSMS.
#[derive(Debug)]
pub struct Answer {
    pub action: String,
    /// Position of the CSMS's `sent` event for the CALL.
    pub sent_at: usize,
    /// Position of the `recv` event carrying the answer.
    pub at: usize,
    /// That `recv` event.
    pub event: Value,
}

impl Answer {
    /// The CALLRESULT payload; panics on a CALLERROR.
    pub fn payload(&self) -> &Value {
        assert_eq!(
            self.event["message_type"], 3,
            "{} must be answered with a CALLRESULT: {}",
            self.action, self.event
        );
        &self.event["payload"]
    }

    /// The CALLRESULT's `status`.
    pub fn status(&self) -> &str {
        self.payload()["status"].as_str().unwrap_or("?")
    }

    /// The CALLERROR code; panics on a CALLRESULT.
    pub fn error_code(&self) -> &str {
        assert_eq!(
            self.event["message_type"], 4,
            "{} must be answered with a CALLERROR: {}",
            self.action, self.event
        );
        self.event["error_code"].as_str().unwrap_or("?")
    }
}

impl<'a> Remote<'a> {
    /// Connects to the control port of `csms` (started with `"control": true`).
    pub fn new(csms: &'a Csms) -> Self {
        let listening = csms.wait_for(|e| e["event"] == "control_listening", DEADLINE);
        let port = listening["port"].as_u64().expect("the control port") as u16;
        let control = TcpStream::connect(("127.0.0.1", port)).expect("the CSMS's control port");
        Self {
            csms,
            control,
            commands: 0,
            calls: 0,
        }
    }

    /// Applies one control command and waits until the CSMS has carried it out.
    pub fn command(&mut self, command: Value) -> Value {
        let done = self.try_command(command);
        assert_eq!(done["event"], "control_done", "{done}");
        done
    }

    /// Applies one control command (see tests/csms/csms.py); returns `control_done`, or
    /// `control_error` when the CSMS could not carry it out (no connection to send on).
    pub fn try_command(&mut self, mut command: Value) -> Value {
        self.commands += 1;
        let id = format!("command-{}", self.commands);
        command["id"] = json!(id);
        writeln!(self.control, "{command}")
            .and_then(|()| self.control.flush())
            .expect("the CSMS takes control commands");
        self.csms
            .wait_until(&format!("control {id}"), DEADLINE, |events| {
                events
                    .iter()
                    .find(|e| {
                        (e["event"] == "control_done" || e["event"] == "control_error")
                            && e["id"] == id.as_str()
                    })
                    .cloned()
            })
    }

    /// Sends a raw `frame` on the newest connection and waits until it is out.
    pub fn send(&mut self, frame: &str) {
        self.command(json!({ "send": frame }));
    }

    /// Sends `[2, id, action, payload]` and waits for the station's answer.
    pub fn call(&mut self, action: &str, payload: Value) -> Answer {
        self.call_text(action, &payload.to_string())
    }

    /// [`Remote::call`] with the payload as JSON text, written exactly as given (`\u`
    /// escapes and all).
    pub fn call_text(&mut self, action: &str, payload: &str) -> Answer {
        self.calls += 1;
        let id = format!("csms-{}", self.calls);
        let frame = format!("[2,{},{},{payload}]", json!(id), json!(action));
        self.command(json!({ "send": frame }));
        let sent_at = self
            .csms
            .events()
            .iter()
            .position(|e| e["event"] == "sent" && e["unique_id"] == id.as_str())
            .expect("the CSMS noted the CALL it sent");
        let (at, event) = self.csms.wait_for_after(
            sent_at,
            &format!("the station's answer to {action} ({id})"),
            |e| {
                e["event"] == "recv"
                    && (e["message_type"] == 3 || e["message_type"] == 4)
                    && e["unique_id"] == id.as_str()
            },
        );
        Answer {
            action: action.to_owned(),
            sent_at,
            at,
            event,
        }
    }

    /// GetBaseReport; returns the reportData of every NotifyReport part, in order, after
    /// checking that the parts carry the request's `requestId`, count `seqNo` from 0 and have
    /// `tbc: true` on every part but the last.
    pub fn base_report(&mut self, request_id: u64, base: &str) -> Vec<Value> {
        let answer = self.call(
            "GetBaseReport",
            json!({"requestId": request_id, "reportBase": base}),
        );
        assert_eq!(answer.status(), "Accepted", "{}", answer.event);
        let is_part = |e: &Value| {
            is_call(e) && e["action"] == "NotifyReport" && e["payload"]["requestId"] == request_id
        };
        let parts = self
            .csms
            .wait_until("the last NotifyReport part", DEADLINE, |events| {
                let parts: Vec<Value> = events[answer.sent_at..]
                    .iter()
                    .filter(|e| is_part(e))
                    .cloned()
                    .collect();
                let last = parts.iter().position(|p| p["payload"]["tbc"] != true)?;
                Some(parts[..=last].to_vec())
            });
        for (seq_no, part) in parts.iter().enumerate() {
            let payload = &part["payload"];
            assert_eq!(payload["seqNo"], seq_no, "{}", dump(&parts));
            assert_eq!(
                payload["tbc"] == true,
                seq_no + 1 < parts.len(),
                "tbc on every part but the last:\n{}",
                dump(&parts)
            );
        }
        parts
            .iter()
            .flat_map(|p| {
                p["payload"]["reportData"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    /// From now on the CSMS requires `password`.
    pub fn set_password(&mut self, password: &str) {
        self.command(json!({ "password": password }));
    }
}
