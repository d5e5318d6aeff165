//! Edits to a JSON text that change only the bytes they must: a value replaced in place, a
//! member inserted after the last one in the style of its neighbours, a member removed with its
//! separator. Everything else — other keys, their order, indentation, spacing, line endings, a
//! trailing newline or its absence — is left as it was.
//!
//! Insertion and removal are exact inverses: [`insert`] puts `separator + member` after the last
//! member, and [`remove`] of a member that is not the first takes away the text from the end of
//! the previous value to the end of its own, i.e. exactly that. A member inserted into an empty
//! object replaces the object's inside (its whitespace), which [`insert`] returns so a later
//! [`remove`] of the last member can put it back.

use serde_json::Value;

use super::parse::{Doc, Kind, Member, Node, parse};
use super::render::{Style, render};

/// Why an edit could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EditError {
    #[error("`{path}` is not an object")]
    NotAnObject { path: String },
    #[error("`{path}` does not exist")]
    Missing { path: String },
    #[error("the text is not valid JSON: {0}")]
    Syntax(String),
}

/// A dotted rendering of a path for messages (`env.ANTHROPIC_BASE_URL`).
pub(crate) fn dotted(path: &[&str]) -> String {
    path.join(".")
}

fn reparse(text: &str) -> Result<Doc, EditError> {
    parse(text).map_err(|e| EditError::Syntax(format!("{}:{}: {}", e.line, e.column, e.message)))
}

fn splice(text: &str, range: std::ops::Range<usize>, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(&text[..range.start]);
    out.push_str(with);
    out.push_str(&text[range.end..]);
    out
}

/// The object at `path`, or why there is none.
fn object_at<'d>(doc: &'d Doc, path: &[&str]) -> Result<&'d Node, EditError> {
    let mut node = &doc.root;
    for (i, key) in path.iter().enumerate() {
        if node.members().is_none() {
            return Err(EditError::NotAnObject {
                path: dotted(&path[..i]),
            });
        }
        node = match node.get(key) {
            Some((_, m)) => &m.value,
            None => {
                return Err(EditError::Missing {
                    path: dotted(&path[..=i]),
                });
            }
        };
    }
    if node.members().is_none() {
        return Err(EditError::NotAnObject { path: dotted(path) });
    }
    Ok(node)
}

/// The raw text of the value at `path`, if it exists.
pub(crate) fn raw_at<'t>(text: &'t str, path: &[&str]) -> Result<Option<&'t str>, EditError> {
    let doc = reparse(text)?;
    Ok(doc.find(path).map(|n| &text[n.span.clone()]))
}

/// The value at `path`, parsed, if it exists.
pub(crate) fn value_at(text: &str, path: &[&str]) -> Result<Option<Value>, EditError> {
    match raw_at(text, path)? {
        Some(raw) => serde_json::from_str(raw)
            .map(Some)
            .map_err(|e| EditError::Syntax(e.to_string())),
        None => Ok(None),
    }
}

/// What [`set`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SetOutcome {
    /// The key existed; its value was replaced (the old raw text is returned).
    Replaced { before: String },
    /// The key was inserted into an existing object. `emptied` is the object's inside before,
    /// when it had no members (its whitespace, to restore when the member is removed again).
    Inserted { emptied: Option<String> },
    /// Parent objects were created too: `created` is the path of the outermost new member.
    Created {
        created: Vec<String>,
        emptied: Option<String>,
    },
}

