//! The stuck-payment rule: what counts as a payment stuck in the flow, and what resolves it.
//! Pure: the runtime (locally `eventpay_local::sweeper`) observes payments, their executions and
//! what is still in flight, and applies the remedy this module names.
//!
//! A payment that is not final is **stuck** when
//! - its settlement execution has ended (SUCCEEDED, FAILED, TIMED_OUT, ABORTED): nothing will move
//!   it any more. Remedy: mark it FAILED with the reason `stuck: ...` and send the failure
//!   notification, so every final status has one;
//! - it has no execution, nothing for it is still on its way (no change record waiting in the
//!   stream, no message on the payments queue) and it was accepted more than
//!   [`SweepPolicy::stuck_after`] ago. Remedy: a PENDING payment's change is published again,
//!   once (its record has the same derived id, so anything that already saw it deduplicates
//!   it; the workflow starts); if it is still without an execution at a later pass, or it is
//!   not PENDING (nothing would start its workflow), it is marked FAILED as above.
//!
//! A running execution, or a change still in flight, is never stuck: the flow is moving.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::payment::PaymentStatus;

/// How an execution ended (Step Functions' terminal statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionEnd {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExecutionEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionEnd::Succeeded => "SUCCEEDED",
            ExecutionEnd::Failed => "FAILED",
            ExecutionEnd::TimedOut => "TIMED_OUT",
            ExecutionEnd::Aborted => "ABORTED",
        }
    }

    /// A terminal status by its Step Functions name; `RUNNING` (or anything else) is `None`.
    pub fn parse(status: &str) -> Option<ExecutionEnd> {
        [
            ExecutionEnd::Succeeded,
            ExecutionEnd::Failed,
            ExecutionEnd::TimedOut,
            ExecutionEnd::Aborted,
        ]
        .into_iter()
        .find(|e| e.as_str() == status)
    }
}

/// The payment's settlement execution, as the sweeper found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionSeen {
    None,
    Running,
    Ended(ExecutionEnd),
}

/// What the sweeper observed of one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub status: PaymentStatus,
    pub accepted_at: DateTime<Utc>,
    pub execution: ExecutionSeen,
    /// A change record of the payment waits in the stream, or a message for it on the queue.
    pub in_flight: bool,
    /// The sweeper already published its change again (and it still has no execution).
    pub republished: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepPolicy {
    /// How long after acceptance a payment may be without an execution, nothing in flight.
    pub stuck_after: Duration,
}

/// What resolves a stuck payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Remedy {
    /// Mark it FAILED with `reason`, then send the failure notification.
    MarkFailed { reason: String },
    /// Publish its change again, so the flow runs.
    Republish,
}

/// A stuck payment: why, and the remedy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub stuck: String,
    pub remedy: Remedy,
}

fn mark_failed(stuck: String) -> Verdict {
    Verdict {
        remedy: Remedy::MarkFailed {
            reason: format!("stuck: {stuck}"),
        },
        stuck,
    }
}

/// The rule (see the module's documentation): `None` for a payment that is not stuck.
pub fn assess(obs: &Observation, policy: &SweepPolicy, now: DateTime<Utc>) -> Option<Verdict> {
    if obs.status.is_final() {
        return None;
    }
    match obs.execution {
        ExecutionSeen::Running => None,
        ExecutionSeen::Ended(end) => Some(mark_failed(format!(
            "its settlement execution ended {} and left it {}",
            end.as_str(),
            obs.status
        ))),
        ExecutionSeen::None if obs.in_flight || now - obs.accepted_at < policy.stuck_after => None,
        ExecutionSeen::None if obs.status == PaymentStatus::Pending && !obs.republished => {
            Some(Verdict {
                stuck: format!(
                    "no settlement execution and nothing in flight {}s after it was accepted",
                    (now - obs.accepted_at).num_seconds()
                ),
                remedy: Remedy::Republish,
            })
        }
        ExecutionSeen::None if obs.republished => Some(mark_failed(
            "still no settlement execution after its change was published again".into(),
        )),
        ExecutionSeen::None => Some(mark_failed(format!(
            "{} with no settlement execution and nothing in flight",
            obs.status
        ))),
    }
}

