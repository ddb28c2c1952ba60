//! One Rust source file as the layer check reads it: tokens without comments and literals, then
//! the module declarations, the leaves of its `use` trees and the paths written in code, leaving
//! out whatever is compiled for tests only (`#[cfg(test)]` items, a file under `#![cfg(test)]`).
//!
//! This is not a Rust parser. It knows just enough of the grammar to find paths: `use` trees,
//! `mod` items, attributes, visibility restrictions and balanced brackets.

/// What a token is, as far as finding paths goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// An identifier or keyword (`r#name` as `name`).
    Ident(String),
    /// `::`
    PathSep,
    /// Any other punctuation character.
    Punct(char),
    /// A string, character or number literal: its text never names a module.
    Literal,
    /// `'a` (a lifetime or a loop label).
    Lifetime,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) line: usize,
}

/// Splits `text` into tokens; comments (doc comments too) and whitespace leave nothing behind.
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let word_end = |mut j: usize| {
        while is_word(at(j)) {
            j += 1;
        }
        j
    };
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // Where the token (or the comment, or the space) ends, and what it is.
        let (end, tok) = if c.is_whitespace() {
            (i + 1, None)
        } else if c == '/' && at(i + 1) == '/' {
            let end = (i..chars.len()).find(|&j| chars[j] == '\n');
            (end.unwrap_or(chars.len()), None)
        } else if c == '/' && at(i + 1) == '*' {
            (block_comment_end(&chars, i), None)
        } else if let Some(end) = string_end(&chars, i) {
            (end, Some(Tok::Literal))
        } else if c == '\'' {
            let (end, tok) = quote_end(&chars, i);
            (end, Some(tok))
        } else if c.is_ascii_digit() {
            let mut j = i + 1;
            while is_word(at(j)) || (at(j) == '.' && at(j + 1).is_ascii_digit()) {
                j += 1;
            }
            (j, Some(Tok::Literal))
        } else if c.is_alphabetic() || c == '_' {
            let first = if c == 'r' && at(i + 1) == '#' {
                i + 2
            } else {
                i
            };
            let end = word_end(first);
            (end, Some(Tok::Ident(chars[first..end].iter().collect())))
        } else if c == ':' && at(i + 1) == ':' {
            (i + 2, Some(Tok::PathSep))
        } else {
            (i + 1, Some(Tok::Punct(c)))
        };
        let end = end.min(chars.len());
        if let Some(tok) = tok {
            out.push(Token { tok, line });
        }
        line += chars[i..end].iter().filter(|&&c| c == '\n').count();
        i = end;
    }
    out
}

/// The end of the (possibly nested) block comment opening at `start`.
fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0;
    let mut j = start;
    while j + 1 < chars.len() {
        match (chars[j], chars[j + 1]) {
            ('/', '*') => {
                depth += 1;
                j += 2;
            }
            ('*', '/') => {
                depth -= 1;
                j += 2;
                if depth == 0 {
                    return j;
                }
            }
            _ => j += 1,
        }
    }
    chars.len()
}

/// The end of a string literal starting at `start` (`"…"`, `b"…"`, `c"…"`, `r#"…"#`, `br"…"`,
/// …), or `None` when no string starts there.
fn string_end(chars: &[char], start: usize) -> Option<usize> {
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut j = start;
    if matches!(at(j), 'b' | 'c') {
        j += 1;
    }
    if at(j) == 'r' && matches!(at(j + 1), '"' | '#') {
        let hashes = (j + 1..chars.len())
            .take_while(|&k| chars[k] == '#')
            .count();
        let open = j + 1 + hashes;
        if at(open) != '"' {
            return None; // `r#ident`
        }
        let mut k = open + 1;
        while k < chars.len() {
            if chars[k] == '"' && (1..=hashes).all(|h| at(k + h) == '#') {
                return Some(k + 1 + hashes);
            }
            k += 1;
        }
        return Some(chars.len());
    }
    if at(j) != '"' {
        return None;
    }
    let mut k = j + 1;
    while k < chars.len() {
        match chars[k] {
            '\\' => k += 2,
            '"' => return Some(k + 1),
            _ => k += 1,
        }
    }
    Some(chars.len())
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The end of the character literal (`'x'`, `'\n'`) or lifetime (`'a`) at `start`. A byte
/// literal `b'x'` comes here after its `b` was read as a word: harmless, neither is a path.
fn quote_end(chars: &[char], start: usize) -> (usize, Tok) {
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    if at(start + 1) == '\\' {
        let close = (start + 3..chars.len())
            .find(|&k| chars[k] == '\'')
            .unwrap_or(chars.len());
        return (close + 1, Tok::Literal);
    }
    if at(start + 2) == '\'' {
        return (start + 3, Tok::Literal);
    }
    let mut j = start + 1;
    while is_word(at(j)) {
        j += 1;
    }
    (j, Tok::Lifetime)
}

/// A module declared in the file: `mod name;` (a file of its own) or `mod name { … }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModDecl {
    /// The inline modules of this file that enclose the declaration, outermost first.
    pub(crate) within: Vec<String>,
    pub(crate) name: String,
    pub(crate) inline: bool,
}

