-- Download statistics per UTC day: per mirror and per file. Sidecars count in memory and add their counts with
-- one multi-row upsert every few seconds (sidecar/stats.ts), never one write per request.
-- Columns are ordered so that rows pack without padding (24 bytes of data each).
--
-- No foreign keys, on purpose: a mirror or a file deleted between a request and the flush must not make the
-- whole batch fail (it would be retried for ever), and history outlives deleted mirrors and files. Reports
-- show such ids as deleted.

-- mirror_id 0 is the origin itself: requests it served locally. Mirror ids start at 1 (identity), and the check
-- below keeps an explicitly inserted mirror from taking 0.
CREATE TABLE stats_mirror_day (
  day       date     NOT NULL,
  mirror_id smallint NOT NULL CHECK (mirror_id >= 0),
  requests  bigint   NOT NULL CHECK (requests >= 0),
  bytes     bigint   NOT NULL CHECK (bytes >= 0),     -- the file's size for each request
  PRIMARY KEY (day, mirror_id)
);

CREATE TABLE stats_file_day (
  day      date    NOT NULL,
  file_id  integer NOT NULL,
  requests bigint  NOT NULL CHECK (requests >= 0),
  bytes    bigint  NOT NULL CHECK (bytes >= 0),
  PRIMARY KEY (day, file_id)
);

ALTER TABLE mirror ADD CONSTRAINT mirror_id_positive CHECK (id > 0);
