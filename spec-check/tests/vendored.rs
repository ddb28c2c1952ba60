//! The vendored specification (`spec/` at the workspace root): it loads, every example of every
//! operation whose example files are vendored validates in strict mode (responses and request
//! bodies), and the real schemas catch what the checks are for.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use spec_check::{COMPUTE_DIR, Finding, FindingKind, Spec, swagger_files};

fn spec_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec")
}

fn compute() -> Spec {
    let root = spec_root();
    let files = swagger_files(&root, COMPUTE_DIR).expect("the Compute folder is vendored");
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    Spec::load(&root, &names).expect("the vendored specification loads")
}

/// Upstream examples that contradict their own operation's schema: (example file, JSON pointer
/// into the body, why the finding is allowed). Only these exact places are excused, and each
/// must still fail (so the list cannot outlive the upstream error).
const UPSTREAM_EXAMPLE_ERRATA: &[(&str, &str, &str)] = &[
    (
        "VirtualMachine_Get_InstanceView.json",
        "/patchStatus/availablePatchSummary/error",
        "the example writes `\"error\": null`; the schema (common ApiError, no x-nullable) allows \
         only an object or the property's absence",
    ),
    (
        "VirtualMachine_Get_InstanceView.json",
        "/patchStatus/lastPatchInstallationSummary/error",
        "as above, in the last patch installation summary",
    ),
];

/// Every vendored example of every operation: (operation id, example file name, example).
fn vendored_examples(spec: &Spec) -> Vec<(&spec_check::Operation, String, spec_check::Example)> {
    let mut out = Vec::new();
    for operation in spec.operations() {
        for (name, path) in operation.example_files() {
            if !path.exists() {
                continue;
            }
            let example = operation
                .example(name)
                .expect("listed")
                .expect("the vendored example reads");
            let file = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            out.push((operation, file, example));
        }
    }
    out
}

#[test]
fn every_vendored_example_validates_in_strict_mode() {
    let spec = compute();
    let (mut responses, mut requests) = (0, 0);
    let mut failures = Vec::new();
    let mut excused = BTreeSet::new();
    for (operation, file, example) in vendored_examples(&spec) {
        let mut findings: Vec<Finding> = Vec::new();
        if let Some(body) = example.request_body(operation) {
            requests += 1;
            findings.extend(operation.validate_request_body(body));
        }
        for (status, body) in example.responses() {
            responses += 1;
            findings.extend(operation.validate_response(status, body));
        }
        for finding in findings {
            let erratum = UPSTREAM_EXAMPLE_ERRATA
                .iter()
                .position(|(name, pointer, _)| *name == file && *pointer == finding.pointer);
            match erratum {
                Some(index) => {
                    println!("excused (upstream erratum): {file}: {finding}");
                    excused.insert(index);
                }
                None => failures.push(format!("{file}: {finding}")),
            }
        }
    }
    println!("{responses} example responses and {requests} example request bodies validated");
    assert!(
        failures.is_empty(),
        "{} findings:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for (index, (name, pointer, why)) in UPSTREAM_EXAMPLE_ERRATA.iter().enumerate() {
        assert!(
            excused.contains(&index),
            "erratum no longer needed: {name} {pointer} ({why})"
        );
    }
    assert!(
        responses >= 40,
        "only {responses} example responses are vendored"
    );
    assert!(
        requests >= 2,
        "only {requests} example request bodies are vendored"
    );
}

/// The operations the provider calls have all their examples vendored.
#[test]
fn the_provider_operations_have_their_examples() {
    let spec = compute();
    for id in [
        "VirtualMachines_Get",
        "VirtualMachines_InstanceView",
        "VirtualMachines_List",
        "VirtualMachines_ListAll",
        "VirtualMachineExtensions_Get",
        "VirtualMachineExtensions_List",
        "VirtualMachineExtensions_CreateOrUpdate",
        "VirtualMachineExtensions_Delete",
    ] {
        let operation = spec
            .operation(id)
            .unwrap_or_else(|| panic!("{id} is in the specification"));
        let examples = operation
            .examples()
            .unwrap_or_else(|error| panic!("{id}: {error}"));
        assert!(!examples.is_empty(), "{id} has examples");
    }
}

