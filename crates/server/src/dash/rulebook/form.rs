//! The template form, generated from the JSON schema of `TemplateSettings`: every setting a
//! rule declares gets a field without a hand-written form, labelled by its doc comment (zh-CN
//! first where [`super::labels`] has a Chinese label), with an input fitting its type, and a
//! `data-path` equal to the problem path the API reports for it, so validation errors show
//! next to the field.
//!
//! Fields carry their JSON key path (`data-key`, from the rulebook root) and how to read them
//! (`data-type`); `rulebook.js` puts their values into the whole rulebook and sends it with
//! `PUT /api/v1/rulebook`. Lists of tables (the level ladder) are rows (`data-array`, each
//! field's `data-sub` relative to its row); tables of entries by id (FAQ entries) are one
//! fieldset per entry (`data-entry`), with a blank one to copy for new ids.

use maud::{Markup, html};
use qunzhu_engine::Locale;
use qunzhu_engine::problems::dotted;
use serde_json::Value;

use super::labels;

/// What the form is rendered with.
pub struct FormCx<'a> {
    /// The whole schema (for `$ref`s).
    pub root: &'a Value,
    pub lang: Locale,
    /// Fields are read-only when false.
    pub editable: bool,
}

/// Follows a `$ref` (and a one-element `allOf`) to the schema it names.
pub fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let pointer = reference.trim_start_matches('#');
        return root.pointer(pointer).map_or(schema, |target| resolve(root, target));
    }
    if let Some([only]) = schema.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        return resolve(root, only);
    }
    schema
}

/// A field's doc comment: its own (beside the `$ref`), else its type's.
fn doc<'a>(own: &'a Value, resolved: &'a Value) -> &'a str {
    own.get("description").or_else(|| resolved.get("description")).and_then(Value::as_str).unwrap_or("")
}

fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The allowed values of a string enum (`enum`, or `oneOf` of constants), if it is one.
fn choices(root: &Value, schema: &Value) -> Option<Vec<(String, String)>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(values.iter().filter_map(Value::as_str).map(|v| (v.to_owned(), String::new())).collect());
    }
    let variants = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array)?;
    let mut out = Vec::new();
    for variant in variants {
        let variant = resolve(root, variant);
        let description = variant.get("description").and_then(Value::as_str).unwrap_or("").to_owned();
        if let Some(value) = variant.get("const").and_then(Value::as_str) {
            out.push((value.to_owned(), description));
        } else {
            // `enum` of several values (the variants without their own doc comment).
            let values = variant.get("enum").and_then(Value::as_array)?;
            for value in values {
                out.push((value.as_str()?.to_owned(), description.clone()));
            }
        }
    }
    Some(out)
}

/// `Option<T>` in schemars 1: `anyOf: [T, {type: null}]` or `type: [t, "null"]`.
fn unwrap_nullable<'a>(root: &'a Value, schema: &'a Value) -> (&'a Value, bool) {
    if let Some(variants) = schema.get("anyOf").and_then(Value::as_array)
        && variants.len() == 2
        && let Some(null_at) = variants.iter().position(|v| v.get("type").and_then(Value::as_str) == Some("null"))
    {
        return (resolve(root, &variants[1 - null_at]), true);
    }
    (schema, types(schema).contains(&"null"))
}

/// The schema path used for labels: map ids as `*`, array items as `[]`.
fn label_key(pattern: &[String]) -> String {
    pattern.join(".").replace(".[]", "[]")
}

/// How a field is labelled: the zh label first on a zh-CN page, then the doc comment.
fn label(cx: &FormCx<'_>, pattern: &[String], key: &str, doc: &str) -> Markup {
    let zh = (cx.lang == Locale::ZhCn).then(|| labels::zh(&label_key(pattern))).flatten();
    html! {
        @match zh {
            Some(zh) => { span.label-main { (zh) } " " code.muted { (key) } @if !doc.is_empty() { span.hint { (doc) } } }
            None => { span.label-main { @if doc.is_empty() { (key) } @else { (doc) } } " " code.muted { (key) } }
        }
    }
}

/// Where a field sits: its key path from the rulebook root (for `data-key`), the pattern
/// for labels, and (inside a list row) its path relative to the row.
#[derive(Clone)]
struct At {
    key: Vec<String>,
    pattern: Vec<String>,
    /// Inside an array row: the path from the row (for `data-sub`).
    sub: Option<Vec<String>>,
}

