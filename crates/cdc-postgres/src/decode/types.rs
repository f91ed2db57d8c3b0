//! Column types: how each type's text form becomes JSON ([`Kind`]), and the names of the
//! built-in types (pgoutput sends a Type message only for types with OIDs ≥ 10000).

use std::collections::HashMap;

/// How a value's text becomes JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// int2, int4, int8, oid: a JSON number.
    Integer,
    /// numeric: an exact decimal string (`"12.50"`, `"NaN"`, `"Infinity"`).
    Numeric,
    /// float4, float8: a JSON number; `NaN` and `±Infinity` as strings.
    Float,
    /// bool: `true` / `false`.
    Bool,
    /// json, jsonb: the JSON value itself, every digit kept.
    Json,
    /// bytea: base64 (standard alphabet, padded) of the bytes.
    Bytea,
    /// timestamp: ISO-8601 without offset (`2026-03-01T12:00:00.5`).
    Timestamp,
    /// timestamptz: ISO-8601 in UTC (`2026-03-01T12:00:00.5Z`).
    TimestampTz,
    /// timetz: `12:00:00+02:00`.
    TimeTz,
    /// Everything else (text, varchar, uuid, date, time, interval, enums, domains, ranges,
    /// composites, extension types): the text as a JSON string.
    Text,
    /// An array of the element kind, as a (nested) JSON array, NULL elements as `null`.
    Array(ElementKind),
}

/// The element kind of an array (arrays of arrays are nested JSON arrays of the element).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementKind {
    /// See [`Kind::Integer`].
    Integer,
    /// See [`Kind::Numeric`].
    Numeric,
    /// See [`Kind::Float`].
    Float,
    /// See [`Kind::Bool`].
    Bool,
    /// See [`Kind::Json`].
    Json,
    /// See [`Kind::Bytea`].
    Bytea,
    /// See [`Kind::Timestamp`].
    Timestamp,
    /// See [`Kind::TimestampTz`].
    TimestampTz,
    /// See [`Kind::TimeTz`].
    TimeTz,
    /// See [`Kind::Text`].
    Text,
}

impl Kind {
    /// Whether values of this kind are JSON text embedded as is (json, jsonb, and arrays
    /// of them).
    pub fn holds_json(self) -> bool {
        matches!(self, Self::Json | Self::Array(ElementKind::Json))
    }
}

impl ElementKind {
    /// The scalar kind of an element.
    pub fn scalar(self) -> Kind {
        match self {
            Self::Integer => Kind::Integer,
            Self::Numeric => Kind::Numeric,
            Self::Float => Kind::Float,
            Self::Bool => Kind::Bool,
            Self::Json => Kind::Json,
            Self::Bytea => Kind::Bytea,
            Self::Timestamp => Kind::Timestamp,
            Self::TimestampTz => Kind::TimestampTz,
            Self::TimeTz => Kind::TimeTz,
            Self::Text => Kind::Text,
        }
    }

    fn of(kind: Kind) -> Self {
        match kind {
            Kind::Integer => Self::Integer,
            Kind::Numeric => Self::Numeric,
            Kind::Float => Self::Float,
            Kind::Bool => Self::Bool,
            Kind::Json => Self::Json,
            Kind::Bytea => Self::Bytea,
            Kind::Timestamp => Self::Timestamp,
            Kind::TimestampTz => Self::TimestampTz,
            Kind::TimeTz => Self::TimeTz,
            Kind::Text | Kind::Array(_) => Self::Text,
        }
    }
}

/// Built-in scalar types: (OID, name, kind, array type OID).
const SCALARS: &[(u32, &str, Kind, u32)] = &[
    (16, "bool", Kind::Bool, 1000),
    (17, "bytea", Kind::Bytea, 1001),
    (18, "char", Kind::Text, 1002),
    (19, "name", Kind::Text, 1003),
    (20, "int8", Kind::Integer, 1016),
    (21, "int2", Kind::Integer, 1005),
    (23, "int4", Kind::Integer, 1007),
    (24, "regproc", Kind::Text, 1008),
    (25, "text", Kind::Text, 1009),
    (26, "oid", Kind::Integer, 1028),
    (27, "tid", Kind::Text, 1010),
    (28, "xid", Kind::Text, 1011),
    (29, "cid", Kind::Text, 1012),
    (114, "json", Kind::Json, 199),
    (142, "xml", Kind::Text, 143),
    (194, "pg_node_tree", Kind::Text, 0),
    (600, "point", Kind::Text, 1017),
    (601, "lseg", Kind::Text, 1018),
    (602, "path", Kind::Text, 1019),
    // box[] separates elements with `;`: its arrays stay text.
    (603, "box", Kind::Text, 0),
    (604, "polygon", Kind::Text, 1027),
    (628, "line", Kind::Text, 629),
    (650, "cidr", Kind::Text, 651),
    (700, "float4", Kind::Float, 1021),
    (701, "float8", Kind::Float, 1022),
    (718, "circle", Kind::Text, 719),
    (774, "macaddr8", Kind::Text, 775),
    (790, "money", Kind::Text, 791),
    (829, "macaddr", Kind::Text, 1040),
    (869, "inet", Kind::Text, 1041),
    (1042, "bpchar", Kind::Text, 1014),
    (1043, "varchar", Kind::Text, 1015),
    (1082, "date", Kind::Text, 1182),
    (1083, "time", Kind::Text, 1183),
    (1114, "timestamp", Kind::Timestamp, 1115),
    (1184, "timestamptz", Kind::TimestampTz, 1185),
    (1186, "interval", Kind::Text, 1187),
    (1266, "timetz", Kind::TimeTz, 1270),
    (1560, "bit", Kind::Text, 1561),
    (1562, "varbit", Kind::Text, 1563),
    (1700, "numeric", Kind::Numeric, 1231),
    (1790, "refcursor", Kind::Text, 2201),
    (2950, "uuid", Kind::Text, 2951),
    (3220, "pg_lsn", Kind::Text, 3221),
    (3614, "tsvector", Kind::Text, 3643),
    (3615, "tsquery", Kind::Text, 3645),
    (3802, "jsonb", Kind::Json, 3807),
    (4072, "jsonpath", Kind::Text, 4073),
    (3904, "int4range", Kind::Text, 3905),
    (3906, "numrange", Kind::Text, 3907),
    (3908, "tsrange", Kind::Text, 3909),
    (3910, "tstzrange", Kind::Text, 3911),
    (3912, "daterange", Kind::Text, 3913),
    (3926, "int8range", Kind::Text, 3927),
    (5038, "pg_snapshot", Kind::Text, 5039),
    (5069, "xid8", Kind::Text, 271),
];

