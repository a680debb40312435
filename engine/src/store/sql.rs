//! One way to write a statement for both databases: `query(sql).bind(..).fetch_one(conn)`, and
//! a [`Row`] read by column name.
//!
//! - **SQLite** runs in-process, on the caller's thread, through `rusqlite`: each statement is
//!   prepared once per connection and kept ([`STATEMENT_CACHE`]), with which `$N` each of its
//!   parameters is and the names of its columns ([`Sqlite`]), so running it again costs a
//!   few microseconds. (sqlx's SQLite driver hands every statement to a worker thread and back;
//!   measured, that hop cost more than the statements themselves, and an event makes dozens.)
//! - **PostgreSQL** goes through sqlx's `Any` driver: pooled connections, real network I/O.
//!
//! Statements are written once, with `$N` parameters, which both accept. In SQLite `$1` is a
//! *named* parameter, numbered by first appearance; [`Query`] binds by the number in the name,
//! so `$2 ... $1 ... $2` binds as PostgreSQL would.

use super::{Result, StoreError};
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use sqlx::Row as _;
use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use std::collections::HashMap;
use std::sync::Arc;

/// Prepared statements kept per SQLite connection. The store has about a hundred distinct
/// statements; the hot path of an event uses a few dozen.
pub(crate) const STATEMENT_CACHE: usize = 256;

/// A connection of either database, held for as long as this value lives.
pub(crate) enum Conn {
    /// The one SQLite connection, locked for this holder.
    Sqlite(tokio::sync::OwnedMutexGuard<Sqlite>),
    Postgres(PoolConnection<sqlx::Any>),
}

impl Conn {
    /// Runs statements without parameters or results (transaction control, pragmas).
    pub(crate) async fn batch(&mut self, sql: &str) -> Result<()> {
        match self {
            Conn::Sqlite(conn) => Ok(conn.conn.execute_batch(sql)?),
            Conn::Postgres(conn) => {
                // Only the store's own statements come here; sqlx copies the text it is given.
                sqlx::Executor::execute(&mut **conn, sqlx::query(sqlx::AssertSqlSafe(sql))).await?;
                Ok(())
            }
        }
    }
}

/// The SQLite connection, and what running each of its statements needs besides the prepared
/// statement (which rusqlite's cache keeps): which `$N` each parameter is and the names of the
/// result columns, worked out on the statement's first run instead of on every run.
pub(crate) struct Sqlite {
    pub(crate) conn: rusqlite::Connection,
    shapes: HashMap<u64, Shape>,
    /// What the last committed unit remembered of customers, and the database's
    /// `PRAGMA data_version` it was true at (see `Store::unit`).
    pub(crate) remembered: Option<(i64, super::context::Remembered)>,
}

struct Shape {
    sql: Box<str>,
    /// For each parameter (SQLite numbers them from 1 by first appearance), the index of the
    /// bound value it takes: `$3` takes the third.
    params: Box<[usize]>,
    columns: Arc<[String]>,
}

impl Sqlite {
    pub(crate) fn new(conn: rusqlite::Connection) -> Sqlite {
        Sqlite {
            conn,
            shapes: HashMap::new(),
            remembered: None,
        }
    }
}

