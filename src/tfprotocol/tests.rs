//! The server driven directly (no gRPC transport) with a tiny provider that
//! has a resource with identity, an action and a list resource, so every
//! optional capability is exercised whether or not the real provider offers
//! it yet.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;
use tonic::Request;

use super::proto::provider_server::Provider as _;
use super::*;
use crate::tfprotocol::codec::{decode_dynamic, encode_dynamic};
use crate::tfprotocol::server::ProtocolServer;

const THING: &str = "test_thing";
const ECHO: &str = "test_echo";

struct Thing {
    identity: Option<ThingIdentity>,
}

struct ThingIdentity(IdentitySchema);

fn thing_state(name: &str) -> Object {
    Object::new()
        .with("id", Value::string(format!("thing/{name}")))
        .with("name", Value::string(name))
}

#[async_trait::async_trait]
impl ResourceIdentity for ThingIdentity {
    fn schema(&self) -> &IdentitySchema {
        &self.0
    }
    fn identity_of_state(&self, state: &Object) -> Option<Object> {
        let name = state.get_string("id")?.strip_prefix("thing/")?;
        Some(Object::new().with("name", Value::string(name)))
    }
    async fn import_id(&self, identity: &Object) -> Result<String, Diagnostics> {
        Ok(format!(
            "thing/{}",
            identity.get_string("name").unwrap_or_default()
        ))
    }
}

#[async_trait::async_trait]
impl Resource for Thing {
    async fn read(&self, request: ReadRequest) -> StateResponse {
        StateResponse {
            state: Some(request.state),
            private: request.private,
            diagnostics: Diagnostics::new(),
        }
    }
    async fn plan(&self, _: &PlanRequest, _: &mut PlanResponse) {}
    async fn create(&self, request: ApplyRequest) -> StateResponse {
        let name = request.planned.get_string("name").unwrap_or_default();
        StateResponse {
            state: Some(thing_state(name)),
            ..StateResponse::default()
        }
    }
    async fn update(&self, request: ApplyRequest) -> StateResponse {
        self.create(request).await
    }
    async fn delete(&self, _: DeleteRequest) -> StateResponse {
        StateResponse::default()
    }
    async fn import(&self, request: ImportRequest<'_>) -> StateResponse {
        let id = request.id;
        match id.strip_prefix("thing/") {
            Some(name) => StateResponse {
                state: Some(thing_state(name)),
                ..StateResponse::default()
            },
            None => StateResponse::error(Diagnostic::error("Bad ID", id.to_string())),
        }
    }
    fn identity(&self) -> Option<&dyn ResourceIdentity> {
        self.identity.as_ref().map(|i| i as &dyn ResourceIdentity)
    }
}

struct Echo;

#[async_trait::async_trait]
impl Action for Echo {
    fn validate(&self, config: &Object) -> Diagnostics {
        match config.get_string("message") {
            Some("") => Diagnostic::error("Empty message", "say something")
                .at_attr("message")
                .into(),
            _ => Diagnostics::new(),
        }
    }
    async fn invoke(&self, config: Object, progress: Progress) -> Diagnostics {
        let message = config.get_string("message").unwrap_or_default().to_string();
        progress.send(format!("starting {message}")).await;
        progress.send("halfway").await;
        if message == "fail" {
            return Diagnostic::error("It failed", "as asked").into();
        }
        Diagnostics::new()
    }
}

/// Lists `count` things and records whether Terraform stopped it.
struct ThingList {
    count: usize,
    saw_closed: Arc<AtomicBool>,
    sent: Arc<Mutex<usize>>,
}

#[async_trait::async_trait]
impl ListResource for ThingList {
    async fn list(&self, request: ListRequest, results: ListSink) -> Diagnostics {
        let prefix = request
            .config
            .get_string("prefix")
            .unwrap_or("t")
            .to_string();
        for i in 0..self.count {
            let name = format!("{prefix}{i}");
            let result = ListResult {
                identity: Object::new().with("name", Value::string(&name)),
                display_name: format!("Thing {name}"),
                resource_object: Some(thing_state(&name)),
                diagnostics: Diagnostics::new(),
            };
            if results.send(result).await == Err(list::Closed) {
                self.saw_closed.store(true, Ordering::SeqCst);
                return Diagnostics::new();
            }
            *self.sent.lock().unwrap() += 1;
        }
        Diagnostic::warning("Listing done", "no more things").into()
    }
}

