//! Databases the service benchmarks run against: a SQLite file in a temporary directory,
//! and a throw-away PostgreSQL database (`cadre_bench_<uuid>`) created on the server named
//! by `CADRE_BENCH_DATABASE_URL` (default: the test server) and dropped afterwards.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cadre_store::{ConnectOptions, Store};
use sqlx::Connection;

/// The admin URL of the PostgreSQL server the benchmarks create their database on.
fn admin_url() -> String {
    std::env::var("CADRE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .context("database URL without scheme")?;
    let (base, query) = match rest.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (rest, String::new()),
    };
    let authority = base.split('/').next().unwrap_or(base);
    Ok(format!("{scheme}://{authority}/{name}{query}"))
}

fn options() -> ConnectOptions {
    ConnectOptions {
        max_connections: 16,
        acquire_timeout: Duration::from_secs(30),
    }
}

/// Runs `body` against a fresh SQLite store in a temporary file.
pub async fn with_sqlite<T, F, Fut>(body: F) -> anyhow::Result<T>
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let dir = tempfile::tempdir().context("temporary directory")?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = cadre_store::connect_with(&url, &options())
        .await
        .context("opening SQLite")?;
    let result = body(store).await;
    drop(dir);
    result
}

/// Runs `body` against a fresh PostgreSQL database, dropped afterwards whatever happens.
/// `synchronous_commit: false` turns it off for this database only (a diagnostic: how much
/// of a figure is waiting for the WAL flush at each commit). `Ok(None)`: the server is
/// unreachable (the caller reports the row as skipped).
pub async fn with_postgres<T, F, Fut>(
    synchronous_commit: bool,
    body: F,
) -> anyhow::Result<Option<T>>
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let admin = admin_url();
    let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
        return Ok(None);
    };
    let name = format!("cadre_bench_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .context("creating the benchmark database")?;
    if !synchronous_commit {
        sqlx::query(&format!(
            "ALTER DATABASE {name} SET synchronous_commit = off"
        ))
        .execute(&mut conn)
        .await
        .context("setting synchronous_commit")?;
    }
    let url = with_database(&admin, &name)?;
    let result = match cadre_store::connect_with(&url, &options()).await {
        Ok(store) => body(store).await,
        Err(error) => Err(anyhow::Error::new(error).context("opening PostgreSQL")),
    };
    let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .context("dropping the benchmark database");
    conn.close().await.ok();
    let value = result?;
    dropped?;
    Ok(Some(value))
}
