//! The tfplugin6 `Provider` service, a thin adapter: each RPC decodes its
//! request ([`codec`](super::codec)), finds the object it names
//! ([`dispatch`](super::dispatch)), calls it, and encodes the answer. Plan
//! rules, capabilities, upgrades and the two event streams live in their own
//! modules; nothing here knows about Azure.
//!
//! Every RPC the provider serves is an ordinary method of [`ProtocolServer`] with the RPC's name,
//! returning its response, or `Err(Diagnostics)` when the request itself is unusable; its
//! [`Fallback`] then says what the response keeps. The `provider_service!` macro only wires these
//! methods into tonic's trait, and answers the RPCs of kinds of object and features the provider
//! does not have from two tables.

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::action::Action;
use super::codec::{decode_block, encode_block};
use super::declared::Declared;
use super::diagnostics::{Diagnostic, Diagnostics, path_to_proto};
use super::dispatch::{Kind, Registry, decode_identity, identity_of, required_identity, unknown};
use super::list::{ListRequest, ListResource};
use super::proto::{self, provider_server};
use super::provider::Provider;
use super::resource::{
    ApplyRequest, DeleteRequest, ImportRequest, PlanRequest, PlanResponse, ReadRequest, Resource,
    StateResponse, ValidateRequest,
};
use super::value::Object;
use super::{capabilities, plan_rules, streams, upgrade};

pub struct ProtocolServer {
    provider: Arc<dyn Provider>,
    registry: Registry,
    stop: CancellationToken,
    schema: OnceLock<proto::get_provider_schema::Response>,
}

impl ProtocolServer {
    /// `stop` is cancelled by `StopProvider`; resource code waits on it.
    pub(crate) fn new(provider: Arc<dyn Provider>, stop: CancellationToken) -> ProtocolServer {
        ProtocolServer {
            registry: Registry::new(provider.as_ref()),
            provider,
            stop,
            schema: OnceLock::new(),
        }
    }

