//! The API functions: status codes and JSON bodies exactly as the local runtime answers.

use aws_lambda_events::apigw::ApiGatewayProxyResponse;
use aws_lambda_events::encodings::Body;
use base64::Engine;
use eventpay_aws::KmsSigner;
use eventpay_core::api::QuoteContext;
use eventpay_lambdas::{config, http};
use serde_json::{Value, json};

use crate::events::{Proxy, signer, store, store_and_ledger};

fn json_of(r: &ApiGatewayProxyResponse) -> Value {
    assert_eq!(r.headers["content-type"], "application/json");
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("expected a text body, got {other:?}"),
    }
}

fn assert_error(r: &ApiGatewayProxyResponse, status: i64, code: &str) {
    let body = json_of(r);
    assert_eq!(
        (r.status_code, body["error"]["code"].as_str()),
        (status, Some(code)),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
}

fn quote_context<'a>(
    signer: &'a KmsSigner,
    pricing: &'a config::Pricing,
) -> QuoteContext<'a, KmsSigner> {
    QuoteContext {
        signer,
        rates: &pricing.rates,
        pricing: &pricing.pricing,
        ttl: pricing.ttl,
    }
}

fn quote_body(amount: &str) -> String {
    json!({"source_currency": "USD", "target_currency": "EUR", "amount": amount}).to_string()
}

fn payment_body(token: &str, reference: &str) -> String {
    json!({
        "quote_token": token,
        "sender": {"name": "Ada", "account": "ACC-1"},
        "beneficiary": {"name": "Bob", "account": "ACC-2"},
        "reference": reference
    })
    .to_string()
}

