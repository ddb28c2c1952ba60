//! Logs as hclog JSON lines on stderr, which Terraform parses and filters
//! with TF_LOG / TF_LOG_PROVIDER. The level is read from the same variables
//! so nothing is formatted when Terraform would discard it.
//!
//! Secrets are kept out by construction: they live in `secrecy` types whose
//! Debug output is redacted, and no code logs a request body unredacted.

use std::io::Write;

use time::format_description::FormatItem;
use time::macros::format_description;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};

/// Go's `2006-01-02T15:04:05.000000Z07:00`, which hclog requires.
const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Now, as hclog writes it.
pub(crate) fn timestamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(TIMESTAMP)
        .unwrap_or_default()
}

/// The level Terraform asked for; `None` means logging is off.
pub(crate) fn level_from_env(get: impl Fn(&str) -> Option<String>) -> Option<Level> {
    let value = get("TF_LOG_PROVIDER").or_else(|| get("TF_LOG"))?;
    match value.trim().to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" => Some(Level::TRACE),
        "DEBUG" => Some(Level::DEBUG),
        "INFO" => Some(Level::INFO),
        "WARN" => Some(Level::WARN),
        "ERROR" => Some(Level::ERROR),
        _ => None,
    }
}

/// Installs the hclog layer as the global subscriber.
pub fn init() {
    let Some(level) = level_from_env(|k| std::env::var(k).ok()) else {
        return;
    };
    // Dependencies (h2, hyper, rustls) log every frame at trace; only their
    // warnings are worth a user's log.
    let filter = Targets::new()
        .with_default(LevelFilter::WARN.min(LevelFilter::from_level(level)))
        .with_target(env!("CARGO_CRATE_NAME"), LevelFilter::from_level(level));
    let subscriber =
        tracing_subscriber::registry().with(HclogLayer::new(std::io::stderr).with_filter(filter));
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Formats events as hclog JSON and writes each as one line.
pub(crate) struct HclogLayer<W> {
    make_writer: W,
}

impl<W> HclogLayer<W> {
    pub(crate) fn new(make_writer: W) -> HclogLayer<W> {
        HclogLayer { make_writer }
    }
}

pub(crate) fn format_line(event: &Event<'_>) -> String {
    let mut fields = serde_json::Map::new();
    event.record(&mut JsonVisitor(&mut fields));
    let message = fields
        .remove("message")
        .unwrap_or_else(|| serde_json::Value::from(""));
    let mut line = serde_json::Map::new();
    let level = match *event.metadata().level() {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    };
    line.insert("@level".into(), level.into());
    line.insert("@message".into(), message);
    line.insert(
        "@module".into(),
        format!("vm.{}", event.metadata().target()).into(),
    );
    line.insert("@timestamp".into(), timestamp().into());
    line.extend(fields);
    serde_json::Value::Object(line).to_string()
}

impl<S, W, T> Layer<S> for HclogLayer<W>
where
    S: Subscriber,
    W: Fn() -> T + 'static,
    T: Write,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut line = format_line(event);
        line.push('\n');
        let _ = (self.make_writer)().write_all(line.as_bytes());
    }
}

struct JsonVisitor<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn lines_are_hclog_json_with_microsecond_timestamps() {
        let buf = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = buf.clone();
        let layer = HclogLayer::new(move || SharedBuf(sink.clone()));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(vm = "web", attempt = 2, "extension updated");
        });
        let out = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(line["@level"], "info");
        assert_eq!(line["@message"], "extension updated");
        assert_eq!(line["vm"], "web");
        assert_eq!(line["attempt"], 2);
        let ts = line["@timestamp"].as_str().unwrap();
        assert_eq!(ts.len(), "2026-11-25T06:00:00.123456Z".len(), "{ts}");
    }

    #[test]
    fn level_follows_tf_log_provider_then_tf_log() {
        let env = |pairs: &'static [(&str, &str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(level_from_env(env(&[])), None);
        assert_eq!(
            level_from_env(env(&[("TF_LOG", "debug")])),
            Some(Level::DEBUG)
        );
        assert_eq!(
            level_from_env(env(&[("TF_LOG", "debug"), ("TF_LOG_PROVIDER", "TRACE")])),
            Some(Level::TRACE)
        );
        assert_eq!(level_from_env(env(&[("TF_LOG", "off")])), None);
    }

    struct SharedBuf(Arc<Mutex<Vec<u8>>>);
    impl Write for SharedBuf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