/// Sets the value at `path` (creating missing parent objects) to `json` (valid JSON text; its
/// members keep their order), laid out in the style of its surroundings.
pub(crate) fn set(
    text: &str,
    path: &[&str],
    json: &str,
) -> Result<(String, SetOutcome), EditError> {
    let doc = reparse(text)?;
    let style = Style::detect(text, &doc);
    // The deepest existing object on the path.
    let mut node = &doc.root;
    let mut depth = 0;
    while depth < path.len() {
        if node.members().is_none() {
            return Err(EditError::NotAnObject {
                path: dotted(&path[..depth]),
            });
        }
        match node.get(path[depth]) {
            Some((_, m)) if depth + 1 == path.len() => {
                let before = text[m.value.span.clone()].to_owned();
                let indent = style.member_indent(text, m);
                let new = render(json, &style, &indent);
                let out = splice(text, m.value.span.clone(), &new);
                return Ok((out, SetOutcome::Replaced { before }));
            }
            Some((_, m)) => {
                node = &m.value;
                depth += 1;
            }
            None => break,
        }
    }
    if node.members().is_none() {
        return Err(EditError::NotAnObject {
            path: dotted(&path[..depth]),
        });
    }
    // Wrap the value in the objects still missing.
    let mut nested = json.to_owned();
    for key in path[depth + 1..].iter().rev() {
        nested = format!("{{{}:{nested}}}", Value::String((*key).to_owned()));
    }
    let (out, emptied) = insert_member(text, &style, node, path[depth], &nested, false);
    let outcome = if depth + 1 == path.len() {
        SetOutcome::Inserted { emptied }
    } else {
        SetOutcome::Created {
            created: path[..=depth].iter().map(|s| (*s).to_owned()).collect(),
            emptied,
        }
    };
    Ok((out, outcome))
}

/// Replaces the value at `path` with `raw` (already JSON text) as it is.
pub(crate) fn replace_raw(text: &str, path: &[&str], raw: &str) -> Result<String, EditError> {
    let doc = reparse(text)?;
    let node = doc
        .find(path)
        .ok_or_else(|| EditError::Missing { path: dotted(path) })?;
    Ok(splice(text, node.span.clone(), raw))
}

/// Appends member `key` with `raw` (JSON text, kept as it is) to the object at `parent`, in
/// the style of its neighbours. Returns the new text and the object's old inside when it was
/// empty.
pub(crate) fn insert_raw(
    text: &str,
    parent: &[&str],
    key: &str,
    raw: &str,
) -> Result<(String, Option<String>), EditError> {
    let doc = reparse(text)?;
    let style = Style::detect(text, &doc);
    let node = object_at(&doc, parent)?;
    parse(raw).map_err(|e| EditError::Syntax(e.message))?;
    Ok(insert_member(text, &style, node, key, raw, true))
}

/// A member taken out by [`remove`], with what is needed to put it back byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Removed {
    /// The value's raw text.
    pub(crate) raw: String,
    /// Its position among the object's members.
    pub(crate) index: usize,
    /// The exact text cut out: `sep + member` (index > 0), `member + sep` (index 0 of several),
    /// or the object's whole inside (the only member).
    pub(crate) cut: String,
}

/// Puts a removed member back into the object at `parent`: the cut text at its old place when
/// the object still fits around it (then the result is byte for byte what it was), else appended
/// in the style of its neighbours. Never produces invalid JSON.
pub(crate) fn reinsert(
    text: &str,
    parent: &[&str],
    key: &str,
    removed: &Removed,
) -> Result<String, EditError> {
    let doc = reparse(text)?;
    let node = object_at(&doc, parent)?;
    let members = node.members().unwrap_or(&[]);
    let exact = match (removed.index, members.len()) {
        (_, 0) => Some(splice(
            text,
            node.span.start + 1..node.span.end - 1,
            &removed.cut,
        )),
        (0, _) => {
            let at = members[0].key_span.start;
            Some(splice(text, at..at, &removed.cut))
        }
        (i, n) if i <= n => {
            let at = members[i - 1].value.span.end;
            Some(splice(text, at..at, &removed.cut))
        }
        _ => None,
    };
    if let Some(out) = exact {
        let fits = parse(&out).ok().is_some_and(|d| {
            let mut path: Vec<&str> = parent.to_vec();
            path.push(key);
            d.find(&path)
                .is_some_and(|n| out[n.span.clone()] == removed.raw)
        });
        if fits {
            return Ok(out);
        }
    }
    insert_raw(text, parent, key, &removed.raw).map(|(out, _)| out)
}

