//! Secret values kept out of every message: one rule for every front-end.
//!
//! [`Secrets::collect`] finds every value that may be a secret in the values documents and
//! the `--set`/`--set-string` flags of a request:
//! - a scalar under a key of [`crate::config::SECRET_PATHS`] (wherever it sits, so a KRM
//!   function config's `spec` and a misplaced parent count too), or under a key whose name
//!   looks secret (`secret`, `password`, `token`, `key`, ... in any case or spelling) or is
//!   one typo away from such a word (`registration_shared_secert`), block, flow, quoted and
//!   aliased values alike; the name and key of an `existingSecret` reference are not secret;
//! - every scalar of a document whose file name contains `secret` (`.secrets.yaml`,
//!   `tenant/secrets.yaml`): such a file holds secrets by definition, and its lines are
//!   never shown, whatever it turns out to contain;
//! - the value of every flag that sets such a path, as typed and as written.
//!
//! [`Secrets::mask`] then replaces each of them, its escaped forms (JSON, YAML quoted) and
//! each line and word of a multi-line one, in any ASCII case, with [`MASK`] in any text: the core masks every
//! diagnostic's message, hint, path and flag name before it leaves, and the snippet renderer
//! ([`crate::report`]) masks every source line it shows. A value shorter than
//! [`MIN_ANYWHERE`] characters is masked only where it stands alone, so that a one-letter
//! secret does not blot out every word; an empty value is no secret (`""` stays `""`).

use serde_json::Value;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

use crate::api::RenderRequest;
use crate::diag::Diagnostic;
use crate::load::NamedText;

/// What a secret value is replaced with.
pub const MASK: &str = "********";

/// Values at least this many characters long are masked wherever they occur; shorter ones
/// only where no letter or digit touches them.
pub const MIN_ANYWHERE: usize = 6;

/// Words that make a key's value secret when its name contains one (case and `_`/`-`
/// ignored).
const SECRET_WORDS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "passphrase",
    "token",
    "key",
    "credential",
    "private",
    "salt",
];

/// Keys of the config whose names contain a secret word but whose values are not secret.
const NOT_SECRET_KEYS: &[&str] = &["tlsSecretName", "requiresToken", "existingSecret"];

/// The secret values of one request, ready to mask any text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// Texts to mask, longest first.
    needles: Vec<String>,
    /// The needles by their first byte (ASCII lowercase): indexes into `needles`.
    by_first: Vec<Vec<usize>>,
    /// Names of the documents that are secret as a whole.
    documents: Vec<String>,
}

impl Secrets {
    /// The secrets of a request's values documents and flags.
    #[must_use]
    pub fn of_request(request: &RenderRequest) -> Self {
        let mut secrets = Self::collect(&request.values, &request.set, &request.set_string);
        if request.set_json.is_empty() && request.set_file.is_empty() {
            return secrets;
        }
        let mut found = Found::default();
        for arg in &request.set_json {
            match crate::set::parse_json(arg) {
                Ok(assignments) => {
                    for a in assignments {
                        let context = a
                            .keys()
                            .fold(Context::default(), |context, key| context.child(key, false));
                        scan_value(context, a.value(), &mut found);
                        if context.secret {
                            found.add(&a.raw_value(arg));
                        }
                    }
                }
                Err(_) => {
                    // Unparsable (a JSON text cut short may still hold a secret): all of it
                    // after the first `=` counts, as for --set.
                    if let Some((_, value)) = arg.split_once('=') {
                        found.add(value);
                    }
                }
            }
        }
        for file in &request.set_file {
            let context = file
                .key
                .split('.')
                .fold(Context::default(), |context, key| context.child(key, false));
            if context.secret {
                found.add(&file.text);
                for line in file.text.lines() {
                    found.add(line.trim());
                }
            }
        }
        secrets.extend(found);
        secrets
    }

    /// Adds more values to look for.
    fn extend(&mut self, found: Found) {
        for value in found.values {
            add_forms(&value, &mut self.needles);
        }
        self.needles
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.needles.dedup();
        self.by_first = vec![Vec::new(); 256];
        for (i, needle) in self.needles.iter().enumerate() {
            if let Some(b) = needle.bytes().next() {
                self.by_first[usize::from(b.to_ascii_lowercase())].push(i);
            }
        }
    }

