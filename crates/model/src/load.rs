//! From values texts and `--set` flags to a typed [`Config`], with diagnostics.
//!
//! Pipeline: parse every document (YAML, one document per file), convert it to JSON values
//! (string keys only), merge it over the built-in defaults with Helm's rules, apply `--set`
//! then `--set-string`, deserialize into [`Config`] and run the semantic checks.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::Config;
use crate::diag::Diagnostic;
use crate::{merge, set, spans, validate};

/// The built-in defaults: the first layer of every merge.
pub const DEFAULTS_YAML: &str = include_str!("defaults.yaml");

/// [`DEFAULTS_YAML`] as JSON, which build.rs writes with the same YAML reader: parsing JSON
/// at run time is several times cheaper.
const DEFAULTS_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/defaults.json"));

/// Largest values document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// A named text, e.g. a values file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NamedText {
    /// Display name, usually the file path as the user gave it.
    pub name: String,
    /// The UTF-8 text.
    pub text: String,
}

/// What [`load`] reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadInput<'a> {
    /// Values documents, merged in order.
    pub values: &'a [NamedText],
    /// `--set` arguments, applied in order after all values documents and `--set-json`.
    pub set: &'a [String],
    /// `--set-string` arguments, applied after every `--set`.
    pub set_string: &'a [String],
    /// `--set-json` arguments, applied after the values documents, before `--set`.
    pub set_json: &'a [String],
    /// `--set-file` arguments with their files' text, applied last.
    pub set_file: &'a [crate::api::SetFile],
    /// The components' semantic checks (the renderer's registry); without them only the
    /// stack-wide checks run.
    pub checks: Option<validate::ComponentChecks>,
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    Defaults,
    Document(usize),
    Flag { flag: &'static str, arg: String },
}

/// What [`load`] returns: the config when there were no errors, and every diagnostic.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The typed config; `None` when an error was found.
    pub config: Option<Config>,
    /// Errors and warnings, in input order.
    pub diagnostics: Vec<Diagnostic>,
    /// The merged values as JSON (for `--set` debugging and the browser).
    pub merged: Value,
}

