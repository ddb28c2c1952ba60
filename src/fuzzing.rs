//! The one door the fuzz targets (`fuzz/`) and their seed generator use, compiled only with the
//! `fuzzing` feature. Each function feeds outside input to a decoder the way the provider does
//! and panics when a property that must hold does not (a decode that re-encodes differently, an
//! ID that does not round-trip). When internals move, only this file follows them.
//!
//! Inputs with several parts use one framing: a selector byte, then fields as a little-endian
//! `u16` length and that many bytes (a short last field takes what is left). [`frame`] builds it.

use std::sync::OnceLock;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use time::OffsetDateTime;
use tonic::Request;

use crate::azure::fuzz_access::{CloudEndpoints, CloudError};
use crate::azure::{self, ExtensionId, OpContext, VirtualMachineId};
use crate::tfprotocol::proto::provider_server::Provider as _;
use crate::tfprotocol::proto::{self, DynamicValue};
use crate::tfprotocol::server::ProtocolServer;
use crate::tfprotocol::timeouts::{self, MAX_TIMEOUT, Operation};
use crate::tfprotocol::{Object, Type, Value, json, msgpack};
use crate::vmaccess::{ExtensionKind, WindowsVmAccess};

/// Splits a framed input into its selector and fields.
pub(crate) fn fields(data: &[u8]) -> (u8, Vec<&[u8]>) {
    let Some((&selector, mut rest)) = data.split_first() else {
        return (0, Vec::new());
    };
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, after) = match rest {
            [a, b, after @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), after),
            _ => (rest.len(), &rest[rest.len()..]),
        };
        let (field, after) = after.split_at(len.min(after.len()));
        out.push(field);
        rest = after;
    }
    (selector, out)
}

/// The inverse of [`fields`], for seeds. Fields longer than `u16::MAX` are cut.
pub fn frame(selector: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![selector];
    for p in parts {
        let len = u16::try_from(p.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&p[..usize::from(len)]);
    }
    out
}

fn field<'a>(parts: &[&'a [u8]], i: usize) -> &'a [u8] {
    parts.get(i).copied().unwrap_or_default()
}

/// The resource's and the provider's value types, which Terraform's bytes are decoded against.
pub fn resource_type() -> Type {
    crate::resources::vm_access_reset::schema()
        .block
        .implied_type()
}

/// The provider configuration's type.
pub fn provider_type() -> Type {
    crate::provider::schema().block.implied_type()
}

/// The resource identity's type (protocol 6.10).
pub fn identity_type() -> Type {
    crate::resources::vm_access_reset::identity::schema().implied_type()
}

/// The identity the provider reports for an extension (for seeds).
pub fn identity_of(id: &ExtensionId) -> Object {
    crate::resources::vm_access_reset::identity::of_extension(id)
}

/// The types the value targets decode against, chosen by a selector.
pub fn value_type(selector: u8) -> Type {
    match selector % 6 {
        0 => resource_type(),
        1 => provider_type(),
        2 => Type::Dynamic,
        3 => Type::list(Type::map(Type::Number)),
        4 => Type::Tuple(vec![Type::String, Type::set(Type::Bool), Type::Dynamic]),
        _ => Type::map(Type::Dynamic),
    }
}

/// The input's value, of the type its first byte picks ([`value_type`]), when it decodes.
fn typed<E>(data: &[u8], decode: fn(&[u8], &Type) -> Result<Value, E>) -> Option<(Type, Value)> {
    let (&selector, bytes) = data.split_first()?;
    let ty = value_type(selector);
    let value = decode(bytes, &ty).ok()?;
    Some((ty, value))
}

/// msgpack `DynamicValue`: whatever decodes re-encodes, and one decode/encode reaches a fixed
/// point (the first may normalise, e.g. a typed null inside a dynamic value).
pub fn msgpack_roundtrip(data: &[u8]) {
    let Some((ty, value)) = typed(data, msgpack::decode) else {
        return;
    };
    let once = msgpack::encode(&value, &ty).expect("a decoded value encodes");
    let again = msgpack::decode(&once, &ty).expect("an encoded value decodes");
    let twice = msgpack::encode(&again, &ty).expect("a decoded value encodes");
    assert_eq!(once, twice, "decode/encode is not a fixed point");
}

/// `UpgradeResourceState`'s path: state JSON from any older version, re-encoded as msgpack.
pub fn json_state(data: &[u8]) {
    let Some((ty, value)) = typed(data, json::decode) else {
        return;
    };
    let packed = msgpack::encode(&value, &ty).expect("decoded state encodes as msgpack");
    let back = msgpack::decode(&packed, &ty).expect("re-encoded state decodes");
    assert_eq!(
        msgpack::encode(&back, &ty).expect("a decoded value encodes"),
        packed,
        "state does not survive msgpack"
    );
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
    })
}

