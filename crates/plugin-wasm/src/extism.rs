//! The Extism flavour: exports for any Extism host (docs/extism.md has the ABI).
//!
//! | export | input | output |
//! |---|---|---|
//! | `render` | RenderRequest JSON | RenderResponse JSON, as `matrix_render_renderer::render_json` |
//! | `validate` | RenderRequest JSON | the same RenderResponse with `output` empty and no `objects` |
//! | `schema` | ignored | the values JSON Schema, byte for byte what `matrix-render schema` prints |
//! | `version` | ignored | the crate version, e.g. `0.1.0` |
//!
//! An invalid config is not an error of the call: it comes back as diagnostics with
//! `ok: false`. A call fails (non-zero return, message through Extism's error) only when
//! the input is not a RenderRequest in JSON, when the core panics (a bug), or when a limit of
//! the host (memory, timeout) stops it.
//!
//! The functions here hold the whole behaviour and build on every target; the exports that
//! wrap them in Extism's calling convention exist on wasm32 only.
//!
//! Built for `wasm32-wasip1` instead (deploy/helm4/build.sh), the module also exports
//! `helm_plugin_main`, the entry point of a Helm 4 `cli/v1` plugin on the `extism/v1`
//! runtime: Helm's `{"extraArgs": [...]}` in, the command's bytes on the WASI stdout and
//! stderr, `{}` out or the failure's one line as the call's error ([`crate::helm`] is the
//! command). It needs WASI: Helm connects the plugin's stdin, stdout and stderr only through
//! WASI. The `wasm32-unknown-unknown` build has no such export and stays WASI-free.

use matrix_render_renderer::{RenderRequest, RenderResponse};

/// Decodes a RenderRequest, or says why the input is not one.
fn decode(input: &[u8]) -> Result<RenderRequest, String> {
    serde_json::from_slice(input).map_err(|e| format!("the render request is not valid: {e}"))
}

fn encode(response: &RenderResponse) -> String {
    matrix_render_renderer::response_json(response)
}

/// `render`: the RenderResponse JSON for a RenderRequest JSON.
///
/// # Errors
/// The input is not a RenderRequest in JSON.
pub fn render(input: &[u8]) -> Result<String, String> {
    Ok(encode(&matrix_render_renderer::render(&decode(input)?)))
}

/// `validate`: like [`render`], with the manifests dropped: `ok` and `diagnostics` only
/// (`output` empty, `objects` empty). The core has no cheaper validate-only path; this is
/// what `matrix-render validate` does too.
///
/// # Errors
/// The input is not a RenderRequest in JSON.
pub fn validate(input: &[u8]) -> Result<String, String> {
    let mut response = matrix_render_renderer::render(&decode(input)?);
    response.output = String::new();
    response.objects = Vec::new();
    Ok(encode(&response))
}

/// `schema`: the JSON Schema of a values file, with the trailing newline, exactly as
/// committed in schema/matrix-render.schema.json (a test in host-cli keeps that file equal
/// to what the model generates).
#[must_use]
pub fn schema() -> String {
    matrix_render_renderer::model::schema::COMMITTED_SCHEMA.to_owned()
}

/// `version`: the crate version.
#[must_use]
pub const fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The exports in Extism's calling convention: no parameters, input and output through the
/// host's `input_*`/`output_set`, a non-zero return with `error_set` for a failed call.
#[cfg(target_arch = "wasm32")]
pub mod exports {
    use std::sync::Once;

    static HOOK: Once = Once::new();

