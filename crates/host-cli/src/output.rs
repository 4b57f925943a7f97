//! Writing output: stdout, or one file per object in a directory, each written atomically.

use std::io::Write;
use std::path::Path;

use matrix_render_model::api::ObjectInfo;

/// Writes every object's document into `dir` (created if missing): each file goes to a
/// temporary name first and is renamed into place, so readers never see half a file.
///
/// # Errors
/// The first I/O error, naming the path.
pub fn write_dir(dir: &Path, objects: &[ObjectInfo]) -> Result<usize, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    for object in objects {
        let Some(document) = &object.document else {
            return Err(format!(
                "the core returned no document for {}",
                object.file_name
            ));
        };
        let target = dir.join(&object.file_name);
        let temp = dir.join(format!(".{}.tmp", object.file_name));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(document.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&temp, &target)
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&temp);
            return Err(format!("{}: cannot write: {e}", target.display()));
        }
    }
    Ok(objects.len())
}
