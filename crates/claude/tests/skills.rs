//! Skills against a temporary home: install from a local git repository over `file://` (with a
//! subfolder and a ref), from a folder, from zip and tar.gz archives, from a repository holding
//! several skills; refusals (a broken `SKILL.md`, `../` entries, links) that leave nothing
//! behind; update, list, show, remove.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use switchboard_claude::skills::{self, Install, SourceKind, Target};
use switchboard_claude::{Error, Paths};

struct Home {
    dir: tempfile::TempDir,
    paths: Paths,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().expect("temp home");
        let paths = Paths::new(dir.path(), None, None);
        Home { dir, paths }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn install(&self, source: &str) -> Install {
        Install::new(source, Target::User)
    }

    fn installed(&self) -> Vec<String> {
        let Ok(entries) = fs::read_dir(&self.paths.user_skills) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

fn skill_md(name: &str, description: &str) -> String {
    format!("---\nname: {name}\ndescription: {description}\n---\n\n# {name}\n\nDo the thing.\n")
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Runs git in `dir` with no user or system configuration.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A repository with two skills under `skills/`, a `release` branch where `alpha` differs, and
/// a `v1` tag on the first commit. Returns its `file://` URL and the first commit.
fn repo(root: &Path) -> (String, String) {
    let dir = root.join("repo");
    fs::create_dir_all(&dir).expect("mkdir");
    git(&dir, &["init", "--quiet", "--initial-branch=main"]);
    write(&dir.join("README.md"), "skills\n");
    write(
        &dir.join("skills/alpha/SKILL.md"),
        &skill_md("alpha", "First skill."),
    );
    write(
        &dir.join("skills/alpha/scripts/run.sh"),
        "#!/bin/sh\necho alpha\n",
    );
    #[cfg(unix)]
    make_executable(&dir.join("skills/alpha/scripts/run.sh"));
    write(
        &dir.join("skills/beta/SKILL.md"),
        &skill_md("beta", "Second skill."),
    );
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "--quiet", "-m", "one"]);
    git(&dir, &["tag", "v1"]);
    let first = git(&dir, &["rev-parse", "HEAD"]);
    git(&dir, &["checkout", "--quiet", "-b", "release"]);
    write(
        &dir.join("skills/alpha/SKILL.md"),
        &skill_md("alpha", "First skill, released."),
    );
    git(&dir, &["commit", "--quiet", "-am", "release"]);
    git(&dir, &["checkout", "--quiet", "main"]);
    (format!("file://{}", dir.display()), first)
}

#[test]
fn installs_from_a_git_repository_over_file_with_a_subfolder_and_a_ref() {
    let h = Home::new();
    let (url, _) = repo(h.path());
    let mut req = h.install(&url);
    req.subdir = Some("skills/alpha".to_owned());
    req.reference = Some("release".to_owned());
    let done = skills::install(&h.paths, &req).expect("install");
    assert_eq!(done.len(), 1);
    let alpha = &done[0];
    assert_eq!(alpha.name, "alpha");
    assert_eq!(alpha.dir, h.paths.user_skills.join("alpha"));
    assert_eq!(alpha.source.kind, SourceKind::Git);
    let release = git(&h.path().join("repo"), &["rev-parse", "release"]);
    assert_eq!(alpha.commit.as_deref(), Some(release.as_str()));
    let text = fs::read_to_string(alpha.dir.join("SKILL.md")).expect("SKILL.md");
    assert!(text.contains("First skill, released."));
    assert!(!alpha.dir.join(".git").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(alpha.dir.join("scripts/run.sh"))
            .expect("script")
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "the script stays executable");
    }
    assert_eq!(h.installed(), ["alpha"], "no staging folder left behind");
    let info = skills::show(&h.paths, &Target::User, "alpha").expect("show");
    let record = info.record.expect("recorded");
    assert_eq!(record.source.reference.as_deref(), Some("release"));
    assert_eq!(record.source.subdir.as_deref(), Some("skills/alpha"));
    assert!(record.files.contains_key("scripts/run.sh"));
}

#[test]
fn a_ref_may_be_a_tag_or_a_commit() {
    let h = Home::new();
    let (url, first) = repo(h.path());
    for (reference, name) in [("v1", "alpha"), (first.as_str(), "beta")] {
        let mut req = h.install(&url);
        req.reference = Some(reference.to_owned());
        req.name = Some(name.to_owned());
        let done = skills::install(&h.paths, &req).expect(reference);
        assert_eq!(done[0].commit.as_deref(), Some(first.as_str()));
    }
    let text = fs::read_to_string(h.paths.user_skills.join("alpha/SKILL.md")).expect("alpha");
    assert!(text.contains("First skill.") && !text.contains("released"));
    let mut req = h.install(&url);
    req.reference = Some("no-such-branch".to_owned());
    let e = skills::install(&h.paths, &req).expect_err("bad ref");
    assert!(matches!(e, Error::Git { .. }), "{e}");
}

