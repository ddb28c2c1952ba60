//! Capabilities: what this server tells Terraform it does, and what
//! Terraform's client capabilities allow a configuration to use.

use super::diagnostics::{Diagnostic, Diagnostics};
use super::proto;
use super::schema::Block;
use super::value::Object;

/// The same in `GetMetadata` and `GetProviderSchema`.
pub(crate) fn server() -> proto::ServerCapabilities {
    proto::ServerCapabilities {
        plan_destroy: true,
        // The schema never changes within one binary: core may cache it.
        get_provider_schema_optional: true,
        move_resource_state: false,
        // Terraform then derives configuration from state itself.
        generate_resource_config: false,
    }
}

/// Write-only attributes need Terraform 1.11+, which says so through
/// `write_only_attributes_allowed`; older versions would store them.
pub(crate) fn check_write_only(
    block: &Block,
    config: &Object,
    caps: Option<&proto::ClientCapabilities>,
) -> Diagnostics {
    if caps.is_some_and(|c| c.write_only_attributes_allowed) {
        return Diagnostics::new();
    }
    let mut diags = Diagnostics::new();
    for a in block
        .attributes
        .iter()
        .filter(|a| a.write_only && !config.is_null(&a.name))
    {
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
    diags
}
