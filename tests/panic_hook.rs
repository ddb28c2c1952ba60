//! The start-up panic hook's report: names the RPC being served, never the panic's formatted
//! message (which may quote input). Its own test binary: a panic hook is process-wide.

use std::sync::{Arc, Mutex};

use terraform_provider_vm::plugin::panic::{current_rpc, report, serving};

fn capture() -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    std::panic::set_hook(Box::new(move |info| {
        let line = report(current_rpc().as_deref(), info);
        if let Ok(mut s) = sink.lock() {
            s.push(line);
        }
    }));
    seen
}

#[tokio::test]
async fn a_panic_in_a_handler_is_reported_with_its_rpc_and_without_its_message() {
    let seen = capture();
    let secret = "hunter2-P@ssw0rd";
    let handler = tokio::spawn(serving("PlanResourceChange", async move {
        let parsed: Result<u8, String> =
            std::hint::black_box(Err(format!("bad password {secret}")));
        parsed.expect("a password")
    }));
    assert!(handler.await.is_err(), "the handler panicked");
    let overflow = tokio::spawn(serving("ValidateResourceConfig", async {
        let big = std::hint::black_box(u64::MAX);
        big + 1
    }));
    assert!(overflow.await.is_err(), "the addition overflowed");
    let _ = std::panic::take_hook();

    let lines = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let json: serde_json::Value =
        serde_json::from_str(lines[0].lines().next().unwrap_or_default()).expect("hclog JSON");
    assert_eq!(json["@level"], "error");
    assert_eq!(json["rpc"], "PlanResourceChange");
    assert!(
        json["location"]
            .as_str()
            .unwrap_or_default()
            .starts_with("tests/panic_hook.rs:")
    );
    assert!(!lines[0].contains(secret), "{}", lines[0]);
    assert!(lines[0].contains("message withheld"), "{}", lines[0]);
    // A literal message cannot carry input and is kept.
    assert!(
        lines[1].contains("while serving ValidateResourceConfig"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains("attempt to add with overflow"),
        "{}",
        lines[1]
    );
}
