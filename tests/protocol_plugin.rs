//! The provider binary end to end, launched exactly as Terraform launches it
//! (go-plugin handshake, AutoMTLS with a P-521 client certificate, unix
//! socket), driven through the generated gRPC clients.

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tonic::transport::Channel;

use terraform_provider_vm::plugin::services::proto as go_plugin;
use terraform_provider_vm::resources::vm_access_reset;
use terraform_provider_vm::tfprotocol::proto;
use terraform_provider_vm::tfprotocol::proto::provider_client::ProviderClient;
use terraform_provider_vm::tfprotocol::{Object, Type, Value, msgpack};
use vm_test_support::plugin::{
    BoxError, ClientIdentity, MAGIC_COOKIE_KEY, PluginProcess, connect_offering, provider_binary,
    provider_client, terraform_command,
};
use vm_test_support::protocol::{answer, assert_no_errors, errors, one_error};

const VM_ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web";

// ---------------------------------------------------------------- helpers

fn resource_type() -> Type {
    vm_access_reset::schema().block.implied_type()
}

fn dynamic(obj: &Object) -> proto::DynamicValue {
    proto::DynamicValue {
        msgpack: msgpack::encode(&Value::Object(obj.clone()), &resource_type())
            .expect("test config conforms to the schema"),
        json: Vec::new(),
    }
}

/// A configuration that passes every check: username, write-only password
/// with its version, default handler version.
fn good_config() -> Object {
    Object::new()
        .with("virtual_machine_id", Value::string(VM_ID))
        .with("username", Value::string("opsadmin"))
        .with("password_wo", Value::string("Correct-Horse-42"))
        .with("password_wo_version", Value::int(1))
        .with("type_handler_version", Value::string("2.4"))
}

fn caps(write_only: bool) -> Option<proto::ClientCapabilities> {
    Some(proto::ClientCapabilities {
        deferral_allowed: false,
        write_only_attributes_allowed: write_only,
    })
}

async fn validate_raw(
    client: &mut ProviderClient<Channel>,
    config: proto::DynamicValue,
    write_only: bool,
) -> Vec<proto::Diagnostic> {
    answer(
        client.validate_resource_config(proto::validate_resource_config::Request {
            type_name: vm_access_reset::TYPE_NAME.to_string(),
            config: Some(config),
            client_capabilities: caps(write_only),
        }),
    )
    .await
    .diagnostics
}

async fn validate(
    client: &mut ProviderClient<Channel>,
    config: &Object,
    write_only: bool,
) -> Vec<proto::Diagnostic> {
    validate_raw(client, dynamic(config), write_only).await
}

/// The attribute names along a diagnostic's path (`None` without a path).
fn path(d: &proto::Diagnostic) -> Option<Vec<String>> {
    use proto::attribute_path::step::Selector;
    d.attribute.as_ref().map(|p| {
        p.steps
            .iter()
            .map(|s| match &s.selector {
                Some(Selector::AttributeName(a)) => a.clone(),
                Some(Selector::ElementKeyString(k)) => format!("[{k:?}]"),
                Some(Selector::ElementKeyInt(i)) => format!("[{i}]"),
                None => "?".to_string(),
            })
            .collect()
    })
}

/// Exactly one error, and it points at `attr`.
fn assert_one_error_at(diags: &[proto::Diagnostic], attr: &str) -> proto::Diagnostic {
    let errs = errors(diags);
    assert_eq!(errs.len(), 1, "expected one error at {attr}: {diags:#?}");
    assert_eq!(
        path(errs[0]),
        Some(vec![attr.to_string()]),
        "error is not on {attr}: {diags:#?}"
    );
    errs[0].clone()
}

async fn get_metadata(client: &mut ProviderClient<Channel>) -> proto::get_metadata::Response {
    answer(client.get_metadata(proto::get_metadata::Request {})).await
}

/// Runs `cmd` to its exit (which must come within 10 s).
fn run_to_exit(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn the provider");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the provider did not exit within 10 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("collect output")
}

/// Connects with `identity` and makes one RPC; returns why that failed,
/// panicking if it succeeded.
async fn refused(plugin: &PluginProcess, identity: Option<&ClientIdentity>) -> String {
    refused_offering(plugin, identity, rustls::DEFAULT_VERSIONS).await
}

