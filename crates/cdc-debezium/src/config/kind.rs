//! [`DatabaseKind`]: the databases Debezium connectors exist for here.

/// The database kinds Debezium connectors exist for here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DatabaseKind {
    /// PostgreSQL (`postgres`, `postgresql`).
    Postgres,
    /// MySQL.
    MySql,
    /// MariaDB (Debezium's own MariaDB connector).
    MariaDb,
    /// SQL Server (`sqlserver`, `mssql`).
    SqlServer,
    /// MongoDB (`mongodb`, `mongo`).
    MongoDb,
}

impl DatabaseKind {
    /// Parses a `source_type`.
    pub fn parse(source_type: &str) -> Option<Self> {
        Some(match source_type.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Self::Postgres,
            "mysql" => Self::MySql,
            "mariadb" => Self::MariaDb,
            "sqlserver" | "mssql" => Self::SqlServer,
            "mongodb" | "mongo" => Self::MongoDb,
            _ => return None,
        })
    }

    /// The `connector.class`.
    pub fn connector_class(self) -> &'static str {
        match self {
            Self::Postgres => "io.debezium.connector.postgresql.PostgresConnector",
            Self::MySql => "io.debezium.connector.mysql.MySqlConnector",
            Self::MariaDb => "io.debezium.connector.mariadb.MariaDbConnector",
            Self::SqlServer => "io.debezium.connector.sqlserver.SqlServerConnector",
            Self::MongoDb => "io.debezium.connector.mongodb.MongoDbConnector",
        }
    }

    /// The default port.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Postgres => 5432,
            Self::MySql | Self::MariaDb => 3306,
            Self::SqlServer => 1433,
            Self::MongoDb => 27017,
        }
    }

    /// The name used in `source_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
            Self::MariaDb => "mariadb",
            Self::SqlServer => "sqlserver",
            Self::MongoDb => "mongodb",
        }
    }

    pub(crate) fn needs_schema_history(self) -> bool {
        matches!(self, Self::MySql | Self::MariaDb | Self::SqlServer)
    }
}
