//! Writing output: stdout, or one file per object in a directory, each written atomically,
//! with a list of the files written so that a later render removes only its own.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// Why a write failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The file system refused (no space, no permission, a file where a directory must be,
    /// a file of the user's where ours goes): the message names the path and the cause, and
    /// the previous output is as it was.
    Unwritable(String),
    /// The core's response lacked what the writer needs: a bug.
    Internal(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unwritable(m) | Self::Internal(m) => f.write_str(m),
        }
    }
}

/// Whether [`write_dir_with`] flushes each file to disk before swapping the directory in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    /// `fsync` each file and the new directory before the swap, and the parent after it: the
    /// output is on disk when the call returns.
    EachFile,
    /// Leave flushing to the OS. The swap still makes the directory appear whole to readers;
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

/// Writes every object's document into `dir` (created if missing), removing the files an
/// earlier render wrote there that this one no longer produces, all at once; see
/// [`write_files`]. Leftovers of an interrupted earlier render beside `dir` are cleared first
/// ([`clean_leftovers`]).
///
/// # Errors
/// The first I/O error, naming the path; the previous output is then as it was.
pub fn write_dir(dir: &Path, objects: &[ObjectInfo]) -> Result<Written, Failure> {
    let dir = resolve(dir)?;
    let (parent, base) = parent_and_base(&dir)?;
    clean_leftovers(&parent, Some(&base))?;
    write_dir_with(&dir, objects, Sync::EachFile, Earlier::Objects)
}

/// [`write_dir`], choosing whether each file is flushed to disk and which unlisted files an
/// earlier version may have written, without clearing leftovers (a batch does that once).
///
/// # Errors
/// The first I/O error, naming the path; the previous output is then as it was.
pub fn write_dir_with(
    dir: &Path,
    objects: &[ObjectInfo],
    sync: Sync,
    earlier: Earlier,
) -> Result<Written, Failure> {
    let mut files = Vec::with_capacity(objects.len());
    for object in objects {
        let Some(document) = &object.document else {
            return Err(Failure::Internal(format!(
                "the core returned no document for {}",
                object.file_name
            )));
        };
        files.push((object.file_name.as_str(), document.as_str()));
    }
    let kept = write_files(dir, &files, sync, earlier, List::Keep)?;
    Ok(Written {
        objects: objects.len(),
        kept,
    })
}

/// Writes `text` to `dir/name` (creating `dir`), removing the files of an earlier render
/// that `name` replaces (the one-file-per-object layout); see [`write_files`]. No list is
/// kept (it would double the files of a batch, and this layout exists to have few): the
/// next render recognises the stream file by its name and content.
///
/// # Errors
/// The first I/O error, naming the path; the previous output is then as it was.
pub fn write_stream(
    dir: &Path,
    name: &str,
    text: &str,
    sync: Sync,
) -> Result<Vec<String>, Failure> {
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
    /// Leave none (an earlier one has served to find an earlier render's files).
    Drop,
}

fn unwritable(path: &Path, what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::Unwritable(format!("{}: {what}: {e}", path.display()))
}

