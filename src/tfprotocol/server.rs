//! The tfplugin6 `Provider` service: converts wire requests to typed values,
//! applies the schema's plan rules, dispatches to the provider and its
//! resources, and converts the results back. Nothing here knows about Azure.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::diagnostics::{Diagnostic, Diagnostics, path_to_proto};
use super::proto::{self, provider_server};
use super::resource::{ApplyRequest, PlanRequest, PlanResponse, Provider, Resource, StateResponse};
use super::schema::Block;
use super::types::Type;
use super::value::{AttributePath, Object, Value};
use super::{CodecError, json, msgpack};

pub struct ProtocolServer {
    provider: Arc<dyn Provider>,
    resources: HashMap<&'static str, Arc<dyn Resource>>,
    stop: CancellationToken,
    schema: OnceLock<proto::get_provider_schema::Response>,
}

impl ProtocolServer {
    /// `stop` is cancelled by `StopProvider`; resource code waits on it.
    pub fn new(provider: Arc<dyn Provider>, stop: CancellationToken) -> ProtocolServer {
        let resources = provider
            .resources()
            .iter()
            .map(|r| (r.type_name(), r.clone()))
            .collect();
        ProtocolServer {
            provider,
            resources,
            stop,
            schema: OnceLock::new(),
        }
    }

    pub fn into_service(self) -> provider_server::ProviderServer<ProtocolServer> {
        // Terraform's own providers allow 256 MiB; tonic's default is 4 MiB.
        provider_server::ProviderServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    fn resource(&self, type_name: &str) -> Result<&Arc<dyn Resource>, Diagnostics> {
        self.resources.get(type_name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown resource type",
                format!("This provider has no resource type {type_name:?}."),
            )
            .into()
        })
    }

    fn capabilities() -> proto::ServerCapabilities {
        proto::ServerCapabilities {
            plan_destroy: true,
            get_provider_schema_optional: true,
            move_resource_state: false,
        }
    }

    fn build_schema(&self) -> proto::get_provider_schema::Response {
        proto::get_provider_schema::Response {
            provider: Some(self.provider.schema().to_proto()),
            resource_schemas: self
                .resources
                .iter()
                .map(|(name, r)| (name.to_string(), r.schema().to_proto()))
                .collect(),
            server_capabilities: Some(Self::capabilities()),
            ..Default::default()
        }
    }
}

pub const MAX_MESSAGE: usize = 256 << 20;

fn codec_diag(what: &str, e: CodecError) -> Diagnostics {
    Diagnostic::error(
        format!("Invalid {what} received from Terraform"),
        format!("The provider could not decode the {what}: {e}. This is a bug in Terraform or in the provider; please report it."),
    )
    .into()
}

/// Decodes a `DynamicValue` as core does: msgpack first, then JSON; absent
/// or empty means null.
pub fn decode_dynamic(dv: Option<&proto::DynamicValue>, ty: &Type) -> Result<Value, CodecError> {
    match dv {
        Some(dv) if !dv.msgpack.is_empty() => msgpack::decode(&dv.msgpack, ty),
        Some(dv) if !dv.json.is_empty() => json::decode(&dv.json, ty),
        _ => Ok(Value::Null),
    }
}

/// Always msgpack: Terraform does not reliably accept JSON replies.
pub fn encode_dynamic(value: &Value, ty: &Type) -> Result<proto::DynamicValue, CodecError> {
    Ok(proto::DynamicValue {
        msgpack: msgpack::encode(value, ty)?,
        json: Vec::new(),
    })
}

fn decode_object(
    dv: Option<&proto::DynamicValue>,
    block: &Block,
    what: &str,
) -> Result<Option<Object>, Diagnostics> {
    match decode_dynamic(dv, &block.implied_type()).map_err(|e| codec_diag(what, e))? {
        Value::Null => Ok(None),
        Value::Object(o) => Ok(Some(o)),
        other => Err(codec_diag(
            what,
            CodecError::new(format!("expected an object, found {}", other.kind())),
        )),
    }
}

/// Encodes an object (or null) in the block's type, nulling write-only
/// attributes on the way out whatever the resource returned.
fn encode_object(obj: Option<Object>, block: &Block) -> Result<proto::DynamicValue, Diagnostics> {
    let value = match obj {
        Some(mut o) => {
            block.null_write_only(&mut o);
            Value::Object(o)
        }
        None => Value::Null,
    };
    encode_dynamic(&value, &block.implied_type()).map_err(|e| {
        Diagnostic::error(
            "Provider produced a value it cannot encode",
            format!("{e}. This is a bug in the provider; please report it."),
        )
        .into()
    })
}

