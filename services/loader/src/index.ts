export * from './loader.js';
export * from './events.js';
export * from './finalize.js';
export * from './target-tables.js';
export * from './replay.js';
export * from './metrics.js';
export * from './relaxed-constraints.js';
export * from './parked-rejects.js';
