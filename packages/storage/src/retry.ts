import { isStorageError, StorageErrorCode } from './errors';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs a whole transaction again when it lost a race (MySQL deadlock victim / lock wait timeout,
 * SQLite busy past its timeout). The failed attempt was rolled back entirely, so retrying is safe.
 * `also` adds codes that mean "raced" for this particular operation (e.g. DUPLICATE for an upsert
 * whose unique check collided with a concurrent insert).
 */
export async function retryOnConflict<T>(fn: () => Promise<T>, also: readonly StorageErrorCode[] = [], retries = 4): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const raced = isStorageError(err, 'CONFLICT') || also.some((code) => isStorageError(err, code));
      if (!raced || attempt >= retries) throw err;
      await sleep(5 * (attempt + 1) * Math.random());
    }
  }
}