/// Writes `files` (name, text) into `dir` all or nothing, and removes the files an earlier
/// render wrote that this one does not, and only those:
///
/// - with a [`FILE_LIST`], the files it names;
/// - without one (a new directory, or one written by a version that kept no list), the
///   files named as [`Earlier`] says;
///
/// and of these only the regular files whose content proves they are ours: every document
/// carries `app.kubernetes.io/managed-by: matrix-render`, and a one-object file's name is the
/// one the core gives that object (`NN-kind-name`). Listed files that fail the check are left
/// and returned, for a warning; anything else in `dir` is carried over untouched. A file of
/// someone else's where one of ours goes (not listed, not ours by its content) is an error.
///
/// The new content is built in a fresh sibling directory, `.NAME.matrix-render-PID-N`
/// (created exclusively, mode 0700 until it is complete), then swapped in whole
/// ([`swap`]): unchanged files and every file that is not ours are hard links to the
/// current ones (same inode, same modification time), new files are created there. A
/// failure (no space left, no permission) or an interruption before the swap leaves `dir`
/// exactly as it was. A render that changes nothing writes nothing.
fn write_files(
    dir: &Path,
    files: &[(&str, &str)],
    sync: Sync,
    earlier: Earlier,
    list: List,
) -> Result<Vec<String>, Failure> {
    let (parent, base) = parent_and_base(dir)?;
    std::fs::create_dir_all(&parent).map_err(|e| unwritable(&parent, "cannot create", e))?;
    let exists = match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => true,
        Ok(_) => {
            return Err(Failure::Unwritable(format!(
                "{}: not a directory; --output-dir needs a directory (or a name that does not \
                 exist yet)",
                dir.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(unwritable(dir, "cannot read", e)),
    };
    let current: BTreeSet<&str> = files.iter().map(|(name, _)| *name).collect();
    let previous = if exists { read_list(dir)? } else { None };
    let listed: BTreeSet<String> = previous.iter().flatten().cloned().collect();
    let candidates: Vec<String> = match previous {
        Some(names) => names,
        None if exists => list_dir(dir)?
            .into_iter()
            .filter(|name| match earlier {
                Earlier::Objects => is_rendered_file_name(name),
                Earlier::ObjectsAndStreams => {
                    is_rendered_file_name(name) || name == STREAM_FILE || name == STREAM_FILE_JSON
                }
            })
            .collect(),
        None => Vec::new(),
    };
    let has_list = exists && std::fs::symlink_metadata(dir.join(FILE_LIST)).is_ok();
    let mut stale = BTreeSet::new();
    let mut kept = Vec::new();
    for name in candidates {
        if current.contains(name.as_str()) {
            continue;
        }
        if holds_our_objects(&dir.join(&name), &name) {
            stale.insert(name);
        } else if has_list && std::fs::symlink_metadata(dir.join(&name)).is_ok() {
            kept.push(name);
        }
    }
    // Where one of ours goes, a regular file that is neither on the list nor ours by its
    // content is someone else's: never overwritten.
    for name in &current {
        let path = dir.join(name);
        if exists
            && std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file())
            && !listed.contains(*name)
            && !holds_our_objects(&path, name)
        {
            return Err(Failure::Unwritable(format!(
                "{}: exists and does not hold what matrix-render wrote there; move it away \
                 (matrix-render writes this file)",
                path.display()
            )));
        }
    }
    // In name order, as `ls` and `kubectl apply -f DIR` see the files.
    let list_text = list_text(current.iter().copied());
    let unchanged = exists
        && stale.is_empty()
        && files
            .iter()
            .all(|(name, text)| holds(&dir.join(name), text.as_bytes()))
        && match list {
            List::Keep => holds(&dir.join(FILE_LIST), list_text.as_bytes()),
            List::Drop => !has_list,
        };
    if unchanged {
        for (name, text) in files {
            let path = dir.join(name);
            if holds_a_secret(text) {
                // Written by an older version, readable by everyone.
                restrict(&path).map_err(|e| unwritable(&path, "cannot restrict", e))?;
            }
            if sync == Sync::EachFile {
                // An earlier writer may have left it to the OS to flush.
                std::fs::File::open(&path)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| unwritable(&path, "cannot flush", e))?;
            }
        }
        return Ok(kept);
    }

    if exists
        && let (Ok(here), Ok(canonical)) = (std::env::current_dir(), std::fs::canonicalize(dir))
        && here.starts_with(&canonical)
    {
        // After the swap the working directory would be the removed old one.
        return Err(Failure::Unwritable(format!(
            "{}: is the current directory (or holds it); matrix-render replaces the directory \
             whole, so run it from outside, e.g. `cd ..` first",
            dir.display()
        )));
    }
    let building = Building::create(&parent, &base)?;
    let new = building.path.clone();
    if exists {
        for name in list_dir(dir)? {
            if current.contains(name.as_str())
                || stale.contains(&name)
                || name == FILE_LIST
                || is_earlier_temporary(&name)
            {
                continue;
            }
            carry_over(&dir.join(&name), &new.join(&name))?;
        }
    }
    for (name, text) in files {
        let old = dir.join(name);
        let target = new.join(name);
        let private = holds_a_secret(text);
        if exists && holds(&old, text.as_bytes()) {
            std::fs::hard_link(&old, &target).map_err(|e| unwritable(&old, "cannot link", e))?;
            if private {
                restrict(&target).map_err(|e| unwritable(&old, "cannot restrict", e))?;
            }
        } else {
            create(&target, text, private, sync)
                .map_err(|e| unwritable(&old, "cannot write", e))?;
        }
    }
    if list == List::Keep {
        create(&new.join(FILE_LIST), &list_text, false, sync)
            .map_err(|e| unwritable(&dir.join(FILE_LIST), "cannot write", e))?;
    }
    let mode = if exists {
        Some(
            std::fs::symlink_metadata(dir)
                .map(|m| m.permissions())
                .map_err(|e| unwritable(dir, "cannot read", e))?,
        )
    } else {
        default_dir_permissions()
    };
    if let Some(mode) = mode {
        std::fs::set_permissions(&new, mode)
            .map_err(|e| unwritable(dir, "cannot set the mode", e))?;
    }
    if sync == Sync::EachFile {
        std::fs::File::open(&new)
            .and_then(|f| f.sync_all())
            .map_err(|e| unwritable(dir, "cannot flush", e))?;
    }
    building.swap_into(dir, exists)?;
    if sync == Sync::EachFile {
        std::fs::File::open(&parent)
            .and_then(|f| f.sync_all())
            .map_err(|e| unwritable(&parent, "cannot flush", e))?;
    }
    Ok(kept)
}

/// `.NAME.tmp` for one of our names: the temporary file of an earlier version, left by an
/// interrupted run (or a link planted there); dropped, never carried over.
fn is_earlier_temporary(name: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|n| n.strip_suffix(".tmp"))
        .is_some_and(|n| {
            is_rendered_file_name(n) || n == STREAM_FILE || n == STREAM_FILE_JSON || n == FILE_LIST
        })
}

