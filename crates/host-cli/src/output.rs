//! Writing output: stdout, or one file per object in a directory, each written atomically,
//! with a list of the files written so that a later render removes only its own.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use matrix_render_model::api::ObjectInfo;
use serde_json::Value;

/// The list of the files the last render wrote into an output directory: comment lines
/// (`#`), then one file name a line. kubectl, kustomize and Flux take only `.yaml`, `.yml`
/// and `.json` files from a directory, so none of them reads it as a manifest.
pub const FILE_LIST: &str = ".matrix-render-files";

/// The one file of a tenant in `render --batch --batch-layout stream`.
pub const STREAM_FILE: &str = "matrix-stack.yaml";
/// [`STREAM_FILE`] for `--format json`.
pub const STREAM_FILE_JSON: &str = "matrix-stack.json";

/// The label every rendered object carries; a file whose objects all carry it is ours.
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "matrix-render");

/// A file larger than this is never taken for one of ours (and never read whole to check).
const MAX_CHECKED_BYTES: u64 = 64 << 20;

/// What a write did besides writing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Objects written.
    pub objects: usize,
    /// Files an earlier render wrote that this one no longer produces, left in place because
    /// they no longer hold objects of ours (someone edited or replaced them).
    pub kept: Vec<String>,
}

impl Written {
    /// One warning line per kept file, for stderr.
    #[must_use]
    pub fn warnings(&self, dir: &Path) -> String {
        self.kept
            .iter()
            .map(|name| {
                format!(
                    "warning: kept {}: an earlier render wrote it and this one does not, but it \
                     no longer holds objects of matrix-render; remove it if it should not be \
                     applied\n",
                    dir.join(name).display()
                )
            })
            .collect()
    }
}

/// Whether [`write_dir_with`] flushes each file to disk before renaming it into place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    /// `fsync` each file before the rename: the files are on disk when the call returns.
    EachFile,
    /// Leave flushing to the OS. The rename still makes each file appear whole to readers;
    /// only a crash right after the call could lose the newest files. `render --batch` uses
    /// this: one `fsync` per file is most of the time of a batch of thousands of tenants.
    Os,
}

/// Which files of a directory without a [`FILE_LIST`] (written by a version of
/// matrix-render that kept no list) may be an earlier render's, if their content proves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Earlier {
    /// `NN-kind-name.yaml` (or `.json`): what `--output-dir` writes.
    Objects,
    /// Those and the stream files of `--batch-layout stream`: a tenant's directory.
    ObjectsAndStreams,
}

/// Writes every object's document into `dir` (created if missing), then removes the files
/// an earlier render wrote there that this one no longer produces; see [`write_files`].
///
/// # Errors
/// The first I/O error, naming the path.
pub fn write_dir(dir: &Path, objects: &[ObjectInfo]) -> Result<Written, String> {
    write_dir_with(dir, objects, Sync::EachFile, Earlier::Objects)
}

/// [`write_dir`], choosing whether each file is flushed to disk and which unlisted files an
/// earlier version may have written.
///
/// # Errors
/// The first I/O error, naming the path.
pub fn write_dir_with(
    dir: &Path,
    objects: &[ObjectInfo],
    sync: Sync,
    earlier: Earlier,
) -> Result<Written, String> {
    let mut files = Vec::with_capacity(objects.len());
    for object in objects {
        let Some(document) = &object.document else {
            return Err(format!(
                "the core returned no document for {}",
                object.file_name
            ));
        };
        files.push((object.file_name.as_str(), document.as_str()));
    }
    let kept = write_files(dir, &files, sync, earlier, List::Keep)?;
    Ok(Written {
        objects: objects.len(),
        kept,
    })
}

/// Writes `text` to `dir/name` (creating `dir`), then removes the files of an earlier render
/// that `name` replaces (the one-file-per-object layout); see [`write_files`]. No list is
/// kept (it would double the files of a batch, and this layout exists to have few): the
/// next render recognises the stream file by its name and content.
///
/// # Errors
/// The first I/O error, naming the path.
pub fn write_stream(dir: &Path, name: &str, text: &str, sync: Sync) -> Result<Vec<String>, String> {
    write_files(
        dir,
        &[(name, text)],
        sync,
        Earlier::ObjectsAndStreams,
        List::Drop,
    )
}