/// How a path was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefKind {
    /// A leaf of a `use` tree; `binding` is the name it brings into scope (`None` for a glob),
    /// `item` whether the `use` is an item of its module (not inside a function body).
    Use { binding: Option<String>, item: bool },
    /// A path written in code (a type, a call, a pattern…).
    Code,
}

/// A path the file names, before it is resolved against the crate's modules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathRef {
    /// The inline modules of this file that enclose it, outermost first.
    pub(crate) within: Vec<String>,
    /// As written: `["super", "error", "AzureError"]`; a glob ends in `"*"`, a path starting
    /// with `::` starts with `"::"`.
    pub(crate) segments: Vec<String>,
    pub(crate) line: usize,
    pub(crate) kind: RefKind,
}

impl PathRef {
    /// The path as a person would look for it in the file.
    pub(crate) fn text(&self) -> String {
        let path = self.segments.join("::").replace("::::", "::");
        match (&self.kind, self.alias()) {
            (RefKind::Use { .. }, Some(alias)) => format!("use {path} as {alias}"),
            (RefKind::Use { .. }, None) => format!("use {path}"),
            (RefKind::Code, _) => path,
        }
    }

    /// The name a `use` binds when it is not the path's last one (`use a::b as c`).
    pub(crate) fn alias(&self) -> Option<&str> {
        match &self.kind {
            RefKind::Use {
                binding: Some(b), ..
            } if self.segments.last() != Some(b) => Some(b),
            _ => None,
        }
    }
}

/// What one file declares and names, outside test-only code.
#[derive(Debug, Default)]
pub(crate) struct FileScan {
    /// The whole file is `#![cfg(test)]`.
    pub(crate) test_only: bool,
    pub(crate) mods: Vec<ModDecl>,
    pub(crate) refs: Vec<PathRef>,
}

/// Reads a file's declarations and paths; an error names the line it could not read.
pub(crate) fn scan(text: &str) -> Result<FileScan, String> {
    let tokens = tokenize(text);
    let mut scanner = Scanner {
        toks: &tokens,
        pos: 0,
        braces: 0,
        inline: Vec::new(),
        out: FileScan::default(),
    };
    scanner.run()?;
    Ok(scanner.out)
}

struct Scanner<'t> {
    toks: &'t [Token],
    pos: usize,
    /// `{` open at `pos`.
    braces: usize,
    /// Inline modules open at `pos`: name, and the brace depth inside their body.
    inline: Vec<(String, usize)>,
    out: FileScan,
}

/// Words that start an item (after any visibility), as opposed to a field, an arm or an
/// expression: a test-only item ends at its `;` or body, never at a `,`.
const ITEM_WORDS: &[&str] = &[
    "fn",
    "impl",
    "mod",
    "struct",
    "enum",
    "union",
    "use",
    "const",
    "static",
    "type",
    "trait",
    "async",
    "unsafe",
    "extern",
    "macro_rules",
    "let",
];

