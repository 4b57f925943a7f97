//! One render through the embedded core, for every command that renders (`render`,
//! `validate`, `plan`, `migrate`, `krm`, each tenant of a batch): encode the request, call
//! the core, decode its response.

use matrix_render_model::api::{RenderRequest, RenderResponse};

use crate::engine::CoreError;

/// Why a call gave no response.
#[derive(Debug)]
pub enum CallError {
    /// The core hit its time or memory limit: the input asks for more than the limits allow,
    /// which the user can change (exit 1).
    Limit(CoreError),
    /// Anything else: a bug (exit 2).
    Internal(String),
}

/// The core's response to `request`, through `call` (a [`crate::engine::Core`]'s or a
/// [`crate::engine::Session`]'s).
///
/// # Errors
/// The core stopped at a limit, trapped, or answered with something that is not a
/// RenderResponse.
pub fn render(
    request: &RenderRequest,
    call: impl FnOnce(&[u8]) -> Result<Vec<u8>, CoreError>,
) -> Result<RenderResponse, CallError> {
    let body = serde_json::to_vec(request)
        .map_err(|e| CallError::Internal(format!("encoding the request: {e}")))?;
    let bytes = call(&body).map_err(|e| {
        if e.is_limit() {
            CallError::Limit(e)
        } else {
            CallError::Internal(e.to_string())
        }
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| CallError::Internal(format!("decoding the core's response: {e}")))
}
