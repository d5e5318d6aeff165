//! `SKILL.md`: its YAML front matter parsed and checked against the published rules — the
//! Agent Skills specification (`name`, `description`, `license`, `compatibility`, `metadata`,
//! `allowed-tools`) and the keys Claude Code adds (`when_to_use`, `model`, `effort`, …).
//!
//! Errors are what makes a skill unusable or breaks the specification; warnings are what
//! Claude Code tolerates but a user should hear about (an unknown key, a description that will
//! be truncated in the listing, a name claude.ai would refuse).

use std::collections::BTreeMap;

use serde::Serialize;
use yaml_rust2::{Yaml, YamlLoader};

/// The longest name (characters).
pub const MAX_NAME: usize = 64;
/// The longest description (characters).
pub const MAX_DESCRIPTION: usize = 1024;
/// The longest `compatibility` (characters).
pub const MAX_COMPATIBILITY: usize = 500;
/// Claude Code truncates `description` + `when_to_use` in the skill listing past this.
pub const LISTING_CHARS: usize = 1536;

/// A folder name Claude Code keeps for claude.ai's synced skills.
pub const RESERVED_FOLDER: &str = "synced";

/// A valid skill's front matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillMeta {
    pub name: String,
    pub description: String,
    pub license: Option<String>,
    pub compatibility: Option<String>,
    /// `allowed-tools`, split on spaces when given as one string.
    pub allowed_tools: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    /// Every key of the front matter, in order.
    pub keys: Vec<String>,
    pub warnings: Vec<String>,
}

/// The keys of the Agent Skills specification.
const SPEC_KEYS: &[&str] = &[
    "name",
    "description",
    "license",
    "compatibility",
    "metadata",
    "allowed-tools",
];

/// The keys Claude Code adds (docs:skills), with how their values are checked.
const CLAUDE_KEYS: &[(&str, Kind)] = &[
    ("when_to_use", Kind::Text),
    ("argument-hint", Kind::Text),
    ("arguments", Kind::Any),
    ("disable-model-invocation", Kind::Bool),
    ("user-invocable", Kind::Bool),
    ("disallowed-tools", Kind::TextOrList),
    ("model", Kind::Text),
    (
        "effort",
        Kind::OneOf(&["low", "medium", "high", "xhigh", "max"]),
    ),
    ("context", Kind::OneOf(&["fork"])),
    ("agent", Kind::Text),
    ("background", Kind::Bool),
    ("hooks", Kind::Map),
    ("paths", Kind::TextOrList),
    ("shell", Kind::OneOf(&["bash", "powershell"])),
];

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Bool,
    Map,
    TextOrList,
    OneOf(&'static [&'static str]),
    Any,
}