/// The built-in defaults, parsed once per process (or wasm instance).
///
/// # Errors
/// The embedded defaults do not parse (a build bug).
pub fn defaults() -> Result<&'static Value, String> {
    static DEFAULTS: OnceLock<Result<Value, String>> = OnceLock::new();
    DEFAULTS
        .get_or_init(|| serde_json::from_str(DEFAULTS_JSON).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// Puts `--set-json`'s object at its path in `merged`, over the defaults found there: what
/// earlier layers wrote at that path is gone, the defaults around the object stay.
fn replace_over_defaults(merged: &mut Value, a: &set::Assignment) -> Result<(), String> {
    let keys: Vec<&str> = a.keys().collect();
    let mut value = keys
        .iter()
        .try_fold(defaults().ok(), |node, key| {
            Some(node.and_then(|n| n.get(*key)))
        })
        .flatten()
        .filter(|d| d.is_object())
        .cloned()
        .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
    merge::coalesce(&mut value, a.value().clone());
    // A parent that is no map: `--set`'s own rules and messages apply.
    let mut probe = Some(&*merged);
    for key in &keys[..keys.len().saturating_sub(1)] {
        probe = match probe {
            Some(Value::Object(map)) => map.get(*key),
            None => None,
            Some(_) => return set::apply(merged, a),
        };
    }
    if probe.is_some_and(|p| !p.is_object()) {
        return set::apply(merged, a);
    }
    let Some((last, parents)) = keys.split_last() else {
        return set::apply(merged, a);
    };
    let mut node = merged;
    for key in parents {
        let Value::Object(map) = node else {
            return Err(format!("`{}` is not a map", a.path()));
        };
        node = map
            .entry((*key).to_owned())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
    if let Value::Object(map) = node {
        map.insert((*last).to_owned(), value);
    }
    Ok(())
}

/// Loads, merges and validates.
#[must_use]
pub fn load(input: LoadInput<'_>) -> Loaded {
    let mut diagnostics = Vec::new();
    // Where values came from is only needed to locate a diagnostic, so it is worked out on
    // demand; where they sit in their files comes with the parse.
    let mut origins = Origins::default();
    let mut span_maps: Vec<spans::SpanMap> = Vec::with_capacity(input.values.len());

    let mut merged = match defaults() {
        Ok(v) => v.clone(),
        Err(message) => {
            diagnostics.push(Diagnostic::error(
                "internal",
                "",
                format!("the built-in defaults do not parse: {message}"),
            ));
            return Loaded {
                config: None,
                diagnostics,
                merged: Value::Null,
            };
        }
    };

    // `null` entries the schema refuses, found per document (merging drops them), with the
    // document's position of each. A `null` under a known key is Helm's way to remove it, so
    // that a later layer can set it afresh: it is an error only when no later layer did.
    let mut null_violations: Vec<(crate::schema::Violation, Diagnostic)> = Vec::new();
    // Each values text may hold several documents (`---`); they are layers of their own,
    // each located in its text.
    let mut sources: Vec<&NamedText> = Vec::with_capacity(input.values.len());
    for (doc, (parsed, spans)) in input
        .values
        .iter()
        .flat_map(|doc| parse_documents(doc).into_iter().map(move |p| (doc, p)))
    {
        sources.push(doc);
        span_maps.push(spans);
        match parsed {
            Ok(value) => {
                for v in crate::schema::null_entries(&value) {
                    // The key, or the `null` when it is written on the key's line (a key
                    // with nothing after it has its empty value on the next line).
                    let span = span_maps.last().and_then(|m| {
                        let key = m.key(&v.path);
                        match (key, m.value(&v.path)) {
                            (Some(k), Some(value))
                                if v.code != "unknown-key" && value.line == k.line =>
                            {
                                Some(value)
                            }
                            _ => key.or_else(|| m.find(&v.path)),
                        }
                    });
                    let mut d = Diagnostic::error(v.code, v.path.clone(), v.message.clone()).at(
                        &doc.name,
                        span.map(|s| s.line),
                        span.map(|s| s.column),
                    );
                    d.hint.clone_from(&v.hint);
                    null_violations.push((v, d));
                }
                // Which keys a document set is known from its spans, unless merge keys
                // copied entries in: then keep the document's values to look them up.
                let layer = match span_maps.last() {
                    Some(spans) if !spans.merged => Layer::Spans,
                    _ => Layer::Values(value.clone()),
                };
                origins.documents.push(Some(layer));
                merge::coalesce(&mut merged, value);
            }
            Err(d) => {
                origins.documents.push(None);
                diagnostics.push(*d);
            }
        }
    }

    // Helm's order: --set-json, --set, --set-string, --set-file. Each flag is shown as
    // written (a --set-file by its file's name, never its text).
    let flags = input
        .set_json
        .iter()
        .map(|arg| ("--set-json", arg.clone(), set::parse_json(arg)))
        .chain(
            input
                .set
                .iter()
                .map(|arg| ("--set", arg.clone(), set::parse(arg, false))),
        )
        .chain(
            input
                .set_string
                .iter()
                .map(|arg| ("--set-string", arg.clone(), set::parse(arg, true))),
        )
        .chain(input.set_file.iter().map(|f| {
            (
                "--set-file",
                format!("{}={}", f.key, f.file),
                set::file(&f.key, &f.text).map(|a| vec![a]),
            )
        }));
    for (flag, arg, parsed) in flags {
        let arg = &arg;
        let origin = Origin::Flag {
            flag,
            arg: arg.clone(),
        };
        match parsed {
            Ok(assignments) => {
                for a in assignments {
                    // `--set key=null` removes the key as a `null` in a file does.
                    let removal = a.as_document().filter(|doc| {
                        let mut leaf = doc;
                        while let Some((_, inner)) = leaf.as_object().and_then(|m| m.iter().next())
                        {
                            leaf = inner;
                        }
                        leaf.is_null()
                    });
                    for v in removal
                        .as_ref()
                        .map(crate::schema::null_entries)
                        .unwrap_or_default()
                    {
                        let mut d = Diagnostic::error(v.code, v.path.clone(), v.message.clone())
                            .at(format!("{flag} {arg}"), None, None);
                        d.hint.clone_from(&v.hint);
                        null_violations.push((v, d));
                    }
                    // A JSON object replaces what the values files set at its path, and
                    // the defaults still fill in around it: Helm sets it into the user's
                    // values and coalesces the chart's defaults last. Anything else
                    // replaces.
                    let object =
                        flag == "--set-json" && a.value().is_object() && a.as_document().is_some();
                    let applied = if object {
                        replace_over_defaults(&mut merged, &a)
                    } else {
                        set::apply(&mut merged, &a)
                    };
                    if let Err(message) = applied {
                        diagnostics.push(Diagnostic::error("invalid-set", a.path(), message).at(
                            format!("{flag} {arg}"),
                            None,
                            None,
                        ));
                    }
                    origins.flags.push((a.key_path(), origin.clone()));
                    // Every setting a JSON object sets came from the flag too.
                    if flag == "--set-json" {
                        let mut leaves = Vec::new();
                        key_paths(a.value(), &a.key_path(), &mut leaves);
                        origins
                            .flags
                            .extend(leaves.into_iter().map(|p| (p, origin.clone())));
                    }
                }
            }
            Err(message) => diagnostics.push(
                Diagnostic::error(
                    "invalid-set",
                    "",
                    format!("cannot parse `{flag}`: {message}"),
                )
                .at(format!("{flag} {arg}"), None, None)
                .with_hint(if flag == "--set-json" {
                    "write `path.to.key=JSON`: a string in double quotes (`a.b=\"text\"`), \
                         an object as `{\"key\": 1}`"
                } else {
                    "write `path.to.key=value`; escape `,` and `.` with `\\`"
                }),
            ),
        }
    }

    let locate = |d: Diagnostic| flag_hint(locate(d, &sources, &origins, &span_maps));

    if diagnostics.iter().any(Diagnostic::is_error) {
        return Loaded {
            config: None,
            diagnostics: diagnostics.into_iter().map(locate).collect(),
            merged,
        };
    }

    // Every schema violation at once; then repair the flagged values with their defaults so
    // that the semantic checks can still run on the rest.
    let violations = crate::schema::validate(&merged);
    let mut flagged: Vec<String> = Vec::new();
    let mut misspelled: Vec<crate::schema::Misspelling> = Vec::new();
    for (v, d) in null_violations {
        if v.code != "unknown-key" && contains(&merged, &v.path) {
            continue;
        }
        flagged.push(v.path);
        misspelled.extend(v.meant);
        diagnostics.push(d);
    }
    flagged.extend(violations.iter().map(|v| v.path.clone()));
    misspelled.extend(violations.iter().filter_map(|v| v.meant.clone()));
    for v in violations {
        let mut d = Diagnostic::error(v.code, v.path, v.message);
        d.hint = v.hint;
        diagnostics.push(d);
    }
    // Sections read under the key a misspelled one resembles: (known path, written path).
    let mut renamed: Vec<(String, String)> = Vec::new();
    // Only a config with violations needs a repaired copy.
    let repaired = (!flagged.is_empty()).then(|| {
        let mut repaired = merged.clone();
        let defaults = defaults().unwrap_or(&Value::Null);
        let mut repaired_paths = Vec::new();
        for path in &flagged {
            repaired_paths.push(repair(&mut repaired, defaults, path));
        }
        flagged.extend(repaired_paths);
        for m in &misspelled {
            if let Some(meant) = respell(&mut repaired, &merged, m) {
                renamed.push((meant, join(&m.parent, &m.written)));
            }
        }
        repaired
    });
    let config = match deserialize(repaired.as_ref().unwrap_or(&merged)) {
        Ok(config) => Some(config),
        Err(found) => {
            if flagged.is_empty() {
                diagnostics.extend(found);
            }
            None
        }
    };
    if let Some(config) = &config {
        let under_flagged = |path: &str| {
            flagged.iter().any(|f| {
                path == f
                    || path.starts_with(&format!("{f}."))
                    || path.starts_with(&format!("{f}["))
            })
        };
        diagnostics.extend(
            validate::check(config, input.checks)
                .into_iter()
                .filter(|d| !under_flagged(&d.path)),
        );
    }
    let diagnostics: Vec<Diagnostic> = diagnostics
        .into_iter()
        .map(|d| locate_as_written(d, &renamed, &locate))
        .collect();
    let config = config.filter(|_| !diagnostics.iter().any(Diagnostic::is_error));
    Loaded {
        config,
        diagnostics,
        merged,
    }
}

/// Locates a finding in a section read under the key it resembles where it was written: the
/// path stays the known one, the position is the misspelled key's.
fn locate_as_written(
    mut d: Diagnostic,
    renamed: &[(String, String)],
    locate: &impl Fn(Diagnostic) -> Diagnostic,
) -> Diagnostic {
    let found = renamed.iter().find_map(|(meant, written)| {
        let rest = d.path.strip_prefix(meant.as_str())?;
        (rest.is_empty() || rest.starts_with(['.', '['])).then(|| format!("{written}{rest}"))
    });
    match found {
        Some(written) if d.file.is_none() => {
            let path = std::mem::replace(&mut d.path, written);
            let mut d = locate(d);
            d.path = path;
            d
        }
        _ => locate(d),
    }
}

/// Reads a misspelled section as the section it resembles: the value written under the
/// unknown key is merged over the known key's, so that the semantic checks see what was
/// meant rather than the defaults of a section that seems to be missing (`registraton:`
/// alone is one error, not also the reCAPTCHA keys that the default registration settings
/// would ask for); what the checks find in it is located at the misspelled key. Kept only
/// when the result is valid by schema, so that the guess cannot bring new errors; returns
/// the known key's path when it was used.
fn respell(repaired: &mut Value, merged: &Value, m: &crate::schema::Misspelling) -> Option<String> {
    fn map_at<'a>(root: &'a mut Value, parent: &str) -> Option<&'a mut Map<String, Value>> {
        if parent.contains('[') {
            return None;
        }
        let mut node = root;
        if !parent.is_empty() {
            for key in parent.split('.') {
                node = node.as_object_mut()?.get_mut(key)?;
            }
        }
        node.as_object_mut()
    }
    let written = {
        let mut node = merged;
        if !m.parent.is_empty() {
            for key in m.parent.split('.') {
                node = node.get(key)?;
            }
        }
        node.get(&m.written)?.clone()
    };
    let mut candidate = repaired.clone();
    let map = map_at(&mut candidate, &m.parent)?;
    match map.get_mut(&m.meant) {
        Some(existing) => merge::coalesce(existing, written),
        None => {
            let mut fresh = Value::Object(Map::new());
            merge::coalesce(&mut fresh, written);
            map.insert(m.meant.clone(), fresh);
        }
    }
    let meant = join(&m.parent, &m.meant);
    let clean = crate::schema::validate(&candidate).iter().all(|v| {
        !(v.path == meant
            || v.path.starts_with(&format!("{meant}."))
            || v.path.starts_with(&format!("{meant}[")))
    });
    clean.then(|| {
        *repaired = candidate;
        meant
    })
}

