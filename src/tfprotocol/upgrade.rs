//! Stored state and identities in the current schema. Core calls
//! `UpgradeResourceState` for every instance it reads and
//! `UpgradeResourceIdentity` when the stored identity version is older.

use super::codec::{decode_json_object, encode_block, encode_object};
use super::declared::Declared;
use super::diagnostics::{Diagnostic, Diagnostics};
use super::dispatch::required_identity;
use super::proto;
use super::resource::Resource;

fn newer(what: &str, stored: i64, current: i64) -> Diagnostics {
    Diagnostic::error(
        format!("Resource {what} written by a newer provider"),
        format!(
            "The {what} was written with schema version {stored} but this provider knows version {current}. Upgrade the provider."
        ),
    )
    .into()
}

/// The stored JSON re-encoded as msgpack. Only version 0 exists so far, so
/// nothing is transformed; attributes missing from older state read null.
pub(crate) fn state(
    res: &Declared<dyn Resource>,
    version: i64,
    raw: &proto::RawState,
) -> Result<proto::DynamicValue, Diagnostics> {
    let schema = &res.schema;
    if version > schema.version {
        return Err(newer("state", version, schema.version));
    }
    if raw.json.is_empty() && !raw.flatmap.is_empty() {
        return Err(Diagnostic::error(
            "Unsupported state format",
            "The state is in the legacy flatmap format, which this provider never wrote.",
        )
        .into());
    }
    let ty = schema.block.implied_type();
    let obj = decode_json_object(&raw.json, &ty, "stored state")?;
    encode_block(obj, &schema.block)
}

/// The stored identity in the current identity schema; `None` when there
/// is none yet (the next read computes it).
pub(crate) fn identity(
    res: &Declared<dyn Resource>,
    version: i64,
    raw: &proto::RawState,
) -> Result<Option<proto::ResourceIdentityData>, Diagnostics> {
    let capability = required_identity(
        res,
        "Resource type has no identity",
        " schema, so there is no identity to upgrade. Remove the identity from the state, or use the provider version that wrote it.",
    )?;
    let schema = capability.schema();
    if version > schema.version {
        return Err(newer("identity", version, schema.version));
    }
    let ty = schema.implied_type();
    let stored = decode_json_object(&raw.json, &ty, "stored identity")?;
    match capability.upgrade(version, stored)? {
        None => Ok(None),
        Some(upgraded) => Ok(Some(proto::ResourceIdentityData {
            identity_data: Some(encode_object(Some(upgraded), &ty)?),
        })),
    }
}
