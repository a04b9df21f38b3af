//! Quote signing with KMS HMAC keys against the emulator, through the core's token format.

use chrono::{Duration, Utc};
use eventpay_aws::KmsSigner;
use eventpay_aws::fixtures::{SAMPLE_RATES, create_mac_key, emulator_config};
use eventpay_core::api::{QuoteContext, QuoteSigner, post_quote};
use eventpay_core::{PricingPolicy, RateTable, SigningKey, split_token};

#[tokio::test]
async fn kms_macs_sign_and_verify_quote_tokens() {
    let config = emulator_config().await;
    let kms = aws_sdk_kms::Client::new(&config);
    let key_id = create_mac_key(&kms).await.unwrap();
    let signer = KmsSigner::new(kms.clone(), &key_id);

    let mac = signer.mac("payload").await.unwrap();
    assert_eq!(mac.len(), 32, "HMAC-SHA-256");
    assert!(signer.verify("payload", &mac).await.unwrap());
    assert!(
        !signer.verify("payload!", &mac).await.unwrap(),
        "altered input"
    );
    let mut forged = mac.clone();
    forged[0] ^= 1;
    assert!(
        !signer.verify("payload", &forged).await.unwrap(),
        "altered MAC"
    );

    // A token made by post_quote verifies; one signed by another key does not.
    let rates = RateTable::from_json(SAMPLE_RATES).unwrap();
    let ctx = QuoteContext {
        signer: &signer,
        rates: &rates,
        pricing: &PricingPolicy::default(),
        ttl: Duration::minutes(5),
    };
    let body = br#"{"source_currency":"USD","target_currency":"EUR","amount":"1000.00"}"#;
    let quote = post_quote(&ctx, body, "q-1".into(), Utc::now())
        .await
        .unwrap();
    let token = quote.body["token"].as_str().unwrap();
    let (input, mac, _) = split_token(token).unwrap();
    assert!(signer.verify(&input, &mac).await.unwrap());
    let local = SigningKey::new([9u8; 32]).unwrap();
    assert!(
        !signer
            .verify(&input, &local.mac(input.as_bytes()))
            .await
            .unwrap()
    );

    // Another KMS key does not accept this key's MACs.
    let other = KmsSigner::new(kms.clone(), create_mac_key(&kms).await.unwrap());
    assert!(!other.verify(&input, &mac).await.unwrap());
    // A missing key is a backend failure, not a forged token.
    let missing = KmsSigner::new(kms, "alias/does-not-exist");
    assert_eq!(missing.mac("x").await.unwrap_err().code(), "internal");
}
