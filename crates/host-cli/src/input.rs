//! Reading the user's files into a RenderRequest.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use matrix_render_model::api::RenderRequest;
use matrix_render_model::{command, limits};

/// The variable that sets [`ReadLimits::total`], in MiB.
pub const INPUT_LIMIT_VAR: &str = "MATRIX_RENDER_INPUT_MIB";

/// How much the CLI reads for one render, checked while reading (nothing larger is ever
/// held in memory): each values file up to the core's limit for a values document, each
/// static folder up to what one ConfigMap may hold, and everything together (values files,
/// stdin, static files, a KRM ResourceList, a chart's manifest) up to `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Bytes read in all for one render.
    pub total: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            total: limits::DEFAULT_INPUT_BYTES as u64,
        }
    }
}

impl ReadLimits {
    /// The default, or [`INPUT_LIMIT_VAR`] when it is set.
    ///
    /// # Errors
    /// The variable is not a whole number of MiB above 0.
    pub fn from_env() -> Result<Self, InputError> {
        match std::env::var(INPUT_LIMIT_VAR) {
            Err(_) => Ok(Self::default()),
            Ok(text) => text
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|mib| *mib > 0)
                .map(|mib| Self {
                    total: mib.saturating_mul(1024 * 1024),
                })
                .ok_or_else(|| InputError {
                    code: "invalid-environment",
                    file: String::new(),
                    message: format!(
                        "{INPUT_LIMIT_VAR}={text} is not a whole number of MiB above 0"
                    ),
                }),
        }
    }
}

/// An input problem found before the core runs (exit 1): the command layer's refusal,
/// printed `error[code]: file: message`. Codes: `unreadable-input`, `file-too-large`,
/// `input-too-large`, `not-a-file`, `url-not-read`, `invalid-environment`, `invalid-set`.
pub use matrix_render_model::command::Refusal as InputError;