fn server() -> &'static ProtocolServer {
    static SERVER: OnceLock<ProtocolServer> = OnceLock::new();
    SERVER.get_or_init(crate::protocol_server)
}

fn dv(msgpack: &[u8]) -> Option<DynamicValue> {
    Some(DynamicValue {
        msgpack: msgpack.to_vec(),
        json: Vec::new(),
    })
}

/// Which RPC [`grpc`] calls for a selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rpc {
    /// `ValidateResourceConfig`
    ValidateResourceConfig,
    /// `PlanResourceChange`
    PlanResourceChange,
    /// `UpgradeResourceState`
    UpgradeResourceState,
    /// `ValidateProviderConfig`
    ValidateProviderConfig,
    // Protocol 6.10. A new RPC gets a variant here, an entry in `ALL`, an arm in `grpc` and a
    // seed in tests/fuzz_seeds.rs.
    /// `UpgradeResourceIdentity`
    UpgradeResourceIdentity,
    /// `ValidateListResourceConfig`
    ValidateListResourceConfig,
    /// `ValidateActionConfig`
    ValidateActionConfig,
}

impl Rpc {
    pub(crate) const ALL: [Rpc; 7] = [
        Rpc::ValidateResourceConfig,
        Rpc::PlanResourceChange,
        Rpc::UpgradeResourceState,
        Rpc::ValidateProviderConfig,
        Rpc::UpgradeResourceIdentity,
        Rpc::ValidateListResourceConfig,
        Rpc::ValidateActionConfig,
    ];

    /// The low four bits pick the RPC; the high four are [`version_of`].
    pub(crate) fn of(selector: u8) -> Rpc {
        Rpc::ALL[usize::from(selector & 0x0f) % Rpc::ALL.len()]
    }

    /// The selector byte that chooses this RPC (for seeds).
    pub fn selector(self) -> u8 {
        position_in(&Rpc::ALL, self)
    }
}

/// The schema version an upgrade RPC is asked for: -1, 0 (the schema's) or 1 (a newer
/// provider's), from the selector's high four bits.
pub(crate) fn version_of(selector: u8) -> i64 {
    i64::from(selector >> 4) % 3 - 1
}

/// The gRPC handlers end to end, from request message to response message. Fields:
/// - ValidateResourceConfig: config (msgpack);
/// - PlanResourceChange: prior state, proposed new state, config (msgpack), prior private,
///   prior identity (msgpack);
/// - UpgradeResourceState / UpgradeResourceIdentity: raw JSON; version from [`version_of`];
/// - ValidateProviderConfig, ValidateActionConfig: config (msgpack);
/// - ValidateListResourceConfig: config, include_resource_object, limit (msgpack).
///
/// Whatever the input, each answers (diagnostics, never a panic), and every state or identity
/// it returns decodes against the resource's state or identity type.
pub fn grpc(data: &[u8]) {
    let (selector, parts) = fields(data);
    let s = server();
    let ty = resource_type();
    let identity_ty = identity_type();
    let identity = |dv: Option<DynamicValue>| {
        dv.map(|d| proto::ResourceIdentityData {
            identity_data: Some(d),
        })
    };
    let returned: (Option<DynamicValue>, Option<DynamicValue>) = runtime().block_on(async {
        match Rpc::of(selector) {
            Rpc::ValidateResourceConfig => {
                let req = proto::validate_resource_config::Request {
                    type_name: "vm_access_reset".into(),
                    config: dv(field(&parts, 0)),
                    ..Default::default()
                };
                answer(s.validate_resource_config(Request::new(req))).await;
                (None, None)
            }
            Rpc::PlanResourceChange => {
                let req = proto::plan_resource_change::Request {
                    type_name: "vm_access_reset".into(),
                    prior_state: dv(field(&parts, 0)),
                    proposed_new_state: dv(field(&parts, 1)),
                    config: dv(field(&parts, 2)),
                    prior_private: field(&parts, 3).to_vec(),
                    prior_identity: identity(dv(field(&parts, 4))),
                    ..Default::default()
                };
                let resp = answer(s.plan_resource_change(Request::new(req))).await;
                (
                    resp.planned_state,
                    resp.planned_identity.and_then(|i| i.identity_data),
                )
            }
            Rpc::UpgradeResourceState => {
                let req = proto::upgrade_resource_state::Request {
                    type_name: "vm_access_reset".into(),
                    version: version_of(selector),
                    raw_state: raw(field(&parts, 0)),
                };
                let resp = answer(s.upgrade_resource_state(Request::new(req))).await;
                (resp.upgraded_state, None)
            }
            Rpc::ValidateProviderConfig => {
                let req = proto::validate_provider_config::Request {
                    config: dv(field(&parts, 0)),
                };
                answer(s.validate_provider_config(Request::new(req))).await;
                (None, None)
            }
            Rpc::UpgradeResourceIdentity => {
                let req = proto::upgrade_resource_identity::Request {
                    type_name: "vm_access_reset".into(),
                    version: version_of(selector),
                    raw_identity: raw(field(&parts, 0)),
                };
                let resp = answer(s.upgrade_resource_identity(Request::new(req))).await;
                (None, resp.upgraded_identity.and_then(|i| i.identity_data))
            }
            Rpc::ValidateListResourceConfig => {
                let req = proto::validate_list_resource_config::Request {
                    type_name: "vm_access_reset".into(),
                    config: dv(field(&parts, 0)),
                    include_resource_object: dv(field(&parts, 1)),
                    limit: dv(field(&parts, 2)),
                };
                answer(s.validate_list_resource_config(Request::new(req))).await;
                (None, None)
            }
            Rpc::ValidateActionConfig => {
                let req = proto::validate_action_config::Request {
                    type_name: "vm_access_reset".into(),
                    config: dv(field(&parts, 0)),
                };
                answer(s.validate_action_config(Request::new(req))).await;
                (None, None)
            }
        }
    });
    let (state, identity) = returned;
    if let Some(v) = state.filter(|v| !v.msgpack.is_empty()) {
        msgpack::decode(&v.msgpack, &ty).expect("a returned state decodes");
    }
    if let Some(v) = identity.filter(|v| !v.msgpack.is_empty()) {
        msgpack::decode(&v.msgpack, &identity_ty).expect("a returned identity decodes");
    }
}