/// [`refused`], with a client that offers only the TLS `versions` given.
async fn refused_offering(
    plugin: &PluginProcess,
    identity: Option<&ClientIdentity>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> String {
    let attempt = async {
        let channel = connect_offering(&plugin.handshake, identity, versions).await?;
        provider_client(channel)
            .get_metadata(proto::get_metadata::Request {})
            .await
            .map_err(BoxError::from)
    };
    match tokio::time::timeout(Duration::from_secs(15), attempt).await {
        Err(_) => panic!("an unauthenticated connection hung instead of being refused"),
        Ok(Ok(_)) => {
            panic!("the plugin answered a client that does not hold Terraform's certificate")
        }
        Ok(Err(e)) => format!("{e:?}"),
    }
}

// ------------------------------------------------------------- handshake

#[tokio::test]
async fn handshake_line_is_go_plugin_format_and_the_only_stdout() {
    let mut plugin = PluginProcess::start();
    let hs = plugin.handshake.clone();
    assert_eq!(hs.line.split('|').count(), 6, "{}", hs.line);
    assert_eq!(hs.core_version, "1");
    assert_eq!(hs.app_version, "6");
    assert_eq!(hs.network, "unix");
    assert_eq!(hs.protocol, "grpc");
    assert!(
        std::path::Path::new(&hs.address).is_absolute(),
        "{}",
        hs.address
    );
    assert!(
        std::fs::metadata(&hs.address).is_ok(),
        "socket {} does not exist",
        hs.address
    );
    // go-plugin ignores a certificate field of 50 characters or fewer.
    let cert_field = hs.line.rsplit('|').next().unwrap();
    assert!(cert_field.len() > 50, "{cert_field}");
    assert!(!cert_field.ends_with('='), "padding in {cert_field}");
    // The certificate is DER and valid for `localhost`, the name Terraform verifies.
    let parsed = rustls::server::ParsedCertificate::try_from(&hs.server_cert)
        .expect("the handshake certificate is a DER X.509 certificate");
    rustls::client::verify_server_name(
        &parsed,
        &rustls::pki_types::ServerName::try_from("localhost").unwrap(),
    )
    .expect("the server certificate is valid for localhost");

    // A full session, then nothing else may have reached stdout.
    let channel = plugin.connect().await;
    let mut client = provider_client(channel.clone());
    get_metadata(&mut client).await;
    go_plugin::grpc_controller_client::GrpcControllerClient::new(channel)
        .shutdown(go_plugin::Empty {})
        .await
        .expect("Shutdown answers");
    drop(client);
    let status = plugin
        .wait_timeout(Duration::from_secs(5))
        .expect("the plugin exits after Shutdown");
    assert!(status.success(), "{status:?}");
    assert_eq!(plugin.rest_of_stdout(), "", "stdout after the handshake");
    // The socket directory is cleaned up on exit.
    assert!(
        std::fs::metadata(&hs.address).is_err(),
        "socket {} left behind",
        hs.address
    );
}

#[test]
fn without_the_magic_cookie_it_explains_and_exits_1() {
    let mut cmd = Command::new(provider_binary());
    cmd.env_remove(MAGIC_COOKIE_KEY)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6");
    let out = run_to_exit(cmd);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("this is a Terraform plugin") && stderr.contains("--debug"),
        "stderr: {stderr}"
    );

    // A wrong cookie is no cookie.
    let mut cmd = Command::new(provider_binary());
    cmd.env(MAGIC_COOKIE_KEY, "not-the-cookie");
    let out = run_to_exit(cmd);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
}

#[test]
fn protocol_5_only_is_refused_with_a_clear_message() {
    let identity = ClientIdentity::terraform_like();
    let mut cmd = terraform_command(&provider_binary(), Some(&identity));
    cmd.env("PLUGIN_PROTOCOL_VERSIONS", "5");
    let out = run_to_exit(cmd);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        out.stdout.is_empty(),
        "a handshake line was printed: {out:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("protocol") && stderr.contains("\"5\"") && stderr.contains("version 6"),
        "stderr: {stderr}"
    );
}

#[test]
fn version_flag_prints_the_version_and_no_handshake() {
    let mut cmd = Command::new(provider_binary());
    cmd.arg("--version").env_remove(MAGIC_COOKIE_KEY);
    let out = run_to_exit(cmd);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        format!("terraform-provider-vm {}", env!("CARGO_PKG_VERSION"))
    );
}

// ------------------------------------------------------------ go-plugin

#[tokio::test]
async fn health_reports_plugin_serving() {
    let plugin = PluginProcess::start();
    let mut health = plugin.health().await;
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "plugin".to_string(),
        })
        .await
        .expect("Health.Check answers")
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