    /// The secrets of values documents, `--set` and `--set-string` arguments.
    #[must_use]
    pub fn collect(values: &[NamedText], set: &[String], set_string: &[String]) -> Self {
        let mut found = Found::default();
        let mut documents = Vec::new();
        for doc in values {
            let whole = is_secrets_file(&doc.name);
            if whole {
                documents.push(doc.name.clone());
            }
            scan_document(&doc.text, whole, &mut found);
        }
        for (args, as_string) in [(set, false), (set_string, true)] {
            for arg in args {
                scan_flag(arg, as_string, &mut found);
            }
        }
        let mut needles = Vec::new();
        for value in found.values {
            add_forms(&value, &mut needles);
        }
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        let mut by_first = vec![Vec::new(); 256];
        for (i, needle) in needles.iter().enumerate() {
            if let Some(b) = needle.bytes().next() {
                by_first[usize::from(b.to_ascii_lowercase())].push(i);
            }
        }
        Self {
            needles,
            by_first,
            documents,
        }
    }

    /// Whether no secret value was found.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty() && self.documents.is_empty()
    }

    /// Whether the document named `name` is secret as a whole: none of its lines is shown.
    #[must_use]
    pub fn is_secret_document(&self, name: &str) -> bool {
        self.documents.iter().any(|d| d == name)
    }

    /// `text` with every secret value replaced by [`MASK`].
    #[must_use]
    pub fn mask(&self, text: &str) -> String {
        if self.needles.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut previous: Option<char> = None;
        'scan: while let Some(c) = rest.chars().next() {
            let first = usize::from(rest.as_bytes()[0].to_ascii_lowercase());
            let candidates = self.by_first.get(first).map_or(&[][..], Vec::as_slice);
            for needle in candidates.iter().map(|&i| &self.needles[i]) {
                // ASCII case aside: a hint may show a value in lowercase.
                if rest
                    .as_bytes()
                    .get(..needle.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(needle.as_bytes()))
                {
                    let after = rest[needle.len()..].chars().next();
                    let short = needle.chars().count() < MIN_ANYWHERE;
                    if !short || !(touches(previous) || touches(after)) {
                        out.push_str(MASK);
                        previous = needle.chars().next_back();
                        rest = &rest[needle.len()..];
                        continue 'scan;
                    }
                }
            }
            out.push(c);
            previous = Some(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    /// Masks a diagnostic's message, hint and path, and its file when that is not one of
    /// `documents` (a flag, `--set-string a.b=VALUE`, is named after its argument).
    pub fn mask_diagnostic(&self, d: &mut Diagnostic, documents: &[NamedText]) {
        if self.needles.is_empty() {
            return;
        }
        d.message = self.mask(&d.message);
        d.path = self.mask(&d.path);
        if let Some(hint) = &d.hint {
            d.hint = Some(self.mask(hint));
        }
        if let Some(file) = &d.file
            && !documents.iter().any(|doc| &doc.name == file)
        {
            d.file = Some(self.mask(file));
        }
    }
}

/// A letter or digit, which a short secret must not touch to be masked.
fn touches(c: Option<char>) -> bool {
    c.is_some_and(char::is_alphanumeric)
}

/// Whether a file name says it holds secrets: without its extension, its last component is
/// `secrets` (or `secret`), or starts or ends with `secrets` as a word: `secrets.yaml`,
/// `.secrets.yaml`, `prod-secrets.yaml`, `secrets.prod.yml`.
#[must_use]
pub fn is_secrets_file(name: &str) -> bool {
    let base = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let stem = ["yaml", "yml", "json"]
        .iter()
        .find_map(|ext| base.strip_suffix(ext)?.strip_suffix('.'))
        .unwrap_or(&base);
    let word = |c: char| matches!(c, '.' | '-' | '_');
    matches!(stem, "secrets" | "secret" | ".secrets" | ".secret")
        || stem
            .strip_suffix("secrets")
            .is_some_and(|rest| rest.ends_with(word))
        || stem
            .strip_prefix("secrets")
            .is_some_and(|rest| rest.starts_with(word))
}

/// Whether a key's value is secret by its name: a key of [`crate::config::SECRET_PATHS`],
/// a name with a secret word in it, or one a typo away from one.
#[must_use]
pub fn is_secret_key(key: &str) -> bool {
    if NOT_SECRET_KEYS.contains(&key) || is_reference_key(key) {
        return false;
    }
    let normal: String = key
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    // A key `synapse.extraConfig` refuses inline (`smtp_pass`, `password_config.pepper`) is
    // masked too, wherever it is written.
    if SECRET_WORDS.iter().any(|w| normal.contains(w))
        || crate::synapse_extra::is_secret_looking(key)
    {
        return true;
    }
    // A setting's own name, spelled right, is no typo of a secret one (the secret settings
    // all have a secret word in their names, found above).
    if crate::schema::is_known_key(key) {
        return false;
    }
    let close = |word: &str, target: &str| {
        let len = target.chars().count();
        len >= 3 && crate::suggest::within(word, target, (len / 3).max(1))
    };
    let leaves = crate::config::SECRET_PATHS
        .iter()
        .filter_map(|p| p.rsplit('.').next())
        .map(|leaf| {
            leaf.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        });
    if leaves.into_iter().any(|leaf| close(&normal, &leaf)) {
        return true;
    }
    words(key)
        .iter()
        .any(|w| SECRET_WORDS.iter().any(|target| close(w, target)))
}

/// `existingSecret`, or a typo of it: a reference to a Secret, whose name and key are no
/// secrets.
fn is_reference_key(key: &str) -> bool {
    crate::suggest::within(&key.to_ascii_lowercase(), "existingsecret", 2)
}

/// The words of a key, lowercased: split at anything but letters and digits, and where a
/// lower-case letter meets an upper-case one.
pub(crate) fn words(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut lower_before = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            out.push(std::mem::take(&mut current));
            lower_before = false;
            continue;
        }
        if c.is_uppercase() && lower_before {
            out.push(std::mem::take(&mut current));
        }
        lower_before = c.is_lowercase() || c.is_numeric();
        current.extend(c.to_lowercase());
    }
    out.push(current);
    out.retain(|w| !w.is_empty());
    out
}