/// A quick hash of a statement's text (the FxHash mix, eight bytes at a time): the shapes are
/// looked up on every run, and their texts compared on a hit anyway.
fn text_hash(text: &str) -> u64 {
    let mut hash = 0u64;
    let mut chunks = text.as_bytes().chunks_exact(8);
    let mix = |hash: u64, word: u64| (hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    for chunk in &mut chunks {
        hash = mix(hash, u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    mix(mix(hash, u64::from_le_bytes(last)), text.len() as u64)
}

/// A parameter value. `None`s keep their type: PostgreSQL checks a NULL parameter's type too.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

/// What can be bound to a parameter.
pub(crate) trait Bind {
    fn arg(self) -> Arg;
}

/// A bindable type that has a typed NULL, so that `Option<T>` binds too.
pub(crate) trait Scalar: Bind {
    const NULL: Arg;
}

impl<T: Scalar> Bind for Option<T> {
    fn arg(self) -> Arg {
        match self {
            Some(value) => value.arg(),
            None => T::NULL,
        }
    }
}

macro_rules! scalar {
    ($($t:ty => $variant:ident($convert:expr)),* $(,)?) => {$(
        impl Bind for $t {
            fn arg(self) -> Arg {
                Arg::$variant(Some(($convert)(self)))
            }
        }
        impl Scalar for $t {
            const NULL: Arg = Arg::$variant(None);
        }
    )*};
}

scalar! {
    i64 => Int(|v| v),
    i32 => Int(i64::from),
    u32 => Int(i64::from),
    bool => Int(i64::from),
    f64 => Real(|v| v),
    String => Text(|v| v),
    &str => Text(str::to_owned),
    &String => Text(String::clone),
    Vec<u8> => Blob(|v| v),
    &[u8] => Blob(<[u8]>::to_vec),
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Arg::Int(Some(v)) => ValueRef::Integer(*v),
            Arg::Real(Some(v)) => ValueRef::Real(*v),
            Arg::Text(Some(v)) => ValueRef::Text(v.as_bytes()),
            Arg::Blob(Some(v)) => ValueRef::Blob(v),
            Arg::Int(None) | Arg::Real(None) | Arg::Text(None) | Arg::Blob(None) => ValueRef::Null,
        }))
    }
}

/// A statement and its parameters, run with one of the `fetch_*` or [`Query::execute`].
#[must_use = "a query does nothing until it is run"]
pub(crate) struct Query<'q> {
    sql: &'q str,
    args: Vec<Arg>,
}

/// A statement with `$N` parameters.
pub(crate) fn query(sql: &str) -> Query<'_> {
    Query { sql, args: Vec::new() }
}

/// What a statement that returns no rows did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Done(u64);

impl Done {
    pub(crate) fn rows_affected(&self) -> u64 {
        self.0
    }
}

impl<'q> Query<'q> {
    /// Binds the next parameter (`$1`, then `$2`, ...).
    pub(crate) fn bind(mut self, value: impl Bind) -> Self {
        self.args.push(value.arg());
        self
    }

    pub(crate) async fn execute(self, conn: &mut Conn) -> Result<Done> {
        match conn {
            Conn::Sqlite(conn) => {
                let (_, changes) = self.run_sqlite(&mut *conn, usize::MAX)?;
                Ok(Done(changes))
            }
            Conn::Postgres(conn) => Ok(Done(self.to_sqlx().execute(&mut **conn).await?.rows_affected())),
        }
    }

    pub(crate) async fn fetch_all(self, conn: &mut Conn) -> Result<Vec<Row>> {
        match conn {
            Conn::Sqlite(conn) => Ok(self.run_sqlite(&mut *conn, usize::MAX)?.0),
            Conn::Postgres(conn) => Ok(self
                .to_sqlx()
                .fetch_all(&mut **conn)
                .await?
                .into_iter()
                .map(Row::Any)
                .collect()),
        }
    }

    pub(crate) async fn fetch_optional(self, conn: &mut Conn) -> Result<Option<Row>> {
        match conn {
            Conn::Sqlite(conn) => Ok(self.run_sqlite(&mut *conn, 1)?.0.pop()),
            Conn::Postgres(conn) => Ok(self.to_sqlx().fetch_optional(&mut **conn).await?.map(Row::Any)),
        }
    }

