//! ARM list operations: the VMs or the scale sets of a subscription or resource group, the
//! instances of a scale set, one page at a time, and the extensions of a VM.
//!
//! Pages are read one call at a time so that a caller that needs only a few VMs reads only the
//! pages it needs. A `nextLink` is followed only when it points at the resource manager's own
//! origin (the bearer token must not travel anywhere else) and is not the page just read.
//!
//! The top of the Azure layer: imports `operations` (whose [`ArmClient`] it extends), `pipeline`,
//! `response` and the types below them; nothing imports it except `mod.rs`'s re-exports.

use reqwest::{Method, Url};
use serde::Deserialize;

use super::context::OpContext;
use super::error::AzureError;
use super::ids::{ScaleSetId, VirtualMachineId};
use super::models::{ExtensionWire, Orchestration, ScaleSet, VirtualMachine, VmExtension};
use super::operations::{ArmClient, COMPUTE_API_VERSION, arm_origin_url};
use super::pipeline::Handling;
use super::response::ArmResponse;

/// Where to list VMs: a whole subscription, or one resource group in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmListScope {
    pub(crate) subscription_id: String,
    pub(crate) resource_group: Option<String>,
}

impl VmListScope {
    /// `subscriptions/{s}[/resourceGroups/{rg}]/providers/Microsoft.Compute/{kind}`.
    fn segments<'a>(&'a self, kind: &'a str) -> Vec<&'a str> {
        let mut segments = vec!["subscriptions", self.subscription_id.as_str()];
        if let Some(rg) = &self.resource_group {
            segments.extend(["resourceGroups", rg.as_str()]);
        }
        segments.extend(["providers", "Microsoft.Compute", kind]);
        segments
    }
}

impl std::fmt::Display for VmListScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.resource_group {
            Some(rg) => write!(
                f,
                "resource group {rg} of subscription {}",
                self.subscription_id
            ),
            None => write!(f, "subscription {}", self.subscription_id),
        }
    }
}

/// Which page of a scope's VMs to read: the first, or the one a previous page's `nextLink`
/// names.
#[derive(Debug, Clone, Copy)]
pub struct VmPageAt<'a> {
    pub(crate) scope: &'a VmListScope,
    /// The previous page's `next_link`; `None` for the first page.
    pub(crate) next_link: Option<&'a str>,
}

/// Which page of a scale set's instances to read.
#[derive(Debug, Clone, Copy)]
pub struct InstancePageAt<'a> {
    pub(crate) scale_set: &'a ScaleSetId,
    pub(crate) orchestration: Orchestration,
    /// The previous page's `next_link`; `None` for the first page.
    pub(crate) next_link: Option<&'a str>,
}

/// One page of a VM list. `next_link` is ARM's continuation, to pass back unchanged.
#[derive(Debug, Clone, Default)]
pub struct VmPage {
    pub(crate) vms: Vec<VirtualMachine>,
    pub(crate) next_link: Option<String>,
}

/// One page of a scale-set list. `next_link` is ARM's continuation, to pass back unchanged.
#[derive(Debug, Clone, Default)]
pub struct ScaleSetPage {
    pub(crate) scale_sets: Vec<ScaleSet>,
    pub(crate) next_link: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ListWire<T> {
    value: Vec<T>,
    next_link: Option<String>,
}

impl ArmClient {
    /// Reads one page of VMs: the first page of the scope, or the page a `nextLink` names.
    /// VMs come without instance view; their `resources` hold only extension IDs.
    pub(crate) async fn list_virtual_machines_page(
        &self,
        VmPageAt { scope, next_link }: VmPageAt<'_>,
        ctx: &OpContext,
    ) -> Result<VmPage, AzureError> {
        let cloud = self.cloud(ctx).await?;
        let url = match next_link {
            None => Self::url(cloud, &scope.segments("virtualMachines"), false)?,
            Some(link) => next_link_url(&cloud.resource_manager, link)?,
        };
        self.read_vm_page(
            url,
            next_link,
            &format!("the virtual machines of {scope}"),
            ctx,
        )
        .await
    }