/// `dir` itself, or where it leads when it is a link to a directory (the user's choice of
/// where the output lives): the swap then happens there, and the link stays.
fn resolve(dir: &Path) -> Result<PathBuf, Failure> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(dir).map_err(|e| unwritable(dir, "cannot follow the link", e))
        }
        _ => Ok(dir.to_path_buf()),
    }
}

/// The directory holding `dir` and `dir`'s own name (`.` and `..` resolved first).
fn parent_and_base(dir: &Path) -> Result<(PathBuf, String), Failure> {
    let plain = dir
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty());
    let dir = if plain.is_some() {
        dir.to_path_buf()
    } else {
        std::fs::canonicalize(dir).map_err(|e| unwritable(dir, "cannot resolve", e))?
    };
    let Some(base) = dir.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
        return Err(Failure::Unwritable(format!(
            "{}: cannot be an output directory (it has no name to swap a new one in under)",
            dir.display()
        )));
    };
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, base))
}

/// The marker in the names of the directories a render builds beside its output.
const BUILDING: &str = ".matrix-render-";

/// The `N` of the next directory this process builds.
static NEXT_BUILDING: AtomicUsize = AtomicUsize::new(0);

/// A directory being built beside the output, removed (with everything in it) unless it was
/// swapped in.
#[derive(Debug)]
struct Building {
    path: PathBuf,
    parent: PathBuf,
    done: bool,
}