/// The plan rules declared in the schema, applied to the proposed state.
fn apply_plan_rules(
    block: &Block,
    config: &Object,
    prior: Option<&Object>,
    planned: &mut Object,
) -> Vec<AttributePath> {
    for a in &block.attributes {
        if let Some(default) = &a.default
            && config.is_null(&a.name)
        {
            planned.set(&a.name, default.clone());
        }
    }
    block.null_write_only(planned);
    // Unset computed values are decided by apply, but only when something
    // changes: an unchanged object plans no changes at all.
    if prior != Some(planned) {
        for a in block
            .attributes
            .iter()
            .filter(|a| a.computed && a.default.is_none())
        {
            if !config.is_null(&a.name) {
                continue;
            }
            match prior {
                Some(p) if a.use_state_for_unknown => planned.set(&a.name, p.get(&a.name).clone()),
                _ => planned.set(&a.name, Value::Unknown),
            }
        }
    }
    let Some(prior) = prior else {
        return Vec::new();
    };
    block
        .attributes
        .iter()
        .filter(|a| a.requires_replace && planned.get(&a.name) != prior.get(&a.name))
        .map(|a| AttributePath::attr(&a.name))
        .collect()
}

fn caps_allow_write_only(caps: Option<&proto::ClientCapabilities>) -> bool {
    caps.is_some_and(|c| c.write_only_attributes_allowed)
}

type RpcResult<T> = Result<Response<T>, Status>;

fn ok<T>(t: T) -> RpcResult<T> {
    Ok(Response::new(t))
}

