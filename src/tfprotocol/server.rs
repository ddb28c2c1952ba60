//! The tfplugin6 `Provider` service, a thin adapter: each RPC decodes its
//! request ([`codec`](super::codec)), finds the object it names
//! ([`dispatch`](super::dispatch)), calls it, and encodes the answer. Plan
//! rules, capabilities, upgrades and the two event streams live in their own
//! modules; nothing here knows about Azure.

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::codec::{decode_block, encode_block};
use super::declared::Declared;
use super::diagnostics::{Diagnostic, Diagnostics, path_to_proto};
use super::dispatch::{Kind, Registry, decode_identity, identity_of, required_identity, unknown};
use super::list::ListRequest;
use super::proto::{self, provider_server};
use super::provider::Provider;
use super::resource::{ApplyRequest, PlanRequest, PlanResponse, Resource, StateResponse};
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

fn ok<T>(t: T) -> RpcResult<T> {
    Ok(Response::new(t))
}

/// Diagnostics either way: errors of the request itself, or those of the
/// call plus what it produced.
fn diagnostics(result: Result<Diagnostics, Diagnostics>) -> Vec<proto::Diagnostic> {
    result.unwrap_or_else(|d| d).to_proto()
}

/// Offered by no provider of this kind: Terraform asks only after reading a
/// capability or schema that says otherwise (state stores are experimental
/// in Terraform 1.15; `generate_resource_config` is not offered).
fn not_offered<T>(rpc: &str) -> RpcResult<T> {
    Err(Status::unimplemented(format!(
        "{rpc} is not offered by this provider"
    )))
}

/// The tonic service: the RPCs of kinds of object this provider has none of, and of features it
/// does not offer, come from the two tables; every other RPC is a handler written out after them.
macro_rules! provider_service {
    (
        none_of_kind { $($none:ident: $module:ident, $kind:expr;)* }
        not_offered { $($stub:ident: $req:ty => $resp:ty, $rpc:literal;)* }
        $($handlers:tt)*
    ) => {
        #[async_trait::async_trait]
        impl provider_server::Provider for ProtocolServer {
            $(
                // Some of these responses hold only diagnostics.
                #[allow(clippy::needless_update)]
                async fn $none(
                    &self,
                    req: Request<proto::$module::Request>,
                ) -> RpcResult<proto::$module::Response> {
                    let diag = unknown($kind, &req.into_inner().type_name, []);
                    ok(proto::$module::Response {
                        diagnostics: vec![diag.to_proto()],
                        ..Default::default()
                    })
                }
            )*
            $(
                async fn $stub(&self, _: Request<$req>) -> RpcResult<$resp> {
                    not_offered($rpc)
                }
            )*
            $($handlers)*
        }
    };
}

