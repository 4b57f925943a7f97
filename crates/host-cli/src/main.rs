//! `matrix-render`: render a complete Matrix stack for Kubernetes from a values file.
//!
//! Exit codes: 0 success, 1 invalid input (diagnostics, unreadable files, bad flags) or an
//! output that could not be written (no space, no permission: the cause and the path),
//! 2 internal failure (the core trapped: a bug), 128 + N when signal N stopped a batch.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use matrix_render::call::{self, CallError};
use matrix_render::engine::{Core, CoreError, Limits};
use matrix_render::input::{self, Inputs};
use matrix_render::{SCHEMA, batch, init, krm, output, plan, report};
use matrix_render_model::api::{Format, RenderResponse};
use matrix_render_model::command::{self, Action, Outcome, Shown, Style};

#[derive(Debug, Parser)]
#[command(name = "matrix-render", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render the manifests to stdout, or one file per object with --output-dir.
    Render(RenderArgs),
    /// Check the config and report every problem; writes nothing.
    Validate(ValidateArgs),
    /// What to set up outside the cluster: DNS records, ports to open and forward, secrets.
    ///
    /// Derived from the same config as the manifests; an invalid config exits 1 with its
    /// problems, as `validate` does. Secret values are never shown, only where they live.
    Plan(PlanArgs),
    /// Plan the switch from a live install of the Helm chart, with nothing lost.
    ///
    /// Compares the chart's objects (`helm get manifest RELEASE -n NAMESPACE`) with the
    /// render of your values: the report (each object kept, changed, new or removed; what
    /// disappears; what holds data) goes to stderr, a POSIX shell script that performs the
    /// switch to stdout: `matrix-render migrate --from-helm chart.yaml -f values.yaml -f
    /// .secrets.yaml > migrate.sh`. Anything that cannot change in place, or a manifest that
    /// is not the chart's, exits 1 and writes no script.
    Migrate(MigrateArgs),
    /// Print the JSON Schema of a values file.
    Schema,
    /// Write a starter values.yaml and a .secrets.yaml with fresh random secrets.
    Init(init::InitArgs),
    /// Run as a KRM function (kpt): a ResourceList in, the same with the stack added out.
    ///
    /// Reads a config.kubernetes.io/v1 ResourceList on stdin whose functionConfig is a
    /// MatrixStack (apiVersion matrix-render.github.io/v1alpha1) with the values under
    /// `spec`, and writes it back with the stack's objects added (kpt writes them to
    /// matrix-stack.yaml), replacing those of an earlier run. An invalid input exits 1 with
    /// the problems as the ResourceList's `results`, and on stderr.
    Krm,
}

#[derive(Debug, Args)]
struct InputArgs {
    /// A values file (YAML); repeat to layer files, later ones win. `-` reads stdin.
    #[arg(short = 'f', long = "values", value_name = "FILE", id = "values_files")]
    values: Vec<String>,
    /// Set a value: `path.to.key=value` (Helm syntax and typing).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Set a value as a string, whatever it looks like.
    #[arg(long = "set-string", value_name = "PATH=VALUE")]
    set_string: Vec<String>,
    /// Set a value from JSON: `path.to.key='{"a": 1}'` (applied before every --set, as Helm
    /// does).
    #[arg(long = "set-json", value_name = "PATH=JSON")]
    set_json: Vec<String>,
    /// Set a value to a file's text: `path.to.key=FILE` (applied last, as Helm does).
    #[arg(long = "set-file", value_name = "PATH=FILE")]
    set_file: Vec<String>,
    /// Folder with pages/ and static-assets/ that replace the built-in static pages.
    #[arg(long = "static-dir", value_name = "DIR")]
    static_dir: Option<String>,
}

/// Helm's `-n`: the namespace, over the values' `namespace` setting.
#[derive(Debug, Clone, Args)]
struct Scope {
    /// The namespace of the stack's objects: overrides the `namespace` setting, as Helm's
    /// `-n` sets the release's namespace.
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    namespace: Option<String>,
}