/// Parses and checks a `SKILL.md`. `Err` lists every problem found.
pub fn parse(text: &str) -> Result<SkillMeta, Vec<String>> {
    let (yaml, body) = split(text).map_err(|e| vec![e])?;
    let docs = YamlLoader::load_from_str(&yaml).map_err(|e| {
        // Line 1 of the YAML is line 2 of the file (after `---`).
        vec![format!(
            "the front matter is not valid YAML (SKILL.md line {}, column {}): {}",
            e.marker().line() + 1,
            e.marker().col() + 1,
            e.info()
        )]
    })?;
    let hash = match docs.as_slice() {
        [Yaml::Hash(h)] => h,
        [] | [Yaml::Null] => return Err(vec!["the front matter is empty".to_owned()]),
        _ => {
            return Err(vec![
                "the front matter must be a mapping of keys to values (`name: …`)".to_owned(),
            ]);
        }
    };
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut fields: Vec<(String, &Yaml)> = Vec::new();
    for (k, v) in hash {
        match k {
            Yaml::String(k) => fields.push((k.clone(), v)),
            other => problems.push(format!("the key {} is not text", scalar_text(other))),
        }
    }
    let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v);

    let name = match get("name") {
        None => {
            problems.push("`name` is missing (1–64 lowercase letters, digits and `-`)".to_owned());
            String::new()
        }
        Some(Yaml::String(n)) => {
            check_name(n, &mut problems, &mut warnings);
            n.clone()
        }
        Some(other) => {
            problems.push(format!("`name` must be text, not {}", describe(other)));
            String::new()
        }
    };
    let description = match get("description") {
        None => {
            problems.push("`description` is missing (what the skill does and when to use it, 1–1024 characters)".to_owned());
            String::new()
        }
        Some(Yaml::String(d)) => {
            let n = d.chars().count();
            if d.trim().is_empty() {
                problems.push("`description` is empty".to_owned());
            } else if n > MAX_DESCRIPTION {
                problems.push(format!(
                    "`description` is {n} characters long; at most {MAX_DESCRIPTION}"
                ));
            }
            if d.contains('<') || d.contains('>') {
                warnings.push(
                    "`description` contains `<` or `>`: claude.ai refuses XML tags in it"
                        .to_owned(),
                );
            }
            d.clone()
        }
        Some(other) => {
            problems.push(format!(
                "`description` must be text, not {}",
                describe(other)
            ));
            String::new()
        }
    };
    let license = match get("license") {
        None => None,
        Some(Yaml::String(l)) => Some(l.clone()),
        Some(other) => {
            problems.push(format!("`license` must be text, not {}", describe(other)));
            None
        }
    };
    let compatibility = match get("compatibility") {
        None => None,
        Some(Yaml::String(c)) => {
            let n = c.chars().count();
            if c.trim().is_empty() || n > MAX_COMPATIBILITY {
                problems.push(format!(
                    "`compatibility` must be 1–{MAX_COMPATIBILITY} characters (it is {n})"
                ));
            }
            Some(c.clone())
        }
        Some(other) => {
            problems.push(format!(
                "`compatibility` must be text, not {}",
                describe(other)
            ));
            None
        }
    };
    let mut metadata = BTreeMap::new();
    match get("metadata") {
        None => {}
        Some(Yaml::Hash(m)) => {
            for (k, v) in m {
                let key = scalar_text(k);
                match v {
                    Yaml::String(s) => {
                        metadata.insert(key, s.clone());
                    }
                    Yaml::Integer(_) | Yaml::Real(_) | Yaml::Boolean(_) => {
                        warnings.push(format!(
                            "`metadata.{key}` is not text (quote it: \"{}\")",
                            scalar_text(v)
                        ));
                        metadata.insert(key, scalar_text(v));
                    }
                    other => problems.push(format!(
                        "`metadata.{key}` must be text, not {}",
                        describe(other)
                    )),
                }
            }
        }
        Some(other) => problems.push(format!(
            "`metadata` must be a mapping of text to text, not {}",
            describe(other)
        )),
    }
    let allowed_tools = match get("allowed-tools") {
        None => Vec::new(),
        Some(Yaml::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Yaml::Array(items)) => {
            let mut out = Vec::new();
            for i in items {
                match i {
                    Yaml::String(s) => out.push(s.clone()),
                    other => problems.push(format!(
                        "`allowed-tools` entries must be text, not {}",
                        describe(other)
                    )),
                }
            }
            out
        }
        Some(other) => {
            problems.push(format!(
                "`allowed-tools` must be text or a list of text, not {}",
                describe(other)
            ));
            Vec::new()
        }
    };
    for (key, value) in &fields {
        if SPEC_KEYS.contains(&key.as_str()) {
            continue;
        }
        match CLAUDE_KEYS.iter().find(|(k, _)| k == key) {
            Some((_, kind)) => {
                if let Err(why) = check_kind(*kind, value) {
                    problems.push(format!("`{key}` {why}"));
                }
            }
            None => warnings.push(format!(
                "unknown front-matter key `{key}`: Claude Code ignores it"
            )),
        }
    }
    if let Some(Yaml::String(w)) = get("when_to_use") {
        let n = description.chars().count() + w.chars().count();
        if n > LISTING_CHARS {
            warnings.push(format!(
                "`description` and `when_to_use` together are {n} characters: Claude Code's listing truncates them at {LISTING_CHARS}"
            ));
        }
    }
    if body.trim().is_empty() {
        warnings.push("SKILL.md has no instructions after the front matter".to_owned());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(SkillMeta {
        name,
        description,
        license,
        compatibility,
        allowed_tools,
        metadata,
        keys: fields.into_iter().map(|(k, _)| k).collect(),
        warnings,
    })
}

/// The front matter's YAML and the body after it. A UTF-8 byte order mark is skipped and CRLF
/// line ends are accepted (both have bitten Windows users).
fn split(text: &str) -> Result<(String, String), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    if lines.next().map(str::trim_end) != Some("---") {
        return Err(
            "SKILL.md must start with YAML front matter: a `---` line, `name:` and `description:`, and a closing `---`"
                .to_owned(),
        );
    }
    let mut yaml = Vec::new();
    for line in lines.by_ref() {
        if line.trim_end() == "---" {
            let body: Vec<&str> = lines.collect();
            return Ok((yaml.join("\n"), body.join("\n")));
        }
        yaml.push(line);
    }
    Err("the front matter is not closed by a `---` line".to_owned())
}

/// A folder-safe skill name: 1–64 of `a-z`, `0-9`, `-`; no `-` at either end, no `--`.
fn check_name(name: &str, problems: &mut Vec<String>, warnings: &mut Vec<String>) {
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME {
        problems.push(format!(
            "`name` must be 1–{MAX_NAME} characters (it is {n})"
        ));
        return;
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        problems.push(format!(
            "`name` {name:?} may hold only lowercase letters, digits and `-`"
        ));
    } else if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        problems.push(format!(
            "`name` {name:?} may not start or end with `-` or contain `--`"
        ));
    }
    if name == RESERVED_FOLDER {
        problems.push(format!(
            "`name` {name:?} is reserved by Claude Code (claude.ai's synced skills)"
        ));
    }
    if name.contains("anthropic") || name.contains("claude") {
        warnings.push(format!(
            "`name` {name:?} contains a word claude.ai reserves (`anthropic`, `claude`): fine for Claude Code, refused on upload"
        ));
    }
}

