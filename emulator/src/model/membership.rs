//! How a VM belongs to a scale set, and the world keys of scale sets and their uniform
//! instances. Below both [`super::vm`] and [`super::scale_set`], which name each other's
//! keys.

/// The world key of a scale set: apart from VM keys (`sub/rg/name`) by its extra segment.
pub(crate) fn scale_set_key(subscription: &str, resource_group: &str, name: &str) -> String {
    format!("{subscription}/{resource_group}/virtualmachinescalesets/{name}").to_ascii_lowercase()
}

/// The world key of a uniform instance: its scale set's key and `virtualmachines/{id}`.
pub(crate) fn instance_key(
    subscription: &str,
    resource_group: &str,
    scale_set: &str,
    instance_id: &str,
) -> String {
    format!(
        "{}/virtualmachines/{instance_id}",
        scale_set_key(subscription, resource_group, scale_set)
    )
    .to_ascii_lowercase()
}

/// How a VM belongs to a scale set.
#[derive(Debug, Clone)]
pub(crate) struct Membership {
    /// The scale set's name, as created.
    pub scale_set: String,
    /// The scale set's ARM ID.
    pub scale_set_id: String,
    /// A uniform instance's ID ("0", "1", …); `None` for a flexible VM.
    pub instance_id: Option<String>,
    /// Whether the scale set's current model reached this instance.
    pub latest_model_applied: bool,
    /// Lower-cased names of the model extensions last applied here, so that a model
    /// extension removed since is removed from the instance on the next upgrade.
    pub applied_model: Vec<String>,
}
