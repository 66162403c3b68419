//! Every row of every table of a database as text, as a dump would show it:
//! for the stories that check that no secret is stored in the clear
//! anywhere, not only in the table meant to hold its hash.
//!
//! SQLite: every table listed in `sqlite_master`, every column cast to text
//! (a blob as `x` and its hex). PostgreSQL: every table of the schema, each
//! row as `t::text` (a `bytea` as `\x` and its hex).

use diesel::prelude::*;
use diesel::sql_types::Text;
use gatehouse::db::DbConn;

use super::TestApp;

/// The rows of a database, each as (table, the row's text).
#[derive(Debug)]
pub struct Dump {
    /// Every table read, empty or not.
    pub tables: Vec<String>,
    pub rows: Vec<(String, String)>,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

impl Dump {
    /// Every table on `conn`.
    pub fn of(conn: &mut DbConn) -> Dump {
        let tables = tables(conn);
        let mut rows = Vec::new();
        for table in &tables {
            let select = match conn {
                DbConn::Sqlite(c) => sqlite_select(c, table),
                DbConn::Postgres(_) => format!("SELECT t::text AS line FROM \"{table}\" t"),
            };
            let lines = diesel::sql_query(&select)
                .load::<Line>(conn)
                .unwrap_or_else(|e| panic!("{select}: {e}"));
            rows.extend(lines.into_iter().map(|l| (table.clone(), l.line)));
        }
        Dump { tables, rows }
    }

    /// Every table of the database at `url` (a server process's).
    pub fn of_url(url: &str) -> Dump {
        let url = gatehouse::db::DatabaseUrl::parse(url).expect("a database URL");
        let db = gatehouse::db::Db::connect(&url, 1).expect("connect for the dump");
        Self::of(&mut db.get().expect("a connection for the dump"))
    }

    /// The rows that hold `bytes`: as text, or in the hex of a blob.
    pub fn rows_holding(&self, bytes: &[u8]) -> Vec<&(String, String)> {
        let text = std::str::from_utf8(bytes).ok();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.rows
            .iter()
            .filter(|(_, row)| {
                text.is_some_and(|t| row.contains(t)) || row.to_lowercase().contains(&hex)
            })
            .collect()
    }

    /// Panics when `secret` (what it is: `what`) is anywhere in the dump.
    pub fn assert_absent(&self, what: &str, secret: &str) {
        let found = self.rows_holding(secret.as_bytes());
        assert!(found.is_empty(), "{what} is stored in the clear: {found:?}");
    }
}

impl TestApp {
    /// Every row of every table of this app's database.
    pub fn dump(&self) -> Dump {
        self.with_conn(Dump::of)
    }
}

fn tables(conn: &mut DbConn) -> Vec<String> {
    let sql = match conn {
        DbConn::Sqlite(_) => {
            "SELECT name AS line FROM sqlite_master WHERE type = 'table' ORDER BY name"
        }
        DbConn::Postgres(_) => {
            "SELECT tablename::text AS line FROM pg_tables \
             WHERE schemaname = current_schema() ORDER BY tablename"
        }
    };
    let names: Vec<String> = diesel::sql_query(sql)
        .load::<Line>(conn)
        .expect(sql)
        .into_iter()
        .map(|l| l.line)
        .collect();
    assert!(
        names.iter().any(|n| n == "email_tokens"),
        "no tables found: {names:?}"
    );
    names
}

/// One text line per row of `table`: each column cast to text (a blob as
/// `x` and its hex, `NULL` as such), joined by ` | `.
fn sqlite_select(conn: &mut diesel::SqliteConnection, table: &str) -> String {
    let pragma = format!("SELECT name AS line FROM pragma_table_info('{table}')");
    let columns: Vec<String> = diesel::sql_query(&pragma)
        .load::<Line>(conn)
        .expect(&pragma)
        .into_iter()
        .map(|l| l.line)
        .collect();
    assert!(!columns.is_empty(), "no columns in {table}");
    let cells: Vec<String> = columns
        .iter()
        .map(|c| {
            format!(
                "CASE typeof(\"{c}\") WHEN 'blob' THEN 'x' || hex(\"{c}\") \
                 WHEN 'null' THEN 'NULL' ELSE CAST(\"{c}\" AS TEXT) END"
            )
        })
        .collect();
    format!(
        "SELECT {} AS line FROM \"{table}\"",
        cells.join(" || ' | ' || ")
    )
}