#[test]
fn a_repository_with_several_skills_asks_which() {
    let h = Home::new();
    let (url, _) = repo(h.path());
    let e = skills::install(&h.paths, &h.install(&url)).expect_err("ambiguous");
    match &e {
        Error::Ambiguous { candidates, .. } => {
            assert_eq!(candidates, &["alpha (skills/alpha)", "beta (skills/beta)"]);
        }
        other => panic!("expected Ambiguous, got {other}"),
    }
    assert!(e.to_string().contains("--name"), "{e}");
    assert!(h.installed().is_empty());
    let mut req = h.install(&url);
    req.name = Some("beta".to_owned());
    skills::install(&h.paths, &req).expect("pick beta");
    assert_eq!(h.installed(), ["beta"]);
    let mut req = h.install(&url);
    req.name = Some("gamma".to_owned());
    let e = skills::install(&h.paths, &req).expect_err("no gamma");
    assert!(
        e.to_string()
            .contains("it has: alpha (skills/alpha), beta (skills/beta)"),
        "{e}"
    );
    let mut req = h.install(&url);
    req.all = true;
    req.force = true;
    let done = skills::install(&h.paths, &req).expect("all");
    assert_eq!(
        done.iter().map(|d| d.replaced).collect::<Vec<_>>(),
        [false, true]
    );
    assert_eq!(h.installed(), ["alpha", "beta"]);
}

#[test]
fn installs_a_folder_by_copying_it() {
    let h = Home::new();
    let src = h.path().join("src").join("tidy");
    write(&src.join("SKILL.md"), &skill_md("tidy", "Tidy things."));
    write(&src.join("reference/notes.md"), "notes\n");
    write(&src.join("shared.md"), "shared\n");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("shared.md", src.join("linked.md")).expect("link inside");
        std::os::unix::fs::symlink("reference", src.join("ref-link")).expect("dir link inside");
    }
    let done = skills::install(&h.paths, &h.install(&src.to_string_lossy())).expect("install");
    assert_eq!(done[0].source.kind, SourceKind::Folder);
    let dest = h.paths.user_skills.join("tidy");
    for f in ["SKILL.md", "reference/notes.md"] {
        let meta = fs::symlink_metadata(dest.join(f)).expect(f);
        assert!(meta.is_file(), "{f} is a copy");
    }
    #[cfg(unix)]
    {
        let linked = fs::symlink_metadata(dest.join("linked.md")).expect("linked");
        assert!(
            linked.is_file(),
            "a link inside the source is copied as a file"
        );
        assert_eq!(
            fs::read_to_string(dest.join("linked.md")).expect("read"),
            "shared\n"
        );
        assert!(dest.join("ref-link/notes.md").is_file());
    }
    // The source can change or go: the installed copy does not follow.
    fs::write(src.join("SKILL.md"), skill_md("tidy", "Changed.")).expect("edit source");
    assert!(
        fs::read_to_string(dest.join("SKILL.md"))
            .expect("read")
            .contains("Tidy things.")
    );
    // Installing again without --force is refused.
    let e = skills::install(&h.paths, &h.install(&src.to_string_lossy())).expect_err("exists");
    assert!(matches!(e, Error::Exists(_)), "{e}");
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_source_folder_is_refused() {
    let h = Home::new();
    let src = h.path().join("src").join("leaky");
    write(&src.join("SKILL.md"), &skill_md("leaky", "Leaks."));
    write(&h.path().join("secret.txt"), "secret\n");
    std::os::unix::fs::symlink(h.path().join("secret.txt"), src.join("secret.txt"))
        .expect("link out");
    let e = skills::install(&h.paths, &h.install(&src.to_string_lossy())).expect_err("link out");
    assert!(matches!(e, Error::Source { .. }), "{e}");
    assert!(e.to_string().contains("leads out of the source"), "{e}");
    assert!(
        h.installed().is_empty(),
        "nothing installed, no staging left: {:?}",
        h.installed()
    );
}

