//! Logical replication: the session (pgwire-replication) and the streaming loop.

pub mod session;
pub mod stream;
