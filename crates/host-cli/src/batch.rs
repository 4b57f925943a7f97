//! `render --batch DIR --output-dir OUT`: renders every tenant in DIR into `OUT/<tenant>/`.
//!
//! A tenant is a subdirectory `DIR/<tenant>/` holding `values.yaml` and, optionally, a
//! secrets file (`secrets.yaml`, else `.secrets.yaml`) layered over it; any other file or a
//! hidden directory (`.name`) in DIR is ignored. The embedded module is loaded once; one
//! worker per core takes the next tenant, each with its own wasmtime instance reused across
//! renders. A tenant that fails (unreadable input, invalid config, a trap) is reported and
//! skipped, and nothing is written for it; the others still render. Each tenant's output is
//! written as `--output-dir` writes a single render (the same bytes, the directory built
//! beside the old one and swapped in whole, a file that already holds the same bytes kept
//! as it is), except that files are not `fsync`ed one by one (run `sync` after the batch if
//! it must survive a power cut at once).
//! With [`Layout::Stream`] a tenant gets one file instead, `matrix-stack.yaml` (or `.json`),
//! byte for byte what `render` prints: a thirtieth of the files, which is most of the time of
//! a large batch on a slow file system.
//!
//! A tenant's directory is written whole or not at all: built beside it and swapped in
//! ([`output::write_dir_with`]). A stop request ([`render_all`]'s `stop`, set by SIGINT or
//! SIGTERM) lets the tenants being written finish and starts no other; those are reported as
//! not rendered, their previous output untouched. The batch never reads its own output: the
//! output directory, and any directory holding a list of written files, is no tenant.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use matrix_render_model::api::Format;
use matrix_render_model::command::{self, Action, Shown, Style};

use crate::call::{self, CallError};
use crate::engine::{Core, Session};
use crate::input::{self, Inputs};
use crate::output;

/// One tenant's input files.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The directory name, also the output directory's name.
    pub name: String,
    /// `values.yaml` then the secrets file, if any.
    pub values: Vec<String>,
}

/// What happened to one tenant.
#[derive(Debug)]
pub enum Outcome {
    /// Rendered and written; the diagnostics are warnings, if any.
    Written { objects: usize, report: String },
    /// Invalid input: the diagnostics (or the unreadable file), nothing written.
    Invalid(String),
    /// The output could not be written (no space, no permission): the cause and the path;
    /// the tenant's previous output is as it was.
    Unwritable(String),
    /// The core failed: a bug.
    Internal(String),
    /// Not started: the batch was asked to stop first.
    Skipped,
}

/// How each tenant's output is laid out in `OUT/<tenant>/`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layout {
    /// One file per object, as `--output-dir` writes them.
    #[default]
    Objects,
    /// One multi-document stream, `matrix-stack.yaml` (`matrix-stack.json` with `--format
    /// json`), as `render` prints it.
    Stream,
}

/// The tenants in `dir`, sorted by name: its subdirectories but hidden ones, the batch's
/// output directory `out` (when it lies in `dir`), any directory holding an output's list
/// of written files ([`output::FILE_LIST`]) and any holding a stream file but no
/// `values.yaml` (a tenant's output of `--batch-layout stream`), so that a batch never reads
/// its own output.
///
/// # Errors
/// `dir` cannot be listed.
pub fn tenants(dir: &Path, out: &Path) -> Result<Vec<Tenant>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
    let out = std::fs::canonicalize(out).ok();
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        let path = entry.path();
        let holds = |name: &str| std::fs::symlink_metadata(path.join(name)).is_ok();
        if out.is_some() && std::fs::canonicalize(&path).ok() == out
            || holds(output::FILE_LIST)
            || !holds("values.yaml")
                && (holds(output::STREAM_FILE) || holds(output::STREAM_FILE_JSON))
        {
            continue;
        }
        let mut values = vec![path.join("values.yaml").display().to_string()];
        if let Some(secrets) = ["secrets.yaml", ".secrets.yaml"]
            .iter()
            .map(|f| path.join(f))
            .find(|p| p.is_file())
        {
            values.push(secrets.display().to_string());
        }
        found.push(Tenant { name, values });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// Renders every tenant with `workers` threads (at least one); `common` carries the flags