#[tokio::test]
async fn quotes_payments_and_their_errors() {
    let (store, signer) = (store().await, signer().await);
    let pricing = config::pricing().unwrap();
    let ctx = quote_context(&signer, &pricing);
    let post_quote = |body: String| Proxy::new("POST", "/quotes", "/quotes").body(body).event();

    let r = http::quote(&ctx, &post_quote(quote_body("1000.00"))).await;
    assert_eq!(r.status_code, 201);
    let quote = json_of(&r);
    assert_eq!(
        (quote["source_currency"].as_str(), quote["amount"].as_str()),
        (Some("USD"), Some("1000.00"))
    );
    let token = quote["token"].as_str().unwrap().to_owned();

    assert_error(
        &http::quote(&ctx, &post_quote("{".into())).await,
        400,
        "invalid_json",
    );
    let unknown = json!({"source_currency": "XYZ", "target_currency": "EUR", "amount": "1"});
    assert_error(
        &http::quote(&ctx, &post_quote(unknown.to_string())).await,
        422,
        "unknown_currency",
    );
    assert_error(
        &http::quote(&ctx, &post_quote(quote_body("1.2.3"))).await,
        422,
        "invalid_amount",
    );
    let extra = json!({"source_currency": "USD", "target_currency": "EUR", "amount": "1", "x": 1});
    assert_error(
        &http::quote(&ctx, &post_quote(extra.to_string())).await,
        400,
        "unknown_field",
    );

    let post = |body: String, key: Option<&str>| {
        let p = Proxy::new("POST", "/payments", "/payments").body(body);
        match key {
            Some(k) => p.header("Idempotency-Key", k).event(),
            None => p.event(),
        }
    };
    let r = http::create_payment(
        &store,
        &signer,
        &post(payment_body(&token, "inv-1"), Some("key-1")),
    )
    .await;
    assert_eq!(r.status_code, 202);
    let payment = json_of(&r);
    assert_eq!(payment["status"], "PENDING");
    assert!(r.headers.get("idempotent-replayed").is_none());

    // Same key, same body: the original payment, marked as a replay.
    let again = http::create_payment(
        &store,
        &signer,
        &post(payment_body(&token, "inv-1"), Some("key-1")),
    )
    .await;
    assert_eq!(again.status_code, 202);
    assert_eq!(json_of(&again)["payment_id"], payment["payment_id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    // Same key, other body: conflict.
    let other = http::create_payment(
        &store,
        &signer,
        &post(payment_body(&token, "inv-2"), Some("key-1")),
    )
    .await;
    assert_error(&other, 409, "idempotency_conflict");

    // Another payment from the same quote: refused, naming the first.
    let second =
        http::create_payment(&store, &signer, &post(payment_body(&token, "inv-9"), None)).await;
    assert_error(&second, 409, "quote_already_used");
    assert!(
        json_of(&second)
            .to_string()
            .contains(payment["payment_id"].as_str().unwrap()),
        "{second:?}"
    );

    // A body API Gateway base64-encoded (binary media type) is read the same (a replay of the
    // first request, so the same payment).
    let mut encoded = Proxy::new("POST", "/payments", "/payments")
        .body(base64::engine::general_purpose::STANDARD.encode(payment_body(&token, "inv-1")))
        .header("Idempotency-Key", "key-1");
    encoded.base64 = true;
    let replay = http::create_payment(&store, &signer, &encoded.event()).await;
    assert_eq!(replay.status_code, 202);
    assert_eq!(json_of(&replay)["payment_id"], payment["payment_id"]);

    // Tokens: altered signature, not a token at all, another signer's token.
    let (input, mac) = token.split_once('.').unwrap();
    let forged = format!(
        "{input}.{}",
        if mac.starts_with('A') {
            mac.replacen('A', "B", 1)
        } else {
            format!("A{}", &mac[1..])
        }
    );
    let r = http::create_payment(&store, &signer, &post(payment_body(&forged, "x"), None)).await;
    assert_error(&r, 422, "quote_token_invalid");
    let r = http::create_payment(&store, &signer, &post(payment_body("nonsense", "x"), None)).await;
    assert_error(&r, 400, "quote_token_malformed");
    let local = eventpay_core::SigningKey::new([1u8; 32]).unwrap();
    let (_, _, q) = eventpay_core::split_token(&token).unwrap();
    let foreign = eventpay_core::sign_quote(&q, &local);
    let r = http::create_payment(&store, &signer, &post(payment_body(&foreign, "x"), None)).await;
    assert_error(&r, 422, "quote_token_invalid");
    let r = http::create_payment(&store, &signer, &post("[]".into(), None)).await;
    assert_error(&r, 400, "invalid_json");
    let r = http::create_payment(&store, &signer, &post(payment_body(&token, "x"), Some(""))).await;
    assert_error(&r, 400, "invalid_idempotency_key");
    let huge = Proxy::new("POST", "/payments", "/payments")
        .body(" ".repeat(17 * 1024))
        .event();
    assert_error(
        &http::create_payment(&store, &signer, &huge).await,
        413,
        "payload_too_large",
    );
}

#[tokio::test]
async fn get_and_list_payments() {
    let (store, signer) = (store().await, signer().await);
    let pricing = config::pricing().unwrap();
    let ctx = quote_context(&signer, &pricing);
    let mut ids = Vec::new();
    for i in 0..3 {
        let q = http::quote(
            &ctx,
            &Proxy::new("POST", "/quotes", "/quotes")
                .body(quote_body("10.00"))
                .event(),
        )
        .await;
        let token = json_of(&q)["token"].as_str().unwrap().to_owned();
        let event = Proxy::new("POST", "/payments", "/payments")
            .body(payment_body(&token, &format!("r{i}")))
            .event();
        let r = http::create_payment(&store, &signer, &event).await;
        ids.push(json_of(&r)["payment_id"].as_str().unwrap().to_owned());
    }

    let get = |id: &str| {
        let mut p = Proxy::new("GET", "/payments/{payment_id}", format!("/payments/{id}"));
        p.path_parameters = Some(json!({"payment_id": id}));
        p.event()
    };
    let r = http::get_payment(&store, &get(&ids[0])).await;
    assert_eq!(r.status_code, 200);
    let p = json_of(&r);
    assert_eq!(
        (p["payment_id"].as_str(), p["status"].as_str()),
        (Some(ids[0].as_str()), Some("PENDING"))
    );
    assert_eq!(p["history"][0]["status"], "PENDING");
    assert_error(
        &http::get_payment(&store, &get("no-such-payment")).await,
        404,
        "not_found",
    );

    let list = |query: Vec<(&str, &str)>| {
        let mut p = Proxy::new("GET", "/payments", "/payments");
        p.query = query
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        p.event()
    };
    let r = http::list_payments(&store, &list(vec![("limit", "2"), ("status", "PENDING")])).await;
    assert_eq!(r.status_code, 200);
    let page = json_of(&r);
    let got: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["payment_id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()], "newest first");
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let r = http::list_payments(
        &store,
        &list(vec![
            ("limit", "2"),
            ("status", "PENDING"),
            ("cursor", &cursor),
        ]),
    )
    .await;
    let page = json_of(&r);
    assert_eq!(
        page["items"][0]["payment_id"].as_str(),
        Some(ids[0].as_str())
    );
    assert_eq!(page["next_cursor"], Value::Null);

    assert_error(
        &http::list_payments(&store, &list(vec![("status", "BOGUS")])).await,
        400,
        "invalid_status",
    );
    assert_error(
        &http::list_payments(&store, &list(vec![("limit", "0")])).await,
        400,
        "invalid_limit",
    );
    assert_error(
        &http::list_payments(&store, &list(vec![("colour", "red")])).await,
        400,
        "unknown_parameter",
    );
    assert_error(
        &http::list_payments(&store, &list(vec![("cursor", "bad!")])).await,
        422,
        "invalid_field",
    );
}

/// `n` payments of 100.00 USD → EUR from ACC-1 to ACC-2, settled through the task functions.
pub async fn settled_payments(store: &eventpay_aws::DynamoStore, n: usize) {
    use eventpay_core::PaymentStore;
    let now = chrono::Utc::now();
    for i in 0..n {
        let id = format!("p-{i}");
        let sample = eventpay_aws::fixtures::sample_payment(&id, "100.00", now);
        store.create(&sample, None, "fp").await.unwrap();
        let processing = json!({"payment_id": id, "status": "PROCESSING"});
        eventpay_lambdas::tasks::update_status(store, processing)
            .await
            .unwrap();
        let out = eventpay_lambdas::tasks::post_ledger(store, json!({"payment_id": id}))
            .await
            .unwrap();
        assert_eq!(out["applied"], true);
    }
}

#[tokio::test]
async fn get_ledger_accounts() {
    let (store, ledger) = store_and_ledger().await;
    settled_payments(&store, 2).await;
    let get = |account: &str, query: &[(&str, &str)]| {
        let mut p = Proxy::new(
            "GET",
            "/ledger/accounts/{account}",
            format!("/ledger/accounts/{account}"),
        );
        p.path_parameters = Some(json!({"account": account}));
        p.query = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        p.event()
    };
    // Accounts are read in canonical form, as payments store them.
    let r = http::get_ledger_account(&ledger, &get("acc-1", &[("limit", "3")])).await;
    assert_eq!(r.status_code, 200);
    let page = json_of(&r);
    assert_eq!(page["account"], "ACC-1");
    assert_eq!(
        page["balances"],
        json!([{"account": "ACC-1", "currency": "USD", "debits": "200.00", "credits": "0.00",
                "balance": "-200.00", "transfers": 4}])
    );
    assert_eq!(page["transfers"].as_array().map(Vec::len), Some(3));
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let r = http::get_ledger_account(
        &ledger,
        &get("ACC-1", &[("limit", "3"), ("cursor", &cursor)]),
    )
    .await;
    let rest = json_of(&r);
    assert_eq!(rest["transfers"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest["next_cursor"], Value::Null);

    let fees = json_of(&http::get_ledger_account(&ledger, &get("fees:USD", &[])).await);
    assert_eq!(fees["balances"][0]["transfers"], 2);
    // A REST API passes the path parameter still percent-encoded.
    let encoded = json_of(&http::get_ledger_account(&ledger, &get("fees%3AUSD", &[])).await);
    assert_eq!(encoded, fees);
    assert_error(
        &http::get_ledger_account(&ledger, &get("fees%3", &[])).await,
        400,
        "invalid_account",
    );
    let nobody = json_of(&http::get_ledger_account(&ledger, &get("ACC-9", &[])).await);
    assert_eq!(
        (nobody["balances"].clone(), nobody["transfers"].clone()),
        (json!([]), json!([]))
    );

    assert_error(
        &http::get_ledger_account(&ledger, &get("ACC-1", &[("limit", "0")])).await,
        400,
        "invalid_limit",
    );
    assert_error(
        &http::get_ledger_account(&ledger, &get("ACC-2", &[("cursor", &cursor)])).await,
        422,
        "invalid_field",
    );
    assert_error(
        &http::get_ledger_account(&ledger, &get("   ", &[])).await,
        400,
        "invalid_account",
    );
    let mut no_param = get("ACC-1", &[]);
    no_param.path_parameters.clear();
    assert_error(
        &http::get_ledger_account(&ledger, &no_param).await,
        404,
        "not_found",
    );
}