#[tokio::test]
async fn shutdown_exits_0_within_2s_with_streams_open() {
    let mut plugin = PluginProcess::start();
    let channel = plugin.connect().await;
    // What go-plugin's client does on connect: open the broker and stdio streams.
    let mut broker = go_plugin::grpc_broker_client::GrpcBrokerClient::new(channel.clone());
    let mut broker_stream = broker
        .start_stream(futures_util::stream::pending::<go_plugin::ConnInfo>())
        .await
        .expect("GRPCBroker.StartStream opens")
        .into_inner();
    let mut stdio = go_plugin::grpc_stdio_client::GrpcStdioClient::new(channel.clone());
    let mut stdio_stream = stdio
        .stream_stdio(())
        .await
        .expect("GRPCStdio.StreamStdio opens")
        .into_inner();
    get_metadata(&mut provider_client(channel.clone())).await;

    let started = Instant::now();
    go_plugin::grpc_controller_client::GrpcControllerClient::new(channel.clone())
        .shutdown(go_plugin::Empty {})
        .await
        .expect("GRPCController.Shutdown answers");
    // Nothing is ever sent on stdio; the stream just ends.
    match tokio::time::timeout(Duration::from_secs(2), stdio_stream.message()).await {
        Ok(Ok(Some(data))) => panic!("unexpected stdio data {data:?}"),
        Ok(_) => {}
        Err(_) => panic!("the stdio stream stayed open after Shutdown"),
    }
    match tokio::time::timeout(Duration::from_secs(2), broker_stream.message()).await {
        Ok(Ok(Some(info))) => panic!("unexpected broker message {info:?}"),
        Ok(_) => {}
        Err(_) => panic!("the broker stream stayed open after Shutdown"),
    }
    // Terraform closes its connection after Shutdown.
    drop((broker, stdio, channel));
    let status = tokio::task::spawn_blocking(move || {
        let s = plugin.wait_timeout(Duration::from_secs(2));
        (s, plugin)
    })
    .await
    .unwrap();
    let (status, plugin) = status;
    let status = status.unwrap_or_else(|| {
        panic!(
            "still running 2 s after Shutdown; stderr: {}",
            plugin.stderr()
        )
    });
    assert!(status.success(), "exit {status:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// The plugin speaks TLS 1.3 only, which every Terraform offers; a TLS 1.2-only client holding
/// Terraform's own certificate is refused.
#[tokio::test]
async fn a_client_offering_only_tls_1_2_is_refused() {
    let plugin = PluginProcess::start();
    let why = refused_offering(&plugin, Some(&plugin.identity), &[&rustls::version::TLS12]).await;
    assert!(why.contains("ProtocolVersion"), "{why}");
}

#[tokio::test]
async fn client_without_certificate_or_with_another_one_is_refused() {
    let plugin = PluginProcess::start();
    let why = refused(&plugin, None).await;
    assert!(!why.is_empty());
    let stranger = ClientIdentity::terraform_like();
    assert_ne!(stranger.cert_der, plugin.identity.cert_der);
    let why = refused(&plugin, Some(&stranger)).await;
    assert!(!why.is_empty());
    // The plugin still serves Terraform.
    let mut client = plugin.provider().await;
    let meta = get_metadata(&mut client).await;
    assert_eq!(meta.resources.len(), 2);
}

// --------------------------------------------------------------- metadata

#[tokio::test]
async fn get_metadata_lists_the_resource_and_capabilities() {
    let (_plugin, mut client) = PluginProcess::start_provider().await;
    let meta = get_metadata(&mut client).await;
    assert!(meta.diagnostics.is_empty(), "{:?}", meta.diagnostics);
    let names: Vec<&str> = meta
        .resources
        .iter()
        .map(|r| r.type_name.as_str())
        .collect();
    assert_eq!(names, ["vm_access_reset", "vm_scale_set_access_reset"]);
    assert!(meta.data_sources.is_empty());
    assert!(meta.ephemeral_resources.is_empty());
    assert!(meta.functions.is_empty());
    let caps = meta.server_capabilities.expect("server capabilities");
    assert!(caps.get_provider_schema_optional);
    assert!(caps.plan_destroy);
    assert!(!caps.move_resource_state);
    // Terraform then generates configuration from state itself.
    assert!(!caps.generate_resource_config);
    let lists: Vec<&str> = meta
        .list_resources
        .iter()
        .map(|l| l.type_name.as_str())
        .collect();
    assert_eq!(lists, ["vm_access_reset"]);
    let actions: Vec<&str> = meta.actions.iter().map(|a| a.type_name.as_str()).collect();
    assert_eq!(actions, ["vm_access_reset", "vm_scale_set_access_reset"]);
    assert!(meta.state_stores.is_empty());
}

fn attr<'a>(block: &'a proto::schema::Block, name: &str) -> &'a proto::schema::Attribute {
    block
        .attributes
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no attribute {name}"))
}

