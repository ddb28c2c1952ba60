//! Checks Azure Resource Manager requests and responses against Azure's published REST API
//! specification: the Swagger 2.0 files of `Azure/azure-rest-api-specs`, vendored under the
//! workspace's `spec/` folder.
//!
//! [`Spec::load`] reads the named swagger files (and every file their `$ref`s reach),
//! [`Spec::operation_for`] finds the operation a request path and method belong to, and an
//! [`Operation`] validates a response ([`Operation::validate_response`]) or a request body
//! ([`Operation::validate_request_body`]) and lists its example files
//! ([`Operation::examples`]). The validation itself is `jsonschema`'s, on JSON Schema documents
//! converted from the swagger schemas (the `convert` module says what changes and why).
//! [`log`] reads the emulator's spec log (JSON Lines of requests and answers) and validates
//! every record; the `spec-check` binary prints its summary. [`deviations`] lists the documented
//! Azure behaviour the definitions do not describe, which the log report counts apart.
//!
//! It checks shapes, not behaviour: whether an answer is the right one for the request is for
//! the emulator's own tests. Headers and query parameters are not checked, and operations under
//! `x-ms-paths` (paths told apart by their query string) are not loaded: the Compute files have
//! none.
//!
//! # Responses: the status rule
//! A 2xx or 3xx status must be listed under the operation's `responses`; a 4xx or 5xx status
//! falls to `default` when it is not listed. A status neither listed nor covered is a finding.
//! When the listed response declares a `schema`, a response without a body is a finding; when
//! it declares none, a response with a body is a finding too — an empty object included: a
//! client must not be given a body the specification says is not there.
//!
//! # Strict mode
//! In [`Mode::Strict`] (what [`Spec::load`] gives) an object schema that declares `properties`
//! and no `additionalProperties` refuses properties it does not declare, which catches fields
//! the emulator invents or the provider sends by mistake. [`Mode::Lenient`] allows them, as
//! Swagger itself does.

mod convert;
pub mod deviations;
mod docs;
pub mod log;
mod paths;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Keyword, ValidationError, Validator};
use serde_json::Value;

use crate::convert::{Converter, Direction, READ_ONLY_KEYWORD};
use crate::docs::{Docs, Source};
use crate::paths::Template;

/// The folder, relative to the specification root, of the Compute files for the api-version
/// the provider calls.
pub const COMPUTE_DIR: &str =
    "specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2025-04-01";

/// An error loading the specification or an example file.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not JSON.
    #[error("{} is not JSON: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// A `$ref` points at nothing.
    #[error("unresolved $ref {reference}")]
    UnresolvedRef {
        /// The reference, with the file it was written in when relative.
        reference: String,
    },
    /// A file name given to [`Spec::load`] leaves the specification root or is empty.
    #[error("{name:?} is not a path inside the specification root")]
    BadFileName {
        /// The name as given.
        name: String,
    },
    /// A swagger document or schema is not shaped as Swagger 2.0 says.
    #[error("{file}: {message}")]
    Schema {
        /// The document.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// Whether object schemas refuse properties they do not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// An object schema with `properties` and no `additionalProperties` allows no others.
    #[default]
    Strict,
    /// Undeclared properties are allowed, as plain Swagger reads it.
    Lenient,
}

/// The loaded operations of a set of swagger files.
#[derive(Debug)]
pub struct Spec {
    operations: Vec<Operation>,
}

impl Spec {
    /// Loads `files` (paths relative to `spec_root`, such as
    /// `specification/compute/…/virtualMachine.json`) in strict mode, following their `$ref`s
    /// into other files. Only the operations of the named files are loaded.
    pub fn load(spec_root: &Path, files: &[&str]) -> Result<Spec, SpecError> {
        Spec::load_with(spec_root, files, Mode::Strict)
    }

    /// [`Spec::load`] in the given mode.
    pub fn load_with(spec_root: &Path, files: &[&str], mode: Mode) -> Result<Spec, SpecError> {
        Spec::build(Source::Disk(spec_root.to_path_buf()), files, mode)
    }