    pub(crate) async fn fetch_one(self, conn: &mut Conn) -> Result<Row> {
        let sql = self.sql;
        self.fetch_optional(conn)
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("no row returned by `{}`", first_line(sql))))
    }

    fn to_sqlx(&self) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        // The store's statements are its own text, parameters bound, never built from input:
        // safe as sqlx means it. (sqlx 0.9 copies a borrowed statement into an `Arc<str>`.)
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for arg in &self.args {
            query = match arg.clone() {
                Arg::Int(v) => query.bind(v),
                Arg::Real(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
                Arg::Blob(v) => query.bind(v),
            };
        }
        query
    }

    /// What the statement's parameters stand for, and its result columns.
    fn shape(&self, statement: &rusqlite::Statement<'_>) -> Result<Shape> {
        let params = (1..=statement.parameter_count())
            .map(|index| {
                statement
                    .parameter_name(index)
                    .and_then(|name| name.strip_prefix('$'))
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| {
                        StoreError::Invalid(format!(
                            "parameter {index} of `{}` is not written `$N`",
                            first_line(self.sql)
                        ))
                    })
            })
            .collect::<Result<_>>()?;
        Ok(Shape {
            sql: self.sql.into(),
            params,
            columns: statement.column_names().map(str::to_owned).collect(),
        })
    }

    /// Runs the statement to its end, keeping at most `keep` rows; returns them and the number
    /// of rows it changed.
    fn run_sqlite(&self, sqlite: &mut Sqlite, keep: usize) -> Result<(Vec<Row>, u64)> {
        let Sqlite { conn, shapes, .. } = sqlite;
        let mut statement = conn.prepare_cached(self.sql)?;
        let key = text_hash(self.sql);
        let shape = match shapes.get(&key) {
            Some(shape) if *shape.sql == *self.sql => shape,
            _ => {
                let shape = self.shape(&statement)?;
                shapes.insert(key, shape);
                &shapes[&key]
            }
        };
        for (index, &position) in shape.params.iter().enumerate() {
            let arg = self.args.get(position - 1).ok_or_else(|| {
                StoreError::Invalid(format!(
                    "`{}` uses ${position}, but {} value(s) were bound",
                    first_line(self.sql),
                    self.args.len()
                ))
            })?;
            statement.raw_bind_parameter(index + 1, arg)?;
        }
        let columns = &shape.columns;
        let mut kept = Vec::new();
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next()? {
            if kept.len() < keep {
                let values = (0..columns.len())
                    .map(|i| row.get_ref(i).map(Value::try_from)?.map_err(rusqlite::Error::from))
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                kept.push(Row::Sqlite {
                    columns: Arc::clone(columns),
                    values,
                });
            }
        }
        drop(rows);
        Ok((kept, conn.changes()))
    }
}

fn first_line(sql: &str) -> &str {
    sql.trim().lines().next().unwrap_or_default()
}

/// A result row of either database.
pub(crate) enum Row {
    Sqlite { columns: Arc<[String]>, values: Vec<Value> },
    Any(AnyRow),
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Row::Sqlite { columns, values } => f.debug_map().entries(columns.iter().zip(values)).finish(),
            Row::Any(row) => f.debug_struct("AnyRow").field("columns", &row.columns().len()).finish(),
        }
    }
}

impl Row {
    /// The value of the column named `name`.
    pub(crate) fn try_get<T: Get>(&self, name: &str) -> Result<T> {
        match self {
            Row::Sqlite { columns, values } => {
                let index = columns
                    .iter()
                    .position(|c| c == name)
                    .ok_or_else(|| StoreError::Invalid(format!("no column `{name}` in the result")))?;
                let value = &values[index];
                T::from_sqlite(value).ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "column `{name}`: expected {}, found {}",
                        std::any::type_name::<T>(),
                        match value {
                            Value::Null => "NULL",
                            Value::Integer(_) => "an integer",
                            Value::Real(_) => "a real number",
                            Value::Text(_) => "text",
                            Value::Blob(_) => "a blob",
                        }
                    ))
                })
            }
            Row::Any(row) => Ok(T::from_any(row, name)?),
        }
    }
}