/// The notification of a payment's final status: the subject and message the state machine's
/// NotifyOutcome/NotifyFailure states publish (`spec/settlement.asl.json` formats the same text
/// with `States.Format`, which cannot call this), for the payments the sweeper finishes.
pub fn final_status_notification(payment_id: &str, status: PaymentStatus) -> (String, String) {
    (
        format!("Payment {status}"),
        format!("Payment {payment_id} is {status}."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quote::tests::t0;

    fn policy() -> SweepPolicy {
        SweepPolicy {
            stuck_after: Duration::seconds(60),
        }
    }

    fn seen(status: PaymentStatus, execution: ExecutionSeen) -> Observation {
        Observation {
            status,
            accepted_at: t0(),
            execution,
            in_flight: false,
            republished: false,
        }
    }

    fn later(secs: i64) -> DateTime<Utc> {
        t0() + Duration::seconds(secs)
    }

    #[test]
    fn final_payments_and_running_executions_are_never_stuck() {
        for status in PaymentStatus::ALL.into_iter().filter(|s| s.is_final()) {
            for execution in [
                ExecutionSeen::None,
                ExecutionSeen::Running,
                ExecutionSeen::Ended(ExecutionEnd::Failed),
            ] {
                assert_eq!(
                    assess(&seen(status, execution), &policy(), later(9999)),
                    None
                );
            }
        }
        let running = seen(PaymentStatus::Processing, ExecutionSeen::Running);
        assert_eq!(assess(&running, &policy(), later(9999)), None);
    }

    #[test]
    fn an_ended_execution_with_a_non_final_payment_marks_it_failed_at_once() {
        for end in [
            ExecutionEnd::Succeeded,
            ExecutionEnd::Failed,
            ExecutionEnd::TimedOut,
            ExecutionEnd::Aborted,
        ] {
            let obs = seen(PaymentStatus::Processing, ExecutionSeen::Ended(end));
            let verdict = assess(&obs, &policy(), t0()).unwrap();
            let Remedy::MarkFailed { reason } = verdict.remedy else {
                panic!("{verdict:?}");
            };
            assert!(reason.starts_with("stuck: "), "{reason}");
            assert!(reason.contains(end.as_str()), "{reason}");
            assert_eq!(ExecutionEnd::parse(end.as_str()), Some(end));
        }
        assert_eq!(ExecutionEnd::parse("RUNNING"), None);
    }

    #[test]
    fn no_execution_waits_for_the_bound_and_for_what_is_in_flight() {
        let pending = seen(PaymentStatus::Pending, ExecutionSeen::None);
        assert_eq!(
            assess(&pending, &policy(), later(59)),
            None,
            "within the bound"
        );
        let in_flight = Observation {
            in_flight: true,
            ..pending.clone()
        };
        assert_eq!(assess(&in_flight, &policy(), later(9999)), None);
        let verdict = assess(&pending, &policy(), later(60)).unwrap();
        assert_eq!(verdict.remedy, Remedy::Republish);
        let again = Observation {
            republished: true,
            ..pending
        };
        assert!(matches!(
            assess(&again, &policy(), later(120)).unwrap().remedy,
            Remedy::MarkFailed { .. }
        ));
        // PROCESSING without an execution: publishing its change would start nothing.
        let processing = seen(PaymentStatus::Processing, ExecutionSeen::None);
        assert!(matches!(
            assess(&processing, &policy(), later(60)).unwrap().remedy,
            Remedy::MarkFailed { .. }
        ));
    }

    #[test]
    fn the_failure_notification_is_the_state_machines_text() {
        assert_eq!(
            final_status_notification("p-1", PaymentStatus::Failed),
            ("Payment FAILED".into(), "Payment p-1 is FAILED.".into())
        );
    }
}