    /// A panic traps the module; hand its message to the host first, so the host's error
    /// says what went wrong instead of only "unreachable".
    fn install_panic_hook() {
        HOOK.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                let _ = fail(&format!("internal error in matrix-render (a bug): {info}"));
            }));
        });
    }

    /// The call's input; each call that reads one is a render as far as the allocator's
    /// arena goes (a plugin's second call on uses it).
    fn input() -> Vec<u8> {
        install_panic_hook();
        #[cfg(all(target_os = "unknown", not(target_feature = "atomics")))]
        crate::ALLOCATOR.render_starts();
        extism_pdk::input_bytes()
    }

    fn respond(result: Result<String, String>) -> i32 {
        match result {
            Ok(text) => match extism_pdk::output(text) {
                Ok(()) => 0,
                Err(e) => fail(&format!("setting the output: {e}")),
            },
            Err(message) => fail(&message),
        }
    }

    #[expect(
        unsafe_code,
        reason = "extism-pdk's error_set is an unsafe host call taking a memory offset"
    )]
    fn fail(message: &str) -> i32 {
        if let Ok(memory) = extism_pdk::Memory::from_bytes(message) {
            // SAFETY: the offset is a block the host just allocated and filled.
            unsafe { extism_pdk::extism::error_set(memory.offset()) };
        }
        1
    }

    /// `render`: RenderRequest JSON in, RenderResponse JSON out.
    #[expect(unsafe_code, reason = "an exported symbol of the Extism ABI")]
    #[unsafe(no_mangle)]
    pub extern "C" fn render() -> i32 {
        respond(super::render(&input()))
    }

    /// `validate`: RenderRequest JSON in, RenderResponse JSON without manifests out.
    #[expect(unsafe_code, reason = "an exported symbol of the Extism ABI")]
    #[unsafe(no_mangle)]
    pub extern "C" fn validate() -> i32 {
        respond(super::validate(&input()))
    }

    /// `schema`: the values JSON Schema.
    #[expect(unsafe_code, reason = "an exported symbol of the Extism ABI")]
    #[unsafe(no_mangle)]
    pub extern "C" fn schema() -> i32 {
        install_panic_hook();
        respond(Ok(super::schema()))
    }

    /// `version`: the crate version.
    #[expect(unsafe_code, reason = "an exported symbol of the Extism ABI")]
    #[unsafe(no_mangle)]
    pub extern "C" fn version() -> i32 {
        respond(Ok(super::version().to_owned()))
    }

    /// The Helm 4 `cli/v1` entry point, in the `wasm32-wasip1` build only: stdin, stdout and
    /// stderr are the WASI ones Helm connects to its own.
    #[cfg(target_os = "wasi")]
    pub mod helm {
        use std::io::Write;

        /// Writes everything, then flushes; a closed pipe (`| head`) is the reader's choice.
        fn write(mut stream: impl Write, text: &str) {
            let _ = stream
                .write_all(text.as_bytes())
                .and_then(|()| stream.flush());
        }

        /// `helm_plugin_main`: Helm's input message in, the command's bytes on stdout and
        /// stderr, `{}` as the output message (Helm decodes it as a `cli/v1` output and
        /// ignores it). An invalid config or bad flags fail the call with a one-line message.
        #[expect(unsafe_code, reason = "an exported symbol of the Extism ABI")]
        #[unsafe(no_mangle)]
        pub extern "C" fn helm_plugin_main() -> i32 {
            let args = match crate::helm::args(&super::input()) {
                Ok(args) => args,
                Err(message) => return super::fail(&message),
            };
            let run = crate::helm::run(&args, &mut std::io::stdin().lock());
            write(std::io::stdout().lock(), &run.stdout);
            write(std::io::stderr().lock(), &run.stderr);
            match run.message {
                None => super::respond(Ok("{}".to_owned())),
                Some(message) => super::fail(&message),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_matches_render_json() {
        let request =
            br#"{"values":[{"name":"v.yaml","text":"global:\n  domain: matrix.example.org\n"}]}"#;
        assert_eq!(
            render(request).as_deref(),
            Ok(matrix_render_renderer::render_json(request).as_str())
        );
    }

    #[test]
    fn invalid_config_is_a_response_and_invalid_json_an_error() {
        let request = br#"{"values":[{"name":"v.yaml","text":"nope: 1\n"}]}"#;
        let response: serde_json::Value =
            serde_json::from_str(&validate(request).expect("a response")).expect("JSON");
        assert_eq!(response["ok"], false);
        assert_eq!(response["output"], "");
        assert!(
            response["diagnostics"]
                .as_array()
                .is_some_and(|d| !d.is_empty())
        );
        let error = render(b"{not json").expect_err("an error");
        assert!(
            error.starts_with("the render request is not valid: "),
            "{error}"
        );
        assert!(validate(br#"{"valuez":[]}"#).is_err());
    }

    #[test]
    fn validate_drops_the_manifests() {
        let request = br#"{"values":[{"name":"v.yaml","text":"global:\n  domain: matrix.example.org\n  elementDomain: element.example.org\ncoturn:\n  realm: turn.example.org\n  turn_url: turn.example.org\n  turn_shared_secret: bad-corpus-turn-secret-0123456789\nsynapse:\n  registration_shared_secret: bad-corpus-registration-secret-0123456789\n  recaptcha:\n    siteKey: k\n    secretKey: bad-corpus-recaptcha-secret\n"}],"options":{"split":true}}"#;
        let full: RenderResponse =
            serde_json::from_str(&render(request).expect("a response")).expect("JSON");
        let checked: RenderResponse =
            serde_json::from_str(&validate(request).expect("a response")).expect("JSON");
        assert!(full.ok, "{:#?}", full.diagnostics);
        assert!(!full.output.is_empty() && !full.objects.is_empty());
        assert!(checked.ok && checked.output.is_empty() && checked.objects.is_empty());
        assert_eq!(checked.diagnostics, full.diagnostics);
    }

    #[test]
    fn schema_is_the_committed_file() {
        assert!(schema() == include_str!("../../../schema/matrix-render.schema.json"));
    }

    #[test]
    fn version_is_the_crate_version() {
        assert_eq!(version(), env!("CARGO_PKG_VERSION"));
    }
}