impl Building {
    /// `PARENT/.BASE.matrix-render-PID-N`, created new with mode 0700: `mkdir` fails on any
    /// name that exists, a link included, so nothing planted there is followed.
    fn create(parent: &Path, base: &str) -> Result<Self, Failure> {
        loop {
            let n = NEXT_BUILDING.fetch_add(1, Ordering::Relaxed);
            let path = parent.join(format!(".{base}{BUILDING}{}-{n}", std::process::id()));
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                builder.mode(0o700);
            }
            match builder.create(&path) {
                Ok(()) => {
                    return Ok(Self {
                        path,
                        parent: parent.to_path_buf(),
                        done: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(unwritable(
                        parent,
                        "cannot create a directory here to build the output in",
                        e,
                    ));
                }
            }
        }
    }

    /// Puts the finished directory at `dir`: see [`swap`].
    fn swap_into(mut self, dir: &Path, exists: bool) -> Result<(), Failure> {
        let result = swap(&self.path, dir, exists, &self.parent);
        self.done = result.is_ok();
        result
    }
}

impl Drop for Building {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Puts the directory `new` at `dir` in one step, and removes the previous one.
///
/// On Linux `renameat2(RENAME_EXCHANGE)` swaps the two names atomically: readers see the old
/// directory or the new one, never a mix, and a crash leaves one of them at `dir` (and the
/// other under the temporary name, removed by the next render). Elsewhere, or on a file
/// system without the exchange, the old directory is renamed aside and the new one renamed
/// in: a crash between the two renames leaves no `dir`, the previous output whole at
/// `.NAME.matrix-render-old-PID-N` and the new one whole at `.NAME.matrix-render-PID-N`; the
/// next render puts the previous one back before it starts. Never a mixed directory.
fn swap(new: &Path, dir: &Path, exists: bool, parent: &Path) -> Result<(), Failure> {
    if !exists {
        return std::fs::rename(new, dir).map_err(|e| unwritable(dir, "cannot create", e));
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, new, CWD, dir, RenameFlags::EXCHANGE) {
            Ok(()) => {
                // `new` now names the previous output.
                let _ = std::fs::remove_dir_all(new);
                return Ok(());
            }
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(unwritable(dir, "cannot replace", std::io::Error::from(e))),
        }
    }
    swap_by_renames(new, dir, parent)
}

/// [`swap`] without the exchange: the old directory aside, the new one in, the old one
/// removed.
fn swap_by_renames(new: &Path, dir: &Path, parent: &Path) -> Result<(), Failure> {
    let file_name = new.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let aside = parent.join(file_name.replacen(BUILDING, &format!("{BUILDING}old-"), 1));
    std::fs::rename(dir, &aside).map_err(|e| unwritable(dir, "cannot move aside", e))?;
    if let Err(e) = std::fs::rename(new, dir) {
        let _ = std::fs::rename(&aside, dir);
        return Err(unwritable(dir, "cannot replace", e));
    }
    let _ = std::fs::remove_dir_all(&aside);
    Ok(())
}

/// Removes what interrupted renders left in `parent`: directories being built
/// (`.NAME.matrix-render-PID-N`) of processes that no longer run, and puts back a previous
/// output a crash left aside (`.NAME.matrix-render-old-PID-N`) when `NAME` is missing. With
/// `base`, only the leftovers of `parent/base`.
///
/// # Errors
/// `parent` cannot be listed, or a leftover cannot be removed or put back.
pub fn clean_leftovers(parent: &Path, base: Option<&str>) -> Result<(), Failure> {
    let entries = match std::fs::read_dir(parent) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(unwritable(parent, "cannot list", e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| unwritable(parent, "cannot list", e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some((owner, tail)) = name
            .strip_prefix('.')
            .and_then(|rest| rest.rsplit_once(BUILDING))
        else {
            continue;
        };
        if base.is_some_and(|b| b != owner) || owner.is_empty() {
            continue;
        }
        let (aside, numbers) = match tail.strip_prefix("old-") {
            Some(numbers) => (true, numbers),
            None => (false, tail),
        };
        let Some((pid, n)) = numbers.split_once('-') else {
            continue;
        };
        let (Ok(pid), true) = (pid.parse::<u32>(), n.bytes().all(|b| b.is_ascii_digit())) else {
            continue;
        };
        if pid == std::process::id() || running(pid) {
            continue;
        }
        let path = entry.path();
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let dir = parent.join(owner);
        if aside && std::fs::symlink_metadata(&dir).is_err() {
            std::fs::rename(&path, &dir)
                .map_err(|e| unwritable(&dir, "cannot put the previous output back", e))?;
        } else {
            std::fs::remove_dir_all(&path)
                .map_err(|e| unwritable(&path, "cannot remove a leftover", e))?;
        }
    }
    Ok(())
}

/// Whether a process with this id runs (on this host); when unsure, yes.
fn running(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return true;
        };
        rustix::process::test_kill_process(pid) != Err(rustix::io::Errno::SRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// The mode a new directory gets from the process's umask (read from Linux's
/// `/proc/self/status`; `0755` where it cannot be read).
#[cfg(unix)]
fn default_dir_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt as _;
    let umask = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("Umask:")
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
        })
        .unwrap_or(0o022);
    Some(std::fs::Permissions::from_mode(0o777 & !umask))
}

/// Left as created elsewhere.
#[cfg(not(unix))]
fn default_dir_permissions() -> Option<std::fs::Permissions> {
    None
}

/// Creates `path` new (never through a link: `O_EXCL`), mode 0600 when `private`, with
/// `text`.
fn create(path: &Path, text: &str, private: bool, sync: Sync) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    if sync == Sync::EachFile {
        file.sync_all()?;
    }
    Ok(())
}

