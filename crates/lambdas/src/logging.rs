//! JSON logs through `tracing`: one object per line with the Lambda request id (the runtime's
//! span carries `requestId`) and, in a payment's work, its trace id (the span of
//! [`crate::xray::traced`] carries `trace_id`). `span` is the innermost span, `spans` all of
//! them, so a line in a payment's work names both. The level comes from `RUST_LOG`, else
//! `AWS_LAMBDA_LOG_LEVEL`, else `info`.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .map(|l| l.to_lowercase())
        .unwrap_or_else(|_| "info".into());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = subscriber(filter, std::io::stdout).try_init();
}

/// The functions' log format, writing to `writer` (standard output in a function; a buffer in
/// a test that reads the lines back).
pub fn subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // Lambda adds its own timestamp to every line; a second one only costs bytes.
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(true)
        .with_target(false)
        .without_time()
        .with_writer(writer)
        .finish()
}