fn example_body(spec: &Spec, file: &str, status: u16) -> Value {
    let (_, _, example) = vendored_examples(spec)
        .into_iter()
        .find(|(_, name, _)| name == file)
        .unwrap_or_else(|| panic!("{file} is vendored"));
    example.value["responses"][status.to_string()]["body"].clone()
}

fn only(findings: &[Finding], kind: FindingKind, pointer: &str) -> String {
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(
        (findings[0].kind, findings[0].pointer.as_str()),
        (kind, pointer),
        "{findings:#?}"
    );
    findings[0].message.clone()
}

#[test]
fn virtual_machines_get_is_held_to_its_listed_statuses_and_cloud_error() {
    let spec = compute();
    let path = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";
    let get = spec
        .operation_for("GET", path)
        .expect("a VM GET matches an operation");
    assert_eq!(get.id(), "VirtualMachines_Get");
    assert_eq!(get.statuses(), [200]);
    let message = only(
        &get.validate_response(202, None),
        FindingKind::UnlistedStatus,
        "",
    );
    assert_eq!(message, "status 202 is not listed for VirtualMachines_Get");
    let error =
        json!({ "error": { "code": "ResourceNotFound", "message": "not found", "details": [] } });
    assert_eq!(get.validate_response(404, Some(&error)), []);
    let unwrapped = json!({ "code": "ResourceNotFound", "message": "not found" });
    only(
        &get.validate_response(404, Some(&unwrapped)),
        FindingKind::Schema,
        "",
    );
}

#[test]
fn the_real_schemas_catch_invented_missing_and_mistyped_fields() {
    let spec = compute();
    let get = spec.operation("VirtualMachines_Get").unwrap();
    let body = example_body(&spec, "VirtualMachine_Get_WithVMSizeProperties.json", 200);
    assert_eq!(get.validate_response(200, Some(&body)), []);

    let mut invented = body.clone();
    invented["properties"]["hardwareProfile"]["cores"] = json!(4);
    let message = only(
        &get.validate_response(200, Some(&invented)),
        FindingKind::Schema,
        "/properties/hardwareProfile",
    );
    assert!(message.contains("'cores' was unexpected"), "{message}");

    let mut mistyped = body.clone();
    mistyped["properties"]["hardwareProfile"]["vmSize"] = json!(2);
    only(
        &get.validate_response(200, Some(&mistyped)),
        FindingKind::Schema,
        "/properties/hardwareProfile/vmSize",
    );

    let instance_view = spec.operation("VirtualMachines_InstanceView").unwrap();
    let mut view = example_body(&spec, "VirtualMachine_Get_InstanceView.json", 200);
    view["statuses"][0]["level"] = json!("Fatal");
    view["patchStatus"]
        .as_object_mut()
        .unwrap()
        .remove("availablePatchSummary");
    view["patchStatus"]
        .as_object_mut()
        .unwrap()
        .remove("lastPatchInstallationSummary");
    let message = only(
        &instance_view.validate_response(200, Some(&view)),
        FindingKind::Schema,
        "/statuses/0/level",
    );
    assert!(message.contains("\"Fatal\" is not one of"), "{message}");

    let list = spec.operation("VirtualMachines_ListAll").unwrap();
    let message = only(
        &list.validate_response(200, Some(&json!({ "nextLink": "x" }))),
        FindingKind::Schema,
        "",
    );
    assert!(
        message.contains("\"value\" is a required property"),
        "{message}"
    );
}

#[test]
fn an_extension_put_with_a_read_only_property_is_caught() {
    let spec = compute();
    let path = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/extensions/VMAccessAgent";
    let put = spec.operation_for("PUT", path).unwrap();
    assert_eq!(put.id(), "VirtualMachineExtensions_CreateOrUpdate");
    let mut request = json!({
        "location": "westeurope",
        "properties": {
            "publisher": "Microsoft.Compute",
            "type": "VMAccessAgent",
            "typeHandlerVersion": "2.4",
            "autoUpgradeMinorVersion": true,
            "forceUpdateTag": "5f3a",
            "settings": { "UserName": "opsadmin" },
            "protectedSettings": { "Password": "<redacted>" }
        }
    });
    assert_eq!(put.validate_request_body(&request), []);
    request["properties"]["provisioningState"] = json!("Succeeded");
    let message = only(
        &put.validate_request_body(&request),
        FindingKind::ReadOnlyInRequest,
        "/properties/provisioningState",
    );
    assert_eq!(message, "read-only property in request");
}