/// What we know of a type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeInfo {
    /// Its name (`int4`, `_text` for text[], `public.mood` for a non-builtin type).
    pub name: String,
    /// How its values become JSON.
    pub kind: Kind,
}

/// Type OID → [`TypeInfo`]: the built-ins, plus what Type messages announce.
#[derive(Clone, Debug)]
pub struct TypeRegistry {
    types: HashMap<u32, TypeInfo>,
}

impl Default for TypeRegistry {
    fn default() -> Self {
        let mut types = HashMap::with_capacity(SCALARS.len() * 2);
        for (oid, name, kind, array) in SCALARS {
            types.insert(
                *oid,
                TypeInfo {
                    name: (*name).to_owned(),
                    kind: *kind,
                },
            );
            if *array != 0 {
                types.insert(
                    *array,
                    TypeInfo {
                        name: format!("_{name}"),
                        kind: Kind::Array(ElementKind::of(*kind)),
                    },
                );
            }
        }
        Self { types }
    }
}

impl TypeRegistry {
    /// The type, or an unknown type as text (named by its OID).
    pub fn get(&self, oid: u32) -> TypeInfo {
        self.types.get(&oid).cloned().unwrap_or_else(|| TypeInfo {
            name: format!("oid:{oid}"),
            kind: Kind::Text,
        })
    }

    /// Records a non-builtin type from a Type message (or the catalog, as pgoutput would
    /// announce it). Its values are text; a name starting with `_` is PostgreSQL's
    /// convention for an array type, whose values become JSON arrays of strings. A domain is
    /// announced by its base type: over a built-in type it is named `domain:<base>`.
    pub fn learn(&mut self, oid: u32, namespace: &str, name: &str) {
        let kind = if name.starts_with('_') {
            Kind::Array(ElementKind::Text)
        } else {
            Kind::Text
        };
        // pgoutput announces a domain by its base type; only a domain's base can be a
        // built-in (pg_catalog) type, since Type messages are sent for user types only.
        let name = if namespace.is_empty() || namespace == "pg_catalog" {
            format!("domain:{name}")
        } else {
            format!("{namespace}.{name}")
        };
        self.types.insert(oid, TypeInfo { name, kind });
    }

    /// The SQL spelling of a type for reconstructed DDL (`integer`, `text`, `numeric(10,2)`,
    /// `character varying(20)`, `text[]`).
    pub fn sql_name(&self, oid: u32, modifier: i32) -> String {
        let info = self.get(oid);
        let (base, array) = match info.name.strip_prefix('_') {
            Some(elem) if matches!(info.kind, Kind::Array(_)) => (elem.to_owned(), "[]"),
            _ => (info.name.clone(), ""),
        };
        let base = match base.as_str() {
            "int2" => "smallint".to_owned(),
            "int4" => "integer".to_owned(),
            "int8" => "bigint".to_owned(),
            "float4" => "real".to_owned(),
            "float8" => "double precision".to_owned(),
            "bool" => "boolean".to_owned(),
            "bpchar" => with_len("character", modifier),
            "varchar" => with_len("character varying", modifier),
            "numeric" if modifier >= 4 => {
                let m = modifier - 4;
                format!("numeric({},{})", (m >> 16) & 0xffff, m & 0xffff)
            }
            "timestamptz" => "timestamp with time zone".to_owned(),
            "timestamp" => "timestamp without time zone".to_owned(),
            "timetz" => "time with time zone".to_owned(),
            "time" => "time without time zone".to_owned(),
            other => other.to_owned(),
        };
        format!("{base}{array}")
    }
}

fn with_len(name: &str, modifier: i32) -> String {
    if modifier >= 4 {
        format!("{name}({})", modifier - 4)
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_arrays_and_learned_types() {
        let mut r = TypeRegistry::default();
        assert_eq!(r.get(23).kind, Kind::Integer);
        assert_eq!(r.get(1007).kind, Kind::Array(ElementKind::Integer));
        assert_eq!(r.get(3807).name, "_jsonb");
        assert_eq!(r.get(99999).kind, Kind::Text);
        r.learn(70000, "public", "mood");
        r.learn(70001, "public", "_mood");
        r.learn(70002, "pg_catalog", "int4");
        assert_eq!(r.get(70002).name, "domain:int4");
        assert_eq!(r.get(70002).kind, Kind::Text);
        assert_eq!(r.get(70000).name, "public.mood");
        assert_eq!(r.get(70001).kind, Kind::Array(ElementKind::Text));
        assert_eq!(r.sql_name(23, -1), "integer");
        assert_eq!(r.sql_name(1700, (10 << 16 | 2) + 4), "numeric(10,2)");
        assert_eq!(r.sql_name(1043, 24), "character varying(20)");
        assert_eq!(r.sql_name(1009, -1), "text[]");
    }
}
