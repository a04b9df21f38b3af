//! The ledger on DynamoDB against the emulator: `settle` writes the payment, its transfers and
//! the balances in one transaction or nothing, `DynamoLedger` pages an account, and the
//! reconciliation over the tables passes until an item is corrupted.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, TimeZone, Utc};
use eventpay_aws::fixtures::{emulator_config, sample_payment, store_with_ledger};
use eventpay_aws::reconcile;
use eventpay_aws::{DynamoLedger, DynamoStore, items, ledger_items};
use eventpay_core::{
    Decimal, Discrepancy, Ledger, Payment, PaymentStatus, PaymentStore, Settlement, StatusUpdate,
    StoreError, Transfer, post_ledger, transfers_for, update_status,
};

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap() + Duration::seconds(seconds)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn tables() -> (DynamoStore, DynamoLedger) {
    store_with_ledger(&emulator_config().await).await.unwrap()
}

/// Creates `id` of `amount` USD at `t(at)` and moves it to PROCESSING.
async fn processing(store: &DynamoStore, id: &str, amount: &str, at: i64) -> Payment {
    store
        .create(&sample_payment(id, amount, t(at)), None, "fp")
        .await
        .unwrap();
    let update = StatusUpdate {
        payment_id: id.into(),
        status: PaymentStatus::Processing,
        reason: None,
    };
    update_status(store, &update, t(at + 1)).await.unwrap();
    store.get(id).await.unwrap().unwrap()
}

/// The settled payment and its transfers, as `post_ledger` makes them.
fn settled(current: &Payment, at: DateTime<Utc>) -> (Payment, Vec<Transfer>) {
    let transfers = transfers_for(current, at).unwrap();
    let mut next = current.clone();
    next.settlement = Some(Settlement {
        transfers: transfers.clone(),
        posted_at: at,
    });
    next.transition(PaymentStatus::Settled, at, None).unwrap();
    (next, transfers)
}

/// Every item of the ledger table.
async fn ledger_items_of(store: &DynamoStore) -> Vec<items::Item> {
    let mut all = Vec::new();
    reconcile::scan_all(
        store.client(),
        store.ledger_table().unwrap(),
        |item: &items::Item| {
            all.push(item.clone());
            Ok(())
        },
    )
    .await
    .unwrap();
    all
}

async fn check(store: &DynamoStore) -> reconcile::Report {
    reconcile::check(store.client(), store.table(), store.ledger_table().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn settle_writes_payment_transfers_and_balances_at_once() {
    let (store, ledger) = tables().await;
    let current = processing(&store, "p-1", "1000.00", 0).await;
    let (next, transfers) = settled(&current, t(5));
    store.settle(&current, &next, &transfers).await.unwrap();
    assert_eq!(store.get("p-1").await.unwrap(), Some(next.clone()));
    // 3 transfers, 2 copies each, 5 balances (sender and fx:USD, fees:USD; fx:EUR, beneficiary).
    assert_eq!(ledger_items_of(&store).await.len(), 3 + 6 + 5);

    let sender = ledger.account("ACC-1", 10, None).await.unwrap();
    assert_eq!(sender.balances.len(), 1);
    let usd = &sender.balances[0];
    assert_eq!(
        (usd.currency.code, usd.debits, usd.balance, usd.transfers),
        ("USD", d("1000.00"), d("-1000.00"), 2)
    );
    assert_eq!(
        usd.balance.to_string(),
        "-1000.00",
        "at the currency's scale"
    );
    // One posting time: ties go by id, descending like the time.
    assert_eq!(
        sender
            .transfers
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>(),
        ["p-1/principal", "p-1/fee"]
    );
    assert!(sender.next_cursor.is_none());
    let payout = transfers.iter().find(|t| t.id == "p-1/payout").unwrap();
    let beneficiary = ledger.account("ACC-2", 10, None).await.unwrap();
    assert_eq!(beneficiary.transfers, vec![payout.clone()]);
    assert_eq!(beneficiary.balances[0].balance, payout.amount);
    // An account without transfers is empty, not an error.
    let none = ledger.account("ACC-9", 10, None).await.unwrap();
    assert!(none.balances.is_empty() && none.transfers.is_empty());
    assert!(check(&store).await.is_balanced());
}

#[tokio::test]
async fn a_second_settle_is_a_conflict_and_writes_nothing() {
    let (store, ledger) = tables().await;
    let current = processing(&store, "p-1", "1000.00", 0).await;
    let (next, transfers) = settled(&current, t(5));
    store.settle(&current, &next, &transfers).await.unwrap();
    let before = ledger_items_of(&store).await;
    let account = ledger.account("ACC-1", 10, None).await.unwrap();

    // The same settlement again: the payment is no longer the one read.
    let err = store.settle(&current, &next, &transfers).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("changed since it was read")),
        "{err:?}"
    );
    // A payment that passes its condition but whose transfers are posted already.
    let (again, _) = settled(&next_processing(&next), t(9));
    let err = store.settle(&next, &again, &transfers).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("is posted already")),
        "{err:?}"
    );
    assert_eq!(store.get("p-1").await.unwrap(), Some(next));
    let mut after = ledger_items_of(&store).await;
    let key = |i: &items::Item| format!("{:?}{:?}", i[ledger_items::PK], i[ledger_items::SK]);
    let mut before = before;
    before.sort_by_key(key);
    after.sort_by_key(key);
    assert_eq!(
        after, before,
        "nothing of the refused settlements is written"
    );
    assert_eq!(ledger.account("ACC-1", 10, None).await.unwrap(), account);

    // The use case sees the payment settled and writes nothing either.
    let r = post_ledger(&store, "p-1", t(20)).await.unwrap();
    assert!(!r.applied);
    assert_eq!(ledger_items_of(&store).await.len(), before.len());
}