impl At {
    fn child(&self, key: &str, pattern_key: &str) -> Self {
        let mut next = self.clone();
        next.key.push(key.to_owned());
        next.pattern.push(pattern_key.to_owned());
        if let Some(sub) = &mut next.sub {
            sub.push(key.to_owned());
        }
        next
    }

    fn path(&self) -> String {
        dotted(&self.key)
    }

    fn json_key(&self) -> String {
        serde_json::to_string(&self.key).unwrap_or_default()
    }
}

/// The rules operators change most come first; the others follow in schema order.
const SECTION_ORDER: &[&str] = &["description", "rules_text", "timezone", "welcome", "moderation", "auto_reply", "check_in", "points", "levels"];

/// The fields of a template's settings (`value`), under `key` (e.g. `["templates", "vip"]`):
/// top-level plain settings first, then one card per rule.
pub fn template_form(cx: &FormCx<'_>, value: &Value, key: &[String]) -> Markup {
    let schema = resolve(cx.root, cx.root);
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return html! {};
    };
    let at = At { key: key.to_vec(), pattern: Vec::new(), sub: None };
    let mut plain = Vec::new();
    let mut sections = Vec::new();
    let mut ordered: Vec<(&String, &Value)> = properties.iter().collect();
    ordered.sort_by_key(|(name, _)| SECTION_ORDER.iter().position(|s| *s == name.as_str()).unwrap_or(SECTION_ORDER.len()));
    for (name, own) in ordered {
        let resolved = resolve(cx.root, own);
        if resolved.get("properties").is_some() { sections.push((name, own, resolved)) } else { plain.push((name, own, resolved)) }
    }
    html! {
        nav.card.toc {
            a href="#sec-basic" { (cx.lang.pick("基本设置", "Basics")) }
            @for (name, own, resolved) in &sections {
                a href={ "#sec-" (name) } { (section_title(cx, name, doc(own, resolved))) }
            }
        }
        section.card #sec-basic {
            h2 { (cx.lang.pick("基本设置", "Basics")) }
            @for (name, own, resolved) in &plain {
                (field(cx, &at.child(name, name), own, resolved, value.get(name.as_str()).unwrap_or(&Value::Null)))
            }
        }
        @for (name, own, resolved) in &sections {
            section.card id={ "sec-" (name) } {
                h2 { (section_title(cx, name, doc(own, resolved))) }
                @let text = doc(own, resolved);
                @if !text.is_empty() { p.muted { (text) } }
                (object_fields(cx, &at.child(name, name), resolved, value.get(name.as_str()).unwrap_or(&Value::Null)))
            }
        }
    }
}

fn section_title(cx: &FormCx<'_>, name: &str, doc: &str) -> String {
    match (cx.lang, labels::zh(name)) {
        (Locale::ZhCn, Some(zh)) => zh.to_owned(),
        _ if !doc.is_empty() => doc.split(['.', ':', '(', '（']).next().unwrap_or(doc).trim().to_owned(),
        _ => name.to_owned(),
    }
}

/// The fields of one table of settings.
fn object_fields(cx: &FormCx<'_>, at: &At, schema: &Value, value: &Value) -> Markup {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return html! {};
    };
    // `enabled` first: whether the rest matters at all.
    let mut ordered: Vec<(&String, &Value)> = properties.iter().collect();
    ordered.sort_by_key(|(name, _)| name.as_str() != "enabled");
    html! {
        @for (name, own) in ordered {
            @let resolved = resolve(cx.root, own);
            @let inner = value.get(name.as_str()).unwrap_or(&Value::Null);
            @if resolved.get("properties").is_some() {
                fieldset.group {
                    legend { (label(cx, &at.child(name, name).pattern, name, doc(own, resolved))) }
                    (object_fields(cx, &at.child(name, name), resolved, inner))
                }
            } @else {
                (field(cx, &at.child(name, name), own, resolved, inner))
            }
        }
    }
}

/// The entry schema of a table of entries by id (`additionalProperties` with properties).
fn entry_schema<'a>(root: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    schema.get("additionalProperties").map(|e| resolve(root, e)).filter(|e| e.get("properties").is_some())
}

