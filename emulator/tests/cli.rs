//! The `vm-emulator` binary prints one JSON line and writes its state files.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

#[test]
fn binary_prints_its_description_and_writes_state_files() {
    let dir = std::env::temp_dir().join(format!("vm-emulator-cli-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_vm-emulator"))
        .args([
            "--state-dir",
            dir.to_str().expect("utf-8 path"),
            "--operation-delay-ms",
            "10",
            "--client-secret",
            "cli-secret",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read line");
    let _ = child.kill();
    let _ = child.wait();
    let printed: Value = serde_json::from_str(&line).expect("one JSON line");
    assert!(
        printed["endpoint"]
            .as_str()
            .is_some_and(|e| e.starts_with("https://127.0.0.1:"))
    );
    assert_eq!(printed["client_secret"], "cli-secret");
    let written: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("emulator.json")).expect("emulator.json"),
    )
    .expect("json");
    assert_eq!(written, printed);
    let ca = std::fs::read_to_string(dir.join("ca.pem")).expect("ca.pem");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    let _ = std::fs::remove_dir_all(dir);
}
