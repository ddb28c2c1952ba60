//! The spec log: `log::validate_dir` and the `spec-check validate-log` binary, on logs written
//! here against the vendored specification.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use spec_check::deviations::Deviation;
use spec_check::{COMPUTE_DIR, Spec, log, swagger_files};

fn spec_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec")
}

fn compute() -> Spec {
    let root = spec_root();
    let files = swagger_files(&root, COMPUTE_DIR).unwrap();
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    Spec::load(&root, &names).unwrap()
}

const VM: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";

fn record(method: &str, path: &str, status: u16, request: Value, response: Value) -> String {
    json!({
        "method": method,
        "path": path,
        "query": "api-version=2025-04-01",
        "status": status,
        "request_body": request,
        "response_body": response,
    })
    .to_string()
}

fn vm(name: &str) -> Value {
    json!({
        "id": format!("{VM}{name}"),
        "name": format!("vm1{name}"),
        "type": "Microsoft.Compute/virtualMachines",
        "location": "westeurope",
        "properties": { "provisioningState": "Succeeded", "vmId": "0f47b100-583c-48e3-a4c0-aefc2c9bbcc1" }
    })
}

fn extension_request() -> Value {
    json!({
        "location": "westeurope",
        "properties": {
            "publisher": "Microsoft.Compute", "type": "VMAccessAgent", "typeHandlerVersion": "2.4",
            "protectedSettings": { "Password": "<redacted>" }
        }
    })
}

fn write_log(dir: &Path, lines: &[String]) {
    std::fs::write(dir.join("1234-0.jsonl"), lines.join("\n") + "\n").unwrap();
}

/// A log with clean records only.
fn clean_lines() -> Vec<String> {
    let extension = format!("{VM}/extensions/VMAccessAgent");
    let mut created = extension_request();
    created["properties"]["provisioningState"] = json!("Creating");
    vec![
        record("GET", VM, 200, Value::Null, vm("")),
        record(
            "GET",
            &VM.to_lowercase(),
            404,
            Value::Null,
            json!({ "error": { "code": "ResourceNotFound", "message": "gone" } }),
        ),
        record("PUT", &extension, 201, extension_request(), created),
        record("DELETE", &extension, 204, Value::Null, Value::Null),
        record(
            "GET",
            "/subscriptions/s1/providers/Microsoft.Compute/locations/westeurope/operations/op1",
            200,
            Value::Null,
            json!({ "status": "Succeeded" }),
        ),
    ]
}

#[test]
fn a_clean_log_validates_every_matching_record() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), &clean_lines());
    let report = log::validate_dir(&compute(), dir.path()).unwrap();
    assert_eq!((report.files, report.records), (1, 5));
    assert_eq!(
        (report.responses_validated, report.requests_validated),
        (4, 1)
    );
    assert!(!report.has_findings(), "{report}");
    assert_eq!(report.per_operation["VirtualMachines_Get"].responses, 2);
    assert_eq!(
        report.per_operation["VirtualMachineExtensions_CreateOrUpdate"].requests,
        1
    );
    assert_eq!(
        report.unmatched.keys().collect::<Vec<_>>(),
        ["GET /subscriptions/{}/providers/Microsoft.Compute/locations/{}/operations/{}"]
    );
}

#[test]
fn findings_are_folded_across_list_elements_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = clean_lines();
    let mut invented = vm("");
    invented["properties"]["powerState"] = json!("running");
    lines.push(record("GET", VM, 200, Value::Null, invented.clone()));
    let mut list_element = vm("a");
    list_element["properties"]["powerState"] = json!("running");
    let list = json!({ "value": [list_element.clone(), list_element] });
    lines.push(record(
        "GET",
        "/subscriptions/s1/providers/Microsoft.Compute/virtualMachines",
        200,
        Value::Null,
        list,
    ));
    lines.push(record("GET", VM, 202, Value::Null, Value::Null));
    let mut read_only = extension_request();
    read_only["properties"]["provisioningState"] = json!("Succeeded");
    let extension = format!("{VM}/extensions/VMAccessAgent");
    lines.push(record("PUT", &extension, 200, read_only.clone(), vm("")));
    // Refused: the request body is not validated.
    lines.push(record(
        "PUT",
        &extension,
        400,
        read_only,
        json!({ "error": { "code": "InvalidParameter", "message": "no" } }),
    ));
    write_log(dir.path(), &lines);
    let report = log::validate_dir(&compute(), dir.path()).unwrap();
    assert_eq!(report.requests_validated, 2);
    let lines: Vec<String> = report
        .findings
        .iter()
        .map(|(finding, count)| format!("{count}x {finding}"))
        .collect();
    assert!(lines.contains(&"1x VirtualMachines_Get 200 /properties: Additional properties are not allowed ('powerState' was unexpected)".to_owned()), "{lines:#?}");
    assert!(lines.contains(&"2x VirtualMachines_ListAll 200 /value/*/properties: Additional properties are not allowed ('powerState' was unexpected)".to_owned()), "{lines:#?}");
    assert!(
        lines.contains(
            &"1x VirtualMachines_Get 202 /: status 202 is not listed for VirtualMachines_Get"
                .to_owned()
        ),
        "{lines:#?}"
    );
    assert!(lines.contains(&"1x VirtualMachineExtensions_CreateOrUpdate request /properties/provisioningState: read-only property in request".to_owned()), "{lines:#?}");
    println!("{report}");
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_spec-check"))
        .args(args)
        .output()
        .unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (
        output.status.code(),
        text(output.stdout),
        text(output.stderr),
    )
}

