//! Finding the object a request names, and the one answer for a name this
//! provider does not have, whatever its kind.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::action::Action;
use super::codec::{decode_object, encode_object};
use super::declared::Declared;
use super::diagnostics::{Diagnostic, Diagnostics};
use super::identity::ResourceIdentity;
use super::list::ListResource;
use super::proto;
use super::provider::Provider;
use super::resource::Resource;
use super::value::Object;

/// The kinds of object a request can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Resource,
    DataSource,
    EphemeralResource,
    ListResource,
    Action,
    Function,
}

impl Kind {
    fn singular(self) -> &'static str {
        match self {
            Kind::Resource => "resource type",
            Kind::DataSource => "data source",
            Kind::EphemeralResource => "ephemeral resource",
            Kind::ListResource => "list resource",
            Kind::Action => "action",
            Kind::Function => "function",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Resource => "resource types",
            Kind::DataSource => "data sources",
            Kind::EphemeralResource => "ephemeral resources",
            Kind::ListResource => "list resources",
            Kind::Action => "actions",
            Kind::Function => "functions",
        }
    }
}

/// "This provider has no X of that name", listing what it does offer.
pub(crate) fn unknown<'a>(
    kind: Kind,
    name: &str,
    offered: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    let offered: Vec<String> = offered.into_iter().map(|n| format!("{n:?}")).collect();
    let singular = kind.singular();
    let detail = if offered.is_empty() {
        format!(
            "This provider has no {}; {name:?} does not exist.",
            kind.plural()
        )
    } else {
        format!(
            "This provider has no {singular} {name:?}. It offers: {}.",
            offered.join(", ")
        )
    };
    Diagnostic::error(format!("Unknown {singular}"), detail)
}

/// Everything a provider offers, by type name.
pub(crate) struct Registry {
    pub(crate) resources: BTreeMap<&'static str, Arc<Declared<dyn Resource>>>,
    pub(crate) actions: BTreeMap<&'static str, Arc<Declared<dyn Action>>>,
    pub(crate) lists: BTreeMap<&'static str, Arc<Declared<dyn ListResource>>>,
}

/// By type name.
fn by_name<T: ?Sized>(declared: Vec<Declared<T>>) -> BTreeMap<&'static str, Arc<Declared<T>>> {
    declared
        .into_iter()
        .map(|d| (d.type_name, Arc::new(d)))
        .collect()
}

impl Registry {
    pub(crate) fn new(provider: &dyn Provider) -> Registry {
        Registry {
            resources: by_name(provider.resources()),
            actions: by_name(provider.actions()),
            lists: by_name(provider.list_resources()),
        }
    }

    pub(crate) fn resource(&self, name: &str) -> Result<&Arc<Declared<dyn Resource>>, Diagnostics> {
        self.resources
            .get(name)
            .ok_or_else(|| unknown(Kind::Resource, name, self.resources.keys().copied()).into())
    }

    pub(crate) fn action(&self, name: &str) -> Result<&Arc<Declared<dyn Action>>, Diagnostics> {
        self.actions
            .get(name)
            .ok_or_else(|| unknown(Kind::Action, name, self.actions.keys().copied()).into())
    }

    pub(crate) fn list(&self, name: &str) -> Result<&Arc<Declared<dyn ListResource>>, Diagnostics> {
        self.lists
            .get(name)
            .ok_or_else(|| unknown(Kind::ListResource, name, self.lists.keys().copied()).into())
    }

    /// The listed resource type with its identity: a list resource without
    /// one is a provider bug Terraform would reject anyway.
    pub(crate) fn listed_resource(
        &self,
        name: &str,
    ) -> Result<&Arc<Declared<dyn Resource>>, Diagnostics> {
        match self.resources.get(name) {
            Some(r) if r.identity().is_some() => Ok(r),
            _ => Err(Diagnostic::error(
                "List resource without an identity",
                format!(
                    "{name:?} is listed but is not a managed resource type with an identity. This is a bug in the provider; please report it."
                ),
            )
            .into()),
        }
    }
}

/// The identity of `state` for a reply, derived from the state itself;
/// `None` for resources without identity and for objects not known yet.
pub(crate) fn identity_of(
    res: &Declared<dyn Resource>,
    state: Option<&Object>,
) -> Result<Option<proto::ResourceIdentityData>, Diagnostics> {
    let (Some(capability), Some(state)) = (res.identity(), state) else {
        return Ok(None);
    };
    let Some(identity) = capability.identity_of_state(state) else {
        return Ok(None);
    };
    let ty = capability.schema().implied_type();
    Ok(Some(proto::ResourceIdentityData {
        identity_data: Some(encode_object(Some(identity), &ty)?),
    }))
}

/// The resource type's identity capability, for a request that needs one:
/// without it, an error `summary` whose detail says the type has none, then `advice`.
pub(crate) fn required_identity<'r>(
    res: &'r Declared<dyn Resource>,
    summary: &str,
    advice: &str,
) -> Result<&'r dyn ResourceIdentity, Diagnostics> {
    res.identity().ok_or_else(|| {
        Diagnostic::error(
            summary,
            format!("{:?} has no identity{advice}", res.type_name),
        )
        .into()
    })
}

/// An identity Terraform sent for the resource type (null → `None`).
pub(crate) fn decode_identity(
    res: &Declared<dyn Resource>,
    data: Option<&proto::ResourceIdentityData>,
) -> Result<Option<Object>, Diagnostics> {
    let Some(capability) = res.identity() else {
        return Ok(None);
    };
    decode_object(
        data.and_then(|d| d.identity_data.as_ref()),
        &capability.schema().implied_type(),
        "resource identity",
    )
}
