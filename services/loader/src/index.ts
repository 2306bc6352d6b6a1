export * from './loader.js';
export * from './apply.js';
export * from './finalize.js';
export * from './offsets.js';
export * from './target-tables.js';
export * from './replay.js';
export * from './metrics.js';