/// that apply to all tenants (`--set`, `--static-dir`, `--format`). The static folder is
/// read once, before any tenant, and shared. Outcomes are in the order of `tenants`. Once
/// `stop` is not zero no further tenant starts (those are [`Outcome::Skipped`]); the ones
/// being written are finished.
#[must_use]
pub fn render_all(
    core: &Core,
    tenants: &[Tenant],
    common: &Inputs,
    out_dir: &Path,
    layout: Layout,
    workers: usize,
    stop: &AtomicUsize,
) -> Vec<Outcome> {
    let shared = input::ReadLimits::from_env()
        .and_then(|limits| input::static_files(common, limits).map(|files| (files, limits)));
    let (files, limits) = match shared {
        Ok(shared) => shared,
        Err(e) => {
            return tenants
                .iter()
                .map(|_| Outcome::Invalid(e.report()))
                .collect();
        }
    };
    let shared = Shared {
        files: &files,
        limits,
    };
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(
        std::iter::repeat_with(|| None)
            .take(tenants.len())
            .collect(),
    );
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, tenants.len().max(1)) {
            scope.spawn(|| {
                let mut session: Option<Session> = None;
                loop {
                    if stop.load(Ordering::SeqCst) != 0 {
                        break;
                    }
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(tenant) = tenants.get(index) else {
                        break;
                    };
                    let outcome =
                        render_one(core, &mut session, tenant, common, shared, out_dir, layout);
                    if let Ok(mut results) = results.lock()
                        && let Some(slot) = results.get_mut(index)
                    {
                        *slot = Some(outcome);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|o| match o {
            Some(outcome) => outcome,
            None if stop.load(Ordering::SeqCst) != 0 => Outcome::Skipped,
            None => Outcome::Internal("a worker stopped early".to_owned()),
        })
        .collect()
}

/// What every tenant's render reads alike.
#[derive(Debug, Clone, Copy)]
struct Shared<'a> {
    files: &'a input::StaticFiles,
    limits: input::ReadLimits,
}

fn render_one(
    core: &Core,
    session: &mut Option<Session>,
    tenant: &Tenant,
    common: &Inputs,
    shared: Shared<'_>,
    out_dir: &Path,
    layout: Layout,
) -> Outcome {
    let inputs = Inputs {
        values: tenant.values.clone(),
        split: layout == Layout::Objects,
        ..common.clone()
    };
    let request = match input::request_with(&inputs, shared.files, shared.limits) {
        Ok(r) => r,
        Err(e) => return Outcome::Invalid(e.report()),
    };
    if session.as_ref().is_none_or(Session::is_poisoned) {
        match core.session() {
            Ok(s) => *session = Some(s),
            Err(e) => return Outcome::Internal(e.to_string()),
        }
    }
    let Some(running) = session.as_mut() else {
        return Outcome::Internal("no core instance".to_owned());
    };
    let mut response = match call::render(&request, |body| running.call(body)) {
        Ok(response) => response,
        // The tenant's input needs more than the core's limits allow: the user's to change.
        Err(CallError::Limit(e)) => return Outcome::Invalid(e.report()),
        Err(CallError::Internal(message)) => return Outcome::Internal(message),
    };
    let printed = command::outcome(
        &Action::Deliver { writes: true },
        Shown::Human,
        Style::Stderr,
        &request,
        &mut response,
    );
    if printed.code != 0 {
        return Outcome::Invalid(printed.stderr);
    }
    let report = printed.stderr;
    let dir: PathBuf = out_dir.join(&tenant.name);
    // The other layout's files of an earlier batch would duplicate (or resurrect) objects:
    // both writers remove the files an earlier render wrote that this one does not.
    let written = match layout {
        Layout::Stream => {
            let name = match common.format {
                Format::Json => output::STREAM_FILE_JSON,
                Format::Yaml | Format::Krm => output::STREAM_FILE,
            };
            output::write_stream(&dir, name, &response.output, output::Sync::Os).map(|kept| {
                output::Written {
                    objects: response.objects.len(),
                    kept,
                }
            })
        }
        Layout::Objects => output::write_dir_with(
            &dir,
            &response.objects,
            output::Sync::Os,
            output::Earlier::ObjectsAndStreams,
        ),
    };
    match written {
        Ok(written) => Outcome::Written {
            objects: written.objects,
            report: report + &written.warnings(&dir),
        },
        Err(output::Failure::Unwritable(e)) => Outcome::Unwritable(e),
        Err(output::Failure::Internal(e)) => Outcome::Internal(e),
    }
}

/// `1.23 s`, without floating point.
#[must_use]
pub fn seconds(elapsed: Duration) -> String {
    format!(
        "{}.{:02} s",
        elapsed.as_secs(),
        elapsed.subsec_millis() / 10
    )
}
