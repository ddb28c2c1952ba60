//! Reading an extension's status and removing it.

use crate::azure::{AzureError, ExtensionId, OpContext};

use super::{Arm, Engine, ExtensionKind};

/// An extension of the expected kind as Azure reports it now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Status {
    pub(crate) username: Option<String>,
    pub(crate) force_update_tag: Option<String>,
    pub(crate) provisioning_state: String,
    pub(crate) type_handler_version: String,
    pub(crate) auto_upgrade_minor_version: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lookup {
    /// The extension, or its VM, does not exist.
    Missing,
    /// Something else lives under that name.
    OtherKind {
        publisher: String,
        extension_type: String,
    },
    Found(Status),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removal {
    /// Removed, or already gone.
    Removed,
    /// The VM is stopped, so Compute cannot remove it; it stays.
    VmNotRunning,
}

impl<A: Arm> Engine<A> {
    pub(crate) async fn status<K: ExtensionKind>(
        &self,
        id: &ExtensionId,
        ctx: &OpContext,
    ) -> Result<Lookup, AzureError> {
        Ok(match self.arm.get_extension(id, ctx).await? {
            None => Lookup::Missing,
            Some(ext) if !K::KIND.matches(&ext) => Lookup::OtherKind {
                publisher: ext.publisher,
                extension_type: ext.extension_type,
            },
            Some(ext) => Lookup::Found(Status {
                username: K::username(&ext.settings),
                force_update_tag: ext.force_update_tag,
                provisioning_state: ext.provisioning_state,
                type_handler_version: ext.type_handler_version,
                auto_upgrade_minor_version: ext.auto_upgrade_minor_version,
            }),
        })
    }

    /// Deletes the extension and waits for it to go; serialised with runs on the same VM.
    pub(crate) async fn remove(
        &self,
        id: &ExtensionId,
        ctx: &OpContext,
    ) -> Result<Removal, AzureError> {
        let _turn = self.locks.lock(id.vm()).await;
        let result = match self.arm.begin_delete_extension(id, ctx).await {
            Ok(Some(pending)) => self.arm.wait(pending, ctx).await,
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) | Err(AzureError::NotFound { .. }) => Ok(Removal::Removed),
            Err(AzureError::VmNotRunning { .. }) => Ok(Removal::VmNotRunning),
            Err(e) => Err(e),
        }
    }
}