/// `settled` as if it were still PROCESSING (to build a second, otherwise valid settlement).
fn next_processing(settled: &Payment) -> Payment {
    let mut p = settled.clone();
    p.status = PaymentStatus::Processing;
    p.settlement = None;
    p
}

#[tokio::test]
async fn balances_add_up_and_accounts_page_newest_first() {
    let (store, ledger) = tables().await;
    let amounts = ["1000.00", "250.00", "42.10"];
    let mut all: Vec<Transfer> = Vec::new();
    for (i, amount) in amounts.iter().enumerate() {
        let id = format!("p-{i}");
        let at = i64::try_from(i).unwrap() * 10;
        processing(&store, &id, amount, at).await;
        let r = post_ledger(&store, &id, t(at + 5)).await.unwrap();
        assert!(r.applied);
        let settled = store.get(&id).await.unwrap().unwrap();
        all.extend(settled.settlement.unwrap().transfers);
    }
    let sender = ledger.account("ACC-1", 100, None).await.unwrap();
    let usd = &sender.balances[0];
    let total: Decimal = amounts.iter().map(|a| d(a)).sum();
    assert_eq!((usd.debits, usd.balance), (total, -total));
    let fees: Decimal = all
        .iter()
        .filter(|t| t.credit_account == "fees:USD")
        .map(|t| t.amount)
        .sum();
    let fee_account = ledger.account("fees:USD", 100, None).await.unwrap();
    assert_eq!(fee_account.balances[0].balance, fees);
    assert_eq!(fee_account.balances[0].transfers, 3);
    // The internal account's balance is split over items (by payment), read as one.
    let fee_items = ledger_items_of(&store)
        .await
        .into_iter()
        .filter(|i| {
            i[ledger_items::KIND] == AttributeValue::S(ledger_items::KIND_BALANCE.into())
                && i[ledger_items::ACCOUNT] == AttributeValue::S("fees:USD".into())
        })
        .count();
    let shards: std::collections::BTreeSet<u16> = (0..3)
        .map(|i| ledger_items::INTERNAL_SHARDS.of(&format!("p-{i}")))
        .collect();
    assert_eq!(fee_items, shards.len());
    assert!(fee_items > 1, "three payments in one shard: pick other ids");
    assert_eq!(fee_account.balances.len(), 1);
    // Its transfers come from every partition, merged newest first, page by page.
    let fees_first = ledger.account("fees:USD", 2, None).await.unwrap();
    let cursor = fees_first.next_cursor.clone().expect("a second page");
    let fees_rest = ledger.account("fees:USD", 2, Some(&cursor)).await.unwrap();
    let ids: Vec<&str> = fees_first
        .transfers
        .iter()
        .chain(&fees_rest.transfers)
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(ids, ["p-2/fee", "p-1/fee", "p-0/fee"]);
    assert!(fees_rest.next_cursor.is_none());

    // Pages of 4: newest first over the three payments, then the rest, then no cursor.
    let mut expected: Vec<&Transfer> = all
        .iter()
        .filter(|t| t.debit_account == "ACC-1" || t.credit_account == "ACC-1")
        .collect();
    expected.sort_by_key(|t| (t.posted_at, t.id.clone()));
    expected.reverse();
    let first = ledger.account("ACC-1", 4, None).await.unwrap();
    assert_eq!(first.transfers.len(), 4);
    let cursor = first.next_cursor.clone().expect("a second page");
    let second = ledger.account("ACC-1", 4, Some(&cursor)).await.unwrap();
    assert!(second.next_cursor.is_none());
    let paged: Vec<&Transfer> = first.transfers.iter().chain(&second.transfers).collect();
    assert_eq!(paged, expected);
    assert_eq!(
        second.balances, first.balances,
        "every page has the balances"
    );
    // An exact fit leaves no cursor.
    let whole = ledger.account("ACC-1", 6, None).await.unwrap();
    assert!(whole.next_cursor.is_none());
    // A cursor belongs to its account.
    let err = ledger.account("ACC-2", 4, Some(&cursor)).await.unwrap_err();
    assert_eq!(err.code(), "invalid_field");
    assert!(check(&store).await.is_balanced());
}

