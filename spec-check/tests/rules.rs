//! The validation rules, on a small inline specification shaped like Compute's: two files, a
//! cross-file `$ref`, `allOf` from a common `Resource`, open and closed enums, `x-nullable`,
//! `readOnly`, a polymorphic definition and the `CloudError` default response.

use serde_json::{Value, json};
use spec_check::{Finding, FindingKind, Mode, Spec};

const RP: &str = "specification/compute/rp/stable/2025-04-01/vm.json";
const COMMON: &str = "specification/compute/common-types/v1/common.json";
const VM_PATH: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";

fn common() -> Value {
    json!({
        "swagger": "2.0",
        "paths": {},
        "definitions": {
            "CloudError": {
                "properties": { "error": { "$ref": "#/definitions/ApiError" } }
            },
            "ApiError": {
                "properties": {
                    "code": { "type": "string" },
                    "message": { "type": "string" },
                    "target": { "type": "string" },
                    "details": { "type": "array", "items": { "$ref": "#/definitions/ApiError" } }
                }
            },
            "Resource": {
                "properties": {
                    "id": { "readOnly": true, "type": "string" },
                    "name": { "readOnly": true, "type": "string" },
                    "location": { "type": "string" },
                    "tags": { "type": "object", "additionalProperties": { "type": "string" } }
                },
                "required": ["location"]
            }
        },
        "parameters": {
            "SubscriptionIdParameter": { "name": "subscriptionId", "in": "path", "required": true, "type": "string" }
        }
    })
}

fn rp() -> Value {
    let error = json!({ "description": "Error", "schema": { "$ref": "../../../common-types/v1/common.json#/definitions/CloudError" } });
    let vm_params = json!([
        { "$ref": "../../../common-types/v1/common.json#/parameters/SubscriptionIdParameter" },
        { "name": "resourceGroupName", "in": "path", "required": true, "type": "string" },
        { "name": "vmName", "in": "path", "required": true, "type": "string" }
    ]);
    json!({
        "swagger": "2.0",
        "paths": {
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachines/{vmName}": {
                "get": {
                    "operationId": "VirtualMachines_Get",
                    "parameters": vm_params,
                    "responses": {
                        "200": { "description": "OK", "schema": { "$ref": "#/definitions/VirtualMachine" } },
                        "default": error
                    },
                    "x-ms-examples": { "Get a VM": { "$ref": "./examples/VirtualMachine_Get.json" } }
                },
                "put": {
                    "operationId": "VirtualMachines_CreateOrUpdate",
                    "parameters": [
                        { "name": "parameters", "in": "body", "required": true, "schema": { "$ref": "#/definitions/VirtualMachine" } }
                    ],
                    "responses": {
                        "200": { "description": "OK", "schema": { "$ref": "#/definitions/VirtualMachine" } },
                        "201": { "description": "Created", "schema": { "$ref": "#/definitions/VirtualMachine" } },
                        "default": error
                    }
                },
                "delete": {
                    "operationId": "VirtualMachines_Delete",
                    "responses": {
                        "200": { "description": "OK" },
                        "202": { "description": "Accepted" },
                        "204": { "description": "No Content" },
                        "default": error
                    }
                }
            },
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachines/{vmName}/instanceView": {
                "get": {
                    "operationId": "VirtualMachines_InstanceView",
                    "responses": { "200": { "description": "OK", "schema": { "$ref": "#/definitions/InstanceView" } } }
                }
            }
        },
        "definitions": {
            "VirtualMachine": {
                "allOf": [{ "$ref": "../../../common-types/v1/common.json#/definitions/Resource" }],
                "properties": {
                    "properties": { "x-ms-client-flatten": true, "$ref": "#/definitions/VirtualMachineProperties" }
                }
            },
            "VirtualMachineProperties": {
                "properties": {
                    "vmId": { "readOnly": true, "type": "string", "format": "uuid" },
                    "provisioningState": { "readOnly": true, "type": "string" },
                    "priority": {
                        "type": "string",
                        "enum": ["Regular", "Low", "Spot"],
                        "x-ms-enum": { "name": "VirtualMachinePriorityTypes", "modelAsString": true }
                    },
                    "evictionPolicy": {
                        "type": "string",
                        "enum": ["Deallocate", "Delete"],
                        "x-ms-enum": { "name": "EvictionPolicy", "modelAsString": false }
                    },
                    "licenseType": { "type": "string", "x-nullable": true },
                    "timeCreated": { "readOnly": true, "type": "string", "format": "date-time" },
                    "platformFaultDomain": { "type": "integer", "format": "int32" },
                    "adminPassword": { "type": "string", "x-ms-secret": true },
                    "instanceView": { "readOnly": true, "$ref": "#/definitions/InstanceView" },
                    "agent": { "$ref": "#/definitions/Agent" }
                },
                "required": ["adminPassword"]
            },
            "InstanceView": {
                "properties": {
                    "statuses": { "type": "array", "items": { "$ref": "#/definitions/Status" } },
                    "osName": { "type": "string" }
                },
                "required": ["statuses"]
            },
            "Status": {
                "properties": {
                    "code": { "type": "string" },
                    "level": { "type": "string", "enum": ["Info", "Warning", "Error"], "x-ms-enum": { "name": "StatusLevelTypes", "modelAsString": false } }
                }
            },
            "Agent": {
                "discriminator": "kind",
                "properties": { "kind": { "type": "string" } },
                "required": ["kind"]
            },
            "WindowsAgent": {
                "x-ms-discriminator-value": "Windows",
                "allOf": [{ "$ref": "#/definitions/Agent" }],
                "properties": { "rdp": { "type": "boolean" } }
            }
        }
    })
}

