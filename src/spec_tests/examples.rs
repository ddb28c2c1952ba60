//! Every example response of every operation the provider calls, decoded as the provider decodes
//! that response and read as the provider and its engine read it; each value read must be the
//! one the example holds (looked up in the example's JSON by pointer, not through the provider's
//! types). All differences are collected, so one run shows every example a change breaks.

mod extensions;
mod scale_sets;
mod vms;

use std::fmt::Debug;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::azure::spec_access::{ArmResponse, PollOutcome, PollTarget, interpret};
use crate::azure::{Orchestration, OsType};

use super::operation;

/// How the provider reads an operation's response.
#[derive(Debug, Clone, Copy)]
enum Reader {
    /// A VM or a uniform scale set's instance: `ArmClient::get_virtual_machine`, the engine's
    /// `inspect`.
    Vm,
    /// The instance view a VM read with `$expand=instanceView` carries.
    InstanceView,
    /// A page of VMs or of a scale set's instances: `decode_page`, the engine's
    /// `inspect_scale_set` for a scale set of this orchestration.
    VmPage(Orchestration),
    /// An extension: `ArmClient::get_extension`, the engine's `status_of`.
    Extension,
    /// An extension a PUT answered with, also read as the final answer of a `Location` poll.
    WrittenExtension,
    /// A VM's extensions: `decode_extension_list`.
    ExtensionList,
    /// A scale set: `ArmClient::get_scale_set`, the engine's `inspect_scale_set`.
    ScaleSet,
    /// A page of scale sets: `decode_page`.
    ScaleSetPage,
    /// An extension of a scale set's model, as the scale set's model lists it.
    ModelExtension,
    /// A model extension a PUT answered with, also read as the final answer of a `Location` poll.
    WrittenModelExtension,
}

/// The operations the provider calls that answer with a body, and how it reads each. (The
/// extension `DELETE`'s answers have no body; the async-operation status has no definition in
/// the Compute files.)
const OPERATIONS: &[(&str, Reader)] = &[
    ("VirtualMachines_Get", Reader::Vm),
    ("VirtualMachines_InstanceView", Reader::InstanceView),
    // The `vm_access_reset` list resource, and a flexible scale set's instances.
    (
        "VirtualMachines_List",
        Reader::VmPage(Orchestration::Flexible),
    ),
    (
        "VirtualMachines_ListAll",
        Reader::VmPage(Orchestration::Flexible),
    ),
    ("VirtualMachineScaleSetVMs_Get", Reader::Vm),
    (
        "VirtualMachineScaleSetVMs_List",
        Reader::VmPage(Orchestration::Uniform),
    ),
    ("VirtualMachineExtensions_Get", Reader::Extension),
    ("VirtualMachineExtensions_List", Reader::ExtensionList),
    (
        "VirtualMachineExtensions_CreateOrUpdate",
        Reader::WrittenExtension,
    ),
    ("VirtualMachineScaleSetVMExtensions_Get", Reader::Extension),
    (
        "VirtualMachineScaleSetVMExtensions_CreateOrUpdate",
        Reader::WrittenExtension,
    ),
    ("VirtualMachineScaleSets_Get", Reader::ScaleSet),
    ("VirtualMachineScaleSets_List", Reader::ScaleSetPage),
    ("VirtualMachineScaleSets_ListAll", Reader::ScaleSetPage),
    (
        "VirtualMachineScaleSetExtensions_Get",
        Reader::ModelExtension,
    ),
    (
        "VirtualMachineScaleSetExtensions_CreateOrUpdate",
        Reader::WrittenModelExtension,
    ),
];