/// Secret values found so far.
#[derive(Default)]
struct Found {
    values: Vec<String>,
}

impl Found {
    fn add(&mut self, value: &str) {
        if !value.trim().is_empty() {
            self.values.push(value.to_owned());
        }
    }

    fn add_json(&mut self, value: &Value) {
        match value {
            Value::String(s) => self.add(s),
            Value::Number(n) => self.add(&n.to_string()),
            Value::Array(items) => items.iter().for_each(|v| self.add_json(v)),
            Value::Object(map) => map.values().for_each(|v| self.add_json(v)),
            Value::Bool(_) | Value::Null => {}
        }
    }
}

/// The value, its escaped forms, and its lines and words (a snippet shows one line of a
/// block or folded value).
fn add_forms(value: &str, needles: &mut Vec<String>) {
    let mut push = |s: &str| {
        let s = s.trim();
        if !s.is_empty() {
            needles.push(s.to_owned());
        }
    };
    push(value);
    let json = serde_json::to_string(value).unwrap_or_default();
    push(
        json.get(1..json.len().saturating_sub(1))
            .unwrap_or_default(),
    );
    push(&value.replace('\'', "''"));
    push(&value.escape_debug().to_string());
    push(&value.escape_default().to_string());
    for line in value.split(['\n', '\r']) {
        push(line);
    }
    if value.contains(char::is_whitespace) {
        for word in value.split_whitespace() {
            push(word);
        }
    }
}

/// Where a node sits: whether its scalars are secret.
#[derive(Debug, Clone, Copy, Default)]
struct Context {
    secret: bool,
    /// Inside an `existingSecret` map: its `name` and `key` are references, not secrets.
    reference: bool,
}

impl Context {
    /// The context of the value of `key` in a map of this context.
    fn child(self, key: &str, whole: bool) -> Self {
        if whole {
            return Self {
                secret: true,
                reference: false,
            };
        }
        if self.reference {
            return Self::default();
        }
        if is_reference_key(key) {
            return Self {
                secret: self.secret,
                reference: true,
            };
        }
        Self {
            secret: self.secret || is_secret_key(key),
            reference: false,
        }
    }
}