/// The reply of a handler, which must answer whatever it is sent.
async fn answer<T>(call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>) -> T {
    call.await.expect("answers").into_inner()
}

/// Stored JSON state or identity.
fn raw(json: &[u8]) -> Option<proto::RawState> {
    Some(proto::RawState {
        json: json.to_vec(),
        flatmap: Default::default(),
    })
}

/// ARM IDs: whatever parses prints canonically, and the printed form parses to the same ID.
pub fn ids(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = VirtualMachineId::parse(text) {
        let printed = id.to_string();
        assert_eq!(VirtualMachineId::parse(&printed).as_ref(), Ok(&id));
        let ext = id.extension("VMAccessAgent");
        assert_eq!(ExtensionId::parse(&ext.to_string()).as_ref(), Ok(&ext));
    }
    if let Ok(ext) = ExtensionId::parse(text) {
        let printed = ext.to_string();
        assert_eq!(ExtensionId::parse(&printed).as_ref(), Ok(&ext));
        assert_eq!(
            VirtualMachineId::parse(&ext.vm().to_string()).as_ref(),
            Ok(ext.vm())
        );
    }
}

/// `timeouts` durations: parsed, bounded, printed and parsed back (to the second), and turned
/// into an operation deadline as the resource does.
pub fn duration(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut t = Object::new();
    t.set("create", Value::string(text));
    let mut resource = Object::new();
    resource.set("timeouts", Value::Object(t));
    let from_block = timeouts::get(&resource, Operation::Create, Duration::from_secs(1800));
    let parsed = timeouts::parse_duration(text);
    assert_eq!(from_block.is_ok(), parsed.is_ok());
    let Ok(d) = parsed else { return };
    assert!(d <= MAX_TIMEOUT);
    let whole = Duration::from_secs(d.as_secs());
    assert_eq!(
        timeouts::parse_duration(&timeouts::format_duration(d)),
        Ok(whole)
    );
    let ctx = OpContext::new(d, Default::default());
    assert!(ctx.remaining() <= d);
}

/// What [`arm_json`] decodes, by selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArmDoc {
    /// A VM read with its instance view.
    VirtualMachine,
    /// A VM extension.
    Extension,
    /// An ARM error body.
    ErrorResponse,
    /// A cloud's metadata endpoint answer.
    CloudMetadata,
    /// An `Azure-AsyncOperation` status.
    OperationStatus,
    /// The final answer of a `Location` poll.
    LocationResult,
}

impl ArmDoc {
    pub(crate) const ALL: [ArmDoc; 6] = [
        ArmDoc::VirtualMachine,
        ArmDoc::Extension,
        ArmDoc::ErrorResponse,
        ArmDoc::CloudMetadata,
        ArmDoc::OperationStatus,
        ArmDoc::LocationResult,
    ];

