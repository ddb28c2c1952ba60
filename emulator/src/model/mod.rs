//! The emulated world: virtual machines, their guest state, extensions and
//! the long-running operations that change them.

pub mod extension;
pub mod operations;
pub mod vm;
pub mod vmaccess;

/// Applies one field of an out-of-band change: absent fields are left alone.
pub(crate) fn replace_if_some<T: Clone>(target: &mut T, change: &Option<T>) {
    if let Some(value) = change {
        *target = value.clone();
    }
}