    pub(crate) fn into_service(self) -> provider_server::ProviderServer<ProtocolServer> {
        // Terraform's own providers allow 256 MiB; tonic's default is 4 MiB.
        provider_server::ProviderServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    fn build_schema(&self) -> proto::get_provider_schema::Response {
        let r = &self.registry;
        proto::get_provider_schema::Response {
            provider: Some(self.provider.schema().to_proto()),
            resource_schemas: r
                .resources
                .iter()
                .map(|(name, res)| (name.to_string(), res.schema.to_proto()))
                .collect(),
            list_resource_schemas: r
                .lists
                .iter()
                .map(|(name, l)| (name.to_string(), l.schema.to_proto()))
                .collect(),
            action_schemas: r
                .actions
                .iter()
                .map(|(name, a)| {
                    let schema = Some(a.schema.to_proto());
                    (name.to_string(), proto::ActionSchema { schema })
                })
                .collect(),
            server_capabilities: Some(capabilities::server()),
            ..Default::default()
        }
    }

    fn provider_config(&self, config: Option<&proto::DynamicValue>) -> Result<Object, Diagnostics> {
        let block = &self.provider.schema().block;
        Ok(decode_block(config, block, "provider configuration")?.unwrap_or_default())
    }
}

pub(crate) const MAX_MESSAGE: usize = 256 << 20;

type RpcResult<T> = Result<Response<T>, Status>;

/// What an RPC answers when its request is unusable (an unknown type, a value that does not
/// decode): the diagnostics, and whatever Terraform must keep.
trait Fallback<R>: Sized {
    fn fallback(request: R, diagnostics: Diagnostics) -> Self;
}

/// Responses that carry nothing but the diagnostics when the request is unusable.
macro_rules! fallback_to_diagnostics {
    ($($rpc:ident),* $(,)?) => {
        $(
            impl Fallback<proto::$rpc::Request> for proto::$rpc::Response {
                // Some of these responses hold only diagnostics.
                #[allow(clippy::needless_update)]
                fn fallback(_: proto::$rpc::Request, diagnostics: Diagnostics) -> Self {
                    proto::$rpc::Response {
                        diagnostics: diagnostics.to_proto(),
                        ..Default::default()
                    }
                }
            }
        )*
    };
}

fallback_to_diagnostics!(
    validate_provider_config,
    validate_resource_config,
    upgrade_resource_state,
    upgrade_resource_identity,
    configure_provider,
    plan_resource_change,
    import_resource_state,
    validate_list_resource_config,
    plan_action,
    validate_action_config,
);

/// Keep what Terraform had when the request itself is unusable.
impl Fallback<proto::read_resource::Request> for proto::read_resource::Response {
    fn fallback(request: proto::read_resource::Request, diagnostics: Diagnostics) -> Self {
        proto::read_resource::Response {
            new_state: request.current_state,
            diagnostics: diagnostics.to_proto(),
            private: request.private,
            deferred: None,
            new_identity: request.current_identity,
        }
    }
}

/// Keep what Terraform had: a null new state with errors keeps the prior.
impl Fallback<proto::apply_resource_change::Request> for proto::apply_resource_change::Response {
    fn fallback(request: proto::apply_resource_change::Request, diagnostics: Diagnostics) -> Self {
        proto::apply_resource_change::Response {
            new_state: request.prior_state,
            private: request.planned_private,
            diagnostics: diagnostics.to_proto(),
            legacy_type_system: false,
            new_identity: None,
        }
    }
}

impl Fallback<proto::list_resource::Request> for streams::EventStream<proto::list_resource::Event> {
    fn fallback(_: proto::list_resource::Request, diagnostics: Diagnostics) -> Self {
        streams::list_failed(diagnostics)
    }
}

impl Fallback<proto::invoke_action::Request> for streams::EventStream<proto::invoke_action::Event> {
    fn fallback(_: proto::invoke_action::Request, diagnostics: Diagnostics) -> Self {
        streams::invoke_failed(diagnostics)
    }
}

/// Offered by no provider of this kind: Terraform asks only after reading a
/// capability or schema that says otherwise (state stores are experimental
/// in Terraform 1.15; `generate_resource_config` is not offered).
fn not_offered<T>(rpc: &str) -> RpcResult<T> {
    Err(Status::unimplemented(format!(
        "{rpc} is not offered by this provider"
    )))
}

/// Tonic's service trait over [`ProtocolServer`]'s methods: the RPCs of kinds of object this
/// provider has none of and of features it does not offer come from the two tables; `answered`
/// RPCs call a method that always answers, `handled` ones a method whose error the response's
/// [`Fallback`] carries.
macro_rules! provider_service {
    (
        none_of_kind { $($none:ident: $kind:expr;)* }
        not_offered { $($stub:ident: $req:ty => $resp:ty, $rpc:literal;)* }
        streams { $(type $stream:ident = $stream_ty:ty;)* }
        answered { $($answered:ident: $areq:ty => $aresp:ty;)* }
        handled { $($handled:ident: $hreq:ty => $hresp:ty;)* }
    ) => {
        #[async_trait::async_trait]
        impl provider_server::Provider for ProtocolServer {
            $(
                // Some of these responses hold only diagnostics.
                #[allow(clippy::needless_update)]
                async fn $none(
                    &self,
                    req: Request<proto::$none::Request>,
                ) -> RpcResult<proto::$none::Response> {
                    let diag = unknown($kind, &req.into_inner().type_name, []);
                    Ok(Response::new(proto::$none::Response {
                        diagnostics: vec![diag.to_proto()],
                        ..Default::default()
                    }))
                }
            )*
            $(
                async fn $stub(&self, _: Request<$req>) -> RpcResult<$resp> {
                    not_offered($rpc)
                }
            )*
            $(type $stream = $stream_ty;)*
            $(
                async fn $answered(&self, req: Request<$areq>) -> RpcResult<$aresp> {
                    Ok(Response::new(ProtocolServer::$answered(self, req.into_inner()).await))
                }
            )*
            $(
                async fn $handled(&self, req: Request<$hreq>) -> RpcResult<$hresp> {
                    let req = req.into_inner();
                    let answer = ProtocolServer::$handled(self, &req).await;
                    Ok(Response::new(answer.unwrap_or_else(|d| Fallback::fallback(req, d))))
                }
            )*
        }
    };
}

provider_service! {
    none_of_kind {
        validate_data_resource_config: Kind::DataSource;
        read_data_source: Kind::DataSource;
        validate_ephemeral_resource_config: Kind::EphemeralResource;
        open_ephemeral_resource: Kind::EphemeralResource;
        renew_ephemeral_resource: Kind::EphemeralResource;
        close_ephemeral_resource: Kind::EphemeralResource;
    }
    not_offered {
        generate_resource_config: proto::generate_resource_config::Request => proto::generate_resource_config::Response, "GenerateResourceConfig";
        validate_state_store_config: proto::validate_state_store::Request => proto::validate_state_store::Response, "ValidateStateStoreConfig";
        configure_state_store: proto::configure_state_store::Request => proto::configure_state_store::Response, "ConfigureStateStore";
        read_state_bytes: proto::read_state_bytes::Request => Self::ReadStateBytesStream, "ReadStateBytes";
        write_state_bytes: tonic::Streaming<proto::write_state_bytes::RequestChunk> => proto::write_state_bytes::Response, "WriteStateBytes";
        lock_state: proto::lock_state::Request => proto::lock_state::Response, "LockState";
        unlock_state: proto::unlock_state::Request => proto::unlock_state::Response, "UnlockState";
        get_states: proto::get_states::Request => proto::get_states::Response, "GetStates";
        delete_state: proto::delete_state::Request => proto::delete_state::Response, "DeleteState";
    }
    streams {
        type ReadStateBytesStream = streams::EventStream<proto::read_state_bytes::Response>;
        type ListResourceStream = streams::EventStream<proto::list_resource::Event>;
        type InvokeActionStream = streams::EventStream<proto::invoke_action::Event>;
    }
    answered {
        get_metadata: proto::get_metadata::Request => proto::get_metadata::Response;
        get_provider_schema: proto::get_provider_schema::Request => proto::get_provider_schema::Response;
        get_resource_identity_schemas: proto::get_resource_identity_schemas::Request => proto::get_resource_identity_schemas::Response;
        move_resource_state: proto::move_resource_state::Request => proto::move_resource_state::Response;
        get_functions: proto::get_functions::Request => proto::get_functions::Response;
        call_function: proto::call_function::Request => proto::call_function::Response;
        stop_provider: proto::stop_provider::Request => proto::stop_provider::Response;
    }
    handled {
        validate_provider_config: proto::validate_provider_config::Request => proto::validate_provider_config::Response;
        configure_provider: proto::configure_provider::Request => proto::configure_provider::Response;
        validate_resource_config: proto::validate_resource_config::Request => proto::validate_resource_config::Response;
        upgrade_resource_state: proto::upgrade_resource_state::Request => proto::upgrade_resource_state::Response;
        upgrade_resource_identity: proto::upgrade_resource_identity::Request => proto::upgrade_resource_identity::Response;
        read_resource: proto::read_resource::Request => proto::read_resource::Response;
        plan_resource_change: proto::plan_resource_change::Request => proto::plan_resource_change::Response;
        apply_resource_change: proto::apply_resource_change::Request => proto::apply_resource_change::Response;
        import_resource_state: proto::import_resource_state::Request => proto::import_resource_state::Response;
        validate_list_resource_config: proto::validate_list_resource_config::Request => proto::validate_list_resource_config::Response;
        list_resource: proto::list_resource::Request => streams::EventStream<proto::list_resource::Event>;
        validate_action_config: proto::validate_action_config::Request => proto::validate_action_config::Response;
        plan_action: proto::plan_action::Request => proto::plan_action::Response;
        invoke_action: proto::invoke_action::Request => streams::EventStream<proto::invoke_action::Event>;
    }
}

/// The RPCs that always answer.
impl ProtocolServer {
    async fn get_metadata(&self, _: proto::get_metadata::Request) -> proto::get_metadata::Response {
        use proto::get_metadata::{ActionMetadata, ListResourceMetadata, ResourceMetadata};
        let r = &self.registry;
        proto::get_metadata::Response {
            server_capabilities: Some(capabilities::server()),
            resources: r
                .resources
                .keys()
                .map(|n| ResourceMetadata {
                    type_name: n.to_string(),
                })
                .collect(),
            list_resources: r
                .lists
                .keys()
                .map(|n| ListResourceMetadata {
                    type_name: n.to_string(),
                })
                .collect(),
            actions: r
                .actions
                .keys()
                .map(|n| ActionMetadata {
                    type_name: n.to_string(),
                })
                .collect(),
            ..Default::default()
        }
    }

