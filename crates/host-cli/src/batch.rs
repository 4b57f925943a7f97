//! `render --batch DIR --output-dir OUT`: renders every tenant in DIR into `OUT/<tenant>/`.
//!
//! A tenant is a subdirectory `DIR/<tenant>/` holding `values.yaml` and, optionally, a
//! secrets file (`secrets.yaml`, else `.secrets.yaml`) layered over it; any other file or a
//! hidden directory (`.name`) in DIR is ignored. The embedded module is loaded once; one
//! worker per core takes the next tenant, each with its own wasmtime instance reused across
//! renders. A tenant that fails (unreadable input, invalid config, a trap) is reported and
//! skipped, and nothing is written for it; the others still render. Each tenant's output is
//! written as `--output-dir` writes a single render (the same bytes, each file through a
//! temporary name and a rename, so readers never see half a file, and a file that already
//! holds the same bytes left alone), except that files are not `fsync`ed one by one (run
//! `sync` after the batch if it must survive a power cut at once).
//! With [`Layout::Stream`] a tenant gets one file instead, `matrix-stack.yaml` (or `.json`),
//! byte for byte what `render` prints: a thirtieth of the files, which is most of the time of
//! a large batch on a slow file system.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use matrix_render_model::api::{Format, RenderResponse};

use crate::engine::{Core, Session};
use crate::input::{self, Inputs};
use crate::{output, report};

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
    /// The core failed or the output could not be written.
    Internal(String),
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

/// The tenants in `dir`, sorted by name.
///
/// # Errors
/// `dir` cannot be listed.
pub fn tenants(dir: &Path) -> Result<Vec<Tenant>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        let path = entry.path();
        let mut values = vec![path.join("values.yaml").display().to_string()];
        if let Some(secrets) = ["secrets.yaml", ".secrets.yaml"]
            .iter()
            .map(|f| path.join(f))
            .find(|p| p.is_file())
        {
            values.push(secrets.display().to_string());
        }
        out.push(Tenant { name, values });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Renders every tenant with `workers` threads (at least one); `common` carries the flags
/// that apply to all tenants (`--set`, `--static-dir`, `--format`). Outcomes are in the
/// order of `tenants`.
#[must_use]
pub fn render_all(
    core: &Core,
    tenants: &[Tenant],
    common: &Inputs,
    out_dir: &Path,
    layout: Layout,
    workers: usize,
) -> Vec<Outcome> {
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
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(tenant) = tenants.get(index) else {
                        break;
                    };
                    let outcome = render_one(core, &mut session, tenant, common, out_dir, layout);
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
        .map(|o| o.unwrap_or_else(|| Outcome::Internal("a worker stopped early".to_owned())))
        .collect()
}

fn render_one(
    core: &Core,
    session: &mut Option<Session>,
    tenant: &Tenant,
    common: &Inputs,
    out_dir: &Path,
    layout: Layout,
) -> Outcome {
    let inputs = Inputs {
        values: tenant.values.clone(),
        split: layout == Layout::Objects,
        ..common.clone()
    };
    let request = match input::request(&inputs) {
        Ok(r) => r,
        Err(e) => return Outcome::Invalid(format!("error[unreadable-input]: {e}\n")),
    };
    let body = match serde_json::to_vec(&request) {
        Ok(b) => b,
        Err(e) => return Outcome::Internal(format!("encoding the request: {e}")),
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
    let response: RenderResponse =
        match running
            .call(&body)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                serde_json::from_slice(&b).map_err(|e| format!("decoding the core's response: {e}"))
            }) {
            Ok(r) => r,
            Err(e) => return Outcome::Internal(e),
        };
    let report = if response.diagnostics.is_empty() {
        String::new()
    } else {
        report::human(&response.diagnostics, &request)
    };
    if !response.ok {
        return Outcome::Invalid(format!(
            "{report}matrix-render: {}; nothing was written\n",
            report::summary(&response.diagnostics)
        ));
    }
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
        Err(e) => Outcome::Internal(e),
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
