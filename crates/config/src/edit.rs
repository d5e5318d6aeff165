//! Writing the configuration back for the dashboard: pure functions from the file's text to the
//! edited text, over `toml_edit`, so that everything the edit does not touch — comments, blank
//! lines, key order, keys this build does not know — comes back byte for byte. The file stays
//! the one source of the gateway's topology; the caller checks the result with
//! [`crate::compile_with`], writes it atomically and reloads.
//!
//! - Endpoints: [`add_endpoint`], [`update_endpoint`], [`remove_endpoint`],
//!   [`reorder_endpoints`] over the `[[endpoints]]` tables. A file without an `endpoints` key runs
//!   on the built-in pass-through endpoint; the first edit writes that endpoint out, so the
//!   running set is what the file says.
//! - Sections: [`set_values`] (`[audit]`, `[log_file]`, …) and [`set_prices`]
//!   (`[pricing.models."…"]`).
//! - Secrets never come here as values: the caller stores a typed key in the secret store and
//!   writes `secret:NAME`.

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

/// The text of a new configuration file: what the built-in default runs, written out.
pub const NEW_FILE: &str = "\
# Switchboard configuration (see docs/configuration.md), created by the dashboard in place of the
# built-in default: one endpoint passing every request through to Anthropic with the client's own
# credentials. Comments and keys added by hand are kept when the dashboard writes this file.

[[endpoints]]
name = \"anthropic\"
kind = \"anthropic\"
base_url = \"https://api.anthropic.com\"
";

/// A value to write under a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// Remove the key.
    Remove,
    Text(String),
    Integer(i64),
    Number(f64),
    Bool(bool),
    /// A table of strings (`models`, `headers`), in this order.
    Map(Vec<(String, String)>),
}

/// Why an edit could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("the configuration file is not valid TOML: {0}")]
    Syntax(String),
    #[error("no endpoint named {0:?} in the configuration file")]
    NoEndpoint(String),
    #[error("an endpoint named {0:?} is already configured")]
    Exists(String),
    /// The file is written in a shape the editor does not change (say which and how to fix).
    #[error("{0}")]
    Shape(String),
}

fn parse(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>()
        .map_err(|e| EditError::Syntax(e.message().trim_end().to_owned()))
}

/// The `[[endpoints]]` tables; a file without the key gets the built-in endpoint written out
/// first (that is what it runs).
fn endpoints_mut(doc: &mut DocumentMut) -> Result<&mut ArrayOfTables, EditError> {
    if !doc.contains_key("endpoints") {
        let mut default = Table::new();
        default.insert("name", toml_edit::value("anthropic"));
        default.insert("kind", toml_edit::value("anthropic"));
        default.insert("base_url", toml_edit::value("https://api.anthropic.com"));
        let mut array = ArrayOfTables::new();
        array.push(default);
        doc.insert("endpoints", Item::ArrayOfTables(array));
    }
    doc.get_mut("endpoints")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| {
            EditError::Shape(
                "`endpoints` is not written as [[endpoints]] tables; rewrite it that way to edit it from the dashboard"
                    .to_owned(),
            )
        })
}

fn name_of(t: &Table) -> Option<&str> {
    t.get("name").and_then(Item::as_str)
}

fn index_of(array: &ArrayOfTables, name: &str) -> Result<usize, EditError> {
    array
        .iter()
        .position(|t| name_of(t) == Some(name))
        .ok_or_else(|| EditError::NoEndpoint(name.to_owned()))
}

/// The names of the endpoints in the file, in order (the built-in one when it has none).
///
/// # Errors
/// The text is not TOML, or `endpoints` is not an array of tables.
pub fn endpoint_names(text: &str) -> Result<Vec<String>, EditError> {
    let mut doc = parse(text)?;
    let array = endpoints_mut(&mut doc)?;
    Ok(array
        .iter()
        .filter_map(|t| name_of(t).map(str::to_owned))
        .collect())
}

/// The string written under `key` in each endpoint (by name), as written: `secret:NAME`,
/// `${VAR}` or a literal. The caller shows only what is safe to show.
///
/// # Errors
/// As [`endpoint_names`].
pub fn endpoint_strings(text: &str, key: &str) -> Result<Vec<(String, Option<String>)>, EditError> {
    let mut doc = parse(text)?;
    let array = endpoints_mut(&mut doc)?;
    Ok(array
        .iter()
        .filter_map(|t| {
            let name = name_of(t)?.to_owned();
            Some((name, t.get(key).and_then(Item::as_str).map(str::to_owned)))
        })
        .collect())
}

