//! Secret values on their way into pods. Inline values go into a Secret we render; references
//! (`existingSecret: {name, key}`) point at Secrets that already exist. Pods see both the same
//! way: as files of one projected volume, or as an env var from a `secretKeyRef`. When every
//! value of a set is a reference, the set renders no Secret at all.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    KeyToPath, ProjectedVolumeSource, Secret, SecretKeySelector, SecretProjection, Volume,
    VolumeProjection,
};
use matrix_render_model::api::{SecretItem, SecretSource};
use matrix_render_model::config::SecretValue;

use crate::objects::{App, Ctx, secret};

/// One value of a [`SecretSet`]: its file name (also its key in our Secret), its config
/// path, and the value.
pub type SecretEntry<'a> = (&'static str, &'static str, &'a SecretValue);

/// The values one component owns: the Secret we render for the inline ones, and each value's
/// file name (also its key in that Secret).
#[derive(Debug)]
pub struct SecretSet<'a> {
    /// Name of the Secret that holds the inline values.
    pub name: &'static str,
    /// Every value, set or not (the plan lists required ones that are missing).
    entries: Vec<SecretEntry<'a>>,
}

impl<'a> SecretSet<'a> {
    /// The set; values that are not set reach no pod.
    pub fn new(name: &'static str, entries: &[SecretEntry<'a>]) -> Self {
        Self {
            name,
            entries: entries.to_vec(),
        }
    }

    /// The values that are set, as (file, value).
    fn set(&self) -> impl Iterator<Item = (&'static str, &'a SecretValue)> + '_ {
        self.entries
            .iter()
            .filter(|(_, _, v)| v.is_set())
            .map(|&(f, _, v)| (f, v))
    }

    /// The Secret and key that hold the value of `file`: the operator's for a reference,
    /// ours otherwise.
    fn location(&self, file: &str, value: &SecretValue) -> (String, String) {
        match value.external() {
            Some(r) => (r.name.clone(), r.key.clone()),
            None => (self.name.to_owned(), file.to_owned()),
        }
    }

    /// Each value for the plan: where it is read from, never what it is. Values that are
    /// not set are listed only when `required` says the config needs them.
    pub fn items(&self, required: impl Fn(&str) -> bool) -> Vec<SecretItem> {
        self.entries
            .iter()
            .filter_map(|&(file, path, value)| {
                let required = required(path);
                let source = match (value.is_set(), value.external()) {
                    (true, Some(_)) => SecretSource::ExistingSecret,
                    (true, None) => SecretSource::Inline,
                    (false, _) if required => SecretSource::Missing,
                    (false, _) => return None,
                };
                let (secret, key) = self.location(file, value);
                Some(SecretItem {
                    path: path.to_owned(),
                    source,
                    secret,
                    key,
                    required,
                })
            })
            .collect()
    }

    /// The inline values, as (config path, value), in the set's order.
    pub fn inline_values(&self) -> impl Iterator<Item = (&'static str, &'a str)> + '_ {
        self.entries
            .iter()
            .filter_map(|&(_, path, v)| v.inline().map(|s| (path, s)))
    }

    /// Whether the value stored under `file` is set.
    pub fn has(&self, file: &str) -> bool {
        self.set().any(|(f, _)| f == file)
    }

    /// The Secret with the inline values, or `None` when there are none.
    pub fn object(&self, ctx: &Ctx<'_>, app: &App) -> Option<Secret> {
        let data: BTreeMap<String, String> = self
            .set()
            .filter_map(|(f, v)| v.inline().map(|s| (f.to_owned(), s.to_owned())))
            .collect();
        (!data.is_empty()).then(|| secret(ctx, self.name, app, data))
    }

    /// Where the value of `file` lives, for an env var's `secretKeyRef`.
    pub fn key_ref(&self, file: &str) -> Option<SecretKeySelector> {
        let (f, value) = self.set().find(|(f, _)| *f == file)?;
        let (name, key) = self.location(f, value);
        Some(SecretKeySelector {
            name,
            key,
            ..SecretKeySelector::default()
        })
    }

    /// Projections that put every value of the set at `<mount>/<file>`, except those in
    /// `skip` (values that reach the pod another way, e.g. as an env var).
    pub fn projections(&self, skip: &[&str]) -> Vec<VolumeProjection> {
        let entries: Vec<(&str, &SecretValue)> =
            self.set().filter(|(f, _)| !skip.contains(f)).collect();
        let project = |name: &str, items: Vec<KeyToPath>| VolumeProjection {
            secret: Some(SecretProjection {
                name: name.to_owned(),
                items: Some(items),
                ..SecretProjection::default()
            }),
            ..VolumeProjection::default()
        };
        let inline: Vec<KeyToPath> = entries
            .iter()
            .filter(|(_, v)| v.inline().is_some())
            .map(|(f, _)| KeyToPath {
                key: (*f).to_owned(),
                path: (*f).to_owned(),
                ..KeyToPath::default()
            })
            .collect();
        let mut out = Vec::new();
        if !inline.is_empty() {
            out.push(project(self.name, inline));
        }
        for (f, v) in entries {
            if let Some(r) = v.external() {
                out.push(project(
                    &r.name,
                    vec![KeyToPath {
                        key: r.key.clone(),
                        path: (*f).to_owned(),
                        ..KeyToPath::default()
                    }],
                ));
            }
        }
        out
    }
}

/// A projected volume of secret files, readable by the pod's group only; `None` when there
/// is nothing to project.
pub fn projected_volume(name: &str, sources: Vec<VolumeProjection>) -> Option<Volume> {
    (!sources.is_empty()).then(|| Volume {
        name: name.to_owned(),
        projected: Some(ProjectedVolumeSource {
            sources: Some(sources),
            default_mode: Some(0o440),
        }),
        ..Volume::default()
    })
}

/// Every inline secret value of the stack, as (config path, value), in a fixed order
/// (Synapse's, coturn's, MatrixRTC's, then the strings of `synapse.extraSecretConfig`), whether or not its component is on: the key of the
/// pod-template checksums (see [`crate::checksum`]).
pub fn stack_inline_values(c: &matrix_render_model::Config) -> Vec<(&'static str, &str)> {
    [
        crate::synapse::secret_set(c),
        crate::coturn::secret_set(c),
        crate::matrixrtc::secret_set(c),
    ]
    .iter()
    .flat_map(|set| set.inline_values().collect::<Vec<_>>())
    .chain(
        string_leaves(&c.synapse.extra_secret_config)
            .into_iter()
            .map(|v| ("synapse.extraSecretConfig", v)),
    )
    .collect()
}

/// The strings of a free-form map, depth first in key order (`synapse.extraSecretConfig`'s
/// values key the checksums like every other inline secret).
fn string_leaves(map: &serde_json::Map<String, serde_json::Value>) -> Vec<&str> {
    fn walk<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match value {
            serde_json::Value::String(s) => out.push(s),
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(m) => m.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    map.values().for_each(|v| walk(v, &mut out));
    out
}
