//! SQL over tokio-postgres: connections, quoting, catalogs, and the statements the provider
//! runs to set a source up.

pub mod catalog;
pub mod connect;
pub mod ddl_capture;
pub mod quote;
pub mod republish;
pub mod statements;
pub mod tls;
