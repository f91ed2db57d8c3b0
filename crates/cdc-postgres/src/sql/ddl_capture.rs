//! DDL capture (`capture_ddl: true`): an event trigger that writes each DDL command of the
//! database into the stream with `pg_logical_emit_message` (prefix `cdc-rs.ddl`), so the
//! stream carries the real DDL text, in order with the data changes around it — also DDL
//! that changes no published column and so sends no Relation message.
//!
//! One function and two event triggers per slot (`ddl_command_end`, and `sql_drop` for
//! dropped tables). Creating event triggers needs a superuser. With the publication cdc-rs
//! owns, the function also puts a table created under a captured name back into it
//! ([`super::republish`]).

use tokio_postgres::Client;

use super::quote::literal;
use super::republish::{GUARD_SETTING, Republish};
use crate::error::{PostgresError, Result};

/// Prefix of the DDL messages.
pub const DDL_PREFIX: &str = "cdc-rs.ddl";

/// The names of the function and the triggers of `slot`.
pub fn names(slot: &str) -> (String, String, String) {
    (
        format!("public.cdc_rs_ddl_{slot}"),
        format!("cdc_rs_ddl_{slot}"),
        format!("cdc_rs_drop_{slot}"),
    )
}

/// The body of the trigger function of `slot`; with `republish`, it also puts a table
/// created under a captured name back into the publication ([`Republish`]). The function
/// runs in the session of whoever runs DDL, with that session's `search_path`: it pins its
/// own, so a schema listed before `pg_catalog` cannot replace the functions it calls.
pub fn function_body(slot: &str, republish: Option<&Republish>) -> String {
    let slot_lit = literal(slot);
    let prefix = literal(DDL_PREFIX);
    let guard = literal(GUARD_SETTING);
    let republish = republish.map(Republish::plpgsql).unwrap_or_default();
    format!(
        "
DECLARE r record;
BEGIN
  IF current_setting({guard}, true) = 'on' THEN
    RETURN;
  END IF;
  IF TG_EVENT = 'ddl_command_end' THEN
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
      PERFORM pg_logical_emit_message(true, {prefix}, json_build_object(
        'slot', {slot_lit}, 'tag', r.command_tag, 'object_type', r.object_type,
        'identity', r.object_identity, 'ddl', current_query())::text);{republish}
    END LOOP;
  ELSE
    FOR r IN SELECT * FROM pg_event_trigger_dropped_objects() WHERE object_type = 'table' LOOP
      PERFORM pg_logical_emit_message(true, {prefix}, json_build_object(
        'slot', {slot_lit}, 'tag', TG_TAG, 'object_type', r.object_type,
        'identity', r.object_identity, 'ddl', current_query())::text);
    END LOOP;
  END IF;
END
"
    )
}

/// The statements that install the capture for `slot` (idempotent; an installed function
/// is replaced). `SECURITY DEFINER`: the `ALTER PUBLICATION` of `republish` needs the
/// rights of the publication's owner (who installs the capture), not of the role whose DDL
/// fires it. An event trigger function cannot be called any other way.
pub fn install_sql(slot: &str, republish: Option<&Republish>) -> String {
    let (function, on_end, on_drop) = names(slot);
    format!(
        "CREATE OR REPLACE FUNCTION {function}() RETURNS event_trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $cdc${body}$cdc$;
DO $cdc$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = {end_lit}) THEN
    CREATE EVENT TRIGGER {on_end} ON ddl_command_end EXECUTE FUNCTION {function}();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = {drop_lit}) THEN
    CREATE EVENT TRIGGER {on_drop} ON sql_drop EXECUTE FUNCTION {function}();
  END IF;
END $cdc$;",
        body = function_body(slot, republish),
        end_lit = literal(&on_end),
        drop_lit = literal(&on_drop),
    )
}

/// The installed function's body and whether it is `SECURITY DEFINER`, when it exists: set-up
/// replaces one that differs from what it would install (an older version, other tables).
pub async fn installed_function(client: &Client, slot: &str) -> Result<Option<(String, bool)>> {
    let (function, _, _) = names(slot);
    let row = client
        .query_opt(
            "select prosrc, prosecdef from pg_proc where oid = to_regprocedure($1)",
            &[&format!("{function}()")],
        )
        .await
        .map_err(|e| PostgresError::sql("reading the DDL capture's function", &e))?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// The statements that remove it (idempotent).
pub fn remove_sql(slot: &str) -> String {
    let (function, on_end, on_drop) = names(slot);
    format!(
        "DROP EVENT TRIGGER IF EXISTS {on_end}; DROP EVENT TRIGGER IF EXISTS {on_drop}; DROP FUNCTION IF EXISTS {function}();"
    )
}

/// Whether the capture of `slot` is installed.
pub async fn installed(client: &Client, slot: &str) -> Result<bool> {
    let (_, on_end, _) = names(slot);
    let row = client
        .query_opt(
            "select 1 from pg_event_trigger where evtname = $1",
            &[&on_end],
        )
        .await
        .map_err(|e| PostgresError::sql("looking for the DDL capture", &e))?;
    Ok(row.is_some())
}

/// Installs the capture; a role that may not create event triggers gets an error saying
/// what is needed.
pub async fn install(client: &Client, slot: &str, republish: Option<&Republish>) -> Result<()> {
    client
        .batch_execute(&install_sql(slot, republish))
        .await
        .map_err(|e| {
            let mut err = PostgresError::sql("installing the DDL capture (event trigger)", &e);
            if err.sqlstate() == Some("42501")
                && let PostgresError::Database { message, .. } = &mut err
            {
                message.push_str(
                    "; capture_ddl needs a superuser (only superusers create event triggers): connect as one, have one install it once (cdc render prints the SQL), or set capture_ddl: false",
                );
            }
            err
        })
}

/// Removes the capture.
pub async fn remove(client: &Client, slot: &str) -> Result<()> {
    client
        .batch_execute(&remove_sql(slot))
        .await
        .map_err(|e| PostgresError::sql("removing the DDL capture (event trigger)", &e))
}