/// `1 MiB`, or the exact bytes when not a whole number of MiB.
fn size(bytes: u64) -> String {
    if bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / 1024 / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// What one read may take: the file's own limit and what is left of the total.
#[derive(Debug, Clone, Copy)]
struct Allowance {
    /// The file's own limit, and why it has one.
    own: Option<(u64, &'static str)>,
    /// What is left of [`ReadLimits::total`], and that total.
    left: u64,
    total: u64,
}

impl Allowance {
    fn most(self) -> u64 {
        self.own.map_or(self.left, |(own, _)| own.min(self.left))
    }

    /// The error for a file that holds more than [`Self::most`].
    fn exceeded(self, path: &str) -> InputError {
        let (subject, with) = if path == "-" {
            ("stdin", "with stdin")
        } else {
            ("the file", "with this file")
        };
        match self.own {
            Some((own, why)) if own <= self.left => InputError::new(
                "file-too-large",
                path,
                format!("{subject} holds more than {}, the most {why}", size(own)),
            ),
            _ => InputError::new(
                "input-too-large",
                path,
                format!(
                    "{with} the input goes over {}, the most read in all for one render \
                     ({INPUT_LIMIT_VAR}); raise the limit if this is intended, e.g. \
                     {INPUT_LIMIT_VAR}={}",
                    size(self.total),
                    (self.total / 1024 / 1024).saturating_mul(4).max(1)
                ),
            ),
        }
    }
}

/// Why a values file has a limit of its own.
const VALUES_FILE: &str =
    "a values file may hold; a values file is a few kilobytes: check that this is the right file";

/// Reads `path` (stdin for `-`) into memory, at most `allowance.most()` bytes: a larger file
/// is refused after reading one byte more, whatever its size. Only regular files are read,
/// and pipes the shell hands over as `/dev/fd/N`: a FIFO, socket or device is refused before
/// it is opened (a FIFO without a writer would block forever), and checked again on the
/// opened file, in case it changed in between.
fn read_bytes(path: &str, allowance: Allowance) -> Result<Vec<u8>, InputError> {
    if is_url(path) {
        return Err(InputError::new(
            "url-not-read",
            path,
            "matrix-render reads files, not URLs (it makes no network call): download it \
             first, e.g. `curl -fsSL URL -o values.yaml`, and pass the file"
                .to_owned(),
        ));
    }
    let most = allowance.most();
    let unreadable =
        |e: std::io::Error| InputError::new("unreadable-input", path, format!("cannot read: {e}"));
    let mut bytes = Vec::new();
    if path == "-" {
        read_at_most(std::io::stdin().lock(), most, &mut bytes).map_err(unreadable)?;
    } else {
        let kind = std::fs::metadata(path).map_err(unreadable)?.file_type();
        let handed_over = is_pipe(kind) && is_descriptor(path);
        if !kind.is_file() && !handed_over {
            return Err(not_a_file(path, kind));
        }
        let file = if handed_over {
            // A pipe the shell opened for us (`-f <(sops -d secrets.yaml)`): its writer is
            // running, so opening it does not wait; it is read like stdin.
            std::fs::File::open(path).map_err(unreadable)?
        } else {
            open_nonblocking(path).map_err(unreadable)?
        };
        let meta = file.metadata().map_err(unreadable)?;
        let readable = meta.is_file() || (handed_over && is_pipe(meta.file_type()));
        if !readable {
            return Err(not_a_file(path, meta.file_type()));
        }
        // `take` hides the file's size from `read_to_end`, which would then read in small
        // steps from 32 bytes up; reserve it, so one read takes the file whole.
        let size = meta.len().min(most);
        bytes.reserve(usize::try_from(size).unwrap_or(0) + 1);
        read_at_most(file, most, &mut bytes).map_err(unreadable)?;
    }
    if bytes.len() as u64 > most {
        return Err(allowance.exceeded(path));
    }
    Ok(bytes)
}

/// Reads into `bytes` until the end or one byte past `most`, whichever comes first: whether
/// the input is larger than `most` is known without reading (or holding) any more of it.
fn read_at_most(reader: impl Read, most: u64, bytes: &mut Vec<u8>) -> std::io::Result<usize> {
    reader.take(most.saturating_add(1)).read_to_end(bytes)
}

/// A path to one of this process's open descriptors, as a shell's process substitution
/// (`<(command)`) hands it over.
fn is_descriptor(path: &str) -> bool {
    ["/dev/fd/", "/proc/self/fd/"].iter().any(|dir| {
        path.strip_prefix(dir)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

#[cfg(unix)]
fn is_pipe(kind: std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    kind.is_fifo()
}

#[cfg(not(unix))]
fn is_pipe(_kind: std::fs::FileType) -> bool {
    false
}

/// Opens a file for reading without waiting for a writer (a FIFO swapped in after the
/// check); reads from a regular file are unaffected by the flag.
fn open_nonblocking(path: &str) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

fn not_a_file(path: &str, kind: std::fs::FileType) -> InputError {
    let what = if kind.is_dir() {
        "a directory"
    } else {
        special_file(kind)
    };
    InputError::new(
        "not-a-file",
        path,
        format!("is {what}, not a regular file; give a file (or `-` for stdin)"),
    )
}

#[cfg(unix)]
fn special_file(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_file(_kind: std::fs::FileType) -> &'static str {
    "a special file"
}

/// The bytes as UTF-8, or where they stop being UTF-8.
fn utf8(path: &str, bytes: Vec<u8>) -> Result<String, InputError> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        let message = if looks_binary(e.as_bytes()) {
            "a binary file (an image, an archive, ...), not text: only text files (HTML, CSS, \
             SVG, ...) can be served; put images on another server and link them by URL"
                .to_owned()
        } else {
            format!("not valid UTF-8 (line {line}, byte offset {offset}); save the file as UTF-8")
        };
        InputError::new("unreadable-input", path, message)
    })
}

/// Whether bytes that are not UTF-8 are binary data rather than text in another encoding:
/// a NUL byte near the start (no text encoding a values file or a page would use has one),
/// as in PNG, JPEG, GIF, WebP, ICO, PDF and archives.
fn looks_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8192).any(|b| *b == 0)
        || bytes.starts_with(b"\x89PNG")
        || bytes.starts_with(b"\xff\xd8\xff")
}