/// Appends `key: json` to object `node`, `json` laid out in the style (or kept `as_is`). Returns
/// the new text and, when the object was empty, its old inside.
fn insert_member(
    text: &str,
    style: &Style,
    node: &Node,
    key: &str,
    json: &str,
    as_is: bool,
) -> (String, Option<String>) {
    let lay_out = |indent: &str| {
        if as_is {
            json.to_owned()
        } else {
            render(json, style, indent)
        }
    };
    let key_json = Value::String(key.to_owned()).to_string();
    let members = node.members().unwrap_or(&[]);
    if let Some(last) = members.last() {
        let colon = &text[last.key_span.end..last.value.span.start];
        let sep = if members.len() >= 2 {
            text[members[members.len() - 2].value.span.end..last.key_span.start].to_owned()
        } else {
            // One member: the whitespace before it says how members are laid out, except in
            // `{"a": 1}`, where the colon's spacing is the best guess (`{"a":1}` stays compact).
            let before = &text[node.span.start + 1..last.key_span.start];
            if before.is_empty() && colon.ends_with(' ') {
                ", ".to_owned()
            } else {
                format!(",{before}")
            }
        };
        let indent = style.member_indent(text, last);
        let rendered = lay_out(&indent);
        let at = last.value.span.end;
        (
            splice(text, at..at, &format!("{sep}{key_json}{colon}{rendered}")),
            None,
        )
    } else {
        let inside = node.span.start + 1..node.span.end - 1;
        let old = text[inside.clone()].to_owned();
        let outer = style.line_indent(text, node.span.start);
        let new = if style.inline {
            let rendered = lay_out("");
            format!("{key_json}{}{rendered}", style.colon)
        } else {
            let inner = format!("{outer}{}", style.unit);
            let rendered = lay_out(&inner);
            format!(
                "{nl}{inner}{key_json}{colon}{rendered}{nl}{outer}",
                nl = style.newline,
                colon = style.colon
            )
        };
        (splice(text, inside, &new), Some(old))
    }
}