fn attr_type(a: &proto::schema::Attribute) -> Type {
    Type::from_json_bytes(&a.r#type).expect("attribute type is compact JSON")
}

#[tokio::test]
async fn get_provider_schema_has_provider_settings_and_resource() {
    let (_plugin, mut client) = PluginProcess::start_provider().await;
    let resp = answer(client.get_provider_schema(proto::get_provider_schema::Request {})).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert!(resp.data_source_schemas.is_empty());

    // Provider: azurerm's settings, all optional, secrets sensitive.
    let provider = resp.provider.expect("provider schema");
    let block = provider.block.expect("provider block");
    let strings = [
        "subscription_id",
        "tenant_id",
        "client_id",
        "client_secret",
        "client_certificate_path",
        "client_certificate_password",
        "oidc_token",
        "oidc_token_file_path",
        "oidc_request_url",
        "oidc_request_token",
        "ado_pipeline_service_connection_id",
        "environment",
        "metadata_host",
    ];
    let bools = [
        "client_send_certificate_chain",
        "use_oidc",
        "use_msi",
        "use_cli",
    ];
    let sensitive = [
        "client_secret",
        "client_certificate_password",
        "oidc_token",
        "oidc_request_token",
    ];
    assert_eq!(
        block.attributes.len(),
        strings.len() + bools.len(),
        "{:?}",
        block.attributes.iter().map(|a| &a.name).collect::<Vec<_>>()
    );
    for name in strings.iter().chain(&bools) {
        let a = attr(&block, name);
        assert!(
            a.optional && !a.required && !a.computed,
            "{name} must be optional only"
        );
        assert_eq!(a.sensitive, sensitive.contains(name), "{name} sensitivity");
        let want = if bools.contains(name) {
            Type::Bool
        } else {
            Type::String
        };
        assert_eq!(attr_type(a), want, "{name} type");
        assert!(!a.write_only, "{name}");
    }
    assert!(
        attr(&block, "client_secret")
            .description
            .contains("ARM_CLIENT_SECRET")
    );
    assert!(
        attr(&block, "subscription_id")
            .description
            .contains("ARM_SUBSCRIPTION_ID")
    );

    // Resources (a map on the wire: its order means nothing).
    let mut resources: Vec<_> = resp.resource_schemas.keys().collect();
    resources.sort();
    assert_eq!(resources, ["vm_access_reset", "vm_scale_set_access_reset"]);
    let schema = &resp.resource_schemas["vm_access_reset"];
    assert_eq!(schema.version, 0);
    let block = schema.block.as_ref().expect("resource block");
    let pw_wo = attr(block, "password_wo");
    assert!(pw_wo.write_only && pw_wo.optional && !pw_wo.computed);
    let pw = attr(block, "password");
    assert!(pw.sensitive && !pw.write_only && pw.optional);
    let vm = attr(block, "virtual_machine_id");
    assert!(vm.required && !vm.optional && !vm.computed);
    assert_eq!(attr_type(vm), Type::String);
    for name in [
        "id",
        "force_update_tag",
        "provisioning_state",
        "last_run_at",
    ] {
        let a = attr(block, name);
        assert!(
            a.computed && !a.optional && !a.required,
            "{name} must be computed only"
        );
    }
    for name in [
        "type_handler_version",
        "auto_upgrade_minor_version",
        "remove_extension_on_destroy",
        "extension_name",
    ] {
        let a = attr(block, name);
        assert!(a.optional && a.computed, "{name} must be optional+computed");
    }
    assert_eq!(attr_type(attr(block, "triggers")), Type::map(Type::String));
    assert_eq!(attr_type(attr(block, "password_wo_version")), Type::Number);
    assert_eq!(
        attr_type(attr(block, "auto_upgrade_minor_version")),
        Type::Bool
    );
    assert!(attr(block, "username").optional);

    let timeouts = block
        .block_types
        .iter()
        .find(|b| b.type_name == "timeouts")
        .expect("a timeouts block");
    assert_eq!(
        timeouts.nesting,
        proto::schema::nested_block::NestingMode::Single as i32
    );
    let tb = timeouts.block.as_ref().expect("timeouts block body");
    let mut names: Vec<&str> = tb.attributes.iter().map(|a| a.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["create", "delete", "read", "update"]);
    for a in &tb.attributes {
        assert!(a.optional && attr_type(a) == Type::String, "{}", a.name);
    }

    // Schema types agree with the msgpack type the tests encode against.
    let mut declared: BTreeMap<String, Type> = block
        .attributes
        .iter()
        .map(|a| (a.name.clone(), attr_type(a)))
        .collect();
    declared.insert(
        "timeouts".into(),
        Type::Object(
            tb.attributes
                .iter()
                .map(|a| (a.name.clone(), attr_type(a)))
                .collect(),
        ),
    );
    assert_eq!(Type::Object(declared), resource_type());
}

// ------------------------------------------------------------- validation

#[tokio::test]
async fn validate_resource_config_reports_errors_on_their_attribute() {
    let (_plugin, mut client) = PluginProcess::start_provider().await;

    let diags = validate(&mut client, &good_config(), true).await;
    assert!(diags.is_empty(), "good config: {diags:#?}");

    let bad_user = good_config().with("username", Value::string("ops@admin"));
    let d = assert_one_error_at(&validate(&mut client, &bad_user, true).await, "username");
    assert_eq!(d.summary, "Invalid user name");

    let bad_pw = good_config()
        .with("password_wo", Value::Null)
        .with("password_wo_version", Value::Null)
        .with("password", Value::string("Sh0r!"));
    let diags = validate(&mut client, &bad_pw, true).await;
    let d = assert_one_error_at(&diags, "password");
    assert!(!d.detail.contains("Sh0r!"), "the password leaked: {d:?}");

    let weak_wo = good_config().with("password_wo", Value::string("alllowercase1"));
    assert_one_error_at(&validate(&mut client, &weak_wo, true).await, "password_wo");

    // Refused on Windows (8 characters at least), accepted on Linux: validation does not know
    // the VM's OS, so it says nothing; the plan, which reads the VM, applies that OS's rules.
    let short = good_config().with("password", Value::string("Abc1!x"));
    let short = short
        .with("password_wo", Value::Null)
        .with("password_wo_version", Value::Null);
    let diags = validate(&mut client, &short, true).await;
    assert!(diags.is_empty(), "{diags:#?}");

    let none = good_config().with("type_handler_version", Value::string("0.9"));
    let d = assert_one_error_at(
        &validate(&mut client, &none, true).await,
        "type_handler_version",
    );
    assert!(d.detail.contains("no VMAccess handler version"), "{d:?}");

    // Unknown values are left for apply.
    let unknown = good_config()
        .with("username", Value::Unknown)
        .with("password_wo", Value::Unknown);
    let diags = validate(&mut client, &unknown, true).await;
    assert_no_errors(&diags);

    let bad_timeout = good_config().with(
        "timeouts",
        Value::Object(
            Object::new()
                .with("create", Value::string("soon"))
                .with("read", Value::Null)
                .with("update", Value::Null)
                .with("delete", Value::Null),
        ),
    );
    let diags = validate(&mut client, &bad_timeout, true).await;
    let errs = errors(&diags);
    assert_eq!(errs.len(), 1, "{diags:#?}");
    assert_eq!(
        path(errs[0]),
        Some(vec!["timeouts".to_string(), "create".to_string()])
    );
}

#[tokio::test]
async fn write_only_attribute_needs_the_client_capability() {
    let (_plugin, mut client) = PluginProcess::start_provider().await;
    let diags = validate(&mut client, &good_config(), false).await;
    let d = assert_one_error_at(&diags, "password_wo");
    assert!(d.summary.contains("Write-only"), "{d:?}");
    // No capabilities at all is an old Terraform too.
    let diags = answer(
        client.validate_resource_config(proto::validate_resource_config::Request {
            type_name: vm_access_reset::TYPE_NAME.to_string(),
            config: Some(dynamic(&good_config())),
            client_capabilities: None,
        }),
    )
    .await
    .diagnostics;
    assert_one_error_at(&diags, "password_wo");
    // Without password_wo an old Terraform is fine.
    let stored = good_config()
        .with("password_wo", Value::Null)
        .with("password_wo_version", Value::Null)
        .with("password", Value::string("Correct-Horse-42"));
    let diags = validate(&mut client, &stored, false).await;
    assert!(diags.is_empty(), "{diags:#?}");
}

#[tokio::test]
async fn malformed_dynamic_values_are_diagnosed_and_the_plugin_keeps_serving() {
    let (_plugin, mut client) = PluginProcess::start_provider().await;

    let good = dynamic(&good_config()).msgpack;
    // Deterministic "random" bytes (xorshift), not valid msgpack for an object.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let random: Vec<u8> = (0..512)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("random bytes", random),
        ("truncated msgpack", good[..good.len() / 2].to_vec()),
        ("trailing bytes", [good.clone(), vec![0xc0]].concat()),
        // map32 claiming 4 billion entries
        (
            "huge map length",
            vec![0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, b'a'],
        ),
        // an object whose `triggers` is an array32 claiming 4 billion entries
        ("huge array length", {
            let mut v = vec![0x81, 0xa8];
            v.extend_from_slice(b"triggers");
            v.extend_from_slice(&[0xdd, 0xff, 0xff, 0xff, 0xff]);
            v
        }),
        (
            "a string where an object belongs",
            vec![0xa3, b'a', b'b', b'c'],
        ),
        ("invalid UTF-8", {
            let mut v = vec![0x81, 0xa8];
            v.extend_from_slice(b"username");
            v.extend_from_slice(&[0xa2, 0xff, 0xfe]);
            v
        }),
        ("deep nesting", {
            let mut v = vec![0x81, 0xa8];
            v.extend_from_slice(b"triggers");
            v.extend(std::iter::repeat_n(0x91, 100_000));
            v
        }),
    ];
    for (what, bytes) in cases {
        let diags = validate_raw(
            &mut client,
            proto::DynamicValue {
                msgpack: bytes,
                json: Vec::new(),
            },
            true,
        )
        .await;
        let errs = errors(&diags);
        assert_eq!(errs.len(), 1, "{what}: {diags:#?}");
        assert!(
            errs[0].summary.contains("Invalid resource configuration"),
            "{what}: {:?}",
            errs[0]
        );
        // The plugin still serves.
        let meta = get_metadata(&mut client).await;
        assert_eq!(meta.resources.len(), 2, "{what}");
    }

    // Malformed JSON (msgpack empty) takes the JSON path and fails the same way.
    let diags = validate_raw(
        &mut client,
        proto::DynamicValue {
            msgpack: Vec::new(),
            json: b"{\"username\": [".to_vec(),
        },
        true,
    )
    .await;
    assert_eq!(errors(&diags).len(), 1, "{diags:#?}");

    // Provider config too.
    let diags = answer(
        client.validate_provider_config(proto::validate_provider_config::Request {
            config: Some(proto::DynamicValue {
                msgpack: vec![0xc1],
                json: Vec::new(),
            }),
        }),
    )
    .await
    .diagnostics;
    assert_eq!(errors(&diags).len(), 1, "{diags:#?}");

    let diags = validate(&mut client, &good_config(), true).await;
    assert!(diags.is_empty(), "{diags:#?}");
}

