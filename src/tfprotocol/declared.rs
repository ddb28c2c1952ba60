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

use super::schema::Schema;

/// One object kind a provider offers. Used as the object itself (it dereferences to it).
pub struct Declared<T: ?Sized> {
    pub type_name: &'static str,
    pub schema: Schema,
    object: Arc<T>,
}

impl<T: ?Sized> Declared<T> {
    pub fn new(type_name: &'static str, schema: Schema, object: Arc<T>) -> Declared<T> {
        Declared {
            type_name,
            schema,
            object,
        }
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
