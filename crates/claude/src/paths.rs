//! [`Paths`]: where Claude Code keeps the files this crate edits, and where Switchboard keeps
//! its own records of those edits.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Every location the crate reads or writes. Built once from the environment
/// ([`Paths::from_env`]) or, in tests and embedders, from explicit directories ([`Paths::new`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Claude Code's configuration directory: `$CLAUDE_CONFIG_DIR`, else `~/.claude`.
    pub claude_dir: PathBuf,
    /// User settings: `<claude_dir>/settings.json`.
    pub settings: PathBuf,
    /// Claude Code's global state with the user- and local-scope MCP servers: `~/.claude.json`,
    /// or `$CLAUDE_CONFIG_DIR/.claude.json` when that is set (Claude Code moves it too).
    pub claude_json: PathBuf,
    /// Personal skills: `<claude_dir>/skills`.
    pub user_skills: PathBuf,
    /// Switchboard's own files about Claude Code (setup record, backups, MCP stash, skills
    /// manifest): `<switchboard data dir>/claude`. Never read by Claude Code.
    pub state_dir: PathBuf,
}

impl Paths {
    /// The locations for a user whose home is `home`, with Claude Code's `CLAUDE_CONFIG_DIR` and
    /// Switchboard's data directory (`$SWITCHBOARD_HOME`, default `~/.switchboard`) if set.
    #[must_use]
    pub fn new(
        home: &Path,
        claude_config_dir: Option<&Path>,
        switchboard_home: Option<&Path>,
    ) -> Paths {
        let (claude_dir, claude_json) = match claude_config_dir {
            Some(dir) => (dir.to_path_buf(), dir.join(".claude.json")),
            None => (home.join(".claude"), home.join(".claude.json")),
        };
        let data_dir =
            switchboard_home.map_or_else(|| home.join(".switchboard"), Path::to_path_buf);
        Paths {
            settings: claude_dir.join("settings.json"),
            user_skills: claude_dir.join("skills"),
            claude_dir,
            claude_json,
            state_dir: data_dir.join("claude"),
        }
    }

    /// From `HOME`, `CLAUDE_CONFIG_DIR` and `SWITCHBOARD_HOME` (empty values count as unset),
    /// made absolute.
    pub fn from_env() -> Result<Paths> {
        Self::from_vars(&|name| std::env::var_os(name))
    }

    /// As [`Paths::from_env`], reading variables through `var`.
    pub fn from_vars(var: &dyn Fn(&str) -> Option<OsString>) -> Result<Paths> {
        let get = |name: &str| {
            var(name)
                .filter(|v| !v.is_empty())
                .map(|v| absolute(Path::new(&v)))
                .transpose()
        };
        let home = get("HOME")?
            .or(get("USERPROFILE")?)
            .ok_or_else(|| Error::invalid("HOME", "is not set: cannot find Claude Code's files"))?;
        Ok(Paths::new(
            &home,
            get("CLAUDE_CONFIG_DIR")?.as_deref(),
            get("SWITCHBOARD_HOME")?.as_deref(),
        ))
    }

    /// A project's skills: `<project>/.claude/skills`.
    #[must_use]
    pub fn project_skills(project: &Path) -> PathBuf {
        project.join(".claude").join("skills")
    }

    /// A project's shared MCP servers: `<project>/.mcp.json`.
    #[must_use]
    pub fn mcp_json(project: &Path) -> PathBuf {
        project.join(".mcp.json")
    }

    /// A project's personal settings, where Claude Code records `.mcp.json` approvals:
    /// `<project>/.claude/settings.local.json`.
    #[must_use]
    pub fn local_settings(project: &Path) -> PathBuf {
        project.join(".claude").join("settings.local.json")
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(Error::io(path, "resolve the path"))
}

/// A project directory as Claude Code names it in `~/.claude.json` (`projects["/abs/path"]`):
/// absolute, symbolic links resolved (Node's `process.cwd()` is the physical directory).
pub fn project_key(dir: &Path) -> Result<PathBuf> {
    let abs = absolute(dir)?;
    abs.canonicalize()
        .map_err(Error::io(&abs, "open the project directory"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_config_dir_moves_settings_and_claude_json() {
        let p = Paths::new(Path::new("/h"), Some(Path::new("/c")), None);
        assert_eq!(p.settings, Path::new("/c/settings.json"));
        assert_eq!(p.claude_json, Path::new("/c/.claude.json"));
        assert_eq!(p.user_skills, Path::new("/c/skills"));
        assert_eq!(p.state_dir, Path::new("/h/.switchboard/claude"));
        let p = Paths::new(Path::new("/h"), None, Some(Path::new("/sb")));
        assert_eq!(p.settings, Path::new("/h/.claude/settings.json"));
        assert_eq!(p.claude_json, Path::new("/h/.claude.json"));
        assert_eq!(p.state_dir, Path::new("/sb/claude"));
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let p = Paths::from_vars(&|name| match name {
            "HOME" => Some("/h".into()),
            "CLAUDE_CONFIG_DIR" => Some(OsString::new()),
            _ => None,
        })
        .expect("paths");
        assert_eq!(p.claude_json, Path::new("/h/.claude.json"));
    }
}
