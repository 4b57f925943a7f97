//! Checks of the `backup` settings: the CronJob schedule (as Kubernetes parses it), the
//! volume size and the PostgreSQL client image.

use crate::config::{Config, DatabaseKind};
use crate::diag::Diagnostic;
use crate::validate::{is_quantity, is_repository, is_tag};

/// The schedule macros a CronJob accepts.
const MACROS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];
const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// The problems of the `backup` settings, when backups are on.
#[must_use]
pub fn check(c: &Config) -> Vec<Diagnostic> {
    let b = &c.backup;
    let mut out = Vec::new();
    if !b.enabled {
        return out;
    }
    if !is_schedule(&b.schedule) {
        out.push(
            Diagnostic::error(
                "invalid-schedule",
                "backup.schedule",
                format!("`{}` is not a CronJob schedule", b.schedule),
            )
            .with_hint(
                "write five fields (minute hour day-of-month month day-of-week), e.g. \
                 `17 3 * * *` for 03:17 every day, or a macro such as `@daily`",
            ),
        );
    }
    if b.volume.existing_claim.is_empty() && !is_quantity(&b.volume.size) {
        out.push(
            Diagnostic::error(
                "invalid-quantity",
                "backup.volume.size",
                format!("`{}` is not a Kubernetes quantity", b.volume.size),
            )
            .with_hint("write e.g. `20Gi`"),
        );
    }
    if c.synapse.database.kind == DatabaseKind::Postgresql {
        let image = &b.postgres_image;
        if !is_repository(&image.repository) {
            out.push(
                Diagnostic::error(
                    "invalid-image",
                    "backup.postgresImage.repository",
                    format!("`{}` is not an image repository", image.repository),
                )
                .with_hint("write e.g. `postgres`, lowercase, without a tag"),
            );
        }
        if !is_tag(&image.tag) {
            out.push(
                Diagnostic::error(
                    "invalid-image",
                    "backup.postgresImage.tag",
                    format!("`{}` is not an image tag", image.tag),
                )
                .with_hint(
                    "write a version such as `18.1-alpine`, at least the server's major version",
                ),
            );
        }
    }
    out
}

/// A CronJob schedule: a macro, or five fields, each a comma list of `*`, `N` or `N-M`
/// (months and days of the week also by their English three-letter names), each with an
/// optional `/STEP`; `?` stands for `*` in the day fields. Kubernetes parses it so.
#[must_use]
pub fn is_schedule(text: &str) -> bool {
    let text = text.trim();
    if text.starts_with('@') {
        return MACROS.contains(&text.to_ascii_lowercase().as_str());
    }
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    let [minute, hour, day, month, weekday] = fields[..] else {
        return false;
    };
    field(minute, 0, 59, &[], false)
        && field(hour, 0, 23, &[], false)
        && field(day, 1, 31, &[], true)
        && field(month, 1, 12, MONTHS, false)
        && field(weekday, 0, 6, DAYS, true)
}

/// One field: comma-separated ranges within `min..=max`; `names[i]` stands for `i + min`.
fn field(text: &str, min: u32, max: u32, names: &[&str], question: bool) -> bool {
    let value = |v: &str| -> Option<u32> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(v)) {
            return u32::try_from(i).ok().map(|i| i + min);
        }
        if v.is_empty() || v.len() > 2 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        v.parse::<u32>().ok().filter(|n| (min..=max).contains(n))
    };
    text.split(',').all(|part| {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (part, None),
        };
        let step_ok = step.is_none_or(|s| {
            !s.is_empty()
                && s.len() <= 2
                && s.bytes().all(|b| b.is_ascii_digit())
                && s.parse::<u32>().is_ok_and(|n| n >= 1)
        });
        let range_ok = match range {
            "*" => true,
            "?" => question,
            _ => match range.split_once('-') {
                Some((a, b)) => matches!((value(a), value(b)), (Some(a), Some(b)) if a <= b),
                None => value(range).is_some(),
            },
        };
        step_ok && range_ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LoadInput, NamedText, load};

    /// The errors of a small valid config with `extra` over it: (code, path, line).
    fn errors(extra: &str) -> Vec<(String, String, Option<u32>)> {
        let base = "global: {domain: matrix.example.org, elementDomain: element.example.org}\n\
                    coturn: {realm: turn.example.org, turn_url: turn.example.org, turn_shared_secret: t}\n\
                    synapse: {registration_shared_secret: r, registration: {enabled: false, captchaEnabled: false}}\n";
        let values = [
            NamedText {
                name: "values.yaml".to_owned(),
                text: base.to_owned(),
            },
            NamedText {
                name: "backup.yaml".to_owned(),
                text: extra.to_owned(),
            },
        ];
        load(LoadInput {
            values: &values,
            set: &[],
            set_string: &[],
            // The renderer runs these as the backup component's checks.
            checks: Some(|c: &Config, out: &mut Vec<Diagnostic>| out.extend(check(c))),
            ..Default::default()
        })
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .map(|d| (d.code, d.path, d.line))
        .collect()
    }

    #[test]
    fn bad_settings_are_located_and_only_when_backups_are_on() {
        let bad = "backup:\n  schedule: '0 25 * * *'\n  volume: {size: lots}\n";
        assert_eq!(errors(bad), []);
        let on = format!("{bad}  enabled: true\n  keep: 0\n");
        let got = errors(&on);
        assert!(
            got.contains(&(
                "invalid-schedule".to_owned(),
                "backup.schedule".to_owned(),
                Some(2)
            )),
            "{got:?}"
        );
        assert!(
            got.contains(&(
                "invalid-quantity".to_owned(),
                "backup.volume.size".to_owned(),
                Some(3)
            )),
            "{got:?}"
        );
        // `keep` is bounded by the schema (at least one backup is kept), on or off.
        assert!(
            got.iter().any(|(_, path, _)| path == "backup.keep"),
            "{got:?}"
        );
        let postgres = "backup: {enabled: true, postgresImage: {repository: Postgres}}\n\
                        synapse: {database: {type: postgresql, postgresql: {host: db, password: p}}}\n";
        assert_eq!(
            errors(postgres),
            [(
                "invalid-image".to_owned(),
                "backup.postgresImage.repository".to_owned(),
                Some(1)
            )]
        );
        assert_eq!(errors("backup: {enabled: true}\n"), []);
    }

    #[test]
    fn schedules_as_kubernetes_reads_them() {
        for good in [
            "17 3 * * *",
            "*/15 * * * *",
            "0 0-23/6 * * mon-fri",
            "0 2 1,15 * ?",
            "30 4 * JAN,jul SUN",
            "5 4 * * 6",
            "@daily",
            "@Weekly",
            "  0 3 * * *  ",
        ] {
            assert!(is_schedule(good), "{good}");
        }
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "60 3 * * *",
            "0 24 * * *",
            "0 3 0 * *",
            "0 3 * 13 *",
            "0 3 * * 7",
            "0 3 * * sunday",
            "5-2 * * * *",
            "*/0 * * * *",
            "? * * * *",
            "0 3 * * *,",
            "@every 1h",
            "daily",
            "CRON_TZ=UTC 0 3 * * *",
        ] {
            assert!(!is_schedule(bad), "{bad}");
        }
    }
}