impl Scanner<'_> {
    fn tok(&self, ahead: usize) -> Option<&Tok> {
        self.toks.get(self.pos + ahead).map(|t| &t.tok)
    }

    fn is_punct(&self, ahead: usize, c: char) -> bool {
        self.tok(ahead) == Some(&Tok::Punct(c))
    }

    fn ident(&self, ahead: usize) -> Option<&str> {
        match self.tok(ahead) {
            Some(Tok::Ident(w)) => Some(w),
            _ => None,
        }
    }

    fn line(&self) -> usize {
        self.toks
            .get(self.pos)
            .or(self.toks.last())
            .map_or(0, |t| t.line)
    }

    fn within(&self) -> Vec<String> {
        self.inline.iter().map(|(name, _)| name.clone()).collect()
    }

    /// Whether `pos` is directly in a module's body (not in a function, impl, …).
    fn at_item_level(&self) -> bool {
        self.braces == self.inline.last().map_or(0, |&(_, depth)| depth)
    }

    /// The index of the bracket that closes the one at `open`.
    fn closing(&self, open: usize) -> Result<usize, String> {
        let mut depth = 0usize;
        for (i, t) in self.toks.iter().enumerate().skip(open) {
            match t.tok {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']' | '}') => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(i);
                    }
                }
                _ => {}
            }
        }
        Err(format!(
            "line {}: a bracket that is never closed",
            self.toks[open].line
        ))
    }

    fn run(&mut self) -> Result<(), String> {
        let mut test_only_next = false;
        while let Some(tok) = self.tok(0).cloned() {
            if tok == Tok::Punct('#') {
                let inner = self.is_punct(1, '!');
                let open = self.pos + if inner { 2 } else { 1 };
                if self.toks.get(open).map(|t| &t.tok) == Some(&Tok::Punct('[')) {
                    let close = self.closing(open)?;
                    let test = is_cfg_test(&self.toks[open + 1..close]);
                    self.pos = close + 1;
                    if test && inner && self.braces == 0 {
                        self.out.test_only = true;
                        return Ok(());
                    }
                    test_only_next |= test && !inner;
                    continue;
                }
            }
            if test_only_next {
                self.skip_item();
                test_only_next = false;
                continue;
            }
            match tok {
                Tok::Ident(w) if w == "pub" && self.is_punct(1, '(') => {
                    // `pub(in crate::x)` names a module but imports nothing.
                    self.pos = self.closing(self.pos + 1)? + 1;
                }
                Tok::Ident(w) if w == "use" => self.use_item()?,
                Tok::Ident(w) if w == "mod" && self.at_item_level() && self.ident(1).is_some() => {
                    self.mod_item()
                }
                Tok::Punct('{') => {
                    self.braces += 1;
                    self.pos += 1;
                }
                Tok::Punct('}') => {
                    if self.inline.last().is_some_and(|&(_, d)| d == self.braces) {
                        self.inline.pop();
                    }
                    self.braces = self.braces.saturating_sub(1);
                    self.pos += 1;
                }
                Tok::Ident(_)
                    if self.tok(1) == Some(&Tok::PathSep)
                        && self.pos.checked_sub(1).map(|p| &self.toks[p].tok)
                            != Some(&Tok::PathSep) =>
                {
                    self.code_path()
                }
                _ => self.pos += 1,
            }
        }
        Ok(())
    }

    /// Skips the item, field, arm or statement at `pos` (it follows a `#[cfg(test)]`).
    fn skip_item(&mut self) {
        let mut word = 0;
        if self.ident(0) == Some("pub") {
            word = 1;
            if self.is_punct(1, '(') {
                word = self
                    .closing(self.pos + 1)
                    .map_or(1, |close| close + 1 - self.pos);
            }
        }
        let head = self.ident(word).unwrap_or("");
        let is_item = ITEM_WORDS.contains(&head);
        let is_let = head == "let";
        let mut depth = 0usize;
        while let Some(tok) = self.tok(0).cloned() {
            match tok {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(c @ (')' | ']' | '}')) => {
                    if depth == 0 {
                        return; // the end of the enclosing group, not part of the item
                    }
                    depth -= 1;
                    if depth == 0 && c == '}' && !is_let {
                        self.pos += 1;
                        return;
                    }
                }
                Tok::Punct(';') if depth == 0 => {
                    self.pos += 1;
                    return;
                }
                Tok::Punct(',') if depth == 0 && !is_item => return,
                _ => {}
            }
            self.pos += 1;
        }
    }

    fn mod_item(&mut self) {
        let name = self.ident(1).unwrap_or_default().to_string();
        let inline = match self.tok(2) {
            Some(Tok::Punct(';')) => false,
            Some(Tok::Punct('{')) => true,
            _ => {
                self.pos += 1;
                return;
            }
        };
        self.out.mods.push(ModDecl {
            within: self.within(),
            name: name.clone(),
            inline,
        });
        self.pos += 3;
        if inline {
            self.braces += 1;
            self.inline.push((name, self.braces));
        }
    }

    fn use_item(&mut self) -> Result<(), String> {
        let item = self.at_item_level();
        let line = self.line();
        self.pos += 1;
        let mut leaves = Vec::new();
        self.use_tree(Vec::new(), &mut leaves)?;
        if !self.is_punct(0, ';') {
            return Err(format!("line {line}: cannot read this `use`"));
        }
        self.pos += 1;
        for (segments, binding, line) in leaves {
            self.out.refs.push(PathRef {
                within: self.within(),
                segments,
                line,
                kind: RefKind::Use { binding, item },
            });
        }
        Ok(())
    }

    /// One tree of a `use`: `a::b`, `a::b as c`, `a::*`, `a::{…}`, `{…}`, `::a`, `self`.
    fn use_tree(
        &mut self,
        mut path: Vec<String>,
        leaves: &mut Vec<(Vec<String>, Option<String>, usize)>,
    ) -> Result<(), String> {
        if self.tok(0) == Some(&Tok::PathSep) {
            path.push("::".to_string());
            self.pos += 1;
        }
        loop {
            let line = self.line();
            match self.tok(0) {
                Some(Tok::Ident(name)) => {
                    let name = name.clone();
                    self.pos += 1;
                    // `a::{self, b}`: `self` is `a` itself.
                    let group_self = name == "self" && !path.is_empty();
                    if !group_self {
                        path.push(name);
                    }
                    if self.tok(0) == Some(&Tok::PathSep) {
                        self.pos += 1;
                        continue;
                    }
                    let binding = if self.ident(0) == Some("as") {
                        let alias = self.ident(1).map(str::to_string);
                        self.pos += 2;
                        alias
                    } else {
                        path.last().cloned()
                    };
                    leaves.push((path, binding, line));
                    return Ok(());
                }
                Some(Tok::Punct('*')) => {
                    self.pos += 1;
                    path.push("*".to_string());
                    leaves.push((path, None, line));
                    return Ok(());
                }
                Some(Tok::Punct('{')) => {
                    self.pos += 1;
                    while !self.is_punct(0, '}') {
                        self.use_tree(path.clone(), leaves)?;
                        if self.is_punct(0, ',') {
                            self.pos += 1;
                        } else if !self.is_punct(0, '}') {
                            return Err(format!("line {line}: cannot read this `use` group"));
                        }
                    }
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(format!("line {line}: cannot read this `use`")),
            }
        }
    }

    /// `a::b::c` written in code, from `pos` (an identifier followed by `::`).
    fn code_path(&mut self) {
        let line = self.line();
        let mut segments = Vec::new();
        while let Some(name) = self.ident(0) {
            segments.push(name.to_string());
            self.pos += 1;
            if self.tok(0) == Some(&Tok::PathSep) && self.ident(1).is_some() {
                self.pos += 1;
            } else {
                break;
            }
        }
        self.out.refs.push(PathRef {
            within: self.within(),
            segments,
            line,
            kind: RefKind::Code,
        });
    }
}