    async fn get_provider_schema(
        &self,
        _: proto::get_provider_schema::Request,
    ) -> proto::get_provider_schema::Response {
        self.schema.get_or_init(|| self.build_schema()).clone()
    }

    /// Terraform ≥ 1.12 asks right after every `GetProviderSchema`; an
    /// empty map (never an error) means no resource has an identity.
    async fn get_resource_identity_schemas(
        &self,
        _: proto::get_resource_identity_schemas::Request,
    ) -> proto::get_resource_identity_schemas::Response {
        let identity_schemas = self
            .registry
            .resources
            .iter()
            .filter_map(|(name, r)| Some((name.to_string(), r.identity()?.schema().to_proto())))
            .collect();
        proto::get_resource_identity_schemas::Response {
            identity_schemas,
            diagnostics: vec![],
        }
    }

    async fn move_resource_state(
        &self,
        _: proto::move_resource_state::Request,
    ) -> proto::move_resource_state::Response {
        let diag = Diagnostic::error(
            "Moving resources is not supported",
            "This provider cannot take over state from another resource type. Use `terraform import` instead.",
        );
        proto::move_resource_state::Response {
            diagnostics: vec![diag.to_proto()],
            ..Default::default()
        }
    }

    async fn get_functions(
        &self,
        _: proto::get_functions::Request,
    ) -> proto::get_functions::Response {
        proto::get_functions::Response::default()
    }