#[tokio::test]
async fn reconciliation_finds_a_corrupted_balance_and_legacy_payments() {
    let (store, _) = tables().await;
    for (i, amount) in ["1000.00", "7.00"].iter().enumerate() {
        let id = format!("p-{i}");
        processing(&store, &id, amount, i64::try_from(i).unwrap() * 10).await;
        post_ledger(&store, &id, t(100)).await.unwrap();
    }
    processing(&store, "p-open", "5.00", 50).await;
    let report = check(&store).await;
    assert!(report.is_balanced(), "{report:?}");
    let r = &report.reconciliation;
    assert_eq!(
        (r.payments, r.settled, r.transfers, r.balances),
        (3, 2, 6, 5)
    );

    // A raw edit of one balance, as an operator's mistake would make it.
    store
        .client()
        .update_item()
        .table_name(store.ledger_table().unwrap())
        .set_key(Some(ledger_items::balance_key(
            "fx:USD",
            eventpay_core::currency("USD").unwrap(),
            "p-0",
        )))
        .update_expression("ADD #b :one")
        .expression_attribute_names("#b", ledger_items::BALANCE)
        .expression_attribute_values(":one", AttributeValue::N("0.01".into()))
        .send()
        .await
        .unwrap();
    // A payment settled before the ledger table existed: SETTLED, no transfers.
    let mut legacy = sample_payment("p-legacy", "20.00", t(200));
    legacy.status = PaymentStatus::Settled;
    store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(
            items::payment_item(&legacy, store.list_shards()).unwrap(),
        ))
        .send()
        .await
        .unwrap();

    let report = check(&store).await;
    assert!(!report.is_balanced());
    let found = &report.reconciliation.discrepancies;
    assert!(
        found.iter().any(|d| matches!(d,
            Discrepancy::BalanceDiffers { account, .. } if account == "fx:USD")),
        "{found:?}"
    );
    assert!(
        found.iter().any(
            |x| matches!(x, Discrepancy::CurrencyDoesNotSumToZero { sum, .. } if *sum == d("0.01"))
        ),
        "{found:?}"
    );
    assert!(
        found.iter().any(|d| matches!(d,
            Discrepancy::SettledPaymentTransfers { payment_id, found, .. }
                if payment_id == "p-legacy" && found.is_empty())),
        "{found:?}"
    );
    assert!(report.copy_discrepancies.is_empty());

    // A missing account copy is found too.
    let copy = ledger_items_of(&store)
        .await
        .into_iter()
        .find(|i| i[ledger_items::KIND] == AttributeValue::S("account_transfer".into()))
        .unwrap();
    store
        .client()
        .delete_item()
        .table_name(store.ledger_table().unwrap())
        .key(ledger_items::PK, copy[ledger_items::PK].clone())
        .key(ledger_items::SK, copy[ledger_items::SK].clone())
        .send()
        .await
        .unwrap();
    assert_eq!(check(&store).await.copy_discrepancies.len(), 1);
}

#[tokio::test]
async fn concurrent_settlements_lose_no_balance_change() {
    let (store, ledger) = tables().await;
    let ids: Vec<String> = (0..20).map(|i| format!("c-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        processing(&store, id, "10.00", i64::try_from(i).unwrap()).await;
    }
    // All at once, each settlement touching the same sender and internal accounts.
    let settle = ids.iter().map(|id| post_ledger(&store, id, t(100)));
    for r in futures_util::future::join_all(settle).await {
        assert!(r.unwrap().applied);
    }
    let sender = ledger.account("ACC-1", 1, None).await.unwrap();
    assert_eq!(
        (sender.balances[0].debits, sender.balances[0].transfers),
        (d("200.00"), 40)
    );
    let report = check(&store).await;
    assert!(report.is_balanced(), "{report:?}");
    assert_eq!(report.reconciliation.transfers, 60);
}
