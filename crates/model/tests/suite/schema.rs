//! The committed schemas (values and contract) and the README's settings table are exactly
//! what the model generates (`cargo xtask regen` writes them).

#[path = "../../../render/tests/shared/fixtures.rs"]
#[expect(dead_code, reason = "the fixtures are the renderer's tests'")]
mod common;
use common::{check_golden, repo};

#[test]
fn committed_schema_is_fresh() {
    let mut schema =
        serde_json::to_string_pretty(&matrix_render_model::schema::generate()).unwrap();
    schema.push('\n');
    check_golden(&repo().join("schema/matrix-render.schema.json"), &schema);
}

/// The README's settings table is the one the schema (the config's doc comments and defaults)
/// gives: a setting added, renamed or re-described without regenerating it fails here.
#[test]
fn readme_settings_table_is_fresh() {
    use matrix_render_model::reference;
    let path = repo().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let table = reference::settings_table(&matrix_render_model::schema::generate());
    let fresh = reference::splice(&readme, &table).unwrap_or_else(|| {
        panic!(
            "README.md has no `{}` ... `{}` block",
            reference::BEGIN,
            reference::END
        )
    });
    check_golden(&path, &fresh);
}

/// The published request/response contract is what the model's types say.
#[test]
fn the_contract_schema_is_fresh() {
    let mut text =
        serde_json::to_string_pretty(&matrix_render_model::api::contract_schema()).unwrap();
    text.push('\n');
    check_golden(&repo().join("schema/render-contract.schema.json"), &text);
}