    /// Reads one page of scale sets (`VirtualMachineScaleSets_ListAll` of a subscription, or
    /// `_List` of a resource group): the first page of the scope, or the page a `nextLink`
    /// names. Scale sets come with their model, never its protected settings.
    pub(crate) async fn list_scale_sets_page(
        &self,
        VmPageAt { scope, next_link }: VmPageAt<'_>,
        ctx: &OpContext,
    ) -> Result<ScaleSetPage, AzureError> {
        let cloud = self.cloud(ctx).await?;
        let url = match next_link {
            None => Self::url(cloud, &scope.segments("virtualMachineScaleSets"), false)?,
            Some(link) => next_link_url(&cloud.resource_manager, link)?,
        };
        let what = format!("the virtual machine scale sets of {scope}");
        let (scale_sets, next_link) = self.read_page(url, next_link, &what, ctx).await?;
        Ok(ScaleSetPage {
            scale_sets,
            next_link,
        })
    }

    /// Reads one page of a scale set's instances, with their instance views: a uniform scale
    /// set's from `{scale set}/virtualMachines`, a flexible one's from its resource group's VMs
    /// filtered on the scale set.
    pub(crate) async fn list_scale_set_instances_page(
        &self,
        InstancePageAt {
            scale_set,
            orchestration,
            next_link,
        }: InstancePageAt<'_>,
        ctx: &OpContext,
    ) -> Result<VmPage, AzureError> {
        let cloud = self.cloud(ctx).await?;
        let url = match (next_link, orchestration) {
            (Some(link), _) => next_link_url(&cloud.resource_manager, link)?,
            (None, Orchestration::Uniform) => {
                let mut segments = scale_set.path_segments();
                segments.push("virtualMachines");
                Self::url(cloud, &segments, true)?
            }
            (None, Orchestration::Flexible) => {
                let group = VmListScope {
                    subscription_id: scale_set.subscription_id().to_string(),
                    resource_group: Some(scale_set.resource_group().to_string()),
                };
                let mut url = Self::url(cloud, &group.segments("virtualMachines"), true)?;
                url.query_pairs_mut().append_pair(
                    "$filter",
                    &format!("'virtualMachineScaleSet/id' eq '{scale_set}'"),
                );
                url
            }
        };
        self.read_vm_page(
            url,
            next_link,
            &format!("the instances of scale set {scale_set}"),
            ctx,
        )
        .await
    }

    /// One page of a VM list at `url`; `next_link` is the link `url` came from, if any.
    async fn read_vm_page(
        &self,
        url: Url,
        next_link: Option<&str>,
        what: &str,
        ctx: &OpContext,
    ) -> Result<VmPage, AzureError> {
        let (vms, next_link) = self.read_page(url, next_link, what, ctx).await?;
        Ok(VmPage { vms, next_link })
    }

    /// One page of any list at `url` ([`decode_page`]); `current` is the link `url` came from.
    async fn read_page<T: serde::de::DeserializeOwned + Default>(
        &self,
        url: Url,
        current: Option<&str>,
        what: &str,
        ctx: &OpContext,
    ) -> Result<(Vec<T>, Option<String>), AzureError> {
        let resp = self.read_listing(url, what, ctx).await?;
        decode_page(&resp, current, what)
    }

    /// Lists the extensions of a VM (one request; ARM does not page this list). Public settings
    /// are included, protected settings never are.
    pub(crate) async fn list_extensions(
        &self,
        vm: &VirtualMachineId,
        ctx: &OpContext,
    ) -> Result<Vec<VmExtension>, AzureError> {
        let mut segments = vm.path_segments();
        segments.push("extensions");
        let url = Self::url(self.cloud(ctx).await?, &segments, false)?;
        let what = format!("the extensions of virtual machine {vm}");
        decode_extension_list(&self.read_listing(url, &what, ctx).await?)
    }

