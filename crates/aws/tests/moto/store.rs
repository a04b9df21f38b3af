//! `DynamoStore` against the emulator: the `PaymentStore` contract as the local SQLite store
//! keeps it, and the settlement use cases on top of it.

use chrono::{DateTime, Duration, TimeZone, Utc};
use eventpay_aws::fixtures::{emulator_config, sample_payment, store_with_ledger};
use eventpay_aws::{DynamoStore, items};
use eventpay_core::{
    CreateOutcome, ListShards, Payment, PaymentStatus, PaymentStore, StatusUpdate, StoreError,
    post_ledger, request_fingerprint, update_status,
};
use serde_json::json;

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap() + Duration::seconds(seconds)
}

async fn store() -> DynamoStore {
    let config = emulator_config().await;
    store_with_ledger(&config).await.unwrap().0
}

#[tokio::test]
async fn create_get_and_unknown_ids() {
    let store = store().await;
    let p = sample_payment("p-1", "1000.00", t(0));
    let out = store.create(&p, None, "fp").await.unwrap();
    assert_eq!(out, CreateOutcome::Created(p.clone()));
    assert_eq!(store.get("p-1").await.unwrap(), Some(p.clone()));
    assert_eq!(store.get("nope").await.unwrap(), None);
    // An idempotency item's key is not a payment id.
    store
        .create(&sample_payment("p-2", "1", t(1)), Some("k"), "fp")
        .await
        .unwrap();
    assert_eq!(store.get(&items::idempotency_pk("k")).await.unwrap(), None);
    // The same id again without a key is refused, not overwritten.
    let mut other = p.clone();
    other.terms.amount = eventpay_core::Decimal::ONE;
    assert!(matches!(
        store.create(&other, None, "fp").await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get("p-1").await.unwrap(), Some(p));
}

#[tokio::test]
async fn idempotency_keys() {
    let store = store().await;
    let first = sample_payment("p-first", "250.00", t(0));
    assert!(
        store
            .create(&first, Some("key-1"), "fp-a")
            .await
            .unwrap()
            .is_created()
    );
    // A retry makes a new payment id; the store answers with the original.
    let retry = sample_payment("p-retry", "250.00", t(5));
    let again = store.create(&retry, Some("key-1"), "fp-a").await.unwrap();
    assert_eq!(again, CreateOutcome::Existing(first.clone()));
    assert_eq!(
        store.get("p-retry").await.unwrap(),
        None,
        "nothing of the retry is written"
    );
    assert_eq!(
        store.create(&retry, Some("key-1"), "fp-b").await,
        Err(StoreError::IdempotencyConflict {
            key: "key-1".into(),
            fields: vec![]
        })
    );
    assert_eq!(
        store
            .find_by_idempotency_key("key-1", "fp-a")
            .await
            .unwrap(),
        Some(first)
    );
    assert_eq!(
        store.find_by_idempotency_key("key-1", "fp-b").await,
        Err(StoreError::IdempotencyConflict {
            key: "key-1".into(),
            fields: vec![]
        })
    );
    assert_eq!(
        store
            .find_by_idempotency_key("unused", "fp-a")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn lists_newest_first_in_pages_with_a_status_filter() {
    let store = store().await;
    let mut all = Vec::new();
    for i in 0..5 {
        let p = sample_payment(&format!("p-{i}"), "10.00", t(i));
        store.create(&p, None, "fp").await.unwrap();
        all.push(p);
    }
    // Two of them move on to PROCESSING.
    for i in [1, 3] {
        let before = all[i].clone();
        all[i]
            .transition(PaymentStatus::Processing, t(10), None)
            .unwrap();
        store.replace(&before, &all[i]).await.unwrap();
    }
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = store.list(None, 2, cursor.as_deref()).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        ids.extend(page.items.iter().map(|p| p.payment_id.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(ids, ["p-4", "p-3", "p-2", "p-1", "p-0"]);
    assert_eq!(pages, 3, "2 + 2 + 1, and no empty last page");

    let page = store
        .list(Some(PaymentStatus::Processing), 10, None)
        .await
        .unwrap();
    let ids: Vec<_> = page.items.iter().map(|p| p.payment_id.as_str()).collect();
    assert_eq!((ids, page.next_cursor), (vec!["p-3", "p-1"], None));
    assert_eq!(
        page.items[0], all[3],
        "the listing shows the current payment"
    );

    let page = store
        .list(Some(PaymentStatus::Pending), 1, None)
        .await
        .unwrap();
    assert_eq!(page.items[0].payment_id, "p-4");
    let next = store
        .list(Some(PaymentStatus::Pending), 5, page.next_cursor.as_deref())
        .await
        .unwrap();
    let ids: Vec<_> = next.items.iter().map(|p| p.payment_id.as_str()).collect();
    assert_eq!(ids, ["p-2", "p-0"]);

    assert!(
        store
            .list(Some(PaymentStatus::Settled), 10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let err = store.list(None, 10, Some("garbage!")).await.unwrap_err();
    assert_eq!(
        (err.code(), eventpay_core::api::http_status(err.code())),
        ("invalid_field", 422)
    );
}

/// Every id of a listing, page by page.
async fn list_all(
    store: &DynamoStore,
    status: Option<PaymentStatus>,
    limit: u32,
) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let page = store.list(status, limit, cursor.as_deref()).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= limit as usize);
        ids.extend(page.items.iter().map(|p| p.payment_id.to_string()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return (ids, pages),
        }
    }
}

#[tokio::test]
async fn sharded_listing_merges_every_shard_newest_first() {
    let shards = ListShards::new(4).unwrap();
    let store = store().await.with_list_shards(shards);
    let mut all = Vec::new();
    for i in 0..25 {
        // Two payments share each second: the id breaks the tie, in every shard alike.
        let p = sample_payment(&format!("p-{i:02}"), "10.00", t(i / 2));
        store.create(&p, None, "fp").await.unwrap();
        all.push(p);
    }
    for i in [2, 3, 11, 17, 24] {
        let before = all[i].clone();
        all[i]
            .transition(PaymentStatus::Processing, t(100), None)
            .unwrap();
        store.replace(&before, &all[i]).await.unwrap();
    }
    let newest_first: Vec<String> = (0..25).rev().map(|i| format!("p-{i:02}")).collect();
    for limit in [1, 7, 25, 100] {
        let (ids, pages) = list_all(&store, None, limit).await;
        assert_eq!(ids, newest_first, "limit {limit}");
        assert_eq!(pages, 25usize.div_ceil(limit as usize), "limit {limit}");
    }
    let (ids, _) = list_all(&store, Some(PaymentStatus::Processing), 2).await;
    assert_eq!(ids, ["p-24", "p-17", "p-11", "p-03", "p-02"]);
    let (ids, _) = list_all(&store, Some(PaymentStatus::Pending), 6).await;
    assert_eq!(ids.len(), 20);

    // The items really are spread: each is in its shard's partitions, status_pk follows status.
    let client = aws_sdk_dynamodb::Client::new(&emulator_config().await);
    let scan = client
        .scan()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    let mut used = std::collections::BTreeSet::new();
    // Payment items only: each payment also has its quote's claim item.
    let payments = scan
        .items()
        .iter()
        .filter(|item| items::string_attr(item, items::KIND).ok() == Some(items::KIND_PAYMENT));
    for item in payments {
        let id = items::string_attr(item, items::PK).unwrap();
        let shard = shards.of(id);
        let status = items::string_attr(item, items::STATUS).unwrap();
        assert_eq!(
            items::string_attr(item, items::LIST_PK).unwrap(),
            format!("ALL#{shard}")
        );
        assert_eq!(
            items::string_attr(item, items::STATUS_PK).unwrap(),
            format!("{status}#{shard}")
        );
        used.insert(shard);
    }
    assert!(used.len() > 1, "25 ids in one shard of 4: {used:?}");
}

#[tokio::test]
async fn replace_is_conditional_on_status_and_updated_at() {
    let store = store().await;
    let pending = sample_payment("p-1", "100.00", t(0));
    store.create(&pending, None, "fp").await.unwrap();
    let mut processing = pending.clone();
    processing
        .transition(PaymentStatus::Processing, t(1), None)
        .unwrap();
    store.replace(&pending, &processing).await.unwrap();

    // A writer still holding the PENDING read is refused and changes nothing.
    let mut stale = pending.clone();
    stale
        .transition(PaymentStatus::Processing, t(2), Some("stale".into()))
        .unwrap();
    assert!(matches!(
        store.replace(&pending, &stale).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get("p-1").await.unwrap(), Some(processing.clone()));

    // Same status, older updated_at: refused as well.
    let mut older = processing.clone();
    older.updated_at = t(0);
    let mut settled = processing.clone();
    settled
        .transition(PaymentStatus::Settled, t(3), None)
        .unwrap();
    assert!(matches!(
        store.replace(&older, &settled).await,
        Err(StoreError::Conflict(_))
    ));
    // Unknown payment: nothing to replace.
    let ghost = sample_payment("ghost", "1", t(0));
    assert!(matches!(
        store.replace(&ghost, &ghost).await,
        Err(StoreError::Conflict(_))
    ));

    store.replace(&processing, &settled).await.unwrap();
    assert_eq!(store.get("p-1").await.unwrap(), Some(settled));
}

#[tokio::test]
async fn settlement_use_cases_post_the_ledger_once() {
    let store = store().await;
    store
        .create(&sample_payment("p-1", "1000.00", t(0)), None, "fp")
        .await
        .unwrap();
    let update = |status| StatusUpdate {
        payment_id: "p-1".into(),
        status,
        reason: None,
    };
    let r = update_status(&store, &update(PaymentStatus::Processing), t(1))
        .await
        .unwrap();
    assert!(r.applied);
    // An illegal move is refused and not applied.
    let err = update_status(&store, &update(PaymentStatus::Pending), t(2))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "illegal_transition");

    let first = post_ledger(&store, "p-1", t(2)).await.unwrap();
    assert_eq!(
        (first.transfers, first.status, first.applied),
        (3, PaymentStatus::Settled, true)
    );
    let after_first = store.get("p-1").await.unwrap().unwrap();
    let second = post_ledger(&store, "p-1", t(3)).await.unwrap();
    assert_eq!((second.transfers, second.applied), (3, false));
    assert_eq!(
        store.get("p-1").await.unwrap().unwrap(),
        after_first,
        "the second post writes nothing"
    );
    let settlement = after_first.settlement.unwrap();
    assert_eq!(settlement.posted_at, t(2));
    assert_eq!(settlement.transfers.len(), 3);

    // post_ledger settles in the same write; the workflow's MarkSettled then changes nothing.
    assert_eq!(after_first.status, PaymentStatus::Settled);
    let r = update_status(&store, &update(PaymentStatus::Settled), t(4))
        .await
        .unwrap();
    assert_eq!((r.status, r.applied), (PaymentStatus::Settled, false));
    let missing = eventpay_core::validate_payment(&store, "nope", &Default::default()).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
}

/// A payment of the shared quote `quote_id` (as a second POST with the same token makes).
fn from_quote(payment_id: &str, quote_id: &str) -> Payment {
    let mut p = sample_payment(payment_id, "100.00", t(0));
    p.terms.quote_id = quote_id.into();
    p
}

#[tokio::test]
async fn a_quote_pays_one_payment() {
    let store = store().await;
    let first = from_quote("p-a", "q-shared");
    assert!(
        store
            .create(&first, None, "fp-1")
            .await
            .unwrap()
            .is_created()
    );
    let err = StoreError::QuoteAlreadyUsed {
        quote_id: "q-shared".into(),
        payment_id: "p-a".into(),
    };
    let used = Err(err.clone());
    // Without a key, with another key: refused, naming the first payment; nothing written.
    assert_eq!(
        store
            .create(&from_quote("p-b", "q-shared"), None, "fp-2")
            .await,
        used
    );
    assert_eq!(
        store
            .create(&from_quote("p-c", "q-shared"), Some("k-c"), "fp-3")
            .await,
        used
    );
    assert_eq!(store.get("p-b").await.unwrap(), None);
    assert_eq!(store.get("p-c").await.unwrap(), None);
    assert_eq!(store.find_by_idempotency_key("k-c", "fp-3").await, Ok(None));
    assert_eq!(
        (err.code(), eventpay_core::api::http_status(err.code())),
        ("quote_already_used", 409)
    );
    // The claim is not a payment.
    assert_eq!(store.get(&items::quote_pk("q-shared")).await.unwrap(), None);
}

#[tokio::test]
async fn a_reused_key_with_another_body_names_the_fields() {
    let store = store().await;
    let body = json!({"quote_token": "t", "sender": {"name": "Ada", "account": "ACC-1"},
                      "beneficiary": {"name": "Bob", "account": "ACC-2"}});
    let mut other = body.clone();
    other["beneficiary"]["account"] = json!("ACC-3");
    let p = sample_payment("p-1", "10.00", t(0));
    store
        .create(&p, Some("k"), &request_fingerprint(&body))
        .await
        .unwrap();
    let retry = sample_payment("p-2", "10.00", t(1));
    let conflict = Err(StoreError::IdempotencyConflict {
        key: "k".into(),
        fields: vec!["beneficiary.account".into()],
    });
    assert_eq!(
        store
            .create(&retry, Some("k"), &request_fingerprint(&other))
            .await,
        conflict
    );
    assert_eq!(
        store
            .find_by_idempotency_key("k", &request_fingerprint(&other))
            .await
            .map(|_| ()),
        conflict.map(|_| ())
    );
    assert_eq!(
        store
            .create(&retry, Some("k"), &request_fingerprint(&body))
            .await,
        Ok(CreateOutcome::Existing(p))
    );
}

/// 50 concurrent requests: one payment per quote and per key, whatever interleaves. Each loser
/// is told why: the quote's payment, the key's payment, or that the key is still in use.
#[tokio::test]
async fn fifty_concurrent_requests_make_one_payment() {
    let store = store().await;
    let results = |ps: Vec<(Payment, Option<String>)>| {
        let store = store.clone();
        async move {
            let tasks: Vec<_> = ps
                .into_iter()
                .map(|(p, key)| {
                    let store = store.clone();
                    tokio::spawn(async move { store.create(&p, key.as_deref(), "fp").await })
                })
                .collect();
            let mut out = Vec::new();
            for task in tasks {
                out.push(task.await.unwrap());
            }
            out
        }
    };

    // Without keys, one quote.
    let out = results(
        (0..50)
            .map(|i| (from_quote(&format!("p-nokey-{i}"), "q-race"), None))
            .collect(),
    )
    .await;
    let created: Vec<_> = out
        .iter()
        .filter_map(|r| match r {
            Ok(CreateOutcome::Created(p)) => Some(p.payment_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 1, "{out:?}");
    for r in &out {
        match r {
            Ok(CreateOutcome::Created(_)) => {}
            Err(StoreError::QuoteAlreadyUsed { payment_id, .. }) => {
                assert_eq!(payment_id, &created[0])
            }
            Err(StoreError::Conflict(m)) => assert!(m.contains("concurrent"), "{m}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    let page = store.list(None, 100, None).await.unwrap();
    assert_eq!(page.items.len(), 1);

    // One key, the same body: every answer is that one payment (or "in use" while it is written).
    let out = results(
        (0..50)
            .map(|i| {
                (
                    from_quote(&format!("p-key-{i}"), "q-keyed"),
                    Some("k-race".to_owned()),
                )
            })
            .collect(),
    )
    .await;
    let first = store
        .find_by_idempotency_key("k-race", "fp")
        .await
        .unwrap()
        .unwrap();
    let mut created = 0;
    for r in &out {
        match r {
            Ok(CreateOutcome::Created(p)) => {
                created += 1;
                assert_eq!(p, &first);
            }
            Ok(CreateOutcome::Existing(p)) => assert_eq!(p, &first),
            Err(StoreError::IdempotencyKeyInUse(k)) => assert_eq!(k, "k-race"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(store.list(None, 100, None).await.unwrap().items.len(), 2);
}