#[test]
fn the_binary_exits_0_clean_1_on_findings_2_on_errors() {
    let spec = spec_root();
    let spec = spec.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap();

    let (code, _, stderr) = run(&["validate-log", dir_arg, "--spec", spec]);
    assert_eq!(code, Some(2), "an empty directory: {stderr}");
    assert!(stderr.contains("holds no *.jsonl file"), "{stderr}");

    write_log(dir.path(), &clean_lines());
    let (code, stdout, stderr) = run(&["validate-log", dir_arg, "--spec", spec]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("responses validated: 4\nrequests validated: 1\n"),
        "{stdout}"
    );
    assert!(stdout.contains("findings: 0 (0 distinct)"), "{stdout}");

    let mut lines = clean_lines();
    lines.push(record("GET", VM, 202, Value::Null, Value::Null));
    write_log(dir.path(), &lines);
    let (code, stdout, _) = run(&["validate-log", dir_arg, "--spec", spec]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "1x VirtualMachines_Get 202 /: status 202 is not listed for VirtualMachines_Get"
        ),
        "{stdout}"
    );

    lines.push("{not json".to_owned());
    write_log(dir.path(), &lines);
    let (code, stdout, stderr) = run(&["validate-log", dir_arg, "--spec", spec]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stdout.contains("unreadable lines: 1"), "{stdout}");

    let (code, _, stderr) = run(&["validate-log", dir_arg, "--spec", "/nonexistent"]);
    assert_eq!(code, Some(2), "{stderr}");
    let (code, _, _) = run(&["validate-log"]);
    assert_eq!(code, Some(2));
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("validate-log"), "{stdout}");
}

/// Compute's own throttling answer (real Azure: not wrapped in `"error"`).
fn compute_throttled(code: &str, detail_code: &str) -> Value {
    json!({
        "code": code,
        "message": "The server rejected the request because too many requests have been received for this subscription.",
        "details": [{
            "code": detail_code,
            "target": "HighCostGet",
            "message": "{\"operationGroup\":\"HighCostGet\",\"allowedRequestCount\":300,\"measuredRequestCount\":1238}"
        }]
    })
}

/// An extension error with `error.innererror` as given.
fn extension_error(innererror: Value) -> Value {
    json!({
        "error": {
            "code": "OperationNotAllowed",
            "message": "Cannot modify extensions in the VM when the VM is not running.",
            "innererror": innererror
        }
    })
}

/// The report of one log holding `lines`.
fn report_of(lines: &[String]) -> log::LogReport {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), lines);
    log::validate_dir(&compute(), dir.path()).unwrap()
}

