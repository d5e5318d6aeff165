//! Turning servers off and on: `.mcp.json` servers through Claude Code's own approval lists,
//! user and local ones through Switchboard's stash (see the [module docs](super)).

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::{
    Location, Stash, Stashed, change_file, edit_err, entry_path, get, is_stashed, names_at,
    not_found, occurrences, stash_path, strs,
};
use crate::error::{Error, Result};
use crate::fsx::{self, Next, Updated};
use crate::json::edit::{self, EditError};
use crate::paths::Paths;

/// What [`disable`] or [`enable`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Toggled {
    /// The file changed.
    pub file: PathBuf,
    /// How, in a sentence.
    pub how: String,
    /// It was already so; nothing changed.
    pub already: bool,
}

/// Turns server `name` of `loc` off (see the module docs for how, per scope).
pub fn disable(paths: &Paths, loc: &Location, name: &str) -> Result<Toggled> {
    match loc {
        Location::Project(dir) => {
            get(paths, loc, name)?;
            let file = Paths::local_settings(dir);
            let changed = set_approval(&file, name, false)?;
            Ok(Toggled {
                how: format!(
                    "{name:?} is listed in disabledMcpjsonServers of {} (.mcp.json is unchanged)",
                    file.display()
                ),
                file,
                already: !changed,
            })
        }
        Location::User | Location::Local(_) => {
            if is_stashed(paths, loc, name)? {
                return Ok(Toggled {
                    file: stash_path(paths),
                    how: format!("{name:?} was already disabled"),
                    already: true,
                });
            }
            let path = entry_path(loc, name);
            let file = loc.file(paths);
            let stash_file = stash_path(paths);
            let old: Stash = fsx::read_state(&stash_file)?;
            let mut wrote_stash = false;
            let result = change_file(
                paths,
                loc,
                &mut |text| {
                    let parent = loc.parent();
                    let n = occurrences(text, &strs(&parent), name);
                    if n > 1 {
                        return Err(Error::Unsupported {
                            path: file.clone(),
                            message: format!(
                                "{name:?} appears {n} times in {} (Claude Code uses the last): remove the duplicates first",
                                loc.describe()
                            ),
                        });
                    }
                    let removed = match edit::remove(text, &strs(&path), None) {
                        Ok(Some(r)) => r,
                        Ok(None) | Err(EditError::Missing { .. }) => {
                            return Err(not_found(loc, name));
                        }
                        Err(e) => return Err(edit_err(&file)(e)),
                    };
                    // The stash is saved before the entry leaves the file: it is never lost.
                    let mut stash = old.clone();
                    stash.servers.push(Stashed {
                        file: file.to_string_lossy().into_owned(),
                        scope: loc.scope(),
                        project: loc.project().map(|p| p.to_string_lossy().into_owned()),
                        name: name.to_owned(),
                        removed: removed.1,
                        disabled_at: fsx::now_millis(),
                    });
                    fsx::write_state(&stash_file, &stash)?;
                    wrote_stash = true;
                    Ok(Some(removed.0))
                },
                &|text| {
                    matches!(
                        edit::raw_at(text, &strs(&path)),
                        Ok(None) | Err(EditError::Missing { .. })
                    )
                },
            );
            if let Err(e) = result {
                if wrote_stash {
                    let _ = fsx::write_state(&stash_file, &old);
                }
                return Err(e);
            }
            Ok(Toggled {
                how: format!(
                    "{name:?} was moved from {} to Switchboard's stash ({}); `enable` puts it back",
                    file.display(),
                    stash_file.display()
                ),
                file,
                already: false,
            })
        }
    }
}