    async fn call_function(
        &self,
        req: proto::call_function::Request,
    ) -> proto::call_function::Response {
        proto::call_function::Response {
            result: None,
            error: Some(proto::FunctionError {
                text: unknown(Kind::Function, &req.name, []).detail,
                function_argument: None,
            }),
        }
    }

    async fn stop_provider(
        &self,
        _: proto::stop_provider::Request,
    ) -> proto::stop_provider::Response {
        tracing::info!("StopProvider received: cancelling in-flight operations");
        self.stop.cancel();
        proto::stop_provider::Response {
            error: String::new(),
        }
    }
}

/// The provider's configuration.
impl ProtocolServer {
    async fn validate_provider_config(
        &self,
        req: &proto::validate_provider_config::Request,
    ) -> Result<proto::validate_provider_config::Response, Diagnostics> {
        let config = self.provider_config(req.config.as_ref())?;
        Ok(proto::validate_provider_config::Response {
            diagnostics: self.provider.validate(&config).to_proto(),
        })
    }

    async fn configure_provider(
        &self,
        req: &proto::configure_provider::Request,
    ) -> Result<proto::configure_provider::Response, Diagnostics> {
        let config = self.provider_config(req.config.as_ref())?;
        let diagnostics = self
            .provider
            .configure(&config, &req.terraform_version)
            .await;
        Ok(proto::configure_provider::Response {
            diagnostics: diagnostics.to_proto(),
        })
    }
}

/// Managed resources.
impl ProtocolServer {
    async fn validate_resource_config(
        &self,
        req: &proto::validate_resource_config::Request,
    ) -> Result<proto::validate_resource_config::Response, Diagnostics> {
        let res = self.registry.resource(&req.type_name)?;
        let block = &res.schema.block;
        let config = res.config(req.config.as_ref(), "resource configuration")?;
        let mut diags =
            capabilities::check_write_only(block, &config, req.client_capabilities.as_ref());
        diags.extend(res.validate(ValidateRequest { config: &config }));
        Ok(proto::validate_resource_config::Response {
            diagnostics: diags.to_proto(),
        })
    }

    async fn upgrade_resource_state(
        &self,
        req: &proto::upgrade_resource_state::Request,
    ) -> Result<proto::upgrade_resource_state::Response, Diagnostics> {
        let res = self.registry.resource(&req.type_name)?;
        let raw = req.raw_state.clone().unwrap_or_default();
        Ok(proto::upgrade_resource_state::Response {
            upgraded_state: Some(upgrade::state(res, req.version, &raw)?),
            diagnostics: vec![],
        })
    }

    async fn upgrade_resource_identity(
        &self,
        req: &proto::upgrade_resource_identity::Request,
    ) -> Result<proto::upgrade_resource_identity::Response, Diagnostics> {
        let res = self.registry.resource(&req.type_name)?;
        let raw = req.raw_identity.clone().unwrap_or_default();
        Ok(proto::upgrade_resource_identity::Response {
            upgraded_identity: upgrade::identity(res, req.version, &raw)?,
            diagnostics: vec![],
        })
    }

