//! `--set` and `--set-string`, with Helm's syntax and typing rules.
//!
//! Syntax: `a.b=v` (comma-separated assignments), `a[0]=v` and `a[0].b=v` for list items,
//! `a={x,y}` for a list, `\` escapes `.`, `,`, `=`, `[`, `{` and `\`. Typing for `--set`:
//! `true`/`false`/`null` (any case) become a bool or null, integers without a leading zero
//! become numbers, everything else is a string. `--set-string` keeps every value a string.
//! A `null` removes the key, as a `null` in a values file does.

use serde_json::{Map, Number, Value};

/// Upper bound for a list index in a `--set` path; protects against `a[99999999]=x`.
const MAX_INDEX: usize = 65_536;

/// Upper bound for the segments of a `--set` path; the config is a few levels deep, and
/// deeper values would only cost stack in the recursive steps after this one.
const MAX_DEPTH: usize = 32;

/// A path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// One parsed assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    segments: Vec<Segment>,
    value: Value,
    /// Where the value is written in the argument: a range of chars.
    raw: (usize, usize),
}

impl Assignment {
    /// The dotted config path, e.g. `synapse.port` or `a.list[1]`.
    #[must_use]
    pub fn path(&self) -> String {
        render_path(&self.segments)
    }

    /// Keys only, for looking up the schema path.
    #[must_use]
    pub fn key_path(&self) -> String {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Key(k) => Some(k.as_str()),
                Segment::Index(_) => None,
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The assignment as a values document (`a.b=null` is `{a: {b: null}}`), when its path
    /// has no list index.
    #[must_use]
    pub fn as_document(&self) -> Option<Value> {
        self.segments
            .iter()
            .rev()
            .try_fold(self.value.clone(), |inner, seg| match seg {
                Segment::Key(k) => Some(Value::Object(Map::from_iter([(k.clone(), inner)]))),
                Segment::Index(_) => None,
            })
    }

    /// The keys of the path, in order (list indexes left out).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Key(k) => Some(k.as_str()),
            Segment::Index(_) => None,
        })
    }

    /// The value.
    #[must_use]
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The value as written in `arg`, the argument it was parsed from (escapes included).
    #[must_use]
    pub fn raw_value(&self, arg: &str) -> String {
        arg.chars()
            .skip(self.raw.0)
            .take(self.raw.1.saturating_sub(self.raw.0))
            .collect()
    }
}

