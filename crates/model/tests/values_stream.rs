//! A values text may be a YAML stream: its `---` documents are layers of their own, merged
//! in order, and every diagnostic points at the line of the whole text.

use matrix_render_model::{LoadInput, NamedText, load};

const BASE: &str = "global:\n  domain: matrix.example.org\n  elementDomain: element.example.org\n\
                    coturn:\n  realm: turn.example.org\n  turn_url: turn.example.org\n  \
                    turn_shared_secret: stream-test-turn-secret-0123456789\n\
                    synapse:\n  registration_shared_secret: stream-test-registration-0123456789\n  \
                    recaptcha:\n    siteKey: k\n    secretKey: stream-test-recaptcha\n";

fn load_texts(texts: &[&str]) -> matrix_render_model::Loaded {
    let values: Vec<NamedText> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| NamedText {
            name: format!("v{i}.yaml"),
            text: (*text).to_owned(),
        })
        .collect();
    load(LoadInput {
        values: &values,
        ..Default::default()
    })
}

/// Each diagnostic's code, file, line and column.
type Found = Vec<(String, Option<String>, Option<u32>, Option<u32>)>;

fn found(loaded: &matrix_render_model::Loaded) -> Found {
    loaded
        .diagnostics
        .iter()
        .map(|d| (d.code.clone(), d.file.clone(), d.line, d.column))
        .collect()
}

#[test]
fn documents_of_a_stream_merge_in_order_as_separate_files_do() {
    let stream = format!(
        "---\n{BASE}---\nnamespace: first\n---\n# only a comment\n---\nnamespace: second\n"
    );
    let loaded = load_texts(&[&stream]);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let config = loaded.config.expect("a config");
    assert_eq!(config.namespace, "second");
    let files = load_texts(&[BASE, "namespace: first\n", "namespace: second\n"]);
    assert_eq!(files.merged, loaded.merged);
}

#[test]
fn a_diagnostic_in_the_second_document_points_at_its_line_of_the_stream() {
    // `nope` is on line 3 of the second document, line 16 of the text.
    let stream = format!("{BASE}---\nsynapse:\n  replicas: 1\nnope: 1\n");
    assert_eq!(BASE.lines().count(), 12);
    let loaded = load_texts(&[&stream]);
    assert_eq!(
        found(&loaded),
        [(
            "unknown-key".to_owned(),
            Some("v0.yaml".to_owned()),
            Some(16),
            Some(1)
        )]
    );
    // A value set in a later document is located there, not where an earlier one set it.
    let stream = format!("{BASE}---\nnamespace: fine\n---\nnamespace: Not_Valid\n");
    let loaded = load_texts(&[&stream]);
    let at: Vec<_> = found(&loaded)
        .into_iter()
        .map(|(_, file, line, column)| (file, line, column))
        .collect();
    assert_eq!(at, [(Some("v0.yaml".to_owned()), Some(16), Some(12))]);
    // A stream in the second file: the lines are that file's.
    let loaded = load_texts(&[BASE, "namespace: a\n---\n\nsynapse:\n  nope: 1\n"]);
    assert_eq!(
        found(&loaded),
        [(
            "unknown-key".to_owned(),
            Some("v1.yaml".to_owned()),
            Some(5),
            Some(3)
        )]
    );
}

#[test]
fn a_bad_document_is_reported_where_it_is() {
    let loaded = load_texts(&[&format!("{BASE}---\n- a list\n")]);
    assert_eq!(
        found(&loaded),
        [(
            "not-a-mapping".to_owned(),
            Some("v0.yaml".to_owned()),
            Some(14),
            Some(1)
        )]
    );
    let loaded = load_texts(&[&format!("{BASE}---\na: [1\n")]);
    let codes: Vec<_> = found(&loaded)
        .into_iter()
        .map(|(c, f, _, _)| (c, f))
        .collect();
    assert_eq!(
        codes,
        [("yaml-syntax".to_owned(), Some("v0.yaml".to_owned()))]
    );
    assert!(loaded.diagnostics[0].line.is_some_and(|l| l >= 14));
}