/// The methods every test provider has alike (`async fn`s cannot come from a macro inside
/// an `#[async_trait]` impl, so `configure` is written out).
macro_rules! provider_basics {
    () => {
        fn schema(&self) -> &Schema {
            &self.schema
        }
        fn resources(&self) -> Vec<Declared<dyn Resource>> {
            self.resources.clone()
        }
    };
}

struct TestProvider {
    schema: Schema,
    resources: Vec<Declared<dyn Resource>>,
    actions: Vec<Declared<dyn Action>>,
    lists: Vec<Declared<dyn ListResource>>,
}

#[async_trait::async_trait]
impl Provider for TestProvider {
    provider_basics!();
    fn actions(&self) -> Vec<Declared<dyn Action>> {
        self.actions.clone()
    }
    fn list_resources(&self) -> Vec<Declared<dyn ListResource>> {
        self.lists.clone()
    }
    async fn configure(&self, _: &Object, _: &str) -> Diagnostics {
        Diagnostics::new()
    }
}

/// Only what every provider must have: one resource, no identity, defaults
/// for everything optional.
struct MinimalProvider {
    schema: Schema,
    resources: Vec<Declared<dyn Resource>>,
}

#[async_trait::async_trait]
impl Provider for MinimalProvider {
    provider_basics!();
    async fn configure(&self, _: &Object, _: &str) -> Diagnostics {
        Diagnostics::new()
    }
}

fn thing_schema() -> Schema {
    Schema {
        version: 0,
        block: Block::new("a thing")
            .attribute(Attribute::string("id").computed().use_state_for_unknown())
            .attribute(Attribute::string("name").required()),
    }
}

/// The thing resource, with or without its identity.
fn declared_thing(with_identity: bool) -> Declared<dyn Resource> {
    let thing = Thing {
        identity: with_identity.then(thing_identity),
    };
    Declared::new(THING, thing_schema(), Arc::new(thing))
}

fn thing_identity() -> ThingIdentity {
    ThingIdentity(IdentitySchema {
        version: 2,
        attributes: vec![IdentityAttribute::string(
            "name",
            ImportRule::Required,
            "The thing's name.",
        )],
    })
}

fn echo_schema() -> Schema {
    Schema {
        version: 0,
        block: Block::new("echo")
            .attribute(Attribute::string("message").required())
            .attribute(
                Attribute::string("secret")
                    .optional()
                    .write_only()
                    .sensitive(),
            ),
    }
}

struct Fixture {
    server: ProtocolServer,
    saw_closed: Arc<AtomicBool>,
    sent: Arc<Mutex<usize>>,
}

fn fixture(count: usize) -> Fixture {
    let saw_closed = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(Mutex::new(0));
    let provider = TestProvider {
        schema: Schema::default(),
        resources: vec![declared_thing(true)],
        actions: vec![Declared::new(ECHO, echo_schema(), Arc::new(Echo))],
        lists: vec![Declared::new(
            THING,
            Schema {
                version: 0,
                block: Block::new("list").attribute(Attribute::string("prefix").optional()),
            },
            Arc::new(ThingList {
                count,
                saw_closed: saw_closed.clone(),
                sent: sent.clone(),
            }),
        )],
    };
    Fixture {
        server: ProtocolServer::new(Arc::new(provider), CancellationToken::new()),
        saw_closed,
        sent,
    }
}

impl Fixture {
    /// `PlanResourceChange` of the thing (a create when `prior` is `None`).
    async fn plan(
        &self,
        prior: Option<&Object>,
        proposed: &Object,
        config: &Object,
    ) -> proto::plan_resource_change::Response {
        let block = thing_block();
        let request = proto::plan_resource_change::Request {
            type_name: THING.into(),
            prior_state: prior.and_then(|p| dv(p, &block)),
            proposed_new_state: dv(proposed, &block),
            config: dv(config, &block),
            ..Default::default()
        };
        reply(self.server.plan_resource_change(Request::new(request))).await
    }
}

fn dv(obj: &Object, block: &Block) -> Option<proto::DynamicValue> {
    Some(encode_dynamic(&Value::Object(obj.clone()), &block.implied_type()).unwrap())
}

fn thing_block() -> Block {
    thing_schema().block
}

fn identity_type() -> Type {
    thing_identity().0.implied_type()
}

