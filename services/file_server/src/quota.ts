/**
 * The storage quota of one file_server (FILE_SERVER_QUOTA_BYTES): bytes on
 * disk (offline files, partial uploads, images) plus bytes promised to
 * offline uploads that have not arrived yet.
 */
export class DiskQuota {
  private used = 0;
  private reserved = 0;

  constructor(readonly limit: number) {}

  get usedBytes(): number {
    return this.used;
  }

  get reservedBytes(): number {
    return this.reserved;
  }

  get freeBytes(): number {
    return Math.max(0, this.limit - this.used - this.reserved);
  }

  /** Promises n bytes to an upload; false when they do not fit. */
  reserve(n: number): boolean {
    if (n > this.freeBytes) return false;
    this.reserved += n;
    return true;
  }

  /** Gives back a promise that will not be kept (cancelled or expired upload). */
  unreserve(n: number): void {
    this.reserved = Math.max(0, this.reserved - n);
  }

  /** Bytes written to disk (out of a reservation when there is one). */
  commit(n: number, fromReservation = true): void {
    if (fromReservation) this.unreserve(n);
    this.used += n;
  }

  /** Bytes removed from disk. */
  free(n: number): void {
    this.used = Math.max(0, this.used - n);
  }

  /** Bytes that arrived without a reservation (an image) if they fit. */
  tryUse(n: number): boolean {
    if (n > this.freeBytes) return false;
    this.used += n;
    return true;
  }
}
