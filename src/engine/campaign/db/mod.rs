//! The campaign store's databases: the SQL interface (`sql`), the two backends behind it
//! (`sqlite`, the default file, and `mysql` for MySQL / MariaDB), where a database is (`url`),
//! and the tables (`schema`).

pub mod mysql;
pub mod schema;
pub mod sql;
pub mod sqlite;
pub mod url;

pub use schema::open;
pub use sql::{Backend, Sql, Val};
pub use url::DbUrl;
