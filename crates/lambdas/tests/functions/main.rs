//! Every Lambda handler invoked in-process with the events AWS sends, against the AWS API
//! emulator (`scripts/with-moto`). Each test makes its own uniquely named resources.

mod api;
mod events;
mod ledger_check;
mod pipeline;
mod processor;
mod stream;
mod tasks;
mod trace;
