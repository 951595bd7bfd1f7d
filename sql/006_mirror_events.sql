-- Per-mirror event history (`mirrorlane mirror log`), and the columns of the probe's capability checks.
--
-- Events are written by triggers, not by each command: every way a mirror row changes (CLI, import, scanner,
-- prober, a DBA's UPDATE) leaves its trace, in the same transaction as the change.

-- What the probe found out about IPv6 and https, and whether the operator pinned the value (then the probe
-- reports but never changes it).
ALTER TABLE mirror
  ADD COLUMN caps_at      timestamptz,                     -- last capability check
  ADD COLUMN ipv6_pinned  boolean NOT NULL DEFAULT false,
  ADD COLUMN https_pinned boolean NOT NULL DEFAULT false;

CREATE TABLE mirror_event (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  mirror_id smallint NOT NULL REFERENCES mirror(id) ON DELETE CASCADE,
  at        timestamptz NOT NULL DEFAULT now(),
  -- created | edit | enabled | disabled | health | scan | note
  kind      text NOT NULL CHECK (kind IN ('created', 'edit', 'enabled', 'disabled', 'health', 'scan', 'note')),
  -- who made the change: admin (CLI, import, SQL), probe, scan
  source    text NOT NULL CHECK (source IN ('admin', 'probe', 'scan')),
  field     text NOT NULL DEFAULT '',     -- edit: the column; health: the new state
  old_value jsonb,
  new_value jsonb,
  detail    jsonb NOT NULL DEFAULT '{}'   -- scan: counts, duration, error; health: reason; note: author and text
);
CREATE INDEX mirror_event_mirror_idx ON mirror_event (mirror_id, at, id);

-- Columns that are bookkeeping, not settings: their changes are events of their own kind (scan, health) or none.
CREATE FUNCTION mirrorlane_mirror_bookkeeping() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT ARRAY['id', 'created_at', 'updated_at', 'enabled', 'health', 'health_reason', 'health_since',
               'scan_at', 'scan_protocol', 'scan_duration_ms', 'scan_files_found', 'scan_files_held',
               'scan_files_added', 'scan_files_removed', 'scan_error', 'probe_at', 'probe_successes',
               'probe_failures', 'caps_at']
$$;

CREATE FUNCTION mirrorlane_mirror_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n jsonb;
  o jsonb;
  k text;
  src text := 'admin';
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO mirror_event (mirror_id, kind, source, new_value)
      VALUES (NEW.id, 'created', 'admin', to_jsonb(NEW.identifier));
    RETURN NULL;
  END IF;

  -- Settings changed together with the scan or capability bookkeeping were changed by that scan or probe.
  IF NEW.caps_at IS DISTINCT FROM OLD.caps_at THEN
    src := 'probe';
  ELSIF NEW.scan_at IS DISTINCT FROM OLD.scan_at THEN
    src := 'scan';
  END IF;

  IF NEW.enabled IS DISTINCT FROM OLD.enabled THEN
    INSERT INTO mirror_event (mirror_id, kind, source, old_value, new_value)
      VALUES (NEW.id, CASE WHEN NEW.enabled THEN 'enabled' ELSE 'disabled' END,
              CASE WHEN NEW.health IS DISTINCT FROM OLD.health OR NEW.probe_at IS DISTINCT FROM OLD.probe_at
                   THEN 'probe' ELSE src END,
              to_jsonb(OLD.enabled), to_jsonb(NEW.enabled));
  END IF;

  IF NEW.health IS DISTINCT FROM OLD.health OR NEW.health_reason IS DISTINCT FROM OLD.health_reason THEN
    INSERT INTO mirror_event (mirror_id, kind, source, field, old_value, new_value, detail)
      VALUES (NEW.id, 'health', 'probe', NEW.health, to_jsonb(OLD.health), to_jsonb(NEW.health),
              jsonb_build_object('reason', NEW.health_reason, 'previousReason', OLD.health_reason));
  END IF;

  IF NEW.scan_at IS DISTINCT FROM OLD.scan_at THEN
    INSERT INTO mirror_event (mirror_id, kind, source, detail)
      VALUES (NEW.id, 'scan', 'scan', jsonb_build_object(
        'protocol', NEW.scan_protocol, 'durationMs', NEW.scan_duration_ms, 'error', NEW.scan_error,
        -- a failed scan keeps the counts of the last good one: they are not this scan's
        'found', CASE WHEN NEW.scan_error = '' THEN NEW.scan_files_found END,
        'held', CASE WHEN NEW.scan_error = '' THEN NEW.scan_files_held END,
        'added', CASE WHEN NEW.scan_error = '' THEN NEW.scan_files_added END,
        'removed', CASE WHEN NEW.scan_error = '' THEN NEW.scan_files_removed END));
  END IF;

  n := to_jsonb(NEW) - mirrorlane_mirror_bookkeeping();
  o := to_jsonb(OLD) - mirrorlane_mirror_bookkeeping();
  IF n IS DISTINCT FROM o THEN
    FOR k IN SELECT key FROM jsonb_each(n) ORDER BY key LOOP
      IF n -> k IS DISTINCT FROM o -> k THEN
        INSERT INTO mirror_event (mirror_id, kind, source, field, old_value, new_value)
          VALUES (NEW.id, 'edit', src, k, o -> k, n -> k);
      END IF;
    END LOOP;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER mirror_event_ins AFTER INSERT ON mirror
  FOR EACH ROW EXECUTE FUNCTION mirrorlane_mirror_event();
CREATE TRIGGER mirror_event_upd AFTER UPDATE ON mirror
  FOR EACH ROW EXECUTE FUNCTION mirrorlane_mirror_event();

CREATE FUNCTION mirrorlane_note_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO mirror_event (mirror_id, kind, source, new_value, detail)
    VALUES (NEW.mirror_id, 'note', CASE WHEN NEW.author LIKE 'mirrorlane %' THEN 'probe' ELSE 'admin' END,
            to_jsonb(NEW.body), jsonb_build_object('author', NEW.author));
  RETURN NULL;
END $$;
CREATE TRIGGER mirror_note_event AFTER INSERT ON mirror_note
  FOR EACH ROW EXECUTE FUNCTION mirrorlane_note_event();