enum Frame {
    Map {
        context: Context,
        /// The key waiting for its value; `None` in a key slot.
        key: Option<String>,
        anchor: usize,
    },
    Seq {
        context: Context,
        anchor: usize,
    },
}

/// Records the secret scalars of one document, as far as it parses.
fn scan_document(text: &str, whole: bool, found: &mut Found) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    // The scalars of each anchored node, by anchor id, for aliases in secret places.
    let mut anchors: Vec<Vec<String>> = Vec::new();
    // The scalars of the anchored collections still open: (anchor, scalars).
    let mut open: Vec<(usize, Vec<String>)> = Vec::new();
    let mut chars: Option<Vec<char>> = None;
    // Values copied by aliases so far.
    let mut copied = 0usize;
    let root = Context {
        secret: whole,
        reference: false,
    };
    // The context of the node that starts now, and whether it is a key.
    let slot = |stack: &[Frame]| -> (Context, bool) {
        match stack.last() {
            None => (root, false),
            Some(Frame::Map {
                key: None, context, ..
            }) => (*context, true),
            Some(Frame::Map {
                key: Some(k),
                context,
                ..
            }) => (context.child(k, whole), false),
            Some(Frame::Seq { context, .. }) => (*context, false),
        }
    };
    // A node ended: the map it is a key of waits for the value, or the value is done.
    let done = |stack: &mut [Frame], key: Option<String>| {
        if let Some(Frame::Map { key: slot, .. }) = stack.last_mut() {
            *slot = match slot {
                None => Some(key.unwrap_or_default()),
                Some(_) => None,
            };
        }
    };
    let remember = |anchors: &mut Vec<Vec<String>>, anchor: usize, scalars: Vec<String>| {
        if anchor > 0 {
            if anchors.len() <= anchor {
                anchors.resize(anchor + 1, Vec::new());
            }
            anchors[anchor] = scalars;
        }
    };
    while let Ok((event, mark)) = parser.next_token() {
        match event {
            Event::StreamEnd => break,
            Event::Scalar(value, style, anchor, tag) => {
                let (context, is_key) = slot(&stack);
                for (_, scalars) in &mut open {
                    scalars.push(value.clone());
                }
                remember(&mut anchors, anchor, vec![value.clone()]);
                let plain_word = style == TScalarStyle::Plain
                    && tag.is_none()
                    && matches!(
                        value.as_str(),
                        "" | "~"
                            | "null"
                            | "Null"
                            | "NULL"
                            | "true"
                            | "True"
                            | "TRUE"
                            | "false"
                            | "False"
                            | "FALSE"
                    );
                if context.secret && !is_key && !plain_word {
                    found.add(&value);
                    if matches!(
                        style,
                        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted
                    ) {
                        // As written, with its escapes, between the quotes.
                        let chars = chars.get_or_insert_with(|| text.chars().collect());
                        if let Some(raw) = quoted_source(chars, mark.index()) {
                            found.add(&raw);
                        }
                    }
                }
                done(&mut stack, is_key.then_some(value));
            }
            Event::Alias(id) => {
                let (context, is_key) = slot(&stack);
                // Each distinct value once, and no more copying than the parser's own alias
                // limit allows: an alias bomb (refused anyway) stays cheap.
                let mut scalars = anchors.get(id).cloned().unwrap_or_default();
                scalars.sort_unstable();
                scalars.dedup();
                copied = copied.saturating_add(scalars.len() * (open.len() + 1));
                if copied > crate::yaml::MAX_ALIAS_NODES {
                    scalars.clear();
                }
                if context.secret && !is_key {
                    for s in &scalars {
                        found.add(s);
                    }
                }
                for (_, open_scalars) in &mut open {
                    open_scalars.extend(scalars.iter().cloned());
                }
                let key = if is_key {
                    scalars.first().cloned()
                } else {
                    None
                };
                done(&mut stack, key);
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                let (context, _) = slot(&stack);
                if anchor > 0 {
                    open.push((anchor, Vec::new()));
                }
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map {
                        context,
                        key: None,
                        anchor,
                    }
                } else {
                    Frame::Seq { context, anchor }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let anchor = match stack.pop() {
                    Some(Frame::Map { anchor, .. } | Frame::Seq { anchor, .. }) => anchor,
                    None => 0,
                };
                if anchor > 0
                    && let Some(position) = open.iter().rposition(|(a, _)| *a == anchor)
                {
                    let (_, mut scalars) = open.remove(position);
                    scalars.sort_unstable();
                    scalars.dedup();
                    remember(&mut anchors, anchor, scalars);
                }
                done(&mut stack, None);
            }
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {}
        }
    }
}