#[async_trait::async_trait]
impl provider_server::Provider for ProtocolServer {
    async fn get_metadata(
        &self,
        _: Request<proto::get_metadata::Request>,
    ) -> RpcResult<proto::get_metadata::Response> {
        ok(proto::get_metadata::Response {
            server_capabilities: Some(Self::capabilities()),
            resources: self
                .resources
                .keys()
                .map(|n| proto::get_metadata::ResourceMetadata {
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

    async fn validate_provider_config(
        &self,
        req: Request<proto::validate_provider_config::Request>,
    ) -> RpcResult<proto::validate_provider_config::Response> {
        let req = req.into_inner();
        let diags = match decode_object(
            req.config.as_ref(),
            &self.provider.schema().block,
            "provider configuration",
        ) {
            Ok(config) => self.provider.validate(&config.unwrap_or_default()),
            Err(d) => d,
        };
        ok(proto::validate_provider_config::Response {
            diagnostics: diags.to_proto(),
        })
    }

    async fn validate_resource_config(
        &self,
        req: Request<proto::validate_resource_config::Request>,
    ) -> RpcResult<proto::validate_resource_config::Response> {
        let req = req.into_inner();
        let diags = (|| {
            let res = self.resource(&req.type_name)?;
            let block = &res.schema().block;
            let config = decode_object(req.config.as_ref(), block, "resource configuration")?.unwrap_or_default();
            let mut diags = Diagnostics::new();
            if !caps_allow_write_only(req.client_capabilities.as_ref()) {
                for a in block.attributes.iter().filter(|a| a.write_only && !config.is_null(&a.name)) {
                    diags.push(
                        Diagnostic::error(
                            "Write-only attribute not supported by this Terraform",
                            format!(
                                "`{}` is write-only, which needs Terraform 1.11 or later. Upgrade Terraform, or use the attribute's stored counterpart instead.",
                                a.name
                            ),
                        )
                        .at_attr(&a.name),
                    );
                }
            }
            diags.extend(res.validate(&config));
            Ok::<_, Diagnostics>(diags)
        })()
        .unwrap_or_else(|d| d);
        ok(proto::validate_resource_config::Response {
            diagnostics: diags.to_proto(),
        })
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<proto::validate_data_resource_config::Request>,
    ) -> RpcResult<proto::validate_data_resource_config::Response> {
        let diag = Diagnostic::error(
            "Unknown data source",
            format!(
                "This provider has no data sources; {:?} does not exist.",
                req.into_inner().type_name
            ),
        );
        ok(proto::validate_data_resource_config::Response {
            diagnostics: vec![diag.to_proto()],
        })
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<proto::upgrade_resource_state::Request>,
    ) -> RpcResult<proto::upgrade_resource_state::Response> {
        let req = req.into_inner();
        let result = (|| {
            let res = self.resource(&req.type_name)?;
            let schema = res.schema();
            if req.version > schema.version {
                return Err(Diagnostic::error(
                    "Resource state written by a newer provider",
                    format!(
                        "The state was written with schema version {} but this provider knows version {}. Upgrade the provider.",
                        req.version, schema.version
                    ),
                )
                .into());
            }
            let raw = req.raw_state.unwrap_or_default();
            if raw.json.is_empty() && !raw.flatmap.is_empty() {
                return Err(Diagnostic::error(
                    "Unsupported state format",
                    "The state is in the legacy flatmap format, which this provider never wrote.",
                )
                .into());
            }
            let ty = schema.block.implied_type();
            let value = if raw.json.is_empty() {
                Value::Null
            } else {
                json::decode(&raw.json, &ty).map_err(|e| codec_diag("stored state", e))?
            };
            let obj = match value {
                Value::Object(o) => Some(o),
                _ => None,
            };
            encode_object(obj, &schema.block)
        })();
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

    async fn configure_provider(
        &self,
        req: Request<proto::configure_provider::Request>,
    ) -> RpcResult<proto::configure_provider::Response> {
        let req = req.into_inner();
        let diags = match decode_object(
            req.config.as_ref(),
            &self.provider.schema().block,
            "provider configuration",
        ) {
            Ok(config) => {
                self.provider
                    .configure(&config.unwrap_or_default(), &req.terraform_version)
                    .await
            }
            Err(d) => d,
        };
        ok(proto::configure_provider::Response {
            diagnostics: diags.to_proto(),
        })
    }

    async fn read_resource(
        &self,
        req: Request<proto::read_resource::Request>,
    ) -> RpcResult<proto::read_resource::Response> {
        let req = req.into_inner();
        let result = async {
            let res = self.resource(&req.type_name)?;
            let block = &res.schema().block;
            let Some(state) = decode_object(req.current_state.as_ref(), block, "current state")?
            else {
                return Ok((
                    encode_object(None, block)?,
                    req.private.clone(),
                    Diagnostics::new(),
                ));
            };
            let out = res.read(state, req.private.clone()).await;
            Ok::<_, Diagnostics>((
                encode_object(out.state, block)?,
                out.private,
                out.diagnostics,
            ))
        }
        .await;
        ok(match result {
            Ok((state, private, diags)) => proto::read_resource::Response {
                new_state: Some(state),
                diagnostics: diags.to_proto(),
                private,
                deferred: None,
            },
            // Keep what Terraform had when the request itself is unusable.
            Err(d) => proto::read_resource::Response {
                new_state: req.current_state,
                diagnostics: d.to_proto(),
                private: req.private,
                deferred: None,
            },
        })
    }

    async fn plan_resource_change(
        &self,
        req: Request<proto::plan_resource_change::Request>,
    ) -> RpcResult<proto::plan_resource_change::Response> {
        let req = req.into_inner();
        let result = async {
            let res = self.resource(&req.type_name)?;
            let block = &res.schema().block;
            let prior = decode_object(req.prior_state.as_ref(), block, "prior state")?;
            let proposed =
                decode_object(req.proposed_new_state.as_ref(), block, "proposed new state")?;
            let config = decode_object(req.config.as_ref(), block, "configuration")?;
            let (Some(mut planned), Some(config)) = (proposed, config) else {
                // Destroy: the plan must be null.
                return Ok((
                    encode_object(None, block)?,
                    Vec::new(),
                    req.prior_private.clone(),
                    Diagnostics::new(),
                ));
            };
            let requires_replace = apply_plan_rules(block, &config, prior.as_ref(), &mut planned);
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
            res.modify_plan(&request, &mut response).await;
            let planned = encode_object(Some(response.planned), block)?;
            Ok::<_, Diagnostics>((
                planned,
                response.requires_replace,
                response.planned_private,
                response.diagnostics,
            ))
        }
        .await;
        ok(match result {
            Ok((planned, replace, private, diags)) => proto::plan_resource_change::Response {
                planned_state: Some(planned),
                requires_replace: replace.iter().map(path_to_proto).collect(),
                planned_private: private,
                diagnostics: diags.to_proto(),
                ..Default::default()
            },
            Err(d) => proto::plan_resource_change::Response {
                diagnostics: d.to_proto(),
                ..Default::default()
            },
        })
    }

    async fn apply_resource_change(
        &self,
        req: Request<proto::apply_resource_change::Request>,
    ) -> RpcResult<proto::apply_resource_change::Response> {
        let req = req.into_inner();
        let result = async {
            let res = self.resource(&req.type_name)?;
            let block = &res.schema().block;
            let prior = decode_object(req.prior_state.as_ref(), block, "prior state")?;
            let planned = decode_object(req.planned_state.as_ref(), block, "planned state")?;
            let config = decode_object(req.config.as_ref(), block, "configuration")?;
            let out: StateResponse = match (prior, planned) {
                (Some(prior), None) => res.delete(prior, req.planned_private.clone()).await,
                (prior, Some(planned)) => {
                    let request = ApplyRequest {
                        config: config.unwrap_or_default(),
                        planned,
                        planned_private: req.planned_private.clone(),
                        prior: prior.clone(),
                    };
                    if prior.is_some() {
                        res.update(request).await
                    } else {
                        res.create(request).await
                    }
                }
                (None, None) => StateResponse::default(),
            };
            let state = encode_object(out.state, block)?;
            Ok::<_, Diagnostics>((state, out.private, out.diagnostics))
        }
        .await;
        ok(match result {
            Ok((state, private, diags)) => proto::apply_resource_change::Response {
                new_state: Some(state),
                private,
                diagnostics: diags.to_proto(),
                legacy_type_system: false,
            },
            // Keep what Terraform had: a null new state with errors keeps the prior.
            Err(d) => proto::apply_resource_change::Response {
                new_state: req.prior_state,
                private: req.planned_private,
                diagnostics: d.to_proto(),
                legacy_type_system: false,
            },
        })
    }

    async fn import_resource_state(
        &self,
        req: Request<proto::import_resource_state::Request>,
    ) -> RpcResult<proto::import_resource_state::Response> {
        let req = req.into_inner();
        let result = async {
            let res = self.resource(&req.type_name)?;
            let out = res.import(&req.id).await;
            if out.diagnostics.has_errors() {
                return Err(out.diagnostics);
            }
            let state = encode_object(out.state, &res.schema().block)?;
            Ok::<_, Diagnostics>((state, out.private, out.diagnostics))
        }
        .await;
        ok(match result {
            Ok((state, private, diags)) => proto::import_resource_state::Response {
                imported_resources: vec![proto::import_resource_state::ImportedResource {
                    type_name: req.type_name,
                    state: Some(state),
                    private,
                }],
                diagnostics: diags.to_proto(),
                deferred: None,
            },
            Err(d) => proto::import_resource_state::Response {
                diagnostics: d.to_proto(),
                ..Default::default()
            },
        })
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

    async fn read_data_source(
        &self,
        req: Request<proto::read_data_source::Request>,
    ) -> RpcResult<proto::read_data_source::Response> {
        let diag = Diagnostic::error(
            "Unknown data source",
            format!(
                "This provider has no data sources; {:?} does not exist.",
                req.into_inner().type_name
            ),
        );
        ok(proto::read_data_source::Response {
            diagnostics: vec![diag.to_proto()],
            ..Default::default()
        })
    }

    async fn validate_ephemeral_resource_config(
        &self,
        req: Request<proto::validate_ephemeral_resource_config::Request>,
    ) -> RpcResult<proto::validate_ephemeral_resource_config::Response> {
        let diag = no_ephemeral(&req.into_inner().type_name);
        ok(proto::validate_ephemeral_resource_config::Response {
            diagnostics: vec![diag.to_proto()],
        })
    }

    async fn open_ephemeral_resource(
        &self,
        req: Request<proto::open_ephemeral_resource::Request>,
    ) -> RpcResult<proto::open_ephemeral_resource::Response> {
        let diag = no_ephemeral(&req.into_inner().type_name);
        ok(proto::open_ephemeral_resource::Response {
            diagnostics: vec![diag.to_proto()],
            ..Default::default()
        })
    }

    async fn renew_ephemeral_resource(
        &self,
        req: Request<proto::renew_ephemeral_resource::Request>,
    ) -> RpcResult<proto::renew_ephemeral_resource::Response> {
        let diag = no_ephemeral(&req.into_inner().type_name);
        ok(proto::renew_ephemeral_resource::Response {
            diagnostics: vec![diag.to_proto()],
            ..Default::default()
        })
    }

    async fn close_ephemeral_resource(
        &self,
        req: Request<proto::close_ephemeral_resource::Request>,
    ) -> RpcResult<proto::close_ephemeral_resource::Response> {
        let diag = no_ephemeral(&req.into_inner().type_name);
        ok(proto::close_ephemeral_resource::Response {
            diagnostics: vec![diag.to_proto()],
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
                text: format!("This provider has no functions; {name:?} does not exist."),
                function_argument: None,
            }),
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

fn no_ephemeral(type_name: &str) -> Diagnostic {
    Diagnostic::error(
        "Unknown ephemeral resource",
        format!("This provider has no ephemeral resources; {type_name:?} does not exist."),
    )
}
