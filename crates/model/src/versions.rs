//! The container images the stack runs by default, read from `defaults.yaml`: every map there
//! with a `repository` and a `tag` is an image setting. `matrix-render --version` prints them
//! and the CHANGELOG records each change, so that upgrading the tool never upgrades Synapse
//! (or anything else) unannounced.

use serde_json::Value;

use crate::load::defaults;

/// One default image: the setting it lives under and what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultImage {
    /// Dotted path of the image setting, e.g. `synapse.image`.
    pub setting: String,
    /// `repository`, e.g. `matrixdotorg/synapse`.
    pub repository: String,
    /// `tag`, e.g. `v1.162.0`.
    pub tag: String,
}

/// Every default image, in the order of `defaults.yaml`. Empty only if the built-in defaults
/// do not parse (a build bug the tests catch).
#[must_use]
pub fn default_images() -> Vec<DefaultImage> {
    let mut out = Vec::new();
    if let Ok(root) = defaults() {
        walk(root, &mut String::new(), &mut out);
    }
    out
}

fn walk(value: &Value, path: &mut String, out: &mut Vec<DefaultImage>) {
    let Value::Object(map) = value else { return };
    if let (Some(Value::String(repository)), Some(Value::String(tag))) =
        (map.get("repository"), map.get("tag"))
    {
        out.push(DefaultImage {
            setting: path.clone(),
            repository: repository.clone(),
            tag: tag.clone(),
        });
        return;
    }
    for (key, child) in map {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        walk(child, path, out);
        path.truncate(len);
    }
}

/// The lines `--version` adds after the tool's own version: one per default image.
#[must_use]
pub fn version_lines() -> String {
    let images = default_images();
    let width = images.iter().map(|i| i.setting.len()).max().unwrap_or(0);
    let mut text = String::from("default images (each overridable under its setting):\n");
    for image in &images {
        text.push_str(&format!(
            "  {:width$}  {}:{}\n",
            image.setting, image.repository, image.tag
        ));
    }
    text
}

/// What `matrix-render --version` prints (and the Helm plugin's `version`): the tool's
/// version, then [`version_lines`].
#[must_use]
pub fn version_text() -> String {
    format!(
        "matrix-render {}\n{}",
        env!("CARGO_PKG_VERSION"),
        version_lines()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_image_setting_of_the_defaults_is_found() {
        let images = default_images();
        let settings: Vec<&str> = images.iter().map(|i| i.setting.as_str()).collect();
        for expected in [
            "synapse.image",
            "synapse.wellKnown.image",
            "element.image",
            "element.staticPages.image",
            "coturn.image",
            "matrixrtc.livekit.image",
            "matrixrtc.jwt.image",
        ] {
            assert!(settings.contains(&expected), "{expected} in {settings:?}");
        }
        let synapse = &images[0];
        assert_eq!(synapse.repository, "matrixdotorg/synapse");
        assert!(synapse.tag.starts_with('v'), "{}", synapse.tag);
        assert!(version_lines().contains(&format!("matrixdotorg/synapse:{}", synapse.tag)));
    }
}
