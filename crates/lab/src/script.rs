//! The scripted charging session the simulated controller walks through. Pure: a list of
//! steps, and what each step does to the firmware and prints.
//!
//! The session: a cable is plugged in (CABLE_DETECT), the EV is detected (EV_CONNECTED), a card
//! from the controller's own whitelist authorizes it (READY, the RFID result glued to the next
//! STAT as the firmware prints it), the EV charges (CHARGING), pauses (PAUSED), resumes through
//! READY (CHARGING again), the session ends (STOPPED) and the cable is unplugged (IDLE).
//! Optionally an earth fault follows: FAULT_HARD with PB=2, the recovery state HARDFAULT_END,
//! then IDLE, with the INFO/WARN lines the firmware prints around a ground fault.

use std::time::Duration;

use super::firmware::{CARD_RESULT, Firmware};
use ocpp_station::esp32::frame::{ChargerState, PowerBoard};

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Enter a state (the fields shown with it follow).
    Enter(ChargerState),
    /// A whitelisted RFID card is presented: authorized, READY when an EV waits.
    CardAccepted,
    /// An earth fault: FAULT_HARD with PB=2, relay open.
    EarthFault,
    /// The fault is over: HARDFAULT_END with PB=0 (IDLE follows in the next step).
    Recovering,
}

/// Something the firmware prints when a step is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A line; the line end is added when written.
    Line(String),
    /// Text printed without a line end (an RFID result): the next line lands after it.
    Unterminated(String),
}

impl Action {
    /// Applies the step to the firmware; returns what it prints. STAT lines are not among them:
    /// the firmware sends those on its own period and on request only.
    pub fn apply(self, firmware: &mut Firmware) -> Vec<Output> {
        match self {
            Action::Enter(state) => {
                firmware.enter(state);
                if state == ChargerState::Idle {
                    firmware.set_power_board(PowerBoard::Ok);
                }
                Vec::new()
            }
            Action::CardAccepted => {
                firmware.card_accepted();
                vec![Output::Unterminated(CARD_RESULT.to_owned())]
            }
            Action::EarthFault => {
                firmware.enter(ChargerState::FaultHard);
                firmware.set_power_board(PowerBoard::EarthFault);
                vec![
                    Output::Line("<INFO;MSG=GF_COUNT;VAL=1;>".to_owned()),
                    Output::Line("<WARN;MSG=GF_CONFIRMED;>".to_owned()),
                ]
            }
            Action::Recovering => {
                firmware.enter(ChargerState::HardFaultEnd);
                firmware.set_power_board(PowerBoard::Ok);
                vec![Output::Line("<INFO;MSG=FAULT_CLEARED;>".to_owned())]
            }
        }
    }
}

/// One step: an action, then a hold before the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// What happens.
    pub action: Action,
    /// How long the situation lasts before the next step.
    pub hold: Duration,
    /// What happens, for people.
    pub what: &'static str,
}

/// How the session is timed and what it includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptSettings {
    /// The hold of an ordinary step.
    pub step: Duration,
    /// The hold of the resumed CHARGING. A station holds back a resume (PAUSED -> CHARGING)
    /// until it has lasted its debounce time, so a resume meant to be seen must last longer.
    pub resume_hold: Duration,
    /// Add an earth fault after the session.
    pub earth_fault: bool,
}