/// Puts the default back at `path` (or removes the value when there is none), so that a
/// config with a bad value still deserializes for the semantic checks.
fn repair(root: &mut Value, defaults: &Value, path: &str) -> String {
    // Work on the map that holds the first list or the final key.
    let key_path = path.split('[').next().unwrap_or(path);
    let mut keys: Vec<&str> = key_path.split('.').collect();
    // Inside a value whose default is a scalar (a secret given as a malformed
    // `existingSecret` map), repair the whole value.
    for n in 1..keys.len() {
        let prefix = keys[..n].iter().try_fold(defaults, |v, k| v.get(*k));
        if prefix.is_some_and(|v| !v.is_object()) {
            keys.truncate(n);
            break;
        }
    }
    let default = keys.iter().try_fold(defaults, |v, k| v.get(*k)).cloned();
    let repaired = keys.join(".");
    let mut node = root;
    for (i, key) in keys.iter().enumerate() {
        let Value::Object(map) = node else {
            return repaired;
        };
        if i + 1 == keys.len() {
            match default {
                Some(d) => {
                    map.insert((*key).to_owned(), d);
                }
                None => {
                    map.remove(*key);
                }
            }
            return repaired;
        }
        match map.get_mut(*key) {
            Some(next) => node = next,
            None => return repaired,
        }
    }
    repaired
}