fn example() -> Value {
    json!({
        "parameters": { "subscriptionId": "s1", "resourceGroupName": "rg", "vmName": "vm1", "api-version": "2025-04-01" },
        "responses": {
            "200": { "body": {
                "id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
                "name": "vm1",
                "location": "westeurope",
                "properties": {
                    "vmId": "0f47b100-583c-48e3-a4c0-aefc2c9bbcc1",
                    "provisioningState": "Succeeded",
                    "timeCreated": "2025-04-01T12:00:00.1234567+00:00",
                    "instanceView": { "statuses": [{ "code": "PowerState/running", "level": "Info" }] }
                }
            } }
        }
    })
}

fn spec(mode: Mode) -> Spec {
    let documents = [
        (RP.to_owned(), rp()),
        (COMMON.to_owned(), common()),
        (
            "specification/compute/rp/stable/2025-04-01/examples/VirtualMachine_Get.json"
                .to_owned(),
            example(),
        ),
    ];
    Spec::from_documents(documents, &[RP], mode).expect("the fixture loads")
}

fn vm_body() -> Value {
    example()["responses"]["200"]["body"].clone()
}

fn get_response(body: &Value, mode: Mode) -> Vec<Finding> {
    let spec = spec(mode);
    let operation = spec
        .operation_for("GET", VM_PATH)
        .expect("VirtualMachines_Get matches");
    assert_eq!(operation.id(), "VirtualMachines_Get");
    operation.validate_response(200, Some(body))
}

/// One finding, of `kind` at `pointer`; its message is returned for further checks.
fn single(findings: &[Finding], kind: FindingKind, pointer: &str) -> String {
    assert_eq!(findings.len(), 1, "expected one finding, got {findings:#?}");
    assert_eq!(findings[0].kind, kind, "{findings:#?}");
    assert_eq!(findings[0].pointer, pointer, "{findings:#?}");
    findings[0].message.clone()
}

#[test]
fn the_example_response_validates_in_strict_mode() {
    let spec = spec(Mode::Strict);
    let operation = spec.operation("VirtualMachines_Get").unwrap();
    let examples = operation.examples().unwrap();
    assert_eq!(examples.len(), 1);
    let responses = examples[0].responses();
    assert_eq!(responses.len(), 1);
    for (status, body) in responses {
        assert_eq!(operation.validate_response(status, body), []);
    }
}

#[test]
fn a_missing_required_property_is_a_finding() {
    let mut body = vm_body();
    body["properties"]["instanceView"]
        .as_object_mut()
        .unwrap()
        .remove("statuses");
    let message = single(
        &get_response(&body, Mode::Strict),
        FindingKind::Schema,
        "/properties/instanceView",
    );
    assert!(
        message.contains("\"statuses\" is a required property"),
        "{message}"
    );
    // Required through allOf: `location` comes from the common Resource.
    let mut body = vm_body();
    body.as_object_mut().unwrap().remove("location");
    single(&get_response(&body, Mode::Strict), FindingKind::Schema, "");
}

#[test]
fn an_unknown_property_is_a_finding_in_strict_mode_only() {
    let mut body = vm_body();
    body["properties"]["instanceView"]["inventedByTheEmulator"] = json!(true);
    body["tags"] = json!({ "any": "key" });
    let message = single(
        &get_response(&body, Mode::Strict),
        FindingKind::Schema,
        "/properties/instanceView",
    );
    assert!(
        message.contains("'inventedByTheEmulator' was unexpected"),
        "{message}"
    );
    assert_eq!(get_response(&body, Mode::Lenient), []);
    // Inherited properties (from `Resource` through `allOf`) are known, not unexpected.
    assert_eq!(get_response(&vm_body(), Mode::Strict), []);
}

