//! Resource identity over the wire (protocol 6.9+): the provider binary,
//! launched as Terraform launches it, against the Azure emulator. Every
//! Read, Plan, Apply and Import reply carries the identity derived from the
//! resource's ID, whatever identity the request carried.

use terraform_provider_vm::azure::VirtualMachineId;
use terraform_provider_vm::resources::vm_access_reset::{self, identity};
use terraform_provider_vm::tfprotocol::proto;
use terraform_provider_vm::tfprotocol::{Object, Type, Value, msgpack};
use vm_test_support::azure_emulator::AzureEmulator;
use vm_test_support::plugin::PluginProcess;
use vm_test_support::protocol::{answer, assert_no_errors, configured, errors, one_error};

const PASSWORD: &str = "Identity-Passw0rd!";

fn resource_type() -> Type {
    vm_access_reset::schema().block.implied_type()
}

fn identity_type() -> Type {
    identity::schema().implied_type()
}

fn dynamic(value: &Object, ty: &Type) -> Option<proto::DynamicValue> {
    Some(proto::DynamicValue {
        msgpack: msgpack::encode(&Value::Object(value.clone()), ty).expect("conforms"),
        json: Vec::new(),
    })
}

fn state(dv: Option<&proto::DynamicValue>) -> Object {
    let value = msgpack::decode(&dv.expect("a value").msgpack, &resource_type()).expect("msgpack");
    value.as_object().expect("an object").clone()
}

fn identity_data(identity: &Object) -> Option<proto::ResourceIdentityData> {
    Some(proto::ResourceIdentityData {
        identity_data: dynamic(
            &identity::schema().complete(identity.clone()),
            &identity_type(),
        ),
    })
}

/// The identity in a reply, as an object, after checking it holds strings
/// only (the scale set's name may be null: a VM has none) and no secret.
fn identity_in(data: Option<&proto::ResourceIdentityData>, secrets: &[&str]) -> Object {
    let dv = data
        .and_then(|d| d.identity_data.as_ref())
        .expect("an identity in the reply");
    assert!(dv.json.is_empty(), "msgpack only");
    let value = msgpack::decode(&dv.msgpack, &identity_type()).expect("identity msgpack");
    let obj = value.as_object().expect("an object").clone();
    for (name, v) in &obj.attrs {
        if name == "virtual_machine_scale_set_name" && v.is_null() {
            continue;
        }
        let text = v
            .as_str()
            .unwrap_or_else(|| panic!("{name} is a known string: {v:?}"));
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "identity attribute {name} carries a secret"
            );
        }
    }
    obj
}

fn expected_identity(vm: &VirtualMachineId, extension: &str) -> Object {
    identity::of_extension(&vm.extension(extension))
}

