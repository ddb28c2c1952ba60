//! What a provider implements. Resources are required; every other kind of
//! object is an optional capability that defaults to none, so offering one
//! is additive (like terraform-plugin-framework's `ProviderWithActions`).

use super::action::Action;
use super::declared::Declared;
use super::diagnostics::Diagnostics;
use super::list::ListResource;
use super::resource::Resource;
use super::schema::Schema;
use super::value::Object;

#[async_trait::async_trait]
pub(crate) trait Provider: Send + Sync + 'static {
    fn schema(&self) -> &Schema;
    /// Asked once, when the server starts.
    fn resources(&self) -> Vec<Declared<dyn Resource>>;

    /// Actions (Terraform 1.14+); none by default.
    fn actions(&self) -> Vec<Declared<dyn Action>> {
        Vec::new()
    }

    /// List resources for `terraform query` (Terraform 1.14+); none by
    /// default. Each lists a resource type that has an identity.
    fn list_resources(&self) -> Vec<Declared<dyn ListResource>> {
        Vec::new()
    }

    /// Checks configuration without side effects; unknowns are skipped.
    fn validate(&self, _config: &Object) -> Diagnostics {
        Diagnostics::new()
    }

    /// Prepares for resource calls. Must not touch the network: Terraform
    /// configures providers for `validate` and empty plans too.
    async fn configure(&self, config: &Object, terraform_version: &str) -> Diagnostics;
}
