-- Scan and probe bookkeeping on each mirror, and the AS peers table.

ALTER TABLE mirror
  ADD COLUMN scan_at            timestamptz,                  -- when the last scan finished (or failed)
  ADD COLUMN scan_protocol      text NOT NULL DEFAULT '',     -- rsync | ftp | http
  ADD COLUMN scan_duration_ms   integer,
  ADD COLUMN scan_files_found   integer,                      -- files listed by the mirror
  ADD COLUMN scan_files_held    integer,                      -- of those, current copies of origin files
  ADD COLUMN scan_files_added   integer,
  ADD COLUMN scan_files_removed integer,
  ADD COLUMN scan_error         text NOT NULL DEFAULT '',     -- '' when the last scan succeeded
  ADD COLUMN tz_offset_ms       integer NOT NULL DEFAULT 0,   -- constant clock error of an FTP listing, corrected
  ADD COLUMN probe_at           timestamptz,
  ADD COLUMN probe_successes    integer NOT NULL DEFAULT 0,   -- consecutive
  ADD COLUMN probe_failures     integer NOT NULL DEFAULT 0;   -- consecutive

-- Client AS -> mirrors that AS prefers (Debian's peers db): such a mirror ranks in the AS tier.
CREATE TABLE as_peer (
  client_asn bigint   NOT NULL CHECK (client_asn BETWEEN 1 AND 4294967295),
  mirror_id  smallint NOT NULL REFERENCES mirror(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_asn, mirror_id)
);

CREATE TRIGGER as_peer_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON as_peer
  FOR EACH STATEMENT EXECUTE FUNCTION mirrorlane_notify('mirrors');

-- Probe and scan bookkeeping change the mirror row often; only changes the sidecars use need a reload.
DROP TRIGGER mirror_changed ON mirror;
CREATE FUNCTION mirrorlane_mirror_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NOT EXISTS (
      SELECT 1 FROM new_rows n JOIN old_rows o USING (id)
      WHERE (to_jsonb(n) - ARRAY['scan_at','scan_protocol','scan_duration_ms','scan_files_found','scan_files_held',
                                  'scan_files_added','scan_files_removed','scan_error','probe_at','probe_successes',
                                  'probe_failures','updated_at'])
         IS DISTINCT FROM
            (to_jsonb(o) - ARRAY['scan_at','scan_protocol','scan_duration_ms','scan_files_found','scan_files_held',
                                  'scan_files_added','scan_files_removed','scan_error','probe_at','probe_successes',
                                  'probe_failures','updated_at'])) THEN
      RETURN NULL;
    END IF;
  END IF;
  PERFORM pg_notify('mirrorlane', 'mirrors');
  RETURN NULL;
END $$;
CREATE TRIGGER mirror_changed_ins AFTER INSERT ON mirror
  FOR EACH STATEMENT EXECUTE FUNCTION mirrorlane_notify('mirrors');
CREATE TRIGGER mirror_changed_del AFTER DELETE ON mirror
  FOR EACH STATEMENT EXECUTE FUNCTION mirrorlane_notify('mirrors');
CREATE TRIGGER mirror_changed_trunc AFTER TRUNCATE ON mirror
  FOR EACH STATEMENT EXECUTE FUNCTION mirrorlane_notify('mirrors');
CREATE TRIGGER mirror_changed_upd AFTER UPDATE ON mirror
  REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION mirrorlane_mirror_notify();
