//! Logical replication: the session (pgwire-replication) and the streaming loop.

mod message;
pub mod session;
pub mod stream;
