//! The invariants a simulated run must keep, as pure functions over what the client saw and what
//! the API shows at the end (so a broken invariant is testable on hand-built data).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use eventpay_core::{PaymentStatus, Settlement, StatusChange, Transfer, imbalance};
use serde::Deserialize;

/// A payment as `GET /payments` lists it: what the checks need.
#[derive(Clone, Debug, Deserialize)]
pub struct View {
    pub payment_id: String,
    pub status: PaymentStatus,
    pub quote_id: String,
    pub history: Vec<StatusChange>,
    #[serde(default)]
    pub settlement: Option<Settlement>,
    /// Why it was REJECTED or FAILED (`stuck: ...` if the sweeper resolved it).
    #[serde(default)]
    pub reason: Option<String>,
}

/// What the client was told, over every round.
#[derive(Debug, Default)]
pub struct ClientLog {
    /// Every payment answered 2xx, with the request that got it.
    pub accepted: BTreeMap<String, String>,
    /// Problems seen in answers: a replayed key naming another payment, a reused quote accepted,
    /// an answer no request should get.
    pub answers: Vec<Violation>,
}

/// One broken invariant, naming the payment it was seen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub payment_id: String,
    pub detail: String,
}

impl Violation {
    pub fn new(invariant: &'static str, payment_id: &str, detail: impl Into<String>) -> Violation {
        Violation {
            invariant,
            payment_id: payment_id.to_owned(),
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invariant {:?} violated: payment {}: {}",
            self.invariant, self.payment_id, self.detail
        )
    }
}

/// Every check, over the client's log, the full payment listing and the outcome notifications'
/// messages.
pub fn check(client: &ClientLog, payments: &[View], notifications: &[String]) -> Vec<Violation> {
    let mut out = client.answers.clone();
    out.extend(accepted_present(client, payments));
    for p in payments {
        out.extend(final_once(p));
        out.extend(ledger_of(p));
    }
    out.extend(book_balanced(payments));
    out.extend(quotes_once(payments));
    out.extend(notified(payments, notifications));
    out
}

/// Nothing was dead-lettered: every message on the queue was a real change (duplicated,
/// reordered or delivered again, never refused) and was processed.
pub fn nothing_dead_lettered(dead_letter_depth: u64) -> Option<Violation> {
    (dead_letter_depth > 0).then(|| {
        Violation::new(
            "nothing dead-lettered",
            "*",
            format!("{dead_letter_depth} message(s) on the dead-letter queue"),
        )
    })
}

/// No accepted payment is lost, and none is listed twice.
pub fn accepted_present(client: &ClientLog, payments: &[View]) -> Vec<Violation> {
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    for p in payments {
        *seen.entry(p.payment_id.as_str()).or_default() += 1;
    }
    let lost = client
        .accepted
        .iter()
        .filter(|(id, _)| !seen.contains_key(id.as_str()))
        .map(|(id, req)| {
            Violation::new(
                "accepted payment exists",
                id,
                format!("accepted for {req}, not listed"),
            )
        });
    let twice = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, n)| Violation::new("listed once", id, format!("listed {n} times")));
    lost.chain(twice).collect()
}

/// Final (SETTLED, REJECTED, FAILED), reached exactly once, as the last step of its history.
pub fn final_once(p: &View) -> Option<Violation> {
    let finals: Vec<&str> = p
        .history
        .iter()
        .filter(|h| h.status.is_final())
        .map(|h| h.status.as_str())
        .collect();
    let last = p.history.last().map(|h| h.status);
    let ok = p.status.is_final() && finals.len() == 1 && last == Some(p.status);
    (!ok).then(|| {
        let steps: Vec<&str> = p.history.iter().map(|h| h.status.as_str()).collect();
        Violation::new(
            "final exactly once",
            &p.payment_id,
            format!("status {} with history {steps:?}", p.status.as_str()),
        )
    })
}

/// A SETTLED payment has balanced transfers; any other has none.
pub fn ledger_of(p: &View) -> Option<Violation> {
    let transfers = p.settlement.as_ref().map(|s| s.transfers.as_slice());
    let problem = match (p.status, transfers) {
        (PaymentStatus::Settled, None | Some([])) => Some("SETTLED without transfers".into()),
        (PaymentStatus::Settled, Some(t)) => imbalance(t),
        (status, Some(t)) if !t.is_empty() => Some(format!("{} has transfers", status.as_str())),
        _ => None,
    }?;
    Some(Violation::new("ledger", &p.payment_id, problem))
}

/// The whole book (every SETTLED payment's transfers together) balances per currency.
pub fn book_balanced(payments: &[View]) -> Option<Violation> {
    let all: Vec<Transfer> = payments
        .iter()
        .filter(|p| p.status == PaymentStatus::Settled)
        .filter_map(|p| p.settlement.as_ref())
        .flat_map(|s| s.transfers.iter().cloned())
        .collect();
    imbalance(&all).map(|e| Violation::new("book balanced across all accounts", "*", e))
}

/// No quote is paid by two payments.
pub fn quotes_once(payments: &[View]) -> Vec<Violation> {
    let mut by_quote: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in payments {
        by_quote.entry(&p.quote_id).or_default().push(&p.payment_id);
    }
    by_quote
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(quote, ids)| {
            Violation::new(
                "no quote paid twice",
                ids[1],
                format!("quote {quote} paid by {ids:?}"),
            )
        })
        .collect()
}

