-- Mirror identifiers are unique regardless of case: `mir-a` and `mir-A` would be one mirror to any reader.
-- Additive (an index only): sidecars of the previous version keep running while it is applied.
DO $$
DECLARE clash text;
BEGIN
  SELECT string_agg(ids, '; ') INTO clash FROM (
    SELECT string_agg(identifier, ', ' ORDER BY identifier) AS ids FROM mirror
    GROUP BY lower(identifier) HAVING count(*) > 1) AS c;
  IF clash IS NOT NULL THEN
    RAISE EXCEPTION 'mirror identifiers that differ only by case: %; rename all but one (mirrorlane mirror rename) and run db migrate again', clash;
  END IF;
END $$;
CREATE UNIQUE INDEX mirror_identifier_lower ON mirror (lower(identifier));