#[derive(Debug, Args)]
struct ValuesArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    scope: Scope,
    /// Output format of the manifests.
    #[arg(long, value_enum, default_value_t = OutputFormat::Yaml)]
    format: OutputFormat,
}

#[derive(Debug, Args)]
struct MigrateArgs {
    #[command(flatten)]
    input: InputArgs,
    /// The chart release's manifest, as `helm get manifest RELEASE -n NAMESPACE` prints it;
    /// `-` reads stdin.
    #[arg(long = "from-helm", value_name = "CHART.yaml")]
    from_helm: String,
    /// The Helm release name (default: the objects' `app.kubernetes.io/instance` label).
    #[arg(long, value_name = "NAME")]
    release: Option<String>,
    /// The release's namespace, for objects the manifest gives none (default: the namespace
    /// the other objects name, else the values' `namespace`).
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    namespace: Option<String>,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    scope: Scope,
    /// Output format of the diagnostics: readable text on stderr, or a JSON array on stdout.
    #[arg(long, value_enum, default_value_t = DiagnosticsFormat::Text)]
    format: DiagnosticsFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DiagnosticsFormat {
    // `yaml` is what this format was called when validate shared render's flag.
    #[value(alias = "yaml")]
    Text,
    Json,
}

#[derive(Debug, Args)]
struct PlanArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    scope: Scope,
    /// Output format: a readable text, or the core's plan as JSON.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    format: PlanFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PlanFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
struct RenderArgs {
    #[command(flatten)]
    values: ValuesArgs,
    /// Write one file per object into DIR (created if missing) instead of stdout, and the
    /// list of them in DIR/.matrix-render-files; files the last render wrote that this one
    /// does not are removed if they still hold its objects, any other file is left alone.
    /// DIR is built anew beside itself and swapped in whole: a failed render leaves it as it
    /// was.
    #[arg(long = "output-dir", value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// Print only these objects, as Helm's `--show-only`: `Kind/name` (`Deployment/synapse`,
    /// the kind in any case) or an --output-dir file name (`20-deployment-synapse.yaml`);
    /// repeat for several. One that matches nothing is an error.
    #[arg(
        short = 's',
        long = "show-only",
        value_name = "KIND/NAME",
        conflicts_with_all = ["output_dir", "batch"]
    )]
    show_only: Vec<String>,
    /// Render every tenant in DIR into OUT/<tenant>/ (needs --output-dir OUT). A tenant is
    /// a subdirectory DIR/<tenant>/ with values.yaml and, optionally, secrets.yaml or
    /// .secrets.yaml; --set, --set-string, --static-dir and --format apply to every tenant.
    #[arg(
        long = "batch",
        value_name = "DIR",
        requires = "output_dir",
        conflicts_with = "values_files"
    )]
    batch: Option<PathBuf>,
    /// With --batch: `objects` writes one file per object into OUT/<tenant>/ (as
    /// --output-dir does); `stream` writes one file, OUT/<tenant>/matrix-stack.yaml (.json
    /// with --format json), byte for byte what `render` prints. Switching removes the other
    /// layout's files (only those a render wrote).
    #[arg(
        long = "batch-layout",
        value_enum,
        requires = "batch",
        default_value_t = BatchLayout::Objects
    )]
    batch_layout: BatchLayout,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BatchLayout {
    Objects,
    Stream,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputFormat {
    Yaml,
    Json,
}

fn main() -> ExitCode {
    // `--version` names the images the stack runs by default: upgrading matrix-render can
    // change them, and the CHANGELOG says when.
    let long_version = format!(
        "{}\n{}",
        env!("CARGO_PKG_VERSION"),
        matrix_render_model::versions::version_lines().trim_end()
    );
    let parsed = Cli::command()
        .long_version(&*long_version.leak())
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Schema => write_stdout(SCHEMA),
        Command::Validate(args) => run(
            &ValuesArgs {
                input: args.input,
                scope: args.scope,
                format: match args.format {
                    DiagnosticsFormat::Text => OutputFormat::Yaml,
                    DiagnosticsFormat::Json => OutputFormat::Json,
                },
            },
            Mode::Validate,
        ),
        Command::Plan(args) => run(
            &ValuesArgs {
                input: args.input,
                scope: args.scope,
                // The manifests are not printed; diagnostics go to stderr for people.
                format: OutputFormat::Yaml,
            },
            Mode::Plan(args.format),
        ),
        Command::Render(RenderArgs {
            values,
            output_dir: Some(out),
            batch: Some(dir),
            batch_layout,
            ..
        }) => run_batch(
            &values,
            &dir,
            &out,
            match batch_layout {
                BatchLayout::Objects => batch::Layout::Objects,
                BatchLayout::Stream => batch::Layout::Stream,
            },
        ),
        Command::Render(args) => run(&args.values, Mode::Render(args.output_dir, args.show_only)),
        Command::Krm => run_krm(),
        Command::Migrate(args) => run_migrate(&args),
        Command::Init(args) => match init::run(&args) {
            Ok(written) => {
                eprint(&written.message());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprint(&format!("matrix-render: error: {e:#}\n"));
                ExitCode::from(1)
            }
        },
    }
}

