//! The JSON Schema of a values file, and a validator that reports every schema violation
//! at once.
//!
//! schemars derives the structure from [`Config`]; this module then makes it a schema for
//! *files*, which may set any subset of keys: structs whose fields all have defaults lose
//! `required` (list items, such as a footer link, keep it), and every property gets its
//! `default` (from `defaults.yaml`) and an `examples` entry (from `examples/values.yaml`, or
//! the default). The same schema drives [`validate`], so editors, the Python `jsonschema`
//! conformance test and matrix-render agree on what is valid.

use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::config::Config;
use crate::suggest;

/// The schema's `$id`: the file as the release of this version publishes it, so that a
/// values file's modeline or an editor's schema cache names the version it was written for.
pub const SCHEMA_ID: &str = concat!(
    "https://raw.githubusercontent.com/matrix-render/matrix-render/v",
    env!("CARGO_PKG_VERSION"),
    "/schema/matrix-render.schema.json"
);

/// The example config, whose values become each property's example.
const EXAMPLES_YAML: &str = include_str!("../shared/example-values.yaml");

/// Examples for settings whose default is empty and which the example config leaves empty.
const EXTRA_EXAMPLES: &[(&str, &str)] = &[
    (
        "ingress.annotations",
        r#"{"nginx.ingress.kubernetes.io/proxy-body-size": "100m"}"#,
    ),
    (
        "ingress.hosts.synapse.annotations",
        r#"{"traefik.ingress.kubernetes.io/router.priority": "10"}"#,
    ),
    (
        "ingress.hosts.element.annotations",
        r#"{"traefik.ingress.kubernetes.io/router.priority": "10"}"#,
    ),
    (
        "ingress.hosts.matrixrtc.annotations",
        r#"{"traefik.ingress.kubernetes.io/router.priority": "10"}"#,
    ),
    ("global.serverName", r#""example.org""#),
    (
        "synapse.wellKnown.delegatedServer",
        r#""matrix.example.org:443""#,
    ),
    ("synapse.storage.storageClassName", r#""local-path""#),
    ("synapse.recaptcha.siteKey", r#""<recaptcha-site-key>""#),
    ("synapse.recaptcha.secretKey", r#""<recaptcha-secret-key>""#),
    (
        "synapse.registration_shared_secret",
        r#""<random-long-secret>""#,
    ),
    (
        "synapse.moderation.roomListPublicationRules",
        r#"[{"user_id": "@admin:example.org", "alias": "*", "room_id": "*", "action": "allow"}]"#,
    ),
    (
        "synapse.moderation.aliasCreationRules",
        r##"[{"user_id": "*", "alias": "#*", "room_id": "*", "action": "allow"}]"##,
    ),
    ("synapse.retention.defaultPolicy.minLifetime", r#""1d""#),
    ("synapse.retention.defaultPolicy.maxLifetime", r#""1y""#),
    ("synapse.retention.allowedLifetimeMin", r#""1d""#),
    ("synapse.retention.allowedLifetimeMax", r#""1y""#),
    (
        "synapse.media.urlPreviewIpRangeBlacklist",
        r#"["198.51.100.0/24"]"#,
    ),
    (
        "synapse.media.urlPreviewIpRangeWhitelist",
        r#"["192.168.1.10/32"]"#,
    ),
    (
        "synapse.serverNotices.roomAvatarUrl",
        r#""mxc://example.org/notices-avatar""#,
    ),
    (
        "element.embeddedPages.homeUrl",
        r#""https://element.example.org/pages/home.html""#,
    ),
    (
        "element.embeddedPages.welcomeUrl",
        r#""https://element.example.org/pages/welcome.html""#,
    ),
    (
        "synapse.extraConfig",
        r#"{"email": {"smtp_host": "smtp.example.org", "notif_from": "Matrix <matrix@example.org>"}}"#,
    ),
    (
        "synapse.extraSecretConfig",
        r#"{"email": {"smtp_pass": "<smtp-password>"}}"#,
    ),
    (
        "synapse.extraConfigSecrets",
        r#"[{"name": "synapse-sso", "key": "oidc.yaml"}]"#,
    ),
    (
        "synapse.appServices",
        r#"[{"kind": "Secret", "name": "mautrix-telegram", "key": "registration.yaml"}]"#,
    ),
    ("element.features", r#"{"feature_video_rooms": true}"#),
    (
        "element.extraConfig",
        r#"{"permalink_prefix": "https://matrix.example.org"}"#,
    ),
    ("coturn.turn_shared_secret", r#""<random-long-secret>""#),
    ("coturn.public_ip_static", r#""203.0.113.10""#),
    ("matrixrtc.ingressClassName", r#""traefik""#),
    ("podSecurity.hostNetworkNamespace", r#""matrix-host""#),
    ("podSecurity.version", r#""v1.35""#),
    ("matrixrtc.livekit.rtc.udpPort", "7882"),
    ("matrixrtc.livekit.rtc.nodeIp", r#""203.0.113.20""#),
    ("matrixrtc.livekit.rtc.serviceType", r#""LoadBalancer""#),
    (
        "matrixrtc.livekit.rtc.serviceAnnotations",
        r#"{"metallb.universe.tf/loadBalancerIPs": "203.0.113.20"}"#,
    ),
    ("matrixrtc.livekit.key", r#""<livekit-key>""#),
    (
        "matrixrtc.livekit.secret",
        r#""<at-least-32-random-characters>""#,
    ),
];

/// The committed file schema (`schema/matrix-render.schema.json`), which [`generate`] wrote;
/// the freshness tests prove the two are equal. The render path neither derives nor parses
/// it: [`validate`] walks the static tree that build.rs compiles from this file, so
/// schemars, the example values and the JSON text stay out of the wasm modules.
pub const COMMITTED_SCHEMA: &str = include_str!("../shared/matrix-render.schema.json");

/// The file schema, parsed once from [`COMMITTED_SCHEMA`], for callers that want it as
/// JSON; a committed schema that does not parse, which the tests rule out, reads as `false`.
#[must_use]
pub fn json_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(COMMITTED_SCHEMA).unwrap_or(Value::Bool(false)))
}

fn yaml_value(text: &str) -> Value {
    crate::yaml::parse(text)
        .0
        .ok()
        .flatten()
        .unwrap_or(Value::Null)
}

/// Derives the file schema from [`Config`] (schemars), `defaults.yaml` and the example
/// values: what `schema/matrix-render.schema.json` must contain.
#[must_use]
pub fn generate() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Config)).unwrap_or(Value::Null);
    let defaults = yaml_value(crate::load::DEFAULTS_YAML);
    let examples = yaml_value(EXAMPLES_YAML);
    if let Value::Object(root) = &mut schema {
        root.insert("$id".to_owned(), json!(SCHEMA_ID));
        root.insert("title".to_owned(), json!("matrix-render values"));
        root.insert(
            "description".to_owned(),
            json!("A matrix-render values file: the matrix-synapse chart's layout. Files merge in order over the defaults."),
        );
    }
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    let mut annotated = schema.clone();
    annotate(&mut annotated, &defs, &defaults, &examples, "", true);
    if let Value::Object(root) = &mut annotated {
        root.remove("$defs");
        root.remove("definitions");
    }
    annotated
}

fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.').try_fold(value, |v, key| v.get(key))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Inlines `$ref`s (the config tree has no recursion) so each property can carry its own
/// default and example, and makes struct fields optional where defaults exist.
fn annotate(
    schema: &mut Value,
    defs: &Value,
    defaults: &Value,
    examples: &Value,
    path: &str,
    in_config: bool,
) {
    if let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| defs.get(name))
        .cloned()
    {
        let Value::Object(map) = schema else { return };
        map.remove("$ref");
        let Value::Object(target) = target else {
            return;
        };
        for (k, v) in target {
            // The property's own description wins over the type's.
            map.entry(k).or_insert(v);
        }
    }
    let Value::Object(map) = schema else { return };
    if !path.is_empty() {
        if let Some(default) = lookup(defaults, path) {
            map.insert("default".to_owned(), default.clone());
        }
        let example = EXTRA_EXAMPLES
            .iter()
            .find(|(p, _)| *p == path)
            .and_then(|(_, text)| serde_json::from_str::<Value>(text).ok())
            .or_else(|| lookup(examples, path).filter(|v| !is_empty(v)).cloned())
            .or_else(|| lookup(defaults, path).cloned());
        if let Some(example) = example {
            map.insert("examples".to_owned(), json!([example]));
        }
    }
    if in_config && map.contains_key("properties") {
        map.remove("required");
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for (key, prop) in props.iter_mut() {
            annotate(prop, defs, defaults, examples, &join(path, key), in_config);
        }
    }
    if let Some(items) = map.get_mut("items") {
        // List items have no defaults: keep their `required`, give no per-item examples.
        annotate_items(items, defs);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(branches)) = map.get_mut(key) {
            for b in branches {
                annotate_items(b, defs);
            }
        }
    }
}

fn annotate_items(schema: &mut Value, defs: &Value) {
    annotate(schema, defs, &Value::Null, &Value::Null, "", false);
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// One schema violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Dotted path, `a.b[0].c`.
    pub path: String,
    /// Diagnostic code.
    pub code: &'static str,
    /// Message; never contains the offending value when it could be a secret.
    pub message: String,
    /// Hint.
    pub hint: Option<String>,
    /// For an unknown key that resembles a known one: the key it was probably meant to be.
    pub meant: Option<Misspelling>,
}

/// An unknown key and the known key of the same map it resembles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misspelling {
    /// Path of the map that holds both (`""` for the top level).
    pub parent: String,
    /// The key as written.
    pub written: String,
    /// The known key.
    pub meant: String,
}

/// One node of the file schema, as crates/model/build.rs compiles it from the committed JSON:
/// only the keywords the validator checks, in static data that needs no parsing.
#[derive(Debug)]
pub(crate) struct Node {
    /// The schema `false`: no value is allowed.
    never: bool,
    /// `type`, in schema order; empty for any type.
    types: &'static [&'static str],
    one_of: &'static [Node],
    any_of: &'static [Node],
    /// `const`; the schema's literals are all strings.
    konst: Option<&'static str>,
    /// `enum`.
    enumeration: Option<&'static [&'static str]>,
    minimum: Option<i64>,
    maximum: Option<i64>,
    /// `format: int32`.
    int32: bool,
    /// `pattern`: one of the naming rules, which build.rs found by its expression.
    pattern: Option<&'static crate::names::Rule>,
    /// `maxLength`, in characters.
    max_length: Option<usize>,
    /// `propertyNames`: the schema every key of a map must satisfy.
    property_names: Option<&'static Node>,
    /// `properties`, in schema order.
    properties: &'static [(&'static str, Node)],
    additional: Additional,
    required: &'static [&'static str],
    items: Option<&'static Node>,
}

impl Node {
    /// The schema `true`: anything goes.
    const ANY: Self = Self {
        never: false,
        types: &[],
        one_of: &[],
        any_of: &[],
        konst: None,
        enumeration: None,
        minimum: None,
        maximum: None,
        int32: false,
        pattern: None,
        max_length: None,
        property_names: None,
        properties: &[],
        additional: Additional::Any,
        required: &[],
        items: None,
    };

    fn property(&self, key: &str) -> Option<&Node> {
        self.properties
            .iter()
            .find_map(|(name, node)| (*name == key).then_some(node))
    }
}

/// `additionalProperties`.
#[derive(Debug)]
enum Additional {
    Any,
    Deny,
    Schema(&'static Node),
}

include!(concat!(env!("OUT_DIR"), "/schema_tree.rs"));

/// Whether `key` is the name of a setting anywhere in the file schema.
#[must_use]
pub fn is_known_key(key: &str) -> bool {
    KNOWN_KEYS.binary_search(&key).is_ok()
}

/// Every violation of the file schema in `value`.
#[must_use]
pub fn validate(value: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut path = String::new();
    walk(value, &TREE, &mut path, &mut out);
    out
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a decimal number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

fn matches_type(v: &Value, ty: &str) -> bool {
    match ty {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    }
}

fn describe_type(ty: &str) -> &str {
    match ty {
        "boolean" => "a boolean (true or false)",
        "integer" => "an integer",
        "number" => "a number",
        "string" => "a string",
        "array" => "a list",
        "object" => "a map",
        other => other,
    }
}

/// Checks `value` against `schema`. `path` is the value's path; it is extended for children
/// and restored before returning, so no path is allocated unless a violation names it.
fn walk(value: &Value, schema: &Node, path: &mut String, out: &mut Vec<Violation>) {
    if schema.never {
        out.push(violation(
            path,
            "invalid-type",
            "no value is allowed here".to_owned(),
            None,
        ));
        return;
    }
    if !schema.types.is_empty() && !schema.types.iter().any(|t| matches_type(value, t)) {
        out.push(type_violation(path, value, schema.types));
        return;
    }
    for branches in [schema.one_of, schema.any_of] {
        if !branches.is_empty() {
            check_branches(value, branches, path, out);
        }
    }
    if let Some(expected) = schema.konst
        && value.as_str() != Some(expected)
    {
        out.push(violation(
            path,
            "invalid-value",
            format!("expected `{}`", Value::from(expected)),
            None,
        ));
        return;
    }
    if let Some(allowed) = schema.enumeration
        && !allowed.iter().any(|a| value.as_str() == Some(a))
    {
        let names: Vec<String> = allowed.iter().map(|a| (*a).to_owned()).collect();
        out.push(not_one_of(path, value, &names));
    }
    if let Some(n) = value
        .as_i64()
        .or_else(|| value.as_u64().map(|u| i64::try_from(u).unwrap_or(i64::MAX)))
    {
        if let Some(min) = schema.minimum
            && n < min
        {
            out.push(violation(
                path,
                "out-of-range",
                format!("must be at least {min}, found {n}"),
                None,
            ));
        }
        if let Some(max) = schema.maximum
            && n > max
        {
            out.push(violation(
                path,
                "out-of-range",
                format!("must be at most {max}, found {n}"),
                None,
            ));
        }
        if schema.int32 && i32::try_from(n).is_err() {
            out.push(violation(
                path,
                "out-of-range",
                format!("must fit in 32 bits, found {n}"),
                None,
            ));
        }
    }
    if let Some(text) = value.as_str() {
        check_string(text, schema, path, out);
    }
    let restore = path.len();
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                push_key(path, key);
                if let Some(names) = schema.property_names {
                    walk(&Value::String(key.clone()), names, path, out);
                }
                if let Some(prop) = schema.property(key) {
                    walk(v, prop, path, out);
                } else {
                    match schema.additional {
                        Additional::Deny => {
                            let known: Vec<&str> =
                                schema.properties.iter().map(|(name, _)| *name).collect();
                            out.push(unknown_key(path, &path[..restore], key, &known));
                        }
                        Additional::Schema(node) => walk(v, node, path, out),
                        Additional::Any => {}
                    }
                }
                path.truncate(restore);
            }
            for key in schema.required {
                if !map.contains_key(*key) {
                    push_key(path, key);
                    out.push(violation(
                        path,
                        "missing-key",
                        format!("required key `{key}` is missing"),
                        Some(format!("add `{key}:` here")),
                    ));
                    path.truncate(restore);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.items {
                for (i, item) in items.iter().enumerate() {
                    {
                        use std::fmt::Write as _;
                        let _ = write!(path, "[{i}]");
                    }
                    walk(item, item_schema, path, out);
                    path.truncate(restore);
                }
            }
        }
        _ => {}
    }
}

/// `maxLength` and `pattern` of a string: messages name the value unless it may be a secret.
fn check_string(text: &str, schema: &Node, path: &str, out: &mut Vec<Violation>) {
    let secret = crate::config::SECRET_PATHS.contains(&path);
    let shown = |text: &str| {
        if secret {
            "the value".to_owned()
        } else {
            // Control characters (a line break in a name) shown escaped.
            let escaped: String = text
                .chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            format!("`{escaped}`")
        }
    };
    if let Some(max) = schema.max_length {
        let len = text.chars().count();
        if len > max {
            out.push(violation(
                path,
                "invalid-value",
                format!(
                    "{} has {len} characters; at most {max} are allowed",
                    shown(text)
                ),
                Some("shorten it".to_owned()),
            ));
            return;
        }
    }
    if let Some(rule) = schema.pattern
        && !(rule.matches)(text)
    {
        out.push(violation(
            path,
            "invalid-value",
            format!("{} is not {}", shown(text), rule.what),
            Some(rule.hint.to_owned()),
        ));
    }
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

fn check_branches(value: &Value, branches: &[Node], path: &mut String, out: &mut Vec<Violation>) {
    let mut best: Option<Vec<Violation>> = None;
    // Branches of another type than the value's only say "wrong type"; prefer a branch of
    // the value's own type, whose findings are specific (a missing or misspelled key).
    let mut wrong_type: Vec<Vec<Violation>> = Vec::new();
    for branch in branches {
        let mut found = Vec::new();
        walk(value, branch, path, &mut found);
        if found.is_empty() {
            return;
        }
        if let [only] = found.as_slice()
            && only.path == *path
            && only.code == "invalid-type"
        {
            wrong_type.push(found);
            continue;
        }
        if best.as_ref().is_none_or(|b| found.len() < b.len()) {
            best = Some(found);
        }
    }
    if best.is_none() && wrong_type.len() > 1 {
        let mut types: Vec<&str> = Vec::new();
        let mut expected: Vec<&str> = Vec::new();
        for b in branches {
            if let [t] = b.types
                && *t != "null"
                && !expected.contains(&describe_type(t))
            {
                types.push(t);
                expected.push(describe_type(t));
            }
        }
        if expected.len() == wrong_type.len() {
            out.push(type_violation(path, value, &types));
            return;
        }
    }
    if best.is_none() {
        best = wrong_type.into_iter().next();
    }
    let consts: Vec<String> = branches
        .iter()
        .filter_map(|b| b.konst)
        .map(str::to_owned)
        .collect();
    if !consts.is_empty() && consts.len() == branches.len() {
        out.push(not_one_of(path, value, &consts));
    } else {
        out.extend(best.unwrap_or_default());
    }
}

fn not_one_of(path: &str, value: &Value, names: &[String]) -> Violation {
    let list = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let hint = value
        .as_str()
        .and_then(|v| suggest::closest(v, &names.iter().map(String::as_str).collect::<Vec<_>>()))
        .map_or_else(
            || format!("use one of {list}"),
            |best| format!("did you mean `{best}`?"),
        );
    let shown = if crate::config::SECRET_PATHS.contains(&path) {
        String::new()
    } else {
        match value {
            Value::String(s) => format!(", found `{s}`"),
            other => format!(", found {}", type_name(other)),
        }
    };
    violation(
        path,
        "invalid-value",
        format!("expected one of {list}{shown}"),
        Some(hint),
    )
}

fn unknown_key(full: &str, parent: &str, key: &str, known: &[&str]) -> Violation {
    let parent_text = if parent.is_empty() {
        "the top level".to_owned()
    } else {
        format!("`{parent}`")
    };
    let best = suggest::closest(key, known);
    let hint = match best {
        Some(best) => format!("did you mean `{best}`?"),
        None if known.is_empty() => "remove it".to_owned(),
        None => format!("known keys here: {}", known.join(", ")),
    };
    let mut v = violation(
        full,
        "unknown-key",
        format!("unknown key `{key}` in {parent_text}"),
        Some(hint),
    );
    v.meant = best.map(|best| Misspelling {
        parent: parent.to_owned(),
        written: key.to_owned(),
        meant: best.to_owned(),
    });
    v
}

/// `expected a string or a map, found an integer`, with a hint for the value's type.
fn type_violation(path: &str, value: &Value, types: &[&str]) -> Violation {
    let expected: Vec<&str> = types
        .iter()
        .filter(|t| **t != "null")
        .map(|t| describe_type(t))
        .collect();
    violation(
        path,
        "invalid-type",
        format!(
            "expected {}, found {}",
            expected.join(" or "),
            type_name(value)
        ),
        Some(type_hint(value, types)),
    )
}

fn type_hint(value: &Value, types: &[&str]) -> String {
    match (value, types.first().copied()) {
        (Value::String(_), Some("integer" | "number")) => {
            "write the number without quotes".to_owned()
        }
        (Value::String(text), Some("boolean")) => {
            let lower = text.to_ascii_lowercase();
            if matches!(lower.as_str(), "true" | "false") {
                "write true or false without quotes".to_owned()
            } else if matches!(lower.as_str(), "yes" | "no" | "on" | "off" | "y" | "n") {
                format!("YAML 1.2 reads `{text}` as text, quoted or not: write `true` or `false`")
            } else {
                "write `true` or `false`".to_owned()
            }
        }
        (Value::Number(_) | Value::Bool(_), Some("string")) => {
            "quote the value to make it a string".to_owned()
        }
        (Value::Null, _) => "`null` (or a key with nothing after it) removes the setting: give \
                             a value, or delete the line to keep the default"
            .to_owned(),
        (_, Some("object")) => "write a map of `key: value` lines here".to_owned(),
        (_, Some("array")) => "write a list here (`- item` lines or `[a, b]`)".to_owned(),
        _ => "check the type against the schema".to_owned(),
    }
}

fn violation(path: &str, code: &'static str, message: String, hint: Option<String>) -> Violation {
    Violation {
        path: path.to_owned(),
        code,
        message,
        hint,
        meant: None,
    }
}

/// The `null` entries of one values document that the schema refuses: an unknown key, or a
/// setting whose value may not be null. Merging drops every `null` entry (Helm's way of
/// removing a key), so the walk over the merged values never sees them; without this pass
/// `bogus: ~`, or a map whose only entry is commented out, would pass unreported. An entry
/// of a free-form map (an annotation, a label) may always be removed.
#[must_use]
pub fn null_entries(document: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut path = String::new();
    nulls(document, &TREE, &mut path, &mut out);
    out
}

fn nulls(value: &Value, schema: &Node, path: &mut String, out: &mut Vec<Violation>) {
    let Value::Object(map) = value else { return };
    let restore = path.len();
    for (key, v) in map {
        push_key(path, key);
        let node = match (schema.property(key), &schema.additional) {
            (Some(prop), _) => Some(prop),
            (None, Additional::Schema(_)) if v.is_null() => None,
            (None, Additional::Schema(node)) => Some(*node),
            (None, Additional::Deny) if v.is_null() => {
                let known: Vec<&str> = schema.properties.iter().map(|(name, _)| *name).collect();
                out.push(unknown_key(path, &path[..restore], key, &known));
                None
            }
            // An unknown key with a value is the merged walk's to report.
            (None, _) => None,
        };
        if let Some(node) = node {
            if v.is_null() {
                walk(v, node, path, out);
            } else {
                nulls(v, node, path, out);
            }
        }
        path.truncate(restore);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_config_property_has_description_default_and_example() {
        fn check(schema: &Value, path: &str, missing: &mut Vec<String>) {
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (k, p) in props {
                    let here = join(path, k);
                    for field in ["description", "default", "examples"] {
                        if p.get(field).is_none() && !path.contains('[') {
                            missing.push(format!("{here}: {field}"));
                        }
                    }
                    check(p, &here, missing);
                }
            }
        }
        let mut missing = Vec::new();
        check(json_schema(), "", &mut missing);
        // Required settings have no default by design.
        missing.retain(|m| {
            ![
                "global.domain: default",
                "global.elementDomain: default",
                "coturn.realm: default",
                "coturn.turn_url: default",
            ]
            .contains(&m.as_str())
        });
        assert!(missing.is_empty(), "{missing:#?}");
    }

    #[test]
    fn finds_every_violation() {
        let v = json!({
            "namespace": 5,
            "global": {"domian": "x"},
            "synapse": {"port": 70000, "image": {"pullPolicy": "Sometimes"}, "registration": {"enabled": "yes"}},
            "element": {"features": {"anything": [1]}, "branding": {"authFooterLinks": [{"text": "t"}]}},
        });
        let found: Vec<(String, &str)> =
            validate(&v).into_iter().map(|v| (v.path, v.code)).collect();
        assert_eq!(
            found,
            vec![
                ("namespace".to_owned(), "invalid-type"),
                ("global.domian".to_owned(), "unknown-key"),
                ("synapse.port".to_owned(), "out-of-range"),
                ("synapse.image.pullPolicy".to_owned(), "invalid-value"),
                ("synapse.registration.enabled".to_owned(), "invalid-type"),
                (
                    "element.branding.authFooterLinks[0].url".to_owned(),
                    "missing-key"
                ),
            ]
        );
    }

    #[test]
    fn only_deliberate_maps_accept_unknown_keys() {
        fn walk(node: &Value, path: &str, open: &mut Vec<String>) {
            let is_map =
                node.get("properties").is_some() || node.get("type") == Some(&json!("object"));
            if is_map && node.get("additionalProperties") != Some(&Value::Bool(false)) {
                open.push(path.to_owned());
            }
            if let Some(Value::Object(props)) = node.get("properties") {
                for (k, v) in props {
                    walk(v, &join(path, k), open);
                }
            }
            if let Some(items) = node.get("items") {
                walk(items, &format!("{path}[]"), open);
            }
        }
        let mut open = Vec::new();
        walk(json_schema(), "", &mut open);
        // Each component's pod settings: labels and annotations (keys and values checked).
        let pod = |component: &str| {
            ["nodeSelector", "podAnnotations", "podLabels"].map(|k| format!("{component}.{k}"))
        };
        let mut expected: Vec<String> = [
            "ingress.annotations",
            "ingress.hosts.synapse.annotations",
            "ingress.hosts.element.annotations",
            "ingress.hosts.matrixrtc.annotations",
            "ingress.hosts.serverName.annotations",
            "networkPolicies.ingressController.podLabels",
            "networkPolicies.dns.podLabels",
            "networkPolicies.database.podLabels",
        ]
        .map(str::to_owned)
        .to_vec();
        expected.extend(pod("synapse.wellKnown"));
        expected.extend(["synapse.extraConfig", "synapse.extraSecretConfig"].map(str::to_owned));
        expected.extend(pod("synapse.workers.router"));
        expected.extend(pod("synapse.workers"));
        expected.extend(pod("synapse"));
        expected.extend(pod("element.staticPages"));
        expected.extend(
            [
                "element.features",
                "element.settingDefaults",
                "element.extraConfig",
            ]
            .map(str::to_owned),
        );
        expected.extend(pod("element"));
        expected.extend(pod("coturn"));
        expected.push("matrixrtc.livekit.rtc.serviceAnnotations".to_owned());
        expected.extend(pod("matrixrtc.livekit"));
        expected.extend(pod("matrixrtc.jwt"));
        expected.extend(pod("backup"));
        expected.extend(
            [
                "metrics.serviceMonitor.labels",
                "metrics.prometheus.podLabels",
            ]
            .map(str::to_owned),
        );
        expected.extend(pod("redis"));
        assert_eq!(open, expected);
    }

    #[test]
    fn the_compiled_tree_mirrors_the_committed_schema() {
        fn same(node: &Node, json: &Value, path: &str) {
            let get = |k: &str| json.get(k);
            let names: Vec<&str> = get("properties")
                .and_then(Value::as_object)
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let tree: Vec<&str> = node.properties.iter().map(|(n, _)| *n).collect();
            assert_eq!(tree, names, "{path}: properties");
            let types: Vec<&str> = match get("type") {
                Some(Value::String(t)) => vec![t.as_str()],
                Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            assert_eq!(node.types, types.as_slice(), "{path}: type");
            assert_eq!(
                node.konst,
                get("const").and_then(Value::as_str),
                "{path}: const"
            );
            assert_eq!(
                node.minimum,
                get("minimum").and_then(Value::as_i64),
                "{path}"
            );
            assert_eq!(
                node.maximum,
                get("maximum").and_then(Value::as_i64),
                "{path}"
            );
            assert_eq!(
                node.pattern.map(|r| r.pattern),
                get("pattern").and_then(Value::as_str),
                "{path}: pattern"
            );
            assert_eq!(
                node.max_length,
                get("maxLength")
                    .and_then(Value::as_u64)
                    .and_then(|n| usize::try_from(n).ok()),
                "{path}: maxLength"
            );
            match (node.property_names, get("propertyNames")) {
                (Some(n), Some(j)) => same(n, j, &format!("{path}{{}}")),
                (None, None) => {}
                _ => panic!("{path}: propertyNames"),
            }
            let required: Vec<&str> = get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            assert_eq!(node.required, required.as_slice(), "{path}: required");
            match (&node.additional, get("additionalProperties")) {
                (Additional::Deny, Some(Value::Bool(false))) => {}
                (Additional::Any, None | Some(Value::Bool(true))) => {}
                (Additional::Schema(n), Some(s @ Value::Object(_))) => same(n, s, path),
                (a, j) => panic!("{path}: additionalProperties {a:?} vs {j:?}"),
            }
            for ((name, child), (_, j)) in node.properties.iter().zip(
                get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten(),
            ) {
                same(child, j, &join(path, name));
            }
            for (key, branches) in [("oneOf", node.one_of), ("anyOf", node.any_of)] {
                let json_branches = get(key)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                assert_eq!(branches.len(), json_branches.len(), "{path}: {key}");
                for (b, j) in branches.iter().zip(&json_branches) {
                    same(b, j, path);
                }
            }
            match (node.items, get("items")) {
                (Some(n), Some(j)) => same(n, j, &format!("{path}[]")),
                (None, None) => {}
                _ => panic!("{path}: items"),
            }
        }
        same(&TREE, json_schema(), "");
    }

    #[test]
    fn the_embedded_schema_is_the_generated_one() {
        let committed: Value = serde_json::from_str(COMMITTED_SCHEMA).unwrap_or(Value::Null);
        assert!(
            committed == generate(),
            "schema/matrix-render.schema.json is stale: run \
             `cargo xtask regen` (or `UPDATE_GOLDEN=1 cargo test -p matrix-render-model committed_schema_is_fresh`)"
        );
    }

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(
            validate(&yaml_value(crate::load::DEFAULTS_YAML)),
            Vec::new()
        );
    }
}