/// Whether a file argument is a URL (`https://...`, `oci://...`), which Helm would fetch.
fn is_url(path: &str) -> bool {
    path.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// Everything the render and validate commands take: the command layer's flags.
pub use matrix_render_model::command::Inputs;

/// Reads a text file (or stdin for `-`) as UTF-8, up to the whole of [`ReadLimits::total`]
/// (`matrix-render krm`'s ResourceList, `migrate --from-helm`'s manifest).
///
/// # Errors
/// Missing, unreadable, not a regular file, too large or not UTF-8.
pub fn read_text(path: &str, limits: ReadLimits) -> Result<String, InputError> {
    let bytes = read_bytes(
        path,
        Allowance {
            own: None,
            left: limits.total,
            total: limits.total,
        },
    )?;
    utf8(path, bytes)
}

/// The files of `--static-dir`, read once (a batch shares them between its tenants).
#[derive(Debug, Clone, Default)]
pub struct StaticFiles {
    /// `pages/<name>` and `static-assets/<name>` to the text.
    pub files: BTreeMap<String, String>,
    /// Their bytes in all, counted against [`ReadLimits::total`].
    pub bytes: u64,
}

/// Reads `--static-dir`, if given.
///
/// # Errors
/// The first file that cannot be read, or a folder over its limit.
pub fn static_files(inputs: &Inputs, limits: ReadLimits) -> Result<StaticFiles, InputError> {
    match &inputs.static_dir {
        Some(dir) => read_static_dir(Path::new(dir), limits),
        None => Ok(StaticFiles::default()),
    }
}

/// Builds the request the core receives, reading the values files and `--static-dir`
/// within [`ReadLimits::from_env`].
///
/// # Errors
/// The first file that cannot be read, or the first that goes over a limit.
pub fn request(inputs: &Inputs) -> Result<RenderRequest, InputError> {
    let limits = ReadLimits::from_env()?;
    let files = static_files(inputs, limits)?;
    request_with(inputs, &files, limits)
}

/// [`request`] with the static files already read.
///
/// # Errors
/// The first values file that cannot be read, or the first that goes over a limit.
pub fn request_with(
    inputs: &Inputs,
    files: &StaticFiles,
    limits: ReadLimits,
) -> Result<RenderRequest, InputError> {
    command::request(
        inputs,
        &mut Files {
            files,
            limits,
            used: files.bytes,
        },
    )
}

/// The command layer's environment in the CLI: the files, each read bounded, and the
/// static folder already read.
struct Files<'a> {
    files: &'a StaticFiles,
    limits: ReadLimits,
    /// Bytes read so far, counted against [`ReadLimits::total`].
    used: u64,
}

impl command::Environment for Files<'_> {
    /// A values file or a --set-file: at most a values document, within what is left in all.
    fn read(&mut self, path: &str) -> Result<String, InputError> {
        let bytes = read_bytes(
            path,
            Allowance {
                own: Some((limits::MAX_DOCUMENT_BYTES as u64, VALUES_FILE)),
                left: self.limits.total.saturating_sub(self.used),
                total: self.limits.total,
            },
        )?;
        self.used += bytes.len() as u64;
        utf8(path, bytes)
    }

    fn static_files(&mut self, _dir: &str) -> Result<BTreeMap<String, String>, InputError> {
        Ok(self.files.files.clone())
    }
}

/// Why a static folder has a limit of its own.
const STATIC_FOLDER: &str = "a static folder may hold";

