//! `cadre secrets rotate`: moves the server to a new secret key. Every stored provider
//! key is re-sealed under the new key in one transaction; access tokens signed with the
//! old key stop working (users log in again; refresh tokens and personal tokens, being
//! hashes, keep working). With a key file (no `CADRE_SECRET_KEY`), the file is replaced;
//! otherwise the operator sets the new `CADRE_SECRET_KEY` on every process.

use std::io::Write;

use anyhow::Context;
use cadre_server::auth::credentials::rotate_all;
use cadre_server::auth::sealing::SecretBox;
use cadre_server::auth::token::random_secret;
use cadre_server::config::ServiceConfig;
use cadre_server::startup::{open_store, server_secret};
use clap::Subcommand;

/// Secret-key management.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Re-seal stored provider keys under a new server secret (`CADRE_NEW_SECRET_KEY`, or
    /// a generated one).
    Rotate,
}

/// Runs a secrets subcommand.
pub async fn execute(command: SecretsCommand) -> anyhow::Result<()> {
    let SecretsCommand::Rotate = command;
    let config = ServiceConfig::from_env()?;
    let store = open_store(&config).await?;
    let old = server_secret(&config)?;
    let (new, generated) = match std::env::var("CADRE_NEW_SECRET_KEY") {
        Ok(key) if key.trim().len() >= 32 => (key.trim().to_string(), false),
        Ok(_) => anyhow::bail!("CADRE_NEW_SECRET_KEY must be at least 32 characters"),
        Err(_) => (random_secret()?, true),
    };
    anyhow::ensure!(new != old, "the new secret key is the current one");
    let from = SecretBox::from_secret(old.as_bytes());
    let to = SecretBox::from_secret(new.as_bytes());
    let count = rotate_all(store.as_ref(), &from, &to)
        .await
        .context("nothing was changed")?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "re-sealed {count} stored provider key(s) under key {}",
        to.key_id()
    )?;
    if config.secret_key.is_none() {
        let path = config.data_dir.join("secret.key");
        replace_key_file(&path, &new)
            .with_context(|| format!("cannot write the key file {}", path.display()))?;
        writeln!(out, "the key file {} now holds the new key", path.display())?;
    } else {
        writeln!(
            out,
            "set CADRE_SECRET_KEY to the new key on every cadre process, then restart them"
        )?;
        if generated {
            writeln!(out, "new key (shown only this once): {new}")?;
        }
    }
    Ok(())
}

/// Writes the key to a temporary file (mode 0600) and renames it over the old one, so the
/// file always holds one whole key.
fn replace_key_file(path: &std::path::Path, key: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let temporary = path.with_extension("key.new");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(key.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}