#[tokio::test]
async fn five_mib_message_is_accepted() {
    let (_plugin, mut client) = PluginProcess::start_provider().await;
    let chunk = "x".repeat(64 * 1024);
    let triggers: BTreeMap<String, Value> = (0..80)
        .map(|i| (format!("t{i:03}"), Value::string(chunk.clone())))
        .collect();
    let config = good_config().with("triggers", Value::Map(triggers));
    let dv = dynamic(&config);
    assert!(dv.msgpack.len() > 5 << 20, "{}", dv.msgpack.len());
    let diags = validate_raw(&mut client, dv, true).await;
    assert!(diags.is_empty(), "{diags:#?}");

    // And a large state round-trips through UpgradeResourceState both ways.
    let mut state = serde_json::Map::new();
    state.insert("virtual_machine_id".into(), VM_ID.into());
    state.insert(
        "triggers".into(),
        (0..80)
            .map(|i| (format!("t{i:03}"), serde_json::Value::from(chunk.clone())))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    );
    let resp = answer(
        client.upgrade_resource_state(proto::upgrade_resource_state::Request {
            type_name: vm_access_reset::TYPE_NAME.into(),
            version: 0,
            raw_state: Some(proto::RawState {
                json: serde_json::Value::Object(state).to_string().into_bytes(),
                flatmap: Default::default(),
            }),
        }),
    )
    .await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    assert!(resp.upgraded_state.unwrap().msgpack.len() > 5 << 20);
}