/// What set which value: each document's values (`None` when it did not parse) and each
/// `--set`/`--set-string` key path, in the order they were applied over the defaults.
#[derive(Default)]
struct Origins {
    documents: Vec<Option<Layer>>,
    flags: Vec<(String, Origin)>,
}

/// How to tell which keys a parsed document set.
enum Layer {
    /// From its span map (the document's own keys, all of them).
    Spans,
    /// From its values (merge keys copied entries that have no key in the text).
    Values(Value),
}

impl Origins {
    /// Who set `path`: the deepest ancestor (list indexes count as their list) that a layer
    /// set, and of the layers that set it the last one applied.
    fn of(&self, path: &str, span_maps: &[spans::SpanMap]) -> Option<Origin> {
        let mut probe = path.split('[').next().unwrap_or(path);
        while !probe.is_empty() {
            if let Some(origin) = self.at(probe, span_maps) {
                return Some(origin);
            }
            // A key that neither a layer nor the defaults have, but that a flag created by
            // setting something beneath it (`--set bogus.x=1`), is the flag's.
            let beneath = |p: &String| {
                p.strip_prefix(probe)
                    .is_some_and(|rest| rest.starts_with('.'))
            };
            if let Some((_, origin)) = self.flags.iter().rev().find(|(p, _)| beneath(p)) {
                return Some(origin.clone());
            }
            probe = probe.rfind('.').map_or("", |dot| &probe[..dot]);
        }
        None
    }