#[test]
fn known_deviations_are_counted_apart_from_findings() {
    let extension = format!("{VM}/extensions/VMAccessAgent");
    let lines = [
        record(
            "GET",
            VM,
            429,
            Value::Null,
            compute_throttled("OperationNotAllowed", "TooManyRequests"),
        ),
        record(
            "PUT",
            &extension,
            409,
            extension_request(),
            extension_error(
                json!({ "internalErrorCode": "CannotModifyExtensionsWhenVMNotRunning" }),
            ),
        ),
        record(
            "PUT",
            &extension,
            400,
            extension_request(),
            extension_error(json!({
                "internalErrorCode": "MultipleExtensionsPerHandlerNotAllowed",
                "exceptiontype": "declared", "errordetail": "declared"
            })),
        ),
    ];
    let report = report_of(&lines);
    assert!(!report.has_findings(), "{report}");
    assert_eq!(
        report.deviations,
        [
            (Deviation::ComputeThrottlingUnwrapped, 1),
            (Deviation::InternalErrorCode, 2)
        ]
        .into()
    );
    assert_eq!(report.responses_validated, 3);
    assert!(report.per_operation.values().all(|c| c.findings == 0));
    let summary = report.to_string();
    assert!(
        summary.contains(
            "known deviations (documented Azure behaviour the definitions do not describe): 3\n"
        ),
        "{summary}"
    );
    for deviation in Deviation::ALL {
        assert!(
            summary.contains(&format!(
                "x {}: {}; source: {}\n",
                deviation.id(),
                deviation.what(),
                deviation.source()
            )),
            "{summary}"
        );
    }
    assert!(summary.contains("findings: 0 (0 distinct)"), "{summary}");
    println!("{report}");
}

#[test]
fn near_misses_of_known_deviations_stay_findings() {
    let extension = format!("{VM}/extensions/VMAccessAgent");
    let arm_throttled = json!({
        "code": "SubscriptionRequestsThrottled",
        "message": "Number of 'read' requests for subscription 's1' actor 'a1' exceeded. Please try again after '5' seconds."
    });
    let lines = [
        // Unwrapped 429s that are not Compute's own throttling answer.
        record(
            "GET",
            VM,
            429,
            Value::Null,
            compute_throttled("TooManyRequests", "TooManyRequests"),
        ),
        record(
            "GET",
            VM,
            429,
            Value::Null,
            compute_throttled("OperationNotAllowed", "QuotaExceeded"),
        ),
        record("GET", VM, 429, Value::Null, arm_throttled.clone()),
        // Compute's throttling body under another status.
        record(
            "GET",
            VM,
            409,
            Value::Null,
            compute_throttled("OperationNotAllowed", "TooManyRequests"),
        ),
        // An unknown property besides internalErrorCode.
        record(
            "PUT",
            &extension,
            409,
            extension_request(),
            extension_error(json!({
                "internalErrorCode": "CannotModifyExtensionsWhenVMNotRunning",
                "invented": true
            })),
        ),
        // internalErrorCode outside innererror.
        record(
            "PUT",
            &extension,
            409,
            extension_request(),
            json!({ "error": { "code": "Conflict", "internalErrorCode": "X" } }),
        ),
    ];
    let report = report_of(&lines);
    assert!(report.deviations.is_empty(), "{report}");
    let findings: Vec<String> = report.findings.keys().map(ToString::to_string).collect();
    assert_eq!(report.findings.values().sum::<usize>(), 6, "{findings:#?}");
    for expected in [
        "VirtualMachines_Get 429 /: Additional properties are not allowed ('code', 'details', 'message' were unexpected)",
        "VirtualMachines_Get 429 /: Additional properties are not allowed ('code', 'message' were unexpected)",
        "VirtualMachines_Get 409 /: Additional properties are not allowed ('code', 'details', 'message' were unexpected)",
        "VirtualMachineExtensions_CreateOrUpdate 409 /error/innererror: Additional properties are not allowed ('internalErrorCode', 'invented' were unexpected)",
        "VirtualMachineExtensions_CreateOrUpdate 409 /error: Additional properties are not allowed ('internalErrorCode' was unexpected)",
    ] {
        assert!(findings.contains(&expected.to_owned()), "{findings:#?}");
    }

    // ARM's subscription throttling, wrapped as it is sent: neither a finding nor a deviation.
    let wrapped = record(
        "GET",
        VM,
        429,
        Value::Null,
        json!({ "error": arm_throttled }),
    );
    let report = report_of(&[wrapped]);
    assert!(
        !report.has_findings() && report.deviations.is_empty(),
        "{report}"
    );
}

#[test]
fn the_binary_exits_0_when_only_known_deviations_are_found() {
    let spec = spec_root();
    let dir = tempfile::tempdir().unwrap();
    let mut lines = clean_lines();
    lines.push(record(
        "GET",
        VM,
        429,
        Value::Null,
        compute_throttled("OperationNotAllowed", "TooManyRequests"),
    ));
    write_log(dir.path(), &lines);
    let args = [
        "validate-log",
        dir.path().to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
    ];
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("deviations (documented Azure behaviour the definitions do not describe): 1\n       1x compute-throttling-unwrapped: "),
        "{stdout}"
    );
    println!("{stdout}");
}
