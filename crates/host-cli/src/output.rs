//! Writing output: stdout, or one file per object in a directory, each written atomically.

use std::io::Write;
use std::path::Path;

use matrix_render_model::api::ObjectInfo;

/// Writes every object's document into `dir` (created if missing): each file goes to a
/// temporary name first and is renamed into place, so readers never see half a file. Then
/// files a previous render wrote (`NN-kind-name.yaml`) that this render no longer produces
/// are removed, so `kubectl apply -f DIR` never applies a stale object; other files stay.
///
/// # Errors
/// The first I/O error, naming the path.
pub fn write_dir(dir: &Path, objects: &[ObjectInfo]) -> Result<usize, String> {
    write_dir_with(dir, objects, Sync::EachFile)
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

/// The one file of a tenant in `render --batch --batch-layout stream`.
pub const STREAM_FILE: &str = "matrix-stack.yaml";
/// [`STREAM_FILE`] for `--format json`.
pub const STREAM_FILE_JSON: &str = "matrix-stack.json";

/// Writes `text` to `dir/name` (creating `dir`) through a temporary name and a rename, then
/// removes the one-file-per-object files of an earlier render (`NN-kind-name.yaml`), which
/// `name` replaces.
///
/// # Errors
/// The first I/O error, naming the path.
pub fn write_stream(dir: &Path, name: &str, text: &str, sync: Sync) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    write_atomically(dir, name, text, sync)?;
    prune(dir, &[name])
}

/// `dir/name` through `dir/.name.tmp` and a rename; a file that already holds `text` is left
/// as it is (same inode, same modification time), so a re-render that changes nothing
/// writes nothing and tools that watch modification times see no change.
fn write_atomically(dir: &Path, name: &str, text: &str, sync: Sync) -> Result<(), String> {
    let target = dir.join(name);
    if holds(&target, text.as_bytes()) {
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
        let mut file = std::fs::File::create(&temp)?;
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

/// Whether `path` is a regular file whose content is `bytes` (checked by size first, so a
/// changed file is rarely read).
fn holds(path: &Path, bytes: &[u8]) -> bool {
    let same_size =
        std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64);
    same_size && std::fs::read(path).is_ok_and(|old| old == bytes)
}

/// Removes the files in `dir` that a render wrote (`NN-kind-name.yaml`) and `keep` does not
/// list.
fn prune(dir: &Path, keep: &[&str]) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_rendered_file_name(name) && !keep.contains(&name) {
            std::fs::remove_file(entry.path()).map_err(|e| {
                format!(
                    "{}: cannot remove a stale file: {e}",
                    entry.path().display()
                )
            })?;
        }
    }
    Ok(())
}

/// [`write_dir`], choosing whether each file is flushed to disk.
///
/// # Errors
/// The first I/O error, naming the path.
pub fn write_dir_with(dir: &Path, objects: &[ObjectInfo], sync: Sync) -> Result<usize, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    for object in objects {
        let Some(document) = &object.document else {
            return Err(format!(
                "the core returned no document for {}",
                object.file_name
            ));
        };
        write_atomically(dir, &object.file_name, document, sync)?;
    }
    let current: Vec<&str> = objects.iter().map(|o| o.file_name.as_str()).collect();
    prune(dir, &current)?;
    Ok(objects.len())
}

/// `NN-kind-name.yaml` as the core names files: digits, `-`, a lowercase kind, `-`, a name.
fn is_rendered_file_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".yaml") else {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn an_unchanged_file_is_left_alone_and_a_changed_one_replaced() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = std::env::temp_dir().join(format!("mr-output-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
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
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_our_file_names_are_pruned() {
        assert!(is_rendered_file_name("01-secret-coturn-secret.yaml"));
        assert!(is_rendered_file_name("27-certificate-coturn-tls.yaml"));
        assert!(!is_rendered_file_name("kustomization.yaml"));
        assert!(!is_rendered_file_name("01-secret-coturn-secret.yml"));
        assert!(!is_rendered_file_name("notes-secret-x.yaml"));
        assert!(!is_rendered_file_name("01-Secret-x.yaml"));
        assert!(!is_rendered_file_name("01-secret.yaml"));
    }
}
