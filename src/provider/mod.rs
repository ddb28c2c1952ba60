//! The `vm` provider: its configuration (named and defaulted like azurerm's,
//! so existing pipelines work unchanged) and its resources.
//!
//! The table of arguments is the shared surface layer's ([`crate::surface::settings`]), `resolve`
//! turns configuration and environment into typed settings, and this file is the [`Provider`] the
//! protocol server calls: it composes the resource, the action and the list resource. Configuration is only resolved and checked here;
//! authentication happens on the first Azure call, so `validate` and empty
//! plans never touch the network.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::actions::vm_access_reset::VmAccessResetAction;
use crate::actions::vm_scale_set_access_reset::VmScaleSetAccessResetAction;
use crate::list_resources::vm_access_reset::VmAccessResetList;
use crate::resources::vm_access_reset::{self, VmAccessReset};
use crate::resources::vm_scale_set_access_reset::{self, VmScaleSetAccessReset};
use crate::runtime::Runtime;
use crate::tfprotocol::{
    Action, Block, Declared, Diagnostics, ListResource, Object, Provider, Resource, Schema,
};
use crate::{actions, list_resources};

mod resolve;

pub use crate::surface::settings::{SETTINGS, Setting};

/// The provider block's schema: one attribute per [`SETTINGS`] entry.
pub fn schema() -> Schema {
    let block = SETTINGS.iter().fold(
        Block::new(
            "Resets passwords and Remote Desktop settings of Azure Windows VMs. Authentication settings follow the azurerm \
             provider: every argument falls back to the same `ARM_*` environment variable.",
        ),
        |b, s| b.attribute(s.attribute()),
    );
    Schema { version: 0, block }
}

pub(crate) struct VmProvider {
    schema: Schema,
    runtime: Arc<Runtime>,
}

impl VmProvider {
    pub(crate) fn new(stop: CancellationToken) -> VmProvider {
        VmProvider {
            schema: schema(),
            runtime: Arc::new(Runtime::new(stop)),
        }
    }
}

#[async_trait::async_trait]
impl Provider for VmProvider {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn resources(&self) -> Vec<Declared<dyn Resource>> {
        vec![
            Declared::new(
                vm_access_reset::TYPE_NAME,
                vm_access_reset::schema(),
                Arc::new(VmAccessReset::new(self.runtime.clone())),
            ),
            Declared::new(
                vm_scale_set_access_reset::TYPE_NAME,
                vm_scale_set_access_reset::schema(),
                Arc::new(VmScaleSetAccessReset::new(self.runtime.clone())),
            ),
        ]
    }

    fn actions(&self) -> Vec<Declared<dyn Action>> {
        vec![
            Declared::new(
                actions::vm_access_reset::TYPE_NAME,
                actions::vm_access_reset::schema(),
                Arc::new(VmAccessResetAction::new(self.runtime.clone())),
            ),
            Declared::new(
                actions::vm_scale_set_access_reset::TYPE_NAME,
                actions::vm_scale_set_access_reset::schema(),
                Arc::new(VmScaleSetAccessResetAction::new(self.runtime.clone())),
            ),
        ]
    }

    fn list_resources(&self) -> Vec<Declared<dyn ListResource>> {
        vec![Declared::new(
            vm_access_reset::TYPE_NAME,
            list_resources::vm_access_reset::schema(),
            Arc::new(VmAccessResetList::new(self.runtime.clone())),
        )]
    }

    fn validate(&self, config: &Object) -> Diagnostics {
        match resolve::resolve(config, |_| None) {
            Ok(_) => Diagnostics::new(),
            Err(d) => d,
        }
    }

    async fn configure(&self, config: &Object, terraform_version: &str) -> Diagnostics {
        match resolve::resolve(config, resolve::process_env) {
            Ok(settings) => {
                tracing::debug!(terraform_version, settings = ?settings, "provider configured");
                self.runtime.configure(settings.azure);
                Diagnostics::new()
            }
            Err(d) => d,
        }
    }
}
