//! Operator-written message templates: literal text with `{placeholder}`s, `{{`/`}}` for
//! literal braces. Shared by every rule that sends a message.

use qunzhu_core::Segment;

#[derive(Debug, PartialEq, Eq)]
pub enum Part<'a> {
    Literal(String),
    Placeholder(&'a str),
}

/// Splits a template into literal text and placeholders.
///
/// # Errors
/// An unclosed or lone brace, or a placeholder not in `allowed`, in words for the operator.
pub fn parse<'a>(text: &'a str, allowed: &[&str]) -> Result<Vec<Part<'a>>, String> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        literal.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            literal.push_str(&tail[..1]);
            rest = &tail[2..];
        } else if tail.starts_with('}') {
            return Err("a lone `}`; write `}}` for a literal brace".into());
        } else {
            let Some(end) = tail.find('}') else {
                return Err("a `{` is never closed; write `{{` for a literal brace".into());
            };
            let name = &tail[1..end];
            if !allowed.contains(&name) {
                let allowed: Vec<String> = allowed.iter().map(|p| format!("{{{p}}}")).collect();
                return Err(format!("unknown placeholder `{{{name}}}`; allowed: {}", allowed.join(", ")));
            }
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(Part::Placeholder(name));
            rest = &tail[end + 1..];
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok(parts)
}

/// Validates a template.
///
/// # Errors
/// See [`parse`].
pub fn check(text: &str, allowed: &[&str]) -> Result<(), String> {
    parse(text, allowed).map(|_| ())
}

/// Renders a template into message segments; `fill` turns each placeholder into segments
/// (text, or a real mention).
pub fn render(text: &str, allowed: &[&str], mut fill: impl FnMut(&str) -> Vec<Segment>) -> Vec<Segment> {
    let Ok(parts) = parse(text, allowed) else {
        // Validation keeps bad templates out of the rulebook; render verbatim if one slips by.
        return vec![Segment::text(text)];
    };
    let mut segments: Vec<Segment> = Vec::new();
    let mut push = |segment: Segment| match (segments.last_mut(), segment) {
        (Some(Segment::Text { text }), Segment::Text { text: more }) => text.push_str(&more),
        (_, Segment::Text { text }) if text.is_empty() => {}
        (_, segment) => segments.push(segment),
    };
    for part in parts {
        match part {
            Part::Literal(s) => push(Segment::Text { text: s }),
            Part::Placeholder(name) => fill(name).into_iter().for_each(&mut push),
        }
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_adjacent_text_merges() {
        let segments = render("a {x} b {{c}}", &["x"], |_| vec![Segment::text("X")]);
        assert_eq!(segments, vec![Segment::text("a X b {c}")]);
    }

    #[test]
    fn unknown_placeholders_and_lone_braces_are_refused() {
        assert!(check("{y}", &["x"]).unwrap_err().contains("unknown placeholder `{y}`; allowed: {x}"));
        assert!(check("{x", &["x"]).is_err());
        assert!(check("x}", &["x"]).is_err());
    }
}