    /// Loads documents given in memory (name → swagger or example document; names are paths
    /// relative to an imaginary root, and `$ref`s between them resolve as on disk). For tests
    /// and tools that hold the documents already.
    pub fn from_documents(
        documents: impl IntoIterator<Item = (String, Value)>,
        files: &[&str],
        mode: Mode,
    ) -> Result<Spec, SpecError> {
        let documents = documents
            .into_iter()
            .map(|(name, value)| {
                docs::normalize(Path::new(&name))
                    .map(|name| (name, value))
                    .ok_or(SpecError::BadFileName { name })
            })
            .collect::<Result<_, _>>()?;
        Spec::build(Source::Memory(documents), files, mode)
    }

    fn build(source: Source, files: &[&str], mode: Mode) -> Result<Spec, SpecError> {
        let names = files
            .iter()
            .map(|name| {
                docs::normalize(Path::new(name)).ok_or_else(|| SpecError::BadFileName {
                    name: (*name).to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let docs = Docs::load(&source, &names)?;
        let source = Arc::new(source);
        let mut operations = Vec::new();
        for name in &names {
            operations.extend(Operation::all_in(&docs, name, mode, &source)?);
        }
        Ok(Spec { operations })
    }

    /// Every loaded operation, in file and path order.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The operation with this `operationId`.
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|operation| operation.id == id)
    }

    /// The operation that serves `method` (any case) on `path` (as sent: percent-encoded, no
    /// query). When several templates match, the one with more literal text wins.
    pub fn operation_for(&self, method: &str, path: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .filter(|operation| operation.method.eq_ignore_ascii_case(method))
            .filter_map(|operation| {
                operation
                    .template
                    .matches(path)
                    .map(|score| (score, operation))
            })
            .fold(
                None,
                |best: Option<(usize, &Operation)>, (score, operation)| match best {
                    Some((best_score, _)) if best_score >= score => best,
                    _ => Some((score, operation)),
                },
            )
            .map(|(_, operation)| operation)
    }
}

/// The `*.json` files directly inside `dir` (relative to `spec_root`), as names relative to
/// `spec_root`, sorted: the swagger files of one api-version folder.
pub fn swagger_files(spec_root: &Path, dir: &str) -> Result<Vec<String>, SpecError> {
    let path = spec_root.join(dir);
    let entries = std::fs::read_dir(&path).map_err(|source| SpecError::Read {
        path: path.clone(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SpecError::Read {
            path: path.clone(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().is_ok_and(|kind| kind.is_file());
        if is_file && name.ends_with(".json") {
            files.push(format!("{}/{name}", dir.trim_end_matches('/')));
        }
    }
    files.sort();
    Ok(files)
}

/// A response status as `responses` keys it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum StatusKey {
    Code(u16),
    Default,
}

/// A JSON Schema document and, once first needed, its compiled validator.
#[derive(Debug)]
struct Body {
    /// The swagger schema's name, for messages (`VirtualMachine`, or `inline schema`).
    name: String,
    schema: Value,
    validator: OnceLock<Result<Validator, String>>,
}

impl Body {
    fn new(
        docs: &Docs,
        file: &str,
        raw: &Value,
        strict: bool,
        direction: Direction,
    ) -> Result<Body, SpecError> {
        let schema = Converter::new(docs, strict, direction).document(file, raw)?;
        let name = match raw.get("$ref").and_then(Value::as_str) {
            Some(reference) => reference.rsplit('/').next().unwrap_or(reference).to_owned(),
            None => "inline schema".to_owned(),
        };
        Ok(Body {
            name,
            schema,
            validator: OnceLock::new(),
        })
    }

    fn validator(&self) -> Result<&Validator, &str> {
        self.validator
            .get_or_init(|| {
                jsonschema::options()
                    .with_draft(Draft::Draft7)
                    .should_validate_formats(true)
                    .should_ignore_unknown_formats(true)
                    .with_format("uuid", is_uuid)
                    .with_keyword(READ_ONLY_KEYWORD, |_, _, _| Ok(Box::new(ReadOnly)))
                    .build(&self.schema)
                    .map_err(|error| error.to_string())
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

/// The keyword that a read-only property's schema becomes in a request: any value fails.
struct ReadOnly;

impl<'i> Keyword<'i> for ReadOnly {
    fn validate(&self, _instance: &'i Value) -> Result<(), ValidationError<'i>> {
        Err(ValidationError::custom("read-only property in request"))
    }

    fn is_valid(&self, _instance: &'i Value) -> bool {
        false
    }
}

/// `8-4-4-4-12` hexadecimal digits, as .NET and ARM write GUIDs.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// One operation of the specification: a method on a path template.
#[derive(Debug)]
pub struct Operation {
    id: String,
    method: String,
    path: String,
    template: Template,
    file: String,
    request: Option<(String, Body)>,
    responses: BTreeMap<StatusKey, Option<Body>>,
    examples: Vec<(String, String)>,
    source: Arc<Source>,
}

/// One example of an operation (`x-ms-examples`): the request's parameters and the responses.
#[derive(Debug, Clone)]
pub struct Example {
    /// The example's name, as `x-ms-examples` keys it.
    pub name: String,
    /// The example file.
    pub path: PathBuf,
    /// The file's JSON: `{"parameters": {…}, "responses": {"200": {"body": …}, …}}`.
    pub value: Value,
}

impl Example {
    /// The example's responses: status and body (`None` when it shows none). Statuses that are
    /// not numbers are left out.
    pub fn responses(&self) -> Vec<(u16, Option<&Value>)> {
        let Some(responses) = self.value.get("responses").and_then(Value::as_object) else {
            return Vec::new();
        };
        responses
            .iter()
            .filter_map(|(status, response)| {
                let status = status.parse().ok()?;
                Some((status, response.get("body").filter(|body| !body.is_null())))
            })
            .collect()
    }

    /// The example's request body for `operation` (the parameter named as its body parameter).
    pub fn request_body(&self, operation: &Operation) -> Option<&Value> {
        let name = operation.request.as_ref().map(|(name, _)| name)?;
        self.value.get("parameters")?.get(name)
    }
}

impl Operation {
    /// The operations of the swagger document `file`.
    fn all_in(
        docs: &Docs,
        file: &str,
        mode: Mode,
        source: &Arc<Source>,
    ) -> Result<Vec<Operation>, SpecError> {
        let schema_error = |message: String| SpecError::Schema {
            file: file.to_owned(),
            message,
        };
        let document = docs
            .document(file)
            .ok_or_else(|| schema_error("not loaded".to_owned()))?;
        let mut operations = Vec::new();
        let Some(paths) = document.get("paths").and_then(Value::as_object) else {
            return Ok(operations);
        };
        for (path, item) in paths {
            let shared = item.get("parameters").and_then(Value::as_array);
            for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
                let Some(operation) = item.get(method) else {
                    continue;
                };
                let id = operation
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{} {path}", method.to_uppercase()));
                let own = operation.get("parameters").and_then(Value::as_array);
                let strict = mode == Mode::Strict;
                let mut request = None;
                for parameter in shared
                    .into_iter()
                    .flatten()
                    .chain(own.into_iter().flatten())
                {
                    let (parameter_file, parameter) =
                        match parameter.get("$ref").and_then(Value::as_str) {
                            Some(reference) => {
                                let (target, value) = docs.follow(file, reference)?;
                                (target.file, value)
                            }
                            None => (file.to_owned(), parameter),
                        };
                    if parameter.get("in").and_then(Value::as_str) != Some("body") {
                        continue;
                    }
                    let name = parameter
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("body");
                    let schema = parameter.get("schema").ok_or_else(|| {
                        schema_error(format!("{id}: body parameter without schema"))
                    })?;
                    let body =
                        Body::new(docs, &parameter_file, schema, strict, Direction::Request)?;
                    request = Some((name.to_owned(), body));
                }
                let mut responses = BTreeMap::new();
                let listed = operation.get("responses").and_then(Value::as_object);
                for (status, response) in listed.into_iter().flatten() {
                    let key = match status.as_str() {
                        "default" => StatusKey::Default,
                        code => StatusKey::Code(code.parse().map_err(|_| {
                            schema_error(format!("{id}: response status {code:?} is not a number"))
                        })?),
                    };
                    let (response_file, response) =
                        match response.get("$ref").and_then(Value::as_str) {
                            Some(reference) => {
                                let (target, value) = docs.follow(file, reference)?;
                                (target.file, value)
                            }
                            None => (file.to_owned(), response),
                        };
                    let body = match response.get("schema") {
                        Some(schema) => Some(Body::new(
                            docs,
                            &response_file,
                            schema,
                            strict,
                            Direction::Response,
                        )?),
                        None => None,
                    };
                    responses.insert(key, body);
                }
                let mut examples = Vec::new();
                let listed = operation.get("x-ms-examples").and_then(Value::as_object);
                for (name, example) in listed.into_iter().flatten() {
                    let reference =
                        example.get("$ref").and_then(Value::as_str).ok_or_else(|| {
                            schema_error(format!("{id}: example {name:?} has no $ref"))
                        })?;
                    let target = docs::resolve_ref(file, reference)?;
                    examples.push((name.clone(), target.file));
                }
                operations.push(Operation {
                    id,
                    method: method.to_uppercase(),
                    path: path.clone(),
                    template: Template::parse(path),
                    file: file.to_owned(),
                    request,
                    responses,
                    examples,
                    source: Arc::clone(source),
                });
            }
        }
        Ok(operations)
    }

    /// The `operationId` (or `METHOD path` when the operation has none).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The HTTP method, upper case.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path template, as written under `paths`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The swagger file that defines the operation, relative to the specification root.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The listed response statuses (without `default`).
    pub fn statuses(&self) -> Vec<u16> {
        self.responses
            .keys()
            .filter_map(|key| match key {
                StatusKey::Code(code) => Some(*code),
                StatusKey::Default => None,
            })
            .collect()
    }

    /// Whether the operation takes a request body.
    pub fn has_request_body(&self) -> bool {
        self.request.is_some()
    }

    /// The examples' names and files (which may not all be vendored).
    pub fn example_files(&self) -> Vec<(&str, PathBuf)> {
        self.examples
            .iter()
            .map(|(name, file)| (name.as_str(), self.source.path_of(file)))
            .collect()
    }

    /// The operation's examples, read and parsed; an error when one cannot be read.
    pub fn examples(&self) -> Result<Vec<Example>, SpecError> {
        self.examples
            .iter()
            .map(|(name, file)| self.read_example(name, file))
            .collect()
    }

    /// The example named `name`, read and parsed; `None` when the operation has no such example.
    pub fn example(&self, name: &str) -> Option<Result<Example, SpecError>> {
        let (name, file) = self.examples.iter().find(|(listed, _)| listed == name)?;
        Some(self.read_example(name, file))
    }

    fn read_example(&self, name: &str, file: &str) -> Result<Example, SpecError> {
        Ok(Example {
            name: name.to_owned(),
            path: self.source.path_of(file),
            value: self.source.read(file)?,
        })
    }

    /// Checks a response: its status against the listed ones, its body (`None`, or JSON
    /// `null`, for none) against the schema of that status.
    pub fn validate_response(&self, status: u16, body: Option<&Value>) -> Vec<Finding> {
        let body = body.filter(|body| !body.is_null());
        let finding = |kind, message| Finding {
            operation: self.id.clone(),
            status: Some(status),
            kind,
            pointer: String::new(),
            message,
        };
        let listed = self.responses.get(&StatusKey::Code(status));
        let spec = match listed {
            Some(spec) => spec,
            None if status >= 400 => match self.responses.get(&StatusKey::Default) {
                Some(spec) => spec,
                None => return vec![unlisted(self, status)],
            },
            None => return vec![unlisted(self, status)],
        };
        match (spec, body) {
            (None, None) => Vec::new(),
            (None, Some(_)) => vec![finding(
                FindingKind::UnexpectedBody,
                format!(
                    "the specification declares no body for status {status}, but the response has one"
                ),
            )],
            (Some(schema), None) => vec![finding(
                FindingKind::MissingBody,
                format!(
                    "the specification declares a body ({}) for status {status}, but the response has none",
                    schema.name
                ),
            )],
            (Some(schema), Some(body)) => self.validate(schema, body, Some(status)),
        }
    }

    /// Checks a request body against the operation's body parameter.
    pub fn validate_request_body(&self, body: &Value) -> Vec<Finding> {
        match &self.request {
            Some((_, schema)) => self.validate(schema, body, None),
            None => vec![Finding {
                operation: self.id.clone(),
                status: None,
                kind: FindingKind::UnexpectedBody,
                pointer: String::new(),
                message: "the operation takes no request body".to_owned(),
            }],
        }
    }

    fn validate(&self, body: &Body, value: &Value, status: Option<u16>) -> Vec<Finding> {
        let validator = match body.validator() {
            Ok(validator) => validator,
            Err(error) => {
                return vec![Finding {
                    operation: self.id.clone(),
                    status,
                    kind: FindingKind::UnusableSchema,
                    pointer: String::new(),
                    message: format!("the schema {} does not compile: {error}", body.name),
                }];
            }
        };
        validator
            .iter_errors(value)
            .map(|error| {
                let kind = match error.kind() {
                    ValidationErrorKind::Custom { keyword, .. } if keyword == READ_ONLY_KEYWORD => {
                        FindingKind::ReadOnlyInRequest
                    }
                    _ => FindingKind::Schema,
                };
                Finding {
                    operation: self.id.clone(),
                    status,
                    kind,
                    pointer: error.instance_path().as_str().to_owned(),
                    message: error.masked_with(describe(error.instance())).to_string(),
                }
            })
            .collect()
    }
}

fn unlisted(operation: &Operation, status: u16) -> Finding {
    Finding {
        operation: operation.id.clone(),
        status: Some(status),
        kind: FindingKind::UnlistedStatus,
        pointer: String::new(),
        message: format!("status {status} is not listed for {}", operation.id),
    }
}

/// How an error message names the value it is about: short scalars as JSON, the rest by kind
/// (a body may hold values nobody should find in a CI log, and a whole object helps no one).
fn describe(value: &Value) -> String {
    match value {
        Value::String(text) if text.chars().count() > 60 => {
            format!("a string of {} characters", text.chars().count())
        }
        Value::Object(_) => "the object".to_owned(),
        Value::Array(_) => "the array".to_owned(),
        scalar => scalar.to_string(),
    }
}

/// What is wrong, in kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// The body does not match the schema (`jsonschema`'s message says how).
    Schema,
    /// A request sets a property that is read-only.
    ReadOnlyInRequest,
    /// A response status is neither listed nor covered by `default`.
    UnlistedStatus,
    /// The specification declares a body and there is none.
    MissingBody,
    /// There is a body where the specification declares none.
    UnexpectedBody,
    /// The converted schema does not compile (a pattern `jsonschema` cannot read, …): a
    /// problem of the specification or of the conversion, not of the body.
    UnusableSchema,
}

/// One difference between a request or response and the specification.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Finding {
    /// The operation's id.
    pub operation: String,
    /// The response status; `None` for a request body.
    pub status: Option<u16>,
    /// What is wrong, in kind.
    pub kind: FindingKind,
    /// Where in the body: a JSON pointer, `""` for the whole body.
    pub pointer: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{} {status}", self.operation)?,
            None => write!(f, "{} request", self.operation)?,
        }
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, " {pointer}: {}", self.message)
    }
}