// ------------------------------------------------------------------ state

#[tokio::test]
async fn upgrade_resource_state_reencodes_json_as_msgpack() {
    let (_plugin, mut client) = PluginProcess::start_provider().await;
    let raw = serde_json::json!({
        "id": format!("{VM_ID}/extensions/VMAccessAgent"),
        "virtual_machine_id": VM_ID,
        "username": "opsadmin",
        "password": null,
        "password_wo": "must-not-survive",
        "password_wo_version": 3,
        "triggers": {"rotation": "2026-q1", "ünïcode": "✓"},
        "extension_name": "VMAccessAgent",
        "type_handler_version": "2.4",
        "auto_upgrade_minor_version": true,
        "remove_extension_on_destroy": false,
        "force_update_tag": "0d7f3c3e-0000-4000-8000-000000000000",
        "provisioning_state": "Succeeded",
        "last_run_at": "2026-01-01T00:00:00Z",
        "timeouts": {"create": "45m", "read": null, "update": null, "delete": null}
    });
    let upgrade = |client: &mut ProviderClient<Channel>, json: Vec<u8>, version: i64| {
        let mut client = client.clone();
        async move {
            answer(
                client.upgrade_resource_state(proto::upgrade_resource_state::Request {
                    type_name: vm_access_reset::TYPE_NAME.into(),
                    version,
                    raw_state: Some(proto::RawState {
                        json,
                        flatmap: Default::default(),
                    }),
                }),
            )
            .await
        }
    };
    let resp = upgrade(&mut client, raw.to_string().into_bytes(), 0).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let state = resp.upgraded_state.expect("upgraded state");
    assert!(state.json.is_empty(), "replies must be msgpack only");
    let got = msgpack::decode(&state.msgpack, &resource_type()).expect("valid msgpack");

    let expected = Object::new()
        .with(
            "id",
            Value::string(format!("{VM_ID}/extensions/VMAccessAgent")),
        )
        .with("virtual_machine_id", Value::string(VM_ID))
        .with("username", Value::string("opsadmin"))
        .with("password", Value::Null)
        .with("password_wo", Value::Null)
        .with("password_wo_version", Value::int(3))
        .with(
            "triggers",
            Value::Map(
                [
                    ("rotation".to_string(), Value::string("2026-q1")),
                    ("ünïcode".to_string(), Value::string("✓")),
                ]
                .into(),
            ),
        )
        .with("extension_name", Value::string("VMAccessAgent"))
        .with("type_handler_version", Value::string("2.4"))
        .with("auto_upgrade_minor_version", Value::Bool(true))
        .with("remove_extension_on_destroy", Value::Bool(false))
        .with(
            "force_update_tag",
            Value::string("0d7f3c3e-0000-4000-8000-000000000000"),
        )
        .with("provisioning_state", Value::string("Succeeded"))
        .with("last_run_at", Value::string("2026-01-01T00:00:00Z"))
        // Written before Linux support: its new attributes are null (`os_type` null is Windows).
        .with("os_type", Value::Null)
        .with("ssh_public_keys", Value::Null)
        .with("remove_prior_keys", Value::Null)
        .with("reset_ssh", Value::Null)
        .with("expiration", Value::Null)
        .with(
            "timeouts",
            Value::Object(
                Object::new()
                    .with("create", Value::string("45m"))
                    .with("read", Value::Null)
                    .with("update", Value::Null)
                    .with("delete", Value::Null),
            ),
        );
    assert_eq!(got, Value::Object(expected));

    // Attributes missing from older state come back null.
    let sparse = serde_json::json!({"virtual_machine_id": VM_ID});
    let resp = upgrade(&mut client, sparse.to_string().into_bytes(), 0).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let got = msgpack::decode(&resp.upgraded_state.unwrap().msgpack, &resource_type()).unwrap();
    let obj = got.as_object().expect("an object");
    assert_eq!(obj.get("virtual_machine_id"), &Value::string(VM_ID));
    assert_eq!(obj.attrs.len(), 20);
    assert!(
        obj.attrs
            .iter()
            .filter(|(k, _)| *k != "virtual_machine_id")
            .all(|(_, v)| v.is_null())
    );

    // State from a newer schema, an unknown attribute, or broken JSON: errors.
    let resp = upgrade(&mut client, raw.to_string().into_bytes(), 1).await;
    one_error(&resp.diagnostics);
    assert!(resp.upgraded_state.is_none());
    let extra = serde_json::json!({"virtual_machine_id": VM_ID, "surprise": 1});
    let resp = upgrade(&mut client, extra.to_string().into_bytes(), 0).await;
    one_error(&resp.diagnostics);
    let resp = upgrade(&mut client, b"{\"id\":".to_vec(), 0).await;
    one_error(&resp.diagnostics);
    let resp = answer(
        client.upgrade_resource_state(proto::upgrade_resource_state::Request {
            type_name: "vm_nonexistent".into(),
            version: 0,
            raw_state: Some(proto::RawState {
                json: b"{}".to_vec(),
                flatmap: Default::default(),
            }),
        }),
    )
    .await;
    one_error(&resp.diagnostics);
}