    async fn read_resource(
        &self,
        req: &proto::read_resource::Request,
    ) -> Result<proto::read_resource::Response, Diagnostics> {
        let res = self.registry.resource(&req.type_name)?;
        let block = &res.schema.block;
        let out = match decode_block(req.current_state.as_ref(), block, "current state")? {
            Some(state) => {
                let private = req.private.clone();
                res.read(ReadRequest { state, private }).await
            }
            None => StateResponse {
                private: req.private.clone(),
                ..StateResponse::default()
            },
        };
        let identity = identity_of(res, out.state.as_ref())?;
        Ok(proto::read_resource::Response {
            new_state: Some(encode_block(out.state, block)?),
            diagnostics: out.diagnostics.to_proto(),
            private: out.private,
            deferred: None,
            new_identity: identity,
        })
    }

    async fn plan_resource_change(
        &self,
        req: &proto::plan_resource_change::Request,
    ) -> Result<proto::plan_resource_change::Response, Diagnostics> {
        let res = self.registry.resource(&req.type_name)?;
        let block = &res.schema.block;
        let prior = decode_block(req.prior_state.as_ref(), block, "prior state")?;
        let proposed = decode_block(req.proposed_new_state.as_ref(), block, "proposed new state")?;
        let config = decode_block(req.config.as_ref(), block, "configuration")?;
        let (Some(mut planned), Some(config)) = (proposed, config) else {
            // Destroy: the plan must be null.
            return Ok(proto::plan_resource_change::Response {
                planned_state: Some(encode_block(None, block)?),
                planned_private: req.prior_private.clone(),
                ..Default::default()
            });
        };
        let requires_replace = plan_rules::apply(block, &config, prior.as_ref(), &mut planned);
        let request = PlanRequest {
            prior,
            config,
            prior_private: req.prior_private.clone(),
        };
        let mut response = PlanResponse {
            planned,
            requires_replace,
            planned_private: req.prior_private.clone(),
            diagnostics: Diagnostics::new(),
        };
        res.plan(&request, &mut response).await;
        let planned_identity = identity_of(res, Some(&response.planned))?;
        Ok(proto::plan_resource_change::Response {
            planned_state: Some(encode_block(Some(response.planned), block)?),
            requires_replace: response
                .requires_replace
                .iter()
                .map(path_to_proto)
                .collect(),
            planned_private: response.planned_private,
            diagnostics: response.diagnostics.to_proto(),
            planned_identity,
            ..Default::default()
        })
    }

    async fn apply_resource_change(
        &self,
        req: &proto::apply_resource_change::Request,
    ) -> Result<proto::apply_resource_change::Response, Diagnostics> {
        let res = self.registry.resource(&req.type_name)?;
        let block = &res.schema.block;
        let prior = decode_block(req.prior_state.as_ref(), block, "prior state")?;
        let planned = decode_block(req.planned_state.as_ref(), block, "planned state")?;
        let config = decode_block(req.config.as_ref(), block, "configuration")?;
        let private = req.planned_private.clone();
        let out = match (prior, planned) {
            (Some(prior), None) => res.delete(DeleteRequest { prior }).await,
            (None, Some(planned)) => res.create(apply(None, planned, config, private)).await,
            (Some(prior), Some(planned)) => {
                res.update(apply(Some(prior), planned, config, private))
                    .await
            }
            (None, None) => StateResponse::default(),
        };
        let new_identity = identity_of(res, out.state.as_ref())?;
        Ok(proto::apply_resource_change::Response {
            new_state: Some(encode_block(out.state, block)?),
            private: out.private,
            diagnostics: out.diagnostics.to_proto(),
            legacy_type_system: false,
            new_identity,
        })
    }

    /// By ID (`terraform import`, `import { id = … }`) or by identity
    /// (`import { identity = … }`, Terraform 1.12+), which the resource
    /// resolves to an ID; either way the reply carries the identity.
    async fn import_resource_state(
        &self,
        req: &proto::import_resource_state::Request,
    ) -> Result<proto::import_resource_state::Response, Diagnostics> {
        let res = self.registry.resource(&req.type_name)?;
        let id = match (req.id.is_empty(), &req.identity) {
            (true, Some(data)) => import_id(res, data).await?,
            _ => req.id.clone(),
        };
        let out = res.import(ImportRequest { id: &id }).await;
        if out.diagnostics.has_errors() {
            return Err(out.diagnostics);
        }
        let identity = identity_of(res, out.state.as_ref())?;
        let imported = proto::import_resource_state::ImportedResource {
            type_name: req.type_name.clone(),
            state: Some(encode_block(out.state, &res.schema.block)?),
            private: out.private,
            identity,
        };
        Ok(proto::import_resource_state::Response {
            imported_resources: vec![imported],
            diagnostics: out.diagnostics.to_proto(),
            deferred: None,
        })
    }
}

/// List resources (`terraform query`).
impl ProtocolServer {
    async fn validate_list_resource_config(
        &self,
        req: &proto::validate_list_resource_config::Request,
    ) -> Result<proto::validate_list_resource_config::Response, Diagnostics> {
        // `include_resource_object` and `limit` are Terraform's to check;
        // 1.15.5 does not even send them.
        let list = self.list_config(&req.type_name, req.config.as_ref())?;
        Ok(proto::validate_list_resource_config::Response {
            diagnostics: list.object.validate(&list.config).to_proto(),
        })
    }

