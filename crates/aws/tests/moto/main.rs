//! The AWS adapters against a real AWS API emulator (moto, started by `scripts/with-moto`).
//! Every test makes its own uniquely named resources, so they run in parallel.

mod ledger;
mod messaging;
mod signer;
mod store;
