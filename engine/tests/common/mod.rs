//! Shared setup of the engine's integration tests.

#![allow(dead_code, reason = "each test binary uses a different part")]

pub mod ebay;
pub mod serve;

/// A fresh, empty PostgreSQL database for one test, named after it, or None (and a loud
/// notice) when `WEFT_TEST_POSTGRES` is not set.
pub async fn postgres_database(test: &str) -> Option<String> {
    let Ok(admin) = std::env::var("WEFT_TEST_POSTGRES") else {
        eprintln!(
            "SKIPPED {test} on PostgreSQL: set WEFT_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test to run it"
        );
        return None;
    };
    use sqlx::Connection as _;
    use sqlx::Executor as _;
    let name = format!("weft_test_{test}_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to WEFT_TEST_POSTGRES");
    conn.execute(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .await
    .unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(base, _)| base).unwrap_or(&admin);
    Some(format!("{base}/{name}"))
}

/// Every event the store holds, by id.
pub async fn all_events(store: &weft::store::Store) -> Vec<weft::store::queue::QueuedEvent> {
    let mut found = Vec::new();
    let mut missing = 0;
    let mut id = 1;
    while missing < 50 {
        match store.event(id).await.unwrap() {
            Some(event) => {
                found.push(event);
                missing = 0;
            }
            None => missing += 1,
        }
        id += 1;
    }
    found
}