/// Every final payment's outcome is notified with its own status, and no other final status.
pub fn notified(payments: &[View], notifications: &[String]) -> Vec<Violation> {
    let messages: BTreeSet<&str> = notifications.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for p in payments.iter().filter(|p| p.status.is_final()) {
        let says = |s: PaymentStatus| format!("Payment {} is {}.", p.payment_id, s.as_str());
        if !messages.contains(says(p.status).as_str()) {
            out.push(Violation::new(
                "a notification for every final status",
                &p.payment_id,
                format!("no notification of {}", p.status.as_str()),
            ));
        }
        for other in [
            PaymentStatus::Settled,
            PaymentStatus::Rejected,
            PaymentStatus::Failed,
        ] {
            if other != p.status && messages.contains(says(other).as_str()) {
                out.push(Violation::new(
                    "notifications tell the final status",
                    &p.payment_id,
                    format!("{} but notified {}", p.status.as_str(), other.as_str()),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn view(id: &str, quote: &str, statuses: &[&str], ledger: bool) -> View {
        let history: Vec<_> = statuses
            .iter()
            .map(|s| json!({"status": s, "at": "2026-01-01T00:00:00Z"}))
            .collect();
        let settlement = ledger.then(|| {
            json!({"posted_at": "2026-01-01T00:00:00Z", "transfers": [
                {"id": format!("{id}/principal"), "payment_id": id, "debit_account": "a",
                 "credit_account": "b", "amount": "10.00", "currency": "USD",
                 "posted_at": "2026-01-01T00:00:00Z"}]})
        });
        serde_json::from_value(json!({
            "payment_id": id, "quote_id": quote, "status": statuses.last().unwrap(),
            "history": history, "settlement": settlement,
        }))
        .unwrap()
    }

    fn note(id: &str, status: &str) -> String {
        format!("Payment {id} is {status}.")
    }

    fn good() -> (ClientLog, Vec<View>, Vec<String>) {
        let mut client = ClientLog::default();
        client.accepted.insert("p-1".into(), "payment 0".into());
        client.accepted.insert("p-2".into(), "payment 1".into());
        let payments = vec![
            view("p-1", "q-1", &["PENDING", "PROCESSING", "SETTLED"], true),
            view("p-2", "q-2", &["PENDING", "PROCESSING", "REJECTED"], false),
        ];
        let notes = vec![note("p-1", "SETTLED"), note("p-2", "REJECTED")];
        (client, payments, notes)
    }

    fn broken(client: &ClientLog, payments: &[View], notes: &[String]) -> Vec<&'static str> {
        check(client, payments, notes)
            .iter()
            .map(|v| v.invariant)
            .collect()
    }

    #[test]
    fn a_good_run_passes() {
        let (client, payments, notes) = good();
        assert_eq!(check(&client, &payments, &notes), vec![]);
    }

    #[test]
    fn each_broken_invariant_is_found_and_named() {
        let (mut client, payments, notes) = good();
        client.accepted.insert("p-lost".into(), "payment 2".into());
        assert_eq!(
            broken(&client, &payments, &notes),
            ["accepted payment exists"]
        );

        let (client, mut payments, notes) = good();
        payments[1] = view("p-2", "q-2", &["PENDING", "PROCESSING"], false);
        assert!(broken(&client, &payments, &notes).contains(&"final exactly once"));

        let (client, mut payments, notes) = good();
        payments[1] = view("p-2", "q-2", &["PENDING", "FAILED", "REJECTED"], false);
        assert!(broken(&client, &payments, &notes).contains(&"final exactly once"));

        let (client, mut payments, notes) = good();
        payments[1] = view("p-2", "q-2", &["PENDING", "PROCESSING", "REJECTED"], true);
        assert_eq!(broken(&client, &payments, &notes), ["ledger"]);

        let (client, mut payments, notes) = good();
        if let Some(s) = payments[0].settlement.as_mut() {
            s.transfers[0].amount = -s.transfers[0].amount;
        }
        assert_eq!(
            broken(&client, &payments, &notes),
            ["ledger", "book balanced across all accounts"]
        );

        let (client, mut payments, notes) = good();
        payments[1].quote_id = "q-1".into();
        let found = check(&client, &payments, &notes);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].invariant, "no quote paid twice");
        assert_eq!(found[0].payment_id, "p-2");

        let (client, payments, mut notes) = good();
        notes[1] = note("p-2", "FAILED");
        assert_eq!(
            broken(&client, &payments, &notes),
            [
                "a notification for every final status",
                "notifications tell the final status"
            ]
        );
    }

    #[test]
    fn dead_letters_are_a_violation() {
        assert_eq!(nothing_dead_lettered(0), None);
        assert_eq!(
            nothing_dead_lettered(2).map(|v| v.invariant),
            Some("nothing dead-lettered")
        );
    }

    #[test]
    fn a_violation_names_the_invariant_and_the_payment() {
        let v = Violation::new("ledger", "p-9", "SETTLED without ledger entries");
        assert_eq!(
            v.to_string(),
            "invariant \"ledger\" violated: payment p-9: SETTLED without ledger entries"
        );
    }
}
