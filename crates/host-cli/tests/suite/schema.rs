//! The committed schema is exactly what the model generates, and what `schema` prints.

use std::process::Command;

use crate::common::{check_golden, repo};

#[test]
fn committed_schema_is_fresh() {
    let mut schema =
        serde_json::to_string_pretty(&matrix_render_model::schema::generate()).unwrap();
    schema.push('\n');
    check_golden(&repo().join("schema/matrix-render.schema.json"), &schema);
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let out = Command::new(env!("CARGO_BIN_EXE_matrix-render"))
        .arg("schema")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read(repo().join("schema/matrix-render.schema.json")).unwrap();
    assert!(out.stdout == committed);
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
