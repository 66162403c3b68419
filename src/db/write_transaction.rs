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
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        let began = match self {
            DbConn::Sqlite(c) => {
                let open = AnsiTransactionManager::transaction_manager_status_mut(c)
                    .transaction_depth()?
                    .is_some();
                if !open {
                    AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
                }
                !open
            }
            DbConn::Postgres(_) => false,
        };
        if !began {
            return self.transaction(work);
        }
        match work(self) {
            Ok(value) => {
                if let DbConn::Sqlite(c) = self {
                    AnsiTransactionManager::commit_transaction(c)?;
                }
                Ok(value)
            }
            Err(e) => {
                if let DbConn::Sqlite(c) = self {
                    AnsiTransactionManager::rollback_transaction(c)?;
                }
                Err(e)
            }
        }
    }
}