    fn at(&self, path: &str, span_maps: &[spans::SpanMap]) -> Option<Origin> {
        if let Some((_, origin)) = self.flags.iter().rev().find(|(p, _)| p == path) {
            return Some(origin.clone());
        }
        let sets = |index: usize, layer: &Layer| match layer {
            Layer::Spans => span_maps
                .get(index)
                .and_then(|spans| spans.has_key(path))
                .unwrap_or(false),
            Layer::Values(values) => contains(values, path),
        };
        if let Some(index) = self
            .documents
            .iter()
            .enumerate()
            .rposition(|(index, doc)| doc.as_ref().is_some_and(|layer| sets(index, layer)))
        {
            return Some(Origin::Document(index));
        }
        defaults()
            .is_ok_and(|d| contains(d, path))
            .then_some(Origin::Defaults)
    }
}

/// Whether the dotted `path` names a value in `value` (keys may contain dots themselves).
fn contains(value: &Value, path: &str) -> bool {
    let Value::Object(map) = value else {
        return false;
    };
    map.contains_key(path)
        || map.iter().any(|(key, child)| {
            path.strip_prefix(key.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .is_some_and(|rest| contains(child, rest))
        })
}

/// Attaches file, line and column to a diagnostic from the value's origin: its own path,
/// or else the first related path that a file or flag set.
fn locate(
    mut d: Diagnostic,
    docs: &[&NamedText],
    origins: &Origins,
    span_maps: &[spans::SpanMap],
) -> Diagnostic {
    if d.file.is_some() {
        return d;
    }
    let candidates: Vec<String> = std::iter::once(d.path.clone())
        .chain(d.related.iter().cloned())
        .collect();
    for path in candidates {
        match origins.of(&path, span_maps) {
            Some(Origin::Document(i)) => {
                if let Some(doc) = docs.get(i) {
                    let span = span_maps.get(i).and_then(|m| {
                        if d.code == "unknown-key" {
                            m.key(&path).or_else(|| m.find(&path))
                        } else {
                            m.find(&path)
                        }
                    });
                    d.file = Some(doc.name.clone());
                    d.line = span.map(|s| s.line);
                    d.column = span.map(|s| s.column);
                }
                return d;
            }
            Some(Origin::Flag { flag, arg }) => {
                d.file = Some(format!("{flag} {arg}"));
                return d;
            }
            Some(Origin::Defaults) | None => {}
        }
    }
    d
}

/// A type error in a value from `--set` or `--set-string` is fixed by the other flag, not by
/// quoting: the flags decide the type.
fn flag_hint(mut d: Diagnostic) -> Diagnostic {
    if d.code != "invalid-type" {
        return d;
    }
    let flag = d.file.as_deref().and_then(|f| f.split(' ').next());
    if flag == Some("--set") && d.message.starts_with("expected a string") {
        d.hint = Some(
            "pass it with `--set-string`: `--set` reads `true`, `false`, `null` and numbers as \
             such"
                .to_owned(),
        );
    } else if flag == Some("--set-string") && d.message.ends_with("found a string") {
        d.hint = Some("pass it with `--set`: `--set-string` makes every value a string".to_owned());
    }
    d
}

/// Parsed values documents: each a JSON map, or why it is not one.
type Parsed = Vec<(Result<Value, Box<Diagnostic>>, spans::SpanMap)>;

/// Parses a values text, one document or a stream of them (`---`), into JSON maps with the
/// positions of their paths (lines counted in the whole text).
fn parse_documents(doc: &NamedText) -> Parsed {
    if doc.text.len() > MAX_DOCUMENT_BYTES {
        let d = Diagnostic::error(
            "file-too-large",
            "",
            format!(
                "the file is {} bytes; the limit is {MAX_DOCUMENT_BYTES} bytes",
                doc.text.len()
            ),
        )
        .at(&doc.name, None, None)
        .with_hint("a values file is a few kilobytes; check that this is the right file");
        return vec![(Err(Box::new(d)), spans::SpanMap::default())];
    }
    crate::yaml::parse_stream(&doc.text)
        .into_iter()
        .enumerate()
        .map(|(index, (parsed, spans))| {
            // A later document's top is where its value starts; the first's, line 1.
            let top = (index > 0).then(|| spans.value("")).flatten();
            (document(doc, parsed, top), spans)
        })
        .collect()
}

/// One parsed document of `doc` as a JSON map, or why it is not one.
fn document(
    doc: &NamedText,
    parsed: Result<crate::yaml::Document, crate::yaml::YamlError>,
    top: Option<spans::Span>,
) -> Result<Value, Box<Diagnostic>> {
    match parsed {
        Ok(None) => Ok(Value::Object(Map::new())),
        Ok(Some(value @ Value::Object(_))) => Ok(value),
        Ok(Some(_)) => Err(Box::new(
            Diagnostic::error(
                "not-a-mapping",
                "",
                "a values document must be a mapping of keys to values",
            )
            .at(
                &doc.name,
                Some(top.map_or(1, |s| s.line)),
                Some(top.map_or(1, |s| s.column)),
            )
            .with_hint("start the file with top-level keys such as `global:`"),
        )),
        Err(e) => {
            let hint = match e.code {
                "duplicate-key" => "remove one of them; YAML keys must be unique",
                "too-deep" => "a values file is a few levels deep; check for runaway brackets",
                "too-many-aliases" => "expand the anchors by hand, or use fewer nested aliases",
                "unsupported-yaml" => "values are plain YAML: string keys, no tags",
                _ => "fix the YAML syntax; a values file is one YAML mapping",
            };
            Err(Box::new(
                Diagnostic::error(e.code, e.path, e.message)
                    .at(&doc.name, e.span.map(|s| s.line), e.span.map(|s| s.column))
                    .with_hint(hint),
            ))
        }
    }
}

/// Deserializes the merged values. The schema has already reported type errors, unknown
/// keys and bad values with their paths; what reaches serde is a required key that a `null`
/// removed, and serde names only the key. That key is in the defaults (which supply every
/// key), so the first map that lost it there is where it went missing. (serde_path_to_error
/// would track the path through every visitor, doubling the deserializer's code in the wasm
/// modules for this one case.)
fn deserialize(merged: &Value) -> Result<Config, Vec<Diagnostic>> {
    Config::deserialize(merged).map_err(|e| {
        let message = e.to_string();
        let parent = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .and_then(|field| {
                let defaults = defaults().ok()?;
                deleted_from(defaults, merged, field, &mut String::new())
            })
            .unwrap_or_default();
        vec![classify(&parent, &message)]
    })
}

/// The path of the first map (in the defaults' order) that has `field` in `defaults` but
/// not in `merged`.
fn deleted_from(
    defaults: &Value,
    merged: &Value,
    field: &str,
    path: &mut String,
) -> Option<String> {
    let (Value::Object(d), Value::Object(m)) = (defaults, merged) else {
        return None;
    };
    if d.contains_key(field) && !m.contains_key(field) {
        return Some(path.clone());
    }
    let restore = path.len();
    for (key, child) in d {
        let Some(other) = m.get(key) else { continue };
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        let found = deleted_from(child, other, field, path);
        path.truncate(restore);
        if found.is_some() {
            return found;
        }
    }
    None
}

fn classify(path: &str, message: &str) -> Diagnostic {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let full = join(path, field);
        let parent = match full.rfind('.') {
            Some(dot) => format!("`{}`", &full[..dot]),
            None => "the top level".to_owned(),
        };
        let mut d = Diagnostic::error(
            "unknown-key",
            full,
            format!("unknown key `{field}` in {parent}"),
        );
        d = match crate::suggest::closest(field, &candidates) {
            Some(best) => d.with_hint(format!("did you mean `{best}`?")),
            None => d.with_hint(format!("known keys here: {}", candidates.join(", "))),
        };
        return d;
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return Diagnostic::error(
            "missing-key",
            join(path, field),
            format!("required key `{field}` is missing"),
        )
        .with_hint("add it to your values file, or remove the `null` that deleted it");
    }
    if message.starts_with("invalid type") || message.starts_with("invalid value") {
        return Diagnostic::error("invalid-type", path, redact_type_error(message))
            .with_hint("check the value's type against the schema (quote strings, unquote numbers and booleans)");
    }
    if message.starts_with("unknown variant") {
        return Diagnostic::error("invalid-value", path, message.to_owned());
    }
    Diagnostic::error("invalid-value", path, message.to_owned())
}