    /// One read of a listing (paced by the subscription's read budget); `what` is listed.
    async fn read_listing(
        &self,
        url: Url,
        what: &str,
        ctx: &OpContext,
    ) -> Result<ArmResponse, AzureError> {
        let handling = Handling::listing(format!("listing {what}"));
        self.send(Method::GET, url, None, handling, ctx)
            .await?
            .error_for_status(what)
    }
}

/// One page of a list as ARM answers it: its items and its `nextLink` ([`checked_next_link`]);
/// `current` is the link the page was read from, if any. The provider's spec tests decode the
/// specification's example pages through it.
pub(crate) fn decode_page<T: serde::de::DeserializeOwned + Default>(
    resp: &ArmResponse,
    current: Option<&str>,
    what: &str,
) -> Result<(Vec<T>, Option<String>), AzureError> {
    let page: ListWire<T> = resp.json(&format!("a page of {what}"))?;
    let next = checked_next_link(page.next_link, current, resp.status.as_u16(), what)?;
    Ok((page.value, next))
}

/// A VM's extensions as ARM lists them (one page: ARM does not page this list).
pub(crate) fn decode_extension_list(resp: &ArmResponse) -> Result<Vec<VmExtension>, AzureError> {
    let list: ListWire<ExtensionWire> = resp.json("a list of VM extensions")?;
    Ok(list.value.into_iter().map(VmExtension::from).collect())
}

/// A page's `nextLink`, empty read as none; a link that names the page just read (`current`)
/// would loop forever, so it is an error.
fn checked_next_link(
    next: Option<String>,
    current: Option<&str>,
    status: u16,
    what: &str,
) -> Result<Option<String>, AzureError> {
    if next.is_some() && next.as_deref() == current {
        return Err(AzureError::UnexpectedResponse {
            status,
            detail: format!("listing {what}: the next page link repeats the page just read"),
        });
    }
    Ok(next.filter(|l| !l.is_empty()))
}

/// The URL of a `nextLink`, accepted only on the resource manager's origin; our api-version is
/// added when the link has none.
fn next_link_url(resource_manager: &str, link: &str) -> Result<Url, AzureError> {
    // Refused, not followed: the bearer token must never leave the resource manager.
    let mut url = arm_origin_url(resource_manager, link, "the next page link", |detail| {
        AzureError::Refused { detail }
    })?;
    if !url.query_pairs().any(|(k, _)| k == "api-version") {
        url.query_pairs_mut()
            .append_pair("api-version", COMPUTE_API_VERSION);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARM: &str = "https://management.azure.com/";

    #[test]
    fn next_link_must_stay_on_the_resource_manager() {
        let ok = next_link_url(
            ARM,
            "https://management.azure.com/subscriptions/s/providers/Microsoft.Compute/virtualMachines?api-version=2025-04-01&%24skiptoken=abc",
        )
        .expect("same origin");
        assert_eq!(
            ok.query_pairs().filter(|(k, _)| k == "api-version").count(),
            1
        );

        for foreign in [
            "https://evil.example/subscriptions/s/providers/Microsoft.Compute/virtualMachines",
            "http://management.azure.com/subscriptions/s",
            "https://management.azure.com:8443/subscriptions/s",
            "not a url",
        ] {
            let err = next_link_url(ARM, foreign).expect_err(foreign);
            assert!(
                matches!(err, AzureError::Refused { .. }),
                "{foreign}: {err}"
            );
        }
    }

    #[test]
    fn next_link_without_api_version_gets_ours() {
        let url = next_link_url(ARM, "https://management.azure.com/x?$skiptoken=abc").expect("ok");
        assert!(
            url.query_pairs()
                .any(|(k, v)| k == "api-version" && v == COMPUTE_API_VERSION)
        );
        assert!(
            url.query_pairs()
                .any(|(k, v)| k == "$skiptoken" && v == "abc")
        );
    }

    #[test]
    fn scope_reads_well_in_errors() {
        let sub = VmListScope {
            subscription_id: "s1".into(),
            resource_group: None,
        };
        assert_eq!(sub.to_string(), "subscription s1");
        let rg = VmListScope {
            resource_group: Some("rg".into()),
            ..sub
        };
        assert_eq!(rg.to_string(), "resource group rg of subscription s1");
    }
}
