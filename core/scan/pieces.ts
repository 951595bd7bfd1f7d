// Piece hashes: the digests of consecutive fixed-size pieces of a file, for Metalink <pieces> (SHA-256 in v4,
// SHA-1 in 3.0) and BitTorrent (SHA-1). One piece size serves both, so one read of the file fills both lists.
import crypto from 'node:crypto';

export const MIN_PIECE_SIZE = 256 * 1024;
export const MAX_PIECE_SIZE = 16 * 1024 * 1024;
/** Pieces a file should have at most, while the piece size can still grow. */
export const TARGET_PIECES = 2048;

/**
 * The piece size for a file of `size` bytes: the smallest power of two from 256 KiB up to 16 MiB that cuts the
 * file into at most 2048 pieces (files above 32 GiB get 16 MiB pieces, more of them). 2048 pieces keep a 4 GiB
 * file's lists at 104 KB (64 KB of SHA-256, 40 KB of SHA-1) and a torrent under 50 KB, as BitTorrent clients like.
 */
export function pieceSize(size: number): number {
  let p = MIN_PIECE_SIZE;
  while (p < MAX_PIECE_SIZE && Math.ceil(size / p) > TARGET_PIECES) p *= 2;
  return p;
}

export interface Pieces {
  pieceSize: number;
  /** Concatenated 32-byte SHA-256 digests, one per piece. */
  sha256: Buffer;
  /** Concatenated 20-byte SHA-1 digests, one per piece. */
  sha1: Buffer;
}

/** Feeds the bytes of a file in order; cuts them into pieces and hashes each with SHA-256 and SHA-1. */
export class PieceHasher {
  private readonly s256: Buffer[] = [];
  private readonly s1: Buffer[] = [];
  private h256 = crypto.createHash('sha256');
  private h1 = crypto.createHash('sha1');
  /** Bytes of the current piece so far. */
  private filled = 0;

  constructor(readonly pieceSize: number) {}

  update(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(this.pieceSize - this.filled, chunk.length - at);
      const part = chunk.subarray(at, at + take);
      this.h256.update(part);
      this.h1.update(part);
      this.filled += take;
      at += take;
      if (this.filled === this.pieceSize) this.cut();
    }
  }

  private cut(): void {
    this.s256.push(this.h256.digest());
    this.s1.push(this.h1.digest());
    this.h256 = crypto.createHash('sha256');
    this.h1 = crypto.createHash('sha1');
    this.filled = 0;
  }

  finish(): Pieces {
    if (this.filled > 0) this.cut();
    return { pieceSize: this.pieceSize, sha256: Buffer.concat(this.s256), sha1: Buffer.concat(this.s1) };
  }
}

/** The pieces of a whole buffer (tests, small files). */
export function piecesOf(content: Buffer, piece = pieceSize(content.length)): Pieces {
  const h = new PieceHasher(piece);
  h.update(content);
  return h.finish();
}

/** Split concatenated digests into hex strings, `width` bytes each. */
export function splitDigests(all: Buffer, width: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + width <= all.length; i += width) out.push(all.subarray(i, i + width).toString('hex'));
  return out;
}