/// The steps of one session, in order.
pub fn session(settings: &ScriptSettings) -> Vec<Step> {
    let step = settings.step;
    let short = step.checked_div(2).unwrap_or(step);
    let mut steps = vec![
        Step {
            action: Action::Enter(ChargerState::CableDetect),
            hold: step,
            what: "cable plugged in at the station",
        },
        Step {
            action: Action::Enter(ChargerState::EvConnected),
            hold: step,
            what: "EV connected, waiting for authorization",
        },
        Step {
            action: Action::CardAccepted,
            hold: step,
            what: "RFID card accepted by the controller",
        },
        Step {
            action: Action::Enter(ChargerState::Charging),
            hold: step,
            what: "EV charging",
        },
        Step {
            action: Action::Enter(ChargerState::Paused),
            hold: step,
            what: "EV paused",
        },
        Step {
            action: Action::Enter(ChargerState::Ready),
            hold: short,
            what: "EV about to resume",
        },
        Step {
            action: Action::Enter(ChargerState::Charging),
            hold: settings.resume_hold.max(step),
            what: "EV charging again",
        },
        Step {
            action: Action::Enter(ChargerState::Stopped),
            hold: step,
            what: "session ended at the EV",
        },
        Step {
            action: Action::Enter(ChargerState::Idle),
            hold: step,
            what: "cable unplugged",
        },
    ];
    if settings.earth_fault {
        steps.extend([
            Step {
                action: Action::EarthFault,
                hold: step,
                what: "earth fault: relay opened",
            },
            Step {
                action: Action::Recovering,
                hold: step,
                what: "fault cleared, controller recovering",
            },
            Step {
                action: Action::Enter(ChargerState::Idle),
                hold: step,
                what: "controller ready again",
            },
        ]);
    }
    steps
}

/// How long the steps take in all.
pub fn total(steps: &[Step]) -> Duration {
    steps.iter().map(|s| s.hold).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocpp_station::esp32::frame::{Line, parse_line};

    fn settings(earth_fault: bool) -> ScriptSettings {
        ScriptSettings {
            step: Duration::from_secs(2),
            resume_hold: Duration::from_secs(9),
            earth_fault,
        }
    }

    #[test]
    fn the_session_walks_the_documented_states() {
        let mut firmware = Firmware::new();
        let states: Vec<ChargerState> = session(&settings(true))
            .iter()
            .map(|step| {
                step.action.apply(&mut firmware);
                firmware.state()
            })
            .collect();
        use ChargerState::*;
        assert_eq!(
            states,
            [
                CableDetect,
                EvConnected,
                Ready,
                Charging,
                Paused,
                Ready,
                Charging,
                Stopped,
                Idle,
                FaultHard,
                HardFaultEnd,
                Idle
            ]
        );
        assert_eq!(session(&settings(false)).len(), 9);
    }

    #[test]
    fn the_resume_outlasts_the_debounce_and_the_rest_keeps_the_step() {
        let steps = session(&settings(false));
        assert_eq!(steps[6].hold, Duration::from_secs(9));
        assert_eq!(steps[5].hold, Duration::from_secs(1));
        assert_eq!(total(&steps), Duration::from_secs(2 * 7 + 1 + 9));
        let quick = session(&ScriptSettings {
            step: Duration::from_secs(2),
            resume_hold: Duration::ZERO,
            earth_fault: false,
        });
        assert_eq!(quick[6].hold, Duration::from_secs(2));
    }

    #[test]
    fn the_card_result_is_printed_without_a_line_end() {
        let mut firmware = Firmware::new();
        firmware.enter(ChargerState::EvConnected);
        let printed = Action::CardAccepted.apply(&mut firmware);
        assert_eq!(printed, [Output::Unterminated(CARD_RESULT.to_owned())]);
        assert!(firmware.fields().auth);
    }

    #[test]
    fn the_earth_fault_sets_pb_2_and_the_recovery_clears_it() {
        let mut firmware = Firmware::new();
        let printed = Action::EarthFault.apply(&mut firmware);
        assert!(printed.iter().all(|o| matches!(o, Output::Line(l)
            if matches!(parse_line(l), Line::Notice { .. }))));
        assert!(firmware.stat_line().contains("STATE=8;PB=2;"));
        Action::Recovering.apply(&mut firmware);
        assert!(firmware.stat_line().contains("STATE=0;PB=0;"));
        Action::Enter(ChargerState::Idle).apply(&mut firmware);
        assert!(firmware.stat_line().contains("STATE=1;PB=0;"));
    }
}