#[test]
fn a_broken_skill_md_is_refused_with_its_reasons_and_leaves_nothing() {
    let h = Home::new();
    for (text, needle) in [
        (
            "---\nname: Bad Name\ndescription: x\n---\n",
            "lowercase letters",
        ),
        ("---\nname: ok\n---\nbody\n", "`description` is missing"),
        ("# no front matter\n", "must start with YAML front matter"),
        (
            "---\nname: ok\ndescription: [unclosed\n---\n",
            "not valid YAML (SKILL.md line 4, column 1)",
        ),
    ] {
        let src = h.path().join("broken");
        let _ = fs::remove_dir_all(&src);
        write(&src.join("SKILL.md"), text);
        let e = skills::install(&h.paths, &h.install(&src.to_string_lossy())).expect_err(needle);
        assert!(matches!(e, Error::InvalidSkill { .. }), "{e}");
        assert!(e.to_string().contains(needle), "{needle}: {e}");
        assert!(h.installed().is_empty());
    }
}

// ---- archives -----------------------------------------------------------------------------

fn zip_archive(path: &Path, entries: &[(&str, &str)], symlink: Option<(&str, &str)>) {
    let file = fs::File::create(path).expect("create zip");
    let mut z = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default();
    for (name, text) in entries {
        z.start_file(*name, opts).expect("start");
        z.write_all(text.as_bytes()).expect("write");
    }
    if let Some((name, target)) = symlink {
        z.add_symlink(name, target, opts).expect("symlink");
    }
    z.finish().expect("finish zip");
}

fn tar_gz(path: &Path, entries: &[(&str, &str)], symlink: Option<(&str, &str)>) {
    let file = fs::File::create(path).expect("create tar.gz");
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut t = tar::Builder::new(gz);
    for (name, text) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // Written raw so that `../` names reach the archive (`append_data` refuses them).
        let bytes = name.as_bytes();
        header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        header.set_cksum();
        t.append(&header, text.as_bytes()).expect("append");
    }
    if let Some((name, target)) = symlink {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        header.set_mode(0o777);
        t.append_link(&mut header, name, target).expect("link");
    }
    t.into_inner().expect("tar").finish().expect("gz");
}

const GAMMA: &[(&str, &str)] = &[
    ("gamma-main/README.md", "x\n"),
    (
        "gamma-main/skills/gamma/SKILL.md",
        "---\nname: gamma\ndescription: From an archive.\n---\nBody\n",
    ),
    ("gamma-main/skills/gamma/notes/a.md", "a\n"),
];

#[test]
fn installs_from_zip_and_tar_gz_archives() {
    for ext in ["zip", "tar.gz"] {
        let h = Home::new();
        let archive = h.path().join(format!("gamma.{ext}"));
        if ext == "zip" {
            zip_archive(&archive, GAMMA, None);
        } else {
            tar_gz(&archive, GAMMA, None);
        }
        let done = skills::install(&h.paths, &h.install(&archive.to_string_lossy())).expect(ext);
        assert_eq!(done[0].source.kind, SourceKind::Archive);
        assert_eq!(done[0].files, 2);
        let dest = h.paths.user_skills.join("gamma");
        assert_eq!(
            fs::read_to_string(dest.join("notes/a.md")).expect("note"),
            "a\n"
        );
    }
}

#[test]
fn an_archive_with_a_path_climbing_out_is_refused_before_extracting_anything() {
    for ext in ["zip", "tar.gz"] {
        let h = Home::new();
        let archive = h.path().join(format!("evil.{ext}"));
        let mut entries = GAMMA.to_vec();
        entries.push(("gamma-main/../../../evil.txt", "pwned\n"));
        if ext == "zip" {
            zip_archive(&archive, &entries, None);
        } else {
            tar_gz(&archive, &entries, None);
        }
        let e = skills::install(&h.paths, &h.install(&archive.to_string_lossy())).expect_err(ext);
        assert!(matches!(e, Error::Archive { .. }), "{ext}: {e}");
        assert!(e.to_string().contains("outside the folder"), "{e}");
        assert!(h.installed().is_empty());
        assert!(
            !h.path().join("evil.txt").exists()
                && !h.path().parent().expect("tmp").join("evil.txt").exists()
        );
    }
}

#[test]
fn an_archive_with_a_symbolic_link_is_refused() {
    for ext in ["zip", "tar.gz"] {
        let h = Home::new();
        let archive = h.path().join(format!("link.{ext}"));
        let link = Some(("gamma-main/skills/gamma/passwd", "/etc/passwd"));
        if ext == "zip" {
            zip_archive(&archive, GAMMA, link);
        } else {
            tar_gz(&archive, GAMMA, link);
        }
        let e = skills::install(&h.paths, &h.install(&archive.to_string_lossy())).expect_err(ext);
        assert!(e.to_string().contains("is a symbolic link"), "{ext}: {e}");
        assert!(h.installed().is_empty());
    }
}

