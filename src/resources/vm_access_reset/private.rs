//! The provider's private state for a `vm_access_reset`: the tag of its own
//! last run, so a refresh can tell its runs from someone else's. Never a
//! secret: Terraform stores private state in the state file.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Private {
    pub(crate) last_tag: Option<String>,
    /// Set by refresh when the extension's user name in Azure is not the
    /// one in state: someone reset another account since.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) username_drifted: bool,
    /// Set by an import of a VM that has no VMAccess extension yet: refresh keeps the resource
    /// although the extension does not exist, and the plan runs it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) awaiting_first_run: bool,
}

impl Private {
    pub(crate) fn ours(tag: impl Into<String>) -> Private {
        Private {
            last_tag: Some(tag.into()),
            ..Private::default()
        }
    }

    /// Unreadable or absent private state (imports, older versions) means
    /// "no run of ours is known".
    pub(crate) fn decode(bytes: &[u8]) -> Private {
        serde_json::from_slice(bytes).unwrap_or_default()
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}
