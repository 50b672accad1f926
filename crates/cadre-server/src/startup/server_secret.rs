//! Owns the server secret on disk: `CADRE_SECRET_KEY` when set, else the data dir's
//! `secret.key` (256 random bits, created on first use, readable by its owner only), and
//! the private data dir itself (mode 0700) that holds it and the SQLite database.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::auth::token::{TokenError, random_secret};
use crate::config::ServiceConfig;

use super::StartupError;

/// Shortest key file accepted, in characters (as for `CADRE_SECRET_KEY`).
const MIN_SECRET_CHARS: usize = 32;

/// Why the key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading, creating or writing it failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// It holds fewer than 32 characters.
    #[error("the key file is too short")]
    TooShort,
    /// No randomness for a new key.
    #[error(transparent)]
    Random(#[from] TokenError),
}

/// The server secret: `CADRE_SECRET_KEY`, else the data dir's key file (created on first
/// use).
pub fn server_secret(config: &ServiceConfig) -> Result<String, StartupError> {
    match &config.secret_key {
        Some(secret) => Ok(secret.0.clone()),
        None => {
            create_private_dir(&config.data_dir)?;
            let path = config.data_dir.join("secret.key");
            load_or_create_secret(&path).map_err(|source| StartupError::KeyFile { path, source })
        }
    }
}

/// Creates `dir` (and its parents) readable by its owner only, unless it exists.
pub fn create_private_dir(dir: &Path) -> Result<(), StartupError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StartupError::DataDir {
            path: PathBuf::from(dir),
            source,
        })
}

/// Reads the key file, or creates it (mode 0600) with a new random key. `create_new`
/// makes two processes starting at once agree: one creates, the other reads.
fn load_or_create_secret(path: &Path) -> Result<String, KeyFileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(mut file) => {
            let secret = random_secret()?;
            file.write_all(secret.as_bytes())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "created a new secret key");
            Ok(secret)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let secret = std::fs::read_to_string(path)?.trim().to_string();
            if secret.len() < MIN_SECRET_CHARS {
                return Err(KeyFileError::TooShort);
            }
            Ok(secret)
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn config(dir: &Path) -> ServiceConfig {
        let dir = dir.display().to_string();
        ServiceConfig::resolve(|name| (name == "CADRE_DATA_DIR").then(|| dir.clone())).unwrap()
    }

    #[test]
    fn the_key_file_is_created_private_once_then_reused() {
        let root = tempfile::tempdir().unwrap();
        let config = config(&root.path().join("data"));
        let first = server_secret(&config).unwrap();
        assert!(first.len() >= MIN_SECRET_CHARS);
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&config.data_dir), 0o700);
        assert_eq!(mode(&config.data_dir.join("secret.key")), 0o600);
        assert_eq!(server_secret(&config).unwrap(), first);
    }

    #[test]
    fn a_configured_secret_wins_and_a_short_key_file_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let mut config = config(root.path());
        std::fs::write(root.path().join("secret.key"), "short").unwrap();
        let error = server_secret(&config).unwrap_err();
        assert!(
            format!("{:?}", std::error::Error::source(&error)).contains("TooShort"),
            "{error:?}"
        );
        assert!(error.to_string().starts_with("cannot use the key file"));
        config.secret_key = Some(crate::config::Secret("k".repeat(40)));
        assert_eq!(server_secret(&config).unwrap(), "k".repeat(40));
    }
}