#[tokio::test]
async fn identity_schema_is_version_2_with_the_import_rules() {
    let (_plugin, mut client) = PluginProcess::start_provider().await;
    let resp = answer(
        client.get_resource_identity_schemas(proto::get_resource_identity_schemas::Request {}),
    )
    .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert_eq!(
        resp.identity_schemas.keys().collect::<Vec<_>>(),
        ["vm_access_reset"]
    );
    let schema = &resp.identity_schemas["vm_access_reset"];
    assert_eq!(schema.version, 2);
    let attrs: Vec<(&str, bool, bool)> = schema
        .identity_attributes
        .iter()
        .map(|a| {
            assert_eq!(a.r#type, b"\"string\"", "{}", a.name);
            assert!(!a.description.is_empty(), "{}", a.name);
            (
                a.name.as_str(),
                a.required_for_import,
                a.optional_for_import,
            )
        })
        .collect();
    assert_eq!(
        attrs,
        [
            ("subscription_id", false, true),
            ("resource_group_name", true, false),
            ("virtual_machine_scale_set_name", false, true),
            ("virtual_machine_name", true, false),
            ("extension_name", false, true),
        ]
    );
}

#[tokio::test]
async fn identity_upgrade_from_state_without_identity_is_silent() {
    let (_plugin, mut client) = PluginProcess::start_provider().await;
    let upgrade = |type_name: &str, version: i64, json: &[u8]| {
        let req = proto::upgrade_resource_identity::Request {
            type_name: type_name.into(),
            version,
            raw_identity: Some(proto::RawState {
                json: json.to_vec(),
                flatmap: Default::default(),
            }),
        };
        let mut client = client.clone();
        async move { answer(client.upgrade_resource_identity(req)).await }
    };
    // What Terraform 1.15 sends for state written by 1.11 (no identity):
    // no identity back, no diagnostics; the next read computes it.
    let resp = upgrade("vm_access_reset", 0, b"").await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert!(resp.upgraded_identity.is_none());
    // Version 1 (before scale-set instances): the same identity, with a null scale set.
    let resp = upgrade(
        "vm_access_reset",
        1,
        br#"{"subscription_id":"s","resource_group_name":"rg","virtual_machine_name":"web","extension_name":"VMAccessAgent"}"#,
    )
    .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let upgraded = identity_in(resp.upgraded_identity.as_ref(), &[]);
    assert_eq!(upgraded.get_string("virtual_machine_name"), Some("web"));
    assert!(upgraded.is_null("virtual_machine_scale_set_name"));
    // Newer than this provider, or a type without identity: errors.
    let resp = upgrade("vm_access_reset", 3, br#"{"resource_group_name":"rg"}"#).await;
    one_error(&resp.diagnostics);
    assert!(resp.diagnostics[0].summary.contains("newer provider"));
    let resp = upgrade("vm_nonexistent", 0, b"").await;
    assert_eq!(
        errors(&resp.diagnostics)[0].summary,
        "Unknown resource type"
    );
    client
        .get_metadata(proto::get_metadata::Request {})
        .await
        .expect("still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_plan_apply_and_import_replies_carry_the_identity_from_the_id() {
    let emu = AzureEmulator::start().await;
    let vm = emu.seed_windows_vm("web").await;
    let (_plugin, mut client, _dir) = configured(&emu).await;
    let secrets = [PASSWORD, emu.client_secret()];
    let ty = resource_type();
    let config = Object::new()
        .with("virtual_machine_id", Value::string(vm.to_string()))
        .with("username", Value::string("opsadmin"))
        .with("password_wo", Value::string(PASSWORD))
        .with("password_wo_version", Value::int(1));

    // Plan of a create: the ID is not known yet, neither is the identity.
    let plan = answer(
        client.plan_resource_change(proto::plan_resource_change::Request {
            type_name: "vm_access_reset".into(),
            proposed_new_state: dynamic(&config, &ty),
            config: dynamic(&config, &ty),
            client_capabilities: Some(proto::ClientCapabilities {
                deferral_allowed: false,
                write_only_attributes_allowed: true,
            }),
            ..Default::default()
        }),
    )
    .await;
    assert_no_errors(&plan.diagnostics);
    assert!(
        plan.planned_identity.is_none(),
        "no identity for an object not created yet"
    );

    // Apply of the create.
    let apply = answer(
        client.apply_resource_change(proto::apply_resource_change::Request {
            type_name: "vm_access_reset".into(),
            planned_state: plan.planned_state.clone(),
            config: dynamic(&config, &ty),
            planned_private: plan.planned_private.clone(),
            ..Default::default()
        }),
    )
    .await;
    assert_no_errors(&apply.diagnostics);
    let created = state(apply.new_state.as_ref());
    let want = expected_identity(&vm, "VMAccessAgent");
    assert_eq!(identity_in(apply.new_identity.as_ref(), &secrets), want);

    // Read with a wrong identity in the request: the reply's comes from the ID.
    let stale = want
        .clone()
        .with("virtual_machine_name", Value::string("other"));
    let read = answer(client.read_resource(proto::read_resource::Request {
        type_name: "vm_access_reset".into(),
        current_state: dynamic(&created, &ty),
        private: apply.private.clone(),
        current_identity: identity_data(&stale),
        ..Default::default()
    }))
    .await;
    assert_no_errors(&read.diagnostics);
    assert_eq!(identity_in(read.new_identity.as_ref(), &secrets), want);

    // Plan of an update without a prior identity (state from Terraform 1.11).
    let bumped = config.clone().with("password_wo_version", Value::int(2));
    let mut proposed = created.clone();
    proposed.set("password_wo_version", Value::int(2));
    let plan = answer(
        client.plan_resource_change(proto::plan_resource_change::Request {
            type_name: "vm_access_reset".into(),
            prior_state: dynamic(&created, &ty),
            proposed_new_state: dynamic(&proposed, &ty),
            config: dynamic(&bumped, &ty),
            prior_private: apply.private.clone(),
            ..Default::default()
        }),
    )
    .await;
    assert_no_errors(&plan.diagnostics);
    assert_eq!(identity_in(plan.planned_identity.as_ref(), &secrets), want);

    // Import by ID returns the identity too.
    let import = answer(
        client.import_resource_state(proto::import_resource_state::Request {
            type_name: "vm_access_reset".into(),
            id: vm.extension("VMAccessAgent").to_string(),
            ..Default::default()
        }),
    )
    .await;
    assert_no_errors(&import.diagnostics);
    assert_eq!(
        identity_in(import.imported_resources[0].identity.as_ref(), &secrets),
        want
    );

    // Destroy: no object, no identity.
    let destroy = answer(
        client.apply_resource_change(proto::apply_resource_change::Request {
            type_name: "vm_access_reset".into(),
            prior_state: dynamic(&created, &ty),
            ..Default::default()
        }),
    )
    .await;
    assert_no_errors(&destroy.diagnostics);
    assert!(destroy.new_identity.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_by_identity_finds_the_extension_or_names_the_attribute() {
    let emu = AzureEmulator::start().await;
    let vm = emu.seed_windows_vm("web").await;
    let bare = emu.seed_windows_vm("bare").await;
    let (_plugin, client, _dir) = configured(&emu).await;
    // What the portal's "Reset password" leaves behind, and another kind.
    emu.put_portal_reset(&vm, "enablevmaccess").await;
    emu.put_monitoring_agent(&vm, "monitor").await;

    let import = |identity: Object| {
        let mut client = client.clone();
        async move {
            answer(
                client.import_resource_state(proto::import_resource_state::Request {
                    type_name: "vm_access_reset".into(),
                    id: String::new(),
                    identity: identity_data(&identity),
                    ..Default::default()
                }),
            )
            .await
        }
    };
    let base = Object::new()
        .with("resource_group_name", Value::string(vm.resource_group()))
        .with("virtual_machine_name", Value::string(vm.name()));

    // The subscription defaults to the provider's, the extension to the
    // VM's existing VMAccessAgent (here the portal's `enablevmaccess`).
    let resp = import(base.clone()).await;
    assert_no_errors(&resp.diagnostics);
    let [imported] = &resp.imported_resources[..] else {
        panic!("one resource: {resp:?}")
    };
    let want = expected_identity(&vm, "enablevmaccess");
    assert_eq!(
        identity_in(imported.identity.as_ref(), &[emu.client_secret()]),
        want
    );
    let got = state(imported.state.as_ref());
    assert_eq!(
        got.get_string("id"),
        Some(vm.extension("enablevmaccess").to_string().as_str())
    );
    assert_eq!(got.get_string("username"), Some("opsadmin"));

    // Everything spelt out gives the same.
    let full = base
        .clone()
        .with("subscription_id", Value::string(vm.subscription_id()))
        .with("extension_name", Value::string("enablevmaccess"));
    let resp = import(full).await;
    assert_no_errors(&resp.diagnostics);

    // Each bad identity fails with an error naming its attribute.
    let cases = [
        ("virtual_machine_name", Value::Null),
        ("resource_group_name", Value::string("rg/oops")),
        ("virtual_machine_name", Value::string("nosuchvm")),
        ("extension_name", Value::string("monitor")),
        ("extension_name", Value::string("missing")),
    ];
    for (attr, value) in cases {
        let resp = import(base.clone().with(attr, value)).await;
        assert!(resp.imported_resources.is_empty(), "{attr}: {resp:?}");
        let errs = errors(&resp.diagnostics);
        assert_eq!(errs.len(), 1, "{attr}: {:?}", resp.diagnostics);
        let text = format!("{} {}", errs[0].summary, errs[0].detail);
        assert!(text.contains(&format!("`{attr}`")), "{attr}: {text}");
    }

    // Without `extension_name`, a VM that has no VMAccess extension yet is adopted as it is
    // (what `terraform query` lists with `include_vms_without_extension`): the resource it
    // will create, never run.
    let resp = import(base.with("virtual_machine_name", Value::string(bare.name()))).await;
    assert_no_errors(&resp.diagnostics);
    let [imported] = &resp.imported_resources[..] else {
        panic!("one resource: {resp:?}")
    };
    let got = state(imported.state.as_ref());
    assert_eq!(
        got.get_string("id"),
        Some(bare.extension("VMAccessAgent").to_string().as_str())
    );
    assert!(got.is_null("provisioning_state") && got.is_null("force_update_tag"));
    assert_eq!(
        identity_in(imported.identity.as_ref(), &[emu.client_secret()]),
        expected_identity(&bare, "VMAccessAgent")
    );
}