// ------------------------------------------------------ stop / unsupported

#[tokio::test]
async fn stop_provider_answers_with_empty_error() {
    let (_plugin, mut client) = PluginProcess::start_provider().await;
    let resp = answer(client.stop_provider(proto::stop_provider::Request {})).await;
    assert_eq!(resp.error, "");
    // StopProvider cancels operations; it does not stop the process.
    get_metadata(&mut client).await;
}

/// Ctrl-C reaches the whole process group; Terraform handles it and sends
/// StopProvider, so the plugin must survive the signal itself.
#[tokio::test]
async fn interrupt_signal_does_not_stop_the_plugin() {
    let mut plugin = PluginProcess::start();
    let mut client = plugin.provider().await;
    get_metadata(&mut client).await;
    let pid = libc::pid_t::try_from(plugin.pid()).expect("pid fits");
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    assert!(
        plugin
            .wait_timeout(std::time::Duration::from_millis(200))
            .is_none(),
        "the plugin exited on SIGINT"
    );
    get_metadata(&mut client).await;
}

#[tokio::test]
async fn unsupported_rpcs_answer_with_errors_and_no_crash() {
    let (_plugin, mut client) = PluginProcess::start_provider().await;

    let r = answer(client.read_data_source(proto::read_data_source::Request {
        type_name: "vm_anything".into(),
        ..Default::default()
    }))
    .await;
    let err = one_error(&r.diagnostics);
    assert!(err.detail.contains("vm_anything"), "{:?}", err);

    let r = answer(client.validate_data_resource_config(
        proto::validate_data_resource_config::Request {
            type_name: "vm_anything".into(),
            ..Default::default()
        },
    ))
    .await;
    one_error(&r.diagnostics);

    let r = answer(
        client.open_ephemeral_resource(proto::open_ephemeral_resource::Request {
            type_name: "vm_token".into(),
            ..Default::default()
        }),
    )
    .await;
    let err = one_error(&r.diagnostics);
    assert!(err.summary.contains("ephemeral"), "{:?}", err);
    assert!(r.result.is_none());

    let r = answer(client.call_function(proto::call_function::Request {
        name: "parse_id".into(),
        arguments: vec![],
    }))
    .await;
    let err = r.error.expect("a function error");
    assert!(err.text.contains("parse_id"), "{err:?}");
    assert!(r.result.is_none());

    let r = answer(
        client.move_resource_state(proto::move_resource_state::Request {
            source_provider_address: "registry.terraform.io/hashicorp/azurerm".into(),
            source_type_name: "azurerm_virtual_machine_extension".into(),
            target_type_name: "vm_access_reset".into(),
            ..Default::default()
        }),
    )
    .await;
    one_error(&r.diagnostics);
    assert!(r.target_state.is_none());

    let r = answer(
        client.validate_resource_config(proto::validate_resource_config::Request {
            type_name: "vm_nonexistent".into(),
            config: None,
            client_capabilities: caps(true),
        }),
    )
    .await;
    let err = one_error(&r.diagnostics);
    assert_eq!(err.summary, "Unknown resource type");

    let meta = get_metadata(&mut client).await;
    assert_eq!(meta.resources.len(), 2);
}