fn identity_data(name: &str) -> Option<proto::ResourceIdentityData> {
    let obj = Object::new().with("name", Value::string(name));
    Some(proto::ResourceIdentityData {
        identity_data: Some(encode_dynamic(&Value::Object(obj), &identity_type()).unwrap()),
    })
}

fn identity_name(data: Option<&proto::ResourceIdentityData>) -> Option<String> {
    let dv = data?.identity_data.as_ref()?;
    let value = decode_dynamic(Some(dv), &identity_type()).unwrap();
    value.as_object()?.get_string("name").map(str::to_string)
}

#[track_caller]
fn assert_identity(data: Option<&proto::ResourceIdentityData>, name: &str) {
    assert_eq!(identity_name(data).as_deref(), Some(name));
}

/// The answer of an RPC that must succeed.
async fn reply<T>(call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>) -> T {
    call.await.unwrap().into_inner()
}

fn errors(diags: &[proto::Diagnostic]) -> Vec<&proto::Diagnostic> {
    let error = proto::diagnostic::Severity::Error as i32;
    diags.iter().filter(|d| d.severity == error).collect()
}

#[tokio::test]
async fn schemas_and_metadata_list_actions_lists_and_identities() {
    let f = fixture(0);
    let schema = reply(
        f.server
            .get_provider_schema(Request::new(Default::default())),
    )
    .await;
    let action = schema.action_schemas[ECHO]
        .schema
        .as_ref()
        .expect("action schema");
    let block = action
        .block
        .as_ref()
        .expect("an action schema always has a block");
    assert!(
        block
            .attributes
            .iter()
            .any(|a| a.name == "secret" && a.write_only && a.sensitive)
    );
    assert!(schema.list_resource_schemas[THING].block.is_some());
    assert!(!schema.server_capabilities.unwrap().generate_resource_config);

    let meta = reply(f.server.get_metadata(Request::new(Default::default()))).await;
    assert_eq!(meta.actions[0].type_name, ECHO);
    assert_eq!(meta.list_resources[0].type_name, THING);

    let ids = reply(
        f.server
            .get_resource_identity_schemas(Request::new(Default::default())),
    )
    .await;
    assert!(ids.diagnostics.is_empty());
    let schema = &ids.identity_schemas[THING];
    assert_eq!(schema.version, 2);
    let attr = &schema.identity_attributes[0];
    assert_eq!(
        (attr.name.as_str(), attr.r#type.as_slice()),
        ("name", b"\"string\"".as_slice())
    );
    assert!(attr.required_for_import && !attr.optional_for_import);
}

#[tokio::test]
async fn a_provider_without_optional_capabilities_offers_none_and_no_error() {
    let provider = MinimalProvider {
        schema: Schema::default(),
        resources: vec![declared_thing(false)],
    };
    let server = ProtocolServer::new(Arc::new(provider), CancellationToken::new());
    let ids = reply(server.get_resource_identity_schemas(Request::new(Default::default()))).await;
    assert!(ids.identity_schemas.is_empty() && ids.diagnostics.is_empty());
    let schema = reply(server.get_provider_schema(Request::new(Default::default()))).await;
    assert!(schema.action_schemas.is_empty() && schema.list_resource_schemas.is_empty());
    // Reads carry no identity for a resource without one.
    let read = reply(
        server.read_resource(Request::new(proto::read_resource::Request {
            type_name: THING.into(),
            current_state: dv(&thing_state("a"), &thing_block()),
            ..Default::default()
        })),
    )
    .await;
    assert!(read.new_identity.is_none());
    // Unknown kinds get the one "no X of that name" diagnostic.
    let plan = reply(
        server.plan_action(Request::new(proto::plan_action::Request {
            action_type: "test_reboot".into(),
            ..Default::default()
        })),
    )
    .await;
    assert_eq!(errors(&plan.diagnostics)[0].summary, "Unknown action");
    assert!(
        plan.diagnostics[0]
            .detail
            .contains("no actions; \"test_reboot\""),
        "{:?}",
        plan.diagnostics
    );
}

#[tokio::test]
async fn invoke_streams_progress_then_one_completion() {
    let f = fixture(0);
    let block = echo_schema().block;
    let invoke = |message: &str| proto::invoke_action::Request {
        action_type: ECHO.into(),
        config: dv(
            &Object::new()
                .with("message", Value::string(message))
                .with("secret", Value::Null),
            &block,
        ),
        client_capabilities: None,
    };
    use proto::invoke_action::event::Type;
    for (message, want_errors) in [("hello", 0), ("fail", 1)] {
        let events: Vec<_> = reply(f.server.invoke_action(Request::new(invoke(message))))
            .await
            .collect()
            .await;
        let events: Vec<Type> = events
            .into_iter()
            .map(|e| e.unwrap().r#type.expect("every event has a type"))
            .collect();
        assert_eq!(events.len(), 3, "{events:?}");
        assert_eq!(
            events[0],
            Type::Progress(proto::invoke_action::event::Progress {
                message: format!("starting {message}")
            })
        );
        assert!(matches!(&events[1], Type::Progress(p) if p.message == "halfway"));
        let Type::Completed(done) = &events[2] else {
            panic!("last event is the completion: {events:?}")
        };
        assert_eq!(errors(&done.diagnostics).len(), want_errors);
    }

    // An unknown action completes at once with the error.
    let events: Vec<_> = reply(f.server.invoke_action(Request::new(
        proto::invoke_action::Request {
            action_type: "test_nope".into(),
            ..Default::default()
        },
    )))
    .await
    .collect()
    .await;
    assert_eq!(events.len(), 1);
    let Some(Type::Completed(done)) = &events[0].as_ref().unwrap().r#type else {
        panic!("{events:?}")
    };
    assert_eq!(done.diagnostics[0].summary, "Unknown action");
    assert!(
        done.diagnostics[0].detail.contains("\"test_echo\""),
        "names what exists"
    );

    // Validate and plan reach the action with typed config.
    let diags = reply(f.server.validate_action_config(Request::new(
        proto::validate_action_config::Request {
            type_name: ECHO.into(),
            config: invoke("").config,
        },
    )))
    .await
    .diagnostics;
    assert_eq!(errors(&diags)[0].summary, "Empty message");
    let plan = f
        .server
        .plan_action(Request::new(proto::plan_action::Request {
            action_type: ECHO.into(),
            config: invoke("").config,
            client_capabilities: None,
        }));
    assert_eq!(errors(&reply(plan).await.diagnostics).len(), 1);
}

fn list_request(include: bool, limit: i64) -> proto::list_resource::Request {
    proto::list_resource::Request {
        type_name: THING.into(),
        config: dv(
            &Object::new().with("prefix", Value::string("x")),
            &Block::new("").attribute(Attribute::string("prefix").optional()),
        ),
        include_resource_object: include,
        limit,
    }
}

#[tokio::test]
async fn list_streams_identities_and_ends_with_its_diagnostics() {
    let f = fixture(2);
    for include in [false, true] {
        let events: Vec<_> = reply(
            f.server
                .list_resource(Request::new(list_request(include, 100))),
        )
        .await
        .map(Result::unwrap)
        .collect()
        .await;
        assert_eq!(events.len(), 3, "{events:?}");
        assert_identity(events[0].identity.as_ref(), "x0");
        assert_eq!(events[1].display_name, "Thing x1");
        assert_eq!(events[0].resource_object.is_some(), include);
        if include {
            let obj = decode_dynamic(
                events[0].resource_object.as_ref(),
                &thing_block().implied_type(),
            )
            .unwrap();
            assert_eq!(obj, Value::Object(thing_state("x0")));
        }
        // The final warning travels in the repeated `diagnostic` field.
        assert!(events[2].identity.is_none());
        assert_eq!(events[2].diagnostic[0].summary, "Listing done");
    }
    // Unknown list type: one event with the error.
    let mut req = list_request(false, 1);
    req.type_name = "test_other".into();
    let events: Vec<_> = reply(f.server.list_resource(Request::new(req)))
        .await
        .collect()
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].as_ref().unwrap().diagnostic[0].summary,
        "Unknown list resource"
    );
}

