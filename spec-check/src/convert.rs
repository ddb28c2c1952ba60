//! Swagger 2.0 schemas (with Azure's `x-ms-*` extensions) → self-contained JSON Schema
//! (draft 7) documents that `jsonschema` validates.
//!
//! One document per root (an operation's request body or one of its responses): every schema the
//! root reaches through `$ref`, in any loaded file, is copied under `definitions` with a readable
//! key (`virtualMachine.VirtualMachine`) and each `$ref` is rewritten to point there.
//!
//! What changes on the way, and why:
//! - `allOf` of object schemas is merged into one object schema (the members' `properties` and
//!   `required` united, the schema's own properties winning), so that strict mode can close it:
//!   JSON Schema's `additionalProperties` sees only the properties of its own schema object.
//! - Strict mode: an object schema that declares `properties` and no `additionalProperties`
//!   gets `additionalProperties: false` (a field the emulator invents is reported). Swagger
//!   schemas with `properties` but no `type` get `type: object`, as Azure's generators read them.
//! - `x-ms-enum` with `modelAsString: true` is an open enum: any string. Other enums are closed.
//! - `x-nullable: true` allows `null` (`{"if": {"type": "null"}, "else": S}`, which keeps the
//!   errors of S readable, unlike `anyOf`).
//! - `readOnly` properties (or `x-ms-mutability` without `create` and `update`): in a request
//!   they are not required and sending one is an error of its own keyword
//!   ([`READ_ONLY_KEYWORD`]); in a response they are ordinary.
//! - In a response, properties that the service never returns (`x-ms-secret: true`, or
//!   `x-ms-mutability` without `read`) are not required.
//! - `discriminator`: a reference to a polymorphic base validates against the subtype the
//!   discriminator value names (`x-ms-discriminator-value`, or the subtype's definition name),
//!   and against the base itself for any other value.
//! - `format`: `date-time` and `uuid` are checked; `int32` becomes its range. Other formats
//!   (`int64`, `byte`, `duration`, `arm-id`, …) are not checked: `int64` needs no more than
//!   `type: integer`, the rest are not cheap or not defined the same way in JSON Schema.
//! - Swagger's boolean `exclusiveMinimum`/`exclusiveMaximum` become draft 7's numeric ones.
//! - Everything else (`description`, `x-ms-client-*`, `example`, `default`, …) is dropped.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::{Map, Value, json};

use crate::SpecError;
use crate::docs::{Docs, Target};

/// The custom keyword that marks a read-only property in a request schema; `jsonschema` is
/// taught that it always fails.
pub(crate) const READ_ONLY_KEYWORD: &str = "x-spec-check-read-only";

/// How deep schemas may nest (through `allOf`, `items`, properties) before conversion gives up:
/// only a reference cycle outside `$ref` indirection goes this deep.
const MAX_DEPTH: usize = 128;

/// Which way a body travels, which decides how `readOnly` and secrets are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Request,
    Response,
}

/// Converts the schemas reachable from one root.
pub(crate) struct Converter<'a> {
    docs: &'a Docs,
    strict: bool,
    direction: Direction,
    keys: BTreeMap<Target, String>,
    taken: HashSet<String>,
    queue: Vec<Target>,
    definitions: Map<String, Value>,
}