/// Turns server `name` of `loc` back on.
pub fn enable(paths: &Paths, loc: &Location, name: &str) -> Result<Toggled> {
    match loc {
        Location::Project(dir) => {
            get(paths, loc, name)?;
            let file = Paths::local_settings(dir);
            let changed = set_approval(&file, name, true)?;
            Ok(Toggled {
                how: format!(
                    "{name:?} is approved in enabledMcpjsonServers of {}",
                    file.display()
                ),
                file,
                already: !changed,
            })
        }
        Location::User | Location::Local(_) => {
            let stash_file = stash_path(paths);
            let stash: Stash = fsx::read_state(&stash_file)?;
            let Some(stashed) = stash
                .servers
                .iter()
                .find(|s| s.is(paths, loc, name))
                .cloned()
            else {
                // Not stashed: enabled already if it is in the file.
                get(paths, loc, name)?;
                return Ok(Toggled {
                    file: loc.file(paths),
                    how: format!("{name:?} is not disabled"),
                    already: true,
                });
            };
            let path = entry_path(loc, name);
            let parent = loc.parent();
            let file = loc.file(paths);
            let entry: Value =
                serde_json::from_str(&stashed.removed.raw).map_err(|e| Error::State {
                    path: stash_file.clone(),
                    message: format!("the stashed entry of {name:?} is not JSON: {e}"),
                })?;
            change_file(
                paths,
                loc,
                &mut |text| {
                    match edit::value_at(text, &strs(&path)) {
                        Ok(Some(v)) if v == entry => return Ok(None),
                        Ok(Some(_)) => {
                            return Err(Error::Exists(format!(
                                "a different server {name:?} was added to {} since it was disabled; remove one of them first",
                                loc.describe()
                            )));
                        }
                        _ => {}
                    }
                    let new = if stashed.removed.cut.is_empty() {
                        None
                    } else {
                        edit::reinsert(text, &strs(&parent), name, &stashed.removed).ok()
                    };
                    match new {
                        Some(new) => Ok(Some(new)),
                        None => Ok(Some(
                            edit::set(text, &strs(&path), &stashed.removed.raw)
                                .map_err(edit_err(&file))?
                                .0,
                        )),
                    }
                },
                &|text| edit::value_at(text, &strs(&path)).ok().flatten().as_ref() == Some(&entry),
            )?;
            let mut stash: Stash = fsx::read_state(&stash_file)?;
            stash.servers.retain(|s| !s.is(paths, loc, name));
            fsx::write_state(&stash_file, &stash)?;
            Ok(Toggled {
                how: format!("{name:?} is back in {}", file.display()),
                file,
                already: false,
            })
        }
    }
}

/// Records a `.mcp.json` server as approved (`on`) or refused in `settings.local.json`, as
/// Claude Code's prompt does. Returns whether the file changed.
fn set_approval(file: &Path, name: &str, on: bool) -> Result<bool> {
    let (add_to, drop_from) = if on {
        ("enabledMcpjsonServers", "disabledMcpjsonServers")
    } else {
        ("disabledMcpjsonServers", "enabledMcpjsonServers")
    };
    let mut edit = |text: Option<&str>| -> Result<Next> {
        let existed = text.is_some();
        let original = text.unwrap_or("{}");
        fsx::parse_object(file, original)?;
        let mut work = original.to_owned();
        for (key, add) in [(drop_from, false), (add_to, true)] {
            let current = edit::value_at(&work, &[key]).map_err(edit_err(file))?;
            let mut names: Vec<Value> = match current {
                Some(Value::Array(items)) => items,
                Some(_) => {
                    return Err(Error::Unsupported {
                        path: file.to_path_buf(),
                        message: format!("`{key}` is not an array"),
                    });
                }
                None if add => Vec::new(),
                None => continue,
            };
            let had = names.iter().any(|n| n.as_str() == Some(name));
            if add == had {
                continue;
            }
            if add {
                names.push(Value::String(name.to_owned()));
            } else {
                names.retain(|n| n.as_str() != Some(name));
            }
            let json = Value::Array(names).to_string();
            work = edit::set(&work, &[key], &json).map_err(edit_err(file))?.0;
        }
        if work == original {
            return Ok(Next::Keep);
        }
        if !existed {
            work.push('\n');
        }
        Ok(Next::Write(work))
    };
    let verify = |text: Option<&str>| {
        names_at(text, &[add_to]).iter().any(|n| n == name)
            && !names_at(text, &[drop_from]).iter().any(|n| n == name)
    };
    let outcome = fsx::update(file, 0o644, &mut edit, &verify)?;
    Ok(outcome != Updated::Unchanged)
}