/// What this provider does not offer yet, answered the way Terraform 1.15
/// expects: diagnostics naming the missing action or list resource (which
/// Terraform only asks for after reading a schema that offers one), and
/// UNIMPLEMENTED for what a capability or experiment gates.
#[tokio::test]
async fn new_rpcs_not_served_yet_answer_as_terraform_expects() {
    use futures_util::StreamExt;
    let (_plugin, mut client) = PluginProcess::start_provider().await;

    let r = answer(client.plan_action(proto::plan_action::Request {
        action_type: "vm_reboot".into(),
        ..Default::default()
    }))
    .await;
    let err = one_error(&r.diagnostics);
    assert_eq!(err.summary, "Unknown action");
    assert!(err.detail.contains("\"vm_reboot\""), "{:?}", err);

    let r = answer(
        client.validate_action_config(proto::validate_action_config::Request {
            type_name: "vm_reboot".into(),
            config: None,
        }),
    )
    .await;
    assert_eq!(errors(&r.diagnostics)[0].summary, "Unknown action");

    // An invocation stream of exactly one event, a completion (an event
    // with neither member set would crash Terraform).
    let events: Vec<_> = answer(client.invoke_action(proto::invoke_action::Request {
        action_type: "vm_reboot".into(),
        ..Default::default()
    }))
    .await
    .collect()
    .await;
    assert_eq!(events.len(), 1, "{events:?}");
    match &events[0].as_ref().expect("an event").r#type {
        Some(proto::invoke_action::event::Type::Completed(done)) => {
            assert_eq!(errors(&done.diagnostics)[0].summary, "Unknown action")
        }
        other => panic!("expected a completion, got {other:?}"),
    }

    let r = answer(client.validate_list_resource_config(
        proto::validate_list_resource_config::Request {
            type_name: "vm_nothing".into(),
            ..Default::default()
        },
    ))
    .await;
    assert_eq!(errors(&r.diagnostics)[0].summary, "Unknown list resource");

    let events: Vec<_> = answer(client.list_resource(proto::list_resource::Request {
        type_name: "vm_nothing".into(),
        limit: 10,
        ..Default::default()
    }))
    .await
    .collect()
    .await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = events[0].as_ref().expect("an event");
    assert!(event.identity.is_none());
    assert_eq!(
        errors(&event.diagnostic)[0].summary,
        "Unknown list resource"
    );

    let status = client
        .generate_resource_config(proto::generate_resource_config::Request {
            type_name: "vm_access_reset".into(),
            state: None,
        })
        .await
        .expect_err("not offered: generate_resource_config is false");
    assert_eq!(status.code(), tonic::Code::Unimplemented);
    // Each RPC is a different method of the client: a macro lists the calls once each.
    macro_rules! with_default_requests {
        ($($rpc:ident($message:ident)),+ $(,)?) => {
            [$(client.$rpc(proto::$message::Request::default()).await.map(drop)),+]
        };
    }
    for status in with_default_requests![
        validate_state_store_config(validate_state_store),
        configure_state_store(configure_state_store),
        lock_state(lock_state),
        unlock_state(unlock_state),
        get_states(get_states),
        delete_state(delete_state),
        read_state_bytes(read_state_bytes),
    ] {
        let status = status.expect_err("state stores are not offered");
        assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    }

    let meta = get_metadata(&mut client).await;
    assert_eq!(meta.resources.len(), 2, "still serving");
}
