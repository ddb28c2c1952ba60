//! A provider process configured against the in-process emulator, for protocol tests that go
//! past `ConfigureProvider` without terraform.

use tonic::transport::Channel;

use terraform_provider_vm::tfprotocol::proto::{self, provider_client::ProviderClient};
use terraform_provider_vm::tfprotocol::{Object, Value, msgpack};

use crate::azure_emulator::AzureEmulator;
use crate::plugin::{ClientIdentity, PluginProcess, provider_binary, terraform_command};

/// The reply of an RPC that must answer (with whatever diagnostics), not fail at the gRPC level.
pub async fn answer<T>(call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>) -> T {
    call.await
        .unwrap_or_else(|status| panic!("the RPC failed: {status:?}"))
        .into_inner()
}

/// The error diagnostics among `diagnostics`.
pub fn errors(diagnostics: &[proto::Diagnostic]) -> Vec<&proto::Diagnostic> {
    let error = proto::diagnostic::Severity::Error as i32;
    diagnostics.iter().filter(|d| d.severity == error).collect()
}

/// Fails, showing every diagnostic, if any of them is an error.
pub fn assert_no_errors(diagnostics: &[proto::Diagnostic]) {
    assert!(errors(diagnostics).is_empty(), "{diagnostics:?}");
}

/// The one error among `diagnostics` (fails, showing them all, unless there is exactly one).
pub fn one_error(diagnostics: &[proto::Diagnostic]) -> &proto::Diagnostic {
    match errors(diagnostics)[..] {
        [error] => error,
        _ => panic!("expected exactly one error: {diagnostics:?}"),
    }
}

/// The plugin with the emulator's CA trusted, configured for the emulator.
pub async fn configured(
    emu: &AzureEmulator,
) -> (PluginProcess, ProviderClient<Channel>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, emu.emulator.ca_pem()).expect("write CA");
    let client_identity = ClientIdentity::terraform_like();
    let mut cmd = terraform_command(&provider_binary(), Some(&client_identity));
    cmd.env("SSL_CERT_FILE", &ca);
    for (k, _) in std::env::vars() {
        if k.starts_with("ARM_") {
            cmd.env_remove(k);
        }
    }
    let plugin = PluginProcess::spawn(cmd, client_identity).expect("plugin starts");
    let mut client = plugin.provider().await;
    let c = emu.emulator.config();
    let config = Object::new()
        .with("subscription_id", Value::string(&c.subscription_id))
        .with("tenant_id", Value::string(&c.tenant_id))
        .with("client_id", Value::string(&c.client_id))
        .with("client_secret", Value::string(&c.client_secret))
        .with("metadata_host", Value::string(emu.emulator.metadata_host()))
        .with("use_cli", Value::Bool(false));
    let provider_type = terraform_provider_vm::provider::schema()
        .block
        .implied_type();
    let resp = answer(
        client.configure_provider(proto::configure_provider::Request {
            terraform_version: "1.15.5".into(),
            config: Some(proto::DynamicValue {
                msgpack: msgpack::encode(&Value::Object(config), &provider_type)
                    .expect("provider config conforms to its schema"),
                json: Vec::new(),
            }),
            client_capabilities: Some(proto::ClientCapabilities {
                deferral_allowed: false,
                write_only_attributes_allowed: true,
            }),
        }),
    )
    .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    (plugin, client, dir)
}