/// The item schema of a list of tables.
fn row_schema<'a>(root: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    schema.get("items").map(|e| resolve(root, e)).filter(|e| e.get("properties").is_some())
}

/// One setting: an input fitting its type.
fn field(cx: &FormCx<'_>, at: &At, own: &Value, resolved: &Value, value: &Value) -> Markup {
    let name = at.key.last().map_or("", String::as_str);
    let text = doc(own, resolved);
    let (schema, nullable) = unwrap_nullable(cx.root, resolved);
    if let Some(entry) = entry_schema(cx.root, schema) {
        return entries(cx, at, entry, value, text);
    }
    if let Some(row) = row_schema(cx.root, schema) {
        return rows(cx, at, row, value, text);
    }
    let path = at.path();
    let key_attr = at.sub.is_none().then(|| at.json_key());
    let sub_attr = at.sub.as_ref().map(|s| serde_json::to_string(s).unwrap_or_default());
    let disabled = !cx.editable;
    let kinds = types(schema);
    let input = if let Some(options) = choices(cx.root, schema).filter(|o| !o.is_empty()) {
        let current = value.as_str().unwrap_or("");
        html! {
            select data-key=[key_attr.as_deref()] data-sub=[sub_attr.as_deref()] data-path=(path) data-type="string" disabled[disabled] {
                @for (option, description) in &options {
                    option value=(option) selected[option == current] {
                        (option) @if !description.is_empty() { " — " (description.split(['.', ';']).next().unwrap_or("")) }
                    }
                }
            }
        }
    } else if kinds.contains(&"boolean") {
        html! {
            label.check {
                input type="checkbox" data-key=[key_attr.as_deref()] data-sub=[sub_attr.as_deref()] data-path=(path) data-type="bool" checked[value.as_bool() == Some(true)] disabled[disabled];
                " " (cx.lang.pick("开启", "on"))
            }
        }
    } else if kinds.contains(&"integer") || kinds.contains(&"number") {
        let step = if kinds.contains(&"integer") { "1" } else { "any" };
        let shown = match value { Value::Number(n) => n.as_f64().map(|f| if kinds.contains(&"integer") { n.to_string() } else { format!("{}", (f * 1e6).round() / 1e6) }).unwrap_or_default(), _ => String::new() };
        html! {
            input type="number" step=(step) min=[schema.get("minimum").map(Value::to_string)] max=[schema.get("maximum").map(Value::to_string)]
                data-key=[key_attr.as_deref()] data-sub=[sub_attr.as_deref()] data-path=(path) data-type="number" data-null[nullable] value=(shown) disabled[disabled];
        }
    } else if kinds.contains(&"string") {
        let current = value.as_str().unwrap_or("");
        let long = current.contains('\n') || current.chars().count() > 40 || name.ends_with("text") || name.ends_with("reply") || name == "answer";
        html! {
            @if long {
                textarea rows=(current.lines().count().clamp(2, 12)) data-key=[key_attr.as_deref()] data-sub=[sub_attr.as_deref()] data-path=(path) data-type="string" data-null[nullable] disabled[disabled] { (current) }
            } @else {
                input type="text" data-key=[key_attr.as_deref()] data-sub=[sub_attr.as_deref()] data-path=(path) data-type="string" data-null[nullable] value=(current) disabled[disabled];
            }
        }
    } else if kinds.contains(&"array") && schema.get("items").map(|i| types(resolve(cx.root, i))) .is_some_and(|t| t.contains(&"string")) {
        let lines: Vec<&str> = value.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        html! {
            textarea rows=(lines.len().clamp(2, 10)) data-key=[key_attr.as_deref()] data-sub=[sub_attr.as_deref()] data-path=(path) data-type="lines" disabled[disabled] { (lines.join("\n")) }
            small.muted { (cx.lang.pick("每行一个", "one per line")) }
        }
    } else if kinds.contains(&"array") && schema.get("items").map(|i| types(resolve(cx.root, i))).is_some_and(|t| t.contains(&"integer") || t.contains(&"number")) {
        let numbers: Vec<String> = value.as_array().into_iter().flatten().map(Value::to_string).collect();
        html! {
            input type="text" inputmode="decimal" data-key=[key_attr.as_deref()] data-sub=[sub_attr.as_deref()] data-path=(path) data-type="numbers" value=(numbers.join(", ")) disabled[disabled];
            small.muted { (cx.lang.pick("用逗号分隔", "separated by commas")) }
        }
    } else {
        // Anything else (tables of lists, mixed values): edited as JSON.
        let json = serde_json::to_string_pretty(value).unwrap_or_default();
        html! {
            textarea rows=(json.lines().count().clamp(2, 12)) data-key=[key_attr.as_deref()] data-sub=[sub_attr.as_deref()] data-path=(path) data-type="json" disabled[disabled] { (json) }
            small.muted { "JSON" }
        }
    };
    html! {
        div.field data-field=(path) {
            label { (label(cx, &at.pattern, name, text)) }
            (input)
        }
    }
}

