//! Drives the test CSMS (`tests/csms/csms.py`, started with `"control": true`) from a test:
//! CALLs to the station and control commands through the CSMS's control port.

#![allow(
    dead_code,
    reason = "each test binary compiles this module and uses a different part of it"
)]

use std::io::Write;
use std::net::TcpStream;

use serde_json::{Value, json};

use crate::common::{Csms, DEADLINE};

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
    pub fn command(&mut self, mut command: Value) -> Value {
        self.commands += 1;
        let id = format!("command-{}", self.commands);
        command["id"] = json!(id);
        writeln!(self.control, "{command}")
            .and_then(|()| self.control.flush())
            .expect("the CSMS takes control commands");
        let done = self
            .csms
            .wait_until(&format!("control {id}"), DEADLINE, |events| {
                events
                    .iter()
                    .find(|e| {
                        (e["event"] == "control_done" || e["event"] == "control_error")
                            && e["id"] == id.as_str()
                    })
                    .cloned()
            });
        assert_eq!(done["event"], "control_done", "{done}");
        done
    }

    /// Sends `[2, id, action, payload]` and waits for the station's answer.
    pub fn call(&mut self, action: &str, payload: Value) -> Answer {
        self.calls += 1;
        let id = format!("csms-{}", self.calls);
        let frame = json!([2, id, action, payload]).to_string();
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

    /// From now on the CSMS requires `password`.
    pub fn set_password(&mut self, password: &str) {
        self.command(json!({ "password": password }));
    }
}