#[tokio::test]
async fn list_stops_when_terraform_closes_the_stream() {
    let f = fixture(1_000);
    let mut stream = reply(f.server.list_resource(Request::new(list_request(false, 2)))).await;
    for _ in 0..2 {
        stream.next().await.expect("a result").unwrap();
    }
    // What tonic does when Terraform cancels after `limit` results.
    drop(stream);
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while !f.saw_closed.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the listing saw Closed");
    assert!(
        *f.sent.lock().unwrap() < 10,
        "stopped promptly, sent {}",
        f.sent.lock().unwrap()
    );
}

#[tokio::test]
async fn identity_comes_from_state_in_every_reply() {
    let f = fixture(0);
    let block = thing_block();
    // Read: a stale identity in the request is not echoed.
    let read = reply(
        f.server
            .read_resource(Request::new(proto::read_resource::Request {
                type_name: THING.into(),
                current_state: dv(&thing_state("a"), &block),
                current_identity: identity_data("stale"),
                ..Default::default()
            })),
    )
    .await;
    assert_identity(read.new_identity.as_ref(), "a");

    // Plan of an update from a prior without identity (old state).
    let config = Object::new()
        .with("id", Value::Null)
        .with("name", Value::string("a"));
    let plan = f
        .plan(Some(&thing_state("a")), &thing_state("a"), &config)
        .await;
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    assert_identity(plan.planned_identity.as_ref(), "a");

    // Plan of a create: the ID is unknown, so is the identity (null).
    let plan = f.plan(None, &config, &config).await;
    assert!(plan.planned_identity.is_none());

    // Apply of the create.
    let planned = config.clone().with("id", Value::Unknown);
    let apply = reply(f.server.apply_resource_change(Request::new(
        proto::apply_resource_change::Request {
            type_name: THING.into(),
            planned_state: dv(&planned, &block),
            config: dv(&config, &block),
            ..Default::default()
        },
    )))
    .await;
    assert_identity(apply.new_identity.as_ref(), "a");

    // Import by ID also returns the identity.
    let import = reply(f.server.import_resource_state(Request::new(
        proto::import_resource_state::Request {
            type_name: THING.into(),
            id: "thing/b".into(),
            ..Default::default()
        },
    )))
    .await;
    assert_identity(import.imported_resources[0].identity.as_ref(), "b");
}