/// The text between the quotes of the quoted scalar that starts at char `start`.
fn quoted_source(chars: &[char], start: usize) -> Option<String> {
    let quote = *chars.get(start)?;
    if !matches!(quote, '"' | '\'') {
        return None;
    }
    let mut out = String::new();
    let mut i = start + 1;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' if quote == '"' => {
                out.push(c);
                if let Some(&next) = chars.get(i + 1) {
                    out.push(next);
                }
                i += 2;
                continue;
            }
            '\'' if quote == '\'' && chars.get(i + 1) == Some(&'\'') => {
                out.push_str("''");
                i += 2;
                continue;
            }
            c if c == quote => return Some(out),
            c => out.push(c),
        }
        i += 1;
    }
    None
}

/// Records the value of a flag that sets a secret path, typed and as written. A flag that
/// does not parse has everything after its first `=` recorded.
/// The secrets of a JSON value at `context`: all of it when the context is secret, else those
/// under the secret keys within it.
fn scan_value(context: Context, value: &Value, found: &mut Found) {
    if context.secret {
        found.add_json(value);
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                scan_value(context.child(key, false), child, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| scan_value(context, v, found)),
        _ => {}
    }
}

fn scan_flag(arg: &str, as_string: bool, found: &mut Found) {
    match crate::set::parse(arg, as_string) {
        Ok(assignments) => {
            for a in assignments {
                let context = a
                    .keys()
                    .fold(Context::default(), |context, key| context.child(key, false));
                if context.secret {
                    found.add_json(a.value());
                    found.add(&a.raw_value(arg));
                }
            }
        }
        Err(_) => {
            if let Some((_, value)) = arg.split_once('=') {
                found.add(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(text: &str) -> Secrets {
        Secrets::collect(
            &[NamedText {
                name: "values.yaml".to_owned(),
                text: text.to_owned(),
            }],
            &[],
            &[],
        )
    }

    #[test]
    fn secret_keys_by_name_and_by_typo() {
        for key in [
            "registration_shared_secret",
            "registration_shared_secert",
            "turn_shared_secret",
            "password",
            "pasword",
            "secretKey",
            "siteKey",
            "key",
            "secret",
            "macaroon_secret_key",
            "form_secret",
            "apiToken",
            "tokn",
            "ky",
            "kei",
            "siteKy",
            "passwod",
            "smtp_pass",
            "pepper",
            "client_secret",
            "as_token",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "tlsSecretName",
            "requiresToken",
            "existingSecret",
            "existingSecrets",
            "enabled",
            "realm",
            "domain",
            "name",
            "replicas",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    /// [`is_secret_key`] takes a known setting's name as no typo: sound only while every
    /// secret setting has a secret word in its name.
    #[test]
    fn every_secret_setting_has_a_secret_word() {
        for path in crate::config::SECRET_PATHS {
            let leaf = path.rsplit('.').next().unwrap_or(path);
            let normal = leaf.replace('_', "").to_lowercase();
            assert!(
                SECRET_WORDS.iter().any(|w| normal.contains(w)),
                "{path}: a secret setting without a secret word in its name"
            );
            assert!(crate::schema::is_known_key(leaf), "{leaf}");
        }
        assert!(!crate::schema::is_known_key("registraton"));
    }

    #[test]
    fn every_yaml_style_is_found() {
        let s = secrets(
            "a:\n  registration_shared_secret: plainVALUE1\n  password: 'quoted''VALUE2'\n\
             b:\n  secret: |\n    blockVALUE3\n    second line\n  key: >-\n    foldedVALUE4\n    more\n\
             c:\n  turn_shared_secret:\n    nextLineVALUE5\n\
             d: {key: \"k\", secret: \"flow\\\"VALUE6\"}\n\
             e:\n  registration_shared_secert: &a typoVALUE7\n  realm: *a\n\
             f:\n  password:\n    existingSecret: {name: visible-name, key: visible-key}\n\
             g:\n  enabled: true\n  realm: turn.example.org\n",
        );
        let masked = s.mask(
            "plainVALUE1 quoted'VALUE2 quoted''VALUE2 blockVALUE3 second line foldedVALUE4 \
             nextLineVALUE5 flow\"VALUE6 flow\\\"VALUE6 typoVALUE7 k more",
        );
        assert_eq!(masked, ["********"; 12].join(" "), "{masked}\n{s:?}");
        let kept = "visible-name visible-key turn.example.org true kind";
        assert_eq!(s.mask(kept), kept);
    }

    #[test]
    fn an_alias_to_a_secret_and_a_json_line_are_found() {
        let s = secrets("{\"synapse\": {\"registration_shared_secret\": \"jsonVALUE\"}}\n");
        assert_eq!(s.mask("x jsonVALUE y"), "x ******** y");
        let s = secrets("base: &b {secret: anchoredVALUE}\nuse:\n  password: *b\n");
        assert_eq!(s.mask("anchoredVALUE"), MASK);
        let s = secrets("d: &d shared.example.org\nsecret: *d\n");
        assert_eq!(s.mask("at shared.example.org"), "at ********");
    }

    #[test]
    fn synapse_extra_config_secrets_are_masked() {
        let s = secrets(
            "synapse:\n  extraConfig:\n    email:\n      smtp_host: mail.example.org\n      \
             smtp_pass: smtpVALUE1\n    password_config:\n      pepper: pepperVALUE2\n    \
             oidc_providers:\n      - idp_id: keycloak\n        client_secret: oidcVALUE3\n  \
             extraSecretConfig:\n    email:\n      smtp_pass: secretVALUE4\n      \
             notif_from: fromVALUE5\n",
        );
        let text = "smtpVALUE1 pepperVALUE2 oidcVALUE3 secretVALUE4 fromVALUE5";
        assert_eq!(s.mask(text), ["********"; 5].join(" "));
        assert_eq!(
            s.mask("mail.example.org keycloak"),
            "mail.example.org keycloak"
        );
    }

    #[test]
    fn short_values_are_masked_only_where_they_stand_alone() {
        let s = secrets("secret: ab\n");
        assert_eq!(s.mask("secret: ab"), "secret: ********");
        assert_eq!(s.mask("cab abc `ab`"), "cab abc `********`");
        assert_eq!(s.mask("write `AB`"), "write `********`");
        let s = secrets("secret: \"\"\npassword: ''\n");
        assert!(s.is_empty());
        assert_eq!(s.mask("secret: \"\""), "secret: \"\"");
    }

    #[test]
    fn flags_and_secret_files() {
        let s = Secrets::collect(
            &[NamedText {
                name: "tenant/secrets.yaml".to_owned(),
                text: "root:x:0:0:root:/root:/bin/bash\n".to_owned(),
            }],
            &["synapse.database.postgresql.password=12345678,a.b=c".to_owned()],
            &[
                r"matrixrtc.livekit.secret=with\,comma".to_owned(),
                "broken[=valueOfBrokenFlag".to_owned(),
            ],
        );
        assert!(s.is_secret_document("tenant/secrets.yaml"));
        for name in [
            ".secrets.yaml",
            "a/prod-secrets.yml",
            "secrets.prod.yaml",
            "secret.json",
        ] {
            assert!(is_secrets_file(name), "{name}");
        }
        for name in ["missing-turn-secret.yaml", "values.yaml", "secretary.yaml"] {
            assert!(!is_secrets_file(name), "{name}");
        }
        assert_eq!(
            s.mask("--set-string matrixrtc.livekit.secret=with\\,comma"),
            "--set-string matrixrtc.livekit.secret=********"
        );
        assert_eq!(s.mask("with,comma 12345678 c"), "******** ******** c");
        assert_eq!(s.mask("valueOfBrokenFlag"), MASK);
        assert_eq!(s.mask("root:x:0:0:root:/root:/bin/bash"), MASK);
    }
}
