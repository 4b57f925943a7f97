//! `matrix-render init`: writes a short starter `values.yaml`, a `.secrets.yaml` holding fresh
//! secrets from the operating system's random number generator, and the schema both point at.
//! The text comes from the core (`matrix_render_model::starter`); this file draws the secrets
//! and writes the files. It never overwrites a file and never prints a secret.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use matrix_render_model::starter::{self, StarterInput, StarterSecrets};

pub use matrix_render_model::starter::{SCHEMA_FILE, SECRETS_FILE};

/// The starter values file written in `--dir`.
pub const VALUES_FILE: &str = "values.yaml";
/// Length of each generated shared secret (registration, TURN, LiveKit).
pub const SECRET_LEN: usize = 48;
/// The generated LiveKit API key is this prefix followed by [`API_KEY_RANDOM_LEN`] alphanumerics.
pub const API_KEY_PREFIX: &str = "API";
/// Number of random alphanumerics after [`API_KEY_PREFIX`].
pub const API_KEY_RANDOM_LEN: usize = 12;

/// The characters of every generated secret: nothing YAML or a shell could misread.
pub const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Random bytes at or above this (the largest multiple of the alphabet size that fits in a
/// byte, 248) are rejected, so that every character is equally likely.
const ACCEPT_BELOW: usize = 256 - 256 % ALPHABET.len();

/// The flags of `matrix-render init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Folder to write values.yaml and .secrets.yaml into (created if missing)
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Synapse host, and the Matrix server name unless --server-name is given, e.g.
    /// matrix.example.org
    #[arg(long, value_name = "HOST")]
    pub domain: String,
    /// The Matrix server name when it is not Synapse's host: user IDs become
    /// @alice:NAME (forever), and NAME must serve /.well-known/matrix, e.g. example.org
    #[arg(long = "server-name", value_name = "NAME")]
    pub server_name: Option<String>,
    /// Element Web host, e.g. element.example.org
    #[arg(long = "element-domain", value_name = "HOST")]
    pub element_domain: String,
    /// TURN host (coturn realm and turn_url); without this flag, `turn.` and the --domain
    /// host, e.g. turn.matrix.example.org
    #[arg(long = "turn-host", value_name = "HOST")]
    pub turn_host: Option<String>,
    /// Turn MatrixRTC (LiveKit SFU + lk-jwt-service) on, served at this host
    #[arg(long = "rtc-host", value_name = "HOST")]
    pub rtc_host: Option<String>,
    /// coturn's public IP address (coturn.public_ip_static), when it is behind NAT
    #[arg(long = "public-ip", value_name = "IP")]
    pub public_ip: Option<String>,
}

/// The files `init` wrote.
#[derive(Debug)]
pub struct Written {
    /// Path of the starter values file.
    pub values: PathBuf,
    /// Path of the secrets file.
    pub secrets: PathBuf,
    /// Path of the schema the modelines point at, and whether init wrote it (`false`: a file
    /// of that name was there and is kept).
    pub schema: (PathBuf, bool),
}

impl Written {
    /// What to tell the operator on stderr: the two paths and the next step. Names no secret.
    #[must_use]
    pub fn message(&self) -> String {
        let (values, secrets) = (self.values.display(), self.secrets.display());
        let schema = match &self.schema {
            (path, true) => format!(
                "matrix-render: wrote {}, the schema editors read through the files' first line\n",
                path.display()
            ),
            (path, false) => format!(
                "matrix-render: kept the existing {}; refresh it with \
                 `matrix-render schema > {}` if it is from another version\n",
                path.display(),
                path.display()
            ),
        };
        format!(
            "matrix-render: wrote {values} and {secrets}\n\
             {schema}\
             next: review {values}, then render and apply:\n  \
             matrix-render render -f {values} -f {secrets} > stack.yaml\n  \
             kubectl apply -f stack.yaml\n\
             keep {SECRETS_FILE} out of git (add it to .gitignore) and back it up somewhere safe\n"
        )
    }
}

