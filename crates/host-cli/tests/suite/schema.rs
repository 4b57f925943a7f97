//! `matrix-render schema` prints the committed schema (which the model's tests keep fresh).

use std::process::Command;

use crate::common::repo;

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