#[test]
fn a_wrong_type_is_a_finding() {
    let mut body = vm_body();
    body["properties"]["instanceView"]["osName"] = json!(42);
    let message = single(
        &get_response(&body, Mode::Strict),
        FindingKind::Schema,
        "/properties/instanceView/osName",
    );
    assert!(
        message.contains("42 is not of type \"string\""),
        "{message}"
    );
    let mut body = vm_body();
    body["properties"]["platformFaultDomain"] = json!(1_u64 << 40);
    single(
        &get_response(&body, Mode::Strict),
        FindingKind::Schema,
        "/properties/platformFaultDomain",
    );
}

#[test]
fn formats_are_checked() {
    let mut body = vm_body();
    body["properties"]["timeCreated"] = json!("2025-04-01 12:00");
    body["properties"]["vmId"] = json!("not-a-guid");
    let findings = get_response(&body, Mode::Strict);
    assert_eq!(findings.len(), 2, "{findings:#?}");
    assert!(
        findings
            .iter()
            .any(|f| f.message.contains("is not a \"date-time\"")),
        "{findings:#?}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f.message.contains("is not a \"uuid\"")),
        "{findings:#?}"
    );
}

#[test]
fn an_unlisted_success_status_is_a_finding() {
    let spec = spec(Mode::Strict);
    let get = spec.operation("VirtualMachines_Get").unwrap();
    let findings = get.validate_response(202, None);
    let message = single(&findings, FindingKind::UnlistedStatus, "");
    assert_eq!(message, "status 202 is not listed for VirtualMachines_Get");
    assert_eq!(
        findings[0].to_string(),
        "VirtualMachines_Get 202 /: status 202 is not listed for VirtualMachines_Get"
    );
    // No `default` here: a 404 is not covered either.
    let instance_view = spec.operation("VirtualMachines_InstanceView").unwrap();
    single(
        &instance_view.validate_response(404, None),
        FindingKind::UnlistedStatus,
        "",
    );
    // 3xx must be listed too.
    single(
        &get.validate_response(302, None),
        FindingKind::UnlistedStatus,
        "",
    );
}

#[test]
fn an_error_status_with_a_cloud_error_body_is_fine() {
    let spec = spec(Mode::Strict);
    let get = spec.operation("VirtualMachines_Get").unwrap();
    let body = json!({ "error": { "code": "ResourceNotFound", "message": "The VM was not found.", "details": [{ "code": "Inner", "message": "x" }] } });
    assert_eq!(get.validate_response(404, Some(&body)), []);
    assert_eq!(get.validate_response(500, Some(&body)), []);
}

#[test]
fn an_error_body_that_is_not_a_cloud_error_is_a_finding() {
    let spec = spec(Mode::Strict);
    let get = spec.operation("VirtualMachines_Get").unwrap();
    // The error object without its `error` envelope.
    let body = json!({ "code": "ResourceNotFound", "message": "The VM was not found." });
    let message = single(
        &get.validate_response(404, Some(&body)),
        FindingKind::Schema,
        "",
    );
    assert!(
        message.contains("'code'") && message.contains("'message'"),
        "{message}"
    );
    let body = json!({ "error": "ResourceNotFound" });
    single(
        &get.validate_response(409, Some(&body)),
        FindingKind::Schema,
        "/error",
    );
    single(
        &get.validate_response(400, None),
        FindingKind::MissingBody,
        "",
    );
}

#[test]
fn bodies_must_be_where_the_specification_puts_them() {
    let spec = spec(Mode::Strict);
    let get = spec.operation("VirtualMachines_Get").unwrap();
    single(
        &get.validate_response(200, None),
        FindingKind::MissingBody,
        "",
    );
    single(
        &get.validate_response(200, Some(&Value::Null)),
        FindingKind::MissingBody,
        "",
    );
    let delete = spec.operation_for("DELETE", VM_PATH).unwrap();
    assert_eq!(delete.validate_response(202, None), []);
    single(
        &delete.validate_response(200, Some(&json!({}))),
        FindingKind::UnexpectedBody,
        "",
    );
    single(
        &delete.validate_request_body(&json!({})),
        FindingKind::UnexpectedBody,
        "",
    );
}

