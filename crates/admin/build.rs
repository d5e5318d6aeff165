//! Embeds the dashboard (`ui/` at the repository root) in the binary: one generated table of
//! `include_bytes!` with each file's content type, a strong ETag (its SHA-256) and, where it
//! pays, a gzip-precompressed copy; and the text served at `/ui/licenses`, made from
//! `ui/vendor/MANIFEST.toml` and the vendored license files.
//!
//! It also refuses to build when:
//! - a vendored file does not match the sha256 the manifest pins (a file edited by hand, or a
//!   refresh that did not rewrite the manifest: `ui/vendor/refresh.sh` does both), or a vendored
//!   file is not in the manifest;
//! - an HTML file holds an inline script, an inline style or an event-handler attribute: the
//!   dashboard's Content-Security-Policy (`script-src 'self'`, `style-src 'self'`) would block
//!   them in the browser, so they are caught here, at build time, instead.
//!
//! Node is never needed: the files are committed as they are served.

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

type Res<T> = Result<T, Box<dyn Error>>;

/// What is in `ui/` but not served: notes for people and the refresh script.
fn skipped(rel: &str) -> bool {
    rel.ends_with(".md") || rel.ends_with(".sh") || rel.split('/').any(|p| p.starts_with('.'))
}

fn content_type(rel: &str) -> Res<&'static str> {
    let ext = rel.rsplit_once('.').map_or("", |(_, e)| e);
    let name = rel.rsplit('/').next().unwrap_or(rel);
    Ok(match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" | "toml" => "text/plain; charset=utf-8",
        _ if name == "LICENSE" => "text/plain; charset=utf-8",
        _ => {
            return Err(format!(
                "ui/{rel}: no content type known for this file; add one to build.rs"
            )
            .into());
        }
    })
}

fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type == "application/json"
        || content_type == "image/svg+xml"
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Res<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let rel = path
            .strip_prefix(root)?
            .to_str()
            .ok_or("a non-UTF-8 file name under ui/")?
            .replace('\\', "/");
        if skipped(&rel) {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// An HTML file must carry no inline script or style: see the module docs.
fn check_html(rel: &str, text: &str) -> Res<()> {
    let lower = text.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("<script") {
        let tag_end = rest[at..]
            .find('>')
            .ok_or_else(|| format!("ui/{rel}: unclosed <script"))?;
        let tag = &rest[at..at + tag_end];
        if !tag.contains(" src=") {
            return Err(
                format!("ui/{rel}: an inline <script> (the CSP allows only script files)").into(),
            );
        }
        rest = &rest[at + tag_end..];
    }
    for bad in [
        "<style",
        " style=",
        " onclick=",
        " onload=",
        " onerror=",
        " onsubmit=",
        "javascript:",
    ] {
        if lower.contains(bad) {
            return Err(format!(
                "ui/{rel}: `{}` is inline code or style, which the CSP blocks",
                bad.trim()
            )
            .into());
        }
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct Manifest {
    package: Vec<Package>,
}

#[derive(serde::Deserialize)]
struct Package {
    name: String,
    version: String,
    license: String,
    integrity: String,
    dir: String,
    file: Vec<VendoredFile>,
}

#[derive(serde::Deserialize)]
struct VendoredFile {
    path: String,
    from: String,
    sha256: String,
}

/// Checks the vendored files against the manifest; returns the text of `/ui/licenses`.
fn vendor(ui: &Path, files: &[String], hashes: &BTreeMap<String, String>) -> Res<String> {
    let manifest: Manifest =
        toml::from_str(&std::fs::read_to_string(ui.join("vendor/MANIFEST.toml"))?)?;
    let mut listed = BTreeMap::new();
    let mut text = String::from(
        "Switchboard's dashboard ships these third-party files, unchanged except that bare module\n\
         imports point to the files beside them and source-map comments are removed.\n\
         Each file's sha256 is checked at every build (ui/vendor/MANIFEST.toml).\n",
    );
    for p in &manifest.package {
        let _ = write!(
            text,
            "\n{rule}\n{} {} ({})\nnpm integrity: {}\n",
            p.name,
            p.version,
            p.license,
            p.integrity,
            rule = "=".repeat(78)
        );
        for f in &p.file {
            let rel = format!("vendor/{}/{}", p.dir, f.path);
            let have = hashes
                .get(&rel)
                .ok_or_else(|| format!("ui/{rel}: listed in the manifest, missing on disk"))?;
            if *have != f.sha256 {
                return Err(format!(
                    "ui/{rel}: sha256 {have} but the manifest pins {}; run ui/vendor/refresh.sh instead of editing vendored files",
                    f.sha256
                )
                .into());
            }
            let _ = writeln!(text, "  /ui/{rel}  (from {}, sha256 {})", f.from, f.sha256);
            listed.insert(rel, ());
        }
        let license = std::fs::read_to_string(ui.join("vendor").join(&p.dir).join("LICENSE"))?;
        let _ = write!(text, "\n{}\n", license.trim_end());
    }
    for rel in files {
        if rel.starts_with("vendor/") && rel != "vendor/MANIFEST.toml" && !listed.contains_key(rel)
        {
            return Err(format!("ui/{rel}: a vendored file the manifest does not list").into());
        }
    }
    Ok(text)
}

fn main() -> Res<()> {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let ui = crate_dir.join("../../ui").canonicalize()?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    println!("cargo::rerun-if-changed={}", ui.display());

    let mut files = Vec::new();
    walk(&ui, &ui, &mut files)?;
    files.sort();

    let gz_dir = out.join("ui-gz");
    std::fs::create_dir_all(&gz_dir)?;
    let mut hashes = BTreeMap::new();
    let mut table = String::from("// Generated by build.rs from ui/. Sorted by path.\n&[\n");
    for (i, rel) in files.iter().enumerate() {
        let path = ui.join(rel);
        let bytes = std::fs::read(&path)?;
        let ct = content_type(rel)?;
        if rel.ends_with(".html") {
            check_html(rel, std::str::from_utf8(&bytes)?)?;
        }
        let sha = hex(&Sha256::digest(&bytes));
        hashes.insert(rel.clone(), sha.clone());
        let gzip = if compressible(ct) && bytes.len() > 256 {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(&bytes)?;
            let gz = enc.finish()?;
            if gz.len() + 64 < bytes.len() {
                let gz_path = gz_dir.join(format!("{i}.gz"));
                std::fs::write(&gz_path, gz)?;
                format!("Some(include_bytes!({:?}))", gz_path.display().to_string())
            } else {
                "None".to_owned()
            }
        } else {
            "None".to_owned()
        };
        let _ = writeln!(
            table,
            "    Asset {{ path: {rel:?}, content_type: {ct:?}, etag: \"\\\"{}\\\"\", body: include_bytes!({:?}), gzip: {gzip} }},",
            &sha[..32],
            path.display().to_string(),
        );
    }
    table.push_str("]\n");
    std::fs::write(out.join("ui_assets.rs"), table)?;
    let licenses = vendor(&ui, &files, &hashes)?;
    std::fs::write(out.join("ui_licenses.txt"), licenses)?;
    Ok(())
}