    /// The selector byte that chooses this document (for seeds).
    pub fn selector(self) -> u8 {
        position_in(&ArmDoc::ALL, self)
    }
}

/// Where `item` stands in `all`, as a selector byte.
fn position_in<T: PartialEq>(all: &[T], item: T) -> u8 {
    all.iter()
        .position(|r| *r == item)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(0)
}

fn response(status: u16, headers: HeaderMap, body: &[u8]) -> azure::fuzz_access::ArmResponse {
    azure::fuzz_access::ArmResponse {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        headers,
        body: body.to_vec(),
    }
}

/// ARM JSON bodies: the VM model, the extension, error responses (`CloudError` and the bare
/// throttling shape, for each status class), cloud metadata, and operation status documents.
/// Fields: body; the selector's high bits pick a status.
pub fn arm_json(data: &[u8]) {
    let (selector, parts) = fields(data);
    let body = field(&parts, 0);
    let status =
        [200, 201, 202, 204, 400, 401, 404, 409, 429, 500][usize::from(selector >> 3) % 10];
    use azure::fuzz_access as fa;
    // Any body may reach a trace log, redacted.
    let _ = fa::redact_body(body);
    match ArmDoc::ALL[usize::from(selector) % ArmDoc::ALL.len()] {
        ArmDoc::VirtualMachine => {
            if let Ok(vm) = serde_json::from_slice::<azure::VirtualMachine>(body) {
                let _ = (vm.os_type(), vm.power_state(), vm.is_running(), vm.agent());
                let kind = WindowsVmAccess::KIND;
                let _ = vm.extension_name_of(kind.publisher, kind.extension_type);
            }
        }
        ArmDoc::Extension => {
            if let Ok(wire) = serde_json::from_slice::<fa::ExtensionWire>(body) {
                let ext = azure::VmExtension::from(wire);
                let _ = (WindowsVmAccess::KIND.matches(&ext), ext.status_messages());
            }
        }
        ArmDoc::ErrorResponse => {
            if let Some(e) = CloudError::parse(body) {
                let _ = (e.internal_code(), e.is_vm_not_running());
            }
            let _ = azure::AzureError::from_response(status, body, "VM extension").to_string();
        }
        ArmDoc::CloudMetadata => {
            if let Ok(c) = CloudEndpoints::from_metadata(body) {
                let _ = format!("{c:?}");
            }
        }
        ArmDoc::OperationStatus => {
            let target = fa::PollTarget::AsyncOperation("https://example/op".into());
            let _ = fa::interpret(&target, &response(status, HeaderMap::new(), body));
        }
        ArmDoc::LocationResult => {
            let target = fa::PollTarget::Location("https://example/loc".into());
            let _ = fa::interpret(&target, &response(status, HeaderMap::new(), body));
        }
    }
}

/// The headers the client interprets: `Retry-After` (seconds, fractions, HTTP dates),
/// `x-ms-retry-after-ms`/`retry-after-ms`, and the long-running-operation headers
/// (`Azure-AsyncOperation`, `Location`) of an initial response, then the first poll wait.
/// Fields: alternating header names and values; the selector picks the status.
pub fn lro_headers(data: &[u8]) {
    let (selector, parts) = fields(data);
    let mut headers = HeaderMap::new();
    for pair in parts.chunks(2) {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(field(pair, 0)),
            HeaderValue::from_bytes(field(pair, 1)),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    // A fixed clock so an input means the same wait on every run.
    let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    let wait = azure::fuzz_access::parse_retry_after(&headers, now);
    let status = [200, 201, 202, 204][usize::from(selector) % 4];
    let resp = response(status, headers, b"");
    let vm = VirtualMachineId::new("s", "rg", "vm");
    let op = azure::fuzz_access::pending_from_initial(&resp, vm.extension("VMAccessAgent"));
    let _ = (op.is_done(), op.uses_async_operation_header());
    // The status URL is logged (redacted) before it is polled.
    if let Some(url) = op.status_url().and_then(|u| reqwest::Url::parse(u).ok()) {
        let _ = azure::fuzz_access::redact_url(&url);
    }
    let policy = azure::PollPolicy::default();
    let first = policy.first().max(wait.unwrap_or(Duration::ZERO));
    let ctx = OpContext::new(Duration::from_secs(1800), Default::default());
    // As the poll schedule does: the server's wait wins when longer, the cadence backs off.
    let _ = (ctx.would_pass_deadline(first), policy.gap(first));
}