fn render_path(segments: &[Segment]) -> String {
    let mut out = String::new();
    for seg in segments {
        match seg {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Parses one `--set-json` argument: `path=JSON`, the value any JSON text (an object, a
/// list, a string, a number, `true`, `null`).
///
/// # Errors
/// A malformed path, or a value that is not JSON.
pub fn parse_json(arg: &str) -> Result<Vec<Assignment>, String> {
    let chars: Vec<char> = arg.chars().collect();
    let (segments, next) = parse_key(&chars, 0)?;
    let start = next + 1;
    let raw: String = chars[start..].iter().collect();
    let value: Value =
        serde_json::from_str(&raw).map_err(|e| format!("the value after `=` is not JSON: {e}"))?;
    Ok(vec![Assignment {
        segments,
        value,
        raw: (start, chars.len()),
    }])
}

/// `--set-file key=FILE` with the file's `text`: the text, as a string, at `key`.
///
/// # Errors
/// A malformed path.
pub fn file(key: &str, text: &str) -> Result<Assignment, String> {
    let chars: Vec<char> = key.chars().chain(['=']).collect();
    let (segments, next) = parse_key(&chars, 0)?;
    if next + 1 != chars.len() {
        return Err(format!("unexpected `=` in the path `{key}`"));
    }
    Ok(Assignment {
        segments,
        value: Value::String(text.to_owned()),
        raw: (0, 0),
    })
}

/// Parses one `--set` argument (which may hold several comma-separated assignments).
///
/// # Errors
/// A message naming what is malformed.
pub fn parse(arg: &str, as_string: bool) -> Result<Vec<Assignment>, String> {
    let chars: Vec<char> = arg.chars().collect();
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < chars.len() {
        let (segments, next) = parse_key(&chars, pos)?;
        pos = next;
        // parse_key stops on '='.
        pos += 1;
        let start = pos;
        let (value, next) = if chars.get(pos) == Some(&'{') {
            parse_list(&chars, pos + 1, as_string)?
        } else {
            let (raw, next) = read_until(&chars, pos, &[',']);
            (typed(&raw, as_string), next)
        };
        out.push(Assignment {
            segments,
            value,
            raw: (start, next),
        });
        pos = next;
        match chars.get(pos) {
            None => {}
            Some(',') => pos += 1,
            Some(c) => return Err(format!("unexpected `{c}` after a value")),
        }
    }
    if out.is_empty() {
        return Err("expected `path=value`".to_owned());
    }
    Ok(out)
}

fn parse_key(chars: &[char], mut pos: usize) -> Result<(Vec<Segment>, usize), String> {
    let mut segments = Vec::new();
    loop {
        let (key, next) = read_until(chars, pos, &['.', '[', '=', ',']);
        pos = next;
        if key.is_empty() && !matches!(segments.last(), Some(Segment::Index(_))) {
            return Err("empty key in path".to_owned());
        }
        if !key.is_empty() {
            segments.push(Segment::Key(key));
        }
        match chars.get(pos) {
            Some('=') if segments.len() > MAX_DEPTH => {
                return Err(format!("the path has more than {MAX_DEPTH} segments"));
            }
            Some('=') => return Ok((segments, pos)),
            Some('.') => pos += 1,
            Some('[') => {
                let (digits, next) = read_until(chars, pos + 1, &[']']);
                if chars.get(next) != Some(&']') {
                    return Err("missing `]` in list index".to_owned());
                }
                let index: usize = digits
                    .parse()
                    .map_err(|_| format!("list index `{digits}` is not a number"))?;
                if index > MAX_INDEX {
                    return Err(format!("list index {index} is larger than {MAX_INDEX}"));
                }
                segments.push(Segment::Index(index));
                pos = next + 1;
                match chars.get(pos) {
                    Some('.') => pos += 1,
                    Some('=' | '[') => {}
                    _ => return Err("expected `=`, `.` or `[` after `]`".to_owned()),
                }
            }
            Some(',') | None => {
                return Err(format!(
                    "key `{}` has no value: expected `path=value`",
                    render_path(&segments)
                ));
            }
            Some(c) => return Err(format!("unexpected `{c}` in path")),
        }
    }
}

fn parse_list(chars: &[char], mut pos: usize, as_string: bool) -> Result<(Value, usize), String> {
    let mut items = Vec::new();
    loop {
        let (raw, next) = read_until(chars, pos, &[',', '}']);
        pos = next;
        match chars.get(pos) {
            Some(',') => {
                items.push(typed(&raw, as_string));
                pos += 1;
            }
            Some('}') => {
                if !(raw.is_empty() && items.is_empty()) {
                    items.push(typed(&raw, as_string));
                }
                return Ok((Value::Array(items), pos + 1));
            }
            _ => return Err("missing `}` at the end of a list value".to_owned()),
        }
    }
}

fn read_until(chars: &[char], mut pos: usize, stops: &[char]) -> (String, usize) {
    let mut out = String::new();
    while let Some(&c) = chars.get(pos) {
        if c == '\\' {
            if let Some(&next) = chars.get(pos + 1) {
                out.push(next);
                pos += 2;
                continue;
            }
            out.push(c);
            pos += 1;
            continue;
        }
        if stops.contains(&c) {
            break;
        }
        out.push(c);
        pos += 1;
    }
    (out, pos)
}

fn typed(raw: &str, as_string: bool) -> Value {
    if as_string {
        return Value::String(raw.to_owned());
    }
    if raw.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if raw.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if raw.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if raw == "0" {
        return Value::Number(Number::from(0));
    }
    if !raw.starts_with('0')
        && let Ok(n) = raw.parse::<i64>()
    {
        return Value::Number(Number::from(n));
    }
    Value::String(raw.to_owned())
}

/// Applies an assignment to the merged values.
///
/// # Errors
/// A message when the path crosses a value that is neither a map nor a list.
pub fn apply(root: &mut Value, assignment: &Assignment) -> Result<(), String> {
    let mut node = root;
    let segments = &assignment.segments;
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match seg {
            Segment::Key(key) => {
                if !node.is_object() {
                    // As in Helm, a path through a scalar replaces it with a map.
                    *node = Value::Object(Map::new());
                }
                let Value::Object(map) = node else {
                    return Err("internal: expected a map".to_owned());
                };
                if last {
                    if assignment.value.is_null() {
                        map.remove(key);
                    } else {
                        map.insert(key.clone(), assignment.value.clone());
                    }
                    return Ok(());
                }
                node = map.entry(key.clone()).or_insert(Value::Null);
            }
            Segment::Index(index) => {
                if !node.is_array() {
                    *node = Value::Array(Vec::new());
                }
                let Value::Array(list) = node else {
                    return Err("internal: expected a list".to_owned());
                };
                if list.len() <= *index {
                    list.resize(index + 1, Value::Null);
                }
                if last {
                    list[*index] = assignment.value.clone();
                    return Ok(());
                }
                node = &mut list[*index];
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(args: &[&str], string: bool) -> Value {
        let mut root = json!({});
        for arg in args {
            for a in parse(arg, string).unwrap() {
                apply(&mut root, &a).unwrap();
            }
        }
        root
    }

    #[test]
    fn typing_follows_helm() {
        let v = run(
            &["a=true,b=FALSE,c=0,d=012,e=42,f=-3,g=1.5,h=yes,i=,j=Null"],
            false,
        );
        assert_eq!(
            v,
            json!({"a": true, "b": false, "c": 0, "d": "012", "e": 42, "f": -3, "g": "1.5", "h": "yes", "i": ""})
        );
    }

    #[test]
    fn set_string_keeps_strings() {
        let v = run(&["a=true,b=42"], true);
        assert_eq!(v, json!({"a": "true", "b": "42"}));
    }

    #[test]
    fn nested_paths_lists_and_escapes() {
        let v = run(
            &[
                r"x.y.z=1",
                r"l={a,b,3}",
                r"m[1].name=n",
                r"k\.dotted=v\,w",
                "empty={}",
            ],
            false,
        );
        assert_eq!(
            v,
            json!({"x": {"y": {"z": 1}}, "l": ["a", "b", 3], "m": [null, {"name": "n"}], "k.dotted": "v,w", "empty": []})
        );
    }

    #[test]
    fn an_assignment_reads_as_a_document_unless_it_indexes_a_list() {
        let doc = |arg: &str| parse(arg, false).unwrap()[0].as_document();
        assert_eq!(doc("a.b=null"), Some(json!({"a": {"b": null}})));
        assert_eq!(doc("a=1"), Some(json!({"a": 1})));
        assert_eq!(doc("a[0].b=null"), None);
    }

    #[test]
    fn null_removes() {
        let mut root = json!({"a": {"b": 1, "c": 2}});
        for a in parse("a.b=null", false).unwrap() {
            apply(&mut root, &a).unwrap();
        }
        assert_eq!(root, json!({"a": {"c": 2}}));
    }

    #[test]
    fn malformed_input_is_an_error() {
        for bad in [
            "",
            "a",
            "a.b",
            "=1",
            "a[x]=1",
            "a[1=2",
            "l={a,b",
            "a..b=1",
            "a[999999]=1",
        ] {
            assert!(parse(bad, false).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn paths_render() {
        let a = &parse("a.b[2].c=1", false).unwrap()[0];
        assert_eq!(a.path(), "a.b[2].c");
        assert_eq!(a.key_path(), "a.b.c");
    }
}
