//! The JSON encoding of values, which Terraform uses for stored state
//! (`RawState.json`) and which `UpgradeResourceState` re-encodes as msgpack.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::CodecError;
use super::types::Type;
use super::value::{Number, Object, Value, is_decimal_literal};

/// Reads stored state JSON as a value of type `ty`.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let json: Json = serde_json::from_slice(bytes)
        .map_err(|e| CodecError::new(format!("state is not valid JSON: {e}")))?;
    from_json(&json, ty)
}

pub(crate) fn from_json(json: &Json, ty: &Type) -> Result<Value, CodecError> {
    // The offending value is never quoted: it may be a secret from state.
    let wrong = || {
        CodecError::new(format!(
            "JSON {} does not conform to type {}",
            kind(json),
            ty.to_json()
        ))
    };
    match (json, ty) {
        (Json::Null, _) => Ok(Value::Null),
        (Json::Bool(b), Type::Bool) => Ok(Value::Bool(*b)),
        (Json::String(s), Type::String) => Ok(Value::String(s.clone())),
        (Json::Number(n), Type::Number) => Ok(Value::Number(if let Some(i) = n.as_i64() {
            Number::Int(i)
        } else if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
            Number::from_f64(f)
        } else {
            Number::Decimal(n.to_string())
        })),
        (Json::String(s), Type::Number) if is_decimal_literal(s) => {
            Ok(Value::Number(Number::Decimal(s.clone())))
        }
        (Json::Array(items), Type::List(elem)) => Ok(Value::List(elements(items, elem)?)),
        (Json::Array(items), Type::Set(elem)) => Ok(Value::Set(elements(items, elem)?)),
        (Json::Array(items), Type::Tuple(types)) if items.len() == types.len() => Ok(Value::Tuple(
            items
                .iter()
                .zip(types)
                .map(|(j, t)| from_json(j, t))
                .collect::<Result<_, _>>()?,
        )),
        (Json::Object(m), Type::Map(elem)) => {
            let mut out = BTreeMap::new();
            for (k, v) in m {
                out.insert(k.clone(), from_json(v, elem)?);
            }
            Ok(Value::Map(out))
        }
        (Json::Object(m), Type::Object(attr_types)) => {
            if let Some(extra) = m.keys().find(|k| !attr_types.contains_key(*k)) {
                return Err(CodecError::new(format!("unsupported attribute {extra:?}")));
            }
            // Attributes missing from stored JSON read as null, as cty does.
            let mut obj = Object::new();
            for (name, t) in attr_types {
                let v = m.get(name).map_or(Ok(Value::Null), |j| from_json(j, t))?;
                obj.attrs.insert(name.clone(), v);
            }
            Ok(Value::Object(obj))
        }
        (Json::Object(m), Type::Dynamic) => {
            let (Some(t), Some(v)) = (m.get("type"), m.get("value")) else {
                return Err(wrong());
            };
            let inner_ty = Type::from_json(t)?;
            Ok(Value::Dynamic(
                inner_ty.clone(),
                Box::new(from_json(v, &inner_ty)?),
            ))
        }
        _ => Err(wrong()),
    }
}

fn elements(items: &[Json], elem: &Type) -> Result<Vec<Value>, CodecError> {
    items.iter().map(|j| from_json(j, elem)).collect()
}

fn kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_numbers() {
        // Issue 14: f64 parsing accepts these; cty does not.
        for s in [
            r#""NaN""#,
            r#""inf""#,
            r#""infinity""#,
            r#""-Infinity""#,
            r#""""#,
        ] {
            assert!(decode(s.as_bytes(), &Type::Number).is_err(), "{s}");
        }
        assert_eq!(
            decode(br#""1.5e3""#, &Type::Number),
            Ok(Value::Number(Number::Decimal("1.5e3".into())))
        );
    }
}
