export { CacheError, type Cache, type CacheErrorCode } from './types';
export { MemoryCache, type MemoryCacheOptions } from './memory-cache';
export { RedisCache, type RedisCacheOptions, type RedisCacheStatus } from './redis-cache';
export { readThrough, type ReadThroughOptions } from './read-through';
