//! The settlement task functions with the inputs spec/settlement.asl.json gives them: outputs as
//! the local runtime's task handlers, failures named by the core's task contract.

use chrono::Utc;
use eventpay_aws::fixtures::sample_payment;
use eventpay_core::{Decimal, PaymentStore, SettlementPolicy, TaskErrorName, TaskFailure};
use eventpay_lambdas::tasks::{self, TaskError};
use lambda_runtime::Diagnostic;
use serde_json::json;

use crate::events::store;

#[tokio::test]
async fn settle_a_payment_through_the_three_tasks() {
    let store = store().await;
    store
        .create(&sample_payment("p-1", "1000.00", Utc::now()), None, "fp")
        .await
        .unwrap();
    let policy = SettlementPolicy::default();

    let out = tasks::update_status(&store, json!({"payment_id": "p-1", "status": "PROCESSING"}))
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({"payment_id": "p-1", "status": "PROCESSING", "applied": true})
    );
    let out = tasks::update_status(&store, json!({"payment_id": "p-1", "status": "PROCESSING"}))
        .await
        .unwrap();
    assert_eq!(out["applied"], false, "a repeated delivery changes nothing");

    let out = tasks::validate(&store, &policy, json!({"payment_id": "p-1"}))
        .await
        .unwrap();
    assert_eq!(out, json!({"decision": "APPROVED"}));

    let out = tasks::post_ledger(&store, json!({"payment_id": "p-1"}))
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({"payment_id": "p-1", "transfers": 3, "status": "SETTLED", "applied": true})
    );
    let out = tasks::post_ledger(&store, json!({"payment_id": "p-1"}))
        .await
        .unwrap();
    assert_eq!(out["applied"], false, "the ledger is written once");

    let out = tasks::update_status(&store, json!({"payment_id": "p-1", "status": "SETTLED"}))
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({"payment_id": "p-1", "status": "SETTLED", "applied": false})
    );
    let settled = store.get("p-1").await.unwrap().unwrap();
    assert_eq!(settled.settlement.unwrap().transfers.len(), 3);
}

#[tokio::test]
async fn rejections_and_failures() {
    let store = store().await;
    store
        .create(&sample_payment("p-big", "2000.00", Utc::now()), None, "fp")
        .await
        .unwrap();
    tasks::update_status(
        &store,
        json!({"payment_id": "p-big", "status": "PROCESSING"}),
    )
    .await
    .unwrap();
    // A limit below the default's, so the rejection comes from the policy passed in.
    let policy = SettlementPolicy {
        per_payment_limit: Decimal::new(100_000, 2),
        ..SettlementPolicy::default()
    };
    let out = tasks::validate(&store, &policy, json!({"payment_id": "p-big"}))
        .await
        .unwrap();
    assert_eq!(out["decision"], "REJECTED");
    let reason = out["reason"].as_str().unwrap().to_owned();
    let out = tasks::update_status(
        &store,
        json!({"payment_id": "p-big", "status": "REJECTED", "reason": reason}),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "REJECTED");
    assert_eq!(
        store.get("p-big").await.unwrap().unwrap().reason,
        Some(reason)
    );

    // What Step Functions sees as Error/Cause.
    let err = tasks::post_ledger(&store, json!({"payment_id": "p-big"}))
        .await
        .unwrap_err();
    assert_eq!(
        (err.0.name(), err.0.retryable()),
        ("Payment.IllegalTransition", false)
    );
    let err = tasks::validate(&store, &policy, json!({"payment_id": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(err.0.name(), "Payment.NotFound");
    let err = tasks::update_status(&store, json!({"payment_id": "p-big"}))
        .await
        .unwrap_err();
    assert_eq!(err.0.name(), "Task.InvalidInput");
    let err = tasks::update_status(&store, json!({"payment_id": "p-big", "status": "PENDING"}))
        .await
        .unwrap_err();
    assert_eq!(err.0.name(), "Payment.IllegalTransition");
    // A payment already final is left alone by MarkFailed.
    let out = tasks::update_status(
        &store,
        json!({"payment_id": "p-big", "status": "FAILED", "reason": "late"}),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "REJECTED");
    assert_eq!(out["applied"], false);
    let d: Diagnostic = TaskError(TaskFailure::new(
        TaskErrorName::PaymentNotFound,
        "no payment",
    ))
    .into();
    assert_eq!(
        (d.error_type.as_str(), d.error_message.as_str()),
        ("Payment.NotFound", "no payment")
    );
}