/// Whether [`write_files`] leaves a [`FILE_LIST`] behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    /// Name this render's files in it.
    Keep,
    /// Remove it at the end (once it has served to find an earlier render's files).
    Drop,
}

/// Writes `files` (name, text) into `dir`, each atomically ([`write_atomically`]), and
/// removes the files an earlier render wrote that this one does not, and only those:
///
/// - with a [`FILE_LIST`], the files it names;
/// - without one (a new directory, or one written by a version that kept no list), the
///   files named as [`Earlier`] says;
///
/// and of these only the regular files whose content proves they are ours: every document
/// carries `app.kubernetes.io/managed-by: matrix-render`, and a one-object file's name is the
/// one the core gives that object (`NN-kind-name`). Listed files that fail the check are left
/// and returned, for a warning; anything else in `dir` is never touched.
///
/// The list is written twice: before anything else, naming the files about to be written
/// and those about to be removed, and at the end, naming only this render's files (or
/// removed, with [`List::Drop`]); so if the process stops half way, the next render still
/// knows every file of ours. A render that changes nothing writes nothing, the list
/// included.
fn write_files(
    dir: &Path,
    files: &[(&str, &str)],
    sync: Sync,
    earlier: Earlier,
    list: List,
) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    let current: BTreeSet<&str> = files.iter().map(|(name, _)| *name).collect();
    let previous = read_list(dir)?;
    let listed = previous.is_some();
    let candidates: Vec<String> = match previous {
        Some(names) => names,
        None => list_dir(dir)?
            .into_iter()
            .filter(|name| match earlier {
                Earlier::Objects => is_rendered_file_name(name),
                Earlier::ObjectsAndStreams => {
                    is_rendered_file_name(name) || name == STREAM_FILE || name == STREAM_FILE_JSON
                }
            })
            .collect(),
    };
    let mut stale = Vec::new();
    let mut kept = Vec::new();
    for name in candidates {
        if current.contains(name.as_str()) {
            continue;
        }
        if holds_our_objects(&dir.join(&name), &name) {
            stale.push(name);
        } else if listed && std::fs::symlink_metadata(dir.join(&name)).is_ok() {
            kept.push(name);
        }
    }
    let names = || files.iter().map(|(name, _)| *name);
    if listed || list == List::Keep {
        write_atomically(
            dir,
            FILE_LIST,
            &list_text(names().chain(stale.iter().map(String::as_str))),
            sync,
        )?;
    }
    for (name, text) in files {
        write_atomically(dir, name, text, sync)?;
    }
    for name in &stale {
        let path = dir.join(name);
        std::fs::remove_file(&path)
            .map_err(|e| format!("{}: cannot remove a stale file: {e}", path.display()))?;
    }
    match list {
        List::Keep if !stale.is_empty() => {
            write_atomically(dir, FILE_LIST, &list_text(names()), sync)?;
        }
        List::Keep => {}
        List::Drop if listed => {
            let path = dir.join(FILE_LIST);
            std::fs::remove_file(&path)
                .map_err(|e| format!("{}: cannot remove: {e}", path.display()))?;
        }
        List::Drop => {}
    }
    Ok(kept)
}

fn list_text<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut text = String::from(
        "# The files matrix-render's last render wrote into this directory. The next render\n\
         # into it removes those it no longer writes (if they still hold objects of\n\
         # matrix-render) and leaves every other file alone.\n",
    );
    for name in names {
        text.push_str(name);
        text.push('\n');
    }
    text
}