/// Whether an attribute's tokens (between `[` and `]`) are `cfg(test)` or
/// `cfg(all(…, test, …))`: code compiled for tests only.
fn is_cfg_test(attr: &[Token]) -> bool {
    let toks: Vec<Tok> = attr.iter().map(|t| t.tok.clone()).collect();
    let test = [Tok::Ident("test".to_string())];
    match call_args(&toks, "cfg").as_deref() {
        Some([predicate]) if predicate == &test => true,
        Some([predicate]) => {
            call_args(predicate, "all").is_some_and(|args| args.iter().any(|arg| arg == &test))
        }
        _ => false,
    }
}

/// `name(a, b(c, d), e)` as its top-level arguments `[a, b(c, d), e]`.
fn call_args(toks: &[Tok], name: &str) -> Option<Vec<Vec<Tok>>> {
    let [
        Tok::Ident(word),
        Tok::Punct('('),
        inner @ ..,
        Tok::Punct(')'),
    ] = toks
    else {
        return None;
    };
    if word != name {
        return None;
    }
    let mut args = vec![Vec::new()];
    let mut depth = 0usize;
    for tok in inner {
        match tok {
            Tok::Punct(',') if depth == 0 => args.push(Vec::new()),
            _ => {
                match tok {
                    Tok::Punct('(') => depth += 1,
                    Tok::Punct(')') => depth = depth.saturating_sub(1),
                    _ => {}
                }
                args.last_mut()?.push(tok.clone());
            }
        }
    }
    Some(args)
}