/// The merged parts of an object schema and its `allOf` bases.
#[derive(Default)]
struct ObjectParts<'a> {
    /// Property name → (file the schema is written in, schema).
    properties: BTreeMap<String, (String, &'a Value)>,
    required: Vec<String>,
    additional: Option<(String, &'a Value)>,
    /// `allOf` members that are not object schemas, kept as `allOf`.
    others: Vec<(String, &'a Value)>,
}

impl<'a> Converter<'a> {
    pub(crate) fn new(docs: &'a Docs, strict: bool, direction: Direction) -> Converter<'a> {
        Converter {
            docs,
            strict,
            direction,
            keys: BTreeMap::new(),
            taken: HashSet::new(),
            queue: Vec::new(),
            definitions: Map::new(),
        }
    }

    /// The JSON Schema document for `schema`, written in `file`.
    pub(crate) fn document(mut self, file: &str, schema: &'a Value) -> Result<Value, SpecError> {
        let root = self.schema(file, schema, 0)?;
        while let Some(target) = self.queue.pop() {
            let docs = self.docs;
            let raw = docs.get(&target)?;
            let converted = self.definition(&target, raw)?;
            let key = self.keys[&target].clone();
            self.definitions.insert(key, converted);
        }
        Ok(json!({ "allOf": [root], "definitions": self.definitions }))
    }

    /// A `$ref` to the definition for `target`, queueing its conversion the first time.
    fn reference(&mut self, target: Target) -> Value {
        let key = match self.keys.get(&target) {
            Some(key) => key.clone(),
            None => {
                let mut key = key_for(&target);
                let mut n = 2;
                while self.taken.contains(&key) {
                    key = format!("{}_{n}", key_for(&target));
                    n += 1;
                }
                self.taken.insert(key.clone());
                self.keys.insert(target.clone(), key.clone());
                self.queue.push(target);
                key
            }
        };
        json!({ "$ref": format!("#/definitions/{key}") })
    }

    /// A referenced schema: itself, or for a polymorphic base, the choice among its subtypes.
    fn definition(&mut self, target: &Target, raw: &'a Value) -> Result<Value, SpecError> {
        let base = self.schema(&target.file, raw, 0)?;
        let Some(discriminator) = raw.get("discriminator").and_then(Value::as_str) else {
            return Ok(base);
        };
        let mut choice = base;
        for (value, subtype) in self.subtypes(target).into_iter().rev() {
            let then = self.reference(subtype);
            choice = json!({
                "if": {
                    "properties": { discriminator: { "const": value } },
                    "required": [discriminator],
                },
                "then": then,
                "else": choice,
            });
        }
        Ok(choice)
    }

    /// The definitions, in any loaded file, that extend `base` through `allOf` (directly or
    /// through another subtype), with their discriminator values.
    fn subtypes(&self, base: &Target) -> Vec<(String, Target)> {
        let mut found: Vec<(String, Target)> = Vec::new();
        let mut bases = vec![base.clone()];
        let mut seen = BTreeSet::from([base.clone()]);
        while let Some(current) = bases.pop() {
            for (file, document) in self.docs.iter() {
                let Some(definitions) = document.get("definitions").and_then(Value::as_object)
                else {
                    continue;
                };
                for (name, definition) in definitions {
                    let members = definition.get("allOf").and_then(Value::as_array);
                    let extends = members.into_iter().flatten().any(|member| {
                        member
                            .get("$ref")
                            .and_then(Value::as_str)
                            .is_some_and(|reference| {
                                crate::docs::resolve_ref(file, reference)
                                    .is_ok_and(|t| t == current)
                            })
                    });
                    let target = Target {
                        file: file.clone(),
                        pointer: format!("/definitions/{}", escape_pointer(name)),
                    };
                    if extends && seen.insert(target.clone()) {
                        let value = definition
                            .get("x-ms-discriminator-value")
                            .and_then(Value::as_str)
                            .unwrap_or(name);
                        found.push((value.to_owned(), target.clone()));
                        bases.push(target);
                    }
                }
            }
        }
        found
    }

    /// Converts one schema written in `file`.
    fn schema(&mut self, file: &str, raw: &'a Value, depth: usize) -> Result<Value, SpecError> {
        if depth > MAX_DEPTH {
            return Err(SpecError::Schema {
                file: file.to_owned(),
                message: "schemas nest too deeply (a cycle through allOf?)".to_owned(),
            });
        }
        let map = match raw {
            Value::Object(map) => map,
            Value::Bool(_) => return Ok(raw.clone()),
            _ => {
                return Err(SpecError::Schema {
                    file: file.to_owned(),
                    message: format!("a schema must be an object, not {raw}"),
                });
            }
        };
        let converted = match map.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let (target, _) = self.docs.follow(file, reference)?;
                self.reference(target)
            }
            None => self.inline(file, map, depth)?,
        };
        if map.get("x-nullable") == Some(&Value::Bool(true)) {
            return Ok(json!({ "if": { "type": "null" }, "else": converted }));
        }
        Ok(converted)
    }

    /// Converts a schema that is not a `$ref`.
    fn inline(
        &mut self,
        file: &str,
        map: &'a Map<String, Value>,
        depth: usize,
    ) -> Result<Value, SpecError> {
        let mut out = Map::new();
        let objectish = self.is_objectish(file, map, depth)?;
        match map.get("type") {
            Some(Value::String(kind)) if kind == "file" => {}
            Some(kind) => {
                out.insert("type".into(), kind.clone());
            }
            None if objectish => {
                out.insert("type".into(), "object".into());
            }
            None => {}
        }
        if objectish {
            let mut parts = ObjectParts::default();
            self.object_parts(file, map, depth, &mut parts)?;
            self.object(&mut out, parts, depth)?;
        } else if let Some(members) = map.get("allOf").and_then(Value::as_array) {
            let members = members
                .iter()
                .map(|member| self.schema(file, member, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            out.insert("allOf".into(), Value::Array(members));
        }
        if let Some(items) = map.get("items") {
            out.insert("items".into(), self.schema(file, items, depth + 1)?);
        }
        if let Some(values) = map.get("enum") {
            let open = map
                .get("x-ms-enum")
                .and_then(|x| x.get("modelAsString"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !open {
                out.insert("enum".into(), values.clone());
            }
        }
        match map.get("format").and_then(Value::as_str) {
            Some(format @ ("date-time" | "uuid")) => {
                out.insert("format".into(), format.into());
            }
            Some("int32") => {
                out.entry("minimum").or_insert(i32::MIN.into());
                out.entry("maximum").or_insert(i32::MAX.into());
            }
            _ => {}
        }
        for keyword in [
            "minimum",
            "maximum",
            "multipleOf",
            "minLength",
            "maxLength",
            "pattern",
            "minItems",
            "maxItems",
            "uniqueItems",
            "minProperties",
            "maxProperties",
        ] {
            if let Some(value) = map.get(keyword) {
                out.insert(keyword.into(), value.clone());
            }
        }
        for (exclusive, bound) in [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ] {
            if map.get(exclusive) == Some(&Value::Bool(true)) {
                if let Some(limit) = out.remove(bound) {
                    out.insert(exclusive.into(), limit);
                }
            }
        }
        Ok(Value::Object(out))
    }

    /// Writes the merged object parts into `out`.
    fn object(
        &mut self,
        out: &mut Map<String, Value>,
        parts: ObjectParts<'a>,
        depth: usize,
    ) -> Result<(), SpecError> {
        let mut properties = Map::new();
        let mut omitted = HashSet::new();
        for (name, (file, raw)) in &parts.properties {
            let read_only = is_read_only(raw);
            let converted = if read_only && self.direction == Direction::Request {
                json!({ READ_ONLY_KEYWORD: true })
            } else {
                self.schema(file, raw, depth + 1)?
            };
            let not_required = match self.direction {
                Direction::Request => read_only,
                Direction::Response => never_returned(raw),
            };
            if not_required {
                omitted.insert(name.as_str());
            }
            properties.insert(name.clone(), converted);
        }
        let mut required: Vec<Value> = Vec::new();
        for name in &parts.required {
            if !omitted.contains(name.as_str()) && !required.iter().any(|r| r == name.as_str()) {
                required.push(name.as_str().into());
            }
        }
        let additional = match &parts.additional {
            Some((file, raw)) => Some(self.schema(file, raw, depth + 1)?),
            None if self.strict && !properties.is_empty() => Some(Value::Bool(false)),
            None => None,
        };
        if !properties.is_empty() {
            out.insert("properties".into(), Value::Object(properties));
        }
        if !required.is_empty() {
            out.insert("required".into(), Value::Array(required));
        }
        if let Some(additional) = additional {
            out.insert("additionalProperties".into(), additional);
        }
        if !parts.others.is_empty() {
            let others = parts
                .others
                .iter()
                .map(|(file, raw)| self.schema(file, raw, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            out.insert("allOf".into(), Value::Array(others));
        }
        Ok(())
    }

    /// Collects the properties of `map` and of its `allOf` object bases, bases first.
    fn object_parts(
        &self,
        file: &str,
        map: &'a Map<String, Value>,
        depth: usize,
        parts: &mut ObjectParts<'a>,
    ) -> Result<(), SpecError> {
        check_depth(file, depth)?;
        for member in all_of(map) {
            let (member_file, member) = self.resolve(file, member)?;
            match member {
                Value::Object(member_map)
                    if self.is_objectish(&member_file, member_map, depth)? =>
                {
                    self.object_parts(&member_file, member_map, depth + 1, parts)?;
                }
                _ => parts.others.push((member_file, member)),
            }
        }
        if let Some(properties) = map.get("properties").and_then(Value::as_object) {
            for (name, schema) in properties {
                parts
                    .properties
                    .insert(name.clone(), (file.to_owned(), schema));
            }
        }
        if let Some(required) = map.get("required").and_then(Value::as_array) {
            parts
                .required
                .extend(required.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        if let Some(additional) = map.get("additionalProperties") {
            parts.additional = Some((file.to_owned(), additional));
        }
        Ok(())
    }

    /// Whether a schema describes an object: it says so, declares properties, or extends an
    /// object schema.
    fn is_objectish(
        &self,
        file: &str,
        map: &'a Map<String, Value>,
        depth: usize,
    ) -> Result<bool, SpecError> {
        check_depth(file, depth)?;
        if map.get("type").and_then(Value::as_str) == Some("object")
            || map.contains_key("properties")
            || map.contains_key("additionalProperties")
        {
            return Ok(true);
        }
        if map.contains_key("type") {
            return Ok(false);
        }
        for member in all_of(map) {
            let (member_file, member) = self.resolve(file, member)?;
            if let Value::Object(member_map) = member {
                if self.is_objectish(&member_file, member_map, depth + 1)? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// A schema with its `$ref` (if it is one) followed, and the file it is written in.
    fn resolve(&self, file: &str, schema: &'a Value) -> Result<(String, &'a Value), SpecError> {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let (target, value) = self.docs.follow(file, reference)?;
                Ok((target.file, value))
            }
            None => Ok((file.to_owned(), schema)),
        }
    }
}

/// A property the client may not send: `readOnly`, or mutable neither at create nor at update.
fn is_read_only(schema: &Value) -> bool {
    if schema.get("readOnly") == Some(&Value::Bool(true)) {
        return true;
    }
    mutability(schema).is_some_and(|m| !m.contains(&"create") && !m.contains(&"update"))
}

/// A property the service does not return: a secret, or not readable.
fn never_returned(schema: &Value) -> bool {
    schema.get("x-ms-secret") == Some(&Value::Bool(true))
        || mutability(schema).is_some_and(|m| !m.contains(&"read"))
}

fn mutability(schema: &Value) -> Option<Vec<&str>> {
    let values = schema.get("x-ms-mutability")?.as_array()?;
    Some(values.iter().filter_map(Value::as_str).collect())
}

/// A readable definition key for a target: `<file stem>.<definition>`, limited to characters
/// that need no escaping in a JSON pointer or URI fragment.
fn key_for(target: &Target) -> String {
    let file_name = target.file.rsplit('/').next().unwrap_or(&target.file);
    let stem = file_name.strip_suffix(".json").unwrap_or(file_name);
    let inner = match target.pointer.strip_prefix("/definitions/") {
        Some(name) if !name.contains('/') => name.replace("~1", "/").replace("~0", "~"),
        _ => target.pointer.trim_start_matches('/').replace('/', "."),
    };
    format!("{stem}.{inner}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The members of a schema's `allOf`, none when it has none.
fn all_of(map: &Map<String, Value>) -> impl Iterator<Item = &Value> {
    map.get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Refuses an `allOf` chain deeper than [`MAX_DEPTH`] (a cycle, most likely).
fn check_depth(file: &str, depth: usize) -> Result<(), SpecError> {
    if depth > MAX_DEPTH {
        return Err(SpecError::Schema {
            file: file.to_owned(),
            message: "allOf nests too deeply (a cycle?)".to_owned(),
        });
    }
    Ok(())
}
