//! The simulated clients' work, planned from the seed: quotes in several currencies (some over
//! the per-payment limit, some to a blocked beneficiary), payments with and without an
//! Idempotency-Key, some re-posted with their key, some followed by a second payment from the
//! same quote (which must be refused). [`drive`] moves one payment on as far as the runtime lets
//! it; what is lost in a crash is taken up again in the next round.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::check::{ClientLog, Violation};
use crate::bench::load::Api;

/// The beneficiary the simulated runtime is told to block (`--blocked-accounts`).
pub const BLOCKED: &str = "ACC-BLOCKED";
const CURRENCIES: [&str; 5] = ["USD", "EUR", "GBP", "JPY", "CHF"];

/// One client's payment and how far it has got.
#[derive(Debug)]
pub struct Op {
    pub index: usize,
    quote: Value,
    beneficiary: String,
    key: Option<String>,
    replay: bool,
    reuse: bool,
    /// The payment request, once its quote is made (the same bytes on every re-post).
    body: Option<Value>,
    pub payment_id: Option<String>,
    replayed: bool,
    pub done: bool,
}

/// `n` payments for `seed`.
pub fn plan(seed: u64, n: usize) -> Vec<Op> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|index| op(&mut rng, seed, index)).collect()
}

fn op(rng: &mut ChaCha8Rng, seed: u64, index: usize) -> Op {
    let source = CURRENCIES[rng.random_range(0..CURRENCIES.len())];
    let mut target = CURRENCIES[rng.random_range(0..CURRENCIES.len())];
    if target == source {
        target = "INR";
    }
    // One in ten over the limit (50,000 USD): REJECTED.
    let units: u64 = if rng.random_bool(0.1) {
        rng.random_range(60_000..90_000)
    } else {
        rng.random_range(1..20_000)
    };
    let amount = if source == "JPY" {
        format!("{}", units * 100)
    } else {
        format!("{units}.{:02}", rng.random_range(0..100))
    };
    let beneficiary = if rng.random_bool(0.1) {
        BLOCKED.to_owned()
    } else {
        format!("ACC-SIM-{index}")
    };
    let keyed = rng.random_bool(0.6);
    Op {
        index,
        quote: json!({"source_currency": source, "target_currency": target, "amount": amount}),
        beneficiary,
        key: keyed.then(|| format!("sim-{seed}-{index}")),
        replay: keyed && rng.random_bool(0.3),
        reuse: rng.random_bool(0.15),
        body: None,
        payment_id: None,
        replayed: false,
        done: false,
    }
}

/// The request could not be answered (the runtime is down or dying): try again later.
#[derive(Debug)]
pub struct Lost(pub String);

/// Moves `op` on: quote, payment, replay, reuse. Answers are recorded in `log`; an answer that
/// is lost ends the call with [`Lost`], leaving `op` where it was.
pub async fn drive(api: &Api, op: &mut Op, log: &mut ClientLog) -> Result<(), Lost> {
    if op.body.is_none() && !quote(api, op, log).await? {
        op.done = true;
        return Ok(());
    }
    if op.payment_id.is_none() {
        pay(api, op, log).await?;
        if op.payment_id.is_none() {
            op.done = true;
            return Ok(());
        }
    }
    if op.replay && !op.replayed {
        replay(api, op, log).await?;
        op.replayed = true;
    }
    if op.reuse {
        reuse(api, op, log).await?;
    }
    op.done = true;
    Ok(())
}