/// Removes the member at `path`. `emptied` is what the parent object's inside becomes when this
/// was its only member (its old whitespace, from [`SetOutcome`]; `""` otherwise). Returns the new
/// text and what was removed, or `None` when there was no such member.
pub(crate) fn remove(
    text: &str,
    path: &[&str],
    emptied: Option<&str>,
) -> Result<Option<(String, Removed)>, EditError> {
    let Some((key, parent)) = path.split_last() else {
        return Err(EditError::Missing {
            path: String::new(),
        });
    };
    let doc = reparse(text)?;
    let node = match object_at(&doc, parent) {
        Ok(node) => node,
        Err(EditError::Missing { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some((i, member)) = node.get(key) else {
        return Ok(None);
    };
    let members = node.members().unwrap_or(&[]);
    let raw = text[member.value.span.clone()].to_owned();
    let (range, with) = cut_range(node, members, i, emptied);
    let removed = Removed {
        raw,
        index: i,
        cut: text[range.clone()].to_owned(),
    };
    Ok(Some((splice(text, range, with), removed)))
}

/// The text to cut to remove member `i`, and what replaces it.
fn cut_range<'e>(
    node: &Node,
    members: &[Member],
    i: usize,
    emptied: Option<&'e str>,
) -> (std::ops::Range<usize>, &'e str) {
    if members.len() == 1 {
        (
            node.span.start + 1..node.span.end - 1,
            emptied.unwrap_or(""),
        )
    } else if i > 0 {
        (members[i - 1].value.span.end..members[i].value.span.end, "")
    } else {
        (members[0].key_span.start..members[1].key_span.start, "")
    }
}

/// Whether the object at `path` exists and has no members.
pub(crate) fn is_empty_object(text: &str, path: &[&str]) -> Result<bool, EditError> {
    let doc = reparse(text)?;
    Ok(matches!(doc.find(path), Some(Node { kind: Kind::Object(m), .. }) if m.is_empty()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn set_ok(text: &str, path: &[&str], v: Value) -> (String, SetOutcome) {
        set(text, path, &v.to_string()).expect("set")
    }

    #[test]
    fn inserts_in_the_style_of_the_neighbours_and_removes_exactly() {
        for text in [
            "{\n  \"a\": 1\n}\n",
            "{\r\n\t\"a\" :  1\r\n}",
            "{\"a\":1}",
            "{ \"a\": 1, \"b\": [1,2] }",
            "{}",
            "{ }",
            "{\n}\n",
            "{\n  \"env\": {}\n}",
            "{\n  \"env\": {\n    \"X\": \"1\"\n  },\n  \"z\": true\n}",
        ] {
            let (with, outcome) = set_ok(text, &["env", "K"], json!("v"));
            let emptied = match &outcome {
                SetOutcome::Inserted { emptied } => emptied.clone(),
                SetOutcome::Created { .. } | SetOutcome::Replaced { .. } => None,
            };
            assert_eq!(
                value_at(&with, &["env", "K"]).expect("parse"),
                Some(json!("v"))
            );
            let back = match outcome {
                SetOutcome::Created { created, emptied } => {
                    let p: Vec<&str> = created.iter().map(String::as_str).collect();
                    remove(&with, &p, emptied.as_deref())
                        .expect("remove")
                        .expect("there")
                        .0
                }
                _ => {
                    remove(&with, &["env", "K"], emptied.as_deref())
                        .expect("remove")
                        .expect("there")
                        .0
                }
            };
            assert_eq!(back, text, "via {with:?}");
        }
    }

    #[test]
    fn renders_new_objects_like_json_stringify_with_two_spaces() {
        let (out, _) = set_ok("{\n  \"a\": 1\n}", &["env", "K"], json!("v"));
        assert_eq!(
            out,
            "{\n  \"a\": 1,\n  \"env\": {\n    \"K\": \"v\"\n  }\n}"
        );
        let (out, _) = set_ok("{}", &["env", "K"], json!("v"));
        assert_eq!(out, "{\n  \"env\": {\n    \"K\": \"v\"\n  }\n}");
        let (out, _) = set_ok("{\"a\":1}", &["env", "K"], json!("v"));
        assert_eq!(out, "{\"a\":1,\"env\":{\"K\":\"v\"}}");
    }

    #[test]
    fn replaces_a_value_in_place() {
        let text = "{\"env\": {\"K\" : \"old\"  , \"L\": 2}}";
        let (out, outcome) = set_ok(text, &["env", "K"], json!("new"));
        assert_eq!(out, "{\"env\": {\"K\" : \"new\"  , \"L\": 2}}");
        assert_eq!(
            outcome,
            SetOutcome::Replaced {
                before: "\"old\"".to_owned()
            }
        );
    }

    #[test]
    fn refuses_to_descend_into_a_non_object() {
        let e = set("{\"env\": \"x\"}", &["env", "K"], "1").expect_err("not an object");
        assert_eq!(
            e,
            EditError::NotAnObject {
                path: "env".to_owned()
            }
        );
    }

    #[test]
    fn removes_the_first_of_several_members() {
        let text = "{\n  \"a\": 1,\n  \"b\": 2\n}";
        let (out, removed) = remove(text, &["a"], None).expect("remove").expect("there");
        assert_eq!(out, "{\n  \"b\": 2\n}");
        assert_eq!((removed.raw.as_str(), removed.index), ("1", 0));
        assert_eq!(reinsert(&out, &[], "a", &removed).expect("reinsert"), text);
    }

    #[test]
    fn inserts_at_an_index_as_the_inverse_of_remove() {
        let text = "{ \"a\": 1,  \"b\": {\"x\": 1},\n \"c\": 3 }";
        for key in ["a", "b", "c"] {
            let (out, removed) = remove(text, &[key], None).expect("remove").expect("there");
            let back = reinsert(&out, &[], key, &removed).expect("reinsert");
            assert_eq!(back, text, "{key}");
        }
        // The only member: the object's inside comes back.
        let text = "{\"s\": {\n    \"only\": {\"command\": \"x\"}\n  }}";
        let (out, removed) = remove(text, &["s", "only"], None)
            .expect("remove")
            .expect("there");
        assert_eq!(out, "{\"s\": {}}");
        assert_eq!(
            reinsert(&out, &["s"], "only", &removed).expect("reinsert"),
            text
        );
    }

    #[test]
    fn reinsert_falls_back_to_appending_when_the_old_place_is_gone() {
        let text = "{\"a\": 1, \"b\": 2, \"c\": 3}";
        let (out, removed) = remove(text, &["c"], None).expect("remove").expect("there");
        let (out, _) = remove(&out, &["b"], None).expect("remove").expect("there");
        let back = reinsert(&out, &[], "c", &removed).expect("reinsert");
        assert_eq!(back, "{\"a\": 1, \"c\": 3}");
    }
}
