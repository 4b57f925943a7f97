//! No secret value reaches the core's response: every secret setting, written in every YAML
//! style (and as a flag, under a misspelled key, through an alias), is rendered, and the JSON
//! response, the report and a snippet of any line are searched for it. (The CLI's tests
//! search the binary's stdout and stderr, the KRM function's and a batch's.)

use matrix_render_model::Diagnostic;
use matrix_render_model::config::SECRET_PATHS;
use matrix_render_model::mask::Secrets;

#[path = "../shared/masking.rs"]
mod shared;
use shared::{assert_clean, cases, request};

#[test]
fn the_core_response_holds_no_secret() {
    let mut located_on_secret_line = 0;
    for case in cases() {
        let request = request(&case);
        let response = matrix_render_renderer::render(&request);
        assert!(
            !response.ok,
            "{}: the case must fail to show its errors",
            case.name
        );
        assert!(!response.diagnostics.is_empty(), "{}", case.name);
        assert_clean(
            &case,
            "the core's JSON response",
            &serde_json::to_string(&response).unwrap(),
        );
        assert_clean(
            &case,
            "the core's fast JSON response",
            &matrix_render_renderer::response_json(&response),
        );
        let secrets = Secrets::of_request(&request);
        let report =
            matrix_render_model::report::human(&response.diagnostics, &request.values, &secrets);
        assert_clean(&case, "the report", &report);
        // Every line of every document, shown as a snippet, masked.
        let everywhere: Vec<Diagnostic> = request
            .values
            .iter()
            .flat_map(|doc| {
                (1..=doc.text.lines().count()).map(|line| {
                    Diagnostic::error("probe", "", "probe").at(
                        &doc.name,
                        Some(u32::try_from(line).unwrap()),
                        Some(1),
                    )
                })
            })
            .collect();
        let report = matrix_render_model::report::human(&everywhere, &request.values, &secrets);
        assert_clean(&case, "a snippet of any line", &report);
        // The test means something: a diagnostic points at the secret's own line.
        if let Some(doc) = &case.doc {
            let secret_lines: Vec<usize> = doc
                .lines()
                .enumerate()
                .filter(|(_, l)| case.forbidden.iter().any(|s| l.contains(s.as_str())))
                .map(|(i, _)| i + 1)
                .collect();
            located_on_secret_line += usize::from(response.diagnostics.iter().any(|d| {
                d.file.as_deref() == Some("stack.yaml")
                    && d.line.is_some_and(|l| secret_lines.contains(&(l as usize)))
            }));
        }
    }
    assert!(
        located_on_secret_line >= 4 * SECRET_PATHS.len(),
        "only {located_on_secret_line} cases put a diagnostic on the secret's line"
    );
}
