//! What a provider declares for each object it offers: the type name Terraform uses, the
//! schema of its configuration, and the code that serves it. The traits ([`Resource`],
//! [`Action`], [`ListResource`]) hold behaviour only, so an object's name and schema are
//! stated once, where the provider registers it.
//!
//! [`Resource`]: super::Resource
//! [`Action`]: super::Action
//! [`ListResource`]: super::ListResource

use std::ops::Deref;
use std::sync::Arc;

use super::codec::decode_block;
use super::diagnostics::Diagnostics;
use super::proto;
use super::schema::Schema;
use super::value::Object;

/// One object kind a provider offers. Used as the object itself (it dereferences to it).
pub(crate) struct Declared<T: ?Sized> {
    pub(crate) type_name: &'static str,
    pub(crate) schema: Schema,
    object: Arc<T>,
}

impl<T: ?Sized> Declared<T> {
    pub(crate) fn new(type_name: &'static str, schema: Schema, object: Arc<T>) -> Declared<T> {
        Declared {
            type_name,
            schema,
            object,
        }
    }
}

impl<T: ?Sized> Declared<T> {
    /// The configuration Terraform sent for this object (null reads as empty); `what` names it
    /// in messages.
    pub(crate) fn config(
        &self,
        config: Option<&proto::DynamicValue>,
        what: &str,
    ) -> Result<Object, Diagnostics> {
        Ok(decode_block(config, &self.schema.block, what)?.unwrap_or_default())
    }
}

impl<T: ?Sized> Clone for Declared<T> {
    fn clone(&self) -> Declared<T> {
        Declared::new(self.type_name, self.schema.clone(), self.object.clone())
    }
}

impl<T: ?Sized> Deref for Declared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.object
    }
}
