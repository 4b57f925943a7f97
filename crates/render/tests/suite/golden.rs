//! Golden outputs through the native core: every fixture gives exactly the committed bytes,
//! every time (the CLI's tests check that the binary, running the wasm core, gives them too).

use matrix_render_model::api::Format;

use crate::common::{check_golden, fixtures, repo, request};

#[test]
fn native_core_matches_golden_yaml_and_json() {
    for (name, dir) in fixtures() {
        for (format, ext) in [(Format::Yaml, "yaml"), (Format::Json, "json")] {
            let response = matrix_render_renderer::render(&request(&dir, format));
            assert!(response.ok, "{name}: {:#?}", response.diagnostics);
            let golden = repo().join("tests/golden").join(format!("{name}.{ext}"));
            check_golden(&golden, &response.output);
            // The same request twice gives the same bytes.
            let again = matrix_render_renderer::render(&request(&dir, format));
            assert_eq!(
                again.output, response.output,
                "{name}: second native render differs"
            );
        }
    }
}

/// The response's JSON, written by the renderer's own encoder (BENCHMARKS.md, "Hand-written
/// serializers"), is byte for byte serde_json's, for every fixture, with the objects' split
/// documents and without.
#[test]
fn the_fast_response_json_is_serde_jsons() {
    for (name, dir) in fixtures() {
        for split in [false, true] {
            let mut req = request(&dir, Format::Yaml);
            req.options.split = split;
            req.options.plan = true;
            let response = matrix_render_renderer::render(&req);
            assert!(response.ok, "{name}");
            assert!(
                matrix_render_renderer::response_json(&response)
                    == serde_json::to_string(&response).unwrap(),
                "{name} (split {split}): the encodings differ"
            );
        }
    }
}