/// The names in `dir`'s [`FILE_LIST`], or `None` when there is none. Lines that are not a
/// plain file name of this directory (a path, a hidden name) are ignored.
fn read_list(dir: &Path) -> Result<Option<Vec<String>>, String> {
    let path = dir.join(FILE_LIST);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
        Ok(m) if !m.is_file() => {
            return Err(format!(
                "{}: not a regular file; matrix-render keeps its list of written files there",
                path.display()
            ));
        }
        Ok(_) => {}
    }
    let text = std::fs::read(&path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&text);
    Ok(Some(
        text.lines()
            .map(str::trim_end)
            .filter(|line| is_plain_file_name(line) && !line.starts_with('#'))
            .map(str::to_owned)
            .collect(),
    ))
}

/// A name that stays inside the directory and is not hidden: no separator, not `.` or `..`.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0'])
}

fn list_dir(dir: &Path) -> Result<Vec<String>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// `dir/name` through `dir/.name.tmp` and a rename; a file that already holds `text` is left
/// as it is (same inode, same modification time), so a re-render that changes nothing
/// writes nothing and tools that watch modification times see no change.
fn write_atomically(dir: &Path, name: &str, text: &str, sync: Sync) -> Result<(), String> {
    let target = dir.join(name);
    let private = holds_a_secret(text);
    if holds(&target, text.as_bytes()) {
        if private {
            // Written by an older version, readable by everyone.
            restrict(&target).map_err(|e| format!("{}: cannot restrict: {e}", target.display()))?;
        }
        if sync == Sync::EachFile {
            // An earlier writer may have left it to the OS to flush.
            std::fs::File::open(&target)
                .and_then(|f| f.sync_all())
                .map_err(|e| format!("{}: cannot flush: {e}", target.display()))?;
        }
        return Ok(());
    }
    let temp = dir.join(format!(".{name}.tmp"));
    let write = || -> std::io::Result<()> {
        // A leftover of an interrupted run, or a link planted there: removed (a link itself,
        // never what it points at), then created anew, refusing anything that appears meanwhile.
        match std::fs::remove_file(&temp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&temp)?;
        file.write_all(text.as_bytes())?;
        if sync == Sync::EachFile {
            file.sync_all()?;
        }
        std::fs::rename(&temp, &target)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("{}: cannot write: {e}", target.display())
    })
}

/// Whether a rendered file holds a Secret object (YAML or JSON): such a file is written
/// readable by its owner only.
fn holds_a_secret(text: &str) -> bool {
    text.contains("\nkind: Secret\n") || text.contains("\"kind\": \"Secret\"")
}

/// Makes a file readable and writable by its owner only.
fn restrict(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::symlink_metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Whether `path` is a regular file whose content is `bytes` (checked by size first, so a
/// changed file is rarely read).
fn holds(path: &Path, bytes: &[u8]) -> bool {
    let same_size =
        std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64);
    same_size && std::fs::read(path).is_ok_and(|old| old == bytes)
}

/// `NN-kind-name.yaml` (or `.json`) as the core names files: digits, `-`, a lowercase kind,
/// `-`, a name.
fn is_rendered_file_name(name: &str) -> bool {
    let Some(stem) = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".json"))
    else {
        return false;
    };
    let mut parts = stem.splitn(3, '-');
    let (Some(number), Some(kind), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && !kind.is_empty()
        && kind.bytes().all(|b| b.is_ascii_lowercase())
        && !rest.is_empty()
}

