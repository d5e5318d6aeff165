//! JSON Schema (as Claude Code sends it, draft 2020-12) → Gemini's `parameters` schema, an
//! OpenAPI 3.0 subset.
//!
//! The cleaner works on an allow-list: only the fields Gemini's `Schema` documents survive
//! (<https://ai.google.dev/api/caching#Schema>). Everything else — `$schema`, `$id`,
//! `additionalProperties`, `propertyNames`, `patternProperties`, `exclusiveMinimum`, `examples`,
//! `default`, `not`, `if`/`then`/`else`, … — is dropped; each has caused 400s behind Claude Code
//! (1rgs/claude-code-proxy#88, theopenco/llmgateway#1763, automazeio/vibeproxy#338,
//! MadAppGang/claudish#234, kaitranntt/ccs#155). Constructs with a meaning are rewritten:
//! `$ref` is inlined from `$defs`/`definitions`, `allOf` is merged, `oneOf` becomes `anyOf`
//! (Gemini supports `anyOf`), a `null` member becomes `nullable`, `const` becomes a one-value
//! `enum`, `prefixItems` gives `items`. Types are upper-cased (`OBJECT`, `STRING`, …).
//!
//! Gemini also rejects an `OBJECT` with an empty `properties` map and an `ARRAY` without `items`,
//! so those are fixed up.

use serde_json::{Map, Value, json};

/// Most `$ref`s expanded along one path (each distinct reference is expanded once per path).
const MAX_DEPTH: usize = 32;

const TYPES: [&str; 7] = [
    "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL",
];

/// A tool's `input_schema` as Gemini `parameters`; `None` when the function takes no parameters
/// (Gemini rejects an object schema whose `properties` is empty).
pub(crate) fn clean_parameters(schema: &Value) -> Option<Value> {
    let cleaned = clean(schema, schema, &mut Vec::new());
    let is_object = matches!(
        cleaned.get("type").and_then(Value::as_str),
        None | Some("OBJECT")
    );
    if is_object && cleaned.get("properties").is_none() && cleaned.get("anyOf").is_none() {
        return None;
    }
    Some(cleaned)
}

/// A JSON Schema for `responseJsonSchema`, which accepts JSON Schema proper: only the meta
/// keywords are removed.
pub(crate) fn clean_response_schema(schema: &Value) -> Value {
    let mut s = schema.clone();
    if let Some(o) = s.as_object_mut() {
        o.remove("$schema");
        o.remove("$id");
    }
    s
}

fn resolve_ref<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    root.pointer(pointer)
}

/// Follows `$ref` (keeping sibling keywords over the target's) and merges `allOf`, producing one
/// schema object without either. A `$ref` already being expanded further up (`stack`) is not
/// followed again, so recursive schemas end; the references followed here are added to `stack`.
fn flatten(obj: &Map<String, Value>, root: &Value, stack: &mut Vec<String>) -> Map<String, Value> {
    let mut base = obj.clone();
    if let Some(Value::String(reference)) = base.remove("$ref")
        && !stack.contains(&reference)
        && let Some(Value::Object(target)) = resolve_ref(root, &reference)
    {
        stack.push(reference);
        let mut merged = flatten(target, root, stack);
        for (k, v) in base {
            merged.insert(k, v);
        }
        base = merged;
    }
    if let Some(Value::Array(subs)) = base.remove("allOf") {
        for sub in subs {
            if let Value::Object(sub) = sub {
                let sub = flatten(&sub, root, stack);
                merge_into(&mut base, sub);
            }
        }
    }
    base.remove("$ref");
    base.remove("allOf");
    base
}