fn write_stdout(text: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        // A full disk behind `> file`, a closed terminal: the environment, not a bug.
        Err(e) => {
            eprint(&format!("error[cannot-write]: stdout: {e}\n"));
            ExitCode::from(1)
        }
    }
}

fn eprint(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

fn internal(message: &str) -> ExitCode {
    eprint(&format!(
        "error[internal]: {message}\n = note: this is a bug in matrix-render; please report it\n"
    ));
    ExitCode::from(2)
}

/// A resource limit stopped the render: the input asks for more than the limits allow,
/// which the user can change (exit 1).
fn limit_reached(error: &CoreError) -> ExitCode {
    eprint(&error.report());
    ExitCode::from(1)
}

/// What `run` does with a response.
enum Mode {
    /// Write the manifests to stdout (only the `--show-only` ones, when given), or one file
    /// per object into the folder.
    Render(Option<PathBuf>, Vec<String>),
    /// Report only.
    Validate,
    /// Write the plan.
    Plan(PlanFormat),
}

fn run(args: &ValuesArgs, mode: Mode) -> ExitCode {
    let format = match args.format {
        OutputFormat::Yaml => Format::Yaml,
        OutputFormat::Json => Format::Json,
    };
    let input = &args.input;
    let inputs = Inputs {
        values: input.values.clone(),
        set: input.set.clone(),
        set_string: input.set_string.clone(),
        set_json: input.set_json.clone(),
        set_file: input.set_file.clone(),
        static_dir: input.static_dir.clone(),
        format,
        split: matches!(&mode, Mode::Render(dir, only) if dir.is_some() || !only.is_empty()),
        plan: matches!(mode, Mode::Plan(_)),
        namespace: args.scope.namespace.clone(),
    };
    let request = match input::request(&inputs) {
        Ok(r) => r,
        Err(e) => {
            eprint(&e.report());
            return ExitCode::from(1);
        }
    };
    let mut response = match respond(&request) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let action = match &mode {
        Mode::Render(None, only) => Action::Render {
            show_only: only.clone(),
        },
        Mode::Render(Some(_), _) => Action::Deliver { writes: true },
        Mode::Validate => Action::Validate,
        Mode::Plan(_) => Action::Deliver { writes: false },
    };
    let shown = match args.format {
        OutputFormat::Yaml => Shown::Human,
        OutputFormat::Json => Shown::Json,
    };
    let printed = command::outcome(&action, shown, Style::Stderr, &request, &mut response);
    let code = emit(&printed);
    if printed.code != 0 {
        return code;
    }
    match mode {
        Mode::Render(None, _) | Mode::Validate => code,
        Mode::Plan(format) => {
            let Some(plan) = &response.plan else {
                return internal("the core returned no plan");
            };
            write_stdout(&match format {
                PlanFormat::Json => plan::json(plan),
                PlanFormat::Text => plan::text(plan),
            })
        }
        Mode::Render(Some(dir), _) => match output::write_dir(&dir, &response.objects) {
            Ok(written) => {
                eprint(&format!(
                    "{}matrix-render: wrote {} objects to {}\n",
                    written.warnings(&dir),
                    written.objects,
                    dir.display()
                ));
                ExitCode::SUCCESS
            }
            Err(output::Failure::Unwritable(e)) => {
                eprint(&format!(
                    "error[cannot-write]: {e}\nmatrix-render: nothing was written; {} is as it was\n",
                    dir.display()
                ));
                ExitCode::from(1)
            }
            Err(output::Failure::Internal(e)) => internal(&e),
        },
    }
}

/// Writes what the command layer printed: stderr, then stdout; its exit code, or 1 when
/// stdout cannot be written.
fn emit(printed: &Outcome) -> ExitCode {
    eprint(&printed.stderr);
    let written = if printed.stdout.is_empty() {
        ExitCode::SUCCESS
    } else {
        write_stdout(&printed.stdout)
    };
    if printed.code == 0 {
        written
    } else {
        ExitCode::from(printed.code)
    }
}

/// `render --batch DIR --output-dir OUT`: every tenant, one worker per core; exit 1 when
/// any tenant failed (each is reported with its files), 2 when the core cannot be loaded,
/// 128 + the signal's number (130 for SIGINT, 143 for SIGTERM) when a signal stopped it: the
/// tenants being written are finished, no other is started, and the summary says how many
/// were not rendered. A second signal ends the process at once (the tenants being written
/// then keep their previous output; the next batch removes what was left half built).
fn run_batch(
    args: &ValuesArgs,
    dir: &std::path::Path,
    out: &std::path::Path,
    layout: batch::Layout,
) -> ExitCode {
    let started = std::time::Instant::now();
    if args.scope.namespace.is_some() {
        eprint(
            "error[bad-flag]: -n/--namespace does not apply to --batch: each tenant's values set \
             its own `namespace`\n",
        );
        return ExitCode::from(1);
    }
    if std::fs::canonicalize(dir).is_ok_and(|d| std::fs::canonicalize(out).is_ok_and(|o| o == d)) {
        eprint(&format!(
            "error[bad-flag]: --output-dir {} is the --batch directory; write the output \
             elsewhere (a subdirectory of it is fine)\n",
            out.display()
        ));
        return ExitCode::from(1);
    }
    let tenants = match batch::tenants(dir, out) {
        Ok(t) => t,
        Err(e) => {
            eprint(&format!("error[unreadable-input]: {e}\n"));
            return ExitCode::from(1);
        }
    };
    let common = Inputs {
        values: Vec::new(),
        set: args.input.set.clone(),
        set_string: args.input.set_string.clone(),
        set_json: args.input.set_json.clone(),
        set_file: args.input.set_file.clone(),
        static_dir: args.input.static_dir.clone(),
        format: match args.format {
            OutputFormat::Yaml => Format::Yaml,
            OutputFormat::Json => Format::Json,
        },
        split: true,
        plan: false,
        namespace: None,
    };
    let limits = match limits() {
        Ok(l) => l,
        Err(e) => return bad_environment(&e),
    };
    let core = match Core::load(limits) {
        Ok(c) => c,
        Err(e) => return internal(&e.to_string()),
    };
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if let Err(e) = output::clean_leftovers(out, None) {
        eprint(&format!("error[cannot-write]: {e}\n"));
        return ExitCode::from(1);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    if let Err(e) = stop_on_signals(&stop) {
        return internal(&format!("cannot handle signals: {e}"));
    }
    let outcomes = batch::render_all(&core, &tenants, &common, out, layout, workers, &stop);
    let (mut written, mut failed, mut skipped) = (0_usize, 0_usize, 0_usize);
    for (tenant, outcome) in tenants.iter().zip(&outcomes) {
        match outcome {
            batch::Outcome::Written { report, .. } => {
                written += 1;
                if !report.is_empty() {
                    eprint(&format!("matrix-render: tenant {}:\n{report}", tenant.name));
                }
            }
            batch::Outcome::Invalid(report) => {
                failed += 1;
                eprint(&format!(
                    "matrix-render: tenant {} failed:\n{report}",
                    tenant.name
                ));
            }
            batch::Outcome::Unwritable(message) => {
                failed += 1;
                eprint(&format!(
                    "matrix-render: tenant {} failed:\nerror[cannot-write]: {message}\n\
                     matrix-render: nothing was written for it; its previous output is as it was\n",
                    tenant.name
                ));
            }
            batch::Outcome::Internal(message) => {
                failed += 1;
                eprint(&format!(
                    "matrix-render: tenant {} failed:\nerror[internal]: {message}\n",
                    tenant.name
                ));
            }
            batch::Outcome::Skipped => skipped += 1,
        }
    }
    let signal = stop.load(std::sync::atomic::Ordering::SeqCst);
    let stopped = match signal {
        0 => String::new(),
        s if s == signal_number(SIGINT) => format!("stopped by SIGINT; {skipped} not rendered, "),
        _ => format!("stopped by SIGTERM; {skipped} not rendered, "),
    };
    eprint(&format!(
        "matrix-render: rendered {written} tenants, {failed} failed, {stopped}in {}\n",
        batch::seconds(started.elapsed())
    ));
    if signal != 0 {
        ExitCode::from(u8::try_from(128 + signal).unwrap_or(1))
    } else if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(unix)]
const SIGINT: i32 = signal_hook::consts::SIGINT;
#[cfg(not(unix))]
const SIGINT: i32 = 2;

fn signal_number(signal: i32) -> usize {
    usize::try_from(signal).unwrap_or(usize::MAX)
}

/// SIGINT and SIGTERM store their number in `stop` (so a batch stops after the tenants
/// being written); a second one, once `stop` is set, ends the process with 128 + its number.
#[cfg(unix)]
fn stop_on_signals(stop: &std::sync::Arc<std::sync::atomic::AtomicUsize>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stopping = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // In order: exit if a signal came before, else remember this one.
        signal_hook::flag::register_conditional_shutdown(
            signal,
            128 + signal,
            std::sync::Arc::clone(&stopping),
        )?;
        signal_hook::flag::register(signal, std::sync::Arc::clone(&stopping))?;
        signal_hook::flag::register_usize(
            signal,
            std::sync::Arc::clone(stop),
            signal_number(signal),
        )?;
    }
    Ok(())
}

/// Signals keep their default action.
#[cfg(not(unix))]
fn stop_on_signals(_: &std::sync::Arc<std::sync::atomic::AtomicUsize>) -> std::io::Result<()> {
    Ok(())
}

/// `migrate`: the report on stderr, the script on stdout; exit 1 when the config or the
/// chart's manifest is unusable (no script is written).
fn run_migrate(args: &MigrateArgs) -> ExitCode {
    let input = &args.input;
    if args.from_helm == "-" && input.values.iter().any(|v| v == "-") {
        eprint(
            "error[unreadable-input]: `--from-helm -` and `-f -` cannot both read stdin
",
        );
        return ExitCode::from(1);
    }
    let inputs = Inputs {
        values: input.values.clone(),
        set: input.set.clone(),
        set_string: input.set_string.clone(),
        set_json: input.set_json.clone(),
        set_file: input.set_file.clone(),
        static_dir: input.static_dir.clone(),
        format: Format::Yaml,
        split: false,
        plan: false,
        namespace: None,
    };
    let read = input::request(&inputs).and_then(|request| {
        input::ReadLimits::from_env()
            .and_then(|limits| input::read_text(&args.from_helm, limits))
            .map(|manifest| (request, manifest))
    });
    let (mut request, manifest) = match read {
        Ok(r) => r,
        Err(e) => {
            eprint(&e.report());
            return ExitCode::from(1);
        }
    };
    request.options.migrate = Some(matrix_render_model::api::MigrateFrom {
        manifest: matrix_render_model::NamedText {
            name: if args.from_helm == "-" {
                "<stdin>".to_owned()
            } else {
                args.from_helm.clone()
            },
            text: manifest,
        },
        release: args.release.clone(),
        namespace: args.namespace.clone(),
    });
    // Snippets only from the values files: the chart's manifest holds its secrets in clear.
    let response = match respond(&request) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if !response.diagnostics.is_empty() {
        eprint(&report::human(&response.diagnostics, &request));
    }
    let Some(migration) = response.migration.filter(|_| response.ok) else {
        eprint(&format!(
            "matrix-render: {}; no script was written\n",
            report::summary(&response.diagnostics)
        ));
        return ExitCode::from(1);
    };
    eprint(&migration.report);
    write_stdout(&migration.script)
}

/// `krm`: stdin to the core as a ResourceList, the core's ResourceList to stdout. Exit 1
/// with the problems as `results` when the input is invalid, 2 when the core failed.
fn run_krm() -> ExitCode {
    let (request, text) = match input::ReadLimits::from_env().and_then(|l| input::read_text("-", l))
    {
        Ok(text) => (krm::request(text.clone()), text),
        Err(e) => (krm::unreadable(e.code, &e.message), String::new()),
    };
    let outcome = match render(&request) {
        Ok(response) => krm::outcome(&response, &text),
        Err(RenderError::Limit(e)) => return limit_reached(&e),
        Err(RenderError::Environment(message)) => return bad_environment(&message),
        Err(RenderError::Internal(message)) => return internal(&message),
    };
    eprint(&outcome.stderr);
    match write_stdout(&outcome.stdout) {
        ExitCode::SUCCESS => ExitCode::from(outcome.code),
        failed => failed,
    }
}

/// The core's limits, adjustable for hosts with unusual inputs (and for testing the
/// failure path): `MATRIX_RENDER_TIMEOUT` (per render: `10s`, `500ms`, `2m`; a bare number is
/// seconds) and `MATRIX_RENDER_MEMORY_MIB`.
fn limits() -> Result<Limits, String> {
    let mut limits = Limits::default();
    if std::env::var_os("MATRIX_RENDER_FUEL").is_some() {
        eprint(
            "warning: MATRIX_RENDER_FUEL is no longer read: the core's limit is a time limit now, \
             MATRIX_RENDER_TIMEOUT (default 10s)\n",
        );
    }
    if let Ok(time) = std::env::var("MATRIX_RENDER_TIMEOUT") {
        limits.time = parse_timeout(&time).ok_or_else(|| {
            format!("MATRIX_RENDER_TIMEOUT={time} is not a duration such as 10s, 500ms or 2m")
        })?;
    }
    if let Ok(mib) = std::env::var("MATRIX_RENDER_MEMORY_MIB") {
        limits.memory = parse_mib(&mib)
            .ok_or_else(|| {
                format!("MATRIX_RENDER_MEMORY_MIB={mib} is not a whole number of MiB above 0")
            })?
            .saturating_mul(1024 * 1024);
    }
    Ok(limits)
}

/// A whole, positive number of MiB (`512`), without a unit.
fn parse_mib(text: &str) -> Option<usize> {
    text.trim().parse().ok().filter(|n| *n > 0)
}

/// A setting in the environment that cannot be used (exit 1).
fn bad_environment(message: &str) -> ExitCode {
    eprint(&format!("error[invalid-environment]: {message}\n"));
    ExitCode::from(1)
}

/// `10`, `10s`, `500ms`, `2m`: a whole number and a unit, seconds when there is none.
fn parse_timeout(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let millis = match unit.trim() {
        "" | "s" => number.checked_mul(1000)?,
        "ms" => number,
        "m" => number.checked_mul(60_000)?,
        _ => return None,
    };
    Some(std::time::Duration::from_millis(millis))
}

/// The core's response, or the exit code of a limit or an internal failure (reported).
fn respond(request: &matrix_render_model::api::RenderRequest) -> Result<RenderResponse, ExitCode> {
    render(request).map_err(|e| match e {
        RenderError::Limit(e) => limit_reached(&e),
        RenderError::Environment(message) => bad_environment(&message),
        RenderError::Internal(message) => internal(&message),
    })
}

enum RenderError {
    /// The core hit its time or memory limit.
    Limit(CoreError),
    /// A limit set in the environment is unusable.
    Environment(String),
    /// Anything else: a bug.
    Internal(String),
}

fn render(
    request: &matrix_render_model::api::RenderRequest,
) -> Result<RenderResponse, RenderError> {
    let limits = limits().map_err(RenderError::Environment)?;
    call::render(request, |body| Core::load(limits)?.call(body)).map_err(|e| match e {
        CallError::Limit(e) => RenderError::Limit(e),
        CallError::Internal(message) => RenderError::Internal(message),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_timeout;
    use std::time::Duration;

    /// The Helm plugin parses its words with the command layer's parser: every flag of the
    /// CLI's `render` and `validate` is understood there too, but those that read or write a
    /// folder of tenants.
    #[test]
    fn the_command_layer_parses_every_flag_the_cli_takes() {
        use clap::CommandFactory as _;
        use matrix_render_model::command::{Environment, Refusal, words};
        use std::collections::BTreeMap;
        struct Nothing;
        impl Environment for Nothing {
            fn read(&mut self, _: &str) -> Result<String, Refusal> {
                Ok(String::new())
            }
            fn static_files(&mut self, _: &str) -> Result<BTreeMap<String, String>, Refusal> {
                Ok(BTreeMap::new())
            }
        }
        const CLI_ONLY: &[&str] = &["--batch", "--batch-layout"];
        let cli = super::Cli::command();
        let mut checked = 0;
        for name in ["render", "validate"] {
            let sub = cli.find_subcommand(name).expect("the subcommand");
            for arg in sub.get_arguments() {
                let value = if arg.get_id() == "format" {
                    "json"
                } else {
                    "a=1"
                };
                let longs = arg.get_long().map(|l| format!("--{l}"));
                let shorts = arg.get_short().map(|c| format!("-{c}"));
                for flag in longs.into_iter().chain(shorts) {
                    if CLI_ONLY.contains(&flag.as_str()) || !arg.get_action().takes_values() {
                        continue;
                    }
                    let words = [name.to_owned(), flag.clone(), value.to_owned()];
                    let parsed = words::parse(&words, &Nothing);
                    assert!(
                        parsed.is_ok(),
                        "`{name} {flag}` is a CLI flag the command layer does not parse: {parsed:?}"
                    );
                    checked += 1;
                }
            }
        }
        // -f/--values, --set, --set-string, --set-json, --set-file, --static-dir,
        // -n/--namespace and --format in both commands, --output-dir and -s/--show-only.
        assert!(checked >= 22, "{checked}");
    }

    #[test]
    fn timeouts_read_as_kubectl_writes_them() {
        assert_eq!(parse_timeout("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse_timeout("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_timeout(" 500ms "), Some(Duration::from_millis(500)));
        assert_eq!(parse_timeout("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_timeout("0"), Some(Duration::ZERO));
        for bad in [
            "",
            "s",
            "lots",
            "1.5s",
            "-1",
            "10h",
            "10 s s",
            "99999999999999999999",
        ] {
            assert_eq!(parse_timeout(bad), None, "{bad}");
        }
    }
}