provider_service! {
    none_of_kind {
        validate_data_resource_config: validate_data_resource_config, Kind::DataSource;
        read_data_source: read_data_source, Kind::DataSource;
        validate_ephemeral_resource_config: validate_ephemeral_resource_config, Kind::EphemeralResource;
        open_ephemeral_resource: open_ephemeral_resource, Kind::EphemeralResource;
        renew_ephemeral_resource: renew_ephemeral_resource, Kind::EphemeralResource;
        close_ephemeral_resource: close_ephemeral_resource, Kind::EphemeralResource;
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
    async fn get_metadata(
        &self,
        _: Request<proto::get_metadata::Request>,
    ) -> RpcResult<proto::get_metadata::Response> {
        use proto::get_metadata::{ActionMetadata, ListResourceMetadata, ResourceMetadata};
        let r = &self.registry;
        ok(proto::get_metadata::Response {
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
        })
    }

    async fn get_provider_schema(
        &self,
        _: Request<proto::get_provider_schema::Request>,
    ) -> RpcResult<proto::get_provider_schema::Response> {
        ok(self.schema.get_or_init(|| self.build_schema()).clone())
    }

    /// Terraform ≥ 1.12 asks right after every `GetProviderSchema`; an
    /// empty map (never an error) means no resource has an identity.
    async fn get_resource_identity_schemas(
        &self,
        _: Request<proto::get_resource_identity_schemas::Request>,
    ) -> RpcResult<proto::get_resource_identity_schemas::Response> {
        let identity_schemas = self
            .registry
            .resources
            .iter()
            .filter_map(|(name, r)| Some((name.to_string(), r.identity()?.schema().to_proto())))
            .collect();
        ok(proto::get_resource_identity_schemas::Response {
            identity_schemas,
            diagnostics: vec![],
        })
    }

    async fn validate_provider_config(
        &self,
        req: Request<proto::validate_provider_config::Request>,
    ) -> RpcResult<proto::validate_provider_config::Response> {
        let req = req.into_inner();
        let result = self
            .provider_config(req.config.as_ref())
            .map(|config| self.provider.validate(&config));
        ok(proto::validate_provider_config::Response {
            diagnostics: diagnostics(result),
        })
    }

    async fn validate_resource_config(
        &self,
        req: Request<proto::validate_resource_config::Request>,
    ) -> RpcResult<proto::validate_resource_config::Response> {
        let req = req.into_inner();
        let result = (|| {
            let res = self.registry.resource(&req.type_name)?;
            let block = &res.schema.block;
            let config = res.config(req.config.as_ref(), "resource configuration")?;
            let mut diags =
                capabilities::check_write_only(block, &config, req.client_capabilities.as_ref());
            diags.extend(res.validate(&config));
            Ok(diags)
        })();
        ok(proto::validate_resource_config::Response {
            diagnostics: diagnostics(result),
        })
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<proto::upgrade_resource_state::Request>,
    ) -> RpcResult<proto::upgrade_resource_state::Response> {
        let req = req.into_inner();
        let result = self
            .registry
            .resource(&req.type_name)
            .and_then(|res| upgrade::state(res, req.version, req.raw_state.unwrap_or_default()));
        ok(match result {
            Ok(state) => proto::upgrade_resource_state::Response {
                upgraded_state: Some(state),
                diagnostics: vec![],
            },
            Err(d) => proto::upgrade_resource_state::Response {
                upgraded_state: None,
                diagnostics: d.to_proto(),
            },
        })
    }

    async fn upgrade_resource_identity(
        &self,
        req: Request<proto::upgrade_resource_identity::Request>,
    ) -> RpcResult<proto::upgrade_resource_identity::Response> {
        let req = req.into_inner();
        let result = self.registry.resource(&req.type_name).and_then(|res| {
            upgrade::identity(res, req.version, req.raw_identity.unwrap_or_default())
        });
        ok(match result {
            Ok(upgraded_identity) => proto::upgrade_resource_identity::Response {
                upgraded_identity,
                diagnostics: vec![],
            },
            Err(d) => proto::upgrade_resource_identity::Response {
                upgraded_identity: None,
                diagnostics: d.to_proto(),
            },
        })
    }

    async fn configure_provider(
        &self,
        req: Request<proto::configure_provider::Request>,
    ) -> RpcResult<proto::configure_provider::Response> {
        let req = req.into_inner();
        let result = match self.provider_config(req.config.as_ref()) {
            Ok(config) => Ok(self
                .provider
                .configure(&config, &req.terraform_version)
                .await),
            Err(d) => Err(d),
        };
        ok(proto::configure_provider::Response {
            diagnostics: diagnostics(result),
        })
    }

    async fn read_resource(
        &self,
        req: Request<proto::read_resource::Request>,
    ) -> RpcResult<proto::read_resource::Response> {
        let req = req.into_inner();
        let result = async {
            let res = self.registry.resource(&req.type_name)?;
            let block = &res.schema.block;
            let out = match decode_block(req.current_state.as_ref(), block, "current state")? {
                Some(state) => res.read(state, req.private.clone()).await,
                None => StateResponse {
                    private: req.private.clone(),
                    ..StateResponse::default()
                },
            };
            let identity = identity_of(res, out.state.as_ref())?;
            Ok::<_, Diagnostics>(proto::read_resource::Response {
                new_state: Some(encode_block(out.state, block)?),
                diagnostics: out.diagnostics.to_proto(),
                private: out.private,
                deferred: None,
                new_identity: identity,
            })
        }
        .await;
        // Keep what Terraform had when the request itself is unusable.
        ok(result.unwrap_or_else(|d| proto::read_resource::Response {
            new_state: req.current_state,
            diagnostics: d.to_proto(),
            private: req.private,
            deferred: None,
            new_identity: req.current_identity,
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<proto::plan_resource_change::Request>,
    ) -> RpcResult<proto::plan_resource_change::Response> {
        let req = req.into_inner();
        let result = async {
            let res = self.registry.resource(&req.type_name)?;
            let block = &res.schema.block;
            let prior = decode_block(req.prior_state.as_ref(), block, "prior state")?;
            let proposed =
                decode_block(req.proposed_new_state.as_ref(), block, "proposed new state")?;
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
                prior_private: req.prior_private.clone(),
            };
            let mut response = PlanResponse {
                planned,
                requires_replace,
                planned_private: req.prior_private.clone(),
                diagnostics: Diagnostics::new(),
            };
            res.modify_plan(&request, &mut response).await;
            let planned_identity = identity_of(res, Some(&response.planned))?;
            Ok::<_, Diagnostics>(proto::plan_resource_change::Response {
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
        .await;
        ok(
            result.unwrap_or_else(|d| proto::plan_resource_change::Response {
                diagnostics: d.to_proto(),
                ..Default::default()
            }),
        )
    }

    async fn apply_resource_change(
        &self,
        req: Request<proto::apply_resource_change::Request>,
    ) -> RpcResult<proto::apply_resource_change::Response> {
        let req = req.into_inner();
        let result = async {
            let res = self.registry.resource(&req.type_name)?;
            let block = &res.schema.block;
            let prior = decode_block(req.prior_state.as_ref(), block, "prior state")?;
            let planned = decode_block(req.planned_state.as_ref(), block, "planned state")?;
            let config = decode_block(req.config.as_ref(), block, "configuration")?;
            let out: StateResponse = match (prior, planned) {
                (Some(prior), None) => res.delete(prior, req.planned_private.clone()).await,
                (prior, Some(planned)) => {
                    let creating = prior.is_none();
                    let request = ApplyRequest {
                        config: config.unwrap_or_default(),
                        planned,
                        planned_private: req.planned_private.clone(),
                        prior,
                    };
                    if creating {
                        res.create(request).await
                    } else {
                        res.update(request).await
                    }
                }
                (None, None) => StateResponse::default(),
            };
            let new_identity = identity_of(res, out.state.as_ref())?;
            Ok::<_, Diagnostics>(proto::apply_resource_change::Response {
                new_state: Some(encode_block(out.state, block)?),
                private: out.private,
                diagnostics: out.diagnostics.to_proto(),
                legacy_type_system: false,
                new_identity,
            })
        }
        .await;
        // Keep what Terraform had: a null new state with errors keeps the prior.
        ok(
            result.unwrap_or_else(|d| proto::apply_resource_change::Response {
                new_state: req.prior_state,
                private: req.planned_private,
                diagnostics: d.to_proto(),
                legacy_type_system: false,
                new_identity: None,
            }),
        )
    }

    /// By ID (`terraform import`, `import { id = … }`) or by identity
    /// (`import { identity = … }`, Terraform 1.12+), which the resource
    /// resolves to an ID; either way the reply carries the identity.
    async fn import_resource_state(
        &self,
        req: Request<proto::import_resource_state::Request>,
    ) -> RpcResult<proto::import_resource_state::Response> {
        let req = req.into_inner();
        let result = async {
            let res = self.registry.resource(&req.type_name)?;
            let id = match (req.id.is_empty(), &req.identity) {
                (true, Some(data)) => import_id(res, data).await?,
                _ => req.id.clone(),
            };
            let out = res.import(&id).await;
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
            Ok::<_, Diagnostics>(proto::import_resource_state::Response {
                imported_resources: vec![imported],
                diagnostics: out.diagnostics.to_proto(),
                deferred: None,
            })
        }
        .await;
        ok(
            result.unwrap_or_else(|d| proto::import_resource_state::Response {
                diagnostics: d.to_proto(),
                ..Default::default()
            }),
        )
    }

    async fn move_resource_state(
        &self,
        _: Request<proto::move_resource_state::Request>,
    ) -> RpcResult<proto::move_resource_state::Response> {
        let diag = Diagnostic::error(
            "Moving resources is not supported",
            "This provider cannot take over state from another resource type. Use `terraform import` instead.",
        );
        ok(proto::move_resource_state::Response {
            diagnostics: vec![diag.to_proto()],
            ..Default::default()
        })
    }

    type ListResourceStream = streams::EventStream<proto::list_resource::Event>;

    /// Streams results as the list resource finds them. When Terraform has
    /// read `limit` results it cancels the call: tonic drops this stream,
    /// and the listing's next send reports [`Closed`](super::list::Closed).
    async fn list_resource(
        &self,
        req: Request<proto::list_resource::Request>,
    ) -> RpcResult<Self::ListResourceStream> {
        let req = req.into_inner();
        let setup = (|| {
            let list = self.registry.list(&req.type_name)?.clone();
            let res = self.registry.listed_resource(&req.type_name)?.clone();
            let config = list.config(req.config.as_ref(), "list configuration")?;
            Ok::<_, Diagnostics>((list, res, config))
        })();
        match setup {
            Ok((list, res, config)) => {
                let request = ListRequest {
                    config,
                    include_resource_object: req.include_resource_object,
                    limit: req.limit,
                };
                ok(streams::list(list, res, request))
            }
            Err(d) => ok(streams::list_failed(d)),
        }
    }

    async fn validate_list_resource_config(
        &self,
        req: Request<proto::validate_list_resource_config::Request>,
    ) -> RpcResult<proto::validate_list_resource_config::Response> {
        let req = req.into_inner();
        // `include_resource_object` and `limit` are Terraform's to check;
        // 1.15.5 does not even send them.
        let result = self.registry.list(&req.type_name).and_then(|list| {
            self.registry.listed_resource(&req.type_name)?;
            let config = list.config(req.config.as_ref(), "list configuration")?;
            Ok(list.validate(&config))
        });
        ok(proto::validate_list_resource_config::Response {
            diagnostics: diagnostics(result),
        })
    }

    async fn get_functions(
        &self,
        _: Request<proto::get_functions::Request>,
    ) -> RpcResult<proto::get_functions::Response> {
        ok(proto::get_functions::Response::default())
    }

    async fn call_function(
        &self,
        req: Request<proto::call_function::Request>,
    ) -> RpcResult<proto::call_function::Response> {
        let name = req.into_inner().name;
        ok(proto::call_function::Response {
            result: None,
            error: Some(proto::FunctionError {
                text: unknown(Kind::Function, &name, []).detail,
                function_argument: None,
            }),
        })
    }

    type ReadStateBytesStream = streams::EventStream<proto::read_state_bytes::Response>;

    async fn plan_action(
        &self,
        req: Request<proto::plan_action::Request>,
    ) -> RpcResult<proto::plan_action::Response> {
        let req = req.into_inner();
        let result = match self.registry.action(&req.action_type) {
            Ok(action) => match action.config(req.config.as_ref(), "action configuration") {
                Ok(config) => Ok(action.plan(&config).await),
                Err(d) => Err(d),
            },
            Err(d) => Err(d),
        };
        ok(proto::plan_action::Response {
            diagnostics: diagnostics(result),
            deferred: None,
        })
    }

    type InvokeActionStream = streams::EventStream<proto::invoke_action::Event>;

    /// Progress events as the action sends them, then one completion.
    async fn invoke_action(
        &self,
        req: Request<proto::invoke_action::Request>,
    ) -> RpcResult<Self::InvokeActionStream> {
        let req = req.into_inner();
        let setup = self.registry.action(&req.action_type).and_then(|action| {
            let config = action.config(req.config.as_ref(), "action configuration")?;
            Ok((action.clone(), config))
        });
        ok(match setup {
            Ok((action, config)) => streams::invoke(action, config),
            Err(d) => streams::invoke_failed(d),
        })
    }

    async fn validate_action_config(
        &self,
        req: Request<proto::validate_action_config::Request>,
    ) -> RpcResult<proto::validate_action_config::Response> {
        let req = req.into_inner();
        let result = self.registry.action(&req.type_name).and_then(|action| {
            let config = action.config(req.config.as_ref(), "action configuration")?;
            Ok(action.validate(&config))
        });
        ok(proto::validate_action_config::Response {
            diagnostics: diagnostics(result),
        })
    }

    async fn stop_provider(
        &self,
        _: Request<proto::stop_provider::Request>,
    ) -> RpcResult<proto::stop_provider::Response> {
        tracing::info!("StopProvider received: cancelling in-flight operations");
        self.stop.cancel();
        ok(proto::stop_provider::Response {
            error: String::new(),
        })
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