/// Appends an endpoint (the lowest priority) with `fields`, which must include `name`.
///
/// # Errors
/// As [`endpoint_names`]; the name is missing or taken.
pub fn add_endpoint(text: &str, fields: &[(String, Field)]) -> Result<String, EditError> {
    let name = fields
        .iter()
        .find_map(|(k, v)| match (k.as_str(), v) {
            ("name", Field::Text(n)) => Some(n.clone()),
            _ => None,
        })
        .ok_or_else(|| EditError::Shape("an endpoint needs a `name`".to_owned()))?;
    let mut doc = parse(text)?;
    let array = endpoints_mut(&mut doc)?;
    if array.iter().any(|t| name_of(t) == Some(name.as_str())) {
        return Err(EditError::Exists(name));
    }
    let mut table = Table::new();
    // `name` first, then the rest in the order given.
    table.insert("name", toml_edit::value(name));
    for (key, field) in fields.iter().filter(|(k, _)| k != "name") {
        set_field(&mut table, key, field);
    }
    array.push(table);
    Ok(doc.to_string())
}

/// Sets (or removes, [`Field::Remove`]) `fields` of the endpoint `name`; the rest of its table
/// is left as written.
///
/// # Errors
/// As [`endpoint_names`]; no such endpoint; a new `name` that is taken.
pub fn update_endpoint(
    text: &str,
    name: &str,
    fields: &[(String, Field)],
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let array = endpoints_mut(&mut doc)?;
    let i = index_of(array, name)?;
    if let Some((_, Field::Text(new))) = fields.iter().find(|(k, _)| k == "name")
        && new != name
        && array.iter().any(|t| name_of(t) == Some(new.as_str()))
    {
        return Err(EditError::Exists(new.clone()));
    }
    let table = array
        .get_mut(i)
        .ok_or_else(|| EditError::NoEndpoint(name.to_owned()))?;
    for (key, field) in fields {
        set_field(table, key, field);
    }
    Ok(doc.to_string())
}

/// Removes the endpoint `name` and the comments written above it.
///
/// # Errors
/// As [`endpoint_names`]; no such endpoint; it is the last one (a gateway needs one).
pub fn remove_endpoint(text: &str, name: &str) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let array = endpoints_mut(&mut doc)?;
    let i = index_of(array, name)?;
    if array.len() == 1 {
        return Err(EditError::Shape(format!(
            "{name:?} is the only endpoint; add another before removing it"
        )));
    }
    array.remove(i);
    Ok(doc.to_string())
}

/// Puts the endpoints in `order` (every name once): the first is tried first. Each endpoint's
/// table moves with its sub-tables and the comments above it; tables between endpoints (and
/// everything else) stay where they are.
///
/// # Errors
/// As [`endpoint_names`]; `order` is not a permutation of the endpoints' names.
pub fn reorder_endpoints(text: &str, order: &[String]) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let array = endpoints_mut(&mut doc)?;
    let mut names: Vec<String> = array
        .iter()
        .map(|t| name_of(t).unwrap_or_default().to_owned())
        .collect();
    let mut wanted = order.to_vec();
    names.sort();
    wanted.sort();
    if names != wanted {
        return Err(EditError::Shape(format!(
            "the order must name every endpoint once: {}",
            names.join(", ")
        )));
    }
    // The document prints tables by position: the new order takes over the positions the
    // endpoints' tables held, in the old order.
    let mut positions: Vec<isize> = Vec::new();
    for t in array.iter() {
        block_positions(t, &mut positions);
    }
    positions.sort_unstable();
    let mut tables: Vec<Table> = Vec::new();
    while !array.is_empty() {
        tables.push(array.remove(0));
    }
    let mut slots = positions.into_iter();
    for name in order {
        if let Some(i) = tables
            .iter()
            .position(|t| name_of(t) == Some(name.as_str()))
        {
            let mut t = tables.swap_remove(i);
            set_block_positions(&mut t, &mut slots);
            array.push(t);
        }
    }
    Ok(doc.to_string())
}

/// The positions of `t` and the tables nested in it, in the order they are visited.
fn block_positions(t: &Table, out: &mut Vec<isize>) {
    if let Some(p) = t.position() {
        out.push(p);
    }
    for (_, item) in t.iter() {
        match item {
            Item::Table(sub) => block_positions(sub, out),
            Item::ArrayOfTables(a) => a.iter().for_each(|sub| block_positions(sub, out)),
            _ => {}
        }
    }
}

fn set_block_positions(t: &mut Table, slots: &mut impl Iterator<Item = isize>) {
    if t.position().is_some()
        && let Some(p) = slots.next()
    {
        t.set_position(p);
    }
    for (_, item) in t.iter_mut() {
        match item {
            Item::Table(sub) => set_block_positions(sub, slots),
            Item::ArrayOfTables(a) => a.iter_mut().for_each(|sub| set_block_positions(sub, slots)),
            _ => {}
        }
    }
}

/// Sets `fields` in the table at `path` (e.g. `["audit"]`), made if missing.
///
/// # Errors
/// The text is not TOML, or something on `path` is not a table.
pub fn set_values(
    text: &str,
    path: &[&str],
    fields: &[(String, Field)],
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let table = table_at(doc.as_table_mut(), path)?;
    for (key, field) in fields {
        set_field(table, key, field);
    }
    Ok(doc.to_string())
}