/// What a column can be read as.
pub(crate) trait Get: Sized {
    /// `None` when the value has another type.
    fn from_sqlite(value: &Value) -> Option<Self>;
    fn from_any(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error>;
}

macro_rules! get {
    ($($t:ty => $read:expr),* $(,)?) => {$(
        impl Get for $t {
            fn from_sqlite(value: &Value) -> Option<Self> {
                ($read)(value)
            }
            fn from_any(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error> {
                row.try_get(name)
            }
        }
        impl Get for Option<$t> {
            fn from_sqlite(value: &Value) -> Option<Self> {
                match value {
                    Value::Null => Some(None),
                    value => <$t as Get>::from_sqlite(value).map(Some),
                }
            }
            fn from_any(row: &AnyRow, name: &str) -> Result<Self, sqlx::Error> {
                row.try_get(name)
            }
        }
    )*};
}

get! {
    i64 => |v: &Value| match v { Value::Integer(i) => Some(*i), _ => None },
    f64 => |v: &Value| match v { Value::Real(f) => Some(*f), Value::Integer(i) => Some(*i as f64), _ => None },
    bool => |v: &Value| match v { Value::Integer(i) => Some(*i != 0), _ => None },
    String => |v: &Value| match v { Value::Text(s) => Some(s.clone()), _ => None },
    Vec<u8> => |v: &Value| match v { Value::Blob(b) => Some(b.clone()), Value::Text(s) => Some(s.clone().into_bytes()), _ => None },
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite() -> Conn {
        let store = crate::store::Store::open("sqlite::memory:").await.unwrap();
        store.conn().await.unwrap()
    }

    #[tokio::test]
    async fn parameters_bind_by_the_number_in_their_name() {
        let mut conn = sqlite().await;
        // `$2` appears first and `$1` twice: SQLite numbers them by appearance, we by name.
        let row = query("SELECT $2 AS a, $1 AS b, $1 + 1 AS c")
            .bind(41_i64)
            .bind("Müller 📦")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(row.try_get::<String>("a").unwrap(), "Müller 📦");
        assert_eq!(row.try_get::<i64>("b").unwrap(), 41);
        assert_eq!(row.try_get::<i64>("c").unwrap(), 42);
    }

    #[tokio::test]
    async fn nulls_options_and_rows_affected() {
        let mut conn = sqlite().await;
        conn.batch("CREATE TABLE t (n INTEGER, s TEXT, f REAL, b BLOB)")
            .await
            .unwrap();
        for n in 0..3_i64 {
            let done = query("INSERT INTO t (n, s, f, b) VALUES ($1, $2, $3, $4)")
                .bind(n)
                .bind(None::<&str>)
                .bind(Some(0.5))
                .bind(vec![0_u8, 255])
                .execute(&mut conn)
                .await
                .unwrap();
            assert_eq!(done.rows_affected(), 1);
        }
        let done = query("UPDATE t SET s = $1 WHERE n >= $2")
            .bind("東京")
            .bind(1_i64)
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 2);
        let rows = query("SELECT n, s, f, b FROM t ORDER BY n")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].try_get::<Option<String>>("s").unwrap(), None);
        assert_eq!(rows[2].try_get::<Option<String>>("s").unwrap().as_deref(), Some("東京"));
        assert_eq!(rows[1].try_get::<f64>("f").unwrap(), 0.5);
        assert_eq!(rows[1].try_get::<Vec<u8>>("b").unwrap(), vec![0, 255]);
        assert!(
            query("SELECT n FROM t WHERE n = $1")
                .bind(7_i64)
                .fetch_optional(&mut conn)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn an_unknown_sqlite_option_is_named() {
        let error = crate::store::Store::open("sqlite://weft.db?mode=rwx")
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot open database `sqlite://weft.db?mode=rwx`: unknown option `mode=rwx`: \
             expected mode=rwc, mode=rw, mode=ro or mode=memory"
        );
    }

    #[tokio::test]
    async fn mistakes_say_what_and_where() {
        let mut conn = sqlite().await;
        let missing = query("SELECT $1 AS a, $2 AS b").bind(1_i64).fetch_one(&mut conn).await;
        assert_eq!(
            missing.unwrap_err().to_string(),
            "`SELECT $1 AS a, $2 AS b` uses $2, but 1 value(s) were bound"
        );
        let row = query("SELECT 'x' AS a").fetch_one(&mut conn).await.unwrap();
        assert_eq!(
            row.try_get::<i64>("a").unwrap_err().to_string(),
            "column `a`: expected i64, found text"
        );
        assert_eq!(
            row.try_get::<i64>("nope").unwrap_err().to_string(),
            "no column `nope` in the result"
        );
        let none = query("SELECT 1 AS a WHERE 0").fetch_one(&mut conn).await;
        assert_eq!(
            none.unwrap_err().to_string(),
            "no row returned by `SELECT 1 AS a WHERE 0`"
        );
    }
}
