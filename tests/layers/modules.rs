//! A crate's module tree, read by following its `mod` declarations from the crate root, and the
//! resolution of a path written in one module to the module that defines what it names.
//!
//! Resolution follows the imports of the module a path goes through, so `crate::azure::AzureError`
//! (re-exported by `azure/mod.rs` from `azure/error.rs`) resolves to `azure::error`: an import
//! cannot hide behind a re-export.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::source::{PathRef, RefKind, scan};

/// A module path inside the crate: `[]` is the crate root, `["azure", "pipeline"]` is
/// `crate::azure::pipeline`.
pub(crate) type ModPath = Vec<String>;

/// Where a crate's sources are and how it names itself.
#[derive(Debug, Clone)]
pub(crate) struct CrateSpec {
    /// The folder holding the crate root files (`src/`).
    pub(crate) dir: PathBuf,
    /// How file names are shown: this, then the path below `dir` (`"src/"`, `"emulator/src/"`).
    pub(crate) shown_as: String,
    /// The crate root files, `lib.rs` and `main.rs`; those that exist are read.
    pub(crate) roots: Vec<String>,
    /// The library's name as the binary's `main.rs` imports it (`terraform_provider_vm`).
    pub(crate) lib_name: String,
}

#[derive(Debug, Default)]
pub(crate) struct Module {
    /// Every module declared in it (in a file of its own or inline).
    pub(crate) children: BTreeSet<String>,
    /// The children that are files of their own (`x.rs`, `x/mod.rs`), outside test-only code.
    pub(crate) file_children: BTreeSet<String>,
    /// The names its `use` items bring into scope, and the paths they name (as written).
    pub(crate) uses: BTreeMap<String, Vec<String>>,
    /// Where its file children are (`src/azure/` for `crate::azure`), as shown.
    pub(crate) dir_shown: String,
}

/// One path a file names: a leaf of a `use` tree, or a path written in code.
#[derive(Debug, Clone)]
pub(crate) struct Import {
    /// The file, as shown (`src/azure/lro.rs`).
    pub(crate) file: String,
    /// The module it is written in.
    pub(crate) from: ModPath,
    pub(crate) path: PathRef,
}

#[derive(Debug, Default)]
pub(crate) struct CrateTree {
    pub(crate) lib_name: String,
    pub(crate) modules: BTreeMap<ModPath, Module>,
    pub(crate) imports: Vec<Import>,
    /// Every `.rs` file below the crate's folder.
    pub(crate) files_on_disk: usize,
    /// The files of the module tree (test-only ones left out).
    pub(crate) files_in_tree: usize,
    /// What could not be read: a file that does not parse, a `mod` without its file.
    pub(crate) problems: Vec<String>,
}

/// How many re-exports a resolution may follow before it gives up (a cycle of `use`s).
const MAX_HOPS: usize = 16;

impl CrateTree {
    /// Reads the crate from its root files.
    pub(crate) fn load(spec: &CrateSpec) -> CrateTree {
        let mut tree = CrateTree {
            lib_name: spec.lib_name.clone(),
            files_on_disk: rust_files(&spec.dir).len(),
            ..CrateTree::default()
        };
        for root in &spec.roots {
            let file = spec.dir.join(root);
            if file.is_file() {
                tree.read_file(spec, &file, Vec::new(), spec.dir.clone());
            }
        }
        tree
    }

    fn shown(spec: &CrateSpec, path: &Path) -> String {
        let below = path.strip_prefix(&spec.dir).unwrap_or(path);
        format!("{}{}", spec.shown_as, below.display()).replace('\\', "/")
    }

