//! The settings reference: one Markdown table row per setting, generated from the values
//! schema (whose descriptions are the config's doc comments and whose defaults come from
//! `defaults.yaml`). The README carries it between two markers and a test keeps it fresh, so
//! the documented settings are always the ones the tool reads.

use serde_json::Value;

/// The line before the generated table in the README.
pub const BEGIN: &str =
    "<!-- settings table: generated from the schema; regenerate, do not edit -->";
/// The line after it.
pub const END: &str = "<!-- end of the settings table -->";

/// The table, header included, one row per leaf setting in schema order. A leaf is a setting
/// that is not a map of known keys: a scalar, a list, a free-form map, or a secret (a value
/// or an `existingSecret` reference).
#[must_use]
pub fn settings_table(schema: &Value) -> String {
    let mut out = String::from("| setting | type | default | meaning |\n|---|---|---|---|\n");
    walk(schema, &mut Vec::new(), &mut out);
    out
}

fn walk<'a>(node: &'a Value, path: &mut Vec<&'a str>, out: &mut String) {
    if let Some(Value::Object(properties)) = node.get("properties")
        && node.get("type").and_then(Value::as_str) == Some("object")
    {
        for (key, child) in properties {
            path.push(key);
            walk(child, path, out);
            path.pop();
        }
        return;
    }
    if path.is_empty() {
        return;
    }
    out.push_str(&format!(
        "| `{}` | {} | {} | {} |\n",
        path.join("."),
        cell(&type_of(node)),
        cell(&default_of(node)),
        cell(&description(node)),
    ));
}

/// The setting's type in words: `string`, `integer`, ..., the choices of an enumeration, or
/// `secret` for a value that may also be an `existingSecret` reference.
fn type_of(node: &Value) -> String {
    if let Some(Value::Array(choices)) = node.get("oneOf") {
        let consts: Vec<String> = choices
            .iter()
            .filter_map(|c| c.get("const"))
            .map(|c| format!("`{}`", scalar(c)))
            .collect();
        if consts.len() == choices.len() && !consts.is_empty() {
            return format!("one of {}", consts.join(", "));
        }
    }
    if let Some(Value::Array(variants)) = node.get("anyOf") {
        let references = variants.iter().any(|v| {
            v.get("properties")
                .and_then(|p| p.get("existingSecret"))
                .is_some()
        });
        if references {
            return "secret: a string or `existingSecret: {name, key}`".to_owned();
        }
    }
    match node.get("type") {
        Some(Value::String(t)) if t == "object" => "map".to_owned(),
        Some(Value::String(t)) if t == "array" => "list".to_owned(),
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => types.iter().map(scalar).collect::<Vec<_>>().join(" or "),
        _ => "any".to_owned(),
    }
}

fn default_of(node: &Value) -> String {
    match node.get("default") {
        None => "required".to_owned(),
        Some(Value::String(s)) if s.is_empty() => "`\"\"`".to_owned(),
        Some(value @ (Value::Object(_) | Value::Array(_))) => format!("`{value}`"),
        Some(value) => format!("`{}`", scalar(value)),
    }
}

/// The description with its lines joined: Markdown tables hold one line per row.
fn description(node: &Value) -> String {
    node.get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A table cell: `|` would end it early.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// `readme` with the text between [`BEGIN`] and [`END`] replaced by `table`; `None` when the
/// markers are missing or out of order.
#[must_use]
pub fn splice(readme: &str, table: &str) -> Option<String> {
    let start = readme.find(BEGIN)? + BEGIN.len();
    let end = start + readme[start..].find(END)?;
    Some(format!("{}\n{table}{}", &readme[..start], &readme[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leaves_become_rows_and_maps_of_known_keys_do_not() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"type": "object", "description": "A map.", "properties": {
                    "port": {"type": "integer", "default": 8008, "description": "The\n  port."},
                    "level": {"description": "Level.", "default": "INFO", "oneOf": [
                        {"const": "INFO"}, {"const": "DEBUG"}]},
                    "pass": {"description": "A | B.", "default": "", "anyOf": [
                        {"type": "string"},
                        {"type": "object", "properties": {"existingSecret": {}}}]},
                    "annotations": {"type": "object", "default": {}, "description": "Free."},
                }},
                "host": {"type": "string", "description": "Required host."}
            }
        });
        let table = settings_table(&schema);
        let rows: Vec<&str> = table.lines().skip(2).collect();
        assert_eq!(
            rows,
            [
                "| `a.port` | integer | `8008` | The port. |",
                "| `a.level` | one of `INFO`, `DEBUG` | `INFO` | Level. |",
                "| `a.pass` | secret: a string or `existingSecret: {name, key}` | `\"\"` | A \\| B. |",
                "| `a.annotations` | map | `{}` | Free. |",
                "| `host` | string | required | Required host. |",
            ]
        );
    }

    #[test]
    fn splice_replaces_only_between_the_markers() {
        let readme = format!("intro\n{BEGIN}\nold\n{END}\noutro\n");
        assert_eq!(
            splice(&readme, "new\n").as_deref(),
            Some(format!("intro\n{BEGIN}\nnew\n{END}\noutro\n").as_str())
        );
        assert_eq!(splice("no markers", "x"), None);
        assert_eq!(splice(&format!("{END}\n{BEGIN}"), "x"), None);
    }

    #[test]
    fn every_setting_of_the_committed_schema_has_a_row_with_a_meaning() {
        let table = settings_table(crate::schema::json_schema());
        for row in table.lines().skip(2) {
            assert!(!row.ends_with("|  |"), "no description: {row}");
        }
        for key in [
            "`namespace`",
            "`synapse.logLevel`",
            "`coturn.turn_shared_secret`",
        ] {
            assert!(table.contains(&format!("| {key} |")), "{key}");
        }
    }
}
