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
    entries: Vec<(&'static str, &'a SecretValue)>,
    paths: Vec<(&'static str, &'static str)>,
}

impl<'a> SecretSet<'a> {
    /// The set; values that are not set are left out (but stay known to [`Self::items`]).
    pub fn new(name: &'static str, entries: &[SecretEntry<'a>]) -> Self {
        Self {
            name,
            entries: entries
                .iter()
                .filter(|(_, _, v)| v.is_set())
                .map(|&(f, _, v)| (f, v))
                .collect(),
            paths: entries.iter().map(|&(f, p, _)| (f, p)).collect(),
        }
    }

    /// Each value for the plan: where it is read from, never what it is. Values that are
    /// not set are listed only when `required` says the config needs them.
    pub fn items(&self, required: impl Fn(&str) -> bool) -> Vec<SecretItem> {
        self.paths
            .iter()
            .filter_map(|&(file, path)| {
                let value = self.entries.iter().find(|(f, _)| *f == file).map(|e| e.1);
                let required = required(path);
                let (source, secret, key) = match value {
                    Some(v) => match v.external() {
                        Some(r) => (SecretSource::ExistingSecret, r.name.clone(), r.key.clone()),
                        None => (SecretSource::Inline, self.name.to_owned(), file.to_owned()),
                    },
                    None if required => {
                        (SecretSource::Missing, self.name.to_owned(), file.to_owned())
                    }
                    None => return None,
                };
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

    /// Whether the value stored under `file` is set.
    pub fn has(&self, file: &str) -> bool {
        self.entries.iter().any(|(f, _)| *f == file)
    }

    /// The Secret with the inline values, or `None` when there are none.
    pub fn object(&self, ctx: &Ctx<'_>, app: &App) -> Option<Secret> {
        let data: BTreeMap<String, String> = self
            .entries
            .iter()
            .filter_map(|(f, v)| v.inline().map(|s| ((*f).to_owned(), s.to_owned())))
            .collect();
        (!data.is_empty()).then(|| secret(ctx, self.name, app, data))
    }

    /// Where the value of `file` lives, for an env var's `secretKeyRef`.
    pub fn key_ref(&self, file: &str) -> Option<SecretKeySelector> {
        let (f, value) = self.entries.iter().find(|(f, _)| *f == file)?;
        let (name, key) = match value.external() {
            Some(r) => (r.name.clone(), r.key.clone()),
            None => (self.name.to_owned(), (*f).to_owned()),
        };
        Some(SecretKeySelector {
            name,
            key,
            ..SecretKeySelector::default()
        })
    }

    /// Projections that put every value of the set at `<mount>/<file>`, except those in
    /// `skip` (values that reach the pod another way, e.g. as an env var).
    pub fn projections(&self, skip: &[&str]) -> Vec<VolumeProjection> {
        let entries: Vec<&(&str, &SecretValue)> = self
            .entries
            .iter()
            .filter(|(f, _)| !skip.contains(f))
            .collect();
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