/// Puts what is at `from` (a file, a link, a directory tree of the user's) at `to` in the
/// directory being built, without copying data: files are hard links (same inode), links
/// are made anew with the same target, directories are made with the same mode and filled
/// the same way. A copy where a hard link is impossible (another file system mounted
/// inside).
fn carry_over(from: &Path, to: &Path) -> Result<(), Failure> {
    let meta = std::fs::symlink_metadata(from).map_err(|e| unwritable(from, "cannot read", e))?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        let target = std::fs::read_link(from).map_err(|e| unwritable(from, "cannot read", e))?;
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, to).map_err(|e| unwritable(from, "cannot keep", e))?;
        #[cfg(not(unix))]
        let _ = target;
        Ok(())
    } else if kind.is_dir() {
        std::fs::create_dir(to).map_err(|e| unwritable(from, "cannot keep", e))?;
        for name in list_dir(from)? {
            carry_over(&from.join(&name), &to.join(&name))?;
        }
        std::fs::set_permissions(to, meta.permissions())
            .map_err(|e| unwritable(from, "cannot keep", e))
    } else if kind.is_file() {
        match std::fs::hard_link(from, to) {
            Ok(()) => Ok(()),
            Err(_) => std::fs::copy(from, to)
                .map(drop)
                .map_err(|e| unwritable(from, "cannot keep", e)),
        }
    } else {
        Err(Failure::Unwritable(format!(
            "{}: not a regular file, link or directory; matrix-render cannot keep it when it \
             replaces the directory: move it out",
            from.display()
        )))
    }
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
fn read_list(dir: &Path) -> Result<Option<Vec<String>>, Failure> {
    let path = dir.join(FILE_LIST);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unwritable(&path, "cannot read", e)),
        Ok(m) if !m.is_file() => {
            return Err(Failure::Unwritable(format!(
                "{}: not a regular file; matrix-render keeps its list of written files there",
                path.display()
            )));
        }
        Ok(_) => {}
    }
    let text = std::fs::read(&path).map_err(|e| unwritable(&path, "cannot read", e))?;
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

