//! The spec log (`EmulatorConfig::spec_log`, `VM_EMULATOR_SPEC_LOG`): every ARM request and
//! its answer as a JSON line in the instance's own file, secrets redacted, nothing else logged.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use vm_emulator::{Emulator, EmulatorConfig, EmulatorError, FaultAction, FaultSpec};
use vm_emulator_test_support as support;

/// A fresh directory under the system's temporary one.
fn fresh_dir() -> PathBuf {
    std::env::temp_dir().join(format!("vm-emulator-spec-log-{}", uuid::Uuid::new_v4()))
}

/// The lines of the only file in `dir`, parsed, with the file's name.
fn read_log(dir: &Path) -> (String, Vec<Value>) {
    let files: Vec<_> = std::fs::read_dir(dir)
        .expect("log directory")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "one file per instance: {files:?}");
    let text = std::fs::read_to_string(&files[0]).expect("log file");
    assert!(
        !text.contains("N3w-Passw0rd!"),
        "a password on disk:\n{text}"
    );
    let lines = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
        .collect();
    let name = files[0]
        .file_name()
        .and_then(|n| n.to_str())
        .expect("file name")
        .to_string();
    (name, lines)
}

#[tokio::test]
async fn arm_requests_and_answers_are_logged_one_line_each_with_secrets_redacted() {
    let dir = fresh_dir();
    let f = support::start_with(EmulatorConfig {
        operation_delay: Duration::from_millis(50),
        spec_log: Some(dir.clone()),
        ..EmulatorConfig::default()
    })
    .await;
    f.seed_vm(support::seed()).await;

    let expand = format!("{}?{}&%24expand=instanceView", f.vm_path(), support::API);
    assert_eq!(f.get(&expand).await.0, 200);
    let operation = f
        .run_vmaccess(
            json!({"username": "opsadmin"}),
            json!({"password": "N3w-Passw0rd!"}),
            None,
        )
        .await;
    assert_eq!(operation["status"], "Succeeded");
    f.add_fault(FaultSpec::new(FaultAction::status(500)).on("GET", "/virtualMachines/"))
        .await;
    assert_eq!(f.get(&f.vm_url()).await.0, 500);
    let not_json = f
        .http
        .put(f.extension_url("broken"))
        .bearer_auth(&f.token)
        .header("content-type", "application/json")
        .body("not JSON")
        .send()
        .await
        .expect("sent");
    assert_eq!(not_json.status(), 400);
    let (status, _) = f.get("/subscriptions").await;
    assert_eq!(status, 400, "no api-version");
    let vm_path = f.vm_path();
    f.emulator.shutdown().await;

    let (name, lines) = read_log(&dir);
    assert!(
        name.starts_with(&format!("{}-", std::process::id())) && name.ends_with(".jsonl"),
        "{name}"
    );
    for line in &lines {
        let keys: Vec<&str> = line
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "non_json_body")
            .collect();
        let mut expected = vec![
            "method",
            "path",
            "query",
            "request_body",
            "response_body",
            "status",
        ];
        expected.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, expected, "{line}");
        let path = line["path"].as_str().expect("path");
        assert!(
            path.starts_with("/subscriptions"),
            "only ARM requests (no token, admin or fault requests): {line}"
        );
    }

    let first = &lines[0];
    assert_eq!(first["method"], "GET");
    assert_eq!(first["path"], vm_path);
    assert_eq!(
        first["query"], "api-version=2025-04-01&%24expand=instanceView",
        "the raw query, as sent"
    );
    assert_eq!(first["status"], 200);
    assert_eq!(first["request_body"], Value::Null);
    assert!(first["response_body"]["properties"]["instanceView"].is_object());

    let put = &lines[1];
    assert_eq!(
        (&put["method"], &put["status"]),
        (&json!("PUT"), &json!(201))
    );
    let properties = &put["request_body"]["properties"];
    assert_eq!(properties["settings"]["username"], "opsadmin");
    assert_eq!(
        properties["protectedSettings"],
        json!({"password": "<redacted>"})
    );
    assert!(
        lines[2..].iter().any(|l| l["path"]
            .as_str()
            .is_some_and(|p| p.contains("/operations/"))),
        "the operation polls are logged"
    );

    let fault = lines
        .iter()
        .find(|l| l["status"] == 500)
        .expect("the injected fault's answer is logged");
    assert_eq!(
        fault["response_body"]["error"]["code"],
        "InternalServerError"
    );
    let broken = lines
        .iter()
        .find(|l| l["method"] == "PUT" && l["status"] == 400)
        .expect("the PUT that was not JSON");
    assert_eq!(broken["non_json_body"], true);
    assert_eq!(broken["request_body"], Value::Null);
    assert!(broken["response_body"]["error"].is_object());
    let last = lines.last().expect("lines");
    assert_eq!(
        (&last["path"], &last["query"]),
        (&json!("/subscriptions"), &json!(""))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn instances_write_files_of_their_own() {
    let dir = fresh_dir();
    let config = || EmulatorConfig {
        spec_log: Some(dir.clone()),
        ..EmulatorConfig::default()
    };
    let first = Emulator::start(config()).await.expect("starts");
    let second = Emulator::start(config()).await.expect("starts");
    let files = std::fs::read_dir(&dir).expect("log directory").count();
    assert_eq!(files, 2);
    first.shutdown().await;
    second.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_spec_log_that_cannot_be_opened_stops_the_start() {
    let file = fresh_dir();
    std::fs::write(&file, "not a directory").expect("file written");
    let started = Emulator::start(EmulatorConfig {
        spec_log: Some(file.clone()),
        ..EmulatorConfig::default()
    })
    .await;
    assert!(
        matches!(started, Err(EmulatorError::SpecLog { .. })),
        "{:?}",
        started.err()
    );
    let _ = std::fs::remove_file(&file);
}
