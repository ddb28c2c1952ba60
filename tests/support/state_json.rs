//! Values in the JSON form Terraform stores state in: the input of the provider's JSON decoder.

use serde_json::{Value as Json, json};
use terraform_provider_vm::tfprotocol::{Number, Value};

/// `value` as Terraform writes it in state JSON. Decimal numbers are JSON strings (cty accepts
/// those: serde_json without `arbitrary_precision` cannot carry their digits). State holds no
/// unknowns and no infinities; they are written as `null`, which decodes to something else, so a
/// round trip through this form shows them.
pub fn to_state_json(value: &Value) -> Json {
    match value {
        Value::Null | Value::Unknown => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Number(Number::Int(i)) => json!(i),
        Value::Number(Number::Float(f)) => json!(f),
        Value::Number(Number::Decimal(s)) => json!(s),
        Value::String(s) => json!(s),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            Json::Array(items.iter().map(to_state_json).collect())
        }
        Value::Map(m) => Json::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), to_state_json(v)))
                .collect(),
        ),
        Value::Object(o) => Json::Object(
            o.attrs
                .iter()
                .map(|(k, v)| (k.clone(), to_state_json(v)))
                .collect(),
        ),
        Value::Dynamic(t, inner) => json!({"type": t.to_json(), "value": to_state_json(inner)}),
    }
}
