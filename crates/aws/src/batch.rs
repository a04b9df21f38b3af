//! Sending entries through a batch API (EventBridge `PutEvents`, SQS `SendMessageBatch`): calls
//! of at most ten entries, and the entries a call reports as failed are sent again with backoff.

use std::future::Future;
use std::time::Duration;

/// Most entries one `PutEvents` or `SendMessageBatch` call takes.
pub const MAX_BATCH: usize = 10;
/// Calls per entry before it is reported as failed.
pub const MAX_ATTEMPTS: u32 = 4;

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(50u64 << attempt.min(6))
}

/// Sends `entries` in calls of at most [`MAX_BATCH`]. `send` gets one call's entries and answers,
/// in order, `None` for each accepted entry and `Some(reason)` for each refused one, or `Err` when
/// the whole call failed. Returns the entries still refused after [`MAX_ATTEMPTS`] calls, with the
/// last reason; empty when all went through.
pub async fn send_in_batches<T, F, Fut>(entries: Vec<T>, mut send: F) -> Vec<(T, String)>
where
    F: FnMut(&[T]) -> Fut,
    Fut: Future<Output = Result<Vec<Option<String>>, String>>,
{
    let mut pending: Vec<(T, String)> = entries.into_iter().map(|e| (e, String::new())).collect();
    for attempt in 0..MAX_ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt)).await;
        }
        let mut refused = Vec::new();
        let mut rest = pending;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(MAX_BATCH));
            let chunk: Vec<T> = rest.into_iter().map(|(e, _)| e).collect();
            rest = tail;
            let outcome = send(&chunk).await;
            for (i, entry) in chunk.into_iter().enumerate() {
                let reason = match &outcome {
                    Ok(per_entry) => per_entry.get(i).cloned().unwrap_or_else(|| {
                        Some("the response has no result for this entry".into())
                    }),
                    Err(reason) => Some(reason.clone()),
                };
                if let Some(reason) = reason {
                    refused.push((entry, reason));
                }
            }
        }
        pending = refused;
    }
    pending
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test]
    async fn chunks_of_ten_and_failed_entries_are_retried() {
        let calls = Mutex::new(Vec::new());
        // Entry 3 is refused twice, entry 7 always; every call is at most ten entries.
        let refusals = Mutex::new(std::collections::HashMap::from([(3, 2), (7, u32::MAX)]));
        let failed = send_in_batches((0..23).collect(), |chunk: &[i32]| {
            calls.lock().unwrap().push(chunk.len());
            let answer: Vec<Option<String>> = chunk
                .iter()
                .map(|n| {
                    let mut r = refusals.lock().unwrap();
                    match r.get_mut(n) {
                        Some(left) if *left > 0 => {
                            *left -= 1;
                            Some(format!("refused {n}"))
                        }
                        _ => None,
                    }
                })
                .collect();
            async move { Ok(answer) }
        })
        .await;
        assert_eq!(failed, vec![(7, "refused 7".to_string())]);
        assert_eq!(*calls.lock().unwrap(), vec![10, 10, 3, 2, 2, 1]);
    }

    #[tokio::test]
    async fn a_failed_call_fails_its_entries() {
        let failed = send_in_batches(vec!["a", "b"], |_: &[&str]| async {
            Err("down".to_string())
        })
        .await;
        assert_eq!(failed, vec![("a", "down".into()), ("b", "down".into())]);
    }
}
