//! Reading the user's files into a RenderRequest.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use matrix_render_model::NamedText;
use matrix_render_model::api::{Format, RenderOptions, RenderRequest};

/// Largest input file read, in bytes; the core refuses values documents over 1 MiB with a
/// clear diagnostic, this only stops us from reading a disk image into memory.
const READ_LIMIT: u64 = 16 * 1024 * 1024;

/// An input problem found before the core runs (exit 1).
#[derive(Debug)]
pub struct InputError {
    pub file: String,
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// Everything the render and validate commands take.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub values: Vec<String>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    pub static_dir: Option<String>,
    pub format: Format,
    pub split: bool,
    /// Ask the core for the plan (`matrix-render plan`).
    pub plan: bool,
}

/// Reads a text file (or stdin for `-`) as UTF-8.
///
/// # Errors
/// Missing, unreadable, too large or not UTF-8.
pub fn read_text(path: &str) -> Result<String, InputError> {
    let err = |message: String| InputError {
        file: path.to_owned(),
        message,
    };
    let mut bytes = Vec::new();
    let result = if path == "-" {
        std::io::stdin()
            .lock()
            .take(READ_LIMIT + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| {
            // `take` hides the file's size from `read_to_end`, which would then read in
            // small steps from 32 bytes up; reserve it, so one read takes the file whole.
            let size = f.metadata().map_or(0, |m| m.len()).min(READ_LIMIT);
            bytes.reserve(usize::try_from(size).unwrap_or(0) + 1);
            f.take(READ_LIMIT + 1).read_to_end(&mut bytes)
        })
    };
    result.map_err(|e| err(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > READ_LIMIT {
        return Err(err(format!(
            "the file is larger than {} MiB; a values file is a few kilobytes",
            READ_LIMIT / 1024 / 1024
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        if looks_binary(e.as_bytes()) {
            err(
                "a binary file (an image, an archive, ...), not text: only text files (HTML, \
                 CSS, SVG, ...) can be served; put images on another server and link them by URL"
                    .to_owned(),
            )
        } else {
            err(format!(
                "not valid UTF-8 (line {line}, byte offset {offset}); save the file as UTF-8"
            ))
        }
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

/// Builds the request the core receives.
///
/// # Errors
/// The first file that cannot be read.
pub fn request(inputs: &Inputs) -> Result<RenderRequest, InputError> {
    let mut values = Vec::new();
    for path in &inputs.values {
        values.push(NamedText {
            name: path.clone(),
            text: read_text(path)?,
        });
    }
    let files = match &inputs.static_dir {
        Some(dir) => static_files(Path::new(dir))?,
        None => BTreeMap::new(),
    };
    Ok(RenderRequest {
        values,
        set: inputs.set.clone(),
        set_string: inputs.set_string.clone(),
        files,
        options: RenderOptions {
            format: inputs.format,
            split: inputs.split,
            plan: inputs.plan,
            migrate: None,
        },
    })
}

/// `DIR/pages/*` and `DIR/static-assets/*`, keyed `pages/<name>` and `static-assets/<name>`.
fn static_files(dir: &Path) -> Result<BTreeMap<String, String>, InputError> {
    let mut files = BTreeMap::new();
    let mut found_any = false;
    for sub in ["pages", "static-assets"] {
        let path = dir.join(sub);
        if !path.is_dir() {
            continue;
        }
        found_any = true;
        let entries = std::fs::read_dir(&path).map_err(|e| InputError {
            file: path.display().to_string(),
            message: format!("cannot list: {e}"),
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| InputError {
                file: path.display().to_string(),
                message: format!("cannot list: {e}"),
            })?;
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let text = read_text(&entry.path().display().to_string())?;
            files.insert(format!("{sub}/{name}"), text);
        }
    }
    if !found_any {
        return Err(InputError {
            file: dir.display().to_string(),
            message: "has neither a pages/ nor a static-assets/ folder".to_owned(),
        });
    }
    Ok(files)
}
