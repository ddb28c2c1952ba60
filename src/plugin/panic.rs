//! A panic that slips through is a bug, and release builds abort on it (`panic = "abort"`): the
//! hook installed here makes sure Terraform's log says so, naming the RPC being served.
//!
//! The hook replaces Rust's default output, which prints the panic message: a formatted message
//! (`expect` on an error, an index, a `{:?}` of a value) can quote input, and input may hold a
//! password. Only a message that is a string literal (`&'static str`, e.g. "attempt to add with
//! overflow") is printed; other messages are withheld. The location is always printed.
//!
//! Two lines go to stderr: an hclog JSON error line (Terraform's provider log) and a plain line
//! starting with `panic: `, which is how Terraform recognises a crashed plugin's output and shows
//! it to the user.

use std::io::Write;
use std::panic::{Location, PanicHookInfo};

use tokio::task::futures::TaskLocalFuture;
use tonic::codegen::http;
use tonic::codegen::{Service, StdError};
use tonic::server::NamedService;

tokio::task_local! {
    /// The RPC whose handler is being polled on this thread.
    static RPC: Box<str>;
}

/// Installs the hook. Called once at start-up, before serving.
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let line = report(current_rpc().as_deref(), info);
        // Nothing else can be done if stderr is gone.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }));
}

/// The RPC being served by the current task, if any.
pub fn current_rpc() -> Option<Box<str>> {
    RPC.try_with(|r| r.clone()).ok()
}

/// Runs `fut` as the handler of `rpc` (for the panic report).
pub fn serving<F: Future>(rpc: &str, fut: F) -> TaskLocalFuture<Box<str>, F> {
    RPC.scope(rpc.into(), fut)
}

/// Both lines of a panic report (each ending in a newline).
pub fn report(rpc: Option<&str>, info: &PanicHookInfo<'_>) -> String {
    let message = info.payload().downcast_ref::<&'static str>().copied();
    report_lines(rpc, info.location(), message)
}

fn report_lines(
    rpc: Option<&str>,
    location: Option<&Location<'_>>,
    message: Option<&str>,
) -> String {
    let rpc_text = rpc.unwrap_or("no RPC (start-up or a background task)");
    let location = location.map_or_else(|| "an unknown location".to_owned(), ToString::to_string);
    let message = message.unwrap_or("message withheld: it may quote input");
    let text = format!(
        "the provider crashed while serving {rpc_text} at {location} ({message}). This is a bug in terraform-provider-vm; please report it with this line."
    );
    let mut json = serde_json::json!({
        "@level": "error",
        "@message": text,
        "@module": "vm.panic",
        "@timestamp": super::logging::timestamp(),
        "location": location,
    });
    if let (Some(rpc), Some(map)) = (rpc, json.as_object_mut()) {
        map.insert("rpc".into(), rpc.into());
    }
    format!("{json}\npanic: {text}\n")
}

/// Wraps a gRPC service so that each request's handler runs under its RPC's name: the method
/// of `/package.Service/Method`.
#[derive(Debug, Clone)]
pub(crate) struct NamedRpcs<S>(pub S);

impl<S: NamedService> NamedService for NamedRpcs<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> Service<http::Request<B>> for NamedRpcs<S>
where
    S: Service<http::Request<B>>,
    S::Error: Into<StdError>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TaskLocalFuture<Box<str>, S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let path = req.uri().path();
        let rpc = path.rsplit('/').next().unwrap_or(path).to_owned();
        serving(&rpc, self.0.call(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_the_rpc_and_location_and_is_hclog_json() {
        let here = Location::caller();
        let out = report_lines(Some("ValidateResourceConfig"), Some(here), None);
        let mut lines = out.lines();
        let json: serde_json::Value =
            serde_json::from_str(lines.next().unwrap_or_default()).expect("hclog JSON");
        assert_eq!(json["@level"], "error");
        assert_eq!(json["rpc"], "ValidateResourceConfig");
        let msg = json["@message"].as_str().unwrap_or_default();
        assert!(
            msg.contains("while serving ValidateResourceConfig at src/plugin/panic.rs:"),
            "{msg}"
        );
        assert!(msg.contains("message withheld"), "{msg}");
        assert!(
            lines
                .next()
                .unwrap_or_default()
                .starts_with("panic: the provider crashed")
        );
    }
}
