//! Problems found in operator-written TOML (the rulebook, the deployment config): each names
//! the key path, the line and column where known, and what is wrong in plain words.

use std::fmt;

use serde::Serialize;
use toml::de::{DeTable, DeValue};

/// One thing wrong with an input document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Key path from the document root, e.g. `["templates", "default", "welcome", "text"]`.
    pub path: Vec<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl Problem {
    pub fn new(path: Vec<String>, message: impl Into<String>) -> Self {
        Self { path, message: message.into(), line: None, column: None }
    }

    pub fn at(path: &[&str], message: impl Into<String>) -> Self {
        Self::new(path.iter().map(|s| (*s).to_owned()).collect(), message)
    }

    /// The path written the way it appears in TOML: `groups."shop/g1".template`.
    pub fn dotted_path(&self) -> String {
        dotted(&self.path)
    }

    /// Fills in line and column from the TOML source, when the path can be found there.
    pub fn locate_in(mut self, source: &str) -> Self {
        if self.line.is_none()
            && let Some(offset) = locate(source, &self.path)
        {
            let (line, column) = line_column(source, offset);
            self.line = Some(line);
            self.column = Some(column);
        }
        self
    }

    /// A problem for a TOML syntax error, positioned where the parser stopped.
    pub fn from_toml_error(source: &str, error: &toml::de::Error) -> Self {
        let mut problem = Self::new(Vec::new(), format!("TOML syntax error: {}", error.message().trim()));
        if let Some(span) = error.span() {
            let (line, column) = line_column(source, span.start);
            problem.line = Some(line);
            problem.column = Some(column);
        }
        problem
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            return match (self.line, self.column) {
                (Some(line), Some(column)) => write!(f, "line {line}, column {column}: {}", self.message),
                (Some(line), None) => write!(f, "line {line}: {}", self.message),
                _ => f.write_str(&self.message),
            };
        }
        let path = self.dotted_path();
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "{path} (line {line}, column {column}): {}", self.message),
            (Some(line), None) => write!(f, "{path} (line {line}): {}", self.message),
            _ => write!(f, "{path}: {}", self.message),
        }
    }
}

/// Writes a key path as TOML does, quoting keys that are not bare.
pub fn dotted(path: &[String]) -> String {
    path.iter()
        .map(|key| {
            let bare = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if bare || key.starts_with('[') { key.clone() } else { format!("{key:?}") }
        })
        .collect::<Vec<_>>()
        .join(".")
        .replace(".[", "[")
}

/// Byte offset of the deepest part of `path` present in the TOML `source` (the key itself
/// when found, else its closest ancestor). Array elements are written `[n]` in the path.
pub fn locate(source: &str, path: &[String]) -> Option<usize> {
    let root = DeTable::parse(source).ok()?;
    let mut table: &DeTable<'_> = root.get_ref();
    let mut found = None;
    let mut segments = path.iter().peekable();
    while let Some(key) = segments.next() {
        let Some((key_span, value)) =
            table.iter().find(|(k, _)| k.get_ref().as_ref() == key.as_str()).map(|(k, v)| (k.span(), v))
        else {
            break;
        };
        found = Some(key_span.start);
        let mut value: &DeValue<'_> = value.get_ref();
        // Step through array indices that follow this key.
        while let Some(index) = segments.peek().and_then(|s| s.strip_prefix('[')).and_then(|s| s.strip_suffix(']')) {
            let Ok(index) = index.parse::<usize>() else { break };
            let Some(element) = value.as_array().and_then(|a| a.get(index)) else { break };
            found = Some(element.span().start);
            value = element.get_ref();
            segments.next();
        }
        match value.as_table() {
            Some(inner) => table = inner,
            None => break,
        }
    }
    found
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Converts a serde error path into our key path.
pub fn serde_path(path: &serde_path_to_error::Path) -> Vec<String> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Map { key } => Some(key.clone()),
            Segment::Seq { index } => Some(format!("[{index}]")),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Unknown => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "[templates.default]\nrules_text = \"x\"\n\n[templates.default.welcome]\ntext = \"hi\"\n\n[[connectors]]\nid = \"a\"\n[[connectors]]\nid = \"b\"\n";

    #[test]
    fn locates_nested_keys_with_line_and_column() {
        let p = Problem::at(&["templates", "default", "welcome", "text"], "bad").locate_in(DOC);
        assert_eq!((p.line, p.column), (Some(5), Some(1)));
        assert_eq!(p.to_string(), "templates.default.welcome.text (line 5, column 1): bad");
    }

    #[test]
    fn locates_keys_inside_arrays_of_tables() {
        let p = Problem::new(vec!["connectors".into(), "[1]".into(), "id".into()], "dup").locate_in(DOC);
        assert_eq!(p.line, Some(10));
        assert_eq!(p.dotted_path(), "connectors[1].id");
    }

    #[test]
    fn a_missing_key_points_at_its_closest_ancestor() {
        let p = Problem::at(&["templates", "default", "nope"], "missing").locate_in(DOC);
        assert_eq!(p.line, Some(1));
    }

    #[test]
    fn keys_that_are_not_bare_are_quoted() {
        let p = Problem::at(&["groups", "shop/g1", "template"], "x");
        assert_eq!(p.dotted_path(), "groups.\"shop/g1\".template");
    }
}
