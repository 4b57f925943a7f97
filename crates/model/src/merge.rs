//! Helm's rules for layering values documents: maps deep-merge, the later document wins,
//! lists are replaced whole, and `null` removes a key (so its default applies no more).

use serde_json::{Map, Value};

/// Merges `over` into `base`.
pub fn coalesce(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => coalesce_maps(base, over),
        (base, over) => *base = strip_nulls(over),
    }
}

fn coalesce_maps(base: &mut Map<String, Value>, over: Map<String, Value>) {
    for (key, value) in over {
        if value.is_null() {
            base.remove(&key);
            continue;
        }
        match base.get_mut(&key) {
            Some(existing @ Value::Object(_)) if value.is_object() => coalesce(existing, value),
            _ => {
                base.insert(key, strip_nulls(value));
            }
        }
    }
}

/// A map arriving where there was none keeps no null entries, as in Helm.
fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_merge_deeply_and_later_wins() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "d": "x"});
        coalesce(&mut base, json!({"a": {"c": 3, "e": 4}}));
        assert_eq!(base, json!({"a": {"b": 1, "c": 3, "e": 4}, "d": "x"}));
    }

    #[test]
    fn lists_are_replaced_not_appended() {
        let mut base = json!({"l": [1, 2, 3]});
        coalesce(&mut base, json!({"l": [9]}));
        assert_eq!(base, json!({"l": [9]}));
    }

    #[test]
    fn null_removes_a_key() {
        let mut base = json!({"a": {"b": 1, "c": 2}});
        coalesce(
            &mut base,
            json!({"a": {"b": null}, "new": {"x": null, "y": 1}}),
        );
        assert_eq!(base, json!({"a": {"c": 2}, "new": {"y": 1}}));
    }

    #[test]
    fn scalar_replaces_map_and_map_replaces_scalar() {
        let mut base = json!({"a": {"b": 1}, "c": 5});
        coalesce(&mut base, json!({"a": "flat", "c": {"d": 1}}));
        assert_eq!(base, json!({"a": "flat", "c": {"d": 1}}));
    }
}