// ---- update, list, show, remove -----------------------------------------------------------

#[test]
fn update_fetches_the_source_again_and_says_what_changed() {
    let h = Home::new();
    let (url, _) = repo(h.path());
    let dir = h.path().join("repo");
    let mut req = h.install(&url);
    req.name = Some("alpha".to_owned());
    skills::install(&h.paths, &req).expect("install");
    let git_bin = PathBuf::from("git");
    let same =
        skills::update(&h.paths, &Target::User, "alpha", false, false, &git_bin).expect("update");
    assert!(same.changes.is_empty() && !same.applied);

    write(
        &dir.join("skills/alpha/SKILL.md"),
        &skill_md("alpha", "First skill, improved."),
    );
    write(&dir.join("skills/alpha/extra.md"), "more\n");
    fs::remove_file(dir.join("skills/alpha/scripts/run.sh")).expect("rm");
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "--quiet", "-m", "two"]);
    let head = git(&dir, &["rev-parse", "HEAD"]);

    let dry =
        skills::update(&h.paths, &Target::User, "alpha", true, false, &git_bin).expect("dry run");
    assert!(!dry.applied);
    assert_eq!(dry.changes.added, ["extra.md"]);
    assert_eq!(dry.changes.removed, ["scripts/run.sh"]);
    assert_eq!(dry.changes.modified, ["SKILL.md"]);
    let dest = h.paths.user_skills.join("alpha");
    assert!(
        dest.join("scripts/run.sh").exists(),
        "a dry run changes nothing"
    );

    let up =
        skills::update(&h.paths, &Target::User, "alpha", false, false, &git_bin).expect("update");
    assert!(up.applied);
    assert_eq!(up.to_commit.as_deref(), Some(head.as_str()));
    assert!(dest.join("extra.md").is_file() && !dest.join("scripts/run.sh").exists());

    // A file edited in place is not overwritten without --force.
    fs::write(dest.join("extra.md"), "mine\n").expect("local edit");
    let e = skills::update(&h.paths, &Target::User, "alpha", false, false, &git_bin)
        .expect_err("local changes");
    assert!(
        e.to_string().contains("local changes (modified extra.md)"),
        "{e}"
    );
    let info = skills::show(&h.paths, &Target::User, "alpha").expect("show");
    assert_eq!(info.local_changes.expect("changes").modified, ["extra.md"]);
    let forced =
        skills::update(&h.paths, &Target::User, "alpha", false, true, &git_bin).expect("force");
    assert!(forced.applied);
    assert_eq!(
        fs::read_to_string(dest.join("extra.md")).expect("read"),
        "more\n"
    );
}

#[test]
fn list_show_and_remove() {
    let h = Home::new();
    let src = h.path().join("src").join("tidy");
    write(&src.join("SKILL.md"), &skill_md("tidy", "Tidy things."));
    skills::install(&h.paths, &h.install(&src.to_string_lossy())).expect("install");
    write(
        &h.paths.user_skills.join("mine/SKILL.md"),
        &skill_md("mine", "Hand-made."),
    );
    write(
        &h.paths.user_skills.join("odd/SKILL.md"),
        &skill_md("other-name", "Misnamed."),
    );
    let project = h.path().join("proj");
    fs::create_dir_all(&project).expect("project");
    let mut req = h.install(&src.to_string_lossy());
    req.target = Target::project(&project).expect("project target");
    skills::install(&h.paths, &req).expect("project install");
    assert!(project.join(".claude/skills/tidy/SKILL.md").is_file());

    let all = skills::list(&h.paths, Some(&project)).expect("list");
    let rows: Vec<(&str, &str, bool, bool)> = all
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.scope,
                s.record.is_some(),
                s.problems.is_empty(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("mine", "user", false, true),
            ("odd", "user", false, false),
            ("tidy", "user", true, true),
            ("tidy", "project", true, true),
        ]
    );
    let e = skills::remove(&h.paths, &Target::User, "mine", false).expect_err("unmanaged");
    assert!(e.to_string().contains("--force"), "{e}");
    skills::remove(&h.paths, &Target::User, "mine", true).expect("forced");
    skills::remove(&h.paths, &Target::User, "tidy", false).expect("managed");
    assert_eq!(h.installed(), ["odd"]);
    assert!(matches!(
        skills::show(&h.paths, &Target::User, "tidy"),
        Err(Error::NotFound(_))
    ));
    assert!(skills::show(&h.paths, &Target::User, "../etc").is_err());
}
