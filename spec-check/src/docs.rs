//! The swagger documents of a specification tree, and the `$ref`s between them.
//!
//! Documents are named by their path relative to the specification root, with `/` separators
//! and no `.` or `..` components (`specification/compute/…/virtualMachine.json`), so a relative
//! `$ref` resolves exactly as it does upstream: against the directory of the document it is in.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::SpecError;

/// Where documents come from: files under a root directory, or documents handed over in memory
/// (the unit tests' inline fixtures).
#[derive(Debug)]
pub(crate) enum Source {
    Disk(PathBuf),
    Memory(HashMap<String, Value>),
}

impl Source {
    /// Reads the document named `name` (already normalized).
    pub(crate) fn read(&self, name: &str) -> Result<Value, SpecError> {
        match self {
            Source::Disk(root) => {
                let path = root.join(name);
                let text = std::fs::read_to_string(&path).map_err(|source| SpecError::Read {
                    path: path.clone(),
                    source,
                })?;
                serde_json::from_str(&text).map_err(|source| SpecError::Parse { path, source })
            }
            Source::Memory(documents) => {
                documents.get(name).cloned().ok_or_else(|| SpecError::Read {
                    path: PathBuf::from(name),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                })
            }
        }
    }

    /// The path a document name stands for, for messages and for [`crate::Example::path`].
    pub(crate) fn path_of(&self, name: &str) -> PathBuf {
        match self {
            Source::Disk(root) => root.join(name),
            Source::Memory(_) => PathBuf::from(name),
        }
    }
}

/// The loaded documents: the files asked for and every file their schemas and parameters
/// reference, transitively. Example files (`x-ms-examples`) are not loaded here.
#[derive(Debug)]
pub(crate) struct Docs {
    documents: BTreeMap<String, Value>,
}

/// A resolved reference: the document it points into and the JSON pointer inside it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Target {
    pub(crate) file: String,
    pub(crate) pointer: String,
}

impl Docs {
    /// Loads `files` and, following `$ref`s, every document they reach.
    pub(crate) fn load(source: &Source, files: &[String]) -> Result<Docs, SpecError> {
        let mut documents = BTreeMap::new();
        let mut pending: Vec<String> = files.to_vec();
        while let Some(name) = pending.pop() {
            if documents.contains_key(&name) {
                continue;
            }
            let document = source.read(&name)?;
            let mut refs = Vec::new();
            collect_refs(&document, &mut refs);
            for reference in refs {
                let target = resolve_ref(&name, reference)?;
                if !documents.contains_key(&target.file) {
                    pending.push(target.file);
                }
            }
            documents.insert(name, document);
        }
        Ok(Docs { documents })
    }

    /// The document named `file`.
    pub(crate) fn document(&self, file: &str) -> Option<&Value> {
        self.documents.get(file)
    }

    /// Every loaded document, by name.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.documents.iter()
    }

    /// The value a target points at.
    pub(crate) fn get(&self, target: &Target) -> Result<&Value, SpecError> {
        self.document(&target.file)
            .and_then(|document| document.pointer(&target.pointer))
            .ok_or_else(|| SpecError::UnresolvedRef {
                reference: format!("{}#{}", target.file, target.pointer),
            })
    }

    /// Resolves `reference`, written in `file`, to the value it names.
    pub(crate) fn follow<'a>(
        &'a self,
        file: &str,
        reference: &str,
    ) -> Result<(Target, &'a Value), SpecError> {
        let target = resolve_ref(file, reference)?;
        let value = self.get(&target)?;
        Ok((target, value))
    }
}

/// Collects the `$ref` strings of a document, leaving out `x-ms-examples` (example files are
/// loaded only when asked for).
fn collect_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(reference)) => out.push(reference),
                    ("x-ms-examples", _) => {}
                    _ => collect_refs(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, out)),
        _ => {}
    }
}

/// Resolves `reference` (`other.json#/definitions/X`, `#/definitions/X`, `other.json`) written in
/// the document `file`.
pub(crate) fn resolve_ref(file: &str, reference: &str) -> Result<Target, SpecError> {
    let (path, fragment) = match reference.split_once('#') {
        Some((path, fragment)) => (path, fragment),
        None => (reference, ""),
    };
    let file = if path.is_empty() {
        file.to_owned()
    } else {
        relative_to(file, &percent_decode(path)).ok_or_else(|| SpecError::UnresolvedRef {
            reference: format!("{reference} (from {file})"),
        })?
    };
    // JSON pointer segments escape `~` and `/`; a URI fragment may also percent-encode.
    let pointer = percent_decode(fragment);
    if !(pointer.is_empty() || pointer.starts_with('/')) {
        return Err(SpecError::UnresolvedRef {
            reference: reference.to_owned(),
        });
    }
    Ok(Target { file, pointer })
}

/// `relative` joined to the directory of `file`, normalized; `None` when it climbs above the
/// root.
pub(crate) fn relative_to(file: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = file.split('/').collect();
    parts.pop();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// Normalizes a document name given by a caller (`./a/../b.json` → `b.json`, `\` → `/`).
pub(crate) fn normalize(name: &Path) -> Option<String> {
    let text = name.to_string_lossy().replace('\\', "/");
    relative_to("", &text).filter(|name| !name.is_empty())
}

/// Decodes `%XX` escapes; anything else (including a malformed escape) is kept as written.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                // Both digits are below 16, so the byte fits.
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_refs_resolve_against_the_referring_directory() {
        let target = resolve_ref(
            "spec/compute/stable/2025-04-01/vm.json",
            "../../common-types/v1/common.json#/definitions/CloudError",
        )
        .unwrap();
        assert_eq!(target.file, "spec/compute/common-types/v1/common.json");
        assert_eq!(target.pointer, "/definitions/CloudError");
        let local = resolve_ref("a/b.json", "#/definitions/X").unwrap();
        assert_eq!(
            local,
            Target {
                file: "a/b.json".into(),
                pointer: "/definitions/X".into()
            }
        );
        assert!(resolve_ref("a.json", "../../x.json#/definitions/X").is_err());
    }

    #[test]
    fn percent_escapes_decode_and_malformed_ones_stay() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
