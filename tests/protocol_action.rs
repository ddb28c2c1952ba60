//! The `vm_access_reset` action over the wire, with the provider binary spoken to as Terraform
//! does: StopProvider (what Terraform sends on Ctrl-C) ends an invocation's wait promptly, with
//! a completion saying Azure may still finish the run, and no event carries the password.

use std::time::{Duration, Instant};

use terraform_provider_vm::actions::vm_access_reset;
use terraform_provider_vm::tfprotocol::proto::{self, invoke_action::event::Type as EventType};
use terraform_provider_vm::tfprotocol::{Object, Type, Value, msgpack};
use vm_test_support::azure_emulator::AzureEmulator;
use vm_test_support::protocol::{answer, configured, errors};

const PASSWORD: &str = "Stop-Provider-Passw0rd!";

fn dynamic(value: &Object, ty: &Type) -> Option<proto::DynamicValue> {
    Some(proto::DynamicValue {
        msgpack: msgpack::encode(&Value::Object(value.clone()), ty).expect("conforms"),
        json: Vec::new(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_provider_ends_the_wait_promptly_and_says_azure_may_still_finish() {
    // Azure takes two minutes to run the extension.
    let emu = AzureEmulator::start_with(vm_emulator::EmulatorConfig {
        operation_delay: Duration::from_secs(120),
        poll_retry_after_secs: 1,
        ..vm_emulator::EmulatorConfig::default()
    })
    .await;
    let vm = emu.seed_locked_out_vm("web").await;
    let (_plugin, mut client, _dir) = configured(&emu).await;

    let config = Object::new()
        .with("virtual_machine_id", Value::string(vm.to_string()))
        .with("username", Value::string("opsadmin"))
        .with("password", Value::string(PASSWORD));
    let ty = vm_access_reset::schema().block.implied_type();
    let mut events = answer(client.invoke_action(proto::invoke_action::Request {
        action_type: "vm_access_reset".into(),
        config: dynamic(&config, &ty),
        client_capabilities: None,
    }))
    .await;

    let mut seen = Vec::new();
    let mut stopped_at = None;
    let completed = loop {
        let event = tokio::time::timeout(Duration::from_secs(60), events.message())
            .await
            .expect("an event within 60 s")
            .expect("the stream works")
            .expect("a completion before the stream ends");
        match event.r#type.expect("every event has a type") {
            EventType::Progress(p) => {
                assert!(!p.message.contains(PASSWORD));
                // Azure runs the extension now: press Ctrl-C.
                if p.message.starts_with("Azure accepted the extension") {
                    client
                        .stop_provider(proto::stop_provider::Request {})
                        .await
                        .expect("StopProvider answers");
                    stopped_at = Some(Instant::now());
                }
                seen.push(p.message);
            }
            EventType::Completed(c) => break c,
        }
    };
    let stopped_at = stopped_at.unwrap_or_else(|| panic!("never accepted: {seen:#?}"));
    assert!(
        stopped_at.elapsed() < Duration::from_secs(10),
        "the wait went on for {:?} after StopProvider",
        stopped_at.elapsed()
    );
    let errors = errors(&completed.diagnostics);
    assert_eq!(errors.len(), 1, "{completed:?}");
    assert_eq!(
        errors[0].summary,
        "The VMAccess run may still finish in Azure"
    );
    assert!(
        errors[0].detail.contains("Terraform was interrupted"),
        "{}",
        errors[0].detail
    );
    assert!(
        errors[0].detail.contains("Azure may still finish the run"),
        "{}",
        errors[0].detail
    );
    assert!(!format!("{completed:?}").contains(PASSWORD));
    // Azure is indeed still running it.
    let view = emu.vm_view(&vm).await;
    assert_eq!(
        view.extensions
            .first()
            .map(|e| e.provisioning_state.as_str()),
        Some("Creating"),
        "{view:#?}"
    );
}
