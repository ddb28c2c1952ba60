//! `api-version` validation per resource type, with ARM's error codes
//! (`shared/facts/azure-identity-and-arm-shapes.md` §9): ARM's own types
//! (`Microsoft.Resources`) answer `InvalidApiVersionParameter`, provider types
//! `NoRegisteredProviderFound`; both name the supported versions.
//!
//! The lists hold every version the provider (`src/azure`), the emulator's
//! tests and the pinned conformance clients (azure-cli, azure-mgmt-compute,
//! azure-mgmt-resource) send, within the versions Azure publishes.

use axum::http::StatusCode;
use axum::response::Response;

use super::response::arm_error;

/// Microsoft.Compute's published versions, newest first.
const COMPUTE: &[&str] = &[
    "2026-04-01",
    "2025-11-01",
    "2025-04-01",
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2023-09-01",
    "2023-07-01",
    "2023-03-01",
    "2022-11-01",
    "2022-08-01",
    "2022-03-01",
    "2021-11-01",
    "2021-07-01",
    "2021-04-01",
    "2021-03-01",
    "2020-12-01",
    "2020-06-01",
    "2019-12-01",
    "2019-07-01",
    "2019-03-01",
    "2018-10-01",
    "2018-06-01",
    "2018-04-01",
    "2017-12-01",
    "2017-03-30",
    "2016-08-30",
    "2016-04-30-preview",
    "2016-03-30",
    "2015-06-15",
    "2015-05-01-preview",
];

/// Microsoft.Resources' versions for `subscriptions`, newest first.
const SUBSCRIPTIONS: &[&str] = &[
    "2025-04-01",
    "2024-11-01",
    "2024-08-01",
    "2024-07-01",
    "2024-03-01",
    "2023-07-01",
    "2022-12-01",
    "2022-09-01",
    "2022-06-01",
    "2022-01-01",
    "2021-04-01",
    "2021-01-01",
    "2020-10-01",
    "2020-06-01",
    "2020-01-01",
    "2019-11-01",
    "2019-10-01",
    "2019-09-01",
    "2019-08-01",
    "2019-07-01",
    "2019-06-01",
    "2019-05-10",
    "2019-05-01",
    "2019-03-01",
    "2018-11-01",
    "2018-09-01",
    "2018-08-01",
    "2018-07-01",
    "2018-06-01",
    "2018-05-01",
    "2018-02-01",
    "2018-01-01",
    "2017-12-01",
    "2017-08-01",
    "2017-06-01",
    "2017-05-10",
    "2017-05-01",
    "2017-03-01",
    "2016-09-01",
    "2016-07-01",
    "2016-06-01",
    "2016-02-01",
    "2015-11-01",
    "2015-01-01",
    "2014-04-01-preview",
    "2014-04-01",
    "2014-01-01",
];

/// Where Microsoft.Compute says its types are available.
const LOCATIONS: &[&str] = &[
    "eastus",
    "eastus2",
    "westus",
    "westus2",
    "westus3",
    "centralus",
    "northcentralus",
    "southcentralus",
    "westcentralus",
    "canadacentral",
    "canadaeast",
    "brazilsouth",
    "northeurope",
    "westeurope",
    "uksouth",
    "ukwest",
    "francecentral",
    "germanywestcentral",
    "switzerlandnorth",
    "norwayeast",
    "swedencentral",
    "eastasia",
    "southeastasia",
    "japaneast",
    "japanwest",
    "koreacentral",
    "australiaeast",
    "australiasoutheast",
    "centralindia",
    "southindia",
    "uaenorth",
    "southafricanorth",
];

/// A resource type the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ResourceType {
    Subscriptions,
    VirtualMachines,
    Extensions,
    ScaleSets,
    ScaleSetExtensions,
    ScaleSetVms,
    ScaleSetVmExtensions,
    Operations,
    Publishers,
    ExtensionTypes,
    ExtensionVersions,
}

impl ResourceType {
    /// The type as ARM names it in messages.
    fn name(self) -> &'static str {
        match self {
            ResourceType::Subscriptions => "subscriptions",
            ResourceType::VirtualMachines => "virtualMachines",
            ResourceType::Extensions => "virtualMachines/extensions",
            ResourceType::ScaleSets => "virtualMachineScaleSets",
            ResourceType::ScaleSetExtensions => "virtualMachineScaleSets/extensions",
            ResourceType::ScaleSetVms => "virtualMachineScaleSets/virtualMachines",
            ResourceType::ScaleSetVmExtensions => {
                "virtualMachineScaleSets/virtualMachines/extensions"
            }
            ResourceType::Operations => "locations/operations",
            ResourceType::Publishers => "locations/publishers",
            ResourceType::ExtensionTypes => "locations/publishers/artifacttypes/types",
            ResourceType::ExtensionVersions => "locations/publishers/artifacttypes/types/versions",
        }
    }

    fn supported(self) -> &'static [&'static str] {
        match self {
            ResourceType::Subscriptions => SUBSCRIPTIONS,
            _ => COMPUTE,
        }
    }
}

/// `Ok` when `version` is served for `resource_type`; else ARM's 400.
/// `location` is the resource's location where the route or the resource
/// gives one (ARM names it in `NoRegisteredProviderFound`).
#[allow(clippy::result_large_err)]
pub(super) fn check(
    resource_type: ResourceType,
    location: Option<&str>,
    version: &str,
) -> Result<(), Response> {
    let supported = resource_type.supported();
    if supported.iter().any(|v| v.eq_ignore_ascii_case(version)) {
        return Ok(());
    }
    let list = supported.join(", ");
    if resource_type == ResourceType::Subscriptions || !well_formed(version) {
        return Err(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            format!("The api-version '{version}' is invalid. The supported versions are '{list}'."),
        ));
    }
    Err(arm_error(
        StatusCode::BAD_REQUEST,
        "NoRegisteredProviderFound",
        format!(
            "No registered resource provider found for location '{}' and API version '{version}' for type '{}'. The supported api-versions are '{list}'. The supported locations are '{}'.",
            location.unwrap_or("westeurope"),
            resource_type.name(),
            LOCATIONS.join(", ")
        ),
    ))
}

/// `YYYY-MM-DD` with an optional `-preview` suffix.
fn well_formed(v: &str) -> bool {
    let date = v.strip_suffix("-preview").unwrap_or(v);
    let bytes = date.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_and_client_versions_are_served() {
        for version in ["2024-11-01", "2025-04-01", "2026-04-01", "2024-07-01"] {
            assert!(check(ResourceType::Extensions, None, version).is_ok());
        }
        assert!(check(ResourceType::Subscriptions, None, "2022-12-01").is_ok());
        assert!(check(ResourceType::Extensions, None, "2014-01-01").is_err());
        assert!(check(ResourceType::Subscriptions, None, "2024-11-04").is_err());
    }
}
