-- Piece hashes of origin files (Metalink <pieces>, torrents) and the copies the last mirror scan found wrong.
-- Both live beside the file table, not in it: the redirect path reads file rows only, and these are fetched
-- for the answers that show them (Metalink, torrent, JSON, mirror list).

-- One row per origin file with content, written by the origin scan when it hashes the file.
-- sha256 / sha1: the digests of consecutive pieces of piece_size bytes (the last one shorter), concatenated:
-- 32 / 20 bytes a piece. The file's own sha256 is repeated so that a reader can tell pieces of older content.
CREATE TABLE file_pieces (
  file_id     integer PRIMARY KEY REFERENCES file(id) ON DELETE CASCADE,
  content     bytea NOT NULL,
  piece_size  integer NOT NULL CHECK (piece_size > 0),
  sha256      bytea NOT NULL CHECK (length(sha256) % 32 = 0),
  sha1        bytea NOT NULL CHECK (length(sha1) % 20 = 0)
);

-- A mirror's copy of a file that the last scan of that mirror saw but did not count: 's' = its size differs,
-- 'm' = its mtime differs from the origin's beyond the allowances (newer),
-- 'o' = it is older than the origin's. Replaced per mirror by each complete scan (a subtree scan replaces the
-- rows under its subtree).
CREATE TABLE file_mismatch (
  file_id   integer  NOT NULL REFERENCES file(id) ON DELETE CASCADE,
  mirror_id smallint NOT NULL REFERENCES mirror(id) ON DELETE CASCADE,
  reason    "char"   NOT NULL CHECK (reason IN ('s', 'o', 'm')),
  PRIMARY KEY (file_id, mirror_id)
);
CREATE INDEX file_mismatch_mirror_idx ON file_mismatch (mirror_id);

-- zsync control files of origin files (formats.zsyncMinSize), made by the origin scan with Debian's zsyncmake,
-- stored without URL lines: the sidecar adds the mirrors that suit each client. content as in file_pieces.
CREATE TABLE file_zsync (
  file_id  integer PRIMARY KEY REFERENCES file(id) ON DELETE CASCADE,
  content  bytea NOT NULL,
  control  bytea NOT NULL
);
