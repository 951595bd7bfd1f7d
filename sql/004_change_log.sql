-- The change log: every change the sidecars must see, written by statement-level triggers in the same
-- transaction as the change. PostgreSQL refuses LISTEN on a hot standby, but this table replicates, so a sidecar
-- reading a replica follows it by polling (sidecar/change-follower.ts). NOTIFY stays as a wake-up on the primary
-- (payload 'mirrors' or 'files', as before).
--
-- Sidecars follow by transaction id, not by a sequence: a sequence value is taken before commit, so a row with
-- a smaller seq may become visible after a larger one and a cursor over seq would skip it. Every transaction
-- below the reader's snapshot xmin has ended, so "xid in [previous xmin, current xmin)" reads each committed row
-- exactly once, whatever the commit order. seq only orders the rows for humans and for pruning.
CREATE TABLE change_log (
  seq   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  xid   xid8        NOT NULL DEFAULT pg_current_xact_id(),
  at    timestamptz NOT NULL DEFAULT now(),
  -- mirrors: the mirror table or the AS peers changed (ids: the mirror ids when known);
  -- files: the file rows of `paths` changed; all_files: too many to list, drop every cached file row.
  kind  text        NOT NULL CHECK (kind IN ('mirrors', 'files', 'all_files')),
  ids   integer[],
  paths text[]
);
CREATE INDEX change_log_xid_idx ON change_log (xid);

-- One row: the highest transaction id whose log rows were pruned. A sidecar whose cursor is not above it may have
-- missed rows and reloads everything.
CREATE TABLE change_log_horizon (
  one   boolean PRIMARY KEY DEFAULT true CHECK (one),
  below xid8 NOT NULL DEFAULT '0'
);
INSERT INTO change_log_horizon DEFAULT VALUES;

-- Above this many rows in one statement the paths are not listed: the sidecars drop their whole file cache.
CREATE FUNCTION mirrorlane_log_files() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n integer;
  changed text[];
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO change_log (kind) VALUES ('all_files');
  ELSE
    IF TG_OP = 'DELETE' THEN
      SELECT count(*) INTO n FROM old_rows;
    ELSE
      SELECT count(*) INTO n FROM new_rows;
    END IF;
    IF n = 0 THEN
      RETURN NULL;
    ELSIF n > 50000 THEN
      INSERT INTO change_log (kind) VALUES ('all_files');
    ELSE
      IF TG_OP = 'DELETE' THEN
        SELECT array_agg(path) INTO changed FROM old_rows;
      ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(path) INTO changed FROM new_rows;
      ELSE
        -- A renamed row is stale under both names.
        SELECT array_agg(DISTINCT p) INTO changed
        FROM (SELECT path AS p FROM new_rows UNION ALL SELECT path FROM old_rows) x;
      END IF;
      INSERT INTO change_log (kind, paths) VALUES ('files', changed);
    END IF;
  END IF;
  PERFORM pg_notify('mirrorlane', 'files');
  RETURN NULL;
END $$;

CREATE FUNCTION mirrorlane_log_mirrors() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed integer[];
BEGIN
  IF TG_OP = 'UPDATE' THEN
    -- Probe and scan bookkeeping change the mirror row often; only changes the sidecars use are logged.
    SELECT array_agg(n.id) INTO changed FROM new_rows n JOIN old_rows o USING (id)
    WHERE (to_jsonb(n) - ARRAY['scan_at','scan_protocol','scan_duration_ms','scan_files_found','scan_files_held',
                                'scan_files_added','scan_files_removed','scan_error','probe_at','probe_successes',
                                'probe_failures','updated_at'])
       IS DISTINCT FROM
          (to_jsonb(o) - ARRAY['scan_at','scan_protocol','scan_duration_ms','scan_files_found','scan_files_held',
                                'scan_files_added','scan_files_removed','scan_error','probe_at','probe_successes',
                                'probe_failures','updated_at']);
    IF changed IS NULL THEN
      RETURN NULL;
    END IF;
  ELSIF TG_OP = 'INSERT' THEN
    SELECT array_agg(id) INTO changed FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(id) INTO changed FROM old_rows;
  END IF;
  INSERT INTO change_log (kind, ids) VALUES ('mirrors', changed);
  PERFORM pg_notify('mirrorlane', 'mirrors');
  RETURN NULL;
END $$;

CREATE FUNCTION mirrorlane_log_peers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_log (kind) VALUES ('mirrors');
  PERFORM pg_notify('mirrorlane', 'mirrors');
  RETURN NULL;
END $$;

-- Replace the NOTIFY-only triggers of 001/002.
DROP TRIGGER file_changed ON file;
DROP TRIGGER mirror_changed_ins ON mirror;
DROP TRIGGER mirror_changed_del ON mirror;
DROP TRIGGER mirror_changed_trunc ON mirror;
DROP TRIGGER mirror_changed_upd ON mirror;
DROP TRIGGER as_peer_changed ON as_peer;
DROP FUNCTION mirrorlane_mirror_notify();
DROP FUNCTION mirrorlane_notify();

CREATE TRIGGER file_logged_ins AFTER INSERT ON file
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mirrorlane_log_files();
CREATE TRIGGER file_logged_upd AFTER UPDATE ON file
  REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mirrorlane_log_files();
CREATE TRIGGER file_logged_del AFTER DELETE ON file
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mirrorlane_log_files();
CREATE TRIGGER file_logged_trunc AFTER TRUNCATE ON file
  FOR EACH STATEMENT EXECUTE FUNCTION mirrorlane_log_files();

CREATE TRIGGER mirror_logged_ins AFTER INSERT ON mirror
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mirrorlane_log_mirrors();
CREATE TRIGGER mirror_logged_upd AFTER UPDATE ON mirror
  REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mirrorlane_log_mirrors();
CREATE TRIGGER mirror_logged_del AFTER DELETE ON mirror
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mirrorlane_log_mirrors();
CREATE TRIGGER mirror_logged_trunc AFTER TRUNCATE ON mirror
  FOR EACH STATEMENT EXECUTE FUNCTION mirrorlane_log_mirrors();

CREATE TRIGGER as_peer_logged AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON as_peer
  FOR EACH STATEMENT EXECUTE FUNCTION mirrorlane_log_peers();

-- Drop log rows older than `keep` and raise the horizon past them. Called by the writers now and then
-- (core/db/change-log.ts); one pruner at a time, the others skip.
CREATE FUNCTION mirrorlane_prune_change_log(keep interval) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  top xid8;
  n bigint;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7243102) THEN
    RETURN 0;
  END IF;
  WITH gone AS (DELETE FROM change_log WHERE at < now() - keep RETURNING xid)
  SELECT max(xid), count(*) INTO top, n FROM gone;
  IF top IS NOT NULL THEN
    UPDATE change_log_horizon SET below = top WHERE below < top;
  END IF;
  RETURN n;
END $$;

-- Deleting a mirror rewrites every file row it held: it takes the file-table writer lock (core/scan/file-lock.ts)
-- like every other writer of many file rows, so that it never deadlocks with a scan apply or a `file add`.
CREATE OR REPLACE FUNCTION mirrorlane_mirror_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7243101);
  UPDATE file SET mirrors = array_remove(mirrors, OLD.id) WHERE mirrors @> ARRAY[OLD.id];
  RETURN OLD;
END $$;
