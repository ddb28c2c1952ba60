//! Between `DynamicValue`s on the wire and typed values: decoding as core
//! does, encoding as core accepts, and the diagnostics for both directions.

use super::diagnostics::{Diagnostic, Diagnostics};
use super::schema::Block;
use super::types::Type;
use super::value::{Object, Value};
use super::{CodecError, json, msgpack, proto};

/// Decodes a `DynamicValue` as core does: msgpack first, then JSON; absent
/// or empty means null.
pub(crate) fn decode_dynamic(
    dv: Option<&proto::DynamicValue>,
    ty: &Type,
) -> Result<Value, CodecError> {
    match dv {
        Some(dv) if !dv.msgpack.is_empty() => msgpack::decode(&dv.msgpack, ty),
        Some(dv) if !dv.json.is_empty() => json::decode(&dv.json, ty),
        _ => Ok(Value::Null),
    }
}

/// Always msgpack: Terraform does not reliably accept JSON replies.
pub(crate) fn encode_dynamic(value: &Value, ty: &Type) -> Result<proto::DynamicValue, CodecError> {
    Ok(proto::DynamicValue {
        msgpack: msgpack::encode(value, ty)?,
        json: Vec::new(),
    })
}

/// What Terraform sent could not be decoded.
pub(crate) fn received(what: &str, e: CodecError) -> Diagnostics {
    Diagnostic::error(
        format!("Invalid {what} received from Terraform"),
        format!("The provider could not decode the {what}: {e}. This is a bug in Terraform or in the provider; please report it."),
    )
    .into()
}

/// What the provider produced could not be encoded.
fn produced(e: CodecError) -> Diagnostics {
    Diagnostic::error(
        "Provider produced a value it cannot encode",
        format!("{e}. This is a bug in the provider; please report it."),
    )
    .into()
}

fn into_object(value: Value, what: &str) -> Result<Option<Object>, Diagnostics> {
    match value {
        Value::Null => Ok(None),
        Value::Object(o) => Ok(Some(o)),
        other => Err(received(
            what,
            CodecError::new(format!("expected an object, found {}", other.kind())),
        )),
    }
}

/// An object of type `ty` (null → `None`).
pub(crate) fn decode_object(
    dv: Option<&proto::DynamicValue>,
    ty: &Type,
    what: &str,
) -> Result<Option<Object>, Diagnostics> {
    into_object(decode_dynamic(dv, ty).map_err(|e| received(what, e))?, what)
}

/// An object from stored JSON (`RawState.json`); empty means null.
pub(crate) fn decode_json_object(
    raw: &[u8],
    ty: &Type,
    what: &str,
) -> Result<Option<Object>, Diagnostics> {
    if raw.is_empty() {
        return Ok(None);
    }
    into_object(json::decode(raw, ty).map_err(|e| received(what, e))?, what)
}

pub(crate) fn encode_object(
    obj: Option<Object>,
    ty: &Type,
) -> Result<proto::DynamicValue, Diagnostics> {
    let value = obj.map_or(Value::Null, Value::Object);
    encode_dynamic(&value, ty).map_err(produced)
}

/// An object of a schema block (null → `None`).
pub(crate) fn decode_block(
    dv: Option<&proto::DynamicValue>,
    block: &Block,
    what: &str,
) -> Result<Option<Object>, Diagnostics> {
    decode_object(dv, &block.implied_type(), what)
}

/// Encodes an object (or null) of a schema block, nulling write-only
/// attributes on the way out whatever the implementation returned.
pub(crate) fn encode_block(
    obj: Option<Object>,
    block: &Block,
) -> Result<proto::DynamicValue, Diagnostics> {
    let obj = obj.map(|mut o| {
        block.null_write_only(&mut o);
        o
    });
    encode_object(obj, &block.implied_type())
}
