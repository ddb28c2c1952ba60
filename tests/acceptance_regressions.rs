//! Acceptance regressions of issue 14: inputs that once killed the provider process now give a
//! diagnostic, and the provider keeps serving the requests after them.

use serde_json::Value as Json;
use vm_test_support::terraform::{TfDir, line_of};

const VM_ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web";

#[test]
fn an_overflowing_timeout_is_an_error_on_timeouts_create_and_the_provider_keeps_serving() {
    let dir = TfDir::new();
    // The second resource is validated by the same provider process: its error proves the
    // process survived the first.
    let main = dir.write_main(&format!(
        r#"resource "vm_access_reset" "r" {{
  virtual_machine_id = "{VM_ID}"
  timeouts {{
    create = "10000000000000000000s10000000000000000000s"
  }}
}}

resource "vm_access_reset" "after" {{
  virtual_machine_id = "{VM_ID}"
  username           = "ops@admin"
  password_wo        = "Correct-Horse-42"
  password_wo_version = 1
}}
"#
    ));
    let out = dir.run(&["validate", "-json"]);
    assert_eq!(out.code(), Some(1), "{out}");
    let json = out.json();
    assert_eq!(json["valid"], false, "{out}");
    let errors: Vec<&Json> = json["diagnostics"]
        .as_array()
        .map(|d| d.iter().filter(|d| d["severity"] == "error").collect())
        .unwrap_or_default();
    assert_eq!(errors.len(), 2, "{out}");
    let timeout = errors
        .iter()
        .find(|e| e["address"] == "vm_access_reset.r")
        .unwrap_or_else(|| panic!("no error for vm_access_reset.r:\n{out}"));
    assert_eq!(timeout["summary"], "Invalid timeout", "{out}");
    let detail = timeout["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("longer than a timeout can be"), "{out}");
    assert_eq!(
        timeout["range"]["start"]["line"].as_i64(),
        Some(line_of(&main, "create =")),
        "the error is not on timeouts.create:\n{out}"
    );
    let user = errors
        .iter()
        .find(|e| e["address"] == "vm_access_reset.after")
        .unwrap_or_else(|| panic!("the provider stopped answering:\n{out}"));
    assert_eq!(user["summary"], "Invalid user name", "{out}");
    assert!(!out.to_string().contains("Plugin did not respond"), "{out}");
}
