//! The rulebook reference (`docs/rulebook.md`), generated from the settings types' doc
//! comments and the built-in defaults, so it can never drift from the code.

use schemars::schema_for;
use serde_json::Value;

use crate::locale::Locale;
use crate::rulebook::TemplateSettings;

/// The reference page as Markdown.
pub fn markdown() -> String {
    let schema = serde_json::to_value(schema_for!(TemplateSettings)).unwrap_or(Value::Null);
    let defaults = serde_json::to_value(TemplateSettings::builtin(Locale::ZhCn)).unwrap_or(Value::Null);
    let mut out = String::from(
        "# Rulebook reference\n\n\
         Generated from the code (`cargo test -p qunzhu-engine reference` checks it; \
         `UPDATE_REFERENCE=1` rewrites it). Every key lives under `[templates.<name>]`; a group \
         binding may override any of them under `[groups.\"connector/group\".overrides]`. \
         Defaults are the built-in zh-CN template (`locale = \"en\"` gives English texts).\n\n\
         | key | default | meaning |\n|---|---|---|\n",
    );
    rows(&schema, &schema, &defaults, "", &mut out);
    out
}

fn rows(root: &Value, schema: &Value, defaults: &Value, prefix: &str, out: &mut String) {
    let Some(properties) = resolve(root, schema).get("properties").and_then(Value::as_object) else { return };
    for (key, property) in properties {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        // The field's own doc comment sits beside its `$ref`; the referenced type's is a fallback.
        let own = property.get("description").and_then(Value::as_str);
        let property = resolve(root, property);
        let default = defaults.get(key).cloned().unwrap_or(Value::Null);
        if property.get("properties").is_some() {
            rows(root, property, &default, &path, out);
            continue;
        }
        let meaning = own.or_else(|| property.get("description").and_then(Value::as_str)).unwrap_or("").replace('\n', " ").replace('|', "\\|");
        // A table of entries by id (e.g. FAQ entries): the ids the built-in template has, then
        // one row per field of an entry, under `<id>`, with the entry type's defaults.
        let entry = property.get("additionalProperties").map(|e| resolve(root, e)).filter(|e| e.get("properties").is_some());
        if let Some(entry) = entry {
            let ids: Vec<&str> = default.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
            let shown = if ids.is_empty() { "none".to_owned() } else { format!("built-in: {}", ids.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")) };
            out.push_str(&format!("| `{path}.<id>` | {shown} | {meaning} |\n"));
            rows(root, entry, &field_defaults(root, entry), &format!("{path}.<id>"), out);
            continue;
        }
        let shown = match &default {
            Value::String(s) => format!("`{}`", s.replace('\n', "\\n").replace('|', "\\|")),
            other => format!("`{}`", other.to_string().replace('|', "\\|")),
        };
        out.push_str(&format!("| `{path}` | {shown} | {meaning} |\n"));
    }
}

/// The defaults a type's schema states for its fields, as one object.
fn field_defaults(root: &Value, schema: &Value) -> Value {
    let fields = resolve(root, schema).get("properties").and_then(Value::as_object);
    Value::Object(
        fields
            .into_iter()
            .flatten()
            .filter_map(|(key, property)| property.get("default").map(|d| (key.clone(), d.clone())))
            .collect(),
    )
}

/// Follows a `$ref` (and a one-element `allOf`) to the schema it names.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let pointer = reference.trim_start_matches('#');
        return root.pointer(pointer).map_or(schema, |target| resolve(root, target));
    }
    if let Some([only]) = schema.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        return resolve(root, only);
    }
    schema
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn reference_lists_every_setting_with_its_meaning() {
        let page = markdown();
        for key in [
            "`rules_text`",
            "`welcome.text`",
            "`moderation.ladder`",
            "`moderation.allow_words`",
            "`moderation.spam_threshold`",
            "`auto_reply.entries.<id>.triggers.similar`",
            "`auto_reply.entries.<id>.cooldown_secs` | `60`",
        ] {
            assert!(page.contains(key), "{key} missing from\n{page}");
        }
        assert!(page.lines().filter(|l| l.starts_with("| `")).all(|l| !l.ends_with("|  |")), "every key has a meaning:\n{page}");
    }

    #[test]
    fn the_committed_reference_is_up_to_date() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rulebook.md");
        let fresh = markdown();
        if std::env::var_os("UPDATE_REFERENCE").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == fresh, "docs/rulebook.md is stale: run `UPDATE_REFERENCE=1 cargo test -p qunzhu-engine reference`");
    }
}