/// serde's "invalid type: string \"hunter2\", expected u16" names the value, which may be a
/// secret: keep only the kinds.
fn redact_type_error(message: &str) -> String {
    let Some((found, expected)) = message.rsplit_once(", expected ") else {
        return "wrong type".to_owned();
    };
    let found = found
        .trim_start_matches("invalid type: ")
        .trim_start_matches("invalid value: ");
    let kind: Vec<&str> = found
        .split(' ')
        .take_while(|w| !w.starts_with('"') && !w.starts_with('`'))
        .collect();
    format!("expected {expected}, found {}", article(&kind.join(" ")))
}

fn article(kind: &str) -> String {
    match kind {
        "" => "another value".to_owned(),
        k if k.starts_with(['a', 'e', 'i', 'o', 'u']) => format!("an {k}"),
        k => format!("a {k}"),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The dotted paths of every key inside `value`, under `prefix`.
fn key_paths(value: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(map) = value {
        for (key, child) in map {
            let path = format!("{prefix}.{key}");
            key_paths(child, &path, out);
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_defaults_are_the_yaml_defaults() {
        let yaml = crate::yaml::parse(DEFAULTS_YAML).0.unwrap().unwrap();
        let compiled = defaults().unwrap();
        assert_eq!(compiled, &yaml);
        // Same order too: it is the order of the merged values.
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(compiled), keys(&yaml));
    }

    /// Helm's `--set-json` with an object: what the values files set at its path is
    /// replaced (not merged), and the defaults still fill in around it.
    #[test]
    fn a_set_json_object_replaces_the_files_values_over_the_defaults() {
        let values = [NamedText {
            name: "values.yaml".to_owned(),
            text: "synapse:\n  storage: {storageClassName: fast, size: 1Gi}\n\
                   element:\n  extraConfig: {a: 1, m: {keep: true}}\n"
                .to_owned(),
        }];
        let set_json = [
            r#"synapse.storage={"size": "20Gi"}"#.to_owned(),
            r#"element.extraConfig.m={"b": [1, {"c": null}]}"#.to_owned(),
        ];
        let loaded = load(LoadInput {
            values: &values,
            set_json: &set_json,
            ..Default::default()
        });
        let m = &loaded.merged;
        assert_eq!(
            m["synapse"]["storage"],
            serde_json::json!({"size": "20Gi", "storageClassName": ""})
        );
        assert_eq!(
            m["element"]["extraConfig"],
            serde_json::json!({"a": 1, "m": {"b": [1, {"c": null}]}})
        );
        // A later `--set` still sets leaves inside it.
        let set = ["synapse.storage.storageClassName=slow".to_owned()];
        let loaded = load(LoadInput {
            values: &values,
            set: &set,
            set_json: &set_json[..1],
            ..Default::default()
        });
        assert_eq!(
            loaded.merged["synapse"]["storage"],
            serde_json::json!({"size": "20Gi", "storageClassName": "slow"})
        );
    }

    #[test]
    fn a_required_key_removed_by_null_is_located() {
        let values = [NamedText {
            name: "values.yaml".to_owned(),
            text: "global:\n  domain: matrix.example.org\n  elementDomain: chat.example.org\n\
                   coturn:\n  realm: turn.example.org\n  turn_url: turn.example.org\n\
                   synapse:\n  image: null\n"
                .to_owned(),
        }];
        let loaded = load(LoadInput {
            values: &values,
            set: &[],
            set_string: &[],
            ..Default::default()
        });
        let missing: Vec<(&str, &str, Option<u32>)> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error() && d.path.starts_with("synapse.image"))
            .map(|d| (d.code.as_str(), d.path.as_str(), d.line))
            .collect();
        // The schema wants a map there: the `null` is the error, at its own line.
        assert_eq!(missing, [("invalid-type", "synapse.image", Some(8))]);
    }

    fn errors_of(texts: &[&str]) -> Vec<(String, String, Option<u32>)> {
        let values: Vec<NamedText> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| NamedText {
                name: format!("{i}.yaml"),
                text: (*text).to_owned(),
            })
            .collect();
        load(LoadInput {
            values: &values,
            set: &[],
            set_string: &[],
            ..Default::default()
        })
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .map(|d| (d.code, d.path, d.line))
        .collect()
    }

    const BASE: &str = "global: {domain: matrix.example.org, elementDomain: element.example.org}\n\
                        coturn: {realm: turn.example.org, turn_url: turn.example.org, turn_shared_secret: t}\n\
                        synapse: {registration_shared_secret: r, registration: {captchaEnabled: false, requiresToken: true}}\n";

    #[test]
    fn a_null_is_an_error_unless_a_later_layer_sets_the_key_again() {
        // Helm's idiom: empty a map, then fill it afresh.
        assert_eq!(
            errors_of(&[
                BASE,
                "element:\n  features: null\n",
                "element:\n  features: {}\n"
            ]),
            []
        );
        // Left removed, the setting is missing: reported at the `null`, as the schema says.
        assert_eq!(
            errors_of(&[BASE, "global:\n  serverName:\n"]),
            [(
                "invalid-type".to_owned(),
                "global.serverName".to_owned(),
                Some(2)
            )]
        );
        // Unknown keys are unknown whatever their value; free-form entries may be removed.
        assert_eq!(
            errors_of(&[
                BASE,
                "synapse:\n  bogus: ~\ningress:\n  annotations: {a: ~}\n"
            ]),
            [(
                "unknown-key".to_owned(),
                "synapse.bogus".to_owned(),
                Some(2)
            )]
        );
    }

    #[test]
    fn a_value_a_merge_key_brought_in_is_located_in_its_document() {
        let doc = |name: &str, text: &str| NamedText {
            name: name.to_owned(),
            text: text.to_owned(),
        };
        let values = [
            doc(
                "base.yaml",
                "global:\n  domain: matrix.example.org\n  elementDomain: chat.example.org\n\
                 coturn:\n  realm: turn.example.org\n  turn_url: turn.example.org\n  \
                 image:\n    tag: \"4.6\"\n",
            ),
            // The second document sets coturn.image.tag only through the merge key.
            doc(
                "over.yaml",
                "element:\n  image: &img\n    tag: 5\ncoturn:\n  image:\n    <<: *img\n",
            ),
        ];
        let loaded = load(LoadInput {
            values: &values,
            set: &[],
            set_string: &[],
            ..Default::default()
        });
        let found: Vec<(&str, Option<&str>)> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error() && d.path.ends_with("image.tag"))
            .map(|d| (d.path.as_str(), d.file.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                ("element.image.tag", Some("over.yaml")),
                ("coturn.image.tag", Some("over.yaml")),
            ]
        );
    }

    #[test]
    fn type_errors_never_echo_the_value() {
        let m = redact_type_error("invalid type: string \"hunter2\", expected u16");
        assert_eq!(m, "expected u16, found a string");
        let m = redact_type_error("invalid type: integer `123456`, expected a string");
        assert_eq!(m, "expected a string, found an integer");
        let m = redact_type_error("invalid type: map, expected a string");
        assert_eq!(m, "expected a string, found a map");
    }
}