#[tokio::test]
async fn spec_examples_decode_through_the_provider_and_read_as_the_example_says() {
    let mut failures = Vec::new();
    let (mut responses, mut operations) = (0, 0);
    for (id, reader) in OPERATIONS {
        let examples = operation(id)
            .examples()
            .unwrap_or_else(|error| panic!("{id}: {error}"));
        let before = responses;
        for example in &examples {
            let file = example
                .path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy();
            for (status, body) in example.responses() {
                let Some(body) = body else { continue };
                let mut check = Check {
                    at: format!("{id} {file} {status}"),
                    status,
                    failures: &mut failures,
                };
                read(*reader, &mut check, body).await;
                responses += 1;
            }
        }
        assert!(responses > before, "{id}: no example response with a body");
        operations += 1;
    }
    println!("spec examples decoded: {responses} responses of {operations} operations");
    assert!(
        failures.is_empty(),
        "{} differences between the specification's examples and what the provider reads:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn read(reader: Reader, check: &mut Check<'_>, body: &Value) {
    match reader {
        Reader::Vm => vms::virtual_machine(check, body).await,
        Reader::InstanceView => vms::instance_view(check, body).await,
        Reader::VmPage(orchestration) => vms::page(check, body, orchestration).await,
        Reader::Extension => extensions::extension(check, body).await,
        Reader::WrittenExtension => {
            extensions::extension(check, body).await;
            final_location_answer(check, body);
        }
        Reader::ExtensionList => extensions::list(check, body).await,
        Reader::ScaleSet => scale_sets::scale_set(check, body).await,
        Reader::ScaleSetPage => scale_sets::page(check, body).await,
        Reader::ModelExtension => scale_sets::model_extension(check, body),
        Reader::WrittenModelExtension => {
            scale_sets::model_extension(check, body);
            final_location_answer(check, body);
        }
    }
}

/// A PUT polled through `Location` ends with the resource itself; the client reads its
/// `provisioningState` (`lro::interpret`): only `Failed` or `Canceled` is a failure there.
fn final_location_answer(check: &mut Check<'_>, body: &Value) {
    let target = PollTarget::Location("https://management.azure.com/operation".to_owned());
    let state = text(body, "/properties/provisioningState").map(|s| s.to_ascii_lowercase());
    let failed = matches!(state.as_deref(), Some("failed" | "canceled"));
    match interpret(&target, &check.response(body)) {
        Ok(outcome) => check.eq(
            "the outcome of a final Location answer (failed?)",
            matches!(outcome, PollOutcome::Failed { .. }),
            failed,
        ),
        Err(error) => check.fail(format!("the final Location answer does not read: {error}")),
    }
}

/// One example response being read; differences go to `failures`, each naming the operation,
/// the example file and the status.
struct Check<'a> {
    at: String,
    status: u16,
    failures: &'a mut Vec<String>,
}

impl Check<'_> {
    /// The response as the client holds it: status and the body's bytes.
    fn response(&self, body: &Value) -> ArmResponse {
        ArmResponse {
            status: StatusCode::from_u16(self.status).expect("an example status is an HTTP status"),
            headers: HeaderMap::new(),
            body: serde_json::to_vec(body).expect("an example body serialises"),
        }
    }

    /// `body` decoded as the client decodes a response into `T` (`ArmResponse::json`).
    fn decode<T: DeserializeOwned>(&mut self, body: &Value, what: &str) -> Option<T> {
        match self.response(body).json::<T>(what) {
            Ok(value) => Some(value),
            Err(error) => {
                self.fail(format!("does not decode: {error}"));
                None
            }
        }
    }

    fn eq<T: PartialEq + Debug>(&mut self, what: &str, provider: T, example: T) {
        if provider != example {
            self.fail(format!(
                "{what}: the provider reads {provider:?}, the example holds {example:?}"
            ));
        }
    }

    fn fail(&mut self, message: String) {
        self.failures.push(format!("{}: {message}", self.at));
    }

    /// The same checks on a part of the example (a list's item): `at` gains `part`.
    fn part(&mut self, part: &str) -> Check<'_> {
        Check {
            at: format!("{} {part}", self.at),
            status: self.status,
            failures: self.failures,
        }
    }
}

/// The string at `pointer`, if the example has one there.
fn text(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer)?.as_str().map(str::to_owned)
}

/// The boolean at `pointer`, if the example has one there.
fn flag(value: &Value, pointer: &str) -> Option<bool> {
    value.pointer(pointer)?.as_bool()
}

/// The items of the array at `pointer` (none when absent).
fn items<'v>(value: &'v Value, pointer: &str) -> &'v [Value] {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The OS a VM's (or a scale set model's) properties declare: `storageProfile.osDisk.osType`,
/// else the OS configuration present in `osProfile`.
fn declared_os(properties: &Value) -> Option<OsType> {
    let os_type = text(properties, "/storageProfile/osDisk/osType");
    let configured = |key: &str| {
        properties
            .pointer(&format!("/osProfile/{key}"))
            .is_some_and(|config| !config.is_null())
    };
    match os_type.map(|os| os.to_ascii_lowercase()).as_deref() {
        Some("windows") => Some(OsType::Windows),
        Some("linux") => Some(OsType::Linux),
        _ if configured("linuxConfiguration") => Some(OsType::Linux),
        _ if configured("windowsConfiguration") => Some(OsType::Windows),
        _ => None,
    }
}

/// An example's `nextLink`, as the provider follows it: absent or empty is none.
fn next_link(body: &Value) -> Option<String> {
    text(body, "/nextLink").filter(|link| !link.is_empty())
}