fn check_kind(kind: Kind, v: &Yaml) -> Result<(), String> {
    match (kind, v) {
        (Kind::Any, _)
        | (Kind::Text | Kind::TextOrList, Yaml::String(_))
        | (Kind::Map, Yaml::Hash(_))
        | (Kind::Bool, Yaml::Boolean(_)) => Ok(()),
        (Kind::Bool, Yaml::Integer(0 | 1)) => Ok(()),
        (Kind::Bool, Yaml::String(s))
            if matches!(
                s.to_ascii_lowercase().as_str(),
                "true" | "false" | "yes" | "no" | "on" | "off" | "1" | "0"
            ) =>
        {
            Ok(())
        }
        (Kind::TextOrList, Yaml::Array(items))
            if items.iter().all(|i| matches!(i, Yaml::String(_))) =>
        {
            Ok(())
        }
        (Kind::OneOf(allowed), Yaml::String(s)) if allowed.contains(&s.as_str()) => Ok(()),
        (Kind::OneOf(allowed), _) => Err(format!("must be one of {}", allowed.join(", "))),
        (Kind::Bool, _) => Err("must be true or false".to_owned()),
        (Kind::Map, _) => Err("must be a mapping".to_owned()),
        (Kind::Text, other) => Err(format!("must be text, not {}", describe(other))),
        (Kind::TextOrList, other) => Err(format!(
            "must be text or a list of text, not {}",
            describe(other)
        )),
    }
}

fn describe(v: &Yaml) -> &'static str {
    match v {
        Yaml::Real(_) | Yaml::Integer(_) => "a number",
        Yaml::String(_) => "text",
        Yaml::Boolean(_) => "true/false",
        Yaml::Array(_) => "a list",
        Yaml::Hash(_) => "a mapping",
        Yaml::Alias(_) => "an alias",
        Yaml::Null => "nothing",
        Yaml::BadValue => "an invalid value",
    }
}

fn scalar_text(v: &Yaml) -> String {
    match v {
        Yaml::Real(s) | Yaml::String(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Null => "null".to_owned(),
        other => describe(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        parse(text).expect_err(text)
    }

    #[test]
    fn reads_the_specification_example() {
        let m = parse(
            "---\nname: pdf-processing\ndescription: Extract text and tables from PDFs. Use when the user mentions PDFs.\nlicense: Apache-2.0\ncompatibility: Requires Python 3.11+\nmetadata:\n  author: example-org\n  version: \"1.0\"\nallowed-tools: Bash(python3:*) Read\n---\n\n# PDF\nDo it.\n",
        )
        .expect("valid");
        assert_eq!(m.name, "pdf-processing");
        assert_eq!(m.allowed_tools, ["Bash(python3:*)", "Read"]);
        assert_eq!(m.metadata.get("version").map(String::as_str), Some("1.0"));
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    #[test]
    fn accepts_bom_crlf_block_scalars_and_claude_code_keys() {
        let m = parse("\u{feff}---\r\nname: x\r\ndescription: >\r\n  Folded\r\n  text.\r\nwhen_to_use: often\r\ndisable-model-invocation: yes\r\neffort: high\r\npaths:\r\n  - src/**\r\n---\r\nBody\r\n")
            .expect("valid");
        assert_eq!(m.description, "Folded text.\n");
        assert_eq!(
            m.keys,
            [
                "name",
                "description",
                "when_to_use",
                "disable-model-invocation",
                "effort",
                "paths"
            ]
        );
    }

    #[test]
    fn reports_every_problem() {
        let p = problems(
            "---\nname: My_Skill\ndescription: ''\neffort: extreme\nmetadata: [a]\n---\nx\n",
        );
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(problems("no front matter\n")[0].contains("must start with YAML front matter"));
        assert!(problems("---\nname: x\n")[0].contains("not closed"));
        assert!(problems("---\nname: [x\n---\n")[0].contains("not valid YAML (SKILL.md line"));
        assert!(problems("---\n---\nbody")[0].contains("empty"));
        assert!(problems("---\ndescription: d\n---\n")[0].contains("`name` is missing"));
        assert!(problems("---\nname: synced\ndescription: d\n---\n")[0].contains("reserved"));
        assert!(problems("---\nname: -x\ndescription: d\n---\n")[0].contains("start or end"));
        assert!(
            problems(&format!(
                "---\nname: {}\ndescription: d\n---\n",
                "a".repeat(65)
            ))[0]
                .contains("1–64")
        );
        assert!(
            problems(&format!(
                "---\nname: a\ndescription: {}\n---\n",
                "d".repeat(1025)
            ))[0]
                .contains("1025")
        );
    }

    #[test]
    fn warns_of_what_claude_code_tolerates() {
        let m = parse("---\nname: claude-helper\ndescription: Use <b>this</b>\nx-custom: 1\n---\n")
            .expect("valid");
        assert_eq!(m.warnings.len(), 4, "{:?}", m.warnings);
    }
}
