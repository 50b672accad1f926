//! `cadre user add|list|passwd|disable|enable`: account administration from the server's
//! shell, against the configured database (the same `CADRE_*` settings as `cadre serve`).
//! Passwords come from stdin (`--password-stdin`, for scripts) or are generated and shown
//! once. Every change goes to the audit log.

use std::io::{BufRead, Write};

use anyhow::Context;
use cadre_server::api::auth::{normalize_email, valid_email};
use cadre_server::auth::password::hash_password;
use cadre_server::auth::token::random_secret;
use cadre_server::config::ServiceConfig;
use cadre_server::startup::open_store;
use cadre_store::{AuditEntry, AuditEvent, NewUser, Store, UserRecord};
use clap::Subcommand;

/// Account administration.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account.
    Add {
        /// Email (the login name).
        email: String,
        /// Make the account an admin.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of stdin instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Set a new password (ends the account's logins).
    Passwd {
        /// Email of the account.
        email: String,
        /// Read the password from the first line of stdin instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account: it can no longer log in, and its tokens stop working.
    Disable {
        /// Email of the account.
        email: String,
    },
    /// Re-enable a disabled account.
    Enable {
        /// Email of the account.
        email: String,
    },
}

/// Runs a user subcommand.
pub async fn execute(command: UserCommand) -> anyhow::Result<()> {
    let config = ServiceConfig::from_env()?;
    let store = open_store(&config).await?;
    let store = store.as_ref();
    let mut out = std::io::stdout().lock();
    match command {
        UserCommand::Add {
            email,
            admin,
            password_stdin,
        } => {
            let email = normalize_email(&email);
            anyhow::ensure!(valid_email(&email), "{email:?} is not an email address");
            let (password, generated) = password(password_stdin)?;
            let hash = hash_password(password.clone()).await?;
            let user = store
                .create_user(NewUser {
                    email: email.clone(),
                    password_hash: Some(hash),
                    is_admin: admin,
                })
                .await
                .with_context(|| format!("cannot create {email}"))?;
            audit(
                store,
                &user,
                AuditEvent::UserCreated,
                "with `cadre user add`",
            )
            .await;
            writeln!(
                out,
                "created {}{}",
                user.email,
                if admin { " (admin)" } else { "" }
            )?;
            if generated {
                writeln!(out, "password (shown only this once): {password}")?;
            }
        }
        UserCommand::List => {
            writeln!(
                out,
                "{:<40} {:<6} {:<9} created",
                "email", "admin", "disabled"
            )?;
            for user in store.list_users().await? {
                writeln!(
                    out,
                    "{:<40} {:<6} {:<9} {}",
                    user.email,
                    if user.is_admin { "yes" } else { "no" },
                    if user.disabled { "yes" } else { "no" },
                    user.created_at.format("%Y-%m-%d %H:%M")
                )?;
            }
        }
        UserCommand::Passwd {
            email,
            password_stdin,
        } => {
            let user = find(store, &email).await?;
            let (password, generated) = password(password_stdin)?;
            let hash = hash_password(password.clone()).await?;
            store.set_password(user.id, &hash).await?;
            audit(
                store,
                &user,
                AuditEvent::PasswordChanged,
                "with `cadre user passwd`",
            )
            .await;
            writeln!(
                out,
                "password changed for {}; its logins are ended",
                user.email
            )?;
            if generated {
                writeln!(out, "password (shown only this once): {password}")?;
            }
        }
        UserCommand::Disable { email } => {
            let user = find(store, &email).await?;
            store.set_disabled(user.id, true).await?;
            audit(
                store,
                &user,
                AuditEvent::UserDisabled,
                "with `cadre user disable`",
            )
            .await;
            writeln!(out, "disabled {}", user.email)?;
        }
        UserCommand::Enable { email } => {
            let user = find(store, &email).await?;
            store.set_disabled(user.id, false).await?;
            audit(
                store,
                &user,
                AuditEvent::UserEnabled,
                "with `cadre user enable`",
            )
            .await;
            writeln!(out, "enabled {}", user.email)?;
        }
    }
    Ok(())
}

async fn find(store: &dyn Store, email: &str) -> anyhow::Result<UserRecord> {
    let email = normalize_email(email);
    match store.user_by_email(&email).await? {
        Some((user, _)) => Ok(user),
        None => anyhow::bail!("no account {email}"),
    }
}

/// The password from stdin's first line, or a generated one (`true`).
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((random_secret()?, true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    Ok((password, false))
}

async fn audit(store: &dyn Store, user: &UserRecord, event: AuditEvent, detail: &str) {
    let entry = AuditEntry {
        user_id: Some(user.id),
        email: Some(user.email.clone()),
        event,
        detail: Some(detail.into()),
        ip: None,
    };
    if let Err(error) = store.record_audit(entry).await {
        tracing::warn!(%error, "cannot write the audit log");
    }
}