/// Validates the flags, generates the secrets and writes both files and the schema (unless a
/// schema file is there already), or nothing at all.
///
/// # Errors
/// A bad host name or IP address, an existing `values.yaml` or `.secrets.yaml` in `--dir`
/// (never overwritten), the random number generator failing, or a file that cannot be written.
pub fn run(args: &InitArgs) -> Result<Written> {
    check_host("--domain", &args.domain)?;
    check_host("--element-domain", &args.element_domain)?;
    let turn_host = match &args.turn_host {
        Some(host) => host.clone(),
        None => format!("turn.{}", args.domain),
    };
    check_host("--turn-host", &turn_host)?;
    if let Some(host) = &args.rtc_host {
        check_host("--rtc-host", host)?;
    }
    let public_ip = match &args.public_ip {
        Some(ip) => Some(ip.parse::<IpAddr>().map_err(|_| {
            anyhow!("--public-ip {ip:?} is not an IP address (write e.g. `203.0.113.10`)")
        })?),
        None => None,
    };

    if let Some(name) = &args.server_name {
        check_host("--server-name", name)?;
    }
    let public_ip = public_ip.map(|ip| ip.to_string());
    let values_text = starter::values_yaml(&StarterInput {
        domain: &args.domain,
        element_domain: &args.element_domain,
        server_name: args.server_name.as_deref(),
        turn_host: &turn_host,
        rtc_host: args.rtc_host.as_deref(),
        public_ip: public_ip.as_deref(),
    });
    let secrets_text = secrets_yaml()?;

    let mut written = Written {
        values: args.dir.join(VALUES_FILE),
        secrets: args.dir.join(SECRETS_FILE),
        schema: (args.dir.join(SCHEMA_FILE), false),
    };
    let existing: Vec<String> = [&written.values, &written.secrets]
        .into_iter()
        .filter(|path| path.symlink_metadata().is_ok())
        .map(|path| path.display().to_string())
        .collect();
    if !existing.is_empty() {
        let verb = if existing.len() == 1 {
            "exists"
        } else {
            "exist"
        };
        bail!(
            "{} already {verb}; init never overwrites a file, so nothing was written \
             (move it away or choose another --dir)",
            existing.join(" and ")
        );
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create the folder {}", args.dir.display()))?;
    create_new(&written.values, &values_text, false)?;
    if let Err(e) = create_new(&written.secrets, &secrets_text, true) {
        let _ = std::fs::remove_file(&written.values);
        return Err(e);
    }
    // The schema is not the operator's to edit: an existing copy is kept as it is.
    if written.schema.0.symlink_metadata().is_err() {
        if let Err(e) = create_new(&written.schema.0, crate::SCHEMA, false) {
            let _ = std::fs::remove_file(&written.values);
            let _ = std::fs::remove_file(&written.secrets);
            return Err(e);
        }
        written.schema.1 = true;
    }
    Ok(written)
}

/// A minimal check, enough to keep the YAML well-formed and catch URLs and ports; `render`
/// validates host names fully.
fn check_host(flag: &str, host: &str) -> Result<()> {
    let problem = if host.is_empty() {
        "is empty"
    } else if host.chars().any(char::is_whitespace) {
        "contains a space"
    } else if host.contains('/') {
        "contains `/`: give the bare host name, without scheme or path"
    } else if host.contains(':') {
        "contains `:`: give the bare host name, without scheme or port"
    } else if host.bytes().any(|b| b.is_ascii_uppercase()) {
        "contains capitals: write host names in lowercase"
    } else if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        "may contain only letters, digits, `-` and `.`"
    } else {
        return Ok(());
    };
    bail!("{flag} {host:?} {problem} (e.g. `matrix.example.org`)")
}

/// The secrets file: every generated secret, in the layout the core writes.
fn secrets_yaml() -> Result<String> {
    let registration = random_alphanumeric(SECRET_LEN)?;
    let turn = random_alphanumeric(SECRET_LEN)?;
    let livekit_key = format!(
        "{API_KEY_PREFIX}{}",
        random_alphanumeric(API_KEY_RANDOM_LEN)?
    );
    let livekit_secret = random_alphanumeric(SECRET_LEN)?;
    Ok(starter::secrets_yaml(&StarterSecrets {
        registration: &registration,
        turn: &turn,
        livekit_key: &livekit_key,
        livekit_secret: &livekit_secret,
    }))
}

/// Creates `path` (failing if it exists) and writes `text`; on a write error the file is
/// removed again. `private` files are readable by their owner only (mode 0600 on unix).
fn create_new(path: &Path, text: &str, private: bool) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == ErrorKind::AlreadyExists {
            anyhow!(
                "{} already exists; init never overwrites a file",
                path.display()
            )
        } else {
            anyhow!(e).context(format!("cannot create {}", path.display()))
        }
    })?;
    if let Err(e) = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
    {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(anyhow!(e).context(format!("cannot write {}", path.display())));
    }
    Ok(())
}

/// `len` characters of [`ALPHABET`], each chosen uniformly from the OS random number generator.
///
/// # Errors
/// The operating system cannot supply random bytes.
pub fn random_alphanumeric(len: usize) -> Result<String> {
    let mut out = String::with_capacity(len);
    let mut bytes = [0_u8; 64];
    while out.len() < len {
        getrandom::fill(&mut bytes)
            .map_err(|e| anyhow!("the system random number generator failed: {e}"))?;
        let missing = len - out.len();
        out.extend(bytes.iter().filter_map(|&b| pick(b)).take(missing));
    }
    Ok(out)
}

/// The character a random byte stands for, or `None` when the byte is rejected: mapping all
/// 256 values with `%` would make the first 8 characters likelier than the rest.
fn pick(byte: u8) -> Option<char> {
    let i = usize::from(byte);
    (i < ACCEPT_BELOW).then(|| char::from(ALPHABET[i % ALPHABET.len()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_sampling_is_uniform_over_the_alphabet() {
        assert_eq!(ACCEPT_BELOW, 248);
        let mut counts = [0_u32; 62];
        for byte in 0..=u8::MAX {
            match pick(byte) {
                Some(c) => {
                    let i = ALPHABET.iter().position(|&a| char::from(a) == c);
                    counts[i.expect("picked from the alphabet")] += 1;
                }
                None => assert!(byte >= 248, "byte {byte} rejected"),
            }
        }
        assert!(counts.iter().all(|&n| n == 4), "{counts:?}");
        assert_eq!(pick(0), Some('A'));
        assert_eq!(pick(61), Some('9'));
        assert_eq!(pick(62), Some('A'));
        assert_eq!(pick(247), Some('9'));
        assert_eq!(pick(248), None);
        assert_eq!(pick(255), None);
    }

    #[test]
    fn random_secrets_have_the_length_and_charset() {
        let a = random_alphanumeric(SECRET_LEN).expect("OS RNG");
        let b = random_alphanumeric(SECRET_LEN).expect("OS RNG");
        assert_eq!(a.len(), SECRET_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        assert_eq!(random_alphanumeric(0).expect("OS RNG"), "");
        assert_eq!(random_alphanumeric(1000).expect("OS RNG").len(), 1000);
    }

    #[test]
    fn host_names_are_checked_minimally() {
        assert!(check_host("--domain", "matrix.example.org").is_ok());
        for bad in [
            "",
            "a b",
            "https://x.org",
            "x.org:443",
            "X.org",
            "x\"y",
            "x\ny",
        ] {
            assert!(check_host("--domain", bad).is_err(), "{bad:?}");
        }
    }
}
