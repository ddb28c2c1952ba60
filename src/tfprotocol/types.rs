//! Terraform's type system (cty types) and their compact JSON form, which is
//! how schemas describe attribute types on the wire (`"string"`,
//! `["list","string"]`, `["object",{"a":"bool"}]`, …).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::CodecError;

/// A cty type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// `string`
    String,
    /// `number`
    Number,
    /// `bool`
    Bool,
    /// The dynamic pseudo-type: the concrete type travels with the value.
    Dynamic,
    /// `list(element)`
    List(Box<Type>),
    /// `set(element)`
    Set(Box<Type>),
    /// `map(element)`
    Map(Box<Type>),
    /// `object({name = type, …})`
    Object(BTreeMap<String, Type>),
    /// `tuple([type, …])`
    Tuple(Vec<Type>),
}

impl Type {
    /// `list(element)`
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }

    /// `set(element)`
    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }

    /// `map(element)`
    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }

    /// The compact JSON form used in `Schema.Attribute.type`.
    pub fn to_json(&self) -> Json {
        match self {
            Type::String => Json::from("string"),
            Type::Number => Json::from("number"),
            Type::Bool => Json::from("bool"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(e) => Json::Array(vec!["list".into(), e.to_json()]),
            Type::Set(e) => Json::Array(vec!["set".into(), e.to_json()]),
            Type::Map(e) => Json::Array(vec!["map".into(), e.to_json()]),
            Type::Object(attrs) => Json::Array(vec![
                "object".into(),
                Json::Object(
                    attrs
                        .iter()
                        .map(|(k, t)| (k.clone(), t.to_json()))
                        .collect(),
                ),
            ]),
            Type::Tuple(elems) => Json::Array(vec![
                "tuple".into(),
                Json::Array(elems.iter().map(Type::to_json).collect()),
            ]),
        }
    }

    pub(crate) fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Reads the compact JSON form (as in a schema or a `DynamicValue` with a dynamic type).
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Type, CodecError> {
        let json: Json = serde_json::from_slice(bytes)
            .map_err(|e| CodecError::new(format!("type is not valid JSON: {e}")))?;
        Type::from_json(&json)
    }

    pub(crate) fn from_json(json: &Json) -> Result<Type, CodecError> {
        let bad = || CodecError::new(format!("unsupported type description {json}"));
        match json {
            Json::String(s) => match s.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(bad()),
            },
            Json::Array(parts) => {
                let kind = parts.first().and_then(Json::as_str).ok_or_else(bad)?;
                let arg = parts.get(1).ok_or_else(bad)?;
                match kind {
                    "list" => Ok(Type::list(Type::from_json(arg)?)),
                    "set" => Ok(Type::set(Type::from_json(arg)?)),
                    "map" => Ok(Type::map(Type::from_json(arg)?)),
                    "object" => {
                        let attrs = arg.as_object().ok_or_else(bad)?;
                        let mut out = BTreeMap::new();
                        for (name, t) in attrs {
                            out.insert(name.clone(), Type::from_json(t)?);
                        }
                        Ok(Type::Object(out))
                    }
                    "tuple" => {
                        let elems = arg.as_array().ok_or_else(bad)?;
                        Ok(Type::Tuple(
                            elems
                                .iter()
                                .map(Type::from_json)
                                .collect::<Result<_, _>>()?,
                        ))
                    }
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }
}