    /// Reads `file`, the file of module `module`, whose file children are in `dir`.
    fn read_file(&mut self, spec: &CrateSpec, file: &Path, module: ModPath, dir: PathBuf) {
        let shown = Self::shown(spec, file);
        let scanned = match std::fs::read_to_string(file) {
            Ok(text) => scan(&text),
            Err(e) => Err(e.to_string()),
        };
        let scanned = match scanned {
            Ok(s) => s,
            Err(e) => {
                self.problems.push(format!("{shown}: {e}"));
                return;
            }
        };
        if scanned.test_only {
            return;
        }
        self.files_in_tree += 1;
        let mut dir_shown = Self::shown(spec, &dir);
        if dir_shown.is_empty() {
            dir_shown.push('.');
        }
        if !dir_shown.ends_with('/') {
            dir_shown.push('/');
        }
        self.modules.entry(module.clone()).or_default().dir_shown = dir_shown;
        for decl in scanned.mods {
            let parent = [module.as_slice(), decl.within.as_slice()].concat();
            let child = [parent.as_slice(), std::slice::from_ref(&decl.name)].concat();
            let entry = self.modules.entry(parent).or_default();
            entry.children.insert(decl.name.clone());
            if decl.inline {
                self.modules.entry(child).or_default();
                continue;
            }
            entry.file_children.insert(decl.name.clone());
            let mut child_dir = dir.clone();
            child_dir.extend(&decl.within);
            child_dir.push(&decl.name);
            let flat = child_dir.with_extension("rs");
            let nested = child_dir.join("mod.rs");
            if flat.is_file() {
                self.read_file(spec, &flat, child, child_dir);
            } else if nested.is_file() {
                self.read_file(spec, &nested, child, child_dir);
            } else {
                self.problems.push(format!(
                    "{shown}: `mod {}` has neither {} nor {}",
                    decl.name,
                    Self::shown(spec, &flat),
                    Self::shown(spec, &nested)
                ));
            }
        }
        for path in scanned.refs {
            let from = [module.as_slice(), path.within.as_slice()].concat();
            if let RefKind::Use {
                binding: Some(name),
                item: true,
            } = &path.kind
            {
                if name != "_" {
                    self.modules
                        .entry(from.clone())
                        .or_default()
                        .uses
                        .insert(name.clone(), path.segments.clone());
                }
            }
            self.imports.push(Import {
                file: shown.clone(),
                from,
                path,
            });
        }
    }

    /// The module that defines what `import` names, or `None` when it names another crate's
    /// item (`std::…`, `tokio::…`) or a path in code that starts at a local name.
    pub(crate) fn target(&self, import: &Import) -> Option<ModPath> {
        let first = import.path.segments.first()?;
        let starts_in_crate = matches!(first.as_str(), "crate" | "super" | "self")
            || *first == self.lib_name
            || self
                .modules
                .get(&import.from)
                .is_some_and(|m| m.children.contains(first));
        if import.path.kind == RefKind::Code && !starts_in_crate {
            // A path in code through a name a `use` brought in: the `use` is the import.
            return None;
        }
        let absolute = self.absolute(&import.from, &import.path.segments, 0)?;
        Some(self.defining_module(&absolute, 0))
    }

    /// `path`, written in module `at`, from the crate root; `None` for another crate's.
    fn absolute(&self, at: &[String], path: &[String], hops: usize) -> Option<ModPath> {
        let (first, rest) = path.split_first()?;
        match first.as_str() {
            "crate" => Some(rest.to_vec()),
            name if name == self.lib_name => Some(rest.to_vec()),
            "self" => Some([at, rest].concat()),
            "super" => {
                let supers = path.iter().take_while(|s| *s == "super").count();
                let base = at.len().checked_sub(supers)?;
                Some([&at[..base], &path[supers..]].concat())
            }
            name => {
                let module = self.modules.get(at)?;
                if module.children.contains(name) {
                    Some([at, path].concat())
                } else if hops < MAX_HOPS {
                    let named = module.uses.get(name)?;
                    let base = self.absolute(at, named, hops + 1)?;
                    Some([base.as_slice(), rest].concat())
                } else {
                    None
                }
            }
        }
    }

    /// The module that defines the item at the absolute `path`: its longest module prefix, or,
    /// when the next name was imported into that module, where that import leads.
    fn defining_module(&self, path: &[String], hops: usize) -> ModPath {
        let mut module: ModPath = Vec::new();
        for (i, name) in path.iter().enumerate() {
            let Some(m) = self.modules.get(&module) else {
                break;
            };
            if m.children.contains(name) {
                module.push(name.clone());
                continue;
            }
            if hops < MAX_HOPS {
                if let Some(named) = m.uses.get(name) {
                    if let Some(base) = self.absolute(&module, named, 0) {
                        let onward = [base.as_slice(), &path[i + 1..]].concat();
                        return self.defining_module(&onward, hops + 1);
                    }
                }
            }
            break;
        }
        module
    }
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}
