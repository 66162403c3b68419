//! `DbConn::write_transaction`: a write transaction that waits for SQLite's
//! write lock instead of failing when it reads before it writes.

use diesel::Connection;

use super::DbConn;

impl DbConn {
    /// A transaction that writes after reading. SQLite's plain `BEGIN` is
    /// deferred: a transaction that has read cannot wait for the write lock
    /// another connection holds, and fails at once with "database is
    /// locked". Here SQLite begins with `BEGIN IMMEDIATE`, which takes the
    /// write lock first, waiting up to `busy_timeout`. Inside another
    /// transaction, and on PostgreSQL, this is the usual `transaction`.
    pub fn write_transaction<T, E>(
        &mut self,
        work: impl FnOnce(&mut DbConn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        use crate::hooks::notify;
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        let outermost = !self.in_transaction()?;
        if outermost && crate::deadline::passed() {
            return Err(crate::deadline::passed_error().into());
        }
        if outermost {
            notify::begin();
        }
        let mark = notify::mark();
        let done = match self {
            DbConn::Sqlite(c) if outermost => {
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
                let done = work(self).and_then(within_deadline);
                if let DbConn::Sqlite(c) = self {
                    let ended = match &done {
                        Ok(_) => AnsiTransactionManager::commit_transaction(c),
                        Err(_) => AnsiTransactionManager::rollback_transaction(c),
                    };
                    if let Err(e) = ended {
                        notify::rolled_back(mark);
                        return Err(e.into());
                    }
                }
                done
            }
            _ if outermost => self.transaction(|c| work(c).and_then(within_deadline)),
            _ => self.transaction(work),
        };
        // Audit events recorded inside go out once the outermost transaction
        // has committed; a rolled-back part's events never do.
        match &done {
            Ok(_) if outermost => notify::committed(),
            Ok(_) => {}
            Err(_) => notify::rolled_back(mark),
        }
        done
    }

    /// Whether a transaction is open on this connection.
    pub fn in_transaction(&mut self) -> diesel::QueryResult<bool> {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        let depth = match self {
            DbConn::Sqlite(c) => {
                AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?
            }
            DbConn::Postgres(c) => {
                AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?
            }
        };
        Ok(depth.is_some())
    }
}

/// A finished transaction's work commits only while its request's deadline
/// holds; past it the request has been answered `503`, so its work is rolled
/// back rather than done behind that answer (see [`crate::deadline`]).
fn within_deadline<T, E: From<diesel::result::Error>>(value: T) -> Result<T, E> {
    if crate::deadline::passed() {
        return Err(crate::deadline::passed_error().into());
    }
    Ok(value)
}