#[tokio::test]
async fn import_by_identity_resolves_checks_and_returns_it() {
    let f = fixture(0);
    let import = |identity| {
        f.server
            .import_resource_state(Request::new(proto::import_resource_state::Request {
                type_name: THING.into(),
                id: String::new(),
                identity,
                ..Default::default()
            }))
    };
    let resp = reply(import(identity_data("c"))).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let imported = &resp.imported_resources[0];
    assert_identity(imported.identity.as_ref(), "c");
    let state = decode_dynamic(imported.state.as_ref(), &thing_block().implied_type()).unwrap();
    assert_eq!(state, Value::Object(thing_state("c")));

    // A required attribute missing: named, nothing imported.
    let null_name = Some(proto::ResourceIdentityData {
        identity_data: Some(
            encode_dynamic(
                &Value::Object(Object::new().with("name", Value::Null)),
                &identity_type(),
            )
            .unwrap(),
        ),
    });
    let resp = reply(import(null_name)).await;
    assert!(resp.imported_resources.is_empty());
    let errs = errors(&resp.diagnostics);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].detail.contains("`name`"), "{:?}", errs[0]);
}

#[tokio::test]
async fn identity_upgrade_of_state_without_identity_is_null() {
    let f = fixture(0);
    let upgrade = |version: i64, json: &[u8]| {
        f.server.upgrade_resource_identity(Request::new(
            proto::upgrade_resource_identity::Request {
                type_name: THING.into(),
                version,
                raw_identity: Some(proto::RawState {
                    json: json.to_vec(),
                    flatmap: Default::default(),
                }),
            },
        ))
    };
    let resp = reply(upgrade(0, b"")).await;
    assert!(resp.diagnostics.is_empty() && resp.upgraded_identity.is_none());
    // The default keeps a stored identity, completed to the current schema.
    let resp = reply(upgrade(1, br#"{"name":"d"}"#)).await;
    assert_identity(resp.upgraded_identity.as_ref(), "d");
    // From a newer provider, or garbage: errors.
    let resp = reply(upgrade(3, br#"{"name":"d"}"#)).await;
    assert_eq!(errors(&resp.diagnostics).len(), 1);
    let resp = reply(upgrade(1, b"{")).await;
    assert_eq!(errors(&resp.diagnostics).len(), 1);
}

#[tokio::test]
async fn state_store_and_config_generation_are_unimplemented() {
    let f = fixture(0);
    let refusals = [
        f.server
            .lock_state(Request::new(Default::default()))
            .await
            .err(),
        f.server
            .generate_resource_config(Request::new(Default::default()))
            .await
            .err(),
    ];
    for status in refusals {
        assert_eq!(
            status.map(|s| s.code()),
            Some(tonic::Code::Unimplemented),
            "not offered"
        );
    }
}