/// A table of entries by id (FAQ entries, welcome tiers): one fieldset per entry, a remove
/// button, and a blank entry (`<template>`) that `rulebook.js` copies for a new id.
fn entries(cx: &FormCx<'_>, at: &At, entry: &Value, value: &Value, text: &str) -> Markup {
    let name = at.key.last().map_or("", String::as_str);
    let path = at.path();
    let blank_value = defaults(cx.root, entry);
    let mut blank_at = at.child("__ID__", "*");
    blank_at.sub = None;
    html! {
        div.field.entries data-field=(path) data-entries=(at.json_key()) {
            label { (label(cx, &at.pattern, name, text)) }
            @for (id, inner) in value.as_object().into_iter().flatten() {
                (entry_fieldset(cx, &at.child(id, "*"), entry, inner, id))
            }
            @if cx.editable {
                template { (entry_fieldset(cx, &blank_at, entry, &blank_value, "__ID__")) }
                div.form-row {
                    input type="text" class="new-entry-id" placeholder=(cx.lang.pick("新条目的 id（英文或拼音）", "id of a new entry")) aria-label=(cx.lang.pick("新条目的 id", "id of a new entry"));
                    button type="button" class="add-entry" { (cx.lang.pick("添加条目", "Add entry")) }
                }
            }
        }
    }
}

fn entry_fieldset(cx: &FormCx<'_>, at: &At, entry: &Value, value: &Value, id: &str) -> Markup {
    html! {
        fieldset.group.entry data-entry=(at.json_key()) {
            legend { code { (id) } }
            (object_fields(cx, at, entry, value))
            @if cx.editable {
                button type="button" class="remove-entry danger" { (cx.lang.pick("删除此条", "Remove entry")) }
            }
        }
    }
}

/// A list of tables (the level ladder, streak bonuses): one row per item, add and remove.
fn rows(cx: &FormCx<'_>, at: &At, row: &Value, value: &Value, text: &str) -> Markup {
    let name = at.key.last().map_or("", String::as_str);
    let path = at.path();
    let items: Vec<&Value> = value.as_array().into_iter().flatten().collect();
    let blank = defaults(cx.root, row);
    html! {
        div.field.rows data-field=(path) {
            label { (label(cx, &at.pattern, name, text)) }
            div.row-list data-array=(at.json_key()) data-array-path=(path) {
                @for (i, item) in items.iter().enumerate() {
                    (row_item(cx, at, row, item, &format!("[{i}]")))
                }
            }
            @if cx.editable {
                template { (row_item(cx, at, row, &blank, "[]")) }
                button type="button" class="add-row" { (cx.lang.pick("添加一行", "Add row")) }
            }
        }
    }
}

fn row_item(cx: &FormCx<'_>, at: &At, row: &Value, item: &Value, index: &str) -> Markup {
    let mut row_at = at.child(index, "[]");
    row_at.sub = Some(Vec::new());
    html! {
        div.row-item data-orig=(item.to_string()) {
            (object_fields(cx, &row_at, row, item))
            @if cx.editable {
                button type="button" class="remove-row danger" { (cx.lang.pick("删除", "Remove")) }
            }
        }
    }
}

/// The defaults a type's schema states for its fields, as one object.
fn defaults(root: &Value, schema: &Value) -> Value {
    let fields = resolve(root, schema).get("properties").and_then(Value::as_object);
    Value::Object(
        fields
            .into_iter()
            .flatten()
            .filter_map(|(key, property)| property.get("default").map(|d| (key.clone(), d.clone())))
            .collect(),
    )
}