/// Makes `[pricing.models]` hold exactly `prices` (pattern → fields), in that order: a pattern
/// already there keeps its table (and comments) with the fields set, one not listed is removed,
/// a new one is added.
///
/// # Errors
/// As [`set_values`].
pub fn set_prices(
    text: &str,
    prices: &[(String, Vec<(String, Field)>)],
) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let models = table_at(doc.as_table_mut(), &["pricing", "models"])?;
    models.set_implicit(true);
    let keep: Vec<&str> = prices.iter().map(|(p, _)| p.as_str()).collect();
    models.retain(|k, _| keep.contains(&k));
    for (pattern, fields) in prices {
        let t = match models.get_mut(pattern) {
            Some(Item::Table(t)) => t,
            _ => {
                models.insert(pattern, Item::Table(Table::new()));
                models
                    .get_mut(pattern)
                    .and_then(Item::as_table_mut)
                    .ok_or_else(|| EditError::Shape(format!("pricing.models.{pattern:?}")))?
            }
        };
        for (key, field) in fields {
            set_field(t, key, field);
        }
    }
    if prices.is_empty()
        && let Some(pricing) = doc.get_mut("pricing").and_then(Item::as_table_mut)
    {
        pricing.remove("models");
        if pricing.is_empty() {
            doc.remove("pricing");
        }
    }
    Ok(doc.to_string())
}

/// The table at `path`, made (as a `[section]` table) where missing.
fn table_at<'a>(mut table: &'a mut Table, path: &[&str]) -> Result<&'a mut Table, EditError> {
    for (depth, key) in path.iter().enumerate() {
        if !table.contains_key(key) {
            let mut t = Table::new();
            // A parent made only to hold the last one prints no header of its own.
            t.set_implicit(depth + 1 < path.len());
            table.insert(key, Item::Table(t));
        }
        let item = table.get_mut(key).ok_or_else(|| {
            EditError::Shape(format!("`{}` is missing", path[..=depth].join(".")))
        })?;
        if let Item::Value(Value::InlineTable(_)) = item {
            let inline = std::mem::take(item);
            if let Item::Value(Value::InlineTable(t)) = inline {
                *item = Item::Table(t.into_table());
            }
        }
        table = item.as_table_mut().ok_or_else(|| {
            EditError::Shape(format!(
                "`{}` is not a table; rewrite it as one to edit it from the dashboard",
                path[..=depth].join(".")
            ))
        })?;
    }
    Ok(table)
}

/// Sets one key of `table`, keeping the comment after an existing value.
fn set_field(table: &mut Table, key: &str, field: &Field) {
    let value = match field {
        Field::Remove => {
            table.remove(key);
            return;
        }
        Field::Text(s) => Value::from(s.as_str()),
        Field::Integer(n) => Value::from(*n),
        Field::Number(x) => Value::from(*x),
        Field::Bool(b) => Value::from(*b),
        Field::Map(pairs) => {
            set_map(table, key, pairs);
            return;
        }
    };
    match table.get_mut(key) {
        Some(Item::Value(old)) => {
            let decor = old.decor().clone();
            let mut value = value;
            *value.decor_mut() = decor;
            *old = value;
        }
        _ => {
            table.insert(key, toml_edit::value(value));
        }
    }
}

/// A table of strings under `key`: written as it was (a `[x.key]` table or an inline table)
/// with exactly `pairs`; a new one as a sub-table.
fn set_map(table: &mut Table, key: &str, pairs: &[(String, String)]) {
    match table.get_mut(key) {
        Some(Item::Value(Value::InlineTable(t))) => {
            t.retain(|k, _| pairs.iter().any(|(p, _)| p == k));
            for (k, v) in pairs {
                match t.get_mut(k) {
                    Some(old) => {
                        let decor = old.decor().clone();
                        *old = Value::from(v.as_str());
                        *old.decor_mut() = decor;
                    }
                    None => {
                        t.insert(k, Value::from(v.as_str()));
                    }
                }
            }
        }
        Some(Item::Table(t)) => {
            t.retain(|k, _| pairs.iter().any(|(p, _)| p == k));
            for (k, v) in pairs {
                match t.get_mut(k) {
                    Some(Item::Value(old)) => {
                        let decor = old.decor().clone();
                        *old = Value::from(v.as_str());
                        *old.decor_mut() = decor;
                    }
                    _ => {
                        t.insert(k, toml_edit::value(v.as_str()));
                    }
                }
            }
        }
        _ => {
            if pairs.is_empty() {
                table.remove(key);
                return;
            }
            let mut t = Table::new();
            // Right under its endpoint's keys, as people write it.
            t.decor_mut().set_prefix("");
            for (k, v) in pairs {
                t.insert(k, toml_edit::value(v.as_str()));
            }
            table.insert(key, Item::Table(t));
        }
    }
}

#[cfg(test)]
mod tests;
