//! Resource identity (protocol 6.9, Terraform 1.12+): a small object that
//! names a managed resource instance independently of its state, stored
//! next to the state and accepted by `import { identity = { … } }`.
//!
//! A resource opts in by returning a [`ResourceIdentity`] from
//! [`Resource::identity`](super::Resource::identity). The server computes
//! the identity from the state in every Read, Plan, Apply and Import reply
//! through [`ResourceIdentity::identity_of_state`]; it never echoes what Terraform
//! sent, which is absent with older state or Terraform.

use super::diagnostics::{Diagnostic, Diagnostics};
use super::proto;
use super::types::Type;
use super::value::{Object, Value};

/// Whether an identity attribute must be given in an `import` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportRule {
    /// The `import` block must set it.
    Required,
    /// The `import` block may leave it out.
    Optional,
}

#[derive(Debug, Clone)]
/// One attribute of a resource identity.
pub struct IdentityAttribute {
    /// Its name.
    pub name: String,
    pub(crate) ty: Type,
    /// Whether an import must give it.
    pub import: ImportRule,
    pub(crate) description: String,
}

impl IdentityAttribute {
    /// Identity types may be primitives or lists, never maps, sets or
    /// objects (Terraform 1.15 rejects those); this provider needs strings.
    pub(crate) fn string(name: &str, import: ImportRule, description: &str) -> IdentityAttribute {
        IdentityAttribute {
            name: name.to_string(),
            ty: Type::String,
            import,
            description: description.to_string(),
        }
    }
}

/// The identity schema, versioned independently of the resource schema.
#[derive(Debug, Clone, Default)]
pub struct IdentitySchema {
    /// Bumped when the attributes change.
    pub version: i64,
    /// The attributes, in order.
    pub attributes: Vec<IdentityAttribute>,
}

impl IdentitySchema {
    /// The object type identities of this schema are encoded with.
    pub fn implied_type(&self) -> Type {
        Type::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone()))
                .collect(),
        )
    }

    pub(crate) fn to_proto(&self) -> proto::ResourceIdentitySchema {
        proto::ResourceIdentitySchema {
            version: self.version,
            identity_attributes: self
                .attributes
                .iter()
                .map(|a| proto::resource_identity_schema::IdentityAttribute {
                    name: a.name.clone(),
                    r#type: a.ty.to_json_bytes(),
                    required_for_import: a.import == ImportRule::Required,
                    optional_for_import: a.import == ImportRule::Optional,
                    description: a.description.clone(),
                })
                .collect(),
        }
    }

    /// Checks an identity from an `import` block: every required attribute
    /// set, every value known. Errors name the attribute.
    pub(crate) fn check_import(&self, identity: &Object) -> Diagnostics {
        let mut diags = Diagnostics::new();
        for a in &self.attributes {
            let value = identity.get(&a.name);
            if value.is_unknown() {
                diags.push(Diagnostic::error(
                    "Identity attribute not known",
                    format!(
                        "The import identity's `{}` is not known yet. Use a value known at plan time.",
                        a.name
                    ),
                ));
            } else if a.import == ImportRule::Required && value.is_null() {
                diags.push(Diagnostic::error(
                    "Missing identity attribute",
                    format!("The import identity needs `{}`: {}", a.name, a.description),
                ));
            }
        }
        diags
    }

    /// An object with every attribute present (null when not given), as
    /// Terraform stores identities.
    pub fn complete(&self, mut identity: Object) -> Object {
        for a in &self.attributes {
            if !identity.attrs.contains_key(&a.name) {
                identity.set(&a.name, Value::Null);
            }
        }
        identity
    }
}

/// The identity capability of a resource.
#[async_trait::async_trait]
pub(crate) trait ResourceIdentity: Send + Sync {
    fn schema(&self) -> &IdentitySchema;

    /// The identity of the object in `state`, derived from what the provider
    /// itself wrote there (its ID). `None` while that is not known yet (a
    /// planned create or replace).
    fn identity_of_state(&self, state: &Object) -> Option<Object>;

    /// An identity stored under an older identity schema `version`, in the
    /// current schema; `None` when the state held none (state written by
    /// Terraform < 1.12 or before this resource had an identity: the next
    /// read fills it in). The default decodes it unchanged.
    fn upgrade(&self, version: i64, stored: Option<Object>) -> Result<Option<Object>, Diagnostics> {
        let _ = version;
        Ok(stored.map(|o| self.schema().complete(o)))
    }

    /// Resolves an `import { identity = … }` to the ID an import by ID
    /// takes. `identity` has passed [`IdentitySchema::check_import`].
    async fn import_id(&self, identity: &Object) -> Result<String, Diagnostics>;
}