#[test]
fn a_read_only_property_in_a_request_is_a_finding() {
    let spec = spec(Mode::Strict);
    let put = spec.operation("VirtualMachines_CreateOrUpdate").unwrap();
    assert!(put.has_request_body());
    let request = json!({ "location": "westeurope", "properties": { "adminPassword": "x", "licenseType": "Windows_Server" } });
    assert_eq!(put.validate_request_body(&request), []);
    let mut with_read_only = request.clone();
    with_read_only["properties"]["provisioningState"] = json!("Succeeded");
    let message = single(
        &put.validate_request_body(&with_read_only),
        FindingKind::ReadOnlyInRequest,
        "/properties/provisioningState",
    );
    assert_eq!(message, "read-only property in request");
    // Inherited read-only (`Resource.id`) and read-only through a `$ref` sibling.
    let mut with_id = request.clone();
    with_id["id"] = json!("/subscriptions/s1");
    with_id["properties"]["instanceView"] = json!({ "statuses": [] });
    let findings = put.validate_request_body(&with_id);
    assert_eq!(findings.len(), 2, "{findings:#?}");
    assert!(
        findings
            .iter()
            .all(|f| f.kind == FindingKind::ReadOnlyInRequest && f.status.is_none())
    );
    // A secret is required in the request but never returned, so not required in a response.
    let mut without_password = request.clone();
    without_password["properties"]
        .as_object_mut()
        .unwrap()
        .remove("adminPassword");
    single(
        &put.validate_request_body(&without_password),
        FindingKind::Schema,
        "/properties",
    );
    assert_eq!(get_response(&vm_body(), Mode::Strict), []);
}

#[test]
fn an_open_enum_takes_new_values_and_a_closed_one_does_not() {
    let mut body = vm_body();
    body["properties"]["priority"] = json!("SomethingNew");
    assert_eq!(get_response(&body, Mode::Strict), []);
    body["properties"]["priority"] = json!(7);
    single(
        &get_response(&body, Mode::Strict),
        FindingKind::Schema,
        "/properties/priority",
    );
    let mut body = vm_body();
    body["properties"]["evictionPolicy"] = json!("Hibernate");
    let message = single(
        &get_response(&body, Mode::Strict),
        FindingKind::Schema,
        "/properties/evictionPolicy",
    );
    assert!(message.contains("\"Hibernate\" is not one of"), "{message}");
    let mut body = vm_body();
    body["properties"]["instanceView"]["statuses"][0]["level"] = json!("Fatal");
    single(
        &get_response(&body, Mode::Strict),
        FindingKind::Schema,
        "/properties/instanceView/statuses/0/level",
    );
}

#[test]
fn null_is_allowed_where_the_specification_says_x_nullable_only() {
    let mut body = vm_body();
    body["properties"]["licenseType"] = Value::Null;
    assert_eq!(get_response(&body, Mode::Strict), []);
    body["properties"]["licenseType"] = json!(false);
    single(
        &get_response(&body, Mode::Strict),
        FindingKind::Schema,
        "/properties/licenseType",
    );
    let mut body = vm_body();
    body["properties"]["instanceView"]["osName"] = Value::Null;
    single(
        &get_response(&body, Mode::Strict),
        FindingKind::Schema,
        "/properties/instanceView/osName",
    );
}

#[test]
fn a_polymorphic_value_validates_against_its_subtype() {
    let mut body = vm_body();
    body["properties"]["agent"] = json!({ "kind": "Windows", "rdp": true });
    assert_eq!(get_response(&body, Mode::Strict), []);
    body["properties"]["agent"] = json!({ "kind": "Windows", "rdp": "yes" });
    single(
        &get_response(&body, Mode::Strict),
        FindingKind::Schema,
        "/properties/agent/rdp",
    );
    // Another kind is held to the base, which has no `rdp`.
    body["properties"]["agent"] = json!({ "kind": "Linux", "rdp": true });
    single(
        &get_response(&body, Mode::Strict),
        FindingKind::Schema,
        "/properties/agent",
    );
}

#[test]
fn operations_are_found_by_path_and_method() {
    let spec = spec(Mode::Strict);
    let lower = VM_PATH.to_lowercase();
    assert_eq!(
        spec.operation_for("get", &lower).map(|o| o.id()),
        Some("VirtualMachines_Get")
    );
    assert_eq!(
        spec.operation_for("PUT", VM_PATH).map(|o| o.id()),
        Some("VirtualMachines_CreateOrUpdate")
    );
    assert_eq!(
        spec.operation_for("GET", &format!("{VM_PATH}/instanceView"))
            .map(|o| o.id()),
        Some("VirtualMachines_InstanceView")
    );
    assert!(spec.operation_for("PATCH", VM_PATH).is_none());
    assert!(
        spec.operation_for("GET", &format!("{VM_PATH}/extensions"))
            .is_none()
    );
    assert_eq!(spec.operations().len(), 4);
}

#[test]
fn a_dangling_reference_fails_the_load() {
    let mut broken = rp();
    broken["definitions"]["Agent"]["properties"]["kind"] =
        json!({ "$ref": "#/definitions/Nowhere" });
    let error = Spec::from_documents(
        [(RP.to_owned(), broken), (COMMON.to_owned(), common())],
        &[RP],
        Mode::Strict,
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("#/definitions/Nowhere"),
        "{error}"
    );
    let error = Spec::from_documents([(RP.to_owned(), rp())], &[RP], Mode::Strict).unwrap_err();
    assert!(error.to_string().contains("common.json"), "{error}");
}