/// `allOf` merge: properties and required are unions, other keywords keep the first value.
fn merge_into(base: &mut Map<String, Value>, sub: Map<String, Value>) {
    for (k, v) in sub {
        match (k.as_str(), base.get_mut(&k), v) {
            ("properties", Some(Value::Object(props)), Value::Object(more)) => {
                for (pk, pv) in more {
                    props.entry(pk).or_insert(pv);
                }
            }
            ("required", Some(Value::Array(req)), Value::Array(more)) => {
                for r in more {
                    if !req.contains(&r) {
                        req.push(r);
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn clean(schema: &Value, root: &Value, stack: &mut Vec<String>) -> Value {
    let Some(obj) = schema.as_object() else {
        // `true` / `{}`-like schemas: anything goes; Gemini needs some type.
        return json!({"type": "STRING"});
    };
    if stack.len() > MAX_DEPTH {
        return json!({"type": "OBJECT"});
    }
    let mark = stack.len();
    let obj = flatten(obj, root, stack);
    let out = clean_flat(&obj, root, stack);
    stack.truncate(mark);
    out
}

fn clean_flat(obj: &Map<String, Value>, root: &Value, stack: &mut Vec<String>) -> Value {
    let mut out = Map::new();
    let mut nullable = obj
        .get("nullable")
        .and_then(Value::as_bool)
        .unwrap_or(false);

    // type: a string, or a list with "null" (→ nullable) and the first other type.
    let mut ty = match obj.get("type") {
        Some(Value::String(t)) => Some(t.to_ascii_uppercase()),
        Some(Value::Array(ts)) => {
            let names: Vec<String> = ts
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_uppercase)
                .collect();
            nullable |= names.iter().any(|t| t == "NULL");
            names.into_iter().find(|t| t != "NULL")
        }
        _ => None,
    };
    if ty.as_deref().is_some_and(|t| !TYPES.contains(&t)) {
        ty = None;
    }

    for key in ["description", "title"] {
        if let Some(Value::String(s)) = obj.get(key) {
            out.insert(key.to_owned(), Value::String(s.clone()));
        }
    }
    if let Some(Value::String(p)) = obj.get("pattern") {
        out.insert("pattern".to_owned(), Value::String(p.clone()));
    }
    if let Some(example) = obj.get("example") {
        out.insert("example".to_owned(), example.clone());
    }
    for key in [
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "minProperties",
        "maxProperties",
    ] {
        if let Some(n) = obj.get(key).and_then(Value::as_u64) {
            out.insert(key.to_owned(), json!(n));
        }
    }
    for key in ["minimum", "maximum"] {
        if let Some(n @ Value::Number(_)) = obj.get(key) {
            out.insert(key.to_owned(), n.clone());
        }
    }
    if let Some(Value::Array(order)) = obj.get("propertyOrdering")
        && order.iter().all(Value::is_string)
    {
        out.insert("propertyOrdering".to_owned(), Value::Array(order.clone()));
    }

    // enum / const: Gemini takes string enums only.
    let enum_values = match (obj.get("enum"), obj.get("const")) {
        (Some(Value::Array(vals)), _) => Some(vals.clone()),
        (None, Some(c)) => Some(vec![c.clone()]),
        _ => None,
    };
    if let Some(vals) = enum_values {
        nullable |= vals.iter().any(Value::is_null);
        let strings: Vec<Value> = vals.into_iter().filter(|v| v.is_string()).collect();
        if !strings.is_empty() && matches!(ty.as_deref(), None | Some("STRING")) {
            out.insert("enum".to_owned(), Value::Array(strings));
            ty = Some("STRING".to_owned());
        }
    }

    // properties / required
    if let Some(Value::Object(props)) = obj.get("properties") {
        let cleaned: Map<String, Value> = props
            .iter()
            .map(|(k, v)| (k.clone(), clean(v, root, stack)))
            .collect();
        if !cleaned.is_empty() {
            if let Some(Value::Array(req)) = obj.get("required") {
                let mut kept: Vec<Value> = Vec::new();
                for r in req {
                    if r.as_str().is_some_and(|r| cleaned.contains_key(r)) && !kept.contains(r) {
                        kept.push(r.clone());
                    }
                }
                if !kept.is_empty() {
                    out.insert("required".to_owned(), Value::Array(kept));
                }
            }
            out.insert("properties".to_owned(), Value::Object(cleaned));
            ty.get_or_insert_with(|| "OBJECT".to_owned());
        }
    }

    // items (tuple forms take their first member)
    let items = match (obj.get("items"), obj.get("prefixItems")) {
        (Some(Value::Object(_)), _) => obj.get("items"),
        (Some(Value::Array(list)), _) | (_, Some(Value::Array(list))) => list.first(),
        _ => None,
    };
    if let Some(items) = items {
        out.insert("items".to_owned(), clean(items, root, stack));
        ty.get_or_insert_with(|| "ARRAY".to_owned());
    } else if ty.as_deref() == Some("ARRAY") {
        out.insert("items".to_owned(), json!({"type": "STRING"}));
    }

    // anyOf / oneOf: null members → nullable; one member left → inlined.
    let variants = match (obj.get("anyOf"), obj.get("oneOf")) {
        (Some(Value::Array(v)), _) | (None, Some(Value::Array(v))) => Some(v),
        _ => None,
    };
    if let Some(variants) = variants {
        let mut kept = Vec::new();
        for v in variants {
            let c = clean(v, root, stack);
            if c.get("type").and_then(Value::as_str) == Some("NULL")
                && c.as_object().is_some_and(|o| o.len() == 1)
            {
                nullable = true;
            } else {
                kept.push(c);
            }
        }
        match kept.len() {
            0 => {}
            1 => {
                if let Some(Value::Object(only)) = kept.pop() {
                    for (k, v) in only {
                        if k == "type" {
                            if ty.is_none() {
                                ty = v.as_str().map(str::to_owned);
                            }
                        } else {
                            out.entry(k).or_insert(v);
                        }
                    }
                }
            }
            _ => {
                out.insert("anyOf".to_owned(), Value::Array(kept));
                ty = None;
            }
        }
    }

    // format: only what Gemini accepts for the type.
    if let (Some(Value::String(f)), Some(t)) = (obj.get("format"), ty.as_deref()) {
        let ok = match t {
            "STRING" => matches!(f.as_str(), "enum" | "date-time"),
            "NUMBER" => matches!(f.as_str(), "float" | "double"),
            "INTEGER" => matches!(f.as_str(), "int32" | "int64"),
            _ => false,
        };
        if ok {
            out.insert("format".to_owned(), Value::String(f.clone()));
        }
    }

    if let Some(t) = ty {
        out.insert("type".to_owned(), Value::String(t));
    } else if !out.contains_key("anyOf") {
        // No type anywhere: an unconstrained value. STRING is the most permissive Gemini type
        // that needs nothing else.
        out.insert("type".to_owned(), Value::String("STRING".to_owned()));
    }
    if nullable {
        out.insert("nullable".to_owned(), Value::Bool(true));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_code_style_schema_is_reduced_to_the_gemini_subset() {
        let s = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 5, "maximum": 600},
                "mode": {"const": "fast"},
                "tags": {"type": "array", "items": {"type": "string", "format": "uri"}},
                "meta": {"type": "object", "additionalProperties": {}, "propertyNames": {"pattern": "^a"}},
                "when": {"type": ["string", "null"], "format": "date-time"},
                "default": {"type": "string"}
            },
            "required": ["timeout", "missing"],
            "additionalProperties": false
        });
        assert_eq!(
            clean_parameters(&s).expect("params"),
            json!({
                "type": "OBJECT",
                "properties": {
                    "timeout": {"type": "NUMBER", "maximum": 600},
                    "mode": {"type": "STRING", "enum": ["fast"]},
                    "tags": {"type": "ARRAY", "items": {"type": "STRING"}},
                    "meta": {"type": "OBJECT"},
                    "when": {"type": "STRING", "format": "date-time", "nullable": true},
                    "default": {"type": "STRING"}
                },
                "required": ["timeout"]
            })
        );
    }

    #[test]
    fn refs_are_inlined_and_all_of_merged() {
        let s = json!({
            "type": "object",
            "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}},
            "properties": {
                "p": {"$ref": "#/$defs/Point", "description": "a point"},
                "q": {"allOf": [{"$ref": "#/$defs/Point"}, {"properties": {"y": {"type": "integer"}}, "required": ["y"]}]},
                "r": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "s": {"anyOf": [{"type": "string"}, {"type": "null"}]}
            }
        });
        let c = clean_parameters(&s).expect("params");
        assert_eq!(
            c["properties"]["p"],
            json!({"type": "OBJECT", "description": "a point", "properties": {"x": {"type": "INTEGER"}}, "required": ["x"]})
        );
        assert_eq!(c["properties"]["q"]["required"], json!(["x", "y"]));
        assert_eq!(
            c["properties"]["r"],
            json!({"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]})
        );
        assert_eq!(
            c["properties"]["s"],
            json!({"type": "STRING", "nullable": true})
        );
    }

    #[test]
    fn recursive_refs_terminate_and_empty_objects_have_no_parameters() {
        let s = json!({"$defs": {"n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}}}, "$ref": "#/$defs/n"});
        assert!(clean_parameters(&s).is_some());
        assert_eq!(
            clean_parameters(&json!({"type": "object", "properties": {}})),
            None
        );
    }
}