    /// Streams results as the list resource finds them. When Terraform has
    /// read `limit` results it cancels the call: tonic drops this stream,
    /// and the listing's next send reports [`Closed`](super::list::Closed).
    async fn list_resource(
        &self,
        req: &proto::list_resource::Request,
    ) -> Result<streams::EventStream<proto::list_resource::Event>, Diagnostics> {
        let list = self.list_config(&req.type_name, req.config.as_ref())?;
        let res = self.registry.listed_resource(&req.type_name)?.clone();
        let request = ListRequest {
            config: list.config,
            include_resource_object: req.include_resource_object,
            limit: req.limit,
        };
        Ok(streams::list(list.object.clone(), res, request))
    }

    /// The list resource a request names, the resource it lists, and its configuration.
    fn list_config(
        &self,
        type_name: &str,
        config: Option<&proto::DynamicValue>,
    ) -> Result<Configured<'_, dyn ListResource>, Diagnostics> {
        let list = self.registry.list(type_name)?;
        self.registry.listed_resource(type_name)?;
        let config = list.config(config, "list configuration")?;
        Ok(Configured {
            object: list,
            config,
        })
    }
}

/// Actions.
impl ProtocolServer {
    async fn validate_action_config(
        &self,
        req: &proto::validate_action_config::Request,
    ) -> Result<proto::validate_action_config::Response, Diagnostics> {
        let action = self.action_config(&req.type_name, req.config.as_ref())?;
        Ok(proto::validate_action_config::Response {
            diagnostics: action.object.validate(&action.config).to_proto(),
        })
    }

    async fn plan_action(
        &self,
        req: &proto::plan_action::Request,
    ) -> Result<proto::plan_action::Response, Diagnostics> {
        let action = self.action_config(&req.action_type, req.config.as_ref())?;
        Ok(proto::plan_action::Response {
            diagnostics: action.object.plan(&action.config).await.to_proto(),
            deferred: None,
        })
    }

    /// Progress events as the action sends them, then one completion.
    async fn invoke_action(
        &self,
        req: &proto::invoke_action::Request,
    ) -> Result<streams::EventStream<proto::invoke_action::Event>, Diagnostics> {
        let action = self.action_config(&req.action_type, req.config.as_ref())?;
        Ok(streams::invoke(action.object.clone(), action.config))
    }

    /// The action a request names, and its configuration.
    fn action_config(
        &self,
        type_name: &str,
        config: Option<&proto::DynamicValue>,
    ) -> Result<Configured<'_, dyn Action>, Diagnostics> {
        let action = self.registry.action(type_name)?;
        let config = action.config(config, "action configuration")?;
        Ok(Configured {
            object: action,
            config,
        })
    }
}

/// An object a request names, with the configuration the request carries for it.
struct Configured<'a, T: ?Sized> {
    object: &'a Arc<Declared<T>>,
    config: Object,
}

/// A create's or an update's request.
fn apply(
    prior: Option<Object>,
    planned: Object,
    config: Option<Object>,
    planned_private: Vec<u8>,
) -> ApplyRequest {
    ApplyRequest {
        prior,
        planned,
        config: config.unwrap_or_default(),
        planned_private,
    }
}

/// The import ID an `import { identity = … }` stands for.
async fn import_id(
    res: &Declared<dyn Resource>,
    data: &proto::ResourceIdentityData,
) -> Result<String, Diagnostics> {
    let capability = required_identity(
        res,
        "Import by identity not supported",
        "; import it by ID (`import { id = … }`).",
    )?;
    let identity = decode_identity(res, Some(data))?.unwrap_or_default();
    let identity = capability.schema().complete(identity);
    let problems = capability.schema().check_import(&identity);
    if problems.has_errors() {
        return Err(problems);
    }
    capability.import_id(&identity).await
}
