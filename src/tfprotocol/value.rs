//! Terraform values as resource code sees them: no msgpack, no protobuf.
//!
//! `Object` is the typed view resource code works with
//! (`config.get_string("username")`), and attribute paths name the place a
//! diagnostic points at.

use std::collections::BTreeMap;

use super::types::Type;

/// A Terraform number. Integers that fit in 64 bits stay exact; other values
/// are floats, or decimal strings when neither is exact (as cty sends them).
#[derive(Debug, Clone)]
pub enum Number {
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A number a float holds exactly.
    Float(f64),
    /// Any other number, as cty wrote it.
    Decimal(String),
}

impl Number {
    /// Normalises a float that holds an exact integer to `Int`, so one number
    /// has one representation.
    pub fn from_f64(f: f64) -> Number {
        if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 {
            Number::Int(f as i64)
        } else {
            Number::Float(f)
        }
    }

    pub(crate) fn as_f64(&self) -> f64 {
        match self {
            Number::Int(i) => *i as f64,
            Number::Float(f) => *f,
            Number::Decimal(s) => s.parse().unwrap_or(f64::NAN),
        }
    }
}

/// Whether `s` is a number written in decimal (`-12`, `0.5`, `1e-3`): what cty sends as a
/// string when a number is not exact as an `f64`. Rust's `f64` parser would also take "NaN",
/// "inf" and "infinity", which are not numbers cty can hold (issue 14).
pub(crate) fn is_decimal_literal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut mantissa = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        mantissa += digits(&mut i);
    }
    if mantissa == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => a == b,
            (Number::Decimal(a), Number::Decimal(b)) => a == b,
            (a, b) => a.as_f64().to_bits() == b.as_f64().to_bits(),
        }
    }
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
            Number::Decimal(s) => f.write_str(s),
        }
    }
}

/// A Terraform value of any type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// Not known until apply. Refinements Terraform sends are accepted and
    /// dropped: this provider never needs them.
    Unknown,
    /// A `bool`.
    Bool(bool),
    /// A `number`.
    Number(Number),
    /// A `string`.
    String(String),
    /// A `list`.
    List(Vec<Value>),
    /// A `set`, its elements in Terraform's order.
    Set(Vec<Value>),
    /// A `map`.
    Map(BTreeMap<String, Value>),
    /// An `object`.
    Object(Object),
    /// A `tuple`.
    Tuple(Vec<Value>),
    /// A value of the dynamic pseudo-type with its concrete type.
    Dynamic(Type, Box<Value>),
}

impl Value {
    /// Null, also inside a dynamic value.
    pub fn is_null(&self) -> bool {
        matches!(self.concrete(), Value::Null)
    }

    /// True when the value or anything inside it is unknown.
    pub(crate) fn is_unknown(&self) -> bool {
        matches!(self.concrete(), Value::Unknown)
    }

    /// The kind of value, for error text that must not quote the value.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown => "unknown",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
            Value::Object(_) => "object",
            Value::Tuple(_) => "tuple",
            Value::Dynamic(..) => "dynamic",
        }
    }

    /// Looks through the dynamic wrapper.
    pub(crate) fn concrete(&self) -> &Value {
        match self {
            Value::Dynamic(_, v) => v.concrete(),
            v => v,
        }
    }

    /// The string, when this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self.concrete() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self.concrete() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The object, when this is a known object.
    pub fn as_object(&self) -> Option<&Object> {
        match self.concrete() {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A string, or null when absent.
    pub(crate) fn opt_string(s: Option<impl Into<String>>) -> Value {
        s.map_or(Value::Null, |s| Value::String(s.into()))
    }

    /// A number value holding an integer.
    pub fn int(i: i64) -> Value {
        Value::Number(Number::Int(i))
    }
}

/// The attributes of an object or block, by name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    /// By attribute name.
    pub attrs: BTreeMap<String, Value>,
}

impl Object {
    /// An object without attributes.
    pub fn new() -> Object {
        Object::default()
    }

    /// The attribute's value; a missing attribute reads as null.
    pub fn get(&self, name: &str) -> &Value {
        self.attrs.get(name).unwrap_or(&Value::Null)
    }

    /// Sets (or replaces) an attribute.
    pub fn set(&mut self, name: &str, value: Value) {
        self.attrs.insert(name.to_string(), value);
    }

    /// The object with one more attribute, for building objects in one expression.
    pub fn with(mut self, name: &str, value: Value) -> Object {
        self.set(name, value);
        self
    }

    pub(crate) fn is_unknown(&self, name: &str) -> bool {
        self.get(name).is_unknown()
    }

    /// Whether the attribute is null (or absent).
    pub fn is_null(&self, name: &str) -> bool {
        self.get(name).is_null()
    }

    /// The string, or `None` when null or unknown.
    pub fn get_string(&self, name: &str) -> Option<&str> {
        self.get(name).as_str()
    }

    pub(crate) fn get_bool(&self, name: &str) -> Option<bool> {
        self.get(name).as_bool()
    }

    pub(crate) fn get_object(&self, name: &str) -> Option<&Object> {
        self.get(name).as_object()
    }
}

impl From<Object> for Value {
    fn from(o: Object) -> Value {
        Value::Object(o)
    }
}

/// Where in a value something is, for diagnostics and `requires_replace`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttributePath {
    pub(crate) steps: Vec<PathStep>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathStep {
    Attribute(String),
    Index(i64),
}

impl AttributePath {
    /// The path of a top-level attribute.
    pub fn attr(name: &str) -> AttributePath {
        AttributePath {
            steps: vec![PathStep::Attribute(name.to_string())],
        }
    }

    /// The path of an attribute of the object at this path.
    pub fn then_attr(mut self, name: &str) -> AttributePath {
        self.steps.push(PathStep::Attribute(name.to_string()));
        self
    }

    pub(crate) fn then_index(mut self, index: i64) -> AttributePath {
        self.steps.push(PathStep::Index(index));
        self
    }
}

impl std::fmt::Display for AttributePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                PathStep::Attribute(a) if i == 0 => f.write_str(a)?,
                PathStep::Attribute(a) => write!(f, ".{a}")?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}