fn list_dir(dir: &Path) -> Result<Vec<String>, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| unwritable(dir, "cannot list", e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| unwritable(dir, "cannot list", e))?;
        match entry.file_name().into_string() {
            Ok(name) => names.push(name),
            Err(name) => {
                return Err(Failure::Unwritable(format!(
                    "{}: a name that is not UTF-8 ({}); matrix-render cannot keep it when it \
                     replaces the directory: rename or move it",
                    dir.display(),
                    name.to_string_lossy()
                )));
            }
        }
    }
    names.sort();
    Ok(names)
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
/// (and namespace, when the name carries one) are the ones in the file's name.
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
    let Some(named) = name
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .strip_prefix('-')
        .and_then(|rest| rest.strip_suffix(extension))
    else {
        return false;
    };
    // `kind-name`, or `kind-name_NAMESPACE` for an object outside the stack's namespace.
    let plain = format!("{}-{object_name}", kind.to_ascii_lowercase());
    let namespace = object
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str);
    named == plain
        || namespace.is_some_and(|ns| named.strip_suffix(ns) == Some(&format!("{plain}_")))
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
        let a = OURS;
        let b = OURS.replace("element-config", "element-confih");
        let longer = format!("{OURS}{OURS}");
        for sync in [Sync::Os, Sync::EachFile] {
            write_stream(&dir, STREAM_FILE, a, sync).unwrap();
            let first = inode();
            write_stream(&dir, STREAM_FILE, a, sync).unwrap();
            assert_eq!(inode(), first, "an unchanged file was rewritten");
            // Same size, other bytes: replaced.
            write_stream(&dir, STREAM_FILE, &b, sync).unwrap();
            assert_ne!(inode(), first);
            assert_eq!(std::fs::read_to_string(&file).unwrap(), b);
            write_stream(&dir, STREAM_FILE, &longer, sync).unwrap();
            assert_eq!(std::fs::read_to_string(&file).unwrap(), longer);
            std::fs::remove_file(&file).unwrap();
        }
        // A symbolic link is replaced by a file, never written through.
        let elsewhere = dir.join("elsewhere");
        std::fs::write(&elsewhere, "the user's\n").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
        write_stream(&dir, STREAM_FILE, a, Sync::Os).unwrap();
        assert!(std::fs::symlink_metadata(&file).unwrap().is_file());
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "the user's\n");
        // A file of someone else's where ours goes is an error, and stays.
        std::fs::remove_file(&file).unwrap();
        std::fs::write(&file, "kind: Mine\n").unwrap();
        let refused = write_stream(&dir, STREAM_FILE, a, Sync::Os).unwrap_err();
        assert!(
            matches!(&refused, Failure::Unwritable(m) if m.contains(STREAM_FILE)),
            "{refused}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "kind: Mine\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    #[cfg(unix)]
    fn links_planted_at_the_names_of_the_directory_being_built_are_not_followed() {
        let root = scratch("building");
        let victim = root.join("victim");
        std::fs::create_dir_all(&victim).unwrap();
        let out = root.join("out");
        let next = NEXT_BUILDING.load(Ordering::Relaxed);
        let pid = std::process::id();
        for n in next..next + 64 {
            std::os::unix::fs::symlink(&victim, root.join(format!(".out{BUILDING}{pid}-{n}")))
                .unwrap();
        }
        write_dir_with(&out, &[], Sync::Os, Earlier::Objects).unwrap();
        write_files(
            &out,
            &[("07-configmap-element-config.yaml", OURS)],
            Sync::Os,
            Earlier::Objects,
            List::Keep,
        )
        .unwrap();
        assert_eq!(list_dir(&victim).unwrap(), Vec::<String>::new());
        assert_eq!(
            std::fs::read_to_string(out.join("07-configmap-element-config.yaml")).unwrap(),
            OURS
        );
        // Only `out`, the victim and the links.
        assert_eq!(list_dir(&root).unwrap().len(), 66);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    #[cfg(unix)]
    fn leftovers_of_a_dead_process_are_cleared_and_an_output_left_aside_put_back() {
        let root = scratch("leftovers");
        let mut dead = std::process::Command::new("true").spawn().unwrap();
        let pid = dead.id();
        dead.wait().unwrap();
        let aside = root.join(format!(".out{BUILDING}old-{pid}-3"));
        let building = root.join(format!(".out{BUILDING}{pid}-4"));
        let others = root.join(format!(".other{BUILDING}{pid}-5"));
        let mine = root.join(format!(".out{BUILDING}{}-6", std::process::id()));
        for dir in [&aside, &building, &others, &mine] {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join("f"), "x").unwrap();
        }
        clean_leftovers(&root, Some("out")).unwrap();
        assert_eq!(std::fs::read_to_string(root.join("out/f")).unwrap(), "x");
        assert!(!aside.exists() && !building.exists());
        assert!(others.exists() && mine.exists());
        // With `out` in place, an aside copy is removed; any name when no base is given.
        std::fs::create_dir_all(&aside).unwrap();
        clean_leftovers(&root, None).unwrap();
        assert!(!aside.exists() && !others.exists() && mine.exists());
        assert!(root.join("out/f").exists());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn the_swap_without_the_exchange_leaves_the_new_directory_and_nothing_else() {
        let root = scratch("renames");
        let (dir, new) = (root.join("out"), root.join(format!(".out{BUILDING}1-2")));
        for (d, text) in [(&dir, "old"), (&new, "new")] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("f"), text).unwrap();
        }
        swap_by_renames(&new, &dir, &root).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "new");
        assert_eq!(list_dir(&root).unwrap(), ["out"]);
        // The new directory missing: the old one is put back.
        assert!(swap_by_renames(&new, &dir, &root).is_err());
        assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "new");
        assert_eq!(list_dir(&root).unwrap(), ["out"]);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn only_our_file_names_are_candidates() {
        assert!(is_rendered_file_name("06-secret-coturn-secret.yaml"));
        assert!(is_rendered_file_name(
            "06-secret-coturn-secret_matrix-host.yaml"
        ));
        assert!(is_rendered_file_name("29-certificate-coturn-tls.yaml"));
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
        // Outside the stack's namespace the name carries the object's namespace.
        assert!(check("07-configmap-element-config_matrix.yaml", OURS));
        assert!(!check("07-configmap-element-config_other.yaml", OURS));
        assert!(!check("07-configmap-element-config_.yaml", OURS));
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