/// Whether `path` is a regular file (not a link) whose content proves a render wrote it:
/// for a stream file ([`STREAM_FILE`], [`STREAM_FILE_JSON`]) every object in it carries our
/// label; for any other file it holds exactly one object, with our label, whose kind and name
/// are the ones in the file's name.
fn holds_our_objects(path: &Path, name: &str) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.is_file() || meta.len() > MAX_CHECKED_BYTES {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let json = std::path::Path::new(name)
        .extension()
        .is_some_and(|e| e == "json");
    let objects: Vec<Value> = if json {
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(list))
                if name == STREAM_FILE_JSON
                    && list.get("kind").and_then(Value::as_str) == Some("List") =>
            {
                match list.get("items") {
                    Some(Value::Array(items)) => items.clone(),
                    _ => return false,
                }
            }
            Ok(object) if name != STREAM_FILE_JSON => vec![object],
            _ => return false,
        }
    } else {
        let mut objects = Vec::new();
        for document in yaml_documents(&text) {
            match matrix_render_model::yaml::parse(document).0 {
                Ok(Some(object)) => objects.push(object),
                Ok(None) => {}
                Err(_) => return false,
            }
        }
        objects
    };
    if objects.is_empty() || !objects.iter().all(is_ours) {
        return false;
    }
    if name == STREAM_FILE || name == STREAM_FILE_JSON {
        return true;
    }
    let [object] = objects.as_slice() else {
        return false;
    };
    let field = |key: &str| object.get(key).and_then(Value::as_str);
    let object_name = object
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str);
    let (Some(kind), Some(object_name)) = (field("kind"), object_name) else {
        return false;
    };
    let extension = if json { ".json" } else { ".yaml" };
    name.trim_start_matches(|c: char| c.is_ascii_digit())
        .strip_prefix('-')
        .and_then(|rest| rest.strip_suffix(extension))
        == Some(format!("{}-{object_name}", kind.to_ascii_lowercase()).as_str())
}

