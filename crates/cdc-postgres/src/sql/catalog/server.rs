//! The server and the connected role: what pre-flight checks before anything else
//! (version, `wal_level`, the role's replication right).

use tokio_postgres::Client;

use super::q;
use crate::error::Result;

/// The connected role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleInfo {
    /// Its name.
    pub name: String,
    /// `rolsuper`.
    pub superuser: bool,
    /// `rolreplication`.
    pub replication: bool,
}

/// The server's version number (`150004`), `wal_level`, and the role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInfo {
    /// `server_version_num`.
    pub version_num: i32,
    /// `wal_level`.
    pub wal_level: String,
    /// The role.
    pub role: RoleInfo,
}

/// Reads [`ServerInfo`].
pub async fn server_info(client: &Client) -> Result<ServerInfo> {
    let row = client
        .query_one(
            "select current_setting('server_version_num')::int4, current_setting('wal_level'), \
             r.rolname::text, r.rolsuper, r.rolreplication \
             from pg_roles r where r.rolname = current_user",
            &[],
        )
        .await
        .map_err(q("reading the server settings"))?;
    Ok(ServerInfo {
        version_num: row.get(0),
        wal_level: row.get(1),
        role: RoleInfo {
            name: row.get(2),
            superuser: row.get(3),
            replication: row.get(4),
        },
    })
}