/// `DIR/pages/*` and `DIR/static-assets/*`, keyed `pages/<name>` and `static-assets/<name>`.
/// Each folder becomes one ConfigMap, so each may hold at most what a ConfigMap may.
fn read_static_dir(dir: &Path, limits: ReadLimits) -> Result<StaticFiles, InputError> {
    let mut out = StaticFiles::default();
    let mut found_any = false;
    for sub in ["pages", "static-assets"] {
        let path = dir.join(sub);
        if !path.is_dir() {
            continue;
        }
        found_any = true;
        let listed = path.display().to_string();
        let cannot_list = |e: std::io::Error| {
            InputError::new("unreadable-input", &listed, format!("cannot list: {e}"))
        };
        let mut entries = std::fs::read_dir(&path)
            .map_err(cannot_list)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(cannot_list)?;
        // In name order, so that the file reported over a limit is the same on every host.
        entries.sort_by_key(std::fs::DirEntry::file_name);
        let mut folder = 0_u64;
        for entry in entries {
            let file = entry.path().display().to_string();
            let kind = entry.file_type().map_err(|e| {
                InputError::new("unreadable-input", &file, format!("cannot read: {e}"))
            })?;
            // Subfolders and links are not served, as before; anything else that is not a
            // regular file (a FIFO, socket or device) is an error rather than a silent skip.
            if kind.is_dir() || kind.is_symlink() {
                continue;
            }
            if !kind.is_file() {
                return Err(not_a_file(&file, kind));
            }
            let own = limits::MAX_OBJECT_DATA_BYTES as u64 - folder;
            let bytes = read_bytes(
                &file,
                Allowance {
                    own: Some((own, STATIC_FOLDER)),
                    left: limits.total.saturating_sub(out.bytes),
                    total: limits.total,
                },
            )
            .map_err(|mut e| {
                if e.code == "file-too-large" {
                    e.message = format!(
                        "with this file {sub}/ holds more than {}: the files of a static \
                         folder become one ConfigMap, and Kubernetes refuses a ConfigMap over \
                         {0}; make them smaller, or serve large files from elsewhere",
                        size(limits::MAX_OBJECT_DATA_BYTES as u64)
                    );
                }
                e
            })?;
            folder += bytes.len() as u64;
            out.bytes += bytes.len() as u64;
            let name = entry.file_name().to_string_lossy().into_owned();
            out.files
                .insert(format!("{sub}/{name}"), utf8(&file, bytes)?);
        }
    }
    if !found_any {
        return Err(InputError::new(
            "unreadable-input",
            &dir.display().to_string(),
            "has neither a pages/ nor a static-assets/ folder".to_owned(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An endless input is read up to one byte past the limit, never further.
    #[test]
    fn an_endless_input_is_read_one_byte_past_the_limit() {
        let mut bytes = Vec::new();
        let read = read_at_most(std::io::repeat(b'x'), 1024 * 1024, &mut bytes).unwrap();
        assert_eq!(read, 1024 * 1024 + 1);
        assert!(
            bytes.capacity() <= 2 * (1024 * 1024 + 1),
            "{}",
            bytes.capacity()
        );
        let mut bytes = Vec::new();
        assert_eq!(read_at_most(&b"short"[..], 1024, &mut bytes).unwrap(), 5);
        assert_eq!(bytes, b"short");
    }

    #[test]
    fn descriptors_are_told_from_other_paths() {
        for path in ["/dev/fd/63", "/proc/self/fd/0"] {
            assert!(is_descriptor(path), "{path}");
        }
        for path in [
            "/dev/fd/",
            "/dev/fd/6x",
            "/dev/fd/../zero",
            "fd/63",
            "/tmp/fifo",
        ] {
            assert!(!is_descriptor(path), "{path}");
        }
    }

    #[test]
    fn the_default_total_and_sizes_as_people_write_them() {
        assert_eq!(ReadLimits::default().total, 16 * 1024 * 1024);
        assert_eq!(size(16 * 1024 * 1024), "16 MiB");
        assert_eq!(size(1000), "1000 bytes");
    }
}