/// The documents of a YAML stream, split at `---` lines.
fn yaml_documents(text: &str) -> Vec<&str> {
    let mut documents = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            documents.push(&text[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    documents.push(&text[start..]);
    documents
}

/// An object with an apiVersion, a kind and our `managed-by` label.
fn is_ours(object: &Value) -> bool {
    let label = object
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(|l| l.get(MANAGED_BY.0))
        .and_then(Value::as_str);
    object.get("apiVersion").is_some_and(Value::is_string)
        && object.get("kind").is_some_and(Value::is_string)
        && label == Some(MANAGED_BY.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mr-output-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const OURS: &str = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    \
                        app.kubernetes.io/managed-by: matrix-render\n  name: element-config\n  \
                        namespace: matrix\n";

    #[test]
    #[cfg(unix)]
    fn an_unchanged_file_is_left_alone_and_a_changed_one_replaced() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = scratch("atomic");
        let file = dir.join(STREAM_FILE);
        let inode = || std::fs::metadata(&file).unwrap().ino();
        for sync in [Sync::Os, Sync::EachFile] {
            write_stream(&dir, STREAM_FILE, "kind: A\n", sync).unwrap();
            let first = inode();
            write_stream(&dir, STREAM_FILE, "kind: A\n", sync).unwrap();
            assert_eq!(inode(), first, "an unchanged file was rewritten");
            // Same size, other bytes: replaced.
            write_stream(&dir, STREAM_FILE, "kind: B\n", sync).unwrap();
            assert_ne!(inode(), first);
            assert_eq!(std::fs::read_to_string(&file).unwrap(), "kind: B\n");
            write_stream(&dir, STREAM_FILE, "kind: Longer\n", sync).unwrap();
            assert_eq!(std::fs::read_to_string(&file).unwrap(), "kind: Longer\n");
            std::fs::remove_file(&file).unwrap();
        }
        // A symbolic link is replaced by a file, never written through.
        let elsewhere = dir.join("elsewhere");
        std::fs::write(&elsewhere, "kind: A\n").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
        write_stream(&dir, STREAM_FILE, "kind: A\n", Sync::Os).unwrap();
        assert!(std::fs::symlink_metadata(&file).unwrap().is_file());
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "kind: A\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_our_file_names_are_candidates() {
        assert!(is_rendered_file_name("01-secret-coturn-secret.yaml"));
        assert!(is_rendered_file_name("27-certificate-coturn-tls.yaml"));
        assert!(is_rendered_file_name("03-configmap-element-config.json"));
        assert!(!is_rendered_file_name("kustomization.yaml"));
        assert!(!is_rendered_file_name("01-secret-coturn-secret.yml"));
        assert!(!is_rendered_file_name("notes-secret-x.yaml"));
        assert!(!is_rendered_file_name("01-Secret-x.yaml"));
        assert!(!is_rendered_file_name("01-secret.yaml"));
    }

    #[test]
    fn a_file_is_ours_only_when_its_content_says_so() {
        let dir = scratch("proof");
        let check = |name: &str, text: &str| {
            std::fs::write(dir.join(name), text).unwrap();
            holds_our_objects(&dir.join(name), name)
        };
        assert!(check("03-configmap-element-config.yaml", OURS));
        // Without the leading `---`, as a person might save it.
        assert!(check("03-configmap-element-config.yaml", &OURS[4..]));
        // The name must be the object's.
        assert!(!check("03-configmap-other.yaml", OURS));
        assert!(!check("03-secret-element-config.yaml", OURS));
        // Not our label, or none.
        assert!(!check(
            "03-configmap-element-config.yaml",
            &OURS.replace("matrix-render", "helm")
        ));
        assert!(!check(
            "00-namespace-matrix.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: matrix\n"
        ));
        // Two objects in a one-object file, junk, an empty file.
        assert!(!check(
            "03-configmap-element-config.yaml",
            &format!("{OURS}{OURS}")
        ));
        assert!(!check("99-secret-stale.yaml", "stale"));
        assert!(!check("99-secret-stale.yaml", ""));
        assert!(!check("03-configmap-element-config.yaml", "{: ["));
        // JSON, one object.
        let json = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"element-config",
            "labels":{"app.kubernetes.io/managed-by":"matrix-render"}}}"#;
        assert!(check("03-configmap-element-config.json", json));
        assert!(!check("03-configmap-element-config.json", "[1]"));
        // Streams: every object ours.
        assert!(check(STREAM_FILE, &format!("{OURS}{OURS}")));
        assert!(!check(
            STREAM_FILE,
            &format!("{OURS}---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: mine\n")
        ));
        assert!(check(
            STREAM_FILE_JSON,
            &format!(r#"{{"apiVersion":"v1","kind":"List","items":[{json}]}}"#)
        ));
        assert!(!check(STREAM_FILE_JSON, json));
        // A link to a file of ours is not ours.
        #[cfg(unix)]
        {
            std::fs::write(dir.join("target.yaml"), OURS).unwrap();
            let link = dir.join("04-configmap-element-config.yaml");
            std::os::unix::fs::symlink(dir.join("target.yaml"), &link).unwrap();
            assert!(!holds_our_objects(
                &link,
                "04-configmap-element-config.yaml"
            ));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_list_names_only_plain_files_of_the_directory() {
        let dir = scratch("list");
        assert_eq!(read_list(&dir).unwrap(), None);
        std::fs::write(
            dir.join(FILE_LIST),
            "# comment\n01-secret-a.yaml\n\n../elsewhere.yaml\n/etc/passwd\n.hidden\nsub/x.yaml\n02-configmap-b.yaml\r\n",
        )
        .unwrap();
        assert_eq!(
            read_list(&dir).unwrap(),
            Some(vec![
                "01-secret-a.yaml".to_owned(),
                "02-configmap-b.yaml".to_owned()
            ])
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_listed_file_that_is_no_longer_ours_is_kept_and_reported() {
        let dir = scratch("kept");
        let ours = "03-configmap-element-config.yaml";
        write_files(
            &dir,
            &[(ours, OURS)],
            Sync::Os,
            Earlier::Objects,
            List::Keep,
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join(FILE_LIST))
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>(),
            [ours]
        );
        std::fs::write(dir.join(ours), "edited by hand\n").unwrap();
        let kept = write_files(&dir, &[], Sync::Os, Earlier::Objects, List::Keep).unwrap();
        assert_eq!(kept, [ours]);
        assert_eq!(
            std::fs::read_to_string(dir.join(ours)).unwrap(),
            "edited by hand\n"
        );
        // Reported once: the new list no longer names it.
        assert!(
            write_files(&dir, &[], Sync::Os, Earlier::Objects, List::Keep)
                .unwrap()
                .is_empty()
        );
        let written = Written { objects: 0, kept };
        assert!(written.warnings(&dir).contains("warning: kept "));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
