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