async fn post(
    api: &Api,
    path: &str,
    body: &Value,
    key: Option<&str>,
) -> Result<(u16, Value), Lost> {
    let (status, bytes) = api
        .post(path, body.to_string(), key)
        .await
        .map_err(|e| Lost(format!("POST {path}: {e}")))?;
    if status >= 500 {
        return Err(Lost(format!("POST {path}: {status}")));
    }
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

fn unexpected(log: &mut ClientLog, op: &Op, what: &str, status: u16, body: &Value) {
    let id = op.payment_id.clone().unwrap_or_else(|| "-".into());
    log.answers.push(Violation::new(
        "expected answers",
        &id,
        format!("payment {}: {what} answered {status}: {body}", op.index),
    ));
}

async fn quote(api: &Api, op: &mut Op, log: &mut ClientLog) -> Result<bool, Lost> {
    let (status, body) = post(api, "/quotes", &op.quote, None).await?;
    match body["token"].as_str() {
        Some(token) if status == 201 => {
            op.body = Some(json!({
                "quote_token": token,
                "sender": {"name": "Sim Sender", "account": format!("ACC-SENDER-{}", op.index)},
                "beneficiary": {"name": "Sim Beneficiary", "account": op.beneficiary},
                "reference": format!("sim {}", op.index),
            }));
            Ok(true)
        }
        _ => {
            unexpected(log, op, "POST /quotes", status, &body);
            Ok(false)
        }
    }
}

/// The first payment request (or, after a lost answer, a keyed one again). A lost request
/// without a key is not sent again: whether it was made is unknown, and the end checks cover it.
async fn pay(api: &Api, op: &mut Op, log: &mut ClientLog) -> Result<(), Lost> {
    let Some(body) = op.body.clone() else {
        return Ok(());
    };
    let (status, answer) = match post(api, "/payments", &body, op.key.as_deref()).await {
        Ok(answered) => answered,
        Err(lost) if op.key.is_some() => return Err(lost),
        Err(_) => return Ok(()),
    };
    match answer["payment_id"].as_str() {
        Some(id) if status == 202 => {
            op.payment_id = Some(id.to_owned());
            log.accepted.insert(
                id.to_owned(),
                format!("payment {} (key {:?})", op.index, op.key),
            );
        }
        _ => unexpected(log, op, "POST /payments", status, &answer),
    }
    Ok(())
}

async fn replay(api: &Api, op: &Op, log: &mut ClientLog) -> Result<(), Lost> {
    let (Some(body), Some(id)) = (&op.body, &op.payment_id) else {
        return Ok(());
    };
    let (status, answer) = post(api, "/payments", body, op.key.as_deref()).await?;
    if status != 202 || answer["payment_id"].as_str() != Some(id) {
        log.answers.push(Violation::new(
            "the same key and body give the same payment",
            id,
            format!("replay of payment {} answered {status}: {answer}", op.index),
        ));
    }
    Ok(())
}

/// A second payment from the same quote, to someone else: must be 409 `quote_already_used`.
async fn reuse(api: &Api, op: &Op, log: &mut ClientLog) -> Result<(), Lost> {
    let (Some(body), Some(id)) = (&op.body, &op.payment_id) else {
        return Ok(());
    };
    let mut other = body.clone();
    other["beneficiary"]["account"] = json!(format!("ACC-OTHER-{}", op.index));
    let (status, answer) = post(api, "/payments", &other, None).await?;
    if status == 202 {
        let second = answer["payment_id"].as_str().unwrap_or("?");
        log.accepted
            .insert(second.to_owned(), format!("reuse of payment {}", op.index));
        log.answers.push(Violation::new(
            "no quote paid twice",
            second,
            format!("a second payment from the quote of {id} was accepted"),
        ));
    } else if status != 409 || answer["error"]["code"] != "quote_already_used" {
        unexpected(log, op, "POST /payments (reused quote)", status, &answer);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_the_seeds() {
        let a: Vec<String> = plan(5, 30).iter().map(|o| format!("{o:?}")).collect();
        let b: Vec<String> = plan(5, 30).iter().map(|o| format!("{o:?}")).collect();
        assert_eq!(a, b);
        assert_ne!(
            a,
            plan(6, 30)
                .iter()
                .map(|o| format!("{o:?}"))
                .collect::<Vec<_>>()
        );
        let ops = plan(5, 200);
        assert!(ops.iter().any(|o| o.key.is_some()) && ops.iter().any(|o| o.key.is_none()));
        assert!(ops.iter().any(|o| o.reuse) && ops.iter().any(|o| o.replay));
    }
}
